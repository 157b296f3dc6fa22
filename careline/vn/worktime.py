"""Business time for service levels (SLAs): due moments and elapsed working time.

A :class:`WorkingHours` is the office hours of each working day (default 08:00–12:00 and 13:30–17:30,
a typical Vietnamese office with a lunch break) plus a :class:`~careline.vn.holidays.WorkCalendar`
that says which days are working days (weekends and Tết are skipped). All functions take aware
datetimes, work in Vietnam's local time (``Asia/Ho_Chi_Minh``, UTC+7, no daylight saving) and return
aware datetimes in that zone. Whole days are skipped at once, so durations of weeks or months cost
little. Intervals are half-open: 12:00 is not business time, 08:00 is.
"""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from careline.vn.holidays import WorkCalendar

__all__ = [
    "VN_TZ",
    "WorkingHours",
    "add_business_time",
    "business_time_between",
    "is_business_time",
    "next_business_moment",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_ZERO = datetime.timedelta(0)
_ONE_DAY = datetime.timedelta(days=1)
_MIDNIGHT = datetime.time(0, 0)

Interval = tuple[datetime.time, datetime.time]
DEFAULT_INTERVALS: tuple[Interval, ...] = (
    (datetime.time(8, 0), datetime.time(12, 0)),
    (datetime.time(13, 30), datetime.time(17, 30)),
)


def _offset(t: datetime.time) -> datetime.timedelta:
    """Time of day as the time elapsed since midnight."""
    return datetime.timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Office hours of every working day, the working-day calendar and the time zone.

    ``intervals`` are (start, end) local times, in order and not overlapping; an end of
    ``time(0, 0)`` means midnight at the end of the day, so ``((time(0), time(0)),)`` with a calendar
    without weekend or holidays is a 24/7 desk. The same hours apply to every working day.
    """

    intervals: tuple[Interval, ...] = DEFAULT_INTERVALS
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    tz: ZoneInfo = VN_TZ

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", tuple((start, end) for start, end in self.intervals))
        if not self.intervals:
            raise ValueError("Working hours need at least one interval.")
        previous_end = _ZERO
        for start, end in self.intervals:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("Working hours are local times without a time zone.")
            begin, finish = _offset(start), _offset(end) if end != _MIDNIGHT else _ONE_DAY
            if not previous_end <= begin < finish:
                raise ValueError(
                    "Working hour intervals must be in order, not overlapping, each ending after it starts."
                )
            previous_end = finish

    @property
    def offsets(self) -> tuple[tuple[datetime.timedelta, datetime.timedelta], ...]:
        """The intervals as (start, end) times elapsed since midnight; an end of midnight is 1 day."""
        return tuple(
            (_offset(start), _offset(end) if end != _MIDNIGHT else _ONE_DAY) for start, end in self.intervals
        )

    @property
    def day_length(self) -> datetime.timedelta:
        """Business time in one whole working day (8 hours by default)."""
        return sum((end - start for start, end in self.offsets), _ZERO)


DEFAULT_HOURS = WorkingHours()


def _local(dt: datetime.datetime, hours: WorkingHours) -> tuple[datetime.date, datetime.timedelta]:
    """Local date and time elapsed since local midnight of an aware datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("Business time needs aware datetimes (with a time zone).")
    local = dt.astimezone(hours.tz)
    return local.date(), _offset(local.time())


def _aware(day: datetime.date, offset: datetime.timedelta, hours: WorkingHours) -> datetime.datetime:
    """The aware datetime at ``offset`` after local midnight of ``day`` (offset may be a whole day)."""
    return (datetime.datetime.combine(day, _MIDNIGHT) + offset).replace(tzinfo=hours.tz)


def is_business_time(dt: datetime.datetime, hours: WorkingHours = DEFAULT_HOURS) -> bool:
    """Whether ``dt`` falls inside the working hours of a working day."""
    day, offset = _local(dt, hours)
    return hours.calendar.is_working_day(day) and any(a <= offset < b for a, b in hours.offsets)


def next_business_moment(dt: datetime.datetime, hours: WorkingHours = DEFAULT_HOURS) -> datetime.datetime:
    """``dt`` itself if it is business time, else the start of the next working-hour interval."""
    day, offset = _local(dt, hours)
    offsets = hours.offsets
    calendar = hours.calendar
    if calendar.is_working_day(day):
        for start, end in offsets:
            if offset < end:
                return _aware(day, max(offset, start), hours)
    day = calendar.next_working_day(day)
    return _aware(day, offsets[0][0], hours)


def add_business_time(
    start: datetime.datetime, duration: datetime.timedelta, hours: WorkingHours = DEFAULT_HOURS
) -> datetime.datetime:
    """The moment when ``duration`` of business time has passed since ``start`` (an SLA due moment).

    Time outside working hours does not count: a ticket opened on Friday at 17:00 with 4 hours is due
    on Monday at 11:30 (default hours). A due moment is inside working hours or at the end of an
    interval (12:00, 17:30), never at the start of the next one. A zero duration gives ``start``.
    """
    if duration < _ZERO:
        raise ValueError("A business-time duration cannot be negative.")
    day, offset = _local(start, hours)
    if duration == _ZERO:
        return _aware(day, offset, hours)
    offsets = hours.offsets
    day_length = hours.day_length
    calendar = hours.calendar
    remaining = duration
    if calendar.is_working_day(day):
        for begin, end in offsets:
            if offset >= end:
                continue
            available = end - max(offset, begin)
            if remaining <= available:
                return _aware(day, max(offset, begin) + remaining, hours)
            remaining -= available
    # From here on whole working days: skip the ones entirely used up without looking at intervals.
    day = calendar.next_working_day(day)
    while remaining > day_length:
        remaining -= day_length
        day = calendar.next_working_day(day)
    for begin, end in offsets:
        available = end - begin
        if remaining <= available:
            return _aware(day, begin + remaining, hours)
        remaining -= available
    raise AssertionError("unreachable: the remaining time fits in one working day")  # pragma: no cover


def _business_time_within_day(
    offsets: tuple[tuple[datetime.timedelta, datetime.timedelta], ...],
    start: datetime.timedelta,
    end: datetime.timedelta,
) -> datetime.timedelta:
    """Business time between two times of the same working day."""
    total = _ZERO
    for begin, finish in offsets:
        overlap = min(end, finish) - max(start, begin)
        if overlap > _ZERO:
            total += overlap
    return total


def business_time_between(
    start: datetime.datetime, end: datetime.datetime, hours: WorkingHours = DEFAULT_HOURS
) -> datetime.timedelta:
    """Business time elapsed from ``start`` to ``end``; zero when ``end`` is not after ``start``.

    The inverse of :func:`add_business_time`: ``business_time_between(s, add_business_time(s, d)) == d``.
    Whole days in between are counted with the calendar's arithmetic, so long ranges are cheap.
    """
    first_day, first_offset = _local(start, hours)
    last_day, last_offset = _local(end, hours)
    if end <= start:
        return _ZERO
    offsets = hours.offsets
    calendar = hours.calendar
    if first_day == last_day:
        if not calendar.is_working_day(first_day):
            return _ZERO
        return _business_time_within_day(offsets, first_offset, last_offset)
    total = _ZERO
    if calendar.is_working_day(first_day):
        total += _business_time_within_day(offsets, first_offset, _ONE_DAY)
    if calendar.is_working_day(last_day):
        total += _business_time_within_day(offsets, _ZERO, last_offset)
    whole_days = calendar.count_working_days(first_day + _ONE_DAY, last_day - _ONE_DAY)
    return total + whole_days * hours.day_length
