"""Typed shapes of tickets and the helpdesk's settings at the API edge.

Times are ISO 8601 with the offset of Vietnam's time zone (`2026-02-23T15:00:00+07:00`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import Strict, field_validator, model_validator

from careline.customers.choices import ContactKind

ChannelLiteral = Literal[
    "hotline", "email", "web", "zalo", "facebook", "marketplace", "api", "walk_in", "survey"
]
KindLiteral = Literal["complaint", "inquiry", "request", "warranty"]
PriorityLiteral = Literal["low", "normal", "high", "urgent"]
ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """Aware datetimes leave the API in local time (+07:00), never naive."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return timezone.localtime(value)


# Input bodies take JSON types as they are: no "1" for 1, no 0 for false.
SBool = Annotated[bool, Strict()]
SInt = Annotated[int, Strict()]


class ObjectIn(Schema):
    """An input body: only a JSON object is one (ninja's Schema would read a list's attributes and take
    every default)."""

    @model_validator(mode="before")
    @classmethod
    def _object_only(cls, data: Any) -> Any:
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(raw, dict):
            raise ValueError("Send a JSON object.")
        return data


class LocalTimes(Schema):
    """Output schemas whose datetime fields are rendered in local time with the offset."""

    @field_validator("*", mode="after")
    @classmethod
    def _localise(cls, value: Any) -> Any:
        return _local(value) if isinstance(value, dt.datetime) else value


# --- tickets ---------------------------------------------------------------------------------------------


class TicketIn(ObjectIn):
    customer_id: SInt | None = Field(
        None, ge=1, le=2**62, description="A customer you may see; or give phone / email"
    )
    phone: str = Field(
        "", max_length=40, description="Finds the customer among all customers, or creates one"
    )
    email: str = Field("", max_length=254)
    full_name: str = Field("", max_length=200, description="For a new customer")
    channel: ChannelLiteral = "api"
    kind: KindLiteral = "inquiry"
    category: int | str | None = Field(
        None, description="Category id, or its name path (`Học phí › Hoàn học phí`, accents optional)"
    )
    priority: Literal["", "low", "normal", "high", "urgent"] = Field(
        "", description="Empty: the category's default, else normal"
    )
    subject: str = Field("", max_length=250)
    message: str = Field("", max_length=50_000, description="The customer's first message")
    opened_at: str | None = Field(
        None,
        pattern=ISO_DATETIME,
        description="Admins only (importing history): ISO 8601 with an offset; the SLA clocks start from it",
    )
    external_id: str = Field(
        "",
        max_length=200,
        description="The sender's id: the same channel + id again answers 200 with the same ticket",
    )
    related_ref: str = Field("", max_length=200, description="Related deal / contract / product")
    thread: SBool | None = Field(
        None,
        description="Thread the message into the customer's open ticket on the same topic (same category or "
        "a similar subject) instead of opening a new one. Default: on for email, web, zalo, facebook and "
        "marketplace, off for the others",
    )
    team_id: SInt | None = Field(None, ge=1, le=2**62)
    branch_id: SInt | None = Field(None, ge=1, le=2**62)


class TicketPatch(ObjectIn):
    priority: PriorityLiteral | None = None
    category: int | str | None = Field(None, description="Category id or name path; null removes it")
    kind: KindLiteral | None = None
    subject: str | None = Field(None, min_length=1, max_length=250)
    related_ref: str | None = Field(None, max_length=200)
    status: Literal["waiting", "open"] | None = Field(
        None, description="waiting (on the customer: pauses the resolution clock) or open"
    )


class TicketOut(LocalTimes):
    id: int
    subject: str
    kind: str
    channel: str
    priority: str
    status: str
    customer_id: int
    customer_name: str
    category_id: int | None
    category: str
    assignee_id: int | None
    team_id: int | None
    branch_id: int | None
    related_ref: str
    external_id: str
    opened_at: dt.datetime
    sla_policy_id: int | None
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    paused: bool
    first_response_breached: bool
    resolution_breached: bool
    escalation_level: int
    interactions: int
    reopened_count: int
    fcr: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.full_name

    @staticmethod
    def resolve_category(obj: Any) -> str:
        return str(obj.category) if obj.category_id else ""

    @staticmethod
    def resolve_paused(obj: Any) -> bool:
        return obj.status == "waiting" and obj.paused_at is not None


class TicketCreatedOut(TicketOut):
    outcome: Literal["created", "duplicate", "threaded", "reopened"] = Field(
        ..., description="created (201); duplicate, threaded or reopened (200: an existing ticket)"
    )


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class MessageOut(LocalTimes):
    id: int
    created_at: dt.datetime
    direction: str
    channel: str
    author_id: int | None
    author_name: str
    body: str
    from_address: str
    to_address: str
    message_id: str
    in_reply_to: str
    delivery_status: str
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_author_name(obj: Any) -> str:
        return str(obj.author) if obj.author_id else ""

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())


