"""Home page (stage counts of visible customers only) and the health check."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from careline.conftest import web_client
from careline.customers import services
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _stat(page: str, stat_id: str) -> int:
    return int(
        re.search(rf'id="{stat_id}">([\d.,\s]+)<', page).group(1).strip().replace(".", "").replace(",", "")
    )


def test_anonymous_is_redirected_to_login():
    r = Client().get("/")
    assert r.status_code == 302
    assert r["Location"] == "/accounts/login/?next=/"


def test_stage_counts_only_of_visible_customers(org):
    mine = [make_customer(org.consultant_hn, full_name=f"Của tôi {i}") for i in range(3)]
    services.customer_update(actor=org.consultant_hn, customer_id=mine[0].pk, data={"stage": "customer"})
    make_customer(org.consultant_hn, full_name="Hàng chờ", owner_id=None)  # team queue: visible, not mine
    archived = make_customer(org.consultant_hn, full_name="Đã lưu trữ")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    for i in range(4):  # another team's customers: invisible to consultant_hn
        make_customer(org.consultant_hn2, full_name=f"Nhóm khác {i}", stage="prospect")

    r = web_client(org.consultant_hn).get("/")
    assert r.status_code == 200
    counts = {value: n for value, _label, n in r.context["stage_counts"]}
    assert counts == {"lead": 3, "prospect": 0, "customer": 1, "inactive": 0}
    page = r.content.decode()
    assert _stat(page, "stat-total") == 4
    assert _stat(page, "stat-mine") == 3
    assert r.context["unassigned"] == 1

    r = web_client(org.manager_hn).get("/")
    counts = {value: n for value, _label, n in r.context["stage_counts"]}
    assert counts == {"lead": 3, "prospect": 4, "customer": 1, "inactive": 0}
    assert _stat(r.content.decode(), "stat-total") == 8

    r = web_client(org.consultant_hcm).get("/")
    assert _stat(r.content.decode(), "stat-total") == 0


def test_user_without_role_sees_no_counts(org):
    make_customer(org.consultant_hn)
    r = web_client(org.nobody).get("/")
    assert r.status_code == 200
    assert "stage_counts" not in r.context
    assert 'id="stat-total"' not in r.content.decode()


def test_home_is_vietnamese_by_default(org):
    page = web_client(org.consultant_hn).get("/").content.decode()
    assert '<html lang="vi"' in page


def test_health():
    r = Client().get("/health/")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    assert r.json() == {"status": "ok"}
    assert Client().post("/health/").status_code == 405
