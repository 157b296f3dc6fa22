"""Every read of activities and email templates, scoped to what the actor may see (ARCHITECTURE §1, §4).

Visibility rule for activities (object type "activity"):

* the actor's role must allow `activity.view` (otherwise nothing, and list endpoints answer 403);
* then an activity is visible when the actor sees its **customer** (`customers.selectors.customer_visible`:
  a consultant sees every call on the cards they own, including those a previous owner logged), **or**
  when the activity itself is inside the actor's activity scope by its own owner/team/branch
  (`core.visibility.scope_q` with object type "activity": a consultant keeps seeing the calls they made
  after the card moved to a colleague, a supervisor sees the team's work).

Changing or deleting needs more: the activity must be inside the actor's activity scope by owner/team/branch
(`activity_writable`), not merely on a card they see — a visible activity outside it answers 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from careline.activities.choices import CONTACT_KINDS, ActivityKind
from careline.activities.models import Activity, EmailTemplate
from careline.core.errors import ApplicationError, NotFound
from careline.core.pagination import paginate
from careline.core.visibility import Action, Scope, ScopeFields, require_action, restrict, scope_q
from careline.customers.choices import Stage, Tier
from careline.customers.models import ContactPoint, Customer
from careline.customers.selectors import customer_visible

OBJECT_TYPE = "activity"
SCOPE_FIELDS = ScopeFields(owner="owner", team="team", branch="branch")
MAX_LIMIT = 100

# When an activity sits on the timeline and in lists: when it was done, else (open follow-up) when it is
# due. Every activity has one of the two (services enforce it); created_at is the last resort.
AT = Coalesce("occurred_at", "due_at", "created_at", output_field=DateTimeField())


def _active_actor(actor: Any) -> bool:
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and getattr(actor, "is_active", True)
        and actor.allows(OBJECT_TYPE, Action.VIEW)
        and actor.scope_for(OBJECT_TYPE) != Scope.NONE
    )


def activity_visible(*, actor: Any) -> QuerySet[Activity]:
    """All activities the actor may see (see the module docstring for the rule)."""
    qs = Activity.objects.all()
    if not _active_actor(actor):
        return qs.none()
    own = scope_q(actor, actor.scope_for(OBJECT_TYPE), SCOPE_FIELDS)
    if own is None:
        return qs
    if actor.allows("customer", Action.VIEW) and actor.scope_for("customer") == Scope.ALL:
        return qs
    customers = customer_visible(actor=actor).values("pk")
    return qs.filter(Q(customer_id__in=Subquery(customers)) | own)


def activity_writable(*, actor: Any) -> QuerySet[Activity]:
    """Activities the actor may change or delete (given the action): inside their activity scope."""
    return restrict(Activity.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=SCOPE_FIELDS)


def activity_get(*, actor: Any, activity_id: int) -> Activity:
    """One visible activity with its customer and owner; NotFound otherwise."""
    activity = (
        activity_visible(actor=actor)
        .select_related("customer", "owner", "created_by")
        .annotate(at=AT)
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise NotFound(_("Activity not found."))
    return activity


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day as aware datetimes (days are cut in local time)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def activity_list(
    *,
    actor: Any,
    customer_id: int | None = None,
    owner_id: int | None = None,
    day: dt.date | None = None,
    kind: str | None = None,
    open_only: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Activity], str | None]:
    """One page of visible activities, newest first (open follow-ups: soonest due first), and the next cursor.

    `day` keeps the activities done that local day and the follow-ups due that day."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    if limit < 1 or limit > MAX_LIMIT:
        raise ApplicationError(
            "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", {"field": "limit"}
        )
    if kind and kind not in ActivityKind.values:
        raise ApplicationError("invalid_filter", f"Unknown kind {kind!r}.", {"field": "kind"})
    qs = activity_visible(actor=actor).annotate(at=AT)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if kind:
        qs = qs.filter(kind=kind)
    if open_only:
        qs = qs.filter(kind=ActivityKind.FOLLOW_UP, completed_at__isnull=True, due_at__isnull=False)
    if day is not None:
        start, end = local_day_bounds(day)
        qs = qs.filter(at__gte=start, at__lt=end)
    ordering = ["at", "id"] if open_only else ["-at", "-id"]
    qs = qs.select_related("customer", "owner")
    return paginate(qs, ordering=ordering, cursor=cursor, limit=limit)


def activities_for_customer(*, actor: Any, customer: Customer, limit: int = 100) -> list[Activity]:
    """The newest activities of one customer the actor may see (the timeline)."""
    qs = activity_visible(actor=actor).filter(customer=customer).annotate(at=AT)
    return list(qs.select_related("owner").order_by("-at", "-id")[:limit])


