"""activities.selectors: who sees which activity, lists and filters, follow-ups of the day, next to call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from careline.activities import selectors, services
from careline.activities.tests.factories import add_follow_up, log_call
from careline.core.errors import ApplicationError, NotFound, PermissionDenied
from careline.customers.services import customer_archive, customer_update
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=timezone.get_current_timezone())


def visible_ids(actor) -> set[int]:
    return set(selectors.activity_visible(actor=actor).values_list("pk", flat=True))


def test_visibility_follows_the_customer_or_the_activity_scope(org):
    cust_hn = make_customer(org.consultant_hn, full_name="Khách HN")
    a1 = log_call(org.consultant_hn, cust_hn)
    a2 = log_call(org.supervisor_hn, cust_hn)  # the supervisor's own call on the consultant's card
    cust_b = make_customer(org.consultant_hn_b, full_name="Khách B")
    a3 = log_call(org.consultant_hn_b, cust_b)
    cust_hcm = make_customer(org.consultant_hcm, full_name="Khách HCM")
    a4 = log_call(org.consultant_hcm, cust_hcm)
    moved = make_customer(org.consultant_hn, full_name="Khách Chuyển")
    a5 = log_call(org.consultant_hn, moved)
    customer_update(actor=org.supervisor_hn, customer_id=moved.pk, data={"owner_id": org.consultant_hn_b.pk})
    hn_all = {a1.pk, a2.pk, a3.pk, a5.pk}

    assert visible_ids(org.consultant_hn) == {a1.pk, a2.pk, a5.pk}  # a5: their own call, card moved away
    assert visible_ids(org.consultant_hn_b) == {a3.pk, a5.pk}  # a5: on the card they own now
    assert visible_ids(org.consultant_hcm) == {a4.pk}
    assert visible_ids(org.supervisor_hn) == hn_all
    assert visible_ids(org.manager_hn) == hn_all
    assert visible_ids(org.academic_hn) == hn_all
    assert visible_ids(org.director) == hn_all | {a4.pk}
    assert visible_ids(org.care_head) == hn_all | {a4.pk}
    assert visible_ids(org.nobody) == set()
    with pytest.raises(NotFound):
        selectors.activity_get(actor=org.consultant_hcm, activity_id=a1.pk)
    assert selectors.activity_get(actor=org.consultant_hn, activity_id=a5.pk).customer_id == moved.pk
    # Writable: inside the activity scope by owner/team/branch only.
    assert set(selectors.activity_writable(actor=org.consultant_hn).values_list("pk", flat=True)) == {
        a1.pk,
        a5.pk,
    }


def test_list_filters_and_order(org):
    customer = make_customer(org.consultant_hn)
    other = make_customer(org.consultant_hn, full_name="Người Khác")
    late = log_call(org.consultant_hn, customer, occurred_at=local(2026, 3, 10, 23, 30))
    next_day = log_call(org.consultant_hn, customer, occurred_at=local(2026, 3, 11, 0, 30))
    note = services.activity_log(
        actor=org.consultant_hn,
        customer_id=other.pk,
        kind="note",
        notes="x",
        occurred_at=local(2026, 3, 10, 9),
    )
    fu_late = add_follow_up(org.consultant_hn, customer, local(2026, 3, 10, 17))
    fu_early = add_follow_up(org.consultant_hn, customer, local(2026, 3, 10, 8))
    by_b = log_call(org.supervisor_hn, customer, owner=org.consultant_hn_b, occurred_at=local(2026, 3, 9, 10))

    def ids(**kw):
        rows, _cursor = selectors.activity_list(actor=org.supervisor_hn, **kw)
        return [a.pk for a in rows]

    # Newest first by "when": done time, else due time.
    assert ids() == [next_day.pk, late.pk, fu_late.pk, note.pk, fu_early.pk, by_b.pk]
    assert ids(day=dt.date(2026, 3, 10)) == [late.pk, fu_late.pk, note.pk, fu_early.pk]
    assert ids(day=dt.date(2026, 3, 11)) == [next_day.pk]
    assert ids(customer_id=other.pk) == [note.pk]
    assert ids(owner_id=org.consultant_hn_b.pk) == [by_b.pk]
    assert ids(kind="note") == [note.pk]
    assert ids(open_only=True) == [fu_early.pk, fu_late.pk]  # soonest due first
    services.follow_up_complete(actor=org.consultant_hn, activity_id=fu_early.pk)
    assert ids(open_only=True) == [fu_late.pk]
    with pytest.raises(ApplicationError):
        selectors.activity_list(actor=org.supervisor_hn, limit=0)
    with pytest.raises(ApplicationError):
        selectors.activity_list(actor=org.supervisor_hn, kind="visit")
    with pytest.raises(PermissionDenied):
        selectors.activity_list(actor=org.nobody)


def test_list_pages_with_cursor(org):
    customer = make_customer(org.consultant_hn)
    base = timezone.now() - dt.timedelta(days=1)
    made = [
        log_call(org.consultant_hn, customer, occurred_at=base + dt.timedelta(minutes=i)) for i in range(7)
    ]
    # Two with the same time: the id breaks the tie.
    made.append(log_call(org.consultant_hn, customer, occurred_at=made[-1].occurred_at))
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        rows, cursor = selectors.activity_list(actor=org.consultant_hn, cursor=cursor, limit=3)
        seen += [a.pk for a in rows]
        if cursor is None:
            break
    assert seen == [made[7].pk, made[6].pk] + [a.pk for a in reversed(made[:6])]


def test_follow_ups_for_today_and_overdue(org):
    customer = make_customer(org.consultant_hn, phones=["0912345678"])
    today = timezone.localdate()
    start, end = selectors.local_day_bounds(today)
    overdue = add_follow_up(org.consultant_hn, customer, start - dt.timedelta(hours=3))
    this_morning = add_follow_up(org.consultant_hn, customer, start + dt.timedelta(hours=1))
    tonight = add_follow_up(org.consultant_hn, customer, end - dt.timedelta(minutes=1))
    add_follow_up(org.consultant_hn, customer, end + dt.timedelta(minutes=1))  # tomorrow
    done = add_follow_up(org.consultant_hn, customer, start + dt.timedelta(hours=2))
    services.follow_up_complete(actor=org.consultant_hn, activity_id=done.pk)
    add_follow_up(org.supervisor_hn, customer, start + dt.timedelta(hours=2))  # someone else's
    rows = selectors.follow_ups_for(actor=org.consultant_hn, user=org.consultant_hn, day=today)
    assert [(r.pk, r.overdue) for r in rows] == [
        (overdue.pk, True),
        (this_morning.pk, False),
        (tonight.pk, False),
    ]
    assert rows[0].customer.phone_points[0].value == "+84912345678"
    # A supervisor looking at the consultant's day sees the same; another consultant sees nothing.
    assert len(selectors.follow_ups_for(actor=org.supervisor_hn, user=org.consultant_hn, day=today)) == 3
    assert selectors.follow_ups_for(actor=org.consultant_hcm, user=org.consultant_hn, day=today) == []


def _ranking_fixture(org):
    u = org.consultant_hn
    now = timezone.now()
    today = timezone.localdate()
    a = make_customer(u, full_name="A Lead Mới", stage="lead")
    b = make_customer(u, full_name="B Hẹn Gọi", stage="prospect")
    log_call(u, b, occurred_at=now - dt.timedelta(days=1, hours=1))
    add_follow_up(u, b, now - dt.timedelta(days=1))  # promised call-back, overdue
    c = make_customer(u, full_name="C Vip", stage="customer", tier="vip")
    log_call(u, c, occurred_at=now - dt.timedelta(days=10))
    d = make_customer(
        u,
        full_name="D Công Nợ",
        stage="customer",
        tier="gold",
        receivable_amount=5_000_000,
        receivable_due=today + dt.timedelta(days=3),
    )
    log_call(u, d, occurred_at=now - dt.timedelta(days=3, hours=1))
    inactive = make_customer(u, full_name="E Ngừng", stage="inactive")
    called_today = make_customer(u, full_name="F Đã Gọi", stage="lead")
    log_call(u, called_today, occurred_at=now - dt.timedelta(minutes=1))
    make_customer(org.consultant_hn_b, full_name="G Người Khác", stage="lead")
    archived = make_customer(u, full_name="H Lưu Trữ", stage="lead")
    customer_archive(actor=org.admin, customer_id=archived.pk)
    i = make_customer(
        u,
        full_name="I Email Cũ",
        stage="customer",
        receivable_amount=1,
        receivable_due=today + dt.timedelta(days=30),
    )
    services.activity_log(
        actor=u, customer_id=i.pk, kind="email", outcome="sent", occurred_at=now - dt.timedelta(days=20)
    )
    services.activity_log(actor=u, customer_id=i.pk, kind="note", notes="ghi chú hôm nay")  # not a contact
    j = make_customer(u, full_name="J Tiềm Năng", stage="prospect")
    add_follow_up(u, j, now + dt.timedelta(days=2))  # not due yet
    return {"a": a, "b": b, "c": c, "d": d, "i": i, "j": j, "inactive": inactive}


def test_next_to_call_ranking_and_reasons(org):
    made = _ranking_fixture(org)
    assert made["inactive"].stage == "inactive"
    with translation.override("en"):
        ranked = selectors.next_to_call(actor=org.consultant_hn, user=org.consultant_hn)
    names = [c.customer.full_name for c in ranked]
    assert names == ["B Hẹn Gọi", "A Lead Mới", "J Tiềm Năng", "C Vip", "D Công Nợ", "I Email Cũ"]
    by_name = {c.customer.full_name: c for c in ranked}
    assert [(c.score) for c in ranked] == [75, 50, 40, 40, 40, 30]
    assert by_name["B Hẹn Gọi"].reasons == [
        ("Call-back or follow-up due", 50),
        ("Stage: Prospect", 20),
        ("1 day since last contact", 5),
    ]
    assert by_name["A Lead Mới"].reasons == [("Stage: Lead", 30), ("Never contacted", 20)]
    assert by_name["C Vip"].reasons == [
        ("Stage: Customer", 10),
        ("10 days since last contact", 15),
        ("Tier: VIP", 15),
    ]
    assert by_name["D Công Nợ"].reasons == [
        ("Stage: Customer", 10),
        ("3 days since last contact", 10),
        ("Tier: Gold", 10),
        ("Receivables due soon", 10),
    ]
    assert by_name["I Email Cũ"].reasons == [("Stage: Customer", 10), ("20 days since last contact", 20)]
    assert by_name["A Lead Mới"].last_contact is None
    assert sum(points for _label, points in by_name["D Công Nợ"].reasons) == by_name["D Công Nợ"].score
    # Limit, and another consultant (or someone who cannot see these cards) gets nothing of them.
    assert len(selectors.next_to_call(actor=org.consultant_hn, user=org.consultant_hn, limit=2)) == 2
    assert selectors.next_to_call(actor=org.consultant_hcm, user=org.consultant_hn) == []
    assert [
        c.customer.pk for c in selectors.next_to_call(actor=org.supervisor_hn, user=org.consultant_hn)
    ] == [c.customer.pk for c in ranked]


def test_next_to_call_query_count_does_not_grow(org):
    u = org.consultant_hn
    for n in range(3):
        make_customer(u, full_name=f"Khách {n}", phones=[f"09123450{n:02d}"])
    selectors.next_to_call(actor=u, user=u)  # warm the role cache

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = selectors.next_to_call(actor=u, user=u)
            [c.customer.phone_points for c in rows]
        return len(ctx.captured_queries)

    small = count()
    for n in range(3, 15):
        c = make_customer(u, full_name=f"Khách {n}", phones=[f"09123450{n:02d}"], stage="prospect")
        log_call(u, c, occurred_at=timezone.now() - dt.timedelta(days=n))
        add_follow_up(u, c, timezone.now() - dt.timedelta(hours=n))
    assert count() == small == 2
