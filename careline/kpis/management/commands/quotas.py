"""`careline quotas report`: each person's quota progress for a day, as a table or as JSON.

Runs as a system actor that sees every person's progress (scope `all`, view only, writes nothing) unless
`--as USERNAME` is given; then it shows what that user may see (their team, their branch, or only
themselves for a consultant).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.accounts.models import User
from careline.core import context
from careline.core.errors import ApplicationError
from careline.kpis import selectors
from careline.kpis.pace import local_today
from careline.kpis.schemas import BoardOut, board_row
from careline.vn import InvalidDate, parse_date

STATUS_STYLE = {"behind": "bold red", "done": "green", "on_pace": "", "day_off": "dim"}


class Command(BaseCommand):
    help = "Quota reports. `quotas report [--date dd/mm/yyyy] [--team ID] [--json] [--as USERNAME]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report", help="Each person's progress on their quotas for a day")
        report.add_argument("--date", help="dd/mm/yyyy or YYYY-MM-DD (default: today, local time)")
        report.add_argument("--team", type=int, help="Only this team (id)")
        report.add_argument(
            "--json", action="store_true", help="Print JSON (the shape of GET /api/v1/quotas/board)"
        )
        report.add_argument(
            "--as", dest="as_user", help="Report as this user (default: the system, sees everyone)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token = context.activate(context.RequestContext(source="cli"))
        try:
            self.report(options)
        finally:
            context.deactivate(token)

    def report(self, options: dict[str, Any]) -> None:
        actor: Any = selectors.SystemActor()
        if options.get("as_user"):
            actor = User.objects.filter(username=options["as_user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {options['as_user']!r}.")
        try:
            day = parse_date(options["date"]) if options.get("date") else local_today()
        except InvalidDate as exc:
            raise CommandError(f"--date: {exc}") from exc
        try:
            if selectors.can_see_team_board(actor):
                rows = selectors.team_board(actor=actor, team_id=options.get("team"), day=day)
            elif options.get("team"):
                raise CommandError(
                    "You cannot see a team's board; leave out --team to see your own progress."
                )
            else:  # a consultant: their own progress
                items = selectors.quota_progress(actor=actor, user=actor.pk, day=day)
                rows = [
                    selectors.BoardRow(actor.pk, str(actor), actor.team.name if actor.team else "", items)
                ]
                rows = [r for r in rows if r.items]
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        payload = {
            "date": day,
            "team_id": options.get("team"),
            "branch_id": None,
            "rows": [board_row(r) for r in rows],
        }
        if options.get("json"):
            data = BoardOut.model_validate(payload).model_dump(mode="json")
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        self.print_table(rows, day)

    def print_table(self, rows: list[selectors.BoardRow], day: Any) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(file=self.stdout, width=160, highlight=False)  # type: ignore[arg-type]
        if not rows:
            console.print(f"No quotas for {day:%d/%m/%Y}.")
            return
        behind = sum(1 for r in rows if r.behind_count)
        table = Table(
            title=f"Quotas {day:%d/%m/%Y} — {behind} of {len(rows)} people behind", header_style="bold"
        )
        for col, justify in (
            ("person", "left"),
            ("team", "left"),
            ("quota", "left"),
            ("done", "right"),
            ("target", "right"),
            ("pace", "right"),
            ("%", "right"),
            ("status", "left"),
        ):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for row in rows:
            for i, item in enumerate(row.items):
                style = STATUS_STYLE.get(item.status, "")
                table.add_row(
                    escape(row.name) if i == 0 else "",
                    escape(row.team) if i == 0 else "",
                    f"{item.kind}/{item.period}",
                    str(item.done),
                    str(item.target),
                    f"{item.expected_by_now:g}" if item.status != "day_off" else "—",
                    f"{item.percent}",
                    f"[{style}]{item.status}[/]" if style else item.status,
                )
            table.add_section()
        console.print(table)
