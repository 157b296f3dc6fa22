"""Lead intake and allocation: inquiries from every channel, allocation rules and their members,
absences, the assignment log, and the intake endpoints (web forms, signed webhooks, IMAP mailboxes).

A *lead* is a customer in stage `lead` plus the inquiry that brought them in; the inquiry carries what was
asked, via which channel and when, and who it is allocated to.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careline.core.models import TimeStampedModel
from careline.helpdesk.choices import TicketKind
from careline.sales.choices import (
    AbsenceKind,
    AssignmentReason,
    Channel,
    ConnectorKind,
    InquiryStatus,
    IntakeDestination,
    Strategy,
)


def _public_key() -> str:
    return "wf_" + secrets.token_urlsafe(18)


def _webhook_secret() -> str:
    # Standard Webhooks: "whsec_" + base64 of the key bytes.
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class AllocationRule(TimeStampedModel):
    """One allocation rule: which inquiries it takes (conditions) and how it picks a consultant (strategy).

    Rules are evaluated by `position`; the first active rule whose conditions all match takes the inquiry.
    An empty condition list matches anything.
    """

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    team = models.ForeignKey(
        "accounts.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="allocation_rules"
    )
    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
        on_delete=models.PROTECT,
        related_name="allocation_rules",
    )
    # Conditions (empty = any).
    channels = models.JSONField(_("channels"), default=list, blank=True)
    provinces = models.JSONField(_("provinces"), default=list, blank=True)
    products = models.JSONField(_("product interests / skills"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    reclaim_after_minutes = models.PositiveIntegerField(
        _("reclaim after (minutes without activity)"), null=True, blank=True
    )
    respect_working_hours = models.BooleanField(_("only during working hours"), default=True)
    work_start = models.TimeField(_("working hours start"), default="08:00")
    work_end = models.TimeField(_("working hours end"), default="17:30")
    # Rotation state (member id → deficit, see sales.allocation); written under the rule's row lock.
    rotation = models.JSONField(_("rotation state"), default=dict, blank=True)

    class Meta:
        verbose_name = _("allocation rule")
        verbose_name_plural = _("allocation rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class AllocationMember(models.Model):
    """A consultant in a rule's rotation. `position` fixes the round-robin order; `capacity` caps open
    leads (and is the weight of the weighted strategy)."""

    rule = models.ForeignKey(
        AllocationRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("consultant"),
        on_delete=models.CASCADE,
        related_name="allocation_memberships",
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    capacity = models.PositiveIntegerField(_("max open leads"), null=True, blank=True)
    skills = models.JSONField(_("product skills"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    assigned_count = models.PositiveIntegerField(_("leads assigned"), default=0)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("allocation member")
        verbose_name_plural = _("allocation members")
        ordering = ["rule_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "user"], name="sales_member_unique_user_per_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.user}"


class Absence(TimeStampedModel):
    """A period a consultant takes no new leads (leave, sick, training)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.CASCADE, related_name="absences"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AbsenceKind.choices, default=AbsenceKind.LEAVE)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["-starts_at", "id"]
        indexes = [models.Index(fields=["user", "ends_at"], name="sales_absence_user_end_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="sales_absence_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.starts_at:%d/%m/%Y} – {self.ends_at:%d/%m/%Y}"


class IntakeRouting(TimeStampedModel):
    """Where an intake channel's submissions go: the branch and team they belong to, and whether they make
    leads (sales) or customer-care tickets (with a default ticket category). Shared by web forms and
    webhook connectors; each declares its own `ticket_kind` (their defaults differ)."""

    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
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
    destination = models.CharField(
        _("creates"),
        max_length=10,
        choices=IntakeDestination.choices,
        default=IntakeDestination.LEAD,
        help_text=_(
            "Lead: allocated to sales. Ticket: handled by the customer-care desk (its team: a care team)."
        ),
    )
    ticket_category = models.ForeignKey(
        "helpdesk.Category",
        verbose_name=_("ticket category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class WebForm(IntakeRouting):
    """An embeddable form: the public key goes in the page that embeds it (`/f/<public_key>`). It makes a
    lead (sales) or, with destination `ticket`, a customer-care ticket."""

    name = models.CharField(_("name"), max_length=120)
    public_key = models.CharField(_("public key"), max_length=40, unique=True, default=_public_key)
    active = models.BooleanField(_("active"), default=True)
    product_interest = models.CharField(_("product interest"), max_length=120, blank=True)
    consent_text = models.TextField(_("consent text"), blank=True)
    success_message = models.CharField(_("thank-you message"), max_length=300, blank=True)
    redirect_url = models.URLField(_("redirect after submit"), blank=True)
    allowed_origins = models.TextField(_("allowed origins (one per line)"), blank=True)
    ticket_kind = models.CharField(
        _("ticket kind"),
        max_length=10,
        choices=TicketKind.choices,
        blank=True,
        help_text=_("Tickets only. Empty: the visitor chooses."),
    )

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Connector(IntakeRouting):
    """A signed webhook endpoint (Standard Webhooks, HMAC-SHA256) that Zalo OA, Facebook, marketplaces or a
    call centre post inquiries/call logs to: `POST /api/v1/hooks/<slug>`. Destination `ticket` sends them to
    the care desk (tickets) instead of sales (leads)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    kind = models.CharField(
        _("kind"), max_length=12, choices=ConnectorKind.choices, default=ConnectorKind.OTHER
    )
    secret = models.CharField(_("signing secret"), max_length=100, default=_webhook_secret)
    active = models.BooleanField(_("active"), default=True)
    last_delivery_at = models.DateTimeField(_("last delivery"), null=True, blank=True)
    ticket_kind = models.CharField(
        _("ticket kind"),
        max_length=10,
        choices=TicketKind.choices,
        blank=True,
        help_text=_("Tickets only. Empty: inquiry."),
    )

    class Meta:
        verbose_name = _("webhook connector")
        verbose_name_plural = _("webhook connectors")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Mailbox(TimeStampedModel):
    """An IMAP inbox polled for inquiries (imap-tools). New messages become inquiries with channel `email`."""

    name = models.CharField(_("name"), max_length=120)
    host = models.CharField(_("IMAP host"), max_length=200)
    port = models.PositiveIntegerField(_("port"), default=993)
    use_ssl = models.BooleanField(_("SSL/TLS"), default=True)
    username = models.CharField(_("user name"), max_length=200)
    password = models.CharField(_("password"), max_length=200)
    folder = models.CharField(_("folder"), max_length=100, default="INBOX")
    active = models.BooleanField(_("active"), default=True)
    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
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
    last_uid = models.PositiveBigIntegerField(_("last message UID read"), default=0)
    uid_validity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Inquiry(TimeStampedModel):
    """What a (prospective) customer asked, through which channel and when — and who it is allocated to."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="inquiries"
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    # As received (normalised): kept even when the customer card already had other values.
    full_name = models.CharField(_("name given"), max_length=200, blank=True)
    phone = models.CharField(_("phone given"), max_length=20, blank=True)
    email = models.EmailField(_("email given"), blank=True)
    message = models.TextField(_("message"), blank=True)
    product_interest = models.CharField(_("product interest"), max_length=120, blank=True)
    language = models.CharField(_("language"), max_length=5, default="vi", blank=True)
    province = models.CharField(_("province"), max_length=2, blank=True)
    consent = models.BooleanField(_("consent given"), default=False)
    payload = models.JSONField(_("original payload"), default=dict, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    new_customer = models.BooleanField(_("created a new customer"), default=True)
    # Allocation state.
    status = models.CharField(
        _("status"), max_length=10, choices=InquiryStatus.choices, default=InquiryStatus.QUEUED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("consultant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inquiries",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rule = models.ForeignKey(
        AllocationRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    contact_due_at = models.DateTimeField(_("contact by"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("first contact at"), null=True, blank=True)
    # Where it came from.
    web_form = models.ForeignKey(
        WebForm,
        verbose_name=_("web form"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    connector = models.ForeignKey(
        Connector,
        verbose_name=_("connector"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="sales_inquiry_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="sales_inquiry_status_idx"),
            models.Index(fields=["owner", "status"], name="sales_inquiry_owner_idx"),
            models.Index(fields=["team", "status"], name="sales_inquiry_team_idx"),
            models.Index(fields=["customer", "received_at"], name="sales_inquiry_customer_idx"),
            models.Index(
                fields=["contact_due_at"],
                condition=Q(status="assigned"),
                name="sales_inquiry_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.full_name or self.customer_id}"


class Assignment(models.Model):
    """One entry of the assignment log: an inquiry (and its customer) given to, or taken from, someone."""

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="assignments"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=16, choices=AssignmentReason.choices)
    rule = models.ForeignKey(
        AllocationRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="sales_assignment_customer_idx")]

    def __str__(self) -> str:
        return f"{self.inquiry_id} → {self.to_user_id}"


class OpenLeadCount(models.Model):
    """How many open leads a consultant holds: inquiries assigned to them (or contacted) whose customer
    is still in stage `lead` — what a rotation member's capacity caps.

    Kept by database triggers on inquiries and customers (migration 0003), so every path that opens,
    closes, moves, reclaims or converts a lead keeps it right, bulk SQL included; never written from Python.
    Allocation reads it instead of counting open leads (O(members), not O(open leads)). No row: none."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("consultant"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    open_leads = models.IntegerField(_("open leads"), default=0)

    class Meta:
        verbose_name = _("open-lead count")
        verbose_name_plural = _("open-lead counts")
        ordering = ["user_id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.open_leads}"
