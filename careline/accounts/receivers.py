"""Auth signals are the only hook Django gives for sign-ins; each receiver just calls a service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from careline.accounts import services


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.login_recorded(user=user, ok=True)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username") or credentials.get("email") or "")[:150]
    user = get_user_model().objects.filter(username__iexact=username).first() if username else None
    services.login_recorded(user=user, ok=False, username=username)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.logout_recorded(user=user)
