"""Tests for careline.vn.phones: normalisation to E.164, display, cell splitting and search tokens."""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.phones import (
    InvalidPhone,
    digits_of,
    format_phone,
    looks_like_phone_query,
    normalize_phone,
    phone_search_tokens,
    split_phones,
)

# --- normalize_phone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84912345678",
        "+84 912 345 678",
        "84912345678",
        "0084912345678",
        "912345678",
        "+84 0912 345 678",
        "840912345678",
        " 0912 345 678 ",
        "０９１２３４５６７８",
        "＋84912345678",
    ],
)
def test_normalize_mobile_variants(raw: str) -> None:
    assert normalize_phone(raw) == "+84912345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(024) 3826 1234", "+842438261234"),
        ("024 3826 1234", "+842438261234"),
        ("+84 24 3826 1234", "+842438261234"),
        ("2438261234", "+842438261234"),
        ("028 3822 1234", "+842838221234"),
        ("0236 3822 222", "+842363822222"),
        ("1900 545454", "+841900545454"),
    ],
)
def test_normalize_landlines_and_service_numbers(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


OLD_TO_NEW_PREFIX = [
    ("0162", "032"),
    ("0163", "033"),
    ("0164", "034"),
    ("0165", "035"),
    ("0166", "036"),
    ("0167", "037"),
    ("0168", "038"),
    ("0169", "039"),
    ("0120", "070"),
    ("0121", "079"),
    ("0122", "077"),
    ("0126", "076"),
    ("0128", "078"),
    ("0123", "083"),
    ("0124", "084"),
    ("0125", "085"),
    ("0127", "081"),
    ("0129", "082"),
    ("0186", "056"),
    ("0188", "058"),
    ("0199", "059"),
]


@pytest.mark.parametrize(("old", "new"), OLD_TO_NEW_PREFIX)
def test_old_eleven_digit_mobiles_are_mapped(old: str, new: str) -> None:
    expected = "+84" + new[1:] + "1234567"
    assert normalize_phone(old + "1234567") == expected
    assert normalize_phone(f"{old} 123 4567") == expected
    assert normalize_phone(f"+84 {old[1:]} 123 4567") == expected
    assert normalize_phone(f"84{old[1:]}1234567") == expected
    assert normalize_phone(f"{old[1:]}1234567") == expected
    assert normalize_phone(f"+84 {old} 123 4567") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04 3826 1234", "+842438261234"),
        ("(04) 3826 1234", "+842438261234"),
        ("04.3826.1234", "+842438261234"),
        ("0438261234", "+842438261234"),
        ("+84 4 3826 1234", "+842438261234"),
        ("08 3822 1234", "+842838221234"),
        ("(08) 3822 1234", "+842838221234"),
        ("08-3822-1234", "+842838221234"),
        ("+84 8 3822 1234", "+842838221234"),
    ],
)
def test_old_hanoi_and_hcm_landlines_are_mapped(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["0838221234", "0838 221 234", "083 822 1234", "+84838221234"])
def test_083_mobile_is_not_mistaken_for_old_hcm_landline(raw: str) -> None:
    assert normalize_phone(raw) == "+84838221234"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 650 253 0000", "+16502530000"),
        ("+65 6123 4567", "+6561234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("001 650 253 0000", "+16502530000"),
    ],
)
def test_normalize_foreign_numbers(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "0912 345 67x",
        "ext. 123",
        "0123",
        "091234567",
        "09123456789",
        "+84",
        "+84 0000 000 000",
        "0201234567",
        "+1 000 000 0000",
        "+999 1234 5678",
        "0912+345678",
        "0912345678/0987654321",
    ],
)
def test_normalize_rejects_invalid(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_invalid_phone_is_value_error_with_message() -> None:
    with pytest.raises(ValueError, match="not a valid Vietnamese phone number"):
        normalize_phone("0123")


MOBILE_PREFIXES = [str(n) for n in (*range(32, 40), 56, 58, 59, 70, *range(76, 80), *range(81, 87), 88, 89)]
MOBILE_PREFIXES += [str(n) for n in (90, 91, 93, 94, 96, 97, 98)]


def _is_vn_mobile(national: str) -> bool:
    """Oracle from phonenumbers: is ``national`` (9 digits, no leading 0) an assigned VN mobile range?"""
    number = phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


vn_mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
).filter(_is_vn_mobile)


MOBILE_TEMPLATES = [
    "0{a}{b}{c}",
    "0{a} {b} {c}",
    "0{a}.{b}.{c}",
    "+84 {a} {b} {c}",
    "84{a}{b}{c}",
    "{a}{b}{c}",
]


@given(vn_mobiles, st.sampled_from(MOBILE_TEMPLATES))
def test_normalize_mobile_formats(national: str, template: str) -> None:
    raw = template.format(a=national[:3], b=national[3:6], c=national[6:])
    e164 = normalize_phone(raw)
    assert e164 == "+84" + national
    assert normalize_phone(e164) == e164


