"""Helpers for sales tests: a rule with members, a received inquiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from careline.sales import services
from careline.sales.models import AllocationMember, AllocationRule

ALWAYS = {"respect_working_hours": False}


def make_rule(
    team: Any,
    users: list[Any],
    *,
    strategy: str = "round_robin",
    capacities: list[int | None] | None = None,
    **kw: Any,
) -> AllocationRule:
    data = {"name": kw.pop("name", f"Rule {team.name}"), "strategy": strategy, **ALWAYS, **kw}
    rule = AllocationRule.objects.create(team=team, branch=team.branch, **data)
    for pos, user in enumerate(users):
        AllocationMember.objects.create(
            rule=rule, user=user, position=pos, capacity=(capacities or [None] * len(users))[pos]
        )
    return rule


def receive(n: int = 0, *, actor: Any = None, **kw: Any) -> services.InquiryResult:
    data = services.InquiryData(
        channel=kw.pop("channel", "web"),
        full_name=kw.pop("full_name", f"Nguyễn Văn Khách {n}"),
        phone=kw.pop("phone", f"09120{n:05d}"),
        **kw,
    )
    return services.inquiry_receive(actor=actor, data=data)


def local(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime(y, m, d, h, mi))
