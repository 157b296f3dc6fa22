"""Typed shapes of inquiries, leads and allocation rules at the API edge."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class InquiryIn(Schema):
    full_name: str = Field("", max_length=200)
    phone: str = Field(
        "", max_length=40, description="Any common Vietnamese format; phone or email is required"
    )
    email: str = Field("", max_length=254)
    channel: str = Field("api", description="web | hotline | email | zalo | facebook | marketplace | api")
    message: str = Field("", max_length=20000)
    external_id: str = Field(
        "",
        max_length=200,
        description="The sender's id of this inquiry: the same channel + id again → 200, same id",
    )
    product_interest: str = Field("", max_length=120)
    language: str = Field("vi", max_length=5)
    province: str = Field("", max_length=2, description="2-digit province code (2025 list)")
    consent: bool = Field(False, description="The person agreed to be contacted")
    received_at: dt.datetime | None = None


class InquiryCreated(Schema):
    id: int
    customer_id: int
    owner_id: int | None = Field(None, description="The allocated consultant; null while queued")
    status: str
    new_customer: bool


class AssignmentOut(Schema):
    created_at: dt.datetime
    from_user_id: int | None
    to_user_id: int | None
    reason: str
    rule_id: int | None
    actor_id: int | None
    note: str


class InquiryOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    channel: str
    external_id: str
    received_at: dt.datetime
    full_name: str
    phone: str
    email: str
    message: str
    product_interest: str
    language: str
    province: str
    consent: bool
    score: int
    new_customer: bool
    status: str
    owner_id: int | None
    team_id: int | None
    branch_id: int | None
    rule_id: int | None
    assigned_at: dt.datetime | None
    contact_due_at: dt.datetime | None
    first_contact_at: dt.datetime | None

    @staticmethod
    def resolve_customer_name(obj) -> str:  # type: ignore[no-untyped-def]
        return obj.customer.full_name


class InquiryDetailOut(InquiryOut):
    assignments: list[AssignmentOut]

    @staticmethod
    def resolve_assignments(obj) -> list:  # type: ignore[no-untyped-def]
        from careline.sales.selectors import assignments_for_inquiry

        return assignments_for_inquiry(inquiry=obj)


class InquiryPage(Schema):
    items: list[InquiryOut]
    next_cursor: str | None


class AssignIn(Schema):
    user_id: int
    note: str = Field("", max_length=300)


class BulkAssignIn(Schema):
    ids: list[int] = Field(..., min_length=1, max_length=1000)
    user_id: int
    note: str = Field("", max_length=300)


class ReclaimIn(Schema):
    note: str = Field("", max_length=300)
    reallocate: bool = True


class AllocateOut(Schema):
    considered: int
    assigned: int
    still_queued: int
    reclaimed: int


class MemberIn(Schema):
    user_id: int
    capacity: int | None = Field(
        None, ge=1, description="Max open leads (also the weight of the weighted strategy)"
    )
    skills: list[str] = []
    languages: list[str] = []
    active: bool = True


class MemberOut(Schema):
    id: int
    user_id: int
    position: int
    capacity: int | None
    skills: list[str]
    languages: list[str]
    active: bool
    assigned_count: int
    last_assigned_at: dt.datetime | None


class RuleIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    position: int = Field(100, ge=0)
    active: bool = True
    team_id: int
    channels: list[str] = []
    provinces: list[str] = []
    products: list[str] = []
    languages: list[str] = []
    strategy: str = Field("round_robin", description="round_robin | weighted | least_loaded")
    reclaim_after_minutes: int | None = Field(None, ge=1)
    respect_working_hours: bool = True
    work_start: dt.time = dt.time(8, 0)
    work_end: dt.time = dt.time(17, 30)
    members: list[MemberIn] | None = Field(None, description="The rotation, in round-robin order")


class RulePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    position: int | None = Field(None, ge=0)
    active: bool | None = None
    team_id: int | None = None
    channels: list[str] | None = None
    provinces: list[str] | None = None
    products: list[str] | None = None
    languages: list[str] | None = None
    strategy: str | None = None
    reclaim_after_minutes: int | None = Field(None, ge=1)
    respect_working_hours: bool | None = None
    work_start: dt.time | None = None
    work_end: dt.time | None = None
    members: list[MemberIn] | None = None


class RuleOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    team_id: int
    branch_id: int
    channels: list[str]
    provinces: list[str]
    products: list[str]
    languages: list[str]
    strategy: str
    reclaim_after_minutes: int | None
    respect_working_hours: bool
    work_start: dt.time
    work_end: dt.time
    members: list[MemberOut]

    @staticmethod
    def resolve_members(obj) -> list:  # type: ignore[no-untyped-def]
        return list(obj.members.all())


class AbsenceIn(Schema):
    user_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    kind: str = Field("leave", description="leave | sick | training | other")
    note: str = Field("", max_length=200)


class AbsenceOut(Schema):
    id: int
    user_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    kind: str
    note: str
