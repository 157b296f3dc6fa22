"""`careline leads allocate` (in-process) and the worker's periodic queue run."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from careline.cli.main import main
from careline.core.models import AuditEvent
from careline.sales import tasks
from careline.sales.choices import InquiryStatus
from careline.sales.models import Assignment, Inquiry
from careline.sales.tests.factories import make_rule, receive

# `transaction=True` for the in-process CLI: a Django command closes the database connections when it
# ends (BaseCommand.run_from_argv), which on PostgreSQL would break a test wrapped in a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def careline(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


def test_allocate_runs_the_queue_and_prints_per_consultant(org, capsys):
    for i in range(5):
        receive(i)  # no rule yet: queued
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b])
    out = careline(capsys, "leads", "allocate")
    assert "Reclaimed (no contact in time): 0" in out
    assert "Queued leads considered: 5" in out
    assert "Assigned: 5" in out
    assert "Still queued: 0" in out
    lines = out.splitlines()
    per = lines[lines.index("Per consultant:") + 1 :]
    assert [line.strip().rsplit(maxsplit=1) for line in per] == [
        [str(org.consultant_hn), "3"],
        [str(org.consultant_hn_b), "2"],
    ]
    assert Inquiry.objects.filter(status=InquiryStatus.QUEUED).count() == 0
    # The writes are audited as the system, from the CLI.
    event = AuditEvent.objects.filter(object_type="sales.inquiry", action="assign").latest("pk")
    assert event.source == "cli"
    # A second run has nothing to do.
    again = careline(capsys, "leads", "allocate")
    assert "Queued leads considered: 0" in again and "Per consultant:" not in again


def test_allocate_json_reports_reclaimed_and_still_queued(org, capsys):
    make_rule(
        org.hn_sales, [org.consultant_hn, org.consultant_hn_b], reclaim_after_minutes=30, capacities=[1, 1]
    )
    overdue = receive(1).inquiry
    receive(2)
    extra = receive(3).inquiry  # both at capacity: queued
    assert extra.status == InquiryStatus.QUEUED
    Inquiry.objects.filter(pk=overdue.pk).update(contact_due_at=timezone.now() - dt.timedelta(minutes=1))
    data = json.loads(careline(capsys, "leads", "allocate", "--json"))
    assert set(data) == {"reclaimed", "considered", "assigned", "still_queued", "per_user"}
    assert data["reclaimed"] == 1
    # The reclaimed lead could go to nobody else (the other consultant is full): it waits with the extra one.
    assert data["considered"] == 2 and data["still_queued"] == 1 and data["assigned"] == 1
    assert data["per_user"] == [
        {"user_id": org.consultant_hn.pk, "name": str(org.consultant_hn), "assigned": 1}
    ]
    assert Assignment.objects.filter(inquiry=overdue, reason="reclaim").count() == 1


def test_leads_without_action_is_a_usage_error(org, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["leads"])
    assert exc.value.code == 2


def test_periodic_task_is_idempotent(org):
    for i in range(3):
        receive(i)
    make_rule(org.hn_sales, [org.consultant_hn])
    assert tasks.leads_queue_periodic.call_local() == {
        "reclaimed": 0,
        "considered": 3,
        "assigned": 3,
        "still_queued": 0,
    }
    assert tasks.leads_queue_periodic.call_local() == {
        "reclaimed": 0,
        "considered": 0,
        "assigned": 0,
        "still_queued": 0,
    }
    assert Assignment.objects.count() == 3


def test_periodic_task_is_scheduled_every_minute_and_expires():
    from huey.contrib.djhuey import HUEY

    for minute in (0, 17, 59):
        due = HUEY.read_periodic(dt.datetime(2026, 3, 2, 9, minute))
        mine = [t for t in due if isinstance(t, tasks.leads_queue_periodic.task_class)]
        assert len(mine) == 1
        assert mine[0].expires == 60  # a run that waited a minute is dropped, not piled up
