"""Every read of the helpdesk, scoped to what the actor may see (object type "ticket").

Tickets follow the role's scope on the `assignee` (own), `team` and `branch` fields: care agents see their
team's tickets (and the ones assigned to them), heads of care all of them. Settings (categories, SLA
policies, schedules, playbooks, canned replies) are company-wide: anyone who may view tickets reads them;
changing them needs the `configure` right (services).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.pagination import paginate
from careline.core.visibility import Action, ScopeFields, require_action, restrict
from careline.helpdesk.choices import OPEN_STATUSES, MessageDirection, TicketStatus
from careline.helpdesk.models import (
    Attachment,
    CannedReply,
    Category,
    Message,
    Playbook,
    SlaPolicy,
    StepCheck,
    Ticket,
    TicketEvent,
    WorkSchedule,
)
from careline.helpdesk.sla import category_chain
from careline.vn import fold

OBJECT_TYPE = "ticket"
SCOPE_FIELDS = ScopeFields(owner="assignee", team="team", branch="branch")
MAX_LIMIT = 100
TAG_RE = re.compile(r"\[#(\d{1,18})\]")


def ticket_visible(*, actor: Any) -> QuerySet[Ticket]:
    """All tickets the actor may see (the single place scope is applied for tickets)."""
    return restrict(Ticket.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=SCOPE_FIELDS)


def ticket_get(*, actor: Any, ticket_id: int) -> Ticket:
    """One ticket the actor may see (with customer, assignee, team, category); NotFound otherwise."""
    ticket = (
        ticket_visible(actor=actor)
        .select_related("customer", "assignee", "team", "branch", "category", "sla_policy")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    return ticket


def ticket_detail(*, actor: Any, ticket_id: int) -> Ticket:
    """A ticket with its conversation (and attachments), event log and ticked playbook steps."""
    ticket = (
        ticket_visible(actor=actor)
        .select_related("customer", "assignee", "team", "branch", "category", "sla_policy")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("author")
                .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
                .order_by("created_at", "id"),
            ),
            Prefetch(
                "events", queryset=TicketEvent.objects.select_related("actor").order_by("created_at", "id")
            ),
            Prefetch("step_checks", queryset=StepCheck.objects.select_related("done_by").order_by("step")),
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    return ticket


@dataclass(frozen=True)
class TicketFilters:
    """List filters shared by the web list and the API."""

    status: str = ""  # a status, or "active" (new, open, waiting)
    assignee: str = ""  # a user id, "me" or "none"
    team: int | None = None
    category: int | None = None  # includes its sub-categories
    kind: str = ""
    channel: str = ""
    priority: str = ""
    breached: bool | None = None
    customer: int | None = None
    q: str = ""


def _descendants(category_id: int) -> list[int]:
    parents = dict(Category.objects.values_list("id", "parent_id"))
    return [pk for pk in parents if category_id in category_chain(pk, parents)]


def ticket_filter(qs: QuerySet[Ticket], *, actor: Any, filters: TicketFilters) -> QuerySet[Ticket]:
    f = filters
    if f.status == "active":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.assignee == "me":
        qs = qs.filter(assignee_id=actor.pk)
    elif f.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee:
        qs = qs.filter(assignee_id=int(f.assignee))
    if f.team:
        qs = qs.filter(team_id=f.team)
    if f.category:
        qs = qs.filter(category_id__in=_descendants(f.category))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    if f.breached is not None:
        late = Q(first_response_breached=True) | Q(resolution_breached=True)
        qs = qs.filter(late) if f.breached else qs.exclude(late)
    if f.q:
        text = f.q.strip()
        tag = TAG_RE.fullmatch(text) or re.fullmatch(r"#?(\d{1,18})", text)
        if tag:
            qs = qs.filter(pk=int(tag.group(1)))
        else:
            for piece in fold(text).split():
                qs = qs.filter(Q(search_text__contains=piece) | Q(customer__search_text__contains=piece))
    return qs


def ticket_list(
    *, actor: Any, filters: TicketFilters | None = None, cursor: str | None = None, limit: int = 50
) -> tuple[list[Ticket], str | None]:
    """Newest first (by opening time), keyset-paginated."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    if limit < 1 or limit > MAX_LIMIT:
        raise ApplicationError(
            "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", {"field": "limit"}
        )
    qs = ticket_visible(actor=actor).select_related("customer", "assignee", "team", "category")
    qs = ticket_filter(qs, actor=actor, filters=filters or TicketFilters())
    return paginate(qs, ordering=["-opened_at", "-id"], cursor=cursor, limit=limit)


