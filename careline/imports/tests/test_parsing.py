"""Tests for careline.imports.parsing: every value rule, row errors, preview and file round trips."""

from __future__ import annotations

import codecs
import datetime
import random
import unicodedata
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.customers.choices import CustomerKind, PriceType, Salutation, Source, Stage, Tier
from careline.imports.mapping import Mapping, auto_map
from careline.imports.parsing import (
    CHOICES,
    PREVIEW_ROWS,
    RowError,
    _could_be_ward,
    _fast_phone,
    _fast_phone_prefixes,
    parse_rows,
    preview,
)
from careline.imports.readers import Cell, Table, read_table
from careline.imports.tests import cp1258_bytes, csv_text, xlsx_bytes
from careline.vn import InvalidPhone, find_ward, normalize_name, normalize_phone, wards_of

TODAY = datetime.date(2026, 6, 1)


def table(headers: list[str], *rows: list[Cell]) -> Table:
    return Table(headers=headers, rows=[list(r) for r in rows], format="csv")


def parse(
    headers: list[str], *rows: list[Cell], columns: list[str] | None = None
) -> list[tuple[int, dict, list]]:
    t = table(headers, *rows)
    mapping = Mapping(columns if columns is not None else auto_map(headers))
    return list(parse_rows(t, mapping, today=TODAY))


def one(
    headers: list[str], row: list[Cell], columns: list[str] | None = None
) -> tuple[dict[str, Any], list[RowError]]:
    ((_rownum, data, errors),) = parse(headers, row, columns=columns)
    return data, errors


def messages(errors: list[RowError]) -> list[str]:
    return [e.message for e in errors]


# --- names -----------------------------------------------------------------------------------------


def test_full_name_is_normalised() -> None:
    data, errors = one(["Họ và tên"], ["  TRẦN   THỊ BÍCH "])
    assert data == {"full_name": "Trần Thị Bích"}
    assert errors == []


def test_full_name_in_nfd_and_with_the_eth_lookalike() -> None:
    data, _ = one(["Họ và tên"], [unicodedata.normalize("NFD", "\u00d0ặng Hữu Phước")])
    assert data["full_name"] == "\u0110ặng Hữu Phước"
    assert unicodedata.is_normalized("NFC", data["full_name"])


def test_name_parts_in_vietnamese_order() -> None:
    data, errors = one(["Tên", "Họ", "Tên đệm"], ["lan", "nguyễn", "thị"])
    assert data == {"full_name": "Nguyễn Thị Lan"}
    assert errors == []


def test_first_and_last_name_without_middle() -> None:
    data, _ = one(["First Name", "Last Name"], ["Minh", "Trần"])
    assert data["full_name"] == "Trần Minh"


def test_full_name_wins_over_parts() -> None:
    data, _ = one(["Name", "Given Name", "Family Name"], ["Lê Văn Tám", "Tám", "Lê"])
    assert data["full_name"] == "Lê Văn Tám"


def test_company_without_a_person_is_an_organisation() -> None:
    data, errors = one(["Họ và tên", "Công ty"], [None, "CÔNG TY TNHH HOA SEN"])
    assert data == {"full_name": "CÔNG TY TNHH HOA SEN", "kind": "organization"}
    assert errors == []


def test_company_with_a_person_is_kept_aside() -> None:
    data, _ = one(["Họ và tên", "Công ty", "Chức vụ"], ["Nguyễn Văn An", "Công ty Hoa Sen", "Giám đốc"])
    assert data == {"full_name": "Nguyễn Văn An", "company": "Công ty Hoa Sen", "job_title": "Giám đốc"}


def test_organisation_names_keep_their_capitals() -> None:
    data, _ = one(["Họ và tên", "Loại"], ["CÔNG TY CP ABC", "Tổ chức"])
    assert data == {"full_name": "CÔNG TY CP ABC", "kind": "organization"}


