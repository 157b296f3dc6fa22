"""Tickets from the intake channels that the sales app runs for leads (docs/api.md "Tickets from webhooks,
the hotline and web forms").

A web form or a webhook connector whose `destination` is `ticket` sends what it receives to the care desk
instead of sales; any connector also takes `ticket.created` events. This module turns what
`careline.sales.intake` parsed (plus the connector's or form's defaults) into a `TicketData` for
`services.ticket_receive`, which finds or creates the customer by phone/email, drops redeliveries by
(channel, external id), threads the message into the customer's open ticket on the same topic, applies the
SLA policy and assigns. `ticket_intake` is the one write: the ticket and, when the sender gave it, the
customer's consent to care calls, in one transaction.

* **Signed webhooks** (`ticket.created`, or `inquiry.created` on a connector whose destination is `ticket`):
  channel by connector kind (zalo, facebook, marketplace keep their name; hotline and other → api);
  external id defaulting to the `webhook-id`; threading on; kind = the event's, else the connector's default,
  else inquiry; category = the event's (id or name path), else the connector's default. An inquiry's
  `product_interest` becomes the ticket's related reference.
* **Hotline** (`call.completed`, inbound, on a hotline connector whose destination is `ticket`): channel
  hotline, external id = call id, threading on (a caller who calls again while their call ticket is open
  adds to it), subject = the first line of the call's `message`, else "Hotline call from 0912 345 678" —
  "Missed hotline call from …" for missed or busy calls, which open a ticket too so that care calls back;
  the message = the call notes (status, duration, agent, recording, call id); assignee = the agent who took
  the call when the PBX names a Careline user who takes tickets (see `takes_tickets`), else the desk's
  automatic assignment.
* **Web forms**: channel web, threading on; subject and message as typed; kind = the form's default, else
  the visitor's choice (inquiry when none); the product chosen becomes the related reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from careline.accounts.models import User
from careline.accounts.services import system_user
from careline.core.errors import ValidationFailed
from careline.customers import services as customer_services
from careline.customers.choices import ConsentMethod, ConsentPurpose, ConsentStatus
from careline.helpdesk import selectors, services
from careline.helpdesk.assignment import AGENT_ROLES
from careline.helpdesk.choices import TicketChannel, TicketKind
from careline.helpdesk.models import AgentProfile, Category, Ticket

if TYPE_CHECKING:
    from careline.sales.intake import CallEvent, InquiryFields, TicketFields
    from careline.sales.models import Connector, WebForm

CONNECTOR_CHANNELS: Mapping[str, str] = {
    "zalo": TicketChannel.ZALO,
    "facebook": TicketChannel.FACEBOOK,
    "marketplace": TicketChannel.MARKETPLACE,
}
CONSENT_METHODS: Mapping[str, str] = {
    TicketChannel.WEB: ConsentMethod.WEB_FORM,
    TicketChannel.ZALO: ConsentMethod.ZALO,
    TicketChannel.EMAIL: ConsentMethod.EMAIL,
}
SUBJECT_FROM_MESSAGE = 120


def channel_for_connector(kind: str) -> str:
    """The ticket channel of a connector's events: zalo/facebook/marketplace keep theirs, others are `api`
    (a call centre's tickets and inquiries too; its calls are `hotline`)."""
    return CONNECTOR_CHANNELS.get(kind, TicketChannel.API)


def category_id_for(value: int | str | None, *, default: int | None = None) -> int | None:
    """A category given by id or by name path ("Học phí › Hoàn học phí"); none given → `default`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, int):
        return value
    if value.strip().isdigit():
        return int(value)
    found = selectors.category_by_path(value)
    if found is None:
        raise ValidationFailed({"category": [_("No such category (give its id or its full name path).")]})
    return found.pk


def default_category_id(category_id: int | None) -> int | None:
    """A connector's or form's default category, while it is active (a deactivated one is not used)."""
    if category_id is None:
        return None
    return category_id if Category.objects.filter(pk=category_id, active=True).exists() else None


def takes_tickets(user: User) -> bool:
    """Whether a person handles tickets: their agent profile says so, else their role is care agent or
    head of care (the rule of automatic assignment)."""
    profile = AgentProfile.objects.filter(user_id=user.pk).first()
    if profile is not None:
        return profile.takes_tickets
    return user.role_code in AGENT_ROLES


def _subject_from(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:SUBJECT_FROM_MESSAGE]


# --- webhooks --------------------------------------------------------------------------------------------


def webhook_ticket_data(
    *, connector: Connector, fields: TicketFields | InquiryFields, event_id: str
) -> services.TicketData:
    """`ticket.created` (TicketFields) or `inquiry.created` on a ticket connector (InquiryFields)."""
    kind = getattr(fields, "kind", "") or connector.ticket_kind or TicketKind.INQUIRY
    category = getattr(fields, "category", None)
    return services.TicketData(
        channel=channel_for_connector(connector.kind),
        kind=kind,
        subject=getattr(fields, "subject", ""),
        message=fields.message,
        phone=fields.phone,
        email=fields.email,
        full_name=fields.full_name,
        category_id=category_id_for(category, default=default_category_id(connector.ticket_category_id)),
        priority=getattr(fields, "priority", ""),
        external_id=(fields.external_id or event_id)[:200],
        related_ref=getattr(fields, "product_interest", "")[:200],
        team_id=connector.team_id,
        branch_id=connector.branch_id,
        thread=True,
    )


# --- hotline ---------------------------------------------------------------------------------------------


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if minutes:
        return _("%(min)d min %(sec)d s") % {"min": minutes, "sec": rest}
    return _("%(sec)d s") % {"sec": rest}


def call_subject(event: CallEvent, phone_display: str) -> str:
    if event.message.strip():
        return _subject_from(event.message)
    if event.status == "answered":
        return _("Hotline call from %(phone)s") % {"phone": phone_display}
    return _("Missed hotline call from %(phone)s") % {"phone": phone_display}


def call_notes(event: CallEvent, phone_display: str) -> str:
    """The ticket's first message: who called, what they asked, and the call's facts."""
    status = {
        "answered": pgettext("hotline call", "answered"),
        "missed": _("missed: call the customer back"),
        "busy": _("busy: call the customer back"),
    }[event.status]
    lines = [_("Hotline call from %(phone)s") % {"phone": phone_display}]
    if event.message.strip():
        lines.append(event.message.strip())
    lines.append(_("Status: %(status)s") % {"status": status})
    lines.append(_("Duration: %(duration)s") % {"duration": _duration(event.duration_seconds)})
    if event.agent:
        lines.append(_("Agent: %(agent)s") % {"agent": event.agent})
    if event.recording_url:
        lines.append(_("Recording: %(url)s") % {"url": event.recording_url})
    lines.append(_("Call id: %(id)s") % {"id": event.call_id})
    return "\n".join(lines)


def call_ticket_data(
    *, connector: Connector, event: CallEvent, phone: str, phone_display: str, agent: User | None
) -> services.TicketData:
    """An inbound call (answered, missed or busy) on a hotline connector whose destination is `ticket`."""
    return services.TicketData(
        channel=TicketChannel.HOTLINE,
        kind=connector.ticket_kind or TicketKind.INQUIRY,
        subject=call_subject(event, phone_display),
        message=call_notes(event, phone_display),
        phone=phone,
        category_id=default_category_id(connector.ticket_category_id),
        external_id=event.call_id,
        team_id=connector.team_id,
        branch_id=connector.branch_id,
        thread=True,
        assignee_id=agent.pk if agent is not None and takes_tickets(agent) else None,
    )


# --- web forms -------------------------------------------------------------------------------------------


def web_form_ticket_data(
    *, web_form: WebForm, values: Mapping[str, str], product: str
) -> services.TicketData:
    """A web form whose destination is `ticket`: `values` as the visitor typed them."""
    kind = web_form.ticket_kind or values.get("kind") or TicketKind.INQUIRY
    return services.TicketData(
        channel=TicketChannel.WEB,
        kind=kind,
        subject=values.get("subject", ""),
        message=values.get("message", ""),
        phone=values.get("phone", ""),
        email=values.get("email", ""),
        full_name=values.get("full_name", ""),
        category_id=default_category_id(web_form.ticket_category_id),
        related_ref=product[:200],
        team_id=web_form.team_id,
        branch_id=web_form.branch_id,
        thread=True,
    )


# --- the write -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentGiven:
    """The customer agreed to be contacted (the web form's checkbox, a webhook's `consent: true`)."""

    evidence: str


@transaction.atomic
def ticket_intake(*, data: services.TicketData, consent: ConsentGiven | None = None) -> services.TicketResult:
    """Take a ticket in from a public channel (no signed-in actor) and, the first time, record the consent
    to care calls on the customer's card."""
    result = services.ticket_receive(actor=None, data=data)
    if consent is not None and result.outcome != "duplicate":
        customer_services.customer_consent_record(
            actor=system_user(),
            customer_id=result.ticket.customer_id,
            purpose=ConsentPurpose.CARE_CALLS,
            status=ConsentStatus.GRANTED,
            method=CONSENT_METHODS.get(data.channel, ConsentMethod.WEB_FORM),
            evidence=consent.evidence[:500],
        )
    return result


def ticket_for_delivery(*, channel: str, external_id: str) -> Ticket | None:
    """The ticket a channel's delivery (channel + external id) made or was threaded into, if any."""
    return services._existing(services.TicketData(channel=channel, external_id=external_id))
