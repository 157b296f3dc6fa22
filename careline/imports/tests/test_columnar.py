"""The column-wise XLSX lane (careline.imports.columnar) stages exactly what the row engine stages — the same
staged rows, errors, dedup keys, groups and leaders — on generated workbooks with typed and odd cells; it
hands the files it does not take to the row engine; and an XLSX import through it ends as the same
customers as through the row engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.customers.models import ContactPoint, Customer
from careline.imports import columnar, services
from careline.imports.mapping import Mapping, auto_map
from careline.imports.readers import read_outline, read_table
from careline.imports.staging import Stage
from careline.imports.tests import xlsx_bytes

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)


class CapturedStage(Stage):
    """The import's stage, keeping the staged rows in memory (dates as date objects, as COPY gets them)
    instead of writing them."""

    def __init__(self) -> None:
        super().__init__()
        self.vendor = "postgresql"
        self.rows: list[tuple[Any, ...]] = []

    def flush(self) -> None:
        self.rows += self._batch
        self.staged += len(self._batch)
        self._batch = []

    def add_frame(self, frame: Any) -> None:
        self.flush()
        self.rows += frame.rows()
        self.staged += frame.height


def both_engines(data: bytes, columns: list[str] | None = None) -> tuple[Any, Any, Any, Any]:
    """(lane result, lane rows, row engine's Checked, row engine rows) of one workbook."""
    table = read_table(data, filename="k.xlsx")
    mapping = Mapping(columns or auto_map(table.headers))
    lane_stage = CapturedStage()
    lane = columnar.stage_xlsx(
        data,
        sheet=None,
        headers=table.headers,
        mapping=mapping,
        stage=lane_stage,
        read_table=lambda: table,
        today=TODAY,
    )
    row_stage = CapturedStage()
    from careline.imports import parsing

    real_today = parsing._today
    parsing._today = lambda: TODAY  # stage_rows reads "today" itself
    try:
        checked = services.stage_rows(table, mapping, row_stage)
    finally:
        parsing._today = real_today
    lane_stage.flush()  # as Stage.index() does after the last row
    row_stage.flush()
    return lane, sorted(lane_stage.rows), checked, sorted(row_stage.rows)


def assert_same(lane: Any, lane_rows: Any, checked: Any, rows: Any, table_rows: int) -> None:
    assert lane is not None
    assert lane_rows == rows
    assert lane.checked.errors == checked.errors
    assert lane.checked.failed_rows == checked.failed_rows
    assert lane.checked.by_key == checked.by_key
    assert lane.checked.groups == checked.groups
    assert lane.checked.also == checked.also
    assert lane.row_count == table_rows


HEADER = ["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP"]


def test_the_everyday_file_is_staged_column_wise_as_the_rows_would_be() -> None:
    rows: list[list[Any]] = [HEADER]
    for i in range(300):
        national = f"91{i:07d}"
        phone: Any = [f"0{national[:3]} {national[3:6]} {national[6:]}", f"0{national}", int(national),
                      f"+84 {national[:3]} {national[3:6]} {national[6:]}", "84" + national,
                      f"0{national[:3]}.{national[3:6]}.{national[6:]}"][i % 6]  # fmt: skip
        email = f"KH{i}@Example.VN" if i % 3 else None
        birthday = datetime.date(1980 + i % 30, 1 + i % 12, 1 + i % 28) if i % 4 else None
        rows.append([["nguyễn thị lan", "TRẦN VĂN HÙNG", "Lê  Mai"][i % 3], phone, email, birthday,
                     ["Hà Nội", "TP.HCM", "Sài Gòn", None][i % 4]])  # fmt: skip
    rows.append(["Lan lặp số", "0910000007", None, None, None])  # the phone of row 9 (i = 7) again
    rows.append(["Lan lặp email", "0987 654 321", "kh5@example.vn", None, None])  # the email of i = 5
    rows.append([None, None, None, None, None])  # an empty row in the middle
    rows.append(["Người lạ", "0283 822 1234", "a@b.c", datetime.date(2030, 1, 1), "Atlantis"])  # row engine
    rows.append(["Hai số", "0912345678; 0987000111", None, None, None])  # row engine, no error
    data = xlsx_bytes({"KH": rows})
    lane, lane_rows, checked, staged = both_engines(data)
    assert_same(lane, lane_rows, checked, staged, len(rows) - 1)
    assert lane.lane_rows == 300 + 2 and lane.row_engine_rows == 2
    assert checked.groups and checked.errors  # the file has duplicates and an error: both were compared


@pytest.mark.parametrize(
    ("rows", "columns"),
    [
        ([["rownum", "SĐT", "Email", "leader"], ["An", "0912345678", None, "x"]], ["full_name", "phone", "email", "ignore"]),
        ([HEADER, ["An", "0912345678", None, None, None], ["Bình", None, None, None, None]], None),  # empty columns
    ],
)  # fmt: skip
def test_header_names_and_empty_columns_do_not_disturb_the_lane(rows: list[list[Any]], columns: Any) -> None:
    lane, lane_rows, checked, staged = both_engines(xlsx_bytes({"KH": rows}), columns)
    assert_same(lane, lane_rows, checked, staged, len(rows) - 1)
    assert lane.lane_rows == len(rows) - 1


TEXTS = ["Nguyễn Văn An", "TRẦN THỊ BÍCH", "  Phạm  Hà ", "x" * 201, "   ", "An", "Nguye\u0302\u0303n Lan"]
PHONES: list[Any] = ["0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678", 912345678, 84912345678,
                     912345678.5, "0283 822 1234", "(08) 3822 1234", "0912345678; 0987654321", "không có",
                     "12345", " 0912345678 ", "+84 0912 345 678", "0812 345 678", "0901234567", "  ",
                     "0912345678\t", "84 912 345 678", "0890 123 456", 91234567.8]  # fmt: skip
EMAILS: list[Any] = ["an@gmail.com", "AN@Gmail.COM", "'an@gmail.com", "mailto:an@gmail.com", "<an@gmail.com>",
                     "a@b.c", "an@gmail.com, binh@yahoo.com", "không", "an@gmaıl.com", "an@gmail.com ",
                     "a" * 250 + "@x.com", "x@y-.com", "x@y.c-m", "  "]  # fmt: skip
DATES: list[Any] = [datetime.date(1990, 3, 15), datetime.date(2030, 1, 1), datetime.date(1900, 3, 1),
                    datetime.date(1975, 4, 30)]  # fmt: skip
DATE_TEXTS: list[Any] = ["15/03/1990", "1990", "31/02/1990", "hôm qua", "1/2/85"]
PROVINCES: list[Any] = ["Hà Nội", "TP.HCM", "HCM", "Sài Gòn", "Đà Nẵng", "01", "Atlantis", "Huế", " "]
STAGES: list[Any] = ["Khách hàng", "lead", "KH", "Tiềm năng", "nope"]
TAGS: list[Any] = ["VIP, Hà Nội", "vip", "* myContacts", "Khách sỉ;khách SỈ"]
AMOUNTS: list[Any] = [1500000, 1.5, "1,5tr", "2 triệu", "abc"]

LAYOUTS = [  # (headers, mapping, pools): the lane takes every one of these
    (HEADER, ["full_name", "phone", "email", "birthday", "province"], [TEXTS, PHONES, EMAILS, DATES, PROVINCES]),
    (HEADER, ["full_name", "phone", "email", "birthday", "province"],
     [TEXTS, PHONES, EMAILS, DATE_TEXTS, PROVINCES]),
    (["Tên", "Di động", "Giai đoạn", "Nhãn", "Công nợ", "Ghi chú", "Bỏ qua"],
     ["full_name", "phone", "stage", "tags", "receivable_amount", "note", "ignore"],
     [TEXTS, PHONES, STAGES, TAGS, AMOUNTS, ["gọi lại", None], [1, "x", None]]),
    (["Tên", "Email", "MST", "Mã KH"], ["full_name", "email", "tax_code", "external_ref"],
     [TEXTS, EMAILS, ["0101234567", "0101234567-001", "12345", None], ["A1", "A2", "A1", "B" * 70]]),
]  # fmt: skip


@st.composite
def workbooks(draw: st.DrawFn) -> tuple[bytes, list[str], int]:
    headers, columns, pools = draw(st.sampled_from(LAYOUTS))
    # Each column keeps to one kind of cell (text, number or date), as the lane needs; the phone column mixes.
    palettes = []
    for c, pool in enumerate(pools):
        kinds = {type(v) for v in pool if v is not None}
        if columns[c] != "phone" and len(kinds) > 1:
            kind = draw(st.sampled_from(sorted(kinds, key=lambda k: k.__name__)))
            pool = [v for v in pool if v is None or isinstance(v, kind)]
        palettes.append(draw(st.lists(st.sampled_from([*pool, None]), min_size=1, max_size=4)))
    picks = draw(st.lists(st.lists(st.integers(0, 3), min_size=len(columns), max_size=len(columns)),
                          min_size=1, max_size=14))  # fmt: skip
    grid = [[palettes[c][i % len(palettes[c])] for c, i in enumerate(r)] for r in picks]
    return xlsx_bytes({"KH": [headers, *grid]}), columns, len(grid)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workbooks())
