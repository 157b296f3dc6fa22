"""Every read of surveys, invitations and responses, scoped to what the actor may see (ARCHITECTURE §1, §4).

Survey definitions are configuration: anyone whose role may view surveys sees all of them. Invitations and
responses are records: they carry the agent (the ticket's assignee, or the customer's owner for a survey
without a ticket), the team and the branch, and the role's `survey` scope applies to those
(`ScopeFields(owner="agent", team="team", branch="branch")`).

Results (`survey_results`) are computed over the responses the actor may see:

* CSAT score = share of 4–5 answers in % (0–100); NPS = % promoters (9–10) − % detractors (0–6), −100…100;
  CES = average (1–7, 7 = very easy); custom = average of the main score when there is one.
* Bands: NPS promoters 9–10, passives 7–8, detractors 0–6; CSAT 4–5 / 3 / 1–2; CES 5–7 / 4 / 1–3.
* Response rate = invitations (email or link) sent in the range that have been answered ÷ invitations sent
  in the range (0–1); agent-recorded answers had no invitation and are not part of it.
* Days are cut in local time (Asia/Ho_Chi_Minh); `from`/`to` are inclusive.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.pagination import paginate
from careline.core.visibility import Action, ScopeFields, require_action, restrict
from careline.surveys.choices import InvitationChannel, SurveyKind
from careline.surveys.models import Invitation, Response, Survey

OBJECT_TYPE = "survey"
SCOPE_FIELDS = ScopeFields(owner="agent", team="team", branch="branch")
MAX_LIMIT = 100
MAX_RANGE_DAYS = 3 * 366
DEFAULT_RANGE_DAYS = 30

# Score ranges per kind (inclusive); the custom kind's main score is optional.
SCORE_RANGES: dict[str, tuple[int, int]] = {
    SurveyKind.CSAT: (1, 5),
    SurveyKind.NPS: (0, 10),
    SurveyKind.CES: (1, 7),
    SurveyKind.CUSTOM: (0, 10),
}
# band → (lowest, highest) score per kind.
BANDS: dict[str, dict[str, tuple[int, int]]] = {
    SurveyKind.CSAT: {"promoter": (4, 5), "passive": (3, 3), "detractor": (1, 2)},
    SurveyKind.NPS: {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)},
    SurveyKind.CES: {"promoter": (5, 7), "passive": (4, 4), "detractor": (1, 3)},
}
BAND_NAMES = ("promoter", "passive", "detractor")
# A detractor opens a follow-up ticket (NPS 0–6, CSAT ≤ 2).
FOLLOW_UP_BANDS: dict[str, tuple[int, int]] = {
    SurveyKind.NPS: BANDS[SurveyKind.NPS]["detractor"],
    SurveyKind.CSAT: BANDS[SurveyKind.CSAT]["detractor"],
}


def band_of(kind: str, score: int | None) -> str:
    """ "promoter" | "passive" | "detractor" | "" (custom kind or no score)."""
    if score is None:
        return ""
    for name, (low, high) in BANDS.get(kind, {}).items():
        if low <= score <= high:
            return name
    return ""


def is_detractor(kind: str, score: int | None) -> bool:
    band = FOLLOW_UP_BANDS.get(kind)
    return score is not None and band is not None and band[0] <= score <= band[1]


def band_q(band: str, kind: str = "") -> Q:
    """Responses in a band (for one kind, or for every kind that has bands)."""
    q = Q(pk__in=[])
    for k, bands in BANDS.items():
        if kind and k != kind:
            continue
        low, high = bands[band]
        q |= Q(kind=k, score__gte=low, score__lte=high)
    return q


# --- surveys ---------------------------------------------------------------------------------------------


def survey_list(*, actor: Any, active: bool | None = None, kind: str = "") -> QuerySet[Survey]:
    """Survey definitions (configuration: not scoped, but the role must be allowed to view surveys)."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    qs = Survey.objects.all()
    if active is not None:
        qs = qs.filter(active=active)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-active", "name", "id")


def survey_get(*, actor: Any, survey_id: int) -> Survey:
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("Survey not found."))
    return survey


