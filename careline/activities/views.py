"""Activity pages: the card's log bar and timeline, "My day", the activities list and email templates.

Thin adapters: parse the request, call services/selectors, render the page or an htmx fragment. htmx
responses that changed something send client events: `activity-logged` (quota bars listen), and
`followups-changed` / `leads-changed` / `next-changed` for the "My day" sections other than the one the
clicked row sits in (that row is updated in place).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from careline.activities import selectors, services
from careline.activities.choices import CALL_OUTCOMES, KIND_ICONS, KIND_OUTCOMES, ActivityKind, Outcome
from careline.activities.forms import (
    ActivityFilterForm,
    EmailForm,
    EmailTemplateForm,
    LogForm,
    QuickCallForm,
)
from careline.activities.models import Activity
from careline.activities.selectors import OBJECT_TYPE, PRIORITY_RULES
from careline.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from careline.core.htmx import htmx_partial
from careline.core.timeline import entries_for
from careline.core.visibility import Action
from careline.customers.choices import ContactKind
from careline.customers.models import Customer
from careline.customers.selectors import customer_get

SECTION_EVENTS = {"follow_ups": "followups-changed", "leads": "leads-changed", "next": "next-changed"}
TIMELINE_LIMIT = 100
ROW_RE = re.compile(r"[a-z]+-[0-9]{1,18}")


class _Forbidden(Exception):
    pass


def _customer_or_404(request: HttpRequest, customer_id: int) -> Customer:
    try:
        return customer_get(actor=request.user, customer_id=customer_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _customer_to_log(request: HttpRequest, customer_id: int) -> Customer:
    """The customer an activity is logged on: 404 when out of scope, 403 (through `_forbidden_on_error`)
    without the add permission."""
    customer = _customer_or_404(request, customer_id)
    if not request.user.allows(OBJECT_TYPE, Action.ADD):
        raise _Forbidden()
    return customer


def _forbidden(message: str = "") -> HttpResponse:
    return HttpResponseForbidden(message or _("You do not have permission to do this."))


def _errors_of(exc: ApplicationError) -> dict[str, list[str]]:
    if isinstance(exc, ValidationFailed):
        return {k: [str(m) for m in v] for k, v in exc.fields.items()}
    return {"__all__": [exc.message]}


def _form_errors(form: Any) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in form.errors.items()}


def _outcome_choices(kind: str) -> list[tuple[str, str]]:
    labels = dict(Outcome.choices)
    return [(value, str(labels[value])) for value in KIND_OUTCOMES[kind] if value]


def _call_outcomes() -> list[tuple[str, str]]:
    return [(str(o.value), str(o.label)) for o in CALL_OUTCOMES]


def _log_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    actor = request.user
    can_log = actor.allows(OBJECT_TYPE, Action.ADD)
    templates = list(selectors.email_template_list(actor=actor)) if can_log else []
    return {
        "customer": customer,
        "can_log": can_log,
        "call_outcomes": _call_outcomes(),
        "kind_outcomes": {kind: _outcome_choices(kind) for kind in KIND_OUTCOMES},
        "kind_icons": KIND_ICONS,
        "log_kinds": [
            (ActivityKind.MEETING, ActivityKind.MEETING.label),
            (ActivityKind.PROPOSAL, ActivityKind.PROPOSAL.label),
            (ActivityKind.OFFER, ActivityKind.OFFER.label),
        ],
        "email_templates": templates,
        "customer_emails": [p.value for p in customer.contact_points.all() if p.kind == ContactKind.EMAIL],
        "errors": {},
        "values": {},
        "open_panel": "",
        "result": "",
        "result_level": "success",
    }


def _timeline_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {
        "customer": customer,
        "timeline": entries_for(actor=request.user, customer=customer, limit=TIMELINE_LIMIT),
    }


def card_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """What the customer card needs for its log bar and Timeline tab (customers.views.customer_detail)."""
    return {**_log_context(request, customer), **_timeline_context(request, customer)}


def _describe(activity: Activity) -> str:
    parts = [str(activity.get_kind_display())]
    if activity.outcome:
        parts.append(str(activity.get_outcome_display()))
    return " · ".join(parts)


def _log_bar_response(
    request: HttpRequest,
    customer: Customer,
    *,
    errors: dict[str, list[str]],
    panel: str,
    result: str = "",
    result_level: str = "success",
) -> HttpResponse:
    """The log bar again (fresh after success, with errors and the typed values otherwise), plus the
    timeline swapped out of band after a success."""
    ctx = _log_context(request, customer)
    ctx.update(
        errors=errors,
        values=request.POST if errors else {},
        open_panel=panel if errors else "",
        result=result,
        result_level=result_level,
    )
    html = render_to_string("activities/_log_bar.html", ctx, request=request)
    if not errors:
        tl = {**_timeline_context(request, customer), "oob": True}
        html += render_to_string("activities/_timeline.html", tl, request=request)
    response = HttpResponse(html)
    if not errors:
        trigger_client_event(response, "activity-logged", {"customer_id": customer.pk})
    return response


def _service_call(fn: Any, **kwargs: Any) -> tuple[Any, dict[str, list[str]]]:
    """Run a service; 404/403 become HTTP errors, other refusals come back as form errors."""
    try:
        return fn(**kwargs), {}
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        raise _Forbidden(exc.message) from exc
    except ApplicationError as exc:
        return None, _errors_of(exc)


def _forbidden_on_error(view: Any) -> Any:
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _Forbidden as exc:
            return _forbidden(str(exc))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _card_redirect(
    request: HttpRequest, customer: Customer, errors: dict[str, list[str]], ok: str
) -> HttpResponse:
    if errors:
        for field, msgs in errors.items():
            for msg in msgs:
                messages.error(request, msg if field == "__all__" else f"{field}: {msg}")
    else:
        messages.success(request, ok)
    return redirect("customers:detail", customer.pk)


# --- the customer card -----------------------------------------------------------------------------------


@login_required
@require_GET
def timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    return render(request, "activities/_timeline.html", _timeline_context(request, customer))


@login_required
@require_POST
@_forbidden_on_error
def log(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The card's log bar: one click per call outcome, or the quick forms of the other kinds."""
    customer = _customer_to_log(request, customer_id)
    form = LogForm(request.POST)
    panel = request.POST.get("kind", "")
    activity = None
    if form.is_valid():
        activity, errors = _service_call(
            services.activity_log, actor=request.user, customer_id=customer.pk, **form.service_kwargs()
        )
    else:
        errors = _form_errors(form)
    result = _("Logged: %(what)s") % {"what": _describe(activity)} if activity is not None else ""
    if not htmx_partial(request):
        return _card_redirect(request, customer, errors, result)
    return _log_bar_response(request, customer, errors=errors, panel=panel, result=result)


