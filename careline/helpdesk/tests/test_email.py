"""Replies on email tickets go out by SMTP (aiosmtpd on localhost) with threading headers and the [#id] tag;
the customer's answer threads back by those headers."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.files.uploadedfile import SimpleUploadedFile

from careline.helpdesk import services
from careline.helpdesk.models import Message
from careline.helpdesk.tests.factories import make_ticket

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    settings.DEFAULT_FROM_EMAIL = "CSKH Careline <cskh@careline.vn>"
    yield inbox
    controller.stop()


def test_reply_carries_message_id_in_reply_to_references_and_tag(
    org, clock, smtp_server, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ticket = make_ticket(
        None,
        channel="email",
        email="lan@example.vn",
        from_address="Nguyễn Thị Lan <Lan@Example.vn>",
        subject="Giao hàng chậm",
        message_id="<m1@example.vn>",
    )
    # the customer writes again in the same thread (References carries the first message)
    services.message_add(
        actor=None,
        ticket_id=ticket.pk,
        body="Còn nữa",
        message_id="<m2@example.vn>",
        in_reply_to="<m1@example.vn>",
        references="<m1@example.vn>",
        from_address="Lan@Example.vn",
    )
    receipt = SimpleUploadedFile("biên nhận.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.message_add(
            actor=org.care_head,
            ticket_id=ticket.pk,
            body="Dạ em xin lỗi chị, đơn sẽ tới mai ạ.",
            attachments=[receipt],
        )
    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0]
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    assert reply.to_address == "lan@example.vn"
    assert sent["Message-ID"] == reply.message_id and reply.message_id.endswith("@careline.vn>")
    assert sent["In-Reply-To"] == "<m2@example.vn>"
    assert sent["References"] == "<m1@example.vn> <m2@example.vn>"
    assert sent["Subject"] == f"Re: [#{ticket.pk}] Giao hàng chậm"
    assert sent["To"] == "lan@example.vn"
    assert "cskh@careline.vn" in sent["From"]
    assert "đơn sẽ tới mai" in sent.get_body(preferencelist=("plain",)).get_content()
    attachments = list(sent.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["biên_nhận.pdf"]
    # an internal note is never mailed; a second send of the same message does nothing
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(actor=org.care_head, ticket_id=ticket.pk, body="nội bộ", internal=True)
    services.message_send_email(message_id=reply.pk)
    assert len(smtp_server.messages) == 1

    # The customer's answer to our reply threads back into the same ticket by In-Reply-To.
    answer = services.ticket_receive(
        actor=None,
        data=services.TicketData(
            channel="email",
            email="lan@example.vn",
            subject="Re: something the mail client changed",
            message="Cảm ơn em",
            message_id="<m3@example.vn>",
            in_reply_to=reply.message_id,
        ),
    )
    assert (answer.ticket.pk, answer.outcome) == (ticket.pk, "threaded")


def test_failed_delivery_is_recorded_not_raised(org, clock, settings, django_capture_on_commit_callbacks):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2},
        }
    }
    ticket = make_ticket(None, channel="email", email="lan@example.vn")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.message_add(actor=org.care_head, ticket_id=ticket.pk, body="Dạ em chào chị")
    reply.refresh_from_db()
    assert reply.delivery_status == "failed"
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None  # the reply is recorded all the same


def test_replies_on_other_channels_are_recorded_only(
    org, clock, smtp_server, django_capture_on_commit_callbacks
):
    ticket = make_ticket(None, channel="zalo", phone="0912 345 678")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.message_add(actor=org.care_head, ticket_id=ticket.pk, body="Dạ em chào chị")
    assert smtp_server.messages == []
    assert Message.objects.get(pk=reply.pk).delivery_status == ""
    assert services.email_subject(ticket) == f"Re: [#{ticket.pk}] Giao hàng chậm"
