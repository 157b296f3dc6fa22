"""Worker jobs for leads (huey's scheduler; idempotent: a re-run does no harm).

Every minute the worker reclaims the leads nobody contacted in time and then runs the queue (allocates the
queued leads by the rules). `careline leads allocate` and the "Run the queue now" button run the same
`leads_queue_run()` in the foreground.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from careline.sales import services


@dataclass
class QueueRun:
    """What one run of the queue did."""

    reclaimed: int = 0
    considered: int = 0
    assigned: int = 0
    still_queued: int = 0
    per_user: dict[int, int] = field(default_factory=dict)  # user id → leads allocated to them

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the consultants' names (most leads first)."""
        from careline.accounts.models import User

        users = {u.pk: u for u in User.objects.filter(pk__in=self.per_user)}
        rows: list[dict[str, Any]] = [
            {"user_id": user_id, "name": str(users.get(user_id, user_id)), "assigned": n}
            for user_id, n in self.per_user.items()
        ]
        rows.sort(key=lambda r: (-r["assigned"], r["name"]))
        return {
            "reclaimed": self.reclaimed,
            "considered": self.considered,
            "assigned": self.assigned,
            "still_queued": self.still_queued,
            "per_user": rows,
        }


def leads_queue_run(*, now: dt.datetime | None = None) -> QueueRun:
    """Reclaim overdue leads (each goes back to the queue and on to someone else at once), then allocate
    every queued lead. Both steps lock the rows they change, so concurrent runs never double-assign."""
    reclaimed = services.leads_reclaim_overdue(now=now)
    stats = services.leads_allocate_queued(now=now)
    return QueueRun(
        reclaimed=reclaimed,
        considered=stats.considered,
        assigned=stats.assigned,
        still_queued=stats.still_queued,
        per_user=dict(stats.per_user),
    )


# `expires`: when the worker is busy, a run that waited a whole minute is dropped (the next one does its
# work) instead of piling up. Overlapping runs are safe: the services lock the rule and inquiry rows
# (SKIP LOCKED on PostgreSQL), so a lead is never given twice. No huey lock: SqliteHuey and Redis < 7.4
# cannot expire one, and a lock left by a killed worker would stop allocation silently.
@db_periodic_task(crontab(minute="*"), expires=60)
def leads_queue_periodic() -> dict[str, int]:
    """Every minute: reclaim overdue leads, then run the queue (`leads_queue_run`)."""
    run = leads_queue_run()
    return {
        "reclaimed": run.reclaimed,
        "considered": run.considered,
        "assigned": run.assigned,
        "still_queued": run.still_queued,
    }


# Email inboxes (sales.mail): every 5 minutes, new mail of each active mailbox becomes inquiries. Polling is
# idempotent (Message-ID de-duplication), so an overlapping or repeated run does no harm.
@db_periodic_task(crontab(minute="*/5"), expires=300)
def mailboxes_poll_periodic() -> dict[str, dict[str, int]]:
    """Every 5 minutes: `careline.sales.mail.mailboxes_poll_all()`."""
    from careline.sales.mail import mailboxes_poll_all

    return {
        name: {"new": r.new, "skipped": r.skipped, "errors": r.errors}
        for name, r in mailboxes_poll_all().items()
    }
