"""Allocation under concurrency: 20 real threads, each with its own database connection, at once.

On PostgreSQL the rule's row lock serialises the rotation and `skip_locked` splits the queue between
parallel queue runs. On SQLite the same code runs with threads too: writers are serialised by the
database (`BEGIN IMMEDIATE` + `busy_timeout` in the settings), and no "database is locked" may escape.
Either way: every lead has exactly one owner and one assignment-log row, nobody goes above capacity, and
the rotation stays balanced (±1).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from careline.customers.models import Customer
from careline.sales import services
from careline.sales.choices import AssignmentReason, InquiryStatus
from careline.sales.models import AllocationMember, Assignment, Inquiry
from careline.sales.tests.factories import make_rule

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


@pytest.fixture(autouse=True)
def _sqlite_on_a_file(django_db_setup: None, django_db_blocker: Any, tmp_path: Path) -> Iterator[None]:
    """SQLite: run on a file copy of the test database, as in production.

    The default SQLite test database lives in memory with a shared cache. There a second writer gets
    SQLITE_LOCKED at once ("database table is locked": table locks, the busy handler is never called), so
    threads would fail where production — a WAL file, `BEGIN IMMEDIATE`, `busy_timeout` — makes them
    wait. The copy is taken from the migrated test database (SQLite backup API) and thrown away after the
    test; PostgreSQL and a file-based SQLite test database are used as they are."""
    conn = connections["default"]
    if conn.vendor != "sqlite" or not conn.is_in_memory_db():
        yield
        return
    with django_db_blocker.unblock():
        memory_name = conn.settings_dict["NAME"]
        keep_alive = sqlite3.connect(memory_name, uri=True)  # the in-memory database lives while it is open
        target = sqlite3.connect(tmp_path / "careline.sqlite3")
        keep_alive.backup(target)
        target.close()
        conn.settings_dict["NAME"] = str(tmp_path / "careline.sqlite3")  # shared by every thread's connection
        conn.close()  # really closes now that the name is a file
        try:
            yield
        finally:
            connections.close_all()
            conn.settings_dict["NAME"] = memory_name
            conn.ensure_connection()
            keep_alive.close()


def _queued(n: int, start: int = 0) -> list[int]:
    """n queued inquiries (received with no allocation), new customers each."""
    return [
        services.inquiry_receive(
            actor=None,
            data=services.InquiryData(channel="web", full_name=f"Khách {i}", phone=f"09130{i:05d}"),
            allocate=False,
        ).inquiry.pk
        for i in range(start, start + n)
    ]


def _run_at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in real threads released together; each closes its own connection at the end.
    Re-raises the first error a thread hit (a "database is locked" would surface here)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = jobs[i]()
        except BaseException as exc:  # noqa: BLE001 — reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    if errors:
        raise errors[0]
    return results


def _check_one_owner_each(inquiry_ids: list[int]) -> Counter[int]:
    """Every inquiry assigned once: one owner, one rule assignment row, the customer follows. Returns
    leads per owner."""
    rows = list(
        Inquiry.objects.filter(pk__in=inquiry_ids).values_list("pk", "owner_id", "status", "customer_id")
    )
    assert len(rows) == len(inquiry_ids)
    log = Counter(
        Assignment.objects.filter(inquiry_id__in=inquiry_ids, reason=AssignmentReason.RULE).values_list(
            "inquiry_id", flat=True
        )
    )
    owners_of_customers = dict(
        Customer.objects.filter(pk__in=[r[3] for r in rows]).values_list("pk", "owner_id")
    )
    per_owner: Counter[int] = Counter()
    for pk, owner_id, status, customer_id in rows:
        if status == InquiryStatus.QUEUED:
            assert owner_id is None and log[pk] == 0
            continue
        assert status == InquiryStatus.ASSIGNED and owner_id is not None
        assert log[pk] == 1, f"inquiry {pk} has {log[pk]} assignment rows"
        assert owners_of_customers[customer_id] == owner_id
        per_owner[owner_id] += 1
    return per_owner


def test_twenty_threads_allocate_and_receive_at_once(org):
    users = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn, org.consultant_hn2]
    queued = _queued(10)
    rule = make_rule(org.hn_sales, users)
    jobs: list[Callable[[], Any]] = []
    for inquiry_id in queued:
        jobs.append(lambda i=inquiry_id: services.inquiry_allocate(inquiry_id=i).pk)
    for n in range(10):
        data = services.InquiryData(channel="zalo", full_name=f"Khách mới {n}", phone=f"09140{n:05d}")
        jobs.append(lambda d=data: services.inquiry_receive(actor=None, data=d).inquiry.pk)
    received = _run_at_once(jobs)[10:]
    all_ids = queued + received
    per_owner = _check_one_owner_each(all_ids)
    assert sum(per_owner.values()) == THREADS
    # Round-robin over 4 people, 20 leads: 5 each (±1 allowed by the rule's guarantee).
    assert set(per_owner) == {u.pk for u in users}
    assert all(abs(n - THREADS / len(users)) <= 1 for n in per_owner.values()), per_owner
    counts = dict(AllocationMember.objects.filter(rule=rule).values_list("user_id", "assigned_count"))
    assert counts == dict(per_owner)
    assert Inquiry.objects.filter(status=InquiryStatus.QUEUED).count() == 0


def test_twenty_threads_never_exceed_capacity(org):
    users = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn]
    queued = _queued(THREADS)
    make_rule(org.hn_sales, users, strategy="weighted", capacities=[3, 6, 4])
    _run_at_once([lambda i=i: services.inquiry_allocate(inquiry_id=i) for i in queued])
    per_owner = _check_one_owner_each(queued)
    assert per_owner == {users[0].pk: 3, users[1].pk: 6, users[2].pk: 4}
    assert Inquiry.objects.filter(status=InquiryStatus.QUEUED).count() == THREADS - 13


def test_twenty_parallel_queue_runs_assign_each_lead_once(org):
    users = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn]
    queued = _queued(150)
    rule = make_rule(org.hn_sales, users)
    runs = _run_at_once([lambda: services.leads_allocate_queued(batch=10) for _ in range(THREADS)])
    per_owner = _check_one_owner_each(queued)
    assert sum(per_owner.values()) == 150
    assert sum(r.assigned for r in runs) == 150
    assert all(abs(n - 50) <= 1 for n in per_owner.values()), per_owner
    assert Assignment.objects.filter(rule=rule).count() == 150
    counts = dict(AllocationMember.objects.filter(rule=rule).values_list("user_id", "assigned_count"))
    assert counts == dict(per_owner)
    assert connection.vendor in ("postgresql", "sqlite")
