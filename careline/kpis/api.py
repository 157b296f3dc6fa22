"""/api/v1/quotas — thin adapters over kpis.services and kpis.selectors."""

from __future__ import annotations

from typing import Any

from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from careline.api.auth import AuthedRequest
from careline.api.responses import ERRORS
from careline.api.types import IsoDate
from careline.kpis import selectors, services
from careline.kpis.pace import local_today
from careline.kpis.schemas import (
    BoardOut,
    CallAnalysisOut,
    ProgressOut,
    QuotaIn,
    QuotaListOut,
    QuotaOut,
    QuotaPatch,
    board_row,
    call_analysis_out,
    progress_item,
)

quotas_router = Router(tags=["quotas"])


class ProgressQuery(Schema):
    user_id: int | None = NField(None, ge=1, le=2**62, description="Default: the caller")
    date: IsoDate | None = NField(None, description="YYYY-MM-DD; default: today (local time)")


class BoardQuery(Schema):
    team_id: int | None = NField(None, ge=1, le=2**62)
    branch_id: int | None = NField(None, ge=1, le=2**62)
    date: IsoDate | None = NField(None, description="YYYY-MM-DD; default: today (local time)")


class CallsQuery(Schema):
    user_id: int | None = NField(None, ge=1, le=2**62)
    team_id: int | None = NField(None, ge=1, le=2**62)
    from_: IsoDate | None = NField(None, alias="from", description="YYYY-MM-DD; default: 1st of the month")
    to: IsoDate | None = NField(None, description="YYYY-MM-DD, included; default: today")


@quotas_router.get("", response={200: QuotaListOut, **ERRORS}, summary="Quota definitions you can see")
def list_quotas(request: AuthedRequest) -> Any:
    return {"items": selectors.quota_list(actor=request.auth)}


@quotas_router.post("", response={201: QuotaOut, **ERRORS}, summary="Define a quota (needs configure)")
def create_quota(request: AuthedRequest, payload: QuotaIn) -> Any:
    quota = services.quota_create(actor=request.auth, data=payload.model_dump())
    return Status(201, selectors.quota_get(actor=request.auth, quota_id=quota.pk))


@quotas_router.get(
    "/progress",
    response={200: ProgressOut, **ERRORS},
    summary="A person's progress on each quota on a day",
    description="Counts in local time (Asia/Ho_Chi_Minh). `status` is done, on_pace, behind or day_off "
    "(a daily quota on a weekend or public holiday). See docs/api.md § Quotas for the counting rules.",
)
def quota_progress(request: AuthedRequest, query: Query[ProgressQuery]) -> Any:
    day = query.date or local_today()
    user_id = query.user_id or request.auth.pk
    items = selectors.quota_progress(actor=request.auth, user=user_id, day=day)
    return {"user_id": user_id, "date": day, "items": [progress_item(p) for p in items]}


@quotas_router.get(
    "/board",
    response={200: BoardOut, **ERRORS},
    summary="Team board: every member × quota, people behind first (supervisors and managers)",
)
def quota_board(request: AuthedRequest, query: Query[BoardQuery]) -> Any:
    day = query.date or local_today()
    rows = selectors.team_board(actor=request.auth, team_id=query.team_id, branch_id=query.branch_id, day=day)
    return {
        "date": day,
        "team_id": query.team_id,
        "branch_id": query.branch_id,
        "rows": [board_row(r) for r in rows],
    }


@quotas_router.get(
    "/calls",
    response={200: CallAnalysisOut, **ERRORS},
    by_alias=True,
    summary="Call-outcome analysis for a person, a team or everyone you can see",
    description="Reach rate, outcome counts, outcomes by local hour, average duration and conversion of "
    "called customers to a later stage, for `from`..`to` (local days, both included).",
)
def call_analysis(request: AuthedRequest, query: Query[CallsQuery]) -> Any:
    end = query.to or local_today()
    start = query.from_ or end.replace(day=1)
    result = selectors.call_analysis(
        actor=request.auth, user_id=query.user_id, team_id=query.team_id, start=start, end=end
    )
    return call_analysis_out(result)


@quotas_router.get("/{int:quota_id}", response={200: QuotaOut, **ERRORS}, summary="Get a quota")
def get_quota(request: AuthedRequest, quota_id: int) -> Any:
    return selectors.quota_get(actor=request.auth, quota_id=quota_id)


@quotas_router.patch("/{int:quota_id}", response={200: QuotaOut, **ERRORS}, summary="Change a quota")
def patch_quota(request: AuthedRequest, quota_id: int, payload: QuotaPatch) -> Any:
    data = payload.model_dump(exclude_unset=True)
    services.quota_update(actor=request.auth, quota_id=quota_id, data=data)
    return selectors.quota_get(actor=request.auth, quota_id=quota_id)


@quotas_router.delete("/{int:quota_id}", response={204: None, **ERRORS}, summary="Delete a quota")
def delete_quota(request: AuthedRequest, quota_id: int) -> Any:
    services.quota_delete(actor=request.auth, quota_id=quota_id)
    return Status(204, None)
