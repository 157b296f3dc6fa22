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

Reading the inbox (connection, UIDVALIDITY, `last_uid`, batches, HTML → text, auto-reply detection, errors
recorded on the mailbox — `last_uid`, `uid_validity`, `last_polled_at`, `last_error` — never raised) is
`careline.core.imap`, shared with the helpdesk inboxes; this module only makes inquiries.
`mailboxes_poll_all()` polls every active mailbox (the worker's periodic job; `careline leads poll-email` in
the foreground).
"""

from __future__ import annotations

import re

from django.utils import timezone
from imap_tools import MailMessage

from careline.core import imap
from careline.core.imap import PollResult
from careline.sales import services
from careline.sales.choices import Channel
from careline.sales.models import Mailbox
from careline.vn import InvalidPhone, normalize_phone

BATCH = imap.BATCH  # messages read per poll and mailbox; the next poll goes on from last_uid
_PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")


def _phone_in(text: str) -> str:
    for match in _PHONE.finditer(text):
        try:
            return normalize_phone(match.group(0))
        except InvalidPhone:
            continue
    return ""


def message_to_inquiry(mailbox: Mailbox, msg: MailMessage) -> services.InquiryData | None:
    """One fetched message → InquiryData, or None when it must be skipped (own/auto mail)."""
    mail = imap.incoming(msg, own=imap.own_addresses(mailbox))
    if mail is None:
        return None
    body = imap.strip_reply(mail.text)
    message = f"{mail.subject}\n\n{body}".strip() if mail.subject else body
    message_id = mail.message_id[:200]
    external_id = message_id or imap.message_fallback_id(mailbox.pk, msg.obj.as_bytes())
    received_at = msg.date if msg.date and msg.date.year > 1900 and timezone.is_aware(msg.date) else None
    return services.InquiryData(
        channel=Channel.EMAIL,
        full_name=mail.name,
        email=mail.address,
        phone=_phone_in(f"{mail.subject}\n{body}"),
        message=message,
        external_id=external_id,
        received_at=received_at,
        payload={
            "mailbox": mailbox.name,
            "uid": msg.uid,
            "message_id": message_id,
            "from": msg.from_,
            "subject": mail.subject[:300],
        },
        branch_id=mailbox.branch_id,
        team_id=mailbox.team_id,
        mailbox_id=mailbox.pk,
    )


def _take(mailbox: Mailbox, msg: MailMessage) -> str:
    """One message → "new" (an inquiry made) or "skipped" (own/auto mail, or an inquiry already taken).
    Invalid data raises ValidationFailed, which the reader counts as an error."""
    data = message_to_inquiry(mailbox, msg)
    if data is None:
        return "skipped"
    received = services.inquiry_receive(actor=None, data=data)
    return "new" if received.created else "skipped"


def mailbox_poll(mailbox: Mailbox, *, batch: int = BATCH) -> PollResult:
    """Read new messages of one mailbox into inquiries (see the module docstring)."""
    return imap.poll(mailbox, lambda msg: _take(mailbox, msg), PollResult(), batch=batch)


def mailboxes_poll_all() -> dict[str, PollResult]:
    """Poll every active mailbox (one failing mailbox does not stop the others)."""
    return {mb.name: mailbox_poll(mb) for mb in Mailbox.objects.filter(active=True).order_by("name", "pk")}