def test_the_lane_stages_what_the_row_engine_stages(case: tuple[bytes, list[str], int]) -> None:
    data, columns, _rows = case
    table = read_table(data, filename="k.xlsx")
    lane, lane_rows, checked, rows = both_engines(data, columns)
    assert_same(lane, lane_rows, checked, rows, len(table.rows))


@pytest.mark.parametrize(
    "rows",
    [
        [["Tên", "Công ty"], ["An", "Sao Mai"]],  # a company column: the row engine's name rules
        [
            HEADER,
            ["An", "0912345678", None, "15/03/1990", None],
            ["Bình", None, None, datetime.date(1990, 1, 2), None],
        ],
        [["Tên", "Tên"], ["An", "Bình"]],  # a repeated header
        [["Tên", None, "SĐT"], ["An", "x", "0912345678"]],  # a column without a header
        [["Tên", "SĐT", "SĐT 2"], ["An", "0912345678", "0987654321"]],  # two phone columns
    ],
)
def test_files_outside_the_lane_go_to_the_row_engine(rows: list[list[Any]]) -> None:
    data = xlsx_bytes({"KH": rows})
    table = read_table(data, filename="k.xlsx")
    lane = columnar.stage_xlsx(
        data, sheet=None, headers=table.headers, mapping=Mapping(auto_map(table.headers)), stage=CapturedStage(),
        read_table=lambda: table,
    )  # fmt: skip
    assert lane is None


