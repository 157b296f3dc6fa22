"""Reads for quotas: definitions, progress, the team board and call analysis, scoped to the actor.

Counting rules (also shown on the quota pages):

- A quota counts the person's (the activity owner's) activities of the quota's kind whose `occurred_at`
  falls in the period. Periods are cut in local time (Asia/Ho_Chi_Minh): an activity at 23:30 local time on
  the 1st counts for the 1st, whatever its UTC date. Weeks start on Monday; months on the 1st.
- Follow-ups count when they are done: a `follow_up` counts by `completed_at` in the period. Open
  follow-ups (no `completed_at`) never count.
- Emails and proposals that failed to send (outcome `failed`) and cancelled meetings (`cancelled`) do not
  count.
- `new_customer` counts customers whose stage became `customer` in the period while the person was their
  owner. It is read from the customers' django-simple-history rows (HistoricalCustomer): a history row in
  stage `customer` whose previous row for the same customer was in another stage (or a card created
  directly in stage `customer`). History rows are written by every save of a card, whichever path changed
  it, and carry the owner at that moment, which the audit log (changed fields only) does not. A customer
  won twice in one period counts once. Bulk inserts (the demo loader) write no history and do not count.
- Working days only: on a non-working day (weekend, Vietnamese public holiday including the Tết days — see
  `careline.kpis.pace`) a daily quota does not apply ("day off"). Weekly and monthly quotas show the pace
  expected by now = target × working days elapsed / working days in the period; "behind" means done <
  pace. A daily quota on a working day is behind when done < target × share of the working day (08:00 to
  17:30) elapsed.
- Effective quotas: a person's own quota replaces their role's quota for the same kind and period; a role
  quota limited to the person's team replaces the role's company-wide one.

Visibility: whose quotas and progress an actor sees follows the actor's scope on the "quota" object type
(own / team / branch / all). Activities and customer history are read here directly, read-only, with
aggregate queries (`careline.activities.models.Activity`, `Customer.history`): the activities app owns
every write to them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.accounts.models import Branch, Team, User
from careline.activities.choices import CALL_OUTCOMES, REACHED_OUTCOMES, ActivityKind, Outcome
from careline.activities.models import Activity
from careline.core.errors import ApplicationError, NotFound, PermissionDenied
from careline.core.visibility import Action, Scope
from careline.customers.choices import Stage
from careline.customers.models import Customer
from careline.kpis.choices import Period, QuotaKind
from careline.kpis.models import Quota
from careline.kpis.pace import (
    Pace,
    local_range,
    local_today,
    local_tz,
    pace_for,
    period_bounds,
    work_calendar,
)

OBJECT_TYPE = "quota"

# Outcomes that mean the activity did not happen (a bounced email, a cancelled meeting).
NOT_DONE_OUTCOMES = [Outcome.FAILED, Outcome.CANCELLED]
ACTIVITY_QUOTA_KINDS = {
    QuotaKind.CALL: ActivityKind.CALL,
    QuotaKind.EMAIL: ActivityKind.EMAIL,
    QuotaKind.MEETING: ActivityKind.MEETING,
    QuotaKind.PROPOSAL: ActivityKind.PROPOSAL,
    QuotaKind.OFFER: ActivityKind.OFFER,
    QuotaKind.FOLLOW_UP: ActivityKind.FOLLOW_UP,
}
KIND_ORDER = {kind: i for i, kind in enumerate(QuotaKind.values)}
PERIOD_ORDER = {period: i for i, period in enumerate(Period.values)}
STAGE_ORDER: dict[str, int] = {Stage.LEAD: 0, Stage.PROSPECT: 1, Stage.CUSTOMER: 2}
MAX_ANALYSIS_DAYS = 366


class SystemActor:
    """The actor of the `careline quotas report` command when no `--as` user is given: sees every
    person's quotas and progress (scope `all`, view only) and can change nothing."""

    pk = None
    id = None
    team_id: int | None = None
    branch_id: int | None = None
    role_id: int | None = None
    is_authenticated = True
    is_active = True
    is_superuser = False

    def scope_for(self, object_type: str) -> str:
        return Scope.ALL if object_type == OBJECT_TYPE else Scope.NONE

    def allows(self, object_type: str, action: str) -> bool:
        return object_type == OBJECT_TYPE and action == Action.VIEW

    def __str__(self) -> str:
        return "system"


