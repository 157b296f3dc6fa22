"""Per-request context (IP, request id, user agent) that services read when they write audit events.

Set by `RequestContextMiddleware` for HTTP; CLI commands and tasks set `source` themselves.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    source: str = "web"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "careline_request_context", default=None
)


def current() -> RequestContext:
    ctx = _current.get()
    return ctx if ctx is not None else RequestContext(source="system")


def activate(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def deactivate(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
