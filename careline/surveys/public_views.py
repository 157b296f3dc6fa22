"""The public survey page — no login; the token in the URL is the credential (docs/api.md "Surveys").

* `GET /s/<token>/` — the question with big score buttons, the optional reason (and a custom survey's
  questions); Vietnamese or English by the invitation's language, `?lang=vi|en` switches.
* `GET /s/<token>/?score=N` — the one-click link of the email: records the score at once, then shows the
  page again (303) with that score chosen, asking for the optional reason.
* `POST /s/<token>/` — CSRF-protected: the score, reason and answers; then the thank-you page.
* Unknown token → friendly 404 page; an expired, unanswered invitation or a change after 7 days → 410.
* Rate limited per IP and per token (429).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.middleware import client_ip
from careline.sales.intake import rate_limited
from careline.surveys import selectors, services
from careline.surveys.models import Invitation, Response

# (scope, requests, seconds): per IP address, and per invitation.
RATE_LIMITS = (("ip", 60, 600), ("token", 30, 600))


def _language(request: HttpRequest, invitation: Invitation | None) -> str:
    """`?lang=` when given, else the invitation's language, else Vietnamese."""
    codes = {code for code, _name in settings.LANGUAGES}
    lang = request.GET.get("lang", "")
    if lang not in codes:
        lang = invitation.language if invitation is not None and invitation.language in codes else "vi"
    translation.activate(lang)
    request.LANGUAGE_CODE = lang
    return lang


def _limited(request: HttpRequest, token: str) -> bool:
    ip = client_ip(request) or "unknown"
    hit = False
    for scope, limit, window in RATE_LIMITS:
        key = f"survey:ip:{ip}" if scope == "ip" else f"survey:token:{token[:64]}"
        hit = rate_limited(key=key, limit=limit, window=window) or hit
    return hit


def _page_url(token: str, lang: str) -> str:
    return reverse("survey_public:survey", args=[token]) + f"?lang={lang}"


def _notice(request: HttpRequest, *, kind: str, status: int, lang: str, token: str = "") -> HttpResponse:
    """The friendly pages: unknown link (404), closed survey (410), too many tries (429)."""
    return render(
        request,
        "surveys/public/notice.html",
        {
            "kind": kind,
            "lang": lang,
            "token": token,
            "switch_url": reverse("survey_public:survey", args=[token]) if token else "",
        },
        status=status,
    )


def _form_context(
    invitation: Invitation,
    response: Response | None,
    *,
    lang: str,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    survey = invitation.survey
    chosen = (values or {}).get("score")
    if chosen in (None, "") and response is not None:
        chosen = response.score
    answers = (values or {}).get("answers") or (response.answers if response is not None else {})
    questions = [
        {**q, "value": answers.get(q["key"], ""), "range": list(range(q.get("min", 0), q.get("max", 10) + 1))}
        for q in (survey.questions or [])
    ]
    return {
        "invitation": invitation,
        "survey": survey,
        "question": services.question_of(survey),
        "scores": services.score_choices(survey.kind),
        "chosen": str(chosen) if chosen not in (None, "") else "",
        "reason": (values or {}).get("reason", response.reason if response is not None else ""),
        "questions": questions,
        "answered": response is not None,
        "errors": errors or {},
        "lang": lang,
        "action_url": _page_url(invitation.token, lang),
        "greeting_name": invitation.customer.greeting_name if lang == "vi" else invitation.customer.full_name,
    }


def _closed(invitation: Invitation, response: Response | None) -> str:
    """ "" when the page may take an answer, else the notice to show ("expired" or "closed")."""
    now = timezone.now()
    if response is None:
        return "expired" if invitation.expires_at and invitation.expires_at <= now else ""
    return "closed" if now - response.created_at > services.EDIT_WINDOW else ""


def _answers_from(request: HttpRequest, invitation: Invitation) -> dict[str, Any] | None:
    if not invitation.survey.questions:
        return None
    return {q["key"]: request.POST.get(f"answer_{q['key']}", "").strip() for q in invitation.survey.questions}


@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token)
    lang = _language(request, invitation)
    if invitation is None:
        return _notice(request, kind="unknown", status=404, lang=lang)
    response = Response.objects.filter(invitation=invitation).first()
    score = request.GET.get("score", "") if request.method == "GET" else None
    if (request.method == "POST" or score) and _limited(request, token):
        return _notice(request, kind="limited", status=429, lang=lang, token=token)
    closed = _closed(invitation, response)
    if closed:
        return _notice(request, kind=closed, status=410, lang=lang, token=token)
    if request.method == "GET" and not score:
        return render(request, "surveys/public/survey.html", _form_context(invitation, response, lang=lang))
    if request.method == "GET":  # the one-click link of the email
        try:
            services.response_record(invitation=invitation, score=score)
        except ValidationFailed as exc:
            context = _form_context(invitation, response, lang=lang, errors=exc.fields)
            return render(request, "surveys/public/survey.html", context, status=422)
        except NotFound:
            return _notice(request, kind="unknown", status=404, lang=lang)
        except ApplicationError as exc:
            return _notice(
                request,
                kind="closed" if exc.code == "answer_closed" else "expired",
                status=410,
                lang=lang,
                token=token,
            )
        redirect = HttpResponseRedirect(_page_url(token, lang) + "&scored=1")
        redirect.status_code = 303
        return redirect
    values = {
        "score": request.POST.get("score", "").strip(),
        "reason": request.POST.get("reason", "")[: services.REASON_MAX + 100],
        "answers": _answers_from(request, invitation),
    }
    try:
        services.response_record(
            invitation=invitation,
            score=values["score"] or None,
            reason=values["reason"],
            answers=values["answers"],
        )
    except ValidationFailed as exc:
        context = _form_context(invitation, response, lang=lang, errors=exc.fields, values=values)
        return render(request, "surveys/public/survey.html", context, status=422)
    except NotFound:
        return _notice(request, kind="unknown", status=404, lang=lang)
    except ApplicationError as exc:
        return _notice(
            request,
            kind="closed" if exc.code == "answer_closed" else "expired",
            status=410,
            lang=lang,
            token=token,
        )
    redirect = HttpResponseRedirect(reverse("survey_public:thanks", args=[token]) + f"?lang={lang}")
    redirect.status_code = 303
    return redirect


@never_cache
@require_http_methods(["GET"])
def thanks_page(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token)
    lang = _language(request, invitation)
    if invitation is None:
        return _notice(request, kind="unknown", status=404, lang=lang)
    response = Response.objects.filter(invitation=invitation).first()
    context = {
        "invitation": invitation,
        "lang": lang,
        "answered": response is not None,
        "can_change": response is not None and not _closed(invitation, response),
        "page_url": _page_url(token, lang),
        "switch_url": reverse("survey_public:thanks", args=[token]),
    }
    return render(request, "surveys/public/thanks.html", context)
