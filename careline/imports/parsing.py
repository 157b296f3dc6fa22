"""Turn the rows of a :class:`~careline.imports.readers.Table` into data dicts for ``customer_create``.

Values are read as people type them (dates day first, phones with the leading 0 lost by Excel or
several numbers in one cell, amounts such as "1,5tr", old province names) with the helpers of
:mod:`careline.vn`. Every problem becomes a :class:`RowError` with the row number the user sees in
the spreadsheet (the header is row 1), the column header, the value and the reason.

The work that does not depend on the row (which columns feed which field, phone labels, lookup
caches) is prepared once per file, so a million rows parse in seconds rather than minutes.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from careline.imports.mapping import IGNORE, Mapping, header_key
from careline.imports.readers import Cell, Table
from careline.vn import (
    InvalidDate,
    InvalidMoney,
    InvalidPhone,
    InvalidTaxCode,
    find_province,
    find_ward,
    fold,
    nfc,
    normalize_name,
    normalize_phone,
    normalize_tax_code,
    parse_date,
    parse_vnd,
    split_phones,
    wards_of,
)

__all__ = ["CHOICES", "PREVIEW_ROWS", "RowError", "parse_rows", "preview"]

PREVIEW_ROWS = 20
VIETNAM_TZ = datetime.timezone(datetime.timedelta(hours=7), "ICT")
FIRST_DATA_ROW = 2  # the header is row 1

# Field lengths of the customer model (checked here so that the preview shows every problem).
MAX_LENGTHS = {
    "full_name": 200,
    "job_title": 100,
    "street": 255,
    "legacy_address": 255,
    "external_ref": 64,
}

MAX_EMAIL_LENGTH = 254  # ContactPoint.value

# Choice fields: stored value → the words people use for it (English and Vietnamese labels of
# careline.customers.choices, plus common synonyms). Matching is accent-, case- and punctuation-blind.
CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "kind": {
        "person": ("Person", "Cá nhân", "Individual", "Người", "KH cá nhân", "Khách lẻ"),
        "organization": (
            "Organisation",
            "Organization",
            "Tổ chức",
            "Công ty",
            "Doanh nghiệp",
            "Company",
            "Business",
            "KH doanh nghiệp",
        ),
    },
    "salutation": {
        "": ("(none)", "(không có)"),
        "anh": ("Anh", "A"),
        "chi": ("Chị", "C"),
        "em": ("Em",),
        "co": ("Cô",),
        "chu": ("Chú",),
        "bac": ("Bác",),
        "ong": ("Ông",),
        "ba": ("Bà",),
        "ban": ("Bạn",),
    },
    "stage": {
        "lead": ("Lead", "Khách tiềm năng (lead)", "Khách tiềm năng", "Tiềm năng", "KH tiềm năng"),
        "prospect": ("Prospect", "Khách quan tâm", "Quan tâm", "Đang quan tâm", "Đang tư vấn"),
        "customer": ("Customer", "Khách hàng", "KH", "Đã mua", "Khách đã mua", "Client"),
        "inactive": ("Inactive", "Ngừng giao dịch", "Ngừng", "Không hoạt động", "Ngưng giao dịch"),
    },
    "source": {
        "web": ("Website", "Web", "Trang web"),
        "hotline": ("Hotline", "Tổng đài", "Điện thoại", "Phone"),
        "zalo": ("Zalo", "Zalo OA"),
        "facebook": ("Facebook", "FB", "Fanpage", "Messenger"),
        "marketplace": ("Marketplace", "Sàn TMĐT", "Sàn thương mại điện tử", "Shopee", "Lazada", "Tiki"),
        "referral": ("Referral", "Được giới thiệu", "Giới thiệu", "Người quen giới thiệu"),
        "walk_in": ("Walk-in", "Walk in", "Khách đến trực tiếp", "Trực tiếp", "Đến cửa hàng"),
        "event": ("Event", "Sự kiện", "Hội thảo", "Hội chợ"),
        "email": ("Email", "E-mail"),
        "import": ("Import", "Nhập dữ liệu", "Nhập"),
        "other": ("Other", "Khác"),
    },
    "tier": {
        "": ("(none)", "(không có)"),
        "vip": ("VIP",),
        "gold": ("Gold", "Vàng"),
        "silver": ("Silver", "Bạc"),
        "standard": ("Standard", "Tiêu chuẩn", "Thường"),
    },
    "price_type": {
        "": ("(none)", "(không có)"),
        "retail": ("Retail", "Giá lẻ", "Lẻ", "Bán lẻ"),
        "wholesale": ("Wholesale", "Giá sỉ", "Sỉ", "Giá buôn", "Buôn", "Bán sỉ"),
        "agent": (
            "Agent / distributor",
            "Agent",
            "Distributor",
            "Đại lý / nhà phân phối",
            "Đại lý",
            "Nhà phân phối",
        ),
        "contract": ("Contract price", "Contract", "Giá hợp đồng", "Hợp đồng"),
    },
}

_TRUE = frozenset({"yes", "y", "co", "x", "1", "true", "t", "am", "am lich", "dung", "v"})
_FALSE = frozenset({"no", "n", "khong", "ko", "k", "0", "false", "f", "duong", "duong lich", "sai"})
# Cells that mean "nothing here" in phone and email columns.
_NOTHING = frozenset(
    {"", "n a", "na", "none", "null", "nil", "khong", "khong co", "ko", "ko co", "chua co", "x", "0"}
)

_PUNCTUATION = re.compile(r"[^0-9a-z]+")
_EMAIL_SPLIT = re.compile(r"[,;\s]+")
# Close to Django's EmailValidator (ASCII): dot-atom local part, domain labels and a 2+ letter TLD.
_EMAIL = re.compile(
    r"[-!#$%&'*+/=?^_`{}|~0-9a-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}(?<!-)"
)
_TAG_SPLIT = re.compile(r"\s*(?:[,;|\n\r]|:::)\s*")
_ADDRESS_PARTS = re.compile(r"\s*[,;\n]\s*|\s+[-–]\s+")
_COUNTRY_KEYS = frozenset(
    {"viet nam", "vietnam", "vn", "vietnam vn", "nuoc chxhcn viet nam", "chxhcn viet nam"}
)
_YEAR_ONLY = re.compile(r"\d{4}")
_HOME_WORDS = (" home ", " nha ", " nha rieng ", " ban ", " may ban ")
_WORK_WORDS = (" work ", " business ", " office ", " company ", " co quan ", " cong ty ", " van phong ")


@dataclass(frozen=True)
class RowError:
    """One problem in one cell: ``row`` as numbered in the spreadsheet (header = 1), ``column`` its header."""

    row: int
    column: str
    value: str
    message: str


@lru_cache(maxsize=65536)
def _key(text: str) -> str:
    """Lookup key: folded (no accents, lower case), punctuation turned into spaces, spaces collapsed."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())


