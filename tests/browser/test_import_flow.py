"""A supervisor moves in from Excel: upload, check the columns and the preview, import, see the result."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from careline.accounts.tests.factories import BranchFactory, TeamFactory, UserFactory
from careline.customers.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Họ và tên,SĐT,Ngày sinh,Tỉnh/TP,Ghi chú\n"
    "nguyễn thị lan,0912.345.678,15/08/1990,Hà Nội,khách cũ\n"
    "Trần Văn Hùng,987654321,1/2/85,Sài Gòn,\n"
    "Lê Sai Số,12345,,,\n"
).encode("utf-8-sig")


@pytest.fixture
def supervisor(db):  # type: ignore[no-untyped-def]
    team = TeamFactory(name="Tư vấn Hà Nội", branch=BranchFactory(code="hn", name="Hà Nội"))
    return UserFactory(username="gs.lan", display_name="Nguyễn Lan Anh", role="supervisor", team=team)


def test_upload_preview_import_partial(page, supervisor, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.test_customer_flow import login

    login(page, "gs.lan")
    page.goto(page.base_url + "/customers/")
    page.click("#import-customers")
    upload = tmp_path / "khach-hang.csv"
    upload.write_bytes(CSV)
    page.set_input_files("#id_file", str(upload))
    page.click("#upload-submit")
    # columns recognised, first rows shown as they will be stored, the bad row reported
    expect(page.locator("#mapping-table select").first).to_have_value("full_name")
    expect(page.locator("#preview-table")).to_contain_text("Nguyễn Thị Lan")
    expect(page.locator("#preview-table")).to_contain_text("0912 345 678")
    expect(page.locator("#error-count")).to_have_text("1")
    expect(page.locator("#errors-table")).to_contain_text("12345")
    page.check("#id_partial")
    page.click("#run-import")
    expect(page.locator("#job-message")).to_be_visible(timeout=20_000)
    expect(page.locator("#job-created")).to_have_text("2")
    expect(page.locator("#job-failed")).to_have_text("1")
    expect(page.locator("#job-download")).to_be_visible()
    assert sorted(Customer.objects.values_list("full_name", flat=True)) == ["Nguyễn Thị Lan", "Trần Văn Hùng"]
