"""The Vietnamese lunar calendar (Âm lịch): conversions, month lengths, Tết and yearly lunar dates.

Vietnam's lunar calendar is computed for UTC+7, so it differs from the Chinese one (UTC+8) in some
years: Tết 1985 was on 21/01 in Vietnam but 20/02 in China, Tết 2007 on 17/02 and not 18/02. The
data are Hồ Ngọc Đức's tables (the published calendar, UTC+8 before 1968 as used then) as shipped by
the ``vnlunar`` package; they cover lunar years :data:`MIN_LUNAR_YEAR`–:data:`MAX_LUNAR_YEAR`,
that is solar dates from 25/01/1800 to early 2200. Outside that range functions raise ``ValueError``.

A lunar month has 29 or 30 days and some years have a leap month (tháng nhuận) that repeats the
number of the month before it: in 2025 month 6 is followed by a leap month 6.
"""

import datetime
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import vnlunar

__all__ = [
    "MAX_LUNAR_YEAR",
    "MIN_LUNAR_YEAR",
    "InvalidLunarDate",
    "LunarDate",
    "last_day_of_lunar_year",
    "lunar_month_length",
    "lunar_new_year",
    "next_lunar_occurrence",
    "to_lunar",
    "to_solar",
]

MIN_LUNAR_YEAR = 1800
MAX_LUNAR_YEAR = 2199
_JDN_OF_ORDINAL_ZERO = 1_721_425  # Julian Day Number of 0001-01-01 is 1721426 (proleptic Gregorian)


class InvalidLunarDate(ValueError):
    """Raised for a lunar date that does not exist (30 of a 29-day month, a leap month a year lacks)."""


class _Month(NamedTuple):
    """One lunar month of a year: its number, whether it is the leap month, first solar day, length."""

    month: int
    leap: bool
    start: datetime.date
    length: int


@dataclass(frozen=True, slots=True)
class LunarDate:
    """A day of the Vietnamese lunar calendar; ``leap`` marks the leap month (tháng nhuận).

    Only the field ranges are checked here; whether the day exists in that year is checked by
    :func:`to_solar`. Not ordered: a leap month comes after the regular month of the same number.
    """

    year: int
    month: int
    day: int
    leap: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidLunarDate(f"Lunar month {self.month} does not exist: months are 1 to 12.")
        if not 1 <= self.day <= 30:
            raise InvalidLunarDate(f"Lunar day {self.day} does not exist: days are 1 to 30.")

    def __str__(self) -> str:
        """Day/month the way Vietnamese people write lunar dates: ``15/8``, ``10/4 nhuận``."""
        return f"{self.day}/{self.month}" + (" nhuận" if self.leap else "")

    def format(self, *, with_year: bool = False) -> str:
        """``15/8 Âm lịch``; with the year ``15/8/2025 Âm lịch`` (leap: ``10/6 nhuận năm 2025 Âm lịch``)."""
        if not with_year:
            return f"{self} Âm lịch"
        if self.leap:
            return f"{self} năm {self.year} Âm lịch"
        return f"{self.day}/{self.month}/{self.year} Âm lịch"

    def to_solar(self) -> datetime.date:
        """The solar date of this lunar date; :class:`InvalidLunarDate` if it does not exist."""
        return to_solar(self.year, self.month, self.day, self.leap)


def _check_year(year: int) -> None:
    if not MIN_LUNAR_YEAR <= year <= MAX_LUNAR_YEAR:
        raise ValueError(
            f"Lunar year {year} is outside the supported range {MIN_LUNAR_YEAR}–{MAX_LUNAR_YEAR}."
        )


