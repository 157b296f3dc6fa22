"""/api/v1/customers: every endpoint anonymous (401), out of scope (404), forbidden (403) and allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.accounts.models import ApiToken
from careline.accounts.services import token_create, token_revoke
from careline.conftest import api_client
from careline.core.models import AuditEvent
from careline.customers import services
from careline.customers.api import router
from careline.customers.models import Consent, ContactPoint, Customer, Note
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db

BASE = "/api/v1/customers"

# name → (method, path under BASE, JSON body)
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "list": ("GET", "", None),
    "export": ("GET", "/export", None),
    "create": ("POST", "", {"full_name": "Lê Văn Tám", "phones": ["0977 111 222"]}),
    "get": ("GET", "/{id}", None),
    "patch": ("PATCH", "/{id}", {"stage": "prospect"}),
    "archive": ("DELETE", "/{id}", None),
    "restore": ("POST", "/{id}/restore", None),
    "history": ("GET", "/{id}/history", None),
    "notes_list": ("GET", "/{id}/notes", None),
    "notes_add": ("POST", "/{id}/notes", {"body": "Khách hẹn gọi lại thứ Hai"}),
    "consents_add": (
        "POST",
        "/{id}/consents",
        {"purpose": "marketing", "status": "granted", "method": "paper"},
    ),
    "duplicates": ("GET", "/duplicates", None),
    "merge_exact": ("POST", "/duplicates/merge-exact", None),
    # The refusal tests never get as far as the other customer: 404/403 come from the survivor first.
    "merge": ("POST", "/{id}/merge", {"other_id": 999_998}),
}
OBJECT_ENDPOINTS = [name for name, (_m, path, _b) in ENDPOINTS.items() if "{id}" in path]

CUSTOMER_FIELDS = {
    "id",
    "kind",
    "full_name",
    "given_name",
    "salutation",
    "organization_id",
    "job_title",
    "phones",
    "phone_details",
    "emails",
    "birthday",
    "lunar_birthday",
    "founded_on",
    "tax_code",
    "province",
    "ward",
    "street",
    "legacy_address",
    "tier",
    "tags",
    "stage",
    "source",
    "owner_id",
    "team_id",
    "branch_id",
    "contract_terms",
    "price_type",
    "receivable_amount",
    "receivable_due",
    "external_ref",
    "archived_at",
    "created_at",
    "updated_at",
    "version",
}


def call(
    client: Client,
    name: str,
    customer_id: int | None = None,
    body: dict[str, Any] | None = None,
    **extra: Any,
):
    method, path, default_body = ENDPOINTS[name]
    url = BASE + path.format(id=customer_id)
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


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


def db_state() -> tuple:
    return (
        sorted(Customer.objects.values_list("id", "version", "archived_at", "stage")),
        ContactPoint.objects.count(),
        Note.objects.count(),
        Consent.objects.count(),
    )


def test_every_router_operation_is_in_the_matrix():
    """Adding an endpoint without adding it to ENDPOINTS (and so to every refusal test) fails here."""
    declared = set()
    for path, path_view in router.path_operations.items():
        for op in path_view.operations:
            for method in op.methods:
                declared.add((method, path.replace("{int:customer_id}", "{id}")))
    tested = {(m, p) for m, p, _b in ENDPOINTS.values()}
    assert declared == tested


# --- 401 ---------------------------------------------------------------------------------------------


def bearer(user) -> dict[str, str]:
    """Request headers carrying a fresh personal API token of `user` (one Client serves many users)."""
    _row, raw = token_create(actor=user, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_anonymous_and_bad_credentials_are_unauthorized(org):
    c = make_customer(org.consultant_hn)
    revoked_row, revoked_raw = token_create(actor=org.consultant_hn, user=org.consultant_hn)
    token_revoke(actor=org.consultant_hn, token_id=revoked_row.pk)
    inactive = bearer(org.supervisor_hn)
    org.supervisor_hn.is_active = False
    org.supervisor_hn.save()
    credentials = {
        "anonymous": {},
        "garbage": {"HTTP_AUTHORIZATION": "Bearer nonsense"},
        "unknown token": {"HTTP_AUTHORIZATION": "Bearer cl_notarealtoken"},
        "other scheme": {"HTTP_AUTHORIZATION": "Token abc"},
        "empty bearer": {"HTTP_AUTHORIZATION": "Bearer "},
        "revoked token": {"HTTP_AUTHORIZATION": f"Bearer {revoked_raw}"},
        "inactive user": inactive,
    }
    client = Client()
    before = db_state()
    for name in ENDPOINTS:
        for label, headers in credentials.items():
            r = call(client, name, c.pk, **headers)
            assert r.status_code == 401, (name, label, r.content)
            assert error_code(r) == "unauthorized"
            assert r.json()["error"]["message"]
    assert db_state() == before


# --- 404 / 403 ---------------------------------------------------------------------------------------


def test_out_of_scope_is_not_found(org):
    c = make_customer(org.consultant_hn)
    archived = make_customer(org.consultant_hn, full_name="Đã Lưu")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    client = Client()
    admin = bearer(org.admin)
    before = db_state()
    for actor_name in ("consultant_hcm", "consultant_hn_b", "nobody"):
        headers = bearer(getattr(org, actor_name))
        for name in OBJECT_ENDPOINTS:
            target = archived if name == "restore" else c
            r = call(client, name, target.pk, **headers)
            assert r.status_code == 404, (actor_name, name, r.content)
            assert error_code(r) == "not_found"
            # The same answer as for an id that does not exist at all.
            missing = call(client, name, 999_999, **admin)
            assert (missing.status_code, missing.json()) == (404, r.json())
    assert db_state() == before


FORBIDDEN = [
    ("export", "consultant_hn"),
    ("export", "care_head"),
    ("create", "director"),
    ("create", "care_head"),
    ("create", "care_agent_hn"),
    ("create", "nobody"),
    ("patch", "director"),
    ("patch", "academic_hn"),
    ("archive", "consultant_hn"),
    ("archive", "care_agent_hn"),
    ("archive", "director"),
    ("restore", "consultant_hn"),
    ("restore", "director"),
    ("notes_add", "director"),
    ("notes_add", "care_head"),
    ("consents_add", "care_head"),
    ("consents_add", "academic_hn"),
    ("duplicates", "consultant_hn"),
    ("duplicates", "director"),
    ("duplicates", "care_head"),
    ("merge_exact", "supervisor_hn"),
    ("merge_exact", "manager_hn"),
    ("merge_exact", "consultant_hn"),
    ("merge", "consultant_hn"),
    ("merge", "director"),
    ("merge", "care_agent_hn"),
]


def test_forbidden_action_on_visible_customer(org):
    c = make_customer(org.consultant_hn)
    archived = make_customer(org.consultant_hn, full_name="Đã Lưu")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    cared = make_customer(org.admin, full_name="Chăm Sóc", owner_id=org.care_agent_hn.pk)
    client = Client()
    headers = {name: bearer(getattr(org, name)) for name in {a for _n, a in FORBIDDEN}}
    before = db_state()
    for name, actor_name in FORBIDDEN:
        target = archived if name == "restore" else cared if actor_name == "care_agent_hn" else c
        if name != "create":  # it is visible: 403, not 404
            assert call(client, "get", target.pk, **headers[actor_name]).status_code == 200
        r = call(client, name, target.pk, **headers[actor_name])
        assert r.status_code == 403, (name, actor_name, r.content)
        assert error_code(r) == "forbidden"
    assert db_state() == before


# --- allowed -------------------------------------------------------------------------------------------


def assert_customer_shape(item: dict[str, Any]) -> None:
    assert set(item) == CUSTOMER_FIELDS
    for phone in item["phones"]:
        assert phone.startswith("+84") and phone[1:].isdigit(), phone
    for detail in item["phone_details"]:
        assert set(detail) == {"number", "display", "label"}
    assert isinstance(item["version"], int)


def test_list(org):
    mine = make_customer(
        org.consultant_hn,
        full_name="nguyễn thị lan",
        phones=["0912.345.678", {"number": "024 3826 1234", "label": "home"}],
        emails=["Lan@Example.com"],
        tags=["IELTS"],
        province="01",
    )
    make_customer(org.consultant_hcm, full_name="Không thấy")
    r = api_client(org.consultant_hn).get(BASE)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    assert [i["id"] for i in body["items"]] == [mine.pk]
    item = body["items"][0]
    assert_customer_shape(item)
    assert item["full_name"] == "Nguyễn Thị Lan"
    assert item["given_name"] == "Lan"
    assert item["phones"] == ["+84912345678", "+842438261234"]
    assert item["phone_details"] == [
        {"number": "+84912345678", "display": "0912 345 678", "label": "mobile"},
        {"number": "+842438261234", "display": "024 3826 1234", "label": "home"},
    ]
    assert item["emails"] == ["lan@example.com"]
    assert item["tags"] == ["IELTS"]
    assert item["owner_id"] == org.consultant_hn.pk
    assert item["team_id"] == org.hn_sales.pk
    assert item["branch_id"] == org.hn.pk
    assert item["version"] == 1
    assert item["archived_at"] is None
    # nobody has no role: refused like the web list (403), not silently empty.
    r = api_client(org.nobody).get(BASE)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_list_search_filters_and_cursor(org):
    client = api_client(org.consultant_hn)
    made = [
        make_customer(org.consultant_hn, full_name=f"Nguyễn Văn {g}")
        for g in ["An", "Bình", "Cường", "Dũng", "Em"]
    ]
    make_customer(org.consultant_hn, full_name="Trần Thị Lan", phones=["0912345678"], stage="prospect")
    r = client.get(BASE, {"q": "0912 345"})
    assert [i["full_name"] for i in r.json()["items"]] == ["Trần Thị Lan"]
    r = client.get(BASE, {"stage": "prospect"})
    assert [i["full_name"] for i in r.json()["items"]] == ["Trần Thị Lan"]
    seen: list[int] = []
    params: dict[str, Any] = {"q": "nguyen", "limit": 2}
    for _ in range(10):
        body = client.get(BASE, params).json()
        seen += [i["id"] for i in body["items"]]
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [c.pk for c in made]


def test_list_invalid_params(org):
    client = Client()
    headers = bearer(org.consultant_hn)
    for params, field in (
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"archived": "perhaps"}, "archived"),
        ({"team": "x"}, "team"),
        ({"q": "x" * 201}, "q"),
        ({"stage": "won"}, "stage"),
        ({"owner": "boss"}, "owner"),
        ({"sort": "age"}, "sort"),
    ):
        r = client.get(BASE, params, **headers)
        assert r.status_code == 422, (params, r.content)
        assert error_code(r) == "validation_error"
        assert field in r.json()["error"]["details"]["fields"], params
    for params, code in (
        ({"cursor": "garbage!!"}, "invalid_cursor"),
        ({"cursor": "WzFd"}, "invalid_cursor"),  # valid base64 JSON, wrong shape
    ):
        r = client.get(BASE, params, **headers)
        assert r.status_code == 400, (params, r.content)
        assert error_code(r) == code


def test_create(org):
    r = call(
        api_client(org.consultant_hn),
        "create",
        body={
            "full_name": "trần văn bình",
            "phones": ["0912 345 678", {"number": "+84 24 3826 1234", "label": "work"}],
            "emails": ["Binh@Example.com"],
            "birthday": "1990-03-15",
            "tags": ["VIP"],
            "salutation": "anh",
        },
    )
    assert r.status_code == 201, r.content
    item = r.json()
    assert_customer_shape(item)
    assert r["ETag"] == '"1"'
    assert item["full_name"] == "Trần Văn Bình"
    assert item["phones"] == ["+84912345678", "+842438261234"]
    assert item["emails"] == ["binh@example.com"]
    assert item["birthday"] == "1990-03-15"
    assert item["owner_id"] == org.consultant_hn.pk
    c = Customer.objects.get(pk=item["id"])
    event = AuditEvent.objects.get(object_type="customers.customer", object_id=str(c.pk))
    assert (event.action, event.actor, event.source, event.ip) == (
        "create",
        org.consultant_hn,
        "api",
        "127.0.0.1",
    )


def test_create_duplicate_is_409(org):
    existing = make_customer(org.consultant_hn, phones=["0912345678"])
    client = api_client(org.consultant_hn)
    before = db_state()
    r = call(client, "create", body={"full_name": "Bản sao", "phones": ["+84912345678"]})
    assert r.status_code == 409, r.content
    assert error_code(r) == "duplicate"
    details = r.json()["error"]["details"]
    assert details["existing_id"] == existing.pk
    assert details["field"] == "phones"
    # A consultant may not override; the DB is unchanged either way.
    r = call(
        client, "create", body={"full_name": "Bản sao", "phones": ["0912345678"], "allow_duplicate": True}
    )
    assert r.status_code == 403
    assert db_state() == before
    r = call(
        api_client(org.admin),
        "create",
        body={"full_name": "Bản sao", "phones": ["0912345678"], "allow_duplicate": True},
    )
    assert r.status_code == 201


def test_create_invalid_is_422_with_fields(org):
    client = Client()
    headers = bearer(org.consultant_hn)
    before = db_state()
    for body, fields in (
        ({"full_name": "A", "phones": ["123"], "emails": ["nope"]}, {"phones", "emails"}),
        ({"full_name": "A", "tax_code": "0100233480"}, {"tax_code"}),
        ({"full_name": "A", "province": "99"}, {"province"}),
        ({"full_name": "A", "birthday": "2999-01-01"}, {"birthday"}),
        ({"full_name": "A", "owner_id": 999_999}, {"owner_id"}),
        ({"full_name": "A", "owner_id": org.consultant_hn2.pk}, {"owner_id"}),
        ({"phones": ["0912345678"]}, {"full_name"}),
        ({"full_name": ""}, {"full_name"}),
        ({"full_name": "A", "birthday": "15/03/1990"}, {"birthday"}),
        ({"full_name": "A", "receivable_amount": "lots"}, {"receivable_amount"}),
        ({"full_name": "A", "stage": "won"}, {"stage"}),
    ):
        r = call(client, "create", body=body, **headers)
        assert r.status_code == 422, (body, r.content)
        assert error_code(r) == "validation_error"
        assert set(r.json()["error"]["details"]["fields"]) == fields, body
    assert db_state() == before


def test_create_malformed_json_is_rejected(org):
    r = api_client(org.consultant_hn).post(BASE, "{not json", content_type="application/json")
    assert r.status_code in (400, 422), r.content
    assert "error" in r.json()
    assert not Customer.objects.exists()


def test_get_etag_and_patch_if_match(org):
    c = make_customer(org.consultant_hn, phones=["0912345678"])
    client = api_client(org.consultant_hn)
    r = call(client, "get", c.pk)
    assert r.status_code == 200
    assert_customer_shape(r.json())
    etag = r["ETag"]
    assert etag == '"1"'
    r = call(client, "patch", c.pk, body={"stage": "prospect", "tags": ["VIP"]}, HTTP_IF_MATCH=etag)
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"'
    assert r.json()["stage"] == "prospect"
    assert r.json()["tags"] == ["VIP"]
    assert r.json()["phones"] == ["+84912345678"]  # not sent, so kept
    before = db_state()
    r = call(client, "patch", c.pk, body={"stage": "customer"}, HTTP_IF_MATCH=etag)
    assert r.status_code == 412
    assert error_code(r) == "stale_version"
    assert r.json()["error"]["details"] == {"current_version": 2}
    assert db_state() == before
    # Weak validators and '*' are understood; garbage is a 400.
    assert call(client, "patch", c.pk, body={"stage": "customer"}, HTTP_IF_MATCH='W/"2"').status_code == 200
    assert call(client, "patch", c.pk, body={"stage": "lead"}, HTTP_IF_MATCH="*").status_code == 200
    r = call(client, "patch", c.pk, body={"stage": "lead"}, HTTP_IF_MATCH="yesterday")
    assert r.status_code == 400
    assert error_code(r) == "invalid_if_match"
    # Without If-Match the change is applied (last write wins).
    r = call(client, "patch", c.pk, body={"phones": []})
    assert r.status_code == 200
    assert r.json()["phones"] == []
    assert r.json()["version"] == 5


def test_patch_invalid_and_duplicate(org):
    a = make_customer(org.consultant_hn, full_name="Khách A", phones=["0912345678"])
    b = make_customer(org.consultant_hn, full_name="Khách B")
    client = api_client(org.consultant_hn)
    r = call(client, "patch", b.pk, body={"emails": ["x@"]})
    assert r.status_code == 422
    assert set(r.json()["error"]["details"]["fields"]) == {"emails"}
    r = call(client, "patch", b.pk, body={"phones": ["0912 345 678"]})
    assert r.status_code == 409
    assert r.json()["error"]["details"]["existing_id"] == a.pk
    r = call(client, "patch", b.pk, body={"full_name": None})
    assert r.status_code == 422


def test_archive_restore(org):
    c = make_customer(org.supervisor_hn, full_name="Lưu Trữ")
    client = api_client(org.supervisor_hn)
    r = call(client, "archive", c.pk)
    assert r.status_code == 200, r.content
    assert_customer_shape(r.json())
    assert r.json()["archived_at"] is not None
    assert Customer.objects.get(pk=c.pk).archived_at is not None
    assert client.get(BASE).json()["items"] == []
    assert [i["id"] for i in client.get(BASE, {"archived": "true"}).json()["items"]] == [c.pk]
    # Still readable directly; not editable.
    assert call(client, "get", c.pk).status_code == 200
    r = call(client, "patch", c.pk)
    assert r.status_code == 409
    assert error_code(r) == "archived"
    r = call(client, "restore", c.pk)
    assert r.status_code == 200
    assert r.json()["archived_at"] is None
    assert [i["id"] for i in client.get(BASE).json()["items"]] == [c.pk]


def test_history(org):
    c = make_customer(org.consultant_hn)
    client = api_client(org.consultant_hn)
    call(client, "patch", c.pk, body={"stage": "prospect"})
    r = call(client, "history", c.pk)
    assert r.status_code == 200
    events = r.json()
    assert [e["action"] for e in events] == ["update", "create"]
    assert set(events[0]) == {
        "id",
        "created_at",
        "actor_id",
        "actor_label",
        "action",
        "changes",
        "ip",
        "source",
    }
    assert events[0]["changes"] == {"stage": {"before": "lead", "after": "prospect"}}
    assert events[0]["actor_id"] == org.consultant_hn.pk
    assert events[0]["source"] == "api"
    assert events[0]["ip"] == "127.0.0.1"
    # Read-only roles may read the history too.
    assert call(api_client(org.care_head), "history", c.pk).status_code == 200


def test_notes(org):
    c = make_customer(org.consultant_hn)
    client = api_client(org.consultant_hn)
    assert call(client, "notes_list", c.pk).json() == []
    r = call(client, "notes_add", c.pk, body={"body": "  Gọi lại lúc 5h  "})
    assert r.status_code == 201, r.content
    note = r.json()
    assert set(note) == {"id", "body", "author_id", "created_at"}
    assert note["body"] == "Gọi lại lúc 5h"
    assert note["author_id"] == org.consultant_hn.pk
    r = call(client, "notes_list", c.pk)
    assert r.status_code == 200
    assert [n["id"] for n in r.json()] == [note["id"]]
    assert call(api_client(org.director), "notes_list", c.pk).status_code == 200
    for bad in ({"body": ""}, {"body": "   "}, {}, {"body": "x" * 10_001}):
        r = call(client, "notes_add", c.pk, body=bad)
        assert r.status_code == 422, (bad, r.content)
        assert "body" in r.json()["error"]["details"]["fields"]
    assert Note.objects.count() == 1


def test_consents(org):
    c = make_customer(org.consultant_hn)
    client = api_client(org.consultant_hn)
    r = call(
        client,
        "consents_add",
        c.pk,
        body={"purpose": "care_calls", "status": "granted", "method": "phone_call", "evidence": "rec-1"},
    )
    assert r.status_code == 201, r.content
    consent = r.json()
    assert set(consent) == {"id", "purpose", "status", "method", "evidence", "given_at", "recorded_by_id"}
    assert consent["recorded_by_id"] == org.consultant_hn.pk
    assert consent["evidence"] == "rec-1"
    future = (timezone.now() + timezone.timedelta(days=2)).isoformat()
    for bad, field in (
        ({"purpose": "spam", "status": "granted", "method": "paper"}, "purpose"),
        ({"purpose": "marketing", "status": "granted", "method": "paper", "given_at": future}, "given_at"),
        ({"purpose": "marketing", "status": "granted"}, "method"),
    ):
        r = call(client, "consents_add", c.pk, body=bad)
        assert r.status_code == 422, r.content
        assert field in r.json()["error"]["details"]["fields"]
    assert Consent.objects.count() == 1


def test_allowed_matrix(org):
    """Each role gets 2xx on the actions its default scope grants."""
    c = make_customer(org.consultant_hn)
    client = Client()
    headers = {
        u: bearer(getattr(org, u))
        for u in (
            "admin",
            "director",
            "manager_hn",
            "supervisor_hn",
            "consultant_hn",
            "care_head",
            "academic_hn",
            "care_agent_hn",
        )
    }
    for actor in (
        "admin",
        "director",
        "manager_hn",
        "supervisor_hn",
        "consultant_hn",
        "care_head",
        "academic_hn",
    ):
        for name in ("get", "history", "notes_list"):
            assert call(client, name, c.pk, **headers[actor]).status_code == 200, (actor, name)
        assert c.pk in [i["id"] for i in call(client, "list", **headers[actor]).json()["items"]]
    for actor in ("admin", "manager_hn", "supervisor_hn", "consultant_hn"):
        r = call(client, "patch", c.pk, body={"job_title": f"by {actor}"}, **headers[actor])
        assert r.status_code == 200, actor
        assert call(client, "notes_add", c.pk, **headers[actor]).status_code == 201
        assert call(client, "consents_add", c.pk, **headers[actor]).status_code == 201
        r = call(client, "create", body={"full_name": f"Mới của {actor}"}, **headers[actor])
        assert r.status_code == 201, actor
    for actor in ("admin", "manager_hn", "supervisor_hn"):
        assert call(client, "archive", c.pk, **headers[actor]).status_code == 200, actor
        assert call(client, "restore", c.pk, **headers[actor]).status_code == 200, actor
    care = make_customer(org.admin, owner_id=org.care_agent_hn.pk)
    assert call(client, "patch", care.pk, **headers["care_agent_hn"]).status_code == 200
    assert call(client, "notes_add", care.pk, **headers["care_agent_hn"]).status_code == 201


# --- session auth requires CSRF ---------------------------------------------------------------------


def test_session_auth_requires_csrf(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.consultant_hn)
    make_customer(org.consultant_hn, full_name="Đã Có")
    # Reads with the session work.
    r = client.get(BASE)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 1
    # A write without the CSRF token is refused and changes nothing.
    before = db_state()
    r = client.post(BASE, json.dumps({"full_name": "Lê Văn CSRF"}), content_type="application/json")
    assert r.status_code == 403, r.content
    assert db_state() == before
    c = Customer.objects.get()
    for method, path in (("PATCH", f"/{c.pk}"), ("DELETE", f"/{c.pk}"), ("POST", f"/{c.pk}/notes")):
        r = client.generic(
            method,
            BASE + path,
            json.dumps({"body": "x", "stage": "customer"}),
            content_type="application/json",
        )
        assert r.status_code == 403, (method, path, r.content)
    assert db_state() == before
    # With the token from the page, the same write goes through.
    client.get("/customers/")
    token = client.cookies["csrftoken"].value
    r = client.post(
        BASE,
        json.dumps({"full_name": "Lê Văn CSRF"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert r.status_code == 201, r.content


def test_session_of_inactive_user_is_unauthorized(org):
    client = Client()
    client.force_login(org.consultant_hn)
    org.consultant_hn.is_active = False
    org.consultant_hn.save()
    assert client.get(BASE).status_code == 401


# --- tokens -------------------------------------------------------------------------------------------


def test_token_last_used_is_recorded(org):
    row, raw = token_create(actor=org.consultant_hn, user=org.consultant_hn)
    assert row.last_used_at is None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(BASE).status_code == 200
    assert ApiToken.objects.get(pk=row.pk).last_used_at is not None


# --- query counts --------------------------------------------------------------------------------------


def _rich_customers(actor, start: int, n: int) -> None:
    for i in range(start, start + n):
        make_customer(
            actor,
            full_name=f"Khách {i:03d}",
            phones=[f"09123{i:05d}", f"09887{i:05d}"],
            emails=[f"k{i}@example.com"],
            tags=[f"tag{i % 3}", "VIP"],
            allow_duplicate=True,
        )


def _count_list_queries(client: Client, **params: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(BASE, {"limit": 100, **params})
    assert r.status_code == 200
    return len(ctx.captured_queries), len(r.json()["items"])


def test_list_query_count_does_not_grow_with_rows(org):
    client = api_client(org.admin)
    client.get(BASE)  # first use of the token records last_used_at (one extra UPDATE)
    _rich_customers(org.admin, 0, 5)
    small, n_small = _count_list_queries(client)
    small_q, _ = _count_list_queries(client, q="khach")
    _rich_customers(org.admin, 5, 25)
    big, n_big = _count_list_queries(client)
    big_q, _ = _count_list_queries(client, q="khach")
    assert (n_small, n_big) == (5, 30)
    assert big == small
    assert big_q == small_q
    assert big <= 8, big


# --- OpenAPI ------------------------------------------------------------------------------------------


def test_openapi_and_docs_are_public(org):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "Careline API"
    paths = schema["paths"]
    assert "/api/v1/customers" in paths
    assert "/api/v1/customers/{customer_id}" in paths
    assert set(schema["components"]["schemas"]["CustomerOut"]["properties"]) == CUSTOMER_FIELDS
    assert api_client(org.consultant_hn).get("/api/v1/openapi.json").json() == schema
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/api/v1/openapi.json" in html
    assert "cdn." not in html  # served locally (ARCHITECTURE §2)