def test_row_without_a_name() -> None:
    data, errors = one(["Họ và tên", "SĐT"], [None, "0912345678"])
    assert "full_name" not in data
    assert data["phones"] == [{"number": "+84912345678", "label": "mobile"}]
    assert len(errors) == 1
    assert errors[0].row == 2 and errors[0].column == "(name)"
    assert errors[0].message.startswith("No name:")


def test_overlong_name() -> None:
    data, errors = one(["Họ và tên"], ["Lan " * 60])
    assert "full_name" not in data
    assert errors[0].column == "Họ và tên"
    assert "200" in errors[0].message


# --- phones ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (912345678, ["+84912345678"]),
        ("912345678", ["+84912345678"]),
        ("0912.345.678", ["+84912345678"]),
        ("0912 345 678", ["+84912345678"]),
        ("+84 912 345 678", ["+84912345678"]),
        ("84912345678", ["+84912345678"]),
        ("01662345678", ["+84362345678"]),
        ("(08) 3822 1234", ["+842838221234"]),
        ("024 3826 1234", ["+842438261234"]),
        ("0912345678 / 0987654321", ["+84912345678", "+84987654321"]),
        ("0912345678; 0912.345.678", ["+84912345678"]),
        ("0912345678 hoặc 024 3826 1234", ["+84912345678", "+842438261234"]),
    ],
)
def test_phone_formats(cell: Cell, expected: list[str]) -> None:
    data, errors = one(["Họ và tên", "SĐT"], ["Lan", cell])
    assert [p["number"] for p in data["phones"]] == expected
    assert errors == []


def test_several_numbers_with_a_bad_one() -> None:
    data, errors = one(["Họ và tên", "SĐT"], ["Lan", "0912.345.678 / 024 3826 xxxx"])
    assert data["phones"] == [{"number": "+84912345678", "label": "mobile"}]
    assert len(errors) == 1
    assert (errors[0].row, errors[0].column, errors[0].value) == (2, "SĐT", "024 3826 xxxx")


@pytest.mark.parametrize("cell", ["12345", "0912 345", "abc"])
def test_invalid_phone(cell: str) -> None:
    data, errors = one(["Họ và tên", "SĐT"], ["Lan", cell])
    assert "phones" not in data
    assert len(errors) == 1
    assert errors[0].column == "SĐT"


@pytest.mark.parametrize("cell", ["không có", "N/A", "-"])
def test_phone_cells_that_say_nothing(cell: str) -> None:
    data, errors = one(["Họ và tên", "SĐT"], ["Lan", cell])
    assert "phones" not in data
    assert errors == []


def test_phone_labels_from_headers_and_dedupe() -> None:
    headers = ["Họ và tên", "Di động", "Điện thoại nhà", "Business Phone", "Zalo", "Home Phone"]
    data, errors = one(
        headers, ["Lan", "0912345678", "024 3826 1234", "028 3822 1234", "0987654321", "0912345678"]
    )
    assert data["phones"] == [
        {"number": "+84912345678", "label": "mobile"},
        {"number": "+842438261234", "label": "home"},
        {"number": "+842838221234", "label": "work"},
        {"number": "+84987654321", "label": "zalo"},
    ]
    assert errors == []


def test_google_phone_type_columns_give_the_label() -> None:
    headers = ["Name", "Phone 1 - Type", "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value"]
    data, _ = one(headers, ["Lan", "Work", "024 3826 1234", "Mobile", "0912345678"])
    assert data["phones"] == [
        {"number": "+842438261234", "label": "work"},
        {"number": "+84912345678", "label": "mobile"},
    ]


