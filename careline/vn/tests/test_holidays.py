"""Tests for careline.vn.holidays: public holidays (Labour Code 2019 art. 112) and WorkCalendar."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.holidays import (
    Holiday,
    WorkCalendar,
    default_tet_days,
    holiday_on,
    public_holidays,
)
from careline.vn.lunar import last_day_of_lunar_year, lunar_new_year, to_solar

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)


def test_public_holidays_2026() -> None:
    holidays = public_holidays(2026)
    assert [(h.date, h.key) for h in holidays] == [
        (D(2026, 1, 1), "new_year"),
        (D(2026, 2, 16), "tet"),  # 29/12 Ất Tỵ, the last day of lunar year 2025
        (D(2026, 2, 17), "tet"),  # 1/1 Bính Ngọ
        (D(2026, 2, 18), "tet"),
        (D(2026, 2, 19), "tet"),
        (D(2026, 2, 20), "tet"),  # 4/1
        (D(2026, 4, 26), "hung_kings"),  # 10/3 lunar
        (D(2026, 4, 30), "reunification"),
        (D(2026, 5, 1), "labour_day"),
        (D(2026, 9, 1), "national_day"),  # default adjacent day
        (D(2026, 9, 2), "national_day"),
    ]
    assert holidays[0] == Holiday(D(2026, 1, 1), "new_year", "Tết Dương lịch", "New Year's Day")
    assert all(h.name_vi and h.name_en for h in holidays)


def test_default_tet_days() -> None:
    assert default_tet_days(2026) == tuple(D(2026, 2, 16) + ONE_DAY * i for i in range(5))
    assert default_tet_days(2024) == tuple(D(2024, 2, 9) + ONE_DAY * i for i in range(5))  # from 30 Tết


@pytest.mark.parametrize(
    ("year", "day"), [(2023, D(2023, 4, 29)), (2024, D(2024, 4, 18)), (2026, D(2026, 4, 26))]
)
def test_hung_kings_day(year: int, day: datetime.date) -> None:
    assert [h.date for h in public_holidays(year) if h.key == "hung_kings"] == [day]


def test_eleven_holidays_every_year() -> None:
    for year in range(1900, 2200):
        holidays = public_holidays(year)
        assert len(holidays) == 11  # 1 + 5 + 1 + 1 + 1 + 2
        assert [h.date for h in holidays] == sorted(h.date for h in holidays)
        assert all(h.date.year == year for h in holidays)
        tet = [h.date for h in holidays if h.key == "tet"]
        assert tet == [last_day_of_lunar_year(year - 1) + ONE_DAY * i for i in range(5)]
        assert lunar_new_year(year) in tet


def test_holidays_sharing_a_date() -> None:
    # Giỗ Tổ (10/3 lunar) fell on 30/4 in 1947: both are listed, holiday_on gives the first rule's.
    assert to_solar(1947, 3, 10) == D(1947, 4, 30)
    holidays = public_holidays(1947)
    assert len(holidays) == 11
    assert len({h.date for h in holidays}) == 10
    found = holiday_on(D(1947, 4, 30))
    assert found is not None
    assert found.key == "hung_kings"


def test_overrides() -> None:
    official = [D(2026, 2, 14) + ONE_DAY * i for i in range(5)]
    holidays = public_holidays(2026, tet_days=official, national_day_extra=D(2026, 9, 3))
    assert [h.date for h in holidays if h.key == "tet"] == official
    assert [h.date for h in holidays if h.key == "national_day"] == [D(2026, 9, 2), D(2026, 9, 3)]
    assert holiday_on(D(2026, 2, 14), tet_days=official) is not None
    assert holiday_on(D(2026, 2, 20), tet_days=official) is None
    assert holiday_on(D(2026, 9, 3), national_day_extra=D(2026, 9, 3)) is not None
    assert holiday_on(D(2026, 9, 3)) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tet_days": []},
        {"tet_days": [D(2025, 2, 16)]},
        {"national_day_extra": D(2026, 9, 4)},
        {"national_day_extra": D(2025, 9, 1)},
    ],
)
def test_invalid_overrides(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        public_holidays(2026, **kwargs)  # type: ignore[arg-type]


def test_holiday_on() -> None:
    tet = holiday_on(D(2026, 2, 17))
    assert tet is not None
    assert (tet.key, tet.name_vi) == ("tet", "Tết Nguyên Đán")
    national = holiday_on(datetime.datetime(2026, 9, 2, 10, 0))
    assert national is not None
    assert national.key == "national_day"
    assert holiday_on(D(2026, 3, 2)) is None
    assert holiday_on(D(2026, 2, 21)) is None  # 5/1 lunar: back to normal (it is a Saturday)


# --- WorkCalendar -------------------------------------------------------------------------------

CAL = WorkCalendar()


def test_working_days() -> None:
    assert CAL.is_working_day(D(2026, 2, 13))  # Friday before Tết
    assert not CAL.is_working_day(D(2026, 2, 14))  # Saturday
    assert not CAL.is_working_day(D(2026, 2, 15))  # Sunday
    assert not CAL.is_working_day(D(2026, 2, 16))  # Tết
    assert not CAL.is_working_day(D(2026, 4, 30))
    assert CAL.is_working_day(D(2026, 2, 23))
    assert CAL.is_working_day(datetime.datetime(2026, 2, 23, 9, 0))
    assert CAL.is_holiday(D(2026, 2, 16))
    assert not CAL.is_holiday(D(2026, 2, 14))


def test_extra_days_and_precedence() -> None:
    cal = WorkCalendar(
        extra_holidays=frozenset({D(2026, 4, 27)}),  # nghỉ bù for Giỗ Tổ on Sunday 26/4
        extra_working_days=frozenset({D(2026, 2, 7), D(2026, 2, 16)}),  # a make-up Saturday, a Tết day
    )
    assert not cal.is_working_day(D(2026, 4, 27))
    assert cal.is_holiday(D(2026, 4, 27))
    assert cal.is_working_day(D(2026, 2, 7))
    assert cal.is_working_day(D(2026, 2, 16))
    assert not cal.is_holiday(D(2026, 2, 16))


def test_holidays_disabled_and_custom_weekend() -> None:
    cal = WorkCalendar(weekend=frozenset({6}), holidays_enabled=False)  # six-day week, no holidays
    assert cal.is_working_day(D(2026, 2, 14))  # Saturday
    assert cal.is_working_day(D(2026, 2, 17))  # Tết, but holidays are off
    assert not cal.is_working_day(D(2026, 2, 15))


def test_calendar_validation() -> None:
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(extra_holidays=frozenset({D(2026, 1, 5)}), extra_working_days=frozenset({D(2026, 1, 5)}))
    with pytest.raises(ValueError):
        WorkCalendar(weekend=frozenset({7}))
    with pytest.raises(ValueError):
        WorkCalendar(weekend=frozenset(range(7)))


def test_count_working_days_2026() -> None:
    # 2026 has 261 weekdays (52 weeks + Thursday 1/1); holidays on weekdays: 1/1, the five Tết days,
    # 30/4, 1/5, 1/9, 2/9 = 10 (Giỗ Tổ, 26/4, is a Sunday) → 251.
    assert CAL.count_working_days(D(2026, 1, 1), D(2026, 12, 31)) == 251
    assert len(list(CAL.working_days_between(D(2026, 1, 1), D(2026, 12, 31)))) == 251
    assert CAL.count_working_days(D(2026, 2, 14), D(2026, 2, 22)) == 0  # the whole Tết break
    assert CAL.count_working_days(D(2026, 2, 13), D(2026, 2, 13)) == 1
    assert CAL.count_working_days(D(2026, 2, 13), D(2026, 2, 12)) == 0
    assert list(CAL.working_days_between(D(2026, 2, 12), D(2026, 2, 24))) == [
        D(2026, 2, 12),
        D(2026, 2, 13),
        D(2026, 2, 23),
        D(2026, 2, 24),
    ]


some_dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31))
MAKE_UP_DAYS = frozenset({D(2026, 2, 7), D(2026, 2, 17)})  # a Saturday and a Tết day worked
calendars = st.builds(
    WorkCalendar,
    weekend=st.frozensets(st.integers(min_value=0, max_value=6), max_size=3),
    extra_holidays=st.frozensets(
        st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31)).filter(lambda d: d not in MAKE_UP_DAYS),
        max_size=8,
    ),
    extra_working_days=st.just(MAKE_UP_DAYS),
    holidays_enabled=st.booleans(),
)


@given(calendars, st.dates(min_value=D(2025, 6, 1), max_value=D(2027, 6, 1)), st.integers(0, 500))
def test_count_matches_enumeration(cal: WorkCalendar, start: datetime.date, days: int) -> None:
    end = start + ONE_DAY * days
    assert cal.count_working_days(start, end) == sum(1 for _ in cal.working_days_between(start, end))
    assert cal.count_working_days(start, end) == sum(
        cal.is_working_day(start + ONE_DAY * i) for i in range(days + 1)
    )


def test_next_and_previous_working_day() -> None:
    assert CAL.next_working_day(D(2026, 2, 13)) == D(2026, 2, 23)  # Friday before Tết → after it
    assert CAL.next_working_day(D(2026, 2, 12)) == D(2026, 2, 13)
    assert CAL.next_working_day(D(2026, 2, 13), inclusive=True) == D(2026, 2, 13)
    assert CAL.next_working_day(D(2026, 2, 14), inclusive=True) == D(2026, 2, 23)
    assert CAL.previous_working_day(D(2026, 2, 23)) == D(2026, 2, 13)


def test_add_working_days() -> None:
    assert CAL.add_working_days(D(2026, 3, 7), 3) == D(2026, 3, 11)  # Saturday + 3 → Wednesday
    assert CAL.add_working_days(D(2026, 2, 12), 2) == D(2026, 2, 23)  # Thursday + 2, across Tết
    assert CAL.add_working_days(D(2026, 2, 23), -1) == D(2026, 2, 13)
    assert CAL.add_working_days(D(2026, 3, 9), 0) == D(2026, 3, 9)
    assert CAL.add_working_days(D(2026, 3, 7), 0) == D(2026, 3, 9)  # Saturday rolls to Monday


@given(some_dates, st.integers(min_value=1, max_value=300))
def test_add_working_days_counts(d: datetime.date, n: int) -> None:
    later = CAL.add_working_days(d, n)
    assert CAL.is_working_day(later)
    assert CAL.count_working_days(d + ONE_DAY, later) == n
    assert CAL.add_working_days(later, -n) == CAL.previous_working_day(d, inclusive=True)
