"""The one NinjaAPI at /api/v1: mounts each app's router, authentication and error rendering."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from careline.api.auth import AUTH
from careline.core.errors import ApplicationError

api = NinjaAPI(
    title="Careline API",
    version="1",
    description=(
        "REST API of Careline. Authenticate with `Authorization: Bearer <token>` (create a token on your "
        "profile page or with `careline token USERNAME`). Errors are "
        '`{"error": {"code", "message", "details"}}`. Lists use cursor pagination.'
    ),
    auth=AUTH,
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details or {}}}, status=status
    )


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.details)


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "literal"}


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        # loc is (location, [body parameter name,] field, ...): drop the prefix, never a field that happens
        # to be called "body" (NoteIn.body) or "query".
        loc = [str(p) for p in err.get("loc", [])]
        if loc and loc[0] in ("body", "form", "file") and len(loc) > 2:
            loc = loc[2:]
        elif loc and loc[0] in ("body", "form", "file", "query", "path", "header", "cookie"):
            loc = loc[1:]
        # Union members show up in loc as type tags ("str", "PhoneIn", "function-wrap[…]"): not field names.
        loc = [p for p in loc if p.isdigit() or (p.isidentifier() and p.islower() and p not in _TYPE_TAGS)]
        fields.setdefault(".".join(loc) or "request", []).append(str(err.get("msg", "invalid")))
    # The same words (and translation) as ValidationFailed, whichever layer refused the input.
    return _error(request, 422, "validation_error", _("Some fields are not valid."), {"fields": fields})


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", "Authentication required: send a valid Bearer token.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(OverflowError)
def _id_out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    # An id larger than the database's integers (SQLite: 64-bit) cannot name any record.
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any /api/ path no operation matches (wrong id format, unknown resource)."""
    from django.http import JsonResponse

    return JsonResponse(
        {"error": {"code": "not_found", "message": "No such API endpoint.", "details": {}}}, status=404
    )


from careline.activities.api import router as activities_router  # noqa: E402
from careline.customers.api import router as customers_router  # noqa: E402
from careline.helpdesk.api import config_router as helpdesk_config_router  # noqa: E402
from careline.helpdesk.api import tickets_router  # noqa: E402
from careline.helpdesk.cluster_api import recurring_router  # noqa: E402
from careline.imports.api import jobs_router  # noqa: E402
from careline.imports.api import router as imports_router  # noqa: E402
from careline.kpis.api import quotas_router  # noqa: E402
from careline.sales.api import hooks_router, inquiries_router, leads_router  # noqa: E402
from careline.surveys.api import router as surveys_router  # noqa: E402

api.add_router("/customers", customers_router)
api.add_router("/imports", imports_router)
api.add_router("/jobs", jobs_router)
api.add_router("/inquiries", inquiries_router)
api.add_router("/leads", leads_router)
api.add_router("/hooks", hooks_router)
api.add_router("/activities", activities_router)
api.add_router("/quotas", quotas_router)
api.add_router("/tickets", tickets_router)
api.add_router("/helpdesk/recurring", recurring_router)
api.add_router("/helpdesk", helpdesk_config_router)
api.add_router("/surveys", surveys_router)
