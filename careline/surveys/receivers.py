"""Reactions of the surveys app to other apps' events (connected in SurveysConfig.ready)."""

from __future__ import annotations

from typing import Any


def ticket_resolved(sender: Any, ticket: Any, actor: Any = None, **kwargs: Any) -> None:
    """A ticket was resolved (sent after commit): the worker invites its customer to the CSAT survey."""
    from careline.surveys.tasks import survey_for_ticket_task

    survey_for_ticket_task.enqueue(ticket.pk)
