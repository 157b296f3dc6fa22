"""/api/v1/surveys: every endpoint anonymous (401), out of scope (404), forbidden (403) and allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from careline.accounts.services import token_create
from careline.conftest import api_client
from careline.surveys.api import router
from careline.surveys.models import Invitation, Response, Survey
from careline.surveys.tests.factories import (
    answer,
    consent,
    link_invitation,
    make_customer,
    make_survey,
    make_ticket,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/surveys"

# name → (method, path under BASE, JSON body); {survey}, {response}, {invitation} are ids; "{customer}" and
# "{survey}" in a body are replaced too.
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "list": ("GET", "", None),
    "create": ("POST", "", {"name": "NPS mới", "kind": "nps"}),
    "get": ("GET", "/{survey}", None),
    "patch": ("PATCH", "/{survey}", {"name": "Đổi tên"}),
    "results": ("GET", "/results", None),
    "responses_list": ("GET", "/responses", None),
    "responses_create": (
        "POST",
        "/responses",
        {"survey_id": "{survey}", "customer_id": "{customer}", "score": 9},
    ),
    "responses_get": ("GET", "/responses/{response}", None),
    "invitations_create": (
        "POST",
        "/invitations",
        {"survey_id": "{survey}", "customer_id": "{customer}", "channel": "link"},
    ),
    "invitations_get": ("GET", "/invitations/{invitation}", None),
    "send": ("POST", "/send", {"dry_run": True}),
}
# Endpoints that reach a customer, a response or an invitation (out of scope → 404).
SCOPED = ["responses_create", "responses_get", "invitations_create", "invitations_get"]


def call(client: Client, name: str, *, ids: dict[str, int], body: dict[str, Any] | None = None, **extra: Any):
    method, path, default = ENDPOINTS[name]
    url = BASE + path.format(**ids)
    payload = dict(body if body is not None else default or {})
    for key, value in payload.items():
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            payload[key] = ids[value[1:-1]]
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
        sorted(Survey.objects.values_list("id", "name", "updated_at")),
        sorted(Response.objects.values_list("id", "score", "reason", "updated_at")),
        sorted(Invitation.objects.values_list("id", "sent_at")),
    )


@pytest.fixture
def world(org):
    """An NPS survey; consultant_hn's customer (consent given) with an answered invitation."""
    survey = make_survey(org.care_head, name="NPS", kind="nps")
    customer = make_customer(org.consultant_hn, full_name="Khách HN")
    consent(org.admin, customer, "care_calls", "granted")
    invitation = link_invitation(org.admin, survey, customer)
    response = answer(invitation, 9)
    return {"survey": survey, "customer": customer, "invitation": invitation, "response": response}


def ids_of(world) -> dict[str, int]:
    return {
        "survey": world["survey"].pk,
        "customer": world["customer"].pk,
        "invitation": world["invitation"].pk,
        "response": world["response"].pk,
    }


MISSING = {"survey": 999_999, "customer": 999_999, "invitation": 999_999, "response": 999_999}


def test_every_router_operation_is_in_the_matrix():
    declared = set()
    for path, path_view in router.path_operations.items():
        for op in path_view.operations:
            for method in op.methods:
                p = (
                    path.replace("{int:survey_id}", "{survey}")
                    .replace("{int:response_id}", "{response}")
                    .replace("{int:invitation_id}", "{invitation}")
                )
                declared.add((method, p))
    assert declared == {(m, p) for m, p, _b in ENDPOINTS.values()}


def test_anonymous_and_bad_credentials_are_unauthorized(org, world):
    client = Client()
    before = db_state()
    for name in ENDPOINTS:
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nonsense"}, {"HTTP_AUTHORIZATION": "Token x"}):
            r = call(client, name, ids=ids_of(world), **headers)
            assert r.status_code == 401, (name, r.content)
            assert error_code(r) == "unauthorized"
    assert db_state() == before


def test_out_of_scope_is_not_found(org, world):
    client = Client()
    admin = bearer(org.admin)
    before = db_state()
    for actor_name in ("consultant_hcm", "consultant_hn_b", "care_agent_hn", "nobody"):
        headers = bearer(getattr(org, actor_name))
        for name in SCOPED:
            r = call(client, name, ids=ids_of(world), **headers)
            assert r.status_code == 404, (actor_name, name, r.content)
            assert error_code(r) == "not_found"
            missing = call(client, name, ids=MISSING, **admin)
            assert missing.status_code == 404 and error_code(missing) == "not_found", name
    for name in ("get", "patch"):
        r = call(client, name, ids=MISSING, **bearer(org.care_head))
        assert r.status_code == 404 and error_code(r) == "not_found", name
    assert db_state() == before


