"""The helpdesk demo: settings, playbooks and tickets in every state; idempotent."""

from __future__ import annotations

import pytest

from careline.cli.demo import demo_load
from careline.helpdesk.demo import TICKETS, demo_helpdesk_load
from careline.helpdesk.models import Category, Playbook, SlaPolicy, Ticket

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent_and_covers_the_states(db):
    demo_load(customers=40)
    assert Category.objects.count() == 7
    assert SlaPolicy.objects.count() == 4 and Playbook.objects.count() == 2
    assert Ticket.objects.count() == len(TICKETS)
    states = set(Ticket.objects.values_list("status", flat=True))
    assert {"new", "open", "waiting", "resolved"} <= states
    assert Ticket.objects.filter(reopened_count=1, fcr=False).exists()
    assert Ticket.objects.filter(fcr=True).exists()
    assert all(t.first_response_due is not None for t in Ticket.objects.all())
    from careline.accounts.models import User

    users = {u.username: u for u in User.objects.all()}
    assert demo_helpdesk_load(users) == {"categories": 0, "policies": 0, "playbooks": 0, "tickets": 0}
    assert Ticket.objects.count() == len(TICKETS)
