"""Customer pages. Thin adapters: parse the request, call selectors/services, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from careline.accounts.selectors import branch_list, team_list, user_list_assignable
from careline.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.htmx import htmx_partial
from careline.core.visibility import Action
from careline.customers import selectors, services
from careline.customers.choices import ContactKind, ContactLabel, CustomerKind
from careline.customers.forms import ConsentForm, CustomerFilterForm, CustomerForm, NoteForm, ward_choices
from careline.customers.models import Customer
from careline.customers.selectors import OBJECT_TYPE, CustomerFilters
from careline.vn import format_phone, format_vnd
from careline.web.templatetags.careline import dmy_text, province_name


def _get_or_404(request: HttpRequest, customer_id: int) -> Any:
    try:
        return selectors.customer_get(actor=request.user, customer_id=customer_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.VIEW):
        return HttpResponseForbidden(_("You do not have access to customers."))
    form = CustomerFilterForm(
        request.GET or None,
        owners=user_list_assignable(actor=actor),
        teams=team_list(actor=actor),
        branches=branch_list(actor=actor),
    )
    filters = CustomerFilters()
    sort = ""
    error = ""
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        filters = CustomerFilters.from_data(cd)
        sort = cd["sort"]
    elif form.is_bound:
        error = _("Some filters are not valid and were ignored.")
    cursor = request.GET.get("cursor") or None
    try:
        customers, next_cursor = selectors.customer_list(
            actor=actor, filters=filters, sort=sort, cursor=cursor, limit=50
        )
    except ApplicationError as exc:
        customers, next_cursor, error = [], None, exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    if next_cursor:
        query["cursor"] = next_cursor
    context = {
        "form": form,
        "customers": customers,
        "next_url": f"?{query.urlencode()}" if next_cursor else "",
        "error": error,
        "filters": filters,
        "can_add": actor.allows(OBJECT_TYPE, Action.ADD),
        "can_import": actor.allows(OBJECT_TYPE, Action.IMPORT),
        "can_export": actor.allows(OBJECT_TYPE, Action.EXPORT),
        "can_merge": actor.allows(OBJECT_TYPE, Action.MERGE),
        "appending": bool(cursor),
    }
    if htmx_partial(request):
        return render(request, "customers/list.html#rows", context)
    return render(request, "customers/list.html", context)


def _detail_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    actor = request.user
    points = list(customer.contact_points.all())
    return {
        "customer": customer,
        "phones": [p for p in points if p.kind == ContactKind.PHONE],
        "emails": [p for p in points if p.kind == ContactKind.EMAIL],
        "consents": selectors.customer_consent_state(customer=customer),
        "notes": selectors.customer_notes(customer=customer)[:50],
        "contact_persons": selectors.customer_visible(actor=actor).filter(organization=customer)[:50]
        if customer.kind == CustomerKind.ORGANIZATION
        else [],
        "merged_into": customer.merged_into if customer.merged_into_id else None,
        "can_change": actor.allows(OBJECT_TYPE, Action.CHANGE) and not customer.is_archived,
        "can_archive": actor.allows(OBJECT_TYPE, Action.DELETE),
        "note_form": NoteForm(),
        "consent_form": ConsentForm(),
    }


@login_required
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _get_or_404(request, customer_id)
    context = _detail_context(request, customer)
    from careline.activities.views import card_context  # the log bar and the Timeline tab

    context.update(card_context(request, customer))
    return render(request, "customers/detail.html", context)


HISTORY_LABELS = {
    "phones": _lazy("Phones"),
    "emails": _lazy("Emails"),
    "tags": _lazy("Tags"),
    "note": _lazy("Note"),
    "consent.care_calls": _lazy("Consent: care calls"),
    "consent.marketing": _lazy("Consent: marketing"),
    "archived_at": _lazy("Archived"),
    "merged_from": _lazy("Merged from"),
    "merged_into": _lazy("Merged into"),
    "merged_customer": _lazy("Merged card"),
}
MERGE_KEYS = ("merged_from", "merged_into")


def _history_label(key: str) -> str:
    if key in HISTORY_LABELS:
        return str(HISTORY_LABELS[key])
    try:
        return str(Customer._meta.get_field(key.removesuffix("_id")).verbose_name).capitalize()
    except FieldDoesNotExist:
        return key


def _history_value(key: str, value: Any, names: dict[tuple[str, str], str] | None = None) -> str:
    """Show audit values the way the card shows them: phones formatted, choices by label, dates dd/mm/yyyy.
    `names` maps (field, id) to the related object's name (loaded once per page, see `_related_names`)."""
    if value in (None, "", []):
        return "—"
    if key in MERGE_KEYS:
        return (names or {}).get(("customer", str(value)), f"#{value}")
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return ", ".join(format_phone(v) if key == "phones" else str(v) for v in value)
    name = key.removesuffix("_id")
    try:
        field = Customer._meta.get_field(name)
    except FieldDoesNotExist:
        field = None
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field is not None and field.is_relation and str(value).isdigit():
        return (names or {}).get((name, str(value)), f"#{value}")
    if key == "province":
        return province_name(value) or str(value)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return dmy_text(value)
    return str(value)


