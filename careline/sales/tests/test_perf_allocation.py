"""One new lead, cheaply: how many SQL statements intake and allocation take (and that they do not grow
with the open leads or the members), the open-lead counter the database keeps for the capacity check
(right after every path that opens, closes, moves, reclaims, converts or merges leads), and the cached
system user."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.accounts import services as account_services
from careline.accounts.models import User
from careline.accounts.tests.factories import UserFactory
from careline.core.models import AuditEvent
from careline.customers import services as customer_services
from careline.customers.models import Customer
from careline.sales import services
from careline.sales.choices import InquiryStatus
from careline.sales.models import AllocationMember, Assignment, Inquiry, OpenLeadCount
from careline.sales.open_leads import (
    open_lead_triggers_ensure,
    open_lead_triggers_present,
    open_lead_triggers_uninstall,
)
from careline.sales.tests.factories import make_rule, receive

pytestmark = pytest.mark.django_db

# Budgets (see docs/benchmarks.md, "one new lead"): the SQL statements one lead costs, not counting
# transaction control (BEGIN/COMMIT/SAVEPOINT, which only SQLite sends as statements).
ALLOCATE_STATEMENTS = 13  # lock the lead, rules, lock the rule, members (with open leads); then in one
#                           pipeline: lead, customer + its history row, log, 2 audit events, notice, rule
#                           state, member counters
RECEIVE_STATEMENTS = 16  # known phone/email?, rules, lock the rule, members, two ids; then in one pipeline:
#                          customer + phone + history, inquiry, log, 3 audit events, notice, rule state,
#                          member counters
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def recount() -> dict[int, int]:
    """Open leads per owner, counted the slow way (what the counter must always equal)."""
    return dict(
        Inquiry.objects.filter(
            owner__isnull=False,
            status__in=[InquiryStatus.ASSIGNED, InquiryStatus.CONTACTED],
            customer__stage="lead",
        )
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )


def counters() -> dict[int, int]:
    return {u: n for u, n in OpenLeadCount.objects.values_list("user_id", "open_leads") if n}


def assert_counter_right() -> None:
    assert counters() == recount()


def queued(n: int) -> Inquiry:
    """A lead received without allocation (it waits in the queue)."""
    data = services.InquiryData(channel="web", full_name=f"Khách chờ {n}", phone=f"09130{n:05d}")
    return services.inquiry_receive(actor=None, data=data, allocate=False).inquiry


def _statements(fn) -> list[str]:  # type: ignore[no-untyped-def]
    """The data statements `fn` sends (transaction control left out)."""
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(CONTROL)]


def _savepoints(fn) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return sum(q["sql"].upper().startswith("SAVEPOINT") for q in ctx.captured_queries)


# --- statements per lead --------------------------------------------------------------------------------
# Counted outside a test transaction, as a request runs: the intake's transaction is a real one (not a
# savepoint) and the system user, once committed, comes from the per-process cache.


@pytest.mark.django_db(transaction=True)  # autocommit, as in production
def test_allocate_takes_a_fixed_number_of_statements_whatever_the_open_leads(org):
    users = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn]
    make_rule(org.hn_sales, users, strategy="weighted", capacities=[500, 500, 500])
    ids = [queued(i).pk for i in range(40)]
    services.inquiry_allocate(inquiry_id=ids[0])  # warm (the system user, content types…)
    first = _statements(lambda: services.inquiry_allocate(inquiry_id=ids[1]))
    for i in ids[2:-1]:
        services.inquiry_allocate(inquiry_id=i)
    later = _statements(lambda: services.inquiry_allocate(inquiry_id=ids[-1]))
    assert len(first) == len(later) == ALLOCATE_STATEMENTS, "\n".join(later)
    # No statement counts open leads: the capacity check reads the counter.
    assert not any("COUNT(" in sql.upper() for sql in later)
    assert Inquiry.objects.filter(pk=ids[-1], status=InquiryStatus.ASSIGNED).exists()


@pytest.mark.django_db(transaction=True)  # autocommit, as in production
def test_allocate_statements_do_not_grow_with_the_members(org):
    small = make_rule(org.hn_sales, [org.consultant_hn], name="small")
    many = [UserFactory(role="consultant", team=org.hn_sales) for _ in range(12)]
    a, b, c = (queued(i).pk for i in range(3))
    services.inquiry_allocate(inquiry_id=a)
    one = _statements(lambda: services.inquiry_allocate(inquiry_id=b))
    small.delete()
    make_rule(org.hn_sales, many, strategy="least_loaded", name="many")
    twelve = _statements(lambda: services.inquiry_allocate(inquiry_id=c))
    assert len(one) == len(twelve) == ALLOCATE_STATEMENTS


@pytest.mark.django_db(transaction=True)  # autocommit, as in production
def test_receive_takes_a_fixed_number_of_statements(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], capacities=[50, 50])
    receive(0)  # warm
    statements = _statements(lambda: receive(1))
    assert len(statements) == RECEIVE_STATEMENTS, "\n".join(statements)
    assert not any('"_check"' in sql for sql in statements)  # no constraint probes
    # One transaction and one savepoint (the pick, so that a failed pick still lets the lead in).
    assert _savepoints(lambda: receive(2)) == 1


def test_receive_keeps_audit_history_and_log(org):
    """The new-lead lane writes the record of what happened: the customer created with its owner (one
    history row), one audit event each for the customer's creation and the lead's intake and assignment,
    the assignment log and the notice."""
    make_rule(org.hn_sales, [org.consultant_hn])
    inquiry = receive(7, full_name="Lê Thị Hoa").inquiry
    customer = Customer.objects.get(pk=inquiry.customer_id)
    assert customer.owner_id == org.consultant_hn.pk and customer.version == 1
    history = list(customer.history.order_by("history_id").values_list("history_type", "owner_id", "team_id"))
    assert history == [("+", org.consultant_hn.pk, org.hn_sales.pk)]
    events = list(
        AuditEvent.objects.filter(object_id__in=[str(inquiry.pk), str(customer.pk)])
        .order_by("id")
        .values_list("object_type", "action", "changes")
    )
    assert [(t, a) for t, a, _c in events] == [
        ("customers.customer", "create"),
        ("sales.inquiry", "create"),
        ("sales.inquiry", "assign"),
    ]
    assert events[0][2]["phones"] == {"before": None, "after": ["+84912000007"]}
    assert events[0][2]["owner_id"] == {"before": None, "after": org.consultant_hn.pk}
    assert events[0][2]["branch_id"] == {"before": None, "after": org.hn.pk}
    assert events[2][2]["owner"] == [None, org.consultant_hn.pk]
    by = set(
        AuditEvent.objects.filter(object_id__in=[str(inquiry.pk), str(customer.pk)]).values_list(
            "actor__username", flat=True
        )
    )
    assert by == {account_services.SYSTEM_USERNAME}
    log = Assignment.objects.get(inquiry=inquiry)
    assert (log.to_user_id, log.reason) == (org.consultant_hn.pk, "rule")
    assert org.consultant_hn.notifications.filter(kind="lead_assigned").count() == 1


def test_allocating_a_queued_lead_keeps_audit_history_and_log(org):
    """A lead allocated after intake (from the queue): the customer's history shows it created, then given
    to the consultant with the reason; audit events for the customer's new owner and the assignment."""
    make_rule(org.hn_sales, [org.consultant_hn])
    inquiry = services.inquiry_allocate(inquiry_id=queued(3).pk)
    customer = Customer.objects.get(pk=inquiry.customer_id)
    assert customer.owner_id == org.consultant_hn.pk and customer.version == 2
    history = list(customer.history.order_by("history_id").values_list("owner_id", "history_change_reason"))
    assert history == [(None, None), (org.consultant_hn.pk, "rule")]
    events = list(
        AuditEvent.objects.filter(object_id__in=[str(inquiry.pk), str(customer.pk)])
        .order_by("id")
        .values_list("object_type", "action", "changes")
    )
    assert [(t, a) for t, a, _c in events][-2:] == [
        ("customers.customer", "update"),
        ("sales.inquiry", "assign"),
    ]
    assert events[-2][2] == {
        "owner_id": {"before": None, "after": org.consultant_hn.pk},
        "team_id": {"before": None, "after": org.hn_sales.pk},
        "branch_id": {"before": None, "after": org.hn.pk},
    }
    assert Assignment.objects.get(inquiry=inquiry).to_user_id == org.consultant_hn.pk
    assert org.consultant_hn.notifications.filter(kind="lead_assigned").count() == 1
    assert_counter_right()