def survey_for_ticket_resolved() -> Survey | None:
    """The active survey sent when a ticket is resolved (at most one is active; see services)."""
    return Survey.objects.filter(active=True, trigger="ticket_resolved").order_by("id").first()


def survey_response_counts(*, survey_ids: Iterable[int]) -> dict[int, int]:
    rows = Response.objects.filter(survey_id__in=list(survey_ids)).values("survey_id").annotate(n=Count("id"))
    return {row["survey_id"]: row["n"] for row in rows.order_by()}


# --- invitations -------------------------------------------------------------------------------------------


def invitation_visible(*, actor: Any) -> QuerySet[Invitation]:
    return restrict(Invitation.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=SCOPE_FIELDS)


def invitation_get(*, actor: Any, invitation_id: int) -> Invitation:
    invitation = (
        invitation_visible(actor=actor)
        .select_related("survey", "customer", "ticket", "agent", "team")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFound(_("Invitation not found."))
    return invitation


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation behind a public link (no actor: the token is the credential)."""
    if not token or len(token) > 64:
        return None
    return Invitation.objects.select_related("survey", "customer").filter(token=token).first()


def invitation_pending_for(*, actor: Any, customer_id: int, ticket_id: int | None = None) -> list[Invitation]:
    """Unanswered, unexpired invitations of a customer (optionally for one ticket), newest first — the
    "record a response" page shows their links so the agent can share them again."""
    qs = invitation_visible(actor=actor).filter(customer_id=customer_id, responded_at__isnull=True)
    if ticket_id:
        qs = qs.filter(ticket_id=ticket_id)
    qs = qs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    return list(qs.select_related("survey").order_by("-created_at", "-id")[:10])


# --- responses ---------------------------------------------------------------------------------------------


def response_visible(*, actor: Any) -> QuerySet[Response]:
    return restrict(Response.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=SCOPE_FIELDS)


RESPONSE_RELATED = ("survey", "customer", "agent", "team", "category", "ticket", "follow_up_ticket")


def response_get(*, actor: Any, response_id: int) -> Response:
    response = response_visible(actor=actor).select_related(*RESPONSE_RELATED).filter(pk=response_id).first()
    if response is None:
        raise NotFound(_("Response not found."))
    return response


@dataclass(frozen=True)
class ResponseFilters:
    """List filters shared by the web list and the API (None/"" = no filter)."""

    kind: str = ""
    survey_id: int | None = None
    customer_id: int | None = None
    ticket_id: int | None = None
    agent_id: int | None = None
    team_id: int | None = None
    category_id: int | None = None
    band: str = ""  # promoter | passive | detractor
    channel: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    with_reason: bool = False


def day_bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Aware local-midnight bounds: [start 00:00, the day after `end` 00:00)."""
    tz = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time.min, tzinfo=tz) if start else None
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if end else None
    return low, high


def _filtered(qs: QuerySet[Response], filters: ResponseFilters) -> QuerySet[Response]:
    if filters.kind:
        if filters.kind not in SurveyKind.values:
            raise ValidationFailed({"kind": [_("Unknown survey kind.")]})
        qs = qs.filter(kind=filters.kind)
    for name in ("survey_id", "customer_id", "ticket_id", "agent_id", "team_id", "category_id"):
        value = getattr(filters, name)
        if value:
            qs = qs.filter(**{name: value})
    if filters.band:
        if filters.band not in BAND_NAMES:
            raise ValidationFailed({"band": [_("Use promoter, passive or detractor.")]})
        qs = qs.filter(band_q(filters.band, filters.kind))
    if filters.channel:
        if filters.channel not in InvitationChannel.values:
            raise ValidationFailed({"channel": [_("Unknown channel.")]})
        qs = qs.filter(channel=filters.channel)
    if filters.start and filters.end and filters.start > filters.end:
        raise ValidationFailed({"from": [_("The start date is after the end date.")]})
    low, high = day_bounds(filters.start, filters.end)
    if low:
        qs = qs.filter(created_at__gte=low)
    if high:
        qs = qs.filter(created_at__lt=high)
    if filters.with_reason:
        qs = qs.exclude(reason="")
    return qs