# --- who and which definitions -------------------------------------------------------------------------


def _can_view(actor: Any) -> bool:
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and getattr(actor, "is_active", True)
        and actor.scope_for(OBJECT_TYPE) != Scope.NONE
        and actor.allows(OBJECT_TYPE, Action.VIEW)
    )


def require_view(actor: Any) -> None:
    """403 unless the actor may look at quotas at all (anonymous callers are stopped by the adapters)."""
    if not _can_view(actor):
        raise PermissionDenied()


def can_see_team_board(actor: Any) -> bool:
    return _can_view(actor) and actor.scope_for(OBJECT_TYPE) in (Scope.TEAM, Scope.BRANCH, Scope.ALL)


def people_visible(*, actor: Any) -> QuerySet[User]:
    """Active staff whose quotas and progress the actor may see (the actor's scope on "quota")."""
    qs = User.objects.filter(is_active=True)
    if not _can_view(actor):
        return qs.none()
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.ALL:
        return qs
    me = Q(pk=actor.pk) if actor.pk else Q(pk__in=[])
    if scope == Scope.BRANCH and actor.branch_id:
        return qs.filter(me | Q(branch_id=actor.branch_id) | Q(team__branch_id=actor.branch_id))
    if scope == Scope.TEAM and actor.team_id:
        return qs.filter(me | Q(team_id=actor.team_id))
    return qs.filter(me)


def person_get(*, actor: Any, user_id: int) -> User:
    """A person the actor may see; NotFound otherwise (never tells whether the id exists)."""
    require_view(actor)
    user = people_visible(actor=actor).select_related("team", "role").filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("Person not found."))
    return user


def teams_visible(*, actor: Any) -> QuerySet[Team]:
    """Teams whose board the actor may open."""
    qs = Team.objects.select_related("branch")
    if not can_see_team_board(actor):
        return qs.none()
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.ALL:
        return qs
    if scope == Scope.BRANCH and actor.branch_id:
        return qs.filter(branch_id=actor.branch_id)
    if scope == Scope.TEAM and actor.team_id:
        return qs.filter(pk=actor.team_id)
    return qs.none()


def branches_visible(*, actor: Any) -> QuerySet[Branch]:
    if not can_see_team_board(actor):
        return Branch.objects.none()
    if actor.scope_for(OBJECT_TYPE) == Scope.ALL:
        return Branch.objects.all()
    return Branch.objects.filter(pk=actor.branch_id) if actor.branch_id else Branch.objects.none()


def quotas_visible(*, actor: Any) -> QuerySet[Quota]:
    """Quota definitions the actor may see: the ones that apply to people in the actor's scope."""
    qs = Quota.objects.select_related("role", "team", "user__team")
    if not _can_view(actor):
        return qs.none()
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.ALL:
        return qs
    people = Q(user__in=people_visible(actor=actor).values("pk"))
    if scope == Scope.BRANCH:
        teams = Q(team__branch_id=actor.branch_id) if actor.branch_id else Q(pk__in=[])
        return qs.filter(people | Q(role__isnull=False, team__isnull=True) | teams)
    if scope == Scope.TEAM:
        teams = Q(team_id=actor.team_id) if actor.team_id else Q(pk__in=[])
        return qs.filter(people | Q(role__isnull=False, team__isnull=True) | teams)
    # own: the quotas that apply to the actor (their role's, their team's, their own).
    mine = Q(user_id=actor.pk)
    if getattr(actor, "role_id", None):
        mine |= Q(role_id=actor.role_id, team__isnull=True)
        if actor.team_id:
            mine |= Q(role_id=actor.role_id, team_id=actor.team_id)
    return qs.filter(mine)


def quota_list(*, actor: Any) -> list[Quota]:
    require_view(actor)
    return list(quotas_visible(actor=actor).order_by("kind", "period", "id"))


def quota_get(*, actor: Any, quota_id: int) -> Quota:
    quota = quotas_visible(actor=actor).filter(pk=quota_id).first()
    if quota is None:
        raise NotFound(_("Quota not found."))
    return quota


