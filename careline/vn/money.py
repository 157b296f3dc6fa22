"""Vietnamese đồng (VND) amounts: display formatting and parsing of what people type.

VND has no minor unit in practice, so amounts are whole integers of đồng. Vietnamese writing uses
'.' to group thousands and ',' as the decimal mark ("1.234.567 ₫", "1,5 tr"); people also type
"1,500,000", "150k", "1tr5", "2 tỷ".
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from careline.vn.text import fold

__all__ = ["InvalidMoney", "format_vnd", "format_vnd_short", "parse_vnd"]

CURRENCY_SIGN = "₫"
_MILLION = 1_000_000
_BILLION = 1_000_000_000

# Unit words after a number (already folded: no accents, lower case) and their multipliers.
_UNITS: dict[str, int] = {
    "k": 1_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "tr": _MILLION,
    "trieu": _MILLION,
    "ty": _BILLION,
    "ti": _BILLION,
}
_UNIT_RE = "trieu|tr|nghin|ngan|k|ty|ti"
_CURRENCY_RE = "vnd|dong|d|₫"

_AMOUNT = re.compile(
    rf"""
    (?P<sign>[-+])?\s*
    (?:(?:{_CURRENCY_RE})\s*)?                    # currency written first: "VND 1.500.000"
    (?P<number>\d+(?:[.,\s]\d+)*)\s*
    (?:
        (?P<unit>{_UNIT_RE})\s*(?P<tail>\d{{1,3}})?  # "1,5 tr", "1tr5" (= 1,5 tr)
    )?\s*
    (?:(?:{_CURRENCY_RE})\.?)?                    # "1.500.000 đ", "1.500.000 VND", "150k đồng"
    """,
    re.VERBOSE,
)


class InvalidMoney(ValueError):
    """Raised when a string cannot be understood as an amount of đồng."""


def _group(n: int) -> str:
    """Group the digits of the non-negative integer ``n`` by thousands with '.'."""
    return f"{n:,}".replace(",", ".")


def _check_int(amount: int) -> None:
    """Raise TypeError unless ``amount`` is a real int (not bool, float or Decimal)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"VND amounts are whole đồng (int), got {type(amount).__name__}.")


def format_vnd(amount: int) -> str:
    """Format whole đồng for display: ``1234567`` → ``"1.234.567 ₫"``, ``-5000`` → ``"-5.000 ₫"``."""
    _check_int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}{_group(abs(amount))} {CURRENCY_SIGN}"


def _one_decimal(value: Decimal) -> str:
    """Format ``value`` with at most one decimal, Vietnamese style: 1.5 → "1,5", 150.0 → "150"."""
    rounded = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    whole, tenth = divmod(int(rounded * 10), 10)
    return _group(whole) + (f",{tenth}" if tenth else "")


def format_vnd_short(amount: int) -> str:
    """Format an amount compactly for dashboards: ``"950.000 ₫"``, ``"1,5 tr"``, ``"150 tr"``, ``"1,2 tỷ"``.

    Below one million the full amount is shown; millions ("tr", triệu) and billions ("tỷ") are rounded
    half-up to one decimal, with ",0" dropped. Values that round up to 1.000 tr are shown as "1 tỷ".
    """
    _check_int(amount)
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if magnitude < _MILLION:
        return format_vnd(amount)
    millions = (Decimal(magnitude) / _MILLION).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if millions < 1000:
        return f"{sign}{_one_decimal(millions)} tr"
    return f"{sign}{_one_decimal(Decimal(magnitude) / _BILLION)} tỷ"


def _number_value(number: str, has_unit: bool, text: str) -> Decimal:
    """Interpret the digits-and-separators part of an amount.

    A separator followed by exactly three digits (in repeated groups) groups thousands; otherwise the
    last '.' or ',' is a decimal mark. Without a unit a decimal part must be zero, because "1,5" alone
    is ambiguous (1,5 đồng? 1,5 triệu?).
    """
    groups = re.split(r"[.,\s]", number)
    separators = re.findall(r"[.,\s]", number)
    fraction = ""
    if separators and len(groups[-1]) != 3:
        if separators[-1] not in ".,":
            raise InvalidMoney(f"{text!r} is not an amount: unexpected space in {number!r}.")
        fraction = groups.pop()
        separators.pop()
    if separators:
        if len(set(separators) - {" "}) > 1 or not 1 <= len(groups[0]) <= 3:
            raise InvalidMoney(f"{text!r} is not an amount: thousands groups in {number!r} are inconsistent.")
        if any(len(group) != 3 for group in groups[1:]):
            raise InvalidMoney(
                f"{text!r} is not an amount: thousands groups in {number!r} must have 3 digits."
            )
    if fraction and not has_unit and fraction.strip("0"):
        raise InvalidMoney(
            f"{text!r} is ambiguous: đồng amounts have no decimals; add a unit such as 'tr' or 'k'."
        )
    return Decimal("".join(groups) + "." + (fraction or "0"))


def parse_vnd(text: str) -> int:
    """Parse an amount of đồng as people type it and return whole đồng (rounded half-up).

    Accepts "1.500.000", "1,500,000", "1500000đ", "1.500.000 ₫", "1.500.000 VND", "1,5tr", "1.5 tr",
    "1,5 triệu", "1tr5", "150k", "150 nghìn"/"ngàn", "2 tỷ", "1,2 tỷ", "-50.000".
    Raises :class:`InvalidMoney` for anything else.
    """
    folded = fold(str(text)).replace("\u2212", "-")  # U+2212 MINUS SIGN
    if not folded:
        raise InvalidMoney("Amount is empty.")
    match = _AMOUNT.fullmatch(folded)
    if match is None:
        raise InvalidMoney(f"{text!r} is not an amount of đồng (examples: 1.500.000 ₫, 1,5 tr, 150k, 2 tỷ).")
    unit = match["unit"]
    value = _number_value(match["number"], unit is not None, str(text))
    if match["tail"]:
        if "." in match["number"] or "," in match["number"] or " " in match["number"]:
            raise InvalidMoney(f"{text!r} is not an amount: use either '1tr5' or '1,5 tr', not both.")
        value += Decimal("0." + match["tail"])
    if unit is not None:
        value *= _UNITS[unit]
    result = int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return -result if match["sign"] == "-" else result
