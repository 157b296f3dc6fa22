"""Lead pages: the list (filters, counts, bulk assignment, run the queue), a lead with its assignment log and
actions, allocation rules with their rotation, and absences. Thin adapters: parse the request, call
selectors/services, render. Out of scope answers 404, a missing right 403, anonymous goes to the login page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.accounts.models import User
from careline.accounts.selectors import team_list, user_list_assignable
from careline.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from careline.core.htmx import htmx_partial
from careline.core.visibility import Action
from careline.sales import selectors, services
from careline.sales.choices import InquiryStatus
from careline.sales.forms import (
    AbsenceForm,
    AssignForm,
    BulkAssignForm,
    CloseForm,
    LeadFilterForm,
    ReclaimForm,
    RuleForm,
    member_formset,
    member_initial,
    member_rows_raw,
)
from careline.sales.models import AllocationRule, Inquiry
from careline.sales.selectors import OBJECT_TYPE, InquiryFilters
from careline.sales.tasks import leads_queue_run
from careline.vn import province_by_code
from careline.web.decorators import application_errors

CLOSED_STATUSES = (InquiryStatus.CLOSED, InquiryStatus.SPAM)
STATUS_BADGES: dict[str, str] = {
    InquiryStatus.QUEUED: "text-bg-warning",
    InquiryStatus.ASSIGNED: "text-bg-primary",
    InquiryStatus.CONTACTED: "text-bg-success",
    InquiryStatus.CLOSED: "text-bg-secondary",
    InquiryStatus.SPAM: "text-bg-dark",
}


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is behind `login_required`)."""
    return cast(User, request.user)


def _forbidden(message: str = "") -> HttpResponse:
    return HttpResponseForbidden(message or _("You do not have permission to do this."))