def test_fast_phone_path_agrees_with_normalize_phone_on_every_prefix() -> None:
    prefixes = _fast_phone_prefixes()
    assert {"912", "987", "362", "868", "703", "888"} <= prefixes
    rng = random.Random(1258)
    for first in "35789":
        for rest in range(100):
            number = f"{first}{rest:02d}{rng.randrange(10**6):06d}"
            for text in (f"0{number}", number, f"+84{number}", f"0{number[:3]}.{number[3:6]}.{number[6:]}"):
                try:
                    expected: str | None = normalize_phone(text)
                except InvalidPhone:
                    expected = None
                fast = _fast_phone(text)
                assert fast is None or fast == expected, text


@settings(max_examples=300)
@given(
    national=st.from_regex(r"[35789][0-9]{8}", fullmatch=True),
    style=st.sampled_from(
        ["{0}{n}", "{n}", "+84{n}", "+84 {a} {b} {c}", "{0}{a} {b} {c}", "({0}{h}) {t}", "{0}{h} {t}"]
    ),
)
def test_fast_phone_path_never_disagrees(national: str, style: str) -> None:
    text = style.format(
        "0", n=national, a=national[:3], b=national[3:6], c=national[6:], h=national[:1], t=national[1:]
    )
    fast = _fast_phone(text)
    if fast is not None:
        assert fast == normalize_phone(text)


# --- emails ----------------------------------------------------------------------------------------


def test_emails_split_lowercased_deduped() -> None:
    headers = ["Họ và tên", "Email", "E-mail 2"]
    data, errors = one(
        headers, ["Lan", "Lan@Example.com; lan.nguyen@congty.vn", "lan@example.com , mailto:LAN@X.VN"]
    )
    assert data["emails"] == ["lan@example.com", "lan.nguyen@congty.vn", "lan@x.vn"]
    assert errors == []


@pytest.mark.parametrize("bad", ["lan@", "lan.example.com", "lan@@x.vn", "lan@x", "lan..n@x.vn", "lan@x.v"])
def test_invalid_emails(bad: str) -> None:
    data, errors = one(["Họ và tên", "Email"], ["Lan", f"ok@x.vn, {bad}"])
    assert data["emails"] == ["ok@x.vn"]
    assert [(e.column, e.value) for e in errors] == [("Email", bad)]


@given(st.emails())
def test_email_check_accepts_what_django_accepts(address: str) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    data, errors = one(["Họ và tên", "Email"], ["Lan", address])
    if errors:
        return  # stricter than Django (e.g. non-ASCII) is allowed; looser is not
    for email in data.get("emails", []):
        try:
            validate_email(email)
        except ValidationError:
            pytest.fail(f"{email!r} passed the import check but Django rejects it")


# --- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("15/03/1990", datetime.date(1990, 3, 15)),
        ("4/3/85", datetime.date(1985, 3, 4)),
        ("1990-03-15", datetime.date(1990, 3, 15)),
        ("15-03-1990", datetime.date(1990, 3, 15)),
        (32947, datetime.date(1990, 3, 15)),
        ("32947", datetime.date(1990, 3, 15)),
        (32947.0, datetime.date(1990, 3, 15)),
        (datetime.date(1990, 3, 15), datetime.date(1990, 3, 15)),
        (datetime.datetime(1990, 3, 15, 8, 0), datetime.date(1990, 3, 15)),
    ],
)
def test_birthday_formats(cell: Cell, expected: datetime.date) -> None:
    data, errors = one(["Họ và tên", "Ngày sinh"], ["Lan", cell])
    assert data["birthday"] == expected
    assert errors == []


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("31/02/1990", "does not exist"),
        ("sinh năm 90", "not a date"),
        ("15/03/2027", "future"),
        ("1990", "only a year"),
        (1990, "only a year"),
        ("01/01/1890", "before 1900"),
    ],
)
def test_invalid_birthdays(cell: Cell, words: str) -> None:
    data, errors = one(["Họ và tên", "Ngày sinh"], ["Lan", cell])
    assert "birthday" not in data
    assert len(errors) == 1
    assert errors[0].column == "Ngày sinh"
    assert words in errors[0].message


