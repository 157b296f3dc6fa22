"""Surveys (CSAT, NPS, CES, custom): definitions, invitations with a one-click token, and responses tied to
the customer, ticket, agent, team and category."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careline.core.models import TimeStampedModel
from careline.surveys.choices import InvitationChannel, SurveyKind, Trigger


def _token() -> str:
    return secrets.token_urlsafe(24)


class Survey(TimeStampedModel):
    """A survey the company runs: its kind (CSAT, NPS, CES, custom), when it is sent (after a resolved ticket,
    on a schedule to a customer segment, or by staff) and its question(s)."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    trigger = models.CharField(_("sent"), max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    active = models.BooleanField(_("active"), default=True)
    question = models.CharField(_("main question"), max_length=300, blank=True)
    questions = models.JSONField(_("custom questions"), default=list, blank=True)
    segment = models.JSONField(_("segment (customer filters)"), default=dict, blank=True)
    every_days = models.PositiveIntegerField(_("repeat every (days)"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Invitation(TimeStampedModel):
    """One customer asked to answer one survey (by email, a link, or an agent on the phone)."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="invitations"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_invitations",
    )
    ticket = models.ForeignKey(
        "helpdesk.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token = models.CharField(_("token"), max_length=64, unique=True, default=_token)
    channel = models.CharField(
        _("channel"), max_length=10, choices=InvitationChannel.choices, default=InvitationChannel.EMAIL
    )
    language = models.CharField(_("language"), max_length=5, default="vi")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivery_status = models.CharField(_("delivery"), max_length=20, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["survey", "sent_at"], name="surveys_invitation_sent_idx"),
            models.Index(fields=["customer", "survey", "created_at"], name="surveys_invitation_cust_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "ticket"],
                condition=models.Q(ticket__isnull=False),
                name="surveys_one_invitation_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer_id}"


class Response(TimeStampedModel):
    """An answer: the score (CSAT 1–5, NPS 0–10, CES 1–7), the reason and custom answers."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="responses"
    )
    invitation = models.OneToOneField(
        Invitation,
        verbose_name=_("invitation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="response",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    ticket = models.ForeignKey(
        "helpdesk.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    category = models.ForeignKey(
        "helpdesk.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=InvitationChannel.choices, default=InvitationChannel.EMAIL
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    follow_up_ticket = models.ForeignKey(
        "helpdesk.Ticket",
        verbose_name=_("follow-up ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "created_at"], name="surveys_response_kind_idx"),
            models.Index(fields=["agent", "created_at"], name="surveys_response_agent_idx"),
            models.Index(fields=["team", "created_at"], name="surveys_response_team_idx"),
            models.Index(fields=["survey", "ticket"], name="surveys_response_ticket_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True)
                | models.Q(kind=SurveyKind.CSAT, score__gte=1, score__lte=5)
                | models.Q(kind=SurveyKind.NPS, score__gte=0, score__lte=10)
                | models.Q(kind=SurveyKind.CES, score__gte=1, score__lte=7)
                | models.Q(kind=SurveyKind.CUSTOM, score__gte=0, score__lte=10),
                name="surveys_response_score_in_range",
                violation_error_message=_("The score is out of range for this kind of survey."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"
