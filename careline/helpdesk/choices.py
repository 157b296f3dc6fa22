from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    REQUEST = "request", _("Request")
    WARRANTY = "warranty", _("Warranty / maintenance claim")


class TicketChannel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    ZALO = "zalo", "Zalo"
    FACEBOOK = "facebook", "Facebook"
    MARKETPLACE = "marketplace", _("Marketplace")
    API = "api", "API"
    WALK_IN = "walk_in", _("In person")
    SURVEY = "survey", _("Survey follow-up")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING]


class MessageDirection(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")
    NOTE = "note", _("Internal note")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    PRIORITY = "priority", _("Priority changed")
    CATEGORY = "category", _("Category changed")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breached")
    ESCALATED = "escalated", _("Escalated")
    PLAYBOOK = "playbook", _("Playbook applied")
    STEP = "step", _("Playbook step done")
    MERGED = "merged", _("Merged")
