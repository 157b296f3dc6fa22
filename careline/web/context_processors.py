from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Values every page's navigation bar needs."""
    user = getattr(request, "user", None)
    return {
        "nav_section": request.resolver_match.namespace if getattr(request, "resolver_match", None) else "",
        "nav_role": user.role_code if user is not None and user.is_authenticated else "",
    }
