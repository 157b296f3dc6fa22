"""`careline leads …`: lead intake and allocation from the command line.

    careline leads allocate [--json]   reclaim overdue leads, run the queue, print what happened
    careline leads poll-email [--mailbox NAME] [--json]   read new mail of the IMAP inboxes into inquiries

One `leads` command with a sub-parser per action: add a new action as one `sub.add_parser(...)` block in
`add_arguments` and one `handle_<action>` method (dashes become underscores).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from careline.cli.poll_email import add_poll_email_arguments, poll_email
from careline.core import context


class Command(BaseCommand):
    help = "Leads: `leads allocate [--json]` runs the allocation queue (reclaims overdue leads first)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        allocate = sub.add_parser(
            "allocate", help="Reclaim overdue leads, then allocate every queued lead by the rules"
        )
        allocate.add_argument("--json", action="store_true", help="Print the result as JSON")
        poll = sub.add_parser("poll-email", help="Read new messages of the IMAP mailboxes into inquiries")
        add_poll_email_arguments(poll)

    def handle(self, *args: Any, **options: Any) -> None:
        token = context.activate(context.RequestContext(source="cli"))
        try:
            getattr(self, "handle_" + options["action"].replace("-", "_"))(options)
        finally:
            context.deactivate(token)

    # --- allocate ----------------------------------------------------------------------------------

    def handle_allocate(self, options: dict[str, Any]) -> None:
        from careline.sales.tasks import leads_queue_run

        result = leads_queue_run().as_dict()
        if options.get("json"):
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"Reclaimed (no contact in time): {result['reclaimed']}\n"
            f"Queued leads considered: {result['considered']}\n"
            f"Assigned: {result['assigned']}\n"
            f"Still queued: {result['still_queued']}"
        )
        if result["per_user"]:
            self.stdout.write("Per consultant:")
            width = max(len(row["name"]) for row in result["per_user"])
            for row in result["per_user"]:
                self.stdout.write(f"  {row['name']:<{width}}  {row['assigned']:>6}")

    # --- poll-email --------------------------------------------------------------------------------

    def handle_poll_email(self, options: dict[str, Any]) -> None:
        from careline.sales.mail import mailbox_poll, mailboxes_poll_all
        from careline.sales.models import Mailbox

        poll_email(
            self,
            options,
            mailbox_model=Mailbox,
            poll_one=mailbox_poll,
            poll_all=mailboxes_poll_all,
            kind="mailbox",
            summary=lambda r: f"{r.new} new, {r.skipped} skipped, {r.errors} errors",
        )
