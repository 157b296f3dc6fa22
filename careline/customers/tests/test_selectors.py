"""customers.selectors: scope per role, filters, sorts, cursor pagination, search and ranking."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.core.errors import ApplicationError, NotFound, PermissionDenied
from careline.core.pagination import encode_cursor
from careline.customers import services
from careline.customers.models import Customer
from careline.customers.selectors import (
    CustomerFilters,
    customer_get,
    customer_list,
    customer_stage_counts,
    customer_visible,
)
from careline.customers.tests.factories import make_customer
from careline.vn import fold

pytestmark = pytest.mark.django_db


def names(rows: list[Customer]) -> list[str]:
    return [c.full_name for c in rows]


def ids(rows: list[Customer]) -> list[int]:
    return [c.pk for c in rows]


def search(actor, q: str, **kwargs) -> list[Customer]:
    rows, _cursor = customer_list(actor=actor, filters=CustomerFilters(q=q, **kwargs), limit=100)
    return rows


def walk(actor, *, filters: CustomerFilters | None = None, sort: str = "", limit: int = 3) -> list[Customer]:
    """Every page of a list, following next_cursor to the end."""
    out: list[Customer] = []
    cursor = None
    for _ in range(100):
        rows, cursor = customer_list(actor=actor, filters=filters, sort=sort, cursor=cursor, limit=limit)
        assert len(rows) <= limit
        out.extend(rows)
        if cursor is None:
            return out
        assert len(rows) == limit  # a page with a next cursor is full
    raise AssertionError("pagination did not end")


# --- scope -------------------------------------------------------------------------------------------


@dataclass
class Book:
    own: Customer  # consultant_hn, team HN 1
    colleague: Customer  # consultant_hn_b, team HN 1
    queue: Customer  # unassigned, team HN 1
    hn2: Customer  # consultant_hn2, team HN 2
    care: Customer  # care_agent_hn, care team HN
    hcm: Customer  # consultant_hcm, branch HCM
    orphan: Customer  # no owner, no team, no branch


@pytest.fixture
def book(org) -> Book:
    return Book(
        own=make_customer(org.consultant_hn, full_name="Khách Một"),
        colleague=make_customer(org.consultant_hn_b, full_name="Khách Hai"),
        queue=make_customer(org.supervisor_hn, full_name="Khách Ba", owner_id=None, team_id=org.hn_sales.pk),
        hn2=make_customer(org.consultant_hn2, full_name="Khách Bốn"),
        care=make_customer(org.admin, full_name="Khách Năm", owner_id=org.care_agent_hn.pk),
        hcm=make_customer(org.consultant_hcm, full_name="Khách Sáu"),
        orphan=make_customer(org.admin, full_name="Khách Bảy", owner_id=None, team_id=None, branch_id=None),
    )


SCOPE_MATRIX = {
    "admin": {"own", "colleague", "queue", "hn2", "care", "hcm", "orphan"},
    "director": {"own", "colleague", "queue", "hn2", "care", "hcm", "orphan"},
    "care_head": {"own", "colleague", "queue", "hn2", "care", "hcm", "orphan"},
    "manager_hn": {"own", "colleague", "queue", "hn2", "care"},
    "academic_hn": {"own", "colleague", "queue", "hn2", "care"},
    "supervisor_hn": {"own", "colleague", "queue"},
    "consultant_hn": {"own", "queue"},
    "consultant_hn_b": {"colleague", "queue"},
    "consultant_hn2": {"hn2"},
    "consultant_hcm": {"hcm"},
    "care_agent_hn": {"care"},
    "nobody": set(),
}


def test_scope_per_role(org, book):
    for actor_name, expected in SCOPE_MATRIX.items():
        actor = getattr(org, actor_name)
        expected_ids = {getattr(book, key).pk for key in expected}
        assert set(customer_visible(actor=actor).values_list("pk", flat=True)) == expected_ids, actor_name
        if actor.allows("customer", "view"):
            assert set(ids(walk(actor, limit=100))) == expected_ids, actor_name
        else:
            with pytest.raises(PermissionDenied):
                walk(actor, limit=100)
        for key in ("own", "colleague", "queue", "hn2", "care", "hcm", "orphan"):
            customer = getattr(book, key)
            if key in expected:
                assert customer_get(actor=actor, customer_id=customer.pk).pk == customer.pk
            else:
                with pytest.raises(NotFound):
                    customer_get(actor=actor, customer_id=customer.pk)


def test_anonymous_and_inactive_see_nothing(org, book):
    from django.contrib.auth.models import AnonymousUser

    assert not customer_visible(actor=AnonymousUser()).exists()
    assert not customer_visible(actor=None).exists()
    org.admin.is_active = False
    org.admin.save()
    assert not customer_visible(actor=org.admin).exists()


def test_queue_customer_leaves_consultant_view_when_assigned_to_colleague(org, book):
    services.customer_update(
        actor=org.supervisor_hn, customer_id=book.queue.pk, data={"owner_id": org.consultant_hn_b.pk}
    )
    assert not customer_visible(actor=org.consultant_hn).filter(pk=book.queue.pk).exists()
    assert customer_visible(actor=org.consultant_hn_b).filter(pk=book.queue.pk).exists()


def test_archived_hidden_by_default(org, book):
    services.customer_archive(actor=org.admin, customer_id=book.own.pk)
    assert book.own.pk not in ids(walk(org.consultant_hn, limit=100))
    archived = walk(org.consultant_hn, filters=CustomerFilters(archived=True), limit=100)
    assert ids(archived) == [book.own.pk]
    # Still reachable directly (the card shows it is archived).
    assert customer_get(actor=org.consultant_hn, customer_id=book.own.pk).archived_at is not None
    assert book.own.pk not in set(
        customer_visible(actor=org.admin, include_archived=False).values_list("pk", flat=True)
    )


def test_stage_counts_only_visible_active(org, book):
    services.customer_update(actor=org.admin, customer_id=book.own.pk, data={"stage": "customer"})
    services.customer_update(actor=org.admin, customer_id=book.hcm.pk, data={"stage": "customer"})
    services.customer_archive(actor=org.admin, customer_id=book.queue.pk)
    assert customer_stage_counts(actor=org.consultant_hn) == {
        "lead": 0,
        "prospect": 0,
        "customer": 1,
        "inactive": 0,
    }
    assert customer_stage_counts(actor=org.admin) == {"lead": 4, "prospect": 0, "customer": 2, "inactive": 0}
    assert customer_stage_counts(actor=org.nobody) == {"lead": 0, "prospect": 0, "customer": 0, "inactive": 0}


# --- filters -----------------------------------------------------------------------------------------


def test_filters(org, book):
    a = org.admin
    services.customer_update(actor=a, customer_id=book.own.pk, data={"stage": "prospect", "province": "01"})
    services.customer_update(
        actor=a, customer_id=book.hcm.pk, data={"source": "zalo", "province": "79", "tags": ["Phụ huynh"]}
    )
    services.customer_update(actor=a, customer_id=book.hn2.pk, data={"tags": ["phu HUYNH", "VIP"]})

    def ids_for(actor=a, **kw):
        return set(ids(walk(actor, filters=CustomerFilters(**kw), limit=100)))

    assert ids_for(stage="prospect") == {book.own.pk}
    assert ids_for(stage="lead") == {
        book.colleague.pk,
        book.queue.pk,
        book.hn2.pk,
        book.care.pk,
        book.hcm.pk,
        book.orphan.pk,
    }
    assert ids_for(owner="me", actor=org.consultant_hn) == {book.own.pk}
    assert ids_for(owner="none") == {book.queue.pk, book.orphan.pk}
    assert ids_for(owner="none", actor=org.consultant_hn) == {book.queue.pk}
    assert ids_for(owner=str(org.consultant_hn_b.pk)) == {book.colleague.pk}
    assert ids_for(team=org.hn_sales.pk) == {book.own.pk, book.colleague.pk, book.queue.pk}
    assert ids_for(branch=org.hcm.pk) == {book.hcm.pk}
    assert ids_for(branch=org.hn.pk) == {
        book.own.pk,
        book.colleague.pk,
        book.queue.pk,
        book.hn2.pk,
        book.care.pk,
    }
    assert ids_for(tag="phụ huynh") == {book.hcm.pk, book.hn2.pk}
    assert ids_for(tag="vip") == {book.hn2.pk}
    assert ids_for(province="79") == {book.hcm.pk}
    assert ids_for(source="zalo") == {book.hcm.pk}
    # Filters never widen the scope.
    assert ids_for(actor=org.consultant_hn, branch=org.hcm.pk) == set()
    assert ids_for(actor=org.consultant_hn, tag="vip") == set()
    # Filters combine.
    assert ids_for(branch=org.hn.pk, tag="phu huynh") == {book.hn2.pk}
    assert ids_for(stage="prospect", q="khach mot") == {book.own.pk}
    assert ids_for(stage="lead", q="khach mot") == set()


def test_invalid_filters_sort_limit_and_cursor(org):
    make_customer(org.consultant_hn)
    cases = [
        ({"filters": CustomerFilters(stage="won")}, "invalid_filter"),
        ({"filters": CustomerFilters(owner="someone")}, "invalid_filter"),
        ({"sort": "age"}, "invalid_sort"),
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 101}, "invalid_limit"),
    ]
    for cursor in ("garbage!!", "bm90IGpzb24", encode_cursor([1]), encode_cursor({"a": 1}), "%%%"):
        cases.append(({"cursor": cursor}, "invalid_cursor"))
    for kwargs, code in cases:
        with pytest.raises(ApplicationError) as exc:
            customer_list(actor=org.consultant_hn, **kwargs)
        assert exc.value.code == code, kwargs


# --- sorts ---------------------------------------------------------------------------------------------


def test_sorts(org):
    actor = org.consultant_hn
    created = [
        make_customer(actor, full_name=name)
        for name in ["Nguyễn Thị Lan", "Trần Văn An", "Lê Minh Bảo", "Phạm Anh", "Đỗ Thị An"]
    ]
    # Vietnamese order: by given name, then by the whole name.
    expected_name = ["Đỗ Thị An", "Trần Văn An", "Phạm Anh", "Lê Minh Bảo", "Nguyễn Thị Lan"]
    assert names(walk(actor, limit=2)) == expected_name
    assert names(walk(actor, sort="name", limit=2)) == expected_name
    assert names(walk(actor, sort="-name", limit=2)) == expected_name[::-1]
    assert ids(walk(actor, sort="created", limit=2)) == ids(created)
    assert ids(walk(actor, sort="-created", limit=2)) == ids(created)[::-1]
    services.customer_update(actor=actor, customer_id=created[2].pk, data={"stage": "prospect"})
    assert ids(walk(actor, sort="-updated", limit=2))[0] == created[2].pk


def test_same_names_are_ordered_by_id(org):
    made = [make_customer(org.consultant_hn, full_name="Nguyễn Văn Nam") for _ in range(4)]
    assert ids(walk(org.consultant_hn, limit=3)) == sorted(ids(made))
    assert ids(walk(org.consultant_hn, sort="-name", limit=3)) == sorted(ids(made), reverse=True)


# --- cursor pagination -----------------------------------------------------------------------------------


GIVEN = ["An", "Anh", "Bảo", "Châu", "Dũng", "Giang", "Hà", "Hương", "Khoa", "Lan", "Linh", "Mai", "Nam"]


def test_cursor_walk_has_no_duplicates_or_missing_rows(org):
    actor = org.consultant_hn
    made = [
        make_customer(actor, full_name=f"Nguyễn {'Thị' if i % 2 else 'Văn'} {g}") for i, g in enumerate(GIVEN)
    ]
    made += [make_customer(actor, full_name="Trần Lan") for _ in range(3)]  # ties on the sort key
    for sort in ("", "name", "-name", "created", "-created", "-updated"):
        full = ids(walk(actor, sort=sort, limit=100))
        assert sorted(full) == sorted(ids(made)), sort
        for limit in (1, 4):
            assert ids(walk(actor, sort=sort, limit=limit)) == full, (sort, limit)


def test_cursor_walk_with_search_ranking(org):
    actor = org.consultant_hn
    made = [make_customer(actor, full_name=f"Nguyễn Thị {g}") for g in GIVEN]
    made.append(make_customer(actor, full_name="Lan"))
    made.append(make_customer(actor, full_name="Lan Anh Trần"))
    rows = walk(actor, filters=CustomerFilters(q="nguyen"), limit=4)
    assert sorted(ids(rows)) == sorted(c.pk for c in made if c.full_name.startswith("Nguyễn"))
    rows = walk(actor, filters=CustomerFilters(q="lan"), limit=1)
    assert names(rows) == ["Lan", "Nguyễn Thị Lan", "Lan Anh Trần"]


# --- search ------------------------------------------------------------------------------------------


@pytest.fixture
def lan(org) -> Customer:
    """Nguyễn Thị Lan, among two customers that no query about her may return."""
    make_customer(
        org.consultant_hn, full_name="Trần Văn Bình", phones=["0987654321"], emails=["binh@other.vn"]
    )
    make_customer(
        org.consultant_hn, full_name="Công ty Bình Minh", kind="organization", tax_code="0312687878"
    )
    return make_customer(
        org.consultant_hn,
        full_name="Nguyễn Thị Lan",
        phones=["0912 345 678"],
        emails=["lan.nguyen@example.com"],
        tax_code="0100233488",
    )


def assert_finds_only(actor, queries, customer) -> None:
    for q in queries:
        assert ids(search(actor, q)) == [customer.pk], q


def test_name_search_is_accent_case_and_order_insensitive(org, lan):
    queries = [
        "nguyen thi lan",
        "Nguyễn Thị Lan",
        "NGUYỄN",
        "NGUYEN THI LAN",
        "nguyễn",
        "lan",
        "LAN",
        "lan nguyen",
        "thi lan nguyen",
        "ngu",
        "ng th la",
        unicodedata.normalize("NFD", "Nguyễn thị"),
        "  nguyen   lan  ",
    ]
    assert_finds_only(org.consultant_hn, queries, lan)


def test_name_search_matches_word_prefixes_only(org, lan):
    for q in ("an", "guyen", "thi lann", "nguyen van", "hi", "xyz", "0999"):
        assert search(org.consultant_hn, q) == [], q


def test_short_query_matches_word_starts(org, lan):
    anh = make_customer(org.consultant_hn, full_name="Phạm Anh", phones=["0977111222"])
    an = make_customer(org.consultant_hn, full_name="Trần Văn An")
    # "an" starts "An" and "Anh", but is only inside "Lan".
    assert set(ids(search(org.consultant_hn, "an"))) == {anh.pk, an.pk}
    assert ids(search(org.consultant_hn, "an"))[0] == an.pk  # given name equal to the query ranks first


def test_phone_fragments_in_any_format(org, lan):
    queries = [
        "0912 345",
        "912345",
        "0912345678",
        "+84 912 345 678",
        "0912.345.678",
        "84912345678",
        "(0912) 345-678",
        "5678",
    ]
    assert_finds_only(org.consultant_hn, queries, lan)


def test_phone_search_respects_scope(org, lan):
    assert search(org.consultant_hcm, "0912345678") == []
    assert search(org.consultant_hn2, "nguyen thi lan") == []


def test_email_fragments(org, lan):
    queries = ["lan.nguyen@example.com", "LAN.NGUYEN@EXAMPLE.COM", "lan.nguyen@", "@example.com", "lan.ng"]
    assert_finds_only(org.consultant_hn, queries, lan)


def test_tax_code(org, lan):
    assert_finds_only(org.consultant_hn, ["0100233488", "0100 233 488", "01002334"], lan)


def test_branch_tax_code_without_dash(org):
    c = make_customer(
        org.consultant_hn, full_name="Chi nhánh Sài Gòn", kind="organization", tax_code="0314409058-002"
    )
    assert ids(search(org.consultant_hn, "0314409058002")) == [c.pk]
    assert ids(search(org.consultant_hn, "0314409058-002")) == [c.pk]


def test_empty_query_lists_everything(org, lan):
    assert lan.pk in ids(search(org.consultant_hn, "   "))
    assert len(search(org.consultant_hn, "   ")) == 3


def test_search_after_update_uses_new_values(org, lan):
    services.customer_update(
        actor=org.consultant_hn,
        customer_id=lan.pk,
        data={"full_name": "Trần Thu Hà", "phones": ["0977 111 222"]},
    )
    assert search(org.consultant_hn, "nguyen") == []
    assert search(org.consultant_hn, "0912345678") == []
    assert ids(search(org.consultant_hn, "tran ha")) == [lan.pk]
    assert ids(search(org.consultant_hn, "0977 111")) == [lan.pk]


# --- ranking -------------------------------------------------------------------------------------------


def test_exact_phone_ranks_first(org):
    actor = org.consultant_hn
    # Both match "0912345678"; the one whose email merely contains the digits sorts first by name.
    by_email = make_customer(actor, full_name="An", emails=["0912345678@gmail.com"])
    exact = make_customer(actor, full_name="Yến", phones=["0912345678"])
    assert ids(search(actor, "0912345678")) == [exact.pk, by_email.pk]
    assert ids(search(actor, "+84 912 345 678")) == [exact.pk, by_email.pk]


def test_exact_email_ranks_first(org):
    actor = org.consultant_hn
    partial = make_customer(actor, full_name="An", emails=["xlan@example.com"])
    exact = make_customer(actor, full_name="Yến", emails=["lan@example.com"])
    assert ids(search(actor, "lan@example.com")) == [exact.pk, partial.pk]


def test_exact_tax_code_ranks_first(org):
    actor = org.consultant_hn
    partial = make_customer(actor, full_name="An", emails=["0100233488x@example.com"])
    exact = make_customer(actor, full_name="Yến", kind="organization", tax_code="0100233488")
    assert ids(search(actor, "0100233488")) == [exact.pk, partial.pk]


def test_name_ranking(org):
    actor = org.consultant_hn
    contains = make_customer(actor, full_name="An Thị Lan Nguyễn")  # all words, nothing else
    prefix = make_customer(actor, full_name="Nguyễn Thị Lan Anh")  # starts with the query
    given = make_customer(actor, full_name="Thị Nguyễn Lan")  # given name = last query word
    exact = make_customer(actor, full_name="Nguyễn Thị Lan")  # exact full name
    make_customer(actor, full_name="Nguyễn Văn Lâm")  # does not match
    assert ids(search(actor, "nguyen thi lan")) == [exact.pk, given.pk, prefix.pk, contains.pk]


def test_name_ranking_single_word(org):
    actor = org.consultant_hn
    d = make_customer(actor, full_name="Trần Lan Hương")  # contains the word
    c = make_customer(actor, full_name="Lan Anh Trần")  # starts with it
    b = make_customer(actor, full_name="Nguyễn Thị Lan")  # given name equals it
    a = make_customer(actor, full_name="Lan")  # full name equals it
    assert ids(search(actor, "LAN")) == [a.pk, b.pk, c.pk, d.pk]


def test_exact_phone_beats_exact_name(org):
    actor = org.consultant_hn
    named = make_customer(actor, full_name="0912345678 Shop")
    exact = make_customer(actor, full_name="Zung", phones=["0912345678"])
    assert ids(search(actor, "0912 345 678")) == [exact.pk, named.pk]


# --- property: the folded full name always finds the customer -----------------------------------------

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLES = [
    "Văn",
    "Thị",
    "Hữu",
    "Đức",
    "Minh",
    "Ngọc",
    "Thanh",
    "Quốc",
    "Thu",
    "Xuân",
    "Bảo",
    "Hoài",
    "Mỹ",
    "Tường",
]
GIVEN_NAMES = [
    "Lan",
    "Hương",
    "Dũng",
    "Tuấn",
    "Anh",
    "Hoa",
    "Phương",
    "Đạt",
    "Khoa",
    "Nga",
    "Yến",
    "Thảo",
    "Hùng",
    "Quỳnh",
    "Trang",
    "Việt",
    "Ánh",
    "Ổn",
    "Ý",
    "Ưng",
    "Đào",
    "Giàu",
]

vietnamese_names = st.builds(
    lambda s, m, g: " ".join([s, *m, g]),
    st.sampled_from(SURNAMES),
    st.lists(st.sampled_from(MIDDLES), min_size=0, max_size=2),
    st.sampled_from(GIVEN_NAMES),
)


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=vietnamese_names,
    typed=st.sampled_from([str, str.lower, str.upper, lambda s: unicodedata.normalize("NFD", s)]),
    query_case=st.sampled_from([str, str.upper, str.title]),
)
def test_folded_full_name_finds_the_customer(org, name, typed, query_case):
    customer = make_customer(org.consultant_hn, full_name=typed(name))
    assert fold(customer.full_name) == fold(name)
    query = query_case(fold(name))
    assert query.isascii()
    found = search(org.consultant_hn, query)
    assert customer.pk in ids(found)
    # The exact full name ranks ahead of every customer that merely contains the words.
    first_rank_names = {fold(c.full_name) for c in found[: ids(found).index(customer.pk) + 1]}
    assert first_rank_names == {fold(name)}


def test_list_limit_and_created_sort_across_time(org):
    actor = org.consultant_hn
    old = make_customer(actor, full_name="Cũ")
    Customer.objects.filter(pk=old.pk).update(created_at=old.created_at - dt.timedelta(days=30))
    new = make_customer(actor, full_name="Mới")
    rows, cursor = customer_list(actor=actor, sort="created", limit=1)
    assert ids(rows) == [old.pk]
    rows, cursor2 = customer_list(actor=actor, sort="created", limit=1, cursor=cursor)
    assert ids(rows) == [new.pk]
    assert cursor2 is None