def response_list(
    *, actor: Any, filters: ResponseFilters | None = None, cursor: str | None = None, limit: int = 50
) -> tuple[list[Response], str | None]:
    """One page of responses the actor may see, newest first, and the next cursor (a constant number of
    queries whatever the page size: the related rows are joined)."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    if limit < 1 or limit > MAX_LIMIT:
        raise ApplicationError(
            "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", {"field": "limit"}
        )
    qs = _filtered(response_visible(actor=actor), filters or ResponseFilters())
    qs = qs.select_related(*RESPONSE_RELATED)
    return paginate(qs, ordering=["-created_at", "-id"], cursor=cursor, limit=limit)


def response_for_ticket(*, survey_id: int, ticket_id: int) -> Response | None:
    return Response.objects.filter(survey_id=survey_id, ticket_id=ticket_id).order_by("id").first()


# --- results -----------------------------------------------------------------------------------------------


@dataclass
class Counts:
    """Responses of one group and what the score is made of."""

    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    total: int = 0  # sum of the scores (averages)

    def add(self, other: Counts) -> None:
        self.responses += other.responses
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors
        self.total += other.total


def score_of(kind: str, counts: Counts) -> float | None:
    """The headline number of a group: CSAT %, NPS, or the average (CES, custom); None without answers."""
    n = counts.responses
    if not n:
        return None
    if kind == SurveyKind.CSAT:
        return round(100 * counts.promoters / n, 1)
    if kind == SurveyKind.NPS:
        return round(100 * (counts.promoters - counts.detractors) / n, 1)
    return round(counts.total / n, 2)


def _count_annotations(kind: str) -> dict[str, Any]:
    bands = BANDS.get(kind)
    annotations: dict[str, Any] = {"n": Count("id"), "total": Sum("score")}
    for name in BAND_NAMES:
        if bands:
            low, high = bands[name]
            annotations[name] = Count("id", filter=Q(score__gte=low, score__lte=high))
    return annotations


def _counts(row: dict[str, Any]) -> Counts:
    return Counts(
        responses=row.get("n") or 0,
        promoters=row.get("promoter") or 0,
        passives=row.get("passive") or 0,
        detractors=row.get("detractor") or 0,
        total=row.get("total") or 0,
    )


@dataclass
class GroupResult:
    id: int | None
    name: str
    responses: int
    score: float | None
    promoters: int
    passives: int
    detractors: int


@dataclass
class TrendPoint:
    period: str  # ISO date of the period's first day
    responses: int
    score: float | None


@dataclass
class Results:
    kind: str
    start: dt.date
    end: dt.date
    granularity: str  # day | week | month
    responses: int
    score: float | None
    response_rate: float | None
    invitations_sent: int
    invitations_answered: int
    promoters: int
    passives: int
    detractors: int
    average: float | None
    by_agent: list[GroupResult] = field(default_factory=list)
    by_team: list[GroupResult] = field(default_factory=list)
    by_category: list[GroupResult] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    distribution: list[dict[str, int]] = field(default_factory=list)


def results_range(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The range asked for, defaulting to the last 30 days up to today (local)."""
    today = timezone.localdate()
    end = end or (start + dt.timedelta(days=DEFAULT_RANGE_DAYS - 1) if start else today)
    start = start or end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise ValidationFailed({"from": [_("The start date is after the end date.")]})
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationFailed({"from": [_("Choose at most three years.")]})
    return start, end


def _granularity(start: dt.date, end: dt.date) -> str:
    days = (end - start).days + 1
    if days <= 31:
        return "day"
    if days <= 26 * 7:
        return "week"
    return "month"


