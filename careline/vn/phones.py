"""Vietnamese phone numbers: normalise to E.164, format for display, split spreadsheet cells, search.

Numbers are stored in E.164 (``+84912345678``) and displayed the way Vietnamese people write them
(``0912 345 678`` for mobiles, ``024 3826 1234`` for landlines). :func:`normalize_phone` accepts the
many ways numbers appear in real data: with separators, with or without the country code, with the
leading 0 dropped by Excel, with a redundant 0 after +84, pre-2018 11-digit mobile numbers and
pre-2017 Hà Nội / TP HCM landline area codes.
"""

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

__all__ = [
    "InvalidPhone",
    "digits_of",
    "format_phone",
    "looks_like_phone_query",
    "normalize_phone",
    "phone_search_tokens",
    "split_phones",
]

VN_COUNTRY_CODE = 84

# Pre-2018 11-digit mobile prefixes (without the leading 0) → the 2018 10-digit prefix (without 0).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    "162": "32",
    "163": "33",
    "164": "34",
    "165": "35",
    "166": "36",
    "167": "37",
    "168": "38",
    "169": "39",
    "120": "70",
    "121": "79",
    "122": "77",
    "126": "76",
    "128": "78",
    "123": "83",
    "124": "84",
    "125": "85",
    "127": "81",
    "129": "82",
    "186": "56",
    "188": "58",
    "199": "59",
}

# Pre-2017 one-digit landline area codes (without the leading 0) → the current code (without 0).
OLD_LANDLINE_AREA_CODES: dict[str, str] = {
    "4": "24",  # Hà Nội
    "8": "28",  # TP Hồ Chí Minh
}

_FULLWIDTH_DIGITS = {chr(0xFF10 + i): str(i) for i in range(10)}
_PHONE_CHARS = re.compile(r"[0-9\s.\-()+/]*")
_QUERY_CHARS = re.compile(r"[0-9\s.\-+()]*")
# Separators that always mean "another number follows" inside a spreadsheet cell.
_CELL_SEPARATORS = re.compile(r"[;,/|\n\r\t]+|\s+(?:hoặc|hoac|or|và|va|and)\s+", re.IGNORECASE)
# Separators that only split when every resulting piece is a complete number on its own.
_SOFT_SEPARATORS = (re.compile(r"\s+[-–]\s+"), re.compile(r"\s+"))
_MIN_DIGITS_IN_A_NUMBER = 9


class InvalidPhone(ValueError):
    """Raised when a string cannot be understood as a valid phone number."""


def digits_of(s: str) -> str:
    """Return only the ASCII digits of ``s``; full-width digits (０-９) are converted to ASCII first."""
    return "".join(ch for ch in (_FULLWIDTH_DIGITS.get(c, c) for c in s) if "0" <= ch <= "9")


def _ascii_digits(s: str) -> str:
    """Return ``s`` with full-width digits and the full-width plus sign converted to ASCII."""
    return "".join(_FULLWIDTH_DIGITS.get(c, c) for c in s).replace("\uff0b", "+")


