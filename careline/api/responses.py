"""What the routers share around their responses: the error statuses an operation documents (all rendered
as `ErrorOut` by careline.api.api's handlers) and the ETag / If-Match pair of optimistic concurrency
(docs/api.md § Errors: `invalid_if_match`, `stale_version`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError
from careline.customers.schemas import ErrorOut

# 400 bad parameters, 401 no token, 403 not allowed, 404 not found or out of scope, 409 conflicting state,
# 422 invalid input.
DEFAULT_ERROR_STATUSES = (400, 401, 403, 404, 409, 422)


def error_responses(*statuses: int) -> dict[int, Any]:
    """`response={200: XOut, **ERRORS}` for ninja: each status documented with the error body."""
    return {status: ErrorOut for status in sorted(statuses or DEFAULT_ERROR_STATUSES)}


ERRORS = error_responses()


def etag(version: int) -> str:
    """The ETag of a record that carries a `version` (customers, tickets)."""
    return f'"{version}"'


def if_match_version(request: HttpRequest) -> int | None:
    """The version an `If-Match` header asks for (None without one or with `*`); 400 `invalid_if_match` for
    anything that is not an ETag we gave out."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    value = header.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ApplicationError(
            "invalid_if_match", _("If-Match must be the ETag returned by GET."), status=400
        )
    return int(value)