def _period_start(day: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _periods(start: dt.date, end: dt.date, granularity: str) -> list[dt.date]:
    out: list[dt.date] = []
    current = _period_start(start, granularity)
    while current <= end:
        out.append(current)
        if granularity == "day":
            current += dt.timedelta(days=1)
        elif granularity == "week":
            current += dt.timedelta(days=7)
        else:
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _grouped(qs: QuerySet[Response], key: str, kind: str, names: dict[int, str]) -> list[GroupResult]:
    rows = qs.values(key).annotate(**_count_annotations(kind)).order_by()
    out: list[GroupResult] = []
    for row in rows:
        counts = _counts(row)
        group_id = row[key]
        out.append(
            GroupResult(
                id=group_id,
                name=names.get(group_id, "") if group_id else _("(none)"),
                responses=counts.responses,
                score=score_of(kind, counts),
                promoters=counts.promoters,
                passives=counts.passives,
                detractors=counts.detractors,
            )
        )
    out.sort(key=lambda g: (-g.responses, g.name, g.id or 0))
    return out


def survey_results(
    *,
    actor: Any,
    kind: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    survey_id: int | None = None,
    team_id: int | None = None,
) -> Results:
    """CSAT/NPS/CES results of the responses the actor may see, answered between `start` and `end`
    (local days, inclusive), with groups per agent/team/category, a trend and the score distribution."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    if kind not in SurveyKind.values:
        raise ValidationFailed({"kind": [_("Unknown survey kind.")]})
    start, end = results_range(start, end)
    low, high = day_bounds(start, end)
    qs = response_visible(actor=actor).filter(
        kind=kind, created_at__gte=low, created_at__lt=high, score__isnull=False
    )
    invitations = invitation_visible(actor=actor).filter(
        survey__kind=kind, sent_at__gte=low, sent_at__lt=high
    )
    if survey_id:
        qs = qs.filter(survey_id=survey_id)
        invitations = invitations.filter(survey_id=survey_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
        invitations = invitations.filter(team_id=team_id)
    totals = _counts(qs.aggregate(**_count_annotations(kind)))
    sent = invitations.exclude(channel=InvitationChannel.AGENT).aggregate(
        sent=Count("id"), answered=Count("id", filter=Q(responded_at__isnull=False))
    )
    from django.contrib.auth import get_user_model

    from careline.accounts.models import Team

    agent_ids = [r for r in qs.values_list("agent_id", flat=True).distinct().order_by() if r]
    team_ids = [r for r in qs.values_list("team_id", flat=True).distinct().order_by() if r]
    category_ids = [r for r in qs.values_list("category_id", flat=True).distinct().order_by() if r]
    agents = {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=agent_ids)}
    teams = {t.pk: t.name for t in Team.objects.filter(pk__in=team_ids)}
    categories = _category_names(category_ids)

    granularity = _granularity(start, end)
    per_period: dict[dt.date, Counts] = defaultdict(Counts)
    tz = timezone.get_current_timezone()
    day_rows = (
        qs.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(**_count_annotations(kind))
        .order_by()
    )
    for row in day_rows:
        values: dict[str, Any] = dict(row)
        per_period[_period_start(values["day"], granularity)].add(_counts(values))
    trend = [
        TrendPoint(
            period=period.isoformat(),
            responses=per_period[period].responses,
            score=score_of(kind, per_period[period]),
        )
        for period in _periods(start, end, granularity)
    ]
    low_score, high_score = SCORE_RANGES[kind]
    by_score = {row["score"]: row["n"] for row in qs.values("score").annotate(n=Count("id")).order_by()}
    distribution = [{"score": s, "responses": by_score.get(s, 0)} for s in range(low_score, high_score + 1)]
    average = round(totals.total / totals.responses, 2) if totals.responses else None
    return Results(
        kind=kind,
        start=start,
        end=end,
        granularity=granularity,
        responses=totals.responses,
        score=score_of(kind, totals),
        response_rate=round(sent["answered"] / sent["sent"], 4) if sent["sent"] else None,
        invitations_sent=sent["sent"],
        invitations_answered=sent["answered"],
        promoters=totals.promoters,
        passives=totals.passives,
        detractors=totals.detractors,
        average=average,
        by_agent=_grouped(qs, "agent_id", kind, agents),
        by_team=_grouped(qs, "team_id", kind, teams),
        by_category=_grouped(qs, "category_id", kind, categories),
        trend=trend,
        distribution=distribution,
    )


def _category_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    from careline.helpdesk.models import Category

    return {c.pk: str(c) for c in Category.objects.filter(pk__in=ids).select_related("parent")}
