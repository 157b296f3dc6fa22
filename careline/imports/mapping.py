"""Column mapping: which customer field each column of an uploaded file fills.

:func:`auto_map` recognises Vietnamese and English header texts, the layouts of Google Contacts and
Outlook CSV exports, Careline's own export and the columns of :mod:`careline.imports.readers`' vCard
table. The user can then correct the result; a :class:`Mapping` is stored as a plain JSON list of
target keys so it can be saved and reused for the next file with the same layout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from careline.vn import fold

__all__ = [
    "MULTI_VALUED",
    "NAME_TARGETS",
    "TARGETS",
    "Mapping",
    "auto_map",
    "header_key",
]

IGNORE = "ignore"

# Target field key → English label (translated by the UI).
TARGETS: dict[str, str] = {
    "full_name": "Full name",
    "last_name": "Last name (family name)",
    "middle_name": "Middle name",
    "first_name": "First name (given name)",
    "company": "Company",
    "kind": "Kind (person / organisation)",
    "salutation": "Salutation",
    "phone": "Phone",
    "email": "Email",
    "birthday": "Birthday",
    "lunar_birthday": "Birthday is in the lunar calendar",
    "address": "Address (free text)",
    "street": "House number and street",
    "ward": "Ward / commune",
    "province": "Province / city",
    "tax_code": "Tax code",
    "job_title": "Job title",
    "stage": "Stage",
    "source": "Source",
    "tier": "Tier",
    "price_type": "Price type",
    "tags": "Tags",
    "note": "Note",
    "external_ref": "ID in the other system",
    "receivable_amount": "Receivable (VND)",
    "receivable_due": "Receivable due date",
    IGNORE: "(ignore this column)",
}

# Targets that several columns may fill; every other target (except "ignore") takes one column.
MULTI_VALUED: frozenset[str] = frozenset({"phone", "email", "tags", "note"})
# A row needs one of these to have a name.
NAME_TARGETS: frozenset[str] = frozenset({"full_name", "first_name", "last_name", "company"})

# (target, priority, header texts). Lower priority wins when two columns claim a single-valued target,
# so Outlook's "Job Title" beats its "Title" (which holds "Mr."/"Ms.").
_SYNONYMS: list[tuple[str, int, tuple[str, ...]]] = [
    (
        "full_name",
        0,
        (
            "Họ và tên",
            "Họ tên",
            "Họ và tên khách hàng",
            "Tên khách hàng",
            "Tên KH",
            "Tên đầy đủ",
            "Khách hàng",
            "Name",
            "Full Name",
            "Fullname",
            "Customer name",
            "Contact name",
            "Client name",
        ),
    ),
    ("full_name", 1, ("Display Name", "Tên hiển thị", "Người liên hệ", "Contact")),
    ("last_name", 0, ("Họ", "Họ đệm", "Họ và tên đệm", "Họ lót", "Last Name", "Family Name", "Surname")),
    ("middle_name", 0, ("Tên đệm", "Tên lót", "Middle Name", "Additional Name")),
    ("first_name", 0, ("First Name", "Given Name", "Tên gọi")),
    (
        "company",
        0,
        (
            "Công ty",
            "Tên công ty",
            "Doanh nghiệp",
            "Tên doanh nghiệp",
            "Tổ chức",
            "Đơn vị",
            "Đơn vị công tác",
            "Company",
            "Company name",
            "Organization",
            "Organisation",
            "Organization Name",
            "Business name",
        ),
    ),
    ("company", 1, ("Cơ quan", "Nơi làm việc")),
    ("kind", 0, ("Loại", "Loại khách hàng", "Loại KH", "Kind", "Customer type")),
    ("salutation", 0, ("Danh xưng", "Xưng hô", "Cách xưng hô", "Salutation")),
    (
        "phone",
        0,
        (
            "SĐT",
            "Số điện thoại",
            "Điện thoại",
            "Điện thoại di động",
            "Di động",
            "ĐTDĐ",
            "Số ĐT",
            "ĐT",
            "Số di động",
            "Điện thoại nhà",
            "Điện thoại nhà riêng",
            "Điện thoại bàn",
            "Điện thoại cơ quan",
            "Điện thoại công ty",
            "Máy bàn",
            "Zalo",
            "SĐT Zalo",
            "Số Zalo",
            "Phone",
            "Phones",
            "Phone number",
            "Phone numbers",
            "Phone Value",
            "Mobile",
            "Mobile Phone",
            "Mobile number",
            "Cell",
            "Cell phone",
            "Home Phone",
            "Business Phone",
            "Work Phone",
            "Office Phone",
            "Primary Phone",
            "Other Phone",
            "Company Main Phone",
            "Telephone",
            "Tel",
        ),
    ),
    (
        "email",
        0,
        (
            "Email",
            "E-mail",
            "Emails",
            "Thư điện tử",
            "Địa chỉ email",
            "Địa chỉ thư điện tử",
            "E-mail Address",
            "Email Address",
            "E-mail Value",
            "Email Value",
        ),
    ),
    (
        "birthday",
        0,
        (
            "Ngày sinh",
            "Sinh nhật",
            "Ngày sinh nhật",
            "Ngày tháng năm sinh",
            "NS",
            "Birthday",
            "Date of birth",
            "Birth date",
            "Birthdate",
            "DOB",
        ),
    ),
    ("lunar_birthday", 0, ("Âm lịch", "Sinh nhật âm lịch", "Ngày sinh âm lịch", "Lunar birthday", "Lunar")),
    (
        "address",
        0,
        (
            "Địa chỉ",
            "Địa chỉ cũ",
            "Địa chỉ liên hệ",
            "Địa chỉ giao hàng",
            "Địa chỉ nhà",
            "Address",
            "Legacy address",
            "Full address",
            "Address Formatted",
            "Home Address",
            "Mailing Address",
        ),
    ),
    (
        "street",
        0,
        ("Số nhà, đường", "Số nhà", "Đường", "Số nhà đường", "Street", "Street address", "Address Street"),
    ),
    ("ward", 0, ("Phường/Xã", "Xã/Phường", "Phường", "Xã", "Phường xã", "Ward", "Commune", "Ward/Commune")),
    (
        "province",
        0,
        (
            "Tỉnh/TP",
            "Tỉnh/Thành phố",
            "Tỉnh / thành phố",
            "Tỉnh thành",
            "Tỉnh",
            "Thành phố",
            "Tỉnh/Thành",
            "TP",
            "Province",
            "Province/City",
            "City/Province",
            "State/Province",
        ),
    ),
    ("province", 1, ("City", "Address Region", "State", "Region")),
    ("province", 2, ("Address City",)),
    ("tax_code", 0, ("MST", "Mã số thuế", "Mã số doanh nghiệp", "Tax code", "Tax ID", "VAT number")),
    (
        "job_title",
        0,
        ("Chức vụ", "Chức danh", "Vị trí", "Job Title", "Position", "Organization Title", "Designation"),
    ),
    ("job_title", 1, ("Title",)),
    ("stage", 0, ("Giai đoạn", "Giai đoạn khách hàng", "Stage", "Lifecycle stage")),
    ("stage", 1, ("Trạng thái", "Tình trạng", "Status")),
    ("source", 0, ("Nguồn", "Nguồn khách", "Nguồn khách hàng", "Kênh", "Source", "Lead source", "Channel")),
    ("tier", 0, ("Phân hạng", "Hạng khách hàng", "Hạng thành viên", "Tier", "Rank", "Membership")),
    ("price_type", 0, ("Loại giá", "Bảng giá", "Giá áp dụng", "Price type", "Price list")),
    (
        "tags",
        0,
        (
            "Nhãn",
            "Tag",
            "Tags",
            "Labels",
            "Categories",
            "Group Membership",
            "Nhóm",
            "Nhóm khách hàng",
        ),
    ),
    ("note", 0, ("Ghi chú", "Note", "Notes", "Comment", "Comments", "Mô tả", "Description")),
    (
        "external_ref",
        0,
        (
            "Mã",
            "Mã KH",
            "Mã khách hàng",
            "ID",
            "Customer ID",
            "Customer code",
            "External ID",
            "Contact ID",
            "Client ID",
        ),
    ),
    (
        "receivable_amount",
        0,
        ("Công nợ", "Dư nợ", "Số tiền nợ", "Còn nợ", "Receivable", "Receivable amount", "Amount due"),
    ),
    (
        "receivable_due",
        0,
        (
            "Hạn công nợ",
            "Hạn thanh toán",
            "Hạn trả",
            "Ngày đến hạn",
            "Due date",
            "Receivable due",
            "Payment due",
        ),
    ),
    # Careline's own export: columns that must not be re-imported as data.
    (
        IGNORE,
        0,
        ("Người phụ trách", "Owner", "Ngày tạo", "Created", "Created at", "Ngày cập nhật", "Updated"),
    ),
]

# "Tên" alone is the given name next to a "Họ" column and the whole name otherwise.
_BARE_GIVEN_NAME = "ten"

_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def header_key(header: str) -> str:
    """Lookup key of a header: folded, punctuation to spaces, number tokens dropped.

    "Phone 2 - Value" → "phone value", "E-mail Address" → "e mail address", "SĐT" → "sdt".
    """
    words = _NON_WORD.sub(" ", fold(header)).split()
    return " ".join(w for w in words if not w.isdigit())


_INDEX: dict[str, tuple[str, int]] = {}
for _target, _priority, _texts in _SYNONYMS:
    for _text in _texts:
        _INDEX.setdefault(header_key(_text), (_target, _priority))
        _INDEX.setdefault(header_key(_text).replace(" ", ""), (_target, _priority))


def _lookup(header: str) -> tuple[str, int] | None:
    key = header_key(header)
    if not key:
        return None
    found = _INDEX.get(key) or _INDEX.get(key.replace(" ", ""))
    if found is None:
        without = header_key(_PARENTHESES.sub(" ", header))
        if without and without != key:
            found = _INDEX.get(without) or _INDEX.get(without.replace(" ", ""))
    return found


def auto_map(headers: list[str]) -> list[str]:
    """Guess the target of every column ("ignore" when unknown).

    Several columns may map to a multi-valued target (phone, email, tags, note); a single-valued
    target goes to the column that names it best (ties: the first), and the others are ignored.
    """
    found = [_lookup(h) for h in headers]
    has_last_name = any(f is not None and f[0] == "last_name" for f in found)
    for i, header in enumerate(headers):
        if found[i] is None and header_key(header) == _BARE_GIVEN_NAME:
            found[i] = ("first_name" if has_last_name else "full_name", 0)

    result = [IGNORE] * len(headers)
    best: dict[str, tuple[int, int]] = {}  # target → (priority, column)
    for i, match in enumerate(found):
        if match is None:
            continue
        target, priority = match
        if target == IGNORE:
            continue
        if target in MULTI_VALUED:
            result[i] = target
        elif target not in best or priority < best[target][0]:
            best[target] = (priority, i)
    for target, (_priority, column) in best.items():
        result[column] = target
    return result


@dataclass
class Mapping:
    """The target of each column of a file, in column order (a target key of :data:`TARGETS`)."""

    columns: list[str]

    def to_json(self) -> list[str]:
        """The mapping as a JSON-ready list of target keys (what a saved mapping stores)."""
        return list(self.columns)

    @classmethod
    def from_json(cls, value: Any) -> Mapping:
        """Build a mapping from :meth:`to_json` output (a list of target keys, or that list as JSON text)."""
        if isinstance(value, str | bytes):
            value = json.loads(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("A column mapping is a list of target keys.")
        return cls(columns=list(value))

    @classmethod
    def auto(cls, headers: list[str]) -> Mapping:
        """The mapping :func:`auto_map` proposes for ``headers``."""
        return cls(columns=auto_map(headers))

    def validate(self, headers: list[str]) -> list[str]:
        """Problems that prevent importing ``headers`` with this mapping (empty list: none)."""
        problems: list[str] = []
        if len(self.columns) != len(headers):
            problems.append(
                f"The mapping has {len(self.columns)} columns but the file has {len(headers)}; "
                "check the columns again."
            )
        for i, target in enumerate(self.columns):
            if target not in TARGETS:
                problems.append(f"Column {i + 1} ({_header(headers, i)}): unknown field “{target}”.")
        seen: dict[str, int] = {}
        for i, target in enumerate(self.columns):
            if target in TARGETS and target != IGNORE and target not in MULTI_VALUED:
                if target in seen:
                    problems.append(
                        f"Columns {_header(headers, seen[target])} and {_header(headers, i)} both fill "
                        f"“{TARGETS[target]}”; choose one."
                    )
                else:
                    seen[target] = i
        if not NAME_TARGETS & set(self.columns):
            problems.append(
                "No column holds the name: map a column to Full name, to Last name / First name, or to Company."
            )
        return problems


def _header(headers: list[str], i: int) -> str:
    return f"“{headers[i]}”" if i < len(headers) else f"#{i + 1}"
