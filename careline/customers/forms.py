"""Web forms for client cards. They parse input; customers.services validates and writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from careline.customers.choices import (
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    ContactLabel,
    CustomerKind,
    PriceType,
    Salutation,
    Source,
    Stage,
    Tier,
)
from careline.vn import province_choices, wards_of


def ward_choices(province_code: str) -> list[tuple[str, str]]:
    """Options of the ward select for a province (full names are stored)."""
    return [("", "—")] + [(w.name, w.name) for w in wards_of(province_code)]


# Dates are typed day first (ARCHITECTURE §5) whatever the UI language; ISO is accepted too.
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]


def _date_widget() -> forms.DateInput:
    return forms.DateInput(format="%d/%m/%Y", attrs={"placeholder": "dd/mm/yyyy"})


def _with_blank(choices: Any, label: str = "—") -> list[tuple[str, str]]:
    return [("", label)] + [(v, lbl) for v, lbl in choices if v != ""]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    stage = forms.ChoiceField(required=False, choices=[], label=_("Stage"))
    owner = forms.ChoiceField(required=False, choices=[], label=_("Owner"))
    team = forms.TypedChoiceField(required=False, choices=[], coerce=int, empty_value=None, label=_("Team"))
    branch = forms.TypedChoiceField(
        required=False, choices=[], coerce=int, empty_value=None, label=_("Branch")
    )
    tag = forms.CharField(required=False, max_length=50, label=_("Tag"))
    province = forms.ChoiceField(required=False, choices=[], label=_("Province"))
    source = forms.ChoiceField(required=False, choices=[], label=_("Source"))
    sort = forms.ChoiceField(required=False, choices=[], label=_("Sort"))
    archived = forms.BooleanField(required=False, label=_("Archived"))

    def __init__(
        self, *args: Any, owners: Any = (), teams: Any = (), branches: Any = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = _with_blank(Stage.choices, str(_("All stages")))
        self.fields["owner"].choices = [
            ("", str(_("Anyone"))),
            ("me", str(_("Me"))),
            ("none", str(_("Unassigned"))),
        ] + [(str(u.pk), str(u)) for u in owners]
        self.fields["team"].choices = [("", str(_("All teams")))] + [(t.pk, str(t)) for t in teams]
        self.fields["branch"].choices = [("", str(_("All branches")))] + [(b.pk, str(b)) for b in branches]
        self.fields["province"].choices = [("", str(_("All provinces")))] + province_choices()
        self.fields["source"].choices = _with_blank(Source.choices, str(_("All sources")))
        self.fields["sort"].choices = [
            ("name", _("Name A→Z")),
            ("-name", _("Name Z→A")),
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-updated", _("Recently changed")),
        ]


class CustomerForm(forms.Form):
    """The create/edit form. Phones and emails arrive as repeated inputs (`phone`, `phone_label`, `email`)."""

    kind = forms.ChoiceField(choices=CustomerKind.choices, label=_("Kind"), initial=CustomerKind.PERSON)
    full_name = forms.CharField(max_length=200, label=_("Full name"))
    salutation = forms.ChoiceField(
        choices=_with_blank(Salutation.choices), required=False, label=_("Salutation")
    )
    organization_id = forms.TypedChoiceField(
        required=False, choices=[], coerce=int, empty_value=None, label=_("Organisation")
    )
    job_title = forms.CharField(required=False, max_length=100, label=_("Job title"))
    birthday = forms.DateField(
        required=False, label=_("Birthday"), input_formats=DATE_INPUT_FORMATS, widget=_date_widget()
    )
    lunar_birthday = forms.BooleanField(required=False, label=_("Celebrates lunar birthday"))
    founded_on = forms.DateField(
        required=False,
        label=_("Founding / opening date"),
        input_formats=DATE_INPUT_FORMATS,
        widget=_date_widget(),
    )
    tax_code = forms.CharField(required=False, max_length=20, label=_("Tax code (MST)"))
    province = forms.ChoiceField(required=False, choices=[], label=_("Province / city"))
    ward = forms.ChoiceField(required=False, choices=[], label=_("Ward / commune"))
    street = forms.CharField(required=False, max_length=255, label=_("Street address"))
    legacy_address = forms.CharField(
        required=False, max_length=255, label=_("Address as written before 2025")
    )
    tier = forms.ChoiceField(choices=_with_blank(Tier.choices), required=False, label=_("Segment / tier"))
    stage = forms.ChoiceField(choices=Stage.choices, label=_("Stage"), initial=Stage.LEAD)
    source = forms.ChoiceField(choices=_with_blank(Source.choices), required=False, label=_("Source"))
    tags = forms.CharField(
        required=False, max_length=500, label=_("Tags"), help_text=_("Separate with commas")
    )
    owner_id = forms.TypedChoiceField(
        required=False, choices=[], coerce=int, empty_value=None, label=_("Owner")
    )
    price_type = forms.ChoiceField(
        choices=_with_blank(PriceType.choices), required=False, label=_("Price type")
    )
    contract_terms = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Contract terms")
    )
    receivable_amount = forms.IntegerField(required=False, label=_("Receivables (VND)"))
    receivable_due = forms.DateField(
        required=False,
        label=_("Receivables due"),
        input_formats=DATE_INPUT_FORMATS,
        widget=_date_widget(),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    allow_duplicate = forms.BooleanField(required=False, label=_("Create anyway (duplicate)"))

    FIELD_MAP = {"organization_id": "organization_id", "owner_id": "owner_id"}

    def __init__(self, *args: Any, owners: Any = (), organizations: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", "—")] + province_choices()
        province = (self.data.get("province") if self.is_bound else self.initial.get("province")) or ""
        self.fields["ward"].choices = ward_choices(str(province))
        self.fields["province"].widget.attrs.update(
            {
                "hx-get": reverse_lazy("customers:wards"),
                "hx-target": "#id_ward",
                "hx-trigger": "change",
                "hx-swap": "innerHTML",
            }
        )
        self.fields["owner_id"].choices = [("", str(_("Unassigned (team queue)")))] + [
            (u.pk, str(u)) for u in owners
        ]
        self.fields["organization_id"].choices = [("", "—")] + [(o.pk, o.full_name) for o in organizations]
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")
            widget.attrs.setdefault("id", f"id_{name}")

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_invalid()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self.mark_invalid()

    def mark_invalid(self) -> None:
        """Give fields with errors Bootstrap's `is-invalid` class so the problem is visible inline."""
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                if "is-invalid" not in css:
                    widget.attrs["class"] = f"{css} is-invalid".strip()

    def phones(self) -> list[dict[str, str]]:
        numbers = self.data.getlist("phone") if hasattr(self.data, "getlist") else []
        labels = self.data.getlist("phone_label") if hasattr(self.data, "getlist") else []
        out = []
        for i, number in enumerate(numbers):
            if number.strip():
                label = (
                    labels[i] if i < len(labels) and labels[i] in ContactLabel.values else ContactLabel.MOBILE
                )
                out.append({"number": number.strip(), "label": label})
        return out

    def emails(self) -> list[str]:
        values = self.data.getlist("email") if hasattr(self.data, "getlist") else []
        return [v.strip() for v in values if v.strip()]

    def service_data(self, *, include_owner: bool) -> dict[str, Any]:
        cd = self.cleaned_data
        data: dict[str, Any] = {
            k: cd.get(k)
            for k in (
                "kind",
                "full_name",
                "salutation",
                "organization_id",
                "job_title",
                "birthday",
                "lunar_birthday",
                "founded_on",
                "tax_code",
                "province",
                "ward",
                "street",
                "legacy_address",
                "tier",
                "stage",
                "source",
                "price_type",
                "contract_terms",
                "receivable_due",
            )
        }
        data["receivable_amount"] = cd.get("receivable_amount") or 0
        data["tags"] = [t.strip() for t in (cd.get("tags") or "").split(",") if t.strip()]
        data["phones"] = self.phones()
        data["emails"] = self.emails()
        if include_owner:
            data["owner_id"] = cd.get("owner_id")
        return data


class NoteForm(forms.Form):
    body = forms.CharField(
        max_length=10_000, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(
        choices=ConsentPurpose.choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    status = forms.ChoiceField(
        choices=ConsentStatus.choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    method = forms.ChoiceField(
        choices=ConsentMethod.choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    evidence = forms.CharField(
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
