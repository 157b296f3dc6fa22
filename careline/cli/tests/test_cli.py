"""The `careline` command: own subcommands and the `manage` passthrough."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from careline.accounts.models import User
from careline.accounts.services import token_authenticate
from careline.cli.demo import STAFF, demo_load
from careline.cli.main import main
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_token_prints_a_working_token_as_last_line(org):
    out = run("token", "consultant_hn")
    raw = out.strip().splitlines()[-1]
    assert token_authenticate(raw) == org.consultant_hn
    assert AuditEvent.objects.filter(action="token_create", actor=org.consultant_hn, source="cli").exists()


def test_token_for_unknown_user_fails(org):
    with pytest.raises(CommandError):
        run("token", "ghost")


def test_createuser_with_role_branch_and_team(org):
    run(
        "createuser",
        "lan",
        "--role",
        "consultant",
        "--branch",
        "hn",
        "--team",
        "Tư vấn HN 1",
        "--password",
        "x-9-long-pass",
    )
    user = User.objects.get(username="lan")
    assert user.role_code == "consultant"
    assert user.team == org.hn_sales and user.branch == org.hn
    assert user.check_password("x-9-long-pass")


def test_createuser_rejects_unknown_team_and_duplicate(org):
    with pytest.raises(CommandError):
        run("createuser", "lan2", "--role", "consultant", "--team", "Không có")
    with pytest.raises(CommandError):
        run("createuser", "consultant_hn", "--role", "consultant")


def test_search_json_uses_the_api_shape(org):
    c = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912 345 678"])
    out = run("search", "nguyen thi lan", "--json", "--as", "consultant_hn")
    items = json.loads(out)["items"]
    assert [i["id"] for i in items] == [c.pk]
    assert items[0]["phones"] == ["+84912345678"]
    # scope applies: another branch's consultant sees nothing
    out = run("search", "nguyen thi lan", "--json", "--as", "consultant_hcm")
    assert json.loads(out)["items"] == []


def test_search_table_output(org):
    make_customer(org.consultant_hn, full_name="Trần Văn Hùng", phones=["0987 654 321"])
    out = run("search", "0987 654", "--as", "admin")
    assert "Trần Văn Hùng" in out and "0987 654 321" in out
    assert "No customers match." in run("search", "zzzz", "--as", "admin")


def test_demo_is_deterministic_and_tops_up(db):
    assert demo_load(customers=40) == 40
    assert User.objects.filter(username__in=[s.username for s in STAFF]).count() == len(STAFF) >= 12
    assert {u.role_code for u in User.objects.all()} >= {
        "admin", "director", "branch_manager", "supervisor", "consultant", "care_head", "care_agent", "academic",
    }  # fmt: skip
    first = list(
        Customer.objects.order_by("external_ref", "full_name").values_list("external_ref", "full_name")
    )
    from careline.activities.models import Activity
    from careline.sales.models import Assignment, Inquiry

    leads = Inquiry.objects.count()
    assert leads == 40 and Inquiry.objects.filter(owner__isnull=False).count() == 40  # allocated by the rules
    assert demo_load(customers=40) == 0  # nothing to add
    assert Inquiry.objects.count() == leads  # the lead demo is idempotent too
    assert demo_load(customers=60) == 20  # only the missing ones
    lan = Customer.objects.get(external_ref="demo-0")
    assert lan.full_name == "Nguyễn Thị Lan"
    assert lan.contact_points.filter(value="+84912345678").exists()
    assert " lan " in lan.search_text and "0912345678" in lan.search_text
    # same seed → same people (and the same leads)
    from careline.helpdesk.models import Ticket

    Ticket.objects.all().delete()
    Activity.objects.all().delete()
    Assignment.objects.all().delete()
    Inquiry.objects.all().delete()
    Customer.objects.all().delete()
    demo_load(customers=40)
    again = Customer.objects.order_by("external_ref", "full_name").values_list("external_ref", "full_name")
    assert list(again) == first


def test_demo_phones_are_unique_and_normalised(db):
    demo_load(customers=300)
    from careline.customers.models import ContactPoint

    phones = list(ContactPoint.objects.filter(kind="phone").values_list("value", flat=True))
    assert len(phones) == len(set(phones))
    assert all(p.startswith("+84") and len(p) in (12, 13) for p in phones)


def test_main_dispatches_and_rejects_unknown_commands(capsys):
    main(["--help"])
    assert "careline run" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_installed_entry_point_runs_manage_commands():
    result = subprocess.run(
        [sys.executable, "-m", "careline.cli.main", "manage", "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
