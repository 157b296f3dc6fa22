"""The sales part of a customer's timeline: inquiries received and the assignment log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from careline.core.timeline import TimelineEntry
from careline.sales.choices import AssignmentReason
from careline.sales.models import Assignment, Inquiry


def _name(user: Any) -> str:
    return str(user) if user is not None else _("the queue")


def sales_provider(*, actor: Any, customer: Any, limit: int) -> Iterable[TimelineEntry]:
    for inquiry in Inquiry.objects.filter(customer_id=customer.pk).order_by("-received_at", "-id")[:limit]:
        yield TimelineEntry(
            at=inquiry.received_at,
            kind="inquiry",
            icon="inbox",
            title=_("Inquiry via %(channel)s") % {"channel": inquiry.get_channel_display()},
            body=inquiry.message[:500],
            actor_label=inquiry.full_name,
            url=reverse("sales:detail", args=[inquiry.pk]),
            key=f"inquiry:{inquiry.pk}",
        )
    assignments = (
        Assignment.objects.filter(customer_id=customer.pk)
        .select_related("from_user", "to_user", "actor", "rule")
        .order_by("-created_at", "-id")[:limit]
    )
    for a in assignments:
        if a.reason == AssignmentReason.RECLAIM:
            title = _("Reclaimed from %(user)s") % {"user": _name(a.from_user)}
        else:
            title = _("Assigned to %(user)s") % {"user": _name(a.to_user)}
        yield TimelineEntry(
            at=a.created_at,
            kind="assignment",
            icon="arrow-left-right" if a.reason == AssignmentReason.RECLAIM else "person-check",
            title=title,
            body=" · ".join(x for x in [a.get_reason_display(), a.rule.name if a.rule else "", a.note] if x),
            actor_label=str(a.actor) if a.actor else _("Careline"),
            key=f"assignment:{a.pk}",
        )