def test_the_upload_outline_matches_the_row_reader() -> None:
    rows = [HEADER, ["An", 912345678, None, datetime.date(1990, 1, 2), "Hà Nội"], [None] * 5,
            ["Bình", "0987654321", "b@x.vn", None, None], [None] * 5]  # fmt: skip
    data = xlsx_bytes({"KH": rows, "Một": [["x"], ["y"]]}, start_row=2, start_col=1)
    for sheet in ("KH", None, "Một"):
        outline = read_outline(data, filename="k.xlsx", sheet=sheet)
        table = read_table(data, filename="k.xlsx", sheet=sheet)
        assert (outline.headers, outline.rows, outline.format) == (table.headers, len(table.rows), "xlsx")
        assert outline.table is None  # read column-wise, not row by row


def _refusals() -> list[tuple[bytes, str, dict[str, Any]]]:
    from careline.imports.tests import zip_bytes
    from careline.imports.tests.test_readers import _bomb

    good = xlsx_bytes(
        {"KH": [HEADER, ["An", "0912345678", None, None, None], ["Bình", None, None, None, None]]}
    )
    return [
        (_bomb(100), "khach.xlsx", {}),  # zip bomb
        (good[: len(good) // 2], "khach.xlsx", {}),  # damaged
        (
            zip_bytes(
                {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}
            ),
            "khach.ods",
            {},
        ),  # fmt: skip
        (xlsx_bytes({"KH": [HEADER]}), "khach.xlsx", {}),  # header, no rows
        (xlsx_bytes({"KH": []}), "khach.xlsx", {}),  # an empty sheet
        (good, "khach.xlsx", {"sheet": "Không có"}),  # no such sheet
        (good, "khach.xlsx", {"max_rows": 1}),
        (good, "khach.xlsx", {"max_bytes": len(good) - 1}),
    ]


@pytest.mark.parametrize(("data", "filename", "kwargs"), _refusals())
def test_the_upload_outline_refuses_what_the_row_reader_refuses(
    data: bytes, filename: str, kwargs: Any
) -> None:
    from careline.imports.readers import ImportFileError

    with pytest.raises(ImportFileError) as by_rows:
        read_table(data, filename=filename, **kwargs)
    with pytest.raises(ImportFileError) as by_outline:
        read_outline(data, filename=filename, **kwargs)
    assert (by_outline.value.code, by_outline.value.message) == (by_rows.value.code, by_rows.value.message)


def test_a_refused_xlsx_upload_answers_422_and_keeps_no_job(org) -> None:
    from careline.core.errors import ApplicationError
    from careline.imports.models import Job
    from careline.imports.tests.test_readers import _bomb

    with pytest.raises(ApplicationError) as refused:
        services.import_upload(actor=org.admin, data=_bomb(100), filename="khach.xlsx")
    assert (refused.value.code, refused.value.status) == ("file_zip_bomb", 422)
    assert not Job.objects.exists()


def run(actor: Any, data: bytes, filename: str, **kwargs: Any) -> Any:
    job = services.import_start(actor=actor, data=data, filename=filename, run_now=True, **kwargs)
    job.refresh_from_db()
    return job


def customers_as_written() -> list[tuple[Any, ...]]:
    return sorted(
        (c.full_name, c.name_folded, c.search_text, c.birthday, c.province, c.stage, c.source,
         tuple(sorted((p.kind, p.value, p.label) for p in c.contact_points.all())))
        for c in Customer.objects.prefetch_related("contact_points")
    )  # fmt: skip


def test_an_xlsx_import_through_the_lane_writes_what_the_row_engine_writes(org, monkeypatch) -> None:
    rows: list[list[Any]] = [HEADER]
    for i in range(60):
        rows.append([f"Khách {i % 7} Nguyễn", int(f"91{i:07d}") if i % 2 else f"091{i:07d}",
                     f"k{i % 50}@x.vn", datetime.date(1990, 1 + i % 12, 1 + i % 28), "Hà Nội"])  # fmt: skip
    data = xlsx_bytes({"KH": rows})
    used: list[Any] = []
    real = columnar.stage_xlsx

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(result := real(*args, **kwargs))
        return result

    monkeypatch.setattr(columnar, "stage_xlsx", spy)
    job = run(org.admin, data, "khach.xlsx")
    assert used and used[0] is not None and used[0].lane_rows == 60
    assert (job.status, job.processed, job.created, job.options["merged_rows"]) == ("succeeded", 60, 50, 10)
    through_lane = customers_as_written()
    assert ContactPoint.objects.filter(kind="phone").count() == 60

    Customer.objects.all().delete()
    monkeypatch.setattr(columnar, "stage_xlsx", lambda *a, **k: None)  # the row engine
    again = run(org.admin, data, "khach.xlsx")
    assert (again.status, again.created) == ("succeeded", 50)
    assert customers_as_written() == through_lane


def test_a_bad_row_in_an_xlsx_is_reported_with_its_cells(org) -> None:
    from python_calamine import CalamineWorkbook

    rows = [HEADER, ["An", 912345678, None, datetime.date(1990, 1, 2), "Hà Nội"],
            ["Bình", "12345", "b@x", None, "Atlantis"], ["Chi", "0987654321", None, None, None]]  # fmt: skip
    job = run(org.admin, xlsx_bytes({"KH": rows}), "khach.xlsx")
    assert job.status == "failed" and job.failed == 1 and job.processed == 3
    assert {e["row"] for e in job.errors} == {3}
    assert Customer.objects.count() == 0
    report = services.job_result_path(job)
    assert report is not None
    sheet = CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    assert sheet[1][:2] == ["Bình", "12345"] and "Atlantis" in sheet[1][-1]

    partial = run(org.admin, xlsx_bytes({"KH": rows}), "khach.xlsx", all_or_nothing=False)
    assert (partial.status, partial.created, partial.failed) == ("succeeded", 2, 1)
    assert Customer.objects.filter(search_text__contains=" 0912345678 ").exists()
