"""Tests for careline.vn.dates: day-first Vietnamese dates, ISO dates and Excel serials."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.dates import InvalidDate, format_date, parse_date

D = datetime.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/2024", D(2024, 3, 15)),
        ("04/03/2026", D(2026, 3, 4)),
        ("4/3/2026", D(2026, 3, 4)),
        ("12/11/2025", D(2025, 11, 12)),
        ("5/3/24", D(2024, 3, 5)),
        ("5/3/00", D(2000, 3, 5)),
        ("5/3/29", D(2029, 3, 5)),
        ("5/3/30", D(1930, 3, 5)),
        ("5/3/95", D(1995, 3, 5)),
        ("15-03-2024", D(2024, 3, 15)),
        ("15.03.2024", D(2024, 3, 15)),
        (" 15 / 03 / 2024 ", D(2024, 3, 15)),
        ("29/02/2024", D(2024, 2, 29)),
        ("15/03/2024 10:30", D(2024, 3, 15)),
        ("2024-03-15", D(2024, 3, 15)),
        ("2024-3-5", D(2024, 3, 5)),
        ("2024-03-15T10:30:00", D(2024, 3, 15)),
        ("2024-03-15T10:30:00+07:00", D(2024, 3, 15)),
        ("2024-03-15 23:59:59.123456", D(2024, 3, 15)),
        ("2024-03-15T00:00:00Z", D(2024, 3, 15)),
    ],
)
def test_parse_date_strings(text: str, expected: datetime.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, D(1900, 1, 1)),
        (59, D(1900, 2, 28)),
        (61, D(1900, 3, 1)),
        (45000, D(2023, 3, 15)),
        (45000.75, D(2023, 3, 15)),
        ("45000", D(2023, 3, 15)),
        ("45000.5", D(2023, 3, 15)),
        (45366, D(2024, 3, 15)),
        (80000, D(2119, 1, 11)),
    ],
)
def test_parse_excel_serials(serial: str | float, expected: datetime.date) -> None:
    assert parse_date(serial) == expected


def test_parse_date_passes_through_date_objects() -> None:
    assert parse_date(D(2024, 3, 15)) == D(2024, 3, 15)
    assert parse_date(datetime.datetime(2024, 3, 15, 9, 30)) == D(2024, 3, 15)
    assert type(parse_date(datetime.datetime(2024, 3, 15, 9, 30))) is datetime.date


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/02/2024", "not a valid date"),
        ("29/02/2023", "not a valid date"),
        ("32/01/2024", "not a valid date"),
        ("15/13/2024", "not a valid date"),
        ("00/01/2024", "not a valid date"),
        ("2024-02-30", "not a valid date"),
        (60, "29/02/1900"),
        ("60", "29/02/1900"),
        (0, "between 1 and 80000"),
        (-5, "between 1 and 80000"),
        (80001, "between 1 and 80000"),
        (float("nan"), "empty"),
        (float("inf"), "between 1 and 80000"),
        ("", "empty"),
        ("   ", "empty"),
        ("hôm qua", "day/month/year"),
        ("15/03", "day/month/year"),
        ("15/03-2024", "day/month/year"),
        ("15/03/202", "day/month/year"),
        ("March 15, 2024", "day/month/year"),
        (True, "not a date"),
    ],
)
def test_parse_date_rejects(value: str | float, message: str) -> None:
    with pytest.raises(InvalidDate, match=message):
        parse_date(value)


def test_invalid_date_is_value_error() -> None:
    with pytest.raises(ValueError, match="31/02/2024"):
        parse_date("31/02/2024")


@pytest.mark.parametrize(
    ("d", "expected"),
    [(D(2024, 3, 5), "05/03/2024"), (D(1999, 12, 31), "31/12/1999"), (D(5, 1, 2), "02/01/0005")],
)
def test_format_date(d: datetime.date, expected: str) -> None:
    assert format_date(d) == expected


@given(st.dates())
def test_format_parse_round_trip(d: datetime.date) -> None:
    assert parse_date(format_date(d)) == d
    assert parse_date(d.isoformat()) == d


@given(st.dates(min_value=D(1900, 3, 1), max_value=D(2119, 1, 11)))
def test_excel_serial_round_trip(d: datetime.date) -> None:
    serial = (d - D(1899, 12, 30)).days
    assert parse_date(serial) == d
    assert parse_date(float(serial) + 0.5) == d


@given(st.dates(min_value=D(1930, 1, 1), max_value=D(2029, 12, 31)))
def test_two_digit_years_day_first(d: datetime.date) -> None:
    assert parse_date(f"{d.day}/{d.month}/{d.year % 100:02d}") == d
    assert parse_date(f"{d.day}.{d.month}.{d.year}") == d
