"""/api/v1/tickets and /api/v1/helpdesk — thin adapters over helpdesk.services and helpdesk.selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from careline.api.auth import AuthedRequest
from careline.api.responses import ERRORS, etag, if_match_version
from careline.api.types import IsoDate
from careline.core.errors import ValidationFailed
from careline.customers.schemas import ErrorOut
from careline.helpdesk import selectors, services
from careline.helpdesk.models import Ticket
from careline.helpdesk.schemas import (
    AssignIn,
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatch,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    FcrOut,
    MessageIn,
    MessageOut,
    NoteIn,
    PlaybookAppliedOut,
    PlaybookIn,
    PlaybookOut,
    ReasonIn,
    ScheduleIn,
    ScheduleOut,
    SchedulePatch,
    SlaPolicyIn,
    SlaPolicyOut,
    SlaPolicyPatch,
    StepIn,
    TicketCreatedOut,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
)

tickets_router = Router(tags=["tickets"])
# Categories, SLA policies, playbooks, canned replies, schedules.
config_router = Router(tags=["helpdesk settings"])


def _datetime(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            {field: [_("Use ISO 8601 with an offset, e.g. 2026-02-13T15:00:00+07:00.")]}
        ) from exc
    if timezone.is_naive(parsed):
        raise ValidationFailed({field: [_("Give a time zone (an offset) with the time.")]})
    return parsed


def _category_id(value: int | str | None, field: str = "category") -> int | None:
    """A category given by id or by name path."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return int(value)
    found = selectors.category_by_path(str(value))
    if found is None:
        raise ValidationFailed({field: [_("No such category (give its id or its full name path).")]})
    return found.pk


def _detail(request: AuthedRequest, response: HttpResponse, ticket_id: int) -> Ticket:
    """The ticket with its customer, conversation, events, playbook steps and SLA timers."""
    ticket = selectors.ticket_detail(actor=request.auth, ticket_id=ticket_id)
    response["ETag"] = etag(ticket.version)
    return ticket


