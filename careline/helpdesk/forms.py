"""Forms of the helpdesk pages (validation of shapes only; the rules live in services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from careline.helpdesk.choices import Priority, TicketChannel, TicketKind

AGENT_CHANNELS = [
    (TicketChannel.HOTLINE, TicketChannel.HOTLINE.label),
    (TicketChannel.WALK_IN, TicketChannel.WALK_IN.label),
    (TicketChannel.EMAIL, TicketChannel.EMAIL.label),
    (TicketChannel.ZALO, TicketChannel.ZALO.label),
    (TicketChannel.FACEBOOK, TicketChannel.FACEBOOK.label),
]


class MultiFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiFileField(forms.FileField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultiFileInput(attrs={"class": "form-control form-control-sm"}))
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self, data: object, initial: object = None) -> list[object]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control", "id": "reply-body"}),
    )
    internal = forms.BooleanField(label=_("Internal note"), required=False)
    attachments = MultiFileField(label=_("Attachments"), required=False)


class TicketNewForm(forms.Form):
    customer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=AGENT_CHANNELS, initial=TicketChannel.HOTLINE)
    kind = forms.ChoiceField(label=_("Kind"), choices=TicketKind.choices, initial=TicketKind.INQUIRY)
    category_id = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False, empty_value=None)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("Category default")), *Priority.choices], required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=250)
    message = forms.CharField(
        label=_("What the customer said"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, *args: object, categories: list[tuple[int, str]] = (), **kwargs: object) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["category_id"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]
        for name, field in self.fields.items():
            if name == "customer_id":
                continue
            css = (
                "form-select form-select-sm"
                if isinstance(field, forms.ChoiceField)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent_id = forms.TypedChoiceField(label=_("Parent"), coerce=int, required=False, empty_value=None)
    default_priority = forms.ChoiceField(
        label=_("Default priority"), choices=[("", "—"), *Priority.choices], required=False
    )
    skills = forms.CharField(label=_("Skills (comma separated)"), required=False)

    def __init__(self, *args: object, categories: list[tuple[int, str]] = (), **kwargs: object) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["parent_id"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]


class SlaPolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("Any")), *Priority.choices], required=False
    )
    first_response_minutes = forms.IntegerField(label=_("First response (business minutes)"), min_value=1)
    resolution_minutes = forms.IntegerField(label=_("Resolution (business minutes)"), min_value=1)
    warn_before_minutes = forms.IntegerField(label=_("Warn before breach (minutes)"), min_value=0, initial=30)


class PlaybookForm(forms.Form):
    category_id = forms.TypedChoiceField(label=_("Category"), coerce=int)
    steps = forms.CharField(label=_("Steps (one a line)"), widget=forms.Textarea(attrs={"rows": 6}))
    involve = forms.CharField(label=_("Who to involve"), required=False)

    def __init__(self, *args: object, categories: list[tuple[int, str]] = (), **kwargs: object) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["category_id"].choices = list(categories)  # type: ignore[attr-defined]


class CannedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}))
    category_id = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: object, categories: list[tuple[int, str]] = (), **kwargs: object) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["category_id"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]
