"""/api/v1/hooks/<slug> — signed webhooks (Standard Webhooks) that connectors post inquiries, care tickets
and hotline call logs to. Authenticated by the connector's signature, not by a user token (`auth=None`).

What a delivery makes: `ticket.created` → a care ticket (any connector); `inquiry.created` → a lead, or a
ticket when the connector's destination is `ticket`; anything else on a hotline connector is read as
`call.completed` (a lead or a ticket by destination, and the call activity).

Order of checks: unknown/inactive slug → 404; missing/bad signature or a timestamp more than 5 minutes off
→ 401; body not JSON → 400; not an event we take or an invalid inquiry/call → 422 with `fields`.
See docs/api.md "Lead intake and webhooks" and "Tickets from webhooks, the hotline and web forms".
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.customers.schemas import ErrorOut
from careline.helpdesk.models import Ticket
from careline.sales import hooks
from careline.sales.choices import ConnectorKind, IntakeDestination
from careline.sales.intake import (
    PayloadError,
    SignatureError,
    parse_call_event,
    parse_inquiry_event,
    parse_ticket_event,
    webhook_verify,
)

logger = logging.getLogger(__name__)

hooks_router = Router(tags=["webhooks"], auth=None)

MAX_BODY = 256 * 1024


class HookOut(Schema):
    id: int | None = Field(None, description="The inquiry's id (null when a call created no inquiry)")
    customer_id: int | None = None
    owner_id: int | None = Field(None, description="The allocated consultant; null while queued")
    activity_id: int | None = Field(None, description="call.completed: the call activity logged")
    ignored: bool = Field(False, description="call.completed: an outbound call to an unknown number")
    ticket_id: int | None = Field(
        None,
        description="The care ticket made or threaded into (ticket.created, or a connector whose "
        "destination is ticket); null for leads",
    )
    assignee_id: int | None = Field(None, description="The ticket's care agent; null while in the queue")


class SignatureFailed(ApplicationError):
    status = 401


EXAMPLE = {
    "ticket.created": {
        "type": "ticket.created",
        "data": {
            "full_name": "Nguyễn Thị Lan",
            "phone": "0912 345 678",
            "email": "lan@example.vn",
            "subject": "Đơn hàng giao chậm",
            "message": "Đơn #A1234 đặt từ thứ Hai mà chưa nhận được hàng.",
            "kind": "complaint",
            "category": "Giao hàng",
            "priority": "high",
            "external_id": "shopee-chat-5521",
            "received_at": "2026-10-05T09:30:00+07:00",
        },
    },
    "inquiry.created": {
        "type": "inquiry.created",
        "data": {
            "full_name": "Nguyễn Thị Lan",
            "phone": "0912 345 678",
            "email": "lan@example.vn",
            "message": "Cho em hỏi học phí khoá IELTS",
            "external_id": "zalo-msg-8812",
            "product_interest": "IELTS",
            "province": "01",
            "language": "vi",
            "consent": True,
            "received_at": "2026-10-05T09:30:00+07:00",
        },
    },
    "call.completed": {
        "type": "call.completed",
        "data": {
            "call_id": "c-20261005-0001",
            "caller": "0912345678",
            "called": "19001234",
            "direction": "inbound",
            "started_at": "2026-10-05T09:30:00+07:00",
            "duration_seconds": 95,
            "agent": "101",
            "recording_url": "https://pbx.example.vn/rec/c-20261005-0001.mp3",
            "status": "answered",
        },
    },
}


@hooks_router.post(
    "/{slug}",
    response={200: HookOut, 201: HookOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Receive a signed webhook (inquiry.created, ticket.created, or call.completed for a hotline "
    "connector)",
    description=(
        "Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix seconds, within 5 minutes) and "
        '`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the connector\'s '
        "`whsec_` secret. 201 the first time, 200 for a redelivery of the same event (same `webhook-id` or "
        "`external_id`; for calls the same `call_id`) with the same ids.\n\n"
        "`ticket.created` makes a customer-care ticket on any connector (`ticket_id`; threaded into the "
        "customer's open ticket on the same topic). A connector whose destination is `ticket` also turns "
        "`inquiry.created` and, on a hotline connector, inbound `call.completed` into tickets instead of "
        "leads. `id` and `owner_id` are the lead's inquiry and consultant (for tickets `id` is null and "
        "`owner_id` is the customer card's owner)."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": ["type", "data"]},
                    "examples": {k: {"value": v} for k, v in EXAMPLE.items()},
                }
            },
        }
    },
)
def receive_hook(request: HttpRequest, slug: str) -> Any:
    connector = hooks.connector_get_active(slug=slug)
    if connector is None:
        raise NotFound()
    body = request.body
    try:
        event_id = webhook_verify(connector.secret, body, dict(request.headers))
    except SignatureError as exc:
        raise SignatureFailed(exc.code, exc.reason) from None
    hooks.connector_delivery_record(connector=connector)
    if len(body) > MAX_BODY:
        raise ApplicationError("too_large", "The body is larger than 256 KiB.", status=400)
    try:
        payload = json.loads(body)
    except ValueError:
        raise ApplicationError("bad_json", "The body is not valid JSON.", status=400) from None
    kind = payload.get("type") if isinstance(payload, dict) else None
    try:
        if kind == "ticket.created":
            made = hooks.webhook_ticket_receive(
                connector=connector, fields=parse_ticket_event(payload), event_id=event_id
            )
            return Status(201 if made.outcome != "duplicate" else 200, _ticket_out(made.ticket))
        if connector.kind == ConnectorKind.HOTLINE and kind != "inquiry.created":
            event = parse_call_event(payload)
            call = hooks.hotline_call_receive(connector=connector, event=event)
            out = {
                "id": call.inquiry.pk if call.inquiry else None,
                "customer_id": call.customer.pk if call.customer else None,
                "owner_id": (call.inquiry.owner_id if call.inquiry else call.customer.owner_id)
                if call.customer
                else None,
                "activity_id": call.activity.pk if call.activity else None,
                "ignored": call.ignored,
                "ticket_id": call.ticket.pk if call.ticket else None,
                "assignee_id": call.ticket.assignee_id if call.ticket else None,
            }
            return Status(201 if call.created else 200, out)
        fields = parse_inquiry_event(payload)
    except PayloadError as exc:
        raise ValidationFailed(exc.fields) from None
    if connector.destination == IntakeDestination.TICKET:
        made = hooks.webhook_ticket_receive(connector=connector, fields=fields, event_id=event_id)
        return Status(201 if made.outcome != "duplicate" else 200, _ticket_out(made.ticket))
    result = hooks.webhook_inquiry_receive(
        connector=connector, fields=fields, event_id=event_id, payload=payload
    )
    inquiry = result.inquiry
    return Status(
        201 if result.created else 200,
        {"id": inquiry.pk, "customer_id": inquiry.customer_id, "owner_id": inquiry.owner_id},
    )


def _ticket_out(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": None,
        "customer_id": ticket.customer_id,
        "owner_id": ticket.customer.owner_id,
        "ticket_id": ticket.pk,
        "assignee_id": ticket.assignee_id,
    }
