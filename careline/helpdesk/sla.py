"""SLA clocks in business time: which policy applies, when a ticket is due, how pauses extend it and how much
time is left.

* Working hours come from the ticket's branch `WorkSchedule`, else the company default schedule (the row
  without a branch), else 08:00–12:00 + 13:30–17:30 Monday–Friday with the Vietnamese public holidays
  (Tết, Giỗ Tổ Hùng Vương… from `careline.vn.holidays`).
* Policy: the first active `SlaPolicy` by position whose conditions all match — priority (empty = any),
  category (empty = any; a policy for a parent category matches its sub-categories) and customer tier
  (empty = any). No policy → the ticket has no due moments.
* Due moments: `add_business_time(opened_at, target)`; waiting on the customer pauses the resolution clock —
  on leaving `waiting` the resolution due moment moves later by exactly the business time spent waiting.

The functions taking plain values are pure (property-tested with Hypothesis); the `*_for_*` helpers read
the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from careline.helpdesk.choices import OPEN_STATUSES, TicketStatus
from careline.helpdesk.models import Category, SlaPolicy, Ticket, WorkSchedule
from careline.vn.holidays import WorkCalendar
from careline.vn.worktime import WorkingHours, add_business_time, business_time_between

DEFAULT_WEEKEND = (5, 6)
DEFAULT_INTERVALS_TEXT = (("08:00", "12:00"), ("13:30", "17:30"))
DEFAULT_HOURS = WorkingHours()


def _time(value: str) -> dt.time:
    text = str(value).strip()
    if text in ("24:00", "24:00:00"):
        return dt.time(0, 0)  # midnight at the end of the day
    return dt.time.fromisoformat(text)


def parse_intervals(raw: Iterable[Sequence[str]] | None) -> tuple[tuple[dt.time, dt.time], ...]:
    """`[["08:00", "12:00"], ["13:30", "17:30"]]` → time pairs; "24:00" (or "00:00" as an end) is midnight.
    Raises ValueError for anything else."""
    out: list[tuple[dt.time, dt.time]] = []
    for item in raw or ():
        if isinstance(item, str) or len(item) != 2:
            raise ValueError("Each interval is a pair [start, end].")
        out.append((_time(item[0]), _time(item[1])))
    return tuple(out)


def _dates(raw: Iterable[str] | None) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(str(d)) for d in raw or ())


def hours_from_values(
    *,
    intervals: Iterable[Sequence[str]] | None,
    weekend: Iterable[int] | None,
    extra_holidays: Iterable[str] | None = None,
    extra_working_days: Iterable[str] | None = None,
    holidays_enabled: bool = True,
) -> WorkingHours:
    """Working hours from a schedule's stored values (empty intervals → the default office hours).
    Raises ValueError when the values do not make a usable schedule."""
    parsed = parse_intervals(intervals) or DEFAULT_HOURS.intervals
    calendar = WorkCalendar(
        weekend=frozenset(int(d) for d in (weekend or ())),
        extra_holidays=_dates(extra_holidays),
        extra_working_days=_dates(extra_working_days),
        holidays_enabled=holidays_enabled,
    )
    return WorkingHours(parsed, calendar=calendar)


def hours_from_schedule(schedule: WorkSchedule | None) -> WorkingHours:
    if schedule is None:
        return DEFAULT_HOURS
    try:
        return hours_from_values(
            intervals=schedule.intervals,
            weekend=schedule.weekend,
            extra_holidays=schedule.extra_holidays,
            extra_working_days=schedule.extra_working_days,
            holidays_enabled=schedule.holidays_enabled,
        )
    except (ValueError, TypeError):
        # Services validate schedules; a row broken by hand falls back to the default office hours.
        return DEFAULT_HOURS


class HoursCache:
    """Working hours per branch for one piece of work (a request, a worker run): two queries at most."""

    def __init__(self) -> None:
        self._schedules: dict[int | None, WorkSchedule] | None = None
        self._hours: dict[int | None, WorkingHours] = {}

    def for_branch(self, branch_id: int | None) -> WorkingHours:
        if branch_id in self._hours:
            return self._hours[branch_id]
        if self._schedules is None:
            self._schedules = {s.branch_id: s for s in WorkSchedule.objects.all()}
        schedule = self._schedules.get(branch_id) if branch_id else None
        if schedule is None:
            schedule = self._schedules.get(None)
        hours = hours_from_schedule(schedule)
        self._hours[branch_id] = hours
        return hours


def hours_for_branch(branch_id: int | None) -> WorkingHours:
    """The working hours that apply to a branch (its schedule, the default schedule, or 8–17:30 Mon–Fri)."""
    schedule = None
    if branch_id:
        schedule = WorkSchedule.objects.filter(branch_id=branch_id).first()
    if schedule is None:
        schedule = WorkSchedule.objects.filter(branch__isnull=True).first()
    return hours_from_schedule(schedule)


# --- policies -------------------------------------------------------------------------------------------


def category_chain(category_id: int | None, parents: Mapping[int, int | None]) -> list[int]:
    """The category and its ancestors, nearest first (`parents`: id → parent id). Cycles are cut."""
    chain: list[int] = []
    current = category_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def category_parents() -> dict[int, int | None]:
    return dict(Category.objects.values_list("id", "parent_id"))


def policy_matches(policy: Any, *, priority: str, chain: Sequence[int], tier: str) -> bool:
    if not policy.active:
        return False
    if policy.priority and policy.priority != priority:
        return False
    if policy.category_id and policy.category_id not in chain:
        return False
    return not (policy.tier and policy.tier != tier)


def policy_pick(
    policies: Iterable[Any],
    *,
    priority: str,
    category_id: int | None,
    tier: str,
    parents: Mapping[int, int | None],
) -> Any | None:
    """The first policy (in the given order: position, id) matching the ticket's values, or None."""
    chain = category_chain(category_id, parents)
    for policy in policies:
        if policy_matches(policy, priority=priority, chain=chain, tier=tier):
            return policy
    return None


