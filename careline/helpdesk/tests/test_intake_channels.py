"""Tickets from the signed webhooks and the hotline call log: `ticket.created` on any connector,
`inquiry.created` and inbound `call.completed` on a connector whose destination is `ticket`
(careline/helpdesk/intake.py, careline/sales/hooks.py, POST /api/v1/hooks/<slug>)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from careline.accounts.models import Notification
from careline.activities.models import Activity
from careline.core.models import AuditEvent
from careline.customers.models import Consent, Customer
from careline.customers.tests.factories import make_customer
from careline.helpdesk.models import AgentProfile, Message, Ticket
from careline.helpdesk.tests.factories import make_category, make_ticket
from careline.sales.intake import webhook_sign
from careline.sales.models import Connector, Inquiry
from careline.sales.tests.factories import make_rule

pytestmark = pytest.mark.django_db

URL = "/api/v1/hooks/{slug}"


def make_connector(kind: str = "zalo", **kw: Any) -> Connector:
    return Connector.objects.create(
        name=kw.pop("name", f"{kind} OA"), slug=kw.pop("slug", kind), kind=kind, **kw
    )


def post(
    connector: Connector,
    payload: Any,
    *,
    msg_id: str = "msg_1",
    secret: str | None = None,
    timestamp: int | None = None,
    raw: bytes | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = webhook_sign(secret or connector.secret, body, msg_id=msg_id, timestamp=timestamp)
    return Client().post(
        URL.format(slug=connector.slug), data=body, content_type="application/json", headers=headers
    )


def ticket_event(**data: Any) -> dict[str, Any]:
    base = {
        "full_name": "Nguyễn Thị Lan",
        "phone": "0912 345 678",
        "subject": "Đơn hàng giao chậm",
        "message": "Đơn #A1234 đặt từ thứ Hai mà chưa nhận được hàng.",
    }
    return {"type": "ticket.created", "data": {**base, **data}}


def inquiry_event(**data: Any) -> dict[str, Any]:
    base = {"full_name": "Trần Văn Minh", "phone": "0987 111 222", "message": "Máy lọc nước kêu to"}
    return {"type": "inquiry.created", "data": {**base, **data}}


def call_event(**data: Any) -> dict[str, Any]:
    base = {
        "call_id": "call-1",
        "caller": "0987 654 321",
        "called": "19001234",
        "direction": "inbound",
        "started_at": "2026-03-10T08:55:00+07:00",
        "duration_seconds": 95,
        "agent": "",
        "recording_url": "https://pbx.example.vn/rec/call-1.mp3",
        "status": "answered",
    }
    return {"type": "call.completed", "data": {**base, **data}}


CARE_AGENTS = {"care_head", "care_agent_hn", "care_agent_hn2", "care_agent_hn3"}


# --- ticket.created ----------------------------------------------------------------------------------------


def test_ticket_created_makes_a_ticket_and_a_redelivery_is_the_same(care, clock):
    org = care
    category = make_category(org.admin, name="Giao hàng")
    connector = make_connector("zalo", team=org.hn_care)  # destination lead: ticket.created still works
    event = ticket_event(kind="complaint", category="giao hang", priority="high", external_id="zalo-88")
    response = post(connector, event, msg_id="evt_t1")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.select_related("customer").get()
    body = response.json()
    assert body == {
        "id": None,
        "customer_id": ticket.customer_id,
        "owner_id": None,
        "activity_id": None,
        "ignored": False,
        "ticket_id": ticket.pk,
        "assignee_id": ticket.assignee_id,
    }
    assert (ticket.channel, ticket.kind, ticket.priority) == ("zalo", "complaint", "high")
    assert ticket.category_id == category.pk and ticket.external_id == "zalo-88"
    assert ticket.subject == "Đơn hàng giao chậm" and ticket.team_id == org.hn_care.pk
    assert ticket.assignee is not None and ticket.assignee.username in CARE_AGENTS
    message = Message.objects.get(ticket=ticket)
    assert message.direction == "inbound" and message.body.startswith("Đơn #A1234")
    # unknown phone → a new card (a complaint: stage customer), nobody's lead
    assert ticket.customer.full_name == "Nguyễn Thị Lan" and ticket.customer.stage == "customer"
    assert list(ticket.customer.contact_points.values_list("value", flat=True)) == ["+84912345678"]
    assert Inquiry.objects.count() == 0
    assert AuditEvent.objects.filter(object_type="helpdesk.ticket", action="create").count() == 1
    again = post(connector, event, msg_id="evt_t1")
    assert again.status_code == 200 and again.json() == body
    other_delivery = post(connector, event, msg_id="evt_t1_retry")  # same external_id, new webhook-id
    assert other_delivery.status_code == 200 and other_delivery.json()["ticket_id"] == ticket.pk
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1 and Customer.objects.count() == 1


def test_external_id_defaults_to_the_webhook_id(care, clock):
    connector = make_connector("facebook")
    first = post(connector, ticket_event(), msg_id="evt_fb_1")
    assert first.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.external_id == "evt_fb_1" and ticket.channel == "facebook"
    assert ticket.kind == "inquiry"  # no kind in the event, none on the connector
    assert post(connector, ticket_event(), msg_id="evt_fb_1").json()["ticket_id"] == ticket.pk
    assert Ticket.objects.count() == 1


def test_known_customer_is_found_by_phone_not_duplicated(care, clock):
    org = care
    existing = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912345678"])
    response = post(make_connector("marketplace"), ticket_event(full_name="Lan Nguyễn"), msg_id="evt_k")
    assert response.status_code == 201
    assert response.json()["customer_id"] == existing.pk
    assert response.json()["owner_id"] == org.consultant_hn.pk  # the card's owner
    assert Customer.objects.count() == 1 and Ticket.objects.get().channel == "marketplace"


def test_a_message_on_the_same_topic_threads_into_the_open_ticket(care, clock):
    org = care
    open_ticket = make_ticket(None, channel="zalo", subject="Đơn hàng giao chậm", external_id="old-1")
    clock.advance(hours=2)
    connector = make_connector("zalo")
    response = post(
        connector,
        ticket_event(subject="Re: đơn hàng giao chậm", message="Vẫn chưa thấy hàng ạ"),
        msg_id="evt_thread",
    )
    assert response.status_code == 201  # first delivery of this event
    assert response.json()["ticket_id"] == open_ticket.pk
    assert Ticket.objects.count() == 1
    bodies = list(open_ticket.messages.order_by("id").values_list("body", flat=True))
    assert bodies[-1] == "Vẫn chưa thấy hàng ạ" and len(bodies) == 2
    again = post(connector, ticket_event(message="Vẫn chưa thấy hàng ạ"), msg_id="evt_thread")
    assert again.status_code == 200 and again.json()["ticket_id"] == open_ticket.pk
    assert open_ticket.messages.count() == 2
    # another topic from the same customer is a new ticket
    other = post(
        connector, ticket_event(subject="Xuất hoá đơn VAT", message="Cho em xin hoá đơn"), msg_id="e3"
    )
    assert other.status_code == 201 and other.json()["ticket_id"] != open_ticket.pk
    assert Ticket.objects.count() == 2 and org is not None


@pytest.mark.parametrize(
    ("kind", "channel"), [("marketplace", "marketplace"), ("other", "api"), ("hotline", "api")]
)
def test_channel_follows_the_connector_kind(care, clock, kind, channel):
    response = post(make_connector(kind), ticket_event(), msg_id=f"evt_{kind}")
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().channel == channel
    assert Activity.objects.count() == 0  # not read as a hotline call


def test_category_by_id_and_connector_defaults(care, clock):
    org = care
    delivery = make_category(org.admin, name="Giao hàng")
    warranty = make_category(org.admin, name="Bảo hành")
    connector = make_connector(
        "other", destination="ticket", ticket_kind="warranty", ticket_category=warranty
    )
    by_default = post(connector, ticket_event(), msg_id="evt_d1")
    ticket = Ticket.objects.get(pk=by_default.json()["ticket_id"])
    assert (ticket.kind, ticket.category_id) == ("warranty", warranty.pk)
    by_id = post(
        connector, ticket_event(subject="Khác", category=delivery.pk, kind="request"), msg_id="evt_d2"
    )
    assert by_id.status_code == 201, by_id.content
    ticket = Ticket.objects.get(pk=by_id.json()["ticket_id"])
    assert (ticket.kind, ticket.category_id) == ("request", delivery.pk)
    warranty.active = False
    warranty.save()
    inactive_default = post(connector, ticket_event(subject="Hỏi giá", phone="0903 000 111"), msg_id="e3")
    assert inactive_default.status_code == 201
    assert Ticket.objects.get(pk=inactive_default.json()["ticket_id"]).category_id is None


def test_bad_signature_401_and_bad_payload_422_store_nothing(care, clock):
    connector = make_connector("zalo")
    wrong = post(connector, ticket_event(), secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_signature"
    stale = post(connector, ticket_event(), timestamp=int(time.time()) - 10 * 60)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "stale_timestamp"
    cases = [
        (
            ticket_event(subject=["x"], category=True, received_at="tomorrow"),
            {"subject", "category", "received_at"},
        ),
        (ticket_event(kind="praise"), {"kind"}),
        (ticket_event(priority="asap"), {"priority"}),
        (ticket_event(category="Không có danh mục này"), {"category"}),
        (ticket_event(category=999_999), {"category"}),
        (ticket_event(phone="", email=""), {"customer_id"}),
        (ticket_event(phone="12"), {"phone"}),
        ({"type": "ticket.created", "data": "x"}, {"data"}),
    ]
    for n, (payload, fields) in enumerate(cases):
        response = post(connector, payload, msg_id=f"bad_{n}")
        assert response.status_code == 422, (payload, response.content)
        assert fields <= set(response.json()["error"]["details"]["fields"]), (payload, response.json())
    assert post(connector, None, raw=b"{oops", msg_id="bad_json").status_code == 400
    assert Ticket.objects.count() == 0 and Customer.objects.count() == 0


# --- inquiry.created on a ticket connector ------------------------------------------------------------------


def test_inquiry_on_a_ticket_connector_becomes_a_ticket_with_consent(care, clock):
    org = care
    category = make_category(org.admin, name="Kỹ thuật")
    connector = make_connector(
        "facebook", destination="ticket", ticket_kind="complaint", ticket_category=category, team=org.hn_care
    )
    response = post(
        connector, inquiry_event(product_interest="Máy lọc RO 9 lõi", consent=True), msg_id="evt_fb_9"
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert response.json()["ticket_id"] == ticket.pk and response.json()["id"] is None
    assert (ticket.channel, ticket.kind, ticket.category_id) == ("facebook", "complaint", category.pk)
    assert ticket.related_ref == "Máy lọc RO 9 lõi" and ticket.external_id == "evt_fb_9"
    assert ticket.subject == "Máy lọc nước kêu to"  # no subject: the message's start
    assert Inquiry.objects.count() == 0
    consent = Consent.objects.get(customer=ticket.customer)
    assert consent.purpose == "care_calls" and "evt_fb_9" in consent.evidence
    assert post(connector, inquiry_event(consent=True), msg_id="evt_fb_9").status_code == 200
    assert Consent.objects.count() == 1 and Ticket.objects.count() == 1


def test_lead_connector_keeps_making_leads(care, clock):
    org = care
    make_rule(org.hn_sales, [org.consultant_hn])
    connector = make_connector("zalo", team=org.hn_sales, branch=org.hn)
    response = post(connector, inquiry_event(), msg_id="evt_lead")
    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    assert response.json() == {
        "id": inquiry.pk,
        "customer_id": inquiry.customer_id,
        "owner_id": org.consultant_hn.pk,
        "activity_id": None,
        "ignored": False,
        "ticket_id": None,
        "assignee_id": None,
    }
    assert Ticket.objects.count() == 0


# --- hotline ---------------------------------------------------------------------------------------------


def hotline(org: Any, **kw: Any) -> Connector:
    return make_connector("hotline", destination="ticket", team=org.hn_care, branch=org.hn, **kw)


def test_inbound_call_opens_a_ticket_assigned_to_the_agent_who_took_it(care, clock):
    org = care
    org.care_agent_hn2.phone = "101"
    org.care_agent_hn2.save()
    connector = hotline(org, ticket_kind="request")
    event = call_event(agent="101", message="Hỏi cách đổi lịch bảo dưỡng")
    response = post(connector, event, msg_id="evt_c1")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.select_related("customer").get()
    activity = Activity.objects.get()
    body = response.json()
    assert body == {
        "id": None,
        "customer_id": ticket.customer_id,
        "owner_id": None,
        "activity_id": activity.pk,
        "ignored": False,
        "ticket_id": ticket.pk,
        "assignee_id": org.care_agent_hn2.pk,
    }
    assert (ticket.channel, ticket.kind, ticket.external_id) == ("hotline", "request", "call-1")
    assert ticket.subject == "Hỏi cách đổi lịch bảo dưỡng"
    assert ticket.assignee == org.care_agent_hn2
    notes = ticket.messages.get().body
    assert "Cuộc gọi hotline từ 0987 654 321" in notes and "Hỏi cách đổi lịch bảo dưỡng" in notes
    assert "1 phút 35 giây" in notes and "https://pbx.example.vn/rec/call-1.mp3" in notes
    assert "đã nghe máy" in notes and "call-1" in notes
    # the call on the timeline, exactly as for leads
    assert activity.customer_id == ticket.customer_id and activity.kind == "call"
    assert activity.outcome == "reached" and activity.owner == org.care_agent_hn2
    assert activity.external_id == "call-1" and activity.recording_url.endswith("call-1.mp3")
    # a stranger: a new card, no lead
    assert list(ticket.customer.contact_points.values_list("value", flat=True)) == ["+84987654321"]
    assert Inquiry.objects.count() == 0 and Customer.objects.count() == 1
    assert Notification.objects.filter(user=org.care_agent_hn2, kind="ticket_assigned").exists()
    again = post(connector, event, msg_id="evt_c1_retry")
    assert again.status_code == 200 and again.json() == body
    assert Ticket.objects.count() == 1 and Activity.objects.count() == 1 and Message.objects.count() == 1


def test_missed_call_from_a_known_customer_opens_a_ticket_to_call_back(care, clock):
    org = care
    customer = make_customer(org.consultant_hn, full_name="Lê Văn Hùng", phones=["0987654321"])
    connector = hotline(org, ticket_kind="complaint")
    response = post(
        connector, call_event(status="missed", duration_seconds=0, recording_url="", agent="999"), msg_id="e"
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert response.json()["customer_id"] == customer.pk and ticket.customer_id == customer.pk
    assert response.json()["owner_id"] == org.consultant_hn.pk
    assert ticket.subject == "Cuộc gọi hotline nhỡ từ 0987 654 321" and ticket.kind == "complaint"
    assert "gọi lại" in ticket.messages.get().body
    assert ticket.assignee is not None and ticket.assignee.username in CARE_AGENTS  # automatic
    assert Customer.objects.count() == 1 and Inquiry.objects.count() == 0
    assert Activity.objects.get().outcome == "no_answer"
    assert Notification.objects.filter(user=org.consultant_hn, kind="hotline_call").exists()


def test_agent_who_takes_no_tickets_is_not_the_assignee(care, clock):
    org = care
    org.consultant_hn.phone = "102"
    org.consultant_hn.save()
    AgentProfile.objects.create(user=org.care_agent_hn3, takes_tickets=False)
    connector = hotline(org)
    assert post(connector, call_event(agent="102"), msg_id="e1").status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.assignee is not None and ticket.assignee != org.consultant_hn
    assert Activity.objects.get().owner == org.consultant_hn  # the call is still theirs on the timeline
    # a profile that says "takes tickets" wins over the role
    AgentProfile.objects.create(user=org.consultant_hn, takes_tickets=True)
    response = post(connector, call_event(call_id="call-2", caller="0903 222 333", agent="102"), msg_id="e2")
    assert response.json()["assignee_id"] == org.consultant_hn.pk
    # and one that says no refuses a care agent
    response = post(
        connector, call_event(call_id="call-3", caller="0903 444 555", agent="care_agent_hn3"), msg_id="e3"
    )
    assert response.json()["assignee_id"] != org.care_agent_hn3.pk


def test_calling_again_threads_into_the_open_call_ticket(care, clock):
    org = care
    connector = hotline(org)
    first = post(connector, call_event(status="busy", duration_seconds=0), msg_id="e1")
    clock.advance(minutes=30)
    second = post(connector, call_event(call_id="call-2"), msg_id="e2")
    assert first.status_code == second.status_code == 201
    assert first.json()["ticket_id"] == second.json()["ticket_id"]
    ticket = Ticket.objects.get()
    assert ticket.messages.filter(direction="inbound").count() == 2
    assert Activity.objects.count() == 2
    third = post(connector, call_event(call_id="call-2"), msg_id="e2_retry")
    assert third.status_code == 200 and third.json() == second.json()
    assert ticket.messages.count() == 2


def test_outbound_calls_make_no_ticket(care, clock):
    org = care
    connector = hotline(org)
    unknown = post(connector, call_event(direction="outbound", called="0903 999 888"), msg_id="e1")
    assert unknown.status_code == 200 and unknown.json()["ignored"] is True
    customer = make_customer(org.consultant_hn, full_name="Phạm Thu", phones=["0903 111 222"])
    known = post(
        connector,
        call_event(call_id="out-2", direction="outbound", called="0903 111 222", message="Gọi lại"),
        msg_id="e2",
    )
    assert known.status_code == 201 and known.json()["ticket_id"] is None
    assert Activity.objects.get().customer_id == customer.pk
    assert Ticket.objects.count() == 0 and Inquiry.objects.count() == 0


def test_hotline_lead_connector_is_unchanged(care, clock):
    org = care
    make_rule(org.hn_sales, [org.consultant_hn_b])
    connector = make_connector("hotline", team=org.hn_sales, branch=org.hn)
    response = post(connector, call_event(), msg_id="e1")
    assert response.status_code == 201
    assert response.json()["id"] == Inquiry.objects.get().pk and response.json()["ticket_id"] is None
    assert Ticket.objects.count() == 0


def test_openapi_documents_ticket_events(care):
    op = Client().get("/api/v1/openapi.json").json()["paths"]["/api/v1/hooks/{slug}"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    assert {"ticket.created", "inquiry.created", "call.completed"} <= set(examples)
    assert "ticket.created" in op["description"] and "destination" in op["description"]
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]["HookOut"]
    assert {"ticket_id", "assignee_id"} <= set(schema["properties"])


def test_webhook_tickets_are_audited_as_the_system(care, clock):
    """A public channel has no signed-in actor: the ticket's audit row names the system user."""
    assert post(make_connector("zalo", destination="ticket"), inquiry_event(), msg_id="e").status_code == 201
    audit = AuditEvent.objects.get(object_type="helpdesk.ticket", action="create")
    assert audit.actor.username == "careline-system"
