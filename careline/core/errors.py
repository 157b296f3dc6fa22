"""Application errors: one exception type that every adapter renders the same way.

The API renders `{"error": {"code", "message", "details"}}` with `status`; web views show `message`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class ApplicationError(Exception):
    """A business rule refused the request; `code` is stable and machine-readable."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.details = details or {}
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(ApplicationError):
    """The object does not exist or is outside the caller's scope (never tell which)."""

    status = 404

    def __init__(self, message: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__("not_found", message or _("Not found."), details)


class PermissionDenied(ApplicationError):
    """The caller can see the object but may not perform this action on it."""

    status = 403

    def __init__(self, message: str = "") -> None:
        super().__init__("forbidden", message or _("You do not have permission to do this."))


class Conflict(ApplicationError):
    status = 409


class PreconditionFailed(ApplicationError):
    """The record changed since the caller read it (optimistic concurrency)."""

    status = 412

    def __init__(self, current_version: int) -> None:
        super().__init__(
            "stale_version",
            _("This record was changed by someone else. Reload it and apply your change again."),
            {"current_version": current_version},
        )


class ValidationFailed(ApplicationError):
    """Input is well-formed but breaks a rule; `details["fields"]` maps field → list of messages."""

    status = 422

    def __init__(self, fields: dict[str, list[str]], message: str = "") -> None:
        super().__init__("validation_error", message or _("Some fields are not valid."), {"fields": fields})
        self.fields = fields