def ticket_status_counts(*, actor: Any) -> dict[str, int]:
    rows = ticket_visible(actor=actor).values("status").annotate(n=Count("id")).values_list("status", "n")
    counts = {s: 0 for s in TicketStatus.values}
    counts.update(dict(rows))
    return counts


def tickets_for_customer(*, actor: Any, customer_id: int, limit: int = 50) -> list[Ticket]:
    return list(
        ticket_visible(actor=actor)
        .filter(customer_id=customer_id)
        .select_related("assignee", "category")
        .order_by("-opened_at", "-id")[:limit]
    )


def ticket_for_email(*, message_ids: Iterable[str], subject: str = "") -> Ticket | None:
    """The ticket an email answers (not scoped: used by the mailbox reader): one of the ids in its
    In-Reply-To/References is a message of the ticket, else its subject carries our `[#123]` tag."""
    ids = [m.strip() for m in message_ids if m and m.strip()]
    if ids:
        found = (
            Message.objects.filter(message_id__in=ids)
            .order_by("-created_at", "-id")
            .values_list("ticket_id", flat=True)
            .first()
        )
        if found:
            return Ticket.objects.select_related("customer").filter(pk=found).first()
    match = TAG_RE.search(subject or "")
    if match:
        return Ticket.objects.select_related("customer").filter(pk=int(match.group(1))).first()
    return None


def last_inbound_message(*, ticket: Ticket) -> Message | None:
    return (
        Message.objects.filter(ticket=ticket, direction=MessageDirection.INBOUND)
        .order_by("-created_at", "-id")
        .first()
    )


# --- first-contact resolution --------------------------------------------------------------------------

FCR_GROUPS = ("agent", "team", "category")


