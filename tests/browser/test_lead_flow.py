"""The consultant's day, end to end: a visitor sends the web form → the lead is allocated to the consultant
→ it shows on "My day" → one click logs the call → the quota bar moves."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory
from careline.kpis.models import Quota
from careline.sales.models import Inquiry, WebForm
from careline.sales.tests.factories import make_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(db):  # type: ignore[no-untyped-def]
    branch = BranchFactory(code="hn", name="Hà Nội")
    team = TeamFactory(name="Tư vấn Hà Nội", branch=branch)
    consultant = UserFactory(username="tv.mai", display_name="Đỗ Thị Mai", role="consultant", team=team)
    make_rule(team, [consultant], name="Web Hà Nội")  # any time of day, any day (test runs on weekends too)
    form = WebForm.objects.create(
        name="Đăng ký học thử", team=team, branch=branch, consent_text="Tôi đồng ý để trung tâm liên hệ."
    )
    # A monthly target so the bar counts on any day (daily quotas are off on weekends and holidays).
    Quota.objects.create(kind="call", period="month", target=30, user=consultant)
    return consultant, form


def test_web_form_lead_reaches_my_day_and_call_moves_quota(page, setup):  # type: ignore[no-untyped-def]
    consultant, form = setup
    page.goto(f"{page.base_url}/f/{form.public_key}/")
    page.fill("#id_full_name", "Phạm Thị Hồng Nhung")
    page.fill("#id_phone", "0912 777 888")
    page.fill("#id_message", "Cho con em học thử lớp tiếng Anh thiếu nhi")
    page.check("#id_consent")
    time.sleep(3.2)  # the form refuses posts faster than a person can type (spam defence)
    page.click("#lead-submit")
    expect(page.locator("#form-thanks")).to_be_visible()
    inquiry = _wait_for_inquiry()
    assert inquiry.owner_id == consultant.pk and inquiry.channel == "web"

    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_login", "tv.mai")
    page.fill("#id_password", "pass-1234")
    page.click("#login-submit")
    page.goto(page.base_url + "/activities/my-day/")
    lead_row = page.locator(f"#my-leads #lead-{inquiry.pk}")
    expect(lead_row).to_contain_text("Phạm Thị Hồng Nhung")
    done = page.locator('#quota-bars .cl-quota[data-kind="call"] .cl-quota-done')
    expect(done).to_have_text("0")
    lead_row.locator('button[data-outcome="reached"]').click()
    expect(done).to_have_text("1")
    page.screenshot(path="/tmp/careline-my-day.png", full_page=True)
    inquiry.refresh_from_db()
    assert inquiry.status == "contacted"


def _wait_for_inquiry() -> Inquiry:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inquiry = Inquiry.objects.select_related("customer").first()
        if inquiry is not None:
            return inquiry
        time.sleep(0.2)
    raise AssertionError("the web form created no inquiry")
