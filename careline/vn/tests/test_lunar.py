"""Tests for careline.vn.lunar: the Vietnamese lunar calendar (UTC+7), Tết and yearly lunar dates."""

import datetime
import math
import time

import pytest
import vnlunar
from hypothesis import given
from hypothesis import strategies as st

from careline.vn import lunar
from careline.vn.lunar import (
    InvalidLunarDate,
    LunarDate,
    last_day_of_lunar_year,
    lunar_month_length,
    lunar_new_year,
    next_lunar_occurrence,
    to_lunar,
    to_solar,
)

D = datetime.date

solar_dates = st.dates(min_value=D(1900, 1, 1), max_value=D(2199, 12, 31))


@pytest.mark.parametrize(
    ("year", "tet"),
    [
        (1968, D(1968, 1, 29)),  # China (UTC+8): 30/01 — Vietnam switched to UTC+7 in 1968
        (1985, D(1985, 1, 21)),  # China: 20/02, a whole month later
        (2007, D(2007, 2, 17)),  # China: 18/02
        (2024, D(2024, 2, 10)),
        (2025, D(2025, 1, 29)),
        (2026, D(2026, 2, 17)),
        (2030, D(2030, 2, 2)),  # China: 03/02
    ],
)
def test_lunar_new_year(year: int, tet: datetime.date) -> None:
    assert lunar_new_year(year) == tet
    assert to_solar(year, 1, 1) == tet
    assert to_lunar(tet) == LunarDate(year, 1, 1)
    assert to_lunar(tet - datetime.timedelta(days=1)).year == year - 1


@pytest.mark.parametrize(
    ("solar", "lunar"),
    [
        (D(2026, 2, 16), LunarDate(2025, 12, 29)),  # 29 Tết: month 12 of 2025 has no 30th
        (D(2024, 2, 9), LunarDate(2023, 12, 30)),  # 30 Tết 2024
        (D(2025, 10, 6), LunarDate(2025, 8, 15)),  # Tết Trung thu 2025
        (D(2026, 4, 26), LunarDate(2026, 3, 10)),  # Giỗ Tổ Hùng Vương 2026
        (D(2025, 7, 25), LunarDate(2025, 6, 1, leap=True)),  # 2025 has a leap month 6
        (D(2025, 6, 25), LunarDate(2025, 6, 1)),
        (D(2020, 6, 1), LunarDate(2020, 4, 10, leap=True)),
        (D(2026, 1, 1), LunarDate(2025, 11, 13)),
    ],
)
def test_known_conversions(solar: datetime.date, lunar: LunarDate) -> None:
    assert to_lunar(solar) == lunar
    assert to_solar(lunar.year, lunar.month, lunar.day, lunar.leap) == solar
    assert lunar.to_solar() == solar


def test_datetime_uses_its_date() -> None:
    assert to_lunar(datetime.datetime(2026, 2, 17, 23, 59)) == LunarDate(2026, 1, 1)


@given(solar_dates)
def test_round_trip(d: datetime.date) -> None:
    lunar = to_lunar(d)
    assert to_solar(lunar.year, lunar.month, lunar.day, lunar.leap) == d
    assert 1 <= lunar.day <= lunar_month_length(lunar.year, lunar.month, lunar.leap)


@given(solar_dates)
def test_agrees_with_vnlunar(d: datetime.date) -> None:
    lunar = to_lunar(d)
    theirs = vnlunar.get_lunar_date(d.day, d.month, d.year)
    assert (lunar.year, lunar.month, lunar.day, lunar.leap) == (
        theirs["year"],
        theirs["month"],
        theirs["day"],
        bool(theirs["leap"]),
    )
    solar = vnlunar.get_solar_date(lunar.day, lunar.month, lunar.year, int(lunar.leap))
    assert solar is not None
    assert D(solar["year"], solar["month"], solar["day"]) == d


@given(solar_dates)
def test_consecutive_days(d: datetime.date) -> None:
    today, tomorrow = to_lunar(d), to_lunar(d + datetime.timedelta(days=1))
    if tomorrow.day != 1:
        assert (tomorrow.year, tomorrow.month, tomorrow.leap, tomorrow.day) == (
            today.year,
            today.month,
            today.leap,
            today.day + 1,
        )
    else:
        assert today.day in (29, 30)


@pytest.mark.parametrize(
    ("year", "month", "day", "leap"),
    [
        (2025, 12, 30, False),  # month 12 of 2025 has 29 days
        (2026, 6, 1, True),  # 2026 has no leap month
        (2025, 5, 1, True),  # 2025's leap month is 6, not 5
        (2025, 6, 30, True),  # leap month 6 of 2025 has 29 days
        (2026, 13, 1, False),
        (2026, 0, 1, False),
        (2026, 1, 31, False),
        (2026, 1, 0, False),
    ],
)
def test_non_existent_dates_rejected(year: int, month: int, day: int, leap: bool) -> None:
    with pytest.raises(InvalidLunarDate):
        to_solar(year, month, day, leap)
    assert vnlunar.get_solar_date(day, month, year, int(leap)) is None


