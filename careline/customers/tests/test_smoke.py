import json

import pytest

from careline.conftest import api_client
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_create_search_get_patch(org):
    c = make_customer(
        org.consultant_hn, full_name="nguyễn thị lan", phones=["0912.345.678"], emails=["Lan@Example.com"]
    )
    assert c.full_name == "Nguyễn Thị Lan"
    client = api_client(org.consultant_hn)
    r = client.get("/api/v1/customers", {"q": "nguyen thi lan"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [i["id"] for i in body["items"]] == [c.pk]
    assert body["items"][0]["phones"] == ["+84912345678"]
    r = client.get("/api/v1/customers", {"q": "0912 345"})
    assert [i["id"] for i in r.json()["items"]] == [c.pk]
    r = client.get(f"/api/v1/customers/{c.pk}")
    assert r.status_code == 200
    etag = r["ETag"]
    r = client.patch(
        f"/api/v1/customers/{c.pk}",
        json.dumps({"stage": "prospect"}),
        content_type="application/json",
        HTTP_IF_MATCH=etag,
    )
    assert r.status_code == 200, r.content
    r = client.patch(
        f"/api/v1/customers/{c.pk}",
        json.dumps({"stage": "customer"}),
        content_type="application/json",
        HTTP_IF_MATCH=etag,
    )
    assert r.status_code == 412, r.content


def test_literal_filters_match_the_enums():
    from typing import get_args

    from careline.customers.api import SortKey, SourceFilter, StageFilter
    from careline.customers.choices import Source, Stage
    from careline.customers.selectors import SORTS

    assert set(get_args(StageFilter)) - {""} == set(Stage.values)
    assert set(get_args(SourceFilter)) - {""} == set(Source.values)
    assert set(get_args(SortKey)) - {""} == set(SORTS)