def _specificity(quota: Quota) -> int:
    if quota.user_id:
        return 3
    return 2 if quota.team_id else 1


def _sorted(quotas: Iterable[Quota]) -> list[Quota]:
    return sorted(quotas, key=lambda q: (KIND_ORDER.get(q.kind, 99), PERIOD_ORDER.get(q.period, 9), q.pk))


def _effective(user: User, candidates: Iterable[Quota]) -> list[Quota]:
    best: dict[tuple[str, str], Quota] = {}
    for quota in candidates:
        if quota.user_id:
            if quota.user_id != user.pk:
                continue
        elif quota.role_id != user.role_id or (quota.team_id and quota.team_id != user.team_id):
            continue
        key = (quota.kind, quota.period)
        current = best.get(key)
        if current is None or (_specificity(quota), quota.pk) > (_specificity(current), current.pk):
            best[key] = quota
    return _sorted(best.values())


def _effective_for(users: Sequence[User]) -> dict[int, list[Quota]]:
    """Effective quotas of many people, from one query."""
    if not users:
        return {}
    role_ids = {u.role_id for u in users if u.role_id}
    cond = Q(user_id__in=[u.pk for u in users])
    if role_ids:
        cond |= Q(role_id__in=role_ids)
    candidates = list(Quota.objects.filter(active=True).filter(cond))
    return {u.pk: _effective(u, candidates) for u in users}


def quotas_for(*, user: User) -> list[Quota]:
    """The quotas that apply to `user` after overrides (person > role in the team > role), active only."""
    return _effective_for([user])[user.pk]


# --- counting ------------------------------------------------------------------------------------------

Window = tuple[dt.datetime, dt.datetime]


def _windows(day: dt.date, periods: Iterable[str]) -> dict[str, Window]:
    return {p: local_range(*period_bounds(p, day)) for p in periods}


def _in(field_name: str, window: Window) -> Q:
    return Q(**{f"{field_name}__gte": window[0], f"{field_name}__lt": window[1]})


def activity_counts(
    *, user_ids: Sequence[int], kinds: Iterable[str], windows: dict[str, Window]
) -> dict[tuple[int, str], dict[str, int]]:
    """`{(user_id, kind): {period: count}}` for activity kinds — ONE grouped query for everyone."""
    kinds = [k for k in set(kinds) if k in ACTIVITY_QUOTA_KINDS]
    if not user_ids or not kinds or not windows:
        return {}
    lo = min(w[0] for w in windows.values())
    hi = max(w[1] for w in windows.values())
    follow_up = ActivityKind.FOLLOW_UP
    by_time = Q(kind__in=[k for k in kinds if k != follow_up]) & _in("occurred_at", (lo, hi))
    if follow_up in kinds:
        by_time |= Q(kind=follow_up, completed_at__isnull=False) & _in("completed_at", (lo, hi))
    counts = {
        f"n_{period}": Count(
            "id",
            filter=(~Q(kind=follow_up) & _in("occurred_at", window))
            | (Q(kind=follow_up) & _in("completed_at", window)),
        )
        for period, window in windows.items()
    }
    rows: Any = (
        Activity.objects.filter(owner_id__in=list(user_ids))
        .filter(by_time)
        .exclude(outcome__in=NOT_DONE_OUTCOMES)
        .values("owner_id", "kind")
        .annotate(**counts)
        .order_by()
    )
    return {(r["owner_id"], r["kind"]): {p: r[f"n_{p}"] for p in windows} for r in rows}


def won_counts(*, user_ids: Sequence[int], windows: dict[str, Window]) -> dict[int, dict[str, int]]:
    """`{user_id: {period: customers won}}` from the customers' history rows — one grouped query."""
    if not user_ids or not windows:
        return {}
    history = Customer.history.model  # type: ignore[attr-defined]
    lo = min(w[0] for w in windows.values())
    hi = max(w[1] for w in windows.values())
    previous_stage = (
        history.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values("stage")[:1]
    )
    counts = {
        f"n_{period}": Count("id", distinct=True, filter=_in("history_date", window))
        for period, window in windows.items()
    }
    rows = (
        history.objects.filter(owner_id__in=list(user_ids), stage=Stage.CUSTOMER)
        .filter(_in("history_date", (lo, hi)))
        .exclude(history_type="-")
        .annotate(previous_stage=Subquery(previous_stage))
        .filter(Q(previous_stage__isnull=True) | ~Q(previous_stage=Stage.CUSTOMER))
        .values("owner_id")
        .annotate(**counts)
        .order_by()
    )
    return {r["owner_id"]: {p: r[f"n_{p}"] for p in windows} for r in rows}


