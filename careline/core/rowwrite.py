"""Writing several new rows of different tables in one round trip: the path of a hot service that knows
every row it will write before it writes (e.g. a new lead: customer, contact points, history, inquiry,
assignment, audit events, notice).

The ORM spends more CPU compiling an INSERT than PostgreSQL spends running it, and each `save()` is a round
trip. Here the INSERT of a model is built once per model and database from its metadata (a new field is
picked up without editing callers), the values come from the fields themselves (`pre_save` for
`auto_now`/`auto_now_add`, `get_db_prep_save` for JSON, dates, …, exactly what `save()` sends), primary keys
of rows that others refer to are taken beforehand (`reserve_ids`), and the statements go to PostgreSQL in one pipeline (psycopg's
pipeline mode: all sent, one sync). SQLite runs them one by one (in process: no round trip to save).

No model signals are sent: callers write what receivers would (e.g. simple-history's row, see
`history_row`). Callers hold a transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, models, router


def column(field: Any) -> str:
    """A concrete field's column name (typed: the stubs allow None for fields without one)."""
    return str(field.column)


@functools.cache
def _insert(
    alias: str, model: type[models.Model], with_pk: bool
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """The INSERT of one row of `model`: every concrete column, the primary key only if `with_pk` (else
    the database numbers the row)."""
    qn = connections[alias].ops.quote_name
    pk = model._meta.pk
    fields = tuple(f for f in model._meta.concrete_fields if with_pk or f is not pk)
    columns = ", ".join(qn(column(f)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})", fields


def insert_statement(obj: models.Model, *, using: str | None = None) -> tuple[str, list[Any]]:
    """(SQL, parameters) inserting `obj`: with its primary key if set (see `reserve_ids`), else numbered
    by the database (for rows nothing written with them refers to). Fills `auto_now(_add)` fields on `obj`
    as `save()` would."""
    model = type(obj)
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    sql, fields = _insert(alias, model, obj.pk is not None)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    return sql, params


@functools.cache
def _update(
    alias: str, model: type[models.Model], names: tuple[str, ...]
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """The UPDATE of these fields (plus any `auto_now` field, as `save(update_fields=…)` adds it) of one
    row by primary key."""
    qn = connections[alias].ops.quote_name
    meta = model._meta
    fields: list[models.Field[Any, Any]] = [cast("models.Field[Any, Any]", meta.get_field(n)) for n in names]
    fields += [f for f in meta.concrete_fields if getattr(f, "auto_now", False) and f not in fields]
    sets = ", ".join(f"{qn(column(f))} = %s" for f in fields)
    return f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(column(meta.pk))} = %s", tuple(fields)


def update_statement(
    obj: models.Model, fields: tuple[str, ...], *, using: str | None = None
) -> tuple[str, list[Any]]:
    """(SQL, parameters) writing these fields of `obj` (field names, as for `save(update_fields=…)`), and
    its `auto_now` fields, which are set on `obj` as `save()` would."""
    model = type(obj)
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    sql, targets = _update(alias, model, fields)
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in targets]
    params.append(model._meta.pk.get_db_prep_save(obj.pk, connection))
    return sql, params


def reserve_ids(*wanted: type[models.Model], using: str = "default") -> list[int]:
    """One new primary key for each model given (in that order), for rows this transaction will insert —
    so that rows written in the same round trip can refer to them.

    PostgreSQL: from the tables' sequences, in one query. SQLite: writes are serialised (Careline opens
    SQLite transactions with BEGIN IMMEDIATE), so the next id is stable inside the transaction;
    AUTOINCREMENT's counter is read too, so an id deleted at the top is not handed out again (as SQLite
    itself would not). A model given twice gets two ids."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("reserve_ids needs a transaction: the ids are only safe inside it")
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            parts = ", ".join(["nextval(pg_get_serial_sequence(%s, %s))"] * len(wanted))
            cur.execute(f"SELECT {parts}", [v for m in wanted for v in (m._meta.db_table, m._meta.pk.column)])
            return list(cur.fetchone())
        distinct = list(dict.fromkeys(wanted))
        parts = ", ".join(
            f"MAX(COALESCE((SELECT MAX({qn(column(m._meta.pk))}) FROM {qn(m._meta.db_table)}), 0),"
            " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))"
            for m in distinct
        )
        cur.execute(f"SELECT {parts}", [m._meta.db_table for m in distinct])
        taken = dict(zip(distinct, cur.fetchone(), strict=True))
        ids: list[int] = []
        for model in wanted:
            taken[model] += 1
            ids.append(taken[model])
    return ids


def execute_all(statements: Sequence[tuple[str, Sequence[Any]]], *, using: str = "default") -> None:
    """Run these statements in order: PostgreSQL in one pipeline (one round trip), others one by one. An
    error in any of them raises Django's exception (IntegrityError…), and the caller's transaction rolls
    back."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("execute_all needs a transaction")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql" and len(statements) > 1:
            # Errors surface when the pipeline syncs, outside the cursor's own wrapper.
            with connection.wrap_database_errors, connection.connection.pipeline():
                for sql, params in statements:
                    cur.execute(sql, params)
        else:
            for sql, params in statements:
                cur.execute(sql, params)


def history_row(
    instance: models.Model, *, history_type: str, when: Any, reason: str | None = None
) -> models.Model:
    """The simple-history row `save()` would have written for `instance` (same fields, same user: the
    request's signed-in user, as simple-history's middleware gives it), not saved; `history_type`: "+"
    created, "~" changed."""
    from simple_history.models import HistoricalRecords

    history_model = instance.__class__.history.model  # type: ignore[attr-defined]
    attrs = {f.attname: getattr(instance, f.attname) for f in history_model.tracked_fields}
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return history_model(
        history_date=when,
        history_type=history_type,
        history_user=user if getattr(user, "is_authenticated", False) else None,
        history_change_reason=reason,
        **attrs,
    )