_fold = lru_cache(maxsize=65536)(fold)


def _choice_index(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for value, labels in words.items():
        for text in (value, *labels):
            key = _key(text)
            index.setdefault(key, value)
            index.setdefault(key.replace(" ", ""), value)
            without_parentheses = _key(re.sub(r"\([^)]*\)", " ", text))
            if without_parentheses:
                index.setdefault(without_parentheses, value)
    return index


_CHOICE_INDEX: dict[str, dict[str, str]] = {field: _choice_index(words) for field, words in CHOICES.items()}


def _as_text(value: Cell) -> str:
    """A cell as text: 912345678 (not 912345678.0), dates as dd/mm/yyyy, strings NFC."""
    if isinstance(value, str):
        return _nfc(value).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    return "" if value is None else str(value)


def _nfc(text: str) -> str:
    """:func:`careline.vn.nfc`, skipping the work for text that is already clean (almost all of it)."""
    if text.isascii() or (
        "\u00d0" not in text and "\u00f0" not in text and unicodedata.is_normalized("NFC", text)
    ):
        return text
    return nfc(text)


def _one_line(value: Cell) -> str:
    return " ".join(_as_text(value).split())


def _is_empty(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _today() -> datetime.date:
    return datetime.datetime.now(tz=VIETNAM_TZ).date()


class _Errors:
    """The errors of one row."""

    __slots__ = ("headers", "items", "rownum")

    def __init__(self, rownum: int, headers: list[str]) -> None:
        self.rownum = rownum
        self.headers = headers
        self.items: list[RowError] = []

    def add(self, column: int, value: Cell, message: str) -> None:
        self.items.append(RowError(self.rownum, self.headers[column], _as_text(value), message))


class _Fail(ValueError):
    """A cell that cannot be read: ``message`` is the reason, ``value`` the offending piece."""

    def __init__(self, message: str, value: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value


def _phone_label(header: str) -> str:
    text = f" {header_key(header)} "
    if " zalo " in text:
        return "zalo"
    if any(word in text for word in _HOME_WORDS):
        return "home"
    if any(word in text for word in _WORK_WORDS):
        return "work"
    return "mobile"


def _label_from_cell(value: Cell, default: str) -> str:
    """A phone's label from a Google "Phone N - Type/Label" cell ("Mobile", "Home", "Work", "* Zalo")."""
    if _is_empty(value):
        return default
    text = f" {_key(_as_text(value))} "
    if " zalo " in text:
        return "zalo"
    if " mobile " in text or " cell " in text or " di dong " in text:
        return "mobile"
    if any(word in text for word in _HOME_WORDS):
        return "home"
    if any(word in text for word in _WORK_WORDS):
        return "work"
    return default


def _companion_column(headers: list[str], header: str) -> int | None:
    """For Google's "Phone 2 - Value", the index of "Phone 2 - Type" (old) or "Phone 2 - Label" (new)."""
    match = re.fullmatch(r"(.*?)\s*-\s*value", header.strip(), re.IGNORECASE)
    if match is None:
        return None
    wanted = {f"{match[1]} - type".casefold(), f"{match[1]} - label".casefold()}
    for i, other in enumerate(headers):
        if " ".join(other.split()).casefold() in wanted:
            return i
    return None


class _Parsers:
    """Value parsers for one file, with caches for values that repeat (dates, provinces, choices)."""

    def __init__(self, today: datetime.date) -> None:
        self.today = today
        self.date = lru_cache(maxsize=65536)(self._date)
        self.province = lru_cache(maxsize=4096)(self._province)
        self.ward = lru_cache(maxsize=65536)(self._ward)
        self.address = lru_cache(maxsize=65536)(self._address)
        self.phone = lru_cache(maxsize=65536)(self._phone)

    # dates
    @staticmethod
    def _date(value: str | int | float | datetime.date) -> datetime.date:
        try:
            return parse_date(value)
        except InvalidDate as exc:
            raise _Fail(str(exc)) from exc

    def birthday(self, value: Cell) -> datetime.date:
        if isinstance(value, int | str) and not isinstance(value, bool) and _YEAR_ONLY.fullmatch(str(value)):
            year = int(value)
            if 1900 <= year <= self.today.year:
                raise _Fail(f"{value} is only a year; a birthday needs day, month and year (15/03/1990).")
        day = self.cell_date(value)
        if day > self.today:
            raise _Fail(f"The birthday {day:%d/%m/%Y} is in the future.")
        if day.year < 1900:
            raise _Fail(f"The birthday {day:%d/%m/%Y} is before 1900; check the year.")
        return day

    def cell_date(self, value: Cell) -> datetime.date:
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, bool) or value is None:
            raise _Fail(f"{value!r} is not a date.")
        if isinstance(value, str):
            return self.date(value.strip())
        return self.date(value)

    # phones
    @staticmethod
    def _phone(piece: str) -> str:
        try:
            return normalize_phone(piece)
        except InvalidPhone as exc:
            raise _Fail(str(exc), piece) from exc

    # places
    @staticmethod
    def _province(text: str) -> str | None:
        province = find_province(text)
        return province.code if province else None

    @staticmethod
    def _ward(province: str, text: str) -> str | None:
        if not _could_be_ward(province, text):
            return None
        ward = find_ward(province, text)
        return ward.name if ward else None

    def _address(self, text: str) -> tuple[str | None, str | None]:
        """(province code, ward name) recognised at the end of a free-text address."""
        parts = [p for p in _ADDRESS_PARTS.split(text) if p.strip()]
        while parts and (_key(parts[-1]) in _COUNTRY_KEYS or parts[-1].strip().isdigit()):
            parts.pop()
        if not parts:
            return None, None
        candidates: list[tuple[str, int]] = [(parts[-1], len(parts) - 1)]
        if len(parts) >= 2:
            candidates.append((f"{parts[-2]} - {parts[-1]}", len(parts) - 2))  # "Bà Rịa - Vũng Tàu"
            candidates.append((parts[-2], len(parts) - 2))
        for candidate, position in candidates:
            if not _has_letter(candidate):
                continue  # "Quận 1": a bare number is not a province code inside an address
            code = self.province(candidate)
            if code is not None:
                ward = self.ward(code, parts[position - 1]) if position >= 1 else None
                return code, ward
        words = parts[-1].split()
        for n in range(min(4, len(words) - 1), 0, -1):  # "12 Lê Lợi Quận 1 TPHCM": the last words
            if not _has_letter(words[-n]):
                continue
            code = self.province(" ".join(words[-n:]))
            if code is not None:
                return code, None
        return None, None


# --- fast paths -----------------------------------------------------------------------------------
# find_ward scans a province's wards and normalize_phone asks phonenumbers; both are exact but too slow
# for a million rows. The fast paths below only ever answer what those functions would answer.

_WARD_PREFIXES = ("phuong ", "xa ", "dac khu ", "p ", "x ")


def _bare_ward_key(folded: str) -> str:
    text = " ".join(folded.replace(".", " ").split())
    for prefix in _WARD_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


@cache
def _ward_keys(province: str) -> frozenset[str]:
    keys: set[str] = set()
    for ward in wards_of(province):
        folded = fold(ward.name)
        keys.update((folded, fold(ward.short_name), _bare_ward_key(folded)))
    return frozenset(keys)


def _could_be_ward(province: str, text: str) -> bool:
    """False when ``find_ward(province, text)`` certainly finds nothing (a cheap set lookup)."""
    stripped = text.strip()
    if stripped.isdigit():
        return True
    folded = _fold(stripped)
    keys = _ward_keys(province)
    return folded in keys or _bare_ward_key(folded) in keys


_PHONE_CELL_CHARS = frozenset("0123456789 .-+")
_FIRST_DIGITS = re.compile(r"\d+")
_PREFIX_SAMPLES = (
    "000000",
    "999999",
    "123456",
    "987654",
    "505050",
    *(f"{d}00000" for d in range(10)),
    *(f"{d}99999" for d in range(10)),
)


@cache
def _fast_phone_prefixes() -> frozenset[str]:
    """3-digit national prefixes (912…) of 9-digit numbers that normalize_phone accepts whatever follows."""

    def accepted(prefix: str) -> bool:
        for suffix in _PREFIX_SAMPLES:
            number = prefix + suffix
            try:
                if normalize_phone("0" + number) != "+84" + number:
                    return False
            except InvalidPhone:
                return False
        return True

    return frozenset(p for first in "35789" for p in (f"{first}{n:02d}" for n in range(100)) if accepted(p))


@cache
def _fast_phone_prefixes_84() -> frozenset[str]:
    """The prefixes of :func:`_fast_phone_prefixes` that normalize_phone also accepts typed as 84 + 9 digits
    (84912345678: the + lost), whatever follows."""

    def accepted(prefix: str) -> bool:
        for suffix in _PREFIX_SAMPLES:
            number = prefix + suffix
            try:
                if normalize_phone("84" + number) != "+84" + number:
                    return False
            except InvalidPhone:
                return False
        return True

    return frozenset(p for p in _fast_phone_prefixes() if accepted(p))


def _fast_phone(text: str) -> str | None:
    """E.164 for the everyday forms of a Vietnamese mobile (0912345678, 0912.345.678, 912345678,
    +84 912 345 678, 84912345678), or None to let normalize_phone decide."""
    international = text.startswith("+84")
    body = text[3:] if international else text
    digits = body.replace(" ", "").replace(".", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit()):
        return None
    if international:
        national = digits if len(digits) == 9 and digits[0] != "0" else ""
    elif len(digits) == 11 and digits.startswith("84") and digits == body:
        national = digits[2:]
        return "+84" + national if national[:3] in _fast_phone_prefixes_84() else None
    elif len(digits) == 10 and digits[0] == "0":
        national = digits[1:]
    elif len(digits) == 9 and digits[0] != "0":
        national = digits
    else:
        return None
    if national[:3] not in _fast_phone_prefixes():
        return None
    if national[0] == "8":  # "(08) 3822 1234" is an old TP HCM landline: leave it to normalize_phone
        first = _FIRST_DIGITS.search(body)
        if first is None or first.group().removeprefix("0") == "8":
            return None
    return "+84" + national


@dataclass
class _Plan:
    """Which columns feed which field, worked out once per file."""

    full_name: int | None = None
    last_name: int | None = None
    middle_name: int | None = None
    first_name: int | None = None
    company: int | None = None
    address: int | None = None
    province: int | None = None
    ward: int | None = None
    phones: tuple[tuple[int, str, int | None], ...] = ()  # (column, label, label column)
    emails: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()
    notes: tuple[int, ...] = ()
    simple: tuple[tuple[int, str, Callable[[Cell], Any]], ...] = ()  # (column, key, parser)


def _plan(table: Table, mapping: Mapping, parsers: _Parsers) -> _Plan:
    plan = _Plan()
    phones: list[tuple[int, str, int | None]] = []
    emails: list[int] = []
    tags: list[int] = []
    notes: list[int] = []
    simple: list[tuple[int, str, Callable[[Cell], Any]]] = []
    single_parsers: dict[str, tuple[str, Callable[[Cell], Any]]] = {
        "birthday": ("birthday", parsers.birthday),
        "receivable_due": ("receivable_due", parsers.cell_date),
        "receivable_amount": ("receivable_amount", _amount),
        "lunar_birthday": ("lunar_birthday", _yes_no),
        "tax_code": ("tax_code", _tax_code),
        "external_ref": ("external_ref", _limited("external_ref")),
        "job_title": ("job_title", _limited("job_title")),
        "street": ("street", _limited("street")),
        **{field: (field, _choice(field)) for field in CHOICES},
    }
    headers = table.headers
    seen: set[str] = set()
    for i, target in enumerate(mapping.columns[: len(headers)]):
        if target == IGNORE:
            continue
        if target == "phone":
            companion = _companion_column(headers, headers[i])
            phones.append((i, _phone_label(headers[i]), companion))
        elif target == "email":
            emails.append(i)
        elif target == "tags":
            tags.append(i)
        elif target == "note":
            notes.append(i)
        elif target in seen:
            continue  # a single-valued field takes its first column
        elif target in (
            "full_name",
            "last_name",
            "middle_name",
            "first_name",
            "company",
            "address",
            "province",
            "ward",
        ):
            setattr(plan, target, i)
        elif target in single_parsers:
            key, parser = single_parsers[target]
            simple.append((i, key, parser))
        seen.add(target)
    plan.phones, plan.emails, plan.tags, plan.notes = tuple(phones), tuple(emails), tuple(tags), tuple(notes)
    plan.simple = tuple(simple)
    return plan


# --- single-cell parsers ---------------------------------------------------------------------------


def _limited(key: str) -> Callable[[Cell], str]:
    limit = MAX_LENGTHS[key]

    def parse(value: Cell) -> str:
        text = _one_line(value)
        if len(text) > limit:
            raise _Fail(f"At most {limit} characters (this has {len(text)}).")
        return text

    return parse


def _amount(value: Cell) -> int:
    if isinstance(value, bool):
        raise _Fail(f"{value!r} is not an amount of đồng.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(round(value))
    try:
        return parse_vnd(_as_text(value))
    except InvalidMoney as exc:
        raise _Fail(str(exc)) from exc


def _yes_no(value: Cell) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    key = _key(_as_text(value))
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _Fail(f"“{_as_text(value)}” is not yes or no (write có / không, x, 1 / 0).")


def _tax_code(value: Cell) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else _one_line(value)
    try:
        return normalize_tax_code(text)
    except InvalidTaxCode as exc:
        digits = text.replace(" ", "").replace(".", "")
        # Excel drops the leading 0 of "0101234567" when the column is numeric.
        if digits.isdigit() and len(digits) in (9, 12):
            try:
                return normalize_tax_code("0" + digits)
            except InvalidTaxCode:
                pass
        raise _Fail(str(exc)) from exc


def _choice(field: str) -> Callable[[Cell], str]:
    index = _CHOICE_INDEX[field]
    expected = ", ".join(labels[0] for value, labels in CHOICES[field].items() if value)

    @lru_cache(maxsize=1024)
    def lookup(text: str) -> str:
        key = _key(text)
        found = index.get(key)
        if found is None:
            found = index.get(key.replace(" ", ""))
        if found is None:
            raise _Fail(f"“{text}” is not a known {field.replace('_', ' ')} (use one of: {expected}).")
        return found

    def parse(value: Cell) -> str:
        return lookup(_one_line(value))

    return parse


def _email_list(value: Cell) -> tuple[list[str], list[str]]:
    """(valid lower-case addresses, invalid pieces) of an email cell."""
    text = _as_text(value).lower()
    if "@" not in text and _key(text) in _NOTHING:
        return [], []
    valid: list[str] = []
    invalid: list[str] = []
    for piece in _EMAIL_SPLIT.split(text):
        piece = piece.strip("<>()[]\"'").removeprefix("mailto:")
        if not piece:
            continue
        if len(piece) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(piece):
            valid.append(piece)
        else:
            invalid.append(piece)
    return valid, invalid


def _phone_pieces(value: Cell) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]  # 912345678: normalize_phone restores the 0 Excel dropped
    text = _as_text(value)
    if len(text) < 18 and _PHONE_CELL_CHARS.issuperset(text):
        # No separator and too few digits for two numbers: split_phones would keep it whole.
        return [text] if text.strip(" .-+") else []
    return split_phones(text)


# --- rows ------------------------------------------------------------------------------------------


MEMO_LIMIT = 50_000  # entries per memo of one file (names, provinces, dates, choices): bounded memory


def parse_rows(
    table: Table,
    mapping: Mapping,
    *,
    today: datetime.date | None = None,
    rownums: Sequence[int] | None = None,
) -> Iterator[tuple[int, dict[str, Any], list[RowError]]]:
    """Yield ``(row number, data for customer_create, errors)`` for every non-empty data row.

    Row numbers count the header as row 1. Empty cells leave their key out; a value that cannot be
    read leaves its key out too and adds a :class:`RowError`. ``today`` (default: today in Vietnam)
    is the latest possible birthday. ``rownums`` gives the row numbers of a table that holds only some rows
    of a file (``rownums[i]`` is the number of ``table.rows[i]``).

    Each field has a fast lane for the everyday cell (a memo of the values already read, a text name, one
    mobile number, one plain address, a known province) that gives exactly what its full parser gives; any
    other cell, and every cell that fails, goes through the full parser, which also words the error.
    """
    parsers = _Parsers(today or _today())
    plan = _plan(table, mapping, parsers)
    headers = table.headers
    # (column, key, parser, memo of the successes: str / date cell → value)
    simple = [(column, key, parser, {}) for column, key, parser in plan.simple]
    has_kind = any(key == "kind" for _c, key, _p in plan.simple)
    # The name of a person from the full-name column alone, when no company column can change it.
    name_column = plan.full_name if plan.company is None and not has_kind else None
    names: dict[str, str] = {}
    # One phone column without a label column, one email column: the everyday layout.
    phone_column, phone_label = (
        (plan.phones[0][0], plan.phones[0][1])
        if len(plan.phones) == 1 and plan.phones[0][2] is None
        else (None, "")
    )
    email_column = plan.emails[0] if len(plan.emails) == 1 else None
    province_column = plan.province if plan.address is None and plan.ward is None else None
    provinces: dict[str, str] = {}
    other_place = plan.address is not None or plan.province is not None or plan.ward is not None
    _str, _date, _int = str, datetime.date, int
    for index, row in enumerate(table.rows):
        if row.count(None) + row.count("") == len(row):
            continue
        rownum = index + FIRST_DATA_ROW if rownums is None else rownums[index]
        data: dict[str, Any] = {}
        errors = _Errors(rownum, headers)
        fail = errors.add
        for column, key, parser, memo in simple:
            value = row[column]
            if value is None:
                continue
            cls = value.__class__
            if cls is _str or cls is _date:
                known = memo.get(value)
                if known is not None:
                    data[key] = known
                    continue
                if cls is _str and not value.strip():  # _is_empty, inlined
                    continue
            try:
                parsed = data[key] = parser(value)
            except _Fail as exc:
                fail(column, value if exc.value is None else exc.value, exc.message)
            else:
                if (cls is _str or cls is _date) and len(memo) < MEMO_LIMIT:
                    memo[value] = parsed

        value = row[name_column] if name_column is not None else None
        if value.__class__ is _str and (name := names.get(value)) is not None:
            data["full_name"] = name
        else:
            _parse_name(plan, row, data, errors)
            if value.__class__ is _str and "full_name" in data and value.strip() and len(names) < MEMO_LIMIT:
                names[value] = data["full_name"]

        if phone_column is not None:
            value = row[phone_column]
            number = None
            if value.__class__ is _str:
                if len(value) < 18 and _PHONE_CELL_CHARS.issuperset(value):
                    number = _fast_phone(value.strip())
            elif value.__class__ is _int:
                number = _fast_phone(str(value))
            if number is not None:
                data["phones"] = [{"number": number, "label": phone_label}]
            elif value is not None:
                _parse_phones(plan, row, data, parsers, fail)
        elif plan.phones:
            _parse_phones(plan, row, data, parsers, fail)

        if email_column is not None:
            value = row[email_column]
            if value.__class__ is _str and value.isascii():
                text = value.strip().lower()
                if text[:1] != "'" and len(text) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(text):
                    data["emails"] = [text]
                else:
                    _parse_emails(plan, row, data, fail)
            elif value is not None:
                _parse_emails(plan, row, data, fail)
        elif plan.emails:
            _parse_emails(plan, row, data, fail)

        if plan.tags:
            _parse_tags(plan, row, data)
        if plan.notes:
            notes = [_as_text(row[c]) for c in plan.notes if not _is_empty(row[c])]
            if notes:
                data["note"] = "\n".join(notes)

        if province_column is not None:
            value = row[province_column]
            if value.__class__ is _str and (code := provinces.get(value)) is not None:
                data["province"] = code
            elif value is not None:
                _parse_place(plan, row, data, parsers, fail)
                if value.__class__ is _str and "province" in data and len(provinces) < MEMO_LIMIT:
                    provinces[value] = data["province"]
        elif other_place:
            _parse_place(plan, row, data, parsers, fail)

        if not data and all(_is_empty(v) for v in row):
            continue  # only blank text: an empty row too
        yield rownum, data, errors.items


def _parse_name(plan: _Plan, row: list[Cell], data: dict[str, Any], errors: _Errors) -> None:
    organisation = data.get("kind") == "organization"
    name = ""
    column = plan.full_name
    if plan.full_name is not None and not _is_empty(row[plan.full_name]):
        name = _one_line(row[plan.full_name])
    else:
        parts = [
            _one_line(row[c])
            for c in (plan.last_name, plan.middle_name, plan.first_name)
            if c is not None and not _is_empty(row[c])
        ]
        name = " ".join(parts)
        column = next(
            (c for c in (plan.last_name, plan.first_name, plan.middle_name) if c is not None), plan.full_name
        )
    company = _one_line(row[plan.company]) if plan.company is not None else ""
    if name:
        data["full_name"] = name if organisation else normalize_name(name)
        if company:
            data["company"] = company
    elif company:
        data["full_name"] = company
        data.setdefault("kind", "organization")
        column = plan.company
    else:
        errors.items.append(
            RowError(
                errors.rownum,
                "(name)",
                "",
                "No name: fill in the full name (or last and first name, or the company) for this row.",
            )
        )
        return
    if len(data["full_name"]) > MAX_LENGTHS["full_name"] and column is not None:
        errors.add(column, data.pop("full_name"), f"At most {MAX_LENGTHS['full_name']} characters.")


def _parse_phones(
    plan: _Plan,
    row: list[Cell],
    data: dict[str, Any],
    parsers: _Parsers,
    fail: Callable[[int, Cell, str], None],
) -> None:
    phones: list[dict[str, str]] = []
    seen: set[str] = set()
    for column, default_label, label_column in plan.phones:
        value = row[column]
        if _is_empty(value):
            continue
        pieces = _phone_pieces(value)
        if not pieces:
            if _key(_as_text(value)) not in _NOTHING:
                fail(column, value, f"“{_as_text(value)}” is not a phone number.")
            continue
        label = default_label if label_column is None else _label_from_cell(row[label_column], default_label)
        for piece in pieces:
            try:
                number = _fast_phone(piece) or parsers.phone(piece)
            except _Fail as exc:
                fail(column, piece, exc.message)
                continue
            if number not in seen:
                seen.add(number)
                phones.append({"number": number, "label": label})
    if phones:
        data["phones"] = phones


def _parse_emails(
    plan: _Plan, row: list[Cell], data: dict[str, Any], fail: Callable[[int, Cell, str], None]
) -> None:
    emails: list[str] = []
    for column in plan.emails:
        value = row[column]
        if _is_empty(value):
            continue
        valid, invalid = _email_list(value)
        for piece in invalid:
            fail(column, piece, f"“{piece}” is not a valid email address.")
        emails.extend(e for e in valid if e not in emails)
    if emails:
        data["emails"] = emails


def _parse_tags(plan: _Plan, row: list[Cell], data: dict[str, Any]) -> None:
    tags: list[str] = []
    folded: set[str] = set()
    for column in plan.tags:
        value = row[column]
        if _is_empty(value):
            continue
        for piece in _TAG_SPLIT.split(_as_text(value)):
            tag = " ".join(piece.split())
            if not tag or tag.startswith("*"):  # Google's system groups: "* myContacts", "* starred"
                continue
            key = _fold(tag)
            if key not in folded:
                folded.add(key)
                tags.append(tag)
    if tags:
        data["tags"] = tags


def _parse_place(
    plan: _Plan,
    row: list[Cell],
    data: dict[str, Any],
    parsers: _Parsers,
    fail: Callable[[int, Cell, str], None],
) -> None:
    province: str | None = None
    if plan.province is not None and not _is_empty(row[plan.province]):
        value = row[plan.province]
        text = (
            str(value).zfill(2)
            if isinstance(value, int) and not isinstance(value, bool)
            else _one_line(value)
        )
        province = parsers.province(text)
        if province is None:
            fail(plan.province, value, f"“{_one_line(value)}” is not a known province or city.")
        else:
            data["province"] = province
    province_failed = plan.province is not None and not _is_empty(row[plan.province]) and province is None

    address_ward: str | None = None
    if plan.address is not None and not _is_empty(row[plan.address]):
        address = _one_line(row[plan.address])
        if len(address) > MAX_LENGTHS["legacy_address"]:
            fail(plan.address, address, f"At most {MAX_LENGTHS['legacy_address']} characters.")
        else:
            data["legacy_address"] = address
        if province is None and not province_failed:
            found, address_ward = parsers.address(address)
            if found is not None:
                province = found
                data["province"] = found

    if plan.ward is not None and not _is_empty(row[plan.ward]):
        value = row[plan.ward]
        text = _one_line(value)
        if province is None:
            if not province_failed:
                fail(plan.ward, value, f"The ward “{text}” needs a province: add a province column or value.")
        else:
            ward = parsers.ward(province, text)
            if ward is None:
                fail(plan.ward, value, f"“{text}” is not a ward or commune of this province (2025 list).")
            else:
                data["ward"] = ward
    elif address_ward is not None:
        data["ward"] = address_ward


def preview(
    table: Table, mapping: Mapping, limit: int = PREVIEW_ROWS, *, today: datetime.date | None = None
) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """The first ``limit`` rows as they would be stored, and every row error of the whole file."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for rownum, data, row_errors in parse_rows(table, mapping, today=today):
        if len(rows) < limit:
            rows.append((rownum, data))
        errors.extend(row_errors)
    return rows, errors
