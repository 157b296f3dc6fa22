"""Activity pages: anonymous (redirect), out of scope (404), forbidden (403), allowed; htmx fragments and
events; the card's log bar and timeline; "My day"; the list; email templates."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import types
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern
from django.utils import timezone

from careline.activities import services, urls
from careline.activities.models import Activity, EmailTemplate
from careline.activities.tests.factories import add_follow_up, log_call, make_template
from careline.conftest import web_client
from careline.customers.tests.factories import make_customer
from careline.sales.models import Inquiry

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

# name → (url name, method, url pattern, POST data)
PAGES: dict[str, tuple[str, str, str, dict[str, Any] | None]] = {
    "list": ("list", "GET", "/activities/", None),
    "my_day": ("my_day", "GET", "/activities/my-day/", None),
    "timeline": ("timeline", "GET", "/activities/customers/{customer}/timeline/", None),
    "log": ("log", "POST", "/activities/customers/{customer}/log/", {"kind": "call", "outcome": "no_answer"}),
    "quick_call": (
        "quick_call",
        "POST",
        "/activities/customers/{customer}/call/",
        {"outcome": "busy", "row": "next-1", "section": "next"},
    ),
    "email": (
        "email",
        "POST",
        "/activities/customers/{customer}/email/",
        {"action": "log", "subject": "Báo giá", "body": "Đã gửi qua Gmail"},
    ),
    "email_preview": ("email_preview", "GET", "/activities/customers/{customer}/email/preview/", None),
    "complete": ("complete", "POST", "/activities/{activity}/complete/", {"section": "card"}),
    "delete": ("delete", "POST", "/activities/{activity}/delete/", {}),
    "templates": ("email_templates", "GET", "/activities/email-templates/", None),
    "templates_post": (
        "email_templates",
        "POST",
        "/activities/email-templates/",
        {"name": "Mẫu", "subject": "Chào {given_name}", "body": "Nội dung", "language": "vi", "active": "on"},
    ),
    "template_edit": ("email_template_edit", "GET", "/activities/email-templates/{template}/", None),
    "template_edit_post": (
        "email_template_edit",
        "POST",
        "/activities/email-templates/{template}/",
        {"name": "Đổi", "subject": "Chào", "body": "Nội dung", "language": "vi", "active": "on"},
    ),
    "template_archive": (
        "email_template_archive",
        "POST",
        "/activities/email-templates/{template}/archive/",
        {},
    ),
}
SCOPED = [name for name, (_n, _m, url, _d) in PAGES.items() if "{customer}" in url or "{activity}" in url]


def hit(client: Client, name: str, ids: dict[str, int], data: dict[str, Any] | None = None, **extra: Any):
    _name, method, url, default = PAGES[name]
    url = url.format(**ids)
    if method == "GET":
        return client.get(url, **extra)
    return client.post(url, data if data is not None else default, **extra)


def db_state() -> tuple:
    return (
        sorted(Activity.objects.values_list("id", "notes", "completed_at", "updated_at")),
        sorted(EmailTemplate.objects.values_list("id", "name", "active")),
        len(mail.outbox),
    )


@pytest.fixture
def world(org):
    customer = make_customer(
        org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912345678"], emails=["lan@example.vn"]
    )
    follow_up = add_follow_up(org.consultant_hn, customer)
    template = make_template(org.supervisor_hn)
    return {"customer": customer, "activity": follow_up, "template": template}


def ids_of(world) -> dict[str, int]:
    return {
        "customer": world["customer"].pk,
        "activity": world["activity"].pk,
        "template": world["template"].pk,
    }


def test_every_route_is_in_the_matrix():
    names = {p.name for p in urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {url_name for url_name, _m, _u, _d in PAGES.values()}


def test_anonymous_is_sent_to_login(org, world):
    client = Client()
    before = db_state()
    for name in PAGES:
        r = hit(client, name, ids_of(world))
        assert r.status_code == 302, name
        assert r["Location"].startswith("/accounts/login/"), name
    assert db_state() == before


def test_out_of_scope_is_not_found(org, world):
    before = db_state()
    for actor_name in ("consultant_hcm", "consultant_hn_b", "nobody"):
        client = web_client(getattr(org, actor_name))
        for name in SCOPED:
            r = hit(client, name, ids_of(world))
            assert r.status_code == 404, (actor_name, name, r.status_code)
    admin = web_client(org.admin)
    for name in SCOPED:
        assert hit(admin, name, {"customer": 999_999, "activity": 999_999, "template": 1}).status_code == 404
    assert hit(admin, "template_edit", {"template": 999_999}).status_code == 404
    assert hit(admin, "template_archive", {"template": 999_999}).status_code == 404
    assert db_state() == before


FORBIDDEN = [
    ("list", "nobody"),
    ("my_day", "nobody"),
    ("log", "director"),
    ("quick_call", "director"),
    ("email", "director"),
    ("email_preview", "director"),
    ("complete", "director"),
    ("complete", "academic_hn"),
    ("delete", "director"),
    ("delete", "care_head"),
    ("templates", "consultant_hn"),
    ("templates", "manager_hn"),
    ("templates_post", "consultant_hn"),
    ("templates_post", "director"),
    ("template_edit", "consultant_hn"),
    ("template_edit_post", "care_head"),
    ("template_archive", "consultant_hn"),
]


def test_forbidden_is_403(org, world):
    before = db_state()
    for name, actor_name in FORBIDDEN:
        client = web_client(getattr(org, actor_name))
        r = hit(client, name, ids_of(world))
        assert r.status_code == 403, (name, actor_name, r.status_code)
    # Visible on the card, but the supervisor's own follow-up: the consultant may not close or delete it.
    theirs = add_follow_up(org.supervisor_hn, world["customer"])
    before = db_state()
    client = web_client(org.consultant_hn)
    assert hit(client, "complete", {"activity": theirs.pk}).status_code == 403
    assert hit(client, "delete", {"activity": theirs.pk}).status_code == 403
    assert db_state() == before


# --- the customer card ------------------------------------------------------------------------------------


def test_card_has_the_log_bar_and_the_timeline(org, world):
    customer = world["customer"]
    log_call(org.consultant_hn, customer, "reached", notes="<script>alert('x')</script> Khách quan tâm IELTS")
    services.activity_log(
        actor=org.consultant_hn, customer_id=customer.pk, kind="note", notes="Ghi chú nhanh"
    )
    body = web_client(org.consultant_hn).get(f"/customers/{customer.pk}/").content.decode()
    for element in (
        'id="log-bar"',
        'id="log-call"',
        'id="call-outcome-no_answer"',
        'id="call-outcome-call_back"',
        'id="timeline"',
    ):
        assert element in body, element
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Khách quan tâm IELTS" in body
    assert "Ghi chú nhanh" in body
    # The director sees the timeline, not the buttons.
    body = web_client(org.director).get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="timeline"' in body and 'id="call-outcome-no_answer"' not in body


def test_two_clicks_log_a_call_with_htmx(org, world):
    customer = world["customer"]
    client = web_client(org.consultant_hn)
    r = client.post(
        f"/activities/customers/{customer.pk}/log/",
        {"kind": "call", "outcome": "no_answer", "notes": "Máy bận cả sáng", "duration_minutes": "1.5"},
        **HX,
    )
    assert r.status_code == 200
    call = Activity.objects.get(kind="call")
    assert (call.outcome, call.notes, call.duration_seconds, call.owner_id) == (
        "no_answer",
        "Máy bận cả sáng",
        90,
        org.consultant_hn.pk,
    )
    body = r.content.decode()
    assert body.count('id="log-bar"') == 1 and 'id="log-result"' in body
    assert 'id="timeline" class="cl-timeline" hx-swap-oob="true"' in body
    assert "Máy bận cả sáng" in body
    assert "activity-logged" in json.loads(r["HX-Trigger"])
    # Without htmx: back to the card with a message.
    r = client.post(f"/activities/customers/{customer.pk}/log/", {"kind": "call", "outcome": "reached"})
    assert r.status_code == 302 and r["Location"] == f"/customers/{customer.pk}/"


def test_call_back_asks_for_the_time(org, world):
    customer = world["customer"]
    client = web_client(org.consultant_hn)
    before = db_state()
    r = client.post(
        f"/activities/customers/{customer.pk}/log/",
        {"kind": "call", "outcome": "call_back", "notes": "giữ"},
        **HX,
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="log-errors"' in body and 'data-field="due_at"' in body
    assert (
        'id="log-panel-call" data-bs-parent' in body and 'class="collapse show" id="log-panel-call"' in body
    )
    assert 'value="giữ"' in body  # what was typed stays
    assert "HX-Trigger" not in r
    assert db_state() == before
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        f"/activities/customers/{customer.pk}/log/",
        {"kind": "call", "outcome": "call_back", "due_at": due},
        **HX,
    )
    assert r.status_code == 200
    assert Activity.objects.filter(kind="follow_up", completed_at__isnull=True).count() == 2


def test_quick_forms_for_other_kinds(org, world):
    customer = world["customer"]
    client = web_client(org.consultant_hn)
    when = (timezone.localtime() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        f"/activities/customers/{customer.pk}/log/",
        {
            "kind": "meeting",
            "outcome": "held",
            "occurred_at": when,
            "duration_minutes": "45",
            "subject": "Tư vấn lộ trình",
        },
        **HX,
    )
    client.post(
        f"/activities/customers/{customer.pk}/log/",
        {"kind": "proposal", "outcome": "sent", "subject": "Báo giá khóa IELTS"},
        **HX,
    )
    client.post(f"/activities/customers/{customer.pk}/log/", {"kind": "offer", "outcome": "interested"}, **HX)
    client.post(
        f"/activities/customers/{customer.pk}/log/", {"kind": "note", "notes": "Thích học buổi tối"}, **HX
    )
    due = (timezone.localtime() + dt.timedelta(days=2)).strftime("%d/%m/%Y %H:%M")
    client.post(
        f"/activities/customers/{customer.pk}/log/",
        {"kind": "follow_up", "due_at": due, "subject": "Gọi chốt lịch"},
        **HX,
    )
    kinds = sorted(Activity.objects.values_list("kind", flat=True))
    assert kinds == ["follow_up", "follow_up", "meeting", "note", "offer", "proposal"]
    meeting = Activity.objects.get(kind="meeting")
    assert meeting.duration_seconds == 45 * 60
    assert timezone.localtime(meeting.occurred_at).strftime("%Y-%m-%dT%H:%M") == when


def test_email_from_the_card(org, world):
    customer = world["customer"]
    client = web_client(org.consultant_hn)
    r = client.get(
        f"/activities/customers/{customer.pk}/email/preview/", {"template_id": world["template"].pk}
    )
    assert r.status_code == 200
    assert 'value="Chào Lan"' in r.content.decode()  # no salutation on the card
    r = client.post(
        f"/activities/customers/{customer.pk}/email/",
        {"action": "send", "template_id": world["template"].pk, "to": "lan@example.vn"},
        **HX,
    )
    assert r.status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Chào Lan"
    r = client.post(
        f"/activities/customers/{customer.pk}/email/",
        {"action": "log", "subject": "Báo giá", "body": "Gửi từ Gmail"},
        **HX,
    )
    assert r.status_code == 200
    assert sorted(Activity.objects.filter(kind="email").values_list("outcome", "message_id")) == [
        ("sent", ""),
        ("sent", mail.outbox[0].extra_headers["Message-ID"]),
    ]
    r = client.post(
        f"/activities/customers/{customer.pk}/email/",
        {"action": "send", "to": "la@example.vn", "subject": "a", "body": "b"},
        **HX,
    )
    assert 'data-field="to"' in r.content.decode()
    assert len(mail.outbox) == 1


def test_complete_from_the_timeline(org, world):
    fu = world["activity"]
    client = web_client(org.consultant_hn)
    body = client.get(f"/activities/customers/{world['customer'].pk}/timeline/").content.decode()
    assert f'action="/activities/{fu.pk}/complete/"' in body
    r = client.post(f"/activities/{fu.pk}/complete/", {"section": "card"}, **HX)
    assert r.status_code == 200 and 'id="timeline"' in r.content.decode()
    fu.refresh_from_db()
    assert fu.completed_at is not None


# --- My day ---------------------------------------------------------------------------------------------------


def _fake_sales(monkeypatch, *, with_function: bool = True) -> None:
    """Stand in for `careline.sales.selectors` (the lead builds it) with its documented signature."""
    module = types.ModuleType("careline.sales.selectors")
    if with_function:

        def inquiry_new_for_owner(*, actor: Any, user: Any, limit: int = 20) -> list[Inquiry]:
            qs = Inquiry.objects.filter(owner=user, status="assigned").select_related("customer")
            return list(qs.order_by("received_at", "-score")[:limit])

        module.inquiry_new_for_owner = inquiry_new_for_owner  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "careline.sales.selectors", module)


def _lead(org, name: str, phone: str) -> Inquiry:
    customer = make_customer(org.consultant_hn, full_name=name, phones=[phone])
    return Inquiry.objects.create(
        customer=customer,
        channel="web",
        full_name=name,
        phone=customer.contact_points.get().value,
        message="Cho em hỏi lịch khai giảng IELTS",
        status="assigned",
        owner=org.consultant_hn,
        team=org.hn_sales,
        branch=org.hn,
        score=40,
    )


def test_my_day_shows_the_day(org, world, monkeypatch):
    _fake_sales(monkeypatch)
    customer = world["customer"]
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    overdue = add_follow_up(org.consultant_hn, customer, start - dt.timedelta(days=1), subject="Gửi học phí")
    lead = _lead(org, "Phạm Minh Khôi", "0987000111")
    r = web_client(org.consultant_hn).get("/activities/my-day/")
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="quota-bars"' in body
    assert f'id="fu-{overdue.pk}"' in body and "Gửi học phí" in body
    assert f'id="lead-{lead.pk}"' in body and "Phạm Minh Khôi" in body and 'href="tel:+84987000111"' in body
    assert f'id="next-{customer.pk}"' in body
    assert 'id="priority-rules-list"' in body and "+50" in body
    assert 'id="overdue-count"' in body
    # One section alone (htmx refresh).
    r = web_client(org.consultant_hn).get("/activities/my-day/", {"part": "next"}, **HX)
    part = r.content.decode()
    assert part.lstrip().startswith('<section class="card" id="my-next"') and "my-follow-ups" not in part


def test_my_day_without_lead_intake(org, world, monkeypatch):
    _fake_sales(monkeypatch, with_function=False)
    body = web_client(org.consultant_hn).get("/activities/my-day/").content.decode()
    assert 'id="no-leads"' in body


def test_one_click_from_my_day_updates_the_row_and_the_other_lists(org, world, monkeypatch):
    _fake_sales(monkeypatch)
    customer = world["customer"]
    client = web_client(org.consultant_hn)
    row = f"next-{customer.pk}"
    r = client.post(
        f"/activities/customers/{customer.pk}/call/",
        {"outcome": "no_answer", "row": row, "section": "next"},
        **HX,
    )
    assert r.status_code == 200
    assert (
        r.content.decode()
        .lstrip()
        .startswith(f'<div class="list-group-item list-group-item-success small cl-row-done" id="{row}"')
    )
    events = json.loads(r["HX-Trigger"])
    assert set(events) == {"activity-logged", "followups-changed", "leads-changed"}
    assert Activity.objects.filter(kind="call", outcome="no_answer", customer=customer).count() == 1
    # A call-back without a time: the error goes under the row's buttons, nothing logged.
    r = client.post(
        f"/activities/customers/{customer.pk}/call/",
        {"outcome": "call_back", "row": row, "section": "next"},
        **HX,
    )
    assert r["HX-Retarget"] == f"#err-{row}" and r["HX-Reswap"] == "innerHTML"
    assert Activity.objects.filter(kind="call").count() == 1
    # From a follow-up row: the call fulfils the follow-up; the follow-ups list is not reloaded.
    fu = world["activity"]
    r = client.post(
        f"/activities/customers/{customer.pk}/call/",
        {"outcome": "reached", "row": f"fu-{fu.pk}", "section": "follow_ups", "follow_up_id": fu.pk},
        **HX,
    )
    assert set(json.loads(r["HX-Trigger"])) == {"activity-logged", "next-changed", "leads-changed"}
    fu.refresh_from_db()
    assert fu.completed_at is not None
    # A malformed row id is not echoed into a CSS selector.
    r = client.post(
        f"/activities/customers/{customer.pk}/call/",
        {"outcome": "call_back", "row": "x'],body{", "section": "next"},
        **HX,
    )
    assert "HX-Retarget" not in r
    # Without htmx: back to My day.
    r = client.post(f"/activities/customers/{customer.pk}/call/", {"outcome": "busy"})
    assert r.status_code == 302 and r["Location"] == "/activities/my-day/"


def test_done_button_on_a_follow_up_row(org, world):
    fu = world["activity"]
    r = web_client(org.consultant_hn).post(
        f"/activities/{fu.pk}/complete/",
        {"section": "follow_ups", "row": f"fu-{fu.pk}", "outcome": "done"},
        **HX,
    )
    assert r.status_code == 200 and f'id="fu-{fu.pk}"' in r.content.decode()
    assert set(json.loads(r["HX-Trigger"])) == {"activity-logged", "next-changed", "leads-changed"}


def _queries(client: Client, url: str, **extra: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url, **extra)
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_my_day_query_count_does_not_grow(org, monkeypatch):
    _fake_sales(monkeypatch)
    u = org.consultant_hn
    client = web_client(u)

    def add(start: int, n: int) -> None:
        day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        for i in range(start, start + n):
            c = make_customer(u, full_name=f"Khách {i:03d}", phones=[f"0912{i:06d}"])
            add_follow_up(u, c, day - dt.timedelta(hours=i + 1))
            _lead(org, f"Lead {i:03d}", f"0988{i:06d}")

    add(0, 2)
    small = _queries(client, "/activities/my-day/")
    add(2, 10)
    assert _queries(client, "/activities/my-day/") == small


# --- list -----------------------------------------------------------------------------------------------------


def test_list_filters_paging_and_delete(org, world):
    customer = world["customer"]
    for i in range(3):
        log_call(
            org.consultant_hn,
            customer,
            occurred_at=timezone.now() - dt.timedelta(hours=i + 1),
            notes=f"Cuộc gọi {i}",
        )
    client = web_client(org.consultant_hn)
    body = client.get("/activities/").content.decode()
    assert body.count('class="cl-activity-row"') == 4
    body = client.get("/activities/", {"kind": "follow_up", "open": "on"}).content.decode()
    assert body.count('class="cl-activity-row"') == 1
    body = client.get("/activities/", {"date": "not a date"}).content.decode()
    assert "alert-warning" in body
    r = client.get("/activities/", {"kind": "call"}, **HX)
    assert r.content.decode().lstrip().startswith('<div id="activity-rows">')
    call = Activity.objects.filter(kind="call").first()
    r = client.post(f"/activities/{call.pk}/delete/", {}, **HX)
    assert r.status_code == 200 and r.content == b""
    assert not Activity.objects.filter(pk=call.pk).exists()


def test_list_query_count_does_not_grow(org, world):
    client = web_client(org.supervisor_hn)
    small = _queries(client, "/activities/")
    for i in range(12):
        c = make_customer(org.consultant_hn, full_name=f"Khách {i}")
        log_call(org.consultant_hn, c)
        add_follow_up(org.consultant_hn, c)
    assert _queries(client, "/activities/") == small


# --- email templates ------------------------------------------------------------------------------------------


def test_email_templates_pages(org, world):
    client = web_client(org.supervisor_hn)
    r = client.get("/activities/email-templates/")
    assert r.status_code == 200 and f'id="template-{world["template"].pk}"' in r.content.decode()
    r = client.post(
        "/activities/email-templates/",
        {"name": "Sai", "subject": "Chào {ten}", "body": "x", "language": "vi"},
    )
    assert r.status_code == 200 and 'data-field="subject"' in r.content.decode()
    r = client.post(
        "/activities/email-templates/",
        {
            "name": "Khuyến mãi hè",
            "subject": "Ưu đãi cho {given_name}",
            "body": "…",
            "language": "vi",
            "marketing": "on",
            "active": "on",
        },
    )
    assert r.status_code == 302
    promo = EmailTemplate.objects.get(name="Khuyến mãi hè")
    assert promo.marketing and promo.active
    r = client.post(
        f"/activities/email-templates/{promo.pk}/",
        {"name": "Khuyến mãi thu", "subject": "Ưu đãi", "body": "…", "language": "vi", "active": "on"},
    )
    assert r.status_code == 302
    promo.refresh_from_db()
    assert (promo.name, promo.marketing) == ("Khuyến mãi thu", False)
    assert client.get(f"/activities/email-templates/{promo.pk}/").status_code == 200
    assert client.post(f"/activities/email-templates/{promo.pk}/archive/").status_code == 302
    promo.refresh_from_db()
    assert not promo.active


def test_pages_render_in_vietnamese_by_default(org, world):
    body = web_client(org.consultant_hn).get("/activities/my-day/").content.decode()
    assert re.search(r'<html lang="vi"', body)


def test_my_day_with_the_sales_app_lead_disappears_once_called(org, django_capture_on_commit_callbacks):
    """The real `careline.sales.selectors.inquiry_new_for_owner` and the sales receiver of `activity_logged`."""
    lead = _lead(org, "Đỗ Quang Vinh", "0977000222")
    client = web_client(org.consultant_hn)
    body = client.get("/activities/my-day/").content.decode()
    assert f'id="lead-{lead.pk}"' in body
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/activities/customers/{lead.customer_id}/call/",
            {"outcome": "reached", "row": f"lead-{lead.pk}", "section": "leads"},
            **HX,
        )
    assert set(json.loads(r["HX-Trigger"])) == {"activity-logged", "followups-changed", "next-changed"}
    lead.refresh_from_db()
    assert lead.status == "contacted"
    part = client.get("/activities/my-day/", {"part": "leads"}, **HX).content.decode()
    assert f'id="lead-{lead.pk}"' not in part and 'id="no-leads"' in part
