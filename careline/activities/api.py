"""/api/v1/activities — thin adapters over activities.services and activities.selectors."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from careline.activities import selectors, services
from careline.activities.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPage,
    ActivityPatch,
    CompleteIn,
    EmailSendIn,
    EmailTemplateIn,
    EmailTemplateOut,
    EmailTemplatePatch,
)
from careline.api.auth import AuthedRequest
from careline.api.responses import ERRORS
from careline.api.types import IsoDate

router = Router(tags=["activities"])

KindFilter = Literal["", "call", "email", "meeting", "proposal", "offer", "note", "follow_up"]


class ListQuery(Schema):
    customer_id: int | None = NField(None, ge=1, le=2**62)
    owner_id: int | None = NField(None, ge=1, le=2**62)
    date: IsoDate | None = NField(
        None, description="YYYY-MM-DD (local day): done that day, or follow-ups due that day"
    )
    kind: KindFilter = ""
    open: bool = NField(False, description="Only open follow-ups (soonest due first)")
    cursor: str | None = NField(None, max_length=500)
    limit: int = NField(50, ge=1, le=100)


def _out(activity_id: int, request: AuthedRequest, follow_up: Any = None) -> Any:
    activity = selectors.activity_get(actor=request.auth, activity_id=activity_id)
    activity.follow_up = follow_up  # type: ignore[attr-defined]
    return activity


@router.post(
    "",
    response={200: ActivityOut, 201: ActivityOut, **ERRORS},
    summary="Log an activity (201; 200 when the same kind + external_id was logged before)",
)
def create_activity(request: AuthedRequest, payload: ActivityIn) -> Any:
    data = payload.model_dump()
    activity = services.activity_log(
        actor=request.auth,
        customer_id=data.pop("customer_id"),
        owner=data.pop("owner_id"),
        source="api",
        **data,
    )
    status = 200 if getattr(activity, "replayed", False) else 201
    return Status(status, _out(activity.pk, request, getattr(activity, "follow_up", None)))


@router.get("", response={200: ActivityPage, **ERRORS}, summary="List activities")
def list_activities(request: AuthedRequest, query: Query[ListQuery]) -> Any:
    items, next_cursor = selectors.activity_list(
        actor=request.auth,
        customer_id=query.customer_id,
        owner_id=query.owner_id,
        day=query.date,
        kind=query.kind or None,
        open_only=query.open,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/email-templates", response={200: list[EmailTemplateOut], **ERRORS}, summary="Email templates")
def list_email_templates(request: AuthedRequest, archived: bool = False) -> Any:
    return list(selectors.email_template_list(actor=request.auth, include_archived=archived))


@router.post(
    "/email-templates",
    response={201: EmailTemplateOut, **ERRORS},
    summary="Create an email template (needs activity.configure)",
)
def create_email_template(request: AuthedRequest, payload: EmailTemplateIn) -> Any:
    return Status(201, services.email_template_create(actor=request.auth, data=payload.model_dump()))


@router.patch(
    "/email-templates/{int:template_id}",
    response={200: EmailTemplateOut, **ERRORS},
    summary="Change or archive (active=false) an email template",
)
def patch_email_template(request: AuthedRequest, template_id: int, payload: EmailTemplatePatch) -> Any:
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return services.email_template_update(actor=request.auth, template_id=template_id, data=data)


@router.post(
    "/emails",
    response={201: ActivityOut, **ERRORS},
    summary="Send an email to a customer (from a template or written) and log it",
    description="Answers 201 with the email activity; a delivery failure is logged with outcome `failed`.",
)
def send_email(request: AuthedRequest, payload: EmailSendIn) -> Any:
    activity = services.email_send(actor=request.auth, **payload.model_dump())
    return Status(201, _out(activity.pk, request))


@router.get("/{int:activity_id}", response={200: ActivityOut, **ERRORS}, summary="Get an activity")
def get_activity(request: AuthedRequest, activity_id: int) -> Any:
    return selectors.activity_get(actor=request.auth, activity_id=activity_id)


@router.patch("/{int:activity_id}", response={200: ActivityOut, **ERRORS}, summary="Change an activity")
def patch_activity(request: AuthedRequest, activity_id: int, payload: ActivityPatch) -> Any:
    services.activity_update(
        actor=request.auth, activity_id=activity_id, data=payload.model_dump(exclude_unset=True)
    )
    return _out(activity_id, request)


@router.delete("/{int:activity_id}", response={204: None, **ERRORS}, summary="Delete an activity")
def delete_activity(request: AuthedRequest, activity_id: int) -> Any:
    services.activity_delete(actor=request.auth, activity_id=activity_id)
    return Status(204, None)


@router.post(
    "/{int:activity_id}/complete",
    response={200: ActivityOut, **ERRORS},
    summary="Complete a follow-up (done or cancelled; no body = done)",
)
def complete_follow_up(request: AuthedRequest, activity_id: int, payload: CompleteIn | None = None) -> Any:
    body = payload or CompleteIn(outcome="done", notes="")
    services.follow_up_complete(
        actor=request.auth, activity_id=activity_id, outcome=body.outcome, notes=body.notes
    )
    return _out(activity_id, request)
