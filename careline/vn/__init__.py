"""Vietnam-specific helpers for Careline: text, phones, tax codes, money, provinces, wards, dates,
the lunar calendar, public holidays, working days and business time.

Pure Python (no Django), so it can be used from models, forms, imports, the API and the CLI alike.
"""

from careline.vn.dates import InvalidDate, format_date, parse_date
from careline.vn.holidays import Holiday, WorkCalendar, default_tet_days, holiday_on, public_holidays
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
from careline.vn.money import InvalidMoney, format_vnd, format_vnd_short, parse_vnd
from careline.vn.phones import (
    InvalidPhone,
    digits_of,
    format_phone,
    looks_like_phone_query,
    normalize_phone,
    phone_search_tokens,
    split_phones,
)
from careline.vn.provinces import (
    LEGACY_TO_NEW,
    PROVINCES,
    Province,
    find_province,
    province_by_code,
    province_choices,
)
from careline.vn.taxcode import InvalidTaxCode, is_valid_tax_code, normalize_tax_code
from careline.vn.text import fold, given_name, nfc, normalize_name, surname
from careline.vn.wards import Ward, find_ward, wards_of
from careline.vn.worktime import (
    VN_TZ,
    WorkingHours,
    add_business_time,
    business_time_between,
    is_business_time,
    next_business_moment,
)

__all__ = [
    "LEGACY_TO_NEW",
    "PROVINCES",
    "VN_TZ",
    "Holiday",
    "InvalidDate",
    "InvalidLunarDate",
    "InvalidMoney",
    "InvalidPhone",
    "InvalidTaxCode",
    "LunarDate",
    "Province",
    "Ward",
    "WorkCalendar",
    "WorkingHours",
    "add_business_time",
    "business_time_between",
    "default_tet_days",
    "digits_of",
    "find_province",
    "find_ward",
    "fold",
    "format_date",
    "format_phone",
    "format_vnd",
    "format_vnd_short",
    "given_name",
    "holiday_on",
    "is_business_time",
    "is_valid_tax_code",
    "last_day_of_lunar_year",
    "looks_like_phone_query",
    "lunar_month_length",
    "lunar_new_year",
    "next_business_moment",
    "next_lunar_occurrence",
    "nfc",
    "normalize_name",
    "normalize_phone",
    "normalize_tax_code",
    "parse_date",
    "parse_vnd",
    "phone_search_tokens",
    "province_by_code",
    "province_choices",
    "public_holidays",
    "split_phones",
    "surname",
    "to_lunar",
    "to_solar",
    "wards_of",
]