def test_invalid_lunar_date_is_value_error() -> None:
    assert issubclass(InvalidLunarDate, ValueError)


def test_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        to_lunar(D(1799, 6, 1))
    with pytest.raises(ValueError, match="outside"):
        to_lunar(D(1800, 1, 24))  # still lunar year 1799
    with pytest.raises(ValueError, match="outside"):
        lunar_new_year(2200)
    with pytest.raises(ValueError, match="outside"):
        to_solar(1799, 1, 1)
    assert to_lunar(D(1800, 1, 25)) == LunarDate(1800, 1, 1)
    assert to_lunar(last_day_of_lunar_year(2199)).year == 2199


def test_month_lengths() -> None:
    assert lunar_month_length(2025, 12) == 29
    assert lunar_month_length(2023, 12) == 30
    assert lunar_month_length(2025, 6) == 30
    assert lunar_month_length(2025, 6, leap=True) == 29
    with pytest.raises(InvalidLunarDate):
        lunar_month_length(2026, 6, leap=True)


@given(st.integers(min_value=1900, max_value=2198))
def test_year_structure(year: int) -> None:
    lengths = [lunar_month_length(year, m) for m in range(1, 13)]
    assert set(lengths) <= {29, 30}
    last = last_day_of_lunar_year(year)
    assert last + datetime.timedelta(days=1) == lunar_new_year(year + 1)
    assert to_lunar(last) == LunarDate(year, 12, lengths[-1])
    assert (lunar_new_year(year + 1) - lunar_new_year(year)).days in (353, 354, 355, 383, 384, 385)
    assert D(year, 1, 21) <= lunar_new_year(year) <= D(year, 2, 20)


def test_last_day_of_lunar_year() -> None:
    assert last_day_of_lunar_year(2025) == D(2026, 2, 16)  # 29 Tết
    assert last_day_of_lunar_year(2023) == D(2024, 2, 9)  # 30 Tết


def test_next_occurrence_is_inclusive() -> None:
    assert next_lunar_occurrence(1, 1, D(2026, 2, 17)) == D(2026, 2, 17)
    assert next_lunar_occurrence(1, 1, D(2026, 2, 18)) == D(2027, 2, 6)
    assert next_lunar_occurrence(1, 1, D(2026, 1, 1)) == D(2026, 2, 17)
    assert next_lunar_occurrence(8, 15, D(2025, 1, 1)) == D(2025, 10, 6)


def test_next_occurrence_of_day_30_in_a_29_day_month() -> None:
    # Policy: day 30 falls on the last day (29) when the month is short that year.
    assert next_lunar_occurrence(12, 30, D(2025, 6, 1)) == D(2026, 2, 16)  # 29/12 of 2025
    assert next_lunar_occurrence(12, 30, D(2023, 6, 1)) == D(2024, 2, 9)  # a real 30/12
    assert next_lunar_occurrence(12, 30, D(2026, 2, 17)) == last_day_of_lunar_year(2026)


def test_next_occurrence_skips_leap_month() -> None:
    # 15/6 of 2025 is 2025-07-09; the leap 15/6 (2025-08-08) does not count: next is 15/6 of 2026.
    assert next_lunar_occurrence(6, 15, D(2025, 7, 9)) == D(2025, 7, 9)
    assert next_lunar_occurrence(6, 15, D(2025, 7, 10)) == to_solar(2026, 6, 15)


def test_next_occurrence_rejects_impossible_days() -> None:
    with pytest.raises(InvalidLunarDate):
        next_lunar_occurrence(13, 1, D(2026, 1, 1))
    with pytest.raises(InvalidLunarDate):
        next_lunar_occurrence(1, 31, D(2026, 1, 1))


@given(
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=30),
    st.dates(min_value=D(1900, 1, 1), max_value=D(2197, 12, 31)),
)
def test_next_occurrence_properties(month: int, day: int, after: datetime.date) -> None:
    found = next_lunar_occurrence(month, day, after)
    assert after <= found <= after + datetime.timedelta(days=385)
    lunar = to_lunar(found)
    assert (lunar.month, lunar.leap) == (month, False)
    assert lunar.day == min(day, lunar_month_length(lunar.year, month))
    # Nothing earlier qualifies: the occurrence of the lunar year before is before ``after``.
    previous = lunar.year - 1
    assert to_solar(previous, month, min(day, lunar_month_length(previous, month))) < after


def test_lunar_date_text() -> None:
    assert str(LunarDate(2025, 8, 15)) == "15/8"
    assert str(LunarDate(2020, 4, 10, leap=True)) == "10/4 nhuận"
    assert LunarDate(2025, 8, 15).format() == "15/8 Âm lịch"
    assert LunarDate(2025, 8, 15).format(with_year=True) == "15/8/2025 Âm lịch"
    assert LunarDate(2025, 6, 3, leap=True).format() == "3/6 nhuận Âm lịch"
    assert LunarDate(2025, 6, 3, leap=True).format(with_year=True) == "3/6 nhuận năm 2025 Âm lịch"


