"""Typed shapes of activities and email templates at the API edge."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import StrictBool

from careline.activities.models import Activity

KindLiteral = Literal["call", "email", "meeting", "proposal", "offer", "note", "follow_up"]


class ActivityIn(Schema):
    customer_id: int = Field(..., ge=1, le=2**62)
    kind: KindLiteral
    outcome: str = Field(
        "",
        max_length=16,
        description="call: reached | no_answer | busy | wrong_number | call_back | interested | "
        "not_interested (required); email: sent | failed; meeting: held | cancelled | interested | "
        "not_interested; proposal: sent | interested | not_interested; offer: reached | interested | "
        "not_interested; note and follow_up: empty",
    )
    occurred_at: dt.datetime | None = Field(
        None, description="When it happened (default now; no offset = Asia/Ho_Chi_Minh). Not for follow-ups."
    )
    due_at: dt.datetime | None = Field(
        None, description="follow_up, and call with outcome call_back: when to call back / follow up"
    )
    remind_at: dt.datetime | None = Field(None, description="When to remind the owner (default: due_at)")
    duration_seconds: int | None = Field(None, ge=0, le=86_400)
    subject: str = Field("", max_length=200)
    notes: str = Field("", max_length=10_000)
    owner_id: int | None = Field(
        None, ge=1, le=2**62, description="Whose activity it is (default: you); within your activity scope"
    )
    external_id: str = Field(
        "", max_length=200, description="The source system's id: the same kind + external_id is logged once"
    )
    recording_url: str = Field("", max_length=500)
    follow_up_id: int | None = Field(
        None, ge=1, le=2**62, description="An open follow-up of this customer that this activity fulfils"
    )


class ActivityPatch(Schema):
    outcome: str | None = Field(None, max_length=16)
    occurred_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    remind_at: dt.datetime | None = None
    duration_seconds: int | None = Field(None, ge=0, le=86_400)
    subject: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=10_000)
    recording_url: str | None = Field(None, max_length=500)
    owner_id: int | None = Field(None, ge=1, le=2**62)


class ActivityOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    kind: str
    outcome: str
    owner_id: int | None
    team_id: int | None
    branch_id: int | None
    occurred_at: dt.datetime | None
    due_at: dt.datetime | None
    completed_at: dt.datetime | None
    remind_at: dt.datetime | None
    reminded_at: dt.datetime | None
    is_open: bool
    duration_seconds: int | None
    subject: str
    notes: str
    customer_stage: str
    email_to: str
    message_id: str
    external_id: str
    recording_url: str
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    follow_up_id: int | None = Field(
        None, description="call_back: the follow-up opened for the promised call (only in the POST answer)"
    )

    @staticmethod
    def resolve_customer_name(obj: Activity) -> str:
        return obj.customer.full_name

    @staticmethod
    def resolve_follow_up_id(obj: Activity) -> int | None:
        follow_up: Any = getattr(obj, "follow_up", None)
        return follow_up.pk if follow_up is not None else None


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class CompleteIn(Schema):
    outcome: Literal["done", "cancelled"] = "done"
    notes: str = Field("", max_length=10_000)


class EmailTemplateIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    subject: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description="Placeholders: {salutation} {given_name} {full_name} {staff_name} {staff_phone}",
    )
    body: str = Field(..., min_length=1, max_length=50_000)
    language: str = Field("vi", max_length=5)
    marketing: StrictBool = Field(False, description="Only sent to customers who granted marketing consent")
    active: StrictBool = True


class EmailTemplatePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    subject: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, min_length=1, max_length=50_000)
    language: str | None = Field(None, max_length=5)
    marketing: StrictBool | None = None
    active: StrictBool | None = Field(None, description="false archives the template")


class EmailTemplateOut(Schema):
    id: int
    name: str
    subject: str
    body: str
    language: str
    marketing: bool
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class EmailSendIn(Schema):
    customer_id: int = Field(..., ge=1, le=2**62)
    to: str | None = Field(None, max_length=254, description="One of the customer's emails (default: first)")
    template_id: int | None = Field(None, ge=1, le=2**62)
    subject: str | None = Field(None, max_length=200, description="Overrides the template's subject")
    body: str | None = Field(None, max_length=50_000, description="Overrides the template's body")
