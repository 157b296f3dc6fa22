"""The embeddable web form — public pages, no login (docs/api.md "Web forms").

A form makes a lead (destination `lead`, sales) or a customer-care ticket (destination `ticket`): then it
also asks for a subject and — unless the form has a default kind — what kind of request it is, and the
ticket goes through `careline.helpdesk.intake` (channel `web`, threaded into the customer's open ticket on
the same topic); the thank-you page shows the ticket's number ("Mã phiếu #123").

* `GET /f/<public_key>/` — a small mobile-first form (Vietnamese; `?lang=en` switches and remembers it in
  the language cookie). Frameable only by the form's allowed origins (`frame-ancestors`).
* `POST /f/<public_key>/` — creates the inquiry (channel `web`) or the ticket and shows the thank-you
  page or redirects to the form's `redirect_url`.
* `POST /f/<public_key>/submit` — the same from a site's own HTML (urlencoded → redirect) or JavaScript
  (JSON → JSON), CSRF-exempt, CORS for the allowed origins only; `GET` there hands out a fill-time token.

Spam defences: the honeypot field `website` must stay empty, a form shown less than MIN_FILL_SECONDS ago
(signed token `ts`) is too fast; both pretend success and store nothing. Too many posts per IP or per form
answer 429.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.signing import BadSignature, TimestampSigner
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from careline.core.errors import ValidationFailed
from careline.core.middleware import client_ip
from careline.helpdesk import intake as ticket_intake
from careline.helpdesk.choices import TicketKind
from careline.sales import services
from careline.sales.choices import Channel, IntakeDestination
from careline.sales.intake import (
    MIN_FILL_SECONDS,
    RATE_LIMITS,
    form_token,
    form_token_age,
    origin_of,
    parse_origins,
    product_options,
    rate_limited,
)
from careline.sales.models import WebForm

HONEYPOT = "website"
FIELDS = ("full_name", "phone", "email", "subject", "kind", "message", "product_interest")
MAX_LENGTHS = {
    "full_name": 200,
    "phone": 30,
    "email": 254,
    "subject": 250,
    "kind": 10,
    "message": 5000,
    "product_interest": 120,
}
TICKET_SALT = "careline.sales.webform.ticket"
TICKET_MAX_AGE = 3600  # the ticket number is shown on the thank-you page for an hour


def _form_or_404(public_key: str) -> WebForm:
    web_form = (
        WebForm.objects.filter(public_key=public_key, active=True).select_related("branch", "team").first()
    )
    if web_form is None:
        raise Http404
    return web_form


def _language(request: HttpRequest) -> str | None:
    """`?lang=en|vi` switches the page's language (and is remembered in the language cookie)."""
    lang = request.GET.get("lang", "")
    if lang in {code for code, _name in settings.LANGUAGES}:
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        return lang
    return None


def _finish(
    request: HttpRequest, response: HttpResponse, web_form: WebForm, lang: str | None
) -> HttpResponse:
    """Frameable by the form's allowed origins only; form posts (and the redirect after) allowed."""
    origins = parse_origins(web_form.allowed_origins)
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    form_action: list[str] = [CSP.SELF]
    if redirect := origin_of(web_form.redirect_url):
        form_action.append(redirect)
    response._csp_config = {  # type: ignore[attr-defined]
        **settings.SECURE_CSP,
        "frame-ancestors": [CSP.SELF, *origins],
        "form-action": form_action,
    }
    if lang:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _values(source: Any) -> dict[str, str]:
    return {name: str(source.get(name, "") or "")[: MAX_LENGTHS[name]].strip() for name in FIELDS}


def _consent(source: Any) -> bool:
    value = source.get("consent", "")
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "on", "true", "yes")


def _limited(request: HttpRequest, web_form: WebForm) -> bool:
    ip = client_ip(request) or "unknown"
    hit = False
    for scope, limit, window in RATE_LIMITS:
        key = f"webform:{web_form.pk}:{ip}" if scope == "ip" else f"webform:{web_form.pk}"
        hit = rate_limited(key=key, limit=limit, window=window) or hit
    return hit


def _spam(request: HttpRequest, web_form: WebForm, source: Any, *, token_required: bool) -> bool:
    """Honeypot filled, or posted faster than a person can (or without the page's token)."""
    if str(source.get(HONEYPOT, "") or "").strip():
        return True
    token = str(source.get("ts", "") or "")
    if not token and not token_required:
        return False
    age = form_token_age(token, web_form.public_key)
    return age is None or age < MIN_FILL_SECONDS


