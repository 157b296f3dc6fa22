"""The open-lead counter under concurrency: 20 real threads allocating, receiving, reassigning, closing and
converting leads at once (each with its own connection). Afterwards every consultant's counter equals a
recount, and capacity was never exceeded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from careline.customers import services as customer_services
from careline.sales import services
from careline.sales.choices import InquiryStatus
from careline.sales.models import Inquiry
from careline.sales.tests.factories import make_rule, receive
from careline.sales.tests.test_concurrency import _queued, _run_at_once, _sqlite_on_a_file
from careline.sales.tests.test_perf_allocation import counters, recount

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["_sqlite_on_a_file"]  # the fixture (autouse): SQLite runs on a file, as in production


def test_counter_stays_right_under_twenty_threads(org):
    users = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn]
    make_rule(org.hn_sales, users, strategy="weighted", capacities=[4, 8, 6])
    placed = [receive(i).inquiry for i in range(6)]  # 6 open leads before the threads start
    queued = _queued(10, start=100)
    jobs: list[Callable[[], Any]] = [lambda i=i: services.inquiry_allocate(inquiry_id=i) for i in queued]
    for n in range(4):
        jobs.append(lambda n=n: receive(200 + n, channel="zalo"))
    jobs.append(lambda: services.inquiry_close(actor=org.supervisor_hn, inquiry_id=placed[0].pk))
    jobs.append(lambda: services.inquiry_close(actor=org.supervisor_hn, inquiry_id=placed[1].pk, spam=True))
    jobs.append(
        lambda: services.inquiry_assign(
            actor=org.admin, inquiry_id=placed[2].pk, user_id=org.consultant_hn2.pk
        )
    )
    jobs.append(
        lambda: customer_services.customer_update(
            actor=org.admin, customer_id=placed[3].customer_id, data={"stage": "customer"}
        )
    )
    jobs.append(lambda: services.inquiry_reclaim(actor=org.supervisor_hn, inquiry_id=placed[4].pk))
    jobs.append(lambda: services.leads_allocate_queued(batch=3))
    assert len(jobs) == 20
    _run_at_once(jobs)
    assert counters() == recount()
    for user, capacity in zip(users, [4, 8, 6], strict=True):
        open_now = recount().get(user.pk, 0)
        assert open_now <= capacity, (user, open_now)
    # Leads closed or converted while others were allocated freed room: the next queue run (reading the
    # counters) fills it, and leaves a lead queued only when everyone is full.
    services.leads_allocate_queued()
    assert counters() == recount()
    still = Inquiry.objects.filter(status=InquiryStatus.QUEUED).count()
    assert still == 0 or all(recount().get(u.pk, 0) == c for u, c in zip(users, [4, 8, 6], strict=True))
