"""Tests for careline.vn.worktime: SLA due moments and business time in Vietnamese office hours."""

import datetime
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.holidays import WorkCalendar
from careline.vn.lunar import lunar_new_year
from careline.vn.worktime import (
    VN_TZ,
    WorkingHours,
    add_business_time,
    business_time_between,
    is_business_time,
    next_business_moment,
)

UTC = datetime.UTC
H = datetime.timedelta(hours=1)
M = datetime.timedelta(minutes=1)


def vn(*args: int) -> datetime.datetime:
    """An aware datetime in Vietnam's time zone."""
    return datetime.datetime(*args, tzinfo=VN_TZ)  # type: ignore[misc]


# --- Examples -------------------------------------------------------------------------------------


def test_friday_evening_across_the_weekend() -> None:
    # Friday 17:00–17:30 gives 30 min; the other 3 h 30 on Monday from 08:00 → 11:30.
    assert add_business_time(vn(2026, 3, 6, 17, 0), 4 * H) == vn(2026, 3, 9, 11, 30)
    assert business_time_between(vn(2026, 3, 6, 17, 0), vn(2026, 3, 9, 11, 30)) == 4 * H


def test_across_night_hours() -> None:
    # Tuesday 20:00 is after hours: the 2 h start Wednesday 08:00 → 10:00.
    assert add_business_time(vn(2026, 3, 10, 20, 0), 2 * H) == vn(2026, 3, 11, 10, 0)
    # Tuesday 16:30: 1 h until 17:30, 1 h on Wednesday → 09:00.
    assert add_business_time(vn(2026, 3, 10, 16, 30), 2 * H) == vn(2026, 3, 11, 9, 0)
    # 03:00 at night counts nothing until 08:00.
    assert add_business_time(vn(2026, 3, 11, 3, 0), 30 * M) == vn(2026, 3, 11, 8, 30)


def test_across_lunch_break() -> None:
    # 11:00–12:00 is 1 h; the other hour after lunch 13:30 → 14:30.
    assert add_business_time(vn(2026, 3, 10, 11, 0), 2 * H) == vn(2026, 3, 10, 14, 30)
    assert add_business_time(vn(2026, 3, 10, 12, 45), 30 * M) == vn(2026, 3, 10, 14, 0)


def test_due_at_interval_end_not_next_start() -> None:
    assert add_business_time(vn(2026, 3, 10, 8, 0), 4 * H) == vn(2026, 3, 10, 12, 0)
    assert add_business_time(vn(2026, 3, 10, 8, 0), 8 * H) == vn(2026, 3, 10, 17, 30)
    assert add_business_time(vn(2026, 3, 6, 8, 0), 8 * H) == vn(2026, 3, 6, 17, 30)  # not Monday 08:00


def test_opened_before_tet_2026() -> None:
    # Opened Friday 13/02/2026 at 15:00 with 8 business hours:
    #   Friday 15:00–17:30 = 2 h 30, 5 h 30 left;
    #   Sat 14, Sun 15: weekend; Mon 16 (29 Tết) … Fri 20 (4/1 lunar): Tết; Sat 21, Sun 22: weekend;
    #   Monday 23/02: 08:00–12:00 = 4 h, 1 h 30 left; 13:30 + 1 h 30 = 15:00.
    due = add_business_time(vn(2026, 2, 13, 15, 0), 8 * H)
    assert due == vn(2026, 2, 23, 15, 0)
    assert due.tzinfo is VN_TZ
    assert business_time_between(vn(2026, 2, 13, 15, 0), due) == 8 * H
    assert business_time_between(vn(2026, 2, 13, 17, 30), vn(2026, 2, 23, 8, 0)) == datetime.timedelta(0)


def test_utc_input_and_vn_output() -> None:
    start = datetime.datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
    due = add_business_time(start, 1 * H)
    assert due == vn(2026, 3, 10, 9, 0)
    assert due.utcoffset() == 7 * H
    assert business_time_between(start, datetime.datetime(2026, 3, 10, 2, 0, tzinfo=UTC)) == 1 * H


def test_zero_and_negative_durations() -> None:
    start = vn(2026, 3, 7, 10, 0)  # Saturday
    assert add_business_time(start, datetime.timedelta(0)) == start
    with pytest.raises(ValueError, match="negative"):
        add_business_time(start, -M)


