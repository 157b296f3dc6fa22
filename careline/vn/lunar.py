"""The Vietnamese lunar calendar (Âm lịch): conversions, month lengths, Tết and yearly lunar dates.

Vietnam's lunar calendar is computed for UTC+7, so it differs from the Chinese one (UTC+8) in some
years: Tết 1985 was on 21/01 in Vietnam but 20/02 in China, Tết 2007 on 17/02 and not 18/02.
Functions cover lunar years :data:`MIN_LUNAR_YEAR`–:data:`MAX_LUNAR_YEAR`, that is solar dates from
25/01/1800 to early 2200; outside that range they raise ``ValueError``. Years 1900–2199 are checked
day by day against the published calendar (the tests); before 1900 see below.

A lunar month has 29 or 30 days and some years have a leap month (tháng nhuận) that repeats the
number of the month before it: in 2025 month 6 is followed by a leap month 6.

How it is computed — Hồ Ngọc Đức's algorithm for the Vietnamese calendar ("Thuật toán tính âm
lịch", the "amlich" algorithm):

* a lunar month starts on the local day of a new moon; the new moon comes from Jean Meeus'
  approximation (*Astronomical Algorithms*, ch. 49, in Hồ Ngọc Đức's shortened form, with ΔT);
* month 11 is the month containing the winter solstice (sun longitude 270°);
* when 13 new moons separate two months 11, the first month after month 11 without a major solar
  term (trung khí: the sun's longitude crossing a multiple of 30°, by Meeus' low-precision solar
  coordinates) is the leap month and takes the number of the month before it;
* the local day is that of UTC+7, the calendar's official time since 1968. New moons before
  1968-01-01 use UTC+8 (Beijing time): before the 1967 reform calendars printed in Vietnam followed
  the Chinese calendar, and the published tables of Hồ Ngọc Đức do the same. So Tết 1968 is on
  29/01 (UTC+7; it was 30/01 in China), while 1967 and earlier years are those of UTC+8.

Where the algorithm and the published calendar disagree between 1900 and 2199 — 13 new moons close
to local midnight, see :data:`_PUBLISHED_NEW_MOON_DAYS` — the published day is used, so every day
of 1900–2199 is as published. Before 1900 the algorithm is used as is: it differs from the published
tables in a few months of 1800–1899 (a month starting a day apart in 1800, 1801, 1804, 1809, 1831,
1841, 1862, 1880, 1890 and at Tết 1896; another leap month in 1800, 1803, 1805, 1808 and 1811).

Origin and licence: Hồ Ngọc Đức published this algorithm and the rules behind it; his own programs
and tables carry a "personal, non-commercial use" notice (so does the ``vnlunar`` package, which
ships them). This module uses neither: it is our own implementation of the published method and of
Meeus' formulas, under this project's licence. ``vnlunar`` is only a test dependency, used to
cross-check every day of 1900–2199 against the published tables.
"""

import datetime
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

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


def _jdn(d: datetime.date) -> int:
    return d.toordinal() + _JDN_OF_ORDINAL_ZERO


# Astronomy. A Julian Day (JD) counts days from noon UTC of 1 January 4713 BC; the Julian Day Number
# (JDN) of a civil day is the JD of its noon, so the day holding the instant ``jd`` at UTC offset
# ``tz`` hours is ``floor(jd + 0.5 + tz / 24)`` and that day starts at JD ``jdn - 0.5 - tz / 24``.
_DEG = math.pi / 180
_SYNODIC_MONTH = 29.530588853  # mean days from one new moon to the next
_NEW_MOON_0 = 2_415_021.076998695  # JD of the mean new moon number 0 (1900-01-01 13:51 UTC)
_J2000 = 2_451_545.0  # JD of 2000-01-01 12:00
_UTC7_FROM = _jdn(datetime.date(1968, 1, 1))  # new moons before this day are counted in UTC+8

# The published calendar (Hồ Ngọc Đức's tables, as vnlunar ships them) where the algorithm gives
# another day for a new moon, 1900–2199: {the algorithm's day: the published day}.
# * 1906–1920: new moons 1 to 8 minutes after midnight UTC+8, before midnight in Beijing local time
#   (UTC+7:46), which the Chinese calendar used until 1928; 1925: the tables have Tết on 25/01
#   although the new moon was at 22:46 UTC+8 on 24/01 (kept, as before this module).
# * 2054–2199: new moons within 3 minutes of midnight UTC+7, where the shortened new-moon formula
#   is a few minutes late; precise ephemerides put all but the 2054 one before midnight, like the
#   tables (ΔT, Earth's rotation, is itself uncertain by minutes that far ahead).
_PUBLISHED_NEW_MOON_DAYS: dict[int, int] = {
    _jdn(datetime.date(*algorithm)): _jdn(datetime.date(*published))
    for algorithm, published in [
        ((1906, 4, 24), (1906, 4, 23)),
        ((1914, 11, 18), (1914, 11, 17)),
        ((1916, 2, 4), (1916, 2, 3)),  # Tết 1916
        ((1920, 11, 11), (1920, 11, 10)),
        ((1925, 1, 24), (1925, 1, 25)),  # Tết 1925
        ((2054, 5, 8), (2054, 5, 7)),
        ((2072, 12, 10), (2072, 12, 9)),
        ((2077, 11, 16), (2077, 11, 15)),
        ((2130, 5, 8), (2130, 5, 7)),
        ((2150, 5, 27), (2150, 5, 26)),
        ((2159, 5, 18), (2159, 5, 17)),
        ((2175, 1, 23), (2175, 1, 22)),  # Tết 2175
        ((2199, 1, 27), (2199, 1, 26)),  # Tết 2199
    ]
}


