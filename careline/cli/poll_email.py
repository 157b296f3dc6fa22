"""The `poll-email` action shared by `careline leads` and `careline helpdesk`: read new mail of one named
mailbox or of every active one, print a line per mailbox (or JSON with `--json`)."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections.abc import Callable, Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Model


def add_poll_email_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--mailbox", help="Only this mailbox (its name; default: every active one)")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON")


def poll_email(
    command: BaseCommand,
    options: dict[str, Any],
    *,
    mailbox_model: type[Model],
    poll_one: Callable[[Any], Any],
    poll_all: Callable[[], Mapping[str, Any]],
    kind: str,
    summary: Callable[[Any], str],
) -> None:
    """Poll `--mailbox NAME` (a `mailbox_model` row by name) with `poll_one`, or every active mailbox with
    `poll_all`; `kind` names the mailbox in messages ("mailbox", "helpdesk mailbox") and `summary` renders
    one result's counts."""
    if options.get("mailbox"):
        mailbox = mailbox_model._default_manager.filter(name=options["mailbox"]).first()
        if mailbox is None:
            raise CommandError(f"No {kind} named {options['mailbox']!r}.")
        results: Mapping[str, Any] = {mailbox.name: poll_one(mailbox)}  # type: ignore[attr-defined]
    else:
        results = poll_all()
    if options.get("json"):
        data = {name: r.as_dict() for name, r in results.items()}
        command.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not results:
        command.stdout.write(f"No active {kind}.")
    for name, r in results.items():
        command.stdout.write(f"{name}: {summary(r)}")
        for message in r.messages:
            command.stdout.write(f"  {message}")