@given(vn_mobiles)
def test_normalize_is_idempotent_and_format_round_trips(national: str) -> None:
    e164 = normalize_phone("0" + national)
    assert normalize_phone(e164) == e164
    assert normalize_phone(format_phone(e164)) == e164


@given(st.text(alphabet="0123456789 .-+()", max_size=20))
def test_normalize_output_is_stable(raw: str) -> None:
    try:
        e164 = normalize_phone(raw)
    except InvalidPhone:
        return
    assert e164.startswith("+")
    assert e164[1:].isdigit()
    assert normalize_phone(e164) == e164


# --- format_phone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+84912345678", "0912 345 678"),
        ("+84321234567", "0321 234 567"),
        ("+842438261234", "024 3826 1234"),
        ("+842838221234", "028 3822 1234"),
        ("+842363822222", "0236 3822 222"),
        ("+16502530000", "+1 650-253-0000"),
        ("+6561234567", "+65 6123 4567"),
        ("0912345678", "0912 345 678"),
    ],
)
def test_format_phone(e164: str, expected: str) -> None:
    assert format_phone(e164) == expected


@pytest.mark.parametrize("value", ["", "not a phone", "+84", "12"])
def test_format_phone_returns_unparseable_input_unchanged(value: str) -> None:
    assert format_phone(value) == value


# --- split_phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("0912.345.678 / 024 3826 1234", ["0912.345.678", "024 3826 1234"]),
        ("0912345678;0987654321", ["0912345678", "0987654321"]),
        ("0912345678, 0987 654 321", ["0912345678", "0987 654 321"]),
        ("0912345678\n0987654321", ["0912345678", "0987654321"]),
        ("0912345678\r\n0987 654 321\n", ["0912345678", "0987 654 321"]),
        ("0912345678 0987654321", ["0912345678", "0987654321"]),
        ("0912 345 678 - 0987 654 321", ["0912 345 678", "0987 654 321"]),
        ("0912 345 678 hoặc 0987 654 321", ["0912 345 678", "0987 654 321"]),
        ("0912 345 678", ["0912 345 678"]),
        ("+84 912 345 678", ["+84 912 345 678"]),
        ("(024) 3826 1234", ["(024) 3826 1234"]),
        ("0912-345-678", ["0912-345-678"]),
        ("0912345678 ; ", ["0912345678"]),
        ("", []),
    ],
)
def test_split_phones(cell: str, expected: list[str]) -> None:
    assert split_phones(cell) == expected


@given(st.lists(vn_mobiles, min_size=1, max_size=4), st.sampled_from([";", ", ", " / ", "\n", " "]))
def test_split_phones_recovers_every_number(nationals: list[str], separator: str) -> None:
    spaced = [f"0{n[:3]} {n[3:6]} {n[6:]}" for n in nationals]
    cell = separator.join(spaced) if separator != " " else separator.join("0" + n for n in nationals)
    pieces = split_phones(cell)
    assert [normalize_phone(piece) for piece in pieces] == ["+84" + n for n in nationals]


# --- search tokens, digits, queries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+84912345678", ["0912345678", "84912345678"]),
        ("+842438261234", ["02438261234", "842438261234"]),
        ("+841900545454", ["1900545454", "841900545454"]),
        ("+16502530000", ["16502530000"]),
        ("+6561234567", ["6561234567"]),
    ],
)
def test_phone_search_tokens(e164: str, expected: list[str]) -> None:
    assert phone_search_tokens(e164) == expected


@given(vn_mobiles)
def test_search_tokens_contain_what_users_type(national: str) -> None:
    tokens = phone_search_tokens(normalize_phone("0" + national))
    assert any(("0" + national) in token for token in tokens)
    assert any(national[-6:] in token for token in tokens)
    assert any(("84" + national) in token for token in tokens)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912 345 678", "0912345678"),
        ("+84 (24) 3826-1234", "842438261234"),
        ("０９１２", "0912"),
        ("abc", ""),
        ("٣", ""),
    ],
)
def test_digits_of(text: str, expected: str) -> None:
    assert digits_of(text) == expected


@given(st.text(max_size=30))
def test_digits_of_returns_only_ascii_digits(text: str) -> None:
    result = digits_of(text)
    assert all(ch in "0123456789" for ch in result)
    assert len(result) >= sum(ch in "0123456789" for ch in text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("0912", True),
        ("0912 345", True),
        ("+84 (24) 3826-1234", True),
        ("345.678", True),
        ("091", False),
        ("Lan 0912", False),
        ("nguyen", False),
        ("", False),
        ("12/34/56", False),
    ],
)
def test_looks_like_phone_query(query: str, expected: bool) -> None:
    assert looks_like_phone_query(query) is expected
