from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Where an inquiry came in. Values match `customers.choices.Source` where both exist."""

    WEB = "web", _("Web form")
    HOTLINE = "hotline", _("Hotline")
    EMAIL = "email", _("Email")
    ZALO = "zalo", "Zalo"
    FACEBOOK = "facebook", "Facebook"
    MARKETPLACE = "marketplace", _("Marketplace")
    API = "api", "API"


class InquiryStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for allocation")
    ASSIGNED = "assigned", _("Assigned")
    CONTACTED = "contacted", _("Contacted")
    CLOSED = "closed", _("Closed")
    SPAM = "spam", _("Spam")


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin in a fixed order")
    WEIGHTED = "weighted", _("Weighted by capacity")
    LEAST_LOADED = "least_loaded", _("Least-loaded")


class AssignmentReason(models.TextChoices):
    RULE = "rule", _("Allocation rule")
    MANUAL = "manual", _("Assigned by a supervisor")
    EXISTING_OWNER = "existing_owner", _("Existing customer's owner")
    RECLAIM = "reclaim", _("Reclaimed: no activity in time")
    RELEASE = "release", _("Returned to the queue")


class AbsenceKind(models.TextChoices):
    LEAVE = "leave", _("Leave")
    SICK = "sick", _("Sick leave")
    TRAINING = "training", _("Training / off-site")
    OTHER = "other", _("Other")


class ConnectorKind(models.TextChoices):
    """Who posts to a signed webhook endpoint."""

    ZALO = "zalo", "Zalo OA"
    FACEBOOK = "facebook", "Facebook"
    MARKETPLACE = "marketplace", _("Marketplace")
    HOTLINE = "hotline", _("Hotline / call centre")
    OTHER = "other", _("Other")


class IntakeDestination(models.TextChoices):
    """What a web form or a webhook connector makes of what it receives."""

    LEAD = "lead", _("Lead (sales)")
    TICKET = "ticket", _("Customer-care ticket")