class EventOut(LocalTimes):
    id: int
    created_at: dt.datetime
    kind: str
    from_value: str
    to_value: str
    actor_id: int | None
    note: str


class ClockOut(LocalTimes):
    due: dt.datetime | None
    seconds_left: int | None = Field(..., description="Business seconds until due; negative when late")
    done_at: dt.datetime | None
    breached: bool
    paused: bool


class TimersOut(Schema):
    first_response: ClockOut
    resolution: ClockOut


class CustomerBrief(Schema):
    id: int
    full_name: str
    given_name: str
    salutation: str
    tier: str
    phones: list[str]
    emails: list[str]

    @staticmethod
    def resolve_phones(obj: Any) -> list[str]:
        return [p.value for p in obj.contact_points.all() if p.kind == ContactKind.PHONE]

    @staticmethod
    def resolve_emails(obj: Any) -> list[str]:
        return [p.value for p in obj.contact_points.all() if p.kind == ContactKind.EMAIL]


class StepOut(LocalTimes):
    number: int
    text: str
    done: bool
    done_by_id: int | None
    done_at: dt.datetime | None


class TicketDetailOut(TicketOut):
    customer: CustomerBrief
    messages: list[MessageOut]
    events: list[EventOut]
    timers: TimersOut
    steps: list[StepOut] = Field(..., description="Playbook steps ticked on this ticket")

    @staticmethod
    def resolve_messages(obj: Any) -> list[Any]:
        return list(obj.messages.all())

    @staticmethod
    def resolve_events(obj: Any) -> list[Any]:
        return list(obj.events.all())

    @staticmethod
    def resolve_timers(obj: Any) -> dict[str, Any]:
        from careline.helpdesk import sla

        timers = sla.ticket_timers(obj, now=timezone.now(), hours=sla.hours_for_branch(obj.branch_id))
        return {"first_response": vars(timers.first_response), "resolution": vars(timers.resolution)}

    @staticmethod
    def resolve_steps(obj: Any) -> list[dict[str, Any]]:
        return [
            {"number": c.step, "text": c.text, "done": True, "done_by_id": c.done_by_id, "done_at": c.done_at}
            for c in obj.step_checks.all()
        ]


class MessageIn(ObjectIn):
    body: str = Field(..., min_length=1, max_length=50_000)
    internal: SBool = Field(False, description="An internal note (never sent to the customer)")
    direction: Literal["inbound", "outbound"] | None = Field(
        None,
        description="Default outbound (a reply). inbound: record what the customer said (e.g. on a call)",
    )


class NoteIn(ObjectIn):
    note: str = Field("", max_length=50_000)


class ReasonIn(ObjectIn):
    reason: str = Field("", max_length=300)


class AssignIn(ObjectIn):
    user_id: SInt | None = Field(
        ..., ge=1, le=2**62, description="The new assignee; null puts the ticket back in the team queue"
    )
    note: str = Field("", max_length=300)


class StepIn(ObjectIn):
    done: SBool = Field(True, description="true ticks the step, false unticks it")


class CannedRenderedOut(Schema):
    id: int
    title: str
    body: str


class PlaybookAppliedOut(Schema):
    playbook_id: int
    category_id: int
    involve: str
    steps: list[StepOut]
    canned_replies: list[CannedRenderedOut]


class FcrRowOut(Schema):
    key: int | None = Field(..., description="Agent, team or category id (null: none)")
    label: str
    resolved: int
    fcr: int
    rate: float | None


class FcrOut(Schema):
    group: str
    date_from: dt.date | None
    date_to: dt.date | None
    rows: list[FcrRowOut]
    total: FcrRowOut


# --- settings ----------------------------------------------------------------------------------------------


class CategoryIn(ObjectIn):
    name: str = Field(..., min_length=1, max_length=120)
    parent_id: SInt | None = Field(None, ge=1, le=2**62)
    team_id: SInt | None = Field(None, ge=1, le=2**62)
    default_priority: Literal["", "low", "normal", "high", "urgent"] = ""
    skills: list[Skill] = Field(default_factory=list, max_length=30)
    position: SInt = Field(100, ge=0, le=1_000_000)


class CategoryPatch(ObjectIn):
    name: str | None = Field(None, min_length=1, max_length=120)
    parent_id: SInt | None = Field(None, ge=1, le=2**62)
    team_id: SInt | None = Field(None, ge=1, le=2**62)
    default_priority: Literal["", "low", "normal", "high", "urgent"] | None = None
    skills: list[Skill] | None = Field(None, max_length=30)
    position: SInt | None = Field(None, ge=0, le=1_000_000)
    active: SBool | None = None


class CategoryOut(LocalTimes):
    id: int
    name: str
    path: str
    parent_id: int | None
    team_id: int | None
    default_priority: str
    skills: list[str]
    position: int
    active: bool

    @staticmethod
    def resolve_path(obj: Any) -> str:
        return str(obj)


