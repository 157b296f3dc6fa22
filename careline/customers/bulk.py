"""Bulk insert of client cards at database speed: COPY on PostgreSQL, executemany on SQLite.

Used by the demo loader (and the import engine). It bypasses per-row ORM saves but not the rules that
matter for reads: the same search/sort columns as `customers.services` are computed here, contact points
and tags are written, and callers record one audit event for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from careline.customers.models import ContactPoint, Customer
from careline.customers.search import customer_search_text
from careline.vn import fold, given_name

ANALYZE_AFTER = 50_000  # rows: a load this big changes the table's statistics


@dataclass
class BulkCustomer:
    """One customer to insert: model values by attname (`owner_id`, …), E.164 phones, emails, tag ids."""

    values: dict[str, Any]
    phones: list[tuple[str, str]] = field(default_factory=list)  # (e164, label)
    emails: list[str] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)


def _customer_columns() -> list[Any]:
    return [f for f in Customer._meta.concrete_fields if f.attname != "id"]


def _batches(rows: Iterable[BulkCustomer], size: int) -> Iterator[list[BulkCustomer]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _prepare(row: BulkCustomer, now: Any) -> dict[str, Any]:
    v = dict(row.values)
    full_name = v["full_name"]
    v.setdefault("given_name", given_name(full_name)[:60])
    v["name_folded"] = fold(full_name)[:200]
    v["given_folded"] = fold(v["given_name"])[:60]
    v["search_text"] = customer_search_text(
        full_name=full_name,
        phones=[p for p, _label in row.phones],
        emails=row.emails,
        tax_code=v.get("tax_code", ""),
    )
    v.setdefault("created_at", now)
    v.setdefault("updated_at", v["created_at"])
    return v


def customers_bulk_insert(
    rows: Iterable[BulkCustomer],
    *,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    analyze_after: int = ANALYZE_AFTER,
) -> list[int]:
    """Insert customers (with phones, emails, tags) in batches; returns the new ids in input order.

    Each batch is one transaction. Callers check duplicates and permissions before calling.
    """
    columns = _customer_columns()
    defaults = {f.attname: f.get_default() for f in columns}
    names = [f.column for f in columns]
    vendor = connection.vendor
    new_ids: list[int] = []
    done = 0
    for batch in _batches(rows, batch_size):
        now = timezone.now()
        prepared = [_prepare(r, now) for r in batch]
        with transaction.atomic():
            ids = _reserve_ids(len(batch))
            customer_rows = [
                [i, *[p.get(f.attname, defaults[f.attname]) for f in columns]]
                for i, p in zip(ids, prepared, strict=True)
            ]
            point_rows: list[list[Any]] = []
            tag_rows: list[list[Any]] = []
            for cid, row in zip(ids, batch, strict=True):
                for pos, (phone, label) in enumerate(row.phones):
                    point_rows.append([cid, "phone", phone, label, pos])
                for pos, email in enumerate(row.emails):
                    point_rows.append([cid, "email", email, "other", pos])
                for tag_id in row.tag_ids:
                    tag_rows.append([cid, tag_id])
            point_table = ContactPoint._meta.db_table
            tag_table = Customer.tags.through._meta.db_table
            if vendor == "postgresql":
                _copy("customers_customer", ["id", *names], customer_rows)
                _copy(point_table, ["customer_id", "kind", "value", "label", "position"], point_rows)
                _copy(tag_table, ["customer_id", "tag_id"], tag_rows)
            else:
                adapters = [None, *[_sqlite_adapter(f) for f in columns]]
                customer_rows = [
                    [a(v) if a and v is not None else v for a, v in zip(adapters, r, strict=True)]
                    for r in customer_rows
                ]
                _executemany("customers_customer", ["id", *names], customer_rows)
                _executemany(point_table, ["customer_id", "kind", "value", "label", "position"], point_rows)
                _executemany(tag_table, ["customer_id", "tag_id"], tag_rows)
        new_ids.extend(ids)
        done += len(batch)
        if progress:
            progress(done)
    if done >= analyze_after:
        customers_analyze()
    return new_ids


def customers_analyze() -> None:
    """Refresh PostgreSQL's statistics of the customer tables after a big load, or the planner keeps plans
    made for the empty table (searches 10x slower until autovacuum, which may be off, gets to it).
    ANALYZE is allowed inside a transaction (an import's), unlike VACUUM."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for table in (
            "customers_customer",
            ContactPoint._meta.db_table,
            Customer.tags.through._meta.db_table,
        ):
            cur.execute(f"ANALYZE {table}")


def _reserve_ids(n: int) -> list[int]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence('customers_customer', 'id')) FROM generate_series(1, %s)",
                [n],
            )
            return [r[0] for r in cur.fetchall()]
        # SQLite: writes are serialised (BEGIN IMMEDIATE), so max(id) is stable inside the transaction.
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM customers_customer")
        start = cur.fetchone()[0] + 1
        return list(range(start, start + n))


def _copy(table: str, cols: list[str], rows: list[list[Any]]) -> None:
    if not rows:
        return
    with connection.cursor() as cur:
        raw = cur.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _executemany(table: str, cols: list[str], rows: list[list[Any]]) -> None:
    if not rows:
        return
    placeholders = ", ".join(["%s"] * len(cols))
    with connection.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})", rows)


def _sqlite_adapter(f: Any) -> Callable[[Any], Any] | None:
    internal = f.get_internal_type()
    if internal == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if internal == "DateField":
        return connection.ops.adapt_datefield_value
    if internal == "JSONField":
        return lambda v: f.get_db_prep_value(v, connection)
    return None