def _parse_international(digits: str, raw: str) -> str:
    """Validate ``+digits`` as an international number and return it in E.164."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a valid phone number: unknown country code.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{raw!r} is not a valid phone number for country code +{number.country_code}.")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _vn_number(national: str) -> phonenumbers.PhoneNumber:
    """Build a Vietnamese PhoneNumber from its national significant number (no leading 0)."""
    return phonenumbers.PhoneNumber(country_code=VN_COUNTRY_CODE, national_number=int(national))


def _is_valid_vn(national: str) -> bool:
    """True when ``national`` (digits, no leading 0) is a valid Vietnamese number."""
    return national.isdigit() and phonenumbers.is_valid_number(_vn_number(national))


def normalize_phone(raw: str) -> str:
    """Return ``raw`` as an E.164 phone number, e.g. ``"0912 345 678"`` → ``"+84912345678"``.

    Numbers without a country code are Vietnamese. Old 11-digit mobile numbers are converted to their
    2018 10-digit form and old Hà Nội (04) / TP HCM (08) landlines to 024 / 028. A TP HCM landline
    written without a separator after ``08`` (``0838221234``) is read as the 083 mobile it is today.
    Numbers with another ``+`` (or ``00``) country code are accepted when valid.

    Raises :class:`InvalidPhone` when the result is not a valid number.
    """
    text = _ascii_digits(str(raw)).strip()
    if not text:
        raise InvalidPhone("Phone number is empty.")
    if _PHONE_CHARS.fullmatch(text) is None:
        raise InvalidPhone(f"{raw!r} is not a phone number: only digits, spaces and . - ( ) + are allowed.")
    groups = re.findall(r"\d+", text)
    digits = "".join(groups)
    if not digits:
        raise InvalidPhone(f"{raw!r} is not a phone number: it contains no digits.")
    if "+" in text[1:] or text.count("+") > 1:
        raise InvalidPhone(f"{raw!r} is not a phone number: '+' may only appear at the start.")

    has_plus = text.startswith("+")
    if has_plus or digits.startswith("00"):
        international = digits if has_plus else digits[2:]
        if not international.startswith(str(VN_COUNTRY_CODE)):
            return _parse_international(international, raw)
        national = international[2:]
        country_prefix_written = True
    elif digits.startswith("84") and len(digits) in (11, 12):
        national = digits[2:]
        country_prefix_written = True
    else:
        national = digits
        country_prefix_written = False

    # "+84 0912 345 678": people add the trunk 0 after the country code; a national "0912…" has it anyway.
    national = national.removeprefix("0")
    national = _map_old_mobile(national)
    national = _map_old_landline(national, _area_group(groups, country_prefix_written))

    if not _is_valid_vn(national):
        raise InvalidPhone(f"{raw!r} is not a valid Vietnamese phone number.")
    return phonenumbers.format_number(_vn_number(national), PhoneNumberFormat.E164)


def _area_group(groups: list[str], country_prefix_written: bool) -> str:
    """Return the first digit group written after the country code (if any), without its leading 0."""
    rest = groups
    if country_prefix_written and groups:
        first = groups[0].removeprefix("00")
        rest = groups[1:] if first == str(VN_COUNTRY_CODE) else [first.removeprefix(str(VN_COUNTRY_CODE))]
    return rest[0].removeprefix("0") if rest else ""


def _map_old_mobile(national: str) -> str:
    """Map a pre-2018 11-digit mobile (national part, 10 digits, e.g. 162xxxxxxx) to the new 9 digits."""
    if len(national) == 10 and national[:3] in OLD_MOBILE_PREFIXES:
        return OLD_MOBILE_PREFIXES[national[:3]] + national[3:]
    return national


def _map_old_landline(national: str, area_group: str) -> str:
    """Map a pre-2017 Hà Nội / TP HCM landline (one-digit area code + 8 digits) to the current code.

    ``area_group`` is the first digit group as written; the mapping applies when the area code was
    written on its own ("(08) 3822 1234") or when the number is not valid as it stands ("0438261234").
    """
    if len(national) != 9 or national[0] not in OLD_LANDLINE_AREA_CODES:
        return national
    if area_group == national[0] or not _is_valid_vn(national):
        mapped = OLD_LANDLINE_AREA_CODES[national[0]] + national[1:]
        if _is_valid_vn(mapped):
            return mapped
    return national


def _parse_any(number: str) -> phonenumbers.PhoneNumber | None:
    """Parse ``number`` (E.164 or Vietnamese national form), or return None when it cannot be parsed."""
    try:
        return phonenumbers.parse(_ascii_digits(number), "VN")
    except phonenumbers.NumberParseException:
        return None


@cache
def _fast_mobile_prefixes() -> frozenset[str]:
    """Three-digit starts of VN national numbers that phonenumbers treats as 9-digit mobiles (derived from
    its metadata once per process). The fast paths below are only ever given numbers that normalize_phone
    already validated, and for valid numbers they agree with the slow paths (tests/test_fast_paths.py)."""
    found = set()
    tails = ("000000", "123456", "555555", "999999", "098765", "314159")
    for head in range(100, 1000):
        prefix = str(head)
        numbers = [phonenumbers.parse("+84" + prefix + tail, None) for tail in tails]
        if all(
            phonenumbers.is_valid_number(n)
            and phonenumbers.number_type(n) in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
            for n in numbers
        ):
            found.add(prefix)
    return frozenset(found)


def _fast_vn_mobile(e164: str) -> str | None:
    """The 9 national digits of a stored +84 mobile in a fast-path prefix, else None."""
    if len(e164) == 12 and e164.startswith("+84"):
        rest = e164[3:]
        if rest.isdigit() and rest[:3] in _fast_mobile_prefixes():
            return rest
    return None


def format_phone(e164: str) -> str:
    """Format a stored number for display: ``0912 345 678``, ``024 3826 1234``, or international form.

    Vietnamese mobiles are grouped 4-3-3 and Hà Nội / TP HCM landlines 3-4-4; other Vietnamese numbers
    use phonenumbers' national format and foreign numbers its INTERNATIONAL format. Input that cannot
    be parsed as a valid number is returned unchanged.
    """
    fast = _fast_vn_mobile(e164)
    if fast is not None:
        national = "0" + fast
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    number = _parse_any(e164)
    if number is None or not phonenumbers.is_valid_number(number):
        return e164
    if number.country_code != VN_COUNTRY_CODE:
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = "0" + str(number.national_number)
    kind = phonenumbers.number_type(number)
    if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE) and len(national) == 10:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    if kind == PhoneNumberType.FIXED_LINE and len(national) == 11 and national[:3] in ("024", "028"):
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def split_phones(cell: str) -> list[str]:
    """Split a spreadsheet cell holding several phone numbers into the raw (un-normalised) pieces.

    Splits on ``;`` ``,`` ``/`` ``|``, tabs, newlines and the words "hoặc"/"và"/"or"/"and". Spaces and
    " - " only split when every piece has enough digits to be a number by itself, so ``0912 345 678``
    stays one piece while ``0912345678 0987654321`` becomes two. Pieces without digits are dropped.
    """
    pieces: list[str] = []
    for chunk in _CELL_SEPARATORS.split(cell):
        chunk = chunk.strip()
        if digits_of(chunk):
            pieces.extend(_split_complete_numbers(chunk))
    return pieces


def _split_complete_numbers(chunk: str) -> list[str]:
    """Split ``chunk`` on a soft separator only if every part is long enough to be a whole number."""
    for separator in _SOFT_SEPARATORS:
        parts = [part.strip() for part in separator.split(chunk) if part.strip()]
        if len(parts) > 1 and all(len(digits_of(part)) >= _MIN_DIGITS_IN_A_NUMBER for part in parts):
            return [piece for part in parts for piece in _split_complete_numbers(part)]
    return [chunk]


def phone_search_tokens(e164: str) -> list[str]:
    """Return the digit strings stored in a search column so that number fragments match.

    Vietnamese numbers give ``["0912345678", "84912345678"]`` (national form as dialled, with the
    leading 0, and international digits without '+'); other numbers give just their digits.
    """
    fast = _fast_vn_mobile(e164)
    if fast is not None:
        return ["0" + fast, "84" + fast]
    number = _parse_any(e164)
    if number is None or number.national_number is None:
        digits = digits_of(e164)
        return [digits] if digits else []
    if number.country_code == VN_COUNTRY_CODE:
        # National form as dialled: "0912345678", but "1900545454" for 1900/1800 service numbers.
        national = digits_of(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        return [national, f"{VN_COUNTRY_CODE}{number.national_number}"]
    return [digits_of(phonenumbers.format_number(number, PhoneNumberFormat.E164))]


def looks_like_phone_query(q: str) -> bool:
    """True when ``q`` has only digits, spaces and ``. - + ( )`` and at least 4 digits."""
    text = _ascii_digits(q)
    return _QUERY_CHARS.fullmatch(text) is not None and len(digits_of(text)) >= 4
