"""Minimal helpdesk pages: the ticket list (filters, SLA countdowns) and one ticket (conversation, timers,
event log). Thin adapters over selectors; out of scope answers 404, a missing right 403, anonymous goes to
the login page. The agent workspace (reply box, canned replies, customer card) is built on top later."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from careline.accounts.models import User
from careline.core.errors import ApplicationError, NotFound
from careline.core.visibility import Action
from careline.helpdesk import selectors, sla
from careline.helpdesk.choices import Priority, TicketChannel, TicketKind, TicketStatus
from careline.helpdesk.models import Ticket
from careline.helpdesk.selectors import OBJECT_TYPE, TicketFilters

STATUS_BADGES: dict[str, str] = {
    TicketStatus.NEW: "text-bg-warning",
    TicketStatus.OPEN: "text-bg-primary",
    TicketStatus.WAITING: "text-bg-info",
    TicketStatus.RESOLVED: "text-bg-success",
    TicketStatus.CLOSED: "text-bg-secondary",
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def duration_text(seconds: int | None) -> str:
    """Business time left as people read it: "2 h 15 min", "late 40 min"."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return _("late %(time)s") % {"time": text} if late else text


def _timer_rows(ticket: Ticket, hours: sla.HoursCache, now: Any) -> dict[str, Any]:
    timers = sla.ticket_timers(ticket, now=now, hours=hours.for_branch(ticket.branch_id))
    return {
        "first_response": timers.first_response,
        "first_response_text": duration_text(timers.first_response.seconds_left),
        "resolution": timers.resolution,
        "resolution_text": duration_text(timers.resolution.seconds_left),
        "paused": timers.paused,
    }


@login_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    if not actor.allows(OBJECT_TYPE, Action.VIEW):
        return HttpResponseForbidden(_("You do not have access to tickets."))
    get = request.GET
    status = get.get("status", "active")
    filters = TicketFilters(
        status=status if status in ("active", *TicketStatus.values) else "",
        assignee=get.get("assignee", "") if get.get("assignee", "") in ("me", "none") else "",
        kind=get.get("kind", "") if get.get("kind", "") in TicketKind.values else "",
        channel=get.get("channel", "") if get.get("channel", "") in TicketChannel.values else "",
        priority=get.get("priority", "") if get.get("priority", "") in Priority.values else "",
        q=get.get("q", "")[:200],
    )
    error = ""
    try:
        tickets, next_cursor = selectors.ticket_list(
            actor=actor, filters=filters, cursor=get.get("cursor") or None, limit=50
        )
    except ApplicationError as exc:
        tickets, next_cursor, error = [], None, exc.message
    hours = sla.HoursCache()
    now = timezone.now()
    rows = [
        {"ticket": t, "badge": STATUS_BADGES.get(t.status, ""), **_timer_rows(t, hours, now)} for t in tickets
    ]
    return render(
        request,
        "helpdesk/list.html",
        {
            "rows": rows,
            "filters": filters,
            "next_cursor": next_cursor,
            "error": error,
            "statuses": [("active", _("Active")), *TicketStatus.choices, ("", _("All"))],
            "counts": selectors.ticket_status_counts(actor=actor),
        },
    )


@login_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = _user(request)
    try:
        ticket = selectors.ticket_detail(actor=actor, ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    hours = sla.HoursCache()
    return render(
        request,
        "helpdesk/detail.html",
        {
            "ticket": ticket,
            "badge": STATUS_BADGES.get(ticket.status, ""),
            "timers": _timer_rows(ticket, hours, timezone.now()),
            "messages_list": list(ticket.messages.all()),
            "events": list(ticket.events.all()),
            "can_change": actor.allows(OBJECT_TYPE, Action.CHANGE),
        },
    )
