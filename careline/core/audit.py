"""Writing audit events. Every service that changes data calls `audit_record` inside its transaction."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from careline.core import context
from careline.core.models import AuditAction, AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"before": x, "after": y}}` for the fields whose value changed."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(before) | set(after)):
        b, a = _jsonable(before.get(key)), _jsonable(after.get(key))
        if b != a:
            out[key] = {"before": b, "after": a}
    return out


def audit_record(
    *,
    actor: Any,
    action: AuditAction | str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one audit event, stamped with the current request's IP and id."""
    event = audit_event(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=changes,
        actor_label=actor_label,
    )
    event.save(force_insert=True)
    return event


def audit_record_many(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Append several events built with `audit_event` in one INSERT (a service that changes several
    records at once, e.g. a lead and its customer)."""
    return AuditEvent.objects.bulk_create(list(events))


def audit_event(
    *,
    actor: Any,
    action: AuditAction | str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """The event `audit_record` would append, not saved yet (for `audit_record_many`)."""
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    user = actor if getattr(actor, "pk", None) else None
    return AuditEvent(
        actor=user,
        actor_label=actor_label or (user.get_username() if user else ""),
        action=str(action),
        object_type=object_type,
        object_id=str(object_id or ""),
        object_repr=object_repr[:200],
        changes=_jsonable(dict(changes or {})),
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        source=ctx.source,
    )


def audit_events_for(*, object_type: str, object_ids: Iterable[str | int]) -> models.QuerySet[AuditEvent]:
    """The history of one or more records (e.g. a customer and the customers merged into it)."""
    ids = [str(i) for i in object_ids]
    return AuditEvent.objects.filter(object_type=object_type, object_id__in=ids).select_related("actor")
