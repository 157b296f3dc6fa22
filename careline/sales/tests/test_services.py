"""Lead intake and allocation services on a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from careline.accounts.models import Notification
from careline.core.errors import NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer
from careline.sales import services
from careline.sales.choices import AssignmentReason, InquiryStatus
from careline.sales.models import Absence, Assignment, Inquiry
from careline.sales.tests.factories import local, make_rule, receive

pytestmark = pytest.mark.django_db


def test_receive_creates_lead_customer_and_allocates_round_robin(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b])
    owners = [receive(i).inquiry.owner_id for i in range(4)]
    assert owners == [org.consultant_hn.pk, org.consultant_hn_b.pk] * 2
    inquiry = Inquiry.objects.order_by("pk").first()
    customer = inquiry.customer
    assert customer.stage == "lead" and customer.owner_id == org.consultant_hn.pk
    assert customer.team_id == org.hn_sales.pk and customer.source == "web"
    assert inquiry.status == InquiryStatus.ASSIGNED and inquiry.new_customer
    log = Assignment.objects.get(inquiry=inquiry)
    assert (
        log.reason == AssignmentReason.RULE
        and log.rule_id == inquiry.rule_id
        and log.to_user_id == org.consultant_hn.pk
    )
    assert Notification.objects.filter(user=org.consultant_hn, kind="lead_assigned").count() == 2
    assert AuditEvent.objects.filter(object_type="sales.inquiry", action="assign").count() == 4


def test_same_external_id_gives_one_inquiry(org):
    first = receive(1, external_id="evt-1", channel="zalo")
    again = receive(1, external_id="evt-1", channel="zalo", message="lặp lại")
    assert first.created and not again.created
    assert again.inquiry.pk == first.inquiry.pk
    assert Inquiry.objects.count() == 1 and Customer.objects.count() == 1
    other_channel = receive(1, external_id="evt-1", channel="facebook")
    assert other_channel.created


def test_known_phone_attaches_to_customer_and_tells_owner(org):
    existing = make_customer(org.consultant_hn2, full_name="Trần Thị Lan", phones=["0912 000 007"])
    make_rule(org.hn_sales, [org.consultant_hn])
    result = receive(7, phone="+84912000007", message="Cho em hỏi học phí khoá IELTS")
    inquiry = result.inquiry
    assert inquiry.customer_id == existing.pk and not inquiry.new_customer
    assert inquiry.owner_id == org.consultant_hn2.pk
    assert Customer.objects.count() == 1
    note = Notification.objects.get(user=org.consultant_hn2, kind="inquiry_existing_customer")
    assert "Trần Thị Lan" in note.message
    assert Assignment.objects.get(inquiry=inquiry).reason == AssignmentReason.EXISTING_OWNER


def test_invalid_inquiry_is_refused(org):
    with pytest.raises(ValidationFailed) as exc:
        services.inquiry_receive(actor=None, data=services.InquiryData(channel="web", full_name="A"))
    assert "phone" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.inquiry_receive(actor=None, data=services.InquiryData(channel="fax", phone="0912345678"))
    assert "channel" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.inquiry_receive(actor=None, data=services.InquiryData(channel="web", phone="12"))
    with pytest.raises(ValidationFailed) as exc:
        services.inquiry_receive(
            actor=None, data=services.InquiryData(channel="web", phone="0912345678", province="zz")
        )
    assert "province" in exc.value.fields
    assert Inquiry.objects.count() == 0 and Customer.objects.count() == 0
    # A province by name is stored as its 2025 code.
    named = services.inquiry_receive(
        actor=None, data=services.InquiryData(channel="web", phone="0912345678", province="TP HCM")
    )
    assert named.inquiry.province == "79"


def test_actor_needs_inquiry_add(org):
    with pytest.raises(PermissionDenied):
        receive(1, actor=org.director)
    assert receive(1, actor=org.consultant_hn).created


def test_capacity_is_never_exceeded_and_overflow_stays_queued(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], strategy="weighted", capacities=[1, 2])
    results = [receive(i).inquiry for i in range(5)]
    owners = [r.owner_id for r in results]
    assert owners.count(org.consultant_hn.pk) == 1
    assert owners.count(org.consultant_hn_b.pk) == 2
    queued = [r for r in results if r.status == InquiryStatus.QUEUED]
    assert len(queued) == 2 and all(r.team_id == org.hn_sales.pk for r in queued)
    # A lead that moves on (stage prospect) frees capacity: the queue run hands out the next one.
    Customer.objects.filter(owner=org.consultant_hn).update(stage="prospect")
    stats = services.leads_allocate_queued()
    assert stats.assigned == 1
    assert Inquiry.objects.filter(owner=org.consultant_hn).count() == 2


def test_absent_consultant_is_skipped_and_not_flooded_on_return(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn])
    now = timezone.now()
    absence = Absence.objects.create(
        user=org.consultant_hn, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1)
    )
    owners = [receive(i).inquiry.owner_id for i in range(6)]
    assert org.consultant_hn.pk not in owners
    absence.delete()
    back = [receive(100 + i).inquiry.owner_id for i in range(6)]
    # Back from leave: an equal share from now on, not the six leads missed.
    assert back.count(org.consultant_hn.pk) == 2


def test_outside_working_hours_waits_in_team_queue(org):
    rule = make_rule(org.hn_sales, [org.consultant_hn], respect_working_hours=True)
    saturday_night = local(2026, 11, 21, 22, 0)
    assert not services.in_working_hours(rule, saturday_night)
    result = receive(1)
    inquiry = Inquiry.objects.get(pk=result.inquiry.pk)
    services_now_monday = local(2026, 11, 23, 8, 5)
    assert services.in_working_hours(rule, services_now_monday)
    # Re-run the allocation at a Monday morning moment.
    Inquiry.objects.filter(pk=inquiry.pk).update(status="queued", owner=None)
    services.leads_allocate_queued(now=services_now_monday)
    assert Inquiry.objects.get(pk=inquiry.pk).owner_id == org.consultant_hn.pk
    tet = local(2026, 2, 17, 10, 0)
    assert not services.in_working_hours(rule, tet)


def test_rule_conditions_route_by_province_and_product(org):
    hcm_rule = make_rule(org.hcm_sales, [org.consultant_hcm], provinces=["79"], position=1)
    ielts = make_rule(org.hn_sales2, [org.consultant_hn2], products=["ielts"], position=2)
    general = make_rule(org.hn_sales, [org.consultant_hn], position=3)
    assert receive(1, province="79").inquiry.rule_id == hcm_rule.pk
    assert receive(2, product_interest="Luyện thi IELTS").inquiry.rule_id == ielts.pk
    assert receive(3, message="Con tôi muốn học giao tiếp").inquiry.rule_id == general.pk


def test_reclaim_overdue_gives_lead_to_someone_else_and_tells_why(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], reclaim_after_minutes=120)
    inquiry = receive(1).inquiry
    assert inquiry.owner_id == org.consultant_hn.pk
    assert inquiry.contact_due_at is not None
    assert services.leads_reclaim_overdue(now=timezone.now() + dt.timedelta(minutes=60)) == 0
    later = timezone.now() + dt.timedelta(minutes=121)
    assert services.leads_reclaim_overdue(now=later) == 1
    inquiry.refresh_from_db()
    assert inquiry.owner_id == org.consultant_hn_b.pk
    assert Customer.objects.get(pk=inquiry.customer_id).owner_id == org.consultant_hn_b.pk
    reasons = list(Assignment.objects.filter(inquiry=inquiry).order_by("id").values_list("reason", flat=True))
    assert reasons == ["rule", "reclaim", "rule"]
    told = Notification.objects.get(user=org.consultant_hn, kind="lead_reclaimed")
    assert "2" in told.message  # "no activity within 2 hour(s)…"
    assert services.leads_reclaim_overdue(now=later) == 0  # idempotent


def test_contact_by_owner_stops_the_reclaim_clock(org, django_capture_on_commit_callbacks):
    make_rule(org.hn_sales, [org.consultant_hn], reclaim_after_minutes=60)
    inquiry = receive(1).inquiry

    from careline.activities.services import activity_log

    # A planned follow-up is not contact; a call is.
    with django_capture_on_commit_callbacks(execute=True):  # the signal goes out after commit
        activity_log(
            actor=org.consultant_hn,
            customer_id=inquiry.customer_id,
            kind="follow_up",
            due_at=timezone.now() + dt.timedelta(hours=1),
        )
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.ASSIGNED
    with django_capture_on_commit_callbacks(execute=True):
        activity_log(
            actor=org.consultant_hn, customer_id=inquiry.customer_id, kind="call", outcome="no_answer"
        )
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.CONTACTED and inquiry.first_contact_at is not None
    assert services.leads_reclaim_overdue(now=timezone.now() + dt.timedelta(hours=5)) == 0


def test_manual_assign_and_bulk_by_supervisor(org):
    a = receive(1).inquiry  # no rule: queued
    b = receive(2).inquiry
    assert a.status == InquiryStatus.QUEUED
    Inquiry.objects.filter(pk__in=[a.pk, b.pk]).update(team=org.hn_sales)
    services.inquiries_assign(
        actor=org.supervisor_hn, inquiry_ids=[a.pk, b.pk], user_id=org.consultant_hn_b.pk
    )
    assert set(Inquiry.objects.values_list("owner_id", flat=True)) == {org.consultant_hn_b.pk}
    assert Assignment.objects.filter(reason="manual", actor=org.supervisor_hn).count() == 2
    # Not to someone outside the supervisor's team; consultants may not assign at all.
    with pytest.raises(PermissionDenied):
        services.inquiry_assign(actor=org.supervisor_hn, inquiry_id=a.pk, user_id=org.consultant_hcm.pk)
    with pytest.raises(PermissionDenied):
        services.inquiry_assign(actor=org.consultant_hn_b, inquiry_id=a.pk, user_id=org.consultant_hn.pk)
    with pytest.raises(NotFound):
        services.inquiry_assign(actor=org.consultant_hcm, inquiry_id=a.pk, user_id=org.consultant_hcm.pk)


def test_manual_reclaim_reallocates_to_another(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b])
    inquiry = receive(1).inquiry
    first = inquiry.owner_id
    inquiry = services.inquiry_reclaim(actor=org.supervisor_hn, inquiry_id=inquiry.pk, note="khách phàn nàn")
    assert inquiry.owner_id not in (None, first)


def test_queue_run_allocates_in_batches_with_one_log_row_each(org):
    for i in range(30):
        receive(i)  # no rule yet → queued
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b, org.supervisor_hn])
    stats = services.leads_allocate_queued(batch=7)
    assert stats.assigned == 30 and stats.considered == 30
    assert sorted(stats.per_user.values()) == [10, 10, 10]
    assert Assignment.objects.filter(reason="rule").count() == 30
    owners = dict(Inquiry.objects.values_list("customer_id", "owner_id"))
    assert dict(Customer.objects.values_list("pk", "owner_id")) == owners
    assert Notification.objects.filter(kind="lead_assigned").exists()


def test_queue_run_never_returns_a_reclaimed_lead_to_its_previous_owner(org):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], reclaim_after_minutes=60)
    inquiry = receive(1).inquiry
    first = inquiry.owner_id
    other = org.consultant_hn_b if first == org.consultant_hn.pk else org.consultant_hn
    # The other consultant is away when the lead is reclaimed: it waits in the queue.
    now = timezone.now()
    away = Absence.objects.create(user=other, starts_at=now, ends_at=now + dt.timedelta(hours=3))
    assert services.leads_reclaim_overdue(now=now + dt.timedelta(minutes=61)) == 1
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.QUEUED
    # Later queue runs skip the consultant it was taken from, even with nobody else available …
    services.leads_allocate_queued(now=now + dt.timedelta(minutes=62))
    inquiry.refresh_from_db()
    assert inquiry.owner_id is None
    # … and give it to the other one when they are back.
    away.delete()
    services.leads_allocate_queued(now=now + dt.timedelta(minutes=63))
    inquiry.refresh_from_db()
    assert inquiry.owner_id == other.pk
