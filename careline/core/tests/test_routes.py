"""Every URL the project serves is closed to anonymous visitors unless it is on the public list below.

Adding a route that answers an anonymous request (anything but a redirect to the login page for web
pages, or 401 for the API) without adding it to PUBLIC makes this test fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.urls.resolvers import RegexPattern, RoutePattern

pytestmark = pytest.mark.django_db

# Routes anyone may open, and why. Names are namespaced as for reverse(); unnamed routes go by pattern.
PUBLIC: dict[str, str] = {
    "web:health": "liveness check for load balancers, no data",
    "set_language": "language switch on the login page",
    "account_login": "the login page",
    "account_signup": "shows that sign-up is closed",
    "account_inactive": "tells a deactivated user why they cannot sign in",
    "account_email_verification_sent": "static notice after an email was sent",
    "account_confirm_email": "link from an email (key in the URL)",
    "account_reset_password": "ask for a password reset email",
    "account_reset_password_done": "notice after asking for a reset",
    "account_reset_password_from_key": "link from the reset email (key in the URL)",
    "account_reset_password_from_key_done": "notice after setting the new password",
    "api:openapi-json": "the OpenAPI schema (documents the API, no data)",
    "api:openapi-view": "the API documentation page",
    "api:api-root": "ninja's root: answers 404",
    "^api/": "catch-all after the API: a JSON 404 for unknown API paths, no data",
    "forms:form": "the embeddable lead form (public key in the URL; honeypot, fill time, rate limit)",
    "forms:submit": "lead form posts from a site's own HTML (public key, CORS for its origins, rate limit)",
    "forms:thanks": "the lead form's thank-you page, no data",
    "api:receive_hook": "signed webhooks (Standard Webhooks): the connector's signature authenticates, 401 without",
    "survey_public:survey": "the survey page customers answer (token in the URL; CSRF-protected POST, rate limit)",
    "survey_public:thanks": "the survey's thank-you page (token in the URL), no data",
}
SKIPPED_PREFIXES = ("admin/",)  # Django admin has its own login and is covered by Django's tests
WEB_METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    url: str

    @property
    def is_api(self) -> bool:
        return self.url.startswith("/api/")


def _placeholder_kwargs(pattern: URLPattern) -> dict[str, object]:
    if isinstance(pattern.pattern, RoutePattern):
        return {
            key: 1 if isinstance(conv, IntConverter) else "1"
            for key, conv in pattern.pattern.converters.items()
        }
    if isinstance(pattern.pattern, RegexPattern):
        return dict.fromkeys(pattern.pattern.regex.groupindex, "1")
    raise AssertionError(f"unknown pattern type {pattern.pattern!r}")


def _walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        else:
            yield prefix + str(p.pattern), namespace, p


def _concrete_url(route: str, namespace: str, pattern: URLPattern) -> str:
    if pattern.name:
        return reverse(namespace + pattern.name, kwargs=_placeholder_kwargs(pattern))
    # Unnamed route (e.g. a catch-all): build the URL from the pattern text itself.
    text = re.sub(r"<int:\w+>", "1", route)
    text = re.sub(r"<(?:\w+:)?\w+>", "1", text)
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text)
    return "/" + text.replace("^", "").replace("$", "")


def all_routes() -> list[Route]:
    routes: dict[str, Route] = {}
    for route, namespace, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(SKIPPED_PREFIXES):
            continue
        name = namespace + pattern.name if pattern.name else route  # unnamed routes go by their pattern
        url = _concrete_url(route, namespace, pattern)
        # Several API operations share one URL (GET/PATCH/DELETE …): one entry per URL is enough,
        # every method is tried on it.
        routes.setdefault(url, Route(name=name, route=route, url=url))
    return sorted(routes.values(), key=lambda r: r.url)


def _refused(route: Route, response) -> bool:
    if route.is_api:
        return response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    login = resolve_url(settings.LOGIN_URL)
    return response.status_code == 302 and response["Location"].split("?")[0] == login


def test_route_walk_finds_the_known_routes():
    urls = {r.url for r in all_routes()}
    for expected in (
        "/",
        "/customers/",
        "/customers/1/edit/",
        "/api/v1/customers",
        "/api/v1/customers/1/notes",
    ):
        assert expected in urls
    names = {r.name for r in all_routes()}
    # Every public entry still exists (the list must not rot).
    assert set(PUBLIC) <= names, set(PUBLIC) - names


def test_every_non_public_route_refuses_anonymous_visitors(db):
    client = Client()
    failures = []
    checked = 0
    for route in all_routes():
        if route.name in PUBLIC:
            continue
        refused_once = False
        for method in API_METHODS if route.is_api else WEB_METHODS:
            response = client.generic(method, route.url)
            if response.status_code == 405:
                continue  # the route does not take this method at all
            if _refused(route, response):
                refused_once = True
            else:
                failures.append(f"{method} {route.url} ({route.name}) → {response.status_code}")
        if not refused_once:
            failures.append(f"{route.url} ({route.name}) accepted no method")
        checked += 1
    assert not failures, "anonymous visitors reach:\n" + "\n".join(failures)
    assert checked >= 20


def test_public_routes_answer_anonymous_visitors(db):
    client = Client()
    by_name = {r.name: r for r in all_routes()}
    for name in PUBLIC:
        response = client.get(by_name[name].url)
        assert response.status_code < 500, (name, response.status_code)
    assert client.get(reverse("web:health")).json() == {"status": "ok"}
    assert client.get(reverse("account_login")).status_code == 200
    assert client.get(reverse("api:openapi-json")).status_code == 200
    assert client.get(reverse("api:openapi-view")).status_code == 200


def test_refusal_check_itself_can_fail():
    """Guard for the walker: a public page does not count as a refusal."""
    client = Client()
    health = Route(name="web:health", route="health/", url=reverse("web:health"))
    assert not _refused(health, client.get(health.url))
    docs = Route(name="api:openapi-json", route="", url=reverse("api:openapi-json"))
    assert not _refused(docs, client.get(docs.url))
