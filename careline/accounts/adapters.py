from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by administrators: public sign-up stays closed."""

    def is_open_for_signup(self, request: Any) -> bool:
        return False
