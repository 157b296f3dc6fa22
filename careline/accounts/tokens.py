"""Bearer-token authentication in one hand-written query.

Every API request authenticates, so this is the hottest path of the API. Building the same ORM query
(token + user + role + the role's scopes packed into one text column) costs more CPU than PostgreSQL spends
running it; the SQL is therefore built once per database vendor from the models' metadata (so a new field is
picked up without editing this file) and the rows are turned into model instances with `Model.from_db`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.db import connections, router

from careline.accounts.models import ApiToken, Role, RoleScope, User


@functools.cache
def _sql(vendor: str, alias: str) -> str:
    qn = connections[alias].ops.quote_name

    def cols(model: Any, table_alias: str) -> list[str]:
        return [f"{table_alias}.{qn(f.column)}" for f in model._meta.concrete_fields]

    scope = RoleScope._meta
    packed = (
        f"s.{qn(scope.get_field('object_type').column)} || '|' || s.{qn(scope.get_field('scope').column)}"
        f" || '|' || CAST(s.{qn(scope.get_field('actions').column)} AS TEXT)"
    )
    agg = f"string_agg({packed}, E'\\n')" if vendor == "postgresql" else f"group_concat({packed}, char(10))"
    user_role = qn(User._meta.get_field("role").column)
    return (
        f"SELECT {', '.join(cols(ApiToken, 't'))}, {', '.join(cols(User, 'u'))}, "
        f"{', '.join(cols(Role, 'r'))}, "
        f"(SELECT {agg} FROM {qn(scope.db_table)} s WHERE s.{qn(scope.get_field('role').column)} = u.{user_role}) "
        f"FROM {qn(ApiToken._meta.db_table)} t "
        f"JOIN {qn(User._meta.db_table)} u ON u.{qn('id')} = t.{qn(ApiToken._meta.get_field('user').column)} "
        f"LEFT JOIN {qn(Role._meta.db_table)} r ON r.{qn('id')} = u.{user_role} "
        f"WHERE t.{qn('digest')} = %s AND t.{qn('revoked_at')} IS NULL"
    )


@functools.cache
def _converters(alias: str, model: Any) -> tuple[list[str], list[list[tuple[Any, Any]]]]:
    """Attribute names and, per field, the backend's and the field's converters with the column they take
    (SQLite returns datetimes and booleans as text/ints; PostgreSQL needs almost none)."""
    connection = connections[alias]
    names, converters = [], []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        names.append(field.attname)
        converters.append(
            [(c, col) for c in connection.ops.get_db_converters(col) + col.get_db_converters(connection)]
        )
    return names, converters


def _load(alias: str, model: Any, values: Any) -> Any:
    connection = connections[alias]
    names, converters = _converters(alias, model)
    converted = []
    for value, field_converters in zip(values, converters, strict=True):
        for converter, col in field_converters:
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(alias, names, converted)


def token_row(digest: str) -> tuple[ApiToken, str] | None:
    """The unrevoked token with this digest, its user and the user's role loaded, and the role's scopes
    packed as `object_type|scope|actions-json` lines; None when there is no such token."""
    alias = router.db_for_read(ApiToken)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.vendor, alias), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    ends = []
    end = 0
    for model in (ApiToken, User, Role):
        end += len(model._meta.concrete_fields)
        ends.append(end)
    token = _load(alias, ApiToken, row[: ends[0]])
    user = _load(alias, User, row[ends[0] : ends[1]])
    role_values = row[ends[1] : ends[2]]
    role = None if role_values[0] is None else _load(alias, Role, role_values)
    User.role.field.set_cached_value(user, role)
    ApiToken.user.field.set_cached_value(token, user)
    return token, row[-1] or ""


def scopes_unpack(packed: str) -> dict[str, tuple[str, frozenset[str]]]:
    cache: dict[str, tuple[str, frozenset[str]]] = {}
    for line in packed.split("\n"):
        if line:
            object_type, scope, actions = line.split("|", 2)
            cache[object_type] = (scope, frozenset(json.loads(actions) if actions else []))
    return cache
