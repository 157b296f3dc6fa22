"""Ticket services: intake (customer, dedupe, threading), status flow, clocks, FCR, messages, attachments,
playbooks, canned replies and settings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from careline.accounts.models import Notification
from careline.core.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer
from careline.helpdesk import selectors, services, signals
from careline.helpdesk.models import Attachment, CannedReply, Message, StepCheck, Ticket, TicketEvent
from careline.helpdesk.services import TicketData
from careline.helpdesk.tests.factories import T0, local, make_category, make_policy, make_ticket

pytestmark = pytest.mark.django_db


def events(ticket: Ticket) -> list[tuple[str, str, str]]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", "from_value", "to_value")
    )


# --- intake ---------------------------------------------------------------------------------------------


def test_create_finds_the_customer_by_phone_across_all_customers(org, clock):
    known = make_customer(org.consultant_hcm, full_name="Trần Văn Bình", phones=["0987 654 321"])
    ticket = make_ticket(org.care_agent_hn, phone="+84987654321", full_name="Bình")
    assert ticket.customer_id == known.pk
    assert Customer.objects.count() == 1
    assert ticket.status == "new"
    assert ticket.opened_at == T0
    assert ticket.created_by == org.care_agent_hn
    msg = ticket.messages.get()
    assert (msg.direction, msg.body) == ("inbound", "Đơn hàng của tôi chưa tới sau 5 ngày.")
    assert events(ticket)[0] == ("created", "", "hotline")
    audit = AuditEvent.objects.filter(object_type="helpdesk.ticket", object_id=str(ticket.pk)).first()
    assert audit is not None and audit.action == "create" and audit.actor == org.care_agent_hn


@pytest.mark.parametrize(
    ("kind", "stage"), [("complaint", "customer"), ("warranty", "customer"), ("inquiry", "lead")]
)
def test_a_stranger_becomes_a_customer_or_a_lead(org, clock, kind, stage):
    ticket = make_ticket(None, channel="web", email="Moi@Example.vn", full_name="Lê Mới", kind=kind)
    customer = ticket.customer
    assert (customer.full_name, customer.stage, customer.source, customer.owner_id) == (
        "Lê Mới",
        stage,
        "web",
        None,
    )
    assert ticket.created_by is None


def test_customer_id_must_be_visible(org, clock):
    theirs = make_customer(org.consultant_hcm, full_name="Không Thấy")
    with pytest.raises(ValidationFailed) as exc:
        make_ticket(org.consultant_hn, customer_id=theirs.pk, phone="")
    assert "customer_id" in exc.value.fields
    mine = make_customer(org.consultant_hn, full_name="Của Tôi")
    assert make_ticket(org.consultant_hn, customer_id=mine.pk, phone="").customer_id == mine.pk


def test_create_validates(org, clock):
    with pytest.raises(ValidationFailed) as exc:
        services.ticket_create(
            actor=org.care_agent_hn,
            data=TicketData(
                channel="pigeon", kind="praise", priority="asap", phone="12", email="not-an-email"
            ),
        )
    assert set(exc.value.fields) == {"channel", "kind", "priority", "phone", "email"}
    with pytest.raises(ValidationFailed) as exc:
        services.ticket_create(actor=org.care_agent_hn, data=TicketData(channel="hotline"))
    assert set(exc.value.fields) == {"customer_id"}


def test_create_needs_the_add_right_and_opened_at_needs_an_admin(org, clock):
    with pytest.raises(PermissionDenied):
        make_ticket(org.director)
    with pytest.raises(PermissionDenied):
        make_ticket(org.care_head, opened_at=local(2026, 1, 5, 9, 0))
    ticket = make_ticket(org.admin, opened_at=local(2026, 1, 5, 9, 0))
    assert ticket.opened_at == local(2026, 1, 5, 9, 0)
    with pytest.raises(ValidationFailed):
        make_ticket(org.admin, opened_at=T0 + dt.timedelta(days=1))


def test_same_channel_and_external_id_returns_the_first_ticket(org, clock):
    first = make_ticket(None, channel="zalo", external_id="zalo-123")
    again = services.ticket_receive(
        actor=None,
        data=TicketData(channel="zalo", external_id="zalo-123", phone="0912345678", message="khác"),
    )
    assert (again.ticket.pk, again.outcome, again.created) == (first.pk, "duplicate", False)
    other_channel = make_ticket(
        None, channel="facebook", external_id="zalo-123", subject="Khác hẳn", thread=False
    )
    assert other_channel.pk != first.pk
    assert Ticket.objects.count() == 2


def test_same_email_message_id_is_not_taken_twice(org, clock):
    first = make_ticket(None, channel="email", email="lan@example.vn", message_id="<a1@mail.vn>")
    again = services.ticket_receive(
        actor=None,
        data=TicketData(
            channel="email", email="lan@example.vn", message_id="<a1@mail.vn>", subject="x", message="x"
        ),
    )
    assert (again.ticket.pk, again.outcome) == (first.pk, "duplicate")
    assert Message.objects.count() == 1


def test_category_default_priority_and_sla_policy(org, clock):
    parent = make_category(org.admin, "Hoàn tiền", default_priority="high")
    child = make_category(org.admin, "Hoàn học phí", parent_id=parent.pk)
    make_policy(
        org.admin,
        name="Gấp",
        priority="urgent",
        first_response_minutes=15,
        resolution_minutes=120,
        position=1,
    )
    by_parent = make_policy(
        org.admin, name="Hoàn tiền", category_id=parent.pk, first_response_minutes=30, position=2
    )
    make_policy(org.admin, name="Mặc định", position=3)
    ticket = make_ticket(org.care_agent_hn, category_id=child.pk)
    assert ticket.priority == "high"  # inherited from the parent category
    assert ticket.sla_policy == by_parent  # a parent's policy matches its children
    assert ticket.first_response_due == local(2026, 3, 10, 9, 30)
    assert ticket.resolution_due == local(2026, 3, 11, 9, 0)  # 8 business hours later
    urgent = make_ticket(org.care_agent_hn, category_id=child.pk, priority="urgent", phone="0911 000 111")
    assert urgent.sla_policy.name == "Gấp"
    assert urgent.first_response_due == local(2026, 3, 10, 9, 15)
    plain = make_ticket(org.care_agent_hn, phone="0911 000 222")
    assert (plain.priority, plain.sla_policy.name) == ("normal", "Mặc định")


def test_tier_policy_and_no_policy(org, clock):
    vip = make_customer(org.admin, full_name="Khách VIP", tier="vip", phones=["0933 111 222"])
    make_policy(org.admin, name="VIP", tier="vip", first_response_minutes=10, position=1)
    assert make_ticket(org.care_agent_hn, phone="0933111222").sla_policy.name == "VIP"
    ticket = make_ticket(org.care_agent_hn, phone="0933 999 888", subject="Khác")
    assert ticket.sla_policy is None
    assert ticket.first_response_due is None and ticket.resolution_due is None
    assert vip.tickets.count() == 1


def test_opened_at_starts_the_clocks_before_tet(org, clock):
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=480)
    ticket = make_ticket(org.admin, opened_at=local(2026, 2, 13, 15, 0))
    assert ticket.first_response_due == local(2026, 2, 13, 16, 0)
    assert ticket.resolution_due == local(2026, 2, 23, 15, 0)
    assert ticket.resolution_due.isoformat() == "2026-02-23T15:00:00+07:00"


def test_branch_schedule_is_used(org, clock):
    services.schedule_save(
        actor=org.admin, data={"branch_id": org.hn.pk, "intervals": [["07:00", "11:00"]], "weekend": [6]}
    )
    make_policy(org.admin, first_response_minutes=240, resolution_minutes=480)
    ticket = make_ticket(org.care_agent_hn, branch_id=org.hn.pk)
    # 09:00–11:00 Tuesday (2 h), then 07:00–09:00 Wednesday; resolution: 2 h + 4 h Wed + 2 h Thu.
    assert ticket.first_response_due == local(2026, 3, 11, 9, 0)
    assert ticket.resolution_due == local(2026, 3, 12, 9, 0)


def test_created_signal_after_commit(org, clock, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, ticket, actor, **kwargs):
        seen.append((ticket.pk, actor))

    signals.ticket_created.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = make_ticket(org.care_agent_hn)
            assert seen == []
        assert seen == [(ticket.pk, org.care_agent_hn)]
    finally:
        signals.ticket_created.disconnect(receiver)


# --- threading ------------------------------------------------------------------------------------------


def test_a_message_on_the_same_topic_threads_into_the_open_ticket(org, clock):
    first = make_ticket(None, channel="email", email="lan@example.vn", subject="Giao hàng chậm đơn 123")
    clock.advance(hours=2)
    result = services.ticket_receive(
        actor=None,
        data=TicketData(
            channel="email",
            email="lan@example.vn",
            subject="RE: Giao hàng chậm đơn 123",
            message="Sao lâu vậy?",
        ),
    )
    assert (result.ticket.pk, result.outcome) == (first.pk, "threaded")
    assert list(first.messages.values_list("body", flat=True)) == [
        "Đơn hàng của tôi chưa tới sau 5 ngày.",
        "Sao lâu vậy?",
    ]
    # a different topic from the same customer is a new ticket
    other = make_ticket(None, channel="email", email="lan@example.vn", subject="Đổi địa chỉ nhận hóa đơn")
    assert other.pk != first.pk


def test_same_category_threads_and_hotline_does_not_by_default(org, clock):
    category = make_category(org.admin, "Bảo hành")
    first = make_ticket(None, channel="zalo", category_id=category.pk, subject="Máy hỏng")
    clock.advance(days=3)
    again = make_ticket(None, channel="zalo", category_id=category.pk, subject="Vẫn chưa ai gọi")
    assert again.pk == first.pk
    call = make_ticket(org.care_agent_hn, channel="hotline", category_id=category.pk, subject="Máy hỏng")
    assert call.pk != first.pk
    explicit = make_ticket(
        org.care_agent_hn, channel="api", category_id=category.pk, subject="x", thread=True
    )
    assert explicit.pk in (first.pk, call.pk)


def test_threading_window(org, clock):
    first = make_ticket(None, channel="web", subject="Giao hàng chậm")
    clock.advance(days=15)
    later = make_ticket(None, channel="web", subject="Giao hàng chậm")
    assert later.pk != first.pk


def test_email_reply_threads_by_message_id_and_tag(org, clock):
    first = make_ticket(
        None, channel="email", email="lan@example.vn", subject="Hỏi học phí", message_id="<q1@mail.vn>"
    )
    reply = make_ticket(
        None,
        channel="email",
        email="lan@example.vn",
        subject="Something else",
        in_reply_to="<q1@mail.vn>",
        message_id="<q2@mail.vn>",
    )
    assert reply.pk == first.pk
    tagged = make_ticket(
        None,
        channel="email",
        email="lan@example.vn",
        subject=f"Re: [#{first.pk}] abc",
        message_id="<q3@mail.vn>",
    )
    assert tagged.pk == first.pk
    # another customer quoting the tag does not get into Lan's ticket
    stranger = make_ticket(None, channel="email", email="other@example.vn", subject=f"[#{first.pk}] hi")
    assert stranger.pk != first.pk


def test_subject_similarity():
    assert services.subjects_similar("Giao hàng chậm", "RE: Fwd: giao hang cham")
    assert services.subjects_similar("[#12] Hoàn tiền đơn 55", "Hoàn tiền đơn 55 gấp")
    assert not services.subjects_similar("Giao hàng chậm", "Đổi mật khẩu")
    assert not services.subjects_similar("", "")
    assert not services.subjects_similar("Hỏi", "Re:")


# --- status flow, clocks, FCR ---------------------------------------------------------------------------------


def test_reply_opens_sets_first_response_and_counts_interactions(org, clock):
    make_policy(org.admin, first_response_minutes=60)
    ticket = make_ticket(org.care_agent_hn)
    clock.advance(minutes=10)
    services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="Ghi chú nội bộ", internal=True)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.first_response_at, ticket.interactions) == ("open", None, 0)
    clock.advance(minutes=10)
    msg = services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="Dạ em kiểm tra ngay ạ")
    ticket.refresh_from_db()
    assert msg.direction == "outbound" and msg.author == org.care_agent_hn
    assert (ticket.first_response_at, ticket.interactions, ticket.first_response_breached) == (
        T0 + dt.timedelta(minutes=20),
        1,
        False,
    )
    assert ticket.version == 4  # created, assigned, note, reply


def test_late_first_response_is_flagged(org, clock):
    make_policy(org.admin, first_response_minutes=30)
    ticket = make_ticket(org.care_agent_hn)
    clock.advance(hours=1)
    services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="Xin lỗi đã chậm")
    ticket.refresh_from_db()
    assert ticket.first_response_breached


def test_waiting_pauses_the_resolution_clock(org, clock):
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=480)
    ticket = make_ticket(org.care_agent_hn)
    due = ticket.resolution_due
    assert due == local(2026, 3, 11, 9, 0)
    clock.advance(hours=1)
    services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "waiting"})
    # waits from Tuesday 10:00 until Wednesday 10:00: 8 business hours (incl. the night, which does not count)
    clock.set(local(2026, 3, 11, 10, 0))
    services.message_add(actor=None, ticket_id=ticket.pk, body="Tôi gửi ảnh rồi đây")
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.paused_at is None
    assert ticket.resolution_due == local(2026, 3, 12, 9, 0)
    assert ("status", "waiting", "open") in events(ticket)


def test_agent_takes_a_ticket_out_of_waiting(org, clock):
    make_policy(org.admin)
    ticket = make_ticket(org.care_agent_hn)
    services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "waiting"})
    clock.set(local(2026, 3, 10, 19, 0))
    services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "open"})
    ticket.refresh_from_db()
    # waited 09:00 → 19:00 Tuesday = 7 business hours (lunch and evening excluded): due Wed 09:00 + 7 h
    assert ticket.resolution_due == local(2026, 3, 11, 17, 30)


def test_resolve_and_fcr(org, clock, django_capture_on_commit_callbacks):
    ticket = make_ticket(org.care_agent_hn)
    services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="Đã xử lý xong ạ")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resolved = services.ticket_resolve(
            actor=org.care_agent_hn, ticket_id=ticket.pk, note="gọi lại xác nhận"
        )
    assert len(callbacks) == 1
    assert (resolved.status, resolved.fcr, resolved.resolved_at) == ("resolved", True, T0)
    assert resolved.assignee is not None
    assert resolved.messages.filter(direction="note", body="gọi lại xác nhận").exists()
    # twice: no change
    assert services.ticket_resolve(actor=org.care_agent_hn, ticket_id=ticket.pk).version == resolved.version


def test_two_replies_are_not_fcr_and_reopen_clears_it(org, clock):
    one = make_ticket(org.care_agent_hn)
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=one.pk)
    one.refresh_from_db()
    assert one.fcr  # resolved on the call itself: no written reply at all
    services.ticket_reopen(actor=org.care_agent_hn, ticket_id=one.pk, reason="khách gọi lại")
    one.refresh_from_db()
    assert (one.status, one.reopened_count, one.fcr, one.resolved_at) == ("open", 1, False, None)
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=one.pk)
    one.refresh_from_db()
    assert not one.fcr  # reopened once: never FCR again

    two = make_ticket(org.care_agent_hn, phone="0911 222 333")
    for text in ("Dạ em kiểm tra", "Dạ đã xong"):
        services.message_add(actor=org.care_agent_hn, ticket_id=two.pk, body=text)
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=two.pk)
    two.refresh_from_db()
    assert (two.interactions, two.fcr) == (2, False)


def test_customer_reply_reopens_within_the_window_else_starts_a_new_ticket(org, clock):
    ticket = make_ticket(None, channel="email", email="lan@example.vn")
    services.ticket_resolve(actor=org.care_head, ticket_id=ticket.pk)
    clock.advance(days=6)
    msg = services.message_add(actor=None, ticket_id=ticket.pk, body="Vẫn chưa nhận được")
    ticket.refresh_from_db()
    assert msg.ticket_id == ticket.pk
    assert (ticket.status, ticket.reopened_count, ticket.fcr) == ("open", 1, False)
    services.ticket_resolve(actor=org.care_head, ticket_id=ticket.pk)
    clock.advance(days=8)
    late = services.message_add(actor=None, ticket_id=ticket.pk, body="Lại bị nữa")
    assert late.ticket_id != ticket.pk
    follow_up = Ticket.objects.get(pk=late.ticket_id)
    assert (follow_up.customer_id, follow_up.subject, follow_up.status) == (
        ticket.customer_id,
        ticket.subject,
        "new",
    )
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.reopened_count == 1


def test_reopen_days_setting(org, clock, settings):
    settings.HELPDESK_REOPEN_DAYS = 1
    ticket = make_ticket(None, channel="email", email="lan@example.vn")
    services.ticket_resolve(actor=org.care_head, ticket_id=ticket.pk)
    clock.advance(days=2)
    msg = services.message_add(actor=None, ticket_id=ticket.pk, body="Còn lỗi")
    assert msg.ticket_id != ticket.pk


def test_reopen_restarts_the_resolution_clock(org, clock):
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=120)
    ticket = make_ticket(org.care_agent_hn)
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=ticket.pk)
    clock.set(local(2026, 3, 12, 14, 0))
    services.ticket_reopen(actor=org.care_agent_hn, ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.resolution_due == local(2026, 3, 12, 16, 0)
    with pytest.raises(Conflict):
        services.ticket_reopen(actor=org.care_agent_hn, ticket_id=ticket.pk)


def test_closed_ticket_refuses_replies_but_takes_notes(org, clock):
    ticket = make_ticket(org.care_agent_hn)
    services.ticket_resolve(actor=org.care_agent_hn, ticket_id=ticket.pk)
    services.ticket_close(actor=org.care_head, ticket_id=ticket.pk)
    with pytest.raises(Conflict):
        services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="Chào chị")
    services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="ghi chú", internal=True)


def test_update_priority_reapplies_the_policy_keeping_waiting_time(org, clock):
    make_policy(
        org.admin,
        name="Gấp",
        priority="urgent",
        first_response_minutes=15,
        resolution_minutes=240,
        position=1,
    )
    make_policy(org.admin, name="Thường", first_response_minutes=60, resolution_minutes=480, position=2)
    ticket = make_ticket(org.care_agent_hn)
    services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "waiting"})
    clock.advance(hours=1)
    services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "open"})
    ticket.refresh_from_db()
    assert ticket.resolution_due == local(2026, 3, 11, 10, 0)
    updated = services.ticket_update(
        actor=org.care_agent_hn,
        ticket_id=ticket.pk,
        data={"priority": "urgent"},
        expected_version=ticket.version,
    )
    assert updated.sla_policy.name == "Gấp"
    assert updated.first_response_due == local(2026, 3, 10, 9, 15)
    assert updated.resolution_due == local(2026, 3, 10, 15, 30)  # 4 h from 09:00 = 14:30, + 1 h waited
    assert ("priority", "normal", "urgent") in events(ticket)
    with pytest.raises(PreconditionFailed):
        services.ticket_update(
            actor=org.care_agent_hn, ticket_id=ticket.pk, data={"subject": "x"}, expected_version=1
        )
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"status": "resolved"})
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=org.care_agent_hn, ticket_id=ticket.pk, data={"assignee_id": 1})


def test_scope_and_rights(org, clock):
    ticket = make_ticket(org.care_agent_hn)  # in the Hà Nội care team's queue
    with pytest.raises(NotFound):
        services.message_add(actor=org.consultant_hcm, ticket_id=ticket.pk, body="x")
    with pytest.raises(NotFound):
        selectors.ticket_get(actor=org.consultant_hcm, ticket_id=ticket.pk)
    with pytest.raises(PermissionDenied):
        services.ticket_resolve(actor=org.director, ticket_id=ticket.pk)
    with pytest.raises(PermissionDenied):
        services.ticket_assign(actor=org.care_agent_hn, ticket_id=ticket.pk, user_id=org.care_agent_hn.pk)


# --- attachments ----------------------------------------------------------------------------------------


def test_attachments_are_stored_sanitised_and_checked(org, clock, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = make_ticket(org.care_agent_hn)
    photo = SimpleUploadedFile(
        "../../etc/ảnh hóa đơn;rm -rf.JPG", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg"
    )
    msg = services.message_add(actor=org.care_agent_hn, ticket_id=ticket.pk, body="", attachments=[photo])
    att = Attachment.objects.get(message=msg)
    assert att.filename == "ảnh_hóa_đơnrm_-rf.jpg"
    assert att.content_type == "image/jpeg" and att.size == 103
    assert att.file.name.startswith(f"helpdesk/{ticket.pk}/")
    assert (tmp_path / att.file.name).exists()
    with pytest.raises(ValidationFailed) as exc:
        services.message_add(
            actor=org.care_agent_hn,
            ticket_id=ticket.pk,
            body="x",
            attachments=[SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")],
        )
    assert "attachments" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.message_add(
            actor=org.care_agent_hn,
            ticket_id=ticket.pk,
            body="x",
            attachments=[SimpleUploadedFile("a.pdf", b"%PDF", content_type="text/html")],
        )
    settings.HELPDESK_ATTACHMENT_MAX_MB = 1
    with pytest.raises(ValidationFailed):
        services.message_add(
            actor=org.care_agent_hn,
            ticket_id=ticket.pk,
            body="x",
            attachments=[
                SimpleUploadedFile("big.pdf", b"0" * (1024 * 1024 + 1), content_type="application/pdf")
            ],
        )
    assert Attachment.objects.count() == 1


def test_sanitize_filename():
    assert services.sanitize_filename("C:\\Users\\lan\\hóa đơn.PDF") == "hóa_đơn.pdf"
    assert services.sanitize_filename("..") == "file"
    assert services.sanitize_filename("") == "file"
    assert services.sanitize_filename("a" * 300 + ".png").endswith(".png")
    assert len(services.sanitize_filename("a" * 300 + ".png")) <= 100


# --- assignment by supervisors ------------------------------------------------------------------------------


def test_reassign_records_event_audit_and_notifies(care, clock):
    org = care
    ticket = make_ticket(org.care_agent_hn)
    target = org.care_agent_hn3 if ticket.assignee_id != org.care_agent_hn3.pk else org.care_agent_hn2
    services.ticket_assign(
        actor=org.care_head, ticket_id=ticket.pk, user_id=target.pk, note="chuyên về bảo hành"
    )
    ticket.refresh_from_db()
    assert ticket.assignee == target
    event = TicketEvent.objects.filter(ticket=ticket, kind="assigned").last()
    assert (event.to_value, event.actor, event.note) == (str(target.pk), org.care_head, "chuyên về bảo hành")
    assert AuditEvent.objects.filter(
        object_type="helpdesk.ticket", action="assign", actor=org.care_head
    ).exists()
    assert Notification.objects.filter(user=target, kind="ticket_assigned").exists()
    # back to the queue
    services.ticket_assign(actor=org.care_head, ticket_id=ticket.pk, user_id=None)
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.team == org.hn_care
    with pytest.raises(ValidationFailed):
        services.ticket_assign(actor=org.care_head, ticket_id=ticket.pk, user_id=999_999)


def test_branch_manager_assigns_only_inside_the_branch(care, clock):
    org = care
    ticket = make_ticket(org.care_agent_hn)
    with pytest.raises(PermissionDenied):
        services.ticket_assign(actor=org.manager_hn, ticket_id=ticket.pk, user_id=org.consultant_hcm.pk)
    services.ticket_assign(actor=org.manager_hn, ticket_id=ticket.pk, user_id=org.care_agent_hn2.pk)


# --- playbooks and canned replies ---------------------------------------------------------------------------


def test_playbook_apply_steps_and_canned_replies(org, clock):
    parent = make_category(org.admin, "Khiếu nại")
    child = make_category(org.admin, "Giao hàng", parent_id=parent.pk)
    services.playbook_save(
        actor=org.care_head,
        category_id=parent.pk,
        steps=["Xác minh đơn hàng", "Gọi đơn vị vận chuyển", "Báo lại khách"],
        involve="Kho Hà Nội",
        canned_replies=[
            {
                "title": "Xin lỗi",
                "body": "Chào {salutation} {given_name}, {agent_name} xin lỗi về {ticket}. {unknown} {0}",
            },
        ],
    )
    customer = make_customer(org.admin, full_name="Phạm Thị Hoa", salutation="chi", phones=["0966 111 222"])
    ticket = make_ticket(org.care_agent_hn, customer_id=None, phone="0966111222", category_id=child.pk)
    assert ticket.customer_id == customer.pk
    view = services.playbook_apply(actor=org.care_agent_hn, ticket_id=ticket.pk)
    assert [s.text for s in view.steps] == ["Xác minh đơn hàng", "Gọi đơn vị vận chuyển", "Báo lại khách"]
    assert view.involve == "Kho Hà Nội"
    body = view.canned_replies[0].body
    assert body == f"Chào Chị Hoa, {org.care_agent_hn} xin lỗi về #{ticket.pk}. {{unknown}} {{0}}"
    ticket.refresh_from_db()
    assert ticket.status == "open"
    view = services.step_check(actor=org.care_agent_hn, ticket_id=ticket.pk, step=2)
    assert [s.done for s in view.steps] == [False, True, False]
    assert view.steps[1].done_by == org.care_agent_hn and view.steps[1].done_at == T0
    services.step_check(actor=org.care_agent_hn, ticket_id=ticket.pk, step=2)  # idempotent
    assert StepCheck.objects.count() == 1
    view = services.step_uncheck(actor=org.care_agent_hn, ticket_id=ticket.pk, step=2)
    assert not any(s.done for s in view.steps)
    kinds = [k for k, _f, _t in events(ticket)]
    assert kinds.count("playbook") == 1 and kinds.count("step") == 2
    with pytest.raises(ValidationFailed):
        services.step_check(actor=org.care_agent_hn, ticket_id=ticket.pk, step=4)
    other = make_ticket(org.care_agent_hn, phone="0911 555 666", subject="Khác")
    with pytest.raises(Conflict):
        services.playbook_apply(actor=org.care_agent_hn, ticket_id=other.pk)


def test_playbook_save_replaces_replies_and_needs_configure(org, clock):
    category = make_category(org.admin, "Bảo hành")
    with pytest.raises(PermissionDenied):
        services.playbook_save(actor=org.care_agent_hn, category_id=category.pk, steps=["a"])
    services.playbook_save(
        actor=org.admin,
        category_id=category.pk,
        steps=["a"],
        canned_replies=[{"title": "A", "body": "1"}, {"title": "B", "body": "2"}],
    )
    services.playbook_save(
        actor=org.admin,
        category_id=category.pk,
        steps=["a", "b"],
        canned_replies=[{"title": "B", "body": "3"}],
    )
    assert list(CannedReply.objects.values_list("title", "body")) == [("B", "3")]
    services.playbook_save(actor=org.admin, category_id=category.pk, steps=["a"])  # no replies: kept
    assert CannedReply.objects.count() == 1
    with pytest.raises(ValidationFailed):
        services.playbook_save(actor=org.admin, category_id=category.pk, steps=["", "b"])


def test_canned_reply_render_keeps_unknown_placeholders(org, clock):
    customer = make_customer(org.admin, full_name="Lê Văn Nam", phones=["0977 000 111"])
    ticket = make_ticket(org.care_agent_hn, phone="0977000111")
    assert ticket.customer_id == customer.pk
    text = services.canned_reply_render(
        "Chào {salutation} {given_name} ({full_name}) {ticket} {x.y} {", ticket, org.care_agent_hn
    )
    assert text == f"Chào Nam (Lê Văn Nam) #{ticket.pk} {{x.y}} {{"


# --- settings --------------------------------------------------------------------------------------------


def test_category_tree_rules(org):
    a = make_category(org.admin, "A")
    b = make_category(org.admin, "B", parent_id=a.pk)
    with pytest.raises(ValidationFailed):
        services.category_update(actor=org.admin, category_id=a.pk, data={"parent_id": b.pk})
    with pytest.raises(ValidationFailed):
        make_category(org.admin, "b", parent_id=a.pk)
    with pytest.raises(PermissionDenied):
        make_category(org.care_agent_hn, "C")
    assert services.category_delete(actor=org.admin, category_id=a.pk).active is False  # has a child
    assert services.category_delete(actor=org.admin, category_id=b.pk) is None


def test_sla_policy_and_schedule_validation(org):
    with pytest.raises(ValidationFailed) as exc:
        services.sla_policy_save(
            actor=org.admin,
            data={"name": "x", "first_response_minutes": 600, "resolution_minutes": 60, "tier": "iron"},
        )
    assert set(exc.value.fields) == {"first_response_minutes", "tier"}
    with pytest.raises(ValidationFailed):
        services.schedule_save(actor=org.admin, data={"intervals": [["12:00", "08:00"]]})
    with pytest.raises(ValidationFailed):
        services.schedule_save(actor=org.admin, data={"extra_holidays": ["31/12/2026"]})
    default = services.schedule_save(actor=org.admin, data={})
    assert default.intervals == [["08:00", "12:00"], ["13:30", "17:30"]] and default.weekend == [5, 6]
    with pytest.raises(ValidationFailed):
        services.schedule_save(actor=org.admin, data={})  # a second company default
    with pytest.raises(PermissionDenied):
        services.schedule_save(actor=org.care_agent_hn, data={"branch_id": org.hn.pk})
