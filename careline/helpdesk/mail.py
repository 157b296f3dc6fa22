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
after a UIDVALIDITY change, a restored folder — is taken once. Reading the inbox (connection, UIDVALIDITY —
a change starts over at UID 1 —, `last_uid`, batches, HTML → text, auto-reply detection, errors recorded on
the mailbox's `last_error`, never raised) is `careline.core.imap`, shared with the sales inboxes; this module
only files tickets. `helpdesk_mailboxes_poll_all()` polls every active mailbox (the worker's periodic job;
`careline helpdesk poll-email` in the foreground).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from imap_tools import MailMessage

from careline.core import imap
from careline.core.errors import ValidationFailed
from careline.customers.choices import ContactKind
from careline.helpdesk import selectors, services
from careline.helpdesk.choices import MessageDirection, TicketChannel
from careline.helpdesk.models import HelpdeskMailbox, Message, Ticket

logger = logging.getLogger(__name__)

BATCH = imap.BATCH  # messages read per poll and mailbox; the next poll goes on from last_uid


@dataclass
class PollResult(imap.PollResult):
    """`new`: tickets opened; `threaded`: messages added to an existing ticket; `skipped`: own mail,
    auto-replies, bounces, mail already taken."""

    threaded: int = 0


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


def own_addresses(mailbox: HelpdeskMailbox) -> set[str]:
    return imap.own_addresses(mailbox, ["HELPDESK_FROM_EMAIL"])


def parse(mailbox: HelpdeskMailbox, msg: MailMessage) -> IncomingMail | None:
    """One fetched message → IncomingMail, or None when it must be skipped (own/auto mail)."""
    mail = imap.incoming(msg, own=own_addresses(mailbox))
    if mail is None:
        return None
    files = tuple(
        SimpleUploadedFile(
            a.filename or "attachment", a.payload, content_type=a.content_type or "application/octet-stream"
        )
        for a in msg.attachments
        if a.payload
    )
    message_id = mail.message_id[:250] or imap.message_fallback_id(mailbox.pk, msg.obj.as_bytes())
    return IncomingMail(
        address=mail.address,
        name=mail.name,
        subject=mail.subject[: services.SUBJECT_MAX],
        body=imap.strip_reply(mail.text),
        message_id=message_id,
        in_reply_to=imap.header(msg, "in-reply-to")[:250],
        references=imap.header(msg, "references")[:2000],
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


def _take(mailbox: HelpdeskMailbox, msg: MailMessage) -> str:
    """One message → "new", "threaded" or "skipped" (own/auto mail, already taken); ApplicationError
    raised by the helpdesk is counted by the reader as an error."""
    mail = parse(mailbox, msg)
    return "skipped" if mail is None else take(mailbox, mail)


def helpdesk_mailbox_poll(mailbox: HelpdeskMailbox, *, batch: int = BATCH) -> PollResult:
    """Read the new mail of one inbox into tickets (see the module docstring)."""
    return imap.poll(mailbox, lambda msg: _take(mailbox, msg), PollResult(), batch=batch)


def helpdesk_mailboxes_poll_all() -> dict[str, PollResult]:
    """Poll every active helpdesk mailbox (one failing mailbox does not stop the others)."""
    return {
        mb.name: helpdesk_mailbox_poll(mb)
        for mb in HelpdeskMailbox.objects.filter(active=True).order_by("name", "pk")
    }
