"""Lead intake channels — parsing and verification helpers, kept light on Django.

* Standard Webhooks signatures (`webhook_verify`, `webhook_sign`), via the `standardwebhooks` package,
  with every malformed header turned into one `SignatureError` (never a 500).
* Webhook bodies: `inquiry.created` → `InquiryFields`, `ticket.created` → `TicketFields`,
  `call.completed` (hotline) → `CallEvent`.
* Web-form spam defences: a signed fill-time token, a fixed-window rate limiter on Django's cache, origin
  lists for CORS and `frame-ancestors`.

Nothing here writes to the database; `hooks_api` and `public_views` call the services. Email intake is
`mail` (reading the inbox, auto-reply detection and reply stripping: `careline.core.imap`).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from careline.sales.choices import Channel, ConnectorKind

# --- Standard Webhooks -----------------------------------------------------------------------------------

WEBHOOK_TOLERANCE = dt.timedelta(minutes=5)  # fixed by the standardwebhooks package (and the spec)


class SignatureError(Exception):
    """The request is not signed by the connector's secret (or is too old/new, or malformed)."""

    def __init__(self, reason: str, *, code: str = "bad_signature") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def webhook_verify(secret: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Check the `webhook-id`/`webhook-timestamp`/`webhook-signature` headers against the raw body.

    Returns the `webhook-id` (the event id). Raises SignatureError with code `missing_signature`,
    `stale_timestamp` or `bad_signature`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    if not (msg_id and lowered.get("webhook-timestamp") and lowered.get("webhook-signature")):
        raise SignatureError(
            "Missing webhook-id, webhook-timestamp or webhook-signature header.", code="missing_signature"
        )
    try:
        hook = Webhook(secret)
    except (EmptyWebhookSecretError, ValueError, RuntimeError) as exc:
        raise SignatureError("The connector's signing secret is not a valid whsec_ key.") from exc
    try:
        hook.verify(
            body,
            {k: lowered[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")},
            json_parse=False,
        )
    except WebhookVerificationError as exc:
        text = str(exc)
        if "too old" in text or "too new" in text:
            raise SignatureError(
                "The webhook-timestamp is more than 5 minutes away from our clock.", code="stale_timestamp"
            ) from exc
        if "Invalid Signature Headers" in text:
            raise SignatureError("The webhook-timestamp is not a Unix time in seconds.") from exc
        raise SignatureError("No valid v1 signature for this body and secret.") from exc
    except ValueError as exc:  # "v1" without a comma, broken base64, a body that is not UTF-8
        raise SignatureError("Malformed webhook-signature header or body.") from exc
    return msg_id


def webhook_sign(
    secret: str, body: bytes | str, *, msg_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers a sender adds (used by tests and shown in docs/api.md)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    data = body.decode() if isinstance(body, bytes) else body
    signature = Webhook(secret).sign(
        msg_id=msg_id, timestamp=dt.datetime.fromtimestamp(ts, tz=dt.UTC), data=data
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


# --- webhook bodies --------------------------------------------------------------------------------------


class PayloadError(Exception):
    """The JSON is well-formed but not an event we take: `fields` maps field → messages (answered 422)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid payload")
        self.fields = fields


CONNECTOR_CHANNELS: dict[str, str] = {
    ConnectorKind.ZALO: Channel.ZALO,
    ConnectorKind.FACEBOOK: Channel.FACEBOOK,
    ConnectorKind.MARKETPLACE: Channel.MARKETPLACE,
    ConnectorKind.HOTLINE: Channel.HOTLINE,
}
INQUIRY_TEXT_FIELDS = (
    "full_name",
    "phone",
    "email",
    "message",
    "external_id",
    "product_interest",
    "province",
    "language",
)


def channel_for_connector(kind: str) -> str:
    """zalo/facebook/marketplace/hotline keep their channel; any other connector posts as `api`."""
    return CONNECTOR_CHANNELS.get(kind, Channel.API)


@dataclass
class InquiryFields:
    full_name: str = ""
    phone: str = ""
    email: str = ""
    message: str = ""
    external_id: str = ""
    product_interest: str = ""
    province: str = ""
    language: str = "vi"
    consent: bool = False
    received_at: dt.datetime | None = None


def _event(payload: Any, expected_type: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise PayloadError({"request": ["The body must be a JSON object."]})
    if payload.get("type") != expected_type:
        raise PayloadError({"type": [f"Expected {expected_type!r} for this connector."]})
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise PayloadError({"data": ["An object with the event's fields is required."]})
    return data


def parse_datetime(value: Any) -> dt.datetime | None:
    """ISO 8601 (`2026-10-05T09:30:00+07:00`, `Z` accepted) or a Unix time; naive → local time (the caller
    makes it aware)."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    raise ValueError("not a time")


def _read_texts(
    data: Mapping[str, Any], names: tuple[str, ...], out: Any, errors: dict[str, list[str]]
) -> None:
    """Copy the event's text fields onto `out`, stripped; a phone or external id sent as a number is taken
    as its digits; any other non-string is an error of that field."""
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and name in ("phone", "external_id"):
            value = str(value)
        if not isinstance(value, str):
            errors.setdefault(name, []).append("Must be a string.")
            continue
        setattr(out, name, value.strip())


def parse_inquiry_event(payload: Any) -> InquiryFields:
    """`{"type": "inquiry.created", "data": {...}}` → the fields of an inquiry (types checked only)."""
    data = _event(payload, "inquiry.created")
    errors: dict[str, list[str]] = {}
    out = InquiryFields()
    _read_texts(data, INQUIRY_TEXT_FIELDS, out, errors)
    consent = data.get("consent", False)
    if not isinstance(consent, bool):
        errors.setdefault("consent", []).append("Must be true or false.")
    else:
        out.consent = consent
    try:
        out.received_at = parse_datetime(data.get("received_at"))
    except (ValueError, OverflowError, OSError):
        errors.setdefault("received_at", []).append("Use ISO 8601, e.g. 2026-10-05T09:30:00+07:00.")
    if errors:
        raise PayloadError(errors)
    return out


TICKET_TEXT_FIELDS = (
    "full_name",
    "phone",
    "email",
    "subject",
    "message",
    "kind",
    "priority",
    "external_id",
)


@dataclass
class TicketFields:
    """A `ticket.created` event: a customer-care ticket (complaint, inquiry, request, warranty claim)."""

    full_name: str = ""
    phone: str = ""
    email: str = ""
    subject: str = ""
    message: str = ""
    kind: str = ""  # "" → the connector's default kind, else inquiry
    priority: str = ""  # "" → the category's default, else normal
    external_id: str = ""
    category: int | str | None = None  # an id or a name path ("Học phí › Hoàn học phí")
    received_at: dt.datetime | None = None


def parse_ticket_event(payload: Any) -> TicketFields:
    """`{"type": "ticket.created", "data": {...}}` → the fields of a ticket (types checked only; the
    helpdesk checks the values)."""
    data = _event(payload, "ticket.created")
    errors: dict[str, list[str]] = {}
    out = TicketFields()
    _read_texts(data, TICKET_TEXT_FIELDS, out, errors)
    category = data.get("category")
    valid = isinstance(category, str | None) or (
        isinstance(category, int) and not isinstance(category, bool) and 1 <= category <= 2**62
    )
    if not valid:
        errors.setdefault("category", []).append("Give the category's id or its name path.")
    else:
        out.category = category.strip() if isinstance(category, str) else category
    try:
        out.received_at = parse_datetime(data.get("received_at"))
    except (ValueError, OverflowError, OSError):
        errors.setdefault("received_at", []).append("Use ISO 8601, e.g. 2026-10-05T09:30:00+07:00.")
    if errors:
        raise PayloadError(errors)
    return out


CALL_DIRECTIONS = ("inbound", "outbound")
CALL_STATUS_OUTCOMES = {"answered": "reached", "missed": "no_answer", "busy": "busy"}


@dataclass
class CallEvent:
    """A completed hotline call, as a call centre reports it."""

    call_id: str
    caller: str
    called: str
    direction: str
    started_at: dt.datetime
    duration_seconds: int
    agent: str
    status: str
    recording_url: str = ""
    message: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return CALL_STATUS_OUTCOMES[self.status]

    @property
    def customer_number(self) -> str:
        """The customer's side of the call: the caller of an inbound call, the number called otherwise."""
        return self.caller if self.direction == "inbound" else self.called


def _text(data: Mapping[str, Any], name: str, errors: dict[str, list[str]], *, required: bool) -> str:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        if required:
            errors.setdefault(name, []).append("This field is required.")
        return ""
    if not isinstance(value, str):
        errors.setdefault(name, []).append("Must be a string.")
        return ""
    return value.strip()


def parse_call_event(payload: Any) -> CallEvent:
    """`{"type": "call.completed", "data": {...}}` → CallEvent, or PayloadError with every problem."""
    data = _event(payload, "call.completed")
    errors: dict[str, list[str]] = {}
    call_id = _text(data, "call_id", errors, required=True)
    if len(call_id) > 200:
        errors.setdefault("call_id", []).append("At most 200 characters.")
    caller = _text(data, "caller", errors, required=True)
    called = _text(data, "called", errors, required=False)
    direction = _text(data, "direction", errors, required=False) or "inbound"
    if direction not in CALL_DIRECTIONS:
        errors.setdefault("direction", []).append("Use inbound or outbound.")
    elif direction == "outbound" and not called:
        errors.setdefault("called", []).append("Required for an outbound call (the customer's number).")
    status = _text(data, "status", errors, required=True)
    if status and status not in CALL_STATUS_OUTCOMES:
        errors.setdefault("status", []).append("Use answered, missed or busy.")
    agent = _text(data, "agent", errors, required=False)
    recording_url = _text(data, "recording_url", errors, required=False)
    if recording_url and urlsplit(recording_url).scheme not in ("http", "https"):
        errors.setdefault("recording_url", []).append("Must be an http(s) URL.")
    message = _text(data, "message", errors, required=False)
    duration = data.get("duration_seconds", 0)
    if duration is None:
        duration = 0
    if isinstance(duration, bool) or not isinstance(duration, int) or not 0 <= duration <= 24 * 3600:
        errors.setdefault("duration_seconds", []).append("A whole number of seconds between 0 and 86400.")
        duration = 0
    started_at: dt.datetime | None = None
    try:
        started_at = parse_datetime(data.get("started_at"))
    except (ValueError, OverflowError, OSError):
        errors.setdefault("started_at", []).append("Use ISO 8601, e.g. 2026-10-05T09:30:00+07:00.")
    else:
        if started_at is None:
            errors.setdefault("started_at", []).append("This field is required.")
    if errors:
        raise PayloadError(errors)
    assert started_at is not None
    return CallEvent(
        call_id=call_id,
        caller=caller,
        called=called,
        direction=direction,
        started_at=started_at,
        duration_seconds=duration,
        agent=agent,
        status=status,
        recording_url=recording_url,
        message=message,
        raw=dict(data),
    )


# --- web forms: fill time, rate limits, origins ----------------------------------------------------------

MIN_FILL_SECONDS = 3  # a person needs longer than this to fill in name + phone; bots post at once
TOKEN_MAX_AGE = 24 * 3600  # a page left open longer than a day is asked to submit again
FORM_TOKEN_SALT = "careline.sales.webform"
RATE_LIMITS = (
    # (scope, max requests, window in seconds)
    ("ip", 5, 600),  # one visitor: 5 submissions per 10 minutes per form
    ("form", 200, 3600),  # one form, all visitors: 200 per hour
)
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$")


def form_token(public_key: str) -> str:
    """A signed timestamp put into the form when it is shown (Django's signing, SECRET_KEY)."""
    from django.core.signing import TimestampSigner

    return TimestampSigner(salt=FORM_TOKEN_SALT).sign(public_key)


def form_token_age(token: str, public_key: str) -> float | None:
    """Seconds since `form_token()` made this token for this form; None when it is missing, forged, for
    another form or older than TOKEN_MAX_AGE."""
    from django.core.signing import BadSignature, SignatureExpired, TimestampSigner, b62_decode

    if not token:
        return None
    signer = TimestampSigner(salt=FORM_TOKEN_SALT)
    try:
        value = signer.unsign(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        return None
    except BadSignature:
        return None
    if value != public_key:
        return None
    stamp = token.rsplit(signer.sep, 2)[-2]
    return max(0.0, time.time() - b62_decode(stamp))


def rate_limited(*, key: str, limit: int, window: int) -> bool:
    """Count one request under `key` in a fixed window on the default cache; True once over `limit`."""
    from django.core.cache import cache

    bucket = f"careline:rl:{key}:{int(time.time()) // window}"
    if cache.add(bucket, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(bucket)
        except ValueError:  # expired between add and incr
            cache.add(bucket, 1, timeout=window + 5)
            count = 1
    return count > limit


def parse_origins(text: str) -> list[str]:
    """`https://example.vn` lines (scheme://host[:port], no path) → a clean list; anything else is dropped
    (so nothing odd reaches a response header)."""
    origins: list[str] = []
    for line in (text or "").replace(",", "\n").splitlines():
        origin = line.strip().rstrip("/")
        if _ORIGIN.match(origin) and origin.lower() not in origins:
            origins.append(origin.lower())
    return origins


def origin_of(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}".lower()
    return ""


def product_options(text: str) -> list[str]:
    """A form's product interest: one value (fixed, not asked) or several (comma/line separated, asked)."""
    options: list[str] = []
    for part in re.split(r"[\n,;]", text or ""):
        value = part.strip()[:120]
        if value and value not in options:
            options.append(value)
    return options