def _is_ticket(web_form: WebForm) -> bool:
    return web_form.destination == IntakeDestination.TICKET


def _receive(request: HttpRequest, web_form: WebForm, values: dict[str, str], consent: bool) -> int | None:
    """Store the submission: a lead's inquiry, or a care ticket (its id is returned)."""
    options = product_options(web_form.product_interest)
    product = values["product_interest"]
    if len(options) == 1 or product not in options:
        product = options[0] if len(options) == 1 else ""
    now = timezone.localtime()
    evidence = _("web form %(name)s, IP %(ip)s, %(time)s") % {
        "name": web_form.name,
        "ip": client_ip(request) or "?",
        "time": now.strftime("%d/%m/%Y %H:%M"),
    }
    if _is_ticket(web_form):
        result = ticket_intake.ticket_intake(
            data=ticket_intake.web_form_ticket_data(web_form=web_form, values=values, product=product),
            consent=ticket_intake.ConsentGiven(evidence=evidence) if consent else None,
        )
        return result.ticket.pk
    services.inquiry_receive(
        actor=None,
        data=services.InquiryData(
            channel=Channel.WEB,
            full_name=values["full_name"],
            phone=values["phone"],
            email=values["email"],
            message=values["message"],
            product_interest=product,
            language=translation.get_language() or "vi",
            consent=consent,
            consent_evidence=evidence if consent else "",
            payload={
                "form": web_form.public_key,
                "origin": request.headers.get("Origin", ""),
                "referer": request.headers.get("Referer", "")[:300],
                "user_agent": request.headers.get("User-Agent", "")[:300],
            },
            branch_id=web_form.branch_id,
            team_id=web_form.team_id,
            web_form_id=web_form.pk,
        ),
    )
    return None


def _form_errors(web_form: WebForm, values: dict[str, str], consent: bool) -> dict[str, list[str]]:
    """What the form itself requires (the services check the rest: a phone or an email, their format)."""
    errors: dict[str, list[str]] = {}
    if web_form.consent_text and not consent:
        errors["consent"] = [_("Please tick the box to agree so that we can contact you.")]
    if _is_ticket(web_form):
        if not web_form.ticket_kind and values["kind"] and values["kind"] not in TicketKind.values:
            errors["kind"] = [_("Please choose one of the options.")]
        if not values["subject"] and not values["message"]:
            errors["message"] = [_("Please tell us what happened or what you need.")]
    return errors


def _ticket_token(web_form: WebForm, ticket_id: int) -> str:
    return TimestampSigner(salt=TICKET_SALT).sign(f"{web_form.public_key}:{ticket_id}")


def _ticket_from_token(web_form: WebForm, token: str) -> int | None:
    """The ticket number a `_ticket_token` carries (only for this form and for an hour; never forged)."""
    try:
        value = TimestampSigner(salt=TICKET_SALT).unsign(token, max_age=TICKET_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    key, _sep, ticket_id = value.rpartition(":")
    return int(ticket_id) if key == web_form.public_key and ticket_id.isdigit() else None


def _success_target(web_form: WebForm, ticket_id: int | None = None) -> str:
    """The form's redirect URL, or our thank-you page in the language in use (inside a cross-site iframe the
    language cookie is not sent, so the language travels in the URL), with the ticket's number (signed)."""
    thanks = (
        reverse("forms:thanks", args=[web_form.public_key]) + f"?lang={translation.get_language() or 'vi'}"
    )
    if ticket_id is not None:
        thanks += "&ticket=" + _ticket_token(web_form, ticket_id)
    return web_form.redirect_url or thanks


def _render_form(
    request: HttpRequest,
    web_form: WebForm,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    consent: bool = False,
    status: int = 200,
) -> HttpResponse:
    options = product_options(web_form.product_interest)
    return render(
        request,
        "sales/public_form.html",
        {
            "web_form": web_form,
            "values": values or dict.fromkeys(FIELDS, ""),
            "errors": errors or {},
            "consent": consent,
            "product_options": options if len(options) > 1 else [],
            "is_ticket": _is_ticket(web_form),
            "kind_options": TicketKind.choices if _is_ticket(web_form) and not web_form.ticket_kind else [],
            "token": form_token(web_form.public_key),
            "honeypot": HONEYPOT,
        },
        status=status,
    )


def _too_many(request: HttpRequest, web_form: WebForm) -> HttpResponse:
    return render(
        request, "sales/public_form_thanks.html", {"web_form": web_form, "limited": True}, status=429
    )


@csrf_exempt  # no session to protect; in a cross-site iframe the CSRF cookie would not even be sent
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, public_key: str) -> HttpResponse:
    web_form = _form_or_404(public_key)
    lang = _language(request)
    if request.method == "GET":
        return _finish(request, _render_form(request, web_form), web_form, lang)
    if _limited(request, web_form):
        return _finish(request, _too_many(request, web_form), web_form, lang)
    if _spam(request, web_form, request.POST, token_required=True):
        return _finish(request, HttpResponseRedirect(_success_target(web_form)), web_form, lang)
    values, consent = _values(request.POST), _consent(request.POST)
    errors = _form_errors(web_form, values, consent)
    ticket_id = None
    if not errors:
        try:
            ticket_id = _receive(request, web_form, values, consent)
        except ValidationFailed as exc:
            errors = exc.fields
    if errors:
        response = _render_form(request, web_form, values=values, errors=errors, consent=consent, status=200)
        return _finish(request, response, web_form, lang)
    return _finish(request, HttpResponseRedirect(_success_target(web_form, ticket_id)), web_form, lang)


