"""Ids beyond the database's integer range answer 404, not 500 (found by the schemathesis run)."""

from __future__ import annotations

import pytest

from careline.conftest import api_client

pytestmark = pytest.mark.django_db


def test_huge_id_is_not_found(org):
    client = api_client(org.admin)
    huge = 10**40
    r = client.post(f"/api/v1/customers/{huge}/merge", {"other_id": 1}, content_type="application/json")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get(f"/api/v1/customers/{huge}")
    assert r.status_code == 404
