"""Translated labels of the import targets (imports.mapping is Django-free and keeps English labels)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from careline.imports.mapping import TARGETS

TARGET_LABELS = {
    "full_name": _("Full name"),
    "last_name": _("Last name (family name)"),
    "middle_name": _("Middle name"),
    "first_name": _("First name (given name)"),
    "company": _("Company"),
    "kind": _("Kind (person / organisation)"),
    "salutation": _("Salutation"),
    "phone": _("Phone"),
    "email": _("Email"),
    "birthday": _("Birthday"),
    "lunar_birthday": _("Birthday is in the lunar calendar"),
    "address": _("Address (free text)"),
    "street": _("House number and street"),
    "ward": _("Ward / commune"),
    "province": _("Province / city"),
    "tax_code": _("Tax code"),
    "job_title": _("Job title"),
    "stage": _("Stage"),
    "source": _("Source"),
    "tier": _("Tier"),
    "price_type": _("Price type"),
    "tags": _("Tags"),
    "note": _("Note"),
    "external_ref": _("ID in the other system"),
    "receivable_amount": _("Receivable (VND)"),
    "receivable_due": _("Receivable due date"),
    "ignore": _("(ignore this column)"),
}


def target_choices() -> list[tuple[str, str]]:
    """(key, label in the active language) for every import target, in the engine's order."""
    return [(key, str(TARGET_LABELS.get(key, label))) for key, label in TARGETS.items()]