def _related_names(events: list[Any]) -> dict[tuple[str, str], str]:
    """Names of every owner/team/branch/organisation id mentioned in these events: one query per kind."""
    wanted: dict[str, set[str]] = {}
    for ev in events:
        for key, change in (ev.changes or {}).items():
            if not key.endswith("_id") or not isinstance(change, dict):
                continue
            for value in (change.get("before"), change.get("after")):
                if value is not None and str(value).isdigit():
                    wanted.setdefault(key.removesuffix("_id"), set()).add(str(value))
        for key in MERGE_KEYS:
            change = (ev.changes or {}).get(key)
            if isinstance(change, dict):
                for value in (change.get("before"), change.get("after")):
                    if value is not None and str(value).isdigit():
                        wanted.setdefault("customer", set()).add(str(value))
    names: dict[tuple[str, str], str] = {}
    for c in Customer.objects.filter(pk__in=wanted.pop("customer", set())):
        names[("customer", str(c.pk))] = f"{c.full_name} (#{c.pk})"
    for name, ids in wanted.items():
        try:
            field = Customer._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.is_relation and field.related_model is not None:
            for obj in field.related_model._default_manager.filter(pk__in=ids):
                names[(name, str(obj.pk))] = str(obj)
    return names


def _merged_summary(snapshot: Any) -> str:
    """One line for the card merged into this one: its name, phones and emails as they were."""
    if not isinstance(snapshot, dict):
        return ""
    parts = [str(snapshot.get("full_name") or "")]
    parts += [format_phone(p) for p in snapshot.get("phones") or []]
    parts += [str(e) for e in snapshot.get("emails") or []]
    return " · ".join(p for p in parts if p)


@login_required
@require_GET
def customer_history(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _get_or_404(request, customer_id)
    events = list(selectors.customer_history(actor=request.user, customer=customer)[:200])
    names = _related_names(events)
    rows = [
        {
            "event": ev,
            "other_card": ev.object_repr if ev.object_id != str(customer.pk) else "",
            "changes": [
                (
                    _history_label(k),
                    _history_value(k, c.get("before"), names),
                    _history_value(k, c.get("after"), names),
                )
                for k, c in (ev.changes or {}).items()
                if isinstance(c, dict) and k != "merged_customer"
            ],
            "merged_customer": _merged_summary((ev.changes or {}).get("merged_customer")),
        }
        for ev in events
    ]
    return render(request, "customers/history.html", {"customer": customer, "rows": rows})


def _form_kwargs(request: HttpRequest) -> dict[str, Any]:
    actor = request.user
    return {
        "owners": user_list_assignable(actor=actor),
        "organizations": selectors.customer_visible(actor=actor, include_archived=False)
        .filter(kind=CustomerKind.ORGANIZATION)
        .order_by("name_folded")[:500],
    }


def _apply_service_errors(form: CustomerForm, exc: ApplicationError) -> dict[str, Any]:
    """Put service errors on the form; return extra context (duplicate link)."""
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationFailed):
        for field, msgs in exc.fields.items():
            target = field if field in form.fields else None
            for msg in msgs:
                if target:
                    form.add_error(target, msg)
                else:
                    extra.setdefault("field_errors", {}).setdefault(field, []).append(msg)
    elif isinstance(exc, Conflict):
        extra["duplicate"] = exc.details
        form.add_error(None, exc.message)
    else:
        form.add_error(None, exc.message)
    return extra


