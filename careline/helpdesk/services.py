"""Every write of the helpdesk (ARCHITECTURE §4): tickets, their conversation and status flow, SLA clocks,
assignment, escalation, first-contact resolution, playbooks and the desk's settings.

Rules (docs/api.md "Helpdesk" tells API users the same):

* **Customer.** `customer_id` must be a customer the caller may see. Otherwise the phone/email finds the
  customer among *all* customers (as the system user, like lead intake); nobody matches → a new card:
  stage `customer` for complaints and warranty claims (they bought something), `lead` for inquiries and
  requests; source = the channel; no owner, in the ticket's branch.
* **Dedupe.** The same (channel, external id) again returns the first ticket; the same email Message-ID
  (or the same channel + external id of a message threaded into a ticket) again returns that ticket.
* **Threading.** With `thread` on (default for email, web, Zalo, Facebook and marketplace; off for the
  hotline, walk-ins, survey follow-ups and API calls unless asked), a new inbound message becomes a message of
  an existing ticket instead of a new ticket when (a) it is an email answering one of the ticket's messages
  (In-Reply-To/References) or carrying its `[#id]` subject tag, or (b) the same customer has a ticket on the
  same topic — the same category, or a similar subject (accent-folded word sets, Jaccard ≥ 0.6, reply
  prefixes and tags ignored) — that is open (new/open/waiting) and was opened within
  `HELPDESK_THREAD_DAYS` (14), or was resolved within `HELPDESK_REOPEN_DAYS` (7; that reopens it).
* **Status flow.** new → open (first staff action: a reply, a note, a change, a playbook) → waiting (on the
  customer: the resolution clock pauses; leaving waiting — a customer message or an agent — moves the
  resolution due moment later by the business time spent waiting) → resolved → closed (the worker closes
  tickets resolved `HELPDESK_AUTOCLOSE_DAYS` (7) ago). A customer message on a resolved ticket within
  `HELPDESK_REOPEN_DAYS` reopens it, later (or on a closed ticket) it starts a new ticket. Reopening
  restarts the resolution clock from the moment of reopening and clears FCR.
* **FCR.** At resolve time `fcr = interactions <= 1 and reopened_count == 0` (interactions = replies sent to
  the customer; internal notes do not count).
* **Replies.** The first outbound message sets `first_response_at`. On email tickets outbound messages are
  sent by SMTP after the transaction commits (Message-ID, In-Reply-To/References of the last inbound email,
  `[#id]` in the subject); on other channels they are recorded only (delivery is the connectors' job).
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from careline.accounts.choices import RoleCode
from careline.accounts.models import Branch, Team, User
from careline.accounts.services import notification_send, system_user
from careline.core.audit import audit_record, diff
from careline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from careline.core.models import AuditAction
from careline.core.visibility import Action, Scope, require_action
from careline.customers import selectors as customer_selectors
from careline.customers import services as customer_services
from careline.customers.choices import ContactKind, Salutation, Source, Stage
from careline.customers.models import Customer
from careline.helpdesk import assignment, sla
from careline.helpdesk.choices import (
    OPEN_STATUSES,
    EventKind,
    MessageDirection,
    Priority,
    TicketChannel,
    TicketKind,
    TicketStatus,
)
from careline.helpdesk.models import (
    AgentProfile,
    Attachment,
    CannedReply,
    Category,
    Message,
    Playbook,
    SlaPolicy,
    StepCheck,
    TeamRotation,
    Ticket,
    TicketEvent,
    WorkSchedule,
)
from careline.helpdesk.selectors import (
    OBJECT_TYPE,
    TAG_RE,
    last_inbound_message,
    playbook_for_category,
    ticket_for_email,
    ticket_visible,
)
from careline.helpdesk.signals import ticket_created, ticket_reopened, ticket_resolved
from careline.vn import InvalidPhone, fold, normalize_phone
from careline.vn.text import nfc

logger = logging.getLogger(__name__)

THREAD_CHANNELS = frozenset(
    {
        TicketChannel.EMAIL,
        TicketChannel.WEB,
        TicketChannel.ZALO,
        TicketChannel.FACEBOOK,
        TicketChannel.MARKETPLACE,
    }
)
SUBJECT_SIMILARITY = 0.6
SUBJECT_MAX = 250
BODY_MAX = 50_000
NOTE_MAX = 300
OPENED_AT_TOLERANCE = dt.timedelta(minutes=5)
MAX_ATTACHMENTS = 10
# Attachments: by file extension (the declared type must agree or be generic). Anything else is refused.
ALLOWED_ATTACHMENTS: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".eml": "message/rfc822",
}
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
REPLY_PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|tl|tr|aw|sv|vs)\s*:\s*|\[#\d+\]\s*)+", re.IGNORECASE)


def _now() -> dt.datetime:
    """The current time (one place, so tests can move the clock)."""
    return timezone.now()


def _int_setting(name: str, default: int) -> int:
    value: Any = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(f"CARELINE_{name}", default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def reopen_days() -> int:
    """`HELPDESK_REOPEN_DAYS` (setting or CARELINE_HELPDESK_REOPEN_DAYS; default 7)."""
    return _int_setting("HELPDESK_REOPEN_DAYS", 7)


def thread_days() -> int:
    return _int_setting("HELPDESK_THREAD_DAYS", 14)


def autoclose_days() -> int:
    return _int_setting("HELPDESK_AUTOCLOSE_DAYS", 7)


def attachment_max_bytes() -> int:
    return _int_setting("HELPDESK_ATTACHMENT_MAX_MB", 10) * 1024 * 1024


def _is_admin(actor: Any) -> bool:
    return bool(
        actor is not None and (actor.is_superuser or getattr(actor, "role_code", "") == RoleCode.ADMIN)
    )


def _is_person(actor: Any) -> bool:
    return (
        actor is not None and getattr(actor, "pk", None) is not None and actor.username != "careline-system"
    )


# --- small helpers ------------------------------------------------------------------------------------------


def _event(
    ticket: Ticket,
    kind: str,
    *,
    actor: Any = None,
    from_value: Any = "",
    to_value: Any = "",
    note: str = "",
    at: dt.datetime | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        created_at=at or _now(),
        kind=kind,
        from_value=str(from_value if from_value is not None else "")[:100],
        to_value=str(to_value if to_value is not None else "")[:100],
        actor=actor if _is_person(actor) else None,
        note=(note or "")[:NOTE_MAX],
    )


def _save(ticket: Ticket, fields: Sequence[str]) -> None:
    """Save the given fields, bumping the version (the API's ETag) on every change."""
    ticket.version += 1
    ticket.save(update_fields=list(dict.fromkeys([*fields, "version", "updated_at"])))


def _ticket_url(ticket_id: int) -> str:
    return reverse("helpdesk:detail", args=[ticket_id])


def _search_text(ticket: Ticket, customer: Customer) -> str:
    return fold(
        " ".join(filter(None, [ticket.subject, customer.full_name, ticket.external_id, ticket.related_ref]))
    )


def subject_words(subject: str) -> set[str]:
    """The folded words of a subject without reply prefixes (Re:, Fwd:, TL:…) and ticket tags."""
    text = TAG_RE.sub(" ", REPLY_PREFIX_RE.sub("", subject or ""))
    return {w for w in re.split(r"[^0-9a-z]+", fold(text)) if len(w) >= 2}


def subjects_similar(a: str, b: str, threshold: float = SUBJECT_SIMILARITY) -> bool:
    """Jaccard similarity of the two subjects' folded word sets ≥ threshold (empty subjects never match)."""
    wa, wb = subject_words(a), subject_words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= threshold


def _category_default_priority(category: Category | None) -> str:
    seen = 0
    current = category
    while current is not None and seen < 50:
        if current.default_priority:
            return current.default_priority
        current = current.parent if current.parent_id else None
        seen += 1
    return ""


def _on_commit_signal(signal: Any, ticket: Ticket, actor: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Ticket, ticket=ticket, actor=actor))


