"""Browser checks under the real CSP: a customer answers the CSAT link on a phone (one tap in the email,
the reason, thanks), the NPS buttons fit a phone screen, and the results dashboard draws its charts.
Run with `-m browser` (needs Debian's chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory
from careline.customers.services import customer_consent_record
from careline.customers.tests.factories import make_customer
from careline.surveys import services
from careline.surveys.models import Response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    branch = BranchFactory(code="hn", name="Hà Nội")
    care = TeamFactory(name="CSKH Hà Nội", branch=branch, kind="care")
    head = UserFactory(username="cskh.truong", display_name="Phạm Thu Hà", role="care_head", team=care)
    admin = UserFactory(username="admin", role="admin", is_superuser=True, is_staff=True, branch=branch)
    customer = make_customer(admin, full_name="Nguyễn Thị Mai", salutation="chi", emails=["mai@example.vn"])
    customer_consent_record(
        actor=admin, customer_id=customer.pk, purpose="care_calls", status="granted", method="phone_call"
    )
    return {"head": head, "admin": admin, "customer": customer}


def watch_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _invitation(people, kind: str):  # type: ignore[no-untyped-def]
    survey = services.survey_create(actor=people["head"], data={"name": kind.upper(), "kind": kind})
    return services.invitation_create(
        actor=people["admin"], survey_id=survey.pk, customer_id=people["customer"].pk, channel="link"
    )


def test_customer_answers_the_csat_link_on_a_phone(phone_page, people) -> None:  # type: ignore[no-untyped-def]
    phone = phone_page
    errors = watch_errors(phone)
    invitation = _invitation(people, "csat")
    phone.goto(
        phone.base_url + services.invitation_url(invitation, score=4, absolute=False)
    )  # the email's "4"
    expect(phone.locator("#score-recorded")).to_be_visible()
    assert Response.objects.get().score == 4
    expect(phone.locator("#score-4")).to_be_checked()
    # The buttons are big enough to tap and nothing scrolls sideways.
    box = phone.locator("label[for='score-5']").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.click("label[for='score-5']")
    phone.fill("#id_reason", "Nhân viên gọi lại rất nhanh")
    phone.click("#survey-submit")
    expect(phone.locator("#survey-thanks")).to_be_visible()
    response = Response.objects.get()
    assert (response.score, response.reason) == (5, "Nhân viên gọi lại rất nhanh")
    assert not errors, errors


def test_nps_buttons_fit_a_phone_and_the_language_switches(phone_page, people) -> None:  # type: ignore[no-untyped-def]
    phone = phone_page
    invitation = _invitation(people, "nps")
    phone.goto(phone.base_url + services.invitation_url(invitation, absolute=False))
    expect(phone.locator("label[for='score-10']")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for n in (0, 10):
        box = phone.locator(f"label[for='score-{n}']").bounding_box()
        assert box is not None and box["height"] >= 44
    phone.click("#lang-en")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.locator("#survey-question")).to_contain_text("recommend")
    phone.click("label[for='score-9']")
    phone.click("#survey-submit")
    expect(phone.locator("#survey-thanks")).to_be_visible()
    assert Response.objects.get().score == 9


def test_results_dashboard_draws_its_charts_under_the_csp(page, people) -> None:  # type: ignore[no-untyped-def]
    errors = watch_errors(page)
    invitation = _invitation(people, "nps")
    services.response_record(invitation=invitation, score=10)
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_login", "cskh.truong")
    page.fill("#id_password", "pass-1234")
    page.click("#login-submit")
    page.goto(page.base_url + "/surveys/?kind=nps")
    expect(page.locator("#trend-chart svg")).to_have_count(1)
    expect(page.locator("#distribution-chart svg")).to_have_count(1)
    expect(page.locator("#kpi-score")).to_contain_text("100")
    assert not [e for e in errors if "Content Security Policy" in e], errors
