"""/api/v1/inquiries and /api/v1/leads: every endpoint anonymous (401), out of scope (404), forbidden (403)
and allowed; then what each endpoint does."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.accounts.services import token_create, token_revoke
from careline.conftest import api_client
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer
from careline.sales.api import inquiries_router, leads_router
from careline.sales.choices import InquiryStatus
from careline.sales.models import Absence, AllocationMember, AllocationRule, Assignment, Inquiry
from careline.sales.tests.factories import make_rule, receive

pytestmark = pytest.mark.django_db

# name → (method, path under /api/v1, JSON body). Placeholders: {id} a lead, {rule} a rule, {absence} an
# absence in the path; "$id", "$user", "$team" in bodies (filled by `call`).
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "inquiries_create": (
        "POST",
        "/inquiries",
        {"full_name": "Lê Văn Tám", "phone": "0977 111 222", "channel": "api"},
    ),
    "inquiries_list": ("GET", "/inquiries", None),
    "inquiries_get": ("GET", "/inquiries/{id}", None),
    "leads_list": ("GET", "/leads", None),
    "leads_assign": ("POST", "/leads/{id}/assign", {"user_id": "$user", "note": "cho Bình"}),
    "leads_assign_bulk": ("POST", "/leads/assign", {"ids": ["$id"], "user_id": "$user"}),
    "leads_reclaim": ("POST", "/leads/{id}/reclaim", {"note": "khách phàn nàn"}),
    "leads_allocate": ("POST", "/leads/allocate", None),
    "rules_list": ("GET", "/leads/rules", None),
    "rules_create": ("POST", "/leads/rules", {"name": "Quy tắc mới", "team_id": "$team"}),
    "rules_update": ("PATCH", "/leads/rules/{rule}", {"name": "Đổi tên"}),
    "rules_delete": ("DELETE", "/leads/rules/{rule}", None),
    "absences_list": ("GET", "/leads/absences", None),
    "absences_create": (
        "POST",
        "/leads/absences",
        {
            "user_id": "$user",
            "starts_at": "2031-03-02T08:00:00+07:00",
            "ends_at": "2031-03-03T08:00:00+07:00",
        },
    ),
    "absences_delete": ("DELETE", "/leads/absences/{absence}", None),
}
OBJECT_ENDPOINTS = [
    name
    for name, (_m, path, body) in ENDPOINTS.items()
    if "{" in path or (body is not None and "$id" in json.dumps(body))
]


@dataclass
class World:
    lead: Inquiry  # consultant_hn's, team HN 1
    lead_hcm: Inquiry
    rule: AllocationRule  # HN 1
    rule_hcm: AllocationRule
    absence: Absence  # consultant_hn's
    absence_hcm: Absence


@pytest.fixture
def world(org) -> World:
    rule = make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], name="HN 1")
    rule_hcm = make_rule(org.hcm_sales, [org.consultant_hcm], name="HCM")
    lead = receive(1).inquiry
    lead_hcm = receive(2, team_id=org.hcm_sales.pk).inquiry
    assert (lead.owner_id, lead_hcm.owner_id) == (org.consultant_hn.pk, org.consultant_hcm.pk)
    start = timezone.now() + dt.timedelta(days=3)
    absence = Absence.objects.create(
        user=org.consultant_hn, starts_at=start, ends_at=start + dt.timedelta(days=1)
    )
    absence_hcm = Absence.objects.create(
        user=org.consultant_hcm, starts_at=start, ends_at=start + dt.timedelta(days=1)
    )
    return World(lead, lead_hcm, rule, rule_hcm, absence, absence_hcm)


def _fill(value: Any, ctx: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return ctx[value[1:]]
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    return value


def call(
    client: Client,
    name: str,
    *,
    id: int = 0,  # noqa: A002
    rule: int = 0,
    absence: int = 0,
    user: int = 0,
    team: int = 0,
    body: dict[str, Any] | None = None,
    **extra: Any,
):
    method, path, default_body = ENDPOINTS[name]
    url = "/api/v1" + path.format(id=id, rule=rule, absence=absence)
    payload = _fill(body if body is not None else default_body, {"id": id, "user": user, "team": team})
    if method == "GET":
        return client.get(url, payload or {}, **extra)
    return client.generic(
        method,
        url,
        json.dumps(payload) if payload is not None else "",
        content_type="application/json",
        **extra,
    )


def call_on(client: Client, name: str, org: Any, w: World, **extra: Any):
    """`call` aimed at the HN objects of the world (the lead, rule and absence of team HN 1)."""
    return call(
        client,
        name,
        id=w.lead.pk,
        rule=w.rule.pk,
        absence=w.absence.pk,
        user=org.consultant_hn_b.pk,
        team=org.hn_sales.pk,
        **extra,
    )


def bearer(user: Any) -> dict[str, str]:
    _row, raw = token_create(actor=user, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


def db_state() -> tuple:
    return (
        sorted(Inquiry.objects.values_list("id", "owner_id", "status", "updated_at")),
        Customer.objects.count(),
        Assignment.objects.count(),
        sorted(AllocationRule.objects.values_list("id", "name", "updated_at")),
        sorted(AllocationMember.objects.values_list("id", "user_id", "position")),
        sorted(Absence.objects.values_list("id", "user_id")),
    )


def test_every_router_operation_is_in_the_matrix():
    """An endpoint added without a line in ENDPOINTS (and so in every refusal test) fails here."""
    declared = set()
    for prefix, router in (("/inquiries", inquiries_router), ("/leads", leads_router)):
        for path, path_view in router.path_operations.items():
            for op in path_view.operations:
                for method in op.methods:
                    declared.add(
                        (
                            method,
                            prefix
                            + path.replace("{int:inquiry_id}", "{id}")
                            .replace("{int:rule_id}", "{rule}")
                            .replace("{int:absence_id}", "{absence}"),
                        )
                    )
    assert declared == {(m, p) for m, p, _b in ENDPOINTS.values()}


# --- 401 ---------------------------------------------------------------------------------------------


def test_anonymous_and_bad_credentials_are_unauthorized(org, world):
    revoked_row, revoked_raw = token_create(actor=org.supervisor_hn, user=org.supervisor_hn)
    token_revoke(actor=org.supervisor_hn, token_id=revoked_row.pk)
    inactive = bearer(org.manager_hn)
    org.manager_hn.is_active = False
    org.manager_hn.save()
    credentials = {
        "anonymous": {},
        "garbage": {"HTTP_AUTHORIZATION": "Bearer nonsense"},
        "other scheme": {"HTTP_AUTHORIZATION": "Token abc"},
        "revoked token": {"HTTP_AUTHORIZATION": f"Bearer {revoked_raw}"},
        "inactive user": inactive,
    }
    client = Client()
    before = db_state()
    for name in ENDPOINTS:
        for label, headers in credentials.items():
            r = call_on(client, name, org, world, **headers)
            assert r.status_code == 401, (name, label, r.content)
            assert error_code(r) == "unauthorized"
    assert db_state() == before


# --- 404 ---------------------------------------------------------------------------------------------


def test_out_of_scope_is_not_found(org, world):
    client = Client()
    admin = bearer(org.admin)
    before = db_state()
    for actor_name in ("consultant_hn_b", "consultant_hcm", "nobody"):
        headers = bearer(getattr(org, actor_name))
        for name in OBJECT_ENDPOINTS:
            r = call_on(client, name, org, world, **headers)
            assert r.status_code == 404, (actor_name, name, r.content)
            assert error_code(r) == "not_found"
            # The same answer as for an object that does not exist at all.
            missing = call(
                client,
                name,
                id=999_999,
                rule=999_999,
                absence=999_999,
                user=org.consultant_hn_b.pk,
                **admin,
            )
            assert (missing.status_code, missing.json()) == (404, r.json()), name
    assert db_state() == before


def test_other_branch_is_not_found_for_a_branch_manager(org, world):
    client = api_client(org.manager_hn)
    before = db_state()
    targets = {"id": world.lead_hcm.pk, "rule": world.rule_hcm.pk, "absence": world.absence_hcm.pk}
    for name in OBJECT_ENDPOINTS:
        r = call(client, name, user=org.consultant_hn.pk, **targets)
        assert r.status_code == 404, (name, r.content)
    assert db_state() == before
    # …and nothing of the other branch shows in the lists.
    assert [i["id"] for i in client.get("/api/v1/leads").json()["items"]] == [world.lead.pk]
    assert [r["id"] for r in client.get("/api/v1/leads/rules").json()] == [world.rule.pk]
    assert [a["id"] for a in client.get("/api/v1/leads/absences").json()] == [world.absence.pk]


# --- 403 ---------------------------------------------------------------------------------------------

FORBIDDEN = [
    ("inquiries_create", "director"),
    ("inquiries_create", "care_head"),
    ("inquiries_create", "academic_hn"),
    ("inquiries_create", "nobody"),
    ("inquiries_list", "nobody"),
    ("leads_list", "nobody"),
    ("leads_assign", "consultant_hn"),
    ("leads_assign", "director"),
    ("leads_assign", "care_head"),
    ("leads_assign", "academic_hn"),
    ("leads_assign_bulk", "consultant_hn"),
    ("leads_assign_bulk", "director"),
    ("leads_reclaim", "consultant_hn"),
    ("leads_reclaim", "director"),
    ("leads_reclaim", "care_head"),
    ("leads_allocate", "consultant_hn"),
    ("leads_allocate", "director"),
    ("leads_allocate", "care_head"),
    ("leads_allocate", "nobody"),
    ("rules_list", "nobody"),
    ("rules_create", "consultant_hn"),
    ("rules_create", "director"),
    ("rules_create", "care_head"),
    ("rules_update", "director"),
    ("rules_update", "care_head"),
    ("rules_update", "academic_hn"),
    ("rules_delete", "director"),
    ("rules_delete", "academic_hn"),
    ("absences_list", "nobody"),
    ("absences_create", "consultant_hn"),  # for someone else (consultant_hn_b)
    ("absences_create", "director"),
    ("absences_create", "nobody"),
    ("absences_delete", "director"),
    ("absences_delete", "care_head"),
]


def test_forbidden_action_on_visible_object(org, world):
    client = Client()
    headers = {name: bearer(getattr(org, name)) for name in {a for _n, a in FORBIDDEN}}
    before = db_state()
    for name, actor_name in FORBIDDEN:
        h = headers[actor_name]
        # The object is visible to them: 403, not 404.
        if name.startswith("leads_") and name != "leads_allocate" and name != "leads_list":
            assert call_on(client, "inquiries_get", org, world, **h).status_code == 200, actor_name
        if name in ("rules_update", "rules_delete"):
            rules = call_on(client, "rules_list", org, world, **h).json()
            assert world.rule.pk in [r["id"] for r in rules], actor_name
        if name == "absences_delete":
            absences = call_on(client, "absences_list", org, world, **h).json()
            assert world.absence.pk in [a["id"] for a in absences], actor_name
        r = call_on(client, name, org, world, **h)
        assert r.status_code == 403, (name, actor_name, r.content)
        assert error_code(r) == "forbidden"
    assert db_state() == before


# --- allowed: inquiries --------------------------------------------------------------------------------


def test_create_is_201_then_200_for_the_same_external_id(org):
    make_rule(org.hn_sales, [org.consultant_hn_b])
    client = api_client(org.consultant_hn)
    body = {
        "full_name": "nguyễn  thị lan",
        "phone": "0912.345.678",
        "email": "Lan@Example.com",
        "channel": "zalo",
        "message": "Cho em hỏi học phí khoá IELTS buổi tối",
        "external_id": "zalo-msg-1",
    }
    r = call(client, "inquiries_create", body=body)
    assert r.status_code == 201, r.content
    created = r.json()
    assert {"id", "customer_id", "owner_id"} <= set(created)
    assert created["owner_id"] == org.consultant_hn_b.pk
    inquiry = Inquiry.objects.get(pk=created["id"])
    assert inquiry.customer_id == created["customer_id"]
    assert (inquiry.phone, inquiry.email, inquiry.channel) == ("+84912345678", "lan@example.com", "zalo")
    assert inquiry.created_by == org.consultant_hn
    event = AuditEvent.objects.get(object_type="sales.inquiry", object_id=str(inquiry.pk), action="create")
    assert (event.actor, event.source) == (org.consultant_hn, "api")
    again = call(client, "inquiries_create", body={**body, "message": "gửi lại"})
    assert again.status_code == 200, again.content
    assert again.json()["id"] == created["id"]
    assert again.json()["customer_id"] == created["customer_id"]
    assert Inquiry.objects.count() == 1 and Customer.objects.count() == 1
    # Another channel with the same id is another inquiry (of the same, now known, customer).
    other = call(client, "inquiries_create", body={**body, "channel": "facebook"})
    assert other.status_code == 201
    assert other.json()["customer_id"] == created["customer_id"]


def test_create_without_a_rule_waits_in_the_queue(org):
    r = call(api_client(org.consultant_hn), "inquiries_create")
    assert r.status_code == 201, r.content
    assert r.json()["owner_id"] is None
    assert r.json()["status"] == InquiryStatus.QUEUED


def test_create_invalid_is_422_with_field_names(org):
    client = Client()
    headers = bearer(org.consultant_hn)
    before = db_state()
    for body, fields in (
        ({"full_name": "A"}, {"phone"}),
        ({"full_name": "A", "phone": "12"}, {"phone"}),
        ({"full_name": "A", "email": "not-an-email"}, {"email"}),
        ({"full_name": "A", "phone": "0912345678", "channel": "fax"}, {"channel"}),
        ({"phone": "0912345678", "external_id": "x" * 201}, {"external_id"}),
        ({"phone": "0912345678", "full_name": "x" * 201}, {"full_name"}),
        ({"phone": "0912345678", "consent": "perhaps"}, {"consent"}),
        ({"phone": "0912345678", "received_at": "hôm qua"}, {"received_at"}),
        ({"phone": 912345678, "full_name": ["A"]}, {"phone", "full_name"}),
    ):
        r = call(client, "inquiries_create", body=body, **headers)
        assert r.status_code == 422, (body, r.content)
        assert error_code(r) == "validation_error"
        assert set(r.json()["error"]["details"]["fields"]) == fields, (body, r.json())
    r = client.post("/api/v1/inquiries", "{not json", content_type="application/json", **headers)
    assert r.status_code in (400, 422)
    assert db_state() == before


def test_get_shows_the_assignment_log(org, world):
    r = call(api_client(org.consultant_hn), "inquiries_get", id=world.lead.pk)
    assert r.status_code == 200, r.content
    item = r.json()
    assert item["id"] == world.lead.pk
    assert item["owner_id"] == org.consultant_hn.pk
    assert item["customer_name"] == "Nguyễn Văn Khách 1"
    assert item["status"] == "assigned" and item["rule_id"] == world.rule.pk
    assert [
        (a["reason"], a["from_user_id"], a["to_user_id"], a["rule_id"], a["actor_id"])
        for a in item["assignments"]
    ] == [("rule", None, org.consultant_hn.pk, world.rule.pk, None)]


def _ids(client: Client, url: str = "/api/v1/leads", **params: Any) -> list[int]:
    r = client.get(url, params)
    assert r.status_code == 200, (params, r.content)
    return [i["id"] for i in r.json()["items"]]


def test_list_filters(org, world):
    # Round-robin: world.lead went to consultant_hn, then consultant_hn_b, consultant_hn, consultant_hn_b.
    queued = receive(3, team_id=org.hn_sales.pk, channel="hotline", full_name="Trần Thị Lan").inquiry
    Inquiry.objects.filter(pk=queued.pk).update(status="queued", owner=None)
    facebook = receive(4, channel="facebook", full_name="Phạm Đức Anh").inquiry
    old = receive(5, received_at=timezone.now() - dt.timedelta(days=10)).inquiry
    assert (facebook.owner_id, old.owner_id) == (org.consultant_hn.pk, org.consultant_hn_b.pk)
    sup = api_client(org.supervisor_hn)
    assert _ids(sup) == [facebook.pk, queued.pk, world.lead.pk, old.pk]
    assert _ids(sup, "/api/v1/inquiries") == _ids(sup)
    assert _ids(sup, status="queued") == [queued.pk]
    assert _ids(sup, channel="facebook") == [facebook.pk]
    assert _ids(sup, owner=org.consultant_hn.pk) == [facebook.pk, world.lead.pk]
    assert _ids(sup, team=org.hn_sales.pk) == [facebook.pk, queued.pk, world.lead.pk, old.pk]
    assert _ids(sup, q="tran thi lan") == [queued.pk]  # accents optional
    assert _ids(sup, q="Đức") == [facebook.pk]
    old_day = timezone.localtime(old.received_at).date()
    assert _ids(sup, date=old_day.isoformat()) == [old.pk]
    assert _ids(sup, mine="true") == []
    # A consultant sees their own leads and the team's queue; `mine` leaves the queue out.
    consultant = api_client(org.consultant_hn)
    assert _ids(consultant) == [facebook.pk, queued.pk, world.lead.pk]
    assert _ids(consultant, mine="true") == [facebook.pk, world.lead.pk]
    # Cursor pagination walks everything once.
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 1}
    for _ in range(10):
        body = sup.get("/api/v1/leads", params).json()
        seen += [i["id"] for i in body["items"]]
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [facebook.pk, queued.pk, world.lead.pk, old.pk]


def test_list_invalid_params_are_422(org, world):
    client = Client()
    headers = bearer(org.supervisor_hn)
    for params, field in (
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"owner": "boss"}, "owner"),
        ({"status": "won"}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"mine": "perhaps"}, "mine"),
        ({"date": "31/02/2026"}, "date"),
        ({"q": "x" * 201}, "q"),
    ):
        r = client.get("/api/v1/leads", params, **headers)
        assert r.status_code == 422, (params, r.content)
        assert error_code(r) == "validation_error"
        assert field in r.json()["error"]["details"]["fields"], (params, r.json())


def _make_leads(n: int, start: int) -> None:
    for i in range(start, start + n):
        receive(i, email=f"khach{i}@example.com", message="Tư vấn khoá học cho con")


def _count_list_queries(client: Client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/api/v1/leads", {"limit": 100})
    assert r.status_code == 200
    return len(ctx.captured_queries), len(r.json()["items"])


def test_list_query_count_does_not_grow_with_rows(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b])
    client = api_client(org.supervisor_hn)
    client.get("/api/v1/leads")  # the token's first use writes last_used_at
    _make_leads(5, 0)
    small, n_small = _count_list_queries(client)
    _make_leads(25, 100)
    big, n_big = _count_list_queries(client)
    assert (n_small, n_big) == (5, 30)
    assert big == small
    assert big <= 6, big


# --- allowed: leads ------------------------------------------------------------------------------------


def test_assign_single_and_bulk(org, world):
    client = api_client(org.supervisor_hn)
    r = call_on(client, "leads_assign", org, world)
    assert r.status_code == 200, r.content
    assert r.json()["owner_id"] == org.consultant_hn_b.pk and r.json()["status"] == "assigned"
    log = Assignment.objects.filter(inquiry=world.lead).latest("id")
    assert (log.reason, log.from_user, log.to_user, log.actor, log.note) == (
        "manual",
        org.consultant_hn,
        org.consultant_hn_b,
        org.supervisor_hn,
        "cho Bình",
    )
    assert Customer.objects.get(pk=world.lead.customer_id).owner == org.consultant_hn_b
    # Bulk: all or nothing.
    second = receive(7).inquiry
    before = db_state()
    r = call(
        client,
        "leads_assign_bulk",
        body={"ids": [second.pk, world.lead_hcm.pk], "user_id": org.consultant_hn.pk},
    )
    assert r.status_code == 404
    assert db_state() == before
    r = call(
        client, "leads_assign_bulk", body={"ids": [world.lead.pk, second.pk], "user_id": org.consultant_hn.pk}
    )
    assert r.status_code == 200, r.content
    assert [(i["id"], i["owner_id"]) for i in r.json()] == [
        (world.lead.pk, org.consultant_hn.pk),
        (second.pk, org.consultant_hn.pk),
    ]
    # Not to someone outside the supervisor's team; bad bodies are 422 with the field.
    r = call(client, "leads_assign", id=world.lead.pk, body={"user_id": org.consultant_hcm.pk})
    assert r.status_code == 403
    for body, field in (
        ({"user_id": 999_999}, "user_id"),
        ({}, "user_id"),
        ({"user_id": "Bình"}, "user_id"),
    ):
        r = call(client, "leads_assign", id=world.lead.pk, body=body)
        assert r.status_code == 422, (body, r.content)
        assert field in r.json()["error"]["details"]["fields"]
    for body, field in (({"ids": [], "user_id": org.consultant_hn.pk}, "ids"), ({"ids": [1]}, "user_id")):
        r = call(client, "leads_assign_bulk", body=body)
        assert r.status_code == 422, (body, r.content)
        assert field in r.json()["error"]["details"]["fields"]


def test_assign_closed_lead_is_409(org, world):
    from careline.sales import services

    services.inquiry_close(actor=org.supervisor_hn, inquiry_id=world.lead.pk, spam=True)
    r = call_on(api_client(org.supervisor_hn), "leads_assign", org, world)
    assert r.status_code == 409
    assert error_code(r) == "closed"


def test_reclaim_gives_the_lead_to_someone_else(org, world):
    client = api_client(org.supervisor_hn)
    r = call_on(client, "leads_reclaim", org, world)
    assert r.status_code == 200, r.content
    assert r.json()["owner_id"] == org.consultant_hn_b.pk
    reasons = list(Assignment.objects.filter(inquiry=world.lead).order_by("id").values_list("reason", "note"))
    assert reasons[1] == ("reclaim", "khách phàn nàn")
    assert reasons[2][0] == "rule"
    # Without re-allocation it waits in the queue; reclaiming an unassigned lead is a conflict.
    r = call_on(client, "leads_reclaim", org, world, body={"reallocate": False})
    assert r.status_code == 200
    assert (r.json()["owner_id"], r.json()["status"]) == (None, "queued")
    r = call_on(client, "leads_reclaim", org, world)
    assert r.status_code == 409
    assert error_code(r) == "not_assigned"


def test_allocate_runs_the_queue(org, world):
    for i in range(3):
        receive(10 + i, team_id=org.hn_sales2.pk)  # no rule for HN 2 yet
    make_rule(org.hn_sales2, [org.consultant_hn2], name="HN 2")
    Inquiry.objects.filter(pk=world.lead.pk).update(contact_due_at=timezone.now() - dt.timedelta(minutes=1))
    r = call(api_client(org.manager_hn), "leads_allocate")
    assert r.status_code == 200, r.content
    assert r.json() == {"considered": 3, "assigned": 3, "still_queued": 0, "reclaimed": 1}
    assert Inquiry.objects.filter(owner=org.consultant_hn2).count() == 3


# --- allowed: rules ------------------------------------------------------------------------------------


def test_rules_crud_with_members(org, world):
    client = api_client(org.supervisor_hn)
    body = {
        "name": "IELTS Hà Nội",
        "position": 5,
        "team_id": org.hn_sales.pk,
        "channels": ["web", "zalo"],
        "provinces": ["01"],
        "products": ["ielts"],
        "languages": ["vi", "en"],
        "strategy": "weighted",
        "reclaim_after_minutes": 120,
        "work_start": "07:30:00",
        "work_end": "21:00:00",
        "members": [
            {"user_id": org.consultant_hn_b.pk, "capacity": 20, "skills": ["ielts"], "languages": ["en"]},
            {"user_id": org.consultant_hn.pk, "capacity": 10, "active": False},
        ],
    }
    r = call(client, "rules_create", body=body)
    assert r.status_code == 201, r.content
    rule = r.json()
    assert rule["branch_id"] == org.hn.pk and rule["strategy"] == "weighted"
    assert (rule["work_start"], rule["work_end"]) == ("07:30:00", "21:00:00")
    assert [(m["user_id"], m["position"], m["capacity"], m["active"]) for m in rule["members"]] == [
        (org.consultant_hn_b.pk, 0, 20, True),
        (org.consultant_hn.pk, 1, 10, False),
    ]
    assert AuditEvent.objects.filter(object_type="sales.allocationrule", action="create").count() == 1
    listed = client.get("/api/v1/leads/rules").json()
    assert [r["id"] for r in listed] == [rule["id"], world.rule.pk]  # by position
    # Reorder the rotation and drop nobody; change one field without touching the others.
    r = call(
        client,
        "rules_update",
        rule=rule["id"],
        body={
            "members": [{"user_id": org.consultant_hn.pk}, {"user_id": org.consultant_hn_b.pk, "capacity": 5}]
        },
    )
    assert r.status_code == 200, r.content
    assert [(m["user_id"], m["capacity"]) for m in r.json()["members"]] == [
        (org.consultant_hn.pk, None),
        (org.consultant_hn_b.pk, 5),
    ]
    assert r.json()["name"] == "IELTS Hà Nội" and r.json()["channels"] == ["web", "zalo"]
    r = call(client, "rules_update", rule=rule["id"], body={"name": "IELTS HN", "active": False})
    assert (r.json()["name"], r.json()["active"], len(r.json()["members"])) == ("IELTS HN", False, 2)
    r = call(client, "rules_delete", rule=rule["id"])
    assert r.status_code == 204
    assert not AllocationRule.objects.filter(pk=rule["id"]).exists()
    assert not AllocationMember.objects.filter(rule_id=rule["id"]).exists()
    assert AuditEvent.objects.filter(object_type="sales.allocationrule", action="delete").count() == 1


def test_rules_invalid_is_422(org, world):
    client = api_client(org.supervisor_hn)
    base = {"name": "R", "team_id": org.hn_sales.pk}
    before = db_state()
    for body, field in (
        ({"team_id": org.hn_sales.pk}, "name"),
        ({**base, "name": ""}, "name"),
        ({**base, "team_id": org.hcm_sales.pk}, "team_id"),  # not a team they manage
        ({**base, "team_id": 999_999}, "team_id"),
        ({**base, "strategy": "lottery"}, "strategy"),
        ({**base, "channels": ["fax"]}, "channels"),
        ({**base, "provinces": ["99"]}, "provinces"),
        ({**base, "reclaim_after_minutes": 0}, "reclaim_after_minutes"),
        ({**base, "work_start": "18:00", "work_end": "08:00"}, "work_end"),
        ({**base, "work_start": "25:00"}, "work_start"),
        ({**base, "work_end": "00:00:00Z"}, "work_end"),  # an offset makes no sense for office hours
        ({**base, "members": [{"user_id": org.consultant_hcm.pk}]}, "members"),
        (
            {**base, "members": [{"user_id": org.consultant_hn.pk}, {"user_id": org.consultant_hn.pk}]},
            "members",
        ),
        ({**base, "members": [{"user_id": org.consultant_hn.pk, "capacity": 0}]}, "members.0.capacity"),
    ):
        r = call(client, "rules_create", body=body)
        assert r.status_code == 422, (body, r.content)
        assert error_code(r) == "validation_error"
        assert field in r.json()["error"]["details"]["fields"], (body, r.json())
    r = call(client, "rules_update", rule=world.rule.pk, body={"strategy": "lottery"})
    assert r.status_code == 422
    assert db_state() == before


# --- allowed: absences ---------------------------------------------------------------------------------


def test_absences(org, world):
    mine = api_client(org.consultant_hn_b)
    body = {
        "user_id": org.consultant_hn_b.pk,
        "starts_at": "2031-05-04T08:00:00+07:00",
        "ends_at": "2031-05-06T17:30:00+07:00",
        "kind": "sick",
        "note": "Ốm",
    }
    r = call(mine, "absences_create", body=body)
    assert r.status_code == 201, r.content
    own = r.json()
    assert (own["user_id"], own["kind"], own["note"]) == (org.consultant_hn_b.pk, "sick", "Ốm")
    assert [a["id"] for a in mine.get("/api/v1/leads/absences").json()] == [own["id"]]
    # The supervisor sees the team's (soonest first) and records leave for a team member.
    sup = api_client(org.supervisor_hn)
    r = call(sup, "absences_create", body={**body, "user_id": org.consultant_hn.pk, "kind": "leave"})
    assert r.status_code == 201, r.content
    listed = [a["id"] for a in sup.get("/api/v1/leads/absences").json()]
    assert listed == [world.absence.pk, own["id"], r.json()["id"]]
    assert Absence.objects.get(pk=r.json()["id"]).created_by == org.supervisor_hn
    for bad, field in (
        ({**body, "ends_at": body["starts_at"]}, "ends_at"),
        ({**body, "kind": "holiday"}, "kind"),
        ({**body, "starts_at": "mai"}, "starts_at"),
        ({**body, "note": "x" * 201}, "note"),
    ):
        r = call(mine, "absences_create", body=bad)
        assert r.status_code == 422, (bad, r.content)
        assert field in r.json()["error"]["details"]["fields"], (bad, r.json())
    assert call(mine, "absences_delete", absence=own["id"]).status_code == 204
    assert call(sup, "absences_delete", absence=world.absence.pk).status_code == 204
    assert list(Absence.objects.values_list("user_id", flat=True).order_by("user_id")) == sorted(
        [org.consultant_hcm.pk, org.consultant_hn.pk]
    )
    assert AuditEvent.objects.filter(object_type="sales.absence", action="delete").count() == 2


def test_create_from_a_known_phone_goes_to_the_customers_owner(org, world):
    """An inquiry from a known phone attaches to the customer and goes to its owner, through the API too."""
    existing = make_customer(org.consultant_hn2, full_name="Lan", phones=["0988 123 456"])
    r = call(api_client(org.admin), "inquiries_create", body={"phone": "+84988123456", "channel": "hotline"})
    assert r.status_code == 201
    assert (r.json()["customer_id"], r.json()["owner_id"]) == (existing.pk, org.consultant_hn2.pk)
    assert r.json()["new_customer"] is False
