"""Web forms for the survey pages. They parse input; services and selectors decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from careline.customers.choices import Source, Stage
from careline.surveys.choices import InvitationChannel, SurveyKind, Trigger
from careline.web.forms import DateRangeForm, id_field, set_choices, small_select

BANDS = [
    ("", _("All answers")),
    ("promoter", _("Promoters / satisfied")),
    ("passive", _("Passives / neutral")),
    ("detractor", _("Detractors / unhappy")),
]


RESULT_KINDS = [
    (SurveyKind.CSAT, "CSAT"),
    (SurveyKind.NPS, "NPS"),
    (SurveyKind.CES, "CES"),
    (SurveyKind.CUSTOM, _("Custom")),
]


class ResultsFilterForm(DateRangeForm):
    kind = forms.ChoiceField(
        label=_("Survey kind"), choices=RESULT_KINDS, required=False, widget=small_select(RESULT_KINDS)
    )
    survey = id_field(_("Survey"))
    team = id_field(_("Team"))
    field_order = ["kind", "survey", "team", "start", "end"]

    def __init__(self, *args: Any, surveys: Any = (), teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(
            self.fields["survey"], [("", _("All surveys of this kind"))] + [(s.pk, s.name) for s in surveys]
        )
        set_choices(self.fields["team"], [("", _("All teams"))] + [(t.pk, str(t)) for t in teams])


class ResponseFilterForm(DateRangeForm):
    kind = forms.ChoiceField(
        label=_("Survey kind"),
        required=False,
        choices=[("", _("All kinds")), *RESULT_KINDS],
        widget=small_select(),
    )
    survey = id_field(_("Survey"))
    band = forms.ChoiceField(label=_("Answer"), required=False, choices=BANDS, widget=small_select())
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("All channels")), *InvitationChannel.choices],
        widget=small_select(),
    )
    team = id_field(_("Team"))
    customer = id_field(_("Customer"), hidden=True)
    ticket = id_field(_("Ticket"), hidden=True)
    with_reason = forms.BooleanField(
        label=_("With a reason only"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    field_order = [
        "kind",
        "survey",
        "band",
        "channel",
        "team",
        "start",
        "end",
        "with_reason",
        "customer",
        "ticket",
    ]

    def __init__(self, *args: Any, surveys: Any = (), teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget.choices = self.fields["kind"].choices  # type: ignore[attr-defined]
        self.fields["band"].widget.choices = self.fields["band"].choices  # type: ignore[attr-defined]
        self.fields["channel"].widget.choices = self.fields["channel"].choices  # type: ignore[attr-defined]
        set_choices(self.fields["survey"], [("", _("All surveys"))] + [(s.pk, s.name) for s in surveys])
        set_choices(self.fields["team"], [("", _("All teams"))] + [(t.pk, str(t)) for t in teams])


_SCALE = re.compile(r"^scale\s*(\d{1,2})\s*[-–]\s*(\d{1,2})$", re.IGNORECASE)


def parse_questions(text: str) -> list[dict[str, Any]]:
    """One question per line: `Question text`, `Question | scale 1-5` or `Question | choice: A; B; C`; a
    trailing `*` on the text marks it required. Lines that cannot be read become text questions."""
    out: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        label, _sep, spec = line.partition("|")
        label = label.strip()
        required = label.endswith("*")
        label = label.rstrip("*").strip()
        spec = spec.strip()
        if spec.endswith("*"):
            required, spec = True, spec.rstrip("*").strip()
        question: dict[str, Any] = {"label": label, "type": "text", "required": required}
        if spec.lower().startswith("choice"):
            options = spec.split(":", 1)[1] if ":" in spec else ""
            question.update(type="choice", options=[o.strip() for o in options.split(";") if o.strip()])
        elif m := _SCALE.match(spec):
            question.update(type="scale", min=int(m.group(1)), max=int(m.group(2)))
        out.append(question)
    return out


def format_questions(questions: list[dict[str, Any]]) -> str:
    lines = []
    for q in questions or []:
        label = q.get("label", "") + (" *" if q.get("required") else "")
        if q.get("type") == "choice":
            lines.append(f"{label} | choice: {'; '.join(q.get('options', []))}")
        elif q.get("type") == "scale":
            lines.append(f"{label} | scale {q.get('min', 1)}-{q.get('max', 5)}")
        else:
            lines.append(label)
    return "\n".join(lines)


class SurveyForm(forms.Form):
    """Create or edit a survey; the segment fields are the customer list's filters."""

    name = forms.CharField(
        label=_("Name"), max_length=120, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=SurveyKind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    trigger = forms.ChoiceField(
        label=_("Sent"),
        choices=Trigger.choices,
        initial=Trigger.MANUAL,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    question = forms.CharField(
        label=_("Question"),
        max_length=300,
        required=False,
        help_text=_("Leave empty for the standard question of the kind (asked in the customer's language)."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    questions = forms.CharField(
        label=_("Custom questions"),
        required=False,
        max_length=10_000,
        help_text=_(
            "One per line: “Question”, “Question | scale 1-5” or “Question | choice: A; B; C”; end the question with * when an answer is required."
        ),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )
    every_days = forms.IntegerField(
        label=_("Repeat every (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Scheduled surveys: a customer is asked again after this many days at the earliest."),
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1}),
    )
    segment_stage = forms.ChoiceField(
        label=_("Stage"),
        required=False,
        choices=[("", _("Any stage")), *Stage.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    segment_source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[("", _("Any source")), *Source.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    segment_team = forms.TypedChoiceField(
        label=_("Team"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    segment_branch = forms.TypedChoiceField(
        label=_("Branch"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    segment_tag = forms.CharField(
        label=_("Tag"), max_length=50, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    segment_province = forms.CharField(
        label=_("Province code"),
        max_length=2,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args: Any, teams: Any = (), branches: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_choices = [("", _("Any team"))] + [(t.pk, str(t)) for t in teams]
        branch_choices = [("", _("Any branch"))] + [(b.pk, str(b)) for b in branches]
        self.fields["segment_team"].choices = team_choices  # type: ignore[attr-defined]
        self.fields["segment_branch"].choices = branch_choices  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(survey: Any) -> dict[str, Any]:
        segment = survey.segment or {}
        return {
            "name": survey.name,
            "kind": survey.kind,
            "trigger": survey.trigger,
            "active": survey.active,
            "question": survey.question,
            "questions": format_questions(survey.questions),
            "every_days": survey.every_days,
            **{
                f"segment_{k}": segment.get(k, "")
                for k in ("stage", "source", "team", "branch", "tag", "province")
            },
        }

    def service_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        segment = {
            k: cd.get(f"segment_{k}")
            for k in ("stage", "source", "team", "branch", "tag", "province")
            if cd.get(f"segment_{k}") not in (None, "")
        }
        return {
            "name": cd["name"],
            "kind": cd["kind"],
            "trigger": cd["trigger"],
            "active": bool(cd.get("active")),
            "question": cd.get("question") or "",
            "questions": parse_questions(cd.get("questions") or ""),
            "every_days": cd.get("every_days"),
            "segment": segment,
        }


class RecordForm(forms.Form):
    """An agent records an answer heard on the phone."""

    survey = forms.TypedChoiceField(
        label=_("Survey"), coerce=int, widget=forms.Select(attrs={"class": "form-select"})
    )
    customer = forms.IntegerField(min_value=1, max_value=2**62, required=False, widget=forms.HiddenInput())
    ticket = forms.IntegerField(min_value=1, max_value=2**62, required=False, widget=forms.HiddenInput())
    score = forms.IntegerField(label=_("Score"), required=False, min_value=0, max_value=10)
    reason = forms.CharField(
        label=_("Reason the customer gave"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )

    def __init__(self, *args: Any, surveys: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].choices = [(s.pk, f"{s.name} ({s.get_kind_display()})") for s in surveys]  # type: ignore[attr-defined]


class InviteForm(forms.Form):
    survey = forms.TypedChoiceField(
        label=_("Survey"), coerce=int, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    channel = forms.ChoiceField(
        label=_("Send"),
        choices=[
            (InvitationChannel.EMAIL, _("By email")),
            (InvitationChannel.LINK, _("As a link to share (Zalo/SMS)")),
        ],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    customer = forms.IntegerField(min_value=1, max_value=2**62, required=False, widget=forms.HiddenInput())
    ticket = forms.IntegerField(min_value=1, max_value=2**62, required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, surveys: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].choices = [(s.pk, f"{s.name} ({s.get_kind_display()})") for s in surveys]  # type: ignore[attr-defined]
