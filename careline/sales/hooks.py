"""Writes behind the signed webhooks (`POST /api/v1/hooks/<slug>`): an inquiry from a connector, a hotline
call log. The adapter (`sales.hooks_api`) verifies the signature and parses the body (`sales.intake`).

Hotline rule (docs/api.md, "Hotline call log"):

* The customer's number is the caller of an inbound call, `called` of an outbound one. It is matched to a
  customer card by phone (any visible card; the system sees all).
* Inbound call from an unknown number (answered, missed or busy) → an inquiry, channel `hotline`,
  external id = call id (it creates the lead customer and is allocated like any lead), and the call
  activity on that new card.
* Call with a known customer → the call activity on their card; the card's owner is notified (unless the
  owner is the agent who took the call). When the call centre sends a `message` (what the customer asked,
  noted by the agent or the IVR), an inquiry is also created for it (attached to the card, handed to the
  owner, external id = call id).
* Outbound call to an unknown number → nothing is stored (answered 200 with `"ignored": true`).
* A hotline connector whose destination is `ticket` (care desk) makes no inquiries: an inbound call —
  answered, missed or busy (care calls back) — opens a ticket (`careline.helpdesk.intake`; the ticket finds
  or creates the customer card, and the call threads into the caller's open call ticket), and the call
  activity is logged on the ticket's customer as above; an outbound call is logged on a known customer's
  card only.
* The call activity: kind `call`, outcome by status (answered → reached, missed → no_answer, busy → busy),
  occurred at `started_at`, the duration and recording URL, external id = call id (so the same call id
  again is one activity and one inquiry), owner = the agent: an active user whose username is `agent`
  (case-insensitive), else whose `User.phone` equals `agent` as sent (an extension such as `101` can be
  stored there) or as a phone number; unknown agent → the system user.

Tickets from webhooks (`webhook_ticket_receive`): `ticket.created` on any connector, and `inquiry.created`
on a connector whose destination is `ticket` — see `careline.helpdesk.intake` for the mapping.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.accounts.models import User
from careline.accounts.services import notification_send, system_user
from careline.activities import services as activity_services
from careline.activities.models import Activity
from careline.core.errors import ValidationFailed
from careline.customers import selectors as customer_selectors
from careline.customers.models import Customer
from careline.helpdesk import intake as ticket_intake
from careline.helpdesk.models import Ticket
from careline.helpdesk.services import TicketResult
from careline.sales import services
from careline.sales.choices import Channel, ConnectorKind, IntakeDestination
from careline.sales.intake import CallEvent, InquiryFields, TicketFields, channel_for_connector
from careline.sales.models import Connector, Inquiry
from careline.vn import InvalidPhone, format_phone, normalize_phone


@dataclass(frozen=True)
class CallResult:
    activity: Activity | None
    inquiry: Inquiry | None
    customer: Customer | None
    created: bool
    ticket: Ticket | None = None

    @property
    def ignored(self) -> bool:
        return self.activity is None


def connector_get_active(*, slug: str) -> Connector | None:
    return Connector.objects.filter(slug=slug, active=True).select_related("branch", "team").first()


def connector_delivery_record(*, connector: Connector) -> None:
    """A correctly signed delivery arrived (whatever its content): shown as "last delivery" in the admin."""
    Connector.objects.filter(pk=connector.pk).update(last_delivery_at=timezone.now())


def webhook_inquiry_receive(
    *, connector: Connector, fields: InquiryFields, event_id: str, payload: dict[str, Any]
) -> services.InquiryResult:
    """`inquiry.created` from a connector: channel by connector kind, external id defaulting to the event id
    (`webhook-id`) so a redelivery is the same inquiry."""
    channel = channel_for_connector(connector.kind)
    if connector.kind == ConnectorKind.HOTLINE:
        channel = Channel.API  # a call centre's plain inquiries: its calls come as call.completed
    data = services.InquiryData(
        channel=channel,
        full_name=fields.full_name,
        phone=fields.phone,
        email=fields.email,
        message=fields.message,
        external_id=(fields.external_id or event_id)[:200],
        product_interest=fields.product_interest,
        language=fields.language or "vi",
        province=fields.province[:2],
        consent=fields.consent,
        consent_evidence=(
            _("Webhook %(connector)s, event %(event)s") % {"connector": connector.name, "event": event_id}
        )
        if fields.consent
        else "",
        received_at=_aware(fields.received_at),
        payload=payload,
        branch_id=connector.branch_id,
        team_id=connector.team_id,
        connector_id=connector.pk,
    )
    return services.inquiry_receive(actor=None, data=data)


def webhook_ticket_receive(
    *, connector: Connector, fields: TicketFields | InquiryFields, event_id: str
) -> TicketResult:
    """`ticket.created` from any connector, or `inquiry.created` from one whose destination is `ticket`:
    a care ticket (threaded into the customer's open ticket on the same topic; a redelivery is the same)."""
    consent = None
    if isinstance(fields, InquiryFields) and fields.consent:
        consent = ticket_intake.ConsentGiven(
            evidence=_("Webhook %(connector)s, event %(event)s")
            % {"connector": connector.name, "event": event_id}
        )
    data = ticket_intake.webhook_ticket_data(connector=connector, fields=fields, event_id=event_id)
    return ticket_intake.ticket_intake(data=data, consent=consent)


def _aware(value: Any) -> Any:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_current_timezone())
    return value