def _new_moon(k: int) -> float:
    """JD (UTC) of new moon number ``k`` (number 0 on 1900-01-01), after Meeus' approximation.

    The mean lunation with the largest periodic terms (about a minute or two off, at worst several),
    less ΔT, the lag of Earth's rotation (TT − UT) as a polynomial in time.
    """
    t = k / 1236.85  # Julian centuries since 1900
    t2, t3 = t * t, t * t * t
    mean = 2_415_020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    mean += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * _DEG)
    sun = (359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3) * _DEG  # mean anomalies
    moon = (306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3) * _DEG
    node = 2 * (21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3) * _DEG  # 2 × latitude
    periodic = (
        (0.1734 - 0.000393 * t) * math.sin(sun)
        + 0.0021 * math.sin(2 * sun)
        - 0.4068 * math.sin(moon)
        + 0.0161 * math.sin(2 * moon)
        - 0.0004 * math.sin(3 * moon)
        + 0.0104 * math.sin(node)
        - 0.0051 * math.sin(sun + moon)
        - 0.0074 * math.sin(sun - moon)
        + 0.0004 * math.sin(node + sun)
        - 0.0004 * math.sin(node - sun)
        - 0.0006 * math.sin(node + moon)
        + 0.0010 * math.sin(node - moon)
        + 0.0005 * math.sin(2 * moon + sun)
    )
    if t < -11:  # before the 9th century
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return mean + periodic - delta_t


def _sun_longitude(jd: float) -> float:
    """The sun's ecliptic longitude at ``jd``, in degrees in [0, 360) (Meeus, ch. 25, low precision)."""
    t = (jd - _J2000) / 36525  # Julian centuries since 2000
    t2 = t * t
    anomaly = (357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2) * _DEG
    mean_longitude = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    centre = (
        (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(anomaly)
        + (0.019993 - 0.000101 * t) * math.sin(2 * anomaly)
        + 0.000290 * math.sin(3 * anomaly)
    )
    return (mean_longitude + centre) % 360


class _NewMoonDay(NamedTuple):
    """The local day (JDN) of a new moon, and the UTC offset in hours it is counted in."""

    jdn: int
    tz: int


@lru_cache(maxsize=8192)
def _new_moon_day(k: int) -> _NewMoonDay:
    """The day lunar month number ``k`` starts: its new moon's day in UTC+8 before 1968, else UTC+7."""
    jd = _new_moon(k)
    day, tz = math.floor(jd + 0.5 + 8 / 24), 8
    if day >= _UTC7_FROM:
        day, tz = math.floor(jd + 0.5 + 7 / 24), 7
    return _NewMoonDay(_PUBLISHED_NEW_MOON_DAYS.get(day, day), tz)


def _sector(k: int) -> int:
    """The sun's 30° sector (0–11) at the start of month ``k``'s first day; 9 starts at 270°.

    A month whose first day and the next month's first day start in the same sector has no major
    solar term (trung khí).
    """
    day, tz = _new_moon_day(k)
    return int(_sun_longitude(day - 0.5 - tz / 24) // 30)


def _month_11(year: int) -> int:
    """The number of the new moon starting month 11 of lunar year ``year``, the winter solstice's."""
    k = math.floor((_jdn(datetime.date(year, 12, 31)) - _NEW_MOON_0) / _SYNODIC_MONTH)  # in December
    return k - 1 if _sector(k) >= 9 else k  # it starts after the solstice: month 11 is the one before


class _Lunation(NamedTuple):
    """A month between two months 11: its lunar year and number, whether leap, new moon number."""

    year: int
    month: int
    leap: bool
    k: int


@lru_cache(maxsize=512)
def _solstice_year(year: int) -> tuple[_Lunation, ...]:
    """The months from month 11 of lunar year ``year - 1`` up to month 11 of ``year`` (excluded).

    Twelve, or thirteen: then the first month after month 11 without a major solar term is the
    leap month (there is one: thirteen months hold twelve major terms).
    """
    first, end = _month_11(year - 1), _month_11(year)
    leap = end  # none
    if end - first == 13:
        leap = next(k for k in range(first + 1, end) if _sector(k) == _sector(k + 1))
    months = []
    for k in range(first, end):
        number = (10 + (k - first) - (k >= leap)) % 12 + 1  # 11, 12, 1, 2, …; a leap month repeats
        owner = year - 1 if number >= 11 and k - first < 4 else year  # months 11 and 12 (or leap)
        months.append(_Lunation(owner, number, k == leap, k))
    return tuple(months)


@lru_cache(maxsize=512)
def _months(year: int) -> tuple[_Month, ...]:
    """The 12 or 13 months of lunar year ``year`` in order (1 to 12, a leap month after its own)."""
    _check_year(year)
    result = []
    for lunation in (*_solstice_year(year), *_solstice_year(year + 1)):
        if lunation.year == year:
            start = _new_moon_day(lunation.k).jdn
            length = _new_moon_day(lunation.k + 1).jdn - start
            result.append(
                _Month(
                    month=lunation.month,
                    leap=lunation.leap,
                    start=datetime.date.fromordinal(start - _JDN_OF_ORDINAL_ZERO),
                    length=length,
                )
            )
    return tuple(result)


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
