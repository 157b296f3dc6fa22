from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from careline.core.visibility import Action
from careline.customers.choices import Stage
from careline.customers.selectors import OBJECT_TYPE, customer_stage_counts, customer_visible


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    actor = request.user
    context: dict[str, object] = {"can_view_customers": actor.allows(OBJECT_TYPE, Action.VIEW)}
    if context["can_view_customers"]:
        counts = customer_stage_counts(actor=actor)
        context["stage_counts"] = [(value, label, counts.get(value, 0)) for value, label in Stage.choices]
        context["total"] = sum(counts.values())
        context["mine"] = customer_visible(actor=actor, include_archived=False).filter(owner=actor).count()
        context["unassigned"] = (
            customer_visible(actor=actor, include_archived=False).filter(owner__isnull=True).count()
        )
    return render(request, "web/home.html", context)


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness + database check for load balancers (public, no data)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # pragma: no cover - exercised by operations, not unit tests
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
