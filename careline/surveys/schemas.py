"""Typed shapes of /api/v1/surveys (django-ninja)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import StrictBool, StrictInt, model_validator

from careline.surveys import selectors, services

KindLiteral = Literal["csat", "nps", "ces", "custom"]
TriggerLiteral = Literal["ticket_resolved", "schedule", "manual"]


def _id() -> Any:
    return Field(..., ge=1, le=2**62)


class ObjectIn(Schema):
    """An input object: only a JSON object is one (ninja's Schema would read a list's attributes)."""

    @model_validator(mode="before")
    @classmethod
    def _object_only(cls, data: Any) -> Any:
        raw = data._obj if isinstance(data, DjangoGetter) else data  # ninja wraps the input first
        if not isinstance(raw, dict):
            raise ValueError("Send a JSON object.")
        return data


class QuestionIn(ObjectIn):
    key: str = Field("", max_length=30, description="Generated (q1, q2…) when empty")
    label: str = Field(..., min_length=1, max_length=300)
    type: Literal["text", "scale", "choice"] = "text"
    options: list[str] = Field(default_factory=list, max_length=20, description="choice: the options")
    min: StrictInt = Field(1, ge=0, le=10, description="scale: lowest value")
    max: StrictInt = Field(5, ge=0, le=10, description="scale: highest value")
    required: StrictBool = False


class SegmentIn(ObjectIn):
    """Customer filters, as on the customer list: who a scheduled survey goes to."""

    q: str = Field("", max_length=200)
    stage: Literal["", "lead", "prospect", "customer", "inactive"] = ""
    owner: str = Field("", max_length=20, pattern=r"^(|me|none|\d{1,18})$")
    team: StrictInt | None = Field(None, ge=1, le=2**62)
    branch: StrictInt | None = Field(None, ge=1, le=2**62)
    tag: str = Field("", max_length=50)
    province: str = Field("", max_length=2)
    source: str = Field("", max_length=12)


class SurveyIn(ObjectIn):
    name: str = Field(..., min_length=1, max_length=120)
    kind: KindLiteral
    trigger: TriggerLiteral = "manual"
    active: StrictBool = True
    question: str = Field("", max_length=300, description="Empty: the standard question of the kind")
    questions: list[QuestionIn] = Field(default_factory=list, max_length=20, description="custom kind only")
    segment: SegmentIn | None = None
    every_days: StrictInt | None = Field(
        None, ge=1, le=3650, description="schedule: days between two invitations"
    )


class SurveyPatch(ObjectIn):
    name: str | None = Field(None, min_length=1, max_length=120)
    kind: KindLiteral | None = None
    trigger: TriggerLiteral | None = None
    active: StrictBool | None = None
    question: str | None = Field(None, max_length=300)
    questions: list[QuestionIn] | None = Field(None, max_length=20)
    segment: SegmentIn | None = None
    every_days: StrictInt | None = Field(None, ge=1, le=3650)


class SurveyOut(Schema):
    id: int
    name: str
    kind: str
    trigger: str
    active: bool
    question: str
    questions: list[dict[str, Any]]
    segment: dict[str, Any]
    every_days: int | None
    last_sent_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ResponseIn(ObjectIn):
    """An answer an agent heard on the phone."""

    survey_id: StrictInt = _id()
    customer_id: StrictInt | None = Field(None, ge=1, le=2**62, description="Optional with ticket_id")
    ticket_id: StrictInt | None = Field(None, ge=1, le=2**62)
    score: StrictInt | None = Field(None, ge=0, le=10, description="CSAT 1–5, NPS 0–10, CES 1–7")
    reason: str = Field("", max_length=services.REASON_MAX)
    answers: dict[str, Any] = Field(default_factory=dict, description="custom kind: question key → answer")


class ResponseOut(Schema):
    id: int
    survey_id: int
    survey_name: str
    kind: str
    score: int | None
    band: str = Field(..., description="promoter | passive | detractor | '' (custom)")
    reason: str
    answers: dict[str, Any]
    channel: str
    customer_id: int
    customer_name: str
    ticket_id: int | None
    invitation_id: int | None
    agent_id: int | None
    agent_name: str
    team_id: int | None
    branch_id: int | None
    category_id: int | None
    follow_up_ticket_id: int | None
    recorded_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


def response_out(response: Any) -> dict[str, Any]:
    return {
        "id": response.pk,
        "survey_id": response.survey_id,
        "survey_name": response.survey.name,
        "kind": response.kind,
        "score": response.score,
        "band": selectors.band_of(response.kind, response.score),
        "reason": response.reason,
        "answers": response.answers or {},
        "channel": response.channel,
        "customer_id": response.customer_id,
        "customer_name": response.customer.full_name,
        "ticket_id": response.ticket_id,
        "invitation_id": response.invitation_id,
        "agent_id": response.agent_id,
        "agent_name": str(response.agent) if response.agent_id else "",
        "team_id": response.team_id,
        "branch_id": response.branch_id,
        "category_id": response.category_id,
        "follow_up_ticket_id": response.follow_up_ticket_id,
        "recorded_by_id": response.recorded_by_id,
        "created_at": response.created_at,
        "updated_at": response.updated_at,
    }


class ResponsePage(Schema):
    items: list[ResponseOut]
    next_cursor: str | None


class InvitationIn(ObjectIn):
    survey_id: StrictInt = _id()
    customer_id: StrictInt | None = Field(None, ge=1, le=2**62, description="Optional with ticket_id")
    ticket_id: StrictInt | None = Field(None, ge=1, le=2**62)
    channel: Literal["email", "link"] = "email"
    language: Literal["", "vi", "en"] = Field("", description="Default: the customer's, else vi")


class InvitationOut(Schema):
    id: int
    survey_id: int
    customer_id: int
    ticket_id: int | None
    agent_id: int | None
    team_id: int | None
    channel: str
    language: str
    url: str = Field(..., description="The public page (to share by Zalo/SMS for a link invitation)")
    sent_at: dt.datetime | None
    delivery_status: str
    expires_at: dt.datetime | None
    responded_at: dt.datetime | None
    created_at: dt.datetime


def invitation_out(invitation: Any) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "survey_id": invitation.survey_id,
        "customer_id": invitation.customer_id,
        "ticket_id": invitation.ticket_id,
        "agent_id": invitation.agent_id,
        "team_id": invitation.team_id,
        "channel": invitation.channel,
        "language": invitation.language,
        "url": services.invitation_url(invitation),
        "sent_at": invitation.sent_at,
        "delivery_status": invitation.delivery_status,
        "expires_at": invitation.expires_at,
        "responded_at": invitation.responded_at,
        "created_at": invitation.created_at,
    }


class GroupOut(Schema):
    id: int | None
    name: str
    responses: int
    score: float | None
    promoters: int
    passives: int
    detractors: int


class TrendOut(Schema):
    period: str = Field(..., description="First day of the period (YYYY-MM-DD)")
    responses: int
    score: float | None


class DistributionOut(Schema):
    score: int
    responses: int


class ResultsOut(Schema):
    kind: str
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    granularity: str = Field(..., description="day (≤ 31 days) | week (≤ 26 weeks) | month")
    responses: int
    score: float | None = Field(
        ..., description="CSAT: % of 4–5; NPS: % promoters − % detractors; CES/custom: average"
    )
    average: float | None
    response_rate: float | None = Field(
        ..., description="0–1: invitations sent in the range that were answered ÷ invitations sent"
    )
    invitations_sent: int
    invitations_answered: int
    promoters: int
    passives: int
    detractors: int
    by_agent: list[GroupOut]
    by_team: list[GroupOut]
    by_category: list[GroupOut]
    trend: list[TrendOut]
    distribution: list[DistributionOut]


def results_out(results: selectors.Results) -> dict[str, Any]:
    data = dict(results.__dict__)
    data["from"] = data.pop("start")
    data["to"] = data.pop("end")
    data["by_agent"] = [g.__dict__ for g in results.by_agent]
    data["by_team"] = [g.__dict__ for g in results.by_team]
    data["by_category"] = [g.__dict__ for g in results.by_category]
    data["trend"] = [t.__dict__ for t in results.trend]
    return data


class SendOut(Schema):
    survey_id: int
    name: str
    dry_run: bool
    eligible: int
    invited: int
    emailed: int
    failed: int
    no_email: int
    left_for_next_run: int