def test_naive_datetimes_rejected() -> None:
    naive = datetime.datetime(2026, 3, 10, 9, 0)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(naive, H)
    with pytest.raises(ValueError, match="aware"):
        business_time_between(naive, vn(2026, 3, 10, 10, 0))
    with pytest.raises(ValueError, match="aware"):
        is_business_time(naive)
    with pytest.raises(ValueError, match="aware"):
        next_business_moment(naive)


def test_business_time_between() -> None:
    assert business_time_between(vn(2026, 3, 10, 9, 0), vn(2026, 3, 10, 9, 0)) == datetime.timedelta(0)
    assert business_time_between(vn(2026, 3, 10, 10, 0), vn(2026, 3, 10, 9, 0)) == datetime.timedelta(0)
    assert business_time_between(vn(2026, 3, 10, 11, 0), vn(2026, 3, 10, 14, 0)) == 1 * H + 30 * M
    assert business_time_between(vn(2026, 3, 7, 9, 0), vn(2026, 3, 8, 9, 0)) == datetime.timedelta(0)
    # A full working week (Mon 00:00 → next Mon 00:00) is 5 × 8 h.
    assert business_time_between(vn(2026, 3, 9), vn(2026, 3, 16)) == 40 * H
    # 2026 has 251 working days.
    assert business_time_between(vn(2026, 1, 1), vn(2027, 1, 1)) == 251 * 8 * H


def test_is_business_time() -> None:
    assert is_business_time(vn(2026, 3, 10, 8, 0))
    assert is_business_time(vn(2026, 3, 10, 11, 59, 59))
    assert not is_business_time(vn(2026, 3, 10, 12, 0))
    assert not is_business_time(vn(2026, 3, 10, 13, 29))
    assert is_business_time(vn(2026, 3, 10, 13, 30))
    assert not is_business_time(vn(2026, 3, 10, 17, 30))
    assert not is_business_time(vn(2026, 3, 10, 7, 59))
    assert not is_business_time(vn(2026, 3, 7, 10, 0))  # Saturday
    assert not is_business_time(vn(2026, 2, 18, 10, 0))  # Tết
    assert is_business_time(datetime.datetime(2026, 3, 10, 2, 0, tzinfo=UTC))  # 09:00 in VN


def test_next_business_moment() -> None:
    assert next_business_moment(vn(2026, 3, 10, 9, 15)) == vn(2026, 3, 10, 9, 15)
    assert next_business_moment(vn(2026, 3, 10, 12, 15)) == vn(2026, 3, 10, 13, 30)
    assert next_business_moment(vn(2026, 3, 10, 6, 0)) == vn(2026, 3, 10, 8, 0)
    assert next_business_moment(vn(2026, 3, 6, 17, 45)) == vn(2026, 3, 9, 8, 0)
    assert next_business_moment(vn(2026, 2, 13, 17, 30)) == vn(2026, 2, 23, 8, 0)


def test_custom_hours_and_calendar() -> None:
    # A morning-only desk working Monday to Saturday.
    hours = WorkingHours(
        intervals=((datetime.time(8, 0), datetime.time(12, 0)),),
        calendar=WorkCalendar(weekend=frozenset({6})),
    )
    assert hours.day_length == 4 * H
    assert add_business_time(vn(2026, 3, 6, 11, 0), 2 * H, hours) == vn(2026, 3, 7, 9, 0)
    # 24/7 with no days off: business time is plain time.
    always = WorkingHours(
        intervals=((datetime.time(0, 0), datetime.time(0, 0)),),
        calendar=WorkCalendar(weekend=frozenset(), holidays_enabled=False),
    )
    assert always.day_length == 24 * H
    assert add_business_time(vn(2026, 2, 16, 22, 0), 3 * H, always) == vn(2026, 2, 17, 1, 0)
    assert add_business_time(vn(2026, 2, 16, 22, 0), 2 * H, always) == vn(2026, 2, 17, 0, 0)
    assert business_time_between(vn(2026, 2, 16, 22, 0), vn(2026, 2, 20, 1, 0), always) == 75 * H


