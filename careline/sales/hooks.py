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
* The call activity: kind `call`, outcome by status (answered → reached, missed → no_answer, busy → busy),
  occurred at `started_at`, the duration and recording URL, external id = call id (so the same call id
  again is one activity and one inquiry), owner = the agent: an active user whose username is `agent`
  (case-insensitive), else whose `User.phone` equals `agent` as sent (an extension such as `101` can be
  stored there) or as a phone number; unknown agent → the system user.
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
from careline.sales import services
from careline.sales.choices import Channel, ConnectorKind
from careline.sales.intake import CallEvent, InquiryFields, channel_for_connector
from careline.sales.models import Connector, Inquiry
from careline.vn import InvalidPhone, format_phone, normalize_phone


@dataclass(frozen=True)
class CallResult:
    activity: Activity | None
    inquiry: Inquiry | None
    customer: Customer | None
    created: bool

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


@transaction.atomic
def hotline_call_receive(*, connector: Connector, event: CallEvent) -> CallResult:
    """Log one completed hotline call (see the module docstring for the rule). Idempotent by call id."""
    replay = (
        Activity.objects.filter(kind="call", external_id=event.call_id).select_related("customer").first()
    )
    if replay is not None:
        asked = Inquiry.objects.filter(channel=Channel.HOTLINE, external_id=event.call_id).first()
        return CallResult(replay, asked, replay.customer, created=False)
    number = event.customer_number
    try:
        phone = normalize_phone(number)
    except InvalidPhone:
        field = "caller" if event.direction == "inbound" else "called"
        raise ValidationFailed({field: [_("This is not a valid phone number.")]}) from None
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
    system = system_user()
    activity = activity_services.activity_log(
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
    if known and customer.owner_id and (agent is None or agent.pk != customer.owner_id) and inquiry is None:
        # With an inquiry, inquiry_receive has already told the owner.
        notification_send(
            user=customer.owner,
            kind="hotline_call",
            message=_("%(name)s (your customer) called the hotline: %(outcome)s")
            % {"name": customer.full_name, "outcome": activity.get_outcome_display()},
            url=reverse("customers:detail", args=[customer.pk]),
        )
    return CallResult(activity, inquiry, customer, created=True)
