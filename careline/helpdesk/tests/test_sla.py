"""SLA clocks: property tests (Hypothesis) across weekends, nights, lunch breaks and Tết, the default and
custom schedules, policy matching, and the clocks as the service sets them."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.helpdesk import services, sla
from careline.helpdesk.tests.factories import local, make_category, make_policy, make_ticket
from careline.vn.worktime import VN_TZ, business_time_between, is_business_time

DEFAULT = sla.DEFAULT_HOURS
SATURDAY_MORNINGS = sla.hours_from_values(
    intervals=[["07:30", "11:30"], ["13:00", "17:00"]],
    weekend=[6],
    extra_holidays=["2026-03-13"],
    extra_working_days=["2026-02-22"],
)
NIGHT_DESK = sla.hours_from_values(intervals=[["00:00", "24:00"]], weekend=[], holidays_enabled=False)
SCHEDULES = st.sampled_from([DEFAULT, SATURDAY_MORNINGS, NIGHT_DESK])

# Any minute from 2025 to 2027: covers Tết 2025 (29/01), 2026 (17/02) and 2027 (06/02), Giỗ Tổ, 30/4–1/5, 2/9.
moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31, 23, 59)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=VN_TZ)
)
targets = st.integers(min_value=0, max_value=60 * 8 * 30)  # up to a month of business minutes


@settings(max_examples=300, deadline=None)
@given(opened=moments, minutes=targets, hours=SCHEDULES)
def test_due_is_exactly_the_target_in_business_time(opened, minutes, hours):
    first, due = sla.due_moments(opened, first_response_minutes=0, resolution_minutes=minutes, hours=hours)
    assert first == opened
    assert due >= opened
    assert business_time_between(opened, due, hours) == dt.timedelta(minutes=minutes)
    if minutes:
        # never at the start of an interval: inside business time, or exactly at an interval's end
        just_before = due - dt.timedelta(seconds=1)
        assert is_business_time(just_before, hours)
    assert due.utcoffset() == dt.timedelta(hours=7)


@settings(max_examples=200, deadline=None)
@given(opened=moments, a=targets, b=targets, hours=SCHEDULES)
def test_due_is_monotonic_in_the_target(opened, a, b, hours):
    low, high = sorted((a, b))
    due_low = sla.due_moments(opened, first_response_minutes=low, resolution_minutes=low, hours=hours)[1]
    due_high = sla.due_moments(opened, first_response_minutes=high, resolution_minutes=high, hours=hours)[1]
    assert due_low <= due_high


@settings(max_examples=300, deadline=None)
@given(
    opened=moments,
    minutes=st.integers(min_value=1, max_value=60 * 8 * 10),
    pause_after=st.integers(min_value=0, max_value=60 * 24 * 20),
    pause_for=st.integers(min_value=0, max_value=60 * 24 * 20),
    hours=SCHEDULES,
)
def test_waiting_extends_the_due_moment_by_exactly_the_business_time_waited(
    opened, minutes, pause_after, pause_for, hours
):
    due = sla.due_moments(opened, first_response_minutes=minutes, resolution_minutes=minutes, hours=hours)[1]
    paused = opened + dt.timedelta(minutes=pause_after)
    resumed = paused + dt.timedelta(minutes=pause_for)
    new_due, waited = sla.extend_for_pause(due, paused_at=paused, resumed_at=resumed, hours=hours)
    assert waited == business_time_between(paused, resumed, hours)
    assert new_due >= due
    assert business_time_between(due, new_due, hours) == waited
    # the whole clock: the target plus the time spent waiting
    assert business_time_between(opened, new_due, hours) == dt.timedelta(minutes=minutes) + waited


@settings(max_examples=200, deadline=None)
@given(
    opened=moments, minutes=st.integers(min_value=1, max_value=60 * 8 * 5), after=st.integers(0, 60 * 24 * 10)
)
def test_seconds_left_counts_business_time_down_to_the_due_moment(opened, minutes, after):
    due = sla.due_moments(opened, first_response_minutes=minutes, resolution_minutes=minutes, hours=DEFAULT)[
        1
    ]
    now = opened + dt.timedelta(minutes=after)
    left = sla.business_seconds_left(due, now, DEFAULT)
    assert left <= minutes * 60
    if now <= due:
        assert left == minutes * 60 - business_time_between(opened, now, DEFAULT).total_seconds()
    else:
        assert left <= 0


@pytest.mark.parametrize(
    ("opened", "minutes", "due"),
    [
        # The afternoon before Tết 2026 (Tết holidays 16–20/02; the weekend before and after): 8 business hours.
        (local(2026, 2, 13, 15, 0), 480, local(2026, 2, 23, 15, 0)),
        # Friday evening → Monday morning
        (local(2026, 3, 13, 20, 0), 60, local(2026, 3, 16, 9, 0)),
        # Night hours: opened at 02:00 counts from 08:00
        (local(2026, 3, 10, 2, 0), 30, local(2026, 3, 10, 8, 30)),
        # Lunch break: 11:30 + 1 h → 14:00
        (local(2026, 3, 10, 11, 30), 60, local(2026, 3, 10, 14, 0)),
        # Ends exactly at an interval's end, never at the next start
        (local(2026, 3, 10, 8, 0), 240, local(2026, 3, 10, 12, 0)),
        # Giỗ Tổ Hùng Vương 2026 (10/3 lunar = Sunday 26/04), 30/4 and 1/5: Wednesday 29/04 16:30 + 4 h
        (local(2026, 4, 29, 16, 30), 240, local(2026, 5, 4, 11, 0)),
    ],
)
def test_known_due_moments_under_the_default_schedule(opened, minutes, due):
    got = sla.due_moments(opened, first_response_minutes=minutes, resolution_minutes=minutes, hours=DEFAULT)[
        1
    ]
    assert got == due


def test_parse_intervals():
    assert sla.parse_intervals([["08:00", "12:00"], ["13:00", "24:00"]]) == (
        (dt.time(8), dt.time(12)),
        (dt.time(13), dt.time(0)),
    )
    with pytest.raises(ValueError):
        sla.parse_intervals([["08:00"]])
    with pytest.raises(ValueError):
        sla.hours_from_values(intervals=[["10:00", "09:00"]], weekend=[5, 6])
    with pytest.raises(ValueError):
        sla.hours_from_values(intervals=[], weekend=list(range(7)))


# --- policy matching -----------------------------------------------------------------------------------------


def policy(pk, *, priority="", category_id=None, tier="", active=True):
    return SimpleNamespace(pk=pk, priority=priority, category_id=category_id, tier=tier, active=active)


PARENTS = {1: None, 2: 1, 3: 2, 4: None}


@settings(max_examples=200, deadline=None)
@given(
    priority=st.sampled_from(["low", "normal", "high", "urgent"]),
    category=st.sampled_from([None, 1, 2, 3, 4]),
    tier=st.sampled_from(["", "vip", "gold"]),
    rows=st.lists(
        st.builds(
            policy,
            st.integers(1, 1000),
            priority=st.sampled_from(["", "low", "urgent"]),
            category_id=st.sampled_from([None, 1, 2, 4]),
            tier=st.sampled_from(["", "vip"]),
            active=st.booleans(),
        ),
        max_size=8,
    ),
)
def test_the_first_matching_active_policy_wins(priority, category, tier, rows):
    chosen = sla.policy_pick(rows, priority=priority, category_id=category, tier=tier, parents=PARENTS)
    chain = sla.category_chain(category, PARENTS)

    def matches(p):
        return (
            p.active
            and p.priority in ("", priority)
            and (p.category_id is None or p.category_id in chain)
            and p.tier in ("", tier)
        )

    expected = next((p for p in rows if matches(p)), None)
    assert chosen is expected


def test_a_parent_category_policy_matches_its_grandchildren():
    rows = [policy(1, category_id=4), policy(2, category_id=1), policy(3)]
    assert sla.policy_pick(rows, priority="normal", category_id=3, tier="", parents=PARENTS).pk == 2
    assert sla.policy_pick(rows, priority="normal", category_id=None, tier="", parents=PARENTS).pk == 3
    assert sla.category_chain(3, {3: 2, 2: 3}) == [3, 2]  # a cycle is cut


# --- through the service (database) --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("opened", "first_due", "resolution_due"),
    [
        (local(2026, 2, 13, 15, 0), local(2026, 2, 13, 16, 0), local(2026, 2, 23, 15, 0)),
        (local(2026, 2, 14, 10, 0), local(2026, 2, 23, 9, 0), local(2026, 2, 23, 17, 30)),
        (local(2026, 3, 14, 23, 0), local(2026, 3, 16, 9, 0), local(2026, 3, 16, 17, 30)),
    ],
)
def test_ticket_clocks_from_opened_at(org, clock, opened, first_due, resolution_due):
    clock.set(local(2026, 4, 1, 9, 0))
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=480)
    ticket = make_ticket(org.admin, opened_at=opened)
    assert (ticket.first_response_due, ticket.resolution_due) == (first_due, resolution_due)


@pytest.mark.django_db
def test_timers_pause_and_report_business_seconds(org, clock):
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=480)
    category = make_category(org.admin, "Bảo hành")
    ticket = make_ticket(org.care_agent_hn, category_id=category.pk)
    timers = sla.ticket_timers(ticket, now=local(2026, 3, 10, 9, 30), hours=DEFAULT)
    assert timers.first_response.seconds_left == 30 * 60
    assert timers.resolution.seconds_left == 7.5 * 3600
    assert not timers.paused and not timers.first_response.breached
    clock.set(local(2026, 3, 10, 11, 0))
    services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "waiting"})
    ticket.refresh_from_db()
    later = sla.ticket_timers(ticket, now=local(2026, 3, 12, 16, 0), hours=DEFAULT)
    assert later.paused
    assert later.resolution.seconds_left == 6 * 3600  # frozen at the moment it started waiting
    assert later.first_response.breached and later.first_response.seconds_left < 0
