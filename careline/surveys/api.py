"""/api/v1/surveys — thin adapters over surveys.services and surveys.selectors."""

from __future__ import annotations

from typing import Any

from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictBool, StrictInt

from careline.api.auth import AuthedRequest
from careline.api.responses import error_responses
from careline.api.types import IsoDate
from careline.core.visibility import Action, require_action
from careline.surveys import selectors, services
from careline.surveys.schemas import (
    InvitationIn,
    InvitationOut,
    ObjectIn,
    ResponseIn,
    ResponseOut,
    ResponsePage,
    ResultsOut,
    SendOut,
    SurveyIn,
    SurveyOut,
    SurveyPatch,
    invitation_out,
    response_out,
    results_out,
)

router = Router(tags=["surveys"])

ERRORS = error_responses(400, 401, 403, 404, 409, 410, 422)


class ResultsQuery(Schema):
    kind: str = Field("csat", pattern=r"^(csat|nps|ces|custom)$", description="csat | nps | ces | custom")
    from_: IsoDate | None = Field(None, alias="from", description="YYYY-MM-DD (local); default: 30 days ago")
    to: IsoDate | None = Field(None, description="YYYY-MM-DD, included; default: today")
    survey_id: int | None = Field(None, ge=1, le=2**62)
    team_id: int | None = Field(None, ge=1, le=2**62)


class ResponseQuery(Schema):
    kind: str = Field("", pattern=r"^(csat|nps|ces|custom)?$")
    survey_id: int | None = Field(None, ge=1, le=2**62)
    customer_id: int | None = Field(None, ge=1, le=2**62)
    ticket_id: int | None = Field(None, ge=1, le=2**62)
    agent_id: int | None = Field(None, ge=1, le=2**62)
    team_id: int | None = Field(None, ge=1, le=2**62)
    category_id: int | None = Field(None, ge=1, le=2**62)
    band: str = Field("", pattern=r"^(promoter|passive|detractor)?$")
    channel: str = Field("", pattern=r"^(email|link|agent)?$")
    from_: IsoDate | None = Field(None, alias="from", description="Answered from this local day (YYYY-MM-DD)")
    to: IsoDate | None = Field(None, description="Answered up to this local day, included")
    with_reason: bool = False
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


class SendIn(ObjectIn):
    survey_id: StrictInt | None = Field(
        None, ge=1, le=2**62, description="Default: every active scheduled survey"
    )
    dry_run: StrictBool = False


def _survey_data(payload: Schema, *, partial: bool) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=partial)
    if partial:
        data = {k: v for k, v in data.items() if v is not None or k == "every_days"}
    if "segment" in data:
        segment = data["segment"] or {}
        data["segment"] = {k: v for k, v in segment.items() if v not in (None, "")}
    return data


@router.get("", response={200: list[SurveyOut], **ERRORS}, summary="Surveys")
def list_surveys(request: AuthedRequest, active: bool | None = None) -> Any:
    return list(selectors.survey_list(actor=request.auth, active=active))


@router.post("", response={201: SurveyOut, **ERRORS}, summary="Define a survey (needs survey.configure)")
def create_survey(request: AuthedRequest, payload: SurveyIn) -> Any:
    return Status(201, services.survey_create(actor=request.auth, data=_survey_data(payload, partial=False)))


@router.get(
    "/results",
    response={200: ResultsOut, **ERRORS},
    by_alias=True,
    summary="Results: score, response rate, bands, per agent/team/category, trend",
    description="Over the responses you may see, answered between `from` and `to` (local days, included; "
    "default the last 30 days). CSAT score = % of 4–5; NPS = % promoters (9–10) − % detractors (0–6); "
    "CES = average (1–7). `response_rate` (0–1) = invitations sent in the range that were answered ÷ "
    "invitations sent in the range. See docs/api.md § Surveys.",
)
def survey_results(request: AuthedRequest, query: Query[ResultsQuery]) -> Any:
    results = selectors.survey_results(
        actor=request.auth,
        kind=query.kind,
        start=query.from_,
        end=query.to,
        survey_id=query.survey_id,
        team_id=query.team_id,
    )
    return results_out(results)


