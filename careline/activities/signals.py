"""Signals other apps listen to (the activities app imports none of them).

`activity_logged(sender=Activity, activity=<Activity>, actor=<User>)` is sent after the transaction that
logged a new activity commits (`services.activity_log`, `services.email_send`); never for an idempotent
replay of the same (kind, external_id). The sales app listens to mark a lead contacted.
"""

from __future__ import annotations

from django.dispatch import Signal

activity_logged = Signal()