def test_a_failing_allocation_keeps_the_lead_queued_and_raises(org, monkeypatch):
    make_rule(org.hn_sales, [org.consultant_hn])

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("allocation broke")

    monkeypatch.setattr(services, "_rotation", broken)
    with pytest.raises(RuntimeError, match="allocation broke"):
        receive(8)
    inquiry = Inquiry.objects.get(phone="+84912000008")
    assert inquiry.status == InquiryStatus.QUEUED and inquiry.owner_id is None
    assert not Assignment.objects.filter(inquiry=inquiry).exists()


# --- the open-lead counter ------------------------------------------------------------------------------


def test_counter_follows_every_path_that_opens_or_closes_a_lead(org):
    hn = [org.consultant_hn, org.consultant_hn_b]
    make_rule(org.hn_sales, hn)
    leads = [receive(i).inquiry for i in range(6)]  # intake + allocation
    assert counters() == {org.consultant_hn.pk: 3, org.consultant_hn_b.pk: 3}
    assert_counter_right()
    # Contacted is still open.
    services.inquiry_mark_contacted(inquiry_ids=[leads[0].pk], at=timezone.now())
    assert_counter_right()
    # Manual assignment moves one from a to b.
    services.inquiry_assign(actor=org.supervisor_hn, inquiry_id=leads[0].pk, user_id=org.consultant_hn_b.pk)
    assert counters() == {org.consultant_hn.pk: 2, org.consultant_hn_b.pk: 4}
    # Reclaim without reallocation: back to the queue.
    services.inquiry_reclaim(actor=org.supervisor_hn, inquiry_id=leads[1].pk, reallocate=False)
    assert_counter_right()
    # Reclaim and reallocate (to someone else).
    services.inquiry_reclaim(actor=org.supervisor_hn, inquiry_id=leads[2].pk)
    assert_counter_right()
    # Closing and spam close leads.
    services.inquiry_close(actor=org.supervisor_hn, inquiry_id=leads[3].pk)
    services.inquiry_close(actor=org.supervisor_hn, inquiry_id=leads[4].pk, spam=True)
    assert_counter_right()
    # The customer moves on (stage prospect): not an open lead any more; back to lead: open again.
    customer_services.customer_update(
        actor=org.admin, customer_id=leads[5].customer_id, data={"stage": "prospect"}
    )
    assert_counter_right()
    Customer.objects.filter(pk=leads[5].customer_id).update(stage="lead")  # bulk SQL too
    assert_counter_right()
    # Overdue reclaim by the worker.
    Inquiry.objects.filter(status=InquiryStatus.ASSIGNED).update(
        contact_due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    services.leads_reclaim_overdue()
    assert_counter_right()
    # Rows written behind the services' back: an import, the admin, a raw delete.
    Inquiry.objects.create(
        customer=Customer.objects.create(full_name="Nhập khẩu"),
        channel="api",
        status=InquiryStatus.ASSIGNED,
        owner=org.consultant_hn2,
    )
    assert counters()[org.consultant_hn2.pk] == 1
    Inquiry.objects.filter(owner=org.consultant_hn2).delete()
    assert_counter_right()
    assert org.consultant_hn2.pk not in counters()


def test_counter_follows_a_merge(org):
    make_rule(org.hn_sales, [org.consultant_hn])
    lead = receive(1).inquiry
    customer_services.customer_update(
        actor=org.admin, customer_id=lead.customer_id, data={"stage": "customer"}
    )
    other = receive(2).inquiry  # a second card, still a lead, same consultant
    assert counters() == {org.consultant_hn.pk: 1}
    # The lead's card merges into the customer's: its inquiry now belongs to a customer, not a lead.
    customer_services.customer_merge(
        actor=org.admin, survivor_id=lead.customer_id, other_id=other.customer_id
    )
    assert Inquiry.objects.get(pk=other.pk).customer_id == lead.customer_id
    assert_counter_right()
    assert counters() == {}


def test_counter_follows_the_queue_run(org):
    users = [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn]
    make_rule(org.hn_sales, users, strategy="weighted", capacities=[2, 4, 6])
    for i in range(15):
        queued(i)
    stats = services.leads_allocate_queued(batch=4)
    assert stats.assigned == 12
    assert counters() == {users[0].pk: 2, users[1].pk: 4, users[2].pk: 6}
    assert_counter_right()


def test_capacity_counts_leads_opened_behind_the_services_back(org):
    """Open leads that arrive by bulk SQL (an import) count against capacity at once."""
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], capacities=[2, 2])
    customers = Customer.objects.bulk_create([Customer(full_name=f"K {i}") for i in range(2)])
    Inquiry.objects.bulk_create(
        [
            Inquiry(customer=c, channel="api", status=InquiryStatus.ASSIGNED, owner=org.consultant_hn)
            for c in customers
        ]
    )
    assert counters() == {org.consultant_hn.pk: 2}
    placed = [receive(i).inquiry.owner_id for i in range(3)]
    assert placed == [org.consultant_hn_b.pk, org.consultant_hn_b.pk, None]


