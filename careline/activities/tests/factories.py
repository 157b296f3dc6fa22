from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from careline.accounts.models import User
from careline.activities.models import Activity, EmailTemplate
from careline.activities.services import activity_log, email_template_create
from careline.customers.models import Customer


def log_call(actor: User, customer: Customer, outcome: str = "no_answer", **kwargs: Any) -> Activity:
    """A call logged through the service (audit, scope and validation are real)."""
    return activity_log(actor=actor, customer_id=customer.pk, kind="call", outcome=outcome, **kwargs)


def add_follow_up(
    actor: User, customer: Customer, due_at: dt.datetime | None = None, **kwargs: Any
) -> Activity:
    due = due_at or timezone.now() + dt.timedelta(hours=2)
    return activity_log(actor=actor, customer_id=customer.pk, kind="follow_up", due_at=due, **kwargs)


def make_template(actor: User, **data: Any) -> EmailTemplate:
    data.setdefault("name", "Chào khách mới")
    data.setdefault("subject", "Chào {salutation} {given_name}")
    data.setdefault(
        "body",
        "Kính gửi {salutation} {given_name},\n\nEm là {staff_name} ({staff_phone}) bên Careline.\n",
    )
    return email_template_create(actor=actor, data=data)
