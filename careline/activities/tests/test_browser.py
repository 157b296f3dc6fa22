"""Browser checks under the real CSP: a call logged from the card in two clicks, a call-back with its time,
one-click logging from "My day" on a phone. Run with `-m browser` (needs Debian's chromium)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory
from careline.activities.models import Activity
from careline.activities.tests.factories import add_follow_up
from careline.customers.tests.factories import make_customer
from careline.kpis.tests.factories import make_quota

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lan(db):  # type: ignore[no-untyped-def]
    branch = BranchFactory(code="hn", name="Hà Nội")
    team = TeamFactory(name="Tư vấn Hà Nội", branch=branch)
    user = UserFactory(username="tv.lan", display_name="Đỗ Thị Lan", role="consultant", team=team)
    customer = make_customer(user, full_name="Nguyễn Văn Minh", phones=["0912 345 678"], stage="lead")
    return {"user": user, "customer": customer}


def login(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "pass-1234")
    page.click("#login-submit")
    expect(page).to_have_url(page.base_url + "/")


def watch_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_log_a_call_from_the_card_in_two_clicks(page, lan) -> None:  # type: ignore[no-untyped-def]
    errors = watch_errors(page)
    login(page, "tv.lan")
    customer = lan["customer"]
    page.goto(page.base_url + f"/customers/{customer.pk}/")
    page.click("#log-call")  # click 1: open the log bar's call outcomes
    page.click("#call-outcome-no_answer")  # click 2: the outcome
    expect(page.locator("#log-result")).to_be_visible()
    assert Activity.objects.filter(customer=customer, kind="call", outcome="no_answer").count() == 1
    page.click("#tab-timeline-btn")
    expect(page.locator("#timeline .cl-timeline-entry[data-kind='activity.call']")).to_have_count(1)

    # A call-back asks for the time, then opens a follow-up shown on the timeline with a Done button.
    page.click("#log-call")
    page.click("#call-back-open")
    due = (timezone.localtime() + dt.timedelta(days=1)).replace(hour=15, minute=0)
    page.fill("#call-back-due", due.strftime("%Y-%m-%dT%H:%M"))
    page.click("#call-outcome-call_back")
    expect(page.locator("#timeline .cl-timeline-entry[data-kind='activity.follow_up']")).to_have_count(1)
    follow_up = Activity.objects.get(customer=customer, kind="follow_up")
    assert timezone.localtime(follow_up.due_at).strftime("%d/%m %H:%M") == due.strftime("%d/%m %H:%M")
    page.click("#timeline .cl-timeline-action")
    expect(page.locator("#timeline .cl-timeline-action")).to_have_count(0)
    follow_up.refresh_from_db()
    assert follow_up.completed_at is not None
    assert not [e for e in errors if "Content Security Policy" in e or "htmx" in e.lower()], errors


def test_one_click_from_my_day_on_a_phone(phone_page, lan) -> None:  # type: ignore[no-untyped-def]
    phone = phone_page
    errors = watch_errors(phone)
    user, customer = lan["user"], lan["customer"]
    other = make_customer(user, full_name="Trần Thị Hoa", phones=["0987 654 321"], stage="prospect")
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    follow_up = add_follow_up(user, other, start - dt.timedelta(hours=2), subject="Gửi lịch khai giảng")
    admin = UserFactory(username="admin", role="admin", is_superuser=True)
    make_quota(admin, kind="call", target=30)
    login(phone, "tv.lan")
    phone.goto(phone.base_url + "/activities/my-day/")
    calls_bar = phone.locator("#quota-bars .cl-quota[data-kind='call']")
    expect(calls_bar).to_have_attribute("data-done", "0")  # the kpis partial loaded into the placeholder
    row = phone.locator(f"#next-{customer.pk}")
    expect(row).to_be_visible()
    row.locator("button[data-outcome='busy']").click()
    expect(phone.locator(f"#next-{customer.pk}.cl-row-done")).to_be_visible()
    assert Activity.objects.filter(customer=customer, kind="call", outcome="busy").count() == 1
    expect(calls_bar).to_have_attribute("data-done", "1")  # the bar follows the "activity-logged" event
    # From the overdue follow-up: the call fulfils it; the "next" list reloads without Hoa.
    expect(phone.locator(f"#next-{other.pk}")).to_have_count(1)
    phone.locator(f"#fu-{follow_up.pk} button[data-outcome='reached']").click()
    expect(phone.locator(f"#fu-{follow_up.pk}.cl-row-done")).to_be_visible()
    expect(phone.locator(f"#next-{other.pk}")).to_have_count(0)
    follow_up.refresh_from_db()
    assert follow_up.completed_at is not None
    assert not [e for e in errors if "Content Security Policy" in e or "htmx" in e.lower()], errors
