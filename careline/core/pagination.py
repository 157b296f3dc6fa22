"""Keyset (cursor) pagination: stable, index-friendly, never OFFSET (research/performance-anchors §3.7)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise ApplicationError(
            "invalid_cursor", "The cursor is not valid; start from the first page."
        ) from exc
    if not isinstance(values, list) or len(values) != size:
        raise ApplicationError("invalid_cursor", _("The cursor is not valid; start from the first page."))
    return values


def keyset_q(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `ordering` (fields with '-' for descending)."""
    q = Q(pk__in=[])
    for i, field in enumerate(ordering):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        part = Q(**{f"{name}__{op}": values[i]})
        for prev_field, prev_value in zip(ordering[:i], values[:i], strict=True):
            part &= Q(**{prev_field.lstrip("-"): prev_value})
        q |= part
    return q


def paginate[M: models.Model](
    queryset: models.QuerySet[M], *, ordering: Sequence[str], cursor: str | None, limit: int
) -> tuple[list[M], str | None]:
    """One page of `queryset` ordered by `ordering` (must end with a unique field) and the next cursor."""
    qs = queryset.order_by(*ordering)
    if cursor:
        qs = qs.filter(keyset_q(ordering, decode_cursor(cursor, len(ordering))))
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_value(last, f.lstrip("-")) for f in ordering])
    return rows, next_cursor


def _value(obj: Any, name: str) -> Any:
    value = getattr(obj, name if name != "pk" else "pk")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
