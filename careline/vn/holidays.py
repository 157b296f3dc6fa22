"""Vietnamese public holidays (Labour Code 2019, art. 112) and a working-day calendar.

The paid public holidays, 11 days a year:

* Tết Dương lịch: 1/1 (solar);
* Tết Nguyên Đán: 5 days. The Prime Minister fixes the exact days every year. Default rule here: the
  last day of the lunar year (29 or 30 of month 12) and 1/1 to 4/1 lunar (2026: 16/02–20/02);
* Giỗ Tổ Hùng Vương: 10/3 lunar;
* Ngày Giải phóng miền Nam, thống nhất đất nước: 30/4;
* Ngày Quốc tế Lao động: 1/5;
* Quốc khánh: 2/9 and one adjacent day, 1/9 or 3/9, also fixed by the Prime Minister. Default: 1/9.

:func:`public_holidays` takes ``tet_days`` and ``national_day_extra`` to follow the official
announcement of a given year. Compensatory days off (nghỉ bù, when a holiday falls on a weekly rest
day) and the swapped working Saturdays that come with long breaks are never added automatically:
put them in :class:`WorkCalendar`'s ``extra_holidays`` and ``extra_working_days``. The rules are
applied to every year, including years before they were law.
"""

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from careline.vn.lunar import last_day_of_lunar_year, to_solar

__all__ = [
    "TET_DAYS",
    "Holiday",
    "WorkCalendar",
    "default_tet_days",
    "holiday_on",
    "public_holidays",
]

TET_DAYS = 5
_ONE_DAY = datetime.timedelta(days=1)
_MAX_SEARCH_DAYS = 366 * 10  # a calendar with no working day in ten years is a configuration error


@dataclass(frozen=True, slots=True)
class Holiday:
    """One public holiday: the solar date, a stable key and its Vietnamese and English names."""

    date: datetime.date
    key: str
    name_vi: str
    name_en: str


_NAMES: dict[str, tuple[str, str]] = {
    "new_year": ("Tết Dương lịch", "New Year's Day"),
    "tet": ("Tết Nguyên Đán", "Lunar New Year (Tết)"),
    "hung_kings": ("Giỗ Tổ Hùng Vương", "Hùng Kings' Commemoration Day"),
    "reunification": ("Ngày Giải phóng miền Nam, thống nhất đất nước", "Reunification Day"),
    "labour_day": ("Ngày Quốc tế Lao động", "International Labour Day"),
    "national_day": ("Quốc khánh", "National Day"),
}


def _holiday(day: datetime.date, key: str) -> Holiday:
    name_vi, name_en = _NAMES[key]
    return Holiday(day, key, name_vi, name_en)


def default_tet_days(year: int) -> tuple[datetime.date, ...]:
    """The default 5 Tết days of solar year ``year``: last day of the lunar year and 1/1–4/1 lunar."""
    first = last_day_of_lunar_year(year - 1)
    return tuple(first + _ONE_DAY * i for i in range(TET_DAYS))


@lru_cache(maxsize=512)
def _holidays(
    year: int, tet_days: tuple[datetime.date, ...] | None, national_day_extra: datetime.date | None
) -> tuple[Holiday, ...]:
    tet = default_tet_days(year) if tet_days is None else tet_days
    extra = datetime.date(year, 9, 1) if national_day_extra is None else national_day_extra
    holidays = [
        _holiday(datetime.date(year, 1, 1), "new_year"),
        *(_holiday(day, "tet") for day in tet),
        _holiday(to_solar(year, 3, 10), "hung_kings"),
        _holiday(datetime.date(year, 4, 30), "reunification"),
        _holiday(datetime.date(year, 5, 1), "labour_day"),
        _holiday(datetime.date(year, 9, 2), "national_day"),
        _holiday(extra, "national_day"),
    ]
    return tuple(sorted(holidays, key=lambda holiday: holiday.date))  # stable: same-day keeps rule order


def public_holidays(
    year: int,
    *,
    tet_days: Iterable[datetime.date] | None = None,
    national_day_extra: datetime.date | None = None,
) -> list[Holiday]:
    """The public holidays of solar year ``year``, sorted by date (11 entries).

    ``tet_days`` replaces the default Tết days with the ones the government announced (dates of
    ``year``); ``national_day_extra`` is the day added to 2/9 and must be 1/9 or 3/9 (default 1/9).
    Two holidays may share a date (Giỗ Tổ fell on 30/4 in 1947): both are listed.
    """
    tet = None
    if tet_days is not None:
        tet = tuple(sorted(set(tet_days)))
        if not tet or any(day.year != year for day in tet):
            raise ValueError(f"Tết days for {year} must be a non-empty list of dates in {year}.")
    if national_day_extra is not None and national_day_extra not in (
        datetime.date(year, 9, 1),
        datetime.date(year, 9, 3),
    ):
        raise ValueError(f"The day added to National Day must be 1/9/{year} or 3/9/{year}.")
    return list(_holidays(year, tet, national_day_extra))


@lru_cache(maxsize=512)
def _default_by_date(year: int) -> dict[datetime.date, Holiday]:
    by_date: dict[datetime.date, Holiday] = {}
    for holiday in _holidays(year, None, None):
        by_date.setdefault(holiday.date, holiday)
    return by_date


