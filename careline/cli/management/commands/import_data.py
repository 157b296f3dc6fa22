from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from careline.accounts.models import User
from careline.core import context
from careline.core.errors import ApplicationError, ValidationFailed
from careline.imports import services
from careline.imports.api import job_payload
from careline.imports.progress import progress_listen


class Command(BaseCommand):
    help = "Import a file of customers (CSV, XLSX or vCard): `careline import customers FILE`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", choices=["customers"])
        parser.add_argument("file")
        parser.add_argument("--mode", choices=["create", "update", "skip"], default="create")
        parser.add_argument(
            "--partial", action="store_true", help="Import the valid rows and report the rest"
        )
        parser.add_argument(
            "--mapping", help="JSON file: a list of targets (one per column) or {header: target}"
        )
        parser.add_argument("--encoding", help="Text encoding of a CSV (detected when omitted)")
        parser.add_argument("--sheet", help="Sheet of an XLSX (the first one when omitted)")
        parser.add_argument("--as", dest="as_user", help="Import as this user (default: the first superuser)")
        parser.add_argument("--json", action="store_true", help="Print the job as the jobs API does")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = _actor(options["as_user"])
        data = path.read_bytes()
        token = context.activate(context.RequestContext(source="cli"))
        console = Console(file=self.stderr)
        try:
            columns = self._columns(options, data, path.name)
            with Progress(
                TextColumn("[bold]Import"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("import", total=None)

                def report(_job_id: int, figures: dict[str, Any]) -> None:
                    bar.update(task, completed=figures.get("processed", 0), total=figures.get("total"))

                with progress_listen(report):
                    job = services.import_start(
                        actor=actor,
                        data=data,
                        filename=path.name,
                        mode=options["mode"],
                        columns=columns,
                        all_or_nothing=not options["partial"],
                        encoding=options["encoding"],
                        sheet=options["sheet"],
                        run_now=True,
                    )
        except ValidationFailed as exc:
            raise CommandError(f"{exc.message} {json.dumps(exc.fields, ensure_ascii=False)}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            context.deactivate(token)
        job.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps(job_payload(job), ensure_ascii=False, default=str, indent=2))
        else:
            self.stdout.write(
                f"Job {job.pk}: {job.status}. {job.message}\n"
                f"  rows {job.total}, created {job.created}, updated {job.updated}, skipped {job.skipped}, "
                f"failed {job.failed}"
            )
            for err in job.errors[:20]:
                self.stdout.write(f"  row {err['row']} · {err['column']}: {err['message']} ({err['value']})")
            if job.result_name:
                self.stdout.write(f"  error report: {services.job_dir(job.pk) / job.result_name}")
        if job.status != "succeeded":
            raise SystemExit(1)

    @staticmethod
    def _columns(options: dict[str, Any], data: bytes, filename: str) -> list[str] | None:
        if not options["mapping"]:
            return None
        from careline.imports.api import parse_mapping

        raw = Path(options["mapping"]).read_text(encoding="utf-8")
        headers = None
        if raw.strip().startswith("{"):
            headers = services.import_read(
                data, filename=filename, encoding=options["encoding"], sheet=options["sheet"]
            ).headers
        return parse_mapping(raw, headers)


def _actor(username: str | None) -> User:
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
    else:
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
    if user is None:
        raise CommandError("No user to act as: create one with `careline createuser` or pass --as.")
    return user
