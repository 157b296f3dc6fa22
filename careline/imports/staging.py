"""The streaming, set-based writer behind customer imports.

A million-row file must not become a million Python objects. The import reads the file once and parses it
row by row; each valid row goes, already normalised (E.164 phones, folded search columns computed once), into
a temporary staging table in batches (COPY on PostgreSQL, `executemany` on SQLite). Python keeps only the
dedup keys (phone, email, tax code, external id → the row that first had it) and the row errors.

After the file:

1. rows of the file that share a key are merged into the first one (few rows; done in Python, the staging
   rows of those groups are read back, merged and written again);
2. existing customers with the same keys are found with a few array queries (`= ANY` / `json_each`) over
   the keys, scoped to what the actor may see;
3. the new customers, their phones, emails and tags go into the real tables with set-based
   `INSERT … SELECT` statements from the staging table, in the caller's transaction (all or nothing).

The merge, match and write rules are those of the earlier row-by-row engine (see services._run).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from careline.customers.choices import ContactKind
from careline.customers.models import ContactPoint, Customer, Tag
from careline.imports.parsing import RowError
from careline.vn import fold, given_name
from careline.vn.phones import phone_search_tokens

STAGE = "careline_import_stage"
IDS = "careline_import_ids"
BATCH = 10_000  # staged rows per COPY / executemany
KEY_CHUNK = 50_000  # keys per match query (one array parameter each)

# Customer fields an import can fill (the data keys of parsing.parse_rows that are model fields).
MODEL_KEYS = (
    "kind", "full_name", "salutation", "job_title", "birthday", "lunar_birthday", "founded_on", "tax_code",
    "province", "ward", "street", "legacy_address", "tier", "stage", "source", "price_type", "contract_terms",
    "receivable_amount", "receivable_due", "external_ref",
)  # fmt: skip
COMPUTED = ("given_name", "name_folded", "given_folded", "search_text")
_POSITION = {key: i for i, key in enumerate(MODEL_KEYS)}
_MODEL_KEY_SET = frozenset(MODEL_KEYS)
_WIDTH = len(MODEL_KEYS) + len(COMPUTED)
NAME_MEMO = 50_000  # names whose computed columns one Stage remembers (names repeat a lot in real lists)
IMPORT_DEFAULTS = {"stage": "lead", "source": "import"}


@dataclass
class Record:
    """One row of the file with the rows merged into it: the model values it has (absent = not in the file),
    phones as (E.164, label), emails, tag names."""

    row: int
    data: dict[str, Any]
    phones: list[tuple[str, str]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def numbers(self) -> list[str]:
        return [p for p, _label in self.phones]

    def dedup_keys(self) -> list[str]:
        """The dedup/match keys in the order they decide: phones, emails, tax code, external id."""
        keys = ["p:" + p for p, _label in self.phones]
        if self.emails:
            keys += ["e:" + e for e in self.emails]
        data = self.data
        if data.get("tax_code"):
            keys.append("t:" + data["tax_code"])
        if data.get("external_ref"):
            keys.append("x:" + str(data["external_ref"]))
        return keys

    def merge(self, later: Record) -> None:
        """A duplicate row of the file adds what the first one lacks: every phone and email, empty fields,
        its tags. (Phones it adds get the default label, as a new phone on a card does.)"""
        numbers = self.numbers
        for p, _label in later.phones:
            if p not in numbers:
                self.phones.append((p, "mobile"))
                numbers.append(p)
        for e in later.emails:
            if e not in self.emails:
                self.emails.append(e)
        for key, value in later.data.items():
            if not self.data.get(key):
                self.data[key] = value
        if later.tags:
            self.tags = list(dict.fromkeys([*self.tags, *later.tags]))


def record_from_row(rownum: int, data: dict[str, Any]) -> Record:
    """A parsed row (parsing.parse_rows's data dict) as a Record."""
    phones = data.get("phones")
    emails = data.get("emails")
    tags = data.get("tags")
    values = {k: v for k, v in data.items() if k in _MODEL_KEY_SET}
    if values.get("external_ref") is not None:
        values["external_ref"] = str(values["external_ref"])[:64]
    return Record(
        row=rownum,
        data=values,
        phones=[
            (p["number"], p.get("label", "mobile")) if isinstance(p, dict) else (str(p), "mobile")
            for p in phones
        ]
        if phones
        else [],
        emails=list(emails) if emails else [],
        tags=list(tags) if tags else [],
    )


@dataclass
class Checked:
    """What checking the file leaves in memory: the row errors and the dedup keys of the staged rows. Both
    engines (services.stage_rows row by row, columnar.stage_xlsx for the rows it leaves to parse_rows and
    for the rows that share a key with an earlier row) go through :meth:`record` and :meth:`lead`."""

    errors: list[RowError] = field(default_factory=list)
    failed_rows: set[int] = field(default_factory=set)
    by_key: dict[str, int] = field(default_factory=dict)  # dedup key → the first row that had it (its leader)
    groups: dict[int, int] = field(default_factory=dict)  # leader → how many later rows were merged into it
    also: dict[str, set[int]] = field(default_factory=dict)  # key → other leaders whose rows have it

    def record(self, rownum: int, data: dict[str, Any], errors: list[RowError]) -> Record | None:
        """The Record of a parsed row (parsing.parse_rows' item), or None with its errors kept."""
        if errors:
            self.errors.extend(errors)
            self.failed_rows.add(rownum)
            return None
        if len(data.get("full_name", "")) > 200:
            self.errors.append(
                RowError(
                    rownum, "(name)", data["full_name"][:50], _("The name is longer than 200 characters.")
                )
            )
            self.failed_rows.add(rownum)
            return None
        return record_from_row(rownum, data)

    def lead(self, rownum: int, keys: list[str]) -> int:
        """The leader of a valid row, rows taken in file order: the leader of the first row that had one of its
        keys (in key order), else the row itself."""
        by_key = self.by_key
        leader = rownum
        for k in keys:
            first = by_key.get(k)
            if first is not None:
                leader = first
                break
        if leader != rownum:
            self.groups[leader] = self.groups.get(leader, 0) + 1
        for k in keys:
            first = by_key.setdefault(k, leader)
            if first != leader:  # this group holds a key of another group too (rare): match both
                self.also.setdefault(k, set()).add(leader)
        return leader


def _json_strings(values: list[str]) -> str:
    """JSON of a list of strings; the fast way for phones, labels and checked emails (no quote or backslash)."""
    raw = "".join(values)
    if '"' in raw or "\\" in raw or not raw.isprintable():
        return json.dumps(values, ensure_ascii=False)
    return '["' + '","'.join(values) + '"]'


def _json_pairs(pairs: list[tuple[str, str]]) -> str:
    raw = "".join([a + b for a, b in pairs])
    if '"' in raw or "\\" in raw or not raw.isprintable():
        return "[" + ",".join(_json_strings([a, b]) for a, b in pairs) + "]"
    return "[" + ",".join(['["' + a + '","' + b + '"]' for a, b in pairs]) + "]"


def _search_text(name_folded: str, numbers: list[str], emails: list[str], tax_code: str) -> str:
    """customer_search_text(full_name=…, phones=numbers, emails=…, tax_code=…) for a name already folded
    (``fold(full_name)``): the same tokens, without folding the name again (a test holds them equal)."""
    tokens = name_folded.split()
    for phone in numbers:
        tokens += phone_search_tokens(phone)
    for e in emails:
        if e:
            tokens.append(e if e.isascii() and e.islower() and e.isprintable() and " " not in e else fold(e))
    if tax_code:
        tokens.append(tax_code)
        if "-" in tax_code:
            tokens.append(tax_code.replace("-", ""))
    return " " + " ".join([t for t in tokens if t]) + " "


def name_columns(full_name: str, organisation: bool) -> tuple[str, str, str, str]:
    """(given_name, name_folded, given_folded, the full folded name) of a customer's name."""
    # (parse_rows stored a person's name through normalize_name already: the given name is its last word)
    given = given_name(full_name)[:60] if organisation else full_name.rsplit(" ", 1)[-1][:60]
    name_folded = fold(full_name)
    return given, name_folded[:200], fold(given)[:60], name_folded


def frame_schema(pl: Any) -> dict[str, Any]:
    """The polars types of the staging columns (Stage.add_frame's frame), in the stage's column order."""
    kinds = {"birthday": pl.Date, "receivable_due": pl.Date, "founded_on": pl.Date,
             "receivable_amount": pl.Int64, "lunar_birthday": pl.Boolean}  # fmt: skip
    schema: dict[str, Any] = {"rownum": pl.Int64, "leader": pl.Int64}
    for key in (*MODEL_KEYS, *COMPUTED, "phones", "emails", "tags"):
        schema[key] = kinds.get(key, pl.String)
    return schema


def _fields() -> list[Any]:
    return [Customer._meta.get_field(name) for name in (*MODEL_KEYS, *COMPUTED)]


class Stage:
    """The staging table of one import run (a TEMP table of this connection)."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.fields = _fields()
        self.columns = ["rownum", "leader", *(f.column for f in self.fields), "phones", "emails", "tags"]
        self._batch: list[tuple[Any, ...]] = []
        self.staged = 0
        self._names: dict[str, tuple[str, str, str, str]] = {}  # person's full name → computed name columns

    # --- life cycle -------------------------------------------------------------------------------

    def create(self) -> None:
        self.drop()
        cols = ", ".join(f"{f.column} {f.db_type(connection)}" for f in self.fields)
        with connection.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE {STAGE} (rownum integer NOT NULL, leader integer NOT NULL, {cols}, "
                "phones text, emails text, tags text, match_id bigint)"
            )

    def drop(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cur.execute(f"DROP TABLE IF EXISTS {IDS}")

    # --- staging --------------------------------------------------------------------------------------

    def _name_columns(self, full_name: str, organisation: bool) -> tuple[str, str, str, str]:
        if not organisation:
            known = self._names.get(full_name)
            if known is not None:
                return known
        columns = name_columns(full_name, organisation)
        if not organisation and len(self._names) < NAME_MEMO:
            self._names[full_name] = columns
        return columns

    def _row(self, rec: Record, leader: int) -> tuple[Any, ...]:
        data = rec.data
        values: list[Any] = [None] * _WIDTH
        if self.vendor == "postgresql":
            for key, value in data.items():
                values[_POSITION[key]] = value
        else:
            for key, value in data.items():
                values[_POSITION[key]] = value.isoformat() if isinstance(value, dt.date) else value
        if leader == rec.row:  # followers are merged later: their search columns are never written
            given, name_folded, given_folded, folded = self._name_columns(
                data.get("full_name", ""), data.get("kind") == "organization"
            )
            values[-4:] = [
                given,
                name_folded,
                given_folded,
                _search_text(folded, rec.numbers, rec.emails, data.get("tax_code", "")),
            ]
        return (
            rec.row,
            leader,
            *values,
            _json_pairs(rec.phones) if rec.phones else None,
            _json_strings(rec.emails) if rec.emails else None,
            json.dumps([[t, fold(t)[:50]] for t in rec.tags], ensure_ascii=False) if rec.tags else None,
        )

    def add(self, rec: Record, leader: int) -> None:
        self._batch.append(self._row(rec, leader))
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._batch:
            return
        rows, self._batch = self._batch, []
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                with cur.cursor.copy(f"COPY {STAGE} ({', '.join(self.columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cur.executemany(f"INSERT INTO {STAGE} ({', '.join(self.columns)}) VALUES ({marks})", rows)
        self.staged += len(rows)

    def add_frame(self, frame: Any) -> None:
        """Stage rows given column-wise (columnar.stage_xlsx): a polars frame of :func:`frame_schema`."""
        import polars as pl

        self.flush()
        columns = ", ".join(self.columns)
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                # CSV with every text quoted: a quoted field is never NULL, an unquoted \N always is.
                body = frame.write_csv(include_header=False, null_value="\\N", quote_style="non_numeric")
                sql = f"COPY {STAGE} ({columns}) FROM STDIN (FORMAT csv, NULL '\\N')"
                with cur.cursor.copy(sql) as copy:
                    copy.write(body.encode())
            else:
                rows = frame.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")).iter_rows()
                marks = ", ".join(["%s"] * len(self.columns))
                cur.executemany(f"INSERT INTO {STAGE} ({columns}) VALUES ({marks})", rows)
        self.staged += frame.height

    def index(self) -> None:
        """After the last batch: index the row numbers (the merge and match read groups back)."""
        self.flush()
        with connection.cursor() as cur:
            cur.execute(f"CREATE INDEX {STAGE}_leader ON {STAGE} (leader)")
            if self.vendor == "postgresql":
                cur.execute(f"ANALYZE {STAGE}")

    # --- reading back -----------------------------------------------------------------------------------

    def _record(self, row: tuple[Any, ...]) -> Record:
        n = len(MODEL_KEYS)
        data: dict[str, Any] = {}
        for f, value in zip(self.fields[:n], row[2 : 2 + n], strict=True):
            if value is not None:
                data[f.name] = f.to_python(value) if self.vendor != "postgresql" else value
        phones, emails, tags = row[-3:]
        return Record(
            row=row[0],
            data=data,
            phones=[(p, label) for p, label in json.loads(phones)] if phones else [],
            emails=json.loads(emails) if emails else [],
            tags=[name for name, _folded in json.loads(tags)] if tags else [],
        )

    def _int_set(self, param: str) -> str:
        """SQL for the set of integers in the one JSON/array parameter (`IN (…)` with a single parameter)."""
        if self.vendor == "postgresql":
            return f"SELECT unnest({param}::integer[])"
        return f"SELECT value FROM json_each({param})"

    def _ints(self, values: list[int]) -> Any:
        return values if self.vendor == "postgresql" else json.dumps(values)

    def records(self, leaders: Iterable[int], *, followers: bool = False) -> Iterator[tuple[int, Record]]:
        """(leader, record) of the staged rows of these leaders (with their followers when asked), by leader
        then row number: a leader comes before its followers (it is the first row of the file with a key)."""
        wanted = sorted(leaders)
        select = ", ".join(self.columns)
        extra = "" if followers else " AND rownum = leader"
        for i in range(0, len(wanted), KEY_CHUNK):
            chunk = wanted[i : i + KEY_CHUNK]
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT {select} FROM {STAGE} WHERE leader IN ({self._int_set('%s')}){extra} "
                    "ORDER BY leader, rownum",
                    [self._ints(chunk)],
                )
                rows = cur.fetchall()
            for row in rows:
                yield row[1], self._record(row)

    # --- merging duplicates of the file ------------------------------------------------------------------

    def merge_groups(self, leaders: set[int]) -> None:
        """Merge every follower into its leader (in file order) and keep only the merged leader rows."""
        wanted = sorted(leaders)
        for i in range(0, len(wanted), KEY_CHUNK):
            chunk = wanted[i : i + KEY_CHUNK]
            merged: dict[int, Record] = {}
            for leader, rec in self.records(chunk, followers=True):
                if leader in merged:
                    merged[leader].merge(rec)
                else:
                    merged[leader] = rec
            with connection.cursor() as cur:
                cur.execute(
                    f"DELETE FROM {STAGE} WHERE leader IN ({self._int_set('%s')})", [self._ints(chunk)]
                )
            self._batch = [self._row(rec, rec.row) for rec in merged.values()]
            self.flush()

    # --- matching existing customers ---------------------------------------------------------------------

    def existing_owners(self, visible: Any, keys: Iterable[str]) -> dict[str, int]:
        """key → the lowest id of a customer in `visible` that has it."""
        by_kind: dict[str, list[str]] = {"p": [], "e": [], "t": [], "x": []}
        for key in keys:
            by_kind[key[0]].append(key[2:])
        owner_of: dict[str, int] = {}
        lookups: list[tuple[str, Any, str]] = [
            ("p", ContactKind.PHONE, "value"),
            ("e", ContactKind.EMAIL, "value"),
            ("t", None, "tax_code"),
            ("x", None, "external_ref"),
        ]
        for prefix, kind, column in lookups:
            values = sorted(by_kind[prefix])
            for i in range(0, len(values), KEY_CHUNK):
                subquery = RawSQL(self._text_set("%s"), [self._texts(values[i : i + KEY_CHUNK])])
                if kind is not None:
                    rows = ContactPoint.objects.filter(
                        kind=kind, customer__in=visible.values("pk"), value__in=subquery
                    ).values_list("value", "customer_id")
                else:
                    rows = visible.filter(**{f"{column}__in": subquery}).values_list(column, "pk")
                for value, customer_id in rows:
                    key = f"{prefix}:{value}"
                    if key not in owner_of or customer_id < owner_of[key]:
                        owner_of[key] = customer_id
        return owner_of

    def _text_set(self, param: str) -> str:
        if self.vendor == "postgresql":
            return f"SELECT unnest({param}::text[])"
        return f"SELECT value FROM json_each({param})"

    def _texts(self, values: list[str]) -> Any:
        return values if self.vendor == "postgresql" else json.dumps(values, ensure_ascii=False)

    def set_matches(self, matches: dict[int, int]) -> None:
        """Mark matched leaders (they are not created)."""
        items = sorted(matches.items())
        with connection.cursor() as cur:
            for i in range(0, len(items), KEY_CHUNK):
                chunk = items[i : i + KEY_CHUNK]
                if self.vendor == "postgresql":
                    cur.execute(
                        f"UPDATE {STAGE} s SET match_id = m.id FROM unnest(%s::integer[], %s::bigint[]) "
                        "AS m(rownum, id) WHERE s.rownum = m.rownum",
                        [[r for r, _ in chunk], [m for _, m in chunk]],
                    )
                else:
                    cur.executemany(
                        f"UPDATE {STAGE} SET match_id = %s WHERE leader = %s AND rownum = leader",
                        [(m, r) for r, m in chunk],
                    )

    # --- writing --------------------------------------------------------------------------------------

    def tag_names(self) -> list[str]:
        """The tag names of the customers to create."""
        if self.vendor == "postgresql":
            sql = (
                f"SELECT DISTINCT t.v->>0 FROM {STAGE} s, jsonb_array_elements(s.tags::jsonb) t(v) "
                "WHERE s.tags IS NOT NULL AND s.match_id IS NULL"
            )
        else:
            sql = (
                f"SELECT DISTINCT json_extract(t.value, '$[0]') FROM {STAGE} s, json_each(s.tags) t "
                "WHERE s.tags IS NOT NULL AND s.match_id IS NULL"
            )
        with connection.cursor() as cur:
            cur.execute(sql)
            return [r[0] for r in cur.fetchall()]

    def write(self, *, owner: Any, now: Any, progress: Any = None) -> int:
        """INSERT … SELECT the unmatched leaders into customers, contact points and tags (ids in row order).
        Returns the number of customers created. Runs in the caller's transaction."""
        pg = self.vendor == "postgresql"
        table = Customer._meta.db_table
        cp = ContactPoint._meta.db_table
        through = Customer.tags.through._meta.db_table
        tag = Tag._meta.db_table
        with connection.cursor() as cur:
            if pg:
                cur.execute("SET LOCAL work_mem = '64MB'")  # the joins and sorts of 1M staged rows in memory
                cur.execute(
                    f"CREATE TEMP TABLE {IDS} AS SELECT o.rownum, nextval(pg_get_serial_sequence(%s, 'id')) AS cid "
                    f"FROM (SELECT rownum FROM {STAGE} WHERE match_id IS NULL ORDER BY rownum) o",
                    [table],
                )
            else:
                cur.execute(
                    f"CREATE TEMP TABLE {IDS} AS SELECT rownum, "
                    f"(SELECT COALESCE(MAX(id), 0) FROM {table}) + row_number() OVER (ORDER BY rownum) AS cid "
                    f"FROM {STAGE} WHERE match_id IS NULL"
                )
            cur.execute(f"SELECT count(*) FROM {IDS}")
            created = int(cur.fetchone()[0])
            if not created:
                return 0
            if pg:
                cur.execute(f"ANALYZE {IDS}")
            staged = {f.attname for f in self.fields}
            fixed = {
                "owner_id": owner.pk,
                "team_id": owner.team_id,
                "branch_id": owner.branch_id,
                "created_by_id": owner.pk,
                "created_at": now,
                "updated_at": now,
            }
            names: list[str] = ["id"]
            exprs: list[str] = ["i.cid"]
            params: list[Any] = []
            for f in Customer._meta.concrete_fields:
                if f.attname == "id":
                    continue
                names.append(str(f.column))
                if f.attname in fixed:
                    exprs.append("%s")
                    params.append(self._param(f, fixed[f.attname]))
                elif f.attname in staged:
                    default = IMPORT_DEFAULTS.get(f.attname, f.get_default())
                    if default is None or f.attname in COMPUTED:
                        exprs.append(f"s.{f.column}")
                    else:
                        exprs.append(f"COALESCE(s.{f.column}, %s)")
                        params.append(self._param(f, default))
                else:
                    exprs.append("%s")
                    params.append(self._param(f, f.get_default()))
            joined = f"{IDS} i JOIN {STAGE} s ON s.rownum = i.rownum"
            cur.execute(
                f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(exprs)} FROM {joined} ORDER BY i.cid",
                params,
            )
            if progress:
                progress(created)
            if pg:
                cur.execute(
                    f"INSERT INTO {cp} (customer_id, kind, value, label, position) "
                    f"SELECT i.cid, 'phone', p.v->>0, p.v->>1, p.n - 1 FROM {joined} "
                    "CROSS JOIN LATERAL jsonb_array_elements(s.phones::jsonb) WITH ORDINALITY p(v, n) "
                    "WHERE s.phones IS NOT NULL "
                    "UNION ALL "
                    f"SELECT i.cid, 'email', e.v, 'other', e.n - 1 FROM {joined} "
                    "CROSS JOIN LATERAL jsonb_array_elements_text(s.emails::jsonb) WITH ORDINALITY e(v, n) "
                    "WHERE s.emails IS NOT NULL"
                )
                cur.execute(
                    f"INSERT INTO {through} (customer_id, tag_id) SELECT DISTINCT i.cid, t.id FROM {joined} "
                    "CROSS JOIN LATERAL jsonb_array_elements(s.tags::jsonb) g(v) "
                    f"JOIN {tag} t ON t.name_folded = g.v->>1 WHERE s.tags IS NOT NULL"
                )
            else:
                cur.execute(
                    f"INSERT INTO {cp} (customer_id, kind, value, label, position) "
                    "SELECT i.cid, 'phone', json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]'), p.key "
                    f"FROM {joined}, json_each(s.phones) p WHERE s.phones IS NOT NULL "
                    "UNION ALL "
                    f"SELECT i.cid, 'email', e.value, 'other', e.key FROM {joined}, json_each(s.emails) e "
                    "WHERE s.emails IS NOT NULL"
                )
                cur.execute(
                    f"INSERT INTO {through} (customer_id, tag_id) SELECT DISTINCT i.cid, t.id FROM {joined}, "
                    f"json_each(s.tags) g JOIN {tag} t ON t.name_folded = json_extract(g.value, '$[1]') "
                    "WHERE s.tags IS NOT NULL"
                )
        return created

    def _param(self, f: Any, value: Any) -> Any:
        if value is None or self.vendor == "postgresql":
            return value
        return f.get_db_prep_value(value, connection, prepared=False)
