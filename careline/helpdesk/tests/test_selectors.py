"""Reads: FCR per agent/team/category and period, category lookup by name path, email thread lookup, scope."""

from __future__ import annotations

import datetime as dt

import pytest

from careline.core.errors import PermissionDenied, ValidationFailed
from careline.helpdesk import selectors, services
from careline.helpdesk.tests.factories import local, make_category, make_ticket

pytestmark = pytest.mark.django_db


def resolve(actor, ticket, replies: int = 0) -> None:
    for i in range(replies):
        services.message_add(actor=actor, ticket_id=ticket.pk, body=f"trả lời {i}")
    services.ticket_resolve(actor=actor, ticket_id=ticket.pk)


def test_fcr_per_agent_team_category_and_period(care, clock):
    org = care
    a, b = org.care_agent_hn, org.care_agent_hn2
    ship = make_category(org.admin, "Giao hàng")
    fee = make_category(org.admin, "Học phí")
    made = []
    for i, (agent, category, replies) in enumerate([(a, ship, 1), (a, ship, 2), (b, fee, 0), (b, ship, 1)]):
        t = make_ticket(
            org.care_head, phone=f"0912 300 {i:03d}", subject=f"Việc {i}", category_id=category.pk
        )
        services.ticket_assign(actor=org.care_head, ticket_id=t.pk, user_id=agent.pk)
        made.append((t, agent, replies))
    for t, agent, replies in made[:3]:
        resolve(agent, t, replies)
    clock.set(local(2026, 3, 12, 9, 0))  # two days later
    resolve(made[3][1], made[3][0], made[3][2])

    rows, total = selectors.fcr_stats(actor=org.care_head, group="agent")
    assert {(r.key, r.resolved, r.fcr) for r in rows} == {(a.pk, 2, 1), (b.pk, 2, 2)}
    assert (total.resolved, total.fcr, total.rate) == (4, 3, 0.75)
    rows, _total = selectors.fcr_stats(actor=org.care_head, group="category")
    assert {(r.label, r.resolved, r.fcr) for r in rows} == {("Giao hàng", 3, 2), ("Học phí", 1, 1)}
    rows, _total = selectors.fcr_stats(actor=org.care_head, group="team")
    assert [(r.key, r.resolved) for r in rows] == [(org.hn_care.pk, 4)]
    day_one = dt.date(2026, 3, 10)
    rows, total = selectors.fcr_stats(actor=org.care_head, date_from=day_one, date_to=day_one)
    assert total.resolved == 3
    rows, total = selectors.fcr_stats(actor=org.care_head, date_from=dt.date(2026, 3, 11))
    assert total.resolved == 1
    # a reopen clears FCR
    services.ticket_reopen(actor=a, ticket_id=made[0][0].pk)
    _rows, total = selectors.fcr_stats(actor=org.care_head)
    assert (total.resolved, total.fcr) == (3, 2)
    with pytest.raises(ValidationFailed):
        selectors.fcr_stats(actor=org.care_head, group="planet")
    with pytest.raises(PermissionDenied):
        selectors.fcr_stats(actor=org.nobody)
    # scope: a consultant sees none of the care team's tickets
    assert selectors.fcr_stats(actor=org.consultant_hcm)[1].resolved == 0


def test_category_by_path(org):
    parent = make_category(org.admin, "Học phí")
    child = make_category(org.admin, "Hoàn học phí", parent_id=parent.pk)
    other = make_category(org.admin, "Bảo hành")
    make_category(org.admin, "Hoàn học phí", parent_id=other.pk)
    assert selectors.category_by_path("hoc phi > hoan hoc phi") == child
    assert selectors.category_by_path("Học phí › Hoàn học phí") == child
    assert selectors.category_by_path("Học phí") == parent
    assert selectors.category_by_path("Hoàn học phí") is None  # not unique
    assert selectors.category_by_path("") is None


def test_ticket_for_email_and_filters(org, clock):
    ticket = make_ticket(None, channel="email", email="lan@example.vn", message_id="<a@x>")
    assert selectors.ticket_for_email(message_ids=["<zz@x>", "<a@x>"]) == ticket
    assert selectors.ticket_for_email(message_ids=[], subject=f"Re: [#{ticket.pk}] hi") == ticket
    assert selectors.ticket_for_email(message_ids=["<none@x>"], subject="no tag") is None
    items, _cursor = selectors.ticket_list(
        actor=org.admin, filters=selectors.TicketFilters(q="lan@example", status="active")
    )
    assert items == [ticket]
    items, _cursor = selectors.ticket_list(actor=org.admin, filters=selectors.TicketFilters(assignee="none"))
    assert items == [ticket]
    assert selectors.ticket_status_counts(actor=org.admin)["new"] == 1
