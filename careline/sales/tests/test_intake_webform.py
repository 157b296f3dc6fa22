"""The embeddable web form end to end: /f/<public_key>/ (page, post, thanks) and /f/<public_key>/submit."""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.signing import TimestampSigner
from django.test import Client

from careline.accounts.models import Notification
from careline.customers.models import Consent, Customer
from careline.customers.tests.factories import make_customer
from careline.sales import intake
from careline.sales.models import Inquiry, WebForm
from careline.sales.tests.factories import make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def make_form(org: Any = None, **kw: Any) -> WebForm:
    data: dict[str, Any] = {
        "name": "Đăng ký tư vấn IELTS",
        "consent_text": "Tôi đồng ý để trung tâm liên hệ tư vấn.",
        "success_message": "Cảm ơn bạn! Chúng tôi sẽ gọi lại trong 30 phút.",
        "allowed_origins": "https://trungtam.example.vn\nhttps://www.trungtam.example.vn/",
    }
    if org is not None:
        data.update(branch=org.hn, team=org.hn_sales)
    data.update(kw)
    return WebForm.objects.create(**data)


def old_token(web_form: WebForm, seconds: int = 60) -> str:
    """A fill-time token as if the form had been shown `seconds` ago."""
    with mock.patch("time.time", return_value=time.time() - seconds):
        return TimestampSigner(salt=intake.FORM_TOKEN_SALT).sign(web_form.public_key)


def form_data(web_form: WebForm, **kw: Any) -> dict[str, Any]:
    return {
        "full_name": "Nguyễn Thị Lan",
        "phone": "0912 345 678",
        "email": "",
        "message": "Cho em hỏi học phí khoá IELTS buổi tối",
        "consent": "1",
        "website": "",
        "ts": old_token(web_form),
        **kw,
    }