def _phone_rows(form: CustomerForm | None, customer: Any | None) -> list[dict[str, str]]:
    if form is not None and form.is_bound:
        rows = form.phones()
    elif customer is not None:
        from careline.vn import format_phone

        rows = [
            {"number": format_phone(p.value), "label": p.label}
            for p in customer.contact_points.all()
            if p.kind == ContactKind.PHONE
        ]
    else:
        rows = []
    return rows + [{"number": "", "label": ContactLabel.MOBILE}]


def _email_rows(form: CustomerForm | None, customer: Any | None) -> list[str]:
    if form is not None and form.is_bound:
        rows = form.emails()
    elif customer is not None:
        rows = [p.value for p in customer.contact_points.all() if p.kind == ContactKind.EMAIL]
    else:
        rows = []
    return [*rows, ""]


def _render_form(
    request: HttpRequest, form: CustomerForm, customer: Any | None, extra: dict[str, Any]
) -> HttpResponse:
    """The create/edit page; 422 when a submitted form comes back with errors."""
    context = {
        "form": form,
        "customer": customer,
        "phone_rows": _phone_rows(form, customer),
        "email_rows": _email_rows(form, customer),
        "labels": ContactLabel.choices,
        "can_override": request.user.allows(OBJECT_TYPE, Action.OVERRIDE_DUPLICATE),
        **extra,
    }
    return render(request, "customers/form.html", context, status=422 if request.method == "POST" else 200)


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.ADD):
        return HttpResponseForbidden(_("You cannot create customers."))
    extra: dict[str, Any] = {}
    if request.method == "POST":
        form = CustomerForm(request.POST, **_form_kwargs(request))
        if form.is_valid():
            try:
                customer = services.customer_create(
                    actor=actor,
                    data=form.service_data(include_owner=True),
                    allow_duplicate=form.cleaned_data["allow_duplicate"],
                )
            except PermissionDenied as exc:
                form.add_error(None, exc.message)
            except ApplicationError as exc:
                extra = _apply_service_errors(form, exc)
            else:
                messages.success(request, _("Customer created."))
                return redirect("customers:detail", customer.pk)
    else:
        form = CustomerForm(initial={"owner_id": actor.pk}, **_form_kwargs(request))
    return _render_form(request, form, None, extra)


