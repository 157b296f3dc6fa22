"""The worker: SLA warnings, breaches and escalation (idempotent), auto-close, the periodic task."""

from __future__ import annotations

import datetime as dt

import pytest

from careline.accounts.models import Notification
from careline.accounts.tests.factories import UserFactory
from careline.helpdesk import services, tasks
from careline.helpdesk.models import Ticket, TicketEvent
from careline.helpdesk.tests.factories import local, make_policy, make_ticket

pytestmark = pytest.mark.django_db


def kinds(ticket: Ticket) -> list[tuple[str, str]]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind__in=["sla_warning", "sla_breach", "escalated"])
        .order_by("id")
        .values_list("kind", "to_value")
    )


def notes(user, kind: str) -> int:
    return Notification.objects.filter(user=user, kind=kind).count()


@pytest.fixture
def desk(care, clock):
    org = care
    services.agent_profile_save(actor=org.admin, user_id=org.care_head.pk, takes_tickets=False)
    org.head2 = UserFactory(username="care_head2", role="care_head")
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=240, warn_before_minutes=15)
    return org


def test_warning_breach_and_escalation_levels_are_idempotent(desk, clock):
    org = desk
    ticket = make_ticket(org.care_agent_hn, branch_id=org.hn.pk)  # opened Tue 09:00
    agent = ticket.assignee
    assert ticket.first_response_due == local(2026, 3, 10, 10, 0)
    assert ticket.resolution_due == local(2026, 3, 10, 14, 30)

    def run(*moment: int) -> services.SlaRunStats:
        return services.sla_run(now=local(*moment))

    assert run(2026, 3, 10, 9, 40) == services.SlaRunStats()
    assert run(2026, 3, 10, 9, 46).warned == 1
    assert run(2026, 3, 10, 9, 50) == services.SlaRunStats()  # warned once
    assert notes(agent, "ticket_sla_warning") == 1

    stats = run(2026, 3, 10, 10, 0)
    assert (stats.breached, stats.escalated) == (1, 1)
    assert run(2026, 3, 10, 10, 5) == services.SlaRunStats()
    ticket.refresh_from_db()
    assert ticket.first_response_breached and ticket.escalation_level == 1
    assert notes(org.care_head, "ticket_escalated") == 1  # the team leader

    assert run(2026, 3, 10, 14, 20).warned == 1  # the resolution clock's own warning
    assert notes(agent, "ticket_sla_warning") == 2
    stats = run(2026, 3, 10, 14, 30)
    assert (stats.breached, stats.escalated) == (1, 0)  # already at level 1
    ticket.refresh_from_db()
    assert ticket.resolution_breached

    # level 2: still not resolved one more resolution period (4 business hours) after Tue 14:30 → Wed 09:00
    assert run(2026, 3, 11, 8, 59).escalated == 0
    assert run(2026, 3, 11, 9, 0).escalated == 1
    for _ in range(3):
        assert run(2026, 3, 11, 10, 30) == services.SlaRunStats()
    assert notes(org.care_head, "ticket_escalated") == 2 and notes(org.head2, "ticket_escalated") == 1
    assert kinds(ticket) == [
        ("sla_warning", "first_response"),
        ("sla_breach", "first_response"),
        ("escalated", "1"),
        ("sla_warning", "resolution"),
        ("sla_breach", "resolution"),
        ("escalated", "2"),
    ]


def test_replied_waiting_and_resolved_tickets_do_not_breach(desk, clock):
    org = desk
    answered = make_ticket(org.care_agent_hn, branch_id=org.hn.pk, phone="0912 000 001")
    services.message_add(actor=org.care_agent_hn, ticket_id=answered.pk, body="Dạ em nhận")
    waiting = make_ticket(org.care_agent_hn, branch_id=org.hn.pk, phone="0912 000 002", subject="Khác 2")
    services.message_add(actor=org.care_agent_hn, ticket_id=waiting.pk, body="Chị gửi giúp em ảnh")
    services.ticket_update(actor=org.care_agent_hn, ticket_id=waiting.pk, data={"status": "waiting"})
    done = make_ticket(org.care_agent_hn, branch_id=org.hn.pk, phone="0912 000 003", subject="Khác 3")
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=done.pk)
    stats = services.sla_run(now=local(2026, 3, 12, 9, 0))
    assert stats.breached == 1  # only the answered one's resolution
    answered.refresh_from_db()
    waiting.refresh_from_db()
    assert answered.resolution_breached and not answered.first_response_breached
    assert not waiting.resolution_breached and waiting.escalation_level == 0


def test_unassigned_tickets_warn_the_team_leader(desk, clock):
    org = desk
    clock.set(local(2026, 3, 10, 20, 0))  # nobody on shift: stays in the queue
    ticket = make_ticket(org.care_agent_hn, branch_id=org.hn.pk)
    assert ticket.assignee is None
    services.sla_run(now=ticket.first_response_due - dt.timedelta(minutes=5))
    assert notes(org.care_head, "ticket_sla_warning") == 1


def test_reopened_ticket_can_breach_again(desk, clock):
    org = desk
    ticket = make_ticket(org.care_agent_hn, branch_id=org.hn.pk)
    services.sla_run(now=local(2026, 3, 10, 15, 0))
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=ticket.pk)
    clock.set(local(2026, 3, 11, 9, 0))
    services.ticket_reopen(actor=org.care_agent_hn, ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.resolution_breached, ticket.escalation_level) == (False, 0)
    assert ticket.resolution_due == local(2026, 3, 11, 14, 30)  # 4 business hours from the reopening
    assert services.sla_run(now=local(2026, 3, 11, 14, 29)).breached == 0
    assert services.sla_run(now=local(2026, 3, 11, 14, 30)).breached == 1


def test_autoclose_after_the_configured_days(desk, clock, settings):
    org = desk
    settings.HELPDESK_AUTOCLOSE_DAYS = 3
    ticket = make_ticket(org.care_agent_hn, branch_id=org.hn.pk)
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=ticket.pk)
    assert services.tickets_autoclose(now=clock.now + dt.timedelta(days=2)) == 0
    assert services.tickets_autoclose(now=clock.now + dt.timedelta(days=3)) == 1
    assert services.tickets_autoclose(now=clock.now + dt.timedelta(days=4)) == 0
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.closed_at == clock.now + dt.timedelta(days=3)


def test_periodic_task_runs_everything(desk, clock, monkeypatch):
    org = desk
    clock.set(local(2026, 3, 10, 20, 0))
    ticket = make_ticket(org.care_agent_hn, branch_id=org.hn.pk)
    clock.set(local(2026, 3, 11, 10, 0))
    result = tasks.helpdesk_sla_run.call_local()
    assert result["assigned"] == 1
    ticket.refresh_from_db()
    assert ticket.assignee is not None and ticket.first_response_breached
    assert result["breached"] == 1 and result["escalated"] == 1
