"""Agent workspace pages: queue, ticket page (reply, canned reply, status actions, assign, edit, playbook),
new ticket form, settings. Anonymous → login, out of scope → 404, forbidden → 403, allowed → 200."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from careline.conftest import web_client
from careline.helpdesk import services
from careline.helpdesk.models import CannedReply, Category, Message, Playbook, SlaPolicy, StepCheck, Ticket
from careline.helpdesk.tests.factories import make_category, make_policy, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(org, clock) -> Ticket:
    return make_ticket(org.care_head, team_id=org.hn_care.pk, email="lan@example.vn")


@pytest.fixture
def other(org, clock) -> Ticket:
    """A ticket of another team: out of the HN care agent's scope."""
    return make_ticket(org.admin, team_id=org.hcm_sales.pk, phone="0987 654 321", full_name="Trần Văn B")


def url(name: str, *args: object) -> str:
    return reverse(f"helpdesk:{name}", args=args)


def test_anonymous_goes_to_login(client, ticket):
    for target in (url("list"), url("new"), url("detail", ticket.pk), url("settings")):
        response = client.get(target)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for target in (url("reply", ticket.pk), url("action", ticket.pk, "resolve"), url("assign", ticket.pk)):
        assert client.post(target, {"body": "x"}).status_code == 302
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_queue_permissions_and_scope(org, ticket, other):
    assert web_client(org.nobody).get(url("list")).status_code == 403
    response = web_client(org.care_agent_hn).get(url("list"), {"status": "active"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="ticket-{ticket.pk}"' in body and f'id="ticket-{other.pk}"' not in body
    head = web_client(org.care_head).get(url("list")).content.decode()
    assert f'id="ticket-{ticket.pk}"' in head and f'id="ticket-{other.pk}"' in head


def test_queue_filters_sorting_and_htmx_fragment(org, ticket, other, clock):
    client = web_client(org.care_head)
    body = client.get(url("list"), {"scope": "unassigned", "channel": "hotline"}).content.decode()
    assert "ticket-table" in body
    body = client.get(url("list"), {"q": f"#{other.pk}"}).content.decode()
    assert f'id="ticket-{other.pk}"' in body and f'id="ticket-{ticket.pk}"' not in body
    fragment = client.get(url("list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="ticket-queue")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert text.lstrip().startswith('<div id="ticket-queue"') and "<html" not in text
    assert 'hx-trigger="every 30s"' in text
    for sla in ("breached", "at_risk"):
        assert client.get(url("list"), {"sla": sla}).status_code == 200


def test_queue_shows_red_when_breached_and_amber_inside_the_warn_window(org, clock):
    make_policy(org.admin, first_response_minutes=60, resolution_minutes=480, warn_before_minutes=30)
    late = make_ticket(org.care_head, team_id=org.hn_care.pk, subject="Trễ", phone="0912 000 111")
    clock.advance(minutes=40)
    soon = make_ticket(org.care_head, team_id=org.hn_care.pk, subject="Sắp trễ", phone="0912 000 222")
    # The page reads the real clock: move due moments instead.
    from django.utils import timezone

    now = timezone.now()
    Ticket.objects.filter(pk=late.pk).update(
        first_response_due=now - dt.timedelta(hours=2), first_response_at=None
    )
    Ticket.objects.filter(pk=soon.pk).update(
        first_response_due=now + dt.timedelta(minutes=10), first_response_at=None
    )
    body = web_client(org.care_head).get(url("list")).content.decode()
    assert body.index(f'id="ticket-{late.pk}"') < body.index(f'id="ticket-{soon.pk}"')  # next due first
    late_row = body[body.index(f'id="ticket-{late.pk}"') :].split("</tr>")[0]
    soon_row = body[body.index(f'id="ticket-{soon.pk}"') :].split("</tr>")[0]
    assert "table-danger" in late_row and "text-danger" in late_row
    assert "table-warning" in soon_row or "text-warning" in soon_row
    at_risk = web_client(org.care_head).get(url("list"), {"sla": "at_risk"}).content.decode()
    assert f'id="ticket-{soon.pk}"' in at_risk


def test_ticket_page_scope_and_contents(org, ticket, other):
    agent = web_client(org.care_agent_hn)
    assert agent.get(url("detail", other.pk)).status_code == 404
    assert web_client(org.nobody).get(url("detail", ticket.pk)).status_code == 404
    response = agent.get(url("detail", ticket.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="reply-form"' in body and 'id="customer-card"' in body and "helpdesk/ticket.js" in body
    assert "<script>" not in body.split("</head>")[1].replace("<script src=", "")  # no inline scripts
    assert 'id="assign-form"' not in body  # agents have no assign right
    head = web_client(org.care_head).get(url("detail", ticket.pk)).content.decode()
    assert 'id="assign-form"' in head
    assert "/surveys/record/?customer=" in head and f"ticket={ticket.pk}" in head


def test_user_text_is_escaped(org, clock):
    t = make_ticket(
        org.care_head, team_id=org.hn_care.pk, subject="<script>alert(1)</script>", message="<b>x</b>"
    )
    body = web_client(org.care_head).get(url("detail", t.pk)).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body and "&lt;b&gt;x" in body


def test_reply_with_a_canned_reply_and_an_internal_note(org, ticket, clock, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    services.canned_reply_save(
        actor=org.admin, data={"title": "Xin lỗi", "body": "Chào {given_name}, về {ticket}: xin lỗi anh/chị."}
    )
    client = web_client(org.care_agent_hn)
    page = client.get(url("detail", ticket.pk)).content.decode()
    assert 'id="canned-picker"' in page and "canned-replies-data" in page
    data = page.split('id="canned-replies-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(data) == [{"title": "Xin lỗi", "body": f"Chào Lan, về #{ticket.pk}: xin lỗi anh/chị."}]
    rendered = services.canned_reply_render(CannedReply.objects.get(), ticket, org.care_agent_hn)
    response = client.post(url("reply", ticket.pk), {"body": rendered})
    assert response.status_code == 302 and "#message-" in response["Location"]
    sent = Message.objects.filter(ticket=ticket, direction="outbound").get()
    assert sent.body == rendered and sent.author == org.care_agent_hn
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("hoa-don.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(
        url("reply", ticket.pk), {"body": "Đã gọi kho", "internal": "on", "attachments": [upload]}
    )
    assert response.status_code == 302
    note = Message.objects.filter(ticket=ticket, direction="note").get()
    assert note.attachments.count() == 1
    page = client.get(url("detail", ticket.pk)).content.decode()
    assert "msg-note" in page and "msg-outbound" in page and "msg-inbound" in page and "hoa-don.pdf" in page


def test_reply_errors_inline_and_permissions(org, ticket, other):
    agent = web_client(org.care_agent_hn)
    response = agent.post(url("reply", ticket.pk), {"body": "  "})
    assert response.status_code == 422 and 'id="ticket-error"' in response.content.decode()
    assert agent.post(url("reply", other.pk), {"body": "x"}).status_code == 404
    assert web_client(org.director).post(url("reply", ticket.pk), {"body": "x"}).status_code == 403
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_status_actions(org, ticket):
    agent = web_client(org.care_agent_hn)
    assert agent.post(url("action", ticket.pk, "waiting")).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "waiting"
    assert "paused" in web_client(org.care_head).get(url("list"), {"status": "waiting"}).content.decode()
    assert agent.post(url("action", ticket.pk, "open")).status_code == 302
    assert agent.post(url("action", ticket.pk, "resolve")).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert agent.post(url("action", ticket.pk, "reopen"), {"note": "Khách gọi lại"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status in ("open", "new")
    agent.post(url("action", ticket.pk, "resolve"))
    assert agent.post(url("action", ticket.pk, "close")).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    response = agent.post(url("action", ticket.pk, "waiting"))
    assert response.status_code == 409 and 'id="ticket-error"' in response.content.decode()
    assert agent.post(url("action", ticket.pk, "explode")).status_code == 404
    assert web_client(org.director).post(url("action", ticket.pk, "resolve")).status_code == 403


def test_assign_and_edit(org, care, ticket):
    assert (
        web_client(org.care_agent_hn)
        .post(url("assign", ticket.pk), {"user_id": org.care_agent_hn.pk})
        .status_code
        == 403
    )
    head = web_client(org.care_head)
    assert head.post(url("assign", ticket.pk), {"user_id": care.care_agent_hn2.pk}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == care.care_agent_hn2
    category = make_category(org.admin, name="Bảo hành")
    response = head.post(
        url("edit", ticket.pk), {"priority": "urgent", "category_id": category.pk, "version": ticket.version}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and ticket.category == category
    stale = head.post(url("edit", ticket.pk), {"priority": "low", "version": 1})
    assert stale.status_code == 412


def test_playbook_apply_and_tick_steps(org, clock):
    category = make_category(org.admin, name="Giao hàng")
    services.playbook_save(actor=org.admin, category_id=category.pk, steps=["Xin lỗi", "Kiểm tra vận đơn"])
    t = make_ticket(org.care_head, team_id=org.hn_care.pk, category_id=category.pk)
    agent = web_client(org.care_agent_hn)
    page = agent.get(url("detail", t.pk)).content.decode()
    assert 'id="playbook"' in page and "Kiểm tra vận đơn" in page
    assert agent.post(url("playbook_apply", t.pk)).status_code == 302
    assert agent.post(url("playbook_step", t.pk, 2), {"done": "1"}).status_code == 302
    check = StepCheck.objects.get(ticket=t)
    assert check.step == 2 and check.done_by == org.care_agent_hn
    page = agent.get(url("detail", t.pk)).content.decode()
    assert "bi-check2-square" in page and str(org.care_agent_hn) in page
    assert agent.post(url("playbook_step", t.pk, 2), {"done": "0"}).status_code == 302
    assert not StepCheck.objects.filter(ticket=t).exists()
    assert agent.post(url("playbook_step", t.pk, 9), {"done": "1"}).status_code == 422


def test_new_ticket_form(org, clock):
    assert web_client(org.director).get(url("new")).status_code == 403
    agent = web_client(org.care_agent_hn)
    assert agent.get(url("new")).status_code == 200
    response = agent.post(
        url("new"),
        {
            "phone": "0912 345 678",
            "full_name": "Nguyễn Thị Lan",
            "channel": "hotline",
            "kind": "complaint",
            "priority": "high",
            "subject": "Máy lạnh hỏng",
            "message": "Khách gọi báo máy lạnh không chạy.",
        },
    )
    assert response.status_code == 302
    t = Ticket.objects.get(subject="Máy lạnh hỏng")
    assert response["Location"] == url("detail", t.pk)
    assert t.channel == "hotline" and t.kind == "complaint" and t.priority == "high"
    bad = agent.post(url("new"), {"channel": "hotline", "kind": "inquiry", "subject": ""})
    assert bad.status_code == 422
    assert agent.get(url("new"), {"customer": t.customer_id}).status_code == 404  # not the agent's customer
    admin = web_client(org.admin)
    page = admin.get(url("new"), {"customer": t.customer_id}).content.decode()
    assert 'id="chosen-customer"' in page
    again = admin.post(
        url("new") + f"?customer={t.customer_id}",
        {"customer_id": t.customer_id, "channel": "walk_in", "kind": "request", "subject": "Hỏi bảo hành"},
    )
    assert again.status_code == 302
    assert Ticket.objects.filter(customer_id=t.customer_id).count() == 2
    assert agent.get(url("new"), {"customer": 999999}).status_code == 404


def test_settings_pages(org):
    assert web_client(org.care_agent_hn).get(url("settings")).status_code == 403
    assert (
        web_client(org.care_agent_hn).post(url("settings_new", "category"), {"name": "X"}).status_code == 403
    )
    head = web_client(org.care_head)
    assert head.get(url("settings")).status_code == 200
    assert head.get(url("settings_new", "nope")).status_code == 404
    assert (
        head.post(url("settings_new", "category"), {"name": "Giao hàng", "skills": "giao, kho"}).status_code
        == 302
    )
    category = Category.objects.get(name="Giao hàng")
    assert head.get(url("settings_edit", "category", category.pk)).status_code == 200
    assert head.post(url("settings_edit", "category", category.pk), {"name": "Giao nhận"}).status_code == 302
    category.refresh_from_db()
    assert category.name == "Giao nhận"
    data = {
        "name": "Gấp",
        "priority": "urgent",
        "first_response_minutes": 30,
        "resolution_minutes": 240,
        "warn_before_minutes": 10,
    }
    assert head.post(url("settings_new", "policy"), data).status_code == 302
    assert SlaPolicy.objects.filter(name="Gấp").exists()
    assert (
        head.post(
            url("settings_new", "playbook"), {"category_id": category.pk, "steps": "Bước 1\nBước 2"}
        ).status_code
        == 302
    )
    assert Playbook.objects.get(category=category).steps == ["Bước 1", "Bước 2"]
    assert (
        head.post(url("settings_new", "reply"), {"title": "Chào", "body": "Chào {given_name}"}).status_code
        == 302
    )
    assert CannedReply.objects.filter(title="Chào").exists()
    assert head.post(url("settings_new", "policy"), {"name": ""}).status_code == 422
    page = head.get(url("settings")).content.decode()
    assert "Giao nhận" in page and "Gấp" in page and "Chào" in page
    assert head.get(url("settings_edit", "category", 999999)).status_code == 404


@pytest.mark.parametrize(
    ("name", "extra", "data"),
    [
        ("reply", (), {"body": "x"}),
        ("action", ("resolve",), {}),
        ("action", ("waiting",), {}),
        ("edit", (), {"priority": "low"}),
        ("playbook_apply", (), {}),
        ("playbook_step", (1,), {"done": "1"}),
    ],
)
def test_writes_on_an_out_of_scope_ticket_answer_404(org, other, name, extra, data):
    response = web_client(org.care_agent_hn).post(url(name, other.pk, *extra), data)
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "new" and other.priority == "normal"


def test_assign_out_of_scope_and_get_not_allowed(org, other, ticket):
    assert web_client(org.manager_hn).post(url("assign", other.pk), {"user_id": ""}).status_code == 404
    assert web_client(org.care_head).get(url("reply", ticket.pk)).status_code == 405