@xframe_options_exempt
@require_http_methods(["GET"])
def thanks_page(request: HttpRequest, public_key: str) -> HttpResponse:
    web_form = _form_or_404(public_key)
    lang = _language(request)
    ticket_id = _ticket_from_token(web_form, request.GET.get("ticket", ""))
    response = render(
        request,
        "sales/public_form_thanks.html",
        {"web_form": web_form, "limited": False, "ticket_id": ticket_id},
    )
    return _finish(request, response, web_form, lang)


def _cors(request: HttpRequest, response: HttpResponse, web_form: WebForm) -> HttpResponse:
    origin = (request.headers.get("Origin") or "").lower()
    if origin and origin in parse_origins(web_form.allowed_origins):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _json_error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def submit(request: HttpRequest, public_key: str) -> HttpResponse:
    """From a site's own page. JSON in → JSON out (201 `{"ok": true, "message"}` plus `ticket_id` for a
    ticket form, 422 with fields, 429);
    a form post → 303 to the redirect URL/thank-you page (errors: back to our form page, pre-filled)."""
    web_form = _form_or_404(public_key)
    origins = parse_origins(web_form.allowed_origins)
    origin = (request.headers.get("Origin") or "").lower()
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204), web_form)
    if origins and origin and origin not in origins and origin != request.build_absolute_uri("/").rstrip("/"):
        return _json_error(403, "origin_not_allowed", _("This site may not post to this form."))
    if request.method == "GET":
        return _cors(request, JsonResponse({"ts": form_token(web_form.public_key)}), web_form)
    is_json = (request.content_type or "").startswith("application/json")
    if is_json:
        try:
            source: Any = json.loads(request.body or b"{}")
        except ValueError:
            return _cors(request, _json_error(400, "bad_json", _("The body is not valid JSON.")), web_form)
        if not isinstance(source, dict):
            return _cors(request, _json_error(400, "bad_json", _("Send a JSON object.")), web_form)
    else:
        source = request.POST
    wants_json = is_json or "application/json" in request.headers.get("Accept", "")
    ok = {"ok": True, "message": web_form.success_message or _("Thank you! We will contact you soon.")}
    if _limited(request, web_form):
        return _cors(
            request,
            _json_error(429, "rate_limited", _("Too many submissions. Please try again in a few minutes.")),
            web_form,
        )
    if _spam(request, web_form, source, token_required=False):
        done: HttpResponse = JsonResponse(ok, status=201) if wants_json else _redirect(web_form)
        return _cors(request, done, web_form)
    values, consent = _values(source), _consent(source)
    errors = _form_errors(web_form, values, consent)
    ticket_id = None
    if not errors:
        try:
            ticket_id = _receive(request, web_form, values, consent)
        except ValidationFailed as exc:
            errors = exc.fields
    if errors:
        if wants_json:
            response: HttpResponse = _json_error(
                422, "validation_error", _("Some fields are not valid."), {"fields": errors}
            )
        else:  # a plain HTML form on another site: our own form page, filled in, with the errors
            response = _render_form(request, web_form, values=values, errors=errors, consent=consent)
            response = _finish(request, response, web_form, None)
        return _cors(request, response, web_form)
    if ticket_id is not None:
        ok["ticket_id"] = ticket_id
    done = JsonResponse(ok, status=201) if wants_json else _redirect(web_form, ticket_id)
    return _cors(request, done, web_form)


def _redirect(web_form: WebForm, ticket_id: int | None = None) -> HttpResponse:
    response = HttpResponseRedirect(_success_target(web_form, ticket_id))
    response.status_code = 303
    return response
