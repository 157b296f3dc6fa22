"""Worker jobs for imports and exports: they take a Job id and are idempotent (a finished job is left alone)."""

from __future__ import annotations

from django.tasks import task

from careline.imports import services


@task()
def import_run_task(job_id: int) -> str:
    return services.import_run(job_id=job_id).status


@task()
def export_run_task(job_id: int) -> str:
    return services.export_run(job_id=job_id).status
