"""Activities (calls, emails, meetings, proposals, phone offers, notes, follow-ups) and email templates.
Activities make the timeline every customer card shows and feed quotas and KPIs (`careline.kpis`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from careline.activities.choices import ActivityKind, Outcome
from careline.core.models import TimeStampedModel


class Activity(TimeStampedModel):
    """One thing a staff member did (or must do) with a customer.

    A done activity has `occurred_at`; a follow-up (or a promised call-back) has `due_at` and is open until
    `completed_at` is set. Ownership (owner/team/branch, copied from the owner when logged) decides who sees
    it, in addition to anyone who sees the customer.
    """

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
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
    occurred_at = models.DateTimeField(_("when"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    customer_stage = models.CharField(_("customer stage then"), max_length=10, blank=True)
    # Emails: the address written to and the delivery result.
    email_to = models.EmailField(_("sent to"), blank=True)
    message_id = models.CharField(_("message id"), max_length=250, blank=True)
    # Call logs from the hotline: the provider's call id and recording.
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="activities_customer_idx"),
            models.Index(fields=["owner", "kind", "occurred_at"], name="activities_owner_kind_idx"),
            models.Index(fields=["team", "occurred_at"], name="activities_team_idx"),
            models.Index(
                fields=["owner", "due_at"],
                condition=Q(completed_at__isnull=True, due_at__isnull=False),
                name="activities_open_due_idx",
            ),
            # Lists and the timeline sort by "when": done time, else due time (selectors.AT).
            models.Index(
                Coalesce("occurred_at", "due_at", "created_at").desc(),
                F("id").desc(),
                name="activities_at_idx",
            ),
            models.Index(
                F("owner"),
                Coalesce("occurred_at", "due_at", "created_at").desc(),
                F("id").desc(),
                name="activities_owner_at_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "external_id"],
                condition=~Q(external_id=""),
                name="activities_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id}"

    @property
    def is_open(self) -> bool:
        return self.due_at is not None and self.completed_at is None


class EmailTemplate(TimeStampedModel):
    """A reusable email: subject and body with placeholders ({salutation}, {given_name}, {full_name},
    {staff_name}, {staff_phone})."""

    name = models.CharField(_("name"), max_length=120)
    language = models.CharField(_("language"), max_length=5, default="vi")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    active = models.BooleanField(_("active"), default=True)
    # Marketing emails go only to customers whose latest marketing consent is "granted" (Law 91/2025).
    marketing = models.BooleanField(_("marketing email"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
