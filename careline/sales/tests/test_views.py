"""Lead pages: anonymous (login redirect), out of scope (404), forbidden (403), allowed; filters, htmx
fragments, bulk assignment, the queue button, the lead's actions and log, rules with their rotation, absences."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from careline.accounts.models import Notification
from careline.conftest import web_client
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.sales.choices import InquiryStatus
from careline.sales.models import Absence, AllocationMember, AllocationRule, Assignment, Inquiry
from careline.sales.tests.factories import make_rule, receive

pytestmark = pytest.mark.django_db


def vi(message: str) -> str:
    """The message as the (default, Vietnamese) UI shows it, HTML-escaped."""
    with translation.override("vi"):
        return escape(gettext(message))


@dataclass
class World:
    lead: Inquiry  # consultant_hn's, team HN 1
    lead_hcm: Inquiry
    rule: AllocationRule
    rule_hcm: AllocationRule
    absence: Absence  # consultant_hn's
    absence_hcm: Absence


@pytest.fixture
def world(org) -> World:
    rule = make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], name="HN 1")
    rule_hcm = make_rule(org.hcm_sales, [org.consultant_hcm], name="HCM")
    lead = receive(1, message="Cho em hỏi lịch khai giảng").inquiry
    lead_hcm = receive(2, team_id=org.hcm_sales.pk).inquiry
    start = timezone.now() + dt.timedelta(days=3)
    absence = Absence.objects.create(
        user=org.consultant_hn, starts_at=start, ends_at=start + dt.timedelta(days=1)
    )
    absence_hcm = Absence.objects.create(
        user=org.consultant_hcm, starts_at=start, ends_at=start + dt.timedelta(days=1)
    )
    return World(lead, lead_hcm, rule, rule_hcm, absence, absence_hcm)


def rule_post(team_id: int, members: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """A complete rule form as the browser posts it."""
    data: dict[str, Any] = {
        "name": "Quy tắc web",
        "position": "10",
        "active": "on",
        "team": str(team_id),
        "strategy": "round_robin",
        "reclaim_after": "",
        "reclaim_unit": "hours",
        "respect_working_hours": "on",
        "work_start": "08:00",
        "work_end": "17:30",
        "save": "1",
    }
    data.update(fields)
    rows = members or []
    data["m-TOTAL_FORMS"] = str(len(rows))
    data["m-INITIAL_FORMS"] = "0"
    data["m-MIN_NUM_FORMS"] = "0"
    data["m-MAX_NUM_FORMS"] = "1000"
    for i, row in enumerate(rows):
        for key, value in row.items():
            if value is not None and value is not False:
                data[f"m-{i}-{key}"] = "on" if value is True else str(value)
    return {k: v for k, v in data.items() if v is not None}


# name → (method, url pattern, POST data builder). {id} a lead, {rule} a rule, {absence} an absence.
PAGES: dict[str, tuple[str, str, Any]] = {
    "list": ("GET", "/leads/", None),
    "bulk_assign": (
        "POST",
        "/leads/assign/",
        lambda org, w: {"ids": [w.lead.pk], "user": org.consultant_hn_b.pk},
    ),
    "allocate": ("POST", "/leads/allocate/", lambda org, w: {}),
    "detail": ("GET", "/leads/{id}/", None),
    "assign": ("POST", "/leads/{id}/assign/", lambda org, w: {"user": org.consultant_hn_b.pk}),
    "reclaim": ("POST", "/leads/{id}/reclaim/", lambda org, w: {"note": "khách phàn nàn"}),
    "close": ("POST", "/leads/{id}/close/", lambda org, w: {}),
    "spam": ("POST", "/leads/{id}/spam/", lambda org, w: {}),
    "rules": ("GET", "/leads/rules/", None),
    "rule_create": ("GET", "/leads/rules/new/", None),
    "rule_create_post": ("POST", "/leads/rules/new/", lambda org, w: rule_post(org.hn_sales.pk)),
    "rule_edit": ("GET", "/leads/rules/{rule}/", None),
    "rule_edit_post": ("POST", "/leads/rules/{rule}/", lambda org, w: rule_post(org.hn_sales.pk, name="Đổi")),
    "rule_delete": ("POST", "/leads/rules/{rule}/delete/", lambda org, w: {}),
    "absences": ("GET", "/leads/absences/", None),
    "absences_post": (
        "POST",
        "/leads/absences/",
        lambda org, w: {
            "user": org.consultant_hn_b.pk,
            "kind": "leave",
            "starts_on": "02/03/2031",
            "ends_on": "03/03/2031",
        },
    ),
    "absence_delete": ("POST", "/leads/absences/{absence}/delete/", lambda org, w: {}),
}
OBJECT_PAGES = [n for n, (_m, url, _d) in PAGES.items() if "{" in url] + ["bulk_assign"]


def hit(client: Client, name: str, org: Any, w: World, *, ids: dict[str, int] | None = None, **extra: Any):
    method, url, data = PAGES[name]
    target = {"id": w.lead.pk, "rule": w.rule.pk, "absence": w.absence.pk, **(ids or {})}
    url = url.format(**target)
    if method == "GET":
        return client.get(url, **extra)
    body = data(org, w) if data else {}
    if name == "bulk_assign" and ids and "id" in ids:
        body["ids"] = [ids["id"]]
    return client.post(url, body, **extra)


def db_state() -> tuple:
    return (
        sorted(Inquiry.objects.values_list("id", "owner_id", "status", "updated_at")),
        Customer.objects.count(),
        Assignment.objects.count(),
        sorted(AllocationRule.objects.values_list("id", "name", "updated_at")),
        sorted(AllocationMember.objects.values_list("id", "user_id", "position")),
        sorted(Absence.objects.values_list("id", "user_id")),
    )


def test_every_url_is_in_the_matrix():
    from careline.sales.urls import urlpatterns

    covered = {
        url.removeprefix("/leads/")
        .replace("{id}", "<int:inquiry_id>")
        .replace("{rule}", "<int:rule_id>")
        .replace("{absence}", "<int:absence_id>")
        for _m, url, _d in PAGES.values()
    }
    assert {str(p.pattern) for p in urlpatterns} == covered


def test_anonymous_is_redirected_to_login(org, world):
    client = Client()
    before = db_state()
    for name in PAGES:
        r = hit(client, name, org, world)
        assert r.status_code == 302, name
        assert r["Location"].startswith("/accounts/login/?next=/leads/"), (name, r["Location"])
    assert db_state() == before


def test_out_of_scope_is_not_found(org, world):
    client = Client()
    before = db_state()
    for actor_name in ("consultant_hn_b", "consultant_hcm", "nobody", "admin"):
        client.force_login(getattr(org, actor_name))
        # Out of scope, or (for the admin who sees everything) objects that do not exist: the same 404.
        ids = {"id": 999_999, "rule": 999_999, "absence": 999_999} if actor_name == "admin" else None
        for name in OBJECT_PAGES:
            r = hit(client, name, org, world, ids=ids)
            assert r.status_code == 404, (actor_name, name, r.status_code)
    assert db_state() == before


def test_other_branch_is_not_found_for_a_branch_manager(org, world):
    client = web_client(org.manager_hn)
    before = db_state()
    ids = {"id": world.lead_hcm.pk, "rule": world.rule_hcm.pk, "absence": world.absence_hcm.pk}
    for name in OBJECT_PAGES:
        assert hit(client, name, org, world, ids=ids).status_code == 404, name
    assert db_state() == before


FORBIDDEN = [
    ("list", "nobody"),
    ("bulk_assign", "consultant_hn"),
    ("bulk_assign", "director"),
    ("allocate", "consultant_hn"),
    ("allocate", "director"),
    ("allocate", "care_head"),
    ("allocate", "nobody"),
    ("assign", "consultant_hn"),
    ("assign", "director"),
    ("assign", "academic_hn"),
    ("reclaim", "consultant_hn"),
    ("reclaim", "director"),
    ("close", "director"),
    ("close", "care_head"),
    ("close", "academic_hn"),
    ("spam", "director"),
    ("rules", "consultant_hn"),
    ("rules", "director"),
    ("rules", "care_head"),
    ("rules", "nobody"),
    ("rule_create", "consultant_hn"),
    ("rule_create", "director"),
    ("rule_create_post", "consultant_hn"),
    ("rule_create_post", "director"),
    ("rule_edit", "director"),
    ("rule_edit", "academic_hn"),
    ("rule_edit_post", "director"),
    ("rule_delete", "director"),
    ("rule_delete", "academic_hn"),
    ("absences", "nobody"),
    ("absences_post", "nobody"),
    ("absences_post", "consultant_hn"),  # for someone else (consultant_hn_b)
    ("absence_delete", "director"),
    ("absence_delete", "care_head"),
]


def test_forbidden_is_403(org, world):
    client = Client()
    before = db_state()
    for name, actor_name in FORBIDDEN:
        client.force_login(getattr(org, actor_name))
        if name in ("assign", "reclaim", "close", "spam", "bulk_assign"):
            assert client.get(f"/leads/{world.lead.pk}/").status_code == 200, (name, actor_name)
        r = hit(client, name, org, world)
        assert r.status_code == 403, (name, actor_name, r.status_code)
    assert db_state() == before


# --- the list ---------------------------------------------------------------------------------------------


def test_list_for_a_supervisor(org, world):
    Inquiry.objects.filter(pk=world.lead.pk).update(contact_due_at=timezone.now() - dt.timedelta(minutes=30))
    queued = receive(
        3, team_id=org.hn_sales.pk, full_name="Khách <b>Lạ</b>", product_interest="IELTS 7.0"
    ).inquiry
    Inquiry.objects.filter(pk=queued.pk).update(status="queued", owner=None)
    r = web_client(org.supervisor_hn).get("/leads/")
    assert r.status_code == 200
    html = r.content.decode()
    assert vi("Leads") in html and vi("Run the queue now") in html
    assert f'id="lead-{world.lead.pk}"' in html and f'id="lead-{queued.pk}"' in html
    assert f'id="lead-{world.lead_hcm.pk}"' not in html
    assert "Khách &lt;b&gt;Lạ&lt;/b&gt;" in html and "<b>Lạ</b>" not in html
    assert "0912 000 001" in html  # phones shown the Vietnamese way
    assert "IELTS 7.0" in html
    # Counts per status as tabs; checkboxes and the bulk bar for someone who may assign.
    assert re.search(r'id="count-all">\s*2<', html) and re.search(r'id="count-queued">\s*1<', html)
    assert 'name="ids"' in html and 'id="bulk-assign"' in html
    assert f'<option value="{org.consultant_hn_b.pk}">' in html
    assert 'id="rules-link"' in html
    # The contact-by countdown: overdue.
    row = html[html.index(f'id="lead-{world.lead.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "text-danger" in row and "30" in row


def test_list_for_a_consultant_has_no_bulk_tools(org, world):
    html = web_client(org.consultant_hn).get("/leads/").content.decode()
    assert f'id="lead-{world.lead.pk}"' in html
    assert 'name="ids"' not in html and 'id="bulk-assign"' not in html
    assert 'id="run-queue"' not in html and 'id="rules-link"' not in html
    assert 'id="absences-link"' in html


def _lead_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="cl-row" id="lead-(\d+)"', html)]


def test_list_filters(org, world):
    queued = receive(3, team_id=org.hn_sales.pk, channel="hotline", full_name="Trần Thị Lan").inquiry
    Inquiry.objects.filter(pk=queued.pk).update(status="queued", owner=None)
    facebook = receive(4, channel="facebook", full_name="Phạm Đức Anh").inquiry
    old = receive(5, received_at=timezone.now() - dt.timedelta(days=10)).inquiry
    client = web_client(org.supervisor_hn)

    def ids(**params: Any) -> list[int]:
        r = client.get("/leads/", params)
        assert r.status_code == 200
        return _lead_ids(r.content.decode())

    assert ids() == [facebook.pk, queued.pk, world.lead.pk, old.pk]
    assert ids(status="queued") == [queued.pk]
    assert ids(channel="facebook") == [facebook.pk]
    assert ids(owner=facebook.owner_id) == [facebook.pk, world.lead.pk]
    assert ids(team=org.hn_sales.pk) == [facebook.pk, queued.pk, world.lead.pk, old.pk]
    assert ids(q="tran thi lan") == [queued.pk]  # accents optional
    assert ids(date=timezone.localtime(old.received_at).strftime("%d/%m/%Y")) == [old.pk]
    assert ids(mine="on") == []
    assert _lead_ids(web_client(org.consultant_hn).get("/leads/", {"mine": "on"}).content.decode()) == [
        facebook.pk,
        world.lead.pk,
    ]
    # A bad filter is reported and ignored, not a crash.
    r = client.get("/leads/", {"date": "31/02/2026", "owner": "boss"})
    assert r.status_code == 200
    assert 'id="filter-error"' in r.content.decode()
    assert _lead_ids(r.content.decode()) == [facebook.pk, queued.pk, world.lead.pk, old.pk]


def test_htmx_filter_and_load_more_fragments(org):
    make_rule(org.hn_sales, [org.consultant_hn])
    made = [receive(i).inquiry for i in range(55)]
    client = web_client(org.supervisor_hn)
    r = client.get("/leads/", {"channel": "web"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert html.lstrip().startswith('<div id="lead-results">')
    assert "<html" not in html and 'id="status-tabs"' in html
    assert len(_lead_ids(html)) == 50
    more = re.search(r'hx-get="([^"]+)"[^>]*id="load-more"', html)
    assert more
    r = client.get("/leads/" + more.group(1).replace("&amp;", "&"), HTTP_HX_REQUEST="true")
    rest = r.content.decode()
    assert rest.lstrip().startswith("<tr")
    assert 'id="status-tabs"' not in rest and 'id="load-more"' not in rest
    assert _lead_ids(html) + _lead_ids(rest) == [i.pk for i in reversed(made)]


def _count_list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/leads/")
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_rows(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], reclaim_after_minutes=60)
    client = web_client(org.supervisor_hn)
    for i in range(3):
        receive(i)
    client.get("/leads/")
    small = _count_list_queries(client)
    for i in range(100, 130):
        receive(i, product_interest="IELTS")
    big = _count_list_queries(client)
    assert big == small, (small, big)


def test_bulk_assign(org, world):
    second = receive(7).inquiry
    client = web_client(org.supervisor_hn)
    r = client.post(
        "/leads/assign/",
        {"ids": [world.lead.pk, second.pk], "user": org.consultant_hn2.pk, "next": "/leads/?status=assigned"},
    )
    assert r.status_code == 403  # consultant_hn2 is in another team
    r = client.post(
        "/leads/assign/",
        {
            "ids": [world.lead.pk, second.pk],
            "user": org.supervisor_hn.pk,
            "note": "cân tải",
            "next": "/leads/?status=assigned",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/leads/?status=assigned"
    assert set(
        Inquiry.objects.filter(pk__in=[world.lead.pk, second.pk]).values_list("owner_id", flat=True)
    ) == {org.supervisor_hn.pk}
    assert Assignment.objects.filter(reason="manual", actor=org.supervisor_hn, note="cân tải").count() == 2
    # Nothing ticked: a message, nothing changes; an outside `next` is not followed.
    before = db_state()
    r = client.post("/leads/assign/", {"user": org.consultant_hn.pk, "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/leads/"
    assert db_state() == before


def test_run_the_queue_button(org, world):
    for i in range(3):
        receive(10 + i, team_id=org.hn_sales2.pk)  # no rule for HN 2 yet
    make_rule(org.hn_sales2, [org.consultant_hn2], name="HN 2")
    receive(20, team_id=org.hcm_sales.pk)
    Inquiry.objects.filter(team=org.hcm_sales).update(status="queued", owner=None)
    client = web_client(org.manager_hn)
    r = client.post("/leads/allocate/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="queue-run-result"' in html and "<html" not in html
    assert f"{escape(str(org.consultant_hn2))}: 3" in html
    assert str(org.consultant_hcm) not in html  # another branch: only counted
    # HCM's two queued leads (world.lead_hcm and #20) went to the other branch: a total, no names.
    assert vi("Other teams: %(n)s") % {"n": 2} in html
    assert Inquiry.objects.filter(owner=org.consultant_hn2).count() == 3
    # Without htmx: back to the list with a message.
    r = client.post("/leads/allocate/", {"next": "/leads/?status=queued"})
    assert r.status_code == 302 and r["Location"] == "/leads/?status=queued"


# --- one lead ---------------------------------------------------------------------------------------------


def test_detail_shows_the_inquiry_and_its_log(org, world):
    inquiry = receive(
        8,
        message="<script>alert(1)</script> Tư vấn giúp em",
        payload={"form": "Trang chủ", "utm": {"source": "google"}},
        product_interest="Tiếng Anh trẻ em",
        province="01",
    ).inquiry
    client = web_client(org.supervisor_hn)
    client.post(f"/leads/{inquiry.pk}/assign/", {"user": org.consultant_hn.pk, "note": "quen khách"})
    r = client.get(f"/leads/{inquiry.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert f'href="/customers/{inquiry.customer_id}/"' in html
    assert "Tiếng Anh trẻ em" in html and "Hà Nội" in html
    assert "Trang chủ" in html and "google" in html  # the payload summary
    log = html[html.index('id="assignment-log"') :]
    assert "HN 1" in log and "quen khách" in log
    assert escape(str(org.supervisor_hn)) in log  # by whom
    assert vi("automatic (Careline)") in log
    assert 'id="assign-form"' in html and 'id="reclaim-form"' in html and 'id="close-lead"' in html
    # A consultant sees their lead with close/spam but not assign/reclaim.
    html = web_client(org.consultant_hn).get(f"/leads/{inquiry.pk}/").content.decode()
    assert 'id="close-lead"' in html and 'id="spam-lead"' in html
    assert 'id="assign-form"' not in html and 'id="reclaim-form"' not in html
    # Read-only roles: no actions at all.
    html = web_client(org.director).get(f"/leads/{inquiry.pk}/").content.decode()
    assert 'id="close-lead"' not in html and 'id="assign-form"' not in html


def test_assign_reclaim_close_and_spam(org, world):
    client = web_client(org.supervisor_hn)
    url = f"/leads/{world.lead.pk}/"
    r = client.post(url + "assign/", {"user": org.consultant_hn_b.pk, "note": "đổi người"})
    assert r.status_code == 302 and r["Location"] == url
    world.lead.refresh_from_db()
    assert world.lead.owner == org.consultant_hn_b
    assert Notification.objects.filter(user=org.consultant_hn_b, kind="lead_assigned").exists()
    # Bad input: a message, nothing changes.
    before = db_state()
    assert client.post(url + "assign/", {"user": "ai đó"}).status_code == 302
    assert client.post(url + "reclaim/", {"note": ""}).status_code == 302
    assert db_state() == before
    r = client.post(url + "reclaim/", {"note": "không gọi khách", "reallocate": "on"})
    assert r.status_code == 302
    world.lead.refresh_from_db()
    assert world.lead.owner == org.consultant_hn  # someone else than consultant_hn_b
    reclaim = Assignment.objects.filter(inquiry=world.lead, reason="reclaim").get()
    assert (reclaim.from_user, reclaim.note, reclaim.actor) == (
        org.consultant_hn_b,
        "không gọi khách",
        org.supervisor_hn,
    )
    told = Notification.objects.get(user=org.consultant_hn_b, kind="lead_reclaimed")
    assert "không gọi khách" in told.message
    # The consultant closes their lead; then nobody can assign it.
    r = web_client(org.consultant_hn).post(url + "close/", {"note": "đã đăng ký"})
    assert r.status_code == 302
    world.lead.refresh_from_db()
    assert world.lead.status == InquiryStatus.CLOSED
    assert AuditEvent.objects.filter(
        object_type="sales.inquiry", object_id=str(world.lead.pk), action="update"
    ).exists()
    r = client.post(url + "assign/", {"user": org.consultant_hn_b.pk})
    assert r.status_code == 302
    world.lead.refresh_from_db()
    assert world.lead.owner == org.consultant_hn
    page = client.get(url).content.decode()
    assert 'id="assign-form"' not in page
    # Spam.
    other = receive(9).inquiry
    assert client.post(f"/leads/{other.pk}/spam/").status_code == 302
    assert Inquiry.objects.get(pk=other.pk).status == InquiryStatus.SPAM


# --- rules ------------------------------------------------------------------------------------------------


def test_rules_page_lists_rules_in_scope(org, world):
    world.rule.provinces = ["01", "79"]
    world.rule.save()
    html = web_client(org.supervisor_hn).get("/leads/rules/").content.decode()
    assert f'id="rule-{world.rule.pk}"' in html and f'id="rule-{world.rule_hcm.pk}"' not in html
    assert "Hà Nội" in html and "Hồ Chí Minh" in html
    assert escape(str(org.consultant_hn_b)) in html
    html = web_client(org.admin).get("/leads/rules/").content.decode()
    assert f'id="rule-{world.rule_hcm.pk}"' in html


def test_create_rule_with_rotation(org):
    client = web_client(org.supervisor_hn)
    r = client.get("/leads/rules/new/")
    assert r.status_code == 200
    assert 'name="m-0-user"' in r.content.decode()
    data = rule_post(
        org.hn_sales.pk,
        members=[
            {
                "user": org.consultant_hn_b.pk,
                "capacity": 20,
                "skills": "IELTS, toeic",
                "languages": "vi, EN",
                "active": True,
            },
            {"user": org.consultant_hn.pk, "capacity": "", "active": False},
            {"user": "", "capacity": ""},  # an empty row is ignored
        ],
        name="IELTS HN",
        channels=["web", "zalo"],
        provinces=["01"],
        products="ielts; luyện thi",
        languages=["vi"],
        strategy="weighted",
        reclaim_after="2",
        reclaim_unit="hours",
        work_start="07:30",
        work_end="21:00",
    )
    r = client.post("/leads/rules/new/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    assert r["Location"] == "/leads/rules/"
    rule = AllocationRule.objects.get(name="IELTS HN")
    assert (rule.team, rule.branch, rule.strategy, rule.reclaim_after_minutes) == (
        org.hn_sales,
        org.hn,
        "weighted",
        120,
    )
    assert (rule.channels, rule.provinces, rule.products, rule.languages) == (
        ["web", "zalo"],
        ["01"],
        ["ielts", "luyện thi"],
        ["vi"],
    )
    assert (rule.work_start, rule.work_end) == (dt.time(7, 30), dt.time(21, 0))
    members = list(rule.members.order_by("position"))
    assert [(m.user, m.capacity, m.skills, m.languages, m.active) for m in members] == [
        (org.consultant_hn_b, 20, ["IELTS", "toeic"], ["vi", "en"], True),
        (org.consultant_hn, None, [], [], False),
    ]
    assert AuditEvent.objects.filter(
        object_type="sales.allocationrule", action="create", actor=org.supervisor_hn
    ).exists()
    # The edit page shows it back as entered.
    html = client.get(f"/leads/rules/{rule.pk}/").content.decode()
    assert 'value="IELTS, toeic"' in html and 'value="2"' in html
    assert re.search(r'<option value="hours" selected', html)


def test_rotation_rows_move_add_and_remove_without_saving(org, world):
    client = web_client(org.supervisor_hn)
    data = rule_post(
        org.hn_sales.pk,
        members=[
            {"user": org.consultant_hn.pk, "active": True},
            {"user": org.consultant_hn_b.pk, "active": True},
        ],
        name="HN 1",
    )
    data.pop("save")
    before = db_state()
    r = client.post(f"/leads/rules/{world.rule.pk}/", {**data, "move": "1:up"})
    assert r.status_code == 200
    html = r.content.decode()
    first = re.search(r'name="m-0-user"[^>]*>.*?<option value="(\d+)" selected', html, re.S)
    assert first and int(first.group(1)) == org.consultant_hn_b.pk
    r = client.post(f"/leads/rules/{world.rule.pk}/", {**data, "add_member": "1"})
    assert 'name="m-2-user"' in r.content.decode()
    r = client.post(f"/leads/rules/{world.rule.pk}/", {**data, "move": "0:remove"})
    html = r.content.decode()
    assert 'name="m-1-user"' not in html
    assert db_state() == before
    # Saving in the new order changes the rotation order.
    swapped = rule_post(
        org.hn_sales.pk,
        members=[
            {"user": org.consultant_hn_b.pk, "active": True},
            {"user": org.consultant_hn.pk, "active": True},
        ],
        name="HN 1",
    )
    assert client.post(f"/leads/rules/{world.rule.pk}/", swapped).status_code == 302
    assert list(world.rule.members.order_by("position").values_list("user_id", flat=True)) == [
        org.consultant_hn_b.pk,
        org.consultant_hn.pk,
    ]


def test_rule_form_errors_are_422_and_shown(org, world):
    client = web_client(org.supervisor_hn)
    before = db_state()
    for data, marker in (
        (rule_post(org.hn_sales.pk, name=""), 'data-field="name"'),
        (rule_post(org.hcm_sales.pk), 'data-field="team"'),  # not a team they manage
        (rule_post(org.hn_sales.pk, work_start="18:00", work_end="08:00"), 'data-field="work_end"'),
        (rule_post(org.hn_sales.pk, reclaim_after="0"), 'data-field="reclaim_after"'),
        (
            # Someone outside the team is not offered (and refused when posted).
            rule_post(org.hn_sales.pk, members=[{"user": org.consultant_hcm.pk, "active": True}]),
            "invalid-feedback",
        ),
        (
            rule_post(
                org.hn_sales.pk,
                members=[
                    {"user": org.consultant_hn.pk, "active": True},
                    {"user": org.consultant_hn.pk, "active": True},
                ],
            ),
            'id="member-errors"',
        ),
        (
            rule_post(org.hn_sales.pk, members=[{"user": org.consultant_hn.pk, "capacity": "0"}]),
            "invalid-feedback",
        ),
    ):
        r = client.post("/leads/rules/new/", data)
        assert r.status_code == 422, (data, r.status_code)
        assert marker in r.content.decode(), data
    assert db_state() == before


def test_delete_rule(org, world):
    r = web_client(org.supervisor_hn).post(f"/leads/rules/{world.rule.pk}/delete/")
    assert r.status_code == 302 and r["Location"] == "/leads/rules/"
    assert not AllocationRule.objects.filter(pk=world.rule.pk).exists()
    world.lead.refresh_from_db()
    assert world.lead.owner == org.consultant_hn and world.lead.rule_id is None


# --- absences ---------------------------------------------------------------------------------------------


def test_absences_page_and_adding_whole_days(org, world):
    client = web_client(org.supervisor_hn)
    html = client.get("/leads/absences/").content.decode()
    assert f'id="absence-{world.absence.pk}"' in html and f'id="absence-{world.absence_hcm.pk}"' not in html
    r = client.post(
        "/leads/absences/",
        {
            "user": org.consultant_hn_b.pk,
            "kind": "sick",
            "starts_on": "02/03/2031",
            "ends_on": "03/03/2031",
            "note": "Ốm",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/leads/absences/"
    a = Absence.objects.get(user=org.consultant_hn_b)
    assert timezone.localtime(a.starts_at).replace(tzinfo=None) == dt.datetime(2031, 3, 2, 0, 0)
    assert timezone.localtime(a.ends_at).replace(tzinfo=None) == dt.datetime(
        2031, 3, 4, 0, 0
    )  # to the end of the 3rd
    assert (a.kind, a.note, a.created_by) == ("sick", "Ốm", org.supervisor_hn)
    html = client.get("/leads/absences/").content.decode()
    assert "02/03/2031 00:00" in html
    # With times.
    client.post(
        "/leads/absences/",
        {
            "user": org.consultant_hn.pk,
            "kind": "training",
            "starts_on": "05/03/2031",
            "starts_time": "13:30",
            "ends_on": "05/03/2031",
            "ends_time": "17:00",
        },
    )
    t = Absence.objects.get(kind="training")
    assert timezone.localtime(t.starts_at).hour == 13 and timezone.localtime(t.ends_at).hour == 17


def test_absence_form_errors(org):
    client = web_client(org.consultant_hn)
    html = client.get("/leads/absences/").content.decode()
    # A consultant records only their own leave.
    assert re.findall(r'<option value="(\d+)"', html) == [str(org.consultant_hn.pk)]
    for data, field in (
        (
            {
                "user": org.consultant_hn.pk,
                "kind": "leave",
                "starts_on": "05/03/2031",
                "ends_on": "04/03/2031",
            },
            "ends_on",
        ),
        (
            {
                "user": org.consultant_hn.pk,
                "kind": "leave",
                "starts_on": "31/02/2031",
                "ends_on": "04/03/2031",
            },
            "starts_on",
        ),
        (
            {
                "user": org.consultant_hn.pk,
                "kind": "holiday",
                "starts_on": "01/03/2031",
                "ends_on": "04/03/2031",
            },
            "kind",
        ),
    ):
        r = client.post("/leads/absences/", data)
        assert r.status_code == 422, data
        assert f'data-field="{field}"' in r.content.decode(), data
    assert not Absence.objects.exists()
    r = client.post(
        "/leads/absences/",
        {"user": org.consultant_hn.pk, "kind": "leave", "starts_on": "01/03/2031", "ends_on": "01/03/2031"},
    )
    assert r.status_code == 302
    own = Absence.objects.get()
    assert client.post(f"/leads/absences/{own.pk}/delete/").status_code == 302
    assert not Absence.objects.exists()
