from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from careline.cli.demo import demo_load, demo_logins
from careline.core import context


class Command(BaseCommand):
    help = "Load the demo centre: 2 branches, 14 staff in every role and N customers (deterministic)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="How many demo customers in total")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout)
        token = context.activate(context.RequestContext(source="cli"))
        started = time.perf_counter()
        try:
            with Progress(
                TextColumn("[bold]Demo customers"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("demo", total=None)

                def report(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                added = demo_load(customers=options["customers"], seed=options["seed"], progress=report)
        finally:
            context.deactivate(token)
        elapsed = time.perf_counter() - started
        console.print(f"Added {added:,} demo customers in {elapsed:.1f} s.")
        console.print(f"Demo logins (password: {settings.CARELINE_DEMO_PASSWORD}):")
        for username, name, role in demo_logins():
            console.print(f"  {username:<14} {role:<15} {name}")
