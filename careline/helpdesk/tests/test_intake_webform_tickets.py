"""Web forms whose destination is `ticket` (/f/<public_key>/, /submit, thank-you page with the ticket
number) and the admin pages where web forms and connectors get their destination."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from careline.accounts.tests.factories import UserFactory
from careline.conftest import web_client
from careline.customers.models import Consent, Customer
from careline.customers.tests.factories import make_customer
from careline.helpdesk.models import Message, Ticket
from careline.helpdesk.tests.factories import make_category, make_ticket
from careline.sales import intake
from careline.sales.models import Connector, Inquiry, WebForm
from careline.sales.tests.test_intake_webform import form_data, make_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def care_form(org: Any, **kw: Any) -> WebForm:
    data: dict[str, Any] = {
        "name": "Góp ý – khiếu nại",
        "destination": "ticket",
        "team": org.hn_care,
        "branch": org.hn,
        "success_message": "",
    }
    data.update(kw)
    return make_form(**data)


def ticket_data(web_form: WebForm, **kw: Any) -> dict[str, Any]:
    base = {
        "subject": "Máy lọc nước bị rò rỉ",
        "message": "Máy mua tháng trước, hôm nay rò nước ra sàn.",
        "kind": "warranty",
    }
    return form_data(web_form, **{**base, **kw})


def test_ticket_form_asks_subject_and_kind_unless_the_form_has_one(care):
    org = care
    page = Client().get(f"/f/{care_form(org).public_key}/").content.decode()
    assert 'name="subject"' in page and 'name="kind"' in page
    assert "Khiếu nại" in page and "Yêu cầu của bạn là" in page  # Vietnamese by default
    assert '<option value="inquiry" selected>' in page
    fixed = Client().get(f"/f/{care_form(org, ticket_kind='complaint').public_key}/").content.decode()
    assert 'name="subject"' in fixed and 'name="kind"' not in fixed
    lead = Client().get(f"/f/{make_form(org).public_key}/").content.decode()
    assert 'name="subject"' not in lead and 'name="kind"' not in lead


def test_post_creates_a_ticket_and_the_thank_you_page_shows_its_number(care, clock):
    org = care
    category = make_category(org.admin, name="Bảo hành")
    web_form = care_form(org, ticket_category=category, product_interest="Máy lọc RO, Máy lọc Nano")
    client = Client(REMOTE_ADDR="203.0.113.8")
    response = client.post(
        f"/f/{web_form.public_key}/", ticket_data(web_form, product_interest="Máy lọc Nano")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.select_related("customer").get()
    assert (ticket.channel, ticket.kind, ticket.category_id) == ("web", "warranty", category.pk)
    assert ticket.subject == "Máy lọc nước bị rò rỉ" and ticket.related_ref == "Máy lọc Nano"
    assert ticket.team_id == org.hn_care.pk and ticket.assignee is not None
    assert Message.objects.get(ticket=ticket).body.startswith("Máy mua tháng trước")
    assert ticket.customer.full_name == "Nguyễn Thị Lan" and ticket.customer.stage == "customer"
    consent = Consent.objects.get(customer=ticket.customer)
    assert consent.purpose == "care_calls" and "203.0.113.8" in consent.evidence
    assert Inquiry.objects.count() == 0
    location = response["Location"]
    assert location.startswith(f"/f/{web_form.public_key}/thanks/?lang=vi&ticket=")
    assert str(ticket.pk) in location  # signed, not hidden
    thanks = client.get(location).content.decode()
    assert f"Mã phiếu #{ticket.pk}" in thanks and "Cảm ơn" in thanks


def test_thank_you_number_cannot_be_forged_or_moved_to_another_form(care, clock):
    org = care
    web_form = care_form(org)
    other = care_form(org, name="Khác")
    response = Client().post(f"/f/{web_form.public_key}/", ticket_data(web_form))
    token = response["Location"].split("ticket=")[1]
    ticket_id = Ticket.objects.get().pk
    forged = token.replace(f":{ticket_id}:", f":{ticket_id + 1}:")
    for url in (
        f"/f/{web_form.public_key}/thanks/?ticket={forged}",
        f"/f/{web_form.public_key}/thanks/?ticket={ticket_id}",
        f"/f/{other.public_key}/thanks/?ticket={token}",
    ):
        html = Client().get(url).content.decode()
        assert "Mã phiếu" not in html, url
    assert "Mã phiếu" in Client().get(f"/f/{web_form.public_key}/thanks/?ticket={token}").content.decode()


def test_kind_given_by_the_form_wins_and_invalid_kind_or_empty_text_is_refused(care, clock):
    org = care
    fixed = care_form(org, ticket_kind="complaint")
    assert Client().post(f"/f/{fixed.public_key}/", ticket_data(fixed, kind="inquiry")).status_code == 302
    assert Ticket.objects.get().kind == "complaint"
    web_form = care_form(org)
    bad_kind = Client().post(f"/f/{web_form.public_key}/", ticket_data(web_form, kind="praise"))
    assert (
        bad_kind.status_code == 200 and "Vui lòng chọn một trong các lựa chọn." in bad_kind.content.decode()
    )
    empty = Client().post(f"/f/{web_form.public_key}/", ticket_data(web_form, subject="", message=""))
    assert empty.status_code == 200
    assert "Vui lòng cho chúng tôi biết sự việc hoặc yêu cầu của bạn." in empty.content.decode()
    with_consent = make_form(org, destination="ticket")  # the form has a consent text
    no_consent = Client().post(f"/f/{with_consent.public_key}/", ticket_data(with_consent, consent=""))
    assert no_consent.status_code == 200 and 'id="form-errors"' in no_consent.content.decode()
    assert Ticket.objects.count() == 1


def test_known_customer_and_threading_into_the_open_ticket(care, clock):
    org = care
    customer = make_customer(org.consultant_hn, full_name="Trần Thị Lan", emails=["lan@example.vn"])
    first = make_ticket(None, channel="email", email="lan@example.vn", subject="Máy lọc nước bị rò rỉ")
    clock.advance(hours=1)
    web_form = care_form(org)
    client = Client()
    response = client.post(
        f"/f/{web_form.public_key}/",
        ticket_data(web_form, phone="", email="LAN@example.vn", message="Em gửi thêm ảnh sau ạ"),
    )
    assert response.status_code == 302
    assert Ticket.objects.count() == 1 and first.customer_id == customer.pk
    assert Customer.objects.count() == 1
    assert list(first.messages.order_by("id").values_list("body", flat=True))[-1] == "Em gửi thêm ảnh sau ạ"
    assert f"Mã phiếu #{first.pk}" in client.get(response["Location"]).content.decode()


def test_spam_defences_still_apply_to_ticket_forms(care, clock, monkeypatch):
    org = care
    web_form = care_form(org)
    client = Client(REMOTE_ADDR="198.51.100.50")
    honeypot = client.post(f"/f/{web_form.public_key}/", ticket_data(web_form, website="http://spam"))
    assert honeypot.status_code == 302 and "ticket=" not in honeypot["Location"]
    too_fast = client.post(
        f"/f/{web_form.public_key}/", ticket_data(web_form, ts=intake.form_token(web_form.public_key))
    )
    assert too_fast.status_code == 302 and "ticket=" not in too_fast["Location"]
    assert Ticket.objects.count() == 0 and Customer.objects.count() == 0
    for n in range(3):  # 2 spam posts above count too: 5 per 10 minutes per IP
        ok = client.post(f"/f/{web_form.public_key}/", ticket_data(web_form, phone=f"09140000{n:02d}"))
        assert ok.status_code == 302
    limited = client.post(f"/f/{web_form.public_key}/", ticket_data(web_form, phone="0914000099"))
    assert limited.status_code == 429
    assert Ticket.objects.count() == 3


def test_submit_json_answers_with_the_ticket_id(care, clock):
    org = care
    web_form = care_form(org)
    client = Client(headers={"Origin": "https://trungtam.example.vn"})
    body = {k: v for k, v in ticket_data(web_form).items() if k != "ts"} | {"consent": True}
    response = client.post(
        f"/f/{web_form.public_key}/submit", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    with translation.override("vi"):
        thanks = translation.gettext("Thank you! We will contact you soon.")
    assert response.json() == {"ok": True, "message": thanks, "ticket_id": ticket.pk}
    assert response["Access-Control-Allow-Origin"] == "https://trungtam.example.vn"
    invalid = client.post(
        f"/f/{web_form.public_key}/submit",
        json.dumps({**body, "kind": "praise", "phone": "12"}),
        content_type="application/json",
    )
    assert invalid.status_code == 422
    assert {"kind"} <= set(invalid.json()["error"]["details"]["fields"])
    bad_phone = client.post(
        f"/f/{web_form.public_key}/submit",
        json.dumps({**body, "phone": "12"}),
        content_type="application/json",
    )
    assert bad_phone.status_code == 422 and "phone" in bad_phone.json()["error"]["details"]["fields"]
    html = Client().post(
        f"/f/{web_form.public_key}/submit",
        {k: v for k, v in ticket_data(web_form, phone="0915 000 111").items() if k != "ts"},
    )
    assert html.status_code == 303 and "ticket=" in html["Location"]
    assert Ticket.objects.count() == 2


def test_lead_form_is_unchanged(care, clock):
    org = care
    web_form = make_form(org)
    response = Client().post(f"/f/{web_form.public_key}/", form_data(web_form, subject="x", kind="complaint"))
    assert response.status_code == 302 and response["Location"] == f"/f/{web_form.public_key}/thanks/?lang=vi"
    assert Inquiry.objects.count() == 1 and Ticket.objects.count() == 0


# --- admin ---------------------------------------------------------------------------------------------


def test_admin_pages_permission_matrix(care):
    org = care
    web_form = WebForm.objects.create(name="Form")
    connector = Connector.objects.create(name="Tổng đài", slug="tong-dai", kind="hotline")
    staff_without_rights = UserFactory(username="staff_only", role="care_agent", is_staff=True)
    for url in (
        f"/admin/sales/webform/{web_form.pk}/change/",
        f"/admin/sales/connector/{connector.pk}/change/",
    ):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
        not_staff = web_client(org.care_head).get(url)
        assert not_staff.status_code == 302 and "/admin/login/" in not_staff["Location"]
        assert web_client(staff_without_rights).get(url).status_code == 403
        page = web_client(org.admin).get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "Tạo ra" in html and "Phiếu chăm sóc khách hàng" in html and "Khách hàng tiềm năng" in html
        assert 'name="ticket_kind"' in html and 'name="ticket_category"' in html


def test_admin_sets_a_connector_and_a_web_form_to_tickets(care):
    org = care
    category = make_category(org.admin, name="Bảo hành")
    connector = Connector.objects.create(name="Tổng đài", slug="tong-dai", kind="hotline")
    client = web_client(org.admin)
    response = client.post(
        f"/admin/sales/connector/{connector.pk}/change/",
        {
            "name": "Tổng đài CSKH",
            "slug": "tong-dai",
            "kind": "hotline",
            "active": "on",
            "destination": "ticket",
            "ticket_kind": "complaint",
            "ticket_category": category.pk,
            "team": org.hn_care.pk,
            "secret": connector.secret,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    connector.refresh_from_db()
    assert (connector.destination, connector.ticket_kind, connector.ticket_category_id) == (
        "ticket",
        "complaint",
        category.pk,
    )
    web_form = WebForm.objects.create(name="Góp ý")
    response = client.post(
        f"/admin/sales/webform/{web_form.pk}/change/",
        {"name": "Góp ý", "active": "on", "destination": "ticket", "ticket_kind": "", "ticket_category": ""},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    web_form.refresh_from_db()
    assert web_form.destination == "ticket" and web_form.ticket_kind == ""
    listing = client.get("/admin/sales/connector/?destination__exact=ticket").content.decode()
    assert "Tổng đài CSKH" in listing
