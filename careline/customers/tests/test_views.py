"""Customer pages: anonymous (redirect), out of scope (404), forbidden (403), allowed, forms and htmx."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from careline.conftest import web_client
from careline.core.models import AuditEvent
from careline.customers import services
from careline.customers.models import Consent, ContactPoint, Customer, Note
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def vi(message: str) -> str:
    """The message as the (default, Vietnamese) UI shows it, HTML-escaped."""
    with translation.override("vi"):
        return escape(gettext(message))


# name → (method, url pattern, POST data)
PAGES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "list": ("GET", "/customers/", None),
    "create": ("GET", "/customers/new/", None),
    "wards": ("GET", "/customers/wards/", None),
    "create_post": (
        "POST",
        "/customers/new/",
        {"kind": "person", "full_name": "Lê Văn Tám", "stage": "lead"},
    ),
    "detail": ("GET", "/customers/{id}/", None),
    "edit": ("GET", "/customers/{id}/edit/", None),
    "edit_post": (
        "POST",
        "/customers/{id}/edit/",
        {"kind": "person", "full_name": "Đổi Tên", "stage": "prospect"},
    ),
    "history": ("GET", "/customers/{id}/history/", None),
    "archive": ("POST", "/customers/{id}/archive/", {}),
    "restore": ("POST", "/customers/{id}/restore/", {}),
    "note_add": ("POST", "/customers/{id}/notes/", {"body": "Ghi chú"}),
    "consent_add": (
        "POST",
        "/customers/{id}/consents/",
        {"purpose": "marketing", "status": "granted", "method": "paper", "evidence": ""},
    ),
    "duplicates": ("GET", "/customers/duplicates/", None),
    "merge_exact": ("POST", "/customers/duplicates/merge-exact/", {}),
    # {other} is the customer merged away; refusals come from the survivor ({id}) first.
    "merge": ("GET", "/customers/{id}/merge/{other}/", None),
    "merge_post": ("POST", "/customers/{id}/merge/{other}/", {"field_full_name": "other"}),
}
OBJECT_PAGES = [name for name, (_m, url, _d) in PAGES.items() if "{id}" in url]


def hit(
    client: Client,
    name: str,
    customer_id: int | None = None,
    data: dict[str, Any] | None = None,
    other_id: int = 999_998,
):
    method, url, default = PAGES[name]
    url = url.format(id=customer_id, other=other_id)
    if method == "GET":
        return client.get(url)
    return client.post(url, data if data is not None else default)


def db_state() -> tuple:
    return (
        sorted(Customer.objects.values_list("id", "version", "archived_at", "full_name")),
        ContactPoint.objects.count(),
        Note.objects.count(),
        Consent.objects.count(),
    )


def test_every_url_is_in_the_matrix():
    from careline.customers.urls import urlpatterns

    covered = {
        url.removeprefix("/customers/")
        .replace("{id}", "<int:customer_id>")
        .replace("{other}", "<int:other_id>")
        for _m, url, _d in PAGES.values()
    }
    assert {str(p.pattern) for p in urlpatterns} == covered


def test_anonymous_is_redirected_to_login(org):
    c = make_customer(org.consultant_hn)
    client = Client()
    before = db_state()
    for name in PAGES:
        r = hit(client, name, c.pk)
        assert r.status_code == 302, name
        assert r["Location"].startswith("/accounts/login/?next=/customers/"), name
    assert db_state() == before


def test_out_of_scope_is_not_found(org):
    c = make_customer(org.consultant_hn)
    archived = make_customer(org.consultant_hn, full_name="Đã Lưu")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    client = Client()
    before = db_state()
    for actor_name in ("consultant_hcm", "consultant_hn_b", "admin"):
        client.force_login(getattr(org, actor_name))
        for name in OBJECT_PAGES:
            target = archived if name == "restore" else c
            # Out of scope, or (for the admin who sees everything) an id that does not exist: same 404.
            customer_id = 999_999 if actor_name == "admin" else target.pk
            assert hit(client, name, customer_id).status_code == 404, (actor_name, name)
    assert db_state() == before


FORBIDDEN = [
    ("list", "nobody"),
    ("create", "director"),
    ("create_post", "director"),
    ("create", "care_head"),
    ("create_post", "care_agent_hn"),
    ("edit", "director"),
    ("edit_post", "director"),
    ("edit_post", "academic_hn"),
    ("archive", "consultant_hn"),
    ("archive", "director"),
    ("restore", "consultant_hn"),
    ("note_add", "director"),
    ("consent_add", "care_head"),
    ("duplicates", "consultant_hn"),
    ("duplicates", "director"),
    ("merge_exact", "supervisor_hn"),
    ("merge_exact", "manager_hn"),
    ("merge", "consultant_hn"),
    ("merge", "director"),
    ("merge_post", "consultant_hn"),
    ("merge_post", "care_head"),
]


def test_forbidden(org):
    c = make_customer(org.consultant_hn)
    archived = make_customer(org.consultant_hn, full_name="Đã Lưu")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    client = Client()
    before = db_state()
    for name, actor_name in FORBIDDEN:
        client.force_login(getattr(org, actor_name))
        target = archived if name == "restore" else c
        assert hit(client, name, target.pk).status_code == 403, (name, actor_name)
    assert db_state() == before


def test_allowed_pages(org):
    c = make_customer(org.consultant_hn, phones=["0912345678"])
    client = web_client(org.supervisor_hn)
    for name in ("list", "create", "detail", "edit", "history", "wards"):
        r = hit(client, name, c.pk)
        assert r.status_code == 200, name
    for name in ("detail", "history", "list"):
        assert hit(web_client(org.director), name, c.pk).status_code == 200
    r = hit(
        client,
        "edit_post",
        c.pk,
        {"kind": "person", "full_name": "Đổi Tên", "stage": "prospect", "phone": "0912345678"},
    )
    assert r.status_code == 302
    assert r["Location"] == f"/customers/{c.pk}/"
    for name in ("note_add", "consent_add", "archive", "restore"):
        r = hit(client, name, c.pk)
        assert r.status_code == 302, name
        assert r["Location"] == f"/customers/{c.pk}/"
    r = hit(
        client,
        "create_post",
        data={"kind": "person", "full_name": "Lê Văn Tám", "stage": "lead", "owner_id": org.supervisor_hn.pk},
    )
    assert r.status_code == 302
    new = Customer.objects.get(full_name="Lê Văn Tám")
    assert r["Location"] == f"/customers/{new.pk}/"


def test_create_through_the_form(org):
    client = web_client(org.consultant_hn)
    r = client.get("/customers/new/")
    assert r.status_code == 200
    assert f'value="{org.consultant_hn.pk}" selected' in r.content.decode()  # owner defaults to me
    r = client.post(
        "/customers/new/",
        {
            "kind": "person",
            "full_name": "nguyễn thị lan",
            "salutation": "chi",
            "stage": "lead",
            "phone": ["0912.345.678", "(024) 3826 1234", ""],
            "phone_label": ["mobile", "home", "mobile"],
            "email": ["Lan@Example.com", ""],
            "birthday": "05/03/1990",
            "receivable_due": "31/12/2026",
            "tags": "IELTS, phụ huynh",
            "province": "01",
            "owner_id": org.consultant_hn.pk,
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    c = Customer.objects.get()
    assert r["Location"] == f"/customers/{c.pk}/"
    assert c.full_name == "Nguyễn Thị Lan"
    assert str(c.birthday) == "1990-03-05"  # day first, never 3 May
    assert str(c.receivable_due) == "2026-12-31"
    assert sorted(c.contact_points.values_list("value", "label")) == [
        ("+842438261234", "home"),
        ("+84912345678", "mobile"),
        ("lan@example.com", "other"),
    ]
    assert sorted(t.name for t in c.tags.all()) == ["IELTS", "phụ huynh"]
    page = client.get(r["Location"]).content.decode()
    assert "0912 345 678" in page
    assert "024 3826 1234" in page
    assert "05/03/1990" in page
    assert "lan@example.com" in page
    assert "Nguyễn Thị Lan" in page
    event = AuditEvent.objects.get(object_id=str(c.pk), action="create")
    assert (event.source, event.ip, event.actor) == ("web", "127.0.0.1", org.consultant_hn)
    # The edit form shows dates the same way.
    edit = client.get(f"/customers/{c.pk}/edit/").content.decode()
    assert 'value="05/03/1990"' in edit
    assert 'value="0912 345 678"' in edit


def test_consultant_can_create_unassigned_from_the_form(org):
    client = web_client(org.consultant_hn)
    r = client.post(
        "/customers/new/", {"kind": "person", "full_name": "Khách Chờ", "stage": "lead", "owner_id": ""}
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    c = Customer.objects.get()
    assert (c.owner_id, c.team_id) == (None, org.hn_sales.pk)


def test_validation_error_rerenders_with_422(org):
    client = web_client(org.consultant_hn)
    r = client.post(
        "/customers/new/",
        {
            "kind": "person",
            "full_name": "Lê Văn Bình",
            "stage": "lead",
            "phone": ["123"],
            "email": ["x@"],
            "owner_id": org.consultant_hn.pk,
        },
    )
    assert r.status_code == 422
    page = r.content.decode()
    with translation.override("vi"):
        phone_msg = escape(gettext("“%(value)s” is not a valid phone number.") % {"value": "123"})
        email_msg = escape(gettext("“%(value)s” is not a valid email address.") % {"value": "x@"})
    assert phone_msg in page
    assert email_msg in page
    assert 'value="123"' in page  # what was typed is kept
    assert 'value="Lê Văn Bình"' in page
    assert not Customer.objects.exists()
    # A form-level error (required field, unparsable date) is also a 422.
    r = client.post(
        "/customers/new/", {"kind": "person", "full_name": "", "stage": "lead", "birthday": "31/02/1990"}
    )
    assert r.status_code == 422
    assert 'data-field="full_name"' in r.content.decode()
    assert 'data-field="birthday"' in r.content.decode()
    # A birthday in the future is refused by the service and shown on the field.
    r = client.post(
        "/customers/new/",
        {
            "kind": "person",
            "full_name": "A",
            "stage": "lead",
            "birthday": "01/01/2999",
            "owner_id": org.consultant_hn.pk,
        },
    )
    assert r.status_code == 422
    assert vi("The birthday cannot be in the future.") in r.content.decode()
    assert not Customer.objects.exists()


def test_duplicate_shows_link_to_existing_card(org):
    existing = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912345678"])
    client = web_client(org.consultant_hn)
    r = client.post(
        "/customers/new/",
        {
            "kind": "person",
            "full_name": "Lan Khác",
            "stage": "lead",
            "phone": "0912 345 678",
            "owner_id": org.consultant_hn.pk,
        },
    )
    assert r.status_code == 422
    page = r.content.decode()
    assert re.search(rf'href="/customers/{existing.pk}/" id="duplicate-link"', page)
    assert vi("Open the existing card") in page
    assert 'id="id_allow_duplicate"' not in page  # consultants cannot override
    assert Customer.objects.count() == 1
    # An admin sees the override box and can create anyway.
    admin = web_client(org.admin)
    data = {
        "kind": "person",
        "full_name": "Lan Khác",
        "stage": "lead",
        "phone": "0912 345 678",
        "owner_id": org.admin.pk,
    }
    r = admin.post("/customers/new/", data)
    assert r.status_code == 422
    assert 'id="id_allow_duplicate"' in r.content.decode()
    r = admin.post("/customers/new/", {**data, "allow_duplicate": "on"})
    assert r.status_code == 302
    assert Customer.objects.count() == 2


def test_edit_and_stale_version_conflict(org):
    c = make_customer(org.consultant_hn, full_name="Nguyễn Văn A", phones=["0912345678"])
    client = web_client(org.consultant_hn)
    page = client.get(f"/customers/{c.pk}/edit/").content.decode()
    assert 'name="version" value="1"' in page
    form = {
        "kind": "person",
        "full_name": "Nguyễn Văn B",
        "stage": "prospect",
        "phone": "0912345678",
        "version": 1,
        "owner_id": org.consultant_hn.pk,
    }
    r = client.post(f"/customers/{c.pk}/edit/", form)
    assert r.status_code == 302
    c.refresh_from_db()
    assert (c.full_name, c.stage, c.version) == ("Nguyễn Văn B", "prospect", 2)
    # Someone else's tab still holds version 1.
    r = client.post(f"/customers/{c.pk}/edit/", {**form, "full_name": "Nguyễn Văn C"})
    assert r.status_code == 422
    page = r.content.decode()
    assert vi("Your changes were not saved.") in page
    assert 'id="form-errors"' in page
    c.refresh_from_db()
    assert (c.full_name, c.version) == ("Nguyễn Văn B", 2)


def test_edit_archived_is_refused(org):
    c = make_customer(org.supervisor_hn)
    services.customer_archive(actor=org.supervisor_hn, customer_id=c.pk)
    client = web_client(org.supervisor_hn)
    r = client.post(f"/customers/{c.pk}/edit/", {"kind": "person", "full_name": "X", "stage": "lead"})
    assert r.status_code == 422
    assert vi("Restore this customer before editing it.") in r.content.decode()
    detail = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'id="edit-customer"' not in detail


def test_archive_and_restore(org):
    c = make_customer(org.supervisor_hn, full_name="Lưu Trữ")
    client = web_client(org.supervisor_hn)
    page = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'id="archive-customer"' in page
    r = client.post(f"/customers/{c.pk}/archive/")
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.archived_at is not None
    page = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'id="archived-badge"' in page
    assert 'id="restore-customer"' in page
    assert "Lưu Trữ" not in client.get("/customers/").content.decode().split('id="customer-rows"')[1]
    assert "Lưu Trữ" in client.get("/customers/?archived=on").content.decode().split('id="customer-rows"')[1]
    r = client.post(f"/customers/{c.pk}/restore/")
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.archived_at is None
    # GET is not allowed on these actions.
    assert client.get(f"/customers/{c.pk}/archive/").status_code == 405
    # A consultant sees no archive button on their own card.
    own = make_customer(org.consultant_hn)
    assert (
        'id="archive-customer"'
        not in web_client(org.consultant_hn).get(f"/customers/{own.pk}/").content.decode()
    )


def test_notes_and_consent_forms(org):
    c = make_customer(org.consultant_hn)
    client = web_client(org.consultant_hn)
    r = client.post(f"/customers/{c.pk}/notes/", {"body": "Khách hẹn gọi lại <thứ Hai>"})
    assert r.status_code == 302
    assert Note.objects.get().body == "Khách hẹn gọi lại <thứ Hai>"
    r = client.post(f"/customers/{c.pk}/notes/", {"body": ""})
    assert r.status_code == 302
    assert Note.objects.count() == 1
    r = client.post(
        f"/customers/{c.pk}/consents/",
        {"purpose": "care_calls", "status": "granted", "method": "phone_call", "evidence": "ghi âm 12"},
    )
    assert r.status_code == 302
    r = client.post(
        f"/customers/{c.pk}/consents/", {"purpose": "care_calls", "status": "maybe", "method": "phone_call"}
    )
    assert r.status_code == 302
    assert Consent.objects.count() == 1
    page = client.get(f"/customers/{c.pk}/").content.decode()
    assert "Khách hẹn gọi lại &lt;thứ Hai&gt;" in page  # escaped
    assert "ghi âm 12" in page
    with translation.override("vi"):
        from careline.customers.choices import ConsentStatus

        granted = escape(str(ConsentStatus.GRANTED.label))
    assert granted in page.split('id="consent-state"')[1].split("</ul>")[0]


def test_history_partial_lists_audit_events(org):
    c = make_customer(org.consultant_hn, full_name="Nguyễn Văn A")
    services.customer_update(actor=org.consultant_hn, customer_id=c.pk, data={"stage": "prospect"})
    services.customer_note_add(actor=org.consultant_hn, customer_id=c.pk, body="Ghi chú một")
    other = make_customer(org.consultant_hn, full_name="Phạm Ngoại Lai")
    r = web_client(org.consultant_hn).get(f"/customers/{c.pk}/history/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    page = r.content.decode()
    assert "<html" not in page
    assert page.count("cl-history-item") == 3
    assert AuditEvent.objects.filter(object_id=str(c.pk)).count() == 3
    with translation.override("vi"):
        from careline.customers.choices import Stage

        assert escape(str(Stage.PROSPECT.label)) in page  # values shown as the card shows them
    assert "Ghi chú một" in page
    assert "consultant_hn" in page
    assert other.full_name not in page


def test_list_page_and_htmx_fragment(org):
    lan = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912345678"], tags=["VIP"])
    make_customer(org.consultant_hn, full_name="Trần Văn Bình")
    hidden = make_customer(org.consultant_hcm, full_name="Phạm Không Thấy")
    client = web_client(org.consultant_hn)
    r = client.get("/customers/")
    page = r.content.decode()
    assert r.status_code == 200
    assert page.lstrip().startswith("<!DOCTYPE html>")
    assert "Nguyễn Thị Lan" in page and "Trần Văn Bình" in page
    assert hidden.full_name not in page
    assert "0912 345 678" in page
    r = client.get("/customers/", {"q": "nguyen lan"}, HTTP_HX_REQUEST="true")
    fragment = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in fragment
    assert "<nav" not in fragment
    assert fragment.lstrip().startswith('<div id="customer-rows">')
    assert f'href="/customers/{lan.pk}/"' in fragment
    assert "Trần Văn Bình" not in fragment
    # A boosted navigation wants the whole page.
    r = client.get("/customers/", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert "<html" in r.content.decode()
    # Bad filters are ignored with a warning; a bad cursor shows an error instead of a 500.
    r = client.get("/customers/", {"stage": "won"})
    assert r.status_code == 200
    assert "Trần Văn Bình" in r.content.decode()
    r = client.get("/customers/", {"cursor": "garbage!!"})
    assert r.status_code == 200
    assert "Trần Văn Bình" not in r.content.decode()


def test_list_load_more_pages(org):
    for i in range(55):
        make_customer(org.consultant_hn, full_name=f"Khách {i:02d}")
    client = web_client(org.consultant_hn)
    page = client.get("/customers/").content.decode()
    assert page.count("cl-customer-link") == 50
    next_url = re.search(r'hx-get="(\?[^"]*cursor=[^"]+)"', page).group(1).replace("&amp;", "&")
    more = client.get("/customers/" + next_url, HTTP_HX_REQUEST="true").content.decode()
    assert more.count("cl-customer-link") == 5
    assert 'id="load-more"' not in more


def _list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/customers/")
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_list_page_query_count_is_constant(org):
    client = web_client(org.admin)

    def add(start: int, n: int) -> None:
        for i in range(start, start + n):
            make_customer(
                org.admin,
                full_name=f"Khách {i:03d}",
                phones=[f"09123{i:05d}"],
                emails=[f"k{i}@example.com"],
                tags=["VIP", f"t{i % 4}"],
                owner_id=org.consultant_hn.pk if i % 2 else org.consultant_hn2.pk,
                province="01",
            )

    add(0, 3)
    small = _list_queries(client)
    add(3, 27)
    big = _list_queries(client)
    assert big == small, (small, big)


# --- language ------------------------------------------------------------------------------------------


def test_default_language_is_vietnamese_and_can_switch_to_english(org):
    client = web_client(org.consultant_hn)
    r = client.get("/customers/")
    assert '<html lang="vi"' in r.content.decode()
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/customers/"})
    assert r.status_code == 302
    assert r["Location"] == "/customers/"
    r = client.get("/customers/")
    assert '<html lang="en"' in r.content.decode()
    r = client.post("/i18n/setlang/", {"language": "vi", "next": "/customers/"})
    assert '<html lang="vi"' in client.get("/customers/").content.decode()
    # Anonymous visitors get Vietnamese on the login page too.
    assert '<html lang="vi"' in Client().get("/accounts/login/").content.decode()
