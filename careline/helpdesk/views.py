"""Helpdesk pages: the agent workspace (queue), one ticket (thread, reply box, status actions, assign,
playbook, customer card), the new-ticket form and the settings lists. Thin adapters over selectors and
services; out of scope answers 404, a missing right 403, anonymous goes to the login page. Errors of a
service are shown inline on the page they came from (with the service's status code)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.db.models import Case, F, Q, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.accounts.models import User
from careline.core.errors import ApplicationError, NotFound
from careline.core.visibility import Action, Scope
from careline.helpdesk import forms, selectors, services, sla
from careline.helpdesk.choices import (
    OPEN_STATUSES,
    EventKind,
    Priority,
    TicketChannel,
    TicketKind,
    TicketStatus,
)
from careline.helpdesk.models import Category, Ticket, TicketEvent
from careline.helpdesk.selectors import OBJECT_TYPE, TicketFilters

STATUS_BADGES: dict[str, str] = {
    TicketStatus.NEW: "text-bg-warning",
    TicketStatus.OPEN: "text-bg-primary",
    TicketStatus.WAITING: "text-bg-info",
    TicketStatus.RESOLVED: "text-bg-success",
    TicketStatus.CLOSED: "text-bg-secondary",
}
QUEUE_LIMIT = 100
REFRESH_SECONDS = 30


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def duration_text(seconds: int | None) -> str:
    """Business time left as people read it, in their language: "2 giờ 15 phút", "trễ 40 phút"
    ("2 h 15 min", "late 40 min" in English)."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    text = (
        _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
        if hours
        else _("%(minutes)d min") % {"minutes": minutes}
    )
    return _("late %(time)s") % {"time": text} if late else text


def _tone(clock: sla.Clock, warn_seconds: int) -> str:
    """ "danger" when late, "warning" inside the warn window, "" otherwise."""
    if clock.breached:
        return "danger"
    if clock.seconds_left is not None and not clock.paused and clock.seconds_left <= warn_seconds:
        return "warning"
    return ""


def _timer_rows(ticket: Ticket, hours: sla.HoursCache, now: Any) -> dict[str, Any]:
    timers = sla.ticket_timers(ticket, now=now, hours=hours.for_branch(ticket.branch_id))
    warn = (ticket.sla_policy.warn_before_minutes if ticket.sla_policy_id and ticket.sla_policy else 30) * 60
    fr_tone = _tone(timers.first_response, warn)
    res_tone = _tone(timers.resolution, warn)
    return {
        "first_response": timers.first_response,
        "first_response_text": duration_text(timers.first_response.seconds_left),
        "first_response_tone": fr_tone,
        "resolution": timers.resolution,
        "resolution_text": duration_text(timers.resolution.seconds_left),
        "resolution_tone": res_tone,
        "paused": timers.paused,
        "at_risk": "warning" in (fr_tone, res_tone),
        "breached": "danger" in (fr_tone, res_tone),
    }


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _category_choices() -> list[tuple[int, str]]:
    return [(c.pk, str(c)) for c in Category.objects.filter(active=True).order_by("name", "id")]


# --- queue --------------------------------------------------------------------------------------------


