"""/api/v1/customers — thin adapters over customers.services and customers.selectors."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from careline.api.auth import AuthedRequest
from careline.api.responses import ERRORS, etag, if_match_version
from careline.customers import selectors, services
from careline.customers.schemas import (
    AuditEventOut,
    ConsentIn,
    ConsentOut,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    DuplicatesOut,
    ErrorOut,
    MergedCountOut,
    MergeIn,
    NoteIn,
    NoteOut,
)

router = Router(tags=["customers"])

StageFilter = Literal["", "lead", "prospect", "customer", "inactive"]
SourceFilter = Literal[
    "",
    "web",
    "hotline",
    "zalo",
    "facebook",
    "marketplace",
    "referral",
    "walk_in",
    "event",
    "email",
    "import",
    "other",
]
SortKey = Literal["", "name", "-name", "created", "-created", "-updated"]


class ListQuery(Schema):
    q: str = NField(
        "", max_length=200, description="Name, phone (≥ 4 digits), email or tax code; accents optional"
    )
    stage: StageFilter = ""
    owner: str = NField("", pattern=r"^(|me|none|[0-9]{1,18})$", description="user id, 'me' or 'none'")
    team: int | None = NField(None, ge=1, le=2**62)
    branch: int | None = NField(None, ge=1, le=2**62)
    tag: str = NField("", max_length=50)
    province: str = NField("", pattern=r"^([0-9]{2})?$", description="2-digit province code (2025 list)")
    source: SourceFilter = ""
    archived: bool = False
    sort: SortKey = NField(
        "", description="Order when q does not rank: name (default), -name, created, -created, -updated"
    )
    cursor: str | None = NField(None, max_length=500)
    limit: int = NField(25, ge=1, le=100)


class ExportQuery(ListQuery):
    format: Literal["csv", "xlsx"] = "xlsx"


class DuplicatesQuery(Schema):
    kind: Literal["all", "exact", "likely"] = NField(
        "all",
        description="exact (same phone, email or tax code), likely (same name and province, "
        "similar phone or email, or same birthday) or all",
    )
    limit: int = NField(100, ge=1, le=selectors.DUPLICATES_MAX_LIMIT)


class JobStartedOut(Schema):
    job_id: int


def _filters(query: ListQuery) -> selectors.CustomerFilters:
    return selectors.CustomerFilters.from_data(query)


def _payload(data: Schema) -> tuple[dict[str, Any], bool]:
    """The fields the client sent (unset ones are left alone) and the allow_duplicate flag."""
    raw = data.model_dump(exclude_unset=True)
    allow = bool(raw.pop("allow_duplicate", False))
    for key in ("phones", "emails", "tags"):
        if key in raw and raw[key] is None:
            raw[key] = []  # null clears the list
    return raw, allow


@router.get("", response={200: CustomerPage, **ERRORS}, summary="List and search customers")
def list_customers(request: AuthedRequest, query: Query[ListQuery]) -> Any:
    items, next_cursor = selectors.customer_list(
        actor=request.auth,
        filters=_filters(query),
        sort=query.sort,
        cursor=query.cursor,
        limit=query.limit,
        related=(),
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/export",
    response={200: None, 202: JobStartedOut, **ERRORS},
    summary="Export customers (CSV or XLSX) with the list filters",
    description="Small exports answer the file itself; larger ones answer 202 with a job to poll at /jobs/{id}.",
)
def export_customers(request: AuthedRequest, query: Query[ExportQuery]) -> Any:
    from django.http import FileResponse
    from django.utils.translation import get_language

    from careline.imports import services as import_services
    from careline.imports.choices import JobStatus

    job = import_services.export_start(
        actor=request.auth, filters=_filters(query), fmt=query.format, language=get_language() or "vi"
    )
    path = import_services.job_result_path(job)
    if job.status == JobStatus.SUCCEEDED and path is not None:
        return FileResponse(path.open("rb"), as_attachment=True, filename=job.result_name)
    return Status(202, {"job_id": job.pk})


@router.post("", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def create_customer(request: AuthedRequest, response: HttpResponse, payload: CustomerIn) -> Any:
    data, allow = _payload(payload)
    customer = services.customer_create(actor=request.auth, data=data, allow_duplicate=allow)
    customer = selectors.customer_get(actor=request.auth, customer_id=customer.pk)
    response["ETag"] = etag(customer.version)
    return Status(201, customer)


@router.get(
    "/duplicates",
    response={200: DuplicatesOut, **ERRORS},
    summary="Groups of probable duplicates (needs the merge permission)",
)
def list_duplicates(request: AuthedRequest, query: Query[DuplicatesQuery]) -> Any:
    groups = selectors.customer_duplicate_groups(actor=request.auth, kind=query.kind, limit=query.limit)
    return {
        "groups": [
            {
                "key": g.key,
                "kind": g.kind,
                "reason": g.reason,
                "score": g.score,
                "customer_ids": g.customer_ids,
                "customers": g.customers,
            }
            for g in groups
        ]
    }


@router.post(
    "/duplicates/merge-exact",
    response={200: MergedCountOut, **ERRORS},
    summary="Admins: merge every group of exact duplicates into its oldest customer",
)
def merge_exact_duplicates(request: AuthedRequest) -> Any:
    return {"merged": services.customer_merge_exact_all(actor=request.auth)}


@router.get("/{int:customer_id}", response={200: CustomerOut, **ERRORS}, summary="Get a customer")
def get_customer(request: AuthedRequest, response: HttpResponse, customer_id: int) -> Any:
    customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
    response["ETag"] = etag(customer.version)
    return customer


@router.patch(
    "/{int:customer_id}",
    response={200: CustomerOut, 412: ErrorOut, **ERRORS},
    summary="Change a customer (send If-Match with the ETag from GET)",
)
def patch_customer(
    request: AuthedRequest, response: HttpResponse, customer_id: int, payload: CustomerPatch
) -> Any:
    data, allow = _payload(payload)
    services.customer_update(
        actor=request.auth,
        customer_id=customer_id,
        data=data,
        expected_version=if_match_version(request),
        allow_duplicate=allow,
    )
    customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
    response["ETag"] = etag(customer.version)
    return customer


@router.delete("/{int:customer_id}", response={200: CustomerOut, **ERRORS}, summary="Archive a customer")
def archive_customer(request: AuthedRequest, customer_id: int) -> Any:
    services.customer_archive(actor=request.auth, customer_id=customer_id)
    return selectors.customer_get(actor=request.auth, customer_id=customer_id)


@router.post(
    "/{int:customer_id}/restore",
    response={200: CustomerOut, **ERRORS},
    summary="Restore an archived customer",
)
def restore_customer(request: AuthedRequest, customer_id: int) -> Any:
    services.customer_restore(actor=request.auth, customer_id=customer_id)
    return selectors.customer_get(actor=request.auth, customer_id=customer_id)


@router.post(
    "/{int:customer_id}/merge",
    response={200: CustomerOut, **ERRORS},
    summary="Merge another customer into this one",
    description="Keeps every phone, email and tag, moves notes, consents and contact persons, archives "
    "the other customer (its `merged_into` points here) and records the merge in both histories.",
)
def merge_customer(request: AuthedRequest, response: HttpResponse, customer_id: int, payload: MergeIn) -> Any:
    services.customer_merge(
        actor=request.auth, survivor_id=customer_id, other_id=payload.other_id, fields=payload.fields
    )
    customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
    response["ETag"] = etag(customer.version)
    return customer


@router.get(
    "/{int:customer_id}/history", response={200: list[AuditEventOut], **ERRORS}, summary="Change history"
)
def customer_history(request: AuthedRequest, customer_id: int) -> Any:
    customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
    return list(selectors.customer_history(actor=request.auth, customer=customer)[:200])


@router.get(
    "/{int:customer_id}/notes", response={200: list[NoteOut], **ERRORS}, summary="Notes on a customer"
)
def list_notes(request: AuthedRequest, customer_id: int) -> Any:
    customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
    return list(selectors.customer_notes(customer=customer)[:200])


@router.post("/{int:customer_id}/notes", response={201: NoteOut, **ERRORS}, summary="Add a note")
def add_note(request: AuthedRequest, customer_id: int, payload: NoteIn) -> Any:
    return Status(
        201, services.customer_note_add(actor=request.auth, customer_id=customer_id, body=payload.body)
    )


@router.post("/{int:customer_id}/consents", response={201: ConsentOut, **ERRORS}, summary="Record consent")
def record_consent(request: AuthedRequest, customer_id: int, payload: ConsentIn) -> Any:
    consent = services.customer_consent_record(
        actor=request.auth,
        customer_id=customer_id,
        purpose=payload.purpose,
        status=payload.status,
        method=payload.method,
        evidence=payload.evidence,
        given_at=payload.given_at,
    )
    return Status(201, consent)
