"""The helpdesk email channel against a real IMAP server (the sales intake's dovecot fixture) and a real
SMTP server (aiosmtpd): a customer's mail opens a ticket, the agent's reply goes out by SMTP, the customer's
answer (In-Reply-To) comes back through IMAP into the same ticket."""

from __future__ import annotations

import io
import json
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from careline.conftest import web_client
from careline.helpdesk.mail import helpdesk_mailbox_poll, helpdesk_mailboxes_poll_all
from careline.helpdesk.models import HelpdeskMailbox, Message, Ticket
from careline.helpdesk.tests import test_email
from careline.sales.tests import test_intake_mail as intake

# The real servers of the other mail tests, reused (assigned, so pytest sees them as this module's fixtures).
smtp_server = test_email.smtp_server
imap_server = intake.imap_server
folder = intake.folder
deliver, mail, USER, PASSWORD = intake.deliver, intake.mail, intake.USER, intake.PASSWORD

pytestmark = pytest.mark.django_db


def make_mailbox(server: dict[str, Any], folder_name: str, **kw: Any) -> HelpdeskMailbox:
    data: dict[str, Any] = {
        "name": f"CSKH {folder_name}",
        "host": server["host"],
        "port": server["port"],
        "use_ssl": False,
        "username": USER,
        "password": PASSWORD,
        "folder": folder_name,
    }
    return HelpdeskMailbox.objects.create(**{**data, **kw})


def customer_mail(**kw: Any) -> bytes:
    kw.setdefault("subject", "Máy giặt báo lỗi E21")
    kw.setdefault("body", "Chào shop,\nMáy giặt nhà em báo lỗi E21 từ sáng nay.\n")
    return mail(**kw)


def test_email_round_trip_threads_the_customers_answer(
    org, imap_server, folder, smtp_server, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    mailbox = make_mailbox(imap_server, folder, team=org.hn_care)
    deliver(imap_server, folder, customer_mail(message_id="<first@example.vn>"))
    result = helpdesk_mailbox_poll(mailbox)
    assert (result.new, result.threaded, result.errors) == (1, 0, 0), result.messages
    ticket = Ticket.objects.get()
    assert (
        ticket.channel == "email" and ticket.subject == "Máy giặt báo lỗi E21" and ticket.team == org.hn_care
    )
    first = ticket.messages.get()
    assert first.direction == "inbound" and first.message_id == "<first@example.vn>"
    assert "lỗi E21" in first.body

    # The agent answers on the ticket page: the core sends it by SMTP after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = web_client(org.care_head).post(
            reverse("helpdesk:reply", args=[ticket.pk]),
            {"body": "Dạ chị tắt máy 10 phút rồi bật lại giúp em."},
        )
    assert response.status_code == 302
    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0]
    assert sent["To"] == "lan@example.vn" and sent["In-Reply-To"] == "<first@example.vn>"
    assert f"[#{ticket.pk}]" in sent["Subject"]

    # The customer answers from her mail client: In-Reply-To our reply, a changed subject.
    answer = EmailMessage()
    answer["From"] = "Nguyễn Thị Lan <lan@example.vn>"
    answer["To"] = "cskh@careline.vn"
    answer["Subject"] = "Re: máy giặt"
    answer["Message-ID"] = "<answer@example.vn>"
    answer["In-Reply-To"] = sent["Message-ID"]
    answer["References"] = f"<first@example.vn> {sent['Message-ID']}"
    answer.set_content("Vẫn lỗi em ơi.\n\nVào 10/03/2026, CSKH đã viết:\n> Dạ chị tắt máy 10 phút\n")
    deliver(imap_server, folder, answer.as_bytes())
    result = helpdesk_mailbox_poll(mailbox)
    assert (result.new, result.threaded, result.errors) == (0, 1, 0), result.messages
    assert Ticket.objects.count() == 1
    reply = Message.objects.get(message_id="<answer@example.vn>")
    assert reply.ticket_id == ticket.pk and reply.direction == "inbound"
    assert reply.body == "Vẫn lỗi em ơi."  # the quoted part is cut
    # Reading again (nothing new) and after a UIDVALIDITY reset takes nothing twice.
    assert helpdesk_mailbox_poll(mailbox).as_dict()["new"] == 0
    HelpdeskMailbox.objects.filter(pk=mailbox.pk).update(last_uid=0, uid_validity=1)
    mailbox.refresh_from_db()
    again = helpdesk_mailbox_poll(mailbox)
    assert (again.new, again.threaded, again.skipped) == (0, 0, 2)
    assert Message.objects.filter(ticket=ticket).count() == 3