def open_follow_ups_for_customer(*, actor: Any, customer: Customer, limit: int = 20) -> list[Activity]:
    qs = activity_visible(actor=actor).filter(
        customer=customer, kind=ActivityKind.FOLLOW_UP, completed_at__isnull=True, due_at__isnull=False
    )
    return list(qs.select_related("owner").order_by("due_at", "id")[:limit])


def _phones_prefetch(prefix: str = "") -> Prefetch:
    return Prefetch(
        f"{prefix}contact_points",
        queryset=ContactPoint.objects.filter(kind="phone").order_by("position", "id"),
        to_attr="phone_points",
    )


def follow_ups_for(*, actor: Any, user: Any, day: dt.date | None = None) -> list[Activity]:
    """`user`'s open follow-ups due on `day` (local) or earlier (overdue first), that the actor may see.

    Each row has `.customer` (with `.customer.phone_points`) and `.overdue` (due before the day began)."""
    day = day or timezone.localdate()
    start, end = local_day_bounds(day)
    qs = (
        activity_visible(actor=actor)
        .filter(
            owner_id=user.pk,
            kind=ActivityKind.FOLLOW_UP,
            completed_at__isnull=True,
            due_at__lt=end,
        )
        .select_related("customer")
        .prefetch_related(_phones_prefetch("customer__"))
        .order_by("due_at", "id")
    )
    rows = list(qs[:200])
    for row in rows:
        row.overdue = row.due_at is not None and row.due_at < start  # type: ignore[attr-defined]
    return rows


# --- next customers to call ------------------------------------------------------------------------------

# The priority score: transparent weights, shown on "My day" next to every customer.
CALLBACK_POINTS = 50  # a promised call-back / follow-up due today or overdue
STAGE_POINTS = {Stage.LEAD: 30, Stage.PROSPECT: 20, Stage.CUSTOMER: 10}
CONTACT_GAP_POINTS = [(14, 20), (7, 15), (3, 10), (1, 5)]  # (days since last contact ≥, points)
NEVER_CONTACTED_POINTS = 20
TIER_POINTS = {Tier.VIP: 15, Tier.GOLD: 10}
RECEIVABLE_POINTS = 10  # money owed, due within RECEIVABLE_DAYS (or overdue)
RECEIVABLE_DAYS = 7

PRIORITY_RULES = [
    (gettext_lazy("Promised call-back or follow-up due today or overdue"), f"+{CALLBACK_POINTS}"),
    (gettext_lazy("Stage: lead / prospect / customer"), "+30 / +20 / +10"),
    (
        gettext_lazy("Days since last contact: never or ≥ 14 / 7–13 / 3–6 / 1–2"),
        "+20 / +15 / +10 / +5",
    ),
    (gettext_lazy("Tier: VIP / gold"), "+15 / +10"),
    (gettext_lazy("Receivables due within 7 days or overdue"), f"+{RECEIVABLE_POINTS}"),
]


@dataclass
class CallCandidate:
    """A customer to call next, its score and why."""

    customer: Customer
    score: int
    reasons: list[tuple[str, int]] = field(default_factory=list)
    last_contact: dt.datetime | None = None