# --- progress ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaProgress:
    """How one person stands against one quota on one day."""

    quota_id: int
    kind: str
    period: str
    target: int
    done: int
    expected_by_now: float
    working_day: bool
    behind: bool
    percent: int  # done / target in % (may pass 100)
    period_start: dt.date
    period_end: dt.date
    status: str  # "done" | "on_pace" | "behind" | "day_off"
    pace_percent: int  # where the "expected by now" marker sits on the bar (0–100)

    @property
    def kind_label(self) -> str:
        return str(QuotaKind(self.kind).label) if self.kind in QuotaKind.values else self.kind

    @property
    def period_label(self) -> str:
        return str(Period(self.period).label) if self.period in Period.values else self.period

    @property
    def bar_percent(self) -> int:
        return max(0, min(100, self.percent))

    @property
    def day_off(self) -> bool:
        return self.status == "day_off"


def progress_of(quota: Quota, done: int, pace: Pace) -> QuotaProgress:
    target = quota.target
    expected = round(pace.expected, 1)
    if not pace.applies:
        status, behind = "day_off", False
    elif done >= target:
        status, behind = "done", False
    elif done < expected:
        status, behind = "behind", True
    else:
        status, behind = "on_pace", False
    return QuotaProgress(
        quota_id=quota.pk,
        kind=quota.kind,
        period=quota.period,
        target=target,
        done=done,
        expected_by_now=expected if pace.applies else 0.0,
        working_day=pace.working_day,
        behind=behind,
        percent=round(done * 100 / target) if target else 0,
        period_start=pace.period_start,
        period_end=pace.period_end,
        status=status,
        pace_percent=round(pace.share * 100) if pace.applies else 0,
    )


def _progress_for(
    users: Sequence[User], day: dt.date, now: dt.datetime | None
) -> dict[int, list[QuotaProgress]]:
    effective = _effective_for(users)
    periods = {q.period for qs in effective.values() for q in qs}
    kinds = {q.kind for qs in effective.values() for q in qs}
    windows = _windows(day, periods)
    ids = [u.pk for u in users if effective.get(u.pk)]
    acts = activity_counts(user_ids=ids, kinds=kinds, windows=windows)
    won = won_counts(user_ids=ids, windows=windows) if QuotaKind.NEW_CUSTOMER in kinds else {}
    calendar = work_calendar()
    now = now or timezone.now()
    paces: dict[tuple[str, int], Pace] = {}
    out: dict[int, list[QuotaProgress]] = {}
    for user in users:
        items = []
        for quota in effective.get(user.pk, []):
            key = (quota.period, quota.target)
            if key not in paces:
                paces[key] = pace_for(
                    period=quota.period, target=quota.target, day=day, now=now, calendar=calendar
                )
            if quota.kind == QuotaKind.NEW_CUSTOMER:
                done = won.get(user.pk, {}).get(quota.period, 0)
            else:
                done = acts.get((user.pk, quota.kind), {}).get(quota.period, 0)
            items.append(progress_of(quota, done, paces[key]))
        out[user.pk] = items
    return out


def quota_progress(
    *, actor: Any, user: User | int, day: dt.date | None = None, now: dt.datetime | None = None
) -> list[QuotaProgress]:
    """The person's progress on each effective quota on `day` (default today, local time).

    The actor must see the person (scope on "quota"): 404 otherwise; 403 if they may not view quotas.
    `now` (default: the current time) decides how much of today has elapsed, for the pace.
    """
    require_view(actor)
    person = person_get(actor=actor, user_id=user.pk if isinstance(user, User) else int(user))
    return _progress_for([person], day or local_today(), now)[person.pk]


