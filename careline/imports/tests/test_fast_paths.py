"""The fast lanes of the import (memos, one-phone / one-email / name / province lanes, inlined XLSX cell
conversion, the staged row's search text) give exactly what the full code gives, on typed and odd cells."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.customers.search import customer_search_text
from careline.imports.mapping import Mapping
from careline.imports.parsing import (
    FIRST_DATA_ROW,
    RowError,
    _as_text,
    _Errors,
    _Fail,
    _is_empty,
    _parse_emails,
    _parse_name,
    _parse_phones,
    _parse_place,
    _parse_tags,
    _Parsers,
    _plan,
    parse_rows,
)
from careline.imports.readers import Cell, Table, _xlsx_cell, read_table
from careline.imports.staging import Record, _json_pairs, _json_strings, _search_text
from careline.imports.tests import xlsx_bytes
from careline.vn import fold

TODAY = datetime.date(2026, 6, 1)


def reference_rows(
    table: Table, mapping: Mapping, today: datetime.date
) -> Iterator[tuple[int, dict[str, Any], list[RowError]]]:
    """parse_rows as it was before its fast lanes: every cell through its full parser."""
    parsers = _Parsers(today)
    plan = _plan(table, mapping, parsers)
    for index, row in enumerate(table.rows):
        if row.count(None) + row.count("") == len(row):
            continue
        rownum = index + FIRST_DATA_ROW
        data: dict[str, Any] = {}
        errors = _Errors(rownum, table.headers)
        fail = errors.add
        for column, key, parser in plan.simple:
            value = row[column]
            if _is_empty(value):
                continue
            try:
                data[key] = parser(value)
            except _Fail as exc:
                fail(column, value if exc.value is None else exc.value, exc.message)
        _parse_name(plan, row, data, errors)
        if plan.phones:
            _parse_phones(plan, row, data, parsers, fail)
        if plan.emails:
            _parse_emails(plan, row, data, fail)
        if plan.tags:
            _parse_tags(plan, row, data)
        if plan.notes:
            notes = [_as_text(row[c]) for c in plan.notes if not _is_empty(row[c])]
            if notes:
                data["note"] = "\n".join(notes)
        if plan.address is not None or plan.province is not None or plan.ward is not None:
            _parse_place(plan, row, data, parsers, fail)
        if not data and all(_is_empty(v) for v in row):
            continue
        yield rownum, data, errors.items


NAMES = ["Nguyễn Văn An", "TRẦN THỊ BÍCH", "lê hoàng", "Ðỗ Minh", "Nguye\u0302\u0303n Lan", "  Phạm  Hà ",
         "McDonald Trần", "Công ty TNHH Sao Mai", "x" * 201, "   ", "", "An"]  # fmt: skip
PHONES: list[Cell] = ["0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678", "912345678",
                      "0912-345-678", 912345678, 84912345678, 912345678.0, 912345678.5, True, "0283 822 1234",
                      "(08) 3822 1234", "0912345678; 0987654321", "không có", "12345", "...", " 0912345678 ",
                      "+84 0912 345 678", "0812 345 678", "", "  ", "0912345678 / 0912345678"]  # fmt: skip
EMAILS: list[Cell] = ["an@gmail.com", "AN@Gmail.COM", "'an@gmail.com", "mailto:an@gmail.com",
                      "<an@gmail.com>", "a@b.c", "an@gmail.com, binh@yahoo.com", "không", "x", "an@gmaıl.com",
                      "an@gmail.com ", "a" * 250 + "@x.com", 12, "", "n/a"]  # fmt: skip
BIRTHDAYS: list[Cell] = [datetime.date(1990, 3, 15), datetime.datetime(1985, 5, 13, 10, 30), "15/03/1990",
                         "1990", 1990, 32874, 32874.5, datetime.date(2030, 1, 1), datetime.date(1850, 1, 1),
                         "31/02/1990", "", "hôm qua", True]  # fmt: skip
PROVINCES: list[Cell] = ["Hà Nội", "TP.HCM", "HCM", "Sài Gòn", "Đà Nẵng", "Bình Dương", "01", 1, 79, "Atlantis",
                         "", " ", "Tp. Đà Nẵng", "Huế"]  # fmt: skip
STAGES: list[Cell] = ["Khách hàng", "lead", "KH", "Tiềm năng", "nope", "", None]
KINDS: list[Cell] = ["Cá nhân", "Công ty", "", None, "robot"]

LAYOUTS = [  # (headers, mapping): the everyday layout gets every fast lane; the others some or none
    (["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP"],
     ["full_name", "phone", "email", "birthday", "province"]),
    (["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP", "Giai đoạn"],
     ["full_name", "phone", "email", "birthday", "province", "stage"]),
    (["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP", "Loại"],
     ["full_name", "phone", "email", "birthday", "province", "kind"]),
    (["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP", "Công ty"],
     ["full_name", "phone", "email", "birthday", "province", "company"]),
    (["Họ và tên", "Họ", "Tên", "SĐT", "Email"], ["full_name", "last_name", "first_name", "phone", "email"]),
    (["Họ và tên", "SĐT", "SĐT nhà", "Email", "Email 2", "Ngày sinh", "Địa chỉ"],
     ["full_name", "phone", "phone", "email", "email", "birthday", "address"]),
]  # fmt: skip


def _cell(options: list[Cell]) -> st.SearchStrategy[Cell]:
    return st.one_of(st.sampled_from([*options, None]), st.text(max_size=12))


@st.composite
def tables(draw: st.DrawFn) -> tuple[Table, Mapping]:
    headers, columns = draw(st.sampled_from(LAYOUTS))
    pools = {
        "full_name": NAMES, "company": NAMES, "phone": PHONES, "email": EMAILS, "birthday": BIRTHDAYS,
        "province": PROVINCES, "address": ["12 Lê Lợi, Quận 1, TP.HCM", "Hà Nội", "xóm 3"], "stage": STAGES,
        "kind": KINDS, "last_name": ["Nguyễn", "TRẦN", ""], "first_name": ["An", "bích", " "],
    }  # fmt: skip
    # Few distinct values, many rows: the memos are hit, and a value that failed once comes again.
    palette = [draw(st.lists(_cell(pools[c]), min_size=1, max_size=4)) for c in columns]
    rows = draw(
        st.lists(st.lists(st.integers(0, 3), min_size=len(columns), max_size=len(columns)), max_size=12)
    )
    grid = [[palette[c][i % len(palette[c])] for c, i in enumerate(r)] for r in rows]
    return Table(headers=headers, rows=grid, format="xlsx"), Mapping(columns)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_parse_rows_fast_lanes_give_what_the_full_parsers_give(case: tuple[Table, Mapping]) -> None:
    table, mapping = case
    assert list(parse_rows(table, mapping, today=TODAY)) == list(reference_rows(table, mapping, TODAY))


def test_the_memo_does_not_hide_a_repeated_error() -> None:
    headers, columns = LAYOUTS[0]
    rows: list[list[Cell]] = [["Nguyễn An", "0912345678", None, datetime.date(2030, 1, 1), "Atlantis"]] * 3
    result = list(parse_rows(Table(headers=headers, rows=rows, format="xlsx"), Mapping(columns), today=TODAY))
    assert [len(errors) for _row, _data, errors in result] == [2, 2, 2]
    assert result == list(
        reference_rows(Table(headers=headers, rows=rows, format="xlsx"), Mapping(columns), TODAY)
    )


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(TEXT, st.sampled_from(NAMES), st.integers(-(10**12), 10**12),
                          st.floats(allow_nan=False, allow_infinity=False, width=32),
                          st.dates(datetime.date(1900, 3, 1), datetime.date(2100, 1, 1))),
                min_size=1, max_size=6))  # fmt: skip
def test_xlsx_cells_read_as_xlsx_cell_converts_them(values: list[Any]) -> None:
    import io

    from python_calamine import CalamineWorkbook

    data = xlsx_bytes({"S": [["Mã", *(["Tên"] * len(values))], ["x", *values]]})
    raw = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    expected = [_xlsx_cell(v) for v in raw[1]]
    assert read_table(data, filename="a.xlsx").rows == [expected + [None] * (1 + len(values) - len(expected))]


E164 = st.one_of(
    st.from_regex(r"\+84(3[2-9]|5[2689]|7[06-9]|8[1-9]|9[0-9])[0-9]{7}", fullmatch=True),
    st.from_regex(r"\+84(2[0-9])[0-9]{8}", fullmatch=True),
    st.sampled_from(["+8419005454", "+12025550123", "+84", "", "12"]),
)


@settings(max_examples=300, deadline=None)
@given(
    name=st.one_of(TEXT, st.sampled_from(NAMES)),
    numbers=st.lists(E164, max_size=3),
    emails=st.lists(
        st.one_of(st.emails().map(str.lower), TEXT, st.sampled_from(["A@B.VN", "a\tb@c.vn", ""])), max_size=3
    ),  # fmt: skip
    tax_code=st.sampled_from(["", "0101234567", "0101234567-001"]),
)
def test_search_text_is_customer_search_text(
    name: str, numbers: list[str], emails: list[str], tax_code: str
) -> None:
    expected = customer_search_text(full_name=name, phones=numbers, emails=emails, tax_code=tax_code)
    assert _search_text(fold(name), numbers, emails, tax_code) == expected


@given(
    st.lists(
        st.tuples(st.one_of(E164, TEXT), st.one_of(st.sampled_from(["mobile", "zalo"]), TEXT)), min_size=1
    )
)
def test_json_pairs_fast_form_is_the_json_of_the_pairs(pairs: list[tuple[str, str]]) -> None:
    assert json.loads(_json_pairs(pairs)) == [list(p) for p in pairs]
    assert json.loads(_json_strings([a for a, _b in pairs])) == [a for a, _b in pairs]


def test_dedup_keys_in_deciding_order() -> None:
    rec = Record(row=2, data={"tax_code": "0101234567", "external_ref": 77},
                 phones=[("+84912345678", "mobile"), ("+84987654321", "home")], emails=["a@b.vn"])  # fmt: skip
    assert rec.dedup_keys() == ["p:+84912345678", "p:+84987654321", "e:a@b.vn", "t:0101234567", "x:77"]
