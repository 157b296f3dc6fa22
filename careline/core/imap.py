"""Reading an IMAP inbox with imap-tools — what every app that turns email into records shares.

The lead inboxes (`sales.mail`, mail → inquiries) and the helpdesk inboxes (`helpdesk.mail`, mail → tickets)
differ only in what they do with one message; reading is this module:

* `poll(mailbox, handle, result)` connects (TLS unless the mailbox says otherwise), logs in, reads up to
  `batch` messages whose UID is above `mailbox.last_uid`, oldest first and **without marking them read**,
  and gives each to `handle(msg)`, which answers the name of the `PollResult` counter it counts for
  (`"new"`, `"skipped"`, `"threaded"`…) or raises `ApplicationError` (counted as an error, the message
  noted, reading goes on).
* UIDVALIDITY: when the server's value differs from the one stored, reading starts over at UID 1; the apps
  de-duplicate by Message-ID (`message_fallback_id` without one), so that is safe.
* After every poll `last_uid`, `uid_validity`, `last_polled_at` and `last_error` are written on the mailbox
  row. Connection, login and protocol errors are recorded there, never raised.
* `incoming(msg, own=…)` is the part of a message both apps read (sender, one-line subject, plain text — HTML
  reduced to text when there is no plain part, Message-ID), or None for mail that must not become a record:
  our own (`own_addresses`) and auto-replies/bounces (`is_auto_reply`). `strip_reply` keeps the new part of
  the text.

A mailbox is any model row with the IMAP fields (`ImapMailbox`); this module imports no domain app.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, Protocol, cast

from django.conf import settings
from django.db import models
from django.utils import timezone
from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError

from careline.core.errors import ApplicationError

logger = logging.getLogger(__name__)

BATCH = 200  # messages read per poll and mailbox; the next poll goes on from last_uid
TIMEOUT = 30  # seconds for the IMAP connection


class ImapMailbox(Protocol):
    """The fields a polled mailbox model has (sales.Mailbox, helpdesk.HelpdeskMailbox)."""

    pk: Any
    host: str
    port: int
    use_ssl: bool
    username: str
    password: str
    folder: str
    last_uid: int
    uid_validity: int | None
    last_polled_at: dt.datetime | None
    last_error: str


@dataclass
class PollResult:
    """How one poll went; an app adds its own counters (helpdesk: `threaded`)."""

    new: int = 0
    skipped: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)  # what went wrong, for the CLI and last_error

    def count(self, outcome: str) -> None:
        if outcome == "messages" or not isinstance(getattr(self, outcome, None), int):
            raise ValueError(f"{type(self).__name__} has no counter {outcome!r}")
        setattr(self, outcome, getattr(self, outcome) + 1)

    def failed(self, message: str) -> None:
        self.errors += 1
        self.messages.append(message)

    def as_dict(self) -> dict[str, Any]:
        counters = {k: v for k, v in dataclasses.asdict(self).items() if k != "messages"}
        return {**counters, "messages": list(self.messages)}


# --- reading -----------------------------------------------------------------------------------------------


def connect(mailbox: ImapMailbox) -> BaseMailBox:
    if mailbox.use_ssl:
        return MailBox(
            mailbox.host, port=mailbox.port, timeout=TIMEOUT, ssl_context=ssl.create_default_context()
        )
    return MailBoxUnencrypted(mailbox.host, port=mailbox.port, timeout=TIMEOUT)


def poll[R: PollResult](
    mailbox: ImapMailbox, handle: Callable[[MailMessage], str], result: R, *, batch: int = BATCH
) -> R:
    """Give the new messages of one mailbox to `handle` (see the module docstring); returns `result`."""
    label = f"{type(mailbox).__name__} {mailbox.pk}"
    last_uid = mailbox.last_uid
    uid_validity = mailbox.uid_validity
    try:
        with connect(mailbox) as client:
            client.login(mailbox.username, mailbox.password, initial_folder=mailbox.folder)
            status = client.folder.status(mailbox.folder, ["UIDVALIDITY", "UIDNEXT"])
            current_validity = status.get("UIDVALIDITY")
            if uid_validity is not None and current_validity != uid_validity:
                logger.info("%s: UIDVALIDITY changed, reading from the start", label)
                last_uid = 0
            uid_validity = current_validity
            # "N:*" always includes the highest UID, even below N: filter on our side.
            uids = [u for u in client.uids(AND(uid=f"{last_uid + 1}:*")) if int(u) > last_uid]
            uids = sorted(uids, key=int)[:batch]
            for msg in client.fetch(uid_list=uids, mark_seen=False) if uids else ():
                _handle(handle, msg, result)
                last_uid = max(last_uid, int(msg.uid or 0))
    except (ImapToolsError, imaplib.IMAP4.error, OSError) as exc:  # OSError: sockets, timeouts, TLS
        result.failed(f"{type(exc).__name__}: {exc}")
        logger.warning("%s: %s", label, exc)
    _record(mailbox, last_uid=last_uid, uid_validity=uid_validity, error="\n".join(result.messages))
    return result


def _handle(handle: Callable[[MailMessage], str], msg: MailMessage, result: PollResult) -> None:
    try:
        outcome = handle(msg)
    except ApplicationError as exc:  # a mail the app refuses (invalid data): noted, the others go on
        result.failed(f"UID {msg.uid}: {getattr(exc, 'fields', None) or exc.message}")
        return
    result.count(outcome)


def _record(mailbox: ImapMailbox, *, last_uid: int, uid_validity: int | None, error: str) -> None:
    """Where reading stopped and how the poll went (a progress marker, not a business change: no audit)."""
    mailbox.last_uid = last_uid
    mailbox.uid_validity = uid_validity
    mailbox.last_polled_at = timezone.now()
    mailbox.last_error = error[:2000]
    model = cast(type[models.Model], type(mailbox))
    model._default_manager.filter(pk=mailbox.pk).update(
        last_uid=mailbox.last_uid,
        uid_validity=mailbox.uid_validity,
        last_polled_at=mailbox.last_polled_at,
        last_error=mailbox.last_error,
    )


# --- one message -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """What both apps read of one message."""

    address: str  # the sender's, lower case
    name: str  # the sender's display name
    subject: str  # on one line
    text: str  # the plain-text body (HTML reduced to text without one), replies and signature still in
    message_id: str  # the Message-ID header, "" without one


def own_addresses(mailbox: ImapMailbox, settings_names: Iterable[str] = ()) -> set[str]:
    """Our own addresses, whose mail is never taken in: DEFAULT_FROM_EMAIL, SERVER_EMAIL, the settings
    named, and the mailbox's user name when it is an address."""
    names = ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL", *settings_names)
    own = {parseaddr(getattr(settings, name, "") or "")[1].lower() for name in names}
    if "@" in mailbox.username:
        own.add(mailbox.username.lower())
    own.discard("")
    return own


