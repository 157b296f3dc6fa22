"""Web forms of the lead pages. They parse input; sales.services validates and writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careline.sales.choices import AbsenceKind, Channel, InquiryStatus, Strategy
from careline.vn import province_choices

# Dates are typed day first (ARCHITECTURE §5) whatever the UI language; ISO is accepted too.
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%Hh"]

# Languages offered for rules and rotation members (inquiries carry an ISO 639-1 code).
LANGUAGES: list[tuple[str, str]] = [
    ("vi", "Tiếng Việt"),
    ("en", "English"),
    ("zh", "中文"),
    ("ko", "한국어"),
    ("ja", "日本語"),
    ("fr", "Français"),
]

RECLAIM_UNITS = {"minutes": 1, "hours": 60, "days": 1440}


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of `form` (to set its choices at run time)."""
    return cast(forms.ChoiceField, form.fields[name])


def _date_widget() -> forms.DateInput:
    return forms.DateInput(
        format="%d/%m/%Y", attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "autocomplete": "off"}
    )


def _time_widget() -> forms.TimeInput:
    return forms.TimeInput(format="%H:%M", attrs={"type": "time"})


def split_list(text: str) -> list[str]:
    """ "IELTS, TOEIC;  giao tiếp" → ["IELTS", "TOEIC", "giao tiếp"] (commas or semicolons, blanks dropped)."""
    out: list[str] = []
    for piece in (text or "").replace(";", ",").split(","):
        piece = " ".join(piece.split())
        if piece and piece not in out:
            out.append(piece)
    return out


def _language_choices(extra: Iterable[str] = ()) -> list[tuple[str, str]]:
    known = dict(LANGUAGES)
    return LANGUAGES + [(code, code) for code in extra if code and code not in known]


class BootstrapMixin:
    """Bootstrap classes on every widget and `is-invalid` on fields with errors."""

    fields: dict[str, forms.Field]

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-check-input")
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")

    def mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                if "is-invalid" not in css:
                    widget.attrs["class"] = f"{css} is-invalid".strip()


class LeadFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    status = forms.ChoiceField(required=False, choices=[], label=_("Status"))
    channel = forms.ChoiceField(required=False, choices=[], label=_("Channel"))
    owner = forms.TypedChoiceField(
        required=False, choices=[], coerce=int, empty_value=None, label=_("Consultant")
    )
    team = forms.TypedChoiceField(required=False, choices=[], coerce=int, empty_value=None, label=_("Team"))
    date = forms.DateField(
        required=False, label=_("Received on"), input_formats=DATE_INPUT_FORMATS, widget=_date_widget()
    )
    mine = forms.BooleanField(required=False, label=_("Mine only"))

    def __init__(self, *args: Any, owners: Iterable[Any] = (), teams: Iterable[Any] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _choices(self, "status").choices = [("", str(_("All statuses")))] + list(InquiryStatus.choices)
        _choices(self, "channel").choices = [("", str(_("All channels")))] + list(Channel.choices)
        _choices(self, "owner").choices = [("", str(_("Anyone")))] + [(u.pk, str(u)) for u in owners]
        _choices(self, "team").choices = [("", str(_("All teams")))] + [(t.pk, str(t)) for t in teams]
        self.style()


def _user_field(label: Any, *, required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(required=required, choices=[], coerce=int, empty_value=None, label=label)


def _user_choices(users: Iterable[Any], blank: str = "—") -> list[tuple[Any, str]]:
    choices: list[tuple[Any, str]] = [("", blank)]
    for u in users:
        team = f" · {u.team}" if getattr(u, "team", None) else ""
        choices.append((u.pk, f"{u}{team}"))
    return choices


class AssignForm(BootstrapMixin, forms.Form):
    user = _user_field(_("Assign to"))
    note = forms.CharField(required=False, max_length=300, label=_("Note"))

    def __init__(self, *args: Any, users: Iterable[Any] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _choices(self, "user").choices = _user_choices(users, str(_("Choose a person…")))
        self.style()


class BulkAssignForm(AssignForm):
    """The bulk bar of the list (rendered only; the view reads the posted ids and person itself)."""


class ReclaimForm(BootstrapMixin, forms.Form):
    note = forms.CharField(max_length=300, label=_("Reason"))
    reallocate = forms.BooleanField(required=False, initial=True, label=_("Give it to someone else now"))

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.style()


class CloseForm(BootstrapMixin, forms.Form):
    note = forms.CharField(required=False, max_length=300, label=_("Note"))


class RuleForm(BootstrapMixin, forms.Form):
    """An allocation rule's own fields (the rotation is `MemberFormSet`)."""

    name = forms.CharField(max_length=120, label=_("Name"))
    position = forms.IntegerField(
        min_value=0, initial=100, label=_("Order"), help_text=_("Rules are tried from the smallest number.")
    )
    active = forms.BooleanField(required=False, initial=True, label=_("Active"))
    team = forms.TypedChoiceField(choices=[], coerce=int, label=_("Team"))
    channels = forms.MultipleChoiceField(
        required=False, choices=Channel.choices, widget=forms.CheckboxSelectMultiple, label=_("Channels")
    )
    provinces = forms.MultipleChoiceField(
        required=False,
        choices=[],
        widget=forms.SelectMultiple(attrs={"size": 6}),
        label=_("Provinces / cities"),
    )
    products = forms.CharField(
        required=False,
        max_length=500,
        label=_("Product interests / skills"),
        help_text=_(
            "Keywords, separated by commas; accents optional. Matched in the product interest and the message."
        ),
    )
    languages = forms.MultipleChoiceField(
        required=False, choices=[], widget=forms.CheckboxSelectMultiple, label=_("Languages")
    )
    strategy = forms.ChoiceField(choices=Strategy.choices, initial=Strategy.ROUND_ROBIN, label=_("Strategy"))
    reclaim_after = forms.IntegerField(
        required=False, min_value=1, label=_("Reclaim after"), help_text=_("Empty: never reclaim.")
    )
    reclaim_unit = forms.ChoiceField(
        choices=[("minutes", _("minutes")), ("hours", _("hours")), ("days", _("days"))],
        initial="hours",
        label=_("Unit"),
    )
    respect_working_hours = forms.BooleanField(
        required=False, initial=True, label=_("Only during working hours (working days)")
    )
    work_start = forms.TimeField(
        initial=dt.time(8, 0), input_formats=TIME_INPUT_FORMATS, widget=_time_widget(), label=_("From")
    )
    work_end = forms.TimeField(
        initial=dt.time(17, 30), input_formats=TIME_INPUT_FORMATS, widget=_time_widget(), label=_("Until")
    )

    # Form field → service field, for errors coming back from rule_save.
    SERVICE_FIELDS = {"team_id": "team", "reclaim_after_minutes": "reclaim_after"}

    def __init__(
        self, *args: Any, teams: Iterable[Any] = (), languages: Iterable[str] = (), **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        _choices(self, "team").choices = [("", "—")] + [(t.pk, f"{t} · {t.branch}") for t in teams]
        _choices(self, "provinces").choices = province_choices()
        _choices(self, "languages").choices = _language_choices(languages)
        self.style()

    @staticmethod
    def initial_from(rule: Any) -> dict[str, Any]:
        minutes = rule.reclaim_after_minutes
        unit = "minutes"
        if minutes and minutes % 1440 == 0:
            unit = "days"
        elif minutes and minutes % 60 == 0:
            unit = "hours"
        return {
            "name": rule.name,
            "position": rule.position,
            "active": rule.active,
            "team": rule.team_id,
            "channels": list(rule.channels or []),
            "provinces": list(rule.provinces or []),
            "products": ", ".join(rule.products or []),
            "languages": list(rule.languages or []),
            "strategy": rule.strategy,
            "reclaim_after": minutes // RECLAIM_UNITS[unit] if minutes else None,
            "reclaim_unit": unit if minutes else "hours",
            "respect_working_hours": rule.respect_working_hours,
            "work_start": rule.work_start,
            "work_end": rule.work_end,
        }

    def service_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        after = cd.get("reclaim_after")
        return {
            "name": cd["name"],
            "position": cd["position"],
            "active": bool(cd.get("active")),
            "team_id": cd["team"],
            "channels": list(cd.get("channels") or []),
            "provinces": list(cd.get("provinces") or []),
            "products": split_list(cd.get("products") or ""),
            "languages": list(cd.get("languages") or []),
            "strategy": cd["strategy"],
            "reclaim_after_minutes": after * RECLAIM_UNITS[cd["reclaim_unit"]] if after else None,
            "respect_working_hours": bool(cd.get("respect_working_hours")),
            "work_start": cd["work_start"],
            "work_end": cd["work_end"],
        }


class MemberForm(BootstrapMixin, forms.Form):
    """One person in a rule's rotation (a row of the members editor; a row without a person is ignored)."""

    user = _user_field(_("Consultant"), required=False)
    capacity = forms.IntegerField(
        required=False,
        min_value=1,
        label=_("Max open leads"),
        widget=forms.NumberInput(attrs={"placeholder": "∞"}),
    )
    skills = forms.CharField(required=False, max_length=300, label=_("Skills"))
    languages = forms.CharField(required=False, max_length=100, label=_("Languages"))
    active = forms.BooleanField(required=False, initial=True, label=_("In rotation"))

    def __init__(self, *args: Any, users: Iterable[Any] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _choices(self, "user").choices = _user_choices(users)
        self.fields["user"].widget.attrs["style"] = "min-width: 11rem"
        self.fields["skills"].widget.attrs["placeholder"] = "ielts, toeic"
        self.fields["languages"].widget.attrs["placeholder"] = "vi, en"
        self.style()

    def service_row(self) -> dict[str, Any] | None:
        cd = self.cleaned_data
        if not cd.get("user"):
            return None
        return {
            "user_id": cd["user"],
            "capacity": cd.get("capacity"),
            "skills": split_list(cd.get("skills") or ""),
            "languages": [code.lower() for code in split_list(cd.get("languages") or "")],
            "active": bool(cd.get("active")),
        }


MEMBER_PREFIX = "m"
_MemberFormSetBase = forms.formset_factory(MemberForm, extra=0, max_num=200, validate_max=True)


def member_formset(
    *,
    users: Iterable[Any],
    data: Mapping[str, Any] | None = None,
    initial: list[dict[str, Any]] | None = None,
) -> Any:
    users = list(users)
    return _MemberFormSetBase(data=data, initial=initial, prefix=MEMBER_PREFIX, form_kwargs={"users": users})


def member_initial(members: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {
            "user": m.user_id,
            "capacity": m.capacity,
            "skills": ", ".join(m.skills or []),
            "languages": ", ".join(m.languages or []),
            "active": m.active,
        }
        for m in members
    ]


def member_rows_raw(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The members editor's rows as posted (unvalidated), for moving a row or adding one without saving."""
    try:
        total = min(int(data.get(f"{MEMBER_PREFIX}-TOTAL_FORMS", 0)), 200)
    except (TypeError, ValueError):
        total = 0
    rows = []
    for i in range(total):
        p = f"{MEMBER_PREFIX}-{i}-"
        rows.append(
            {
                "user": data.get(p + "user") or "",
                "capacity": data.get(p + "capacity") or "",
                "skills": data.get(p + "skills") or "",
                "languages": data.get(p + "languages") or "",
                "active": bool(data.get(p + "active")),
            }
        )
    return rows


class AbsenceForm(BootstrapMixin, forms.Form):
    """Leave from a day (and time) to a day (and time): whole days when the times are left empty."""

    user = _user_field(_("Person"))
    kind = forms.ChoiceField(choices=AbsenceKind.choices, initial=AbsenceKind.LEAVE, label=_("Kind"))
    starts_on = forms.DateField(input_formats=DATE_INPUT_FORMATS, widget=_date_widget(), label=_("From"))
    starts_time = forms.TimeField(
        required=False, input_formats=TIME_INPUT_FORMATS, widget=_time_widget(), label=_("at")
    )
    ends_on = forms.DateField(input_formats=DATE_INPUT_FORMATS, widget=_date_widget(), label=_("Until"))
    ends_time = forms.TimeField(
        required=False,
        input_formats=TIME_INPUT_FORMATS,
        widget=_time_widget(),
        label=_("at"),
        help_text=_("Empty: to the end of that day."),
    )
    note = forms.CharField(required=False, max_length=200, label=_("Note"))

    def __init__(self, *args: Any, users: Iterable[Any] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _choices(self, "user").choices = _user_choices(users)
        self.style()

    def clean(self) -> dict[str, Any]:
        cd = super().clean() or {}
        if cd.get("starts_on") and cd.get("ends_on"):
            start = dt.datetime.combine(cd["starts_on"], cd.get("starts_time") or dt.time.min)
            if cd.get("ends_time"):
                end = dt.datetime.combine(cd["ends_on"], cd["ends_time"])
            else:
                end = dt.datetime.combine(cd["ends_on"] + dt.timedelta(days=1), dt.time.min)
            cd["starts_at"] = timezone.make_aware(start)
            cd["ends_at"] = timezone.make_aware(end)
            if cd["ends_at"] <= cd["starts_at"]:
                self.add_error("ends_on", _("The end must be after the start."))
        self.mark_invalid()
        return cd
