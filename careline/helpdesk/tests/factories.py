"""Helpers that build helpdesk data through the services (so events, audit and clocks are real)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from careline.accounts.models import User
from careline.helpdesk import services
from careline.helpdesk.models import Category, SlaPolicy, Ticket
from careline.vn.worktime import VN_TZ

# A Tuesday morning in business time (no holiday near it): tests pin the clock here.
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN_TZ)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN_TZ)  # type: ignore[misc]


def make_category(actor: User, name: str = "Giao hàng", **kwargs: Any) -> Category:
    return services.category_create(actor=actor, name=name, **kwargs)


def make_policy(actor: User, **data: Any) -> SlaPolicy:
    data.setdefault("name", "Chuẩn")
    data.setdefault("first_response_minutes", 60)
    data.setdefault("resolution_minutes", 480)
    data.setdefault("warn_before_minutes", 30)
    return services.sla_policy_save(actor=actor, data=data)


def make_ticket(actor: User | None = None, **kwargs: Any) -> Ticket:
    kwargs.setdefault("channel", "hotline")
    if not kwargs.get("customer_id") and not kwargs.get("email"):
        kwargs.setdefault("phone", "0912 345 678")
    kwargs.setdefault("full_name", "Nguyễn Thị Lan")
    kwargs.setdefault("subject", "Giao hàng chậm")
    kwargs.setdefault("message", "Đơn hàng của tôi chưa tới sau 5 ngày.")
    return services.ticket_create(actor=actor, data=services.TicketData(**kwargs))
