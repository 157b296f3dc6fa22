"""Imports and exports of customers: start a job, run it (in the worker), write the results.

An import is all-or-nothing by default: the file is read and checked completely first, and one bad row
means nothing is written and the user gets an XLSX of the bad rows with a reason column. With
`all_or_nothing=False` the valid rows are written and the rest reported. Either way the writing happens in
one transaction, so a job that dies half way leaves no partial data and can simply be run again.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.accounts.models import User
from careline.accounts.selectors import user_list_assignable
from careline.core.audit import audit_record
from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.models import AuditAction
from careline.core.visibility import Action, require_action
from careline.customers import services as customer_services
from careline.customers.bulk import ANALYZE_AFTER, customers_analyze
from careline.customers.choices import ContactKind
from careline.customers.models import ContactPoint, Customer, Tag
from careline.customers.selectors import OBJECT_TYPE, customer_visible
from careline.imports.choices import ImportMode, JobKind, JobStatus
from careline.imports.mapping import Mapping, auto_map
from careline.imports.models import Job
from careline.imports.parsing import RowError, parse_rows, preview
from careline.imports.progress import progress_clear, progress_set
from careline.imports.readers import ImportFileError, Outline, Table, read_outline, read_table
from careline.imports.staging import MODEL_KEYS, Checked, Record, Stage
from careline.vn import fold

MAX_STORED_ERRORS = 1000
PROGRESS_EVERY = 5000  # rows between progress updates


# --- files -----------------------------------------------------------------------------------------


def job_dir(job_id: int) -> Path:
    path = Path(settings.JOBS_DIR) / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _within_limits[T](
    reader: Callable[..., T], data: bytes, *, filename: str, encoding: str | None, sheet: str | None
) -> T:
    """``reader`` (read_table or read_outline) with the configured limits; its refusals as 422 errors."""
    try:
        return reader(
            data,
            filename=filename,
            encoding=encoding or None,
            sheet=sheet or None,
            max_bytes=settings.CARELINE_IMPORT_MAX_MB * 1024 * 1024,
            max_rows=settings.CARELINE_IMPORT_MAX_ROWS,
        )
    except ImportFileError as exc:
        raise ApplicationError(f"file_{exc.code}", str(exc), {"file": filename}, status=422) from exc


def _read(data: bytes, *, filename: str, encoding: str | None, sheet: str | None) -> Table:
    return _within_limits(read_table, data, filename=filename, encoding=encoding, sheet=sheet)


def _outline(data: bytes, *, filename: str, encoding: str | None, sheet: str | None) -> Outline:
    return _within_limits(read_outline, data, filename=filename, encoding=encoding, sheet=sheet)


def import_read(
    data: bytes, *, filename: str, encoding: str | None = None, sheet: str | None = None
) -> Table:
    """Read an uploaded file (raises ApplicationError 422 with a clear message when it can't be used)."""
    return _read(data, filename=filename, encoding=encoding, sheet=sheet)


def _mapping(headers: list[str], columns: list[str] | None) -> Mapping:
    mapping = Mapping(columns=list(columns) if columns else auto_map(headers))
    problems = mapping.validate(headers)
    if problems:
        raise ValidationFailed({"mapping": problems}, _("The column mapping is not usable."))
    return mapping


def error_dict(err: RowError) -> dict[str, Any]:
    return {"row": err.row, "column": err.column, "value": err.value, "message": err.message}


# --- preview ---------------------------------------------------------------------------------------


def import_preview(
    *,
    actor: User,
    data: bytes,
    filename: str,
    columns: list[str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> dict[str, Any]:
    """What the file holds and how it would be stored: headers, the (auto) mapping, the first rows as they
    will be stored and every row error — nothing is written."""
    require_action(actor, OBJECT_TYPE, Action.IMPORT)
    table = _read(data, filename=filename, encoding=encoding, sheet=sheet)
    mapping = Mapping(columns=list(columns) if columns else auto_map(table.headers))
    problems = mapping.validate(table.headers)
    rows, errors = ([], []) if problems else preview(table, mapping)
    return {
        "format": table.format,
        "headers": table.headers,
        "columns": mapping.columns,
        "problems": problems,
        "rows": rows,
        "errors": [error_dict(e) for e in errors],
        "total": len(table.rows),
        "encoding": table.encoding,
        "encoding_confident": table.encoding_confident,
        "encoding_candidates": table.encoding_candidates,
        "sheet": table.sheet,
        "sheets": table.sheets,
    }


# --- start -----------------------------------------------------------------------------------------


@transaction.atomic
def import_upload(
    *, actor: User, data: bytes, filename: str, encoding: str | None = None, sheet: str | None = None
) -> Job:
    """Keep an uploaded file as a draft import (the wizard then maps columns, previews and starts it)."""
    require_action(actor, OBJECT_TYPE, Action.IMPORT)
    outline = _outline(data, filename=filename, encoding=encoding, sheet=sheet)
    job = Job.objects.create(
        kind=JobKind.IMPORT,
        entity="customers",
        status=JobStatus.DRAFT,
        actor=actor,
        source_name=Path(filename).name[:255],
        total=outline.rows,
        options={
            "columns": auto_map(outline.headers),
            "encoding": encoding or None,
            "sheet": sheet or None,
            "format": outline.format,
            "headers": outline.headers,
        },
    )
    (job_dir(job.pk) / "source").write_bytes(data)
    return job


def import_job_table(job: Job) -> Table:
    """The draft's file read with its current encoding/sheet choice."""
    data = (job_dir(job.pk) / "source").read_bytes()
    return _read(
        data, filename=job.source_name, encoding=job.options.get("encoding"), sheet=job.options.get("sheet")
    )


@transaction.atomic
def import_configure(
    *,
    actor: User,
    job_id: int,
    columns: list[str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> tuple[Job, Table]:
    """Change a draft's mapping, encoding or sheet (the wizard's preview step)."""
    job = job_get(actor=actor, job_id=job_id)
    if job.status != JobStatus.DRAFT:
        raise ApplicationError("job_started", _("This import has already started."), status=409)
    options = dict(job.options)
    if encoding is not None:
        options["encoding"] = encoding or None
    if sheet is not None:
        options["sheet"] = sheet or None
    job.options = options
    table = import_job_table(job)
    if columns is not None and len(columns) == len(table.headers):
        options["columns"] = list(columns)
    elif columns is not None or options.get("headers") != table.headers:
        options["columns"] = auto_map(table.headers)
    options["headers"] = table.headers
    job.options = options
    job.total = len(table.rows)
    job.save(update_fields=["options", "total", "updated_at"])
    return job, table


@transaction.atomic
def import_launch(
    *,
    actor: User,
    job_id: int,
    mode: str = ImportMode.CREATE,
    all_or_nothing: bool = True,
    owner_id: int | None = None,
    run_now: bool = False,
) -> Job:
    """Start a draft import: check the options and queue it for the worker (or run it now, for the CLI)."""
    require_action(actor, OBJECT_TYPE, Action.IMPORT)
    job = Job.objects.select_for_update().filter(pk=job_get(actor=actor, job_id=job_id).pk).get()
    if job.status != JobStatus.DRAFT:
        raise ApplicationError("job_started", _("This import has already started."), status=409)
    if mode not in ImportMode.values:
        raise ValidationFailed({"mode": [_("Choose create, update or skip.")]})
    if owner_id is not None and not user_list_assignable(actor=actor).filter(pk=owner_id).exists():
        raise ValidationFailed({"owner_id": [_("You cannot assign customers to this user.")]})
    headers = job.options.get("headers")
    if headers is None:  # drafts made before headers were stored
        headers = import_job_table(job).headers
    problems = Mapping(columns=list(job.options.get("columns") or [])).validate(headers)
    if problems:  # checked against the headers stored at upload: no second read of a big file
        raise ValidationFailed({"mapping": problems}, _("The column mapping is not usable."))
    job.options = {
        **job.options,
        "mode": mode,
        "all_or_nothing": bool(all_or_nothing),
        "owner_id": owner_id if owner_id is not None else actor.pk,
    }
    job.status = JobStatus.PENDING
    job.save(update_fields=["options", "status", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        obj=job,
        object_repr=f"{job.source_name}: {job.total} rows",
        changes={
            "status": {"before": JobStatus.DRAFT, "after": JobStatus.PENDING},
            "mode": {"before": None, "after": mode},
        },
    )
    if not run_now:
        from careline.imports.tasks import import_run_task

        transaction.on_commit(lambda: import_run_task.enqueue(job.pk))
    return job


def import_start(
    *,
    actor: User,
    data: bytes,
    filename: str,
    mode: str = ImportMode.CREATE,
    columns: list[str] | None = None,
    all_or_nothing: bool = True,
    encoding: str | None = None,
    sheet: str | None = None,
    owner_id: int | None = None,
    run_now: bool = False,
) -> Job:
    """Upload, map and start in one call (the API and the CLI)."""
    with transaction.atomic():
        job = import_upload(actor=actor, data=data, filename=filename, encoding=encoding, sheet=sheet)
        if columns is not None:  # checked against the headers of the upload (import_launch checks the rest)
            if len(columns) != len(job.options["headers"]):
                raise ValidationFailed({"mapping": [_("Give one target per column of the file.")]})
            job.options = {**job.options, "columns": list(columns)}
            job.save(update_fields=["options", "updated_at"])
        job = import_launch(
            actor=actor,
            job_id=job.pk,
            mode=mode,
            all_or_nothing=all_or_nothing,
            owner_id=owner_id,
            run_now=run_now,
        )
    if run_now:  # the CLI: run in this process, after the job row is committed
        import_run(job_id=job.pk)
    job.refresh_from_db()
    return job


# --- run -------------------------------------------------------------------------------------------


def _tag_ids(names: Iterable[str]) -> dict[str, int]:
    wanted = {fold(n): n for n in names}
    existing = dict(Tag.objects.filter(name_folded__in=list(wanted)).values_list("name_folded", "pk"))
    for folded, name in wanted.items():
        if folded not in existing:
            existing[folded] = Tag.objects.create(name=name[:50], name_folded=folded[:50]).pk
    return existing


def _update_data(rec: Record, customer: Customer) -> dict[str, Any]:
    """Fields from the file for an existing customer: filled values win, every phone/email/tag is kept."""
    data = {k: v for k, v in rec.data.items() if k in MODEL_KEYS and k != "kind" and v not in (None, "")}
    points = list(customer.contact_points.all())
    phones = [p.value for p in points if p.kind == ContactKind.PHONE]
    emails = [p.value for p in points if p.kind == ContactKind.EMAIL]
    data["phones"] = [*phones, *[p for p in rec.numbers if p not in phones]]
    data["emails"] = [*emails, *[e for e in rec.emails if e not in emails]]
    if rec.tags:
        data["tags"] = list(dict.fromkeys([*(t.name for t in customer.tags.all()), *rec.tags]))
    return data


class _Abort(Exception):
    """Leave the write transaction: an all-or-nothing import found an error while writing."""


STALE_AFTER = dt.timedelta(minutes=10)  # a running job with no progress for this long lost its worker


def job_is_stuck(job: Job) -> bool:
    """Pending or running, and nothing has happened for a while: its worker died (or never got it)."""
    return (
        job.status in (JobStatus.PENDING, JobStatus.RUNNING) and timezone.now() - job.updated_at > STALE_AFTER
    )


@transaction.atomic
def import_retry(*, actor: User, job_id: int) -> Job:
    """Queue a stuck import again. Safe: its writes were one transaction, so a dead run left nothing behind."""
    job = job_get(actor=actor, job_id=job_id)
    if job.kind != JobKind.IMPORT or not job_is_stuck(job):
        raise ApplicationError(
            "job_not_stuck", _("Only an import that stopped making progress can be restarted."), status=409
        )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.PENDING, updated_at=timezone.now())
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        obj=job,
        changes={"status": {"before": job.status, "after": "retry"}},
    )
    from careline.imports.tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.enqueue(job.pk))
    job.refresh_from_db()
    return job


def import_run(*, job_id: int) -> Job:
    """Run a queued import (idempotent: a finished job is left as it is)."""
    job = Job.objects.select_related("actor", "actor__role").get(pk=job_id)
    if job.is_finished or job.status == JobStatus.DRAFT:
        return job
    job.status = JobStatus.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at", "updated_at"])
    progress_set(job.pk, status=JobStatus.RUNNING, phase="reading", processed=0, total=job.total)
    try:
        _run(job)
    except Exception as exc:  # a crash must end as a failed job with a message, never "running" forever
        job.refresh_from_db()
        job.status = JobStatus.FAILED
        job.message = _("The import stopped because of an unexpected error: %(error)s") % {"error": exc}
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at", "updated_at"])
        progress_clear(job.pk)
        raise
    progress_clear(job.pk)
    return job


class _Source:
    """The job's file: its row count, and its rows as the row reader gives them, read when needed (an XLSX
    staged column-wise needs them only for the rows the column lane leaves and for the error report)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.data = (job_dir(job.pk) / "source").read_bytes()
        self._table: Table | None = None
        self.row_count = 0

    def table(self) -> Table:
        if self._table is None:
            options = self.job.options
            self._table = _read(
                self.data,
                filename=self.job.source_name,
                encoding=options.get("encoding"),
                sheet=options.get("sheet"),
            )
        return self._table


def _run(job: Job) -> None:
    """Read and check the file once, staging the valid rows (an XLSX column-wise when it can, see
    careline.imports.columnar; any file row by row otherwise); then merge the duplicates of the file, match
    existing customers and write everything in one transaction (see careline.imports.staging)."""
    actor = job.actor
    source = _Source(job)
    stage = Stage()
    stage.create()
    try:
        checked = _check(job, source, stage)
        stage.index()
        if checked.groups:
            stage.merge_groups(set(checked.groups))
        matches = _match_existing(actor, stage, checked.by_key, checked.also)
        checked.by_key = {}  # the keys can go before the write
        _write(job, source, stage, matches, checked.errors, checked.failed_rows, checked.groups)
    finally:
        stage.drop()


def _check(job: Job, source: _Source, stage: Stage) -> Checked:
    """Check and stage every row of the job's file: the column lane for an XLSX it can take, else the rows."""
    options = job.options

    def progress(n: int) -> None:
        progress_set(job.pk, phase="checking", processed=n)

    headers = options.get("headers")
    if options.get("format") == "xlsx" and headers:
        from careline.imports import columnar

        lane = columnar.stage_xlsx(
            source.data,
            sheet=options.get("sheet") or None,
            headers=headers,
            mapping=_mapping(headers, options.get("columns")),
            stage=stage,
            read_table=source.table,
            progress=progress,
        )
        if lane is not None:
            source.row_count = lane.row_count
            return lane.checked
    table = source.table()
    source.row_count = len(table.rows)
    return stage_rows(table, _mapping(table.headers, options.get("columns")), stage, progress=progress)


def stage_rows(
    table: Table, mapping: Mapping, stage: Stage, *, progress: Callable[[int], None] | None = None
) -> Checked:
    """Check every row of the file and stage the valid ones: all the work an import does to a row before the
    database (the benchmark times this function with a stage that does not write)."""
    checked = Checked()
    record, lead, add = checked.record, checked.lead, stage.add
    for processed, (rownum, row_data, row_errors) in enumerate(parse_rows(table, mapping), start=1):
        if progress is not None and processed % PROGRESS_EVERY == 0:
            progress(processed)
        rec = record(rownum, row_data, row_errors)
        if rec is not None:
            add(rec, lead(rownum, rec.dedup_keys()))
    return checked


def _match_existing(
    actor: User, stage: Stage, by_key: dict[str, int], also: dict[str, set[int]]
) -> dict[int, int]:
    """leader row → the id of an existing customer the actor can see with the same phone, email, tax code or
    external id (the first of the row's keys that matches decides; the lowest id for one key)."""
    visible = customer_visible(actor=actor)
    if not visible.exists():
        return {}
    owner_of = stage.existing_owners(visible, by_key)
    if not owner_of:
        return {}
    candidates = {by_key[k] for k in owner_of}
    for k in owner_of:
        candidates.update(also.get(k, ()))
    matches: dict[int, int] = {}
    for leader, rec in stage.records(candidates):
        match = next((owner_of[k] for k in rec.dedup_keys() if k in owner_of), None)
        if match is not None:
            matches[leader] = match
    return matches


def _write(
    job: Job,
    source: _Source,
    stage: Stage,
    matches: dict[int, int],
    errors: list[RowError],
    failed_rows: set[int],
    groups: dict[int, int],
) -> None:
    actor = job.actor
    options = job.options
    mode = options.get("mode", ImportMode.CREATE)
    if mode == ImportMode.CREATE:
        for row, match_id in sorted(matches.items()):
            errors.append(
                RowError(row, "(match)", "", _("This customer already exists (#%(id)s).") % {"id": match_id})
            )
            failed_rows.add(row)
    merged = sum(n for leader, n in groups.items() if leader not in failed_rows)
    all_or_nothing = bool(options.get("all_or_nothing", True))
    created = updated = skipped = 0
    if errors and all_or_nothing:
        _finish(
            job, errors, failed_rows, source, created=0, updated=0, skipped=0, merged=merged, written=False
        )
        return
    owner = User.objects.filter(pk=options.get("owner_id") or actor.pk).first() or actor
    to_update = len(matches) if mode == ImportMode.UPDATE else 0
    try:
        with transaction.atomic():
            stage.set_matches(matches)
            _tag_ids(stage.tag_names())
            progress_set(job.pk, phase="writing", processed=0, total=stage.staged - len(matches) + to_update)
            created = stage.write(
                owner=owner, now=timezone.now(), progress=lambda done: progress_set(job.pk, processed=done)
            )
            if mode == ImportMode.SKIP:
                skipped = len(matches)
            elif mode == ImportMode.UPDATE:
                for i, (row, rec) in enumerate(stage.records(matches), start=1):
                    customer = Customer.objects.prefetch_related("contact_points", "tags").get(
                        pk=matches[row]
                    )
                    try:
                        with transaction.atomic():
                            customer_services.customer_update(
                                actor=actor,
                                customer_id=customer.pk,
                                data=_update_data(rec, customer),
                                allow_duplicate=False,
                            )
                    except ApplicationError as exc:
                        errors.append(RowError(rec.row, "(update)", "", exc.message))
                        failed_rows.add(rec.row)
                        if all_or_nothing:
                            raise _Abort from exc
                        continue
                    updated += 1
                    if i % 500 == 0:
                        progress_set(job.pk, processed=created + i)
            audit_record(
                actor=actor,
                action=AuditAction.IMPORT,
                object_type="customers.customer",
                object_repr=f"{job.source_name}: {created} created, {updated} updated",
                changes={
                    "job": {"before": None, "after": job.pk},
                    "created": {"before": 0, "after": created},
                },
            )
    except _Abort:
        _finish(
            job, errors, failed_rows, source, created=0, updated=0, skipped=0, merged=merged, written=False
        )
        return
    if created >= ANALYZE_AFTER:
        customers_analyze()  # after the commit: searches right after a big import use fresh statistics
    _finish(
        job,
        errors,
        failed_rows,
        source,
        created=created,
        updated=updated,
        skipped=skipped,
        merged=merged,
        written=True,
    )


def _finish(
    job: Job,
    errors: list[RowError],
    failed_rows: set[int],
    source: _Source,
    *,
    created: int,
    updated: int,
    skipped: int,
    merged: int,
    written: bool,
) -> None:
    job.processed = source.row_count
    job.created, job.updated, job.skipped = created, updated, skipped
    job.failed = len(failed_rows)
    job.errors = [error_dict(e) for e in errors[:MAX_STORED_ERRORS]]
    job.options = {**job.options, "merged_rows": merged, "error_count": len(errors)}
    if errors:
        job.result_name = "errors.xlsx"
        write_error_report(job_dir(job.pk) / job.result_name, source.table(), errors)
    if written:
        job.status = JobStatus.SUCCEEDED
        job.message = _(
            "Imported: %(created)d created, %(updated)d updated, %(skipped)d skipped, %(failed)d rows with errors."
        ) % {"created": created, "updated": updated, "skipped": skipped, "failed": job.failed}
    else:
        job.status = JobStatus.FAILED
        job.message = _(
            "Nothing was imported: %(failed)d rows have errors. Download the error file, fix the rows and import "
            "it again (or choose to import the valid rows only)."
        ) % {"failed": job.failed}
    job.finished_at = timezone.now()
    job.save()


def write_error_report(path: Path, table: Table, errors: list[RowError]) -> None:
    """The bad rows as they were in the file, plus a reason column: fix them and import this file again."""
    import xlsxwriter

    reasons: dict[int, list[str]] = {}
    for err in errors:
        text = f"{err.column}: {err.message}" + (f" ({err.value})" if err.value else "")
        reasons.setdefault(err.row, []).append(text)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet("Lỗi")
    bold = workbook.add_format({"bold": True})
    for col, header in enumerate([*table.headers, _("Reason")]):
        sheet.write_string(0, col, header, bold)
    out_row = 1
    for index, row in enumerate(table.rows):
        rownum = index + 2
        if rownum not in reasons:
            continue
        for col, value in enumerate(row):
            _write_cell(sheet, out_row, col, value)
        sheet.write_string(out_row, len(table.headers), "; ".join(reasons[rownum]))
        out_row += 1
    for rownum in sorted(r for r in reasons if r < 2):
        sheet.write_string(out_row, len(table.headers), "; ".join(reasons[rownum]))
        out_row += 1
    workbook.close()


def _write_cell(sheet: Any, row: int, col: int, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, dt.datetime | dt.date):
        sheet.write_string(row, col, value.strftime("%d/%m/%Y"))
    else:
        sheet.write_string(row, col, safe_text(str(value)))


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
_TRIGGER_CHARS = frozenset(FORMULA_TRIGGERS)


def safe_text(text: str) -> str:
    """Neutralise spreadsheet formula injection: a cell that starts with = + - @ tab CR NUL gets a leading
    apostrophe — unless it is just a number (a negative amount), which Excel never evaluates."""
    if text.startswith(FORMULA_TRIGGERS):
        stripped = text.replace(".", "").replace(",", "").replace(" ", "")
        if not (stripped[:1] in "+-" and stripped[1:].isdigit()):
            return "'" + text
    return text


# --- reads ----------------------------------------------------------------------------------------


def job_get(*, actor: User, job_id: int) -> Job:
    """A job the actor started (admins see every job); others answer 404."""
    qs = Job.objects.all() if actor.is_superuser else Job.objects.filter(actor=actor)
    job = qs.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("Job not found."))
    return job


def job_result_path(job: Job) -> Path | None:
    if not job.result_name:
        return None
    path = job_dir(job.pk) / job.result_name
    return path if path.is_file() else None


def jobs_purge(*, older_than_days: int = 30) -> int:
    """Delete the files of old finished jobs (the rows stay for the record)."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    count = 0
    for job in Job.objects.filter(finished_at__lt=cutoff).only("pk"):
        shutil.rmtree(Path(settings.JOBS_DIR) / str(job.pk), ignore_errors=True)
        count += 1
    return count


# --- export ---------------------------------------------------------------------------------------

# (key, Vietnamese header, English header). The headers are also recognised by the import's auto-mapping,
# so an export can be imported back as it is.
EXPORT_COLUMNS: list[tuple[str, str, str]] = [
    ("id", "Mã", "ID"),
    ("full_name", "Họ và tên", "Full name"),
    ("kind", "Loại", "Kind"),
    ("salutation", "Danh xưng", "Salutation"),
    ("phones", "Điện thoại", "Phones"),
    ("emails", "Email", "Emails"),
    ("birthday", "Ngày sinh", "Birthday"),
    ("tax_code", "Mã số thuế", "Tax code"),
    ("province", "Tỉnh / thành phố", "Province"),
    ("ward", "Phường / xã", "Ward"),
    ("street", "Số nhà, đường", "Street"),
    ("legacy_address", "Địa chỉ cũ", "Legacy address"),
    ("stage", "Giai đoạn", "Stage"),
    ("source", "Nguồn", "Source"),
    ("tier", "Phân hạng", "Tier"),
    ("tags", "Nhãn", "Tags"),
    ("owner", "Người phụ trách", "Owner"),
    ("created_at", "Ngày tạo", "Created"),
]


def export_headers(language: str) -> list[str]:
    return [vi if language == "vi" else en for _key, vi, en in EXPORT_COLUMNS]


EXPORT_FIELDS = (
    "id", "full_name", "kind", "salutation", "birthday", "tax_code", "province", "ward", "street",
    "legacy_address", "stage", "source", "tier", "owner_id", "created_at",
)  # fmt: skip
EXPORT_CHUNK = 2000


class _ExportLabels:
    """What the export shows for stored values, worked out once per export (in its language): choice labels,
    province names, owner names."""

    def __init__(self) -> None:
        self.choices = {
            name: {
                value: str(label)
                for value, label in getattr(Customer._meta.get_field(name), "flatchoices", ())
            }
            for name in ("kind", "salutation", "stage", "source", "tier")
        }
        self.provinces: dict[str, str] = {}
        self.owners: dict[int, str] = {}
        self.tz = timezone.get_current_timezone()

    def choice(self, name: str, value: str) -> str:
        return self.choices[name].get(value, value)

    def province(self, code: str) -> str:
        if code not in self.provinces:
            from careline.vn import province_by_code

            province = province_by_code(code)
            self.provinces[code] = province.name if province else ""
        return self.provinces[code]

    def owner(self, owner_id: int | None) -> str:
        if owner_id is None:
            return ""
        if owner_id not in self.owners:
            user = User.objects.filter(pk=owner_id).first()
            self.owners[owner_id] = str(user) if user else ""
        return self.owners[owner_id]


def _contacts_and_tags(
    ids: list[int],
) -> tuple[dict[int, list[str]], dict[int, list[str]], dict[int, list[str]]]:
    """Phones (formatted), emails and tag names of a chunk of customers, with one query (in display order)."""
    from django.db import connection

    from careline.vn import format_phone

    cp = ContactPoint._meta.db_table
    through = Customer.tags.through._meta.db_table
    tag = Tag._meta.db_table
    params: list[Any]
    if connection.vendor == "postgresql":  # one array parameter, not 2 × 2,000 placeholders to bind
        match, params = "= ANY(%s)", [ids, ids]
    else:
        match, params = f"IN ({', '.join(['%s'] * len(ids))})", ids + ids
    sql = (
        f"SELECT customer_id, kind, value, position, id, '' FROM {cp} WHERE customer_id {match}"
        f" UNION ALL SELECT ct.customer_id, 'tag', t.name, 0, t.id, t.name_folded FROM {through} ct"
        f" JOIN {tag} t ON t.id = ct.tag_id WHERE ct.customer_id {match}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    points = sorted((r for r in rows if r[1] != "tag"), key=lambda r: (r[0], r[3], r[4]))
    tag_rows = sorted((r for r in rows if r[1] == "tag"), key=lambda r: (r[0], r[5], r[4]))
    phones: dict[int, list[str]] = {}
    emails: dict[int, list[str]] = {}
    tags: dict[int, list[str]] = {}
    for customer_id, kind, value, _pos, _id, _f in points:
        if kind == ContactKind.PHONE:
            phones.setdefault(customer_id, []).append(format_phone(value))
        else:
            emails.setdefault(customer_id, []).append(value)
    for customer_id, _kind, name, _pos, _id, _f in tag_rows:
        tags.setdefault(customer_id, []).append(name)
    return phones, emails, tags


def _export_rows(qs: Any) -> Iterator[list[Any]]:
    """The export's rows (EXPORT_COLUMNS order) from plain values, contact points and tags one query per
    chunk: no model instances, no per-row display lookups."""
    labels = _ExportLabels()
    choice = labels.choices
    kinds, salutations, stages = choice["kind"], choice["salutation"], choice["stage"]
    sources, tiers, provinces, tz = choice["source"], choice["tier"], labels.provinces, labels.tz
    chunk: list[tuple[Any, ...]] = []

    def rows_of(chunk: list[tuple[Any, ...]]) -> Iterator[list[Any]]:
        phones, emails, tags = _contacts_and_tags([r[0] for r in chunk])
        for (pk, full_name, kind, salutation, birthday, tax_code, province, ward, street, legacy, stage, source,
             tier, owner_id, created_at) in chunk:  # fmt: skip
            yield [
                pk,
                full_name,
                kinds.get(kind, kind),
                salutations.get(salutation, salutation) if salutation else "",
                "; ".join(phones.get(pk, ())),
                "; ".join(emails.get(pk, ())),
                birthday.strftime("%d/%m/%Y") if birthday else "",
                tax_code,
                (provinces[province] if province in provinces else labels.province(province))
                if province
                else "",
                ward,
                street,
                legacy,
                stages.get(stage, stage),
                sources.get(source, source) if source else "",
                tiers.get(tier, tier) if tier else "",
                ", ".join(tags.get(pk, ())),
                labels.owner(owner_id),
                created_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            ]

    for row in qs.values_list(*EXPORT_FIELDS).iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) >= EXPORT_CHUNK:
            yield from rows_of(chunk)
            chunk = []
    if chunk:
        yield from rows_of(chunk)


def export_write(
    path: Path, fmt: str, headers: list[str], rows: Iterable[list[Any]], progress: Any = None
) -> int:
    """Write rows to CSV (UTF-8 with BOM, so Excel shows Vietnamese) or XLSX (constant memory); every text
    cell is formula-safe. Returns the number of data rows."""
    count = 0
    if fmt == "csv":
        import csv

        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([safe_text(h) for h in headers])
            for row in rows:
                writer.writerow([safe_text(v) if isinstance(v, str) else v for v in row])
                count += 1
                if progress and count % PROGRESS_EVERY == 0:
                    progress(count)
        return count
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet("Khách hàng")
    bold = workbook.add_format({"bold": True})
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, bold)
    write_string, write_number = sheet.write_string, sheet.write_number
    for row in rows:
        count += 1
        for col, value in enumerate(row):
            kind = type(value)
            if kind is str:  # the common cells first, as _write_cell would write them
                if value:
                    write_string(count, col, safe_text(value) if value[0] in _TRIGGER_CHARS else value)
            elif kind is int:
                write_number(count, col, value)
            else:
                _write_cell(sheet, count, col, value)
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    workbook.close()
    return count


def export_start(
    *, actor: User, filters: Any, fmt: str, language: str = "vi", run_now: bool | None = None
) -> Job:
    """Export the customers the actor sees with these list filters. Small exports run at once; large ones
    are queued for the worker (the page shows a progress bar and then the download link)."""
    from careline.customers.selectors import customer_search_queryset

    require_action(actor, OBJECT_TYPE, Action.EXPORT)
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": [_("Choose csv or xlsx.")]})
    qs, _rank = customer_search_queryset(actor=actor, filters=filters)
    total = qs.count()
    job = Job.objects.create(
        kind=JobKind.EXPORT,
        entity="customers",
        actor=actor,
        total=total,
        options={"format": fmt, "language": language, "filters": _filters_dict(filters)},
    )
    if run_now is None:
        run_now = total <= settings.CARELINE_EXPORT_SYNC_ROWS
    if run_now:
        export_run(job_id=job.pk)
        job.refresh_from_db()
    else:
        from careline.imports.tasks import export_run_task

        transaction.on_commit(lambda: export_run_task.enqueue(job.pk))
    return job


def _filters_dict(filters: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(filters)


def export_run(*, job_id: int) -> Job:
    """Write the export file of a queued export job (idempotent)."""
    from django.utils import translation

    from careline.customers.selectors import CustomerFilters, customer_search_queryset

    job = Job.objects.select_related("actor", "actor__role").get(pk=job_id)
    if job.is_finished:
        return job
    job.status = JobStatus.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at", "updated_at"])
    options = job.options
    fmt = options["format"]
    with translation.override(options.get("language", "vi")):
        qs, _rank = customer_search_queryset(
            actor=job.actor, filters=CustomerFilters(**options.get("filters", {}))
        )
        qs = qs.order_by("given_folded", "name_folded", "id")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        job.result_name = f"khach-hang-{stamp}.{fmt}"
        rows = _export_rows(qs)
        count = export_write(
            job_dir(job.pk) / job.result_name,
            fmt,
            export_headers(options.get("language", "vi")),
            rows,
            progress=lambda n: progress_set(job.pk, status=JobStatus.RUNNING, processed=n, total=job.total),
        )
    job.processed = job.total = count
    job.status = JobStatus.SUCCEEDED
    job.finished_at = timezone.now()
    job.message = _("%(count)d customers exported.") % {"count": count}
    job.save()
    audit_record(
        actor=job.actor,
        action=AuditAction.EXPORT,
        obj=job,
        object_repr=f"{job.result_name}: {count} rows",
        changes={
            "rows": {"before": None, "after": count},
            "filters": {"before": None, "after": options.get("filters")},
        },
    )
    progress_clear(job.pk)
    return job
