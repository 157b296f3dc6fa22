"""Follow-up reminders: the periodic task notifies owners once, when the reminder (or due) time comes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from careline.accounts.models import Notification
from careline.activities import services
from careline.activities.models import Activity
from careline.activities.tasks import follow_up_reminders_send
from careline.activities.tests.factories import add_follow_up
from careline.core.models import AuditEvent
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _past(activity: Activity, **times: dt.datetime) -> None:
    """Move a follow-up's times into the past (the service refuses nothing here: it is a clock jump)."""
    Activity.objects.filter(pk=activity.pk).update(**times)


def test_reminder_at_remind_time_once(org):
    customer = make_customer(org.consultant_hn, full_name="Lê Thị Hoa")
    now = timezone.now()
    fu = add_follow_up(
        org.consultant_hn,
        customer,
        now + dt.timedelta(hours=2),
        remind_at=now + dt.timedelta(hours=1),
        subject="Gửi lịch khai giảng",
    )
    assert follow_up_reminders_send.call_local() == 0  # not yet
    _past(fu, remind_at=now - dt.timedelta(minutes=1))
    assert follow_up_reminders_send.call_local() == 1
    [note] = Notification.objects.all()
    assert note.user_id == org.consultant_hn.pk
    assert note.kind == "follow_up_due"
    assert note.url == f"/customers/{customer.pk}/"
    assert "Lê Thị Hoa" in note.message and "Gửi lịch khai giảng" in note.message
    fu.refresh_from_db()
    assert fu.reminded_at is not None
    # Idempotent: a second run (or a concurrent worker) notifies nobody again.
    assert follow_up_reminders_send.call_local() == 0
    assert Notification.objects.count() == 1
    assert AuditEvent.objects.filter(
        object_type="activities.activity", object_id=str(fu.pk), actor_label="system"
    ).exists()


def test_without_remind_time_the_due_time_counts(org):
    customer = make_customer(org.consultant_hn)
    now = timezone.now()
    due_soon = add_follow_up(org.consultant_hn, customer, now + dt.timedelta(hours=3))
    overdue = add_follow_up(org.consultant_hn, customer, now + dt.timedelta(hours=4))
    done = add_follow_up(org.consultant_hn, customer, now + dt.timedelta(hours=5))
    services.follow_up_complete(actor=org.consultant_hn, activity_id=done.pk)
    _past(overdue, due_at=now - dt.timedelta(days=1))
    _past(done, due_at=now - dt.timedelta(days=1))
    assert services.follow_up_reminders_send(now=now) == 1
    assert Notification.objects.get().user_id == org.consultant_hn.pk
    assert Activity.objects.get(pk=due_soon.pk).reminded_at is None
    assert Activity.objects.get(pk=done.pk).reminded_at is None


def test_moving_the_due_time_rearms_the_reminder(org):
    customer = make_customer(org.consultant_hn)
    now = timezone.now()
    fu = add_follow_up(org.consultant_hn, customer, now + dt.timedelta(hours=1))
    _past(fu, due_at=now - dt.timedelta(minutes=5))
    assert services.follow_up_reminders_send() == 1
    services.activity_update(
        actor=org.consultant_hn, activity_id=fu.pk, data={"due_at": now + dt.timedelta(minutes=30)}
    )
    assert services.follow_up_reminders_send() == 0
    assert services.follow_up_reminders_send(now=now + dt.timedelta(minutes=31)) == 1
    assert Notification.objects.count() == 2


def test_inactive_owner_gets_nothing_but_the_follow_up_is_marked(org):
    customer = make_customer(org.consultant_hn)
    fu = add_follow_up(org.consultant_hn, customer)
    _past(fu, due_at=timezone.now() - dt.timedelta(minutes=1))
    org.consultant_hn.is_active = False
    org.consultant_hn.save()
    assert services.follow_up_reminders_send() == 1
    assert Notification.objects.count() == 0
    assert Activity.objects.get(pk=fu.pk).reminded_at is not None


def test_many_due_in_batches(org):
    customer = make_customer(org.consultant_hn)
    now = timezone.now()
    for i in range(7):
        fu = add_follow_up(org.consultant_hn, customer, now + dt.timedelta(hours=1, minutes=i))
        _past(fu, due_at=now - dt.timedelta(minutes=i + 1))
    assert services.follow_up_reminders_send(batch=3) == 7
    assert Notification.objects.count() == 7
