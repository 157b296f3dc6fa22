"""/api/v1/quotas: every endpoint anonymous (401), out of scope (404), forbidden (403) and allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from careline.accounts.services import token_create
from careline.conftest import api_client
from careline.core.models import AuditEvent
from careline.kpis.api import quotas_router
from careline.kpis.models import Quota
from careline.kpis.tests.factories import local, make_activity, make_quota

pytestmark = pytest.mark.django_db

BASE = "/api/v1/quotas"
DAY = "2026-10-01"

# name → (method, path under BASE, JSON body)
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "list": ("GET", "", None),
    "create": ("POST", "", {"kind": "offer", "period": "day", "target": 20, "role": "consultant"}),
    "progress": ("GET", "/progress", None),
    "board": ("GET", "/board", None),
    "calls": ("GET", "/calls", None),
    "get": ("GET", "/{id}", None),
    "patch": ("PATCH", "/{id}", {"target": 12}),
    "delete": ("DELETE", "/{id}", None),
}
OBJECT_ENDPOINTS = ["get", "patch", "delete"]


def call(
    client: Client, name: str, quota_id: int | None = None, body: Any = None, query: str = "", **extra: Any
):
    method, path, default_body = ENDPOINTS[name]
    url = BASE + path.format(id=quota_id) + (f"?{query}" if query else "")
    payload = body if body is not None else default_body
    if method == "GET":
        return client.get(url, **extra)
    return client.generic(
        method,
        url,
        json.dumps(payload) if payload is not None else "",
        content_type="application/json",
        **extra,
    )


def bearer(user) -> dict[str, str]:
    _row, raw = token_create(actor=user, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


def state() -> list[tuple]:
    return sorted(
        Quota.objects.values_list("id", "kind", "period", "target", "role_id", "team_id", "user_id")
    )


def test_every_router_operation_is_in_the_matrix():
    declared = set()
    for path, path_view in quotas_router.path_operations.items():
        for op in path_view.operations:
            for method in op.methods:
                declared.add((method, path.replace("{int:quota_id}", "{id}")))
    assert declared == {(m, p) for m, p, _b in ENDPOINTS.values()}


def test_anonymous_and_bad_tokens_are_unauthorized(org):
    quota = make_quota(org.admin, kind="call", target=30)
    client = Client()
    before = state()
    for name in ENDPOINTS:
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nonsense"}):
            r = call(client, name, quota.pk, **headers)
            assert r.status_code == 401, (name, r.content)
            assert error_code(r) == "unauthorized"
    assert state() == before


def test_out_of_scope_is_not_found(org):
    theirs = make_quota(org.admin, kind="call", target=30, user_id=org.consultant_hn2.pk)
    client = Client()
    admin = bearer(org.admin)
    before = state()
    for actor in (org.consultant_hn, org.supervisor_hn, org.consultant_hcm):
        headers = bearer(actor)
        for name in OBJECT_ENDPOINTS:
            r = call(client, name, theirs.pk, **headers)
            assert r.status_code == 404, (actor, name, r.content)
            assert error_code(r) == "not_found"
            missing = call(client, name, 999_999, **admin)
            assert (missing.status_code, missing.json()) == (404, r.json())
        r = call(client, "progress", query=f"user_id={org.consultant_hn2.pk}", **headers)
        assert r.status_code == 404 and error_code(r) == "not_found"
        r = call(client, "calls", query=f"user_id={org.consultant_hn2.pk}", **headers)
        assert r.status_code == 404 and error_code(r) == "not_found"
    for actor in (org.supervisor_hn, org.manager_hn):
        r = call(client, "board", query=f"team_id={org.hcm_sales.pk}", **bearer(actor))
        assert r.status_code == 404 and error_code(r) == "not_found"
        r = call(client, "calls", query=f"team_id={org.hcm_sales.pk}", **bearer(actor))
        assert r.status_code == 404 and error_code(r) == "not_found"
    assert state() == before


FORBIDDEN = [
    ("list", "nobody"),
    ("progress", "nobody"),
    ("board", "nobody"),
    ("calls", "nobody"),
    ("board", "consultant_hn"),
    ("board", "care_agent_hn"),
    ("create", "consultant_hn"),
    ("create", "director"),
    ("create", "care_head"),
    ("create", "nobody"),
    ("patch", "consultant_hn"),
    ("patch", "director"),
    ("patch", "supervisor_hn"),  # company-wide quota: visible to the supervisor, set above them
    ("delete", "consultant_hn"),
    ("delete", "director"),
    ("delete", "supervisor_hn"),
    ("delete", "manager_hn"),
]


def test_forbidden(org):
    company = make_quota(org.admin, kind="call", target=30)
    client = Client()
    headers = {name: bearer(getattr(org, name)) for name in {a for _n, a in FORBIDDEN}}
    before = state()
    for name, actor in FORBIDDEN:
        if name in OBJECT_ENDPOINTS:  # it is visible: 403, not 404
            assert call(client, "get", company.pk, **headers[actor]).status_code == 200
        r = call(client, name, company.pk, **headers[actor])
        assert r.status_code == 403, (name, actor, r.content)
        assert error_code(r) == "forbidden"
    assert state() == before


# --- allowed -------------------------------------------------------------------------------------------


def test_list_get_create_patch_delete(org):
    company = make_quota(org.admin, kind="call", target=30)
    sup = api_client(org.supervisor_hn)
    r = call(sup, "list")
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert item == {
        "id": company.pk,
        "kind": "call",
        "period": "day",
        "target": 30,
        "role": "consultant",
        "team_id": None,
        "user_id": None,
        "active": True,
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }
    r = call(
        sup, "create", body={"kind": "email", "target": 50, "role": "consultant", "team_id": org.hn_sales.pk}
    )
    assert r.status_code == 201, r.content
    created = r.json()
    assert (created["kind"], created["period"], created["team_id"], created["role"]) == (
        "email",
        "day",
        org.hn_sales.pk,
        "consultant",
    )
    event = AuditEvent.objects.get(object_type="kpis.quota", object_id=str(created["id"]), action="create")
    assert (event.actor, event.source) == (org.supervisor_hn, "api")
    assert call(sup, "get", created["id"]).json()["target"] == 50
    r = call(sup, "patch", created["id"], body={"target": 45, "period": "week"})
    assert r.status_code == 200, r.content
    assert (r.json()["target"], r.json()["period"]) == (45, "week")
    r = call(sup, "delete", created["id"])
    assert r.status_code == 204
    assert not Quota.objects.filter(pk=created["id"]).exists()


def test_create_and_patch_invalid_are_422_or_409(org):
    make_quota(org.admin, kind="call", target=30)
    admin = api_client(org.admin)
    for body, field in (
        ({"kind": "call", "target": 0, "role": "consultant"}, "target"),
        ({"kind": "walk", "target": 3, "role": "consultant"}, "kind"),
        ({"kind": "call", "period": "year", "target": 3, "role": "consultant"}, "period"),
        ({"kind": "call", "target": 3}, "role"),
        ({"kind": "call", "target": 3, "role": "consultant", "user_id": org.consultant_hn.pk}, "role"),
    ):
        r = call(admin, "create", body=body)
        assert r.status_code == 422, (body, r.content)
        assert error_code(r) == "validation_error"
        assert field in r.json()["error"]["details"]["fields"], (body, r.json())
    r = call(admin, "create", body={"kind": "call", "target": 40, "role": "consultant"})
    assert r.status_code == 409 and error_code(r) == "duplicate_quota"
    sup = api_client(org.supervisor_hn)
    r = call(sup, "create", body={"kind": "email", "target": 3, "user_id": org.consultant_hn2.pk})
    assert r.status_code == 422 and "user_id" in r.json()["error"]["details"]["fields"]


def test_progress(org):
    make_quota(org.admin, kind="call", target=30)
    make_quota(org.admin, kind="call", period="week", target=100)
    for _ in range(3):
        make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    me = api_client(org.consultant_hn)
    r = call(me, "progress", query=f"date={DAY}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["user_id"], body["date"]) == (org.consultant_hn.pk, DAY)
    daily, weekly = body["items"]
    assert {k: daily[k] for k in ("kind", "period", "target", "done")} == {
        "kind": "call",
        "period": "day",
        "target": 30,
        "done": 3,
    }
    # A past day is judged on its whole day.
    assert daily == {
        "quota_id": daily["quota_id"],
        "kind": "call",
        "period": "day",
        "target": 30,
        "done": 3,
        "expected_by_now": 30.0,
        "working_day": True,
        "behind": True,
        "percent": 10,
        "pace_percent": 100,
        "status": "behind",
        "period_start": DAY,
        "period_end": DAY,
    }
    assert (weekly["period_start"], weekly["period_end"], weekly["expected_by_now"]) == (
        "2026-09-28",
        "2026-10-04",
        80.0,
    )
    # Tết: a day off.
    tet = call(me, "progress", query="date=2026-02-17").json()["items"][0]
    assert (tet["status"], tet["working_day"], tet["behind"]) == ("day_off", False, False)
    # Default date is today; a supervisor may ask for a team member.
    assert call(me, "progress").status_code == 200
    r = call(api_client(org.supervisor_hn), "progress", query=f"user_id={org.consultant_hn.pk}&date={DAY}")
    assert r.json()["items"][0]["done"] == 3
    r = call(me, "progress", query="date=01/10/2026")
    assert r.status_code == 422 and error_code(r) == "validation_error"


def test_board(org):
    make_quota(org.admin, kind="call", target=2)
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    r = call(api_client(org.supervisor_hn), "board", query=f"date={DAY}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["date"], body["team_id"]) == (DAY, None)
    assert [row["user_id"] for row in body["rows"]] == [org.consultant_hn_b.pk, org.consultant_hn.pk]
    assert body["rows"][0]["behind_count"] == 1
    assert body["rows"][1]["items"][0]["status"] == "done"
    r = call(api_client(org.manager_hn), "board", query=f"date={DAY}&team_id={org.hn_sales2.pk}")
    assert [row["user_id"] for row in r.json()["rows"]] == [org.consultant_hn2.pk]


def test_calls(org):
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 9), outcome="reached", duration_seconds=100)
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 23, 30), outcome="no_answer")
    r = call(api_client(org.supervisor_hn), "calls", query=f"team_id={org.hn_sales.pk}&from={DAY}&to={DAY}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["from"], body["to"], body["team_id"]) == (DAY, DAY, org.hn_sales.pk)
    total = body["total"]
    assert (total["calls"], total["reached"], total["reach_rate"], total["avg_duration_seconds"]) == (
        2,
        1,
        0.5,
        100,
    )
    assert total["outcomes"] == {"reached": 1, "no_answer": 1}
    assert len(total["by_hour"]) == 24
    assert total["by_hour"][23] == {"hour": 23, "total": 1, "reached": 0, "outcomes": {"no_answer": 1}}
    [person] = body["people"]
    assert person["user_id"] == org.consultant_hn.pk and person["stats"]["calls"] == 2
    r = call(api_client(org.consultant_hn), "calls", query="from=2026-10-05&to=2026-10-01")
    assert r.status_code == 422 and error_code(r) == "invalid_range"
