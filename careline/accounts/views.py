from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from careline.accounts import selectors, services
from careline.core.errors import NotFound
from careline.core.htmx import htmx_partial


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {
            "tokens": selectors.token_list(actor=request.user),
            "new_token": request.session.pop("new_token", None),
        },
    )


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:100]
    _token, raw = services.token_create(actor=request.user, user=request.user, name=name)
    request.session["new_token"] = raw
    messages.success(request, _("Token created. Copy it now: it will not be shown again."))
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.token_revoke(actor=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("Token revoked."))
    return redirect("accounts:profile")


# --- notifications (the bell in the top bar: web/_notifications_bell.html) ----------------------------------

BELL_LIMIT = 10
PAGE_LIMIT = 50


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The actor's latest notifications: the bell's dropdown (htmx) or a full page. Opening it marks the
    shown ones read (a POST fired by the fragment once it is displayed)."""
    partial = htmx_partial(request)
    items = selectors.notification_list(actor=request.user, limit=BELL_LIMIT if partial else PAGE_LIMIT)
    context = {"items": items, "unread_ids": ",".join(str(n.pk) for n in items if n.read_at is None)}
    if partial:
        return render(request, "accounts/_notifications_menu.html", context)
    return render(request, "accounts/notifications.html", context)


def _badge(request: HttpRequest) -> HttpResponse:
    count = selectors.notification_unread_count(actor=request.user)
    return render(request, "accounts/_notifications_badge.html", {"count": count})


@login_required
@require_GET
def notifications_badge(request: HttpRequest) -> HttpResponse:
    """The unread count on the bell (polled)."""
    return _badge(request)


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the given notifications (`ids`: comma-separated; `all`: every unread one) read; answers the badge."""
    raw = request.POST.get("ids", "")
    if raw == "all":
        services.notifications_mark_read(actor=request.user)
    else:
        ids = [int(part) for part in raw.split(",") if part.strip().isdigit()][:PAGE_LIMIT]
        if ids:
            services.notifications_mark_read(actor=request.user, ids=ids)
    if htmx_partial(request):
        return _badge(request)
    return redirect("accounts:notifications")
