from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from careline.accounts.models import User


class Command(BaseCommand):
    help = "Prepare the database: migrate, and load the demo data the first time (an empty database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-demo", action="store_true", help="Never load demo data")
        parser.add_argument("--customers", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database is up to date.")
        if not options["no_demo"] and not User.objects.exists():
            call_command("demo", customers=options["customers"])
