"""Worker jobs for surveys (django.tasks API and huey's scheduler). Tasks take ids and are idempotent."""

from __future__ import annotations

from typing import Any

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from careline.surveys import services


@task()
def invitation_send_task(invitation_id: int) -> str:
    """Email one invitation (skipped when it was sent, answered or expired meanwhile)."""
    invitation = services.invitation_send(invitation_id=invitation_id)
    return invitation.delivery_status if invitation is not None else ""


@task()
def survey_for_ticket_task(ticket_id: int) -> int | None:
    """A ticket was resolved: invite its customer to the "ticket resolved" survey (once per ticket)."""
    invitation = services.survey_send_for_ticket(ticket_id=ticket_id)
    return invitation.pk if invitation is not None else None


# Every day at 02:00 UTC (09:00 in Vietnam: surveys arrive in the morning). Huey's crontab runs in UTC.
# Overlapping runs are harmless: a batch skips customers another run invited meanwhile.
@db_periodic_task(crontab(hour="2", minute="0"), expires=6 * 3600)
def surveys_daily_periodic() -> dict[str, Any]:
    """Daily: scheduled surveys to their segments, then any follow-up ticket that failed to open."""
    run = services.surveys_daily()
    return {"surveys": [r.as_dict() for r in run.reports], "follow_ups": run.follow_ups}
