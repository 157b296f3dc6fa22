"""Survey services: configuration, score ranges per kind, invitations (channel, consent, one per ticket),
answers through the public token (idempotent, 7-day edit window, expiry) and answers recorded by agents."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from careline.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditEvent
from careline.surveys import services
from careline.surveys.models import Invitation, Response, Survey
from careline.surveys.tests.factories import (
    answer,
    backdate,
    consent,
    link_invitation,
    make_category,
    make_customer,
    make_survey,
    make_ticket,
)

pytestmark = pytest.mark.django_db


# --- configuration -------------------------------------------------------------------------------------------


def test_survey_create_is_audited_and_needs_configure(org):
    survey = make_survey(org.care_head, name="  NPS   quý  ", kind="nps")
    assert survey.name == "NPS quý" and survey.created_by == org.care_head
    assert AuditEvent.objects.filter(
        object_type="surveys.survey", object_id=str(survey.pk), action="create"
    ).exists()
    for user in (org.care_agent_hn, org.consultant_hn, org.director, org.nobody):
        with pytest.raises(PermissionDenied):
            make_survey(user)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "stars"}, "kind"),
        ({"name": ""}, "name"),
        ({"trigger": "sometimes"}, "trigger"),
        ({"kind": "custom"}, "questions"),
        ({"kind": "csat", "questions": [{"label": "Vì sao?"}]}, "questions"),
        ({"kind": "nps", "trigger": "schedule"}, "every_days"),
        ({"kind": "nps", "trigger": "schedule", "every_days": 0}, "every_days"),
        ({"segment": {"colour": "red"}}, "segment"),
        ({"segment": {"stage": "vip"}}, "segment"),
        (
            {"kind": "custom", "questions": [{"label": "Chọn", "type": "choice", "options": ["A"]}]},
            "questions",
        ),
        (
            {"kind": "custom", "questions": [{"label": "Thang", "type": "scale", "min": 3, "max": 30}]},
            "questions",
        ),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_survey_validation(org, data, field):
    with pytest.raises(ValidationFailed) as exc:
        make_survey(org.care_head, **data)
    assert field in exc.value.fields


def test_custom_questions_are_normalised(org):
    survey = make_survey(
        org.care_head,
        kind="custom",
        questions=[
            "Bạn biết chúng tôi qua đâu?",
            {"label": "Mức độ hài lòng", "type": "scale", "min": 1, "max": 5, "required": True},
            {"label": "Kênh ưa thích", "type": "choice", "options": ["Zalo", "Email", "Zalo"]},
        ],
    )
    assert survey.questions == [
        {"key": "q1", "label": "Bạn biết chúng tôi qua đâu?", "type": "text", "required": False},
        {"key": "q2", "label": "Mức độ hài lòng", "type": "scale", "required": True, "min": 1, "max": 5},
        {
            "key": "q3",
            "label": "Kênh ưa thích",
            "type": "choice",
            "required": False,
            "options": ["Zalo", "Email"],
        },
    ]


def test_only_one_active_survey_after_resolved_tickets(org):
    first = make_survey(org.care_head, trigger="ticket_resolved")
    with pytest.raises(Conflict) as exc:
        make_survey(org.care_head, name="CES", kind="ces", trigger="ticket_resolved")
    assert exc.value.code == "ticket_survey_exists"
    services.survey_update(actor=org.care_head, survey_id=first.pk, data={"active": False})
    second = make_survey(org.care_head, name="CES", kind="ces", trigger="ticket_resolved")
    with pytest.raises(Conflict):
        services.survey_update(actor=org.care_head, survey_id=first.pk, data={"active": True})
    assert second.active


def test_kind_is_locked_once_answered(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin)
    answer(link_invitation(org.admin, survey, _with_consent(org, customer)), 5)
    with pytest.raises(ValidationFailed) as exc:
        services.survey_update(actor=org.care_head, survey_id=survey.pk, data={"kind": "nps"})
    assert "kind" in exc.value.fields
    services.survey_update(actor=org.care_head, survey_id=survey.pk, data={"name": "CSAT mới"})
    event = AuditEvent.objects.filter(object_type="surveys.survey", action="update").get()
    assert event.changes == {"name": {"before": "CSAT sau hỗ trợ", "after": "CSAT mới"}}


def test_update_missing_survey_is_not_found(org):
    with pytest.raises(NotFound):
        services.survey_update(actor=org.care_head, survey_id=999_999, data={"name": "x"})


# --- scores per kind -----------------------------------------------------------------------------------------


def _with_consent(org, customer):
    consent(org.admin, customer, "care_calls", "granted")
    return customer


@pytest.mark.parametrize(
    ("kind", "valid", "invalid"),
    [
        ("csat", [1, 3, 5], [0, 6, -1, "abc", 2.5, None]),
        ("nps", [0, 6, 10], [-1, 11, "10.5", None]),
        ("ces", [1, 4, 7], [0, 8, ""]),
    ],
)
def test_score_range_per_kind(org, kind, valid, invalid):
    survey = make_survey(org.care_head, kind=kind, name=kind)
    customer = _with_consent(org, make_customer(org.admin))
    for score in invalid:
        invitation = link_invitation(org.admin, survey, customer)
        with pytest.raises(ValidationFailed) as exc:
            answer(invitation, score)
        assert "score" in exc.value.fields, score
    for score in valid:
        invitation = link_invitation(org.admin, survey, customer)
        assert answer(invitation, score).score == score
        assert answer(invitation, str(score)).score == score  # a string from a link works too


def test_the_database_refuses_an_out_of_range_score(org):
    from django.db import IntegrityError, transaction

    survey = make_survey(org.care_head, kind="csat")
    response = answer(link_invitation(org.admin, survey, _with_consent(org, make_customer(org.admin))), 4)
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.filter(pk=response.pk).update(score=9)


# --- invitations ---------------------------------------------------------------------------------------------


def test_email_invitation_needs_an_address(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = _with_consent(org, make_customer(org.admin))
    with pytest.raises(ValidationFailed) as exc:
        services.invitation_create(
            actor=org.admin, survey_id=survey.pk, customer_id=customer.pk, channel="email"
        )
    assert "channel" in exc.value.fields
    invitation = link_invitation(org.admin, survey, customer)
    assert invitation.channel == "link" and invitation.sent_at is not None
    assert invitation.expires_at - invitation.created_at >= dt.timedelta(days=29)
    assert len(invitation.token) >= 32


@pytest.mark.parametrize(
    ("decisions", "allowed"),
    [
        ([], False),
        ([("care_calls", "granted")], True),
        ([("marketing", "granted")], True),
        ([("care_calls", "granted"), ("care_calls", "withdrawn")], False),
        ([("care_calls", "withdrawn"), ("marketing", "granted")], False),
        ([("marketing", "granted"), ("marketing", "withdrawn")], False),
        ([("care_calls", "granted"), ("marketing", "withdrawn")], True),
    ],
)
def test_consent_rule_for_surveys_without_a_ticket(org, decisions, allowed):
    survey = make_survey(org.care_head, kind="nps")
    customer = make_customer(org.admin)
    for purpose, status in decisions:
        consent(org.admin, customer, purpose, status)
    assert services.consent_allows(customer) is allowed
    if allowed:
        assert link_invitation(org.admin, survey, customer).pk
    else:
        with pytest.raises(Conflict) as exc:
            link_invitation(org.admin, survey, customer)
        assert exc.value.code == "no_consent"
    # The SQL version of the rule agrees.
    from careline.customers.models import Customer

    assert services._with_consent(Customer.objects.filter(pk=customer.pk)).exists() is allowed


def test_ticket_invitation_is_service_communication_and_once_per_ticket(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin, emails=["lan@example.vn"])  # no consent recorded at all
    category = make_category()
    ticket = make_ticket(customer, assignee=org.care_agent_hn, category=category)
    first = services.invitation_create(
        actor=org.care_agent_hn, survey_id=survey.pk, customer_id=None, ticket_id=ticket.pk, channel="link"
    )
    assert (first.agent_id, first.team_id, first.branch_id, first.customer_id) == (
        org.care_agent_hn.pk,
        org.hn_care.pk,
        org.hn.pk,
        customer.pk,
    )
    again = services.invitation_create(
        actor=org.care_agent_hn,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk,
        channel="email",
    )
    assert again.pk == first.pk and again.replayed
    assert Invitation.objects.filter(ticket=ticket).count() == 1
    # The database guards it too.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.create(survey=survey, customer=customer, ticket=ticket)


def test_invitation_refusals(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = _with_consent(org, make_customer(org.consultant_hn))
    with pytest.raises(NotFound):  # not their customer
        link_invitation(org.consultant_hcm, survey, customer)
    with pytest.raises(PermissionDenied):  # sees the customer, may not send surveys
        link_invitation(org.director, survey, customer)
    with pytest.raises(NotFound):
        services.invitation_create(
            actor=org.admin, survey_id=999_999, customer_id=customer.pk, channel="link"
        )
    services.survey_update(actor=org.care_head, survey_id=survey.pk, data={"active": False})
    with pytest.raises(Conflict) as exc:
        link_invitation(org.admin, survey, customer)
    assert exc.value.code == "survey_inactive"
    with pytest.raises(ValidationFailed):
        services.invitation_create(
            actor=org.admin, survey_id=survey.pk, customer_id=customer.pk, channel="agent"
        )
    with pytest.raises(ValidationFailed):
        services.invitation_create(
            actor=org.admin, survey_id=survey.pk, customer_id=customer.pk, channel="link", language="fr"
        )


def test_ticket_of_another_customer_is_refused(org):
    survey = make_survey(org.care_head, kind="csat")
    a, b = make_customer(org.admin, full_name="Khách A"), make_customer(org.admin, full_name="Khách B")
    ticket = make_ticket(a, assignee=org.care_agent_hn)
    with pytest.raises(ValidationFailed) as exc:
        services.invitation_create(
            actor=org.admin, survey_id=survey.pk, customer_id=b.pk, ticket_id=ticket.pk, channel="link"
        )
    assert "ticket_id" in exc.value.fields


def test_survey_without_ticket_counts_for_the_customer_owner(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = _with_consent(org, make_customer(org.consultant_hn))
    invitation = link_invitation(org.admin, survey, customer)
    assert (invitation.agent_id, invitation.team_id, invitation.branch_id) == (
        org.consultant_hn.pk,
        org.hn_sales.pk,
        org.hn.pk,
    )


# --- answers through the link ------------------------------------------------------------------------------


def test_answer_is_tied_to_customer_ticket_agent_team_category(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin)
    category = make_category("Hoàn tiền")
    ticket = make_ticket(customer, assignee=org.care_agent_hn, category=category)
    invitation = link_invitation(None, survey, customer, ticket)
    response = answer(invitation, "4", reason="  Nhân viên nhiệt tình ")
    assert response.created
    assert (
        response.customer_id,
        response.ticket_id,
        response.agent_id,
        response.team_id,
        response.branch_id,
        response.category_id,
        response.kind,
        response.channel,
        response.reason,
    ) == (
        customer.pk,
        ticket.pk,
        org.care_agent_hn.pk,
        org.hn_care.pk,
        org.hn.pk,
        category.pk,
        "csat",
        "link",
        "Nhân viên nhiệt tình",
    )
    invitation.refresh_from_db()
    assert invitation.responded_at is not None
    event = AuditEvent.objects.get(object_type="surveys.response", object_id=str(response.pk))
    assert event.actor is None and event.actor_label == f"survey link #{invitation.pk}"


def test_answering_again_within_seven_days_updates_the_same_answer(org):
    survey = make_survey(org.care_head, kind="nps")
    invitation = link_invitation(org.admin, survey, _with_consent(org, make_customer(org.admin)))
    first = answer(invitation, 8)
    again = answer(invitation, 9)  # clicked another score in the email
    with_reason = answer(invitation, None, reason="Tư vấn kỹ")  # the reason, score kept
    assert first.pk == again.pk == with_reason.pk and not again.created
    assert Response.objects.filter(invitation=invitation).count() == 1
    response = Response.objects.get(invitation=invitation)
    assert (response.score, response.reason) == (9, "Tư vấn kỹ")
    assert AuditEvent.objects.filter(object_type="surveys.response", action="update").count() == 2
    answer(invitation, 9, reason="Tư vấn kỹ")  # nothing changed: no audit row
    assert AuditEvent.objects.filter(object_type="surveys.response", action="update").count() == 2
    backdate(response, days=8)
    with pytest.raises(ApplicationError) as exc:
        answer(invitation, 10)
    assert (exc.value.code, exc.value.status) == ("answer_closed", 410)
    response.refresh_from_db()
    assert response.score == 9


def test_expired_unanswered_invitation_and_unknown_token(org):
    survey = make_survey(org.care_head, kind="csat")
    invitation = link_invitation(org.admin, survey, _with_consent(org, make_customer(org.admin)))
    with pytest.raises(NotFound):
        services.response_record(token="nope", score=5)
    with pytest.raises(NotFound):
        services.response_record(token="x" * 200, score=5)
    backdate(invitation, expires_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(ApplicationError) as exc:
        answer(invitation, 5)
    assert (exc.value.code, exc.value.status) == ("invitation_expired", 410)
    assert not Response.objects.exists()


def test_answered_invitation_can_still_be_changed_after_expiry_within_the_window(org):
    survey = make_survey(org.care_head, kind="csat")
    invitation = link_invitation(org.admin, survey, _with_consent(org, make_customer(org.admin)))
    answer(invitation, 3)
    backdate(invitation, expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert answer(invitation, 4).score == 4


def test_custom_survey_answers(org):
    survey = make_survey(
        org.care_head,
        kind="custom",
        questions=[
            {
                "label": "Bạn biết chúng tôi qua đâu?",
                "type": "choice",
                "options": ["Facebook", "Bạn bè"],
                "required": True,
            },
            {"label": "Chấm điểm phòng học", "type": "scale", "min": 1, "max": 5},
            {"label": "Góp ý", "type": "text"},
        ],
    )
    invitation = link_invitation(org.admin, survey, _with_consent(org, make_customer(org.admin)))
    with pytest.raises(ValidationFailed) as exc:
        answer(invitation, None, answers={"q2": 9, "q9": "x"})
    assert set(exc.value.fields) == {"answers.q1", "answers.q2", "answers.q9"}
    response = answer(invitation, None, answers={"q1": "Bạn bè", "q2": "4", "q3": " Phòng hơi nóng "})
    assert response.score is None
    assert response.answers == {"q1": "Bạn bè", "q2": 4, "q3": "Phòng hơi nóng"}
    csat = make_survey(org.care_head, kind="csat", name="csat")
    with pytest.raises(ValidationFailed):
        answer(link_invitation(org.admin, csat, invitation.customer), 5, answers={"q1": "x"})


# --- answers recorded by agents ------------------------------------------------------------------------------


def test_agent_records_an_answer_after_a_call(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin)  # not in the care agent's customer scope
    ticket = make_ticket(customer, assignee=org.care_agent_hn, category=make_category())
    response = services.response_record_by_agent(
        actor=org.care_agent_hn,
        customer_id=None,
        ticket_id=ticket.pk,
        survey_id=survey.pk,
        score=5,
        reason="Nhanh",
    )
    assert response.created and response.channel == "agent" and response.recorded_by == org.care_agent_hn
    assert (response.agent_id, response.team_id, response.category_id) == (
        org.care_agent_hn.pk,
        org.hn_care.pk,
        ticket.category_id,
    )
    again = services.response_record_by_agent(
        actor=org.care_agent_hn, customer_id=customer.pk, ticket_id=ticket.pk, survey_id=survey.pk, score=4
    )
    assert again.pk == response.pk and not again.created
    assert Response.objects.count() == 1 and Response.objects.get().score == 4


def test_agent_recording_answers_the_pending_invitation_of_the_ticket(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin)
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    invitation = link_invitation(None, survey, customer, ticket)
    response = services.response_record_by_agent(
        actor=org.care_agent_hn, customer_id=customer.pk, ticket_id=ticket.pk, survey_id=survey.pk, score=5
    )
    invitation.refresh_from_db()
    assert response.invitation_id == invitation.pk and invitation.responded_at is not None
    # the customer then clicks the link: it updates the same answer
    assert answer(invitation, 3).pk == response.pk


def test_agent_recording_without_ticket_counts_for_the_agent(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = make_customer(org.consultant_hn)
    response = services.response_record_by_agent(
        actor=org.consultant_hn, customer_id=customer.pk, survey_id=survey.pk, score=10
    )
    assert (response.agent_id, response.team_id, response.branch_id, response.ticket_id) == (
        org.consultant_hn.pk,
        org.hn_sales.pk,
        org.hn.pk,
        None,
    )


def test_agent_recording_refusals(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.consultant_hn)
    with pytest.raises(NotFound):
        services.response_record_by_agent(
            actor=org.consultant_hcm, customer_id=customer.pk, survey_id=survey.pk, score=5
        )
    with pytest.raises(PermissionDenied):
        services.response_record_by_agent(
            actor=org.director, customer_id=customer.pk, survey_id=survey.pk, score=5
        )
    with pytest.raises(NotFound):
        services.response_record_by_agent(
            actor=org.admin, customer_id=customer.pk, survey_id=999_999, score=5
        )
    with pytest.raises(ValidationFailed):
        services.response_record_by_agent(
            actor=org.admin, customer_id=customer.pk, survey_id=survey.pk, score=None
        )
    with pytest.raises(ValidationFailed):
        services.response_record_by_agent(actor=org.admin, customer_id=None, survey_id=survey.pk, score=5)
    other_team_ticket = make_ticket(customer, assignee=org.consultant_hcm, team=org.hcm_sales)
    with pytest.raises(NotFound):
        services.response_record_by_agent(
            actor=org.care_agent_hn,
            customer_id=None,
            ticket_id=other_team_ticket.pk,
            survey_id=survey.pk,
            score=5,
        )
    assert not Response.objects.exists()
    assert Survey.objects.count() == 1