def holiday_on(
    d: datetime.date,
    *,
    tet_days: Iterable[datetime.date] | None = None,
    national_day_extra: datetime.date | None = None,
) -> Holiday | None:
    """The public holiday on ``d`` (default rules, or the overrides of :func:`public_holidays`), or None.

    When two holidays share the date the first by rule order is returned.
    """
    if isinstance(d, datetime.datetime):
        d = d.date()
    if tet_days is None and national_day_extra is None:
        return _default_by_date(d.year).get(d)
    holidays = public_holidays(d.year, tet_days=tet_days, national_day_extra=national_day_extra)
    return next((holiday for holiday in holidays if holiday.date == d), None)


@lru_cache(maxsize=512)
def _holiday_dates(year: int) -> frozenset[datetime.date]:
    return frozenset(_default_by_date(year))


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are working days: weekly rest days, public holidays and per-company exceptions.

    ``weekend`` holds Python weekday numbers (Monday = 0; default Saturday and Sunday). Precedence,
    strongest first: ``extra_working_days`` (make-up working Saturdays, a default Tết day the
    government did not grant) > ``extra_holidays`` (compensatory days off, company days off, the
    official Tết days when they differ from the default) > public holidays (default rules, unless
    ``holidays_enabled`` is false) > ``weekend``. A date may not be in both extra sets.
    """

    weekend: frozenset[int] = frozenset({5, 6})
    extra_holidays: frozenset[datetime.date] = field(default_factory=frozenset)
    extra_working_days: frozenset[datetime.date] = field(default_factory=frozenset)
    holidays_enabled: bool = True

    def __post_init__(self) -> None:
        # Accept any iterable (a list, a set) for convenience and store frozensets.
        object.__setattr__(self, "weekend", frozenset(self.weekend))
        object.__setattr__(self, "extra_holidays", frozenset(self.extra_holidays))
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))
        if not all(isinstance(day, int) and 0 <= day <= 6 for day in self.weekend):
            raise ValueError("Weekend days are weekday numbers from 0 (Monday) to 6 (Sunday).")
        if both := self.extra_holidays & self.extra_working_days:
            listed = ", ".join(sorted(day.isoformat() for day in both))
            raise ValueError(f"Dates both extra holidays and extra working days: {listed}.")
        if len(self.weekend) == 7 and not self.extra_working_days:
            raise ValueError("A calendar needs at least one working day.")

    def is_holiday(self, d: datetime.date) -> bool:
        """Whether ``d`` is a day off other than a weekly rest day (public or extra holiday)."""
        if d in self.extra_working_days:
            return False
        return d in self.extra_holidays or (self.holidays_enabled and d in _holiday_dates(d.year))

    def is_working_day(self, d: datetime.date) -> bool:
        """Whether ``d`` is a working day (``datetime`` values use their date part)."""
        if isinstance(d, datetime.datetime):
            d = d.date()
        if d in self.extra_working_days:
            return True
        if d.weekday() in self.weekend or d in self.extra_holidays:
            return False
        return not (self.holidays_enabled and d in _holiday_dates(d.year))

    def working_days_between(self, start: datetime.date, end: datetime.date) -> Iterator[datetime.date]:
        """The working days from ``start`` to ``end``, both included, in order (none if end < start)."""
        day = start
        while day <= end:
            if self.is_working_day(day):
                yield day
            day += _ONE_DAY

    def count_working_days(self, start: datetime.date, end: datetime.date) -> int:
        """Number of working days from ``start`` to ``end``, both included (0 if end < start).

        Counts whole weeks arithmetically, then corrects for the few special dates, so long ranges
        cost as much as short ones.
        """
        if end < start:
            return 0
        total_days = (end - start).days + 1
        weeks, rest = divmod(total_days, 7)
        count = weeks * (7 - len(self.weekend))
        first = start.weekday()
        count += sum(1 for i in range(rest) if (first + i) % 7 not in self.weekend)
        special: set[datetime.date] = set(self.extra_holidays) | set(self.extra_working_days)
        if self.holidays_enabled:
            for year in range(start.year, end.year + 1):
                special |= _holiday_dates(year)
        for day in special:
            if start <= day <= end:
                count += self.is_working_day(day) - (day.weekday() not in self.weekend)
        return count

    def next_working_day(self, d: datetime.date, *, inclusive: bool = False) -> datetime.date:
        """The first working day after ``d`` (on or after it if ``inclusive``)."""
        day = d if inclusive else d + _ONE_DAY
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day += _ONE_DAY
        raise ValueError(f"No working day within ten years after {d.isoformat()}.")

    def previous_working_day(self, d: datetime.date, *, inclusive: bool = False) -> datetime.date:
        """The last working day before ``d`` (on or before it if ``inclusive``)."""
        day = d if inclusive else d - _ONE_DAY
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day -= _ONE_DAY
        raise ValueError(f"No working day within ten years before {d.isoformat()}.")

    def add_working_days(self, d: datetime.date, n: int) -> datetime.date:
        """The ``n``-th working day after ``d`` (before it when ``n`` < 0); ``d`` itself never counts.

        ``n == 0`` gives ``d`` if it is a working day, else the next working day. A request received
        on Saturday with "3 working days" is due on Wednesday.
        """
        if n == 0:
            return self.next_working_day(d, inclusive=True)
        day = d
        step = self.next_working_day if n > 0 else self.previous_working_day
        for _ in range(abs(n)):
            day = step(day)
        return day
