"""The `careline` command: Careline's own subcommands plus every Django command via `careline manage …`.

careline run [--port N]          web server + background worker
careline demo [--customers N]    load the demo organisation and customers
careline search QUERY [--json]   search customers as a user would
careline token USERNAME          print a new personal API token (last line)
careline createuser USERNAME --role ROLE [--branch B] [--team T]
careline quotas report [--date dd/mm/yyyy] [--team ID] [--json] [--as USERNAME]   quota progress of a day
careline leads allocate [--json]  reclaim overdue leads, run the allocation queue, print what happened
careline leads poll-email [--mailbox NAME] [--json]   read new mail of the IMAP inboxes into inquiries
careline helpdesk poll-email [--mailbox NAME] [--json]   read new mail of the helpdesk inboxes into tickets
careline surveys send [--survey ID] [--dry-run] [--json]   send the scheduled surveys (NPS…) now
careline manage <django command> e.g. `careline manage migrate`
"""

from __future__ import annotations

import os
import sys

OWN_COMMANDS = {"run", "demo", "search", "token", "createuser", "setup", "import", "export"}
OWN_COMMANDS |= {"quotas"}  # careline/kpis/management/commands/quotas.py
OWN_COMMANDS |= {"leads"}  # careline/sales/management/commands/leads.py: one sub-parser per action
OWN_COMMANDS |= {"surveys"}  # careline/surveys/management/commands/surveys.py
OWN_COMMANDS |= {"helpdesk"}  # careline/helpdesk/management/commands/helpdesk.py
ALIASES = {"import": "import_data", "export": "export_data"}  # `import` is a Python keyword


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.config.settings")
    from django.core.management import execute_from_command_line

    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    if args[0] == "manage":
        execute_from_command_line(["careline manage", *args[1:]])
        return
    if args[0] not in OWN_COMMANDS:
        print(f"careline: unknown command {args[0]!r}\n{__doc__}", file=sys.stderr)
        raise SystemExit(2)
    execute_from_command_line(["careline", ALIASES.get(args[0], args[0]), *args[1:]])


if __name__ == "__main__":
    main()
