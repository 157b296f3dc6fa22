"""Schemathesis: generated requests for every API operation never cause a 5xx and every response matches
the published OpenAPI schema (status codes, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from careline.accounts.services import token_create
from careline.api.api import api
from careline.config.wsgi import application
from careline.customers.tests.factories import make_customer

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_test_connection_open():
    """Calls go straight to the WSGI app, so do what Django's test client does: don't let the end of a
    request close the connection that holds the test transaction (PostgreSQL)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(org):
    make_customer(org.admin, full_name="Nguyễn Thị Lan", phones=["0912 345 678"], emails=["lan@example.vn"])
    _row, raw = token_create(actor=org.admin, user=org.admin)
    return raw


# Business rules may refuse schema-valid input (a duplicate phone → 409, a founding date on a person or a
# garbage cursor → 422/400), so "positive data acceptance" does not apply; every other check does.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, excluded_checks=EXCLUDED)


def test_unknown_api_paths_answer_json_404(org):
    from django.test import Client

    for path in ("/api/v1/customers/null,null", "/api/v1/nothing", "/api/v2/customers"):
        for method in ("get", "post", "patch", "delete"):
            r = getattr(Client(enforce_csrf_checks=True), method)(path)
            assert r.status_code == 404, (method, path)
            assert r.json()["error"]["code"] == "not_found"


def test_phone_objects_without_label_default_to_mobile(org):
    import json

    from careline.conftest import api_client

    r = api_client(org.admin).post(
        "/api/v1/customers",
        json.dumps({"full_name": "Lê Văn Tám", "phones": [{"number": "0912 000 111"}, {"number": ""}]}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["phone_details"] == [
        {"number": "+84912000111", "display": "0912 000 111", "label": "mobile"}
    ]


def test_published_schema_is_the_committed_one():
    import json
    from pathlib import Path

    committed = json.loads((Path(__file__).resolve().parents[3] / "docs" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(api.get_openapi_schema(), default=str))