@lru_cache(maxsize=512)
def _months(year: int) -> tuple[_Month, ...]:
    """The 12 or 13 months of lunar year ``year`` in order, from the vnlunar tables."""
    _check_year(year)
    starts = vnlunar.get_year_info(year)
    lengths = vnlunar.get_year_month_lengths(year)
    return tuple(
        _Month(
            month=int(info["month"]),
            leap=bool(info["leap"]),
            start=datetime.date.fromordinal(int(info["jd"]) - _JDN_OF_ORDINAL_ZERO),
            length=int(length),
        )
        for info, length in zip(starts, lengths, strict=True)
    )


def _find_month(year: int, month: int, leap: bool) -> _Month:
    if not 1 <= month <= 12:
        raise InvalidLunarDate(f"Lunar month {month} does not exist: months are 1 to 12.")
    for candidate in _months(year):
        if candidate.month == month and candidate.leap == leap:
            return candidate
    raise InvalidLunarDate(f"Lunar year {year} has no leap month {month}.")


def lunar_new_year(year: int) -> datetime.date:
    """Solar date of Tết Nguyên Đán, 1/1 of lunar year ``year`` (2026 → 2026-02-17)."""
    return _months(year)[0].start


def last_day_of_lunar_year(year: int) -> datetime.date:
    """Solar date of the last day of lunar year ``year`` (29 or 30 of month 12: 2025 → 2026-02-16)."""
    last = _months(year)[-1]
    return last.start + datetime.timedelta(days=last.length - 1)


def lunar_month_length(year: int, month: int, leap: bool = False) -> int:
    """Number of days (29 or 30) of lunar month ``month`` (its leap month if ``leap``) of ``year``."""
    return _find_month(year, month, leap).length


def to_solar(year: int, month: int, day: int, leap: bool = False) -> datetime.date:
    """Convert a lunar date to the solar (Gregorian) date.

    Raises :class:`InvalidLunarDate` for a date that does not exist: day 30 of a 29-day month, or a
    leap month the year does not have (``ValueError`` for years outside the supported range).
    """
    found = _find_month(year, month, leap)
    if not 1 <= day <= found.length:
        raise InvalidLunarDate(
            f"{day}/{month}{' nhuận' if leap else ''} of lunar year {year} does not exist: "
            f"that month has {found.length} days."
        )
    return found.start + datetime.timedelta(days=day - 1)


def to_lunar(d: datetime.date) -> LunarDate:
    """Convert a solar date to the Vietnamese lunar date (``datetime`` values use their date part)."""
    if isinstance(d, datetime.datetime):
        d = d.date()
    year = d.year
    if year > MAX_LUNAR_YEAR or d < lunar_new_year(year):
        year -= 1  # January/February before Tết belong to the previous lunar year
    _check_year(year)
    for found in reversed(_months(year)):
        if found.start <= d:
            if d >= found.start + datetime.timedelta(days=found.length):
                break  # after the last day of lunar year MAX_LUNAR_YEAR
            return LunarDate(year, found.month, (d - found.start).days + 1, found.leap)
    raise ValueError(f"{d.isoformat()} is outside the supported lunar calendar range.")


def _occurrence(year: int, month: int, day: int) -> datetime.date:
    found = _find_month(year, month, leap=False)
    return found.start + datetime.timedelta(days=min(day, found.length) - 1)


def next_lunar_occurrence(month: int, day: int, after: datetime.date) -> datetime.date:
    """The first solar date on or after ``after`` that is lunar ``day``/``month``.

    For lunar birthdays, death anniversaries (ngày giỗ) and yearly reminders. Policy: the regular
    (non-leap) month is used, as is customary even for dates that fell in a leap month; day 30 in a
    year where that month has 29 days falls on the 29th, the last day of the month.
    """
    if not 1 <= month <= 12:
        raise InvalidLunarDate(f"Lunar month {month} does not exist: months are 1 to 12.")
    if not 1 <= day <= 30:
        raise InvalidLunarDate(f"Lunar day {day} does not exist: days are 1 to 30.")
    year = to_lunar(after).year
    found = _occurrence(year, month, day)
    return found if found >= after else _occurrence(year + 1, month, day)
