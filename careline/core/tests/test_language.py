"""Vietnamese by default on every page, whatever the browser asks; English by the switch; API by header."""

import pytest
from django.conf import settings
from django.test import Client

from careline.conftest import api_client

pytestmark = pytest.mark.django_db


def test_pages_are_vietnamese_even_for_an_english_browser():
    r = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert r["Content-Language"] == "vi"
    assert '<html lang="vi"' in r.content.decode()
    assert "Đăng nhập" in r.content.decode()


def test_the_switch_sets_a_cookie_that_wins():
    client = Client()
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert r.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    r = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="vi")
    assert '<html lang="en"' in r.content.decode()
    assert "Sign in" in r.content.decode()


def test_unknown_cookie_value_falls_back_to_vietnamese():
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert '<html lang="vi"' in client.get("/accounts/login/").content.decode()


def test_api_messages_follow_accept_language(org):
    client = api_client(org.consultant_hn)
    r = client.get("/api/v1/customers/999999", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Customer not found."
    r = client.get("/api/v1/customers/999999")
    assert r.json()["error"]["message"] == "Không tìm thấy khách hàng."
