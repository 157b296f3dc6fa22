"""Shared by the recurring-complaints tests: ticket data. No tests here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from careline.accounts.models import User
from careline.customers.tests.factories import make_customer
from careline.helpdesk import services
from careline.helpdesk.models import Ticket
from careline.helpdesk.tests.test_clusters import complaint_set
from careline.vn.worktime import VN_TZ

API_URL = "/api/v1/helpdesk/recurring"
PAGE_URL = "/helpdesk/recurring/"


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN_TZ)  # type: ignore[misc]


def make_ticket(
    admin: User,
    *,
    subject: str,
    message: str = "",
    opened_at: dt.datetime,
    kind: str = "complaint",
    customer_id: int | None = None,
    **extra: Any,
) -> Ticket:
    """A ticket opened at `opened_at` (an admin may back-date; back-dated tickets never thread)."""
    if customer_id is None:
        customer_id = make_customer(admin, full_name="Phạm Thu Hà", phones=["0912 000 111"]).pk
    return services.ticket_create(
        actor=admin,
        data=services.TicketData(
            channel="hotline",
            kind=kind,
            subject=subject,
            message=message,
            customer_id=customer_id,
            opened_at=opened_at,
            **extra,
        ),
    )


SMALL_SIZES = {"refund": 9, "late": 7, "invoice": 6}


def make_month(
    admin: User,
    *,
    month_start: dt.datetime,
    seed: int = 1,
    sizes: dict[str, int] | None = None,
    noise: int = 4,
    **extra: Any,
) -> dict[int, str]:
    """Complaints spread over the month starting `month_start` (one every 7 hours): ticket id → topic. The
    subject is the complaint's first sentence, the message all of it."""
    customer = make_customer(admin, full_name="Phạm Thu Hà", phones=[f"0912 {seed % 1000:03d} 222"])
    topics: dict[int, str] = {}
    for n, (topic, text) in enumerate(complaint_set(seed=seed, sizes=sizes or SMALL_SIZES, noise=noise)):
        subject = text.split(".")[0][:120] or text[:120]
        ticket = make_ticket(
            admin,
            subject=subject,
            message=text,
            opened_at=month_start + dt.timedelta(hours=7 * n),
            customer_id=customer.pk,
            **extra,
        )
        topics[ticket.pk] = topic
    return topics