def test_a_new_member_brings_their_open_leads(org):
    make_rule(org.hn_sales, [org.consultant_hn], name="first")
    receive(1)
    receive(2)
    second = make_rule(
        org.hn_sales2, [org.consultant_hn, org.consultant_hn2], capacities=[2, 5], name="second"
    )
    lead = receive(3, team_id=org.hn_sales2.pk).inquiry
    assert lead.rule_id == second.pk and lead.owner_id == org.consultant_hn2.pk  # consultant_hn is full
    assert AllocationMember.objects.filter(user=org.consultant_hn).count() == 2


def test_triggers_are_put_back_after_a_migration_drops_them(org):
    make_rule(org.hn_sales, [org.consultant_hn])
    receive(1)
    open_lead_triggers_uninstall(connection)
    assert not open_lead_triggers_present(connection)
    receive(2)  # not counted: no triggers
    assert counters() != recount()
    open_lead_triggers_ensure(sender=apps.get_app_config("customers"), using=connection.alias)
    assert not open_lead_triggers_present(connection)  # the signal comes once per app: sales does it
    open_lead_triggers_ensure(sender=apps.get_app_config("sales"), using=connection.alias)  # post_migrate
    assert open_lead_triggers_present(connection)
    assert_counter_right()
    receive(3)
    assert counters() == {org.consultant_hn.pk: 3}


# --- the system user --------------------------------------------------------------------------------------


def test_system_user_is_not_cached_from_a_transaction_that_rolls_back(db):
    account_services._system_users.clear()
    user = account_services.system_user()  # inside the test's transaction: never committed
    assert account_services._system_users == {}
    with CaptureQueriesContext(connection) as ctx:
        assert account_services.system_user() == user
    assert len(ctx.captured_queries) == 1


@pytest.mark.django_db(transaction=True)
def test_system_user_is_cached_once_committed_and_forgotten_when_it_changes():
    account_services._system_users.clear()
    with transaction.atomic():
        user = account_services.system_user()
        assert account_services._system_users == {}  # not before the commit
    with CaptureQueriesContext(connection) as ctx:
        assert account_services.system_user() == user
    assert ctx.captured_queries == []
    user.display_name = "Hệ thống"
    user.save()
    assert account_services._system_users == {}
    assert account_services.system_user().display_name == "Hệ thống"
    User.objects.filter(pk=user.pk).delete()  # queryset delete: post_delete per row
    fresh = account_services.system_user()
    assert fresh.pk != user.pk and User.objects.filter(pk=fresh.pk).exists()
