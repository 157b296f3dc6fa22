"""Email to an inbox → inquiries: IMAP polling with imap-tools (docs/api.md "Email inbox").

`mailbox_poll(mailbox)` reads the messages whose UID is above `Mailbox.last_uid` (without marking them
read), and turns each into an inquiry with channel `email`:

* external id = the `Message-ID` header (so a message read twice — after a UIDVALIDITY change, a restored
  folder, a second mailbox row on the same inbox — is one inquiry), or, without one, a hash of the mailbox
  and the message's bytes;
* sender name/address from `From`, the text = subject + the plain-text body (HTML reduced to text when
  there is no plain part) with quoted replies and the signature cut off; a Vietnamese phone number written
  in the mail is taken as the phone too;
* skipped: mail from our own addresses (the mailbox's user name, DEFAULT_FROM_EMAIL, SERVER_EMAIL),
  auto-replies and bounces (`Auto-Submitted`, `X-Autoreply`, `Precedence: bulk/junk/list`, an empty
  Return-Path, mailer-daemon/postmaster/no-reply senders);
* UIDVALIDITY: when the server's value differs from the stored one, reading starts over at UID 1 — the
  Message-ID de-duplication makes that safe.

`last_uid`, `uid_validity`, `last_polled_at` and `last_error` are recorded on the mailbox after every poll;
connection and login errors are recorded, never raised. `mailboxes_poll_all()` polls every active mailbox
(the worker's periodic job; `careline leads poll-email` in the foreground).
"""

from __future__ import annotations

import html
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.utils import timezone
from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError

from careline.core.errors import ValidationFailed
from careline.sales import services
from careline.sales.choices import Channel
from careline.sales.intake import is_auto_reply, message_fallback_id, strip_reply
from careline.sales.models import Mailbox
from careline.vn import InvalidPhone, normalize_phone

logger = logging.getLogger(__name__)

BATCH = 200  # messages read per poll and mailbox; the next poll goes on from last_uid
TIMEOUT = 30  # seconds for the IMAP connection
_PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")


@dataclass
class PollResult:
    new: int = 0
    skipped: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)  # what went wrong, for the CLI and last_error

    def as_dict(self) -> dict[str, Any]:
        return {"new": self.new, "skipped": self.skipped, "errors": self.errors, "messages": self.messages}


def _connect(mailbox: Mailbox) -> BaseMailBox:
    if mailbox.use_ssl:
        return MailBox(
            mailbox.host, port=mailbox.port, timeout=TIMEOUT, ssl_context=ssl.create_default_context()
        )
    return MailBoxUnencrypted(mailbox.host, port=mailbox.port, timeout=TIMEOUT)


def _own_addresses(mailbox: Mailbox) -> set[str]:
    own = {
        parseaddr(getattr(settings, name, "") or "")[1].lower()
        for name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL")
    }
    if "@" in mailbox.username:
        own.add(mailbox.username.lower())
    own.discard("")
    return own


def _html_to_text(value: str) -> str:
    value = re.sub(r"(?is)<(script|style).*?</\1>", " ", value)
    value = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", value)
    value = html.unescape(re.sub(r"<[^>]+>", " ", value))
    return "\n".join(" ".join(line.split()) for line in value.splitlines())


def _header(msg: MailMessage, name: str) -> str:
    values = msg.headers.get(name.lower()) or ()
    return str(values[0]).strip() if values else ""


def _phone_in(text: str) -> str:
    for match in _PHONE.finditer(text):
        try:
            return normalize_phone(match.group(0))
        except InvalidPhone:
            continue
    return ""


