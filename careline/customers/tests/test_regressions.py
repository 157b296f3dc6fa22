"""Regressions found while reviewing: History query count, validation field names, permission first."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.conftest import api_client, web_client
from careline.customers import services
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def history_queries(org, updates: int) -> int:
    c = make_customer(org.supervisor_hn, full_name="Phan Thị Thu")
    owners = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn]
    for i in range(updates):
        services.customer_update(
            actor=org.supervisor_hn, customer_id=c.pk, data={"owner_id": owners[i % 3].pk}
        )
    client = web_client(org.supervisor_hn)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(f"/customers/{c.pk}/history/")
    assert r.status_code == 200
    assert str(org.consultant_hn_b) in r.content.decode()  # owner ids shown as names
    return len(ctx.captured_queries)


def test_history_query_count_does_not_grow_with_events(org):
    assert history_queries(org, 2) == history_queries(org, 8)


def test_validation_errors_name_fields_not_type_tags(org):
    r = api_client(org.admin).post(
        "/api/v1/customers",
        json.dumps({"full_name": "A", "phones": [123], "birthday": "not a date"}),
        content_type="application/json",
    )
    assert r.status_code == 422
    fields = r.json()["error"]["details"]["fields"]
    assert set(fields) == {"phones.0", "phones.0.number", "birthday"}, fields  # both forms of a phone entry


@pytest.mark.parametrize("path,data", [("notes", {"body": ""}), ("consents", {"purpose": ""})])
def test_forbidden_is_refused_before_the_form_is_checked(org, path, data):
    c = make_customer(org.consultant_hn)
    r = web_client(org.director).post(f"/customers/{c.pk}/{path}/", data)
    assert r.status_code == 403


def test_duplicate_reasons_are_vietnamese_by_default(org):
    mine = {"owner_id": org.supervisor_hn.pk}
    make_customer(org.admin, full_name="Hoa Nguyễn", phones=["0912 345 678"], **mine)
    make_customer(
        org.admin, full_name="Nguyễn Thị Hoa", phones=["0912 345 678"], allow_duplicate=True, **mine
    )
    html = web_client(org.supervisor_hn).get("/customers/duplicates/").content.decode()
    assert "Trùng số điện thoại 0912 345 678" in html