def test_receivable_due_may_be_in_the_future() -> None:
    data, errors = one(["Họ và tên", "Hạn công nợ"], ["Lan", "30/12/2027"])
    assert data["receivable_due"] == datetime.date(2027, 12, 30)
    assert errors == []


def test_default_today_is_used_without_the_argument() -> None:
    t = table(["Họ và tên", "Ngày sinh"], ["Lan", "01/01/2999"])
    ((_, data, errors),) = list(parse_rows(t, Mapping(["full_name", "birthday"])))
    assert "birthday" not in data
    assert "future" in errors[0].message


# --- places ----------------------------------------------------------------------------------------


def test_address_gives_province_and_ward() -> None:
    data, errors = one(["Họ và tên", "Địa chỉ"], ["Lan", "12 Lê Lợi, Phường Bến Thành, TP HCM"])
    assert data["legacy_address"] == "12 Lê Lợi, Phường Bến Thành, TP HCM"
    assert data["province"] == "79"
    assert data["ward"] == "Phường Bến Thành"
    assert errors == []


@pytest.mark.parametrize(
    ("address", "province"),
    [
        ("Số 5 ngõ 10, Ba Đình, Hà Nội, Việt Nam", "01"),
        ("KCN Sóng Thần, Dĩ An, Bình Dương", "79"),
        ("123 Trần Phú, Bà Rịa - Vũng Tàu", "79"),
        ("45 Nguyễn Huệ, Thừa Thiên Huế, 530000", "46"),
        ("12 Lê Lợi Quận 1 TPHCM", "79"),
        ("Thôn 3, xã Ea Kao, Đắk Lắk", "66"),
    ],
)
def test_province_from_old_and_new_names_in_addresses(address: str, province: str) -> None:
    data, errors = one(["Họ và tên", "Địa chỉ"], ["Lan", address])
    assert data["province"] == province
    assert data["legacy_address"] == address
    assert errors == []


def test_address_without_a_province_is_kept_as_text() -> None:
    data, errors = one(["Họ và tên", "Địa chỉ"], ["Lan", "12 Lê Lợi, Quận 1"])
    assert data == {"full_name": "Lan", "legacy_address": "12 Lê Lợi, Quận 1"}
    assert errors == []


def test_province_column_wins_over_the_address() -> None:
    data, _ = one(["Họ và tên", "Địa chỉ", "Tỉnh/TP"], ["Lan", "12 Lê Lợi, TP HCM", "Hà Nội"])
    assert data["province"] == "01"
    assert "ward" not in data


@pytest.mark.parametrize(
    ("cell", "code"),
    [("TP.HCM", "79"), ("Sài Gòn", "79"), ("Hà Tây", None), ("Thanh Hoá", "38"), (1, "01"), ("79", "79")],
)
def test_province_column(cell: Cell, code: str | None) -> None:
    data, errors = one(["Họ và tên", "Tỉnh/TP"], ["Lan", cell])
    if code is None:
        assert "province" not in data
        assert [(e.column, e.value) for e in errors] == [("Tỉnh/TP", str(cell))]
    else:
        assert data["province"] == code
        assert errors == []


def test_ward_column_needs_the_province() -> None:
    data, errors = one(["Họ và tên", "Phường/Xã", "Tỉnh/TP"], ["Lan", "P. Ba Đình", "Hà Nội"])
    assert (data["province"], data["ward"]) == ("01", "Phường Ba Đình")
    assert errors == []
    data, errors = one(["Họ và tên", "Phường/Xã"], ["Lan", "Ba Đình"])
    assert "ward" not in data
    assert "needs a province" in errors[0].message
    data, errors = one(["Họ và tên", "Phường/Xã", "Tỉnh/TP"], ["Lan", "Bến Thành", "Hà Nội"])
    assert "ward" not in data
    assert errors[0].column == "Phường/Xã"


