"""/api/v1/inquiries and /api/v1/leads — thin adapters over sales.services and sales.selectors.
(/api/v1/hooks — signed webhooks — lives in sales/hooks_api.py.)"""

from __future__ import annotations

from typing import Any

from ninja import Field, Query, Router, Schema, Status

from careline.api.auth import AuthedRequest
from careline.api.responses import ERRORS
from careline.api.types import IsoDate
from careline.core.visibility import Action, require_action
from careline.sales import selectors, services
from careline.sales.hooks_api import hooks_router  # noqa: F401
from careline.sales.schemas import (
    AbsenceIn,
    AbsenceOut,
    AllocateOut,
    AssignIn,
    BulkAssignIn,
    InquiryCreated,
    InquiryDetailOut,
    InquiryIn,
    InquiryOut,
    InquiryPage,
    ReclaimIn,
    RuleIn,
    RuleOut,
    RulePatch,
)

inquiries_router = Router(tags=["inquiries"])
leads_router = Router(tags=["leads"])


class ListQuery(Schema):
    status: str = Field(
        "",
        pattern=r"^(queued|assigned|contacted|closed|spam)?$",
        description="queued | assigned | contacted | closed | spam",
    )
    owner: int | None = None
    team: int | None = None
    channel: str = Field(
        "",
        pattern=r"^(web|hotline|email|zalo|facebook|marketplace|api)?$",
        description="web | hotline | email | zalo | facebook | marketplace | api",
    )
    q: str = Field("", max_length=200, description="Customer name/phone/email, accents optional")
    mine: bool = False
    date: IsoDate | None = Field(None, description="Received on this local day (YYYY-MM-DD)")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


def _filters(query: ListQuery) -> selectors.InquiryFilters:
    return selectors.InquiryFilters(
        status=query.status,
        owner=query.owner,
        team=query.team,
        channel=query.channel,
        q=query.q,
        mine=query.mine,
        day=query.date,
    )


@inquiries_router.post(
    "",
    response={200: InquiryCreated, 201: InquiryCreated, **ERRORS},
    summary="Take in an inquiry (creates or finds the customer, allocates it)",
    description="201 with the new inquiry; the same `channel` + `external_id` again answers 200 with the same id. "
    "`owner_id` is the allocated consultant, null while the lead waits in the queue.",
)
def create_inquiry(request: AuthedRequest, payload: InquiryIn) -> Any:
    data = services.InquiryData(
        channel=payload.channel,
        full_name=payload.full_name,
        phone=payload.phone,
        email=payload.email,
        message=payload.message,
        external_id=payload.external_id,
        product_interest=payload.product_interest,
        language=payload.language,
        province=payload.province,
        consent=payload.consent,
        received_at=payload.received_at,
        consent_evidence=f"API ({request.auth.get_username()})" if payload.consent else "",
    )
    result = services.inquiry_receive(actor=request.auth, data=data)
    inquiry = result.inquiry
    return Status(201 if result.created else 200, inquiry)


@inquiries_router.get("", response={200: InquiryPage, **ERRORS}, summary="List inquiries (newest first)")
def list_inquiries(request: AuthedRequest, query: Query[ListQuery]) -> Any:
    items, next_cursor = selectors.inquiry_list(
        actor=request.auth, filters=_filters(query), cursor=query.cursor, limit=query.limit
    )
    return {"items": items, "next_cursor": next_cursor}


@inquiries_router.get(
    "/{int:inquiry_id}",
    response={200: InquiryDetailOut, **ERRORS},
    summary="One inquiry with its assignment log",
)
def get_inquiry(request: AuthedRequest, inquiry_id: int) -> Any:
    return selectors.inquiry_get(actor=request.auth, inquiry_id=inquiry_id)


@leads_router.get(
    "",
    response={200: InquiryPage, **ERRORS},
    summary="Leads: the queue and assigned leads (filters as /inquiries)",
)
def list_leads(request: AuthedRequest, query: Query[ListQuery]) -> Any:
    return list_inquiries(request, query)