@dataclass(frozen=True)
class FcrRow:
    key: int | None
    label: str
    resolved: int
    fcr: int

    @property
    def rate(self) -> float | None:
        return round(self.fcr / self.resolved, 4) if self.resolved else None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def fcr_stats(
    *, actor: Any, group: str = "agent", date_from: dt.date | None = None, date_to: dt.date | None = None
) -> tuple[list[FcrRow], FcrRow]:
    """First-contact resolution per agent, team or category over tickets resolved between two local days
    (both included): resolved tickets, how many were FCR and the rate. A ticket counts as FCR when it was
    resolved with at most one reply to the customer and never reopened (a reopen clears it). Returns the
    rows (most resolved first) and the total."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    if group not in FCR_GROUPS:
        raise ValidationFailed({"group": [_("Use agent, team or category.")]})
    if date_from and date_to and date_to < date_from:
        raise ValidationFailed({"to": [_("The end is before the start.")]})
    qs = ticket_visible(actor=actor).filter(resolved_at__isnull=False)
    if date_from:
        qs = qs.filter(resolved_at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(resolved_at__lt=_day_start(date_to + dt.timedelta(days=1)))
    field = {"agent": "assignee", "team": "team", "category": "category"}[group]
    rows = (
        qs.values(f"{field}_id")
        .annotate(resolved=Count("id"), fcr=Count("id", filter=Q(fcr=True)))
        .order_by(f"{field}_id")
    )
    data = [(r[f"{field}_id"], r["resolved"], r["fcr"]) for r in rows]
    labels = _labels(field, [k for k, _r, _f in data if k is not None])
    out = [
        FcrRow(key=k, label=labels.get(k, "") if k is not None else "", resolved=r, fcr=f) for k, r, f in data
    ]
    out.sort(key=lambda row: (-row.resolved, row.label, row.key or 0))
    total = FcrRow(key=None, label="", resolved=sum(r.resolved for r in out), fcr=sum(r.fcr for r in out))
    return out, total


def _labels(field: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    if field == "assignee":
        from careline.accounts.models import User

        return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    if field == "team":
        from careline.accounts.models import Team

        return {t.pk: t.name for t in Team.objects.filter(pk__in=ids)}
    return {c.pk: str(c) for c in Category.objects.select_related("parent").filter(pk__in=ids)}


# --- settings ---------------------------------------------------------------------------------------------


def category_list(*, actor: Any, include_inactive: bool = False) -> list[Category]:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    qs = Category.objects.select_related("parent", "team")
    if not include_inactive:
        qs = qs.filter(active=True)
    return list(qs.order_by("position", "name", "id"))


def category_get(*, actor: Any, category_id: int) -> Category:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    category = Category.objects.select_related("parent", "team").filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    return category


def category_by_path(path: str) -> Category | None:
    """A category by its name path, "Học phí › Hoàn học phí" (or with "/" or ">"), accents and case
    ignored; a single name matches when it is unique."""
    parts = [fold(p) for p in re.split(r"\s*(?:›|>|/)\s*", path.strip()) if p.strip()]
    if not parts:
        return None
    categories = list(Category.objects.filter(active=True).order_by("id"))
    by_id = {c.pk: c for c in categories}

    def names(c: Category) -> list[str]:
        chain: list[str] = []
        current: Category | None = c
        while current is not None and len(chain) < 50:
            chain.append(fold(current.name))
            current = by_id.get(current.parent_id) if current.parent_id else None
        return list(reversed(chain))

    full = [c for c in categories if names(c) == parts]
    if len(full) == 1:
        return full[0]
    if len(parts) == 1:
        single = [c for c in categories if fold(c.name) == parts[0]]
        if len(single) == 1:
            return single[0]
    return None


def sla_policy_list(*, actor: Any) -> list[SlaPolicy]:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    return list(SlaPolicy.objects.select_related("category").order_by("position", "id"))


def schedule_list(*, actor: Any) -> list[WorkSchedule]:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    return list(WorkSchedule.objects.select_related("branch").order_by("branch_id", "id"))


def playbook_list(*, actor: Any) -> list[Playbook]:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    return list(
        Playbook.objects.select_related("category")
        .prefetch_related(
            Prefetch("category__canned_replies", queryset=CannedReply.objects.order_by("title", "id"))
        )
        .order_by("category__position", "category__name", "id")
    )


def playbook_for_category(category_id: int | None) -> Playbook | None:
    """The active playbook of a category, else of its nearest ancestor that has one."""
    if category_id is None:
        return None
    parents = dict(Category.objects.values_list("id", "parent_id"))
    chain = category_chain(category_id, parents)
    books = {p.category_id: p for p in Playbook.objects.filter(category_id__in=chain, active=True)}
    for pk in chain:
        if pk in books:
            return books[pk]
    return None


def canned_reply_list(
    *, actor: Any, category_id: int | None = None, include_inactive: bool = False
) -> list[CannedReply]:
    """Canned replies; with `category_id`, those of the category, its ancestors and the general ones."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    qs = CannedReply.objects.select_related("category")
    if not include_inactive:
        qs = qs.filter(active=True)
    if category_id is not None:
        chain = category_chain(category_id, dict(Category.objects.values_list("id", "parent_id")))
        qs = qs.filter(Q(category_id__in=chain) | Q(category__isnull=True))
    return list(qs.order_by("title", "id"))


def canned_reply_get(*, actor: Any, reply_id: int) -> CannedReply:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    reply = CannedReply.objects.select_related("category").filter(pk=reply_id).first()
    if reply is None:
        raise NotFound(_("Canned reply not found."))
    return reply
