"""A consultant's first minutes: log in, find a customer with and without accents, open the card,
edit it (a validation error, then success), see the change in History, switch language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory
from careline.customers.tests.factories import make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def consultant(db):  # type: ignore[no-untyped-def]
    branch = BranchFactory(code="hn", name="Hà Nội")
    team = TeamFactory(name="Tư vấn Hà Nội", branch=branch)
    user = UserFactory(username="tv.lan", display_name="Đỗ Thị Mai", role="consultant", team=team)
    make_customer(user, full_name="Nguyễn Thị Lan", phones=["0912 345 678"], emails=["lan@example.com"])
    make_customer(user, full_name="Trần Văn Hùng", phones=["0987 654 321"])
    other_team = TeamFactory(name="Tư vấn HCM", branch=BranchFactory(code="hcm", name="TP HCM"))
    outsider = UserFactory(username="tv.hcm", role="consultant", team=other_team)
    make_customer(outsider, full_name="Nguyễn Thị Lan Anh", phones=["0933 111 222"])
    return user


def login(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "pass-1234")
    page.click("#login-submit")
    expect(page).to_have_url(page.base_url + "/")


def search(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#id_q", text)
    # htmx fires after 250 ms of quiet typing and swaps #customer-rows
    page.wait_for_function(
        "q => new URLSearchParams(location.search).get('q') === q", arg=text, timeout=10_000
    )


def test_login_search_open_edit_history_language(page, consultant) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert page.locator("html").get_attribute("lang") == "vi"
    login(page, "tv.lan")

    page.goto(page.base_url + "/customers/")
    rows = page.locator("#customer-tbody .cl-customer-link")
    expect(rows).to_have_count(2)

    search(page, "nguyen thi lan")  # no diacritics
    expect(rows).to_have_count(1)  # the HCM team's "Nguyễn Thị Lan Anh" is out of scope
    expect(rows.first).to_have_text("Nguyễn Thị Lan")

    search(page, "Nguyễn Thị Lan")  # with diacritics
    expect(rows).to_have_count(1)

    search(page, "0912 345")  # phone fragment
    expect(rows).to_have_count(1)

    search(page, "zzz không có")
    expect(page.locator("#no-results")).to_be_visible()

    search(page, "hung")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#customer-name")).to_have_text("Trần Văn Hùng")
    expect(page.locator("#customer-phones")).to_contain_text("0987 654 321")

    # Edit with a validation error, then fix it.
    page.click("#edit-customer")
    page.locator("input[name=phone]").first.fill("12345")
    page.click("#save-customer")
    expect(page.locator('[data-field="phones"]')).to_be_visible()
    page.locator("input[name=phone]").first.fill("0987.654.322")
    page.fill("#id_birthday", "31/02/1990")
    page.click("#save-customer")
    expect(page.locator('[data-field="birthday"]')).to_be_visible()
    page.fill("#id_birthday", "15/08/1990")
    page.select_option("#id_province", "01")  # the ward list follows the province (htmx)
    expect(page.locator("#id_ward option", has_text="Phường Ba Đình")).to_have_count(1)
    page.select_option("#id_ward", "Phường Ba Đình")
    page.click("#save-customer")
    expect(page.locator("#customer-phones")).to_contain_text("0987 654 322")
    expect(page.locator("#customer-birthday")).to_contain_text("15/08/1990")
    expect(page.locator("#customer-address")).to_contain_text("Phường Ba Đình, Hà Nội")

    # History shows who changed what.
    page.click("#tab-history-btn")
    history = page.locator("#history-list")
    expect(history).to_contain_text("tv.lan")
    expect(history).to_contain_text("0987 654 322")  # phones shown as people write them
    expect(history).to_contain_text("15/08/1990")

    # Switch to English and back.
    page.click("#user-menu")
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#edit-customer")).to_contain_text("Edit")
    page.click("#user-menu")
    page.click("#lang-vi")
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_duplicate_phone_links_to_existing_card(page, consultant) -> None:  # type: ignore[no-untyped-def]
    login(page, "tv.lan")
    page.goto(page.base_url + "/customers/new/")
    page.fill("#id_full_name", "lan nguyen")
    page.locator("input[name=phone]").first.fill("+84 912 345 678")
    page.click("#save-customer")
    link = page.locator("#duplicate-link")
    expect(link).to_contain_text("Nguyễn Thị Lan")
    link.click()
    expect(page.locator("#customer-name")).to_have_text("Nguyễn Thị Lan")


def test_phone_layout_search(phone_page, consultant) -> None:  # type: ignore[no-untyped-def]
    page = phone_page
    login(page, "tv.lan")
    page.goto(page.base_url + "/customers/")
    expect(page.locator("#stage")).to_be_hidden() if page.locator("#stage").count() else None
    expect(page.locator("#id_stage")).to_be_hidden()  # filters folded away on a phone
    page.click("#toggle-filters")
    expect(page.locator("#id_stage")).to_be_visible()
    search(page, "lan")
    expect(page.locator("#customer-tbody .cl-customer-link")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