@dataclass(frozen=True)
class BoardRow:
    """One member of the team board with their progress on each of their quotas."""

    user_id: int
    name: str
    team: str
    items: list[QuotaProgress]

    @property
    def behind_count(self) -> int:
        return sum(1 for i in self.items if i.behind)

    @property
    def worst_ratio(self) -> float:
        """Lowest done / expected among the quotas behind (1.0 when none is behind)."""
        ratios = [i.done / i.expected_by_now for i in self.items if i.behind and i.expected_by_now]
        return min(ratios, default=1.0)


def team_board(
    *,
    actor: Any,
    team_id: int | None = None,
    branch_id: int | None = None,
    day: dt.date | None = None,
    now: dt.datetime | None = None,
) -> list[BoardRow]:
    """Everyone with quotas in the actor's scope (or one team / branch) × their quotas, people behind
    first. A fixed number of queries whatever the team size: one for members, one for the quotas, one
    grouped query over activities for all members (and one over customer history for `new_customer`)."""
    require_view(actor)
    if not can_see_team_board(actor):
        raise PermissionDenied(_("The team board is for supervisors and managers."))
    people = people_visible(actor=actor)
    if team_id is not None:
        if not teams_visible(actor=actor).filter(pk=team_id).exists():
            raise NotFound(_("Team not found."))
        people = people.filter(team_id=team_id)
    if branch_id is not None:
        if not branches_visible(actor=actor).filter(pk=branch_id).exists():
            raise NotFound(_("Branch not found."))
        people = people.filter(Q(branch_id=branch_id) | Q(team__branch_id=branch_id))
    members = list(people.select_related("team").order_by("display_name", "username", "id"))
    progress = _progress_for(members, day or local_today(), now)
    rows = [
        BoardRow(user_id=m.pk, name=str(m), team=m.team.name if m.team else "", items=progress[m.pk])
        for m in members
        if progress.get(m.pk)
    ]
    rows.sort(key=lambda r: (-r.behind_count, r.worst_ratio))
    return rows


# --- call analysis -------------------------------------------------------------------------------------


@dataclass
class CallStats:
    """Call figures for one person or a group over a period."""

    calls: int = 0
    reached: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    by_hour: list[dict[str, int]] = field(default_factory=lambda: [dict() for _ in range(24)])
    duration_total: int = 0
    duration_count: int = 0
    customers_called: int = 0
    converted: int = 0

    @property
    def reach_rate(self) -> float | None:
        return round(self.reached / self.calls, 4) if self.calls else None

    @property
    def avg_duration_seconds(self) -> float | None:
        return round(self.duration_total / self.duration_count, 1) if self.duration_count else None

    @property
    def conversion_rate(self) -> float | None:
        return round(self.converted / self.customers_called, 4) if self.customers_called else None

    def hours(self) -> list[dict[str, Any]]:
        """24 rows: hour, total, reached and the count of each outcome."""
        out = []
        for hour, counts in enumerate(self.by_hour):
            total = sum(counts.values())
            reached = sum(n for o, n in counts.items() if o in REACHED_OUTCOMES)
            out.append({"hour": hour, "total": total, "reached": reached, "outcomes": dict(counts)})
        return out

    def outcome_rows(self) -> list[tuple[str, str, int, float]]:
        """(outcome, label, count, share of calls) in the usual outcome order; '' = not recorded."""
        labels = dict(Outcome.choices)
        order = [str(o) for o in CALL_OUTCOMES] + sorted(set(self.outcomes) - {str(o) for o in CALL_OUTCOMES})
        return [
            (
                o,
                str(labels.get(o, o) if o else _("Not recorded")),
                self.outcomes[o],
                self.outcomes[o] / self.calls,
            )
            for o in order
            if self.outcomes.get(o)
        ]


@dataclass
class PersonCalls:
    user_id: int
    name: str
    stats: CallStats


@dataclass
class CallAnalysis:
    start: dt.date
    end: dt.date
    user_id: int | None
    team_id: int | None
    total: CallStats
    people: list[PersonCalls]


def _is_conversion(first_stage: str, current_stage: str) -> bool:
    if first_stage not in STAGE_ORDER or current_stage not in STAGE_ORDER:
        return False  # unknown stage at the call, or inactive now: not a conversion
    return STAGE_ORDER[current_stage] > STAGE_ORDER[first_stage]


