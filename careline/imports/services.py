"""Imports and exports of customers: start a job, run it (in the worker), write the results.

An import is all-or-nothing by default: the file is read and checked completely first, and one bad row
means nothing is written and the user gets an XLSX of the bad rows with a reason column. With
`all_or_nothing=False` the valid rows are written and the rest reported. Either way the writing happens in
one transaction, so a job that dies half way leaves no partial data and can simply be run again.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
from careline.customers.bulk import BulkCustomer, customers_bulk_insert
from careline.customers.choices import ContactKind
from careline.customers.models import ContactPoint, Customer, Tag
from careline.customers.selectors import OBJECT_TYPE, customer_visible
from careline.imports.choices import ImportMode, JobKind, JobStatus
from careline.imports.mapping import Mapping, auto_map
from careline.imports.models import Job
from careline.imports.parsing import RowError, parse_rows, preview
from careline.imports.progress import progress_clear, progress_set
from careline.imports.readers import ImportFileError, Table, read_table
from careline.vn import fold

MAX_STORED_ERRORS = 1000
PROGRESS_EVERY = 5000  # rows between progress updates
LOOKUP_CHUNK = 5000  # values per IN (...) when matching existing customers


# --- files -----------------------------------------------------------------------------------------


def job_dir(job_id: int) -> Path:
    path = Path(settings.JOBS_DIR) / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(data: bytes, *, filename: str, encoding: str | None, sheet: str | None) -> Table:
    try:
        return read_table(
            data,
            filename=filename,
            encoding=encoding or None,
            sheet=sheet or None,
            max_bytes=settings.CARELINE_IMPORT_MAX_MB * 1024 * 1024,
            max_rows=settings.CARELINE_IMPORT_MAX_ROWS,
        )
    except ImportFileError as exc:
        raise ApplicationError(f"file_{exc.code}", str(exc), {"file": filename}, status=422) from exc


def import_read(
    data: bytes, *, filename: str, encoding: str | None = None, sheet: str | None = None
) -> Table:
    """Read an uploaded file (raises ApplicationError 422 with a clear message when it can't be used)."""
    return _read(data, filename=filename, encoding=encoding, sheet=sheet)


def _mapping(table: Table, columns: list[str] | None) -> Mapping:
    mapping = Mapping(columns=list(columns) if columns else auto_map(table.headers))
    problems = mapping.validate(table.headers)
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
    table = _read(data, filename=filename, encoding=encoding, sheet=sheet)
    job = Job.objects.create(
        kind=JobKind.IMPORT,
        entity="customers",
        status=JobStatus.DRAFT,
        actor=actor,
        source_name=Path(filename).name[:255],
        total=len(table.rows),
        options={
            "columns": auto_map(table.headers),
            "encoding": encoding or None,
            "sheet": sheet or None,
            "format": table.format,
            "headers": table.headers,
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
        if columns is not None:
            job, _table = import_configure(actor=actor, job_id=job.pk, columns=columns)
            if job.options["columns"] != list(columns):
                raise ValidationFailed({"mapping": [_("Give one target per column of the file.")]})
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


@dataclass
class Record:
    """One valid row ready to write, with the rows of the file merged into it."""

    row: int
    data: dict[str, Any]
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    merged_rows: list[int] = field(default_factory=list)
    match_id: int | None = None


def _phones_of(data: dict[str, Any]) -> list[str]:
    out = []
    for p in data.get("phones") or []:
        out.append(p["number"] if isinstance(p, dict) else str(p))
    return out


def _keys(rec: Record) -> Iterator[str]:
    for p in rec.phones:
        yield "p:" + p
    for e in rec.emails:
        yield "e:" + e
    if rec.data.get("tax_code"):
        yield "t:" + rec.data["tax_code"]
    if rec.data.get("external_ref"):
        yield "x:" + str(rec.data["external_ref"])


def _merge_into(first: Record, later: Record) -> None:
    """A duplicate row of the file adds what the first one lacks: every phone and email, empty fields."""
    for p in later.phones:
        if p not in first.phones:
            first.phones.append(p)
    for e in later.emails:
        if e not in first.emails:
            first.emails.append(e)
    for key, value in later.data.items():
        if key in ("phones", "emails"):
            continue
        if key == "tags":
            first.data["tags"] = list(dict.fromkeys([*(first.data.get("tags") or []), *value]))
        elif not first.data.get(key):
            first.data[key] = value
    first.merged_rows.append(later.row)


def _dedupe(records: list[Record]) -> list[Record]:
    by_key: dict[str, Record] = {}
    kept: list[Record] = []
    for rec in records:
        first = next((by_key[k] for k in _keys(rec) if k in by_key), None)
        if first is None:
            kept.append(rec)
            target = rec
        else:
            _merge_into(first, rec)
            target = first
        for k in _keys(rec):
            by_key.setdefault(k, target)
    return kept


def _chunks(values: list[str], size: int = LOOKUP_CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _match_existing(actor: User, records: list[Record]) -> None:
    """Set `match_id` from customers the actor can see with the same phone, email, tax code or external id."""
    visible = customer_visible(actor=actor)
    owner_of: dict[str, int] = {}
    phones = sorted({p for r in records for p in r.phones})
    emails = sorted({e for r in records for e in r.emails})
    for kind, values, prefix in ((ContactKind.PHONE, phones, "p:"), (ContactKind.EMAIL, emails, "e:")):
        for chunk in _chunks(values):
            rows = ContactPoint.objects.filter(kind=kind, value__in=chunk, customer__in=visible).values_list(
                "value", "customer_id"
            )
            for value, customer_id in rows.order_by("customer_id"):
                owner_of.setdefault(prefix + value, customer_id)
    taxes = sorted({r.data["tax_code"] for r in records if r.data.get("tax_code")})
    for chunk in _chunks(taxes):
        for tax, customer_id in (
            visible.filter(tax_code__in=chunk).order_by("pk").values_list("tax_code", "pk")
        ):
            owner_of.setdefault("t:" + tax, customer_id)
    refs = sorted({str(r.data["external_ref"]) for r in records if r.data.get("external_ref")})
    for chunk in _chunks(refs):
        for ref, customer_id in (
            visible.filter(external_ref__in=chunk).order_by("pk").values_list("external_ref", "pk")
        ):
            owner_of.setdefault("x:" + ref, customer_id)
    for rec in records:
        rec.match_id = next((owner_of[k] for k in _keys(rec) if k in owner_of), None)


def _tag_ids(names: Iterable[str]) -> dict[str, int]:
    wanted = {fold(n): n for n in names}
    existing = dict(Tag.objects.filter(name_folded__in=list(wanted)).values_list("name_folded", "pk"))
    for folded, name in wanted.items():
        if folded not in existing:
            existing[folded] = Tag.objects.create(name=name[:50], name_folded=folded[:50]).pk
    return existing


MODEL_KEYS = {
    "kind", "full_name", "salutation", "job_title", "birthday", "lunar_birthday", "founded_on", "tax_code",
    "province", "ward", "street", "legacy_address", "tier", "stage", "source", "price_type", "contract_terms",
    "receivable_amount", "receivable_due", "external_ref",
}  # fmt: skip


def _bulk_row(rec: Record, owner: User, tag_ids: dict[str, int]) -> BulkCustomer:
    values = {k: v for k, v in rec.data.items() if k in MODEL_KEYS}
    values.setdefault("stage", "lead")
    values.setdefault("source", "import")
    values["owner_id"] = owner.pk
    values["team_id"] = owner.team_id
    values["branch_id"] = owner.branch_id
    values["created_by_id"] = owner.pk
    if values.get("external_ref") is not None:
        values["external_ref"] = str(values["external_ref"])[:64]
    labels = {
        (p["number"] if isinstance(p, dict) else p): (
            p.get("label", "mobile") if isinstance(p, dict) else "mobile"
        )
        for p in rec.data.get("phones") or []
    }
    return BulkCustomer(
        values=values,
        phones=[(p, labels.get(p, "mobile")) for p in rec.phones],
        emails=rec.emails,
        tag_ids=[tag_ids[fold(t)] for t in rec.data.get("tags") or [] if fold(t) in tag_ids],
    )


def _update_data(rec: Record, customer: Customer) -> dict[str, Any]:
    """Fields from the file for an existing customer: filled values win, every phone/email/tag is kept."""
    data = {k: v for k, v in rec.data.items() if k in MODEL_KEYS and k != "kind" and v not in (None, "")}
    points = list(customer.contact_points.all())
    phones = [p.value for p in points if p.kind == ContactKind.PHONE]
    emails = [p.value for p in points if p.kind == ContactKind.EMAIL]
    data["phones"] = [*phones, *[p for p in rec.phones if p not in phones]]
    data["emails"] = [*emails, *[e for e in rec.emails if e not in emails]]
    if rec.data.get("tags"):
        data["tags"] = list(dict.fromkeys([*(t.name for t in customer.tags.all()), *rec.data["tags"]]))
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


def _run(job: Job) -> None:
    actor = job.actor
    options = job.options
    data = (job_dir(job.pk) / "source").read_bytes()
    table = _read(
        data, filename=job.source_name, encoding=options.get("encoding"), sheet=options.get("sheet")
    )
    mapping = _mapping(table, options.get("columns"))
    errors: list[RowError] = []
    failed_rows: set[int] = set()
    records: list[Record] = []
    for processed, (rownum, row_data, row_errors) in enumerate(parse_rows(table, mapping), start=1):
        if row_errors:
            errors.extend(row_errors)
            failed_rows.add(rownum)
        else:
            records.append(
                Record(
                    row=rownum,
                    data=row_data,
                    phones=_phones_of(row_data),
                    emails=list(row_data.get("emails") or []),
                )
            )
        if processed % PROGRESS_EVERY == 0:
            progress_set(job.pk, phase="checking", processed=processed)
    too_long = [r for r in records if len(r.data.get("full_name", "")) > 200]
    for rec in too_long:
        errors.append(
            RowError(
                rec.row, "(name)", rec.data["full_name"][:50], _("The name is longer than 200 characters.")
            )
        )
        failed_rows.add(rec.row)
    records = [r for r in records if r.row not in failed_rows]
    records = _dedupe(records)
    _match_existing(actor, records)
    mode = options.get("mode", ImportMode.CREATE)
    if mode == ImportMode.CREATE:
        for rec in records:
            if rec.match_id is not None:
                errors.append(
                    RowError(
                        rec.row,
                        "(match)",
                        "",
                        _("This customer already exists (#%(id)s).") % {"id": rec.match_id},
                    )
                )
                failed_rows.add(rec.row)
        records = [r for r in records if r.row not in failed_rows]
    to_create = [r for r in records if r.match_id is None]
    matched = [r for r in records if r.match_id is not None]
    merged = sum(len(r.merged_rows) for r in records)
    all_or_nothing = bool(options.get("all_or_nothing", True))
    created = updated = skipped = 0
    if errors and all_or_nothing:
        _finish(
            job, errors, failed_rows, table, created=0, updated=0, skipped=0, merged=merged, written=False
        )
        return
    owner = User.objects.filter(pk=options.get("owner_id") or actor.pk).first() or actor
    try:
        with transaction.atomic():
            progress_set(job.pk, phase="writing", processed=0, total=len(to_create) + len(matched))
            tag_ids = _tag_ids({t for r in to_create for t in r.data.get("tags") or []})
            customers_bulk_insert(
                (_bulk_row(r, owner, tag_ids) for r in to_create),
                batch_size=10_000,
                progress=lambda done: progress_set(job.pk, processed=done),
            )
            created = len(to_create)
            if mode == ImportMode.SKIP:
                skipped = len(matched)
            else:
                for i, rec in enumerate(matched, start=1):
                    assert rec.match_id is not None  # `matched` holds only matched records
                    customer = Customer.objects.prefetch_related("contact_points", "tags").get(
                        pk=rec.match_id
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
            job, errors, failed_rows, table, created=0, updated=0, skipped=0, merged=merged, written=False
        )
        return
    _finish(
        job,
        errors,
        failed_rows,
        table,
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
    table: Table,
    *,
    created: int,
    updated: int,
    skipped: int,
    merged: int,
    written: bool,
) -> None:
    job.processed = len(table.rows)
    job.created, job.updated, job.skipped = created, updated, skipped
    job.failed = len(failed_rows)
    job.errors = [error_dict(e) for e in errors[:MAX_STORED_ERRORS]]
    job.options = {**job.options, "merged_rows": merged, "error_count": len(errors)}
    if errors:
        job.result_name = "errors.xlsx"
        write_error_report(job_dir(job.pk) / job.result_name, table, errors)
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


def _export_values(c: Customer) -> list[Any]:
    from careline.vn import format_phone, province_by_code

    points = list(c.contact_points.all())
    province = province_by_code(c.province) if c.province else None
    values: dict[str, Any] = {
        "id": c.pk,
        "full_name": c.full_name,
        "kind": c.get_kind_display(),
        "salutation": c.get_salutation_display() if c.salutation else "",
        "phones": "; ".join(format_phone(p.value) for p in points if p.kind == ContactKind.PHONE),
        "emails": "; ".join(p.value for p in points if p.kind == ContactKind.EMAIL),
        "birthday": c.birthday.strftime("%d/%m/%Y") if c.birthday else "",
        "tax_code": c.tax_code,
        "province": province.name if province else "",
        "ward": c.ward,
        "street": c.street,
        "legacy_address": c.legacy_address,
        "stage": c.get_stage_display(),
        "source": c.get_source_display() if c.source else "",
        "tier": c.get_tier_display() if c.tier else "",
        "tags": ", ".join(t.name for t in c.tags.all()),
        "owner": str(c.owner) if c.owner_id else "",
        "created_at": timezone.localtime(c.created_at).strftime("%d/%m/%Y %H:%M"),
    }
    return [values[key] for key, _vi, _en in EXPORT_COLUMNS]


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
    for row in rows:
        count += 1
        for col, value in enumerate(row):
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
        qs = (
            qs.select_related("owner")
            .prefetch_related("contact_points", "tags")
            .order_by("given_folded", "name_folded", "id")
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        job.result_name = f"khach-hang-{stamp}.{fmt}"
        rows = (_export_values(c) for c in qs.iterator(chunk_size=2000))
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
