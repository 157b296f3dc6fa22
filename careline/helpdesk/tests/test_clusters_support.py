"""Shared by the recurring-complaints tests: a URL configuration that serves the report pages and API even
before they are included in the project's (careline.config.urls / careline.api.api), and ticket data.

Use with `pytest.mark.urls("careline.helpdesk.tests.test_clusters_support")`. No tests here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import URLResolver, include, path
from ninja import NinjaAPI

from careline.accounts.models import User
from careline.api.api import api
from careline.api.auth import AUTH
from careline.config.urls import urlpatterns as project_urlpatterns
from careline.customers.tests.factories import make_customer
from careline.helpdesk import services
from careline.helpdesk.cluster_api import recurring_router
from careline.helpdesk.models import Ticket
from careline.helpdesk.tests.test_clusters import complaint_set
from careline.vn.worktime import VN_TZ

API_URL = "/api/v1/helpdesk/recurring"
PAGE_URL = "/helpdesk/recurring/"

_extra: list[Any] = []
if not any(router is recurring_router for _prefix, router in api._routers):
    # Not mounted in the project's API yet: serve the router from an API of its own with the same
    # authentication and error rendering.
    _test_api = NinjaAPI(
        title="recurring (tests)",
        version="tests",
        auth=AUTH,
        urls_namespace="recurring_test_api",
        openapi_url=None,
        docs_url=None,
    )
    _test_api._exception_handlers = dict(api._exception_handlers)
    _test_api.add_router("/helpdesk/recurring", recurring_router)
    _extra.append(path("api/v1/", _test_api.urls))
if not any(isinstance(p, URLResolver) and p.namespace == "recurring" for p in project_urlpatterns):
    _extra.append(path("helpdesk/recurring/", include("careline.helpdesk.cluster_urls")))

urlpatterns = [*_extra, *project_urlpatterns]


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
