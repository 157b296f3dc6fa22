"""Reads of the sales app, scoped to what the actor may see (object type "inquiry")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError, NotFound
from careline.core.pagination import paginate
from careline.core.visibility import Action, ScopeFields, require_action, restrict
from careline.sales.choices import InquiryStatus
from careline.sales.models import Absence, AllocationRule, Assignment, Inquiry
from careline.vn import fold

OBJECT_TYPE = "inquiry"
MAX_LIMIT = 100


def inquiry_visible(*, actor: Any) -> QuerySet[Inquiry]:
    """Inquiries in the actor's scope: own (plus the team's unassigned queue), team, branch or all."""
    return restrict(Inquiry.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=ScopeFields())


def inquiry_get(*, actor: Any, inquiry_id: int) -> Inquiry:
    inquiry = (
        inquiry_visible(actor=actor)
        .select_related("customer", "owner", "team", "branch", "rule")
        .filter(pk=inquiry_id)
        .first()
    )
    if inquiry is None:
        raise NotFound(_("Inquiry not found."))
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    return inquiry


@dataclass
class InquiryFilters:
    status: str = ""
    owner: int | None = None
    team: int | None = None
    channel: str = ""
    q: str = ""
    mine: bool = False
    queued: bool = False
    day: dt.date | None = None


def inquiry_list(
    *, actor: Any, filters: InquiryFilters | None = None, cursor: str | None = None, limit: int = 50
) -> tuple[list[Inquiry], str | None]:
    """Newest first, keyset-paginated."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    if limit < 1 or limit > MAX_LIMIT:
        raise ApplicationError(
            "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", {"field": "limit"}
        )
    f = filters or InquiryFilters()
    qs = inquiry_visible(actor=actor).select_related("customer", "owner", "team")
    if f.status:
        qs = qs.filter(status=f.status)
    if f.queued:
        qs = qs.filter(status=InquiryStatus.QUEUED)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.mine:
        qs = qs.filter(owner_id=actor.pk)
    if f.team:
        qs = qs.filter(team_id=f.team)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.day:
        start = timezone.make_aware(dt.datetime.combine(f.day, dt.time.min))
        qs = qs.filter(received_at__gte=start, received_at__lt=start + dt.timedelta(days=1))
    if f.q:
        for piece in fold(f.q).split():
            qs = qs.filter(customer__search_text__contains=piece)
    return paginate(qs, ordering=["-received_at", "-id"], cursor=cursor, limit=limit)


def inquiry_new_for_owner(*, actor: Any, user: Any, limit: int = 20) -> list[Inquiry]:
    """Leads assigned to `user` and not contacted yet: oldest and highest-scored first (My day)."""
    qs = (
        inquiry_visible(actor=actor)
        .filter(owner_id=user.pk, status=InquiryStatus.ASSIGNED)
        .select_related("customer")
        .order_by("received_at", "-score", "id")
    )
    return list(qs[:limit])


def inquiries_for_customer(*, actor: Any, customer_id: int) -> list[Inquiry]:
    return list(
        inquiry_visible(actor=actor)
        .filter(customer_id=customer_id)
        .select_related("owner")
        .order_by("-received_at")
    )


def assignments_for_customer(*, customer_id: int, limit: int = 100) -> list[Assignment]:
    """The assignment log of a customer (the caller has checked the customer is visible)."""
    return list(
        Assignment.objects.filter(customer_id=customer_id)
        .select_related("from_user", "to_user", "rule", "actor")
        .order_by("-created_at", "-id")[:limit]
    )


def assignments_for_inquiry(*, inquiry: Inquiry) -> list[Assignment]:
    return list(
        inquiry.assignments.select_related("from_user", "to_user", "rule", "actor").order_by(
            "created_at", "id"
        )
    )


def rule_visible(*, actor: Any) -> QuerySet[AllocationRule]:
    """Rules of the teams the actor can see (team scope → own team, branch → branch, all → all)."""
    return restrict(
        AllocationRule.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=ScopeFields(owner=None)
    )


def rule_list(*, actor: Any) -> list[AllocationRule]:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    return list(
        rule_visible(actor=actor)
        .select_related("team", "branch")
        .prefetch_related("members__user")
        .order_by("position", "id")
    )


def absence_list(*, actor: Any, current_only: bool = True) -> list[Absence]:
    """Absences of people the actor may assign to (and their own)."""
    from careline.accounts.selectors import user_list_assignable

    qs = Absence.objects.filter(Q(user_id=actor.pk) | Q(user__in=user_list_assignable(actor=actor)))
    if current_only:
        qs = qs.filter(ends_at__gt=timezone.now())
    return list(qs.select_related("user").order_by("starts_at", "id"))


def absent_user_ids(*, user_ids: list[int], at: dt.datetime) -> set[int]:
    """Which of these people are away (leave, sick, training) at `at`. Not scoped: used by automatic
    assignment (leads here, tickets in the helpdesk), which runs for nobody in particular."""
    if not user_ids:
        return set()
    return set(
        Absence.objects.filter(user_id__in=user_ids, starts_at__lte=at, ends_at__gt=at).values_list(
            "user_id", flat=True
        )
    )


def queue_counts(*, actor: Any) -> dict[str, int]:
    from django.db.models import Count

    rows = inquiry_visible(actor=actor).values("status").annotate(n=Count("id"))
    counts = {s: 0 for s in InquiryStatus.values}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts
