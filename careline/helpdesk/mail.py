"""Email channel of the helpdesk: IMAP polling (imap-tools) of `HelpdeskMailbox` inboxes into tickets.

`helpdesk_mailbox_poll(mailbox)` reads the messages whose UID is above `last_uid` (without marking them
read). Each mail:

* is skipped when it comes from one of our own addresses (the mailbox's user name, DEFAULT_FROM_EMAIL,
  SERVER_EMAIL, HELPDESK_FROM_EMAIL) or is an auto-reply / bounce (the sales intake's rules);
* answers a ticket when its `In-Reply-To`/`References` name a stored `Message.message_id` (the replies we
  send carry our Message-ID), or its subject carries our `[#123]` tag **and** the sender is one of that
  ticket customer's email addresses (a tag alone is guessable) → `message_add(direction inbound)` on that
  ticket (the core reopens a resolved ticket within its window, or starts a follow-up ticket after it);
* otherwise opens a ticket: `ticket_create(channel="email", external_id=<Message-ID>)`.

The Message-ID (or, without one, a hash of the mailbox and the bytes) de-duplicates: a mail read twice —
after a UIDVALIDITY change, a restored folder — is taken once. When the server's UIDVALIDITY differs from
the stored one, reading starts over at UID 1. Connection and login errors are recorded on the mailbox
(`last_error`), never raised. `helpdesk_mailboxes_poll_all()` polls every active mailbox (the worker's
periodic job; `careline helpdesk poll-email` in the foreground).
"""

from __future__ import annotations

import dataclasses
import imaplib
import logging
import ssl
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError

from careline.core.errors import ApplicationError, ValidationFailed
from careline.customers.choices import ContactKind
from careline.helpdesk import selectors, services
from careline.helpdesk.choices import MessageDirection, TicketChannel
from careline.helpdesk.models import HelpdeskMailbox, Message, Ticket
from careline.sales.intake import is_auto_reply, message_fallback_id, strip_reply
from careline.sales.mail import _html_to_text

logger = logging.getLogger(__name__)

BATCH = 200  # messages read per poll and mailbox; the next poll goes on from last_uid
TIMEOUT = 30  # seconds for the IMAP connection


@dataclass
class PollResult:
    new: int = 0  # tickets opened
    threaded: int = 0  # messages added to an existing ticket
    skipped: int = 0  # own mail, auto-replies, bounces, already taken
    errors: int = 0
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "threaded": self.threaded,
            "skipped": self.skipped,
            "errors": self.errors,
            "messages": self.messages,
        }


@dataclass(frozen=True)
class IncomingMail:
    """What the poller needs of one mail (parsed once, independent of imap-tools for the logic)."""

    address: str
    name: str
    subject: str
    body: str
    message_id: str
    in_reply_to: str
    references: str
    attachments: tuple[SimpleUploadedFile, ...] = ()


def _connect(mailbox: HelpdeskMailbox) -> BaseMailBox:
    if mailbox.use_ssl:
        return MailBox(
            mailbox.host, port=mailbox.port, timeout=TIMEOUT, ssl_context=ssl.create_default_context()
        )
    return MailBoxUnencrypted(mailbox.host, port=mailbox.port, timeout=TIMEOUT)


def own_addresses(mailbox: HelpdeskMailbox) -> set[str]:
    own = {
        parseaddr(getattr(settings, name, "") or "")[1].lower()
        for name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL", "HELPDESK_FROM_EMAIL")
    }
    if "@" in mailbox.username:
        own.add(mailbox.username.lower())
    own.discard("")
    return own


def _header(msg: MailMessage, name: str) -> str:
    values = msg.headers.get(name.lower()) or ()
    return " ".join(str(values[0]).split()) if values else ""


def parse(mailbox: HelpdeskMailbox, msg: MailMessage) -> IncomingMail | None:
    """One fetched message → IncomingMail, or None when it must be skipped (own/auto mail)."""
    sender = msg.from_values
    address = (sender.email if sender else "").strip().lower()
    headers = {k: str(v[0]) if v else "" for k, v in msg.headers.items()}
    if not address or address in own_addresses(mailbox) or is_auto_reply(headers, address):
        return None
    text = msg.text or _html_to_text(msg.html)
    files = tuple(
        SimpleUploadedFile(
            a.filename or "attachment", a.payload, content_type=a.content_type or "application/octet-stream"
        )
        for a in msg.attachments
        if a.payload
    )
    message_id = _header(msg, "message-id")[:250] or message_fallback_id(mailbox.pk, msg.obj.as_bytes())
    return IncomingMail(
        address=address,
        name=(sender.name if sender else "").strip(),
        subject=" ".join((msg.subject or "").split())[: services.SUBJECT_MAX],
        body=strip_reply(text),
        message_id=message_id,
        in_reply_to=_header(msg, "in-reply-to")[:250],
        references=_header(msg, "references")[:2000],
        attachments=files,
    )


def _customer_emails(ticket: Ticket) -> set[str]:
    values = ticket.customer.contact_points.filter(kind=ContactKind.EMAIL).values_list("value", flat=True)
    return {v.strip().lower() for v in values}


