from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.accounts.choices import RoleCode
from careline.accounts.models import Branch, Team
from careline.accounts.services import user_create
from careline.core import context
from careline.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a staff user with a role, optionally in a branch and team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=RoleCode.values)
        parser.add_argument("--branch", help="Branch code or name")
        parser.add_argument("--team", help="Team name")
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help="Display name, e.g. 'Nguyễn Thị Lan'")
        parser.add_argument("--password", help="Password (prompted when omitted and a terminal is attached)")
        parser.add_argument("--superuser", action="store_true", help="Also give Django admin access")

    def handle(self, *args: Any, **options: Any) -> None:
        branch = None
        if options["branch"]:
            branch = (
                Branch.objects.filter(code=options["branch"]).first()
                or Branch.objects.filter(name__iexact=options["branch"]).first()
            )
            if branch is None:
                raise CommandError(f"Unknown branch {options['branch']!r}.")
        team = None
        if options["team"]:
            teams = Team.objects.filter(name__iexact=options["team"])
            if branch is not None:
                teams = teams.filter(branch=branch)
            team = teams.first()
            if team is None:
                raise CommandError(f"Unknown team {options['team']!r}.")
        password = options["password"]
        if password is None and self.stdin_is_tty():
            password = getpass.getpass("Password: ")
        token = context.activate(context.RequestContext(source="cli"))
        try:
            user = user_create(
                actor=None,
                username=options["username"],
                role=options["role"],
                password=password,
                email=options["email"],
                display_name=options["name"],
                branch=branch,
                team=team,
                is_superuser=options["superuser"] or options["role"] == RoleCode.ADMIN,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            context.deactivate(token)
        self.stdout.write(f"Created {user.username} ({options['role']}).")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin is not None and sys.stdin.isatty()
