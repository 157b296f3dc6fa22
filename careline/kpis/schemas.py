"""Typed shapes of quotas, progress, the team board and call analysis at the API edge."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from careline.kpis.models import Quota
from careline.kpis.selectors import BoardRow, CallAnalysis, CallStats, QuotaProgress

KindLiteral = Literal["call", "email", "meeting", "proposal", "offer", "follow_up", "new_customer"]
PeriodLiteral = Literal["day", "week", "month"]


class QuotaOut(Schema):
    id: int
    kind: str
    period: str
    target: int
    role: str | None = Field(None, description="Role code when the quota is for a role")
    team_id: int | None = Field(None, description="Set when a role quota is limited to one team")
    user_id: int | None = Field(None, description="Set when the quota is for one person")
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_role(obj: Quota) -> str | None:
        return obj.role.code if obj.role_id and obj.role else None


class QuotaListOut(Schema):
    items: list[QuotaOut]


class QuotaIn(Schema):
    kind: KindLiteral
    period: PeriodLiteral = "day"
    target: int = Field(..., ge=1, le=100_000)
    role: str | None = Field(None, max_length=30, description="A role code (consultant, supervisor…)")
    team_id: int | None = Field(None, ge=1, le=2**62, description="Limit a role quota to one team")
    user_id: int | None = Field(None, ge=1, le=2**62, description="A quota for one person (instead of role)")
    active: bool = True


class QuotaPatch(Schema):
    kind: KindLiteral | None = None
    period: PeriodLiteral | None = None
    target: int | None = Field(None, ge=1, le=100_000)
    role: str | None = Field(None, max_length=30)
    team_id: int | None = Field(None, ge=1, le=2**62)
    user_id: int | None = Field(None, ge=1, le=2**62)
    active: bool | None = None


class ProgressItemOut(Schema):
    quota_id: int
    kind: str
    period: str
    target: int
    done: int
    expected_by_now: float = Field(..., description="Pace: how many should be done by now")
    working_day: bool = Field(..., description="Is the date a working day (weekends, public holidays, Tết)")
    behind: bool = Field(..., description="done < expected_by_now")
    percent: int = Field(..., description="done / target in % (may pass 100)")
    pace_percent: int = Field(..., description="expected_by_now / target in %")
    status: Literal["done", "on_pace", "behind", "day_off"]
    period_start: dt.date
    period_end: dt.date


def progress_item(p: QuotaProgress) -> dict[str, Any]:
    return {
        "quota_id": p.quota_id,
        "kind": p.kind,
        "period": p.period,
        "target": p.target,
        "done": p.done,
        "expected_by_now": p.expected_by_now,
        "working_day": p.working_day,
        "behind": p.behind,
        "percent": p.percent,
        "pace_percent": p.pace_percent,
        "status": p.status,
        "period_start": p.period_start,
        "period_end": p.period_end,
    }


class ProgressOut(Schema):
    user_id: int
    date: dt.date
    items: list[ProgressItemOut]


class BoardRowOut(Schema):
    user_id: int
    name: str
    team: str
    behind_count: int
    items: list[ProgressItemOut]


class BoardOut(Schema):
    date: dt.date
    team_id: int | None
    branch_id: int | None
    rows: list[BoardRowOut]


def board_row(row: BoardRow) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "name": row.name,
        "team": row.team,
        "behind_count": row.behind_count,
        "items": [progress_item(i) for i in row.items],
    }


class HourOut(Schema):
    hour: int = Field(..., description="Local hour of day, 0–23")
    total: int
    reached: int
    outcomes: dict[str, int]


class CallStatsOut(Schema):
    calls: int
    reached: int
    reach_rate: float | None = Field(..., description="reached / calls (0–1); null without calls")
    avg_duration_seconds: float | None
    customers_called: int
    converted: int
    conversion_rate: float | None = Field(..., description="converted / customers called (0–1)")
    outcomes: dict[str, int] = Field(..., description="Calls per outcome ('' = not recorded)")
    by_hour: list[HourOut] | None = Field(None, description="Totals only: calls per local hour")


def call_stats(stats: CallStats, *, hours: bool) -> dict[str, Any]:
    return {
        "calls": stats.calls,
        "reached": stats.reached,
        "reach_rate": stats.reach_rate,
        "avg_duration_seconds": stats.avg_duration_seconds,
        "customers_called": stats.customers_called,
        "converted": stats.converted,
        "conversion_rate": stats.conversion_rate,
        "outcomes": dict(stats.outcomes),
        "by_hour": stats.hours() if hours else None,
    }


class PersonCallsOut(Schema):
    user_id: int
    name: str
    stats: CallStatsOut


class CallAnalysisOut(Schema):
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    user_id: int | None
    team_id: int | None
    total: CallStatsOut
    people: list[PersonCallsOut]


def call_analysis_out(result: CallAnalysis) -> dict[str, Any]:
    return {
        "from": result.start,
        "to": result.end,
        "user_id": result.user_id,
        "team_id": result.team_id,
        "total": call_stats(result.total, hours=True),
        "people": [
            {"user_id": p.user_id, "name": p.name, "stats": call_stats(p.stats, hours=False)}
            for p in result.people
        ],
    }
