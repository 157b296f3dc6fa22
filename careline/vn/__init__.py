"""Vietnam-specific helpers for Careline: text, phones, tax codes, money, provinces, wards and dates.

Pure Python (no Django), so it can be used from models, forms, imports, the API and the CLI alike.
"""

from careline.vn.dates import InvalidDate, format_date, parse_date
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

__all__ = [
    "LEGACY_TO_NEW",
    "PROVINCES",
    "InvalidDate",
    "InvalidMoney",
    "InvalidPhone",
    "InvalidTaxCode",
    "Province",
    "Ward",
    "digits_of",
    "find_province",
    "find_ward",
    "fold",
    "format_date",
    "format_phone",
    "format_vnd",
    "format_vnd_short",
    "given_name",
    "is_valid_tax_code",
    "looks_like_phone_query",
    "nfc",
    "normalize_name",
    "normalize_phone",
    "normalize_tax_code",
    "parse_date",
    "parse_vnd",
    "phone_search_tokens",
    "province_by_code",
    "province_choices",
    "split_phones",
    "surname",
    "wards_of",
]
