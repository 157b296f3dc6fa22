"""Form pieces the filter bars share: day-first date fields, small selects, id pickers and a from/to range."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# Dates are typed day first (ARCHITECTURE §5) whatever the UI language; ISO is accepted too.
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]


def date_field(label: Any) -> forms.DateField:
    """An optional day-first date (dd/mm/yyyy) in a small input."""
    return forms.DateField(
        required=False,
        label=label,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(
            format="%d/%m/%Y",
            attrs={
                "placeholder": "dd/mm/yyyy",
                "class": "form-control form-control-sm",
                "inputmode": "numeric",
            },
        ),
    )


def small_select(choices: Any = ()) -> forms.Select:
    return forms.Select(choices=choices, attrs={"class": "form-select form-select-sm"})


def id_field(label: Any, *, hidden: bool = False) -> forms.IntegerField:
    """An optional id picked from a select (or carried in a hidden input); ids outside the choices reach the
    selector, which answers 404."""
    widget: forms.Widget = forms.HiddenInput() if hidden else small_select()
    return forms.IntegerField(required=False, min_value=1, max_value=2**62, label=label, widget=widget)


def set_choices(field: forms.Field, choices: list[tuple[Any, Any]]) -> None:
    """The choices of an `id_field`'s select (the field itself stays an integer field)."""
    field.widget.choices = choices  # type: ignore[attr-defined]


class DateRangeForm(forms.Form):
    """`start` / `end` (both optional); an end before the start is an error on `end`."""

    start = date_field(_("From"))
    end = date_field(_("To"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            self.add_error("end", _("The end date is before the start date."))
        return data
