"""Finding duplicates: exact groups (phone, email, tax code), likely groups (name + province + similar
contact or birthday), scope, ordering, query counts, the API endpoint and the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.conftest import api_client, web_client
from careline.core.errors import ApplicationError, PermissionDenied
from careline.customers import services
from careline.customers.selectors import customer_duplicate_groups
from careline.customers.tests.factories import make_customer
from careline.customers.tests.test_api import CUSTOMER_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """These tests read reason and error texts in English (the Vietnamese ones are checked separately)."""
    from django.utils import translation

    with translation.override("en"):
        yield


TAX = "0100109106"


def dup(actor, **data):
    return make_customer(actor, allow_duplicate=True, **data)


def summary(groups) -> list[tuple[str, str, list[int]]]:
    return [(g.kind, g.key, [c.pk for c in g.customers]) for g in groups]


# --- exact ----------------------------------------------------------------------------------------------


def test_exact_groups_by_phone_email_and_tax_code(org):
    a = make_customer(org.admin, full_name="Nguyễn Thị Lan", phones=["0912 345 678"])
    b = dup(org.admin, full_name="Lan Nguyễn", phones=["+84912345678", "0988 000 111"])
    c = make_customer(org.admin, full_name="Trần Văn Bình", emails=["binh@example.com"])
    d = dup(org.admin, full_name="Bình Trần", emails=["BINH@example.com"])
    e = make_customer(org.admin, full_name="Công ty An Phát", kind="organization", tax_code=TAX)
    f = dup(org.admin, full_name="An Phát JSC", kind="organization", tax_code=TAX)
    make_customer(org.admin, full_name="Một Mình", phones=["0977 000 001"])  # nobody shares it

    groups = customer_duplicate_groups(actor=org.admin)
    assert summary(groups) == [
        ("exact", "phone:+84912345678", [a.pk, b.pk]),
        ("exact", "email:binh@example.com", [c.pk, d.pk]),
        ("exact", f"tax_code:{TAX}", [e.pk, f.pk]),
    ]
    assert [g.score for g in groups] == [1.0, 1.0, 1.0]
    assert groups[0].reason == "Same phone 0912 345 678"
    assert groups[1].reason == "Same email binh@example.com"
    assert groups[2].reason == f"Same tax code {TAX}"
    # Members come with their contact points (the page and the API show them).
    assert [p.value for p in groups[0].customers[1].contact_points.all()] == ["+84912345678", "+84988000111"]


def test_same_pair_sharing_phone_and_email_is_one_group(org):
    a = make_customer(org.admin, full_name="Lê Hoa", phones=["0912345678"], emails=["hoa@example.com"])
    b = dup(org.admin, full_name="Lê Thị Hoa", phones=["0912345678"], emails=["hoa@example.com"])
    groups = customer_duplicate_groups(actor=org.admin)
    assert summary(groups) == [("exact", "phone:+84912345678", [a.pk, b.pk])]
    assert groups[0].reason == "Same phone 0912 345 678; same email hoa@example.com"


def test_three_customers_sharing_a_phone_are_one_group(org):
    ids = [dup(org.admin, full_name=f"Khách {i}", phones=["0912345678"]).pk for i in range(3)]
    groups = customer_duplicate_groups(actor=org.admin, kind="exact")
    assert summary(groups) == [("exact", "phone:+84912345678", ids)]


def test_archived_and_out_of_scope_customers_are_left_out(org):
    # supervisor_hn sees the hn_sales team's customers only.
    mine = make_customer(org.consultant_hn, full_name="Trong Nhóm", phones=["0912345678"])
    dup(org.admin, full_name="Nhóm Khác", phones=["0912345678"], owner_id=org.consultant_hcm.pk)
    assert customer_duplicate_groups(actor=org.supervisor_hn) == []
    mine2 = dup(org.admin, full_name="Cũng Trong Nhóm", phones=["0912345678"], owner_id=org.consultant_hn.pk)
    groups = customer_duplicate_groups(actor=org.supervisor_hn)
    assert summary(groups) == [("exact", "phone:+84912345678", [mine.pk, mine2.pk])]
    # The admin sees all three.
    assert len(customer_duplicate_groups(actor=org.admin)[0].customers) == 3
    services.customer_archive(actor=org.admin, customer_id=mine2.pk)
    assert customer_duplicate_groups(actor=org.supervisor_hn) == []


def test_only_roles_that_merge_may_list_duplicates(org):
    for user in (org.consultant_hn, org.director, org.care_head, org.nobody):
        with pytest.raises(PermissionDenied):
            customer_duplicate_groups(actor=user)
    for user in (org.admin, org.manager_hn, org.supervisor_hn):
        assert customer_duplicate_groups(actor=user) == []
    with pytest.raises(ApplicationError):
        customer_duplicate_groups(actor=org.admin, kind="fuzzy")
    with pytest.raises(ApplicationError):
        customer_duplicate_groups(actor=org.admin, limit=0)


# --- likely ---------------------------------------------------------------------------------------------


def test_likely_group_for_a_one_digit_typo_in_the_phone(org):
    a = make_customer(org.admin, full_name="Nguyễn Thị Lan", province="01", phones=["0912 345 678"])
    b = make_customer(org.admin, full_name="nguyen thi LAN", province="01", phones=["0912 345 679"])
    groups = customer_duplicate_groups(actor=org.admin)
    assert summary(groups) == [("likely", f"likely:01:nguyen thi lan:{a.pk}", [a.pk, b.pk])]
    assert groups[0].score == pytest.approx(0.9)
    assert groups[0].reason == "Same name and province, similar phone 0912 345 678 / 0912 345 679"
    assert customer_duplicate_groups(actor=org.admin, kind="exact") == []
    assert len(customer_duplicate_groups(actor=org.admin, kind="likely")) == 1


def test_likely_group_for_similar_email_and_for_birthday(org):
    a = make_customer(org.admin, full_name="Trần Minh", province="79", emails=["tranminh1990@gmail.com"])
    b = make_customer(org.admin, full_name="Trần Minh", province="79", emails=["tranminh.1990@yahoo.com"])
    born = dt.date(1990, 8, 15)
    c = make_customer(org.admin, full_name="Phạm Hà", province="48", birthday=born)
    d = make_customer(org.admin, full_name="Phạm Hà", province="48", birthday=born, phones=["0977 111 222"])
    groups = customer_duplicate_groups(actor=org.admin)
    assert summary(groups) == [
        ("likely", f"likely:79:tran minh:{a.pk}", [a.pk, b.pk]),
        ("likely", f"likely:48:pham ha:{c.pk}", [c.pk, d.pk]),
    ]
    assert groups[0].score == pytest.approx(0.96)
    assert groups[0].reason == (
        "Same name and province, similar email tranminh1990@gmail.com / tranminh.1990@yahoo.com"
    )
    assert groups[1].score == pytest.approx(0.95)
    assert groups[1].reason == "Same name, province and birthday 15/08/1990"


def test_no_likely_group_across_provinces_or_without_similarity(org):
    make_customer(org.admin, full_name="Nguyễn Văn An", province="01", phones=["0912 345 678"])
    make_customer(org.admin, full_name="Nguyễn Văn An", province="79", phones=["0912 345 679"])
    # Same name and province but nothing else alike: namesakes, not duplicates.
    make_customer(org.admin, full_name="Lê Văn Tư", province="01", phones=["0912 000 000"])
    make_customer(org.admin, full_name="Lê Văn Tư", province="01", phones=["0988 765 432"])
    # No province: no block.
    make_customer(org.admin, full_name="Vũ Thị Năm", phones=["0933 111 222"])
    make_customer(org.admin, full_name="Vũ Thị Năm", phones=["0933 111 223"])
    assert customer_duplicate_groups(actor=org.admin) == []


def test_pair_sharing_a_phone_is_exact_not_likely(org):
    a = make_customer(org.admin, full_name="Đỗ Mai", province="01", phones=["0912345678"])
    b = dup(org.admin, full_name="Đỗ Mai", province="01", phones=["0912345678", "0912345679"])
    assert summary(customer_duplicate_groups(actor=org.admin)) == [
        ("exact", "phone:+84912345678", [a.pk, b.pk])
    ]
    assert customer_duplicate_groups(actor=org.admin, kind="likely") == []


def test_likely_pairs_join_into_one_group_with_the_best_score(org):
    a = make_customer(org.admin, full_name="Hồ Sen", province="01", phones=["0912 345 678"])
    b = make_customer(org.admin, full_name="Hồ Sen", province="01", phones=["0912 345 688"])
    c = make_customer(
        org.admin, full_name="Hồ Sen", province="01", phones=["0912 345 677"], emails=["x@y.vn"]
    )
    make_customer(org.admin, full_name="Hồ Sen", province="01", phones=["0988 000 000"])  # namesake
    groups = customer_duplicate_groups(actor=org.admin)
    assert summary(groups) == [("likely", f"likely:01:ho sen:{a.pk}", [a.pk, b.pk, c.pk])]
    assert groups[0].score == pytest.approx(0.9)


def test_likely_respects_scope(org):
    make_customer(org.consultant_hn, full_name="Ngô Lan", province="01", phones=["0912 345 678"])
    make_customer(org.consultant_hcm, full_name="Ngô Lan", province="01", phones=["0912 345 679"])
    assert customer_duplicate_groups(actor=org.supervisor_hn) == []
    assert len(customer_duplicate_groups(actor=org.admin)) == 1


# --- ordering, limit, query count ---------------------------------------------------------------------------


def test_ordering_is_score_then_smallest_id_and_limit_applies(org):
    born = dt.date(1985, 1, 2)
    l1 = make_customer(org.admin, full_name="Bùi An", province="01", birthday=born)  # 0.95
    make_customer(org.admin, full_name="Bùi An", province="01", birthday=born)
    l2 = make_customer(org.admin, full_name="Bùi Bình", province="01", phones=["0912 111 111"])  # 0.9
    make_customer(org.admin, full_name="Bùi Bình", province="01", phones=["0912 111 112"])
    l3 = make_customer(org.admin, full_name="Bùi Chi", province="01", phones=["0912 222 222"])  # 0.9
    make_customer(org.admin, full_name="Bùi Chi", province="01", phones=["0912 222 223"])
    e2 = make_customer(org.admin, full_name="Khách Hai", emails=["hai@example.com"])
    dup(org.admin, full_name="Khách Hai Bis", emails=["hai@example.com"])
    e1 = make_customer(org.admin, full_name="Khách Một", phones=["0977 000 000"])
    dup(org.admin, full_name="Khách Một Bis", phones=["0977 000 000"])
    groups = customer_duplicate_groups(actor=org.admin)
    firsts = [g.customers[0].pk for g in groups]
    assert firsts == [e2.pk, e1.pk, l1.pk, l2.pk, l3.pk]
    assert [g.kind for g in groups] == ["exact", "exact", "likely", "likely", "likely"]
    assert groups == sorted(groups, key=lambda g: (-g.score, g.kind != "exact", g.customers[0].pk))
    # The same answer every time.
    assert summary(customer_duplicate_groups(actor=org.admin)) == summary(groups)
    assert [g.customers[0].pk for g in customer_duplicate_groups(actor=org.admin, limit=3)] == firsts[:3]


def _add_groups(actor, start: int, n: int) -> None:
    for i in range(start, start + n):
        phone = f"09123{i:05d}"
        dup(actor, full_name=f"Trùng Số {i}", phones=[phone], tags=["VIP"])
        dup(actor, full_name=f"Trùng Số {i} Bis", phones=[phone], owner_id=None)
        dup(actor, full_name=f"Trùng Mail {i}", emails=[f"m{i}@example.com"])
        dup(actor, full_name=f"Trùng Mail {i} Bis", emails=[f"m{i}@example.com"])
        if i == 0:
            dup(actor, full_name="Trùng MST", kind="organization", tax_code=TAX)
            dup(actor, full_name="Trùng MST Bis", kind="organization", tax_code=TAX)
        dup(actor, full_name=f"Giống Tên {i}", province="01", phones=[f"09887{i:05d}"])
        dup(actor, full_name=f"Giống Tên {i}", province="01", phones=[f"09886{i:05d}"])


def _count(actor) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        groups = customer_duplicate_groups(actor=actor)
        for g in groups:  # what the page and the API read
            for c in g.customers:
                list(c.contact_points.all())
                list(c.tags.all())
                str(c.owner)
    return len(ctx.captured_queries), len(groups)


def test_query_count_does_not_grow_with_the_number_of_groups(org):
    _add_groups(org.admin, 0, 2)
    small, n_small = _count(org.admin)
    _add_groups(org.admin, 2, 12)
    big, n_big = _count(org.admin)
    assert (n_small, n_big) == (7, 43)
    assert big == small, (small, big)
    assert big <= 14


# --- API and page ----------------------------------------------------------------------------------------


def test_api_lists_groups(org):
    a = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912345678"], province="01")
    b = dup(
        org.admin,
        full_name="Nguyễn Thị Lan",
        phones=["0912345678"],
        province="01",
        owner_id=org.consultant_hn.pk,
    )
    c = make_customer(org.consultant_hn, full_name="Lý Tâm", province="01", phones=["0911 222 333"])
    d = make_customer(org.consultant_hn, full_name="Lý Tâm", province="01", phones=["0911 222 334"])
    client = api_client(org.supervisor_hn)
    r = client.get("/api/v1/customers/duplicates")
    assert r.status_code == 200, r.content
    groups = r.json()["groups"]
    assert [(g["kind"], g["customer_ids"]) for g in groups] == [
        ("exact", [a.pk, b.pk]),
        ("likely", [c.pk, d.pk]),
    ]
    assert set(groups[0]) == {"key", "kind", "reason", "score", "customer_ids", "customers"}
    assert groups[0]["key"] == "phone:+84912345678"
    assert groups[0]["score"] == 1.0
    assert groups[1]["score"] == pytest.approx(0.9)
    assert [set(c) for c in groups[0]["customers"]] == [CUSTOMER_FIELDS, CUSTOMER_FIELDS]
    assert groups[0]["customers"][1]["phones"] == ["+84912345678"]
    r = client.get("/api/v1/customers/duplicates", {"kind": "likely"})
    assert [g["customer_ids"] for g in r.json()["groups"]] == [[c.pk, d.pk]]
    r = client.get("/api/v1/customers/duplicates", {"kind": "exact", "limit": 1})
    assert [g["customer_ids"] for g in r.json()["groups"]] == [[a.pk, b.pk]]
    # Messages follow the language: Vietnamese by default.
    vi = api_client(org.supervisor_hn).get("/api/v1/customers/duplicates", HTTP_ACCEPT_LANGUAGE="vi")
    assert vi.status_code == 200
    for params in ({"kind": "fuzzy"}, {"limit": 0}, {"limit": 501}):
        r = client.get("/api/v1/customers/duplicates", params)
        assert r.status_code == 422, (params, r.content)
        assert r.json()["error"]["code"] == "validation_error"


def test_duplicates_page(org):
    a = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", phones=["0912345678"], province="01")
    b = dup(org.admin, full_name="Nguyễn Lan", phones=["0912345678"], owner_id=org.consultant_hn.pk)
    r = web_client(org.supervisor_hn).get("/customers/duplicates/")
    assert r.status_code == 200
    page = r.content.decode()
    assert page.count("cl-duplicate-group") == 1
    assert "100%" in page
    assert "0912 345 678" in page
    assert "Nguyễn Thị Lan" in page and "Nguyễn Lan" in page
    assert "Hà Nội" in page  # province name
    assert f'href="/customers/{a.pk}/merge/{b.pk}/"' in page
    assert 'id="merge-exact"' not in page  # admins only
    page = web_client(org.admin).get("/customers/duplicates/").content.decode()
    assert 'id="merge-exact"' in page and "data-confirm" in page
    empty = web_client(org.supervisor_hn).get("/customers/duplicates/", {"kind": "likely"})
    assert 'id="no-duplicates"' in empty.content.decode()
    assert web_client(org.supervisor_hn).get("/customers/duplicates/", {"kind": "x"}).status_code == 200


def test_duplicates_link_in_the_list_header_for_those_who_merge(org):
    assert 'id="duplicates-link"' in web_client(org.supervisor_hn).get("/customers/").content.decode()
    assert 'id="duplicates-link"' not in web_client(org.consultant_hn).get("/customers/").content.decode()


def test_duplicates_page_query_count_is_constant(org):
    client = web_client(org.admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/customers/duplicates/").status_code == 200
        return len(ctx.captured_queries)

    _add_groups(org.admin, 0, 2)
    small = queries()
    _add_groups(org.admin, 2, 10)
    assert queries() == small
