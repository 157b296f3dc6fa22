"""`careline surveys send [--survey ID] [--dry-run] [--json]`: send the scheduled surveys now.

The same work as the worker's daily job (`surveys.services.surveys_send_due`): each active scheduled survey
invites, by email, the customers of its segment who have an address, whose consent allows it and who were
not invited in the last `every_days` days. `--dry-run` only counts.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.core import context
from careline.core.errors import ApplicationError
from careline.surveys import services


class Command(BaseCommand):
    help = "Surveys. `surveys send [--survey ID] [--dry-run] [--json]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="Send the scheduled surveys to their segments now")
        send.add_argument("--survey", type=int, help="Only this survey (id); it must be active and scheduled")
        send.add_argument("--dry-run", action="store_true", help="Count who would be invited; send nothing")
        send.add_argument("--json", action="store_true", help="Print JSON (one object per survey)")

    def handle(self, *args: Any, **options: Any) -> None:
        token = context.activate(context.RequestContext(source="cli"))
        try:
            self.send(options)
        finally:
            context.deactivate(token)

    def send(self, options: dict[str, Any]) -> None:
        try:
            reports = services.surveys_send_due(
                survey_id=options.get("survey"), dry_run=bool(options.get("dry_run"))
            )
        except ApplicationError as exc:
            details = "; ".join(m for msgs in getattr(exc, "fields", {}).values() for m in msgs)
            raise CommandError(details or exc.message) from exc
        if options.get("json"):
            self.stdout.write(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2))
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(file=self.stdout, width=140, highlight=False)  # type: ignore[arg-type]
        if not reports:
            console.print("No active scheduled survey.")
            return
        title = (
            "Scheduled surveys — dry run (nothing sent)"
            if options.get("dry_run")
            else "Scheduled surveys sent"
        )
        table = Table(title=title, header_style="bold")
        for col in ("survey", "eligible", "invited", "emailed", "failed", "no email", "next run"):
            table.add_column(col, justify="left" if col == "survey" else "right")
        for r in reports:
            table.add_row(
                f"#{r.survey_id} {escape(r.name)}",
                str(r.eligible),
                str(r.invited),
                str(r.emailed),
                str(r.failed),
                str(r.no_email),
                str(r.left_for_next_run),
            )
        console.print(table)
