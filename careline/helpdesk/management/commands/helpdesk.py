"""`careline helpdesk …`: the helpdesk from the command line.

    careline helpdesk poll-email [--mailbox NAME] [--json]   read new mail of the helpdesk inboxes into tickets

One `helpdesk` command with a sub-parser per action: add a new action as one `sub.add_parser(...)` block in
`add_arguments` and one `handle_<action>` method (dashes become underscores).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careline.core import context


class Command(BaseCommand):
    help = (
        "Helpdesk: `helpdesk poll-email [--mailbox NAME] [--json]` reads the helpdesk inboxes into tickets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        poll = sub.add_parser(
            "poll-email", help="Read new messages of the helpdesk IMAP inboxes into tickets"
        )
        poll.add_argument("--mailbox", help="Only this mailbox (its name; default: every active one)")
        poll.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        token = context.activate(context.RequestContext(source="cli"))
        try:
            getattr(self, "handle_" + options["action"].replace("-", "_"))(options)
        finally:
            context.deactivate(token)

    def handle_poll_email(self, options: dict[str, Any]) -> None:
        from careline.helpdesk.mail import helpdesk_mailbox_poll, helpdesk_mailboxes_poll_all
        from careline.helpdesk.models import HelpdeskMailbox

        if options.get("mailbox"):
            mailbox = HelpdeskMailbox.objects.filter(name=options["mailbox"]).first()
            if mailbox is None:
                raise CommandError(f"No helpdesk mailbox named {options['mailbox']!r}.")
            results = {mailbox.name: helpdesk_mailbox_poll(mailbox)}
        else:
            results = helpdesk_mailboxes_poll_all()
        if options.get("json"):
            data = {name: r.as_dict() for name, r in results.items()}
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if not results:
            self.stdout.write("No active helpdesk mailbox.")
        for name, r in results.items():
            self.stdout.write(
                f"{name}: {r.new} new, {r.threaded} threaded, {r.skipped} skipped, {r.errors} errors"
            )
            for message in r.messages:
                self.stdout.write(f"  {message}")
