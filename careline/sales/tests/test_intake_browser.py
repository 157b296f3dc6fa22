"""The lead form in a real browser on a phone, under the real CSP: fill it in, wait like a person, send, see
the thank-you page; framed by an allowed page. Run with `-m browser` (needs Debian's chromium)."""

from __future__ import annotations

import os
import time

import pytest
from playwright.sync_api import expect

from careline.sales.intake import MIN_FILL_SECONDS
from careline.sales.models import Inquiry, WebForm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_form_on_a_phone_creates_the_lead(phone_page) -> None:  # type: ignore[no-untyped-def]
    web_form = WebForm.objects.create(
        name="Đăng ký tư vấn IELTS",
        consent_text="Tôi đồng ý để trung tâm liên hệ tư vấn.",
        success_message="Cảm ơn bạn! Chúng tôi sẽ gọi lại trong 30 phút.",
        product_interest="IELTS, TOEIC",
    )
    errors: list[str] = []
    phone_page.on("pageerror", lambda e: errors.append(str(e)))
    phone_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone_page.goto(phone_page.base_url + f"/f/{web_form.public_key}/")
    expect(phone_page.locator("#form-title")).to_have_text("Đăng ký tư vấn IELTS")
    expect(phone_page.locator("#id_website")).not_to_be_in_viewport()  # the honeypot stays out of sight
    phone_page.fill("#id_full_name", "Nguyễn Thị Lan")
    phone_page.fill("#id_phone", "0912 345 678")
    phone_page.select_option("#id_product_interest", "TOEIC")
    phone_page.fill("#id_message", "Cho em hỏi lịch học buổi tối")
    phone_page.check("#id_consent")
    if os.environ.get("CARELINE_SCREENSHOTS"):
        phone_page.screenshot(path=os.path.join(os.environ["CARELINE_SCREENSHOTS"], "lead-form-phone.png"))
    # The submit button is full width on a phone.
    box = phone_page.locator("#lead-submit").bounding_box()
    assert box is not None and box["width"] > 300
    time.sleep(MIN_FILL_SECONDS + 0.2)  # a person takes a few seconds
    phone_page.click("#lead-submit")
    expect(phone_page.locator("#form-thanks")).to_contain_text("Chúng tôi sẽ gọi lại trong 30 phút")
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == "web" and inquiry.product_interest == "TOEIC" and inquiry.consent
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_form_is_framed_by_an_allowed_page(page) -> None:  # type: ignore[no-untyped-def]
    """The live server's own origin stands in for the customer's site (the CSP lists 'self' + origins)."""
    web_form = WebForm.objects.create(name="Form", allowed_origins=page.base_url)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    page.goto(page.base_url + "/f/does-not-exist/")  # any page of the origin: put an iframe into it
    page.set_content(
        f'<iframe id="embed" src="{page.base_url}/f/{web_form.public_key}/?lang=en" '
        'style="width:400px;height:600px"></iframe>'
    )
    frame = page.frame_locator("#embed")
    expect(frame.locator("#form-title")).to_have_text("Form")
    expect(frame.locator("label[for=id_phone]")).to_have_text("Phone number")
    assert not blocked