@router.get("/responses", response={200: ResponsePage, **ERRORS}, summary="Responses, newest first")
def list_responses(request: AuthedRequest, query: Query[ResponseQuery]) -> Any:
    filters = selectors.ResponseFilters(
        kind=query.kind,
        survey_id=query.survey_id,
        customer_id=query.customer_id,
        ticket_id=query.ticket_id,
        agent_id=query.agent_id,
        team_id=query.team_id,
        category_id=query.category_id,
        band=query.band,
        channel=query.channel,
        start=query.from_,
        end=query.to,
        with_reason=query.with_reason,
    )
    items, next_cursor = selectors.response_list(
        actor=request.auth, filters=filters, cursor=query.cursor, limit=query.limit
    )
    return {"items": [response_out(r) for r in items], "next_cursor": next_cursor}


@router.post(
    "/responses",
    response={200: ResponseOut, 201: ResponseOut, **ERRORS},
    summary="Record an answer heard on the phone (needs survey.add)",
    description="201 with the new response; 200 when it updated the answer already recorded for the same "
    "survey and ticket. A detractor (NPS 0–6, CSAT ≤ 2) opens a follow-up ticket (`follow_up_ticket_id`).",
)
def create_response(request: AuthedRequest, payload: ResponseIn) -> Any:
    response = services.response_record_by_agent(actor=request.auth, **payload.model_dump())
    out = response_out(selectors.response_get(actor=request.auth, response_id=response.pk))
    return Status(201 if getattr(response, "created", True) else 200, out)


@router.get("/responses/{int:response_id}", response={200: ResponseOut, **ERRORS}, summary="A response")
def get_response(request: AuthedRequest, response_id: int) -> Any:
    return response_out(selectors.response_get(actor=request.auth, response_id=response_id))


@router.post(
    "/invitations",
    response={200: InvitationOut, 201: InvitationOut, **ERRORS},
    summary="Invite a customer (email, or a link to share by Zalo/SMS; needs survey.add)",
    description="201 with the invitation (its `url` is the public page); 200 with the existing one for the "
    "same survey and ticket. Without a ticket the customer's consent must allow it (409 `no_consent`).",
)
def create_invitation(request: AuthedRequest, payload: InvitationIn) -> Any:
    invitation = services.invitation_create(actor=request.auth, **payload.model_dump())
    out = invitation_out(selectors.invitation_get(actor=request.auth, invitation_id=invitation.pk))
    return Status(200 if getattr(invitation, "replayed", False) else 201, out)


@router.get(
    "/invitations/{int:invitation_id}", response={200: InvitationOut, **ERRORS}, summary="An invitation"
)
def get_invitation(request: AuthedRequest, invitation_id: int) -> Any:
    return invitation_out(selectors.invitation_get(actor=request.auth, invitation_id=invitation_id))


@router.post(
    "/send",
    response={200: list[SendOut], **ERRORS},
    summary="Send the scheduled surveys now (needs survey.configure; `dry_run` only counts)",
)
def send_due(request: AuthedRequest, payload: SendIn) -> Any:
    require_action(request.auth, selectors.OBJECT_TYPE, Action.CONFIGURE)
    reports = services.surveys_send_due(survey_id=payload.survey_id, dry_run=payload.dry_run)
    return [r.as_dict() for r in reports]


@router.get("/{int:survey_id}", response={200: SurveyOut, **ERRORS}, summary="A survey")
def get_survey(request: AuthedRequest, survey_id: int) -> Any:
    return selectors.survey_get(actor=request.auth, survey_id=survey_id)


@router.patch(
    "/{int:survey_id}", response={200: SurveyOut, **ERRORS}, summary="Change or deactivate a survey"
)
def patch_survey(request: AuthedRequest, survey_id: int, payload: SurveyPatch) -> Any:
    return services.survey_update(
        actor=request.auth, survey_id=survey_id, data=_survey_data(payload, partial=True)
    )
