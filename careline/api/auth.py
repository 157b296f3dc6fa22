"""API authentication: personal bearer tokens, or the browser session (with CSRF) for the web UI."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from careline.accounts.services import token_authenticate


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cl_…` — a personal API token from the profile page or `careline token`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """Django session cookie (CSRF-checked by ninja) for requests made by the web UI."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and getattr(user, "is_active", False):
            return user
        return None


AUTH = [TokenAuth(), ActiveSessionAuth()]


class AuthedRequest(HttpRequest):
    """Type of `request` inside API operations: ninja sets `auth` to the authenticated user."""

    auth: Any