def _patch_data(payload: Schema, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields the client sent; null only counts for the fields that may be cleared."""
    raw = payload.model_dump(exclude_unset=True)
    return {k: v for k, v in raw.items() if v is not None or k in nullable}


def _ticket(request: AuthedRequest, response: HttpResponse, ticket_id: int) -> Ticket:
    ticket = selectors.ticket_get(actor=request.auth, ticket_id=ticket_id)
    response["ETag"] = etag(ticket.version)
    return ticket


# --- tickets -------------------------------------------------------------------------------------------------


class ListQuery(Schema):
    status: Literal["", "active", "new", "open", "waiting", "resolved", "closed"] = Field(
        "", description="A status, or active (new, open or waiting)"
    )
    assignee: str = Field("", pattern=r"^(|me|none|[1-9][0-9]{0,17})$", description="A user id, me or none")
    team: int | None = Field(None, ge=1, le=2**62)
    category: int | None = Field(None, ge=1, le=2**62, description="Includes its sub-categories")
    kind: Literal["", "complaint", "inquiry", "request", "warranty"] = ""
    channel: Literal[
        "", "hotline", "email", "web", "zalo", "facebook", "marketplace", "api", "walk_in", "survey"
    ] = ""
    priority: Literal["", "low", "normal", "high", "urgent"] = ""
    breached: bool | None = Field(None, description="true: a clock is late; false: none is")
    customer: int | None = Field(None, ge=1, le=2**62)
    q: str = Field("", max_length=200, description="Subject or customer (accents optional), or #123")
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


class FcrQuery(Schema):
    group: Literal["agent", "team", "category"] = "agent"
    date_from: IsoDate | None = Field(None, alias="from", description="First local day (YYYY-MM-DD)")
    date_to: IsoDate | None = Field(None, alias="to", description="Last local day, included")


@tickets_router.post(
    "",
    response={200: TicketCreatedOut, 201: TicketCreatedOut, **ERRORS},
    summary="Open a ticket (finds or creates the customer, applies the SLA policy, assigns it)",
    description="201 with a new ticket. 200 with an existing one when the same `channel` + `external_id` was "
    "sent before (`duplicate`), or when the message threaded into the customer's open ticket on the same "
    "topic (`threaded`) or reopened a recently resolved one (`reopened`).",
)
def create_ticket(request: AuthedRequest, response: HttpResponse, payload: TicketIn) -> Any:
    data = services.TicketData(
        channel=payload.channel,
        kind=payload.kind,
        subject=payload.subject,
        message=payload.message,
        customer_id=payload.customer_id,
        phone=payload.phone,
        email=payload.email,
        full_name=payload.full_name,
        category_id=_category_id(payload.category),
        priority=payload.priority,
        opened_at=_datetime(payload.opened_at, "opened_at"),
        external_id=payload.external_id,
        related_ref=payload.related_ref,
        team_id=payload.team_id,
        branch_id=payload.branch_id,
        thread=payload.thread,
    )
    result = services.ticket_receive(actor=request.auth, data=data)
    ticket = Ticket.objects.select_related("customer", "category").get(pk=result.ticket.pk)
    ticket.outcome = result.outcome  # type: ignore[attr-defined]  # rendered by TicketCreatedOut
    response["ETag"] = etag(ticket.version)
    return Status(201 if result.created else 200, ticket)


@tickets_router.get("", response={200: TicketPage, **ERRORS}, summary="List tickets (newest first)")
def list_tickets(request: AuthedRequest, query: Query[ListQuery]) -> Any:
    filters = selectors.TicketFilters(
        status=query.status,
        assignee=query.assignee,
        team=query.team,
        category=query.category,
        kind=query.kind,
        channel=query.channel,
        priority=query.priority,
        breached=query.breached,
        customer=query.customer,
        q=query.q,
    )
    items, next_cursor = selectors.ticket_list(
        actor=request.auth, filters=filters, cursor=query.cursor, limit=query.limit
    )
    return {"items": items, "next_cursor": next_cursor}


@tickets_router.get(
    "/fcr",
    response={200: FcrOut, **ERRORS},
    summary="First-contact resolution per agent, team or category",
    description="Tickets resolved between `from` and `to` (local days, both included): how many, how many "
    "at first contact (at most one reply to the customer and never reopened) and the rate.",
)
def fcr(request: AuthedRequest, query: Query[FcrQuery]) -> Any:
    date_from, date_to = query.date_from, query.date_to
    rows, total = selectors.fcr_stats(
        actor=request.auth, group=query.group, date_from=date_from, date_to=date_to
    )

    def row(r: selectors.FcrRow) -> dict[str, Any]:
        return {"key": r.key, "label": r.label, "resolved": r.resolved, "fcr": r.fcr, "rate": r.rate}

    return {
        "group": query.group,
        "date_from": date_from,
        "date_to": date_to,
        "rows": [row(r) for r in rows],
        "total": row(total),
    }


@tickets_router.get(
    "/{int:ticket_id}",
    response={200: TicketDetailOut, **ERRORS},
    summary="A ticket with its conversation, events, playbook steps and SLA timers",
    description="`timers.*.seconds_left` is business time (working hours of the ticket's branch, Vietnamese "
    "public holidays off); `timers.resolution.paused` while waiting on the customer. ETag = version.",
)
def get_ticket(request: AuthedRequest, response: HttpResponse, ticket_id: int) -> Any:
    return _detail(request, response, ticket_id)


@tickets_router.patch(
    "/{int:ticket_id}",
    response={200: TicketOut, 412: ErrorOut, **ERRORS},
    summary="Change priority, category, kind, subject, related reference, or put it in waiting / open",
    description="Send If-Match with the ETag from GET (412 when the ticket changed meanwhile).",
)
def patch_ticket(request: AuthedRequest, response: HttpResponse, ticket_id: int, payload: TicketPatch) -> Any:
    raw = payload.model_dump(exclude_unset=True)
    data: dict[str, Any] = {}
    for key in ("priority", "kind", "subject", "related_ref", "status"):
        if key in raw:
            if raw[key] is None:
                raise ValidationFailed({key: [_("This field cannot be empty.")]})
            data[key] = raw[key]
    if "category" in raw:
        data["category_id"] = _category_id(raw["category"])
    services.ticket_update(
        actor=request.auth, ticket_id=ticket_id, data=data, expected_version=if_match_version(request)
    )
    return _ticket(request, response, ticket_id)


@tickets_router.post(
    "/{int:ticket_id}/messages",
    response={201: MessageOut, **ERRORS},
    summary="Reply to the customer, or add an internal note",
    description="On email tickets a reply is sent by email (threaded, `[#id]` in the subject); on other "
    "channels it is recorded (delivery is the connector's job). The first reply sets the first response time.",
)
def add_message(request: AuthedRequest, ticket_id: int, payload: MessageIn) -> Any:
    message = services.message_add(
        actor=request.auth,
        ticket_id=ticket_id,
        body=payload.body,
        internal=payload.internal,
        direction=None if payload.internal else (payload.direction or "outbound"),
    )
    return Status(201, message)


@tickets_router.post(
    "/{int:ticket_id}/resolve",
    response={200: TicketOut, **ERRORS},
    summary="Resolve a ticket (FCR is decided now)",
)
def resolve_ticket(
    request: AuthedRequest, response: HttpResponse, ticket_id: int, payload: NoteIn | None = None
) -> Any:
    services.ticket_resolve(actor=request.auth, ticket_id=ticket_id, note=payload.note if payload else "")
    return _ticket(request, response, ticket_id)


@tickets_router.post(
    "/{int:ticket_id}/reopen",
    response={200: TicketOut, **ERRORS},
    summary="Reopen a resolved or closed ticket (clears FCR, restarts the resolution clock)",
)
def reopen_ticket(
    request: AuthedRequest, response: HttpResponse, ticket_id: int, payload: ReasonIn | None = None
) -> Any:
    services.ticket_reopen(actor=request.auth, ticket_id=ticket_id, reason=payload.reason if payload else "")
    return _ticket(request, response, ticket_id)


@tickets_router.post(
    "/{int:ticket_id}/assign",
    response={200: TicketOut, **ERRORS},
    summary="Give the ticket to someone (or back to the team queue) — supervisors and heads of care",
)
def assign_ticket(request: AuthedRequest, response: HttpResponse, ticket_id: int, payload: AssignIn) -> Any:
    services.ticket_assign(
        actor=request.auth, ticket_id=ticket_id, user_id=payload.user_id, note=payload.note
    )
    return _ticket(request, response, ticket_id)


def _playbook_out(view: services.PlaybookView) -> dict[str, Any]:
    return {
        "playbook_id": view.playbook.pk,
        "category_id": view.playbook.category_id,
        "involve": view.involve,
        "steps": [
            {
                "number": s.number,
                "text": s.text,
                "done": s.done,
                "done_by_id": s.done_by.pk if s.done_by else None,
                "done_at": s.done_at,
            }
            for s in view.steps
        ],
        "canned_replies": [
            {"id": r.reply.pk, "title": r.reply.title, "body": r.body} for r in view.canned_replies
        ],
    }


@tickets_router.post(
    "/{int:ticket_id}/playbook",
    response={200: PlaybookAppliedOut, **ERRORS},
    summary="Apply the category's playbook: its steps (ticked or not) and canned replies filled in",
    description="409 `no_playbook` when neither the category nor a parent category has one.",
)
def apply_playbook(request: AuthedRequest, ticket_id: int) -> Any:
    return _playbook_out(services.playbook_apply(actor=request.auth, ticket_id=ticket_id))


@tickets_router.post(
    "/{int:ticket_id}/steps/{int:step}",
    response={200: PlaybookAppliedOut, **ERRORS},
    summary="Tick (or untick with done=false) a playbook step (1-based)",
)
def tick_step(request: AuthedRequest, ticket_id: int, step: int, payload: StepIn | None = None) -> Any:
    done = payload.done if payload is not None else True
    view = services.step_check(actor=request.auth, ticket_id=ticket_id, step=step, done=done)
    return _playbook_out(view)


# --- settings ----------------------------------------------------------------------------------------------


class CategoryQuery(Schema):
    inactive: bool = Field(False, description="Include deactivated categories")


@config_router.get(
    "/categories", response={200: list[CategoryOut], **ERRORS}, summary="Ticket categories (a tree)"
)
def list_categories(request: AuthedRequest, query: Query[CategoryQuery]) -> Any:
    return selectors.category_list(actor=request.auth, include_inactive=query.inactive)


@config_router.post("/categories", response={201: CategoryOut, **ERRORS}, summary="Create a category")
def create_category(request: AuthedRequest, payload: CategoryIn) -> Any:
    category = services.category_create(actor=request.auth, **payload.model_dump())
    return Status(201, selectors.category_get(actor=request.auth, category_id=category.pk))


@config_router.patch(
    "/categories/{int:category_id}", response={200: CategoryOut, **ERRORS}, summary="Change a category"
)
def patch_category(request: AuthedRequest, category_id: int, payload: CategoryPatch) -> Any:
    services.category_update(
        actor=request.auth, category_id=category_id, data=_patch_data(payload, ("parent_id", "team_id"))
    )
    return selectors.category_get(actor=request.auth, category_id=category_id)


@config_router.delete(
    "/categories/{int:category_id}",
    response={204: None, **ERRORS},
    summary="Delete a category (one in use is deactivated instead)",
)
def delete_category(request: AuthedRequest, category_id: int) -> Any:
    services.category_delete(actor=request.auth, category_id=category_id)
    return Status(204, None)


@config_router.get(
    "/sla-policies", response={200: list[SlaPolicyOut], **ERRORS}, summary="SLA policies (in order)"
)
def list_policies(request: AuthedRequest) -> Any:
    return selectors.sla_policy_list(actor=request.auth)


@config_router.post("/sla-policies", response={201: SlaPolicyOut, **ERRORS}, summary="Create an SLA policy")
def create_policy(request: AuthedRequest, payload: SlaPolicyIn) -> Any:
    return Status(201, services.sla_policy_save(actor=request.auth, data=payload.model_dump()))


@config_router.patch(
    "/sla-policies/{int:policy_id}", response={200: SlaPolicyOut, **ERRORS}, summary="Change an SLA policy"
)
def patch_policy(request: AuthedRequest, policy_id: int, payload: SlaPolicyPatch) -> Any:
    return services.sla_policy_save(
        actor=request.auth, data=_patch_data(payload, ("category_id",)), policy_id=policy_id
    )


@config_router.delete(
    "/sla-policies/{int:policy_id}", response={204: None, **ERRORS}, summary="Delete an SLA policy"
)
def delete_policy(request: AuthedRequest, policy_id: int) -> Any:
    services.sla_policy_delete(actor=request.auth, policy_id=policy_id)
    return Status(204, None)


@config_router.get(
    "/schedules", response={200: list[ScheduleOut], **ERRORS}, summary="Working hours for SLA clocks"
)
def list_schedules(request: AuthedRequest) -> Any:
    return selectors.schedule_list(actor=request.auth)


@config_router.post(
    "/schedules",
    response={201: ScheduleOut, **ERRORS},
    summary="Create a branch's (or the default) working hours",
)
def create_schedule(request: AuthedRequest, payload: ScheduleIn) -> Any:
    return Status(201, services.schedule_save(actor=request.auth, data=payload.model_dump()))


@config_router.patch(
    "/schedules/{int:schedule_id}", response={200: ScheduleOut, **ERRORS}, summary="Change working hours"
)
def patch_schedule(request: AuthedRequest, schedule_id: int, payload: SchedulePatch) -> Any:
    return services.schedule_save(
        actor=request.auth, data=_patch_data(payload, ("branch_id",)), schedule_id=schedule_id
    )


@config_router.delete(
    "/schedules/{int:schedule_id}", response={204: None, **ERRORS}, summary="Delete working hours"
)
def delete_schedule(request: AuthedRequest, schedule_id: int) -> Any:
    services.schedule_delete(actor=request.auth, schedule_id=schedule_id)
    return Status(204, None)


@config_router.get("/playbooks", response={200: list[PlaybookOut], **ERRORS}, summary="Handling procedures")
def list_playbooks(request: AuthedRequest) -> Any:
    return selectors.playbook_list(actor=request.auth)


@config_router.post(
    "/playbooks",
    response={200: PlaybookOut, **ERRORS},
    summary="Create or replace a category's playbook (steps, who to involve, canned replies)",
)
def save_playbook(request: AuthedRequest, payload: PlaybookIn) -> Any:
    playbook = services.playbook_save(
        actor=request.auth,
        category_id=payload.category_id,
        steps=payload.steps,
        involve=payload.involve,
        canned_replies=[r.model_dump() for r in payload.canned_replies],
        active=payload.active,
    )
    return next(p for p in selectors.playbook_list(actor=request.auth) if p.pk == playbook.pk)


@config_router.delete(
    "/playbooks/{int:playbook_id}", response={204: None, **ERRORS}, summary="Delete a playbook"
)
def delete_playbook(request: AuthedRequest, playbook_id: int) -> Any:
    services.playbook_delete(actor=request.auth, playbook_id=playbook_id)
    return Status(204, None)


class CannedQuery(Schema):
    category: int | None = Field(
        None, ge=1, le=2**62, description="Replies of this category, its parents and general ones"
    )
    ticket: int | None = Field(None, ge=1, le=2**62, description="Fill the placeholders for this ticket")
    inactive: bool = False


@config_router.get(
    "/canned-replies",
    response={200: list[CannedReplyOut], **ERRORS},
    summary="Canned replies (with `ticket`: those for its category, filled in)",
)
def list_canned_replies(request: AuthedRequest, query: Query[CannedQuery]) -> Any:
    ticket = selectors.ticket_get(actor=request.auth, ticket_id=query.ticket) if query.ticket else None
    category_id = query.category if query.category else (ticket.category_id if ticket else None)
    replies = selectors.canned_reply_list(
        actor=request.auth,
        category_id=category_id if (query.category or ticket) else None,
        include_inactive=query.inactive,
    )
    if ticket is not None and not query.category and ticket.category_id is None:
        replies = [r for r in replies if r.category_id is None]  # a ticket without category: general ones
    out = []
    for reply in replies:
        item = CannedReplyOut.from_orm(reply).model_dump()
        if ticket is not None:
            item["rendered"] = services.canned_reply_render(reply, ticket, request.auth)
        out.append(item)
    return out


@config_router.post(
    "/canned-replies", response={201: CannedReplyOut, **ERRORS}, summary="Create a canned reply"
)
def create_canned_reply(request: AuthedRequest, payload: CannedReplyIn) -> Any:
    return Status(201, services.canned_reply_save(actor=request.auth, data=payload.model_dump()))


@config_router.patch(
    "/canned-replies/{int:reply_id}",
    response={200: CannedReplyOut, **ERRORS},
    summary="Change a canned reply",
)
def patch_canned_reply(request: AuthedRequest, reply_id: int, payload: CannedReplyPatch) -> Any:
    return services.canned_reply_save(
        actor=request.auth, data=_patch_data(payload, ("category_id",)), reply_id=reply_id
    )


@config_router.delete(
    "/canned-replies/{int:reply_id}", response={204: None, **ERRORS}, summary="Delete a canned reply"
)
def delete_canned_reply(request: AuthedRequest, reply_id: int) -> Any:
    services.canned_reply_delete(actor=request.auth, reply_id=reply_id)
    return Status(204, None)
