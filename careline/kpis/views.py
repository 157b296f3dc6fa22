"""Quota pages: progress bars (a partial for "My day"), the team board, quota settings and call analysis.

Thin adapters: parse the request, call kpis.selectors / kpis.services, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from careline.activities.choices import CALL_OUTCOMES, Outcome
from careline.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.htmx import htmx_partial
from careline.core.visibility import Action, Scope
from careline.kpis import selectors, services
from careline.kpis.choices import Period, QuotaKind
from careline.kpis.forms import BoardFilterForm, CallFilterForm, QuotaForm
from careline.kpis.pace import WORKDAY_END, WORKDAY_START, local_today
from careline.kpis.selectors import KIND_ORDER, OBJECT_TYPE, PERIOD_ORDER
from careline.web.decorators import application_errors

REFRESH_SECONDS = 30


def _rules_context() -> dict[str, Any]:
    return {"workday_start": WORKDAY_START, "workday_end": WORKDAY_END}


# --- progress bars (the partial "My day" loads) -------------------------------------------------------


@login_required
@require_GET
@application_errors
def my_bars(request: HttpRequest) -> HttpResponse:
    """The logged-in user's quota bars for today. "My day" loads it with
    `hx-get="{% url 'kpis:my_bars' %}" hx-trigger="load, every 30s, activity-logged from:body"`."""
    actor: Any = request.user
    items = selectors.quota_progress(actor=actor, user=actor.pk, day=local_today())
    return render(request, "kpis/_quota_bars.html", {"items": items, "day": local_today()})


# --- team board ------------------------------------------------------------------------------------------


def _columns(rows: list[selectors.BoardRow]) -> list[tuple[str, str, str]]:
    """(kind, period, label) of every quota shown on the board, in the usual order."""
    keys = {(i.kind, i.period) for r in rows for i in r.items}
    ordered = sorted(keys, key=lambda k: (KIND_ORDER.get(k[0], 99), PERIOD_ORDER.get(k[1], 9)))
    return [(k, p, f"{QuotaKind(k).label} / {str(Period(p).label).lower()}") for k, p in ordered]


@login_required
@require_GET
@application_errors
def board(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    selectors.require_view(actor)
    if not selectors.can_see_team_board(actor):
        return HttpResponseForbidden(_("The team board is for supervisors and managers."))
    form = BoardFilterForm(
        request.GET or None,
        initial={"date": local_today()},
        teams=selectors.teams_visible(actor=actor),
        branches=selectors.branches_visible(actor=actor) if actor.scope_for(OBJECT_TYPE) == Scope.ALL else (),
    )
    team_id = branch_id = None
    day = local_today()
    error = ""
    if form.is_bound and form.is_valid():
        team_id, branch_id = form.cleaned_data["team"], form.cleaned_data["branch"]
        day = form.cleaned_data["date"] or day
    elif form.is_bound:
        error = _("Some filters are not valid and were ignored.")
    rows = selectors.team_board(actor=actor, team_id=team_id, branch_id=branch_id, day=day)
    columns = _columns(rows)
    table = [
        {
            "row": r,
            "cells": [
                next((i for i in r.items if (i.kind, i.period) == (k, p)), None) for k, p, _l in columns
            ],
        }
        for r in rows
    ]
    context = {
        "form": form,
        "rows": rows,
        "table": table,
        "columns": columns,
        "day": day,
        "is_today": day == local_today(),
        "behind_total": sum(1 for r in rows if r.behind_count),
        "error": error,
        "refresh_seconds": REFRESH_SECONDS,
        "query": request.GET.urlencode(),
        **_rules_context(),
    }
    if htmx_partial(request):
        return render(request, "kpis/board.html#board", context)
    return render(request, "kpis/board.html", context)


# --- quota settings --------------------------------------------------------------------------------------


def _form_kwargs(actor: Any) -> dict[str, Any]:
    configure_scope = actor.scope_for(OBJECT_TYPE)
    return {
        "teams": selectors.teams_visible(actor=actor),
        "people": selectors.people_visible(actor=actor).order_by("display_name", "username"),
        "company_wide": configure_scope == Scope.ALL,
    }


def _quota_rows(actor: Any) -> list[dict[str, Any]]:
    return [
        {"quota": q, "can_change": services.quota_can_change(actor=actor, quota=q)}
        for q in selectors.quota_list(actor=actor)
    ]


def _render_quotas(request: HttpRequest, form: QuotaForm | None, status: int = 200) -> HttpResponse:
    actor: Any = request.user
    context = {
        "rows": _quota_rows(actor),
        "form": form,
        "can_configure": actor.allows(OBJECT_TYPE, Action.CONFIGURE),
        **_rules_context(),
    }
    return render(request, "kpis/quotas.html", context, status=status)


def _save_errors(form: QuotaForm, exc: ApplicationError) -> None:
    if isinstance(exc, ValidationFailed):
        form.add_service_errors(exc.fields)
    elif isinstance(exc, Conflict):
        form.add_error(None, exc.message)
    else:
        raise exc


@login_required
@application_errors
def quota_list(request: HttpRequest) -> HttpResponse:
    """GET: the quotas the user can see and, with the configure permission, a form to add one."""
    actor: Any = request.user
    selectors.require_view(actor)
    can_configure = actor.allows(OBJECT_TYPE, Action.CONFIGURE)
    if request.method == "POST":
        if not can_configure:
            return HttpResponseForbidden(_("You cannot define quotas."))
        posted = QuotaForm(request.POST, **_form_kwargs(actor))
        if posted.is_valid():
            try:
                services.quota_create(actor=actor, data=posted.service_data())
            except ApplicationError as exc:
                _save_errors(posted, exc)
            else:
                messages.success(request, _("Quota saved."))
                return redirect("kpis:quotas")
        return _render_quotas(request, posted, status=422)
    initial = {"team": actor.team_id} if actor.scope_for(OBJECT_TYPE) == Scope.TEAM else {}
    return _render_quotas(
        request, QuotaForm(initial=initial, **_form_kwargs(actor)) if can_configure else None
    )


@login_required
@application_errors
def quota_edit(request: HttpRequest, quota_id: int) -> HttpResponse:
    actor: Any = request.user
    quota = selectors.quota_get(actor=actor, quota_id=quota_id)
    if not services.quota_can_change(actor=actor, quota=quota):
        return HttpResponseForbidden(_("You cannot change this quota."))
    if request.method == "POST":
        form = QuotaForm(request.POST, **_form_kwargs(actor))
        if form.is_valid():
            try:
                services.quota_update(actor=actor, quota_id=quota.pk, data=form.service_data())
            except ApplicationError as exc:
                _save_errors(form, exc)
            else:
                messages.success(request, _("Quota saved."))
                return redirect("kpis:quotas")
        return render(request, "kpis/quota_form.html", {"form": form, "quota": quota}, status=422)
    form = QuotaForm(initial=QuotaForm.initial_from(quota), **_form_kwargs(actor))
    return render(request, "kpis/quota_form.html", {"form": form, "quota": quota})


@login_required
@require_POST
@application_errors
def quota_delete(request: HttpRequest, quota_id: int) -> HttpResponse:
    services.quota_delete(actor=request.user, quota_id=quota_id)
    messages.success(request, _("Quota deleted."))
    return redirect("kpis:quotas")


# --- call analysis ---------------------------------------------------------------------------------------


def _chart_data(result: selectors.CallAnalysis) -> dict[str, Any]:
    """Data for the ECharts bar chart: one stacked series per outcome over the 24 local hours."""
    labels = dict(Outcome.choices)
    hours = result.total.hours()
    present = {o for h in hours for o in h["outcomes"]}
    order = [str(o) for o in CALL_OUTCOMES] + sorted(present - {str(o) for o in CALL_OUTCOMES})
    return {
        "hours": [f"{h:02d}h" for h in range(24)],
        "series": [
            {
                "name": str(labels.get(o) or _("Not recorded")),
                "outcome": o,
                "data": [h["outcomes"].get(o, 0) for h in hours],
            }
            for o in order
            if o in present
        ],
        "title": _("Calls by hour of day"),
    }


@login_required
@require_GET
@application_errors
def calls(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    selectors.require_view(actor)
    people = selectors.people_visible(actor=actor).order_by("display_name", "username")
    teams = selectors.teams_visible(actor=actor)
    today = local_today()
    form = CallFilterForm(
        request.GET or None, initial={"start": today.replace(day=1), "end": today}, people=people, teams=teams
    )
    start, end = today.replace(day=1), today
    user_id = team_id = None
    error = ""
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        user_id, team_id = cd["user"], cd["team"]
        end = cd["end"] or end
        start = cd["start"] or end.replace(day=1)
    elif form.is_bound:
        error = _("Some filters are not valid and were ignored.")
    try:
        result = selectors.call_analysis(actor=actor, user_id=user_id, team_id=team_id, start=start, end=end)
    except ApplicationError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        error = exc.message
        start, end = today.replace(day=1), today
        result = selectors.call_analysis(actor=actor, start=start, end=end)
    context = {
        "form": form,
        "result": result,
        "stats": result.total,
        "outcome_rows": result.total.outcome_rows(),
        "chart": _chart_data(result),
        "start": start,
        "end": end,
        "error": error,
    }
    return render(request, "kpis/calls.html", context)


__all__ = ["board", "calls", "my_bars", "quota_delete", "quota_edit", "quota_list"]