def _locked(actor: Any, ticket_id: int, action: str) -> Ticket:
    """The ticket locked for writing: out of scope → 404, then the missing right → 403."""
    qs = Ticket.objects if actor is None else ticket_visible(actor=actor)
    ticket = (
        qs.select_for_update(of=("self",))
        .select_related("customer", "assignee", "team", "category")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    if actor is not None:
        require_action(actor, OBJECT_TYPE, action)
    return ticket


def _staff_touch(ticket: Ticket, actor: Any, fields: list[str], now: dt.datetime) -> None:
    """The first action of a staff member on a new ticket opens it."""
    if ticket.status == TicketStatus.NEW and _is_person(actor):
        ticket.status = TicketStatus.OPEN
        fields.append("status")
        _event(
            ticket,
            EventKind.STATUS,
            actor=actor,
            from_value=TicketStatus.NEW,
            to_value=TicketStatus.OPEN,
            at=now,
        )


def _resume(ticket: Ticket, now: dt.datetime, fields: list[str]) -> dt.timedelta:
    """Leave `waiting`: the resolution due moment moves later by the business time spent waiting."""
    waited = dt.timedelta(0)
    if ticket.paused_at is not None:
        if ticket.resolution_due is not None:
            hours = sla.hours_for_branch(ticket.branch_id)
            ticket.resolution_due, waited = sla.extend_for_pause(
                ticket.resolution_due, paused_at=ticket.paused_at, resumed_at=now, hours=hours
            )
            fields.append("resolution_due")
        ticket.paused_at = None
        fields.append("paused_at")
    return waited


# --- tickets: intake ----------------------------------------------------------------------------------------


@dataclass
class TicketData:
    """A ticket as a channel or a person gives it (already parsed from the JSON/form/email/webhook)."""

    channel: str  # TicketChannel values: hotline/email/web/zalo/facebook/marketplace/api/walk_in/survey
    kind: str = "inquiry"  # complaint | inquiry | request | warranty
    subject: str = ""
    message: str = ""  # first inbound message (may be empty for a call logged by an agent)
    customer_id: int | None = None  # or find/create by phone/email (+ full_name)
    phone: str = ""
    email: str = ""
    full_name: str = ""
    category_id: int | None = None
    priority: str = ""  # "" → the category's default → "normal"
    opened_at: dt.datetime | None = None  # admins only (importing history); otherwise now
    external_id: str = ""  # (channel, external_id) unique: the same again returns the first ticket
    related_ref: str = ""
    team_id: int | None = None
    branch_id: int | None = None
    message_id: str = ""  # the email Message-ID of the first message
    from_address: str = ""
    # Extensions (defaults keep the shared contract): threading and email reply headers.
    thread: bool | None = None  # None → on for email/web/zalo/facebook/marketplace, off otherwise
    in_reply_to: str = ""
    references: str = ""
    attachments: Sequence[UploadedFile] = field(default_factory=tuple)
    # Intake channels: the agent already handling it (took the hotline call) instead of automatic assignment.
    assignee_id: int | None = None


@dataclass(frozen=True)
class TicketResult:
    """What intake did: `created` a ticket, found a `duplicate`, `threaded` the message into an open
    ticket, or `reopened` a resolved one with it."""

    ticket: Ticket
    outcome: str

    @property
    def created(self) -> bool:
        return self.outcome == "created"


def _clean(actor: Any, data: TicketData, now: dt.datetime) -> TicketData:
    errors: dict[str, list[str]] = {}
    if data.channel not in TicketChannel.values:
        errors["channel"] = [
            _("Unknown channel. Use one of: %(v)s.") % {"v": ", ".join(TicketChannel.values)}
        ]
    if data.kind not in TicketKind.values:
        errors["kind"] = [_("Unknown kind. Use one of: %(v)s.") % {"v": ", ".join(TicketKind.values)}]
    if data.priority and data.priority not in Priority.values:
        errors["priority"] = [_("Unknown priority. Use one of: %(v)s.") % {"v": ", ".join(Priority.values)}]
    phone = ""
    if data.phone and data.phone.strip():
        try:
            phone = normalize_phone(data.phone)
        except InvalidPhone:
            errors["phone"] = [_("This is not a valid phone number.")]
    email = (data.email or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = [_("This is not a valid email address.")]
    if not data.customer_id and not phone and not email and "phone" not in errors and "email" not in errors:
        errors["customer_id"] = [_("Give a customer id, a phone number or an email address.")]
    subject = " ".join(nfc(data.subject or "").split())
    if len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    message = nfc(data.message or "").strip()
    if len(message) > BODY_MAX:
        errors["message"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    for name, limit in (("external_id", 200), ("related_ref", 200), ("message_id", 250), ("full_name", 200)):
        if len(getattr(data, name) or "") > limit:
            errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
    if (
        data.category_id is not None
        and not Category.objects.filter(pk=data.category_id, active=True).exists()
    ):
        errors["category"] = [_("No such category.")]
    if data.team_id is not None and not Team.objects.filter(pk=data.team_id).exists():
        errors["team_id"] = [_("No such team.")]
    if data.branch_id is not None and not Branch.objects.filter(pk=data.branch_id).exists():
        errors["branch_id"] = [_("No such branch.")]
    if data.opened_at is not None:
        if timezone.is_naive(data.opened_at):
            errors["opened_at"] = [_("Give a time zone (an offset) with the time.")]
        elif data.opened_at > now + OPENED_AT_TOLERANCE:
            errors["opened_at"] = [_("The opening time cannot be in the future.")]
    if errors:
        raise ValidationFailed(errors)
    data.phone = phone
    data.email = email
    data.subject = subject
    data.message = message
    data.full_name = " ".join(nfc(data.full_name or "").split())
    data.external_id = (data.external_id or "").strip()
    data.message_id = (data.message_id or "").strip()
    data.related_ref = (data.related_ref or "").strip()
    if data.thread is None:
        data.thread = data.channel in THREAD_CHANNELS
    return data


def _dedupe_key(data: TicketData) -> str:
    """The message id that identifies this delivery: the email Message-ID, else channel:external id."""
    if data.message_id:
        return data.message_id
    return f"{data.channel}:{data.external_id}" if data.external_id else ""


def _existing(data: TicketData) -> Ticket | None:
    if data.external_id:
        found = Ticket.objects.filter(channel=data.channel, external_id=data.external_id).first()
        if found is not None:
            return found
    key = _dedupe_key(data)
    if key:
        ticket_id = (
            Message.objects.filter(message_id=key, direction=MessageDirection.INBOUND)
            .values_list("ticket_id", flat=True)
            .first()
        )
        if ticket_id:
            return Ticket.objects.filter(pk=ticket_id).first()
    return None


def _source_for(channel: str) -> str:
    return channel if channel in Source.values else Source.OTHER


def _customer_for(actor: Any, data: TicketData) -> Customer:
    system = system_user()
    if data.customer_id:
        customer = (
            customer_selectors.customer_visible(actor=actor or system, include_archived=False)
            .filter(pk=data.customer_id)
            .first()
        )
        if customer is None:
            raise ValidationFailed({"customer_id": [_("No such customer.")]})
        return customer
    matches = customer_selectors.customer_duplicates_of(
        actor=system,
        phones=[data.phone] if data.phone else [],
        emails=[data.email] if data.email else [],
        tax_code="",
    )
    live = [c for _f, _v, c in matches if c.archived_at is None]
    if live:
        return live[0]
    if matches:
        return matches[0][2]
    return customer_services.customer_create(
        actor=system,
        data={
            "kind": "person",
            "full_name": data.full_name or data.phone or data.email,
            "phones": [data.phone] if data.phone else [],
            "emails": [data.email] if data.email else [],
            "stage": Stage.CUSTOMER
            if data.kind in (TicketKind.COMPLAINT, TicketKind.WARRANTY)
            else Stage.LEAD,
            "source": _source_for(data.channel),
            "owner_id": None,
            "team_id": None,
            "branch_id": data.branch_id,
        },
        allow_duplicate=True,
    )


def _thread_target(customer: Customer, data: TicketData, now: dt.datetime) -> Ticket | None:
    """The ticket this inbound message belongs to (see the module docstring), or None for a new ticket."""
    if data.channel == TicketChannel.EMAIL and (
        data.in_reply_to or data.references or TAG_RE.search(data.subject)
    ):
        ids = [data.in_reply_to, *(data.references or "").split()]
        found = ticket_for_email(message_ids=ids, subject=data.subject)
        if found is not None and found.customer_id == customer.pk:
            return found
    since_open = now - dt.timedelta(days=thread_days())
    since_resolved = now - dt.timedelta(days=reopen_days())
    candidates = (
        Ticket.objects.filter(customer=customer)
        .filter(
            Q(status__in=OPEN_STATUSES, opened_at__gte=since_open)
            | Q(status=TicketStatus.RESOLVED, resolved_at__gte=since_resolved)
        )
        .order_by("-opened_at", "-id")[:50]
    )
    for ticket in candidates:
        same_category = data.category_id is not None and ticket.category_id == data.category_id
        if same_category or subjects_similar(ticket.subject, data.subject):
            return ticket
    return None


def ticket_receive(*, actor: User | None, data: TicketData) -> TicketResult:
    """Take in a ticket (the full answer of `ticket_create`: the ticket and what happened)."""
    now = _now()
    if actor is not None:
        require_action(actor, OBJECT_TYPE, Action.ADD)
    if data.opened_at is not None and not _is_admin(actor):
        raise PermissionDenied(_("Only administrators may set the opening time (importing history)."))
    data = _clean(actor, data, now)
    existing = _existing(data)
    if existing is not None:
        return TicketResult(existing, "duplicate")
    _check_attachments(data.attachments)
    try:
        with transaction.atomic():
            result = _receive(actor=actor, data=data, now=now)
    except IntegrityError:
        existing = _existing(data)  # a concurrent delivery of the same event won the race
        if existing is None:
            raise
        return TicketResult(existing, "duplicate")
    return result


def ticket_create(*, actor: User | None, data: TicketData) -> Ticket:
    """Open a ticket (or thread the message into the customer's ticket on the same topic, or return the
    ticket already made for this channel + external id). `actor` None = a public channel (system user)."""
    return ticket_receive(actor=actor, data=data).ticket


def _receive(*, actor: User | None, data: TicketData, now: dt.datetime) -> TicketResult:
    customer = _customer_for(actor, data)
    if data.thread and data.opened_at is None:
        target = _thread_target(customer, data, now)
        if target is not None and (data.message or data.attachments):
            was_resolved = target.status == TicketStatus.RESOLVED
            message = _message_write(
                actor=actor,
                ticket=_locked(None, target.pk, Action.CHANGE),
                body=data.message,
                direction=MessageDirection.INBOUND,
                message_id=_dedupe_key(data),
                in_reply_to=data.in_reply_to,
                references=data.references,
                from_address=data.from_address or data.email,
                attachments=data.attachments,
                now=now,
            )
            ticket = Ticket.objects.select_related("customer").get(pk=message.ticket_id)
            if ticket.pk != target.pk:
                return TicketResult(ticket, "created")
            return TicketResult(ticket, "reopened" if was_resolved else "threaded")
    ticket = _open_ticket(actor=actor, data=data, customer=customer, now=now)
    return TicketResult(ticket, "created")


def _open_ticket(
    *,
    actor: User | None,
    data: TicketData,
    customer: Customer,
    now: dt.datetime,
    follows: Ticket | None = None,
) -> Ticket:
    acting = actor or system_user()
    category = (
        Category.objects.select_related("parent").filter(pk=data.category_id).first()
        if data.category_id
        else None
    )
    priority = data.priority or _category_default_priority(category) or Priority.NORMAL
    branch_id = data.branch_id
    team_id = data.team_id
    if team_id and not branch_id:
        branch_id = Team.objects.filter(pk=team_id).values_list("branch_id", flat=True).first()
    branch_id = branch_id or customer.branch_id or (actor.branch_id if actor is not None else None)
    team_id = assignment.team_for(team_id=team_id, category_id=data.category_id, branch_id=branch_id)
    if team_id:  # the handling team's branch: its working hours run the clocks
        branch_id = Team.objects.filter(pk=team_id).values_list("branch_id", flat=True).first()
    opened_at = data.opened_at or now
    subject = data.subject or " ".join(data.message.split())[:120] or str(TicketChannel(data.channel).label)
    ticket = Ticket(
        customer=customer,
        kind=data.kind,
        channel=data.channel,
        category=category,
        priority=priority,
        status=TicketStatus.NEW,
        subject=subject[:SUBJECT_MAX],
        team_id=team_id,
        branch_id=branch_id,
        related_ref=data.related_ref,
        external_id=data.external_id,
        opened_at=opened_at,
        created_by=actor,
    )
    _apply_policy(ticket, customer_tier=customer.tier)
    ticket.search_text = _search_text(ticket, customer)
    try:
        ticket.full_clean(
            exclude=["customer", "category", "assignee", "team", "branch", "sla_policy", "created_by"]
        )
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    ticket.save()
    if data.message or data.attachments:
        message = Message.objects.create(
            ticket=ticket,
            created_at=opened_at,
            direction=MessageDirection.INBOUND,
            channel=data.channel,
            author=None,
            body=data.message,
            from_address=(data.from_address or data.email)[:254],
            message_id=_dedupe_key(data)[:250],
            in_reply_to=data.in_reply_to[:250],
            references=data.references,
        )
        _store_attachments(message, data.attachments)
    _event(
        ticket,
        EventKind.CREATED,
        actor=actor,
        from_value=f"#{follows.pk}" if follows is not None else "",
        to_value=ticket.channel,
        note=_("the customer wrote again after ticket #%(id)s was closed") % {"id": follows.pk}
        if follows
        else "",
        at=opened_at,
    )
    audit_record(
        actor=acting,
        action=AuditAction.CREATE,
        obj=ticket,
        changes={
            "customer": [None, customer.pk],
            "channel": [None, ticket.channel],
            "kind": [None, ticket.kind],
            "category": [None, ticket.category_id],
            "priority": [None, ticket.priority],
            "team": [None, ticket.team_id],
            "opened_at": [None, opened_at],
            "sla_policy": [None, ticket.sla_policy_id],
        },
    )
    given = User.objects.filter(pk=data.assignee_id, is_active=True).first() if data.assignee_id else None
    if given is not None:
        _set_assignee(ticket, given, actor=None, note=_("took the customer's call"), now=now)
    elif (agent := assignment.pick_agent(ticket=ticket, now=now)) is not None:
        _set_assignee(ticket, agent, actor=None, note=_("automatic assignment"), now=now)
    _on_commit_signal(ticket_created, ticket, actor)
    return ticket


def _apply_policy(ticket: Ticket, *, customer_tier: str) -> None:
    """Choose the SLA policy and set both due moments from the opening time."""
    policy = sla.policy_for(
        priority=ticket.priority, category_id=ticket.category_id, tier=customer_tier or ""
    )
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due = None
        ticket.resolution_due = None
        return
    hours = sla.hours_for_branch(ticket.branch_id)
    ticket.first_response_due, ticket.resolution_due = sla.due_moments(
        ticket.opened_at,
        first_response_minutes=policy.first_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        hours=hours,
    )


# --- the conversation -------------------------------------------------------------------------------------


def sanitize_filename(name: str) -> str:
    """A safe file name: no directories, no control or shell characters, at most 100 characters."""
    base = os.path.basename(nfc(str(name or "")).replace("\\", "/")).strip().strip(".")
    stem, ext = os.path.splitext(base)
    ext = ext.lower()[:10]
    try:
        stem = get_valid_filename(stem)[:90] if stem.strip() else "file"
    except SuspiciousFileOperation:
        stem = "file"
    try:
        return get_valid_filename(f"{stem}{ext}")
    except SuspiciousFileOperation:
        return "file"


def _attachment_type(upload: UploadedFile) -> tuple[str, str] | None:
    """(safe name, content type) when the file type is allowed, else None."""
    filename = sanitize_filename(upload.name or "")
    ext = os.path.splitext(filename)[1].lower()
    allowed = ALLOWED_ATTACHMENTS.get(ext)
    if allowed is None:
        return None
    declared = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(filename)[0] or ""
    if (
        declared not in GENERIC_TYPES
        and declared not in {allowed, guessed}
        and declared not in ALLOWED_ATTACHMENTS.values()
    ):
        return None
    return filename, allowed


def _check_attachments(attachments: Sequence[UploadedFile]) -> None:
    if not attachments:
        return
    errors: list[str] = []
    if len(attachments) > MAX_ATTACHMENTS:
        errors.append(_("At most %(n)d files.") % {"n": MAX_ATTACHMENTS})
    limit = attachment_max_bytes()
    for upload in attachments:
        if (upload.size or 0) > limit:
            errors.append(
                _("%(name)s is larger than %(mb)d MB.")
                % {"name": sanitize_filename(upload.name or ""), "mb": limit // (1024 * 1024)}
            )
        elif _attachment_type(upload) is None:
            errors.append(
                _("%(name)s: this type of file is not accepted (images, PDF, office documents, text, audio).")
                % {"name": sanitize_filename(upload.name or "")}
            )
    if errors:
        raise ValidationFailed({"attachments": errors})


def _store_attachments(message: Message, attachments: Sequence[UploadedFile]) -> list[Attachment]:
    stored = []
    for upload in attachments:
        kind = _attachment_type(upload)
        if kind is None:  # checked before; never store an unchecked file
            continue
        filename, content_type = kind
        attachment = Attachment(
            message=message, filename=filename, content_type=content_type, size=upload.size or 0
        )
        attachment.file.save(filename, upload, save=False)  # storage under MEDIA_ROOT (var/media)
        attachment.save()
        stored.append(attachment)
    return stored


def message_add(
    *,
    actor: User | None,
    ticket_id: int,
    body: str,
    internal: bool = False,
    direction: str | None = None,
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    from_address: str = "",
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """Add a message to a ticket: from the customer (inbound), to the customer (outbound) or an internal
    note. Direction: `internal` → note; else the given one; else outbound for a staff actor and inbound for
    a public channel (actor None). Staff need the change right. The same `message_id` again returns the
    first message. An inbound message may land on another ticket: a resolved ticket past the reopen window
    (or a closed one) starts a new ticket — the returned message's `ticket_id` tells which."""
    if direction is None:
        direction = (
            MessageDirection.NOTE
            if internal
            else (MessageDirection.OUTBOUND if actor else MessageDirection.INBOUND)
        )
    elif internal:
        direction = MessageDirection.NOTE
    if direction not in MessageDirection.values:
        raise ValidationFailed({"direction": [_("Use inbound, outbound or note.")]})
    text = nfc(body or "").strip()
    errors: dict[str, list[str]] = {}
    if not text and not attachments:
        errors["body"] = [_("This field is required.")]
    elif len(text) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    if len(message_id) > 250 or len(in_reply_to) > 250:
        errors["message_id"] = [_("At most %(n)d characters.") % {"n": 250}]
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        if errors:
            raise ValidationFailed(errors)
        _check_attachments(attachments)
        if message_id:
            duplicate = Message.objects.filter(
                message_id=message_id, ticket__customer_id=ticket.customer_id
            ).first()
            if duplicate is not None:
                return duplicate
        return _message_write(
            actor=actor,
            ticket=ticket,
            body=text,
            direction=direction,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            from_address=from_address,
            attachments=attachments,
            now=now,
        )


def _message_write(
    *,
    actor: User | None,
    ticket: Ticket,
    body: str,
    direction: str,
    message_id: str,
    in_reply_to: str,
    references: str,
    from_address: str,
    attachments: Sequence[UploadedFile],
    now: dt.datetime,
) -> Message:
    """Write one message on a locked ticket and move the ticket's status and clocks accordingly."""
    fields: list[str] = []
    if direction == MessageDirection.INBOUND:
        if ticket.status == TicketStatus.CLOSED or (
            ticket.status == TicketStatus.RESOLVED
            and (ticket.resolved_at is None or ticket.resolved_at < now - dt.timedelta(days=reopen_days()))
        ):
            return _follow_up_ticket(
                actor=actor,
                previous=ticket,
                body=body,
                message_id=message_id,
                in_reply_to=in_reply_to,
                references=references,
                from_address=from_address,
                attachments=attachments,
                now=now,
            )
        if ticket.status == TicketStatus.RESOLVED:
            _reopen(ticket, actor=actor, reason=_("the customer wrote again"), now=now, fields=fields)
        elif ticket.status == TicketStatus.WAITING:
            _resume(ticket, now, fields)
            ticket.status = TicketStatus.OPEN
            fields.append("status")
            _event(
                ticket,
                EventKind.STATUS,
                actor=None,
                from_value=TicketStatus.WAITING,
                to_value=TicketStatus.OPEN,
                note=_("the customer answered"),
                at=now,
            )
    else:
        if direction == MessageDirection.OUTBOUND and ticket.status == TicketStatus.CLOSED:
            raise Conflict("ticket_closed", _("This ticket is closed: reopen it to write to the customer."))
        _staff_touch(ticket, actor, fields, now)
    to_address = ""
    if direction == MessageDirection.OUTBOUND:
        ticket.interactions += 1
        fields.append("interactions")
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            fields.append("first_response_at")
            if ticket.first_response_due is not None and now > ticket.first_response_due:
                ticket.first_response_breached = True
                fields.append("first_response_breached")
        if ticket.channel == TicketChannel.EMAIL:
            last = last_inbound_message(ticket=ticket)
            to_address = _reply_address(ticket, last)
            message_id = message_id or make_msgid(domain=_mail_domain())
            if last is not None and last.message_id and not in_reply_to:
                in_reply_to = last.message_id
                references = " ".join(filter(None, [last.references.strip(), last.message_id]))
    message = Message.objects.create(
        ticket=ticket,
        created_at=now,
        direction=direction,
        channel=ticket.channel if direction != MessageDirection.NOTE else "",
        author=actor if _is_person(actor) else None,
        body=body,
        from_address=from_address[:254],
        to_address=to_address[:254],
        message_id=message_id[:250],
        in_reply_to=in_reply_to[:250],
        references=references,
    )
    _store_attachments(message, attachments)
    _save(ticket, fields)
    audit_record(
        actor=actor or system_user(),
        action=AuditAction.CREATE,
        obj=message,
        object_repr=f"[#{ticket.pk}] {message.get_direction_display()}",
        changes={
            "ticket": [None, ticket.pk],
            "direction": [None, direction],
            "attachments": [None, len(attachments)],
        },
    )
    if direction == MessageDirection.OUTBOUND and ticket.channel == TicketChannel.EMAIL:
        message_pk = message.pk
        transaction.on_commit(lambda: message_send_email(message_id=message_pk))
    return message


def _follow_up_ticket(
    *,
    actor: User | None,
    previous: Ticket,
    body: str,
    message_id: str,
    in_reply_to: str,
    references: str,
    from_address: str,
    attachments: Sequence[UploadedFile],
    now: dt.datetime,
) -> Message:
    """A customer message on a closed ticket (or resolved too long ago) starts a new ticket."""
    data = TicketData(
        channel=previous.channel,
        kind=previous.kind,
        subject=previous.subject,
        message=body,
        customer_id=previous.customer_id,
        category_id=previous.category_id
        if previous.category_id and previous.category and previous.category.active
        else None,
        branch_id=previous.branch_id,
        message_id=message_id,
        from_address=from_address,
        related_ref=previous.related_ref,
        thread=False,
        in_reply_to=in_reply_to,
        references=references,
        attachments=attachments,
    )
    ticket = _open_ticket(actor=actor, data=data, customer=previous.customer, now=now, follows=previous)
    message = Message.objects.filter(ticket=ticket).order_by("id").first()
    assert message is not None  # _open_ticket wrote the body or the attachments
    return message


def _mail_domain() -> str:
    address = parseaddr(str(getattr(settings, "HELPDESK_FROM_EMAIL", "") or settings.DEFAULT_FROM_EMAIL))[1]
    return address.rsplit("@", 1)[1] if "@" in address else "careline.local"


def _reply_address(ticket: Ticket, last: Message | None) -> str:
    if last is not None and last.from_address:
        address = parseaddr(last.from_address)[1]
        if address:
            return address.lower()
    email = ticket.customer.contact_points.filter(kind=ContactKind.EMAIL).order_by("position", "id").first()
    return email.value if email is not None else ""


def email_subject(ticket: Ticket) -> str:
    """`Re: [#123] <subject>`: the tag lets the mailbox reader thread the answer back."""
    subject = " ".join(TAG_RE.sub(" ", REPLY_PREFIX_RE.sub("", ticket.subject or "")).split())
    return f"Re: [#{ticket.pk}] {subject}".strip()


def message_send_email(*, message_id: int) -> Message:
    """Send one outbound message of an email ticket by SMTP (Django's mailers). Idempotent: a message
    already sent is not sent again. A delivery failure is recorded on the message (`failed`), never raised.
    Runs after the transaction that wrote the message commits."""
    from django.core.mail import EmailMessage, mailers

    message = (
        Message.objects.select_related("ticket", "ticket__customer", "author").filter(pk=message_id).first()
    )
    if message is None:
        raise NotFound(_("Message not found."))
    if message.direction != MessageDirection.OUTBOUND or message.delivery_status == "sent":
        return message
    ticket = message.ticket
    if not message.to_address:
        Message.objects.filter(pk=message.pk).update(delivery_status="failed")
        message.delivery_status = "failed"
        logger.warning("ticket %s: no address to reply to", ticket.pk)
        return message
    headers = {"Message-ID": message.message_id}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references:
        headers["References"] = message.references
    from_email = getattr(settings, "HELPDESK_FROM_EMAIL", "") or settings.DEFAULT_FROM_EMAIL
    email = EmailMessage(
        subject=email_subject(ticket),
        body=message.body,
        from_email=from_email,
        to=[message.to_address],
        headers=headers,
    )
    for attachment in message.attachments.all():
        try:
            with attachment.file.open("rb") as fh:
                email.attach(attachment.filename, fh.read(), attachment.content_type or None)
        except OSError:
            logger.warning("ticket %s: attachment %s missing", ticket.pk, attachment.pk)
    status = "sent"
    try:
        mailers.default.send_messages([email])
    except Exception as exc:  # any delivery problem is recorded on the message
        logger.warning("ticket %s: reply not delivered: %s", ticket.pk, exc)
        status = "failed"
    Message.objects.filter(pk=message.pk).update(delivery_status=status)
    message.delivery_status = status
    return message


# --- status flow ------------------------------------------------------------------------------------------


def _reopen(ticket: Ticket, *, actor: Any, reason: str, now: dt.datetime, fields: list[str]) -> None:
    before = ticket.status
    ticket.status = TicketStatus.OPEN
    ticket.reopened_count += 1
    ticket.fcr = False
    ticket.resolved_at = None
    ticket.closed_at = None
    ticket.paused_at = None
    ticket.warned_at = None
    ticket.resolution_breached = False
    ticket.escalation_level = 0
    policy = ticket.sla_policy
    if policy is not None:
        ticket.resolution_due = sla.due_moments(
            now,
            first_response_minutes=policy.first_response_minutes,
            resolution_minutes=policy.resolution_minutes,
            hours=sla.hours_for_branch(ticket.branch_id),
        )[1]
    fields += [
        "status",
        "reopened_count",
        "fcr",
        "resolved_at",
        "closed_at",
        "paused_at",
        "warned_at",
        "resolution_breached",
        "escalation_level",
        "resolution_due",
    ]
    _event(
        ticket,
        EventKind.STATUS,
        actor=actor,
        from_value=before,
        to_value=TicketStatus.OPEN,
        note=reason,
        at=now,
    )
    audit_record(
        actor=actor or system_user(),
        action=AuditAction.UPDATE,
        obj=ticket,
        changes={
            "status": [before, TicketStatus.OPEN],
            "reopened_count": [ticket.reopened_count - 1, ticket.reopened_count],
            "reason": [None, reason],
        },
    )
    _on_commit_signal(ticket_reopened, ticket, actor)


def ticket_reopen(*, actor: User | None, ticket_id: int, reason: str = "") -> Ticket:
    """Reopen a resolved or closed ticket (reopened_count + 1, FCR cleared, resolution clock restarted)."""
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise Conflict("not_resolved", _("Only a resolved or closed ticket can be reopened."))
        fields: list[str] = []
        _reopen(ticket, actor=actor, reason=nfc(reason or "").strip()[:NOTE_MAX], now=now, fields=fields)
        _save(ticket, fields)
    return ticket


def ticket_resolve(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    """Resolve a ticket: FCR = at most one reply to the customer and never reopened. An unassigned ticket
    becomes the resolving agent's. `note` is kept as an internal note. Resolving twice changes nothing."""
    now = _now()
    note = nfc(note or "").strip()
    if len(note) > BODY_MAX:
        raise ValidationFailed({"note": [_("At most %(n)d characters.") % {"n": BODY_MAX}]})
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        if ticket.status == TicketStatus.RESOLVED:
            return ticket
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict("ticket_closed", _("This ticket is closed."))
        fields: list[str] = []
        if note:
            Message.objects.create(
                ticket=ticket,
                created_at=now,
                direction=MessageDirection.NOTE,
                author=actor if _is_person(actor) else None,
                body=note,
            )
        if ticket.assignee_id is None and _is_person(actor) and actor.is_active:
            _set_assignee(
                ticket, actor, actor=actor, note=_("resolved by"), now=now, notify=False, save=False
            )
            fields += ["assignee", "team", "branch"]
        _resume(ticket, now, fields)
        before = ticket.status
        ticket.status = TicketStatus.RESOLVED
        ticket.resolved_at = now
        ticket.fcr = ticket.interactions <= 1 and ticket.reopened_count == 0
        fields += ["status", "resolved_at", "fcr"]
        if (
            ticket.resolution_due is not None
            and now > ticket.resolution_due
            and not ticket.resolution_breached
        ):
            ticket.resolution_breached = True
            fields.append("resolution_breached")
        _save(ticket, fields)
        _event(
            ticket, EventKind.STATUS, actor=actor, from_value=before, to_value=TicketStatus.RESOLVED, at=now
        )
        audit_record(
            actor=actor or system_user(),
            action=AuditAction.UPDATE,
            obj=ticket,
            changes={"status": [before, TicketStatus.RESOLVED], "fcr": [None, ticket.fcr]},
        )
        _on_commit_signal(ticket_resolved, ticket, actor)
    return ticket


def ticket_close(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    """Close a resolved ticket (the worker does it after `HELPDESK_AUTOCLOSE_DAYS`). Closing twice changes
    nothing."""
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        if ticket.status == TicketStatus.CLOSED:
            return ticket
        if ticket.status != TicketStatus.RESOLVED:
            raise Conflict("not_resolved", _("Resolve the ticket before closing it."))
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = now
        _save(ticket, ["status", "closed_at"])
        _event(
            ticket,
            EventKind.STATUS,
            actor=actor,
            from_value=TicketStatus.RESOLVED,
            to_value=TicketStatus.CLOSED,
            note=note,
            at=now,
        )
        audit_record(
            actor=actor or system_user(),
            action=AuditAction.UPDATE,
            obj=ticket,
            changes={"status": [TicketStatus.RESOLVED, TicketStatus.CLOSED]},
        )
    return ticket


def tickets_autoclose(*, now: dt.datetime | None = None) -> int:
    """Close every ticket resolved more than `HELPDESK_AUTOCLOSE_DAYS` ago. Idempotent; run by the worker."""
    now = now or _now()
    cutoff = now - dt.timedelta(days=autoclose_days())
    ids = list(
        Ticket.objects.filter(status=TicketStatus.RESOLVED, resolved_at__lte=cutoff).values_list(
            "pk", flat=True
        )[:5000]
    )
    closed = 0
    for ticket_id in ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update()
                .filter(pk=ticket_id, status=TicketStatus.RESOLVED, resolved_at__lte=cutoff)
                .first()
            )
            if ticket is None:
                continue
            ticket.status = TicketStatus.CLOSED
            ticket.closed_at = now
            _save(ticket, ["status", "closed_at"])
            _event(
                ticket,
                EventKind.STATUS,
                from_value=TicketStatus.RESOLVED,
                to_value=TicketStatus.CLOSED,
                note=_("closed automatically %(days)d days after it was resolved")
                % {"days": autoclose_days()},
                at=now,
            )
            audit_record(
                actor=system_user(),
                action=AuditAction.UPDATE,
                obj=ticket,
                changes={"status": [TicketStatus.RESOLVED, TicketStatus.CLOSED]},
            )
            closed += 1
    return closed


UPDATABLE = ("priority", "category_id", "kind", "subject", "related_ref", "status")


def ticket_update(
    *, actor: User, ticket_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Ticket:
    """Change a ticket's priority, category, kind, subject, related deal/contract/product or put it in
    waiting / back to open. A new priority or category chooses the SLA policy again (due moments from the
    opening time, keeping the time already added for waiting). Stale `expected_version` → 412."""
    unknown = set(data) - set(UPDATABLE)
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be changed here.")] for k in sorted(unknown)})
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        if expected_version is not None and expected_version != ticket.version:
            raise PreconditionFailed(ticket.version)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict("ticket_closed", _("This ticket is closed."))
        before = {k: getattr(ticket, k) for k in UPDATABLE}
        errors: dict[str, list[str]] = {}
        fields: list[str] = []
        if "priority" in data and data["priority"] != ticket.priority:
            if data["priority"] not in Priority.values:
                errors["priority"] = [_("Unknown priority.")]
            else:
                _event(
                    ticket,
                    EventKind.PRIORITY,
                    actor=actor,
                    from_value=ticket.priority,
                    to_value=data["priority"],
                    at=now,
                )
                ticket.priority = data["priority"]
                fields.append("priority")
        if "category_id" in data and data["category_id"] != ticket.category_id:
            category = None
            if data["category_id"] is not None:
                category = Category.objects.filter(pk=data["category_id"], active=True).first()
                if category is None:
                    errors["category"] = [_("No such category.")]
            if "category" not in errors:
                _event(
                    ticket,
                    EventKind.CATEGORY,
                    actor=actor,
                    from_value=str(ticket.category or ""),
                    to_value=str(category or ""),
                    at=now,
                )
                ticket.category = category
                fields.append("category")
        if "kind" in data and data["kind"] != ticket.kind:
            if data["kind"] not in TicketKind.values:
                errors["kind"] = [_("Unknown kind.")]
            else:
                ticket.kind = data["kind"]
                fields.append("kind")
        if "subject" in data:
            subject = " ".join(nfc(str(data["subject"] or "")).split())
            if not subject:
                errors["subject"] = [_("This field is required.")]
            elif len(subject) > SUBJECT_MAX:
                errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
            elif subject != ticket.subject:
                ticket.subject = subject
                fields.append("subject")
        if "related_ref" in data:
            ref = str(data["related_ref"] or "").strip()
            if len(ref) > 200:
                errors["related_ref"] = [_("At most %(n)d characters.") % {"n": 200}]
            elif ref != ticket.related_ref:
                ticket.related_ref = ref
                fields.append("related_ref")
        if "status" in data and data["status"] != ticket.status:
            wanted = data["status"]
            if wanted not in (TicketStatus.WAITING, TicketStatus.OPEN):
                errors["status"] = [_("Set waiting or open here; resolve and reopen have their own actions.")]
            elif ticket.status not in OPEN_STATUSES:
                errors["status"] = [_("Reopen the ticket first.")]
            else:
                previous = ticket.status
                if wanted == TicketStatus.WAITING:
                    ticket.paused_at = now
                    fields.append("paused_at")
                else:
                    _resume(ticket, now, fields)
                ticket.status = wanted
                fields.append("status")
                _event(ticket, EventKind.STATUS, actor=actor, from_value=previous, to_value=wanted, at=now)
        if errors:
            raise ValidationFailed(errors)
        if not fields:
            return ticket
        if "status" not in fields:
            _staff_touch(ticket, actor, fields, now)
        if "priority" in fields or "category" in fields:
            _reapply_policy(ticket, fields)
        if "subject" in fields or "related_ref" in fields:
            ticket.search_text = _search_text(ticket, ticket.customer)
            fields.append("search_text")
        _save(ticket, fields)
        after = {k: getattr(ticket, k) for k in UPDATABLE}
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=ticket, changes=diff(before, after))
    return ticket


def _reapply_policy(ticket: Ticket, fields: list[str]) -> None:
    """New priority/category: due moments from the opening time under the new policy, plus the business
    time already added to the resolution clock for waiting. Clocks already met are left alone."""
    hours = sla.hours_for_branch(ticket.branch_id)
    old = ticket.sla_policy
    extension = dt.timedelta(0)
    if old is not None and ticket.resolution_due is not None:
        base = sla.add_business_time(ticket.opened_at, dt.timedelta(minutes=old.resolution_minutes), hours)
        extension = sla.business_time_between(base, ticket.resolution_due, hours)
    first_due, res_due = ticket.first_response_due, ticket.resolution_due
    _apply_policy(ticket, customer_tier=ticket.customer.tier)
    if ticket.resolution_due is not None and extension:
        ticket.resolution_due = sla.add_business_time(ticket.resolution_due, extension, hours)
    if ticket.first_response_at is not None:
        ticket.first_response_due = first_due
    elif first_due != ticket.first_response_due:
        ticket.first_response_breached = False
        fields.append("first_response_breached")
    fields += ["sla_policy", "first_response_due", "resolution_due"]
    if res_due != ticket.resolution_due:
        ticket.resolution_breached = False
        ticket.warned_at = None
        fields += ["resolution_breached", "warned_at"]


# --- assignment ---------------------------------------------------------------------------------------------


def _set_assignee(
    ticket: Ticket,
    user: User | None,
    *,
    actor: Any,
    note: str,
    now: dt.datetime,
    notify: bool = True,
    save: bool = True,
) -> None:
    previous_id = ticket.assignee_id
    ticket.assignee = user
    if user is not None and user.team_id:
        ticket.team_id = user.team_id
        ticket.branch_id = user.branch_id or ticket.branch_id
    if save:
        _save(ticket, ["assignee", "team", "branch"])
    _event(
        ticket,
        EventKind.ASSIGNED,
        actor=actor,
        from_value=previous_id or "",
        to_value=user.pk if user is not None else "",
        note=note,
        at=now,
    )
    audit_record(
        actor=actor if _is_person(actor) else system_user(),
        action=AuditAction.ASSIGN,
        obj=ticket,
        changes={"assignee": [previous_id, user.pk if user else None], "note": [None, note]},
    )
    if notify and user is not None and (actor is None or user.pk != getattr(actor, "pk", None)):
        notification_send(
            user=user,
            kind="ticket_assigned",
            message=_("Ticket #%(id)s assigned to you: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            url=_ticket_url(ticket.pk),
        )


def _assignable(actor: User, user_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationFailed({"user_id": [_("No such active user.")]})
    scope = actor.scope_for(OBJECT_TYPE)
    allowed = (
        scope == Scope.ALL
        or (scope == Scope.BRANCH and actor.branch_id and user.branch_id == actor.branch_id)
        or (scope == Scope.TEAM and actor.team_id and user.team_id == actor.team_id)
        or user.pk == actor.pk
    )
    if not allowed:
        raise PermissionDenied(_("You cannot assign tickets to this person."))
    return user


def ticket_assign(*, actor: User, ticket_id: int, user_id: int | None, note: str = "") -> Ticket:
    """A supervisor / head of care gives the ticket to someone (or back to the team queue with None).
    The ticket moves to the new assignee's team; they are notified."""
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.ASSIGN)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict("ticket_closed", _("This ticket is closed."))
        user = _assignable(actor, user_id) if user_id is not None else None
        if (user.pk if user else None) == ticket.assignee_id:
            return ticket
        _set_assignee(ticket, user, actor=actor, note=nfc(note or "").strip()[:NOTE_MAX], now=now)
    return ticket


def tickets_assign_queued(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Give the team queues' unassigned open tickets to agents now on shift (oldest first). Idempotent;
    run by the worker every minute."""
    now = now or _now()
    hours = sla.HoursCache()
    ids = list(
        Ticket.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=True, team__isnull=False)
        .order_by("opened_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    assigned = 0
    full_teams: set[int] = set()
    for ticket_id in ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .filter(pk=ticket_id, assignee__isnull=True, status__in=OPEN_STATUSES)
                .first()
            )
            if ticket is None or ticket.team_id in full_teams:
                continue
            agent = assignment.pick_agent(ticket=ticket, now=now, hours=hours)
            if agent is None:
                if ticket.team_id:
                    full_teams.add(ticket.team_id)  # nobody free in this team this minute
                continue
            _set_assignee(ticket, agent, actor=None, note=_("automatic assignment"), now=now)
            assigned += 1
    return assigned


# --- SLA worker -------------------------------------------------------------------------------------------


@dataclass
class SlaRunStats:
    warned: int = 0
    breached: int = 0
    escalated: int = 0


def _care_heads() -> list[User]:
    return list(User.objects.filter(role__code=RoleCode.CARE_HEAD, is_active=True).order_by("id"))


def _leaders(ticket: Ticket) -> list[User]:
    if ticket.team_id:
        leader = User.objects.filter(led_teams__pk=ticket.team_id, is_active=True).first()
        if leader is not None:
            return [leader]
    return _care_heads()


def _notify(users: Sequence[User], *, kind: str, message: str, ticket_id: int) -> None:
    seen: set[int] = set()
    for user in users:
        if user.pk not in seen:
            seen.add(user.pk)
            notification_send(user=user, kind=kind, message=message, url=_ticket_url(ticket_id))


def sla_run(*, now: dt.datetime | None = None) -> SlaRunStats:
    """Warn before a breach (the assignee, once per clock), mark breaches, escalate to level 1 (the team
    leader, else the heads of care) and, when the ticket is still not resolved one more resolution period
    after its resolution due moment, to level 2 (everyone with the head-of-care role). Waiting tickets'
    resolution clock is paused. Idempotent: every step is guarded by a flag on the ticket; run by the
    worker every minute."""
    now = now or _now()
    stats = SlaRunStats()
    policies = {p.pk: p for p in SlaPolicy.objects.all()}
    max_warn = max((p.warn_before_minutes for p in policies.values()), default=0)
    horizon = now + dt.timedelta(minutes=max_warn)
    running = [TicketStatus.NEW, TicketStatus.OPEN]
    candidates = (
        Q(
            status__in=OPEN_STATUSES,
            first_response_at__isnull=True,
            first_response_breached=False,
            first_response_due__lte=horizon,
        )
        | Q(status__in=running, resolution_breached=False, resolution_due__lte=horizon)
        | Q(status__in=running, resolution_breached=True, escalation_level__lt=2)
    )
    ids = list(Ticket.objects.filter(candidates).order_by("id").values_list("pk", flat=True)[:5000])
    hours = sla.HoursCache()
    for ticket_id in ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("assignee")
                .filter(pk=ticket_id, status__in=OPEN_STATUSES)
                .first()
            )
            if ticket is not None:
                _sla_step(
                    ticket, now=now, policy=policies.get(ticket.sla_policy_id or 0), hours=hours, stats=stats
                )
    return stats


def _sla_step(
    ticket: Ticket, *, now: dt.datetime, policy: SlaPolicy | None, hours: sla.HoursCache, stats: SlaRunStats
) -> None:
    fields: list[str] = []
    warn = dt.timedelta(minutes=policy.warn_before_minutes if policy is not None else 0)
    running = ticket.status in (TicketStatus.NEW, TicketStatus.OPEN)
    clocks: list[tuple[str, dt.datetime]] = []
    if ticket.first_response_at is None and ticket.first_response_due and not ticket.first_response_breached:
        clocks.append(("first_response", ticket.first_response_due))
    if running and ticket.resolution_due and not ticket.resolution_breached:
        clocks.append(("resolution", ticket.resolution_due))
    clocks.sort(key=lambda c: c[1])
    # Warnings: once per clock (the latest warning must be older than this clock's warning moment).
    for name, due in clocks:
        threshold = due - warn
        if warn and threshold <= now < due and (ticket.warned_at is None or ticket.warned_at < threshold):
            ticket.warned_at = now
            fields.append("warned_at")
            _event(
                ticket,
                EventKind.SLA_WARNING,
                to_value=name,
                note=str(timezone.localtime(due).isoformat()),
                at=now,
            )
            label = _("first response") if name == "first_response" else _("resolution")
            recipients = [ticket.assignee] if ticket.assignee is not None else _leaders(ticket)
            _notify(
                recipients,
                kind="ticket_sla_warning",
                message=_("Ticket #%(id)s: %(clock)s due at %(time)s")
                % {
                    "id": ticket.pk,
                    "clock": label,
                    "time": timezone.localtime(due).strftime("%H:%M %d/%m/%Y"),
                },
                ticket_id=ticket.pk,
            )
            stats.warned += 1
            break
    breached_now: list[str] = []
    for name, due in clocks:
        if now >= due:
            setattr(ticket, f"{name}_breached", True)
            fields.append(f"{name}_breached")
            _event(ticket, EventKind.SLA_BREACH, to_value=name, at=now)
            breached_now.append(name)
            stats.breached += 1
    if breached_now and ticket.escalation_level < 1:
        ticket.escalation_level = 1
        fields.append("escalation_level")
        _event(ticket, EventKind.ESCALATED, from_value=0, to_value=1, note=", ".join(breached_now), at=now)
        _notify(
            _leaders(ticket),
            kind="ticket_escalated",
            message=_("Ticket #%(id)s is late (%(what)s): %(subject)s")
            % {"id": ticket.pk, "what": ", ".join(breached_now), "subject": ticket.subject},
            ticket_id=ticket.pk,
        )
        stats.escalated += 1
    if (
        running
        and ticket.resolution_breached
        and ticket.escalation_level == 1
        and policy is not None
        and ticket.resolution_due is not None
    ):
        second = sla.add_business_time(
            ticket.resolution_due,
            dt.timedelta(minutes=policy.resolution_minutes),
            hours.for_branch(ticket.branch_id),
        )
        if now >= second:
            ticket.escalation_level = 2
            fields.append("escalation_level")
            _event(ticket, EventKind.ESCALATED, from_value=1, to_value=2, at=now)
            _notify(
                _care_heads(),
                kind="ticket_escalated",
                message=_("Ticket #%(id)s is still not resolved long after its deadline: %(subject)s")
                % {"id": ticket.pk, "subject": ticket.subject},
                ticket_id=ticket.pk,
            )
            stats.escalated += 1
    if fields:
        ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])  # clocks only: not a version change


# --- playbooks and canned replies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookStep:
    number: int  # 1-based
    text: str
    done: bool
    done_by: User | None
    done_at: dt.datetime | None


@dataclass(frozen=True)
class RenderedReply:
    reply: CannedReply
    body: str


@dataclass(frozen=True)
class PlaybookView:
    """A playbook as applied to one ticket: its steps with what is ticked and the canned replies filled in
    for the ticket's customer and the agent."""

    playbook: Playbook
    steps: list[PlaybookStep]
    involve: str
    canned_replies: list[RenderedReply]


def playbook_view(*, ticket: Ticket, agent: Any) -> PlaybookView | None:
    playbook = playbook_for_category(ticket.category_id)
    if playbook is None:
        return None
    checks = {c.step: c for c in StepCheck.objects.filter(ticket=ticket).select_related("done_by")}
    steps = []
    for i, text in enumerate(playbook.steps or [], start=1):
        check = checks.get(i)
        steps.append(
            PlaybookStep(
                number=i,
                text=str(text),
                done=check is not None,
                done_by=check.done_by if check else None,
                done_at=check.done_at if check else None,
            )
        )
    replies = CannedReply.objects.filter(category_id=playbook.category_id, active=True).order_by(
        "title", "id"
    )
    return PlaybookView(
        playbook=playbook,
        steps=steps,
        involve=playbook.involve,
        canned_replies=[RenderedReply(r, canned_reply_render(r, ticket, agent)) for r in replies],
    )


def playbook_apply(*, actor: User, ticket_id: int) -> PlaybookView:
    """Open the category's playbook on a ticket (records a PLAYBOOK event; the first staff action opens a
    new ticket). 409 `no_playbook` when neither the category nor its ancestors have one."""
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        view = playbook_view(ticket=ticket, agent=actor)
        if view is None:
            raise Conflict("no_playbook", _("This ticket's category has no handling procedure."))
        fields: list[str] = []
        _staff_touch(ticket, actor, fields, now)
        if fields:
            _save(ticket, fields)
        _event(
            ticket,
            EventKind.PLAYBOOK,
            actor=actor,
            to_value=view.playbook.pk,
            note=str(view.playbook.category),
            at=now,
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=ticket,
            changes={"playbook": [None, view.playbook.pk]},
        )
    return view


def step_check(*, actor: User, ticket_id: int, step: int, done: bool = True) -> PlaybookView:
    """Tick (or untick) step `step` (1-based) of the ticket's playbook: who and when are recorded."""
    now = _now()
    with transaction.atomic():
        ticket = _locked(actor, ticket_id, Action.CHANGE)
        playbook = playbook_for_category(ticket.category_id)
        if playbook is None:
            raise Conflict("no_playbook", _("This ticket's category has no handling procedure."))
        steps = list(playbook.steps or [])
        if step < 1 or step > len(steps):
            raise ValidationFailed({"step": [_("No such step.")]})
        existing = StepCheck.objects.filter(ticket=ticket, step=step).first()
        text = str(steps[step - 1])[:300]
        changed = False
        if done and existing is None:
            StepCheck.objects.create(ticket=ticket, step=step, text=text, done_by=actor, done_at=now)
            changed = True
        elif not done and existing is not None:
            existing.delete()
            changed = True
        if changed:
            fields: list[str] = []
            _staff_touch(ticket, actor, fields, now)
            _save(ticket, fields)
            _event(
                ticket,
                EventKind.STEP,
                actor=actor,
                from_value="" if done else step,
                to_value=step if done else "",
                note=text if done else _("unticked: %(step)s") % {"step": text},
                at=now,
            )
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=ticket,
                changes={"step": [None if done else step, step if done else None], "text": [None, text]},
            )
        view = playbook_view(ticket=ticket, agent=actor)
    assert view is not None
    return view


def step_uncheck(*, actor: User, ticket_id: int, step: int) -> PlaybookView:
    return step_check(actor=actor, ticket_id=ticket_id, step=step, done=False)


PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


def canned_reply_values(*, ticket: Ticket, agent: Any) -> dict[str, str]:
    customer = ticket.customer
    salutation = (
        Salutation(customer.salutation).label
        if customer.salutation in Salutation.values and customer.salutation
        else ""
    )
    return {
        "salutation": str(salutation),
        "given_name": customer.given_name or customer.full_name,
        "full_name": customer.full_name,
        "ticket": f"#{ticket.pk}",
        "agent_name": str(agent) if agent is not None else "",
    }


def canned_reply_render(reply: CannedReply | str, ticket: Ticket, agent: Any) -> str:
    """Fill {salutation} {given_name} {full_name} {ticket} {agent_name}; anything else in braces (unknown
    names, `{0}`, `{a.b}`, lone braces) stays as written — never `str.format` on user text."""
    text = reply.body if isinstance(reply, CannedReply) else str(reply)
    values = canned_reply_values(ticket=ticket, agent=agent)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    rendered = PLACEHOLDER_RE.sub(fill, text)
    # An empty salutation leaves a double space ("Chào  Lan"): tidy spaces inside lines only.
    return "\n".join(re.sub(r"(?<=\S) {2,}(?=\S)", " ", line) for line in rendered.split("\n"))


# --- settings: categories, SLA policies, schedules, playbooks, canned replies, agents ----------------------


def _configure(actor: User) -> None:
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)


def _save_audited(
    actor: User,
    obj: Any,
    *,
    before: Mapping[str, Any],
    fields: Sequence[str],
    extra_changes: Mapping[str, Any] | None = None,
) -> None:
    """Save a settings record and audit it: created when there was nothing `before`, else updated, with
    the diff of `fields` (plus `extra_changes`)."""
    obj.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        obj=obj,
        changes={**diff(before, {f: getattr(obj, f) for f in fields}), **(extra_changes or {})},
    )


def _settings_delete(actor: User, model: Any, pk: int, not_found: str) -> None:
    """Delete a settings record (audited first); NotFound with `not_found` when there is none."""
    _configure(actor)
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(not_found)
    audit_record(actor=actor, action=AuditAction.DELETE, obj=obj)
    obj.delete()


def _clean_skills(skills: Any) -> list[str]:
    if skills is None:
        return []
    if isinstance(skills, str) or not isinstance(skills, list | tuple):
        raise ValidationFailed({"skills": [_("Give a list of skills.")]})
    out: list[str] = []
    for s in skills:
        text = " ".join(nfc(str(s)).split())[:60]
        if text and fold(text) not in {fold(x) for x in out}:
            out.append(text)
    return out[:30]


CATEGORY_FIELDS = ("name", "parent_id", "team_id", "default_priority", "skills", "active", "position")


def _category_apply(category: Category, data: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "name" in data:
        name = " ".join(nfc(str(data["name"] or "")).split())
        if not name:
            errors["name"] = [_("This field is required.")]
        elif len(name) > 120:
            errors["name"] = [_("At most %(n)d characters.") % {"n": 120}]
        category.name = name
    if "parent_id" in data:
        parent_id = data["parent_id"]
        if parent_id is not None:
            parents = dict(Category.objects.values_list("id", "parent_id"))
            if parent_id not in parents:
                errors["parent_id"] = [_("No such category.")]
            elif category.pk and category.pk in sla.category_chain(parent_id, parents):
                errors["parent_id"] = [_("A category cannot be inside itself.")]
        category.parent_id = parent_id
    if "team_id" in data:
        if data["team_id"] is not None and not Team.objects.filter(pk=data["team_id"]).exists():
            errors["team_id"] = [_("No such team.")]
        category.team_id = data["team_id"]
    if "default_priority" in data:
        value = data["default_priority"] or ""
        if value and value not in Priority.values:
            errors["default_priority"] = [_("Unknown priority.")]
        category.default_priority = value
    if "skills" in data:
        category.skills = _clean_skills(data["skills"])
    if "active" in data:
        category.active = bool(data["active"])
    if "position" in data and data["position"] is not None:
        category.position = int(data["position"])
    if errors:
        raise ValidationFailed(errors)
    if (
        category.parent_id is not None
        and Category.objects.filter(parent_id=category.parent_id, name__iexact=category.name)
        .exclude(pk=category.pk)
        .exists()
    ):
        raise ValidationFailed({"name": [_("There is already a category with this name here.")]})
    if (
        category.parent_id is None
        and Category.objects.filter(parent__isnull=True, name__iexact=category.name)
        .exclude(pk=category.pk)
        .exists()
    ):
        raise ValidationFailed({"name": [_("There is already a category with this name here.")]})
    try:
        category.full_clean(exclude=["parent", "team"])
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc


@transaction.atomic
def category_create(
    *,
    actor: User,
    name: str,
    parent_id: int | None = None,
    team_id: int | None = None,
    default_priority: str = "",
    skills: Sequence[str] = (),
    position: int = 100,
) -> Category:
    _configure(actor)
    category = Category()
    _category_apply(
        category,
        {
            "name": name,
            "parent_id": parent_id,
            "team_id": team_id,
            "default_priority": default_priority,
            "skills": list(skills),
            "position": position,
        },
    )
    category.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=category,
        changes={f: [None, getattr(category, f)] for f in CATEGORY_FIELDS},
    )
    return category


@transaction.atomic
def category_update(*, actor: User, category_id: int, data: Mapping[str, Any]) -> Category:
    _configure(actor)
    category = Category.objects.select_for_update().filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    unknown = set(data) - set(CATEGORY_FIELDS)
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
    before = {f: getattr(category, f) for f in CATEGORY_FIELDS}
    _category_apply(category, data)
    _save_audited(actor, category, before=before, fields=CATEGORY_FIELDS)
    return category


@transaction.atomic
def category_delete(*, actor: User, category_id: int) -> Category | None:
    """Delete an unused category; one with tickets or sub-categories is deactivated instead (kept for
    history and reports). Returns the deactivated category, or None when it was deleted."""
    _configure(actor)
    category = Category.objects.select_for_update().filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    if category.children.exists() or category.tickets.exists():
        if category.active:
            category.active = False
            category.save(update_fields=["active", "updated_at"])
            audit_record(actor=actor, action=AuditAction.ARCHIVE, obj=category)
        return category
    audit_record(actor=actor, action=AuditAction.DELETE, obj=category)
    category.delete()
    return None


POLICY_FIELDS = (
    "name",
    "position",
    "active",
    "priority",
    "category_id",
    "tier",
    "first_response_minutes",
    "resolution_minutes",
    "warn_before_minutes",
)


def sla_policy_save(*, actor: User, data: Mapping[str, Any], policy_id: int | None = None) -> SlaPolicy:
    """Create or change an SLA policy (targets in business minutes). Tickets already open keep their due
    moments until their priority or category changes."""
    from careline.customers.choices import Tier

    _configure(actor)
    with transaction.atomic():
        if policy_id is not None:
            policy = SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
            if policy is None:
                raise NotFound(_("SLA policy not found."))
            before = {f: getattr(policy, f) for f in POLICY_FIELDS}
        else:
            policy = SlaPolicy()
            before = {}
        unknown = set(data) - set(POLICY_FIELDS)
        if unknown:
            raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
        errors: dict[str, list[str]] = {}
        for f in POLICY_FIELDS:
            if f in data:
                value = data[f]
                if f in ("priority", "tier", "name") and value is None:
                    value = ""
                setattr(policy, f, value)
        policy.name = " ".join(nfc(policy.name or "").split())
        if policy.priority and policy.priority not in Priority.values:
            errors["priority"] = [_("Unknown priority.")]
        if policy.tier and policy.tier not in Tier.values:
            errors["tier"] = [_("Unknown tier.")]
        if policy.category_id is not None and not Category.objects.filter(pk=policy.category_id).exists():
            errors["category_id"] = [_("No such category.")]
        for f in ("first_response_minutes", "resolution_minutes"):
            value = getattr(policy, f)
            if value is None or not 1 <= int(value) <= 525_600:
                errors[f] = [_("Between 1 minute and 1 year (525,600 minutes).")]
        if (
            "first_response_minutes" not in errors
            and "resolution_minutes" not in errors
            and policy.first_response_minutes > policy.resolution_minutes
        ):
            errors["first_response_minutes"] = [_("The first response cannot be due after the resolution.")]
        if policy.warn_before_minutes is None or not 0 <= int(policy.warn_before_minutes) <= 10_080:
            errors["warn_before_minutes"] = [_("Between 0 and 10,080 minutes (a week).")]
        if errors:
            raise ValidationFailed(errors)
        try:
            policy.full_clean(exclude=["category"])
        except DjangoValidationError as exc:
            raise ValidationFailed(exc.message_dict) from exc
        _save_audited(actor, policy, before=before, fields=POLICY_FIELDS)
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: User, policy_id: int) -> None:
    _settings_delete(actor, SlaPolicy, policy_id, _("SLA policy not found."))


SCHEDULE_FIELDS = (
    "branch_id",
    "intervals",
    "weekend",
    "extra_holidays",
    "extra_working_days",
    "holidays_enabled",
)


def schedule_save(*, actor: User, data: Mapping[str, Any], schedule_id: int | None = None) -> WorkSchedule:
    """Create or change working hours (a branch's, or the company default with no branch). New schedules
    default to 08:00–12:00 + 13:30–17:30, Saturday and Sunday off, public holidays off."""
    _configure(actor)
    with transaction.atomic():
        if schedule_id is not None:
            schedule = WorkSchedule.objects.select_for_update().filter(pk=schedule_id).first()
            if schedule is None:
                raise NotFound(_("Work schedule not found."))
            before = {f: getattr(schedule, f) for f in SCHEDULE_FIELDS}
        else:
            schedule = WorkSchedule(
                intervals=[list(i) for i in sla.DEFAULT_INTERVALS_TEXT], weekend=list(sla.DEFAULT_WEEKEND)
            )
            before = {}
        unknown = set(data) - set(SCHEDULE_FIELDS)
        if unknown:
            raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
        errors: dict[str, list[str]] = {}
        if "branch_id" in data:
            schedule.branch_id = data["branch_id"]
        if schedule.branch_id is not None and not Branch.objects.filter(pk=schedule.branch_id).exists():
            errors["branch_id"] = [_("No such branch.")]
        elif (
            WorkSchedule.objects.filter(
                Q(branch_id=schedule.branch_id) if schedule.branch_id else Q(branch__isnull=True)
            )
            .exclude(pk=schedule.pk)
            .exists()
        ):
            errors["branch_id"] = [
                _("This branch already has a schedule.")
                if schedule.branch_id
                else _("There is already a company default schedule.")
            ]
        if "intervals" in data:
            schedule.intervals = [[str(a), str(b)] for a, b in (data["intervals"] or [])]
        if "weekend" in data:
            schedule.weekend = sorted({int(d) for d in data["weekend"] or []})
        for name in ("extra_holidays", "extra_working_days"):
            if name in data:
                days = []
                for d in data[name] or []:
                    try:
                        days.append(dt.date.fromisoformat(str(d)).isoformat())
                    except ValueError:
                        errors[name] = [_("Use dates as YYYY-MM-DD.")]
                setattr(schedule, name, sorted(set(days)))
        if "holidays_enabled" in data:
            schedule.holidays_enabled = bool(data["holidays_enabled"])
        if not errors:
            try:
                sla.hours_from_values(
                    intervals=schedule.intervals,
                    weekend=schedule.weekend,
                    extra_holidays=schedule.extra_holidays,
                    extra_working_days=schedule.extra_working_days,
                    holidays_enabled=schedule.holidays_enabled,
                )
            except (ValueError, TypeError) as exc:
                errors["intervals"] = [_("Not a usable schedule: %(why)s") % {"why": exc}]
        if errors:
            raise ValidationFailed(errors)
        _save_audited(actor, schedule, before=before, fields=SCHEDULE_FIELDS)
    return schedule


@transaction.atomic
def schedule_delete(*, actor: User, schedule_id: int) -> None:
    _settings_delete(actor, WorkSchedule, schedule_id, _("Work schedule not found."))


def _clean_reply(data: Mapping[str, Any]) -> tuple[str, str]:
    title = " ".join(nfc(str(data.get("title") or "")).split())
    body = nfc(str(data.get("body") or "")).strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("This field is required.")]
    elif len(title) > 120:
        errors["title"] = [_("At most %(n)d characters.") % {"n": 120}]
    if not body:
        errors["body"] = [_("This field is required.")]
    elif len(body) > 10_000:
        errors["body"] = [_("At most %(n)d characters.") % {"n": 10_000}]
    if errors:
        raise ValidationFailed(errors)
    return title, body


PLAYBOOK_FIELDS = ("steps", "involve", "active")


def playbook_save(
    *,
    actor: User,
    category_id: int,
    steps: Sequence[str],
    involve: str = "",
    canned_replies: Sequence[Mapping[str, Any]] = (),
    active: bool = True,
) -> Playbook:
    """Create or replace a category's handling procedure: its steps, who to involve and its canned
    replies (`{"title", "body"}`, matched by title). A non-empty `canned_replies` replaces the category's
    replies (those not listed are removed); an empty one leaves them as they are."""
    _configure(actor)
    with transaction.atomic():
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            raise ValidationFailed({"category_id": [_("No such category.")]})
        clean_steps = [" ".join(nfc(str(s)).split()) for s in steps]
        errors: dict[str, list[str]] = {}
        if any(not s for s in clean_steps):
            errors["steps"] = [_("A step cannot be empty.")]
        elif any(len(s) > 300 for s in clean_steps):
            errors["steps"] = [_("At most %(n)d characters per step.") % {"n": 300}]
        elif len(clean_steps) > 50:
            errors["steps"] = [_("At most 50 steps.")]
        involve_text = " ".join(nfc(involve or "").split())
        if len(involve_text) > 300:
            errors["involve"] = [_("At most %(n)d characters.") % {"n": 300}]
        replies = []
        for item in canned_replies:
            try:
                replies.append(_clean_reply(item))
            except ValidationFailed as exc:
                errors.setdefault("canned_replies", []).extend(
                    m for msgs in exc.fields.values() for m in msgs
                )
        titles = [fold(t) for t, _b in replies]
        if len(set(titles)) != len(titles):
            errors.setdefault("canned_replies", []).append(_("Two replies have the same title."))
        if errors:
            raise ValidationFailed(errors)
        playbook = Playbook.objects.select_for_update().filter(category=category).first()
        before = {f: getattr(playbook, f) for f in PLAYBOOK_FIELDS} if playbook else {}
        if playbook is None:
            playbook = Playbook(category=category)
        playbook.steps = clean_steps
        playbook.involve = involve_text
        playbook.active = active
        _save_audited(
            actor,
            playbook,
            before=before,
            fields=PLAYBOOK_FIELDS,
            extra_changes={"canned_replies": [None, [t for t, _b in replies]]},
        )
        existing = {fold(r.title): r for r in CannedReply.objects.filter(category=category)}
        keep: list[int] = []
        for title, body in replies:
            reply = existing.get(fold(title))
            if reply is None:
                reply = CannedReply.objects.create(title=title, body=body, category=category)
            elif reply.title != title or reply.body != body or not reply.active:
                reply.title, reply.body, reply.active = title, body, True
                reply.save()
            keep.append(reply.pk)
        if replies:
            CannedReply.objects.filter(category=category).exclude(pk__in=keep).delete()
    return playbook


@transaction.atomic
def playbook_delete(*, actor: User, playbook_id: int) -> None:
    _settings_delete(actor, Playbook, playbook_id, _("Playbook not found."))


REPLY_FIELDS = ("title", "body", "category_id", "language", "active")


def canned_reply_save(*, actor: User, data: Mapping[str, Any], reply_id: int | None = None) -> CannedReply:
    """Create or change a canned reply (category empty = usable on every ticket)."""
    _configure(actor)
    with transaction.atomic():
        if reply_id is not None:
            reply = CannedReply.objects.select_for_update().filter(pk=reply_id).first()
            if reply is None:
                raise NotFound(_("Canned reply not found."))
            before = {f: getattr(reply, f) for f in REPLY_FIELDS}
        else:
            reply = CannedReply()
            before = {}
        unknown = set(data) - set(REPLY_FIELDS)
        if unknown:
            raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
        merged = {"title": data.get("title", reply.title), "body": data.get("body", reply.body)}
        reply.title, reply.body = _clean_reply(merged)
        if "category_id" in data:
            if (
                data["category_id"] is not None
                and not Category.objects.filter(pk=data["category_id"]).exists()
            ):
                raise ValidationFailed({"category_id": [_("No such category.")]})
            reply.category_id = data["category_id"]
        if "language" in data:
            language = str(data["language"] or "vi").strip().lower()
            if language not in ("vi", "en"):
                raise ValidationFailed({"language": [_("Use vi or en.")]})
            reply.language = language
        if "active" in data:
            reply.active = bool(data["active"])
        _save_audited(actor, reply, before=before, fields=REPLY_FIELDS)
    return reply


@transaction.atomic
def canned_reply_delete(*, actor: User, reply_id: int) -> None:
    _settings_delete(actor, CannedReply, reply_id, _("Canned reply not found."))


@transaction.atomic
def agent_profile_save(
    *,
    actor: User,
    user_id: int,
    skills: Sequence[str] = (),
    max_open_tickets: int | None = None,
    takes_tickets: bool = True,
) -> AgentProfile:
    """What an agent can take: skills, a cap on open tickets, and whether they get new tickets."""
    _configure(actor)
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationFailed({"user_id": [_("No such user.")]})
    if max_open_tickets is not None and max_open_tickets < 1:
        raise ValidationFailed({"max_open_tickets": [_("At least 1 (or empty for no limit).")]})
    profile, created = AgentProfile.objects.update_or_create(
        user=user,
        defaults={
            "skills": _clean_skills(list(skills)),
            "max_open_tickets": max_open_tickets,
            "takes_tickets": takes_tickets,
        },
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=profile,
        changes={
            "skills": [None, profile.skills],
            "max_open_tickets": [None, max_open_tickets],
            "takes_tickets": [None, takes_tickets],
        },
    )
    return profile


@transaction.atomic
def team_rotation_save(*, actor: User, team_id: int, strategy: str) -> TeamRotation:
    """How a care team hands out tickets: least_loaded (default) or round_robin."""
    _configure(actor)
    if strategy not in assignment.STRATEGIES:
        raise ValidationFailed({"strategy": [_("Use least_loaded or round_robin.")]})
    if not Team.objects.filter(pk=team_id).exists():
        raise ValidationFailed({"team_id": [_("No such team.")]})
    rotation, _created = TeamRotation.objects.get_or_create(team_id=team_id)
    rotation = TeamRotation.objects.select_for_update().get(pk=rotation.pk)
    before = rotation.strategy
    rotation.strategy = strategy
    rotation.save(update_fields=["strategy"])
    audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=rotation, changes={"strategy": [before, strategy]}
    )
    return rotation
