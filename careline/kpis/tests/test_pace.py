"""Periods, working days and pace: pure date arithmetic (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from careline.kpis.pace import day_share, local_range, pace_for, period_bounds, work_calendar
from careline.kpis.tests.factories import local

D = dt.date


def test_period_bounds_weeks_start_monday_months_whole():
    assert period_bounds("day", D(2026, 10, 1)) == (D(2026, 10, 1), D(2026, 10, 1))
    # Thursday 1/10/2026 → week Monday 28/9 … Sunday 4/10
    assert period_bounds("week", D(2026, 10, 1)) == (D(2026, 9, 28), D(2026, 10, 4))
    assert period_bounds("week", D(2026, 9, 28)) == (D(2026, 9, 28), D(2026, 10, 4))
    assert period_bounds("week", D(2026, 10, 4)) == (D(2026, 9, 28), D(2026, 10, 4))
    assert period_bounds("month", D(2026, 2, 17)) == (D(2026, 2, 1), D(2026, 2, 28))
    assert period_bounds("month", D(2028, 2, 10)) == (D(2028, 2, 1), D(2028, 2, 29))
    assert period_bounds("month", D(2026, 12, 31)) == (D(2026, 12, 1), D(2026, 12, 31))
    with pytest.raises(ValueError):
        period_bounds("year", D(2026, 1, 1))


def test_local_range_is_local_midnight_to_midnight():
    start, end = local_range(D(2026, 10, 1), D(2026, 10, 1))
    assert start.isoformat() == "2026-10-01T00:00:00+07:00"
    assert end.isoformat() == "2026-10-02T00:00:00+07:00"
    assert start.astimezone(dt.UTC).isoformat() == "2026-09-30T17:00:00+00:00"


def test_day_share_of_the_0800_1730_working_day():
    day = D(2026, 10, 1)
    assert day_share(day, local(2026, 10, 1, 7, 0)) == 0
    assert day_share(day, local(2026, 10, 1, 8, 0)) == 0
    assert day_share(day, local(2026, 10, 1, 12, 45)) == pytest.approx(0.5)
    assert day_share(day, local(2026, 10, 1, 17, 30)) == 1
    assert day_share(day, local(2026, 10, 1, 23, 0)) == 1
    assert day_share(day, local(2026, 9, 30, 16, 0)) == 0  # the day has not started
    assert day_share(day, local(2026, 10, 2, 9, 0)) == 1  # a past day counts whole
    # The same instant given in UTC: local time decides.
    assert day_share(day, local(2026, 10, 1, 12, 45).astimezone(dt.UTC)) == pytest.approx(0.5)


def test_daily_pace_on_a_working_day():
    pace = pace_for(period="day", target=30, day=D(2026, 10, 1), now=local(2026, 10, 1, 12, 45))
    assert pace.applies and pace.working_day
    assert pace.expected == pytest.approx(15)
    assert pace.share == pytest.approx(0.5)
    assert pace_for(period="day", target=30, day=D(2026, 10, 1), now=local(2026, 10, 2, 9)).expected == 30


def test_weekend_and_tet_are_days_off_for_daily_quotas():
    saturday = pace_for(period="day", target=30, day=D(2026, 10, 3), now=local(2026, 10, 3, 15))
    assert (saturday.applies, saturday.working_day, saturday.expected) == (False, False, 0)
    # 17/02/2026 is the first day of the Year of the Horse (mùng 1 Tết): a Tuesday, but no work.
    tet = pace_for(period="day", target=30, day=D(2026, 2, 17), now=local(2026, 2, 17, 10))
    assert (tet.applies, tet.working_day, tet.expected) == (False, False, 0)
    assert not work_calendar().is_working_day(D(2026, 2, 17))
    # Reunification Day (30/4/2026, a Thursday).
    assert not pace_for(period="day", target=5, day=D(2026, 4, 30), now=local(2026, 4, 30, 10)).applies


def test_weekly_pace_counts_working_days_elapsed():
    # Week of 28/9/2026 (Mon) – 4/10: five working days. Wednesday 30/9 at 12:45: 2.5 of 5 elapsed.
    pace = pace_for(period="week", target=100, day=D(2026, 9, 30), now=local(2026, 9, 30, 12, 45))
    assert pace.working_days == 5
    assert pace.working_days_elapsed == pytest.approx(2.5)
    assert pace.expected == pytest.approx(50)
    # On Saturday the whole week has elapsed: the full target is expected; the quota still applies.
    sat = pace_for(period="week", target=100, day=D(2026, 10, 3), now=local(2026, 10, 3, 10))
    assert (sat.applies, sat.working_day, sat.expected) == (True, False, 100)
    # Monday 07:30: nothing expected yet.
    assert (
        pace_for(period="week", target=100, day=D(2026, 9, 28), now=local(2026, 9, 28, 7, 30)).expected == 0
    )


def test_weekly_pace_skips_holidays_and_a_tet_week_does_not_apply():
    # Week of 31/8/2026: Tue 1/9 and Wed 2/9 (National Day) are holidays → 3 working days (Mon, Thu, Fri).
    pace = pace_for(period="week", target=30, day=D(2026, 9, 3), now=local(2026, 9, 3, 17, 30))
    assert pace.working_days == 3
    assert pace.working_days_elapsed == pytest.approx(2)
    assert pace.expected == pytest.approx(20)
    # Week of 16/2/2026: Mon–Fri are the five Tết days → no working day at all.
    tet_week = pace_for(period="week", target=30, day=D(2026, 2, 18), now=local(2026, 2, 18, 10))
    assert tet_week.working_days == 0
    assert not tet_week.applies and tet_week.expected == 0


def test_monthly_pace():
    # February 2026: 20 weekdays − 5 Tết days = 15 working days. On Monday 9/2 at 17:30: 6 elapsed.
    pace = pace_for(period="month", target=60, day=D(2026, 2, 9), now=local(2026, 2, 9, 18))
    assert pace.working_days == 15
    assert pace.working_days_elapsed == pytest.approx(6)
    assert pace.expected == pytest.approx(24)
    # During Tết the pace does not move: on 20/2 the working days elapsed are still 2–6/2 and 9–13/2.
    later = pace_for(period="month", target=60, day=D(2026, 2, 20), now=local(2026, 2, 20, 12))
    assert later.working_days_elapsed == pytest.approx(10)
    assert later.working_day is False
