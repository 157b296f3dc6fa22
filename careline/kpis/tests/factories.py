"""Test data for quotas: activities and quota definitions.

Activities are inserted with the ORM here (the activities app owns their services; these tests only need
rows to count). Quotas go through `kpis.services` so validation and audit are real.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from careline.accounts.models import User
from careline.activities.models import Activity
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer
from careline.kpis.models import Quota
from careline.kpis.pace import local_tz
from careline.kpis.services import quota_create


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    """An aware datetime at local (Asia/Ho_Chi_Minh) wall-clock time."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=local_tz())


def make_activity(
    owner: User,
    *,
    kind: str = "call",
    at: dt.datetime | None = None,
    customer: Customer | None = None,
    **fields: Any,
) -> Activity:
    if customer is None:
        customer = make_customer_for(owner)
    values: dict[str, Any] = {
        "customer": customer,
        "kind": kind,
        "owner": owner,
        "team_id": owner.team_id,
        "branch_id": owner.branch_id,
        "created_by": owner,
        "customer_stage": customer.stage,
    }
    if kind == "follow_up":
        values["due_at"] = at or timezone.now()
    else:
        values["occurred_at"] = at or timezone.now()
    values.update(fields)
    return Activity.objects.create(**values)


def make_customer_for(owner: User, **data: Any) -> Customer:
    admin = User.objects.filter(is_superuser=True).order_by("id").first()
    assert admin is not None
    return make_customer(admin, owner_id=owner.pk, **data)


def make_quota(actor: User, **data: Any) -> Quota:
    data.setdefault("kind", "call")
    data.setdefault("period", "day")
    data.setdefault("target", 30)
    if "user_id" not in data:
        data.setdefault("role", "consultant")
    return quota_create(actor=actor, data=data)