def agent_for(agent: str) -> User | None:
    """The Careline user a call centre names as the agent: username (case-insensitive), else `User.phone`
    equal to the value as sent (extensions) or to it as a normalised phone number. Active users only."""
    agent = (agent or "").strip()
    if not agent:
        return None
    users = User.objects.filter(is_active=True)
    user = users.filter(username__iexact=agent).order_by("pk").first()
    if user is not None:
        return user
    cond = Q(phone=agent)
    with contextlib.suppress(InvalidPhone):
        cond |= Q(phone=normalize_phone(agent))
    return users.filter(cond).order_by("pk").first()


def _customer_by_phone(phone: str) -> Customer | None:
    matches = customer_selectors.customer_duplicates_of(
        actor=system_user(), phones=[phone], emails=[], tax_code=""
    )
    return matches[0][2] if matches else None


def _call_notes(event: CallEvent, phone_display: str) -> str:
    if event.direction == "inbound":
        text = _("Hotline call from %(phone)s") % {"phone": phone_display}
    else:
        text = _("Hotline call to %(phone)s") % {"phone": phone_display}
    if event.message:
        text += "\n" + event.message
    return text


def _notify_owner(customer: Customer, agent: User | None, activity: Activity) -> None:
    """A known customer called: their card's owner hears of it (unless they took the call)."""
    if customer.owner_id and (agent is None or agent.pk != customer.owner_id):
        notification_send(
            user=customer.owner,
            kind="hotline_call",
            message=_("%(name)s (your customer) called the hotline: %(outcome)s")
            % {"name": customer.full_name, "outcome": activity.get_outcome_display()},
            url=reverse("customers:detail", args=[customer.pk]),
        )


def _log_call(event: CallEvent, customer: Customer, phone: str, agent: User | None) -> Activity:
    system = system_user()
    return activity_services.activity_log(
        actor=system,
        customer_id=customer.pk,
        kind="call",
        outcome=event.outcome,
        occurred_at=_aware(event.started_at),
        duration_seconds=event.duration_seconds,
        notes=_call_notes(event, format_phone(phone)),
        owner=agent or system,
        external_id=event.call_id,
        recording_url=event.recording_url,
        source="hotline",
    )


def _call_to_desk(*, connector: Connector, event: CallEvent, phone: str) -> CallResult:
    """A hotline connector whose destination is `ticket`: an inbound call opens (or threads into) a ticket,
    and is logged on the ticket's customer; an outbound one is logged on a known customer only."""
    known = _customer_by_phone(phone)
    agent = agent_for(event.agent)
    if event.direction == "outbound":
        if known is None:
            return CallResult(None, None, None, created=False)
        activity = _log_call(event, known, phone, agent)
        _notify_owner(known, agent, activity)
        return CallResult(activity, None, known, created=True)
    result = ticket_intake.ticket_intake(
        data=ticket_intake.call_ticket_data(
            connector=connector, event=event, phone=phone, phone_display=format_phone(phone), agent=agent
        )
    )
    customer = result.ticket.customer
    activity = _log_call(event, customer, phone, agent)
    if known is not None:
        _notify_owner(customer, agent, activity)
    return CallResult(activity, None, customer, created=True, ticket=result.ticket)


@transaction.atomic
def hotline_call_receive(*, connector: Connector, event: CallEvent) -> CallResult:
    """Log one completed hotline call (see the module docstring for the rule). Idempotent by call id."""
    replay = (
        Activity.objects.filter(kind="call", external_id=event.call_id).select_related("customer").first()
    )
    if replay is not None:
        asked = Inquiry.objects.filter(channel=Channel.HOTLINE, external_id=event.call_id).first()
        ticket = ticket_intake.ticket_for_delivery(channel="hotline", external_id=event.call_id)
        return CallResult(replay, asked, replay.customer, created=False, ticket=ticket)
    number = event.customer_number
    try:
        phone = normalize_phone(number)
    except InvalidPhone:
        field = "caller" if event.direction == "inbound" else "called"
        raise ValidationFailed({field: [_("This is not a valid phone number.")]}) from None
    if connector.destination == IntakeDestination.TICKET:
        return _call_to_desk(connector=connector, event=event, phone=phone)
    customer = _customer_by_phone(phone)
    inquiry: Inquiry | None = None
    if customer is None and event.direction == "outbound":
        return CallResult(None, None, None, created=False)
    known = customer is not None
    if customer is None or event.message:
        result = services.inquiry_receive(
            actor=None,
            data=services.InquiryData(
                channel=Channel.HOTLINE,
                phone=phone,
                message=event.message,
                external_id=event.call_id,
                received_at=_aware(event.started_at),
                payload=dict(event.raw),
                branch_id=connector.branch_id,
                team_id=connector.team_id,
                connector_id=connector.pk,
            ),
        )
        inquiry = result.inquiry
        customer = inquiry.customer
    agent = agent_for(event.agent)
    activity = _log_call(event, customer, phone, agent)
    if known and inquiry is None:
        # With an inquiry, inquiry_receive has already told the owner.
        _notify_owner(customer, agent, activity)
    return CallResult(activity, inquiry, customer, created=True)
