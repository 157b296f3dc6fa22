"""Worker jobs for imports and exports: they take a Job id and are idempotent (a finished job is left alone)."""

from __future__ import annotations

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from careline.imports import services


@task()
def import_run_task(job_id: int) -> str:
    return services.import_run(job_id=job_id).status


@task()
def export_run_task(job_id: int) -> str:
    return services.export_run(job_id=job_id).status


@db_periodic_task(crontab(hour="3", minute="15"))
def purge_old_job_files() -> int:
    """Every night: delete files (uploads, error reports, exports) of jobs finished more than 30 days ago."""
    return services.jobs_purge(older_than_days=30)