def test_lunar_date_checks_field_ranges() -> None:
    with pytest.raises(InvalidLunarDate):
        LunarDate(2026, 13, 1)
    with pytest.raises(InvalidLunarDate):
        LunarDate(2026, 1, 31)
    with pytest.raises(InvalidLunarDate):
        LunarDate(2025, 12, 30).to_solar()


def test_lunar_date_is_frozen_and_hashable() -> None:
    date = LunarDate(2026, 1, 1)
    with pytest.raises(AttributeError):
        date.day = 2  # type: ignore[misc]
    assert {date, LunarDate(2026, 1, 1)} == {date}


# Cross-checks of our implementation of Hồ Ngọc Đức's algorithm against vnlunar, a test-only
# dependency: its tables (the published calendar) and its own version of the algorithm.


def _vnlunar_days(start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, LunarDate]]:
    days = []
    d = start
    while d <= end:
        theirs = vnlunar.get_lunar_date(d.day, d.month, d.year)
        days.append((d, LunarDate(theirs["year"], theirs["month"], theirs["day"], bool(theirs["leap"]))))
        d += datetime.timedelta(days=1)
    return days


def test_every_day_of_1900_to_2199_agrees_with_vnlunar() -> None:
    days = _vnlunar_days(D(1900, 1, 1), D(2199, 12, 31))
    assert len(days) == 109_573
    assert [(d, to_lunar(d), theirs) for d, theirs in days if to_lunar(d) != theirs] == []


def test_every_month_of_1900_to_2199_agrees_with_vnlunar() -> None:
    for year in range(1900, 2200):
        starts, lengths = vnlunar.get_year_info(year), vnlunar.get_year_month_lengths(year)
        for info, length in zip(starts, lengths, strict=True):
            month, leap = int(info["month"]), bool(info["leap"])
            first = D.fromordinal(int(info["jd"]) - 1_721_425)
            assert (to_solar(year, month, 1, leap), lunar_month_length(year, month, leap)) == (first, length)


def test_lunar_new_year_agrees_with_vnlunar() -> None:
    theirs = {
        year: D.fromordinal(int(vnlunar.get_year_info(year)[0]["jd"]) - 1_721_425)
        for year in range(1900, 2200)
    }
    assert {year: lunar_new_year(year) for year in range(1900, 2200)} == theirs


def test_new_moons_and_solar_terms_are_hnd_algorithm() -> None:
    """Our astronomy gives the same days and sectors as vnlunar's version of the algorithm."""
    for k in range(-1_300, 3_800):  # every new moon of 1800–2199
        jd = lunar._new_moon(k)
        for tz in (7, 8):
            day = math.floor(jd + 0.5 + tz / 24)
            assert day == vnlunar.get_new_moon_day(k, tz)
            sector = int(lunar._sun_longitude(day - 0.5 - tz / 24) // 30)
            assert sector == vnlunar.get_sun_longitude_aa(day, tz)


def test_published_days_only_where_a_new_moon_is_near_midnight() -> None:
    """Each day taken from the published calendar replaces the algorithm's day of a new moon that is
    within 90 minutes of local midnight (all but 1925's within 10): a borderline call, not a rule."""
    for algorithm_day, published_day in lunar._PUBLISHED_NEW_MOON_DAYS.items():
        assert abs(published_day - algorithm_day) == 1
        k = round((algorithm_day - lunar._NEW_MOON_0) / lunar._SYNODIC_MONTH)
        tz = 8 if algorithm_day < lunar._UTC7_FROM else 7
        local = lunar._new_moon(k) + 0.5 + tz / 24
        assert math.floor(local) == algorithm_day
        minutes = min(local - algorithm_day, algorithm_day + 1 - local) * 24 * 60
        assert minutes < (90 if algorithm_day == lunar._jdn(D(1925, 1, 24)) else 10)
        assert lunar._new_moon_day(k).jdn == published_day


def test_utc8_before_1968() -> None:
    # The new moon of 1965-02-01 was at 16:36 UTC: 2 February in UTC+8 (China then, and Vietnam's
    # calendar before 1968), 1 February in UTC+7.
    assert lunar_new_year(1965) == D(1965, 2, 2)
    assert to_lunar(D(1965, 2, 1)) == LunarDate(1964, 12, 30)
    assert lunar_new_year(1968) == D(1968, 1, 29)  # UTC+7 from 1968 on: 30/01 in UTC+8


def test_to_lunar_is_fast() -> None:
    to_lunar(D(2026, 5, 1))  # builds that lunar year once
    start = time.perf_counter()
    for day in range(1, 29):
        to_lunar(D(2026, 2, day))
    assert time.perf_counter() - start < 0.05  # about 3 µs a call
