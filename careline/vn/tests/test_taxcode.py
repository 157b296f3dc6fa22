"""Tests for careline.vn.taxcode: Vietnamese tax codes (MST)."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.vn import mst

from careline.vn.taxcode import InvalidTaxCode, is_valid_tax_code, normalize_tax_code

# Examples from python-stdnum's documentation (real enterprise codes).
REAL_CODES = ["0100233488", "0100112437", "0312687878", "0314409058"]


def with_check_digit(first_nine: str) -> str:
    """Append the MST check digit computed by python-stdnum to nine digits."""
    return first_nine + mst.calc_check_digit(first_nine)


def test_helper_builds_known_code() -> None:
    assert with_check_digit("010023348") == "0100233488"


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert normalize_tax_code(code) == code
    assert is_valid_tax_code(code)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0100233488", "0100233488"),
        (" 0100 233 488 ", "0100233488"),
        ("01.00.233.488", "0100233488"),
        ("0100-233-488", "0100233488"),
        ("０１００２３３４８８", "0100233488"),
        ("0314409058-002", "0314409058-002"),
        ("0314409058002", "0314409058-002"),
        ("0314409058 - 002", "0314409058-002"),
        ("0314.409.058.002", "0314409058-002"),
        ("0312 68 78 78 - 001", "0312687878-001"),
    ],
)
def test_normalize_tax_code(raw: str, expected: str) -> None:
    assert normalize_tax_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0100233480", "check digit"),
        ("0100233487", "check digit"),
        ("0314409058-000", "zero"),
        ("0100000000", "zero"),
        ("010023348", "10 digits"),
        ("01002334881", "10 digits"),
        ("0100233488-0001", "10 digits"),
        ("01002334A8", "only contain digits"),
        ("MST 0100233488", "only contain digits"),
        ("0100233488/001", "only contain digits"),
    ],
)
def test_normalize_tax_code_rejects(raw: str, message: str) -> None:
    with pytest.raises(InvalidTaxCode, match=message):
        normalize_tax_code(raw)
    assert not is_valid_tax_code(raw)


def test_invalid_tax_code_is_value_error() -> None:
    with pytest.raises(ValueError, match="not a valid tax code"):
        normalize_tax_code("0100233480")


nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda s: s[2:9] != "0000000")


@given(nine_digits)
def test_codes_with_correct_check_digit_are_accepted_and_idempotent(first_nine: str) -> None:
    check = mst.calc_check_digit(first_nine)
    assume(len(check) == 1)
    code = first_nine + check
    assert normalize_tax_code(code) == code
    assert normalize_tax_code(normalize_tax_code(code)) == code


@given(nine_digits, st.integers(min_value=1, max_value=999))
def test_branch_codes_are_formatted_and_idempotent(first_nine: str, branch: int) -> None:
    check = mst.calc_check_digit(first_nine)
    assume(len(check) == 1)
    raw = f"{first_nine}{check}{branch:03d}"
    normalized = normalize_tax_code(raw)
    assert normalized == f"{first_nine}{check}-{branch:03d}"
    assert normalize_tax_code(normalized) == normalized


@given(nine_digits, st.sampled_from("0123456789"))
def test_wrong_check_digit_is_rejected(first_nine: str, digit: str) -> None:
    assume(mst.calc_check_digit(first_nine) != digit)
    assert not is_valid_tax_code(first_nine + digit)
