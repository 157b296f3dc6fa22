"""Survey pages for staff: results dashboard, responses list, survey settings, "record a response" and the
invitation page (the link to share). Thin adapters over surveys.services and surveys.selectors.

The public page customers answer on lives in surveys/public_views.py.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.accounts.models import Branch, Team
from careline.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from careline.core.htmx import htmx_partial
from careline.core.visibility import Action
from careline.surveys import selectors, services
from careline.surveys.choices import InvitationChannel, SurveyKind
from careline.surveys.forms import InviteForm, RecordForm, ResponseFilterForm, ResultsFilterForm, SurveyForm
from careline.surveys.selectors import OBJECT_TYPE
from careline.web.decorators import application_errors

PAGE_SIZE = 50


def _require(actor: Any, action: str) -> None:
    if not actor.allows(OBJECT_TYPE, action):
        raise PermissionDenied(_("You do not have access to surveys."))


def _errors_of(exc: ApplicationError) -> dict[str, list[str]]:
    if isinstance(exc, ValidationFailed):
        return {k: [str(m) for m in v] for k, v in exc.fields.items()}
    return {"__all__": [exc.message]}


def _add_errors(form: Any, exc: ApplicationError, mapping: dict[str, str] | None = None) -> None:
    for field, msgs in _errors_of(exc).items():
        name = (mapping or {}).get(field, field)
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)


def _teams() -> Any:
    return Team.objects.select_related("branch").order_by("branch__name", "name", "id")


# --- results -------------------------------------------------------------------------------------------------


def _chart_data(results: selectors.Results) -> dict[str, Any]:
    return {
        "kind": results.kind,
        "periods": [_period_label(t.period, results.granularity) for t in results.trend],
        "responses": [t.responses for t in results.trend],
        "scores": [t.score for t in results.trend],
        "distribution": {
            "scores": [d["score"] for d in results.distribution],
            "responses": [d["responses"] for d in results.distribution],
            "bands": [selectors.band_of(results.kind, d["score"]) for d in results.distribution],
        },
        "labels": {"responses": _("Responses"), "score": _score_label(results.kind)},
    }


def _period_label(period: str, granularity: str) -> str:
    """dd/mm for days and weeks (the week's Monday), mm/yyyy for months (dates read day first)."""
    year, month, day = period.split("-")
    return f"{month}/{year}" if granularity == "month" else f"{day}/{month}"


def _score_label(kind: str) -> str:
    labels: dict[str, str] = {
        SurveyKind.CSAT: _("CSAT (% satisfied)"),
        SurveyKind.NPS: _("NPS"),
        SurveyKind.CES: _("Average effort score"),
    }
    return labels.get(kind, _("Average score"))


@login_required
@require_GET
@application_errors
def results(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    _require(actor, Action.VIEW)
    surveys = selectors.survey_list(actor=actor)
    form = ResultsFilterForm(request.GET or None, surveys=surveys, teams=_teams())
    kind, start, end, survey_id, team_id = SurveyKind.CSAT, None, None, None, None
    error = ""
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        kind = cd.get("kind") or SurveyKind.CSAT
        start, end, survey_id, team_id = cd.get("start"), cd.get("end"), cd.get("survey"), cd.get("team")
    elif form.is_bound:
        error = _("Some filters are not valid and were ignored.")
    try:
        result = selectors.survey_results(
            actor=actor, kind=kind, start=start, end=end, survey_id=survey_id, team_id=team_id
        )
    except ValidationFailed as exc:
        error = " ".join(m for msgs in exc.fields.values() for m in msgs)
        result = selectors.survey_results(actor=actor, kind=kind)
    context = {
        "form": form,
        "result": result,
        "kind": kind,
        "score_label": _score_label(kind),
        "chart": _chart_data(result),
        "error": error,
        "can_configure": actor.allows(OBJECT_TYPE, Action.CONFIGURE),
        "can_add": actor.allows(OBJECT_TYPE, Action.ADD),
        "has_bands": kind in selectors.BANDS,
        "kind_label": dict(SurveyKind.choices).get(kind, kind),
    }
    return render(request, "surveys/results.html", context)


# --- responses -----------------------------------------------------------------------------------------------


@login_required
@require_GET
@application_errors
def responses(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    _require(actor, Action.VIEW)
    form = ResponseFilterForm(request.GET or None, surveys=selectors.survey_list(actor=actor), teams=_teams())
    filters = selectors.ResponseFilters()
    error = ""
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        filters = selectors.ResponseFilters(
            kind=cd.get("kind") or "",
            survey_id=cd.get("survey"),
            band=cd.get("band") or "",
            channel=cd.get("channel") or "",
            team_id=cd.get("team"),
            customer_id=cd.get("customer"),
            ticket_id=cd.get("ticket"),
            start=cd.get("start"),
            end=cd.get("end"),
            with_reason=bool(cd.get("with_reason")),
        )
    elif form.is_bound:
        error = _("Some filters are not valid and were ignored.")
    cursor = request.GET.get("cursor") or None
    try:
        rows, next_cursor = selectors.response_list(
            actor=actor, filters=filters, cursor=cursor, limit=PAGE_SIZE
        )
    except ApplicationError as exc:
        if isinstance(exc, PermissionDenied):
            raise
        rows, next_cursor, error = [], None, exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    if next_cursor:
        query["cursor"] = next_cursor
    context = {
        "form": form,
        "rows": [(r, selectors.band_of(r.kind, r.score)) for r in rows],
        "error": error,
        "next_url": f"?{query.urlencode()}" if next_cursor else "",
        "appending": bool(cursor),
        "can_add": actor.allows(OBJECT_TYPE, Action.ADD),
    }
    if htmx_partial(request):
        return render(request, "surveys/responses.html#rows", context)
    return render(request, "surveys/responses.html", context)


# --- survey settings -----------------------------------------------------------------------------------------


@login_required
@require_GET
@application_errors
def survey_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    _require(actor, Action.VIEW)
    surveys = list(selectors.survey_list(actor=actor))
    counts = selectors.survey_response_counts(survey_ids=[s.pk for s in surveys])
    context = {
        "surveys": [(s, counts.get(s.pk, 0)) for s in surveys],
        "can_configure": actor.allows(OBJECT_TYPE, Action.CONFIGURE),
    }
    return render(request, "surveys/survey_list.html", context)


def _survey_form_page(request: HttpRequest, survey: Any | None) -> HttpResponse:
    actor: Any = request.user
    initial = SurveyForm.initial_for(survey) if survey is not None else {"active": True, "trigger": "manual"}
    form = SurveyForm(
        request.POST or None, initial=initial, teams=_teams(), branches=Branch.objects.order_by("name", "id")
    )
    if request.method == "POST" and form.is_valid():
        try:
            if survey is None:
                saved = services.survey_create(actor=actor, data=form.service_data())
            else:
                saved = services.survey_update(actor=actor, survey_id=survey.pk, data=form.service_data())
        except (PermissionDenied, NotFound):
            raise
        except ApplicationError as exc:
            _add_errors(form, exc, {"segment": "segment_stage"})
        else:
            messages.success(request, _("Survey “%(name)s” saved.") % {"name": saved.name})
            return redirect("surveys:list")
    return render(request, "surveys/survey_form.html", {"form": form, "survey": survey})


@login_required
@require_http_methods(["GET", "POST"])
@application_errors
def survey_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.CONFIGURE)
    return _survey_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
@application_errors
def survey_edit(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = selectors.survey_get(actor=request.user, survey_id=survey_id)
    _require(request.user, Action.CONFIGURE)
    return _survey_form_page(request, survey)


# --- record an answer / invite -------------------------------------------------------------------------------


def _int_param(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) <= 18 else None


def _record_subject(actor: Any, customer_id: int | None, ticket_id: int | None) -> tuple[Any, Any]:
    """The customer (and ticket) the page is about, as the actor may see them (404 otherwise)."""
    return services.customer_and_ticket(actor, customer_id, ticket_id)


def _record_context(
    request: HttpRequest, customer: Any, ticket: Any | None, record_form: RecordForm, invite_form: InviteForm
) -> dict[str, Any]:
    actor: Any = request.user
    pending = selectors.invitation_pending_for(
        actor=actor, customer_id=customer.pk, ticket_id=ticket.pk if ticket is not None else None
    )
    return {
        "customer": customer,
        "ticket": ticket,
        "form": record_form,
        "invite_form": invite_form,
        "surveys": list(selectors.survey_list(actor=actor, active=True)),
        "score_ranges": {k: list(range(lo, hi + 1)) for k, (lo, hi) in selectors.SCORE_RANGES.items()},
        "pending": [(i, services.invitation_url(i)) for i in pending],
        "has_email": bool(services.customer_emails(customer)),
        "recent": selectors.response_list(
            actor=actor, filters=selectors.ResponseFilters(customer_id=customer.pk), limit=5
        )[0],
    }


@login_required
@require_http_methods(["GET", "POST"])
@application_errors
def record(request: HttpRequest) -> HttpResponse:
    """Record an answer the customer gave on the phone: `?customer=<id>&ticket=<id>` (from the ticket or
    the customer card)."""
    actor: Any = request.user
    source = request.POST if request.method == "POST" else request.GET
    customer_id, ticket_id = _int_param(source.get("customer")), _int_param(source.get("ticket"))
    if customer_id is None and ticket_id is None:
        raise Http404(_("Choose a customer."))
    customer, ticket = _record_subject(actor, customer_id, ticket_id)
    _require(actor, Action.ADD)
    surveys = list(selectors.survey_list(actor=actor, active=True))
    hidden = {"customer": customer.pk, "ticket": ticket.pk if ticket is not None else None}
    form = RecordForm(request.POST or None, surveys=surveys, initial=hidden)
    invite_form = InviteForm(
        None,
        surveys=surveys,
        initial={
            **hidden,
            "channel": InvitationChannel.EMAIL
            if services.customer_emails(customer)
            else InvitationChannel.LINK,
        },
    )
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            response = services.response_record_by_agent(
                actor=actor,
                customer_id=customer.pk,
                ticket_id=ticket.pk if ticket is not None else None,
                survey_id=cd["survey"],
                score=cd.get("score"),
                reason=cd.get("reason") or "",
            )
        except (PermissionDenied, NotFound):
            raise
        except ApplicationError as exc:
            _add_errors(form, exc)
        else:
            text = _("Answer recorded.")
            if response.follow_up_ticket_id:
                text += " " + _("A follow-up ticket #%(id)s was opened for the care team.") % {
                    "id": response.follow_up_ticket_id
                }
            messages.success(request, text)
            query = f"?customer={customer.pk}" + (f"&ticket={ticket.pk}" if ticket is not None else "")
            return redirect(reverse("surveys:record") + query)
    return render(
        request, "surveys/record.html", _record_context(request, customer, ticket, form, invite_form)
    )


@login_required
@require_POST
@application_errors
def invite(request: HttpRequest) -> HttpResponse:
    """Create an invitation from the "record" page: by email, or a link to copy into Zalo/SMS."""
    actor: Any = request.user
    customer_id, ticket_id = _int_param(request.POST.get("customer")), _int_param(request.POST.get("ticket"))
    if customer_id is None and ticket_id is None:
        raise Http404(_("Choose a customer."))
    customer, ticket = _record_subject(actor, customer_id, ticket_id)
    _require(actor, Action.ADD)
    surveys = list(selectors.survey_list(actor=actor, active=True))
    form = InviteForm(request.POST, surveys=surveys)
    if form.is_valid():
        cd = form.cleaned_data
        try:
            invitation = services.invitation_create(
                actor=actor,
                survey_id=cd["survey"],
                customer_id=customer.pk,
                ticket_id=ticket.pk if ticket is not None else None,
                channel=cd["channel"],
            )
        except (PermissionDenied, NotFound):
            raise
        except ApplicationError as exc:
            _add_errors(form, exc)
        else:
            if getattr(invitation, "replayed", False):
                messages.info(request, _("This ticket already has an invitation for this survey."))
            elif invitation.channel == InvitationChannel.EMAIL:
                messages.success(request, _("The survey email is on its way."))
            return redirect("surveys:invitation", invitation.pk)
    record_form = RecordForm(
        None, surveys=surveys, initial={"customer": customer.pk, "ticket": ticket.pk if ticket else None}
    )
    context = _record_context(request, customer, ticket, record_form, form)
    return render(request, "surveys/record.html", context, status=422)


@login_required
@require_GET
@application_errors
def invitation(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor: Any = request.user
    found = selectors.invitation_get(actor=actor, invitation_id=invitation_id)
    response = getattr(found, "response", None) if found.responded_at else None
    context = {
        "invitation": found,
        "url": services.invitation_url(found),
        "response": response,
        "band": selectors.band_of(response.kind, response.score) if response is not None else "",
    }
    return render(request, "surveys/invitation.html", context)
