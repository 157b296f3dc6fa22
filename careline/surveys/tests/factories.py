"""Helpers that build survey data through the services (so audit, ties and validation are real)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from careline.accounts.models import User
from careline.customers.models import Customer
from careline.customers.services import customer_consent_record
from careline.customers.tests.factories import make_customer
from careline.helpdesk.models import Category, Ticket
from careline.surveys import services
from careline.surveys.models import Invitation, Response, Survey


def make_survey(actor: User, **data: Any) -> Survey:
    data.setdefault("name", "CSAT sau hỗ trợ")
    data.setdefault("kind", "csat")
    data.setdefault("trigger", "manual")
    return services.survey_create(actor=actor, data=data)


def make_ticket(
    customer: Customer,
    *,
    assignee: User | None = None,
    team: Any = None,
    category: Category | None = None,
    subject: str = "Giao hàng chậm",
) -> Ticket:
    """A ticket through the helpdesk service, then given the assignee/team/category the test needs."""
    from careline.helpdesk.services import TicketData, ticket_create

    ticket = ticket_create(
        actor=None,
        data=TicketData(
            channel="hotline", kind="complaint", customer_id=customer.pk, subject=subject, message="…"
        ),
    )
    team = team if team is not None else (assignee.team if assignee is not None else None)
    Ticket.objects.filter(pk=ticket.pk).update(
        assignee=assignee,
        team=team,
        branch=team.branch if team is not None else None,
        category=category,
    )
    ticket.refresh_from_db()
    return ticket


def make_category(name: str = "Giao hàng", team: Any = None) -> Category:
    return Category.objects.create(name=name, team=team)


def consent(actor: User, customer: Customer, purpose: str, status: str) -> None:
    customer_consent_record(
        actor=actor, customer_id=customer.pk, purpose=purpose, status=status, method="phone_call"
    )


def link_invitation(
    actor: User | None, survey: Survey, customer: Customer, ticket: Ticket | None = None
) -> Invitation:
    return services.invitation_create(
        actor=actor,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk if ticket else None,
        channel="link",
    )


def answer(invitation: Invitation, score: Any, reason: str | None = None, **kwargs: Any) -> Response:
    return services.response_record(token=invitation.token, score=score, reason=reason, **kwargs)


def backdate(obj: Any, *, days: float = 0, **fields: dt.datetime) -> None:
    """Move a row's created_at into the past (or set other timestamps) without the services."""
    values: dict[str, Any] = dict(fields)
    if days:
        values["created_at"] = timezone.now() - dt.timedelta(days=days)
    type(obj).objects.filter(pk=obj.pk).update(**values)
    obj.refresh_from_db()


__all__ = [
    "answer",
    "backdate",
    "consent",
    "link_invitation",
    "make_category",
    "make_customer",
    "make_survey",
    "make_ticket",
]
