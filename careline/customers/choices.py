from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANIZATION = "organization", _("Organisation")


class Salutation(models.TextChoices):
    """How staff address the customer ("Chào anh Minh"); stored rather than guessed from gender."""

    NONE = "", _("(none)")
    ANH = "anh", "Anh"
    CHI = "chi", "Chị"
    EM = "em", "Em"
    CO = "co", "Cô"
    CHU = "chu", "Chú"
    BAC = "bac", "Bác"
    ONG = "ong", "Ông"
    BA = "ba", "Bà"
    BAN = "ban", "Bạn"


class Stage(models.TextChoices):
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    INACTIVE = "inactive", _("Inactive")


class Source(models.TextChoices):
    WEB = "web", _("Website")
    HOTLINE = "hotline", _("Hotline")
    ZALO = "zalo", "Zalo"
    FACEBOOK = "facebook", "Facebook"
    MARKETPLACE = "marketplace", _("Marketplace")
    REFERRAL = "referral", _("Referral")
    WALK_IN = "walk_in", _("Walk-in")
    EVENT = "event", _("Event")
    EMAIL = "email", _("Email")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Tier(models.TextChoices):
    NONE = "", _("(none)")
    VIP = "vip", "VIP"
    GOLD = "gold", _("Gold")
    SILVER = "silver", _("Silver")
    STANDARD = "standard", _("Standard")


class PriceType(models.TextChoices):
    NONE = "", _("(none)")
    RETAIL = "retail", _("Retail")
    WHOLESALE = "wholesale", _("Wholesale")
    AGENT = "agent", _("Agent / distributor")
    CONTRACT = "contract", _("Contract price")


class ContactKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")


class ContactLabel(models.TextChoices):
    MOBILE = "mobile", pgettext_lazy("phone label", "Mobile")
    HOME = "home", pgettext_lazy("phone label", "Home")
    WORK = "work", pgettext_lazy("phone label", "Work")
    ZALO = "zalo", "Zalo"
    OTHER = "other", _("Other")


class ConsentPurpose(models.TextChoices):
    CARE_CALLS = "care_calls", _("Care calls")
    MARKETING = "marketing", _("Marketing")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentMethod(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    PHONE_CALL = "phone_call", _("Phone call (recorded)")
    PAPER = "paper", _("Signed paper form")
    ZALO = "zalo", _("Zalo message")
    EMAIL = "email", _("Email")
    IN_PERSON = "in_person", _("In person")