FORBIDDEN = [
    ("list", "nobody"),
    ("get", "nobody"),
    ("results", "nobody"),
    ("responses_list", "nobody"),
    ("create", "care_agent_hn"),
    ("create", "consultant_hn"),
    ("create", "director"),
    ("create", "manager_hn"),
    ("patch", "care_agent_hn"),
    ("patch", "director"),
    ("responses_create", "director"),
    ("responses_create", "academic_hn"),
    ("invitations_create", "director"),
    ("invitations_create", "academic_hn"),
    ("send", "care_agent_hn"),
    ("send", "director"),
    ("send", "nobody"),
]


def test_forbidden_actions(org, world):
    client = Client()
    headers = {name: bearer(getattr(org, name)) for name in {a for _n, a in FORBIDDEN}}
    before = db_state()
    for name, actor_name in FORBIDDEN:
        r = call(client, name, ids=ids_of(world), **headers[actor_name])
        assert r.status_code == 403, (name, actor_name, r.content)
        assert error_code(r) == "forbidden"
    assert db_state() == before


# --- allowed ---------------------------------------------------------------------------------------------------

SURVEY_FIELDS = {
    "id",
    "name",
    "kind",
    "trigger",
    "active",
    "question",
    "questions",
    "segment",
    "every_days",
    "last_sent_at",
    "created_at",
    "updated_at",
}


def post(client: Client, path: str, body: dict[str, Any]):
    return client.post(BASE + path, json.dumps(body), content_type="application/json")


def patch(client: Client, path: str, body: dict[str, Any]):
    return client.patch(BASE + path, json.dumps(body), content_type="application/json")


