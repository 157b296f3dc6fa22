"""English UI for Vietnamese data: dates stay day-first (dd/mm/yyyy), weeks start on Monday; only the
number separators follow English."""

from careline.formats.vi.formats import (  # noqa: F401
    DATE_FORMAT,
    DATE_INPUT_FORMATS,
    DATETIME_FORMAT,
    DATETIME_INPUT_FORMATS,
    FIRST_DAY_OF_WEEK,
    NUMBER_GROUPING,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    TIME_FORMAT,
    TIME_INPUT_FORMATS,
)

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