def test_reply_to_a_resolved_ticket_reopens_it(org, imap_server, folder):
    mailbox = make_mailbox(imap_server, folder)
    deliver(imap_server, folder, customer_mail(message_id="<a1@example.vn>"))
    helpdesk_mailbox_poll(mailbox)
    ticket = Ticket.objects.get()
    from careline.helpdesk import services

    services.message_add(actor=org.care_head, ticket_id=ticket.pk, body="Đã xử lý ạ.")
    services.ticket_resolve(actor=org.care_head, ticket_id=ticket.pk)
    deliver(
        imap_server,
        folder,
        customer_mail(
            subject="Re: Máy giặt", message_id="<a2@example.vn>", headers={"In-Reply-To": "<a1@example.vn>"}
        ),
    )
    result = helpdesk_mailbox_poll(mailbox)
    assert result.threaded == 1, result.messages
    ticket.refresh_from_db()
    assert ticket.status in ("open", "new") and ticket.reopened_count == 1


def test_subject_tag_threads_only_for_the_customers_own_address(org, imap_server, folder):
    mailbox = make_mailbox(imap_server, folder)
    deliver(imap_server, folder, customer_mail(message_id="<b1@example.vn>"))
    helpdesk_mailbox_poll(mailbox)
    ticket = Ticket.objects.get()
    deliver(
        imap_server,
        folder,
        customer_mail(
            subject=f"Re: [#{ticket.pk}] cập nhật", message_id="<b2@example.vn>", body="Em gửi thêm ảnh."
        ),
        customer_mail(
            sender="Kẻ lạ <stranger@example.org>",
            subject=f"[#{ticket.pk}] chen vào",
            message_id="<b3@example.vn>",
            body="Tôi không phải khách này.",
        ),
    )
    result = helpdesk_mailbox_poll(mailbox)
    assert (result.threaded, result.new) == (1, 1), result.messages
    assert Message.objects.get(message_id="<b2@example.vn>").ticket_id == ticket.pk
    assert Message.objects.get(message_id="<b3@example.vn>").ticket_id != ticket.pk


def test_own_mail_auto_replies_and_bounces_are_skipped(org, imap_server, folder, settings):
    settings.DEFAULT_FROM_EMAIL = "CSKH <cskh@careline.vn>"
    mailbox = make_mailbox(imap_server, folder)
    deliver(
        imap_server,
        folder,
        customer_mail(sender="CSKH <cskh@careline.vn>"),
        customer_mail(headers={"Auto-Submitted": "auto-replied"}),
        customer_mail(sender="MAILER-DAEMON <mailer-daemon@example.vn>"),
        customer_mail(headers={"Precedence": "bulk"}),
    )
    result = helpdesk_mailbox_poll(mailbox)
    assert (result.new, result.skipped) == (0, 4)
    assert not Ticket.objects.exists()


def test_attachments_are_kept(org, imap_server, folder, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    msg = EmailMessage()
    msg["From"] = "Nguyễn Thị Lan <lan@example.vn>"
    msg["To"] = "cskh@careline.vn"
    msg["Subject"] = "Hoá đơn bảo hành"
    msg["Message-ID"] = "<c1@example.vn>"
    msg.set_content("Em gửi hoá đơn.")
    msg.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="hoadon.pdf")
    mailbox = make_mailbox(imap_server, folder)
    deliver(imap_server, folder, msg.as_bytes())
    result = helpdesk_mailbox_poll(mailbox)
    assert result.new == 1, result.messages
    message = Message.objects.get(message_id="<c1@example.vn>")
    assert [a.filename for a in message.attachments.all()] == ["hoadon.pdf"]


def test_login_failure_is_recorded_not_raised(org, imap_server, folder):
    mailbox = make_mailbox(imap_server, folder, password="wrong")
    result = helpdesk_mailbox_poll(mailbox)
    assert result.errors == 1
    mailbox.refresh_from_db()
    assert mailbox.last_error and mailbox.last_polled_at is not None


def test_poll_all_and_cli(org, imap_server, folder):
    mailbox = make_mailbox(imap_server, folder)
    make_mailbox(imap_server, folder, name="tắt", active=False)
    deliver(imap_server, folder, customer_mail())
    assert set(helpdesk_mailboxes_poll_all()) == {mailbox.name}
    assert Ticket.objects.count() == 1
    deliver(imap_server, folder, customer_mail(sender="Trần Văn B <b@example.vn>", subject="Hỏi bảo hành"))
    out = io.StringIO()
    call_command("helpdesk", "poll-email", "--mailbox", mailbox.name, "--json", stdout=out)
    assert json.loads(out.getvalue())[mailbox.name]["new"] == 1
    out = io.StringIO()
    call_command("helpdesk", "poll-email", stdout=out)
    assert "0 new" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("helpdesk", "poll-email", "--mailbox", "nope")
