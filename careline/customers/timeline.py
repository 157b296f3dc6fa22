"""The customers provider of the customer timeline (`careline.core.timeline`): notes and card history."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from careline.core.timeline import TimelineEntry
from careline.customers.models import Customer
from careline.customers.selectors import customer_history, customer_notes

ACTION_ICONS = {
    "create": "person-plus",
    "merge": "intersect",
    "archive": "archive",
    "restore": "arrow-counterclockwise",
}


def _field_label(key: str) -> str:
    labels = {"phones": _("Phones"), "emails": _("Emails"), "tags": _("Tags")}
    if key in labels:
        return str(labels[key])
    if key.startswith("consent."):
        return _("Consent")
    try:
        field: Any = Customer._meta.get_field(key.removesuffix("_id"))
    except FieldDoesNotExist:
        return key
    return str(getattr(field, "verbose_name", key)).capitalize()


def customers_provider(*, actor: Any, customer: Any, limit: int) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            at=note.created_at,
            kind="customers.note",
            icon="journal-text",
            title=_("Note"),
            body=note.body,
            actor_label=str(note.author) if note.author_id else "",
            key=f"note:{note.pk:012d}",
        )
        for note in customer_notes(customer=customer)[:limit]
    ]
    for event in customer_history(actor=actor, customer=customer)[:limit]:
        changes = event.changes or {}
        if set(changes) == {"note"}:
            continue  # the note itself is on the timeline
        fields = sorted({_field_label(k) for k in changes if k not in ("merged_customer", "note")})
        entries.append(
            TimelineEntry(
                at=event.created_at,
                kind=f"customers.{event.action}",
                icon=ACTION_ICONS.get(event.action, "pencil"),
                title=str(event.get_action_display()),
                body=", ".join(fields),
                actor_label=event.actor_label,
                key=f"audit:{event.pk:012d}",
            )
        )
    return entries
