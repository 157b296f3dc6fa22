"""Customer-care desk: tickets (complaints, inquiries, requests, warranty claims) with their conversation,
categories (a tree), SLA policies in business hours, working schedules per branch, handling procedures
(playbooks with steps and canned replies) and the ticket's event log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careline.core.models import TimeStampedModel
from careline.helpdesk.choices import (
    EventKind,
    MessageDirection,
    Priority,
    TicketChannel,
    TicketKind,
    TicketStatus,
)


class Category(TimeStampedModel):
    """A ticket category; categories form a tree ("Học phí › Hoàn học phí")."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    active = models.BooleanField(_("active"), default=True)
    default_priority = models.CharField(
        _("default priority"), max_length=10, choices=Priority.choices, blank=True
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("handling team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    skills = models.JSONField(_("skills needed"), default=list, blank=True)
    position = models.PositiveIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return f"{self.parent} › {self.name}" if self.parent_id else self.name


class WorkSchedule(TimeStampedModel):
    """Working hours of a branch (or the company default when branch is empty) for SLA clocks: time
    intervals per working day, the weekend, extra holidays and make-up working days; Vietnamese public
    holidays (incl. Tết and Giỗ Tổ, from careline.vn) are always off unless `holidays_enabled` is off."""

    branch = models.OneToOneField(
        "accounts.Branch",
        verbose_name=_("branch"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    intervals = models.JSONField(_("working hours"), default=list, blank=True)  # [["08:00","12:00"], …]
    weekend = models.JSONField(_("weekend days"), default=list, blank=True)  # Python weekdays, 5=Sat
    extra_holidays = models.JSONField(_("extra days off"), default=list, blank=True)  # ["2026-02-21", …]
    extra_working_days = models.JSONField(_("make-up working days"), default=list, blank=True)
    holidays_enabled = models.BooleanField(_("public holidays off"), default=True)

    class Meta:
        verbose_name = _("work schedule")
        verbose_name_plural = _("work schedules")

    def __str__(self) -> str:
        return str(self.branch or _("Default schedule"))


class SlaPolicy(TimeStampedModel):
    """First-response and resolution targets in business minutes. The first active policy (by position)
    whose conditions match the ticket applies; empty conditions match anything."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    tier = models.CharField(_("customer tier"), max_length=10, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolve within (business minutes)"))
    warn_before_minutes = models.PositiveIntegerField(_("warn before breach (minutes)"), default=30)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Ticket(TimeStampedModel):
    """A complaint, inquiry, request or warranty claim of one customer, and its handling."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tickets"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TicketKind.choices, default=TicketKind.INQUIRY)
    channel = models.CharField(
        _("channel"), max_length=12, choices=TicketChannel.choices, default=TicketChannel.HOTLINE
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    subject = models.CharField(_("subject"), max_length=250)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
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
    related_ref = models.CharField(_("related deal / contract / product"), max_length=200, blank=True)
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    # Clocks (aware datetimes; due moments computed in business time by the SLA policy).
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    sla_policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("clock paused at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("breach warning sent at"), null=True, blank=True)
    first_response_breached = models.BooleanField(_("first response late"), default=False)
    resolution_breached = models.BooleanField(_("resolution late"), default=False)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # First-contact resolution: resolved within the first interaction and never reopened.
    interactions = models.PositiveIntegerField(_("replies to the customer"), default=0)
    reopened_count = models.PositiveIntegerField(_("times reopened"), default=0)
    fcr = models.BooleanField(_("resolved at first contact"), default=False)
    search_text = models.TextField(_("search text"), blank=True, default="")
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "resolution_due"], name="helpdesk_ticket_status_due_idx"),
            models.Index(fields=["assignee", "status"], name="helpdesk_ticket_assignee_idx"),
            models.Index(fields=["team", "status"], name="helpdesk_ticket_team_idx"),
            models.Index(fields=["customer", "opened_at"], name="helpdesk_ticket_customer_idx"),
            models.Index(fields=["category", "opened_at"], name="helpdesk_ticket_category_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="helpdesk_ticket_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"[#{self.pk}] {self.subject}"


class Message(models.Model):
    """One message of a ticket's conversation: from the customer, to the customer, or an internal note."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="messages"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    direction = models.CharField(_("direction"), max_length=10, choices=MessageDirection.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=TicketChannel.choices, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("text"))
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    to_address = models.CharField(_("to"), max_length=254, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=250, blank=True, db_index=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=250, blank=True)
    references = models.TextField(_("References"), blank=True)
    delivery_status = models.CharField(_("delivery"), max_length=20, blank=True)  # sent / failed / ""

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} · {self.get_direction_display()}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"helpdesk/{instance.message.ticket_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=300)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class Playbook(TimeStampedModel):
    """The standard handling procedure of a category: steps to tick, who to involve, canned replies."""

    category = models.OneToOneField(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="playbook"
    )
    steps = models.JSONField(_("steps"), default=list, blank=True)  # ["Xác minh đơn hàng", …]
    involve = models.CharField(_("who to involve"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")

    def __str__(self) -> str:
        return str(self.category)


class CannedReply(TimeStampedModel):
    """A reply with placeholders ({salutation}, {given_name}, {full_name}, {ticket}, {agent_name})."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
    )
    language = models.CharField(_("language"), max_length=5, default="vi")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class StepCheck(models.Model):
    """A playbook step ticked on a ticket (who and when)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="step_checks"
    )
    step = models.PositiveSmallIntegerField(_("step"))
    text = models.CharField(_("step text"), max_length=300)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done_at = models.DateTimeField(_("done at"), default=timezone.now)

    class Meta:
        verbose_name = _("step done")
        verbose_name_plural = _("steps done")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "step"], name="helpdesk_step_once_per_ticket")
        ]

    def __str__(self) -> str:
        return self.text


class TicketEvent(models.Model):
    """The ticket's log: status changes, assignments, SLA warnings/breaches, escalations, playbook steps."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="events"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    from_value = models.CharField(_("from"), max_length=100, blank=True)
    to_value = models.CharField(_("to"), max_length=100, blank=True)
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
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="helpdesk_event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class AgentProfile(models.Model):
    """What a care agent can take: skills (matched against a category's skills) and a cap on open tickets."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="agent_profile",
    )
    skills = models.JSONField(_("skills"), default=list, blank=True)
    max_open_tickets = models.PositiveIntegerField(_("max open tickets"), null=True, blank=True)
    takes_tickets = models.BooleanField(_("takes new tickets"), default=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


class TeamRotation(models.Model):
    """How a care team hands out new tickets among agents on shift, and the rotation state
    (see careline.sales.allocation.Rotation — the same fair rotation as lead allocation)."""

    team = models.OneToOneField(
        "accounts.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+"
    )
    strategy = models.CharField(
        _("strategy"),
        max_length=20,
        choices=[("round_robin", _("Round-robin")), ("least_loaded", _("Least-loaded"))],
        default="least_loaded",
    )
    rotation = models.JSONField(_("rotation state"), default=dict, blank=True)

    class Meta:
        verbose_name = _("team rotation")
        verbose_name_plural = _("team rotations")

    def __str__(self) -> str:
        return str(self.team)


class HelpdeskMailbox(TimeStampedModel):
    """An IMAP inbox polled for tickets (careline/helpdesk/mail.py): a new mail opens a ticket with channel
    `email`, a reply (In-Reply-To/References of one of our messages, or `[#123]` in the subject) is added to
    its ticket. Separate from the sales inboxes: those make inquiries, these make tickets."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    host = models.CharField(_("IMAP host"), max_length=200)
    port = models.PositiveIntegerField(_("port"), default=993)
    use_ssl = models.BooleanField(_("SSL/TLS"), default=True)
    username = models.CharField(_("user name"), max_length=200)
    password = models.CharField(_("password"), max_length=200)
    folder = models.CharField(_("folder"), max_length=100, default="INBOX")
    active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(
        _("kind of new tickets"), max_length=10, choices=TicketKind.choices, default=TicketKind.INQUIRY
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category of new tickets"),
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
    last_uid = models.PositiveBigIntegerField(_("last message UID read"), default=0)
    uid_validity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("helpdesk mailbox")
        verbose_name_plural = _("helpdesk mailboxes")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
