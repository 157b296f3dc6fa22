"""Query-string dates (`IsoDate`) read the same way on every router: a real day written YYYY-MM-DD or the
parameter left out; anything else (an empty value too) is a 422 `validation_error` naming the parameter
(docs/api.md § Errors)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import TypeAdapter, ValidationError

from careline.api.types import IsoDate
from careline.conftest import api_client

pytestmark = pytest.mark.django_db

# (path, date parameter) for every operation that takes a date in its query string.
DATE_PARAMETERS = [
    ("/api/v1/leads", "date"),
    ("/api/v1/inquiries", "date"),
    ("/api/v1/surveys/results", "from"),
    ("/api/v1/surveys/results", "to"),
    ("/api/v1/surveys/responses", "from"),
    ("/api/v1/surveys/responses", "to"),
    ("/api/v1/tickets/fcr", "from"),
    ("/api/v1/tickets/fcr", "to"),
    ("/api/v1/helpdesk/recurring", "from"),
    ("/api/v1/helpdesk/recurring", "to"),
    ("/api/v1/quotas/progress", "date"),
    ("/api/v1/quotas/board", "date"),
    ("/api/v1/quotas/calls", "from"),
    ("/api/v1/quotas/calls", "to"),
    ("/api/v1/activities", "date"),
]
NOT_DATES = [
    "",
    "0",
    "20260301",
    "2026-02-30",
    "2026-13-01",
    "2026-3-1",
    "01/03/2026",
    "2026-03-01T00:00",
    " ",
]
VI_MESSAGE = "Hãy nhập ngày hợp lệ, dạng YYYY-MM-DD."


def test_iso_date_type():
    adapter = TypeAdapter(IsoDate | None)
    assert adapter.validate_python("2026-03-01") == dt.date(2026, 3, 1)
    assert adapter.validate_python(dt.date(2026, 3, 1)) == dt.date(2026, 3, 1)
    assert adapter.validate_python(None) is None
    for value in [*NOT_DATES, 0, 20260301, dt.datetime(2026, 3, 1, 9, 0)]:
        with pytest.raises(ValidationError) as info:
            adapter.validate_python(value)
        assert info.value.errors()[0]["type"] == "iso_date", value
    assert adapter.json_schema() == {"anyOf": [{"format": "date", "type": "string"}, {"type": "null"}]}


@pytest.mark.parametrize(("path", "name"), DATE_PARAMETERS)
def test_a_bad_date_is_a_422_naming_the_parameter(org, path, name):
    client = api_client(org.admin)
    for value in NOT_DATES:
        r = client.get(path, {name: value})
        assert r.status_code == 422, (path, name, value, r.content)
        assert r.json() == {
            "error": {
                "code": "validation_error",
                "message": "Một số trường chưa hợp lệ.",
                "details": {"fields": {name: [VI_MESSAGE]}},
            }
        }, (path, name, value)
    r = client.get(path, {name: "2026-02-30"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.json()["error"]["message"] == "Some fields are not valid."
    assert r.json()["error"]["details"]["fields"] == {name: ["Use a real date, YYYY-MM-DD."]}


@pytest.mark.parametrize(("path", "name"), DATE_PARAMETERS)
def test_a_real_date_or_none_is_taken(org, path, name):
    client = api_client(org.admin)
    value = "2026-03-01" if name == "from" else "2026-03-31"
    assert client.get(path, {name: value}).status_code == 200, (path, name)
    assert client.get(path).status_code == 200, path


def test_the_date_given_is_the_date_used(org):
    client = api_client(org.admin)
    report = client.get("/api/v1/helpdesk/recurring", {"from": "2026-02-10"}).json()
    assert (report["from"], report["to"]) == ("2026-02-10", "2026-02-28")
    results = client.get("/api/v1/surveys/results", {"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert (results["from"], results["to"]) == ("2026-03-01", "2026-03-31")
    fcr = client.get("/api/v1/tickets/fcr", {"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert (fcr["date_from"], fcr["date_to"]) == ("2026-03-01", "2026-03-31")
