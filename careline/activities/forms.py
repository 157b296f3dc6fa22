"""Web forms for logging activities, sending emails, filtering lists and editing email templates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from careline.activities.choices import ActivityKind

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


class LogForm(forms.Form):
    """The card's log bar: one form for every kind (the bar shows the fields each kind uses)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    outcome = forms.CharField(label=_("Outcome"), max_length=16, required=False)
    occurred_at = forms.DateTimeField(label=_("When"), required=False, input_formats=DATETIME_FORMATS)
    due_at = forms.DateTimeField(label=_("Due"), required=False, input_formats=DATETIME_FORMATS)
    remind_at = forms.DateTimeField(label=_("Remind at"), required=False, input_formats=DATETIME_FORMATS)
    duration_minutes = forms.DecimalField(
        label=_("Duration (minutes)"), required=False, min_value=Decimal(0), max_value=Decimal(1440)
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=10_000, required=False, widget=forms.Textarea)
    follow_up_id = forms.IntegerField(required=False, min_value=1)

    def service_kwargs(self) -> dict[str, Any]:
        cd = self.cleaned_data
        minutes = cd.get("duration_minutes")
        return {
            "kind": cd["kind"],
            "outcome": cd.get("outcome") or "",
            "occurred_at": cd.get("occurred_at"),
            "due_at": cd.get("due_at"),
            "remind_at": cd.get("remind_at"),
            "duration_seconds": int(minutes * 60) if minutes is not None else None,
            "subject": cd.get("subject") or "",
            "notes": cd.get("notes") or "",
            "follow_up_id": cd.get("follow_up_id"),
        }


class QuickCallForm(LogForm):
    """One-click call outcome from a "My day" row (always a call)."""

    kind = forms.ChoiceField(choices=[(ActivityKind.CALL, ActivityKind.CALL.label)], required=False)

    def clean_kind(self) -> str:
        return ActivityKind.CALL


class EmailForm(forms.Form):
    template_id = forms.IntegerField(label=_("Template"), required=False, min_value=1)
    to = forms.CharField(label=_("To"), max_length=254, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Message"), max_length=50_000, required=False, widget=forms.Textarea)
    action = forms.ChoiceField(choices=[("send", "send"), ("log", "log")], required=False)


class ActivityFilterForm(forms.Form):
    owner = forms.TypedChoiceField(label=_("Staff"), required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    date = forms.DateField(label=_("Date"), required=False, input_formats=DATE_FORMATS)
    open = forms.BooleanField(label=_("Open follow-ups"), required=False)
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_field: Any = self.fields["owner"]
        owner_field.choices = [("", _("Everyone"))] + [(u.pk, str(u)) for u in owners]
        kind_field: Any = self.fields["kind"]
        kind_field.choices = [("", _("All kinds")), *ActivityKind.choices]


class EmailTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), max_length=50_000, widget=forms.Textarea(attrs={"rows": 8}))
    language = forms.ChoiceField(label=_("Language"), choices=[("vi", "Tiếng Việt"), ("en", "English")])
    marketing = forms.BooleanField(
        label=_("Marketing email (only to customers who agreed to marketing)"), required=False
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
