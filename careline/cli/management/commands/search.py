from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.accounts.models import User
from careline.core.errors import ApplicationError
from careline.customers.selectors import CustomerFilters, customer_list
from careline.vn import format_phone


class Command(BaseCommand):
    help = "Search customers the way the search box does (accents optional, phone fragments ≥ 4 digits)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query")
        parser.add_argument("--json", action="store_true", help="Print JSON (same fields as the API)")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--as", dest="as_user", help="Search as this user (default: the first superuser)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["as_user"]:
            actor = User.objects.filter(username=options["as_user"], is_active=True).first()
        else:
            actor = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
        if actor is None:
            raise CommandError("No user to search as: create one with `careline createuser` or pass --as.")
        try:
            rows, _next = customer_list(
                actor=actor,
                filters=CustomerFilters(q=options["query"]),
                limit=max(1, min(options["limit"], 100)),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            from careline.customers.schemas import CustomerOut

            items = [CustomerOut.from_orm(c).model_dump(mode="json") for c in rows]
            self.stdout.write(json.dumps({"items": items}, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("No customers match.")
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(show_header=True, header_style="bold")
        for col in ("id", "name", "phones", "email", "stage", "owner"):
            table.add_column(col)
        for c in rows:
            points = list(c.contact_points.all())
            table.add_row(
                str(c.pk),
                c.full_name,
                ", ".join(format_phone(p.value) for p in points if p.kind == "phone"),
                ", ".join(p.value for p in points if p.kind == "email"),
                c.stage,
                str(c.owner or "—"),
            )
        Console(file=self.stdout, width=160).print(table)