def message_to_inquiry(mailbox: Mailbox, msg: MailMessage) -> services.InquiryData | None:
    """One fetched message → InquiryData, or None when it must be skipped (own/auto mail)."""
    sender = msg.from_values
    address = (sender.email if sender else "").strip().lower()
    headers = {k: str(v[0]) if v else "" for k, v in msg.headers.items()}
    if not address or address in _own_addresses(mailbox) or is_auto_reply(headers, address):
        return None
    text = msg.text or _html_to_text(msg.html)
    body = strip_reply(text)
    subject = " ".join((msg.subject or "").split())
    message = f"{subject}\n\n{body}".strip() if subject else body
    message_id = _header(msg, "message-id")[:200]
    external_id = message_id or message_fallback_id(mailbox.pk, msg.obj.as_bytes())
    received_at = msg.date if msg.date and msg.date.year > 1900 and timezone.is_aware(msg.date) else None
    return services.InquiryData(
        channel=Channel.EMAIL,
        full_name=(sender.name if sender else "").strip(),
        email=address,
        phone=_phone_in(f"{subject}\n{body}"),
        message=message,
        external_id=external_id,
        received_at=received_at,
        payload={
            "mailbox": mailbox.name,
            "uid": msg.uid,
            "message_id": message_id,
            "from": msg.from_,
            "subject": subject[:300],
        },
        branch_id=mailbox.branch_id,
        team_id=mailbox.team_id,
        mailbox_id=mailbox.pk,
    )


def _record(mailbox: Mailbox, *, last_uid: int, uid_validity: int | None, error: str) -> None:
    """Where reading stopped and how the poll went (a progress marker, not a business change: no audit)."""
    mailbox.last_uid = last_uid
    mailbox.uid_validity = uid_validity
    mailbox.last_polled_at = timezone.now()
    mailbox.last_error = error[:2000]
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_uid=mailbox.last_uid,
        uid_validity=mailbox.uid_validity,
        last_polled_at=mailbox.last_polled_at,
        last_error=mailbox.last_error,
    )


def mailbox_poll(mailbox: Mailbox, *, batch: int = BATCH) -> PollResult:
    """Read new messages of one mailbox into inquiries (see the module docstring)."""
    result = PollResult()
    last_uid = mailbox.last_uid
    uid_validity = mailbox.uid_validity
    try:
        with _connect(mailbox) as client:
            client.login(mailbox.username, mailbox.password, initial_folder=mailbox.folder)
            status = client.folder.status(mailbox.folder, ["UIDVALIDITY", "UIDNEXT"])
            current_validity = status.get("UIDVALIDITY")
            if uid_validity is not None and current_validity != uid_validity:
                logger.info("mailbox %s: UIDVALIDITY changed, reading from the start", mailbox.pk)
                last_uid = 0
            uid_validity = current_validity
            # "N:*" always includes the highest UID, even below N: filter on our side.
            uids = [u for u in client.uids(AND(uid=f"{last_uid + 1}:*")) if int(u) > last_uid]
            uids = sorted(uids, key=int)[:batch]
            for msg in client.fetch(uid_list=uids, mark_seen=False) if uids else ():
                _take(mailbox, msg, result)
                last_uid = max(last_uid, int(msg.uid or 0))
    except (ImapToolsError, imaplib.IMAP4.error, OSError) as exc:  # OSError: sockets, timeouts, TLS
        result.errors += 1
        result.messages.append(f"{type(exc).__name__}: {exc}")
        logger.warning("mailbox %s: %s", mailbox.pk, exc)
    _record(mailbox, last_uid=last_uid, uid_validity=uid_validity, error="\n".join(result.messages))
    return result


def _take(mailbox: Mailbox, msg: MailMessage, result: PollResult) -> None:
    data = message_to_inquiry(mailbox, msg)
    if data is None:
        result.skipped += 1
        return
    try:
        received = services.inquiry_receive(actor=None, data=data)
    except ValidationFailed as exc:
        result.errors += 1
        result.messages.append(f"UID {msg.uid}: {exc.fields}")
        return
    if received.created:
        result.new += 1
    else:
        result.skipped += 1


def mailboxes_poll_all() -> dict[str, PollResult]:
    """Poll every active mailbox (one failing mailbox does not stop the others)."""
    return {mb.name: mailbox_poll(mb) for mb in Mailbox.objects.filter(active=True).order_by("name", "pk")}
