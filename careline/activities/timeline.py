"""The activities provider of the customer timeline (`careline.core.timeline`), registered in apps.ready()."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.activities.choices import KIND_ICONS, ActivityKind
from careline.activities.models import Activity
from careline.activities.selectors import OBJECT_TYPE, activities_for_customer
from careline.core.timeline import TimelineEntry
from careline.core.visibility import Action


def _title(activity: Activity) -> str:
    kind = activity.get_kind_display()
    if activity.kind == ActivityKind.FOLLOW_UP:
        due = timezone.localtime(activity.due_at).strftime("%d/%m/%Y %H:%M") if activity.due_at else ""
        if activity.completed_at is None:
            return _("Follow-up due %(due)s") % {"due": due}
        return f"{kind} · {activity.get_outcome_display()}"
    parts = [str(kind)]
    if activity.outcome:
        parts.append(str(activity.get_outcome_display()))
    if activity.subject:
        parts.append(activity.subject)
    return " · ".join(parts)


def _details(activity: Activity) -> list[str]:
    out: list[str] = []
    if activity.duration_seconds:
        minutes, seconds = divmod(activity.duration_seconds, 60)
        out.append(_("%(m)d min %(s)02d s") % {"m": minutes, "s": seconds})
    if activity.email_to:
        out.append(_("to %(address)s") % {"address": activity.email_to})
    return out


def activities_provider(*, actor: Any, customer: Any, limit: int) -> list[TimelineEntry]:
    can_change = actor.allows(OBJECT_TYPE, Action.CHANGE)
    entries = []
    for activity in activities_for_customer(actor=actor, customer=customer, limit=limit):
        open_ = activity.is_open and activity.kind == ActivityKind.FOLLOW_UP
        actions = []
        if open_ and can_change:
            actions.append(
                {
                    "label": _("Done"),
                    "icon": "check2",
                    "url": reverse("activities:complete", args=[activity.pk]),
                }
            )
        entries.append(
            TimelineEntry(
                at=activity.at,  # type: ignore[attr-defined]
                kind=f"activity.{activity.kind}",
                icon=KIND_ICONS.get(activity.kind, "dot"),
                title=_title(activity),
                body=activity.notes,
                actor_label=str(activity.owner) if activity.owner_id else "",
                url="",
                extra={
                    "activity_id": activity.pk,
                    "outcome": activity.outcome,
                    "open": open_,
                    "overdue": open_ and activity.due_at is not None and activity.due_at < timezone.now(),
                    "details": _details(activity),
                    "recording_url": activity.recording_url,
                    "actions": actions,
                },
                key=f"activity:{activity.pk:012d}",
            )
        )
    return entries
