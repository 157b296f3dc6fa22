"""Survey emails through a real SMTP server (aiosmtpd on localhost): plain + HTML, the invitation's language,
one-click score links that work when followed, and delivery failures recorded, never raised."""

from __future__ import annotations

import email
import re
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from careline.surveys import services
from careline.surveys.models import Invitation, Response
from careline.surveys.tests.factories import consent, make_customer, make_survey, make_ticket

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    settings.CARELINE_PUBLIC_URL = "http://testserver"
    yield inbox
    controller.stop()


def _parts(message: email.message.EmailMessage) -> tuple[str, str]:
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def test_email_invitation_arrives_and_its_links_record_the_answer(
    org, smtp_server, django_capture_on_commit_callbacks
):
    survey = make_survey(org.care_head, kind="nps", name="NPS 2026")
    customer = make_customer(org.admin, full_name="Lê Văn Hùng", salutation="anh", emails=["hung@example.vn"])
    consent(org.admin, customer, "care_calls", "granted")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            actor=org.care_head, survey_id=survey.pk, customer_id=customer.pk, channel="email"
        )
    invitation.refresh_from_db()
    assert (invitation.delivery_status, invitation.sent_at is not None) == ("sent", True)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "hung@example.vn"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "vi"
    text, html = _parts(message)
    assert 'lang="vi"' in html
    links = re.findall(r"http://testserver(/s/[\w-]+/\?score=(\d+))", text)
    assert [int(score) for _path, score in links] == list(range(0, 11))
    assert all(f'href="http://testserver{path}"' in html for path, _s in links)
    # The customer clicks 3 in the email: recorded at once, then asked for the reason.
    client = Client(enforce_csrf_checks=True)
    path = next(p for p, score in links if score == "3")
    r = client.get(path)
    assert r.status_code == 303
    response = Response.objects.get(invitation=invitation)
    assert (response.score, response.channel, response.customer_id) == (3, "email", customer.pk)
    page = client.get(r["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert (
        'id="score-recorded"' in body
        and 'id="score-3"' in body
        and 'value="3" autocomplete="off" checked' in body
    )
    # The reason is posted with the page's CSRF token.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    r = client.post(r["Location"], {"csrfmiddlewaretoken": token, "score": "3", "reason": "Phải gọi hai lần"})
    assert r.status_code == 303 and "/thanks/" in r["Location"]
    response.refresh_from_db()
    assert (response.score, response.reason) == (3, "Phải gọi hai lần")
    assert response.follow_up_ticket is not None  # NPS 3 is a detractor
    assert client.get(r["Location"]).status_code == 200


def test_english_invitation_is_in_english(org, smtp_server):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin, full_name="John Smith", emails=["john@example.com"])
    ticket = make_ticket(customer, assignee=org.care_agent_hn, subject="Refund")
    invitation = services.invitation_create(
        actor=org.care_agent_hn,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk,
        channel="email",
        language="en",
        send=False,
    )
    services.invitation_send_email(invitation)
    message = smtp_server.messages[0]
    text, html = _parts(message)
    assert message["Content-Language"] == "en" and 'lang="en"' in html
    assert message["Subject"] == f"How did we do with your request #{ticket.pk}?"
    assert "Hello John Smith," in text and "Very satisfied" in text and "“Refund”" in text
    assert "How satisfied are you with how we handled your request?" in html
    # Sending again does nothing (already sent) unless asked to resend.
    services.invitation_send_email(invitation)
    assert len(smtp_server.messages) == 1
    services.invitation_send_email(invitation, resend=True)
    assert len(smtp_server.messages) == 2


def test_customer_text_is_escaped_in_the_html(org, smtp_server):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin, full_name="<b>Tên</b>", emails=["x@example.vn"])
    ticket = make_ticket(customer, assignee=org.care_agent_hn, subject='<script>alert("x")</script>')
    invitation = services.invitation_create(
        actor=org.admin,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk,
        channel="email",
        send=False,
    )
    services.invitation_send_email(invitation)
    text, html = _parts(smtp_server.messages[0])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script>' in text  # plain text stays as written


def test_smtp_down_is_recorded_not_raised(org, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 2},
        }
    }
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin, emails=["x@example.vn"])
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    invitation = services.invitation_create(
        actor=org.admin,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk,
        channel="email",
        send=False,
    )
    result = services.invitation_send_email(invitation)
    assert result.delivery_status == "failed" and result.sent_at is None
    assert Invitation.objects.get(pk=invitation.pk).delivery_status == "failed"


def test_resolved_ticket_csat_arrives_over_smtp(org, smtp_server, django_capture_on_commit_callbacks):
    from careline.helpdesk.services import ticket_resolve

    make_survey(org.care_head, trigger="ticket_resolved")
    customer = make_customer(org.admin, emails=["lan@example.vn"])
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_resolve(actor=org.care_agent_hn, ticket_id=ticket.pk)
    assert len(smtp_server.messages) == 1
    text, _html = _parts(smtp_server.messages[0])
    path = re.search(r"http://testserver(/s/[\w-]+/\?score=5)", text).group(1)
    assert Client().get(path).status_code == 303
    response = Response.objects.get()
    assert (response.ticket_id, response.score, response.agent_id) == (ticket.pk, 5, org.care_agent_hn.pk)
