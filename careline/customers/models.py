"""Client cards: people and organisations, their phones and emails, consent, notes and tags."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from careline.core.models import TimeStampedModel
from careline.customers.choices import (
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    ContactKind,
    ContactLabel,
    CustomerKind,
    PriceType,
    Salutation,
    Source,
    Stage,
    Tier,
)


class Tag(models.Model):
    """A free label staff put on customers ("IELTS", "phụ huynh", "VIP 2026")."""

    name = models.CharField(_("name"), max_length=50)
    name_folded = models.CharField(_("folded name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name_folded", "id"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    """A client card: a person or an organisation the team sells to or takes care of.

    Ownership (owner, team, branch) decides who sees it. `search_text` is the folded text the search
    box matches; services keep it current (see `customers.search.customer_search_text`).
    """

    kind = models.CharField(
        _("kind"), max_length=12, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    full_name = models.CharField(_("full name"), max_length=200)
    given_name = models.CharField(_("given name"), max_length=60, blank=True)
    salutation = models.CharField(_("salutation"), max_length=5, choices=Salutation.choices, blank=True)
    organization = models.ForeignKey(
        "self",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_persons",
        limit_choices_to={"kind": CustomerKind.ORGANIZATION},
        db_index=False,  # a partial index in Meta (almost always NULL)
    )
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    lunar_birthday = models.BooleanField(_("celebrates lunar birthday"), default=False)
    founded_on = models.DateField(_("founding / opening date"), null=True, blank=True)
    tax_code = models.CharField(_("tax code (MST)"), max_length=14, blank=True)  # indexed in Meta
    province = models.CharField(_("province / city"), max_length=2, blank=True)  # indexed in Meta
    ward = models.CharField(_("ward / commune"), max_length=100, blank=True)
    street = models.CharField(_("street address"), max_length=255, blank=True)
    legacy_address = models.CharField(_("address (as written before 2025)"), max_length=255, blank=True)
    tier = models.CharField(_("segment / tier"), max_length=10, choices=Tier.choices, blank=True)
    stage = models.CharField(
        _("stage"), max_length=10, choices=Stage.choices, default=Stage.LEAD
    )  # indexed in Meta
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
        db_index=False,  # (owner, stage) in Meta leads with it
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # (team, stage) in Meta leads with it
    )
    branch = models.ForeignKey(
        "accounts.Branch",
        verbose_name=_("branch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # (branch, stage) in Meta leads with it
    )
    contract_terms = models.TextField(_("contract terms"), blank=True)
    price_type = models.CharField(_("price type"), max_length=10, choices=PriceType.choices, blank=True)
    receivable_amount = models.BigIntegerField(_("receivables (VND)"), default=0)
    receivable_due = models.DateField(_("receivables due"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    external_ref = models.CharField(_("external id"), max_length=64, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)  # partial index in Meta
    # Set when this card was merged into another (it is archived then); see services.customer_merge.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        db_index=False,  # a partial index in Meta (almost always NULL)
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # only read on the card; deleting a user (rare) may scan
    )
    # Denormalised search and sort columns, maintained by services (also in bulk paths).
    name_folded = models.CharField(_("folded name"), max_length=200, blank=True, editable=False)
    given_folded = models.CharField(_("folded given name"), max_length=60, blank=True, editable=False)
    search_text = models.TextField(_("search text"), blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["search_text", "name_folded", "given_folded"])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["given_folded", "name_folded", "id"]
        indexes = [
            models.Index(fields=["given_folded", "name_folded", "id"], name="customers_sort_name_idx"),
            models.Index(fields=["owner", "stage"], name="customers_owner_stage_idx"),
            models.Index(fields=["team", "stage"], name="customers_team_stage_idx"),
            models.Index(fields=["branch", "stage"], name="customers_branch_stage_idx"),
            models.Index(fields=["name_folded"], name="customers_name_folded_idx"),
            # Plain btrees (no varchar_pattern_ops twin: these are matched with =, never LIKE).
            models.Index(fields=["stage"], name="customers_stage_idx"),
            models.Index(fields=["tax_code"], name="customers_tax_code_idx"),
            models.Index(fields=["province"], name="customers_province_idx"),
            # Columns that are almost always NULL: index only the rows that have a value.
            models.Index(
                fields=["archived_at"],
                name="customers_archived_idx",
                condition=models.Q(archived_at__isnull=False),
            ),
            models.Index(
                fields=["organization"],
                name="customers_organization_idx",
                condition=models.Q(organization__isnull=False),
            ),
            models.Index(
                fields=["merged_into"],
                name="customers_merged_into_idx",
                condition=models.Q(merged_into__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(receivable_amount__gte=-(10**15))
                & models.Q(receivable_amount__lte=10**15),
                name="customers_customer_receivable_range",
                violation_error_message=_("Receivables are out of range."),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def greeting_name(self) -> str:
        """ "chị Lan", "anh Minh" — for greetings and care messages."""
        label = Salutation(self.salutation).label if self.salutation else ""
        return f"{label} {self.given_name}".strip() if self.kind == CustomerKind.PERSON else self.full_name


class ContactPoint(models.Model):
    """A phone number (stored E.164) or an email address (lower-case) of a customer, with a label."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="contact_points",
        db_index=False,  # the unique (customer, kind, value) leads with it
    )
    kind = models.CharField(_("kind"), max_length=5, choices=ContactKind.choices)
    value = models.CharField(_("value"), max_length=254)
    label = models.CharField(
        _("label"), max_length=10, choices=ContactLabel.choices, default=ContactLabel.MOBILE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["customer_id", "kind", "position", "id"]
        indexes = [models.Index(fields=["kind", "value"], name="customers_contact_value_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "value"], name="customers_contactpoint_unique_per_customer"
            ),
        ]

    def __str__(self) -> str:
        return self.value


class Consent(models.Model):
    """One consent decision (granted or withdrawn) for a purpose — an append-only ledger.

    The current state for a purpose is the latest row; rows are never edited (Law 91/2025: verifiable
    consent, withdrawal as easy as granting).
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=12, choices=ConsentPurpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    method = models.CharField(_("how"), max_length=12, choices=ConsentMethod.choices)
    evidence = models.CharField(_("evidence"), max_length=255, blank=True)
    given_at = models.DateTimeField(_("when"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["customer_id", "purpose", "-given_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "purpose", "-given_at"], name="customers_consent_latest_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose} {self.status}"


class Note(TimeStampedModel):
    """A note a staff member wrote on a customer card."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("note"))

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:50]
