"""Recurring complaints pages: the month's top recurring issues (cards with counts, share, words, examples and
tickets per week) and "turn a cluster into a category + playbook".

Thin adapters over careline.helpdesk.clusters. The pages need the `configure` right on tickets (heads of care,
admins): others get 403, anonymous visitors the login page. The report page answers at once; the clusters load
into it with htmx from `results/` (computing them takes a few seconds for a month of thousands of tickets; then
they are cached for 10 minutes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods

from careline.accounts.models import User
from careline.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from careline.core.visibility import Action
from careline.helpdesk import clusters, selectors
from careline.helpdesk.choices import Priority, TicketKind

MONTH_FORMATS = ["%Y-%m", "%m/%Y", "%m-%Y"]
_SELECT = {"class": "form-select form-select-sm"}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _forbidden_unless_configure(actor: User) -> HttpResponse | None:
    if not actor.allows(selectors.OBJECT_TYPE, Action.CONFIGURE):
        return HttpResponseForbidden(_("Only heads of customer care see the recurring complaints."))
    return None


class ReportFilterForm(forms.Form):
    """Month (YYYY-MM from `<input type="month">`, or mm/yyyy), kind ("" = every kind) and category."""

    month = forms.DateField(
        required=False,
        label=_lazy("Month"),
        input_formats=MONTH_FORMATS,
        widget=forms.DateInput(
            format="%Y-%m",
            attrs={"type": "month", "class": "form-control form-control-sm", "placeholder": "yyyy-mm"},
        ),
    )
    kind = forms.ChoiceField(required=False, label=_lazy("Kind"), widget=forms.Select(attrs=_SELECT))
    category = forms.TypedChoiceField(
        required=False,
        label=_lazy("Category"),
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs=_SELECT),
    )

    def __init__(self, *args: Any, categories: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = [
            ("", _lazy("Every kind")),
            *TicketKind.choices,
        ]
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", _lazy("Every category"))] + [
            (c.pk, str(c)) for c in categories
        ]


@dataclass(frozen=True)
class Params:
    month: dt.date  # the 1st
    kind: str
    category_id: int | None

    @property
    def start(self) -> dt.date:
        return self.month

    @property
    def end(self) -> dt.date:
        return clusters.month_range(self.month)[1]

    def query(self, **extra: str) -> str:
        data = {"month": self.month.strftime("%Y-%m"), "kind": self.kind}
        if self.category_id:
            data["category"] = str(self.category_id)
        data.update(extra)
        return urlencode(data)


def _params(data: QueryDict, categories: Any) -> tuple[ReportFilterForm, Params, str]:
    """The filters (defaults: this month in local time, complaints, every category) and an error message
    when some were not valid (they are then ignored)."""
    this_month = timezone.localdate().replace(day=1)
    bound = any(k in data for k in ("month", "kind", "category"))
    form = ReportFilterForm(
        data if bound else None,
        initial={"month": this_month, "kind": TicketKind.COMPLAINT},
        categories=categories,
    )
    if not bound:
        return form, Params(this_month, TicketKind.COMPLAINT, None), ""
    if not form.is_valid():
        return (
            form,
            Params(this_month, TicketKind.COMPLAINT, None),
            _("Some filters are not valid and were ignored."),
        )
    cd = form.cleaned_data
    month = (cd["month"] or this_month).replace(day=1)
    return form, Params(month, cd["kind"] or "", cd["category"]), ""


def _report(actor: User, params: Params, *, refresh: bool = False) -> clusters.RecurringReport:
    return clusters.recurring_complaints(
        actor=actor,
        start=params.start,
        end=params.end,
        kind=params.kind,
        category_id=params.category_id,
        refresh=refresh,
    )


@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """The page: filters and a placeholder that loads the clusters (`results`)."""
    actor = _user(request)
    if refused := _forbidden_unless_configure(actor):
        return refused
    form, params, error = _params(request.GET, selectors.category_list(actor=actor))
    context = {
        "form": form,
        "params": params,
        "error": error,
        "results_url": f"{reverse('recurring:results')}?{params.query()}",
        "refresh_url": f"{reverse('recurring:results')}?{params.query(refresh='1')}",
        "nav_section": "helpdesk",
    }
    return render(request, "helpdesk/recurring.html", context)


def _chart(rep: clusters.RecurringReport) -> dict[str, Any]:
    return {
        "weeks": [w.strftime("%d/%m") for w in rep.weeks],
        "clusters": [c.weekly for c in rep.clusters],
        "label": _("Tickets"),
    }


@login_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    """The clusters as cards (a fragment loaded into the page; `refresh=1` computes them again)."""
    actor = _user(request)
    if refused := _forbidden_unless_configure(actor):
        return refused
    _form, params, error = _params(request.GET, selectors.category_list(actor=actor))
    try:
        rep = _report(actor, params, refresh=request.GET.get("refresh") == "1")
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    context = {
        "report": rep,
        "params": params,
        "error": error,
        "chart": _chart(rep),
        "category_url": reverse("recurring:category"),
        "computed_at": timezone.localtime(rep.computed_at),
    }
    return render(request, "helpdesk/recurring_results.html", context)


class CategoryForm(forms.Form):
    """A new category (and its playbook) made from a cluster."""

    name = forms.CharField(label=_lazy("Category name"), max_length=120)
    parent = forms.TypedChoiceField(
        label=_lazy("Under"), required=False, coerce=int, empty_value=None, widget=forms.Select(attrs=_SELECT)
    )
    default_priority = forms.ChoiceField(
        label=_lazy("Default priority"), required=False, widget=forms.Select(attrs=_SELECT)
    )
    steps = forms.CharField(
        label=_lazy("Playbook steps (one per line)"),
        widget=forms.Textarea(attrs={"rows": 7, "class": "form-control form-control-sm"}),
    )
    involve = forms.CharField(label=_lazy("Who to involve"), max_length=300, required=False)
    recategorise = forms.BooleanField(
        label=_lazy("Put the uncategorised tickets of this group in it"), required=False
    )
    # where the cluster comes from (the report is recomputed or read from the cache, never trusted from here)
    month = forms.CharField(widget=forms.HiddenInput)
    kind = forms.CharField(widget=forms.HiddenInput, required=False)
    category = forms.CharField(widget=forms.HiddenInput, required=False)
    cluster = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, categories: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["parent"]).choices = [("", _lazy("— top level —"))] + [
            (c.pk, str(c)) for c in categories
        ]
        cast(forms.ChoiceField, self.fields["default_priority"]).choices = [
            ("", _lazy("Normal (default)")),
            *Priority.choices,
        ]
        for name in ("name", "involve"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["recategorise"].widget.attrs["class"] = "form-check-input"

    def step_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["steps"].splitlines() if line.strip()]


_SERVICE_FIELDS = {"name": "name", "parent_id": "parent", "default_priority": "default_priority"}


def _show_errors(form: CategoryForm, exc: ApplicationError) -> None:
    if isinstance(exc, ValidationFailed):
        for field, errors in exc.fields.items():
            target = _SERVICE_FIELDS.get(field, field)
            for message in errors:
                form.add_error(target if target in form.fields else None, message)
    else:
        form.add_error(None, exc.message)


@login_required
@require_http_methods(["GET", "POST"])
def category_from_cluster(request: HttpRequest) -> HttpResponse:
    """GET: the form prefilled from a cluster (name from its top words, a playbook skeleton). POST: create the
    category and its playbook (and optionally re-categorise the cluster's uncategorised tickets)."""
    actor = _user(request)
    if refused := _forbidden_unless_configure(actor):
        return refused
    data = request.POST if request.method == "POST" else request.GET
    categories = selectors.category_list(actor=actor)
    _filters, params, _error = _params(data, categories)
    back = f"{reverse('recurring:report')}?{params.query()}"
    try:
        rep = _report(actor, params)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    cluster = rep.cluster(str(data.get("cluster", ""))[:64])
    if cluster is None:
        messages.warning(
            request, _("This group changed since the report was shown (new tickets?). Pick it again.")
        )
        return redirect(back)
    hidden = {
        "month": params.month.strftime("%Y-%m"),
        "kind": params.kind,
        "category": params.category_id or "",
        "cluster": cluster.key,
    }
    if request.method == "POST":
        form = CategoryForm(request.POST, categories=categories)
        if form.is_valid():
            cd = form.cleaned_data
            try:
                done = clusters.cluster_to_category(
                    actor=actor,
                    cluster=cluster,
                    name=cd["name"],
                    steps=form.step_list(),
                    parent_id=cd["parent"],
                    default_priority=cd["default_priority"],
                    involve=cd["involve"],
                    recategorise=cd["recategorise"],
                )
            except PermissionDenied as exc:
                return HttpResponseForbidden(exc.message)
            except ApplicationError as exc:
                _show_errors(form, exc)
            else:
                clusters.recurring_forget(
                    actor=actor,
                    start=params.start,
                    end=params.end,
                    kind=params.kind,
                    category_id=params.category_id,
                )
                text = _("Category “%(name)s” and its playbook were created.") % {"name": cd["name"]}
                if cd["recategorise"]:
                    text += " " + _("%(n)d tickets moved into it.") % {"n": done.recategorised}
                    if done.skipped:
                        text += " " + _("%(n)d left as they were (closed or not yours to change).") % {
                            "n": done.skipped
                        }
                messages.success(request, text)
                return redirect(back)
        status = 422
    else:
        form = CategoryForm(
            initial={
                **hidden,
                "name": cluster.title,
                "steps": "\n".join(clusters.default_playbook_steps()),
                "recategorise": bool(cluster.uncategorised_ids),
            },
            categories=categories,
        )
        status = 200
    context = {
        "form": form,
        "cluster": cluster,
        "report": rep,
        "params": params,
        "back": back,
        "nav_section": "helpdesk",
    }
    return render(request, "helpdesk/recurring_category.html", context, status=status)


__all__ = ["category_from_cluster", "report", "results"]
