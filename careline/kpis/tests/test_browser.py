"""Browser checks of the quota pages under the real CSP: the call chart draws, the board refreshes and
works on a phone, the bars partial loads. Run with `-m browser` (needs Debian's chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory
from careline.kpis.pace import local_today
from careline.kpis.tests.factories import local, make_activity, make_quota

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team(db):  # type: ignore[no-untyped-def]
    branch = BranchFactory(code="hn", name="Hà Nội")
    sales = TeamFactory(name="Tư vấn Hà Nội", branch=branch)
    admin = UserFactory(username="admin", role="admin", is_superuser=True, branch=branch)
    sup = UserFactory(username="ld.nam", display_name="Lê Đức Nam", role="supervisor", team=sales)
    lan = UserFactory(username="tv.lan", display_name="Đỗ Thị Lan", role="consultant", team=sales)
    hung = UserFactory(username="tv.hung", display_name="Trần Văn Hùng", role="consultant", team=sales)
    make_quota(admin, kind="call", target=3)
    make_quota(admin, kind="email", period="week", target=10)
    make_quota(admin, kind="offer", target=5, user_id=sup.pk)
    today = local_today()
    for minute in (5, 10, 15):
        make_activity(lan, at=local(today.year, today.month, today.day, 10, minute), outcome="reached")
    make_activity(hung, at=local(today.year, today.month, today.day, 14, 0), outcome="no_answer")
    return {"sup": sup, "lan": lan, "hung": hung}


def login(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "pass-1234")
    page.click("#login-submit")
    expect(page).to_have_url(page.base_url + "/")


def test_call_chart_draws_under_csp(page, team) -> None:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, "ld.nam")
    today = local_today().strftime("%d/%m/%Y")
    page.goto(page.base_url + f"/kpis/calls/?start={today}&end={today}")
    expect(page.locator("#kpi-calls")).to_have_text("4")
    expect(page.locator("#kpi-reach")).to_contain_text("75")
    # ECharts rendered an SVG with bars into the holder (no inline script needed).
    expect(page.locator("#calls-chart svg")).to_have_count(1)
    assert page.locator("#calls-chart svg path").count() > 3
    assert not [e for e in errors if "Content Security Policy" in e or "echarts" in e.lower()], errors


def test_board_on_a_phone_and_bars_partial(phone_page, team) -> None:  # type: ignore[no-untyped-def]
    phone = phone_page
    login(phone, "ld.nam")
    phone.goto(phone.base_url + "/kpis/board/")
    cards = phone.locator(".cl-board-card")
    expect(cards).to_have_count(3)
    # On a phone the table is hidden and the cards show; nobody has emailed, so both are behind.
    expect(phone.locator(".cl-board")).to_be_hidden()
    expect(cards.first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # The board asks for itself again every 30 s (htmx polling), keeping the filters.
    assert phone.locator("#board").get_attribute("hx-trigger") == "every 30s"
    # The supervisor's own bar (a person quota), as "My day" loads it.
    phone.goto(phone.base_url + "/kpis/my-bars/")
    expect(phone.locator(".cl-quota")).to_have_count(1)
    expect(phone.locator(".cl-quota .cl-quota-done")).to_have_text("0")
