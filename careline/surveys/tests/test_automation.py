"""Automation: the CSAT after a resolved ticket (one invitation per ticket, email or link) and the detractor
follow-up ticket (NPS 0–6, CSAT ≤ 2 → one high-priority complaint for the head of care's team)."""

from __future__ import annotations

import pytest
from django.core import mail

from careline.accounts.models import Notification
from careline.helpdesk.models import Ticket
from careline.surveys import services
from careline.surveys.models import Invitation, Response
from careline.surveys.tests.factories import (
    answer,
    consent,
    link_invitation,
    make_category,
    make_customer,
    make_survey,
    make_ticket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.CARELINE_PUBLIC_URL = "http://testserver"
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def _resolve(ticket, actor, django_capture_on_commit_callbacks):
    from careline.helpdesk.services import ticket_resolve

    with django_capture_on_commit_callbacks(execute=True):
        ticket_resolve(actor=actor, ticket_id=ticket.pk)


# --- CSAT after a resolved ticket ----------------------------------------------------------------------------


def test_resolving_a_ticket_emails_the_csat_once(org, django_capture_on_commit_callbacks):
    survey = make_survey(org.care_head, trigger="ticket_resolved")
    customer = make_customer(org.admin, full_name="Trần Thị Lan", emails=["lan@example.vn"], salutation="chi")
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    _resolve(ticket, org.care_agent_hn, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(ticket=ticket)
    assert (invitation.survey, invitation.channel, invitation.delivery_status) == (survey, "email", "sent")
    assert invitation.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lan@example.vn"]
    assert f"#{ticket.pk}" in message.subject
    html = message.alternatives[0].content
    for score in range(1, 6):
        link = f"http://testserver/s/{invitation.token}/?score={score}"
        assert link in message.body and link in html
    assert "Chị Lan" in message.body  # greeted as the card says (Vietnamese by default)
    # Resolving again (a reopen and a second resolve, or a repeated signal) sends nothing new.
    assert services.survey_send_for_ticket(ticket_id=ticket.pk) is None
    assert Invitation.objects.filter(ticket=ticket).count() == 1 and len(mail.outbox) == 1


def test_customer_without_email_gets_a_link_the_assignee_is_told_about(
    org, django_capture_on_commit_callbacks
):
    make_survey(org.care_head, trigger="ticket_resolved")
    customer = make_customer(org.admin, phones=["0912 345 678"])
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    _resolve(ticket, org.care_agent_hn, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(ticket=ticket)
    assert invitation.channel == "link" and mail.outbox == []
    note = Notification.objects.get(user=org.care_agent_hn, kind="survey_link")
    assert note.url == f"/surveys/invitations/{invitation.pk}/"


def test_no_active_ticket_survey_sends_nothing(org, django_capture_on_commit_callbacks):
    make_survey(org.care_head, trigger="manual")
    ticket = make_ticket(make_customer(org.admin, emails=["a@example.vn"]), assignee=org.care_agent_hn)
    _resolve(ticket, org.care_agent_hn, django_capture_on_commit_callbacks)
    assert not Invitation.objects.exists() and mail.outbox == []


def test_ticket_already_answered_by_phone_is_not_surveyed_again(org, django_capture_on_commit_callbacks):
    survey = make_survey(org.care_head, trigger="ticket_resolved")
    customer = make_customer(org.admin, emails=["a@example.vn"])
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    services.response_record_by_agent(
        actor=org.care_agent_hn, customer_id=customer.pk, ticket_id=ticket.pk, survey_id=survey.pk, score=5
    )
    _resolve(ticket, org.care_agent_hn, django_capture_on_commit_callbacks)
    assert not Invitation.objects.exists() and mail.outbox == []


def test_follow_up_tickets_are_not_surveyed(org):
    make_survey(org.care_head, trigger="ticket_resolved")
    nps = make_survey(org.care_head, name="NPS", kind="nps")
    customer = make_customer(org.admin, emails=["a@example.vn"])
    consent(org.admin, customer, "care_calls", "granted")
    response = answer(link_invitation(org.admin, nps, customer), 2)
    assert response.follow_up_ticket.channel == "survey"
    assert services.survey_send_for_ticket(ticket_id=response.follow_up_ticket_id) is None


# --- detractors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "score", "opens"),
    [
        ("nps", 0, True),
        ("nps", 6, True),
        ("nps", 7, False),
        ("nps", 10, False),
        ("csat", 1, True),
        ("csat", 2, True),
        ("csat", 3, False),
        ("ces", 1, False),  # CES has no follow-up rule
    ],
)
def test_detractor_opens_a_follow_up_ticket(org, kind, score, opens):
    survey = make_survey(org.care_head, kind=kind, name=kind)
    customer = make_customer(org.admin)
    consent(org.admin, customer, "care_calls", "granted")
    response = answer(link_invitation(org.admin, survey, customer), score, reason="Chờ quá lâu")
    assert (response.follow_up_ticket_id is not None) is opens
    assert Ticket.objects.filter(channel="survey").count() == (1 if opens else 0)


def test_follow_up_ticket_content_and_team(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin, full_name="Phạm Văn Minh")
    ticket = make_ticket(
        customer, assignee=org.care_agent_hn, category=make_category(), subject="Máy lạnh hỏng"
    )
    response = answer(link_invitation(None, survey, customer, ticket), 1, reason="Kỹ thuật viên không đến")
    follow_up = response.follow_up_ticket
    assert (
        follow_up.channel,
        follow_up.kind,
        follow_up.priority,
        follow_up.customer_id,
        follow_up.team_id,
    ) == (
        "survey",
        "complaint",
        "high",
        customer.pk,
        org.care_head.team_id,
    )
    assert follow_up.external_id == f"survey-response-{response.pk}"
    assert "Phạm Văn Minh" in follow_up.subject
    body = follow_up.messages.order_by("id").first().body
    assert "1" in body and "Kỹ thuật viên không đến" in body and f"#{ticket.pk}" in body


def test_one_follow_up_per_answer_whatever_happens_next(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = make_customer(org.admin)
    consent(org.admin, customer, "care_calls", "granted")
    invitation = link_invitation(org.admin, survey, customer)
    first = answer(invitation, 3)
    answer(invitation, 1, reason="Vẫn chưa ai gọi lại")  # worse
    answer(invitation, 9)  # changed their mind: the ticket stays
    assert services.response_follow_up(response_id=first.pk).pk == first.follow_up_ticket_id  # idempotent
    services.response_follow_up(response_id=first.pk)
    assert Ticket.objects.filter(channel="survey").count() == 1
    assert services.responses_follow_up_missing() == 0


def test_promoter_turning_detractor_opens_the_ticket_then(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = make_customer(org.admin)
    consent(org.admin, customer, "care_calls", "granted")
    invitation = link_invitation(org.admin, survey, customer)
    assert answer(invitation, 10).follow_up_ticket_id is None
    assert answer(invitation, 4).follow_up_ticket_id is not None


def test_agent_recorded_detractor_opens_a_ticket(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.consultant_hn)
    response = services.response_record_by_agent(
        actor=org.consultant_hn, customer_id=customer.pk, survey_id=survey.pk, score=2, reason="Giao sai hàng"
    )
    assert response.follow_up_ticket.priority == "high"


def test_a_helpdesk_failure_never_loses_the_answer_and_is_retried(org, monkeypatch):
    import careline.helpdesk.services as helpdesk

    survey = make_survey(org.care_head, kind="nps")
    customer = make_customer(org.admin)
    consent(org.admin, customer, "care_calls", "granted")
    real = helpdesk.ticket_create

    def broken(**kwargs):
        raise RuntimeError("helpdesk down")

    monkeypatch.setattr(helpdesk, "ticket_create", broken)
    response = answer(link_invitation(org.admin, survey, customer), 0, reason="Tệ")
    assert Response.objects.filter(pk=response.pk, follow_up_ticket__isnull=True).exists()
    monkeypatch.setattr(helpdesk, "ticket_create", real)
    assert services.responses_follow_up_missing() == 1
    response.refresh_from_db()
    assert response.follow_up_ticket is not None
    assert services.responses_follow_up_missing() == 0


def test_without_a_care_head_the_follow_up_still_opens(org):
    org.care_head.is_active = False
    org.care_head.save()
    survey = make_survey(org.admin, kind="csat")
    customer = make_customer(org.admin)
    consent(org.admin, customer, "care_calls", "granted")
    response = answer(link_invitation(org.admin, survey, customer), 1)
    assert response.follow_up_ticket is not None
    assert services.care_head_team_id() is None
