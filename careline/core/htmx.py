"""htmx helpers: one view renders the full page or just a fragment (NetBox `htmx_partial`)."""

from __future__ import annotations

from django.http import HttpRequest


def htmx_partial(request: HttpRequest) -> bool:
    """True for an htmx request that wants a fragment (a boosted navigation still wants the full page)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted
