from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.accounts.models import User
from careline.accounts.services import token_create
from careline.core import context


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME and print it as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {options['username']!r}.")
        token = context.activate(context.RequestContext(source="cli"))
        try:
            _row, raw = token_create(actor=user, user=user, name=options["name"])
        finally:
            context.deactivate(token)
        self.stderr.write(f"Token for {user.username} (send as 'Authorization: Bearer <token>'):")
        self.stdout.write(raw)
