"""Emails sent from Careline through a real SMTP server (aiosmtpd on localhost), logged as activities."""

from __future__ import annotations

import email
import json
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from careline.activities import services
from careline.activities.models import Activity
from careline.activities.tests.factories import make_template
from careline.conftest import api_client
from careline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.customers.services import customer_consent_record
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db

REFUSED = "bounce@example.vn"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if address == REFUSED:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_settings(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = _smtp_settings(port)
    settings.DEFAULT_FROM_EMAIL = "Careline <crm@trungtam.edu.vn>"
    yield inbox
    controller.stop()


@pytest.fixture
def lan(org):
    org.consultant_hn.phone = "0912345678"
    org.consultant_hn.email = "tuvan.lan@trungtam.edu.vn"
    org.consultant_hn.display_name = "Trần Thị Lan"
    org.consultant_hn.save()
    return org.consultant_hn


def test_template_email_round_trip(org, lan, smtp_server):
    customer = make_customer(
        lan, full_name="nguyễn văn minh", salutation="anh", emails=["Minh@Example.vn", "minh2@example.vn"]
    )
    template = make_template(org.supervisor_hn)
    activity = services.email_send(actor=lan, customer_id=customer.pk, template_id=template.pk)

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert smtp_server.envelopes[0] == ("crm@trungtam.edu.vn", ["minh@example.vn"])
    assert message["To"] == "minh@example.vn"
    assert message["From"] == "Careline <crm@trungtam.edu.vn>"
    assert message["Reply-To"] == "tuvan.lan@trungtam.edu.vn"
    assert message["Subject"] == "Chào Anh Minh"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Kính gửi Anh Minh," in body
    assert "Em là Trần Thị Lan (0912 345 678) bên Careline." in body
    assert message["Message-ID"].endswith("@trungtam.edu.vn>")

    activity.refresh_from_db()
    assert activity.kind == "email" and activity.outcome == "sent"
    assert activity.message_id == message["Message-ID"]
    assert activity.email_to == "minh@example.vn"
    assert activity.subject == "Chào Anh Minh"
    assert "Kính gửi Anh Minh," in activity.notes
    assert activity.owner_id == lan.pk


def test_written_email_to_the_second_address_keeps_unknown_placeholders(org, lan, smtp_server):
    customer = make_customer(
        lan, full_name="Công ty ABC", kind="organization", emails=["a@abc.vn", "b@abc.vn"]
    )
    activity = services.email_send(
        actor=lan,
        customer_id=customer.pk,
        to="B@abc.vn",
        subject="Báo giá cho {full_name}",
        body="Gửi {full_name}: giá {gia} — {full_name.__class__} {0}",
    )
    message = smtp_server.messages[0]
    assert message["To"] == "b@abc.vn"
    assert message["Subject"] == "Báo giá cho Công ty ABC"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Gửi Công ty ABC: giá {gia} — {full_name.__class__} {0}" in body
    assert activity.outcome == "sent"


def test_refused_recipient_is_logged_as_failed_not_raised(org, lan, smtp_server):
    customer = make_customer(lan, emails=[REFUSED])
    activity = services.email_send(actor=lan, customer_id=customer.pk, subject="Xin chào", body="Nội dung")
    activity.refresh_from_db()
    assert activity.outcome == "failed"
    assert "550" in activity.notes
    assert smtp_server.messages == []


def test_server_down_is_logged_as_failed(org, lan, settings):
    settings.MAILERS = _smtp_settings(_free_port())  # nothing listens there
    customer = make_customer(lan, emails=["minh@example.vn"])
    activity = services.email_send(actor=lan, customer_id=customer.pk, subject="Xin chào", body="Nội dung")
    assert activity.outcome == "failed"
    assert Activity.objects.get().outcome == "failed"


def test_refusals_before_sending(org, lan, smtp_server):
    customer = make_customer(lan, emails=["minh@example.vn"])
    no_email = make_customer(lan, full_name="Không Email")
    with pytest.raises(ValidationFailed) as exc:
        services.email_send(actor=lan, customer_id=no_email.pk, subject="a", body="b")
    assert set(exc.value.fields) == {"to"}
    with pytest.raises(ValidationFailed) as exc:
        services.email_send(actor=lan, customer_id=customer.pk, to="spam@elsewhere.vn", subject="a", body="b")
    assert set(exc.value.fields) == {"to"}
    with pytest.raises(ValidationFailed) as exc:
        services.email_send(actor=lan, customer_id=customer.pk)
    assert set(exc.value.fields) == {"subject", "body"}
    template = make_template(org.supervisor_hn)
    services.email_template_archive(actor=org.supervisor_hn, template_id=template.pk)
    with pytest.raises(NotFound):
        services.email_send(actor=lan, customer_id=customer.pk, template_id=template.pk)
    with pytest.raises(NotFound):
        services.email_send(actor=org.consultant_hcm, customer_id=customer.pk, subject="a", body="b")
    with pytest.raises(PermissionDenied):
        services.email_send(actor=org.director, customer_id=customer.pk, subject="a", body="b")
    assert smtp_server.messages == []
    assert Activity.objects.count() == 0


def test_marketing_templates_need_granted_consent(org, lan, smtp_server):
    customer = make_customer(lan, emails=["minh@example.vn"])
    promo = make_template(org.supervisor_hn, name="Khuyến mãi", marketing=True)
    with pytest.raises(Conflict) as exc:  # never asked = no consent
        services.email_send(actor=lan, customer_id=customer.pk, template_id=promo.pk)
    assert exc.value.code == "no_marketing_consent"
    customer_consent_record(
        actor=lan, customer_id=customer.pk, purpose="marketing", status="granted", method="paper"
    )
    services.email_send(actor=lan, customer_id=customer.pk, template_id=promo.pk)
    customer_consent_record(
        actor=lan, customer_id=customer.pk, purpose="marketing", status="withdrawn", method="email"
    )
    with pytest.raises(Conflict):
        services.email_send(actor=lan, customer_id=customer.pk, template_id=promo.pk)
    # A service email (not marketing) is still fine.
    services.email_send(actor=lan, customer_id=customer.pk, subject="Lịch học", body="Lớp bắt đầu thứ Hai")
    assert len(smtp_server.messages) == 2


def test_api_sends_and_logs(org, lan, smtp_server):
    customer = make_customer(lan, salutation="chi", full_name="Phạm Thu Hà", emails=["ha@example.vn"])
    template = make_template(org.supervisor_hn)
    r = api_client(lan).post(
        "/api/v1/activities/emails",
        json.dumps({"customer_id": customer.pk, "template_id": template.pk}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["kind"] == "email" and body["outcome"] == "sent"
    assert body["email_to"] == "ha@example.vn"
    assert body["subject"] == "Chào Chị Hà"
    assert body["message_id"] == smtp_server.messages[0]["Message-ID"]
