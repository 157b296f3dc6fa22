"""`careline quotas report`, called in-process through the `careline` entry point."""

from __future__ import annotations

import json

import pytest

from careline.cli.main import main
from careline.conftest import api_client
from careline.kpis.tests.factories import local, make_activity, make_quota

# `careline …` ends like any management command run from a command line: it closes the database
# connections. Committed test data (transaction=True) survives that on PostgreSQL too.
pytestmark = pytest.mark.django_db(transaction=True)


def careline(capsys, *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


@pytest.fixture
def data(org):
    make_quota(org.admin, kind="call", target=3)
    make_quota(org.admin, kind="email", period="week", target=10)
    for _ in range(3):
        make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    make_activity(org.consultant_hcm, at=local(2026, 10, 1, 23, 30))
    return org


def test_json_is_the_board_api_shape(capsys, data):
    out = careline(capsys, "quotas", "report", "--date", "01/10/2026", "--json")
    body = json.loads(out)
    api = api_client(data.admin).get("/api/v1/quotas/board", {"date": "2026-10-01"}).json()
    assert body == api
    assert body["date"] == "2026-10-01"
    by_user = {r["user_id"]: r for r in body["rows"]}
    # The system actor sees everyone with quotas, across branches.
    assert {data.consultant_hn.pk, data.consultant_hcm.pk, data.consultant_hn2.pk} <= set(by_user)
    calls = by_user[data.consultant_hn.pk]["items"][0]
    assert (calls["kind"], calls["done"], calls["target"], calls["status"]) == ("call", 3, 3, "done")
    assert by_user[data.consultant_hcm.pk]["items"][0]["done"] == 1  # 23:30 local counts for the 1st


def test_iso_date_team_filter_and_table(capsys, data):
    out = careline(
        capsys, "quotas", "report", "--date", "2026-10-01", "--team", str(data.hn_sales.pk), "--json"
    )
    assert {r["user_id"] for r in json.loads(out)["rows"]} == {data.consultant_hn.pk, data.consultant_hn_b.pk}
    table = careline(capsys, "quotas", "report", "--date", "01/10/2026", "--team", str(data.hn_sales.pk))
    assert "Quotas 01/10/2026" in table
    assert "2 of 2 people behind" in table  # nobody emailed: 8 of 10 expected by Thursday night
    assert str(data.consultant_hn) in table and str(data.consultant_hcm) not in table
    assert "call/day" in table and "email/week" in table
    assert "behind" in table and "done" in table


def test_day_off_on_tet(capsys, data):
    out = careline(capsys, "quotas", "report", "--date", "17/02/2026", "--json")
    statuses = {(i["kind"], i["status"]) for r in json.loads(out)["rows"] for i in r["items"]}
    assert ("call", "day_off") in statuses
    assert ("call", "behind") not in statuses


def test_as_a_user_shows_what_they_may_see(capsys, data):
    out = careline(capsys, "quotas", "report", "--date", "01/10/2026", "--as", "supervisor_hn", "--json")
    assert {r["user_id"] for r in json.loads(out)["rows"]} == {data.consultant_hn.pk, data.consultant_hn_b.pk}
    out = careline(capsys, "quotas", "report", "--date", "01/10/2026", "--as", "consultant_hn", "--json")
    assert [r["user_id"] for r in json.loads(out)["rows"]] == [data.consultant_hn.pk]


def test_errors(capsys, data):
    for args in (
        ("--date", "31/02/2026"),
        ("--as", "ghost"),
        ("--as", "consultant_hn", "--team", str(data.hn_sales.pk)),
        ("--team", "999999"),
        ("--as", "nobody"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["quotas", "report", *args])
        assert exc.value.code != 0, args
        assert capsys.readouterr().err, args
    with pytest.raises(SystemExit):
        main(["quotas"])  # the subcommand is required


def test_markup_in_names_is_printed_as_text(capsys, data):
    data.consultant_hn.display_name = "[bold]Lan[/bold]"
    data.consultant_hn.save()
    out = careline(capsys, "quotas", "report", "--date", "01/10/2026")
    assert "[bold]Lan[/bold]" in out