@login_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    """The agent workspace: visible tickets, next due first, with live SLA countdowns (htmx refresh)."""
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.VIEW):
        return HttpResponseForbidden(_("You do not have access to tickets."))
    get = request.GET
    status = get.get("status", "active")
    scope = get.get("scope", "")  # mine | team | unassigned
    sla_filter = get.get("sla", "")  # breached | at_risk
    assignee = {"mine": "me", "unassigned": "none"}.get(scope, "")
    if get.get("assignee") in ("me", "none"):
        assignee = get["assignee"]
    filters = TicketFilters(
        status=status if status in ("active", *TicketStatus.values) else "",
        assignee=assignee,
        team=(actor.team_id if scope == "team" and actor.team_id else None),
        category=_int(get.get("category")),
        kind=get.get("kind", "") if get.get("kind", "") in TicketKind.values else "",
        channel=get.get("channel", "") if get.get("channel", "") in TicketChannel.values else "",
        priority=get.get("priority", "") if get.get("priority", "") in Priority.values else "",
        breached=True if sla_filter == "breached" else None,
        q=get.get("q", "")[:200],
    )
    qs = selectors.ticket_filter(
        selectors.ticket_visible(actor=actor).select_related(
            "customer", "assignee", "team", "category", "sla_policy"
        ),
        actor=actor,
        filters=filters,
    )
    next_due = Case(
        When(first_response_at__isnull=True, first_response_due__isnull=False, then=F("first_response_due")),
        default=F("resolution_due"),
    )
    qs = qs.annotate(next_due=next_due).order_by(F("next_due").asc(nulls_last=True), "-opened_at", "id")
    tickets = list(qs[:QUEUE_LIMIT])
    hours = sla.HoursCache()
    now = timezone.now()
    rows = [
        {"ticket": t, "badge": STATUS_BADGES.get(t.status, ""), **_timer_rows(t, hours, now)} for t in tickets
    ]
    if sla_filter == "at_risk":
        rows = [r for r in rows if r["at_risk"]]
    context = {
        "rows": rows,
        "filters": filters,
        "scope": scope,
        "sla_filter": sla_filter,
        "truncated": len(tickets) == QUEUE_LIMIT,
        "statuses": [("active", _("Unresolved")), *TicketStatus.choices, ("", _("All"))],
        "counts": selectors.ticket_status_counts(actor=actor),
        "categories": _category_choices(),
        "priorities": Priority.choices,
        "channels": TicketChannel.choices,
        "kinds": TicketKind.choices,
        "refresh": REFRESH_SECONDS,
        "can_add": actor.allows(OBJECT_TYPE, Action.ADD),
        "can_configure": actor.allows(OBJECT_TYPE, Action.CONFIGURE),
        "now": now,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "ticket-queue":
        return render(request, "helpdesk/_queue.html", context)
    return render(request, "helpdesk/list.html", context)


# --- one ticket --------------------------------------------------------------------------------------


def _load(actor: User, ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_detail(actor=actor, ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _assignees(actor: User) -> list[User]:
    """People the actor may give tickets to (the service checks again): care staff within the scope."""
    qs = User.objects.filter(is_active=True, role__code__in=["care_agent", "care_head"])
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.TEAM:
        qs = qs.filter(team_id=actor.team_id or 0)
    elif scope == Scope.BRANCH:
        qs = qs.filter(Q(branch_id=actor.branch_id) | Q(team__branch_id=actor.branch_id))
    elif scope != Scope.ALL:
        qs = qs.filter(pk=actor.pk)
    return list(qs.order_by("first_name", "username")[:200])


def _survey_context(actor: User, ticket: Ticket) -> dict[str, Any]:
    """Last survey answers of the customer (when the actor may see surveys) and the record link."""
    if not actor.allows("survey", Action.VIEW):
        return {"surveys_visible": False, "survey_responses": [], "can_record_survey": False}
    from careline.surveys import selectors as survey_selectors

    try:
        responses, _next = survey_selectors.response_list(
            actor=actor, filters=survey_selectors.ResponseFilters(customer_id=ticket.customer_id), limit=5
        )
    except ApplicationError:
        responses = []
    return {
        "surveys_visible": True,
        "survey_responses": responses,
        "can_record_survey": actor.allows("survey", Action.ADD),
        "survey_record_url": reverse("surveys:record") + f"?customer={ticket.customer_id}&ticket={ticket.pk}",
    }


# Events shown as "before → after"; the others show their value after a dot ("Mở phiếu · Email").
CHANGE_EVENTS = {
    EventKind.STATUS,
    EventKind.PRIORITY,
    EventKind.CATEGORY,
    EventKind.ASSIGNED,
    EventKind.ESCALATED,
    EventKind.MERGED,
}


def _event_rows(events: list[TicketEvent]) -> list[dict[str, Any]]:
    """The ticket's history as people read it: labels rather than stored codes ("Mới → Mở"), names
    rather than user ids, the due time of an SLA warning as a date. One query for the people named."""
    user_ids = {
        int(v)
        for e in events
        if e.kind == EventKind.ASSIGNED
        for v in (e.from_value, e.to_value)
        if v.isdigit()
    }
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    clocks = {"first_response": _("First response"), "resolution": _("Resolution")}
    labels: dict[str, dict[str, Any]] = {
        EventKind.STATUS: dict(TicketStatus.choices),
        EventKind.PRIORITY: dict(Priority.choices),
        EventKind.CREATED: dict(TicketChannel.choices),
        EventKind.SLA_WARNING: clocks,
        EventKind.SLA_BREACH: clocks,
    }

    def shown(kind: str, raw: str) -> str:
        if kind == EventKind.ASSIGNED and raw.isdigit():
            return names.get(int(raw), f"#{raw}")
        return str(labels.get(kind, {}).get(raw, raw))

    rows = []
    for e in events:
        label = _("Ticket opened") if e.kind == EventKind.CREATED else e.get_kind_display()
        before, after, note, due = shown(e.kind, e.from_value), shown(e.kind, e.to_value), e.note, None
        if e.kind == EventKind.ASSIGNED and not after:
            after = _("Team queue")
        if e.kind in (EventKind.PLAYBOOK, EventKind.STEP):  # the note names the playbook / the step
            before = after = ""
        if e.kind == EventKind.SLA_WARNING:
            try:
                due, note = dt.datetime.fromisoformat(e.note), ""
            except ValueError:
                due = None
        rows.append(
            {
                "event": e,
                "label": label,
                "before": before,
                "after": after,
                "change": e.kind in CHANGE_EVENTS,
                "note": note,
                "due": due,
            }
        )
    return rows


def _detail_context(actor: User, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    hours = sla.HoursCache()
    playbook = services.playbook_view(ticket=ticket, agent=actor)
    applied = any(e.kind == "playbook" for e in ticket.events.all())
    canned = (
        [
            {"title": r.title, "body": services.canned_reply_render(r, ticket, actor)}
            for r in selectors.canned_reply_list(actor=actor, category_id=ticket.category_id)
        ]
        if actor.allows(OBJECT_TYPE, Action.CHANGE)
        else []
    )
    can_assign = actor.allows(OBJECT_TYPE, Action.ASSIGN)
    past = [
        t
        for t in selectors.tickets_for_customer(actor=actor, customer_id=ticket.customer_id, limit=11)
        if t.pk != ticket.pk
    ][:10]
    contacts = list(ticket.customer.contact_points.all().order_by("position", "id"))
    from careline.customers import selectors as customer_selectors

    customer_link = customer_selectors.customer_visible(actor=actor).filter(pk=ticket.customer_id).exists()
    context: dict[str, Any] = {
        "ticket": ticket,
        "badge": STATUS_BADGES.get(ticket.status, ""),
        "timers": _timer_rows(ticket, hours, timezone.now()),
        "messages_list": list(ticket.messages.all()),
        "events": _event_rows(list(ticket.events.all())),
        "can_change": actor.allows(OBJECT_TYPE, Action.CHANGE),
        "can_assign": can_assign,
        "assignees": _assignees(actor) if can_assign else [],
        "playbook": playbook,
        "playbook_applied": applied,
        "canned_replies": canned,
        "past_tickets": past,
        "contacts": contacts,
        "customer_link": customer_link,
        "categories": _category_choices(),
        "priorities": Priority.choices,
        "is_open": ticket.status in OPEN_STATUSES,
        "status_badges": STATUS_BADGES,
        "reply_form": forms.ReplyForm(),
        "error": "",
        **_survey_context(actor, ticket),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = _user(request)
    ticket = _load(actor, ticket_id)
    return render(request, "helpdesk/detail.html", _detail_context(actor, ticket))


def _failed(
    request: HttpRequest, actor: User, ticket_id: int, exc: ApplicationError, **extra: Any
) -> HttpResponse:
    """Show the service's error inline on the ticket page with its status code."""
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    ticket = _load(actor, ticket_id)
    message = exc.message
    fields = getattr(exc, "fields", None)
    if fields:
        message = "; ".join(f"{' '.join(str(m) for m in msgs)}" for msgs in fields.values())
    return render(
        request,
        "helpdesk/detail.html",
        _detail_context(actor, ticket, error=message, **extra),
        status=exc.status,
    )


def _back(ticket_id: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("helpdesk:detail", args=[ticket_id]) + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Send a reply (email tickets: by SMTP after commit) or add an internal note, with attachments."""
    actor = _user(request)
    form = forms.ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _failed(
            request, actor, ticket_id, ApplicationError("invalid", _("Check the reply.")), reply_form=form
        )
    try:
        message = services.message_add(
            actor=actor,
            ticket_id=ticket_id,
            # Browsers send a textarea's lines as CRLF: keep the text as typed (one newline per line).
            body=form.cleaned_data["body"].replace("\r\n", "\n"),
            internal=form.cleaned_data["internal"],
            attachments=form.cleaned_data["attachments"],
        )
    except ApplicationError as exc:
        return _failed(request, actor, ticket_id, exc, reply_form=form)
    return _back(ticket_id, f"message-{message.pk}")


ACTIONS = ("waiting", "open", "resolve", "reopen", "close")


@login_required
@require_POST
def ticket_action(request: HttpRequest, ticket_id: int, action: str) -> HttpResponse:
    """Status actions: waiting on the customer, back to open, resolve, reopen, close."""
    actor = _user(request)
    if action not in ACTIONS:
        raise Http404
    note = request.POST.get("note", "")[:300]
    try:
        if action == "waiting":
            services.ticket_update(actor=actor, ticket_id=ticket_id, data={"status": TicketStatus.WAITING})
        elif action == "open":
            services.ticket_update(actor=actor, ticket_id=ticket_id, data={"status": TicketStatus.OPEN})
        elif action == "resolve":
            services.ticket_resolve(actor=actor, ticket_id=ticket_id, note=note)
        elif action == "reopen":
            services.ticket_reopen(actor=actor, ticket_id=ticket_id, reason=note)
        else:
            services.ticket_close(actor=actor, ticket_id=ticket_id, note=note)
    except ApplicationError as exc:
        return _failed(request, actor, ticket_id, exc)
    return _back(ticket_id)


@login_required
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = _user(request)
    raw = request.POST.get("user_id", "")
    user_id = _int(raw)
    try:
        if raw and user_id is None:
            raise ApplicationError("invalid", _("Choose someone from the list."), status=422)
        services.ticket_assign(actor=actor, ticket_id=ticket_id, user_id=user_id)
    except ApplicationError as exc:
        return _failed(request, actor, ticket_id, exc)
    return _back(ticket_id)


@login_required
@require_POST
def ticket_edit(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Priority / category change (a new SLA policy may apply)."""
    actor = _user(request)
    data: dict[str, Any] = {}
    if "priority" in request.POST:
        data["priority"] = request.POST["priority"]
    if "category_id" in request.POST:
        data["category_id"] = _int(request.POST["category_id"])
    try:
        services.ticket_update(
            actor=actor, ticket_id=ticket_id, data=data, expected_version=_int(request.POST.get("version"))
        )
    except ApplicationError as exc:
        return _failed(request, actor, ticket_id, exc)
    return _back(ticket_id)


@login_required
@require_POST
def playbook_apply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = _user(request)
    try:
        services.playbook_apply(actor=actor, ticket_id=ticket_id)
    except ApplicationError as exc:
        return _failed(request, actor, ticket_id, exc)
    return _back(ticket_id, "playbook")


@login_required
@require_POST
def playbook_step(request: HttpRequest, ticket_id: int, step: int) -> HttpResponse:
    actor = _user(request)
    try:
        services.step_check(actor=actor, ticket_id=ticket_id, step=step, done=request.POST.get("done") == "1")
    except ApplicationError as exc:
        return _failed(request, actor, ticket_id, exc)
    return _back(ticket_id, "playbook")


# --- new ticket (hotline call, walk-in) ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.ADD):
        return HttpResponseForbidden(_("You cannot open tickets."))
    categories = _category_choices()
    customer = None
    customer_id = _int(request.GET.get("customer") or request.POST.get("customer_id"))
    if customer_id:
        from careline.customers import selectors as customer_selectors

        try:
            customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    error = ""
    status = 200
    if request.method == "POST":
        form = forms.TicketNewForm(request.POST, categories=categories)
        if form.is_valid():
            d = form.cleaned_data
            try:
                ticket = services.ticket_create(
                    actor=actor,
                    data=services.TicketData(
                        channel=d["channel"],
                        kind=d["kind"],
                        subject=d["subject"],
                        message=d["message"],
                        customer_id=customer.pk if customer else None,
                        phone=d["phone"],
                        email=d["email"],
                        full_name=d["full_name"],
                        category_id=d["category_id"],
                        priority=d["priority"],
                    ),
                )
            except ApplicationError as exc:
                error, status = exc.message, exc.status
                for field, msgs in (getattr(exc, "fields", None) or {}).items():
                    form.add_error(field if field in form.fields else None, [str(m) for m in msgs])
            else:
                return redirect("helpdesk:detail", ticket.pk)
        else:
            status = 422
    else:
        form = forms.TicketNewForm(
            initial={"phone": request.GET.get("phone", "")[:30]}, categories=categories
        )
    return render(
        request,
        "helpdesk/new.html",
        {"form": form, "customer": customer, "error": error},
        status=status,
    )


# --- settings -----------------------------------------------------------------------------------------


def _configure_or_403(actor: User) -> HttpResponse | None:
    if not actor.allows(OBJECT_TYPE, Action.CONFIGURE):
        return HttpResponseForbidden(_("You cannot change the helpdesk settings."))
    return None


SETTINGS_FORMS: dict[str, type[Any]] = {
    "category": forms.CategoryForm,
    "policy": forms.SlaPolicyForm,
    "playbook": forms.PlaybookForm,
    "reply": forms.CannedReplyForm,
}


def _settings_save(actor: User, kind: str, data: dict[str, Any], obj_id: int | None) -> None:
    if kind == "category":
        fields = {
            "name": data["name"],
            "parent_id": data["parent_id"],
            "default_priority": data["default_priority"],
            "skills": [s.strip() for s in data["skills"].split(",") if s.strip()],
        }
        if obj_id:
            services.category_update(actor=actor, category_id=obj_id, data=fields)
        else:
            services.category_create(actor=actor, **fields)
    elif kind == "policy":
        services.sla_policy_save(actor=actor, data=data, policy_id=obj_id)
    elif kind == "playbook":
        steps = [line.strip() for line in data["steps"].splitlines() if line.strip()]
        services.playbook_save(
            actor=actor, category_id=data["category_id"], steps=steps, involve=data["involve"]
        )
    else:
        services.canned_reply_save(actor=actor, data=data, reply_id=obj_id)


def _settings_initial(kind: str, obj_id: int) -> dict[str, Any]:
    from careline.helpdesk.models import CannedReply, Playbook, SlaPolicy

    if kind == "category":
        c = Category.objects.filter(pk=obj_id).first()
        if c is None:
            raise Http404
        return {
            "name": c.name,
            "parent_id": c.parent_id,
            "default_priority": c.default_priority,
            "skills": ", ".join(c.skills or []),
        }
    if kind == "policy":
        p = SlaPolicy.objects.filter(pk=obj_id).first()
        if p is None:
            raise Http404
        return {
            f: getattr(p, f)
            for f in (
                "name",
                "priority",
                "first_response_minutes",
                "resolution_minutes",
                "warn_before_minutes",
            )
        }
    if kind == "playbook":
        b = Playbook.objects.filter(pk=obj_id).first()
        if b is None:
            raise Http404
        return {
            "category_id": b.category_id,
            "steps": "\n".join(str(s) for s in b.steps or []),
            "involve": b.involve,
        }
    r = CannedReply.objects.filter(pk=obj_id).first()
    if r is None:
        raise Http404
    return {"title": r.title, "body": r.body, "category_id": r.category_id}


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, kind: str = "", obj_id: int | None = None) -> HttpResponse:
    """Categories tree, SLA policies, playbooks and canned replies: lists plus one create/edit form."""
    actor = _user(request)
    denied = _configure_or_403(actor)
    if denied:
        return denied
    if kind and kind not in SETTINGS_FORMS:
        raise Http404
    categories = _category_choices()
    form = None
    error = ""
    status = 200
    if kind:
        form_class = SETTINGS_FORMS[kind]
        kwargs: dict[str, Any] = {} if kind == "policy" else {"categories": categories}
        if request.method == "POST":
            form = form_class(request.POST, **kwargs)
            if form.is_valid():
                try:
                    _settings_save(actor, kind, dict(form.cleaned_data), obj_id)
                except ApplicationError as exc:
                    error, status = exc.message, exc.status
                    for field, msgs in (getattr(exc, "fields", None) or {}).items():
                        form.add_error(field if field in form.fields else None, [str(m) for m in msgs])
                else:
                    return redirect("helpdesk:settings")
            else:
                status = 422
        else:
            initial = _settings_initial(kind, obj_id) if obj_id else {}
            form = form_class(initial=initial, **kwargs)
        for field in form.fields.values():
            field.widget.attrs.setdefault("class", "form-control form-control-sm")
    tree = selectors.category_list(actor=actor, include_inactive=True)
    return render(
        request,
        "helpdesk/settings.html",
        {
            "categories": tree,
            "policies": selectors.sla_policy_list(actor=actor),
            "playbooks": selectors.playbook_list(actor=actor),
            "replies": selectors.canned_reply_list(actor=actor),
            "form": form,
            "kind": kind,
            "obj_id": obj_id,
            "error": error,
        },
        status=status,
    )