@leads_router.post(
    "/{int:inquiry_id}/assign",
    response={200: InquiryOut, **ERRORS},
    summary="Assign a lead to someone (supervisor)",
)
def assign_lead(request: AuthedRequest, inquiry_id: int, payload: AssignIn) -> Any:
    services.inquiry_assign(
        actor=request.auth, inquiry_id=inquiry_id, user_id=payload.user_id, note=payload.note
    )
    return selectors.inquiry_get(actor=request.auth, inquiry_id=inquiry_id)


@leads_router.post(
    "/assign",
    response={200: list[InquiryOut], **ERRORS},
    summary="Assign many leads to one person (all or nothing)",
)
def assign_leads(request: AuthedRequest, payload: BulkAssignIn) -> Any:
    return services.inquiries_assign(
        actor=request.auth, inquiry_ids=payload.ids, user_id=payload.user_id, note=payload.note
    )


@leads_router.post(
    "/{int:inquiry_id}/reclaim",
    response={200: InquiryOut, **ERRORS},
    summary="Take a lead back (and re-allocate it)",
)
def reclaim_lead(request: AuthedRequest, inquiry_id: int, payload: ReclaimIn) -> Any:
    inquiry = services.inquiry_reclaim(
        actor=request.auth, inquiry_id=inquiry_id, note=payload.note, reallocate=payload.reallocate
    )
    return selectors.inquiry_get(actor=request.auth, inquiry_id=inquiry.pk)


@leads_router.post(
    "/allocate",
    response={200: AllocateOut, **ERRORS},
    summary="Run the queue now (allocate queued leads, reclaim overdue ones)",
)
def allocate_queue(request: AuthedRequest) -> Any:
    require_action(request.auth, "inquiry", Action.ASSIGN)
    reclaimed = services.leads_reclaim_overdue()
    stats = services.leads_allocate_queued()
    return {
        "considered": stats.considered,
        "assigned": stats.assigned,
        "still_queued": stats.still_queued,
        "reclaimed": reclaimed,
    }


@leads_router.get(
    "/rules", response={200: list[RuleOut], **ERRORS}, summary="Allocation rules (in evaluation order)"
)
def list_rules(request: AuthedRequest) -> Any:
    return selectors.rule_list(actor=request.auth)


@leads_router.post("/rules", response={201: RuleOut, **ERRORS}, summary="Create an allocation rule")
def create_rule(request: AuthedRequest, payload: RuleIn) -> Any:
    data = payload.dict()
    if payload.members is None:
        data.pop("members")
    rule = services.rule_save(actor=request.auth, data=data)
    return Status(201, rule)


@leads_router.patch(
    "/rules/{int:rule_id}", response={200: RuleOut, **ERRORS}, summary="Change an allocation rule"
)
def update_rule(request: AuthedRequest, rule_id: int, payload: RulePatch) -> Any:
    data = payload.dict(exclude_unset=True)
    return services.rule_save(actor=request.auth, data=data, rule_id=rule_id)


@leads_router.delete(
    "/rules/{int:rule_id}", response={204: None, **ERRORS}, summary="Delete an allocation rule"
)
def delete_rule(request: AuthedRequest, rule_id: int) -> Any:
    services.rule_delete(actor=request.auth, rule_id=rule_id)
    return Status(204, None)


@leads_router.get(
    "/absences", response={200: list[AbsenceOut], **ERRORS}, summary="Current and future absences"
)
def list_absences(request: AuthedRequest) -> Any:
    require_action(request.auth, "inquiry", Action.VIEW)
    return selectors.absence_list(actor=request.auth)


@leads_router.post(
    "/absences", response={201: AbsenceOut, **ERRORS}, summary="Record leave (no new leads meanwhile)"
)
def create_absence(request: AuthedRequest, payload: AbsenceIn) -> Any:
    require_action(request.auth, "inquiry", Action.VIEW)
    absence = services.absence_create(
        actor=request.auth,
        user_id=payload.user_id,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        kind=payload.kind,
        note=payload.note,
    )
    return Status(201, absence)


@leads_router.delete(
    "/absences/{int:absence_id}", response={204: None, **ERRORS}, summary="Delete an absence"
)
def delete_absence(request: AuthedRequest, absence_id: int) -> Any:
    services.absence_delete(actor=request.auth, absence_id=absence_id)
    return Status(204, None)
