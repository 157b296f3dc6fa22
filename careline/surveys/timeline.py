"""The surveys part of a customer's timeline: the answers the actor may see (score, reason, follow-up)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from careline.core.timeline import TimelineEntry
from careline.surveys.selectors import band_of, response_visible


def surveys_provider(*, actor: Any, customer: Any, limit: int) -> Iterable[TimelineEntry]:
    if not (getattr(actor, "is_authenticated", False) and actor.allows("survey", "view")):
        return
    rows = (
        response_visible(actor=actor)
        .filter(customer_id=customer.pk)
        .select_related("survey", "recorded_by")
        .order_by("-created_at", "-id")[:limit]
    )
    for r in rows:
        score = "—" if r.score is None else str(r.score)
        title = _("Survey answer: %(survey)s %(score)s") % {"survey": r.survey.name, "score": score}
        extra: dict[str, Any] = {}
        band = band_of(r.kind, r.score)
        if band:
            extra["badge"] = {
                "promoter": _("promoter"),
                "passive": _("passive"),
                "detractor": _("detractor"),
            }[band]
        if r.follow_up_ticket_id:
            extra["details"] = [_("Follow-up ticket #%(id)s") % {"id": r.follow_up_ticket_id}]
        yield TimelineEntry(
            at=r.created_at,
            kind="survey.response",
            icon="emoji-smile" if band != "detractor" else "emoji-frown",
            title=title,
            body=r.reason[:500],
            actor_label=str(r.recorded_by) if r.recorded_by_id else "",
            url=reverse("surveys:responses") + f"?customer={customer.pk}",
            extra=extra,
            key=f"survey_response:{r.pk}",
        )
