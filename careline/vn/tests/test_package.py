"""Tests for the careline.vn package itself: exports and independence from Django."""

import subprocess
import sys
from pathlib import Path

import careline.vn

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_all_names_are_exported() -> None:
    expected = {
        "nfc", "fold", "normalize_name", "given_name", "surname",
        "InvalidPhone", "normalize_phone", "format_phone", "split_phones", "phone_search_tokens",
        "digits_of", "looks_like_phone_query",
        "InvalidTaxCode", "normalize_tax_code", "is_valid_tax_code",
        "format_vnd", "format_vnd_short", "InvalidMoney", "parse_vnd",
        "Province", "PROVINCES", "LEGACY_TO_NEW", "province_by_code", "find_province", "province_choices",
        "InvalidDate", "parse_date", "format_date",
        "Ward", "find_ward", "wards_of",
        "InvalidLunarDate", "LunarDate", "to_lunar", "to_solar", "lunar_month_length", "lunar_new_year",
        "last_day_of_lunar_year", "next_lunar_occurrence",
        "Holiday", "public_holidays", "holiday_on", "default_tet_days", "WorkCalendar",
        "VN_TZ", "WorkingHours", "add_business_time", "business_time_between", "is_business_time",
        "next_business_moment",
    }  # fmt: skip
    assert set(careline.vn.__all__) == expected
    for name in expected:
        assert getattr(careline.vn, name) is not None


def test_errors_are_value_errors() -> None:
    for error in (
        careline.vn.InvalidPhone,
        careline.vn.InvalidTaxCode,
        careline.vn.InvalidMoney,
        careline.vn.InvalidDate,
        careline.vn.InvalidLunarDate,
    ):
        assert issubclass(error, ValueError)


def test_importing_does_not_import_django() -> None:
    code = (
        "import sys, careline.vn; sys.exit(1 if any(m.split('.')[0] == 'django' for m in sys.modules) else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr.decode()