def test_survey_crud(org):
    client = api_client(org.care_head)
    r = post(
        client,
        "",
        {
            "name": "NPS quý",
            "kind": "nps",
            "trigger": "schedule",
            "every_days": 90,
            "segment": {"stage": "customer", "team": org.hn_sales.pk},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == SURVEY_FIELDS
    assert body["segment"] == {"stage": "customer", "team": org.hn_sales.pk} and body["every_days"] == 90
    survey_id = body["id"]
    r = patch(client, f"/{survey_id}", {"active": False, "question": "Bạn có giới thiệu chúng tôi không?"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["question"] == "Bạn có giới thiệu chúng tôi không?" and r.json()["every_days"] == 90
    r = api_client(org.care_agent_hn).get(BASE)
    assert r.status_code == 200 and [s["id"] for s in r.json()] == [survey_id]
    assert api_client(org.care_agent_hn).get(f"{BASE}/{survey_id}").json()["name"] == "NPS quý"
    assert api_client(org.admin).get(BASE + "?active=true").json() == []
    r = post(client, "", {"name": "Custom", "kind": "custom"})
    assert r.status_code == 422 and "questions" in r.json()["error"]["details"]["fields"]
    r = post(
        client,
        "",
        {
            "name": "Custom",
            "kind": "custom",
            "questions": [{"label": "Phòng học thế nào?", "type": "scale", "min": 1, "max": 5}],
        },
    )
    assert r.status_code == 201 and r.json()["questions"][0]["key"] == "q1"
    r = post(client, "", {"name": "CSAT", "kind": "csat", "trigger": "ticket_resolved"})
    assert r.status_code == 201
    r = post(client, "", {"name": "CSAT 2", "kind": "csat", "trigger": "ticket_resolved"})
    assert r.status_code == 409 and error_code(r) == "ticket_survey_exists"
    r = post(client, "", {"name": "x", "kind": "stars"})
    assert r.status_code == 422


def test_record_an_answer_by_api(org, world):
    client = api_client(org.consultant_hn)
    r = post(
        client,
        "/responses",
        {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk, "score": 4, "reason": "Chậm"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["score"], body["band"], body["channel"], body["agent_id"], body["recorded_by_id"]) == (
        4,
        "detractor",
        "agent",
        org.consultant_hn.pk,
        org.consultant_hn.pk,
    )
    assert body["follow_up_ticket_id"] is not None and body["customer_name"] == "Khách HN"
    r = post(
        client,
        "/responses",
        {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk, "score": 11},
    )
    assert r.status_code == 422
    r = post(client, "/responses", {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk})
    assert r.status_code == 422 and "score" in r.json()["error"]["details"]["fields"]


def test_record_twice_on_a_ticket_answers_200(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin)
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    client = api_client(org.care_agent_hn)
    first = post(client, "/responses", {"survey_id": survey.pk, "ticket_id": ticket.pk, "score": 5})
    assert first.status_code == 201, first.content
    again = post(client, "/responses", {"survey_id": survey.pk, "ticket_id": ticket.pk, "score": 4})
    assert (
        again.status_code == 200 and again.json()["id"] == first.json()["id"] and again.json()["score"] == 4
    )
    assert client.get(f"{BASE}/responses/{first.json()['id']}").json()["ticket_id"] == ticket.pk


def test_invitations_by_api(org, world, settings):
    settings.CARELINE_PUBLIC_URL = "https://cskh.example.vn/"
    client = api_client(org.consultant_hn)
    r = post(
        client,
        "/invitations",
        {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk, "channel": "link"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    invitation = Invitation.objects.get(pk=body["id"])
    assert body["url"] == f"https://cskh.example.vn/s/{invitation.token}/"
    assert client.get(f"{BASE}/invitations/{body['id']}").json()["url"] == body["url"]
    r = post(
        client,
        "/invitations",
        {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk, "channel": "email"},
    )
    assert r.status_code == 422  # no email address on the card
    other = make_customer(org.consultant_hn, full_name="Chưa đồng ý")
    r = post(
        client, "/invitations", {"survey_id": world["survey"].pk, "customer_id": other.pk, "channel": "link"}
    )
    assert r.status_code == 409 and error_code(r) == "no_consent"
    ticket = make_ticket(other, assignee=org.consultant_hn)
    first = post(
        client, "/invitations", {"survey_id": world["survey"].pk, "ticket_id": ticket.pk, "channel": "link"}
    )
    again = post(
        client, "/invitations", {"survey_id": world["survey"].pk, "ticket_id": ticket.pk, "channel": "link"}
    )
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]


def test_results_endpoint(org, world):
    client = api_client(org.care_head)
    r = client.get(f"{BASE}/results?kind=nps")
    assert r.status_code == 200, r.content
    body = r.json()
    for key in (
        "responses",
        "score",
        "response_rate",
        "promoters",
        "passives",
        "detractors",
        "by_agent",
        "by_team",
        "by_category",
        "trend",
    ):
        assert key in body
    assert (body["responses"], body["score"], body["promoters"], body["response_rate"]) == (1, 100.0, 1, 1.0)
    assert body["by_agent"] == [
        {
            "id": org.consultant_hn.pk,
            "name": str(org.consultant_hn),
            "responses": 1,
            "score": 100.0,
            "promoters": 1,
            "passives": 0,
            "detractors": 0,
        }
    ]
    assert set(body["trend"][0]) == {"period", "responses", "score"}
    assert body["granularity"] == "day" and len(body["distribution"]) == 11
    today = body["to"]
    r = client.get(f"{BASE}/results?kind=nps&from={today}&to={today}")
    assert r.status_code == 200 and r.json()["from"] == today and len(r.json()["trend"]) == 1
    assert client.get(f"{BASE}/results?kind=csat").json()["responses"] == 0
    assert api_client(org.consultant_hcm).get(f"{BASE}/results?kind=nps").json()["responses"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "kind=stars",
        "from=0",
        "to=2026-13-01",
        "from=2026-02-30",
        "from=20260301",
        "from=2026-03-02&to=2026-03-01",
        "survey_id=0",
    ],
)
def test_results_rejects_bad_query_strings(org, query):
    r = api_client(org.admin).get(f"{BASE}/results?{query}")
    assert r.status_code == 422, (query, r.content)
    assert error_code(r) == "validation_error"


def test_responses_list_filters_and_pages(org, world):
    client = api_client(org.admin)
    r = client.get(f"{BASE}/responses?kind=nps&band=promoter")
    assert [i["id"] for i in r.json()["items"]] == [world["response"].pk]
    assert client.get(f"{BASE}/responses?band=detractor").json()["items"] == []
    for query in ("band=fan", "from=0", "limit=0", "limit=101", "channel=fax", "cursor=%%%"):
        r = client.get(f"{BASE}/responses?{query}")
        assert r.status_code in (400, 422), (query, r.content)
    for score in (1, 2, 3):
        post(
            client,
            "/responses",
            {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk, "score": score},
        )
    page = client.get(f"{BASE}/responses?limit=3").json()
    rest = client.get(f"{BASE}/responses?limit=3&cursor={page['next_cursor']}").json()
    assert len(page["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_responses_list_query_count_does_not_grow(org, world):
    client = api_client(org.admin)
    client.get(f"{BASE}/responses")  # warm the token's last-used stamp

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{BASE}/responses").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for score in (5, 6, 7, 8):
        post(
            client,
            "/responses",
            {"survey_id": world["survey"].pk, "customer_id": world["customer"].pk, "score": score},
        )
    assert count() == before


def test_send_now_by_api(org, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    survey = make_survey(org.care_head, name="NPS", kind="nps", trigger="schedule", every_days=30)
    customer = make_customer(org.admin, emails=["a@example.vn"])
    consent(org.admin, customer, "care_calls", "granted")
    client = api_client(org.care_head)
    r = post(client, "/send", {"dry_run": True})
    assert r.status_code == 200 and r.json()[0]["invited"] == 1 and not Invitation.objects.exists()
    r = post(client, "/send", {"survey_id": survey.pk})
    assert r.status_code == 200 and r.json()[0]["emailed"] == 1
    r = post(client, "/send", {"survey_id": make_survey(org.care_head, name="manual").pk})
    assert r.status_code == 422
