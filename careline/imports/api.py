"""/api/v1/imports and /api/v1/jobs — thin adapters over imports.services."""

from __future__ import annotations

import json
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from careline.api.auth import AuthedRequest
from careline.api.responses import error_responses
from careline.core.errors import ValidationFailed
from careline.customers.schemas import ErrorOut
from careline.imports import services
from careline.imports.choices import JobKind, JobStatus
from careline.imports.mapping import auto_map
from careline.imports.models import Job
from careline.imports.progress import progress_get
from careline.imports.schemas import JobOut, JobStarted, PreviewOut

router = Router(tags=["imports"])
jobs_router = Router(tags=["jobs"])
ERRORS = error_responses(400, 401, 403, 404, 422)


def parse_mapping(raw: str | None, headers: list[str] | None = None) -> list[str] | None:
    """`mapping` is JSON: a list with one target per column, or an object {header: target}."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValidationFailed({"mapping": [_("The mapping is not valid JSON.")]}) from exc
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, dict) and headers is not None:
        auto = auto_map(headers)
        return [str(value.get(h, auto[i])) for i, h in enumerate(headers)]
    raise ValidationFailed({"mapping": [_("Give a list of targets (one per column) or {header: target}.")]})


def job_payload(job: Job) -> dict[str, Any]:
    live = progress_get(job.pk) if not job.is_finished else {}
    download = reverse("api:job_download", args=[job.pk]) if job.result_name else None
    return {
        "id": job.pk,
        "kind": job.kind,
        "entity": job.entity,
        "status": job.status,
        "total": live.get("total", job.total),
        "processed": live.get("processed", job.processed),
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
        "errors": job.errors,
        "error_report_url": download if job.kind == JobKind.IMPORT and download else None,
        "result_url": download if job.kind == JobKind.EXPORT and job.status == JobStatus.SUCCEEDED else None,
        "message": job.message,
        "source_name": job.source_name,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _columns(mapping: str, data: bytes, filename: str, encoding: str, sheet: str) -> list[str] | None:
    """The mapping sent with an upload; {header: target} needs the file's headers."""
    headers = None
    if mapping.strip().startswith("{"):
        headers = services.import_read(
            data, filename=filename, encoding=encoding or None, sheet=sheet or None
        ).headers
    return parse_mapping(mapping, headers)


@router.post("", response={202: JobStarted, **ERRORS}, summary="Import a file (CSV, XLSX or vCard) as a job")
def start_import(
    request: AuthedRequest,
    file: File[UploadedFile],
    entity: Form[str] = "customers",
    mode: Form[str] = "create",
    mapping: Form[str] = "",
    all_or_nothing: Form[bool] = True,
    encoding: Form[str] = "",
    sheet: Form[str] = "",
    owner_id: Form[int | None] = None,
) -> Any:
    if entity != "customers":
        raise ValidationFailed({"entity": [_("Only customers can be imported for now.")]})
    data = file.read()
    columns = _columns(mapping, data, file.name or "upload", encoding, sheet)
    job = services.import_start(
        actor=request.auth,
        data=data,
        filename=file.name or "upload",
        mode=mode,
        columns=columns,
        all_or_nothing=all_or_nothing,
        encoding=encoding or None,
        sheet=sheet or None,
        owner_id=owner_id,
    )
    return Status(202, {"job_id": job.pk})


@router.post(
    "/preview", response={200: PreviewOut, **ERRORS}, summary="Preview an import (nothing is written)"
)
def preview_import(
    request: AuthedRequest,
    file: File[UploadedFile],
    mapping: Form[str] = "",
    encoding: Form[str] = "",
    sheet: Form[str] = "",
) -> Any:
    data = file.read()
    columns = _columns(mapping, data, file.name or "upload", encoding, sheet)
    result = services.import_preview(
        actor=request.auth,
        data=data,
        filename=file.name or "upload",
        columns=columns,
        encoding=encoding,
        sheet=sheet,
    )
    result["rows"] = [{"row": row, **_jsonable(values)} for row, values in result["rows"]]
    return result


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


@jobs_router.get("/{int:job_id}", response={200: JobOut, **ERRORS}, summary="Progress and result of a job")
def get_job(request: AuthedRequest, job_id: int) -> Any:
    return job_payload(services.job_get(actor=request.auth, job_id=job_id))


@jobs_router.get(
    "/{int:job_id}/download",
    response={404: ErrorOut, 401: ErrorOut},
    url_name="job_download",
    summary="Result file",
)
def download_job_file(request: AuthedRequest, job_id: int) -> Any:
    job = services.job_get(actor=request.auth, job_id=job_id)
    path = services.job_result_path(job)
    if path is None:
        from careline.core.errors import NotFound

        raise NotFound(_("This job has no file to download."))
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.result_name)
