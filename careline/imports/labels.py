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


# What a problem in a column of this target means, in the user's language. The precise detail from the
# Django-free parsing layer (English) follows it.
PROBLEM_BY_TARGET = {
    "phone": _("Phone number not valid"),
    "email": _("Email not valid"),
    "birthday": _("Date not valid (write day/month/year)"),
    "receivable_due": _("Date not valid (write day/month/year)"),
    "province": _("Province / city not recognised"),
    "ward": _("Ward / commune not recognised"),
    "address": _("Address not recognised"),
    "tax_code": _("Tax code not valid"),
    "receivable_amount": _("Amount not valid"),
    "stage": _("Not one of the stages"),
    "source": _("Not one of the sources"),
    "salutation": _("Not one of the salutations"),
    "tier": _("Not one of the tiers"),
    "price_type": _("Not one of the price types"),
    "kind": _("Not person or organisation"),
}
SPECIAL_COLUMNS = {
    "(name)": _("Name missing or too long"),
    "(match)": _("Already in Careline"),
    "(update)": _("Could not update the existing customer"),
}


def localized_errors(
    errors: list[dict[str, object]], headers: list[str], columns: list[str]
) -> list[dict[str, object]]:
    """Row errors with a `summary` in the active language, from the target field of each column."""
    target_of = dict(zip(headers, columns, strict=False))
    out = []
    for err in errors:
        column = str(err.get("column", ""))
        summary = SPECIAL_COLUMNS.get(column) or PROBLEM_BY_TARGET.get(target_of.get(column, ""))
        out.append({**err, "summary": str(summary) if summary else ""})
    return out
