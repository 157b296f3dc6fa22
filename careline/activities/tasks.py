"""Worker jobs for activities (huey's scheduler; idempotent: a re-run does no harm)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from careline.activities import services


# `expires`: a run that waited a whole minute behind other work is dropped (the next run does its work).
# Overlapping runs are safe: each follow-up is claimed by a conditional UPDATE before it is notified.
@db_periodic_task(crontab(minute="*"), expires=60)
def follow_up_reminders_send() -> int:
    """Every minute: notify owners of follow-ups whose reminder (or due) time has come, once each."""
    return services.follow_up_reminders_send()
