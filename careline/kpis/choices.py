from django.db import models
from django.utils.translation import gettext_lazy as _


class Period(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class QuotaKind(models.TextChoices):
    """What a quota counts: activities of one kind, or customers won (stage → customer) by the person."""

    CALL = "call", _("Calls")
    EMAIL = "email", _("Emails")
    MEETING = "meeting", _("Meetings")
    PROPOSAL = "proposal", _("Proposals sent")
    OFFER = "offer", _("Offers by phone")
    FOLLOW_UP = "follow_up", _("Follow-ups done")
    NEW_CUSTOMER = "new_customer", _("New contracts (customers won)")
