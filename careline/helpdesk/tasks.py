"""Worker jobs of the helpdesk (huey's scheduler; idempotent: a re-run does no harm)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from careline.helpdesk import services


# `expires`: a run that waited a whole minute behind other work is dropped (the next run does its work).
# Overlapping runs are safe: every step re-reads the ticket under its row lock and is guarded by a flag.
@db_periodic_task(crontab(minute="*"), expires=60)
def helpdesk_sla_run() -> dict[str, int]:
    """Every minute: hand queued tickets to agents now on shift, warn before SLA breaches, mark breaches
    and escalate (team leader, then the heads of care), close tickets resolved long enough ago."""
    assigned = services.tickets_assign_queued()
    stats = services.sla_run()
    closed = services.tickets_autoclose()
    return {
        "assigned": assigned,
        "warned": stats.warned,
        "breached": stats.breached,
        "escalated": stats.escalated,
        "closed": closed,
    }