@login_required
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = request.user
    customer = _get_or_404(request, customer_id)
    if not actor.allows(OBJECT_TYPE, Action.CHANGE):
        return HttpResponseForbidden(_("You cannot edit customers."))
    extra: dict[str, Any] = {}
    if request.method == "POST":
        form = CustomerForm(request.POST, **_form_kwargs(request))
        if form.is_valid():
            try:
                services.customer_update(
                    actor=actor,
                    customer_id=customer.pk,
                    data=form.service_data(include_owner="owner_id" in request.POST),
                    expected_version=form.cleaned_data.get("version"),
                    allow_duplicate=form.cleaned_data["allow_duplicate"],
                )
            except PermissionDenied as exc:
                form.add_error(None, exc.message)
            except ApplicationError as exc:
                extra = _apply_service_errors(form, exc)
                if exc.status == 412:
                    extra["stale"] = True
            else:
                messages.success(request, _("Changes saved."))
                return redirect("customers:detail", customer.pk)
    else:
        initial = {
            "kind": customer.kind,
            "full_name": customer.full_name,
            "salutation": customer.salutation,
            "organization_id": customer.organization_id,
            "job_title": customer.job_title,
            "birthday": customer.birthday,
            "lunar_birthday": customer.lunar_birthday,
            "founded_on": customer.founded_on,
            "tax_code": customer.tax_code,
            "province": customer.province,
            "ward": customer.ward,
            "street": customer.street,
            "legacy_address": customer.legacy_address,
            "tier": customer.tier,
            "stage": customer.stage,
            "source": customer.source,
            "tags": ", ".join(t.name for t in customer.tags.all()),
            "owner_id": customer.owner_id,
            "price_type": customer.price_type,
            "contract_terms": customer.contract_terms,
            "receivable_amount": customer.receivable_amount,
            "receivable_due": customer.receivable_due,
            "version": customer.version,
        }
        form = CustomerForm(initial=initial, **_form_kwargs(request))
    return _render_form(request, form, customer, extra)


@login_required
@require_GET
def ward_options(request: HttpRequest) -> HttpResponse:
    """<option>s of the wards of `?province=` (htmx: refreshes the ward select when the province changes)."""
    return render(
        request, "customers/ward_options.html", {"choices": ward_choices(request.GET.get("province", ""))}
    )


