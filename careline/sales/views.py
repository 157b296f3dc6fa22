"""Lead pages. Thin adapters: parse the request, call selectors/services, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from careline.core.errors import NotFound
from careline.core.visibility import Action
from careline.sales import selectors


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not actor.allows(selectors.OBJECT_TYPE, Action.VIEW):
        return HttpResponseForbidden(_("You do not have access to leads."))
    filters = selectors.InquiryFilters(
        status=request.GET.get("status", ""),
        mine=request.GET.get("mine") == "1",
        q=request.GET.get("q", "")[:200],
    )
    items, next_cursor = selectors.inquiry_list(
        actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=50
    )
    return render(
        request,
        "sales/list.html",
        {"items": items, "next_cursor": next_cursor, "filters": filters, "nav_section": "sales"},
    )


@login_required
@require_GET
def lead_detail(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    try:
        inquiry = selectors.inquiry_get(actor=request.user, inquiry_id=inquiry_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "sales/detail.html",
        {
            "inquiry": inquiry,
            "assignments": selectors.assignments_for_inquiry(inquiry=inquiry),
            "nav_section": "sales",
        },
    )