def test_ward_prefilter_never_hides_a_ward() -> None:
    rng = random.Random(2025)
    for province in ("01", "79", "48", "66"):
        wards = wards_of(province)
        for ward in rng.sample(wards, 25):
            short = ward.short_name
            folded = unicodedata.normalize("NFD", short)
            folded = (
                "".join(c for c in folded if not unicodedata.combining(c)).replace("Đ", "D").replace("đ", "d")
            )
            for text in (ward.name, short, short.upper(), folded, f"P.{short}", f"x. {short}", ward.code):
                if find_ward(province, text) is not None:
                    assert _could_be_ward(province, text), (province, text)
        assert not _could_be_ward(province, "123 Lê Lợi")


# --- tax codes, money, choices and the rest ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("0101243150", "0101243150"),
        ("0101 243 150", "0101243150"),
        (101243150, "0101243150"),
        ("101243150", "0101243150"),
        ("0101243150-001", "0101243150-001"),
        (101243150001, "0101243150-001"),
        (3600252847, "3600252847"),
    ],
)
def test_tax_codes(cell: Cell, expected: str) -> None:
    data, errors = one(["Công ty", "MST"], ["Hoa Sen", cell])
    assert data["tax_code"] == expected
    assert errors == []


@pytest.mark.parametrize("cell", ["0101243151", "12345", 123456789])
def test_invalid_tax_codes(cell: Cell) -> None:
    data, errors = one(["Công ty", "MST"], ["Hoa Sen", cell])
    assert "tax_code" not in data
    assert [(e.column, e.value) for e in errors] == [("MST", str(cell))]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1.500.000", 1_500_000),
        ("1,5tr", 1_500_000),
        ("1500000đ", 1_500_000),
        ("150k", 150_000),
        ("-50.000", -50_000),
        (1500000, 1_500_000),
        (1499999.6, 1_500_000),
    ],
)
def test_receivable_amount(cell: Cell, expected: int) -> None:
    data, errors = one(["Họ và tên", "Công nợ"], ["Lan", cell])
    assert data["receivable_amount"] == expected
    assert errors == []


def test_invalid_receivable_amount() -> None:
    data, errors = one(["Họ và tên", "Công nợ"], ["Lan", "nhiều lắm"])
    assert "receivable_amount" not in data
    assert errors[0].column == "Công nợ"


@pytest.mark.parametrize(
    ("header", "cell", "expected"),
    [
        ("Giai đoạn", "Khách hàng", "customer"),
        ("Giai đoạn", "khach tiem nang", "lead"),
        ("Giai đoạn", "lead", "lead"),
        ("Giai đoạn", "Khách tiềm năng (lead)", "lead"),
        ("Giai đoạn", "PROSPECT", "prospect"),
        ("Danh xưng", "Anh", "anh"),
        ("Danh xưng", "Chị", "chi"),
        ("Danh xưng", "chi", "chi"),
        ("Nguồn", "Facebook", "facebook"),
        ("Nguồn", "Giới thiệu", "referral"),
        ("Nguồn", "Trang web", "web"),
        ("Nguồn", "Website", "web"),
        ("Nguồn", "walk_in", "walk_in"),
        ("Phân hạng", "Vàng", "gold"),
        ("Phân hạng", "Bạc", "silver"),
        ("Loại giá", "Giá sỉ", "wholesale"),
        ("Loại", "Tổ chức", "organization"),
        ("Loại", "Organisation", "organization"),
        ("Loại", "Công ty", "organization"),
        ("Loại", "Cá nhân", "person"),
    ],
)
def test_choice_fields(header: str, cell: str, expected: str) -> None:
    data, errors = one(["Họ và tên", header], ["Lan", cell])
    key = auto_map([header])[0]
    assert data[key] == expected
    assert errors == []