def header(msg: MailMessage, name: str) -> str:
    """The first value of a header, on one line ("" without it)."""
    values = msg.headers.get(name.lower()) or ()
    return " ".join(str(values[0]).split()) if values else ""


def incoming(msg: MailMessage, *, own: set[str]) -> Incoming | None:
    """The message as `Incoming`, or None when it must be skipped (no sender, our own mail, an auto-reply
    or a bounce)."""
    sender = msg.from_values
    address = (sender.email if sender else "").strip().lower()
    headers = {k: str(v[0]) if v else "" for k, v in msg.headers.items()}
    if not address or address in own or is_auto_reply(headers, address):
        return None
    return Incoming(
        address=address,
        name=(sender.name if sender else "").strip(),
        subject=" ".join((msg.subject or "").split()),
        text=msg.text or html_to_text(msg.html),
        message_id=header(msg, "message-id"),
    )


def html_to_text(value: str) -> str:
    """Readable text of an HTML body: scripts and styles dropped, paragraphs and line breaks kept."""
    value = re.sub(r"(?is)<(script|style).*?</\1>", " ", value)
    value = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", value)
    value = html.unescape(re.sub(r"<[^>]+>", " ", value))
    return "\n".join(" ".join(line.split()) for line in value.splitlines())


BOUNCE_LOCALPARTS = {
    "mailer-daemon",
    "postmaster",
    "no-reply",
    "noreply",
    "do-not-reply",
    "donotreply",
    "bounce",
    "bounces",
}
_QUOTE_HEADERS = (
    re.compile(r"^\s*On .{3,200} wrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Vào .{3,200} đã viết:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message|Thư gốc)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*(From|Từ):\s.+$"),
)
_SIGNATURES = (
    re.compile(r"^--\s*$"),
    re.compile(r"^(Sent from my|Gửi từ) .{1,60}$", re.IGNORECASE),
)


def is_auto_reply(headers: Mapping[str, str], sender: str) -> bool:
    """Out-of-office replies, bounces and list mail: RFC 3834 `Auto-Submitted`, the de-facto headers, and
    bounce sender names."""
    h = {k.lower(): str(v) for k, v in headers.items()}
    if h.get("auto-submitted", "no").strip().lower() not in ("", "no"):
        return True
    if "x-autoreply" in h or "x-autorespond" in h:
        return True
    if h.get("precedence", "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    if h.get("return-path", "").strip() == "<>":
        return True
    local = parseaddr(sender)[1].split("@", 1)[0].lower()
    return local in BOUNCE_LOCALPARTS


def strip_reply(text: str, *, limit: int = 10_000) -> str:
    """The new part of an email: up to the first quoted reply header, `>` lines dropped, the signature cut at
    `-- ` (or "Sent from my …"). Simple on purpose: the whole mail is kept elsewhere (payload, attachments)."""
    kept: list[str] = []
    for raw in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if any(p.match(line) for p in _QUOTE_HEADERS) and kept:
            break
        if any(p.match(line) for p in _SIGNATURES):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    body = "\n".join(kept).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    return body[:limit]


def message_fallback_id(mailbox_id: int, raw: bytes) -> str:
    """The id of a mail that has no Message-ID: a hash of the mailbox and the message's bytes, so the same
    message read again (even after a UIDVALIDITY change renumbered it) keeps its id."""
    digest = hashlib.sha256(f"{mailbox_id}:".encode() + raw).hexdigest()[:40]
    return f"nomsgid:{mailbox_id}:{digest}"
