"""Background jobs for client cards (django.tasks API; huey runs them). Tasks take ids and are idempotent."""

from __future__ import annotations

from django.tasks import task

from careline.customers import services

REINDEX_CHUNK = 10_000  # customers per job: large enough to amortise a job, small enough to retry cheaply


@task()
def customer_reindex_task(id_from: int, id_to: int) -> int:
    return services.customer_reindex(id_from=id_from, id_to=id_to)
