"""Typed shapes of customers at the API edge."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from careline.customers.choices import ContactKind
from careline.customers.models import Customer
from careline.vn import format_phone


class PhoneIn(Schema):
    number: str = Field(..., max_length=40, description="Any common format: 0912 345 678, +84…, 912345678")
    label: str = Field("mobile", description="mobile | home | work | zalo | other")


class PhoneOut(Schema):
    number: str = Field(..., description="E.164, e.g. +84912345678")
    display: str = Field(..., description="As shown to people, e.g. 0912 345 678")
    label: str


class CustomerWrite(Schema):
    kind: str | None = Field(None, description="person | organization")
    full_name: str | None = Field(None, max_length=300)
    salutation: str | None = Field(None, description="anh | chi | em | co | chu | bac | ong | ba | ban | ''")
    organization_id: int | None = None
    job_title: str | None = None
    phones: list[str | PhoneIn] | None = None
    emails: list[str] | None = None
    birthday: dt.date | None = None
    lunar_birthday: bool | None = None
    founded_on: dt.date | None = None
    tax_code: str | None = None
    province: str | None = Field(None, description="2-digit province code (2025 list), e.g. 01 = Hà Nội")
    ward: str | None = None
    street: str | None = None
    legacy_address: str | None = None
    tier: str | None = None
    tags: list[str] | None = None
    stage: str | None = Field(None, description="lead | prospect | customer | inactive")
    source: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    branch_id: int | None = None
    contract_terms: str | None = None
    price_type: str | None = None
    receivable_amount: int | None = Field(None, description="VND (whole đồng)")
    receivable_due: dt.date | None = None
    external_ref: str | None = None


class CustomerIn(CustomerWrite):
    full_name: str = Field(..., min_length=1, max_length=300)  # type: ignore[assignment]
    allow_duplicate: bool = Field(False, description="Admins only: create even if a phone/email/MST exists")


class CustomerPatch(CustomerWrite):
    allow_duplicate: bool = False


class CustomerOut(Schema):
    id: int
    kind: str
    full_name: str
    given_name: str
    salutation: str
    organization_id: int | None
    job_title: str
    phones: list[str]
    phone_details: list[PhoneOut]
    emails: list[str]
    birthday: dt.date | None
    lunar_birthday: bool
    founded_on: dt.date | None
    tax_code: str
    province: str
    ward: str
    street: str
    legacy_address: str
    tier: str
    tags: list[str]
    stage: str
    source: str
    owner_id: int | None
    team_id: int | None
    branch_id: int | None
    contract_terms: str
    price_type: str
    receivable_amount: int
    receivable_due: dt.date | None
    external_ref: str
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_phones(obj: Customer) -> list[str]:
        return [p.value for p in obj.contact_points.all() if p.kind == ContactKind.PHONE]

    @staticmethod
    def resolve_phone_details(obj: Customer) -> list[dict[str, str]]:
        return [
            {"number": p.value, "display": format_phone(p.value), "label": p.label}
            for p in obj.contact_points.all()
            if p.kind == ContactKind.PHONE
        ]

    @staticmethod
    def resolve_emails(obj: Customer) -> list[str]:
        return [p.value for p in obj.contact_points.all() if p.kind == ContactKind.EMAIL]

    @staticmethod
    def resolve_tags(obj: Customer) -> list[str]:
        return [t.name for t in obj.tags.all()]


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class NoteIn(Schema):
    body: str = Field(..., min_length=1, max_length=10_000)


class NoteOut(Schema):
    id: int
    body: str
    author_id: int | None
    created_at: dt.datetime


class ConsentIn(Schema):
    purpose: str = Field(..., description="care_calls | marketing")
    status: str = Field(..., description="granted | withdrawn")
    method: str = Field(..., description="web_form | phone_call | paper | zalo | email | in_person")
    evidence: str = ""
    given_at: dt.datetime | None = None


class ConsentOut(Schema):
    id: int
    purpose: str
    status: str
    method: str
    evidence: str
    given_at: dt.datetime
    recorded_by_id: int | None


class AuditEventOut(Schema):
    id: int
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str
    action: str
    changes: dict
    ip: str | None
    source: str


MergeSide = Literal["survivor", "other"]


class MergeIn(Schema):
    other_id: int = Field(..., ge=1, le=2**62, description="The customer merged away into this one")
    fields: dict[str, MergeSide] = Field(
        default_factory=dict,
        description='Which side each field takes, e.g. {"full_name": "other"}. Fields not named keep '
        "this customer's value, or take the other's when this one's is empty.",
    )


class DuplicateGroupOut(Schema):
    key: str = Field(..., description="phone:+84…, email:…, tax_code:… or likely:…")
    kind: str = Field(..., description="exact | likely")
    reason: str
    score: float = Field(..., description="1.0 for a shared phone/email/tax code; 0–1 for likely ones")
    customer_ids: list[int]
    customers: list[CustomerOut]


class DuplicatesOut(Schema):
    groups: list[DuplicateGroupOut]


class MergedCountOut(Schema):
    merged: int = Field(..., description="How many customers were merged away")


class ErrorBody(Schema):
    code: str
    message: str
    details: dict


class ErrorOut(Schema):
    error: ErrorBody