def call_analysis(
    *,
    actor: Any,
    user_id: int | None = None,
    team_id: int | None = None,
    start: dt.date,
    end: dt.date,
) -> CallAnalysis:
    """Calls of a person, a team, or everyone the actor sees, from `start` to `end` (local days, both
    included): reach rate (reached outcomes / all calls), outcome counts, outcomes by local hour of day,
    average duration (calls with a duration), and conversion = customers called in the period whose
    current stage is later than their stage at the first call in the period (lead < prospect < customer;
    inactive is not a conversion; calls logged without the stage cannot convert). Per-person rows unless
    one person is asked for."""
    require_view(actor)
    if end < start:
        raise ApplicationError("invalid_range", _("The end date is before the start date."), status=422)
    if (end - start).days >= MAX_ANALYSIS_DAYS:
        raise ApplicationError(
            "invalid_range",
            _("Choose a period of at most %(n)d days.") % {"n": MAX_ANALYSIS_DAYS},
            status=422,
        )
    people = people_visible(actor=actor)
    if user_id is not None:
        people = people.filter(pk=person_get(actor=actor, user_id=user_id).pk)
    elif team_id is not None:
        if not teams_visible(actor=actor).filter(pk=team_id).exists():
            raise NotFound(_("Team not found."))
        people = people.filter(team_id=team_id)
    lo, hi = local_range(start, end)
    calls = Activity.objects.filter(
        kind=ActivityKind.CALL,
        owner_id__in=people.values("pk"),
        occurred_at__gte=lo,
        occurred_at__lt=hi,
    )
    total = CallStats()
    per: dict[int, CallStats] = defaultdict(CallStats)
    # 1. Outcomes and durations per person (one grouped query).
    for r in (
        calls.values("owner_id", "outcome")
        .annotate(n=Count("id"), dur_n=Count("duration_seconds"), dur_sum=Sum("duration_seconds"))
        .order_by()
    ):
        for stats in (total, per[r["owner_id"]]):
            stats.calls += r["n"]
            stats.outcomes[r["outcome"]] = stats.outcomes.get(r["outcome"], 0) + r["n"]
            if r["outcome"] in REACHED_OUTCOMES:
                stats.reached += r["n"]
            stats.duration_count += r["dur_n"]
            stats.duration_total += r["dur_sum"] or 0
    # 2. Outcomes by local hour of day (one grouped query).
    for h in (
        calls.annotate(hour=ExtractHour("occurred_at", tzinfo=local_tz()))
        .values("hour", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts = total.by_hour[int(h["hour"])]
        counts[h["outcome"]] = counts.get(h["outcome"], 0) + h["n"]
    # 3. Conversion: the stage at each customer's first call in the period vs the stage now.
    first_overall: dict[int, str] = {}
    first_by_person: dict[tuple[int, int], str] = {}
    current: dict[int, str] = {}
    for owner_id, customer_id, stage_then, stage_now in calls.order_by("occurred_at", "id").values_list(
        "owner_id", "customer_id", "customer_stage", "customer__stage"
    ):
        first_overall.setdefault(customer_id, stage_then)
        first_by_person.setdefault((owner_id, customer_id), stage_then)
        current[customer_id] = stage_now
    total.customers_called = len(first_overall)
    total.converted = sum(1 for c, s in first_overall.items() if _is_conversion(s, current[c]))
    for (owner_id, customer_id), stage_then in first_by_person.items():
        per[owner_id].customers_called += 1
        per[owner_id].converted += _is_conversion(stage_then, current[customer_id])
    rows: list[PersonCalls] = []
    if user_id is None:
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=list(per))}
        rows = sorted(
            (PersonCalls(uid, names.get(uid, f"#{uid}"), stats) for uid, stats in per.items()),
            key=lambda p: (-p.stats.calls, p.name),
        )
    return CallAnalysis(start=start, end=end, user_id=user_id, team_id=team_id, total=total, people=rows)


__all__ = [
    "BoardRow",
    "CallAnalysis",
    "CallStats",
    "QuotaProgress",
    "SystemActor",
    "activity_counts",
    "call_analysis",
    "people_visible",
    "quota_get",
    "quota_list",
    "quota_progress",
    "quotas_for",
    "quotas_visible",
    "team_board",
    "won_counts",
]
