"""Counting rules, effective quotas, progress, the team board and call analysis."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.accounts.tests.factories import UserFactory
from careline.core.errors import ApplicationError, NotFound, PermissionDenied
from careline.customers.models import Customer
from careline.customers.services import customer_update
from careline.kpis import selectors
from careline.kpis.models import Quota
from careline.kpis.selectors import SystemActor, call_analysis, quota_progress, quotas_for, team_board
from careline.kpis.tests.factories import local, make_activity, make_customer_for, make_quota

pytestmark = pytest.mark.django_db

D = dt.date
THU = D(2026, 10, 1)  # Thursday 1/10/2026, a working day
LATE = local(2026, 10, 5, 9)  # "now" well after the days asked about


def progress(actor, user, day=THU, now=LATE):
    return {(p.kind, p.period): p for p in quota_progress(actor=actor, user=user, day=day, now=now)}


# --- counting ------------------------------------------------------------------------------------------


def test_days_are_cut_in_local_time(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="call", period="day", target=3)
    make_activity(me, at=local(2026, 10, 1, 23, 30))  # 16:30 UTC on the 1st
    make_activity(me, at=local(2026, 10, 1, 0, 15))  # 17:15 UTC on 30/9: still the 1st locally
    make_activity(me, at=local(2026, 10, 2, 6, 30))  # 23:30 UTC on the 1st: the 2nd locally
    make_activity(me, at=local(2026, 9, 30, 23, 59))
    assert progress(me, me)[("call", "day")].done == 2
    assert progress(me, me, day=D(2026, 10, 2))[("call", "day")].done == 1
    assert progress(me, me, day=D(2026, 9, 30))[("call", "day")].done == 1


def test_week_starts_monday_and_month_on_the_first_in_local_time(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="call", period="week", target=10)
    make_quota(org.admin, kind="call", period="month", target=100)
    make_activity(me, at=local(2026, 9, 27, 23, 30))  # Sunday: previous week, September
    make_activity(me, at=local(2026, 9, 28, 0, 5))  # Monday 00:05 local (Sunday UTC): this week
    make_activity(me, at=local(2026, 9, 30, 23, 59))  # last minute of September
    make_activity(me, at=local(2026, 10, 1, 0, 0))  # first minute of October
    make_activity(me, at=local(2026, 10, 4, 23, 59))  # Sunday: still this week
    make_activity(me, at=local(2026, 10, 5, 0, 0))  # next Monday
    p = progress(me, me)
    assert p[("call", "week")].done == 4
    assert (p[("call", "week")].period_start, p[("call", "week")].period_end) == (
        D(2026, 9, 28),
        D(2026, 10, 4),
    )
    assert p[("call", "month")].done == 3
    assert progress(me, me, day=D(2026, 9, 15))[("call", "month")].done == 3


def test_only_the_persons_own_activities_of_the_kind_count(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="call", target=5)
    make_quota(org.admin, kind="email", target=5)
    make_quota(org.admin, kind="proposal", target=5)
    make_quota(org.admin, kind="meeting", target=5)
    make_activity(me, kind="call", at=local(2026, 10, 1, 9))
    make_activity(me, kind="offer", at=local(2026, 10, 1, 9))
    make_activity(me, kind="note", at=local(2026, 10, 1, 9))
    make_activity(me, kind="email", at=local(2026, 10, 1, 9), outcome="sent")
    make_activity(me, kind="email", at=local(2026, 10, 1, 9), outcome="failed")  # bounced: no
    make_activity(me, kind="proposal", at=local(2026, 10, 1, 9), outcome="failed")
    make_activity(me, kind="meeting", at=local(2026, 10, 1, 9), outcome="held")
    make_activity(me, kind="meeting", at=local(2026, 10, 1, 9), outcome="cancelled")
    make_activity(org.consultant_hn_b, kind="call", at=local(2026, 10, 1, 9))
    p = progress(me, me)
    assert {k: v.done for k, v in p.items()} == {
        ("call", "day"): 1,
        ("email", "day"): 1,
        ("meeting", "day"): 1,
        ("proposal", "day"): 0,
    }


def test_follow_ups_count_when_completed(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="follow_up", target=4)
    make_activity(me, kind="follow_up", due_at=local(2026, 10, 1, 9))  # open: no
    make_activity(me, kind="follow_up", due_at=local(2026, 9, 29, 9), completed_at=local(2026, 10, 1, 8))
    make_activity(
        me,
        kind="follow_up",
        due_at=local(2026, 10, 1, 9),
        occurred_at=local(2026, 10, 1, 9),
        completed_at=local(2026, 10, 2, 10),  # done the next day
    )
    assert progress(me, me)[("follow_up", "day")].done == 1
    assert progress(me, me, day=D(2026, 10, 2))[("follow_up", "day")].done == 1


def set_last_history_date(customer: Customer, when: dt.datetime) -> None:
    history = Customer.history.model  # type: ignore[attr-defined]
    row = history.objects.filter(id=customer.pk).order_by("-history_id").first()
    history.objects.filter(history_id=row.history_id).update(history_date=when)


def test_new_customers_are_read_from_customer_history(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="new_customer", period="month", target=4)
    won = make_customer_for(me, stage="lead")
    set_last_history_date(won, local(2026, 9, 2))
    customer_update(actor=org.admin, customer_id=won.pk, data={"stage": "prospect"})
    set_last_history_date(won, local(2026, 9, 20))
    customer_update(actor=org.admin, customer_id=won.pk, data={"stage": "customer"})
    set_last_history_date(won, local(2026, 10, 1, 0, 30))  # 30/9 17:30 UTC: October locally
    # Still a customer, only renamed later in the month: not a second win.
    customer_update(actor=org.admin, customer_id=won.pk, data={"full_name": "Khách Đã Ký"})
    set_last_history_date(won, local(2026, 10, 3))
    # Created directly as a customer (a signed contract entered afterwards) counts once.
    direct = make_customer_for(me, stage="customer")
    set_last_history_date(direct, local(2026, 10, 2))
    # Won in September: not this month.
    old = make_customer_for(me, stage="prospect")
    customer_update(actor=org.admin, customer_id=old.pk, data={"stage": "customer"})
    set_last_history_date(old, local(2026, 9, 30, 23, 0))
    # Won by someone else, then handed to me: not mine.
    other = make_customer_for(org.consultant_hn_b, stage="prospect")
    customer_update(actor=org.admin, customer_id=other.pk, data={"stage": "customer"})
    set_last_history_date(other, local(2026, 10, 2))
    customer_update(actor=org.admin, customer_id=other.pk, data={"owner_id": me.pk})
    set_last_history_date(other, local(2026, 10, 3))
    # Won, lost (inactive) and won again in the month: one customer.
    again = make_customer_for(me, stage="prospect")
    set_last_history_date(again, local(2026, 9, 1))
    for stage, day in (("customer", 5), ("inactive", 6), ("customer", 7)):
        customer_update(actor=org.admin, customer_id=again.pk, data={"stage": stage})
        set_last_history_date(again, local(2026, 10, day))
    p = progress(me, me, day=D(2026, 10, 8), now=local(2026, 10, 8, 12))
    assert p[("new_customer", "month")].done == 3
    assert progress(me, me, day=D(2026, 9, 30))[("new_customer", "month")].done == 1
    b = progress(org.admin, org.consultant_hn_b, day=D(2026, 10, 8), now=local(2026, 10, 8, 12))
    assert b[("new_customer", "month")].done == 1


# --- effective quotas ------------------------------------------------------------------------------------


def test_person_quota_beats_team_quota_beats_role_quota(org):
    role_calls = make_quota(org.admin, kind="call", target=30)
    team_calls = make_quota(org.admin, kind="call", target=25, team_id=org.hn_sales2.pk)
    mine = make_quota(org.admin, kind="call", target=40, user_id=org.consultant_hn.pk)
    weekly = make_quota(org.admin, kind="call", period="week", target=120)
    make_quota(org.admin, kind="email", target=50)
    make_quota(org.admin, kind="offer", target=20, role="supervisor")
    make_quota(org.admin, kind="offer", target=99, active=False)
    assert [(q.kind, q.period, q.pk) for q in quotas_for(user=org.consultant_hn)] == [
        ("call", "day", mine.pk),
        ("call", "week", weekly.pk),
        ("email", "day", Quota.objects.get(kind="email").pk),
    ]
    assert quotas_for(user=org.consultant_hn2)[0] == team_calls
    assert quotas_for(user=org.consultant_hn_b)[0] == role_calls
    assert [q.kind for q in quotas_for(user=org.supervisor_hn)] == ["offer"]
    assert quotas_for(user=org.nobody) == []
    # The override is what progress shows.
    assert progress(org.consultant_hn, org.consultant_hn)[("call", "day")].target == 40


# --- progress and pace -------------------------------------------------------------------------------------


def test_progress_fields_and_statuses(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="call", target=30)
    make_quota(org.admin, kind="email", target=4)
    make_quota(org.admin, kind="offer", target=10)
    for _ in range(10):
        make_activity(me, kind="call", at=local(2026, 10, 1, 8, 30))
    for _ in range(5):
        make_activity(me, kind="email", at=local(2026, 10, 1, 8, 30))
    for _ in range(5):
        make_activity(me, kind="offer", at=local(2026, 10, 1, 8, 30))
    p = progress(me, me, now=local(2026, 10, 1, 12, 45))  # half of the working day
    call = p[("call", "day")]
    assert (call.done, call.target, call.expected_by_now) == (10, 30, 15.0)
    assert (call.behind, call.status) == (True, "behind")
    assert (call.percent, call.pace_percent, call.working_day) == (33, 50, True)
    assert (call.period_start, call.period_end) == (THU, THU)
    assert p[("email", "day")].status == "done" and p[("email", "day")].percent == 125
    assert p[("offer", "day")].status == "on_pace"  # 5 done, 5 expected
    # At 08:00 nobody is behind yet.
    assert not progress(me, me, now=local(2026, 10, 1, 8))[("call", "day")].behind


def test_daily_quota_is_a_day_off_on_tet_and_weekends(org):
    me = org.consultant_hn
    make_quota(org.admin, kind="call", target=30)
    make_quota(org.admin, kind="call", period="month", target=300)
    make_activity(me, at=local(2026, 2, 17, 10))  # someone called on mùng 1 Tết anyway
    p = progress(me, me, day=D(2026, 2, 17), now=local(2026, 2, 17, 15))
    daily = p[("call", "day")]
    assert (daily.status, daily.working_day, daily.behind, daily.expected_by_now, daily.done) == (
        "day_off",
        False,
        False,
        0.0,
        1,
    )
    monthly = p[("call", "month")]
    assert monthly.status != "day_off" and monthly.working_day is False
    # 2–6 and 9–13/2 elapsed of 15 working days: 300 × 10 / 15 = 200 expected, 1 done.
    assert monthly.expected_by_now == 200 and monthly.behind
    sunday = progress(me, me, day=D(2026, 10, 4), now=local(2026, 10, 4, 15))[("call", "day")]
    assert sunday.status == "day_off"


def test_progress_visibility(org):
    make_quota(org.admin, kind="call", target=30)
    me = org.consultant_hn
    with pytest.raises(NotFound):
        quota_progress(actor=me, user=org.consultant_hn_b, day=THU)
    with pytest.raises(NotFound):
        quota_progress(actor=org.supervisor_hn, user=org.consultant_hn2, day=THU)  # another team
    with pytest.raises(NotFound):
        quota_progress(actor=org.manager_hn, user=org.consultant_hcm, day=THU)  # another branch
    with pytest.raises(PermissionDenied):
        quota_progress(actor=org.nobody, user=org.nobody, day=THU)
    assert quota_progress(actor=org.supervisor_hn, user=org.consultant_hn_b, day=THU)
    assert quota_progress(actor=org.manager_hn, user=org.consultant_hn2, day=THU)
    assert quota_progress(actor=org.director, user=org.consultant_hcm, day=THU)
    assert quota_progress(actor=SystemActor(), user=org.consultant_hcm, day=THU)
    inactive = UserFactory(role="consultant", team=org.hn_sales, is_active=False)
    with pytest.raises(NotFound):
        quota_progress(actor=org.admin, user=inactive, day=THU)


def test_quota_definitions_visible_by_scope(org):
    company = make_quota(org.admin, kind="call", target=30)
    team1 = make_quota(org.admin, kind="email", target=5, team_id=org.hn_sales.pk)
    team2 = make_quota(org.admin, kind="email", target=6, team_id=org.hn_sales2.pk)
    hcm = make_quota(org.admin, kind="email", target=7, team_id=org.hcm_sales.pk)
    mine = make_quota(org.admin, kind="offer", target=3, user_id=org.consultant_hn.pk)
    theirs = make_quota(org.admin, kind="offer", target=3, user_id=org.consultant_hn_b.pk)
    far = make_quota(org.admin, kind="offer", target=3, user_id=org.consultant_hcm.pk)

    def ids(actor):
        return {q.pk for q in selectors.quota_list(actor=actor)}

    assert ids(org.consultant_hn) == {company.pk, team1.pk, mine.pk}
    assert ids(org.supervisor_hn) == {company.pk, team1.pk, mine.pk, theirs.pk}
    assert ids(org.manager_hn) == {company.pk, team1.pk, team2.pk, mine.pk, theirs.pk}
    assert ids(org.director) == {company.pk, team1.pk, team2.pk, hcm.pk, mine.pk, theirs.pk, far.pk}
    with pytest.raises(PermissionDenied):
        selectors.quota_list(actor=org.nobody)


# --- team board -----------------------------------------------------------------------------------------


def test_team_board_rows_behind_first(org):
    make_quota(org.admin, kind="call", target=10)
    make_quota(org.admin, kind="email", period="week", target=20)
    for _ in range(10):
        make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    make_activity(org.consultant_hn_b, at=local(2026, 10, 1, 9))
    rows = team_board(actor=org.supervisor_hn, day=THU, now=local(2026, 10, 1, 17, 30))
    assert [r.user_id for r in rows] == [org.consultant_hn_b.pk, org.consultant_hn.pk]
    behind, ahead = rows
    assert behind.behind_count == 2 and ahead.behind_count == 1  # nobody emailed: 16 of 20 expected
    assert [i.kind for i in ahead.items] == ["call", "email"]
    assert ahead.items[0].status == "done"
    # Branch manager: both Hà Nội teams; filter by team; the other branch is out of reach.
    manager_ids = {r.user_id for r in team_board(actor=org.manager_hn, day=THU)}
    assert manager_ids == {org.consultant_hn.pk, org.consultant_hn_b.pk, org.consultant_hn2.pk}
    only_team2 = team_board(actor=org.manager_hn, team_id=org.hn_sales2.pk, day=THU)
    assert [r.user_id for r in only_team2] == [org.consultant_hn2.pk]
    with pytest.raises(NotFound):
        team_board(actor=org.manager_hn, team_id=org.hcm_sales.pk, day=THU)
    with pytest.raises(NotFound):
        team_board(actor=org.supervisor_hn, team_id=org.hn_sales2.pk, day=THU)
    with pytest.raises(NotFound):
        team_board(actor=org.manager_hn, branch_id=org.hcm.pk, day=THU)
    assert {r.user_id for r in team_board(actor=org.admin, branch_id=org.hcm.pk, day=THU)} == {
        org.consultant_hcm.pk
    }
    with pytest.raises(PermissionDenied):
        team_board(actor=org.consultant_hn, day=THU)
    with pytest.raises(PermissionDenied):
        team_board(actor=org.nobody, day=THU)


def test_team_board_query_count_does_not_grow_with_members(org):
    make_quota(org.admin, kind="call", target=10)
    make_quota(org.admin, kind="email", period="week", target=20)
    make_quota(org.admin, kind="new_customer", period="month", target=2)
    make_quota(org.admin, kind="offer", target=5, user_id=org.consultant_hn.pk)
    supervisor = org.supervisor_hn
    supervisor.scope_for("quota")  # role scopes are cached on the user once per request

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = team_board(actor=supervisor, day=THU, now=LATE)
        assert rows
        return len(ctx.captured_queries)

    for person in (org.consultant_hn, org.consultant_hn_b):
        make_activity(person, at=local(2026, 10, 1, 9))
    small = count_queries()
    for i in range(8):
        person = UserFactory(username=f"extra{i}", role="consultant", team=org.hn_sales)
        make_quota(org.admin, kind="meeting", target=2, user_id=person.pk)
        for _ in range(2):
            make_activity(person, at=local(2026, 10, 1, 9))
            make_activity(person, kind="email", at=local(2026, 9, 29, 9))
    assert len(team_board(actor=supervisor, day=THU, now=LATE)) == 10
    assert count_queries() == small
    # members, quotas, one grouped activity query, one history query for new_customer
    assert small == 4


# --- call analysis --------------------------------------------------------------------------------------


def figures(stats) -> tuple[int, int, int, int]:
    return (stats.calls, stats.reached, stats.customers_called, stats.converted)


def test_call_analysis_on_a_crafted_dataset(org):
    a, b = org.consultant_hn, org.consultant_hn_b
    lead = make_customer_for(a, stage="lead", full_name="Khách Một")
    prospect = make_customer_for(a, stage="prospect", full_name="Khách Hai")
    stays = make_customer_for(b, stage="lead", full_name="Khách Ba")
    lost = make_customer_for(b, stage="prospect", full_name="Khách Bốn")
    # a: 4 calls — 9h reached (lead, 120 s), 9h no answer (lead), 14h interested (prospect, 300 s), 14h busy
    make_activity(a, customer=lead, at=local(2026, 10, 1, 9, 10), outcome="reached", duration_seconds=120)
    make_activity(a, customer=lead, at=local(2026, 10, 1, 9, 50), outcome="no_answer")
    make_activity(
        a, customer=prospect, at=local(2026, 10, 2, 14, 5), outcome="interested", duration_seconds=300
    )
    make_activity(a, customer=prospect, at=local(2026, 10, 2, 14, 30), outcome="busy", duration_seconds=0)
    # b: 2 calls — 23:30 local (16:30 UTC) wrong number, 0:15 local call back (prior day in UTC)
    make_activity(b, customer=stays, at=local(2026, 10, 1, 23, 30), outcome="wrong_number")
    make_activity(b, customer=lost, at=local(2026, 10, 2, 0, 15), outcome="call_back", duration_seconds=60)
    # b also called "lead" (a's customer) — first call of the period for that customer is a's.
    make_activity(b, customer=lead, at=local(2026, 10, 2, 10), outcome="reached", customer_stage="prospect")
    # Outside the period, another kind, another team: ignored.
    make_activity(a, customer=lead, at=local(2026, 9, 30, 23, 59), outcome="reached")
    make_activity(a, customer=lead, kind="email", at=local(2026, 10, 1, 9))
    make_activity(org.consultant_hn2, at=local(2026, 10, 1, 9), outcome="reached")
    # Stages now: lead → customer (converted), prospect → customer (converted), lead stays, prospect → inactive.
    Customer.objects.filter(pk__in=[lead.pk, prospect.pk]).update(stage="customer")
    Customer.objects.filter(pk=lost.pk).update(stage="inactive")

    result = call_analysis(actor=org.supervisor_hn, team_id=org.hn_sales.pk, start=THU, end=D(2026, 10, 2))
    t = result.total
    assert t.calls == 7
    assert t.reached == 4  # reached ×2, interested, call back
    assert t.reach_rate == pytest.approx(4 / 7, abs=1e-4)
    assert t.outcomes == {
        "reached": 2,
        "no_answer": 1,
        "interested": 1,
        "busy": 1,
        "wrong_number": 1,
        "call_back": 1,
    }
    assert t.avg_duration_seconds == pytest.approx((120 + 300 + 0 + 60) / 4)
    hours = {h["hour"]: h for h in t.hours() if h["total"]}
    assert {h: v["total"] for h, v in hours.items()} == {0: 1, 9: 2, 10: 1, 14: 2, 23: 1}
    assert hours[9]["outcomes"] == {"reached": 1, "no_answer": 1}
    assert hours[9]["reached"] == 1 and hours[23]["reached"] == 0
    assert (t.customers_called, t.converted) == (4, 2)
    assert t.conversion_rate == 0.5
    people = {p.user_id: p.stats for p in result.people}
    assert set(people) == {a.pk, b.pk}
    assert figures(people[a.pk]) == (4, 2, 2, 2)
    # b's first call to "lead" was logged when it was already a prospect → customer now: converted too.
    assert figures(people[b.pk]) == (3, 2, 3, 1)
    assert result.people[0].user_id == a.pk  # most calls first
    outcome_rows = t.outcome_rows()
    assert [r[0] for r in outcome_rows] == [
        "reached",
        "no_answer",
        "busy",
        "wrong_number",
        "call_back",
        "interested",
    ]

    # One person: no per-person rows; the consultant sees only their own calls.
    mine = call_analysis(actor=a, user_id=a.pk, start=THU, end=D(2026, 10, 2))
    assert mine.total.calls == 4 and mine.people == []
    default = call_analysis(actor=a, start=THU, end=D(2026, 10, 2))
    assert default.total.calls == 4


def test_call_analysis_refusals(org):
    with pytest.raises(NotFound):
        call_analysis(actor=org.consultant_hn, user_id=org.consultant_hn_b.pk, start=THU, end=THU)
    with pytest.raises(NotFound):
        call_analysis(actor=org.consultant_hn, team_id=org.hn_sales.pk, start=THU, end=THU)
    with pytest.raises(NotFound):
        call_analysis(actor=org.supervisor_hn, team_id=org.hcm_sales.pk, start=THU, end=THU)
    with pytest.raises(PermissionDenied):
        call_analysis(actor=org.nobody, start=THU, end=THU)
    with pytest.raises(ApplicationError) as exc:
        call_analysis(actor=org.admin, start=THU, end=D(2026, 9, 1))
    assert exc.value.code == "invalid_range"
    with pytest.raises(ApplicationError):
        call_analysis(actor=org.admin, start=D(2025, 1, 1), end=THU)
    empty = call_analysis(actor=org.admin, start=THU, end=THU)
    assert (empty.total.calls, empty.total.reach_rate, empty.total.avg_duration_seconds) == (0, None, None)
    assert empty.total.conversion_rate is None
