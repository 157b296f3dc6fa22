"""Automatic assignment: team resolution, fairness (least-loaded and round-robin), skills, shifts,
absences and capacity; the worker's queue run."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from careline.accounts.models import Notification
from careline.accounts.tests.factories import TeamFactory, UserFactory
from careline.helpdesk import assignment, services
from careline.helpdesk.models import TeamRotation, Ticket
from careline.helpdesk.tests.factories import local, make_category, make_ticket
from careline.sales.models import Absence

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(care):
    """Three agents take tickets; the head of care (also in the team) does not."""
    services.agent_profile_save(actor=care.admin, user_id=care.care_head.pk, takes_tickets=False)
    care.agents = [care.care_agent_hn, care.care_agent_hn2, care.care_agent_hn3]
    return care


def new_ticket(org, i: int, **kwargs) -> Ticket:
    kwargs.setdefault("branch_id", org.hn.pk)
    return make_ticket(org.care_agent_hn, phone=f"0912 000 {i:03d}", subject=f"Việc số {i}", **kwargs)


def test_least_loaded_spreads_evenly_and_refills_whoever_is_freed(team, clock):
    org = team
    tickets = [new_ticket(org, i) for i in range(9)]
    counts = Counter(t.assignee_id for t in tickets)
    assert counts == {a.pk: 3 for a in org.agents}
    assert all(t.team_id == org.hn_care.pk for t in tickets)
    freed = org.agents[1]
    for t in [t for t in tickets if t.assignee_id == freed.pk][:2]:
        services.ticket_resolve(actor=freed, ticket_id=t.pk)
    assert [new_ticket(org, 100 + i).assignee_id for i in range(2)] == [freed.pk, freed.pk]
    assert Notification.objects.filter(user=freed, kind="ticket_assigned").count() == 5


def test_round_robin_goes_in_join_order(team, clock):
    org = team
    services.team_rotation_save(actor=org.admin, team_id=org.hn_care.pk, strategy="round_robin")
    got = [new_ticket(org, i).assignee_id for i in range(7)]
    order = [a.pk for a in org.agents]
    assert got == order * 2 + order[:1]
    state = TeamRotation.objects.get(team=org.hn_care).rotation
    assert set(state) == {str(pk) for pk in [org.care_head.pk, *order]}
    assert all(-1 <= v <= 1 for v in state.values())


def test_round_robin_stays_fair_around_an_absence(team, clock):
    org = team
    services.team_rotation_save(actor=org.admin, team_id=org.hn_care.pk, strategy="round_robin")
    away = org.agents[0]
    counts: Counter[int] = Counter()
    for i in range(30):
        if i == 10:
            Absence.objects.create(user=away, starts_at=clock.now, ends_at=clock.now + dt.timedelta(hours=1))
        if i == 20:
            clock.advance(hours=2)  # back from leave
        counts[new_ticket(org, i).assignee_id] += 1
    # 10 tickets among 3, 10 among 2, 10 among 3 again: the one away gets about 10/3 + 10/3.
    assert abs(counts[away.pk] - 20 / 3) <= 2
    for other in org.agents[1:]:
        assert abs(counts[other.pk] - (20 / 3 + 5)) <= 2
    assert sum(counts.values()) == 30


def test_skills_of_the_category_are_required(team, clock):
    org = team
    parent = make_category(org.admin, "Bảo hành", skills=["Điện lạnh"])
    child = make_category(org.admin, "Máy lạnh", parent_id=parent.pk)
    services.agent_profile_save(actor=org.admin, user_id=org.agents[2].pk, skills=["dien lanh", "Tiếng Anh"])
    got = {new_ticket(org, i, category_id=child.pk, thread=False).assignee_id for i in range(3)}
    assert got == {org.agents[2].pk}
    assert assignment.has_skills(["Điện Lạnh"], ["dien lanh"])
    assert not assignment.has_skills(["a"], [])


def test_nobody_on_shift_leaves_the_ticket_in_the_team_queue_until_morning(team, clock):
    org = team
    clock.set(local(2026, 3, 10, 20, 0))
    ticket = new_ticket(org, 1)
    assert ticket.assignee is None and ticket.team_id == org.hn_care.pk
    assert services.tickets_assign_queued(now=local(2026, 3, 10, 21, 0)) == 0
    assert services.tickets_assign_queued(now=local(2026, 3, 11, 8, 0)) == 1
    ticket.refresh_from_db()
    assert ticket.assignee_id in {a.pk for a in org.agents}
    assert services.tickets_assign_queued(now=local(2026, 3, 11, 8, 1)) == 0  # idempotent


def test_branch_schedule_decides_who_is_on_shift(team, clock):
    org = team
    hcm_care = TeamFactory(name="CSKH HCM", branch=org.hcm, kind="care")
    night = UserFactory(username="night_agent", role="care_agent", team=hcm_care)
    services.schedule_save(
        actor=org.admin, data={"branch_id": org.hcm.pk, "intervals": [["18:00", "24:00"]], "weekend": []}
    )
    clock.set(local(2026, 3, 10, 20, 0))
    ticket = make_ticket(org.admin, phone="0912 999 000", team_id=hcm_care.pk)
    assert ticket.assignee == night


def test_absent_and_full_agents_are_skipped(team, clock):
    org = team
    Absence.objects.create(user=org.agents[0], starts_at=clock.now, ends_at=clock.now + dt.timedelta(days=1))
    for agent in org.agents[1:]:
        services.agent_profile_save(actor=org.admin, user_id=agent.pk, max_open_tickets=2)
    got = [new_ticket(org, i).assignee_id for i in range(5)]
    assert Counter(got) == {org.agents[1].pk: 2, org.agents[2].pk: 2, None: 1}


def test_inactive_and_non_care_members_do_not_take_tickets(care, clock):
    org = care
    sales_like = UserFactory(username="sales_in_care", role="consultant", team=org.hn_care)
    org.care_agent_hn2.is_active = False
    org.care_agent_hn2.save()
    got = {new_ticket(org, i).assignee_id for i in range(6)}
    assert sales_like.pk not in got and org.care_agent_hn2.pk not in got
    assert got == {org.care_head.pk, org.care_agent_hn.pk, org.care_agent_hn3.pk}
    services.agent_profile_save(actor=org.admin, user_id=sales_like.pk, takes_tickets=True)
    assert sales_like.pk in {new_ticket(org, 10 + i).assignee_id for i in range(4)}


def test_team_resolution(team, clock):
    org = team
    hcm_care = TeamFactory(name="CSKH HCM", branch=org.hcm, kind="care")
    UserFactory(username="hcm_agent", role="care_agent", team=hcm_care)
    parent = make_category(org.admin, "Hoàn tiền", team_id=hcm_care.pk)
    child = make_category(org.admin, "Hoàn học phí", parent_id=parent.pk)
    by_category = make_ticket(org.care_agent_hn, phone="0912 111 001", category_id=child.pk)
    assert by_category.team == hcm_care and by_category.branch_id == org.hcm.pk
    by_branch = make_ticket(org.admin, phone="0912 111 002", branch_id=org.hn.pk)
    assert by_branch.team == org.hn_care
    nowhere = make_ticket(None, channel="web", phone="0912 111 003")
    assert (nowhere.team, nowhere.assignee, nowhere.branch) == (None, None, None)
    assert assignment.team_for(team_id=None, category_id=None, branch_id=org.hcm.pk) == hcm_care.pk