def _simple_action(request: HttpRequest, customer_id: int, service: Any, ok_message: str) -> HttpResponse:
    _get_or_404(request, customer_id)
    try:
        service(actor=request.user, customer_id=customer_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    messages.success(request, ok_message)
    return redirect("customers:detail", customer_id)


@login_required
@require_POST
def customer_archive(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _simple_action(request, customer_id, services.customer_archive, _("Customer archived."))


@login_required
@require_POST
def customer_restore(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _simple_action(request, customer_id, services.customer_restore, _("Customer restored."))


@login_required
@require_POST
def customer_note_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _get_or_404(request, customer_id)
    if not request.user.allows(OBJECT_TYPE, Action.CHANGE):
        return HttpResponseForbidden(_("You cannot change this customer."))
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.customer_note_add(
                actor=request.user, customer_id=customer.pk, body=form.cleaned_data["body"]
            )
        except PermissionDenied as exc:
            return HttpResponseForbidden(exc.message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Write something first."))
    return redirect("customers:detail", customer.pk)


@login_required
@require_POST
def customer_consent_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _get_or_404(request, customer_id)
    if not request.user.allows(OBJECT_TYPE, Action.CHANGE):
        return HttpResponseForbidden(_("You cannot change this customer."))
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the purpose, the decision and how it was given."))
        return redirect("customers:detail", customer.pk)
    try:
        services.customer_consent_record(actor=request.user, customer_id=customer.pk, **form.cleaned_data)
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Consent recorded."))
    return redirect("customers:detail", customer.pk)


# --- duplicates and merge --------------------------------------------------------------------------------


@login_required
@require_GET
def customer_duplicates(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.MERGE):
        return HttpResponseForbidden(_("You cannot merge customers."))
    kind = request.GET.get("kind", "all")
    if kind not in selectors.DUPLICATE_KINDS:
        kind = "all"
    groups = selectors.customer_duplicate_groups(actor=actor, kind=kind, limit=100)
    rows = []
    for group in groups:
        first = group.customers[0]
        rows.append(
            {
                "group": group,
                "percent": round(group.score * 100),
                "pairs": [(first, other) for other in group.customers[1:]],
            }
        )
    context = {
        "rows": rows,
        "kind": kind,
        "kinds": [("all", _("All")), ("exact", _("Exact")), ("likely", _("Likely"))],
        "can_merge_all": actor.allows(OBJECT_TYPE, Action.OVERRIDE_DUPLICATE),
    }
    return render(request, "customers/duplicates.html", context)


@login_required
@require_POST
def customer_merge_exact(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not actor.allows(OBJECT_TYPE, Action.OVERRIDE_DUPLICATE):
        return HttpResponseForbidden(_("Only administrators can merge all duplicates at once."))
    try:
        merged = services.customer_merge_exact_all(actor=actor)
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    messages.success(request, _("%(n)d duplicate customers merged.") % {"n": merged})
    return redirect("customers:duplicates")


def _merge_display(customer: Customer, field: str) -> str:
    """A field of a customer as the card shows it (for the side-by-side merge table)."""
    if field == "owner_id":
        return str(customer.owner) if customer.owner_id else "—"
    if field == "organization_id":
        return customer.organization.full_name if customer.organization else "—"
    value = getattr(customer, field)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if field == "receivable_amount":
        return format_vnd(value)
    return _history_value(field, value)


def _merge_rows(survivor: Customer, other: Customer, choice: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for field in services.MERGE_FIELDS:
        mine, theirs = getattr(survivor, field), getattr(other, field)
        if mine == theirs:
            continue
        rows.append(
            {
                "field": field,
                "label": _history_label(field),
                "survivor": _merge_display(survivor, field),
                "other": _merge_display(other, field),
                "choice": choice.get(field, services.SURVIVOR),
            }
        )
    return rows


def _union_preview(survivor: Customer, other: Customer) -> dict[str, list[str]]:
    """The phones, emails and tags the survivor will have after the merge (all of both, survivor's first)."""
    out: dict[str, list[str]] = {"phones": [], "emails": [], "tags": []}
    for c in (survivor, other):
        for p in c.contact_points.all():
            key = "phones" if p.kind == ContactKind.PHONE else "emails"
            shown = format_phone(p.value) if p.kind == ContactKind.PHONE else p.value
            if shown not in out[key]:
                out[key].append(shown)
        for t in c.tags.all():
            if t.name not in out["tags"]:
                out["tags"].append(t.name)
    return out


@login_required
def customer_merge(request: HttpRequest, customer_id: int, other_id: int) -> HttpResponse:
    """Compare two customers side by side, choose a value per differing field, then merge `other` into
    `customer` (the survivor)."""
    actor = request.user
    survivor = _get_or_404(request, customer_id)
    if not actor.allows(OBJECT_TYPE, Action.MERGE):
        return HttpResponseForbidden(_("You cannot merge customers."))
    other = _get_or_404(request, other_id)
    error = ""
    status = 200
    choice = services.customer_merge_defaults(survivor, other)
    if request.method == "POST":
        fields = {
            field: request.POST[f"field_{field}"]
            for field in services.MERGE_FIELDS
            if request.POST.get(f"field_{field}") in (services.SURVIVOR, services.OTHER)
        }
        try:
            services.customer_merge(actor=actor, survivor_id=survivor.pk, other_id=other.pk, fields=fields)
        except PermissionDenied as exc:
            return HttpResponseForbidden(exc.message)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ValidationFailed as exc:
            error = "; ".join(f"{_history_label(f)}: {' '.join(msgs)}" for f, msgs in exc.fields.items())
            status = 422
            choice = services.customer_merge_defaults(survivor, other, fields)
        except ApplicationError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(
                request,
                _("%(other)s was merged into this customer.") % {"other": other.full_name},
            )
            return redirect("customers:detail", survivor.pk)
    elif survivor.pk == other.pk:
        error, status = _("A customer cannot be merged with itself."), 409
    elif survivor.is_archived or other.is_archived:
        error, status = _("Restore archived customers before merging them."), 409
    context = {
        "survivor": survivor,
        "other": other,
        "rows": _merge_rows(survivor, other, choice),
        "union": _union_preview(survivor, other),
        "error": error,
        "blocked": survivor.pk == other.pk or survivor.is_archived or other.is_archived,
    }
    return render(request, "customers/merge.html", context, status=status)