def _inquiry_or_404(request: HttpRequest, inquiry_id: int) -> Inquiry:
    try:
        return selectors.inquiry_get(actor=_user(request), inquiry_id=inquiry_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _back(request: HttpRequest, default: str) -> str:
    """Where to return after a POST: the posted `next` when it is one of our pages, else `default`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _error_text(exc: ApplicationError) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(m for msgs in exc.fields.values() for m in msgs) or exc.message
    return exc.message


def contact_due(inquiry: Inquiry, now: dt.datetime) -> dict[str, Any] | None:
    """The "contact by" countdown of an assigned lead: the time left, or by how much it is overdue."""
    if inquiry.status != InquiryStatus.ASSIGNED or inquiry.contact_due_at is None:
        return None
    due = inquiry.contact_due_at
    if due <= now:
        return {"at": due, "overdue": True, "text": timesince(due, now, depth=1)}
    soon = due - now <= dt.timedelta(hours=1)
    return {"at": due, "overdue": False, "soon": soon, "text": timeuntil(due, now, depth=2)}


# --- the list ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.VIEW):
        return _forbidden(_("You do not have access to leads."))
    can_assign = actor.allows(OBJECT_TYPE, Action.ASSIGN)
    users = list(user_list_assignable(actor=actor))
    form = LeadFilterForm(request.GET or None, owners=users, teams=team_list(actor=actor))
    filters = InquiryFilters()
    error = ""
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        filters = InquiryFilters(
            status=cd.get("status") or "",
            owner=cd.get("owner"),
            team=cd.get("team"),
            channel=cd.get("channel") or "",
            q=cd.get("q") or "",
            mine=bool(cd.get("mine")),
            day=cd.get("date"),
        )
    elif form.is_bound:
        form.mark_invalid()
        error = _("Some filters are not valid and were ignored.")
    cursor = request.GET.get("cursor") or None
    try:
        items, next_cursor = selectors.inquiry_list(actor=actor, filters=filters, cursor=cursor, limit=50)
    except ApplicationError as exc:
        items, next_cursor, error = [], None, exc.message
    now = timezone.now()
    rows = [{"i": i, "due": contact_due(i, now), "badge": STATUS_BADGES.get(i.status, "")} for i in items]
    query = request.GET.copy()
    query.pop("cursor", None)
    context: dict[str, Any] = {
        "form": form,
        "rows": rows,
        "error": error,
        "appending": bool(cursor),
        "can_assign": can_assign,
        "can_configure": actor.allows(OBJECT_TYPE, Action.CONFIGURE),
        "current_url": request.get_full_path(),
    }
    if next_cursor:
        more = query.copy()
        more["cursor"] = next_cursor
        context["next_url"] = f"?{more.urlencode()}"
    if htmx_partial(request) and cursor:
        return render(request, "sales/list.html#rows", context)
    counts = selectors.queue_counts(actor=actor)
    tabs = []
    for value, label in [("", _("All")), *InquiryStatus.choices]:
        q = query.copy()
        q.pop("status", None)
        if value:
            q["status"] = value
        tabs.append(
            {
                "value": value,
                "label": label,
                "count": counts.get(value, 0) if value else sum(counts.values()),
                "url": f"?{q.urlencode()}",
                "active": filters.status == value,
            }
        )
    context.update(
        {
            "tabs": tabs,
            "bulk_form": BulkAssignForm(users=users) if can_assign else None,
        }
    )
    if htmx_partial(request):
        return render(request, "sales/list.html#results", context)
    return render(request, "sales/list.html", context)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def lead_bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign the ticked leads to one person. The service checks, in order: every lead visible (else 404),
    the assign right (403), the person (403 when not someone the actor may assign to)."""
    actor = _user(request)
    back = _back(request, reverse("sales:list"))
    ids = [i for i in (_int(v) for v in request.POST.getlist("ids")) if i is not None]
    user_id = _int(request.POST.get("user"))
    if not ids or user_id is None:
        if not actor.allows(OBJECT_TYPE, Action.ASSIGN):
            return _forbidden(_("You cannot assign leads."))
        messages.error(request, _("Tick at least one lead and choose a person."))
        return redirect(back)
    try:
        done = services.inquiries_assign(
            actor=actor, inquiry_ids=ids, user_id=user_id, note=request.POST.get("note", "")[:300]
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        return _forbidden(exc.message)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        owner = done[0].owner if done else None
        messages.success(
            request, _("%(n)d leads assigned to %(name)s.") % {"n": len(done), "name": owner or "—"}
        )
    return redirect(back)


@login_required
@require_POST
def lead_allocate(request: HttpRequest) -> HttpResponse:
    """Run the queue now: reclaim overdue leads, allocate the queued ones; show what happened."""
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.ASSIGN):
        return _forbidden(_("You cannot run the allocation queue."))
    run = leads_queue_run()
    # Name only the people the actor manages; the rest of the company is a total.
    names = {u.pk: str(u) for u in user_list_assignable(actor=actor).filter(pk__in=list(run.per_user))}
    per_user = sorted(
        ((names[uid], n) for uid, n in run.per_user.items() if uid in names), key=lambda r: (-r[1], r[0])
    )
    others = sum(n for uid, n in run.per_user.items() if uid not in names)
    context = {"run": run, "per_user": per_user, "others": others}
    if htmx_partial(request):
        return render(request, "sales/_queue_result.html", context)
    messages.success(
        request,
        _(
            "Queue run: %(assigned)d of %(considered)d leads assigned, %(queued)d still waiting, %(reclaimed)d reclaimed."
        )
        % {
            "assigned": run.assigned,
            "considered": run.considered,
            "queued": run.still_queued,
            "reclaimed": run.reclaimed,
        },
    )
    return redirect(_back(request, reverse("sales:list")))


# --- one lead ---------------------------------------------------------------------------------------------


def _payload_summary(payload: Any, limit: int = 20) -> list[tuple[str, str]]:
    """The original payload's top-level fields as short text (nested values as compact JSON)."""
    import json

    if not isinstance(payload, dict):
        return []
    rows = []
    for key, value in list(payload.items())[:limit]:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        rows.append((str(key)[:60], text if len(text) <= 200 else text[:199] + "…"))
    return rows


@login_required
@require_GET
def lead_detail(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    actor = _user(request)
    inquiry = _inquiry_or_404(request, inquiry_id)
    is_open = inquiry.status not in CLOSED_STATUSES
    can_assign = actor.allows(OBJECT_TYPE, Action.ASSIGN)
    can_change = actor.allows(OBJECT_TYPE, Action.CHANGE)
    province = province_by_code(inquiry.province) if inquiry.province else None
    context = {
        "inquiry": inquiry,
        "badge": STATUS_BADGES.get(inquiry.status, ""),
        "assignments": selectors.assignments_for_inquiry(inquiry=inquiry),
        "due": contact_due(inquiry, timezone.now()),
        "province": province.name if province else inquiry.province,
        "payload": _payload_summary(inquiry.payload),
        "is_open": is_open,
        "can_assign": can_assign and is_open,
        "can_reclaim": can_assign and is_open and inquiry.owner_id is not None,
        "can_close": can_change and is_open,
        "assign_form": AssignForm(users=user_list_assignable(actor=actor).exclude(pk=inquiry.owner_id or 0))
        if can_assign and is_open
        else None,
        "reclaim_form": ReclaimForm(initial={"reallocate": True}),
    }
    return render(request, "sales/detail.html", context)


def _lead_action(
    request: HttpRequest, inquiry_id: int, action: str, run: Callable[[], Any], ok: str
) -> HttpResponse:
    """Visible (else 404) → allowed (else 403) → run the service → back to the lead with a message."""
    _inquiry_or_404(request, inquiry_id)
    if not _user(request).allows(OBJECT_TYPE, action):
        return _forbidden()
    try:
        run()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        return _forbidden(exc.message)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, ok)
    return redirect("sales:detail", inquiry_id)


def _form_error(request: HttpRequest, form: Any, inquiry_id: int) -> HttpResponse:
    messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("sales:detail", inquiry_id)


@login_required
@require_POST
def lead_assign(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    _inquiry_or_404(request, inquiry_id)
    if not _user(request).allows(OBJECT_TYPE, Action.ASSIGN):
        return _forbidden(_("You cannot assign leads."))
    form = AssignForm(request.POST, users=user_list_assignable(actor=_user(request)))
    if not form.is_valid():
        return _form_error(request, form, inquiry_id)
    cd = form.cleaned_data
    return _lead_action(
        request,
        inquiry_id,
        Action.ASSIGN,
        lambda: services.inquiry_assign(
            actor=_user(request), inquiry_id=inquiry_id, user_id=cd["user"], note=cd["note"]
        ),
        _("Lead assigned."),
    )


@login_required
@require_POST
def lead_reclaim(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    _inquiry_or_404(request, inquiry_id)
    if not _user(request).allows(OBJECT_TYPE, Action.ASSIGN):
        return _forbidden(_("You cannot reclaim leads."))
    form = ReclaimForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form, inquiry_id)
    cd = form.cleaned_data
    return _lead_action(
        request,
        inquiry_id,
        Action.ASSIGN,
        lambda: services.inquiry_reclaim(
            actor=_user(request), inquiry_id=inquiry_id, note=cd["note"], reallocate=cd["reallocate"]
        ),
        _("Lead reclaimed."),
    )


def _close(request: HttpRequest, inquiry_id: int, *, spam: bool) -> HttpResponse:
    form = CloseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _lead_action(
        request,
        inquiry_id,
        Action.CHANGE,
        lambda: services.inquiry_close(actor=_user(request), inquiry_id=inquiry_id, spam=spam, note=note),
        _("Marked as spam.") if spam else _("Lead closed."),
    )


@login_required
@require_POST
def lead_close(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    return _close(request, inquiry_id, spam=False)


@login_required
@require_POST
def lead_spam(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    return _close(request, inquiry_id, spam=True)


# --- allocation rules -------------------------------------------------------------------------------------


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.CONFIGURE):
        return _forbidden(_("You cannot configure lead allocation."))
    rules = selectors.rule_list(actor=actor)
    return render(request, "sales/rules.html", {"rules": rules})


def _rule_or_404(request: HttpRequest, rule_id: int) -> AllocationRule:
    rule = (
        selectors.rule_visible(actor=_user(request))
        .select_related("team", "branch")
        .prefetch_related("members__user")
        .filter(pk=rule_id)
        .first()
    )
    if rule is None:
        raise Http404(_("Rule not found."))
    return rule


def _apply_rule_errors(form: RuleForm, exc: ValidationFailed) -> list[str]:
    """Put service errors on the rule form; return the ones about the rotation (shown above it)."""
    member_errors: list[str] = []
    for field, msgs in exc.fields.items():
        name = RuleForm.SERVICE_FIELDS.get(field, field)
        for msg in msgs:
            if field == "members" or field.startswith("members."):
                member_errors.append(msg)
            elif name in form.fields:
                form.add_error(name, msg)
            else:
                form.add_error(None, msg)
    form.mark_invalid()
    return member_errors


def _rule_page(request: HttpRequest, rule: AllocationRule | None) -> HttpResponse:
    actor = _user(request)
    users = list(user_list_assignable(actor=actor))
    teams = team_list(actor=actor)
    status = 200
    member_errors: list[str] = []
    if request.method == "POST":
        post = request.POST
        languages = post.getlist("languages")
        form = RuleForm(post, teams=teams, languages=languages)
        move, add = post.get("move", ""), "add_member" in post
        if move or add:
            # Rearranging the rotation: redisplay with the change, save nothing yet.
            rows = member_rows_raw(post)
            index, _sep, direction = move.partition(":")
            if index.isdigit() and int(index) < len(rows):
                i = int(index)
                j = i - 1 if direction == "up" else i + 1 if direction == "down" else i
                if direction == "remove":
                    rows.pop(i)
                elif 0 <= j < len(rows):
                    rows[i], rows[j] = rows[j], rows[i]
            if add:
                rows.append({"user": "", "capacity": "", "skills": "", "languages": "", "active": True})
            form.is_valid()  # shows the rule's own field errors, if any, while arranging
            formset = member_formset(users=users, initial=rows)
        else:
            formset = member_formset(users=users, data=post)
            if form.is_valid() and formset.is_valid():
                data = form.service_data()
                data["members"] = [r for r in (f.service_row() for f in formset.forms) if r is not None]
                try:
                    saved = services.rule_save(actor=actor, data=data, rule_id=rule.pk if rule else None)
                except NotFound as exc:
                    raise Http404(exc.message) from exc
                except PermissionDenied as exc:
                    return _forbidden(exc.message)
                except ValidationFailed as exc:
                    member_errors = _apply_rule_errors(form, exc)
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                    return redirect("sales:rules")
            form.mark_invalid()
            status = 422
    else:
        if rule is not None:
            form = RuleForm(initial=RuleForm.initial_from(rule), teams=teams, languages=rule.languages or [])
            initial = member_initial(rule.members.all())
        else:
            team_id = actor.team_id if actor.team_id else None
            form = RuleForm(initial={"team": team_id}, teams=teams)
            initial = []
        if not initial:
            initial = [{"user": "", "capacity": "", "skills": "", "languages": "", "active": True}]
        formset = member_formset(users=users, initial=initial)
    context = {"rule": rule, "form": form, "formset": formset, "member_errors": member_errors}
    return render(request, "sales/rule_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    if not _user(request).allows(OBJECT_TYPE, Action.CONFIGURE):
        return _forbidden(_("You cannot configure lead allocation."))
    return _rule_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    if not _user(request).allows(OBJECT_TYPE, Action.CONFIGURE):
        return _forbidden(_("You cannot configure lead allocation."))
    return _rule_page(request, rule)


@login_required
@require_POST
@application_errors
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    services.rule_delete(actor=_user(request), rule_id=rule_id)
    messages.success(request, _("Rule deleted."))
    return redirect("sales:rules")


# --- absences ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def absences(request: HttpRequest) -> HttpResponse:
    """Current and future absences of the people the actor manages (and their own); add one."""
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.VIEW):
        return _forbidden(_("You do not have access to leads."))
    can_assign = actor.allows(OBJECT_TYPE, Action.ASSIGN)
    users = list(user_list_assignable(actor=actor)) if can_assign else [actor]
    if actor.pk not in {u.pk for u in users}:
        users.insert(0, actor)
    status = 200
    if request.method == "POST":
        posted_user = _int(request.POST.get("user"))
        if posted_user not in (None, actor.pk) and not can_assign:
            return _forbidden(_("You can record only your own absences."))
        form = AbsenceForm(request.POST, users=users)
        if form.is_valid():
            cd = form.cleaned_data
            try:
                services.absence_create(
                    actor=actor,
                    user_id=cd["user"],
                    starts_at=cd["starts_at"],
                    ends_at=cd["ends_at"],
                    kind=cd["kind"],
                    note=cd["note"],
                )
            except PermissionDenied as exc:
                return _forbidden(exc.message)
            except ValidationFailed as exc:
                for field, msgs in exc.fields.items():
                    target = {"ends_at": "ends_on", "starts_at": "starts_on", "user_id": "user"}.get(
                        field, field
                    )
                    for msg in msgs:
                        form.add_error(target if target in form.fields else None, msg)
                form.mark_invalid()
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Absence recorded: no new leads for this person in that time."))
                return redirect("sales:absences")
        status = 422
    else:
        form = AbsenceForm(initial={"user": actor.pk}, users=users)
    rows = selectors.absence_list(actor=actor)
    now = timezone.now()
    context = {
        "form": form,
        "rows": [
            {
                "a": a,
                "current": a.starts_at <= now < a.ends_at,
                "can_delete": a.user_id == actor.pk or can_assign,
            }
            for a in rows
        ],
    }
    return render(request, "sales/absences.html", context, status=status)


@login_required
@require_POST
@application_errors
def absence_delete(request: HttpRequest, absence_id: int) -> HttpResponse:
    services.absence_delete(actor=_user(request), absence_id=absence_id)
    messages.success(request, _("Absence deleted."))
    return redirect("sales:absences")
