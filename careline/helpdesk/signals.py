"""Signals other apps listen to (helpdesk imports none of them). Sent after the transaction commits.

* `ticket_created(sender=Ticket, ticket=<Ticket>, actor=<User|None>)`
* `ticket_resolved(sender=Ticket, ticket=<Ticket>, actor=<User|None>)` — the surveys app sends the CSAT.
* `ticket_reopened(sender=Ticket, ticket=<Ticket>, actor=<User|None>)`
"""

from __future__ import annotations

from django.dispatch import Signal

ticket_created = Signal()
ticket_resolved = Signal()
ticket_reopened = Signal()