@pytest.mark.parametrize("header", ["Giai đoạn", "Danh xưng", "Nguồn", "Phân hạng", "Loại giá", "Loại"])
def test_unknown_choice(header: str) -> None:
    data, errors = one(["Họ và tên", header], ["Lan", "Sao Hỏa"])
    assert set(data) == {"full_name"}
    assert [(e.column, e.value) for e in errors] == [(header, "Sao Hỏa")]
    assert "use one of" in errors[0].message


CHOICE_HEADERS = {
    "kind": "Loại",
    "salutation": "Danh xưng",
    "stage": "Giai đoạn",
    "source": "Nguồn",
    "tier": "Phân hạng",
    "price_type": "Loại giá",
}
CHOICE_ENUMS = {
    "kind": CustomerKind,
    "salutation": Salutation,
    "stage": Stage,
    "source": Source,
    "tier": Tier,
    "price_type": PriceType,
}


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("field", sorted(CHOICE_ENUMS))
def test_every_choice_label_is_understood(field: str, language: str) -> None:
    enum = CHOICE_ENUMS[field]
    assert set(CHOICES[field]) == set(enum.values)
    header = CHOICE_HEADERS[field]
    with translation.override(language):
        labels = [(value, str(label)) for value, label in enum.choices]
    for value, label in labels:
        for text in (value, label) if value else (label,):
            data, errors = one(["Họ và tên", header], ["Lan", text])
            assert errors == [], (text, errors)
            assert data[field] == value, text


def test_tags() -> None:
    headers = ["Họ và tên", "Nhãn", "Labels"]
    data, errors = one(
        headers, ["Lan", "VIP; Đại lý, Hà Nội | vip\nMiền Bắc", "* myContacts ::: Khách sỉ ::: Đại lý"]
    )
    assert data["tags"] == ["VIP", "Đại lý", "Hà Nội", "Miền Bắc", "Khách sỉ"]
    assert errors == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("có", True),
        ("x", True),
        ("Yes", True),
        (1, True),
        (True, True),
        ("không", False),
        ("0", False),
        (False, False),
    ],
)
def test_lunar_birthday(cell: Cell, expected: bool) -> None:
    data, errors = one(["Họ và tên", "Âm lịch"], ["Lan", cell])
    assert data["lunar_birthday"] is expected
    assert errors == []


def test_invalid_lunar_birthday() -> None:
    _, errors = one(["Họ và tên", "Âm lịch"], ["Lan", "có lẽ"])
    assert errors[0].column == "Âm lịch"


def test_notes_from_several_columns_keep_line_breaks() -> None:
    data, _ = one(["Họ và tên", "Ghi chú", "Notes"], ["Lan", "Gọi sáng\nthứ 2", "Khách cũ"])
    assert data["note"] == "Gọi sáng\nthứ 2\nKhách cũ"


def test_external_ref_and_text_fields() -> None:
    headers = ["Mã KH", "Họ và tên", "Chức vụ", "Số nhà, đường"]
    data, errors = one(headers, [10234, "Lan", "  Trưởng   phòng ", "12  Lê Lợi"])
    assert data == {
        "external_ref": "10234",
        "full_name": "Lan",
        "job_title": "Trưởng phòng",
        "street": "12 Lê Lợi",
    }
    assert errors == []


def test_text_fields_too_long() -> None:
    data, errors = one(["Mã KH", "Họ và tên", "Chức vụ"], ["K" * 65, "Lan", "x" * 101])
    assert set(data) == {"full_name"}
    assert sorted(e.column for e in errors) == ["Chức vụ", "Mã KH"]


def test_empty_cells_leave_keys_out() -> None:
    headers = ["Họ và tên", "SĐT", "Email", "Ngày sinh", "Địa chỉ", "MST", "Giai đoạn", "Nhãn", "Công nợ"]
    data, errors = one(headers, ["Lan", None, "", "  ", None, None, None, None, None])
    assert data == {"full_name": "Lan"}
    assert errors == []