class SlaPolicyIn(ObjectIn):
    name: str = Field(..., min_length=1, max_length=120)
    position: SInt = Field(100, ge=0, le=1_000_000)
    active: SBool = True
    priority: Literal["", "low", "normal", "high", "urgent"] = ""
    category_id: SInt | None = Field(None, ge=1, le=2**62)
    tier: str = Field(
        "", max_length=10, description="Customer tier: vip | gold | silver | standard | '' (any)"
    )
    first_response_minutes: SInt = Field(..., ge=1, le=525_600, description="Business minutes")
    resolution_minutes: SInt = Field(..., ge=1, le=525_600, description="Business minutes")
    warn_before_minutes: SInt = Field(30, ge=0, le=10_080)


class SlaPolicyPatch(ObjectIn):
    name: str | None = Field(None, min_length=1, max_length=120)
    position: SInt | None = Field(None, ge=0, le=1_000_000)
    active: SBool | None = None
    priority: Literal["", "low", "normal", "high", "urgent"] | None = None
    category_id: SInt | None = Field(None, ge=1, le=2**62)
    tier: str | None = Field(None, max_length=10)
    first_response_minutes: SInt | None = Field(None, ge=1, le=525_600)
    resolution_minutes: SInt | None = Field(None, ge=1, le=525_600)
    warn_before_minutes: SInt | None = Field(None, ge=0, le=10_080)


class SlaPolicyOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    priority: str
    category_id: int | None
    tier: str
    first_response_minutes: int
    resolution_minutes: int
    warn_before_minutes: int


TimeStr = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
DayStr = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Weekday = Annotated[int, Strict(), Field(ge=0, le=6)]
Skill = Annotated[str, Field(min_length=1, max_length=60)]


class ScheduleIn(ObjectIn):
    branch_id: SInt | None = Field(None, ge=1, le=2**62, description="Empty: the company default schedule")
    intervals: list[tuple[TimeStr, TimeStr]] = Field(
        default_factory=lambda: [("08:00", "12:00"), ("13:30", "17:30")],
        max_length=6,
        description='Working hours of each working day, e.g. [["08:00","12:00"],["13:30","17:30"]]; "24:00" = midnight',
    )
    weekend: list[Weekday] = Field(
        default_factory=lambda: [5, 6], max_length=7, description="Weekdays off: 0 = Monday"
    )
    extra_holidays: list[DayStr] = Field(default_factory=list, max_length=366, description="YYYY-MM-DD")
    extra_working_days: list[DayStr] = Field(default_factory=list, max_length=366, description="YYYY-MM-DD")
    holidays_enabled: SBool = Field(
        True, description="Vietnamese public holidays (Tết, Giỗ Tổ…) are days off"
    )


class SchedulePatch(ObjectIn):
    branch_id: SInt | None = Field(None, ge=1, le=2**62)
    intervals: list[tuple[TimeStr, TimeStr]] | None = Field(None, max_length=6)
    weekend: list[Weekday] | None = Field(None, max_length=7)
    extra_holidays: list[DayStr] | None = Field(None, max_length=366)
    extra_working_days: list[DayStr] | None = Field(None, max_length=366)
    holidays_enabled: SBool | None = None


class ScheduleOut(Schema):
    id: int
    branch_id: int | None
    intervals: list[list[str]]
    weekend: list[Weekday]
    extra_holidays: list[str]
    extra_working_days: list[str]
    holidays_enabled: bool


class CannedReplyItem(ObjectIn):
    title: str = Field(..., min_length=1, max_length=120)
    body: str = Field(..., min_length=1, max_length=10_000)


class PlaybookIn(ObjectIn):
    category_id: SInt = Field(..., ge=1, le=2**62)
    steps: list[str] = Field(default_factory=list, max_length=50)
    involve: str = Field("", max_length=300)
    canned_replies: list[CannedReplyItem] = Field(default_factory=list, max_length=50)
    active: SBool = True


class CannedReplyOut(Schema):
    id: int
    title: str
    body: str
    category_id: int | None
    language: str
    active: bool
    rendered: str | None = Field(None, description="Filled in for `ticket` when the list was asked with one")


class PlaybookOut(Schema):
    id: int
    category_id: int
    steps: list[str]
    involve: str
    active: bool
    canned_replies: list[CannedReplyOut]

    @staticmethod
    def resolve_canned_replies(obj: Any) -> list[Any]:
        return list(obj.category.canned_replies.all())


class CannedReplyIn(ObjectIn):
    title: str = Field(..., min_length=1, max_length=120)
    body: str = Field(..., min_length=1, max_length=10_000)
    category_id: SInt | None = Field(None, ge=1, le=2**62)
    language: Literal["vi", "en"] = "vi"
    active: SBool = True


class CannedReplyPatch(ObjectIn):
    title: str | None = Field(None, min_length=1, max_length=120)
    body: str | None = Field(None, min_length=1, max_length=10_000)
    category_id: SInt | None = Field(None, ge=1, le=2**62)
    language: Literal["vi", "en"] | None = None
    active: SBool | None = None
