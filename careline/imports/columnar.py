"""The column-wise lane of an XLSX import: the same staged rows as the row engine, without Python objects
per cell.

The row engine (readers.read_table → parsing.parse_rows → services.stage_rows) turns every cell into a
Python value and every row into a dict, a Record and a tuple: about 20 µs of interpreter work per row, five
times what reading the workbook costs. This lane reads the sheet once with fastexcel (calamine → Arrow
columns) and works per column with polars:

* the everyday phone and email cells (one mobile as people type it, one plain address) are read by
  vectorised expressions that give exactly what parsing._fast_phone and parse_rows' email lane give;
* every other mapped column (names, dates, provinces, choices, tags, amounts…) repeats few distinct values:
  each distinct value goes once through the row engine's own parser (the same functions), and the results
  are mapped back onto the column;
* a row with a cell that neither can decide (two numbers in one cell, a landline, a bad date, no name…) goes
  through parse_rows itself, with its cells read by the row reader, so its data and its errors are exactly
  what the row engine gives (the file is then read a second time, by readers.read_table);
* dedup leaders are found set-wise: a row none of whose keys appeared in an earlier row leads itself; only
  the rows that share a key with an earlier row run services.stage_rows' sequential loop;
* the staged rows go to the staging table as one frame (COPY of CSV on PostgreSQL, see Stage.add_frame).

The lane is an accelerator, not a second set of rules: when the file or the mapping is outside what it
handles (a column of mixed cell types other than a phone column, company / kind / split-name / address
columns, several phone or email columns, a header cell that is empty or repeated, a time-only cell),
:func:`stage_xlsx` returns None and the row engine runs. careline/imports/tests/test_columnar.py compares
the two on generated workbooks.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from careline.imports.mapping import IGNORE, Mapping
from careline.imports.parsing import (
    CHOICES,
    MAX_EMAIL_LENGTH,
    _Errors,
    _Fail,
    _fast_phone_prefixes,
    _fast_phone_prefixes_84,
    _parse_name,
    _parse_place,
    _parse_tags,
    _Parsers,
    _Plan,
    _plan,
    _today,
    parse_rows,
)
from careline.imports.readers import Cell, Table
from careline.imports.staging import (
    MODEL_KEYS,
    Checked,
    Stage,
    _json_pairs,
    frame_schema,
    name_columns,
)
from careline.vn.phones import _fast_mobile_prefixes, phone_search_tokens

# Targets the lane reads; any other mapped target sends the file to the row engine. A note column is read by
# the row engine and then left out of the staged row (staging.MODEL_KEYS has no note), so here it only
# counts for whether a row is empty.
_SIMPLE = frozenset(
    {"birthday", "receivable_due", "receivable_amount", "lunar_birthday", "tax_code", "external_ref",
     "job_title", "street", *(f for f in CHOICES if f != "kind")}
)  # fmt: skip
_LANE_TARGETS = frozenset({"full_name", "phone", "email", "province", "tags", "note", *_SIMPLE})
# parsing._EMAIL without its look-behind (Rust's regex has none): a TLD of 2–63 of [a-z0-9-] not ending in "-".
_EMAIL_RE = (
    r"\A[-!#$%&'*+/=?^_`{}|~0-9a-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,62}[a-z0-9]\z"
)
# What str.strip() / str.isspace() take for white space: Unicode White_Space plus U+001C–U+001F.
_BLANK_RE = r"\A[\s\x1c-\x1f]*\z"
_UNNAMED = "__UNNAMED__"
# fastexcel warns for every column without a cell under its header ("falling back to string"): expected here.
logging.getLogger("fastexcel.types.dtype").setLevel(logging.ERROR)
_TYPED_HEADER = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?|true|false|#.*")


@dataclass
class Staged:
    """What the lane leaves: the header texts, the number of data rows (as Table.rows counts them), what
    checking left (errors, dedup keys, groups: the row engine's Checked) and how many rows each path took."""

    headers: list[str]
    row_count: int
    checked: Checked = field(default_factory=Checked)
    lane_rows: int = 0  # rows staged column-wise
    row_engine_rows: int = 0  # rows the row engine read


class NotHere(Exception):
    """The file or the mapping is outside the lane: the row engine takes it."""


# --- reading ---------------------------------------------------------------------------------------------


def _load(data: bytes, sheet: str | None, string_columns: list[int] | None) -> tuple[Any, str]:
    """The sheet as a polars frame: strict cell types per column, except ``string_columns`` (phone, ignored
    and note columns), which read every cell as text. ``None``: every column as text (headers and row count
    only)."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)
        names = list(reader.sheet_names)
        if not names or (sheet is not None and sheet not in names):
            raise NotHere
        name = names[0] if sheet is None else sheet
        if string_columns is None:
            loaded = reader.load_sheet(name, dtypes="string")
        else:
            loaded = reader.load_sheet(
                name,
                dtype_coercion="strict",
                schema_sample_rows=None,
                dtypes=dict.fromkeys(string_columns, "string") or None,
            )
        frame = loaded.to_polars()
    except NotHere:
        raise
    except Exception as exc:  # mixed cells in a column, a damaged workbook: the row reader words it
        raise NotHere from exc
    return frame, name


def headers_of(raw: list[str]) -> list[str]:
    """The header texts as readers._rectangular makes them from fastexcel's column names, or NotHere when a
    name is not the cell itself (an empty header cell, a repeated one that fastexcel made unique)."""
    headers: list[str] = []
    for text in raw:
        if text.startswith(_UNNAMED) or not text.strip() or _TYPED_HEADER.fullmatch(text):
            raise NotHere  # (a date or yes/no header cell: the row reader writes it differently)
        clean = text.strip() if text.isascii() else unicodedata.normalize("NFC", text.strip())
        headers.append(" ".join(clean.split()))
    for i, text in enumerate(raw):
        base, sep, suffix = text.rpartition("_")
        if sep and suffix.isdigit() and base in raw[:i]:
            raise NotHere
    return headers


def _blank(pl: Any, column: str, dtype: Any) -> Any:
    """True where the cell is empty as the row reader sees it (None, or only white space)."""
    if dtype == pl.String:
        return pl.col(column).is_null() | pl.col(column).str.contains(_BLANK_RE)
    return pl.col(column).is_null()


def _row_count(pl: Any, frame: Any) -> int:
    """Data rows up to the last one with content (readers drop the empty rows at the end)."""
    if frame.height == 0:
        return 0
    filled = pl.any_horizontal([~_blank(pl, c, t) for c, t in frame.schema.items()])
    last = frame.select(filled.arg_true().max()).item()
    return 0 if last is None else int(last) + 1


def xlsx_outline(data: bytes, sheet: str | None) -> tuple[list[str], int] | None:
    """(headers, data rows) of an XLSX sheet without Python cells, or None when the row reader must read it
    (for the upload's draft; the file has passed readers.check_zip)."""
    import polars as pl

    try:
        frame, _name = _load(data, sheet, None)
        headers = headers_of(frame.columns)
    except NotHere:
        return None
    return headers, _row_count(pl, frame)


# --- the plan ----------------------------------------------------------------------------------------------


@dataclass
class _LanePlan:
    """Which columns of the sheet feed which step of the lane (from parsing._plan, the row engine's plan)."""

    name: int
    phone: int | None
    phone_label: str
    email: int | None
    province: int | None
    tags: int | None
    simple: list[tuple[int, str, Callable[[Cell], Any]]]
    text_columns: list[int]  # read as text: the phone column, ignored and note columns


def lane_plan(mapping: Mapping, headers: list[str], parsers: _Parsers) -> _LanePlan:
    columns = mapping.columns[: len(headers)]
    targets = [t for t in columns if t != IGNORE]
    if any(t not in _LANE_TARGETS for t in targets) or "full_name" not in targets:
        raise NotHere
    if targets.count("phone") > 1 or targets.count("email") > 1 or targets.count("tags") > 1:
        raise NotHere
    plan = _plan(Table(headers=headers, rows=[], format="xlsx"), mapping, parsers)
    if plan.phones and plan.phones[0][2] is not None:
        raise NotHere  # a phone label column
    assert plan.full_name is not None
    used = {plan.full_name, *(c for c, _l, _x in plan.phones), *plan.emails, *plan.tags}
    used |= {c for c, _k, _p in plan.simple}
    if plan.province is not None:
        used.add(plan.province)
    phone = plan.phones[0][0] if plan.phones else None
    email = plan.emails[0] if plan.emails else None
    return _LanePlan(
        name=plan.full_name,
        phone=phone,
        phone_label=plan.phones[0][1] if plan.phones else "",
        email=email,
        province=plan.province,
        tags=plan.tags[0] if plan.tags else None,
        simple=list(plan.simple),
        text_columns=sorted(
            {i for i in range(len(headers)) if i not in used} | {c for c in (phone, email) if c is not None}
        ),
    )


# --- staging ---------------------------------------------------------------------------------------------


def stage_xlsx(
    data: bytes,
    *,
    sheet: str | None,
    headers: list[str],
    mapping: Mapping,
    stage: Stage,
    read_table: Callable[[], Table],
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> Staged | None:
    """Stage the rows of an XLSX (checked by readers.check_zip, its headers and mapping those of the job)
    column-wise, or return None when the row engine must do it. ``read_table()`` gives the row reader's table
    (for the rows the lane leaves to parse_rows)."""
    import polars as pl

    parsers = _Parsers(today or _today())
    try:
        lp = lane_plan(mapping, headers, parsers)
        frame, _name = _load(data, sheet, lp.text_columns)
        if headers_of(frame.columns) != headers:
            raise NotHere
        frame.columns = [f"c{i}" for i in range(frame.width)]  # no header can clash with our own columns
        return _Lane(pl, frame, headers, mapping, lp, parsers, stage, read_table).run(progress)
    except NotHere:
        return None


def _cell_converter(pl: Any, dtype: Any) -> Callable[[Any], Cell]:
    """A polars value → the cell readers._xlsx_cell makes of the same spreadsheet cell."""
    if dtype == pl.String:

        def text(value: Any) -> Cell:
            if value is None:
                return None
            value = value.strip()
            if not value:
                return None
            return value if value.isascii() else unicodedata.normalize("NFC", value)

        return text
    if dtype == pl.Float64:
        return lambda v: None if v is None else (int(v) if v.is_integer() else v)
    if dtype == pl.Boolean or dtype == pl.Int64:
        return lambda v: v
    if dtype == pl.Date or dtype == pl.Null:  # Null: a column with a header and no cell below it
        return lambda v: v
    if isinstance(dtype, pl.Datetime):

        def when(value: Any) -> Cell:
            if value is None:
                return None
            if value.year < 1900:
                raise NotHere  # a time-only cell: calamine gives a time, fastexcel a datetime in 1899
            return value.date() if value.time() == dt.time() else value

        return when
    raise NotHere  # durations and other kinds of cells


class _Lane:
    def __init__(
        self,
        pl: Any,
        frame: Any,
        headers: list[str],
        mapping: Mapping,
        lp: _LanePlan,
        parsers: _Parsers,
        stage: Stage,
        read_table: Callable[[], Table],
    ) -> None:
        self.pl, self.frame, self.headers, self.mapping, self.lp = pl, frame, headers, mapping, lp
        self.parsers, self.stage, self.read_table = parsers, stage, read_table
        self.names = frame.columns  # column i of the sheet is frame column names[i]

    # Each column step returns polars columns: the staged value and "undecided" (the row goes to the
    # row engine). Per distinct value steps run the row engine's parser once per value.

    def _distinct(
        self, column: int, parse: Callable[[Cell], tuple[bool, Any]], dtype: Any
    ) -> tuple[Any, Any]:
        """(value, undecided) of a column whose every distinct value goes through ``parse(cell)`` →
        (decided, value); empty cells give (null, False)."""
        pl = self.pl
        name = self.names[column]
        src = self.frame.schema[name]
        convert = _cell_converter(pl, src)
        keys: list[Any] = []
        values: list[Any] = []
        undecided: list[Any] = []
        for raw in self.frame.get_column(name).unique().to_list():
            if raw is None:
                continue
            cell = convert(raw)
            if cell is None:
                continue
            decided, value = parse(cell)
            if decided:
                keys.append(raw)
                values.append(value)
            else:
                undecided.append(raw)
        col = pl.col(name)
        out = self.frame.select(
            col.replace_strict(
                pl.Series(keys, dtype=src), pl.Series(values, dtype=dtype), default=None, return_dtype=dtype
            ).alias("value"),
            col.is_in(pl.Series(undecided, dtype=src).implode()).alias("bad"),
        )
        return out.get_column("value"), out.get_column("bad")

    def _simple(self, column: int, key: str, parser: Callable[[Cell], Any]) -> tuple[Any, Any]:
        def parse(cell: Cell) -> tuple[bool, Any]:
            try:
                return True, parser(cell)
            except _Fail:
                return False, None

        pl = self.pl
        dtype = {
            "birthday": pl.Date,
            "receivable_due": pl.Date,
            "receivable_amount": pl.Int64,
            "lunar_birthday": pl.Boolean,
        }.get(key, pl.String)
        return self._distinct(column, parse, dtype)

    def _name(self) -> tuple[Any, Any, dict[str, tuple[str, str, str, str]]]:
        """(full_name, undecided, full name → its computed columns)."""
        plan = _Plan(full_name=0)
        computed: dict[str, tuple[str, str, str, str]] = {}

        def parse(cell: Cell) -> tuple[bool, Any]:
            data: dict[str, Any] = {}
            errors = _Errors(0, ["name"])
            _parse_name(plan, [cell], data, errors)
            if errors.items or "full_name" not in data or len(data["full_name"]) > 200:
                return False, None
            full = data["full_name"]
            if full not in computed:
                computed[full] = name_columns(full, organisation=False)
            return True, full

        value, undecided = self._distinct(self.lp.name, parse, self.pl.String)
        return value, undecided, computed

    def _province(self, column: int) -> tuple[Any, Any]:
        plan = _Plan(province=0)

        def parse(cell: Cell) -> tuple[bool, Any]:
            data: dict[str, Any] = {}
            failed: list[str] = []
            _parse_place(plan, [cell], data, self.parsers, lambda c, v, m: failed.append(m))
            if failed or "province" not in data:
                return False, None
            return True, data["province"]

        return self._distinct(column, parse, self.pl.String)

    def _tags(self, column: int) -> tuple[Any, Any]:
        plan = _Plan(tags=(0,))

        def parse(cell: Cell) -> tuple[bool, Any]:
            data: dict[str, Any] = {}
            _parse_tags(plan, [cell], data)
            tags = data.get("tags")
            return True, (tags_json(tags) if tags else None)

        return self._distinct(column, parse, self.pl.String)

    def _phone(self, column: int) -> tuple[Any, Any]:
        """parse_rows' one-phone lane on the cell's text: _fast_phone of the stripped cell when it has only
        digits, spaces and . - + and fewer than 18 characters. (A number cell reaches us as its digits; the
        row engine reads 912345678 and "912345678" alike.) Computed step by step: each intermediate column
        once."""
        pl = self.pl
        c = pl.col
        steps = (
            self.frame.select(c(self.names[column]).alias("raw"))
            .with_columns(c("raw").str.strip_chars(" ").alias("text"))
            .with_columns(
                (c("raw").str.contains(r"\A[0-9 .+\-]*\z") & (c("text").str.len_chars() < 18)).alias("plain"),
                c("text").str.starts_with("+84").alias("intl"),
            )
            .with_columns(pl.when(c("intl")).then(c("text").str.slice(3)).otherwise(c("text")).alias("body"))
            .with_columns(c("body").str.replace_all(r"[ .\-]", "").alias("digits"))
            .with_columns(
                c("digits").str.len_chars().alias("n"),
                c("digits").str.slice(0, 1).alias("d0"),
                c("digits").str.contains(r"\A[0-9]+\z").alias("only_digits"),
                # "(08) 3822 1234" is an old TP HCM landline: a national 8… number whose first group is 8 or 08
                c("body")
                .str.extract(r"([0-9]+)", 1)
                .is_in(pl.Series(["8", "08"]).implode())
                .alias("old_hcm"),
            )
            .with_columns(
                (
                    ~c("intl")
                    & (c("n") == 11)
                    & c("digits").str.starts_with("84")
                    & (c("digits") == c("body"))
                ).alias("form84")
            )
            .with_columns(
                pl.when(c("intl") & (c("n") == 9) & (c("d0") != "0"))
                .then(c("digits"))
                .when(c("form84"))
                .then(c("digits").str.slice(2))
                .when(~c("intl") & (c("n") == 10) & (c("d0") == "0"))
                .then(c("digits").str.slice(1))
                .when(~c("intl") & (c("n") == 9) & (c("d0") != "0"))
                .then(c("digits"))
                .alias("national")
            )
            .with_columns(c("national").str.slice(0, 3).alias("prefix"))
            .with_columns(
                (
                    c("only_digits")
                    & c("national").is_not_null()
                    & pl.when(c("form84"))
                    .then(c("prefix").is_in(pl.Series(sorted(_fast_phone_prefixes_84())).implode()))
                    .otherwise(
                        c("prefix").is_in(pl.Series(sorted(_fast_phone_prefixes())).implode())
                        & ~(c("national").str.starts_with("8") & c("old_hcm"))
                    )
                )
                .fill_null(False)
                .alias("ok")
            )
            .select(
                pl.when(c("plain") & c("ok")).then(pl.lit("+84") + c("national")).alias("number"),
                (
                    c("raw").is_not_null() & ~(c("plain") & ((c("text") == "") | c("ok"))).fill_null(False)
                ).alias("bad"),
            )
        )
        return steps.get_column("number"), steps.get_column("bad")

    def _email(self, column: int) -> tuple[Any, Any]:
        """parse_rows' one-email lane: an ASCII cell, stripped and lower-cased, one address, no quote first.
        Cells with white space or other characters go to the row engine."""
        pl = self.pl
        c = pl.col
        steps = (
            self.frame.select(c(self.names[column]).alias("raw"))
            .with_columns(c("raw").str.to_lowercase().alias("lower"))
            .with_columns(
                (
                    c("raw").str.contains(r"\A[!-~]+\z")
                    & ~c("raw").str.starts_with("'")
                    & (c("raw").str.len_bytes() <= MAX_EMAIL_LENGTH)
                    & c("lower").str.contains(_EMAIL_RE)
                ).alias("ok"),
                c("raw").str.contains(_BLANK_RE).alias("blank"),
            )
            .select(
                pl.when(c("ok")).then(c("lower")).alias("email"),
                (c("raw").is_not_null() & ~(c("ok") | c("blank")).fill_null(False)).alias("bad"),
            )
        )
        return steps.get_column("email"), steps.get_column("bad")

    # --- the run ---------------------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None) -> Staged:
        pl, lp, frame = self.pl, self.lp, self.frame
        count = _row_count(pl, frame)
        staged = Staged(headers=self.headers, row_count=count)
        frame = self.frame = frame.head(count).with_row_index("rownum", offset=2)
        filled = pl.any_horizontal([~_blank(pl, c, t) for c, t in frame.schema.items() if c != "rownum"])

        name, bad, computed = self._name()
        values: dict[str, Any] = {"full_name": name}
        undecided: list[Any] = [bad, name.is_null()]  # no name: the row engine words the error
        steps: list[tuple[str, Callable[[], tuple[Any, Any]]]] = [
            (key, functools.partial(self._simple, column, key, parser)) for column, key, parser in lp.simple
        ]
        by_column: list[tuple[str, int | None, Callable[[int], tuple[Any, Any]]]] = [
            ("province", lp.province, self._province), ("tags", lp.tags, self._tags),
            ("phone", lp.phone, self._phone), ("email", lp.email, self._email),
        ]  # fmt: skip
        for key, column, read in by_column:
            if column is not None:
                steps.append((key, functools.partial(read, column)))
        for key, step in steps:
            values[key], bad = step()
            undecided.append(bad)
        rows = (
            frame.select("rownum", filled.alias("_filled"))
            .with_columns(
                pl.Series("_undecided", functools.reduce(operator.or_, undecided)).fill_null(False),
                *(series.alias(key) for key, series in values.items()),
            )
            .filter(pl.col("_filled"))
        )
        slow = rows.filter(pl.col("_undecided"))
        lane = rows.filter(~pl.col("_undecided")).drop("_filled", "_undecided")
        if "external_ref" in lane.columns:
            lane = lane.with_columns(pl.col("external_ref").str.slice(0, 64))

        # Rows for the row engine: their records and keys (or their errors), in row order.
        records: dict[int, Any] = {}
        slow_keys: list[tuple[int, list[str]]] = []
        if slow.height:
            table = self.read_table()
            wanted = slow.get_column("rownum").to_list()
            sub = Table(headers=table.headers, rows=[table.rows[r - 2] for r in wanted], format=table.format)
            rows_of = parse_rows(sub, self.mapping, today=self.parsers.today, rownums=wanted)
            for rownum, row_data, row_errors in rows_of:
                rec = staged.checked.record(rownum, row_data, row_errors)
                if rec is not None:
                    records[rownum] = rec
                    slow_keys.append((rownum, rec.dedup_keys()))
            staged.row_engine_rows = slow.height

        leaders = self._leaders(lane, slow_keys, staged)
        for rownum, rec in records.items():
            self.stage.add(rec, leaders.get(rownum, rownum))
        if lane.height:
            self.stage.add_frame(self._staged_frame(lane, leaders, computed))
        staged.lane_rows = lane.height
        if progress is not None:
            progress(count)
        return staged

    def _key_columns(self, lane: Any) -> list[Any]:
        """The dedup keys of a lane row in Record.dedup_keys' order (phone, email, tax code, external id)."""
        pl = self.pl
        keys = []
        for column, prefix in (("phone", "p:"), ("email", "e:"), ("tax_code", "t:"), ("external_ref", "x:")):
            if column in lane.columns:
                value = pl.col(column)
                if column in ("tax_code", "external_ref"):
                    value = pl.when(value != "").then(value)
                keys.append(pl.lit(prefix) + value)
        return keys

    def _leaders(self, lane: Any, slow_keys: list[tuple[int, list[str]]], staged: Staged) -> dict[int, int]:
        """services.stage_rows' leaders, by_key, groups and also. A row none of whose keys was seen in an
        earlier row leads itself and is the first row of all its keys: those rows are settled set-wise. The
        rest (rows sharing a key with an earlier row) run the sequential loop in row order, after the settled
        rows' keys are in by_key — which gives the same result, since a settled row never takes another
        leader, and a row's keys first seen in a later row cannot be in by_key when the loop reaches it."""
        pl = self.pl
        key_columns = self._key_columns(lane)
        parts = []
        if key_columns and lane.height:
            parts.append(
                lane.select(
                    "rownum",
                    pl.concat_list([k.alias(f"k{i}") for i, k in enumerate(key_columns)]).alias("key"),
                )
                .with_columns(pl.col("rownum").cast(pl.Int64))
                .explode("key")
                .with_row_index("pos")
                .drop_nulls("key")
            )
        if slow_keys:
            parts.append(
                pl.DataFrame(
                    {
                        "rownum": [r for r, keys in slow_keys for _k in keys],
                        "key": [k for _r, keys in slow_keys for k in keys],
                    },
                    schema={"rownum": pl.Int64, "key": pl.String},
                ).with_row_index("pos", offset=1 << 30)
            )
        if not parts:
            return {}
        keys = pl.concat(parts).with_columns(pl.col("pos").cast(pl.Int64))
        keys = keys.with_columns(pl.col("rownum").min().over("key").alias("first"))
        dirty = keys.group_by("rownum").agg((pl.col("first") != pl.col("rownum")).any().alias("d"))
        dirty_rows = dirty.filter(pl.col("d")).get_column("rownum")
        settled = keys.filter(~pl.col("rownum").is_in(dirty_rows.implode()))
        checked = staged.checked
        checked.by_key.update(
            zip(settled.get_column("key").to_list(), settled.get_column("rownum").to_list(), strict=True)
        )
        leaders: dict[int, int] = {}
        if dirty_rows.len():
            pending = keys.filter(pl.col("rownum").is_in(dirty_rows.implode())).sort("rownum", "pos")
            pending_rows = pending.get_column("rownum").to_list()
            pending_keys = pending.get_column("key").to_list()
            start = 0
            while start < len(pending_rows):
                rownum = pending_rows[start]
                end = start
                while end < len(pending_rows) and pending_rows[end] == rownum:
                    end += 1
                leaders[rownum] = checked.lead(rownum, pending_keys[start:end])
                start = end
        return leaders

    def _staged_frame(
        self, lane: Any, leaders: dict[int, int], computed: dict[str, tuple[str, str, str, str]]
    ) -> Any:
        """The lane's rows as the stage's columns (Stage._row's values, column-wise)."""
        pl = self.pl
        lane = lane.with_columns(pl.col("rownum").cast(pl.Int64))
        if leaders:
            follower = pl.DataFrame(
                {"rownum": list(leaders), "leader": list(leaders.values())},
                schema={"rownum": pl.Int64, "leader": pl.Int64},
            )
            lane = lane.join(follower, on="rownum", how="left").with_columns(
                pl.col("leader").fill_null(pl.col("rownum"))
            )
        else:
            lane = lane.with_columns(pl.col("rownum").alias("leader"))
        leads = pl.col("leader") == pl.col("rownum")
        full = list(computed)
        parts: list[list[str]] = [[c[i] for c in computed.values()] for i in range(4)]

        def of_name(i: int) -> Any:
            return pl.col("full_name").replace_strict(full, parts[i], default=None, return_dtype=pl.String)

        name_tokens = of_name(3)  # fold() has joined the words with single spaces: the name's search tokens
        tokens = [pl.when(name_tokens != "").then(name_tokens)]
        if "phone" in lane.columns:
            tokens.append(self._phone_tokens(lane))
        if "email" in lane.columns:
            tokens.append(pl.col("email"))
        if "tax_code" in lane.columns:
            tax = pl.when(pl.col("tax_code") != "").then(pl.col("tax_code"))
            tokens += [
                tax,
                pl.when(tax.str.contains("-", literal=True)).then(tax.str.replace_all("-", "", literal=True)),
            ]
        search = pl.lit(" ") + pl.concat_str(tokens, separator=" ", ignore_nulls=True) + pl.lit(" ")
        head, tail = _json_pairs([("@N@", self.lp.phone_label)]).split("@N@")
        schema = frame_schema(pl)
        out = []
        for key in MODEL_KEYS:
            out.append(pl.col(key) if key in lane.columns else pl.lit(None, dtype=schema[key]).alias(key))
        out += [
            pl.when(leads).then(of_name(0)).alias("given_name"),
            pl.when(leads).then(of_name(1)).alias("name_folded"),
            pl.when(leads).then(of_name(2)).alias("given_folded"),
            pl.when(leads).then(search).alias("search_text"),
            (pl.lit(head) + pl.col("phone") + pl.lit(tail)).alias("phones") if "phone" in lane.columns
            else pl.lit(None, dtype=pl.String).alias("phones"),
            (pl.lit('["') + pl.col("email") + pl.lit('"]')).alias("emails") if "email" in lane.columns
            else pl.lit(None, dtype=pl.String).alias("emails"),
            pl.col("tags") if "tags" in lane.columns else pl.lit(None, dtype=pl.String).alias("tags"),
        ]  # fmt: skip
        return lane.select(pl.col("rownum"), pl.col("leader"), *out).cast(schema)

    def _phone_tokens(self, lane: Any) -> Any:
        """phone_search_tokens of the staged phone, joined by a space: 0… and 84… for the everyday mobile
        prefixes, the full function for the others (few distinct numbers)."""
        pl = self.pl
        national = pl.col("phone").str.slice(3)
        fast = national.str.slice(0, 3).is_in(sorted(_fast_mobile_prefixes()))
        others = lane.filter(pl.col("phone").is_not_null() & ~fast).get_column("phone").unique().to_list()
        slow = pl.col("phone").replace_strict(
            others, [" ".join(t for t in phone_search_tokens(p) if t) or None for p in others],
            default=None, return_dtype=pl.String,
        )  # fmt: skip
        return pl.when(fast).then(pl.lit("0") + national + pl.lit(" 84") + national).otherwise(slow)


def tags_json(tags: list[str]) -> str:
    """Stage._row's JSON of a row's tags."""
    import json

    from careline.vn import fold

    return json.dumps([[t, fold(t)[:50]] for t in tags], ensure_ascii=False)


__all__ = ["NotHere", "Staged", "headers_of", "stage_xlsx", "tags_json", "xlsx_outline"]