def test_ignored_columns_are_not_read() -> None:
    data, errors = one(["Họ và tên", "SĐT"], ["Lan", "không phải số"], columns=["full_name", "ignore"])
    assert data == {"full_name": "Lan"}
    assert errors == []


# --- rows ------------------------------------------------------------------------------------------


def test_row_numbers_count_the_header_and_skip_empty_rows() -> None:
    results = parse(["Họ và tên", "SĐT"], ["Lan", None], [None, None], ["", " "], ["Minh", "0912345678"])
    assert [(n, d["full_name"]) for n, d, _ in results] == [(2, "Lan"), (5, "Minh")]


def test_row_error_fields() -> None:
    ((rownum, _, errors),) = parse(["Họ và tên", "Ngày sinh"], ["Lan", "99/99/1999"])
    assert rownum == 2
    assert errors == [RowError(2, "Ngày sinh", "99/99/1999", errors[0].message)]
    assert "99/99/1999" in errors[0].message


def test_row_with_only_ignored_columns_filled_has_no_name() -> None:
    results = parse(["Họ và tên", "STT"], [None, 7])
    assert [e.column for e in results[0][2]] == ["(name)"]


def test_preview_limits_rows_but_keeps_every_error() -> None:
    rows = [[f"Khách {i}", "sai" if i % 10 == 0 else "0912345678"] for i in range(60)]
    t = table(["Họ và tên", "SĐT"], *rows)
    shown, errors = preview(t, Mapping(["full_name", "phone"]))
    assert len(shown) == PREVIEW_ROWS == 20
    assert shown[0] == (2, {"full_name": "Khách 0"})
    assert [e.row for e in errors] == [2 + i for i in range(0, 60, 10)]
    shown, errors = preview(t, Mapping(["full_name", "phone"]), limit=5)
    assert [n for n, _ in shown] == [2, 3, 4, 5, 6]
    assert len(errors) == 6


# --- whole files -----------------------------------------------------------------------------------


def test_xlsx_file_end_to_end() -> None:
    data = xlsx_bytes(
        {
            "Khách": [
                ["Họ", "Tên", "Di động", "Ngày sinh", "MST", "Tỉnh/TP", "Phường/Xã", "Công nợ"],
                [
                    "NGUYỄN THỊ",
                    "LAN",
                    912345678,
                    datetime.date(1990, 3, 15),
                    101243150,
                    "Hà Nội",
                    "Ba Đình",
                    2500000,
                ],
                ["Trần", "Minh", 987654321.0, 32947, None, 79, "Bến Thành", "1,5tr"],
            ]
        }
    )
    t = read_table(data, filename="khach.xlsx")
    results = list(parse_rows(t, Mapping(auto_map(t.headers)), today=TODAY))
    assert results[0] == (
        2,
        {
            "full_name": "Nguyễn Thị Lan",
            "phones": [{"number": "+84912345678", "label": "mobile"}],
            "birthday": datetime.date(1990, 3, 15),
            "tax_code": "0101243150",
            "province": "01",
            "ward": "Phường Ba Đình",
            "receivable_amount": 2_500_000,
        },
        [],
    )
    assert results[1][1]["province"] == "79"
    assert results[1][1]["ward"] == "Phường Bến Thành"
    assert results[1][1]["birthday"] == datetime.date(1990, 3, 15)
    assert results[1][1]["receivable_amount"] == 1_500_000