def policy_for(*, priority: str, category_id: int | None, tier: str) -> SlaPolicy | None:
    policies = list(SlaPolicy.objects.filter(active=True).order_by("position", "id"))
    if not policies:
        return None
    return policy_pick(
        policies, priority=priority, category_id=category_id, tier=tier, parents=category_parents()
    )


# --- clocks ---------------------------------------------------------------------------------------------


def due_moments(
    opened_at: dt.datetime, *, first_response_minutes: int, resolution_minutes: int, hours: WorkingHours
) -> tuple[dt.datetime, dt.datetime]:
    """(first response due, resolution due) for a ticket opened at `opened_at`."""
    return (
        add_business_time(opened_at, dt.timedelta(minutes=first_response_minutes), hours),
        add_business_time(opened_at, dt.timedelta(minutes=resolution_minutes), hours),
    )


def extend_for_pause(
    due: dt.datetime, *, paused_at: dt.datetime, resumed_at: dt.datetime, hours: WorkingHours
) -> tuple[dt.datetime, dt.timedelta]:
    """The due moment moved later by the business time between pause and resume, and that time."""
    waited = business_time_between(paused_at, resumed_at, hours)
    if waited <= dt.timedelta(0):
        return due, dt.timedelta(0)
    return add_business_time(due, waited, hours), waited


def business_seconds_left(due: dt.datetime, now: dt.datetime, hours: WorkingHours) -> int:
    """Business seconds until `due` (negative: how late it already is)."""
    if now <= due:
        return int(business_time_between(now, due, hours).total_seconds())
    return -int(business_time_between(due, now, hours).total_seconds())


@dataclass(frozen=True)
class Clock:
    due: dt.datetime | None
    seconds_left: int | None  # business seconds; negative when late; None when met, stopped or no target
    done_at: dt.datetime | None
    breached: bool
    paused: bool = False


@dataclass(frozen=True)
class Timers:
    first_response: Clock
    resolution: Clock

    @property
    def paused(self) -> bool:
        return self.resolution.paused


def ticket_timers(ticket: Ticket, *, now: dt.datetime, hours: WorkingHours) -> Timers:
    """The two SLA clocks of a ticket as the workspace shows them. A paused resolution clock shows the time
    that was left when the ticket started waiting."""
    fr_done = ticket.first_response_at
    fr_left = None
    if ticket.first_response_due is not None and fr_done is None and ticket.status in OPEN_STATUSES:
        fr_left = business_seconds_left(ticket.first_response_due, now, hours)
    fr_breached = ticket.first_response_breached or (
        ticket.first_response_due is not None
        and (
            fr_done > ticket.first_response_due
            if fr_done is not None
            else fr_left is not None and fr_left < 0
        )
    )
    res_done = ticket.resolved_at if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else None
    paused = ticket.status == TicketStatus.WAITING and ticket.paused_at is not None
    res_left = None
    if ticket.resolution_due is not None and res_done is None:
        at = ticket.paused_at if paused and ticket.paused_at is not None else now
        res_left = business_seconds_left(ticket.resolution_due, at, hours)
    res_breached = ticket.resolution_breached or (
        ticket.resolution_due is not None and res_left is not None and res_left < 0
    )
    if res_done is not None and ticket.resolution_due is not None and res_done > ticket.resolution_due:
        res_breached = True
    return Timers(
        first_response=Clock(
            due=ticket.first_response_due, seconds_left=fr_left, done_at=fr_done, breached=bool(fr_breached)
        ),
        resolution=Clock(
            due=ticket.resolution_due,
            seconds_left=res_left,
            done_at=res_done,
            breached=bool(res_breached),
            paused=paused,
        ),
    )
