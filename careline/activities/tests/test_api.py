"""/api/v1/activities: every endpoint anonymous (401), out of scope (404), forbidden (403) and allowed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.accounts.services import token_create
from careline.activities.api import router
from careline.activities.models import Activity, EmailTemplate
from careline.activities.tests.factories import add_follow_up, log_call, make_template
from careline.conftest import api_client
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db

BASE = "/api/v1/activities"

# name → (method, path under BASE, JSON body); {id} is an activity, {template} a template, "{customer}" in
# a body is the customer.
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "create": ("POST", "", {"customer_id": "{customer}", "kind": "call", "outcome": "no_answer"}),
    "list": ("GET", "", None),
    "get": ("GET", "/{id}", None),
    "patch": ("PATCH", "/{id}", {"notes": "Khách đổi lịch"}),
    "delete": ("DELETE", "/{id}", None),
    "complete": ("POST", "/{id}/complete", {"outcome": "done"}),
    "templates_list": ("GET", "/email-templates", None),
    "templates_create": (
        "POST",
        "/email-templates",
        {"name": "Cảm ơn", "subject": "Cảm ơn {salutation} {given_name}", "body": "Cảm ơn đã quan tâm."},
    ),
    "templates_patch": ("PATCH", "/email-templates/{template}", {"name": "Đổi tên"}),
    "emails": ("POST", "/emails", {"customer_id": "{customer}", "subject": "Chào", "body": "Nội dung"}),
}
# Endpoints that reach a customer or an activity (out of scope → 404).
SCOPED = ["create", "get", "patch", "delete", "complete", "emails"]


def call(
    client: Client,
    name: str,
    *,
    activity_id: int = 0,
    customer_id: int = 0,
    template_id: int = 0,
    body: dict[str, Any] | None = None,
    **extra: Any,
):
    method, path, default = ENDPOINTS[name]
    url = BASE + path.format(id=activity_id, template=template_id)
    payload = dict(body if body is not None else default or {})
    for key, value in payload.items():
        if value == "{customer}":
            payload[key] = customer_id
    if method == "GET":
        return client.get(url, **extra)
    data = json.dumps(payload) if (body is not None or default is not None) else ""
    return client.generic(method, url, data, content_type="application/json", **extra)


def bearer(user) -> dict[str, str]:
    _row, raw = token_create(actor=user, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


def db_state() -> tuple:
    return (
        sorted(Activity.objects.values_list("id", "notes", "completed_at", "updated_at")),
        sorted(EmailTemplate.objects.values_list("id", "name", "active")),
        len(mail.outbox),
    )


@pytest.fixture
def world(org):
    customer = make_customer(org.consultant_hn, emails=["khach@example.vn"])
    follow_up = add_follow_up(org.consultant_hn, customer)
    template = make_template(org.supervisor_hn)
    return {"customer": customer, "activity": follow_up, "template": template}


def ids_of(world) -> dict[str, int]:
    return {
        "activity_id": world["activity"].pk,
        "customer_id": world["customer"].pk,
        "template_id": world["template"].pk,
    }


def test_every_router_operation_is_in_the_matrix():
    declared = set()
    for path, path_view in router.path_operations.items():
        for op in path_view.operations:
            for method in op.methods:
                p = path.replace("{int:activity_id}", "{id}").replace("{int:template_id}", "{template}")
                declared.add((method, p))
    assert declared == {(m, p) for m, p, _b in ENDPOINTS.values()}


def test_anonymous_and_bad_credentials_are_unauthorized(org, world):
    client = Client()
    before = db_state()
    for name in ENDPOINTS:
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nonsense"}, {"HTTP_AUTHORIZATION": "Token x"}):
            r = call(client, name, **ids_of(world), **headers)
            assert r.status_code == 401, (name, r.content)
            assert error_code(r) == "unauthorized"
    assert db_state() == before


def test_out_of_scope_is_not_found(org, world):
    client = Client()
    admin = bearer(org.admin)
    before = db_state()
    for actor_name in ("consultant_hcm", "consultant_hn_b", "nobody"):
        headers = bearer(getattr(org, actor_name))
        for name in SCOPED:
            r = call(client, name, **ids_of(world), **headers)
            assert r.status_code == 404, (actor_name, name, r.content)
            assert error_code(r) == "not_found"
            missing = call(client, name, activity_id=999_999, customer_id=999_999, **admin)
            assert (missing.status_code, missing.json()) == (404, r.json()), name
    r = call(client, "templates_patch", template_id=999_999, **admin)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert db_state() == before


FORBIDDEN = [
    ("create", "director"),
    ("emails", "director"),
    ("list", "nobody"),
    ("templates_list", "nobody"),
    ("patch", "director"),
    ("patch", "academic_hn"),
    ("delete", "director"),
    ("delete", "care_head"),
    ("delete", "academic_hn"),
    ("complete", "director"),
    ("complete", "academic_hn"),
    ("templates_create", "consultant_hn"),
    ("templates_create", "manager_hn"),
    ("templates_create", "director"),
    ("templates_patch", "consultant_hn"),
    ("templates_patch", "care_head"),
]


def test_forbidden_actions(org, world):
    client = Client()
    headers = {name: bearer(getattr(org, name)) for name in {a for _n, a in FORBIDDEN}}
    before = db_state()
    for name, actor_name in FORBIDDEN:
        if name in ("patch", "delete", "complete"):  # the activity is visible to them: 403, not 404
            assert call(client, "get", **ids_of(world), **headers[actor_name]).status_code == 200
        r = call(client, name, **ids_of(world), **headers[actor_name])
        assert r.status_code == 403, (name, actor_name, r.content)
        assert error_code(r) == "forbidden"
    assert db_state() == before


def test_visible_but_someone_elses_activity_is_forbidden(org, world):
    by_supervisor = log_call(org.supervisor_hn, world["customer"])
    client = api_client(org.consultant_hn)
    assert client.get(f"{BASE}/{by_supervisor.pk}").status_code == 200
    for name in ("patch", "delete"):
        r = call(client, name, activity_id=by_supervisor.pk)
        assert r.status_code == 403, (name, r.content)


# --- allowed ------------------------------------------------------------------------------------------------

ACTIVITY_FIELDS = {
    "id",
    "customer_id",
    "customer_name",
    "kind",
    "outcome",
    "owner_id",
    "team_id",
    "branch_id",
    "occurred_at",
    "due_at",
    "completed_at",
    "remind_at",
    "reminded_at",
    "is_open",
    "duration_seconds",
    "subject",
    "notes",
    "customer_stage",
    "email_to",
    "message_id",
    "external_id",
    "recording_url",
    "created_by_id",
    "created_at",
    "updated_at",
    "follow_up_id",
}


def post(client: Client, body: dict[str, Any], path: str = ""):
    return client.post(BASE + path, json.dumps(body), content_type="application/json")


def test_create_call_back_replay_and_validation(org, world):
    client = api_client(org.consultant_hn)
    customer = world["customer"]
    due = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    r = post(
        client,
        {
            "customer_id": customer.pk,
            "kind": "call",
            "outcome": "call_back",
            "due_at": due.isoformat(),
            "duration_seconds": 75,
            "notes": "Gọi lại sau giờ họp",
            "external_id": "pbx-778",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == ACTIVITY_FIELDS
    assert body["kind"] == "call" and body["outcome"] == "call_back"
    assert body["customer_name"] == customer.full_name
    assert body["owner_id"] == org.consultant_hn.pk and body["team_id"] == org.hn_sales.pk
    assert body["is_open"] is False and body["due_at"] is None
    follow_up = Activity.objects.get(pk=body["follow_up_id"])
    assert follow_up.kind == "follow_up" and follow_up.due_at == due
    # The same hotline event again: 200 with the same activity.
    again = post(
        client, {"customer_id": customer.pk, "kind": "call", "outcome": "reached", "external_id": "pbx-778"}
    )
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["outcome"] == "call_back"
    # Validation: 422 with field errors.
    r = post(client, {"customer_id": customer.pk, "kind": "call"})
    assert r.status_code == 422 and error_code(r) == "validation_error"
    assert "outcome" in r.json()["error"]["details"]["fields"]
    r = post(client, {"customer_id": customer.pk, "kind": "visit"})
    assert r.status_code == 422 and "kind" in r.json()["error"]["details"]["fields"]
    r = post(client, {"customer_id": customer.pk, "kind": "follow_up"})
    assert r.status_code == 422 and "due_at" in r.json()["error"]["details"]["fields"]
    # Naive times are local (Asia/Ho_Chi_Minh).
    r = post(
        client,
        {
            "customer_id": customer.pk,
            "kind": "meeting",
            "outcome": "held",
            "occurred_at": "2026-01-05T09:30:00",
        },
    )
    assert r.status_code == 201
    assert r.json()["occurred_at"] == "2026-01-05T02:30:00Z"
    # Someone else as owner needs scope over them.
    r = post(
        client, {"customer_id": customer.pk, "kind": "note", "notes": "x", "owner_id": org.consultant_hn_b.pk}
    )
    assert r.status_code == 403
    r = post(
        api_client(org.supervisor_hn),
        {"customer_id": customer.pk, "kind": "note", "notes": "x", "owner_id": org.consultant_hn_b.pk},
    )
    assert r.status_code == 201 and r.json()["owner_id"] == org.consultant_hn_b.pk


def test_list_filters_cursor_and_errors(org, world):
    client = api_client(org.consultant_hn)
    customer = world["customer"]
    other = make_customer(org.consultant_hn, full_name="Khách Thứ Hai")
    day = timezone.localdate() - dt.timedelta(days=2)
    tz = timezone.get_current_timezone()
    for hour in (9, 10, 11):
        log_call(org.consultant_hn, other, occurred_at=dt.datetime.combine(day, dt.time(hour), tzinfo=tz))
    body = client.get(BASE, {"customer_id": other.pk}).json()
    assert set(body) == {"items", "next_cursor"}
    assert [i["occurred_at"][11:13] for i in body["items"]] == ["04", "03", "02"]  # UTC: 11, 10, 9 local
    assert client.get(BASE, {"date": day.isoformat()}).json()["items"][0]["customer_id"] == other.pk
    assert len(client.get(BASE, {"date": day.isoformat()}).json()["items"]) == 3
    assert [i["id"] for i in client.get(BASE, {"open": "true"}).json()["items"]] == [world["activity"].pk]
    assert [
        i["kind"] for i in client.get(BASE, {"kind": "follow_up", "customer_id": customer.pk}).json()["items"]
    ] == ["follow_up"]
    assert client.get(BASE, {"owner_id": org.consultant_hn_b.pk}).json()["items"] == []
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(5):
        page = client.get(BASE, params).json()
        seen += [i["id"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 4
    for params, field in (
        ({"date": "31/02/2026"}, "date"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"kind": "visit"}, "kind"),
        ({"open": "perhaps"}, "open"),
    ):
        r = client.get(BASE, params)
        assert r.status_code == 422, (params, r.content)
        assert field in r.json()["error"]["details"]["fields"], r.json()
    r = client.get(BASE, {"cursor": "not-a-cursor"})
    assert r.status_code == 400 and error_code(r) == "invalid_cursor"


def test_list_query_count_does_not_grow(org, world):
    client = api_client(org.consultant_hn)
    client.get(BASE)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(BASE, {"limit": 100})
        assert r.status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for n in range(12):
        c = make_customer(org.consultant_hn, full_name=f"Khách {n}")
        log_call(org.consultant_hn, c)
    assert count() == small


def test_get_patch_complete_delete(org, world):
    client = api_client(org.consultant_hn)
    fu = world["activity"]
    r = client.get(f"{BASE}/{fu.pk}")
    assert r.status_code == 200 and r.json()["is_open"] is True and r.json()["follow_up_id"] is None
    new_due = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    r = client.patch(
        f"{BASE}/{fu.pk}",
        json.dumps({"due_at": new_due.isoformat(), "subject": "Gửi học phí"}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["subject"] == "Gửi học phí"
    r = client.patch(f"{BASE}/{fu.pk}", json.dumps({"outcome": "reached"}), content_type="application/json")
    assert r.status_code == 422
    r = post(client, {"outcome": "done", "notes": "Đã gửi"}, f"/{fu.pk}/complete")
    assert r.status_code == 200
    assert r.json()["is_open"] is False and r.json()["outcome"] == "done" and r.json()["completed_at"]
    r = client.post(f"{BASE}/{fu.pk}/complete", "", content_type="application/json")  # again, no body
    assert r.status_code == 200 and r.json()["outcome"] == "done"
    call_ = log_call(org.consultant_hn, world["customer"])
    r = post(client, {}, f"/{call_.pk}/complete")
    assert r.status_code == 409 and error_code(r) == "not_a_follow_up"
    r = client.delete(f"{BASE}/{fu.pk}")
    assert r.status_code == 204
    assert not Activity.objects.filter(pk=fu.pk).exists()
    assert client.get(f"{BASE}/{fu.pk}").status_code == 404


def test_email_templates_and_sending(org, world):
    supervisor = api_client(org.supervisor_hn)
    consultant = api_client(org.consultant_hn)
    r = post(supervisor, ENDPOINTS["templates_create"][2], "/email-templates")
    assert r.status_code == 201, r.content
    created = r.json()
    assert set(created) == {
        "id",
        "name",
        "subject",
        "body",
        "language",
        "marketing",
        "active",
        "created_at",
        "updated_at",
    }
    r = post(supervisor, {"name": "Sai", "subject": "Chào {ho_ten}", "body": "x"}, "/email-templates")
    assert r.status_code == 422 and "subject" in r.json()["error"]["details"]["fields"]
    names = [t["name"] for t in consultant.get(f"{BASE}/email-templates").json()]
    assert names == ["Chào khách mới", "Cảm ơn"]
    r = supervisor.patch(
        f"{BASE}/email-templates/{created['id']}",
        json.dumps({"active": False}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert [t["name"] for t in consultant.get(f"{BASE}/email-templates").json()] == ["Chào khách mới"]
    assert len(consultant.get(f"{BASE}/email-templates", {"archived": "true"}).json()) == 2
    r = post(
        consultant,
        {"customer_id": world["customer"].pk, "template_id": world["template"].pk},
        "/emails",
    )
    assert r.status_code == 201, r.content
    assert r.json()["outcome"] == "sent" and r.json()["email_to"] == "khach@example.vn"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["khach@example.vn"]
    r = post(consultant, {"customer_id": world["customer"].pk, "template_id": created["id"]}, "/emails")
    assert r.status_code == 404  # archived
    r = post(
        consultant,
        {"customer_id": world["customer"].pk, "to": "la@example.vn", "subject": "a", "body": "b"},
        "/emails",
    )
    assert r.status_code == 422 and "to" in r.json()["error"]["details"]["fields"]
