"""`careline helpdesk …`: the helpdesk from the command line.

    careline helpdesk poll-email [--mailbox NAME] [--json]   read new mail of the helpdesk inboxes into tickets

One `helpdesk` command with a sub-parser per action: add a new action as one `sub.add_parser(...)` block in
`add_arguments` and one `handle_<action>` method (dashes become underscores).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from careline.cli.poll_email import add_poll_email_arguments, poll_email
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
        add_poll_email_arguments(poll)

    def handle(self, *args: Any, **options: Any) -> None:
        token = context.activate(context.RequestContext(source="cli"))
        try:
            getattr(self, "handle_" + options["action"].replace("-", "_"))(options)
        finally:
            context.deactivate(token)

    def handle_poll_email(self, options: dict[str, Any]) -> None:
        from careline.helpdesk.mail import helpdesk_mailbox_poll, helpdesk_mailboxes_poll_all
        from careline.helpdesk.models import HelpdeskMailbox

        poll_email(
            self,
            options,
            mailbox_model=HelpdeskMailbox,
            poll_one=helpdesk_mailbox_poll,
            poll_all=helpdesk_mailboxes_poll_all,
            kind="helpdesk mailbox",
            summary=lambda r: f"{r.new} new, {r.threaded} threaded, {r.skipped} skipped, {r.errors} errors",
        )
