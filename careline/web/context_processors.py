from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Values every page's navigation bar needs."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "nav_section": request.resolver_match.namespace if getattr(request, "resolver_match", None) else "",
        "nav_role": user.role_code if signed_in else "",
        "nav": _NavFlags(user) if signed_in else None,
    }


class _NavFlags:
    """Which menu entries the signed-in user gets (computed lazily: only when the template asks)."""

    def __init__(self, user: Any) -> None:
        self._user = user

    def _can(self, object_type: str, action: str = "view") -> bool:
        return bool(self._user.allows(object_type, action))

    @property
    def leads(self) -> bool:
        return self._can("inquiry")

    @property
    def activities(self) -> bool:
        return self._can("activity")

    @property
    def quotas(self) -> bool:
        return self._can("quota")

    @property
    def board(self) -> bool:
        return self._can("quota") and self._user.scope_for("quota") in ("team", "branch", "all")

    @property
    def tickets(self) -> bool:
        return self._can("ticket")

    @property
    def helpdesk_settings(self) -> bool:
        return self._can("ticket", "configure")

    @property
    def surveys(self) -> bool:
        return self._can("survey")

    @property
    def lead_rules(self) -> bool:
        return self._can("inquiry", "configure")
