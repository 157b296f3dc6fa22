"""activities.services: validation per kind, scope and permissions, ownership, idempotency, audit, signal."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from careline.activities import services
from careline.activities.models import Activity, EmailTemplate
from careline.activities.signals import activity_logged
from careline.activities.tests.factories import add_follow_up, log_call, make_template
from careline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditEvent
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return set(exc.value.fields)


def audits(activity_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="activities.activity", object_id=str(activity_id)).order_by(
            "id"
        )
    )


# --- logging -----------------------------------------------------------------------------------------------


def test_log_call_defaults_owner_team_branch_stage_and_time(org):
    customer = make_customer(org.consultant_hn, stage="prospect")
    before = timezone.now()
    call = log_call(
        org.consultant_hn, customer, "reached", notes="  Khách  hẹn tuần sau ", duration_seconds=95
    )
    call.refresh_from_db()
    assert call.kind == "call" and call.outcome == "reached"
    assert call.owner_id == org.consultant_hn.pk
    assert call.team_id == org.hn_sales.pk
    assert call.branch_id == org.hn.pk
    assert call.customer_stage == "prospect"
    assert call.created_by_id == org.consultant_hn.pk
    assert before <= call.occurred_at <= timezone.now()
    assert call.due_at is None and call.completed_at is None and not call.is_open
    assert call.notes == "Khách  hẹn tuần sau"
    assert call.duration_seconds == 95
    [event] = audits(call.pk)
    assert event.action == "create"
    assert event.actor_id == org.consultant_hn.pk
    assert event.changes["outcome"] == {"before": None, "after": "reached"}
    assert event.changes["source"] == {"before": None, "after": "web"}


def test_customer_out_of_scope_is_not_found_and_missing_permission_forbidden(org):
    customer = make_customer(org.consultant_hn)
    for actor in (org.consultant_hcm, org.consultant_hn_b, org.nobody):
        with pytest.raises(NotFound):
            log_call(actor, customer)
    with pytest.raises(NotFound):
        log_call(org.admin, customer.__class__(pk=999_999))
    # The director sees every customer but only views and exports activities.
    with pytest.raises(PermissionDenied):
        log_call(org.director, customer)
    assert Activity.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "outcome", "field"),
    [
        ("call", "", "outcome"),
        ("call", "sent", "outcome"),
        ("call", "done", "outcome"),
        ("email", "reached", "outcome"),
        ("note", "reached", "outcome"),
        ("meeting", "busy", "outcome"),
        ("follow_up", "done", "outcome"),
        ("visit", "", "kind"),
    ],
)
def test_outcomes_are_checked_per_kind(org, kind, outcome, field):
    customer = make_customer(org.consultant_hn)
    due = timezone.now() + dt.timedelta(days=1) if kind == "follow_up" else None
    with pytest.raises(ValidationFailed) as exc:
        services.activity_log(
            actor=org.consultant_hn, customer_id=customer.pk, kind=kind, outcome=outcome, due_at=due
        )
    assert field in fields_of(exc)
    assert Activity.objects.count() == 0


def test_every_call_outcome_and_kind_default_is_accepted(org):
    customer = make_customer(org.consultant_hn)
    for outcome in ("reached", "no_answer", "busy", "wrong_number", "interested", "not_interested"):
        log_call(org.consultant_hn, customer, outcome)
    for kind, outcome in (
        ("email", "sent"),
        ("meeting", "held"),
        ("proposal", "sent"),
        ("offer", "interested"),
        ("note", ""),
        ("meeting", ""),
    ):
        a = services.activity_log(
            actor=org.consultant_hn, customer_id=customer.pk, kind=kind, outcome=outcome
        )
        assert a.occurred_at is not None
    assert Activity.objects.count() == 12


def test_times_and_duration_are_validated(org):
    customer = make_customer(org.consultant_hn)
    now = timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, occurred_at=now + dt.timedelta(minutes=10))
    assert fields_of(exc) == {"occurred_at"}
    log_call(org.consultant_hn, customer, occurred_at=now + dt.timedelta(minutes=3))  # clock skew is fine
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, duration_seconds=-1)
    assert fields_of(exc) == {"duration_seconds"}
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, duration_seconds=86_401)
    assert fields_of(exc) == {"duration_seconds"}
    with pytest.raises(ValidationFailed) as exc:
        services.activity_log(
            actor=org.consultant_hn,
            customer_id=customer.pk,
            kind="meeting",
            due_at=now + dt.timedelta(days=1),
        )
    assert fields_of(exc) == {"due_at"}
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, remind_at=now)
    assert fields_of(exc) == {"remind_at"}
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, subject="x" * 201, notes="y" * 10_001)
    assert fields_of(exc) == {"subject", "notes"}
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, recording_url="javascript:alert(1)")
    assert fields_of(exc) == {"recording_url"}


def test_naive_times_are_local_time(org):
    customer = make_customer(org.consultant_hn)
    call = log_call(org.consultant_hn, customer, occurred_at=dt.datetime(2026, 1, 5, 9, 30))
    assert call.occurred_at == dt.datetime(2026, 1, 5, 9, 30, tzinfo=HCM)


def test_follow_up_needs_due_time_and_is_open_until_completed(org):
    customer = make_customer(org.consultant_hn)
    with pytest.raises(ValidationFailed) as exc:
        services.activity_log(actor=org.consultant_hn, customer_id=customer.pk, kind="follow_up")
    assert fields_of(exc) == {"due_at"}
    due = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        add_follow_up(org.consultant_hn, customer, due, occurred_at=timezone.now())
    assert fields_of(exc) == {"occurred_at"}
    with pytest.raises(ValidationFailed) as exc:
        add_follow_up(org.consultant_hn, customer, due, remind_at=due + dt.timedelta(minutes=1))
    assert fields_of(exc) == {"remind_at"}
    fu = add_follow_up(
        org.consultant_hn, customer, due, remind_at=due - dt.timedelta(hours=1), subject="Gửi báo giá"
    )
    assert fu.occurred_at is None and fu.is_open
    assert fu.remind_at == due - dt.timedelta(hours=1)

    done = services.follow_up_complete(actor=org.consultant_hn, activity_id=fu.pk, notes="Đã gửi")
    assert done.completed_at is not None and done.occurred_at == done.completed_at
    assert done.outcome == "done" and not done.is_open
    assert done.notes == "Đã gửi"
    # Completing again changes nothing (a double click).
    again = services.follow_up_complete(actor=org.consultant_hn, activity_id=fu.pk, outcome="cancelled")
    assert again.outcome == "done"
    assert [e.action for e in audits(fu.pk)] == ["create", "update"]


def test_complete_refuses_other_kinds_and_outcomes(org):
    customer = make_customer(org.consultant_hn)
    call = log_call(org.consultant_hn, customer)
    fu = add_follow_up(org.consultant_hn, customer)
    with pytest.raises(Conflict):
        services.follow_up_complete(actor=org.consultant_hn, activity_id=call.pk)
    with pytest.raises(ValidationFailed):
        services.follow_up_complete(actor=org.consultant_hn, activity_id=fu.pk, outcome="reached")


def test_call_back_needs_a_time_and_opens_a_follow_up(org):
    customer = make_customer(org.consultant_hn)
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, "call_back")
    assert fields_of(exc) == {"due_at"}
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.consultant_hn, customer, "call_back", due_at=timezone.now() - dt.timedelta(hours=1))
    assert fields_of(exc) == {"due_at"}
    due = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    call = log_call(org.consultant_hn, customer, "call_back", due_at=due, notes="Gọi lại sau 3h chiều")
    assert call.due_at is None and not call.is_open  # the call itself is done
    fu = call.follow_up
    assert fu.kind == "follow_up" and fu.is_open and fu.due_at == due
    assert fu.owner_id == org.consultant_hn.pk and fu.customer_id == customer.pk
    assert fu.notes == "Gọi lại sau 3h chiều"
    # The same promise again reuses the open follow-up.
    again = log_call(org.consultant_hn, customer, "call_back", due_at=due)
    assert again.follow_up.pk == fu.pk
    assert Activity.objects.filter(kind="follow_up").count() == 1
    assert Activity.objects.filter(kind="call").count() == 2


def test_logging_a_call_can_fulfil_an_open_follow_up(org):
    customer = make_customer(org.consultant_hn)
    other = make_customer(org.consultant_hn, full_name="Người Khác")
    fu = add_follow_up(org.consultant_hn, customer)
    with pytest.raises(ValidationFailed):
        log_call(org.consultant_hn, other, follow_up_id=fu.pk)
    call = log_call(org.consultant_hn, customer, "reached", follow_up_id=fu.pk)
    fu.refresh_from_db()
    assert fu.completed_at is not None and fu.outcome == "done"
    assert call.pk != fu.pk
    with pytest.raises(ValidationFailed):  # no longer open
        log_call(org.consultant_hn, customer, follow_up_id=fu.pk)


# --- owner -------------------------------------------------------------------------------------------------


def test_logging_for_someone_else_needs_scope_over_them(org):
    customer = make_customer(org.admin, owner_id=org.consultant_hn.pk)
    # A supervisor logs for a member of the team: team and branch follow the owner.
    call = log_call(org.supervisor_hn, customer, owner=org.consultant_hn)
    assert (call.owner_id, call.team_id, call.branch_id) == (org.consultant_hn.pk, org.hn_sales.pk, org.hn.pk)
    assert call.created_by_id == org.supervisor_hn.pk
    # Another team, another branch, or a consultant for a colleague: refused.
    with pytest.raises(PermissionDenied):
        log_call(org.supervisor_hn, customer, owner=org.consultant_hn2)
    with pytest.raises(PermissionDenied):
        log_call(org.supervisor_hn, customer, owner=org.consultant_hcm.pk)
    with pytest.raises(PermissionDenied):
        log_call(org.consultant_hn, customer, owner=org.consultant_hn_b)
    # A branch manager covers the whole branch; an admin everyone.
    assert log_call(org.manager_hn, customer, owner=org.consultant_hn2).team_id == org.hn_sales2.pk
    assert log_call(org.admin, customer, owner=org.consultant_hcm).branch_id == org.hcm.pk
    org.consultant_hn_b.is_active = False
    org.consultant_hn_b.save()
    with pytest.raises(ValidationFailed) as exc:
        log_call(org.admin, customer, owner=org.consultant_hn_b)
    assert fields_of(exc) == {"owner_id"}
    with pytest.raises(ValidationFailed):
        log_call(org.admin, customer, owner=999_999)


# --- idempotency, signal -------------------------------------------------------------------------------------


def test_same_kind_and_external_id_is_logged_once(org):
    customer = make_customer(org.consultant_hn)
    first = log_call(
        org.consultant_hn, customer, external_id="pbx-123", recording_url="https://pbx.example.vn/r/123.mp3"
    )
    assert first.replayed is False
    again = log_call(org.consultant_hn, customer, "reached", external_id="pbx-123")
    assert again.pk == first.pk and again.replayed is True
    assert again.outcome == "no_answer"  # the first delivery stands
    assert Activity.objects.count() == 1
    assert len(audits(first.pk)) == 1
    # Another kind may reuse the id; an actor who cannot see the first one is refused, not shown it.
    assert (
        services.activity_log(
            actor=org.consultant_hn, customer_id=customer.pk, kind="note", external_id="pbx-123"
        ).pk
        != first.pk
    )
    other_customer = make_customer(org.consultant_hn_b, full_name="Khách B")
    with pytest.raises(Conflict) as exc:
        log_call(org.consultant_hn_b, other_customer, external_id="pbx-123")
    assert exc.value.code == "duplicate_external_id"


def test_signal_is_sent_after_commit_once(org, django_capture_on_commit_callbacks):
    customer = make_customer(org.consultant_hn)
    received: list[tuple[int, int]] = []

    def receiver(sender, activity, actor, **kwargs):
        assert sender is Activity
        received.append((activity.pk, actor.pk))

    activity_logged.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            call = log_call(org.consultant_hn, customer, external_id="abc")
        assert received == []  # nothing before the commit
        for callback in callbacks:
            callback()
        assert received == [(call.pk, org.consultant_hn.pk)]
        with django_capture_on_commit_callbacks(execute=True):
            log_call(org.consultant_hn, customer, external_id="abc")  # replay: no signal
            with pytest.raises(ValidationFailed):
                log_call(org.consultant_hn, customer, "")
        assert received == [(call.pk, org.consultant_hn.pk)]
    finally:
        activity_logged.disconnect(receiver)


# --- update / delete ------------------------------------------------------------------------------------------


def test_update_is_audited_and_moving_the_due_time_rearms_the_reminder(org):
    customer = make_customer(org.consultant_hn)
    due = timezone.now() + dt.timedelta(hours=1)
    fu = add_follow_up(org.consultant_hn, customer, due)
    Activity.objects.filter(pk=fu.pk).update(reminded_at=timezone.now())
    later = due + dt.timedelta(days=1)
    updated = services.activity_update(
        actor=org.consultant_hn, activity_id=fu.pk, data={"due_at": later, "notes": "Dời sang mai"}
    )
    assert updated.due_at == later and updated.reminded_at is None
    event = audits(fu.pk)[-1]
    assert event.action == "update"
    assert set(event.changes) == {"due_at", "notes"}
    with pytest.raises(ValidationFailed) as exc:
        services.activity_update(actor=org.consultant_hn, activity_id=fu.pk, data={"kind": "call"})
    assert fields_of(exc) == {"kind"}
    with pytest.raises(ValidationFailed):
        services.activity_update(actor=org.consultant_hn, activity_id=fu.pk, data={"due_at": None})
    call = log_call(org.consultant_hn, customer)
    with pytest.raises(ValidationFailed):
        services.activity_update(actor=org.consultant_hn, activity_id=call.pk, data={"outcome": "sent"})
    services.activity_update(actor=org.consultant_hn, activity_id=call.pk, data={"outcome": "busy"})
    assert len(audits(call.pk)) == 2
    services.activity_update(actor=org.consultant_hn, activity_id=call.pk, data={"outcome": "busy"})
    assert len(audits(call.pk)) == 2  # nothing changed, nothing recorded


def test_update_and_delete_scope(org):
    customer = make_customer(org.admin, owner_id=org.consultant_hn.pk)
    by_supervisor = log_call(org.supervisor_hn, customer)  # owner: the supervisor
    mine = log_call(org.consultant_hn, customer)
    # Out of scope: 404.
    for actor in (org.consultant_hcm, org.consultant_hn_b, org.nobody):
        with pytest.raises(NotFound):
            services.activity_update(actor=actor, activity_id=mine.pk, data={"notes": "x"})
        with pytest.raises(NotFound):
            services.activity_delete(actor=actor, activity_id=mine.pk)
    # Visible on the consultant's card, but the supervisor's own call: 403.
    with pytest.raises(PermissionDenied):
        services.activity_update(actor=org.consultant_hn, activity_id=by_supervisor.pk, data={"notes": "x"})
    with pytest.raises(PermissionDenied):
        services.activity_delete(actor=org.consultant_hn, activity_id=by_supervisor.pk)
    # Visible, no change/delete right: 403.
    with pytest.raises(PermissionDenied):
        services.activity_update(actor=org.director, activity_id=mine.pk, data={"notes": "x"})
    with pytest.raises(PermissionDenied):
        services.activity_delete(actor=org.care_head, activity_id=mine.pk)
    # The supervisor changes the team's activities.
    services.activity_update(actor=org.supervisor_hn, activity_id=mine.pk, data={"notes": "Xem lại"})
    services.activity_delete(actor=org.consultant_hn, activity_id=mine.pk)
    assert not Activity.objects.filter(pk=mine.pk).exists()
    deleted = audits(mine.pk)[-1]
    assert deleted.action == "delete"
    assert deleted.changes["notes"] == {"before": "Xem lại", "after": None}
    assert deleted.changes["kind"] == {"before": "call", "after": None}


def test_reassigning_a_follow_up_moves_team_and_branch(org):
    customer = make_customer(org.admin, owner_id=org.consultant_hn.pk)
    fu = add_follow_up(org.manager_hn, customer, owner=org.consultant_hn)
    moved = services.activity_update(
        actor=org.manager_hn, activity_id=fu.pk, data={"owner_id": org.consultant_hn2.pk}
    )
    assert (moved.owner_id, moved.team_id) == (org.consultant_hn2.pk, org.hn_sales2.pk)
    with pytest.raises(PermissionDenied):
        services.activity_update(
            actor=org.manager_hn, activity_id=fu.pk, data={"owner_id": org.consultant_hcm.pk}
        )


# --- email templates --------------------------------------------------------------------------------------------


def test_email_templates_need_configure_and_known_placeholders(org):
    for actor in (org.consultant_hn, org.manager_hn, org.director, org.nobody):
        with pytest.raises(PermissionDenied):
            make_template(actor)
    template = make_template(org.supervisor_hn)
    assert template.active and not template.marketing and template.created_by_id == org.supervisor_hn.pk
    with pytest.raises(ValidationFailed) as exc:
        make_template(org.supervisor_hn, body="Chào {ten_khach}")
    assert fields_of(exc) == {"body"}
    assert "{ten_khach}" in exc.value.fields["body"][0]
    with pytest.raises(ValidationFailed) as exc:
        make_template(org.supervisor_hn, name="", subject="")
    assert fields_of(exc) == {"name", "subject"}
    # Braces that are not placeholders (CSS, JSON, "{0}") are text.
    make_template(org.supervisor_hn, body="Giá {0} và {a.b} và { } — {full_name}")
    updated = services.email_template_update(
        actor=org.supervisor_hn,
        template_id=template.pk,
        data={"marketing": True, "subject": "Ưu đãi tháng 3"},
    )
    assert updated.marketing and updated.subject == "Ưu đãi tháng 3"
    archived = services.email_template_archive(actor=org.supervisor_hn, template_id=template.pk)
    assert not archived.active
    with pytest.raises(PermissionDenied):
        services.email_template_archive(actor=org.consultant_hn, template_id=template.pk)
    with pytest.raises(NotFound):
        services.email_template_update(actor=org.admin, template_id=999_999, data={"name": "x"})
    actions = list(
        AuditEvent.objects.filter(object_type="activities.emailtemplate", object_id=str(template.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "update"]
    assert EmailTemplate.objects.count() == 2


def test_render_placeholders_is_safe():
    values = {"full_name": "Nguyễn Thị Lan", "given_name": "Lan"}
    text = "Chào {given_name} ({full_name}) {unknown} {given_name.__class__} {0} {{given_name}} {"
    assert services.render_placeholders(text, values) == (
        "Chào Lan (Nguyễn Thị Lan) {unknown} {given_name.__class__} {0} {Lan} {"
    )
    # An empty value takes its leading space along: no double space without a salutation.
    assert (
        services.render_placeholders(
            "Chào {salutation} {given_name},", {"salutation": "", "given_name": "Lan"}
        )
        == "Chào Lan,"
    )