def test_vcard_end_to_end() -> None:
    card = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Nguyễn;Lan;Thị;;\nTEL;TYPE=CELL:0912.345.678\nTEL:+84 24 3826 1234\n"
        "EMAIL:LAN@EXAMPLE.COM\nBDAY:1990-03-15\nORG:Hoa Sen\nTITLE:Kế toán\n"
        "ADR:;;12 Lê Lợi;Phường Bến Thành;TP Hồ Chí Minh;;Việt Nam\nEND:VCARD\n"
    )
    t = read_table(card.encode(), filename="c.vcf")
    ((rownum, data, errors),) = list(parse_rows(t, Mapping(auto_map(t.headers)), today=TODAY))
    assert rownum == 2
    assert errors == []
    assert data == {
        "full_name": "Nguyễn Thị Lan",
        "company": "Hoa Sen",
        "job_title": "Kế toán",
        "phones": [
            {"number": "+84912345678", "label": "mobile"},
            {"number": "+842438261234", "label": "mobile"},
        ],
        "emails": ["lan@example.com"],
        "birthday": datetime.date(1990, 3, 15),
        "legacy_address": "12 Lê Lợi, Phường Bến Thành, TP Hồ Chí Minh, Việt Nam",
        "province": "79",
        "ward": "Phường Bến Thành",
    }


def test_cp1258_file_end_to_end() -> None:
    text = csv_text(
        [["Họ và tên", "SĐT", "Tỉnh/TP"], ["Đặng Thị Huyền", "0912 345 678", "Thừa Thiên Huế"]], ";"
    )
    t = read_table(cp1258_bytes(text), filename="k.csv")
    ((_, data, errors),) = list(parse_rows(t, Mapping(auto_map(t.headers)), today=TODAY))
    assert data == {
        "full_name": "Đặng Thị Huyền",
        "phones": [{"number": "+84912345678", "label": "mobile"}],
        "province": "46",
    }
    assert errors == []


# --- round-trip property ---------------------------------------------------------------------------

VIETNAMESE_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
words = st.text(alphabet=VIETNAMESE_LOWER, min_size=1, max_size=7).map(lambda w: w.capitalize())
names = st.lists(words, min_size=2, max_size=4).map(" ".join)
MOBILE_PREFIXES = [
    "90",
    "91",
    "93",
    "96",
    "97",
    "98",
    "86",
    "88",
    "32",
    "35",
    "38",
    "70",
    "77",
    "81",
    "85",
    "56",
]
nationals = st.tuples(st.sampled_from(MOBILE_PREFIXES), st.from_regex(r"[0-9]{7}", fullmatch=True)).map(
    "".join
)
PHONE_STYLES = [
    "0{n}",
    "{n}",
    "+84{n}",
    "84{n}",
    "0{a}.{b}.{c}",
    "0{a} {b} {c}",
    "0{a}-{b}-{c}",
    "+84 {a} {b} {c}",
]


@st.composite
def phone_texts(draw: st.DrawFn) -> str:
    national = draw(nationals)
    style = draw(st.sampled_from(PHONE_STYLES))
    return style.format(n=national, a=national[:3], b=national[3:6], c=national[6:])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(names, st.lists(phone_texts(), min_size=1, max_size=2), st.booleans(), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_csv_round_trip_to_normalised_values(
    rows: list[tuple[str, list[str], bool, bool]], encoding: str, delimiter: str
) -> None:
    lines: list[list[str]] = [["Họ và tên", "Số điện thoại"]]
    for name, phones, nfd, shout in rows:
        written = name.upper() if shout else name
        written = unicodedata.normalize("NFD", written) if nfd else written
        lines.append([written, " / ".join(phones)])
    text = csv_text(lines, delimiter=delimiter)
    data = cp1258_bytes(text) if encoding == "cp1258" else text.encode(encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(codecs.BOM_UTF8)
    t = read_table(data, filename="danh-sach.csv")
    assert t.encoding_confident
    results = list(parse_rows(t, Mapping(auto_map(t.headers)), today=TODAY))
    assert len(results) == len(rows)
    for (rownum, parsed, errors), (index, (name, phones, _nfd, _shout)) in zip(
        results, enumerate(rows), strict=True
    ):
        assert rownum == index + 2
        assert errors == []
        assert parsed["full_name"] == normalize_name(name)
        expected = list(dict.fromkeys(normalize_phone(p) for p in phones))
        assert [p["number"] for p in parsed["phones"]] == expected
