"""Import wizard (upload → mapping and preview → run with a live progress bar → result) and exports."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.accounts.selectors import user_list_assignable
from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.htmx import htmx_partial
from careline.core.visibility import Action
from careline.customers.forms import CustomerFilterForm
from careline.customers.selectors import OBJECT_TYPE, CustomerFilters
from careline.imports import services
from careline.imports.choices import ImportMode, JobKind, JobStatus
from careline.imports.labels import localized_errors, target_choices
from careline.imports.models import Job, SavedMapping
from careline.imports.parsing import preview
from careline.imports.progress import progress_get


def _job_or_404(request: HttpRequest, job_id: int) -> Job:
    try:
        return services.job_get(actor=request.user, job_id=job_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = Job.objects.filter(actor=request.user).exclude(status=JobStatus.DRAFT)[:50]
    return render(
        request,
        "imports/job_list.html",
        {"jobs": jobs, "can_import": request.user.allows(OBJECT_TYPE, Action.IMPORT)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    if not request.user.allows(OBJECT_TYPE, Action.IMPORT):
        return HttpResponseForbidden(_("You cannot import customers."))
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a file first.")
        else:
            try:
                job = services.import_upload(
                    actor=request.user, data=upload.read(), filename=upload.name or "upload"
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                return redirect("imports:mapping", job.pk)
    return render(request, "imports/upload.html", {"error": error}, status=422 if error else 200)


def _mapping_context(
    request: HttpRequest, job: Job, table: Any, problems: list[str] | None = None
) -> dict[str, Any]:
    from careline.imports.mapping import Mapping

    mapping = Mapping(columns=job.options["columns"])
    problems = problems if problems is not None else mapping.validate(table.headers)
    rows, row_errors = ([], []) if problems else preview(table, mapping)
    errors = localized_errors([services.error_dict(e) for e in row_errors], table.headers, mapping.columns)
    samples = [
        [row[i] if i < len(row) else None for row in table.rows[:3]] for i in range(len(table.headers))
    ]
    return {
        "job": job,
        "columns": list(zip(table.headers, mapping.columns, samples, strict=True)),
        "targets": target_choices(),
        "problems": problems,
        "preview_rows": rows,
        "errors": errors,
        "error_rows": {e["row"] for e in errors},
        "table": table,
        "modes": ImportMode.choices,
        "owners": user_list_assignable(actor=request.user),
        "saved": SavedMapping.objects.filter(owner=request.user, entity="customers"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if job.kind != JobKind.IMPORT:
        raise Http404
    if job.status != JobStatus.DRAFT:
        return redirect("imports:job", job.pk)
    columns = None
    if request.method == "POST":
        columns = request.POST.getlist("column") or None
        saved_id = request.POST.get("saved_mapping")
        if saved_id:
            saved = SavedMapping.objects.filter(owner=request.user, pk=saved_id).first()
            if saved is not None:
                columns = list(saved.columns)
    try:
        job, table = services.import_configure(
            actor=request.user,
            job_id=job.pk,
            columns=columns,
            encoding=request.POST.get("encoding") if request.method == "POST" else None,
            sheet=request.POST.get("sheet") if request.method == "POST" else None,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("imports:upload")
    if request.method == "POST" and request.POST.get("save_as", "").strip():
        SavedMapping.objects.update_or_create(
            owner=request.user,
            entity="customers",
            name=request.POST["save_as"].strip()[:100],
            defaults={"headers": table.headers, "columns": job.options["columns"]},
        )
        messages.success(request, _("Mapping saved."))
    context = _mapping_context(request, job, table)
    if request.method == "POST" and request.POST.get("action") == "run":
        try:
            services.import_launch(
                actor=request.user,
                job_id=job.pk,
                mode=request.POST.get("mode", ImportMode.CREATE),
                all_or_nothing=request.POST.get("partial") != "on",
                owner_id=int(request.POST["owner_id"])
                if request.POST.get("owner_id", "").isdigit()
                else None,
            )
        except ValidationFailed as exc:
            context["problems"] = [m for msgs in exc.fields.values() for m in msgs]
        except ApplicationError as exc:
            context["problems"] = [exc.message]
        else:
            return redirect("imports:job", job.pk)
    if htmx_partial(request):
        return render(request, "imports/mapping.html#preview", context)
    return render(request, "imports/mapping.html", context)


def _progress_context(job: Job) -> dict[str, Any]:
    live = progress_get(job.pk) if not job.is_finished else {}
    total = live.get("total", job.total) or 0
    processed = live.get("processed", job.processed) or 0
    percent = 100 if job.is_finished else (int(processed * 100 / total) if total else 0)
    return {
        "job": job,
        "errors": localized_errors(
            job.errors, job.options.get("headers") or [], job.options.get("columns") or []
        ),
        "processed": processed,
        "total": total,
        "percent": min(percent, 100),
        "phase": live.get("phase", ""),
        "stuck": services.job_is_stuck(job),
    }


@login_required
@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if job.status == JobStatus.DRAFT:
        return redirect("imports:mapping", job.pk)
    context = _progress_context(job)
    if htmx_partial(request):
        return render(request, "imports/job.html#status", context)
    return render(request, "imports/job.html", context)


@login_required
@require_POST
def job_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    try:
        services.import_retry(actor=request.user, job_id=job.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("imports:job", job.pk)


@login_required
@require_GET
def job_download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    path = services.job_result_path(job)
    if path is None:
        raise Http404(_("This job has no file to download."))
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.result_name)


@login_required
@require_POST
def export_customers(request: HttpRequest) -> HttpResponse:
    if not request.user.allows(OBJECT_TYPE, Action.EXPORT):
        return HttpResponseForbidden(_("You cannot export customers."))
    form = CustomerFilterForm(request.POST)
    filters = CustomerFilters()
    if form.is_valid():
        filters = CustomerFilters.from_data(form.cleaned_data)
    fmt = request.POST.get("format", "xlsx")
    try:
        job = services.export_start(
            actor=request.user, filters=filters, fmt=fmt, language=get_language() or "vi"
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("customers:list")
    if job.status == JobStatus.SUCCEEDED:
        return redirect("imports:download", job.pk)
    return redirect("imports:job", job.pk)