@login_required
@require_POST
@_forbidden_on_error
def email(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Send an email from Careline (template or written), or just log one sent elsewhere."""
    customer = _customer_to_log(request, customer_id)
    form = EmailForm(request.POST)
    activity: Activity | None = None
    errors: dict[str, list[str]]
    if not form.is_valid():
        errors = _form_errors(form)
    elif form.cleaned_data.get("action") == "log":
        cd = form.cleaned_data
        activity, errors = _service_call(
            services.activity_log,
            actor=request.user,
            customer_id=customer.pk,
            kind=ActivityKind.EMAIL,
            outcome=Outcome.SENT,
            subject=cd.get("subject") or "",
            notes=cd.get("body") or "",
            email_to=(cd.get("to") or "").strip().lower(),
        )
    else:
        cd = form.cleaned_data
        activity, errors = _service_call(
            services.email_send,
            actor=request.user,
            customer_id=customer.pk,
            to=cd.get("to") or None,
            template_id=cd.get("template_id"),
            subject=cd.get("subject") or None,
            body=cd.get("body") or None,
        )
    level, result = "success", ""
    if activity is not None and activity.outcome == Outcome.FAILED:
        level, result = "warning", _("The email could not be delivered; it is logged as failed.")
    elif activity is not None:
        result = _("Logged: %(what)s") % {"what": _describe(activity)}
    if not htmx_partial(request):
        if level == "warning":
            messages.warning(request, result)
            return redirect("customers:detail", customer.pk)
        return _card_redirect(request, customer, errors, result)
    return _log_bar_response(
        request, customer, errors=errors, panel="email", result=result, result_level=level
    )


@login_required
@require_GET
@_forbidden_on_error
def email_preview(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The subject and message of a template filled in for this customer (the email form's fields)."""
    customer = _customer_to_log(request, customer_id)
    subject = body = ""
    raw = request.GET.get("template_id", "")
    if raw.isdigit():
        try:
            template = selectors.email_template_get(actor=request.user, template_id=int(raw))
        except NotFound as exc:
            raise Http404(exc.message) from exc
        values = services.placeholder_values(customer=customer, staff=request.user)
        subject = services.render_placeholders(template.subject, values)
        body = services.render_placeholders(template.body, values)
    return render(request, "activities/_email_fields.html", {"subject": subject, "body": body})


# --- "My day" ---------------------------------------------------------------------------------------------


def _new_leads(actor: Any) -> tuple[list[Any], bool]:
    """New leads to contact first, from the sales app (`inquiry_new_for_owner`), when it is installed."""
    try:
        module = importlib.import_module("careline.sales.selectors")
    except ModuleNotFoundError as exc:
        if exc.name != "careline.sales.selectors":
            raise
        return [], False
    fn = getattr(module, "inquiry_new_for_owner", None)
    if fn is None:
        return [], False
    return list(fn(actor=actor, user=actor, limit=20)), True


def _my_day_context(request: HttpRequest, part: str | None) -> dict[str, Any]:
    actor = request.user
    today = timezone.localdate()
    ctx: dict[str, Any] = {
        "today": today,
        "can_log": actor.allows(OBJECT_TYPE, Action.ADD),
        "can_change": actor.allows(OBJECT_TYPE, Action.CHANGE),
        "call_outcomes": _call_outcomes(),
        "priority_rules": PRIORITY_RULES,
    }
    if part in (None, "follow_ups"):
        rows = selectors.follow_ups_for(actor=actor, user=actor, day=today)
        for r in rows:
            r.row_id = f"fu-{r.pk}"  # type: ignore[attr-defined]
        ctx["overdue"] = [r for r in rows if r.overdue]  # type: ignore[attr-defined]
        ctx["due_today"] = [r for r in rows if not r.overdue]  # type: ignore[attr-defined]
    if part in (None, "leads"):
        ctx["leads"], ctx["leads_available"] = _new_leads(actor)
        for lead in ctx["leads"]:
            lead.row_id = f"lead-{lead.pk}"
    if part in (None, "next"):
        ctx["next_to_call"] = selectors.next_to_call(actor=actor, user=actor, limit=20)
        for candidate in ctx["next_to_call"]:
            candidate.customer.row_id = f"next-{candidate.customer.pk}"  # type: ignore[attr-defined]
    return ctx


@login_required
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    """The consultant's day: follow-ups due and overdue, new leads, the next customers to call."""
    if not request.user.allows(OBJECT_TYPE, Action.VIEW):
        return _forbidden(_("You do not have access to activities."))
    part = request.GET.get("part")
    if part in SECTION_EVENTS and htmx_partial(request):
        return render(request, f"activities/my_day.html#{part}", _my_day_context(request, part))
    return render(request, "activities/my_day.html", _my_day_context(request, None))


def _row_and_section(request: HttpRequest) -> tuple[str, str]:
    """The "My day" row an htmx click came from (used in a CSS selector: validated) and its section."""
    row = request.POST.get("row", "")
    section = request.POST.get("section", "")
    return (row if ROW_RE.fullmatch(row) else ""), (section if section in SECTION_EVENTS else "")


def _row_error(request: HttpRequest, row: str, errors: dict[str, list[str]]) -> HttpResponse:
    text = " ".join(m for msgs in errors.values() for m in msgs)
    response = render(request, "activities/_row_error.html", {"message": text})
    if row:
        retarget(response, f"#err-{row}")
        reswap(response, "innerHTML")
    return response


def _section_events(response: HttpResponse, section: str) -> HttpResponse:
    trigger_client_event(response, "activity-logged")
    for name, event in SECTION_EVENTS.items():
        if name != section:
            trigger_client_event(response, event)
    return response


@login_required
@require_POST
@_forbidden_on_error
def quick_call(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One click on a call outcome in a "My day" row: log the call, update the row in place."""
    customer = _customer_to_log(request, customer_id)
    form = QuickCallForm(request.POST)
    row, section = _row_and_section(request)
    activity = None
    if form.is_valid():
        activity, errors = _service_call(
            services.activity_log, actor=request.user, customer_id=customer.pk, **form.service_kwargs()
        )
    else:
        errors = _form_errors(form)
    if not htmx_partial(request):
        if errors:
            for msgs in errors.values():
                for msg in msgs:
                    messages.error(request, msg)
        else:
            messages.success(request, _("Logged: %(what)s") % {"what": _describe(activity)})  # type: ignore[arg-type]
        return redirect("activities:my_day")
    if errors:
        return _row_error(request, row, errors)
    response = render(
        request,
        "activities/_quick_done.html",
        {
            "activity": activity,
            "customer": customer,
            "follow_up": getattr(activity, "follow_up", None),
            "row": row,
            "section": section,
        },
    )
    return _section_events(response, section)


@login_required
@require_POST
@_forbidden_on_error
def complete(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Complete a follow-up from the card's timeline or a "My day" row."""
    row, section = _row_and_section(request)
    section = section or "card"
    outcome = request.POST.get("outcome", Outcome.DONE)
    activity, errors = _service_call(
        services.follow_up_complete, actor=request.user, activity_id=activity_id, outcome=outcome
    )
    if not htmx_partial(request):
        if errors:
            messages.error(request, " ".join(m for msgs in errors.values() for m in msgs))
        else:
            messages.success(request, _("Follow-up completed."))
        if activity is not None and section == "card":
            return redirect("customers:detail", activity.customer_id)
        return redirect("activities:my_day")
    if errors:
        return _row_error(request, row if section != "card" else "", errors)
    if section == "card":
        customer = _customer_or_404(request, activity.customer_id)
        response = render(request, "activities/_timeline.html", _timeline_context(request, customer))
        trigger_client_event(response, "activity-logged")
        return response
    response = render(
        request,
        "activities/_quick_done.html",
        {"activity": activity, "customer": activity.customer, "row": row, "section": section},
    )
    return _section_events(response, section)


@login_required
@require_POST
@_forbidden_on_error
def delete(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Delete an activity (list page): the row disappears."""
    _result, errors = _service_call(services.activity_delete, actor=request.user, activity_id=activity_id)
    if not htmx_partial(request):
        if errors:
            messages.error(request, " ".join(m for msgs in errors.values() for m in msgs))
        else:
            messages.success(request, _("Activity deleted."))
        return redirect("activities:list")
    response = HttpResponse("")
    trigger_client_event(response, "activity-logged")
    return response


# --- list ------------------------------------------------------------------------------------------------


@login_required
@require_GET
def activity_list(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.VIEW):
        return _forbidden(_("You do not have access to activities."))
    form = ActivityFilterForm(request.GET or None, owners=selectors.activity_owner_choices(actor=actor))
    filters: dict[str, Any] = {}
    error = ""
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        filters = {
            "owner_id": cd.get("owner"),
            "kind": cd.get("kind") or None,
            "day": cd.get("date"),
            "open_only": bool(cd.get("open")),
            "customer_id": cd.get("customer"),
        }
    elif form.is_bound:
        error = _("Some filters are not valid and were ignored.")
    cursor = request.GET.get("cursor") or None
    try:
        rows, next_cursor = selectors.activity_list(actor=actor, cursor=cursor, limit=50, **filters)
    except ApplicationError as exc:
        rows, next_cursor, error = [], None, exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    if next_cursor:
        query["cursor"] = next_cursor
    context = {
        "form": form,
        "rows": rows,
        "error": error,
        "next_url": f"?{query.urlencode()}" if next_cursor else "",
        "appending": bool(cursor),
        "can_configure": actor.allows(OBJECT_TYPE, Action.CONFIGURE),
        "can_change": actor.allows(OBJECT_TYPE, Action.CHANGE),
        "can_delete": actor.allows(OBJECT_TYPE, Action.DELETE),
        "writable_owner_ids": _writable_owner_ids(actor),
        "kind_icons": KIND_ICONS,
    }
    if htmx_partial(request):
        return render(request, "activities/list.html#rows", context)
    return render(request, "activities/list.html", context)


def _writable_owner_ids(actor: Any) -> set[int] | None:
    """Owners whose activities the actor may change (None = anyone): the same rule as services._covers."""
    from careline.core.visibility import Scope

    if actor.scope_for(OBJECT_TYPE) == Scope.ALL:
        return None
    return set(selectors.activity_owner_choices(actor=actor).values_list("pk", flat=True))


# --- email templates ---------------------------------------------------------------------------------------


def _template_form_errors(form: EmailTemplateForm, exc: ApplicationError) -> None:
    for field, msgs in _errors_of(exc).items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


@login_required
@require_http_methods(["GET", "POST"])
def email_templates(request: HttpRequest) -> HttpResponse:
    """Email templates: list and create (needs `activity.configure`)."""
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.CONFIGURE):
        return _forbidden()
    form = EmailTemplateForm(request.POST or None, initial={"active": True, "language": "vi"})
    if request.method == "POST" and form.is_valid():
        try:
            services.email_template_create(actor=actor, data=form.cleaned_data)
        except PermissionDenied as exc:
            return _forbidden(exc.message)
        except ApplicationError as exc:
            _template_form_errors(form, exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("activities:email_templates")
    return render(
        request,
        "activities/email_templates.html",
        {
            "templates": selectors.email_template_list(actor=actor, include_archived=True),
            "form": form,
            "placeholders": services.PLACEHOLDERS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def email_template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.CONFIGURE):
        return _forbidden()
    try:
        template = selectors.email_template_get(actor=actor, template_id=template_id, include_archived=True)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    initial = {
        "name": template.name,
        "subject": template.subject,
        "body": template.body,
        "language": template.language,
        "marketing": template.marketing,
        "active": template.active,
    }
    form = EmailTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.email_template_update(actor=actor, template_id=template.pk, data=form.cleaned_data)
        except ApplicationError as exc:
            _template_form_errors(form, exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("activities:email_templates")
    return render(
        request,
        "activities/email_template_form.html",
        {"template": template, "form": form, "placeholders": services.PLACEHOLDERS},
    )


@login_required
@require_POST
def email_template_archive(request: HttpRequest, template_id: int) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.CONFIGURE):
        return _forbidden()
    try:
        services.email_template_archive(actor=actor, template_id=template_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("Template archived."))
    return redirect(reverse("activities:email_templates"))
