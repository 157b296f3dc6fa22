"""Signed webhooks end to end: POST /api/v1/hooks/<slug> (Standard Webhooks), inquiries and hotline calls."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from careline.accounts.models import Notification
from careline.accounts.services import system_user
from careline.activities.models import Activity
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer
from careline.sales.intake import SignatureError, webhook_sign, webhook_verify
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
    headers: dict[str, str] | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    signed = webhook_sign(secret or connector.secret, body, msg_id=msg_id, timestamp=timestamp)
    if headers is not None:
        signed = headers
    return Client().post(
        URL.format(slug=connector.slug),
        data=body,
        content_type="application/json",
        headers=signed,
    )


def inquiry_event(**data: Any) -> dict[str, Any]:
    base = {"full_name": "Nguyễn Thị Lan", "phone": "0912 345 678", "message": "Cho em hỏi học phí IELTS"}
    return {"type": "inquiry.created", "data": {**base, **data}}


def call_event(**data: Any) -> dict[str, Any]:
    base = {
        "call_id": "call-1",
        "caller": "0987 654 321",
        "called": "19001234",
        "direction": "inbound",
        "started_at": "2026-10-05T09:30:00+07:00",
        "duration_seconds": 95,
        "agent": "101",
        "recording_url": "https://pbx.example.vn/rec/call-1.mp3",
        "status": "answered",
    }
    return {"type": "call.completed", "data": {**base, **data}}


# --- signatures --------------------------------------------------------------------------------------


def test_verify_helper_accepts_own_signature_and_rejects_others():
    connector = Connector(secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"a": 1}'
    headers = webhook_sign(connector.secret, body, msg_id="msg_x")
    assert webhook_verify(connector.secret, body, headers) == "msg_x"
    with pytest.raises(SignatureError) as exc:
        webhook_verify(connector.secret, b'{"a": 2}', headers)
    assert exc.value.code == "bad_signature"
    for broken in ("v1", "v1,@@@", "v2,abc", ""):
        with pytest.raises(SignatureError):
            webhook_verify(connector.secret, body, {**headers, "webhook-signature": broken})
    with pytest.raises(SignatureError) as exc:
        webhook_verify(connector.secret, body, {**headers, "webhook-timestamp": "soon"})
    assert exc.value.code == "bad_signature"


def test_inquiry_created_first_201_then_200_same_id(org):
    make_rule(org.hn_sales, [org.consultant_hn])
    connector = make_connector("zalo", team=org.hn_sales, branch=org.hn)
    response = post(connector, inquiry_event(consent=True), msg_id="evt_1")
    assert response.status_code == 201, response.content
    body = response.json()
    inquiry = Inquiry.objects.get()
    assert body == {
        "id": inquiry.pk,
        "customer_id": inquiry.customer_id,
        "owner_id": org.consultant_hn.pk,
        "activity_id": None,
        "ignored": False,
        "ticket_id": None,  # leads: no care ticket
        "assignee_id": None,
    }
    assert (
        inquiry.channel == "zalo" and inquiry.external_id == "evt_1" and inquiry.connector_id == connector.pk
    )
    assert inquiry.team_id == org.hn_sales.pk and inquiry.consent
    assert inquiry.phone == "+84912345678" and inquiry.customer.stage == "lead"
    again = post(connector, inquiry_event(consent=True), msg_id="evt_1")
    assert again.status_code == 200 and again.json()["id"] == inquiry.pk
    assert Inquiry.objects.count() == 1 and Customer.objects.count() == 1
    connector.refresh_from_db()
    assert connector.last_delivery_at is not None
    assert AuditEvent.objects.filter(object_type="sales.inquiry", action="create").count() == 1


def test_external_id_in_body_wins_over_event_id(org):
    connector = make_connector("facebook")
    first = post(connector, inquiry_event(external_id="fb-lead-9"), msg_id="evt_a")
    second = post(connector, inquiry_event(external_id="fb-lead-9"), msg_id="evt_b")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Inquiry.objects.get().channel == "facebook"


@pytest.mark.parametrize(("kind", "channel"), [("marketplace", "marketplace"), ("other", "api")])
def test_channel_follows_connector_kind(org, kind, channel):
    connector = make_connector(kind)
    assert post(connector, inquiry_event()).status_code == 201
    assert Inquiry.objects.get().channel == channel


def test_known_customer_phone_is_attached_not_duplicated(org):
    existing = make_customer(org.consultant_hn2, full_name="Trần Thị Lan", phones=["0912 345 678"])
    connector = make_connector("zalo")
    response = post(connector, inquiry_event())
    assert response.status_code == 201
    assert (
        response.json()["customer_id"] == existing.pk and response.json()["owner_id"] == org.consultant_hn2.pk
    )
    assert Customer.objects.count() == 1
    assert Notification.objects.filter(user=org.consultant_hn2, kind="inquiry_existing_customer").exists()


def test_signature_failures_answer_401_and_store_nothing(org):
    connector = make_connector("zalo")
    wrong_secret = post(connector, inquiry_event(), secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"]["code"] == "bad_signature"
    missing = post(connector, inquiry_event(), headers={})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_signature"
    stale = post(connector, inquiry_event(), timestamp=int(time.time()) - 6 * 60)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "stale_timestamp"
    future = post(connector, inquiry_event(), timestamp=int(time.time()) + 6 * 60)
    assert future.status_code == 401 and future.json()["error"]["code"] == "stale_timestamp"
    body = json.dumps(inquiry_event()).encode()
    headers = webhook_sign(connector.secret, body, msg_id="m")
    tampered = Client().post(
        URL.format(slug="zalo"),
        data=body.replace(b"IELTS", b"TOEIC"),
        content_type="application/json",
        headers=headers,
    )
    assert tampered.status_code == 401
    malformed = post(connector, inquiry_event(), headers={**headers, "webhook-signature": "v1"})
    assert malformed.status_code == 401
    assert Inquiry.objects.count() == 0
    connector.refresh_from_db()
    assert connector.last_delivery_at is None


def test_unknown_or_inactive_slug_is_404(org):
    ghost = Connector(slug="ghost", secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    assert post(ghost, inquiry_event()).status_code == 404
    inactive = make_connector("zalo", active=False)
    response = post(inactive, inquiry_event())
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_bad_json_400_and_invalid_inquiry_422(org):
    connector = make_connector("zalo")
    bad = post(connector, None, raw=b"{not json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_json"
    no_contact = post(connector, inquiry_event(phone="", email=""), msg_id="m2")
    assert no_contact.status_code == 422
    assert "phone" in no_contact.json()["error"]["details"]["fields"]
    wrong_type = post(connector, {"type": "order.paid", "data": {}}, msg_id="m3")
    assert wrong_type.status_code == 422 and "type" in wrong_type.json()["error"]["details"]["fields"]
    wrong_field = post(connector, inquiry_event(phone=["x"], received_at="tomorrow"), msg_id="m4")
    fields = wrong_field.json()["error"]["details"]["fields"]
    assert wrong_field.status_code == 422 and {"phone", "received_at"} <= set(fields)
    not_object = post(connector, [1, 2], msg_id="m5")
    assert not_object.status_code == 422
    assert Inquiry.objects.count() == 0


def test_get_is_not_allowed_and_openapi_documents_the_hook(org):
    make_connector("zalo")
    assert Client().get(URL.format(slug="zalo")).status_code == 405
    schema = Client().get("/api/v1/openapi.json").json()
    op = schema["paths"]["/api/v1/hooks/{slug}"]["post"]
    assert "call.completed" in op["requestBody"]["content"]["application/json"]["examples"]
    assert not op.get("security")


# --- hotline -----------------------------------------------------------------------------------------


def test_call_from_unknown_number_creates_lead_inquiry_and_call_activity(org):
    org.consultant_hn.phone = "101"
    org.consultant_hn.save()
    make_rule(org.hn_sales, [org.consultant_hn_b])
    connector = make_connector("hotline", team=org.hn_sales, branch=org.hn)
    response = post(connector, call_event(), msg_id="evt_call_1")
    assert response.status_code == 201, response.content
    body = response.json()
    inquiry = Inquiry.objects.get()
    activity = Activity.objects.get()
    assert body == {
        "id": inquiry.pk,
        "customer_id": inquiry.customer_id,
        "owner_id": org.consultant_hn_b.pk,
        "activity_id": activity.pk,
        "ignored": False,
        "ticket_id": None,  # leads: no care ticket
        "assignee_id": None,
    }
    assert (
        inquiry.channel == "hotline" and inquiry.external_id == "call-1" and inquiry.phone == "+84987654321"
    )
    assert activity.customer_id == inquiry.customer_id and activity.kind == "call"
    assert activity.outcome == "reached" and activity.duration_seconds == 95
    assert activity.owner_id == org.consultant_hn.pk  # the agent, by extension in User.phone
    assert activity.external_id == "call-1" and activity.recording_url.endswith("call-1.mp3")
    assert activity.occurred_at.isoformat() == "2026-10-05T02:30:00+00:00"
    again = post(connector, call_event(), msg_id="evt_call_1_retry")
    assert again.status_code == 200 and again.json() == body
    assert Inquiry.objects.count() == 1 and Activity.objects.filter(kind="call").count() == 1
    assert Customer.objects.count() == 1


def test_call_from_known_customer_logs_on_card_and_tells_owner(org):
    customer = make_customer(org.consultant_hn2, full_name="Phạm Minh", phones=["0987 654 321"])
    connector = make_connector("hotline")
    response = post(connector, call_event(status="missed", agent="consultant_hn", duration_seconds=0))
    assert response.status_code == 201
    assert response.json()["id"] is None and response.json()["customer_id"] == customer.pk
    assert Inquiry.objects.count() == 0
    activity = Activity.objects.get(kind="call")
    assert activity.customer_id == customer.pk and activity.outcome == "no_answer"
    assert activity.owner_id == org.consultant_hn.pk  # agent by username
    note = Notification.objects.get(user=org.consultant_hn2, kind="hotline_call")
    assert "Phạm Minh" in note.message
    assert post(connector, call_event(status="missed", agent="consultant_hn")).status_code == 200
    assert Activity.objects.filter(kind="call").count() == 1


def test_known_customer_with_a_question_also_gets_an_inquiry(org):
    customer = make_customer(org.consultant_hn2, full_name="Phạm Minh", phones=["0987 654 321"])
    connector = make_connector("hotline")
    response = post(connector, call_event(message="Hỏi lịch khai giảng tháng 11", agent="nobody-here"))
    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    assert inquiry.customer_id == customer.pk and inquiry.owner_id == org.consultant_hn2.pk
    assert not inquiry.new_customer and inquiry.message == "Hỏi lịch khai giảng tháng 11"
    activity = Activity.objects.get(kind="call")
    assert activity.owner_id == system_user().pk  # unknown agent → the system user
    assert Notification.objects.filter(user=org.consultant_hn2, kind="inquiry_existing_customer").count() == 1
    assert not Notification.objects.filter(kind="hotline_call").exists()


def test_outbound_calls(org):
    customer = make_customer(org.consultant_hn, full_name="Lê Hoa", phones=["0912 000 111"])
    connector = make_connector("hotline")
    known = post(
        connector,
        call_event(
            call_id="out-1",
            direction="outbound",
            caller="101",
            called="0912000111",
            status="busy",
            agent="consultant_hn",
        ),
    )
    assert known.status_code == 201 and known.json()["customer_id"] == customer.pk
    assert Activity.objects.get(external_id="out-1").outcome == "busy"
    assert not Notification.objects.filter(kind="hotline_call").exists()  # the owner made the call
    unknown = post(
        connector, call_event(call_id="out-2", direction="outbound", caller="101", called="0933000222")
    )
    assert unknown.status_code == 200 and unknown.json()["ignored"] is True
    assert Inquiry.objects.count() == 0 and Customer.objects.count() == 1


def test_invalid_call_payload_is_422(org):
    connector = make_connector("hotline")
    response = post(
        connector,
        call_event(call_id="", status="ringing", duration_seconds=-3, started_at="", direction="up"),
    )
    assert response.status_code == 422
    fields = response.json()["error"]["details"]["fields"]
    assert {"call_id", "status", "duration_seconds", "started_at", "direction"} <= set(fields)
    bad_number = post(connector, call_event(caller="12"), msg_id="m2")
    assert bad_number.status_code == 422 and "caller" in bad_number.json()["error"]["details"]["fields"]
    future = post(connector, call_event(started_at="2999-01-01T00:00:00+07:00"), msg_id="m3")
    assert future.status_code == 422
    assert Inquiry.objects.count() == 0 and Activity.objects.count() == 0 and Customer.objects.count() == 0


def test_hotline_connector_also_takes_plain_inquiries(org):
    connector = make_connector("hotline")
    response = post(connector, inquiry_event())
    assert response.status_code == 201
    assert Inquiry.objects.get().channel == "api"
