"""Periods, working days and the pace a quota expects by now — plain date arithmetic, no queries.

- Periods are cut in local time (`settings.TIME_ZONE`, Asia/Ho_Chi_Minh): a day is local midnight to
  midnight, a week runs Monday to Sunday, a month from the 1st to its last day.
- Working days come from `careline.vn.holidays.WorkCalendar`: Saturday and Sunday off, Vietnamese public
  holidays off (Tết Dương lịch, the Tết Nguyên Đán days, Giỗ Tổ Hùng Vương, 30/4, 1/5, 2/9), plus the
  optional company exceptions in settings (`CARELINE_EXTRA_HOLIDAYS`, `CARELINE_EXTRA_WORKING_DAYS`, ISO
  dates; `CARELINE_WEEKEND`, weekday numbers with Monday = 0).
- The working day runs from 08:00 to 17:30 local time, evenly (the lunch break is not cut out): at 12:45
  half of the day has elapsed. Before 08:00 nothing of the day has elapsed, after 17:30 all of it.
- Pace ("expected by now"):
  * daily quota on a working day: target × share of the working day elapsed;
  * daily quota on a non-working day: the quota does not apply ("day off"), expected 0;
  * weekly / monthly quota: target × working days elapsed / working days in the period, where the working
    days elapsed are the working days of the period before the day asked for, plus the share of that day
    when it is a working day. A period without any working day (a week of Tết) does not apply.
  * "Now" is the current time for today, the end of the day for a past day and the start of the day for a
    future day (a past day is judged on its full day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from careline.kpis.choices import Period
from careline.vn.holidays import WorkCalendar

WORKDAY_START = dt.time(8, 0)
WORKDAY_END = dt.time(17, 30)
_WORKDAY_SECONDS = (
    dt.datetime.combine(dt.date.min, WORKDAY_END) - dt.datetime.combine(dt.date.min, WORKDAY_START)
).total_seconds()


def _dates(values: Iterable[Any]) -> frozenset[dt.date]:
    return frozenset(v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)) for v in values)


@lru_cache(maxsize=8)
def _calendar(
    weekend: tuple[int, ...], holidays: frozenset[dt.date], working: frozenset[dt.date]
) -> WorkCalendar:
    return WorkCalendar(weekend=frozenset(weekend), extra_holidays=holidays, extra_working_days=working)


def work_calendar() -> WorkCalendar:
    """The company's working-day calendar (Vietnamese public holidays + optional settings exceptions)."""
    return _calendar(
        tuple(getattr(settings, "CARELINE_WEEKEND", (5, 6))),
        _dates(getattr(settings, "CARELINE_EXTRA_HOLIDAYS", ())),
        _dates(getattr(settings, "CARELINE_EXTRA_WORKING_DAYS", ())),
    )


def local_tz() -> dt.tzinfo:
    """The zone periods are cut in (the project's TIME_ZONE, not a user's activated zone)."""
    return timezone.get_default_timezone()


def local_today() -> dt.date:
    return timezone.localdate(timezone.now(), local_tz())


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day (both included) of the day / week (Monday first) / month containing `day`."""
    if period == Period.DAY:
        return day, day
    if period == Period.WEEK:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if period == Period.MONTH:
        start = day.replace(day=1)
        next_month = (start + dt.timedelta(days=32)).replace(day=1)
        return start, next_month - dt.timedelta(days=1)
    raise ValueError(f"Unknown period {period!r}")


def local_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes [start 00:00, day after end 00:00) in local time, for half-open range filters."""
    tz = local_tz()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def day_share(day: dt.date, now: dt.datetime) -> float:
    """Share (0–1) of the 08:00–17:30 working day of `day` elapsed at `now` (0 for future days, 1 past)."""
    local = timezone.localtime(now, local_tz())
    if local.date() < day:
        return 0.0
    if local.date() > day:
        return 1.0
    start = dt.datetime.combine(day, WORKDAY_START, tzinfo=local.tzinfo)
    seconds = (local - start).total_seconds()
    return min(1.0, max(0.0, seconds / _WORKDAY_SECONDS))


@dataclass(frozen=True)
class Pace:
    """How much of a quota should be done by now."""

    period_start: dt.date
    period_end: dt.date
    working_day: bool  # is the day asked for a working day
    applies: bool  # False: day off (daily quota on a non-working day, or a period without working days)
    expected: float  # expected count by now (0 when the quota does not apply)
    share: float  # expected / target (0–1): where the pace marker sits on the bar
    working_days: int  # working days in the period
    working_days_elapsed: float


def pace_for(
    *,
    period: str,
    target: int,
    day: dt.date,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> Pace:
    """The pace of a `target` per `period` on `day`, judged at `now` (see the module docstring)."""
    cal = calendar or work_calendar()
    now = now or timezone.now()
    start, end = period_bounds(period, day)
    working_day = cal.is_working_day(day)
    total = cal.count_working_days(start, end)
    share_today = day_share(day, now) if working_day else 0.0
    elapsed = cal.count_working_days(start, day - dt.timedelta(days=1)) + share_today
    if total == 0 or (period == Period.DAY and not working_day):
        return Pace(start, end, working_day, False, 0.0, 0.0, total, 0.0)
    share = min(1.0, elapsed / total)
    return Pace(start, end, working_day, True, target * share, share, total, elapsed)
