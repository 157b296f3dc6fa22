"""Tests for careline.vn.money: formatting and parsing amounts of Vietnamese đồng."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.money import InvalidMoney, format_vnd, format_vnd_short, parse_vnd


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "0 ₫"),
        (5, "5 ₫"),
        (1_000, "1.000 ₫"),
        (1_234_567, "1.234.567 ₫"),
        (-1_234_567, "-1.234.567 ₫"),
        (12_000_000_000, "12.000.000.000 ₫"),
    ],
)
def test_format_vnd(amount: int, expected: str) -> None:
    assert format_vnd(amount) == expected


def test_format_vnd_uses_plain_space() -> None:
    assert format_vnd(1_000)[-2] == "\u0020"


@pytest.mark.parametrize("amount", [1.5, "1000", None, True])
def test_format_vnd_rejects_non_int(amount: object) -> None:
    with pytest.raises(TypeError):
        format_vnd(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "0 ₫"),
        (950_000, "950.000 ₫"),
        (999_999, "999.999 ₫"),
        (-50_000, "-50.000 ₫"),
        (1_000_000, "1 tr"),
        (1_500_000, "1,5 tr"),
        (1_549_999, "1,5 tr"),
        (1_550_000, "1,6 tr"),
        (150_000_000, "150 tr"),
        (150_400_000, "150,4 tr"),
        (999_940_000, "999,9 tr"),
        (999_950_000, "1 tỷ"),
        (1_000_000_000, "1 tỷ"),
        (1_200_000_000, "1,2 tỷ"),
        (12_000_000_000, "12 tỷ"),
        (1_234_500_000_000, "1.234,5 tỷ"),
        (-1_500_000, "-1,5 tr"),
        (-2_000_000_000, "-2 tỷ"),
    ],
)
def test_format_vnd_short(amount: int, expected: str) -> None:
    assert format_vnd_short(amount) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1500000", 1_500_000),
        ("1500000đ", 1_500_000),
        ("1500000 đồng", 1_500_000),
        ("1.500.000 ₫", 1_500_000),
        ("1.500.000₫", 1_500_000),
        ("1.500.000 VND", 1_500_000),
        ("1.500.000 VNĐ", 1_500_000),
        ("VND 1.500.000", 1_500_000),
        ("1 500 000", 1_500_000),
        ("1.500.000,00", 1_500_000),
        ("1,5tr", 1_500_000),
        ("1.5 tr", 1_500_000),
        ("1,5 triệu", 1_500_000),
        ("1,5 TRIỆU", 1_500_000),
        ("1tr5", 1_500_000),
        ("2tr25", 2_250_000),
        ("150k", 150_000),
        ("150K", 150_000),
        ("12,5k", 12_500),
        ("150 nghìn", 150_000),
        ("150 ngàn", 150_000),
        ("150 nghìn đồng", 150_000),
        ("2 tỷ", 2_000_000_000),
        ("2 tỉ", 2_000_000_000),
        ("1,2 tỷ", 1_200_000_000),
        ("1.000 tr", 1_000_000_000),
        ("1.234,5 tỷ", 1_234_500_000_000),
        ("-50.000", -50_000),
        ("\u221250.000 ₫", -50_000),
        ("- 1,5 tr", -1_500_000),
        ("0", 0),
        ("1,2345 tr", 1_234_500),
        ("0,0005 k", 1),
    ],
)
def test_parse_vnd(text: str, expected: int) -> None:
    assert parse_vnd(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "1,5",
        "1.5",
        "1.50.000",
        "1,500.000",
        "1.5000",
        "tr",
        "1,5 tr 3",
        "1,5 usd",
        "--5",
        "1.5e6",
    ],
)
def test_parse_vnd_rejects(text: str) -> None:
    with pytest.raises(InvalidMoney):
        parse_vnd(text)


def test_invalid_money_is_value_error() -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        parse_vnd("1,5")


amounts = st.integers(min_value=-(10**15), max_value=10**15)


@given(amounts)
def test_format_then_parse_round_trips(amount: int) -> None:
    assert parse_vnd(format_vnd(amount)) == amount


@given(amounts)
def test_plain_and_comma_grouped_forms_parse(amount: int) -> None:
    assert parse_vnd(str(amount)) == amount
    assert parse_vnd(f"{amount:,}") == amount


@given(amounts)
def test_short_form_parses_back_within_rounding(amount: int) -> None:
    short = format_vnd_short(amount)
    parsed = parse_vnd(short)
    if abs(amount) < 1_000_000:
        assert parsed == amount
    else:
        unit = 1_000_000 if short.endswith(" tr") else 1_000_000_000
        assert abs(parsed - amount) <= unit // 20
        assert (parsed < 0) == (amount < 0)
