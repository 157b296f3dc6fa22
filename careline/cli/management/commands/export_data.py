from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.cli.management.commands.import_data import _actor
from careline.core import context
from careline.core.errors import ApplicationError
from careline.customers.selectors import CustomerFilters
from careline.imports import services


class Command(BaseCommand):
    help = (
        "Export customers to FILE.xlsx or FILE.csv with the list filters: `careline export customers FILE`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", choices=["customers"])
        parser.add_argument("file")
        for name in ("q", "stage", "owner", "tag", "province", "source"):
            parser.add_argument(f"--{name}", default="")
        parser.add_argument("--team", type=int)
        parser.add_argument("--branch", type=int)
        parser.add_argument("--archived", action="store_true")
        parser.add_argument("--as", dest="as_user", help="Export as this user (default: the first superuser)")
        parser.add_argument("--language", default="vi", choices=["vi", "en"], help="Column headers")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["file"])
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in ("csv", "xlsx"):
            raise CommandError("The file name must end in .csv or .xlsx")
        filters = CustomerFilters.from_data(options)
        token = context.activate(context.RequestContext(source="cli"))
        try:
            job = services.export_start(
                actor=_actor(options["as_user"]),
                filters=filters,
                fmt=fmt,
                language=options["language"],
                run_now=True,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            context.deactivate(token)
        path = services.job_result_path(job)
        if path is None:
            raise CommandError(job.message or "The export produced no file.")
        shutil.copyfile(path, target)
        self.stdout.write(f"{job.processed} customers written to {target}")
