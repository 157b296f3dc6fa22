"""Dates as Vietnamese people write them (day first: ``15/03/2024``) and as spreadsheets store them.

:func:`parse_date` never reads ``04/03/2026`` as April 3: with day and month both ≤ 12 the Vietnamese
order day/month always wins. Excel serial numbers (1900 date system) are also understood, since
spreadsheet cells formatted as numbers export dates that way.
"""

import datetime
import re

__all__ = ["InvalidDate", "format_date", "parse_date"]

# Two-digit years: 00–29 → 2000–2029, 30–99 → 1930–1999.
TWO_DIGIT_YEAR_PIVOT = 30
EXCEL_SERIAL_MIN = 1
EXCEL_SERIAL_MAX = 80_000
_EXCEL_FAKE_LEAP_DAY = 60  # Excel (after Lotus 1-2-3) believes 1900-02-29 existed.
_EXCEL_EPOCH = datetime.date(1899, 12, 30)  # serial 61 = 1900-03-01 counts from here
_EXCEL_EPOCH_BEFORE_LEAP_BUG = datetime.date(1899, 12, 31)  # serial 1 = 1900-01-01

# An optional time part after the date: "15/03/2024 10:30", "2024-03-15T10:30:00+07:00".
_TIME = r"(?:[T\s,]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp][Mm]|Z|[+-]\d{2}:?\d{2})?)?"
_DAY_FIRST = re.compile(rf"(\d{{1,2}})\s*([/.\-])\s*(\d{{1,2}})\s*\2\s*(\d{{4}}|\d{{2}}){_TIME}")
_YEAR_FIRST = re.compile(rf"(\d{{4}})([/.\-])(\d{{1,2}})\2(\d{{1,2}}){_TIME}")
_SERIAL = re.compile(r"\d+(?:\.\d+)?")


class InvalidDate(ValueError):
    """Raised when a value cannot be understood as a valid calendar date."""


def _make_date(year: int, month: int, day: int, text: object) -> datetime.date:
    """Build a date, turning an impossible one (31/02/2024) into :class:`InvalidDate`."""
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise InvalidDate(
            f"{text!r} is not a valid date: day {day}, month {month}, year {year} does not exist."
        ) from exc


def _from_excel_serial(serial: float, text: object) -> datetime.date:
    """Convert an Excel (1900 date system) serial number; the fraction (time of day) is ignored."""
    if not EXCEL_SERIAL_MIN <= serial < EXCEL_SERIAL_MAX + 1:
        raise InvalidDate(
            f"{text!r} is not a date: spreadsheet date numbers must be between "
            f"{EXCEL_SERIAL_MIN} and {EXCEL_SERIAL_MAX}."
        )
    days = int(serial)
    if days == _EXCEL_FAKE_LEAP_DAY:
        raise InvalidDate(f"{text!r} is Excel's 29/02/1900, a day that does not exist.")
    epoch = _EXCEL_EPOCH_BEFORE_LEAP_BUG if days < _EXCEL_FAKE_LEAP_DAY else _EXCEL_EPOCH
    return epoch + datetime.timedelta(days=days)


def parse_date(text: str | int | float | datetime.date) -> datetime.date:
    """Parse a date written the Vietnamese way, in ISO form, or as an Excel serial number.

    Accepts ``dd/mm/yyyy``, ``d/m/yyyy``, ``d/m/yy`` (00–29 → 20xx, 30–99 → 19xx), ``dd-mm-yyyy``,
    ``dd.mm.yyyy``, ``yyyy-mm-dd``, ISO datetimes (the date part is kept), Excel serials (int, float
    or numeric string from 1 to 80000; 45000 → 2023-03-15) and ``date``/``datetime`` objects.
    Raises :class:`InvalidDate` for anything else, including impossible dates such as 31/02/2024.
    """
    if isinstance(text, datetime.datetime):
        return text.date()
    if isinstance(text, datetime.date):
        return text
    if isinstance(text, bool):
        raise InvalidDate(f"{text!r} is not a date.")
    if isinstance(text, int | float):
        if text != text:  # NaN from an empty spreadsheet cell
            raise InvalidDate("Date is empty.")
        return _from_excel_serial(text, text)

    value = str(text).strip()
    if not value:
        raise InvalidDate("Date is empty.")
    if _SERIAL.fullmatch(value):
        return _from_excel_serial(float(value), text)
    if match := _DAY_FIRST.fullmatch(value):
        day, month, year_text = int(match[1]), int(match[3]), match[4]
        year = int(year_text)
        if len(year_text) == 2:
            year += 2000 if year < TWO_DIGIT_YEAR_PIVOT else 1900
        return _make_date(year, month, day, text)
    if match := _YEAR_FIRST.fullmatch(value):
        return _make_date(int(match[1]), int(match[3]), int(match[4]), text)
    raise InvalidDate(f"{text!r} is not a date; write it as day/month/year, e.g. 15/03/2024.")


def format_date(d: datetime.date) -> str:
    """Format a date the Vietnamese way: ``dd/mm/yyyy``."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