def _next_to_call_queryset(*, actor: Any, user: Any, now: dt.datetime) -> QuerySet[Customer]:
    today = timezone.localdate(now)
    start, end = local_day_bounds(today)
    contacts = Activity.objects.filter(
        customer_id=OuterRef("pk"), kind__in=CONTACT_KINDS, occurred_at__isnull=False
    )
    due_follow_up = Activity.objects.filter(
        customer_id=OuterRef("pk"),
        kind=ActivityKind.FOLLOW_UP,
        completed_at__isnull=True,
        due_at__lt=end,
    )
    latest = contacts.order_by("-occurred_at", "-id")
    last_contact = Subquery(latest.values("occurred_at")[:1])
    # The points for the gap are computed inside the subquery, on the latest contact only: one index probe
    # per customer instead of one per threshold.
    gap_points = Case(
        *[
            When(occurred_at__lt=now - dt.timedelta(days=days), then=Value(points))
            for days, points in CONTACT_GAP_POINTS
        ],
        default=Value(0),
        output_field=IntegerField(),
    )
    p_contact = Coalesce(
        Subquery(latest.annotate(gap_points=gap_points).values("gap_points")[:1]),
        Value(NEVER_CONTACTED_POINTS),
        output_field=IntegerField(),
    )
    return (
        customer_visible(actor=actor, include_archived=False)
        .filter(owner_id=user.pk)
        .exclude(stage=Stage.INACTIVE)
        # Already contacted today: off the list until tomorrow (call-backs stay in the follow-ups).
        .exclude(Exists(contacts.filter(occurred_at__gte=start)))
        .annotate(
            last_contact=last_contact,
            p_callback=Case(
                When(Exists(due_follow_up), then=Value(CALLBACK_POINTS)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            p_stage=Case(
                *[When(stage=stage, then=Value(points)) for stage, points in STAGE_POINTS.items()],
                default=Value(0),
                output_field=IntegerField(),
            ),
            p_contact=p_contact,
            p_tier=Case(
                *[When(tier=tier, then=Value(points)) for tier, points in TIER_POINTS.items()],
                default=Value(0),
                output_field=IntegerField(),
            ),
            p_receivable=Case(
                When(
                    receivable_amount__gt=0,
                    receivable_due__isnull=False,
                    receivable_due__lte=today + dt.timedelta(days=RECEIVABLE_DAYS),
                    then=Value(RECEIVABLE_POINTS),
                ),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .annotate(priority=F("p_callback") + F("p_stage") + F("p_contact") + F("p_tier") + F("p_receivable"))
    )


def next_to_call(
    *, actor: Any, user: Any, limit: int = 20, now: dt.datetime | None = None
) -> list[CallCandidate]:
    """`user`'s customers (owner = user, visible to the actor, active, not inactive, not contacted today)
    ranked by a transparent priority score — computed in one SQL query (plus one for phones):

    * promised call-back / follow-up due today or overdue (open follow-up due before tomorrow): **+50**
    * stage: lead **+30**, prospect **+20**, customer **+10**
    * days since the last contact (call, email, meeting, proposal, offer): never or ≥ 14 days **+20**,
      7–13 **+15**, 3–6 **+10**, 1–2 **+5**
    * tier: VIP **+15**, gold **+10**
    * receivables (> 0) due within 7 days or overdue: **+10**

    Ties: the longest without contact first (never contacted first), then the oldest card. Each candidate
    lists its reasons with their points."""
    now = now or timezone.now()
    qs = _next_to_call_queryset(actor=actor, user=user, now=now)
    rows = list(
        qs.prefetch_related(_phones_prefetch()).order_by(
            F("priority").desc(), F("last_contact").asc(nulls_first=True), "created_at", "id"
        )[:limit]
    )
    out: list[CallCandidate] = []
    for c in rows:
        reasons: list[tuple[str, int]] = []
        if c.p_callback:  # type: ignore[attr-defined]
            reasons.append((_("Call-back or follow-up due"), c.p_callback))  # type: ignore[attr-defined]
        if c.p_stage:  # type: ignore[attr-defined]
            reasons.append((_("Stage: %(stage)s") % {"stage": c.get_stage_display()}, c.p_stage))  # type: ignore[attr-defined]
        if c.p_contact:  # type: ignore[attr-defined]
            last = c.last_contact  # type: ignore[attr-defined]
            if last is None:
                label = _("Never contacted")
            else:
                days = (now - last).days
                label = ngettext(
                    "%(days)d day since last contact", "%(days)d days since last contact", days
                ) % {"days": days}
            reasons.append((label, c.p_contact))  # type: ignore[attr-defined]
        if c.p_tier:  # type: ignore[attr-defined]
            reasons.append((_("Tier: %(tier)s") % {"tier": c.get_tier_display()}, c.p_tier))  # type: ignore[attr-defined]
        if c.p_receivable:  # type: ignore[attr-defined]
            reasons.append((_("Receivables due soon"), c.p_receivable))  # type: ignore[attr-defined]
        out.append(
            CallCandidate(
                customer=c,
                score=c.priority,  # type: ignore[attr-defined]
                reasons=reasons,
                last_contact=c.last_contact,  # type: ignore[attr-defined]
            )
        )
    return out


# --- email templates ---------------------------------------------------------------------------------


def email_template_list(*, actor: Any, include_archived: bool = False) -> QuerySet[EmailTemplate]:
    """Templates anyone who works with activities may use (configuring them needs `activity.configure`)."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    qs = EmailTemplate.objects.all()
    if not include_archived:
        qs = qs.filter(active=True)
    return qs.order_by("name", "id")


def email_template_get(*, actor: Any, template_id: int, include_archived: bool = False) -> EmailTemplate:
    template = (
        email_template_list(actor=actor, include_archived=include_archived).filter(pk=template_id).first()
    )
    if template is None:
        raise NotFound(_("Email template not found."))
    return template


def activity_owner_choices(*, actor: Any) -> QuerySet[Any]:
    """Staff whose activities the actor may list or log for: self, team, branch or everyone (activity scope)."""
    from careline.accounts.models import User

    qs = User.objects.filter(is_active=True).order_by("display_name", "username")
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.ALL:
        return qs
    if scope == Scope.BRANCH and actor.branch_id:
        return qs.filter(branch_id=actor.branch_id)
    if scope == Scope.TEAM and actor.team_id:
        return qs.filter(team_id=actor.team_id)
    return qs.filter(pk=actor.pk)