def test_custom_hours_are_used() -> None:
    always = WorkingHours(
        intervals=((datetime.time(0, 0), datetime.time(0, 0)),),
        calendar=WorkCalendar(weekend=frozenset(), holidays_enabled=False),
    )
    start = vn(2026, 2, 16, 22, 0)
    assert add_business_time(start, 3 * H, always) == start + 3 * H
    assert is_business_time(vn(2026, 2, 17, 3, 0), always)
    assert next_business_moment(vn(2026, 2, 17, 3, 0), always) == vn(2026, 2, 17, 3, 0)


@pytest.mark.parametrize(
    "intervals",
    [
        (),
        ((datetime.time(12, 0), datetime.time(8, 0)),),
        ((datetime.time(8, 0), datetime.time(8, 0)),),
        ((datetime.time(8, 0), datetime.time(12, 0)), (datetime.time(11, 0), datetime.time(17, 0))),
        ((datetime.time(13, 0), datetime.time(17, 0)), (datetime.time(8, 0), datetime.time(12, 0))),
        ((datetime.time(8, 0, tzinfo=UTC), datetime.time(12, 0)),),
    ],
)
def test_invalid_working_hours(intervals: tuple[tuple[datetime.time, datetime.time], ...]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(intervals=intervals)


def test_long_durations_are_fast() -> None:
    start = vn(2026, 1, 5, 9, 0)
    began = time.perf_counter()
    due = add_business_time(start, 10 * 251 * 8 * H)  # about ten years of working time
    elapsed = business_time_between(start, due)
    assert time.perf_counter() - began < 2.0
    assert elapsed == 10 * 251 * 8 * H
    assert datetime.datetime(2035, 6, 1, tzinfo=VN_TZ) < due < datetime.datetime(2036, 6, 1, tzinfo=VN_TZ)


# --- Properties -----------------------------------------------------------------------------------

plain_starts = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1),
    max_value=datetime.datetime(2100, 12, 31),
    timezones=st.sampled_from([VN_TZ, UTC]),
)


@st.composite
def tet_starts(draw: st.DrawFn) -> datetime.datetime:
    """Moments in the fortnight around a Tết, where most days are off."""
    tet = lunar_new_year(draw(st.integers(min_value=2000, max_value=2100)))
    day = tet + datetime.timedelta(days=draw(st.integers(min_value=-7, max_value=7)))
    seconds = draw(st.integers(min_value=0, max_value=24 * 3600 - 1))
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=VN_TZ) + datetime.timedelta(
        seconds=seconds
    )


starts = st.one_of(plain_starts, tet_starts())
durations = st.timedeltas(min_value=M, max_value=datetime.timedelta(days=30))
DEFAULT = WorkingHours()


def _at_interval_end(dt: datetime.datetime) -> bool:
    local = dt.astimezone(VN_TZ)
    return DEFAULT.calendar.is_working_day(local.date()) and local.time() in {
        end for _, end in DEFAULT.intervals
    }


@given(starts, durations)
def test_round_trip(start: datetime.datetime, duration: datetime.timedelta) -> None:
    due = add_business_time(start, duration)
    assert business_time_between(start, due) == duration
    assert due > start
    assert due.tzinfo is VN_TZ


@given(starts, durations, durations)
def test_monotonic(start: datetime.datetime, a: datetime.timedelta, b: datetime.timedelta) -> None:
    shorter, longer = sorted((a, b))
    assert add_business_time(start, shorter) <= add_business_time(start, longer)


@given(starts, durations)
def test_due_inside_business_time(start: datetime.datetime, duration: datetime.timedelta) -> None:
    due = add_business_time(start, duration)
    assert is_business_time(due) or _at_interval_end(due)


@given(starts)
def test_next_business_moment_properties(start: datetime.datetime) -> None:
    moment = next_business_moment(start)
    assert moment >= start
    assert is_business_time(moment)
    assert business_time_between(start, moment) == datetime.timedelta(0)
    if is_business_time(start):
        assert moment == start


@given(starts, starts)
def test_between_is_additive(a: datetime.datetime, b: datetime.datetime) -> None:
    start, end = sorted((a, b))
    middle = start + (end - start) / 2
    assert business_time_between(start, end) == business_time_between(start, middle) + business_time_between(
        middle, end
    )
