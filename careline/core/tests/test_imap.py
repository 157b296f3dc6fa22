"""The message-level helpers of careline.core.imap. Polling a real IMAP server (dovecot) is tested through
both apps that use it: careline/sales/tests/test_intake_mail.py and careline/helpdesk/tests/test_mail.py."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from imap_tools import MailMessage

from careline.core import imap


def message(headers: dict[str, str], *, body: str = "Chào shop", html: str | None = None) -> MailMessage:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name] = value
    if html is None:
        msg.set_content(body)
    else:
        msg.set_content(html, subtype="html")
    return MailMessage.from_bytes(msg.as_bytes())


def test_strip_reply():
    assert imap.strip_reply("Hi\n\n-- \nLan\n0912") == "Hi"
    assert imap.strip_reply("Hỏi giá\nSent from my iPhone") == "Hỏi giá"
    assert imap.strip_reply("A\n> quoted\nB") == "A\nB"
    assert imap.strip_reply("New\nOn Mon, 5 Oct 2026, Lan wrote:\n> old") == "New"
    assert imap.strip_reply("Mới\r\nVào 10/03/2026, CSKH đã viết:\r\n> cũ") == "Mới"
    assert imap.strip_reply("x" * 20, limit=5) == "xxxxx"


def test_is_auto_reply():
    assert imap.is_auto_reply({"Auto-Submitted": "no"}, "lan@example.vn") is False
    assert imap.is_auto_reply({}, "noreply@shop.vn") is True
    assert imap.is_auto_reply({}, "Mail Delivery <MAILER-DAEMON@mx.example.vn>") is True
    assert imap.is_auto_reply({"X-Autoreply": "yes"}, "lan@example.vn") is True
    assert imap.is_auto_reply({"auto-submitted": "auto-replied"}, "lan@example.vn") is True
    assert imap.is_auto_reply({"Precedence": "Bulk"}, "lan@example.vn") is True
    assert imap.is_auto_reply({"Return-Path": "<>"}, "lan@example.vn") is True


def test_message_fallback_id():
    assert imap.message_fallback_id(1, b"x") == imap.message_fallback_id(1, b"x")
    assert imap.message_fallback_id(1, b"x") != imap.message_fallback_id(2, b"x")
    assert imap.message_fallback_id(1, b"x") != imap.message_fallback_id(1, b"y")
    assert imap.message_fallback_id(7, b"x").startswith("nomsgid:7:")


def test_html_to_text():
    html = "<p>Xin chào,</p><p>Em cần <b>tư vấn</b> khoá học &amp; lịch học.</p><style>p{}</style><br>Hết"
    assert imap.html_to_text(html) == "Xin chào,\nEm cần tư vấn khoá học & lịch học.\n\nHết"
    assert imap.html_to_text("<script>alert(1)</script>ok") == "ok"


def test_incoming_reads_sender_subject_text_and_message_id():
    msg = message(
        {
            "From": "Nguyễn Thị Lan <LAN@Example.vn>",
            "Subject": "Hỏi   học phí \t khoá IELTS",
            "Message-ID": "<m1@example.vn>",
        },
        html="<p>Em cần <b>tư vấn</b></p>",
    )
    mail = imap.incoming(msg, own=set())
    assert mail == imap.Incoming(
        address="lan@example.vn",
        name="Nguyễn Thị Lan",
        subject="Hỏi học phí khoá IELTS",
        text="Em cần tư vấn\n",  # strip_reply trims it
        message_id="<m1@example.vn>",
    )
    assert imap.incoming(message({"From": "lan@example.vn"}), own=set()).message_id == ""  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "headers",
    [
        {"Subject": "no sender"},
        {"From": "Careline <tuvan@trungtam.example.vn>"},
        {"From": "Lan <lan@example.vn>", "Auto-Submitted": "auto-replied"},
        {"From": "MAILER-DAEMON@mx.example.vn"},
    ],
)
def test_incoming_skips_own_mail_auto_replies_and_bounces(headers):
    assert imap.incoming(message(headers), own={"tuvan@trungtam.example.vn"}) is None


def test_own_addresses(settings):
    settings.DEFAULT_FROM_EMAIL = "Careline <tuvan@trungtam.example.vn>"
    settings.SERVER_EMAIL = ""
    settings.HELPDESK_FROM_EMAIL = "CSKH <CSKH@careline.vn>"
    mailbox = SimpleNamespace(username="Leads@Trungtam.example.vn")
    assert imap.own_addresses(mailbox) == {"tuvan@trungtam.example.vn", "leads@trungtam.example.vn"}  # type: ignore[arg-type]
    assert imap.own_addresses(SimpleNamespace(username="leads"), ["HELPDESK_FROM_EMAIL"]) == {  # type: ignore[arg-type]
        "tuvan@trungtam.example.vn",
        "cskh@careline.vn",
    }


def test_poll_result_counters():
    @dataclass
    class Result(imap.PollResult):
        threaded: int = 0

    result = Result()
    for outcome in ("new", "threaded", "threaded", "skipped"):
        result.count(outcome)
    result.failed("UID 4: {'email': ['invalid']}")
    assert result.as_dict() == {
        "new": 1,
        "skipped": 1,
        "errors": 1,
        "threaded": 2,
        "messages": ["UID 4: {'email': ['invalid']}"],
    }
    for unknown in ("opened", "messages", "count"):
        with pytest.raises(ValueError):
            result.count(unknown)
