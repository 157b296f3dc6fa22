from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("CSAT (1–5)")
    NPS = "nps", _("NPS (0–10)")
    CES = "ces", _("Customer effort (1–7)")
    CUSTOM = "custom", _("Custom questions")


class Trigger(models.TextChoices):
    TICKET_RESOLVED = "ticket_resolved", _("When a ticket is resolved")
    SCHEDULE = "schedule", _("On a schedule, to a segment")
    MANUAL = "manual", _("Sent or recorded by staff")


class InvitationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    LINK = "link", _("Link (Zalo/SMS)")
    AGENT = "agent", _("Recorded by an agent after a call")
