"""Web forms for quotas, the team board and call analysis. They parse input; services and selectors decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from careline.accounts.choices import RoleCode
from careline.kpis.choices import Period, QuotaKind
from careline.kpis.models import Quota
from careline.web.forms import DateRangeForm, date_field, id_field, set_choices, small_select


class BoardFilterForm(forms.Form):
    team = id_field(_("Team"))
    branch = id_field(_("Branch"))
    date = date_field(_("Date"))

    def __init__(self, *args: Any, teams: Any = (), branches: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self.fields["team"], [("", _("All teams"))] + [(t.pk, str(t)) for t in teams])
        set_choices(self.fields["branch"], [("", _("All branches"))] + [(b.pk, str(b)) for b in branches])


class CallFilterForm(DateRangeForm):
    user = id_field(_("Person"))
    team = id_field(_("Team"))
    field_order = ["user", "team", "start", "end"]

    def __init__(self, *args: Any, people: Any = (), teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self.fields["user"], [("", _("Everyone I can see"))] + [(u.pk, str(u)) for u in people])
        set_choices(self.fields["team"], [("", _("All teams"))] + [(t.pk, str(t)) for t in teams])


APPLIES_TO = [("role", _("Everyone in a role")), ("person", _("One person"))]


class QuotaForm(forms.Form):
    """Create or edit a quota: what it counts, how many per period, and for whom."""

    kind = forms.ChoiceField(label=_("Counts"), choices=QuotaKind.choices, widget=small_select())
    period = forms.ChoiceField(
        label=_("Per"), choices=Period.choices, initial=Period.DAY, widget=small_select()
    )
    target = forms.IntegerField(
        label=_("Target (at least)"),
        min_value=1,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 1}),
    )
    applies_to = forms.ChoiceField(
        label=_("For"),
        choices=APPLIES_TO,
        initial="role",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", "—"), *RoleCode.choices], widget=small_select()
    )
    team = forms.TypedChoiceField(
        label=_("Only in team"), required=False, coerce=int, empty_value=None, widget=small_select()
    )
    user = forms.TypedChoiceField(
        label=_("Person"), required=False, coerce=int, empty_value=None, widget=small_select()
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    FIELD_OF = {"team_id": "team", "user_id": "user"}

    def __init__(
        self, *args: Any, teams: Any = (), people: Any = (), company_wide: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ChoiceField)
        blank = _("All teams (company-wide)") if company_wide else "—"
        team_field.choices = [("", blank)] + [(t.pk, str(t)) for t in teams]
        user_field = self.fields["user"]
        assert isinstance(user_field, forms.ChoiceField)
        user_field.choices = [("", "—")] + [(u.pk, str(u)) for u in people]

    @classmethod
    def initial_from(cls, quota: Quota) -> dict[str, Any]:
        return {
            "kind": quota.kind,
            "period": quota.period,
            "target": quota.target,
            "applies_to": "person" if quota.user_id else "role",
            "role": quota.role.code if quota.role_id and quota.role else "",
            "team": quota.team_id,
            "user": quota.user_id,
            "active": quota.active,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("applies_to") == "role" and not data.get("role"):
            self.add_error("role", _("Choose the role."))
        if data.get("applies_to") == "person" and not data.get("user"):
            self.add_error("user", _("Choose the person."))
        return data

    def service_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data: dict[str, Any] = {
            "kind": cd["kind"],
            "period": cd["period"],
            "target": cd["target"],
            "active": cd["active"],
        }
        if cd["applies_to"] == "person":
            data.update(role=None, team_id=None, user_id=cd["user"])
        else:
            data.update(role=cd["role"], team_id=cd["team"], user_id=None)
        return data

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        for name, messages in fields.items():
            target = self.FIELD_OF.get(name, name)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)