def test_form_page_renders_in_vietnamese_and_is_frameable_by_allowed_origins(org):
    web_form = make_form(org, product_interest="IELTS, TOEIC, Tiếng Anh trẻ em")
    response = Client().get(f"/f/{web_form.public_key}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đăng ký tư vấn IELTS" in html and "Tôi đồng ý để trung tâm liên hệ tư vấn." in html
    assert 'name="website"' in html and 'name="ts"' in html
    assert '<option value="TOEIC">' in html
    assert 'lang="vi"' in html
    assert "X-Frame-Options" not in response.headers
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://trungtam.example.vn https://www.trungtam.example.vn" in csp
    assert "script-src 'self'" in csp  # the rest of the site's policy is kept


def test_other_pages_stay_unframeable(org):
    response = Client().get("/accounts/login/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_language_switch_by_query_and_cookie(org):
    web_form = make_form(org)
    client = Client()
    response = client.get(f"/f/{web_form.public_key}/?lang=en")
    html = response.content.decode()
    assert 'lang="en"' in html and "Phone number" in html
    assert response.cookies["careline_language"].value == "en"
    again = client.get(f"/f/{web_form.public_key}/")  # the cookie remembers it
    assert 'lang="en"' in again.content.decode()
    back = client.get(f"/f/{web_form.public_key}/?lang=vi")
    assert 'lang="vi"' in back.content.decode()
    # Without cookies (a cross-site iframe), the language travels in the form's URL to the thank-you page.
    cookieless = Client()
    page = cookieless.get(f"/f/{web_form.public_key}/?lang=en").content.decode()
    assert f'action="/f/{web_form.public_key}/?lang=en"' in page
    sent = Client().post(f"/f/{web_form.public_key}/?lang=en", form_data(web_form))
    assert sent["Location"] == f"/f/{web_form.public_key}/thanks/?lang=en"
    assert Inquiry.objects.get().language == "en"


def test_unknown_or_inactive_key_is_404(org):
    inactive = make_form(org, active=False)
    client = Client()
    for url in ("/f/wf_nope/", f"/f/{inactive.public_key}/", f"/f/{inactive.public_key}/thanks/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/f/{inactive.public_key}/", form_data(inactive)).status_code == 404
    assert client.post(f"/f/{inactive.public_key}/submit", form_data(inactive)).status_code == 404
    assert Inquiry.objects.count() == 0


def test_post_creates_web_inquiry_and_shows_thanks(org):
    make_rule(org.hn_sales, [org.consultant_hn])
    web_form = make_form(org, product_interest="IELTS")
    # No CSRF cookie: in a cross-site iframe the browser would not send one.
    client = Client(REMOTE_ADDR="203.0.113.7", enforce_csrf_checks=True)
    response = client.post(f"/f/{web_form.public_key}/", form_data(web_form))
    assert response.status_code == 302
    assert response["Location"] == f"/f/{web_form.public_key}/thanks/?lang=vi"
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == "web" and inquiry.web_form_id == web_form.pk
    assert inquiry.branch_id == org.hn.pk and inquiry.team_id == org.hn_sales.pk
    assert (
        inquiry.product_interest == "IELTS" and inquiry.consent and inquiry.owner_id == org.consultant_hn.pk
    )
    assert inquiry.customer.stage == "lead" and inquiry.customer.full_name == "Nguyễn Thị Lan"
    consent = Consent.objects.get(customer=inquiry.customer)
    assert "Đăng ký tư vấn IELTS" in consent.evidence and "203.0.113.7" in consent.evidence
    thanks = client.get(response["Location"])
    assert "Chúng tôi sẽ gọi lại trong 30 phút" in thanks.content.decode()


def test_post_redirects_to_the_form_redirect_url(org):
    web_form = make_form(org, redirect_url="https://trungtam.example.vn/cam-on")
    response = Client().post(f"/f/{web_form.public_key}/", form_data(web_form))
    assert response.status_code == 302 and response["Location"] == "https://trungtam.example.vn/cam-on"
    assert "form-action 'self' https://trungtam.example.vn" in response.headers["Content-Security-Policy"]
    assert Inquiry.objects.count() == 1


def test_invalid_post_shows_errors_and_stores_nothing(org):
    web_form = make_form(org)
    client = Client()
    no_contact = client.post(f"/f/{web_form.public_key}/", form_data(web_form, phone="", email=""))
    assert no_contact.status_code == 200
    html = no_contact.content.decode()
    assert 'id="form-errors"' in html and "is-invalid" in html and "Nguyễn Thị Lan" in html
    no_consent = client.post(f"/f/{web_form.public_key}/", form_data(web_form, consent=""))
    assert no_consent.status_code == 200 and 'id="id_consent"' in no_consent.content.decode()
    assert Inquiry.objects.count() == 0 and Customer.objects.count() == 0


def test_user_text_is_escaped(org):
    web_form = make_form(org, name="<b>Form</b>", consent_text="<script>alert(1)</script>")
    response = Client().post(
        f"/f/{web_form.public_key}/", form_data(web_form, phone="", full_name="<img src=x onerror=alert(1)>")
    )
    html = response.content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<script>alert(1)</script>" not in html and "<b>Form</b>" not in html


def test_known_customer_is_attached_not_duplicated(org):
    existing = make_customer(org.consultant_hn2, full_name="Trần Thị Lan", phones=["0912 345 678"])
    web_form = make_form(org)
    Client().post(f"/f/{web_form.public_key}/", form_data(web_form))
    inquiry = Inquiry.objects.get()
    assert inquiry.customer_id == existing.pk and inquiry.owner_id == org.consultant_hn2.pk
    assert Customer.objects.count() == 1
    assert Notification.objects.filter(user=org.consultant_hn2, kind="inquiry_existing_customer").exists()


def test_honeypot_pretends_success_and_stores_nothing(org):
    web_form = make_form(org)
    response = Client().post(f"/f/{web_form.public_key}/", form_data(web_form, website="http://spam.example"))
    assert response.status_code == 302 and response["Location"].endswith("/thanks/?lang=vi")
    assert Inquiry.objects.count() == 0 and Customer.objects.count() == 0


def test_too_fast_or_missing_or_forged_token_pretends_success(org):
    web_form = make_form(org)
    other = make_form(org, name="Khác")
    client = Client()
    fresh = client.get(f"/f/{web_form.public_key}/").context["token"]
    for token in (fresh, "", "forged:token:x", old_token(other)):
        response = client.post(f"/f/{web_form.public_key}/", form_data(web_form, ts=token))
        assert response.status_code == 302 and response["Location"].endswith("/thanks/?lang=vi")
    assert Inquiry.objects.count() == 0
    assert intake.form_token_age(old_token(web_form, 2 * 86400), web_form.public_key) is None  # expired


def test_rate_limit_per_ip_answers_429(org):
    web_form = make_form(org)
    client = Client(REMOTE_ADDR="198.51.100.9")
    for n in range(5):
        response = client.post(f"/f/{web_form.public_key}/", form_data(web_form, phone=f"09120000{n:02d}"))
        assert response.status_code == 302
    limited = client.post(f"/f/{web_form.public_key}/", form_data(web_form, phone="0912000099"))
    assert limited.status_code == 429
    assert 'id="form-limited"' in limited.content.decode()
    assert Inquiry.objects.count() == 5
    other_ip = Client(REMOTE_ADDR="198.51.100.10")
    assert (
        other_ip.post(f"/f/{web_form.public_key}/", form_data(web_form, phone="0912000098")).status_code
        == 302
    )


def test_rate_limit_per_form_answers_429(org, monkeypatch):
    monkeypatch.setattr("careline.sales.public_views.RATE_LIMITS", (("ip", 100, 600), ("form", 3, 3600)))
    web_form = make_form(org)
    for n in range(3):
        client = Client(REMOTE_ADDR=f"198.51.100.{n + 20}")
        client.post(f"/f/{web_form.public_key}/submit", form_data(web_form, phone=f"09130000{n:02d}"))
    response = Client(REMOTE_ADDR="198.51.100.99").post(
        f"/f/{web_form.public_key}/submit",
        json.dumps(form_data(web_form, phone="0913000099")),
        content_type="application/json",
    )
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    assert Inquiry.objects.count() == 3


# --- /submit from a site's own HTML --------------------------------------------------------------------


def test_submit_json_with_cors_for_allowed_origin(org):
    web_form = make_form(org)
    client = Client(headers={"Origin": "https://trungtam.example.vn"})
    preflight = client.options(f"/f/{web_form.public_key}/submit")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://trungtam.example.vn"
    token = client.get(f"/f/{web_form.public_key}/submit").json()["ts"]
    assert intake.form_token_age(token, web_form.public_key) is not None
    body = {k: v for k, v in form_data(web_form).items() if k != "ts"} | {"consent": True}
    response = client.post(
        f"/f/{web_form.public_key}/submit", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"ok": True, "message": web_form.success_message}
    assert response["Access-Control-Allow-Origin"] == "https://trungtam.example.vn"
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == "web" and inquiry.payload["origin"] == "https://trungtam.example.vn"
    invalid = client.post(
        f"/f/{web_form.public_key}/submit",
        json.dumps({**body, "phone": "12"}),
        content_type="application/json",
    )
    assert invalid.status_code == 422 and "phone" in invalid.json()["error"]["details"]["fields"]
    bad = client.post(f"/f/{web_form.public_key}/submit", "{oops", content_type="application/json")
    assert bad.status_code == 400


def test_submit_refuses_foreign_origin_and_gives_no_cors_headers(org):
    web_form = make_form(org)
    client = Client(headers={"Origin": "https://evil.example"})
    response = client.post(f"/f/{web_form.public_key}/submit", form_data(web_form))
    assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response
    preflight = client.options(f"/f/{web_form.public_key}/submit")
    assert "Access-Control-Allow-Origin" not in preflight
    assert Inquiry.objects.count() == 0


def test_submit_plain_html_form_redirects_and_is_csrf_exempt(org):
    web_form = make_form(org, redirect_url="https://trungtam.example.vn/cam-on")
    client = Client(enforce_csrf_checks=True, headers={"Origin": "https://www.trungtam.example.vn"})
    data = {k: v for k, v in form_data(web_form).items() if k != "ts"}  # a site's own HTML has no token
    response = client.post(f"/f/{web_form.public_key}/submit", data)
    assert response.status_code == 303 and response["Location"] == "https://trungtam.example.vn/cam-on"
    assert Inquiry.objects.count() == 1
    errors = client.post(f"/f/{web_form.public_key}/submit", {**data, "phone": "", "email": ""})
    assert errors.status_code == 200 and 'id="form-errors"' in errors.content.decode()
    spam = client.post(f"/f/{web_form.public_key}/submit", {**data, "website": "x", "phone": "0912000555"})
    assert spam.status_code == 303 and Inquiry.objects.count() == 1
    too_fast = client.post(
        f"/f/{web_form.public_key}/submit", {**data, "ts": intake.form_token(web_form.public_key)}
    )
    assert too_fast.status_code == 303 and Inquiry.objects.count() == 1


def test_helpers():
    assert intake.parse_origins(
        "https://a.vn/\nhttp://b.vn:8080\njavascript:alert(1)\nhttps://a.vn\nx y"
    ) == [
        "https://a.vn",
        "http://b.vn:8080",
    ]
    assert intake.product_options("IELTS") == ["IELTS"]
    assert intake.product_options("IELTS, TOEIC\nIELTS") == ["IELTS", "TOEIC"]
    assert intake.origin_of("https://Site.vn/path?q=1") == "https://site.vn"
    assert intake.origin_of("/relative") == ""
