"""GET /api/v1/helpdesk/recurring — the recurring-complaints report over the API."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from careline.accounts.models import RoleScope
from careline.conftest import api_client
from careline.helpdesk import services
from careline.helpdesk.tests.test_clusters_support import API_URL, SMALL_SIZES, local, make_month, make_ticket

pytestmark = pytest.mark.django_db

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def march(org) -> dict[int, str]:
    return make_month(org.admin, month_start=local(2026, 3, 2, 8))


def test_anonymous_is_401():
    response = Client().get(API_URL, MARCH)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert Client(HTTP_AUTHORIZATION="Bearer cl_nope").get(API_URL).status_code == 401


@pytest.mark.parametrize("who", ["care_agent_hn", "consultant_hn", "director", "manager_hn", "nobody"])
def test_forbidden_without_the_configure_right(org, who):
    response = api_client(getattr(org, who)).get(API_URL, MARCH)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_the_report(org, march):
    response = api_client(org.care_head).get(API_URL, {**MARCH, "kind": "complaint"})
    assert response.status_code == 200
    body = response.json()
    assert body["tickets"] == 26
    assert (body["from"], body["to"], body["kind"], body["category_id"]) == (
        "2026-03-01",
        "2026-03-31",
        "complaint",
        None,
    )
    assert body["truncated"] is False
    assert body["weeks"][0] == "2026-02-23" and len(body["weeks"]) == 6
    assert body["computed_at"].endswith("+07:00")
    clusters = body["clusters"]
    assert [c["size"] for c in clusters[:3]] == sorted(SMALL_SIZES.values(), reverse=True)
    top = clusters[0]
    assert set(top) >= {
        "size",
        "share",
        "terms",
        "examples",
        "ticket_ids",
        "uncategorised_ids",
        "cohesion",
        "weekly",
    }
    assert {march[i] for i in top["ticket_ids"]} == {"refund"}
    assert top["terms"][0] == "hoàn học phí"
    assert top["share"] == round(top["size"] / 26, 4)
    assert all(
        set(e) == {"ticket_id", "text"} and e["ticket_id"] in top["ticket_ids"] for e in top["examples"]
    )
    assert sum(top["weekly"]) == top["size"]
    assert body["clustered"] == sum(c["size"] for c in clusters)


def test_defaults_to_this_month(org):
    body = api_client(org.care_head).get(API_URL).json()
    today = timezone.localdate()
    assert body["from"] == today.replace(day=1).isoformat()
    assert body["to"][:7] == today.isoformat()[:7]
    assert body["kind"] == "complaint"
    only_to = api_client(org.care_head).get(API_URL, {"to": "2026-02-14"}).json()
    assert (only_to["from"], only_to["to"]) == ("2026-02-01", "2026-02-14")
    only_from = api_client(org.care_head).get(API_URL, {"from": "2026-02-10"}).json()
    assert (only_from["from"], only_from["to"]) == ("2026-02-10", "2026-02-28")


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-02-30"},
        {"from": "2026-3-1"},
        {"from": "20260301"},
        {"to": "2026-03-01T00:00"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2025-01-01", "to": "2026-03-01"},
        {"kind": "spam"},
        {"kind": "complaint\x00"},
        {"category_id": "0"},
        {"category_id": "abc"},
        {"category_id": str(2**63)},
        {"refresh": "maybe"},
    ],
)
def test_strict_input(org, query):
    response = api_client(org.care_head).get(API_URL, query)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_category_is_404(org):
    response = api_client(org.care_head).get(API_URL, {**MARCH, "category_id": "424242"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_category_and_kind_filters(org, march):
    fees = services.category_create(actor=org.admin, name="Học phí")
    customer_id = make_ticket(org.admin, subject="khác", opened_at=local(2026, 1, 5, 9)).customer_id
    for n in range(3):
        make_ticket(
            org.admin,
            subject="Xin hoàn học phí",
            opened_at=local(2026, 3, 20, 9 + n),
            customer_id=customer_id,
            category_id=fees.pk,
        )
        make_ticket(
            org.admin,
            subject="Hỏi lịch khai giảng",
            opened_at=local(2026, 3, 21, 9 + n),
            customer_id=customer_id,
            kind="inquiry",
        )
    client = api_client(org.care_head)
    assert client.get(API_URL, {**MARCH, "category_id": fees.pk}).json()["tickets"] == 3
    assert client.get(API_URL, {**MARCH, "kind": "inquiry"}).json()["tickets"] == 3
    assert client.get(API_URL, {**MARCH, "kind": ""}).json()["tickets"] == 26 + 6


def test_out_of_scope_tickets_never_appear(org):
    RoleScope.objects.filter(role__code="care_head", object_type="ticket").update(scope="team")
    customer_id = make_ticket(org.admin, subject="khác", opened_at=local(2026, 1, 5, 9)).customer_id
    mine, theirs = set(), set()
    for n in range(4):
        mine.add(
            make_ticket(
                org.admin,
                subject="Giáo viên đến muộn 20 phút",
                opened_at=local(2026, 3, 3 + n, 9),
                customer_id=customer_id,
                team_id=org.hn_care.pk,
            ).pk
        )
        theirs.add(
            make_ticket(
                org.admin,
                subject="Giáo viên đến muộn 30 phút",
                opened_at=local(2026, 3, 3 + n, 10),
                customer_id=customer_id,
                team_id=org.hcm_sales.pk,
            ).pk
        )
    body = api_client(org.care_head).get(API_URL, MARCH).json()
    assert body["tickets"] == 4
    seen = {i for c in body["clusters"] for i in c["ticket_ids"]} | {
        e["ticket_id"] for c in body["clusters"] for e in c["examples"]
    }
    assert seen and seen <= mine and not seen & theirs
    everyone = api_client(org.admin).get(API_URL, MARCH).json()
    assert everyone["tickets"] == 8


def test_refresh_recomputes(org, march):
    client = api_client(org.care_head)
    first = client.get(API_URL, MARCH).json()
    make_ticket(org.admin, subject="Chưa nhận được hoá đơn", opened_at=local(2026, 3, 25, 9))
    assert client.get(API_URL, MARCH).json()["computed_at"] == first["computed_at"]
    assert client.get(API_URL, {**MARCH, "refresh": "true"}).json()["tickets"] == 27