def ticket_for_mail(mail: IncomingMail) -> Ticket | None:
    """The ticket a mail answers: by our Message-IDs in its headers, else by the `[#123]` tag when the
    sender is one of the ticket customer's email addresses."""
    ids = [mail.in_reply_to, *mail.references.split()]
    by_headers = selectors.ticket_for_email(message_ids=ids)
    if by_headers is not None:
        return by_headers
    by_tag = selectors.ticket_for_email(message_ids=(), subject=mail.subject)
    if by_tag is not None and mail.address in _customer_emails(by_tag):
        return by_tag
    return None


def take(mailbox: HelpdeskMailbox, mail: IncomingMail) -> str:
    """File one mail: "new", "threaded" or "skipped" (already taken). Raises ApplicationError."""
    if Message.objects.filter(message_id=mail.message_id).exists():
        return "skipped"
    ticket = ticket_for_mail(mail)
    if ticket is not None:
        kwargs: dict[str, Any] = {
            "actor": None,
            "ticket_id": ticket.pk,
            "body": mail.body or mail.subject,
            "direction": MessageDirection.INBOUND,
            "message_id": mail.message_id,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "from_address": f"{mail.name} <{mail.address}>" if mail.name else mail.address,
        }
        try:
            services.message_add(**kwargs, attachments=list(mail.attachments))
        except ValidationFailed:
            if not mail.attachments:
                raise
            # An attachment the desk does not accept (type, size): keep the words, note the loss.
            logger.info("mailbox %s: attachments of %s refused", mailbox.pk, mail.message_id)
            services.message_add(**kwargs)
        return "threaded"
    data = services.TicketData(
        channel=TicketChannel.EMAIL,
        kind=mailbox.kind,
        subject=mail.subject,
        message=mail.body,
        email=mail.address,
        full_name=mail.name,
        category_id=mailbox.category_id,
        external_id=mail.message_id,
        team_id=mailbox.team_id,
        branch_id=mailbox.branch_id,
        message_id=mail.message_id,
        from_address=f"{mail.name} <{mail.address}>" if mail.name else mail.address,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        attachments=mail.attachments,
    )
    try:
        result = services.ticket_receive(actor=None, data=data)
    except ValidationFailed as exc:
        if not mail.attachments or "attachments" not in (exc.fields or {}):
            raise
        result = services.ticket_receive(actor=None, data=dataclasses.replace(data, attachments=()))
    if result.outcome == "duplicate":
        return "skipped"
    return "new" if result.created else "threaded"


def _record(mailbox: HelpdeskMailbox, *, last_uid: int, uid_validity: int | None, error: str) -> None:
    """Where reading stopped and how the poll went (a progress marker, not a business change: no audit)."""
    mailbox.last_uid = last_uid
    mailbox.uid_validity = uid_validity
    mailbox.last_polled_at = timezone.now()
    mailbox.last_error = error[:2000]
    HelpdeskMailbox.objects.filter(pk=mailbox.pk).update(
        last_uid=mailbox.last_uid,
        uid_validity=mailbox.uid_validity,
        last_polled_at=mailbox.last_polled_at,
        last_error=mailbox.last_error,
    )


def helpdesk_mailbox_poll(mailbox: HelpdeskMailbox, *, batch: int = BATCH) -> PollResult:
    """Read the new mail of one inbox into tickets (see the module docstring)."""
    result = PollResult()
    last_uid = mailbox.last_uid
    uid_validity = mailbox.uid_validity
    try:
        with _connect(mailbox) as client:
            client.login(mailbox.username, mailbox.password, initial_folder=mailbox.folder)
            status = client.folder.status(mailbox.folder, ["UIDVALIDITY", "UIDNEXT"])
            current_validity = status.get("UIDVALIDITY")
            if uid_validity is not None and current_validity != uid_validity:
                logger.info("helpdesk mailbox %s: UIDVALIDITY changed, reading from the start", mailbox.pk)
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
        logger.warning("helpdesk mailbox %s: %s", mailbox.pk, exc)
    _record(mailbox, last_uid=last_uid, uid_validity=uid_validity, error="\n".join(result.messages))
    return result


def _take(mailbox: HelpdeskMailbox, msg: MailMessage, result: PollResult) -> None:
    mail = parse(mailbox, msg)
    if mail is None:
        result.skipped += 1
        return
    try:
        outcome = take(mailbox, mail)
    except ApplicationError as exc:
        result.errors += 1
        details = getattr(exc, "fields", None) or exc.message
        result.messages.append(f"UID {msg.uid}: {details}")
        return
    if outcome == "new":
        result.new += 1
    elif outcome == "threaded":
        result.threaded += 1
    else:
        result.skipped += 1


def helpdesk_mailboxes_poll_all() -> dict[str, PollResult]:
    """Poll every active helpdesk mailbox (one failing mailbox does not stop the others)."""
    return {
        mb.name: helpdesk_mailbox_poll(mb)
        for mb in HelpdeskMailbox.objects.filter(active=True).order_by("name", "pk")
    }
