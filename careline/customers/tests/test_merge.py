"""Merging customers: what is kept, what moves, field choices, audit and history, refusals, bulk merge of
exact duplicates, the API endpoints and the merge page."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.conftest import api_client, web_client
from careline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditEvent
from careline.customers import selectors, services
from careline.customers.models import Consent, ContactPoint, Customer, Note
from careline.customers.tests.factories import make_customer
from careline.customers.tests.test_api import CUSTOMER_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """These tests read reason and error texts in English (the Vietnamese ones are checked separately)."""
    from django.utils import translation

    with translation.override("en"):
        yield


BASE = "/api/v1/customers"


def dup(actor, **data):
    return make_customer(actor, allow_duplicate=True, **data)


def points(customer: Customer) -> list[tuple[str, str, str]]:
    return list(
        ContactPoint.objects.filter(customer=customer)
        .order_by("kind", "position", "id")
        .values_list("kind", "value", "label")
    )


def merge(actor, survivor, other, fields=None) -> Customer:
    return services.customer_merge(actor=actor, survivor_id=survivor.pk, other_id=other.pk, fields=fields)


# --- what is kept and what moves ---------------------------------------------------------------------------


def test_merge_keeps_every_phone_email_and_tag(org):
    s = make_customer(
        org.supervisor_hn,
        full_name="Nguyễn Thị Lan",
        phones=["0912 345 678", {"number": "024 3826 1234", "label": "home"}],
        emails=["lan@example.com"],
        tags=["IELTS"],
    )
    o = dup(
        org.admin,
        full_name="Lan Nguyễn",
        phones=[{"number": "0912 345 678", "label": "zalo"}, {"number": "0988 111 222", "label": "work"}],
        emails=["lan.nguyen@example.com", "lan@example.com"],
        tags=["VIP", "ielts"],
        owner_id=org.consultant_hn.pk,
    )
    survivor = merge(org.supervisor_hn, s, o)
    assert survivor.pk == s.pk
    assert points(s) == [
        ("email", "lan@example.com", "other"),
        ("email", "lan.nguyen@example.com", "other"),
        ("phone", "+84912345678", "mobile"),  # the survivor's own label wins for a shared number
        ("phone", "+842438261234", "home"),
        ("phone", "+84988111222", "work"),  # the other's label is kept
    ]
    assert sorted(t.name for t in s.tags.all()) == ["IELTS", "VIP"]
    assert points(o) == []
    # The search box finds the survivor by the merged-in phone and email.
    found, _cursor = selectors.customer_list(
        actor=org.supervisor_hn, filters=selectors.CustomerFilters(q="0988 111 222")
    )
    assert [c.pk for c in found] == [s.pk]
    found, _cursor = selectors.customer_list(
        actor=org.supervisor_hn, filters=selectors.CustomerFilters(q="lan.nguyen@example.com")
    )
    assert [c.pk for c in found] == [s.pk]


def test_merge_moves_notes_consents_and_contact_persons(org):
    s = make_customer(org.admin, full_name="Công ty An Phát", kind="organization")
    o = make_customer(org.admin, full_name="An Phát JSC", kind="organization")
    services.customer_note_add(actor=org.admin, customer_id=o.pk, body="Ghi chú của thẻ trùng")
    services.customer_note_add(actor=org.admin, customer_id=s.pk, body="Ghi chú của thẻ giữ lại")
    services.customer_consent_record(
        actor=org.admin, customer_id=o.pk, purpose="marketing", status="granted", method="paper"
    )
    person = make_customer(org.admin, full_name="Lê Văn Kế Toán", organization_id=o.pk)
    merge(org.admin, s, o)
    assert sorted(Note.objects.filter(customer=s).values_list("body", flat=True)) == [
        "Ghi chú của thẻ giữ lại",
        "Ghi chú của thẻ trùng",
    ]
    assert Note.objects.filter(customer=o).count() == 0
    assert Consent.objects.get().customer_id == s.pk
    assert selectors.customer_consent_state(customer=s)["marketing"].status == "granted"
    assert Customer.objects.get(pk=person.pk).organization_id == s.pk


def test_merge_a_contact_person_into_their_organisation_does_not_point_at_itself(org):
    company = make_customer(org.admin, full_name="Công ty Bình Minh", kind="organization")
    person = make_customer(org.admin, full_name="Trần Bình", organization_id=company.pk)
    survivor = merge(org.admin, person, company)
    assert survivor.organization_id is None
    assert Customer.objects.get(pk=person.pk).organization_id is None


def test_merge_chooses_fields_per_choice_and_fills_empty_ones(org):
    s = make_customer(
        org.admin,
        full_name="Nguyen Thi Lan",
        stage="lead",
        province="01",
        ward="Phường Ba Đình",
        job_title="",
        receivable_amount=0,
    )
    o = make_customer(
        org.admin,
        full_name="Nguyễn Thị Lan",
        stage="customer",
        birthday=dt.date(1990, 8, 15),
        province="79",
        ward="Phường Sài Gòn",
        street="12 Lê Lợi",
        job_title="Kế toán",
        receivable_amount=1_500_000,
        owner_id=org.consultant_hcm.pk,
    )
    survivor = merge(org.admin, s, o, fields={"full_name": "other", "stage": "survivor", "owner_id": "other"})
    s.refresh_from_db()
    assert s.full_name == "Nguyễn Thị Lan"  # chosen
    assert s.given_name == "Lan" and s.name_folded == "nguyen thi lan"
    assert s.stage == "lead"  # chosen explicitly
    assert s.birthday == dt.date(1990, 8, 15)  # the survivor had none
    assert (s.province, s.ward) == ("01", "Phường Ba Đình")  # the ward follows the province kept
    assert s.street == "12 Lê Lợi"
    assert s.job_title == "Kế toán"
    assert s.receivable_amount == 1_500_000
    # The owner chosen from the other card brings its team and branch.
    assert (s.owner_id, s.team_id, s.branch_id) == (
        org.consultant_hcm.pk,
        org.hcm_sales.pk,
        org.hcm.pk,
    )
    assert survivor.version == 2


def test_merge_takes_the_other_province_with_its_ward(org):
    s = make_customer(org.admin, full_name="Lan")
    o = make_customer(org.admin, full_name="Lan", province="79", ward="Phường Sài Gòn")
    merge(org.admin, s, o)
    s.refresh_from_db()
    assert (s.province, s.ward) == ("79", "Phường Sài Gòn")


def test_merge_archives_the_other_with_merged_into(org):
    s = make_customer(org.admin, full_name="Giữ Lại", phones=["0912345678"])
    o = dup(org.admin, full_name="Gộp Đi", phones=["0912345678"])
    merge(org.admin, s, o)
    o.refresh_from_db()
    assert o.archived_at is not None
    assert o.merged_into_id == s.pk
    assert o.version == 2
    assert list(s.merged_from.all()) == [o]
    assert "0912345678" not in o.search_text
    # The archived card no longer blocks a new customer with the merged phone… but the survivor does.
    with pytest.raises(Conflict) as exc:
        make_customer(org.admin, full_name="Mới", phones=["0912345678"])
    assert exc.value.details["existing_id"] == s.pk


def test_merge_records_audit_events_and_history_shows_both_cards(org):
    s = make_customer(org.supervisor_hn, full_name="Nguyễn Lan", phones=["0912345678"])
    o = make_customer(org.supervisor_hn, full_name="Nguyễn Thị Lan", phones=["0988111222"], stage="customer")
    services.customer_note_add(actor=org.supervisor_hn, customer_id=o.pk, body="Sự kiện của thẻ trùng")
    merge(org.supervisor_hn, s, o, fields={"full_name": "other", "stage": "other"})
    event = AuditEvent.objects.get(object_id=str(s.pk), action="merge")
    assert event.actor_id == org.supervisor_hn.pk
    changes = event.changes
    assert changes["merged_from"] == {"before": None, "after": o.pk}
    assert changes["full_name"] == {"before": "Nguyễn Lan", "after": "Nguyễn Thị Lan"}
    assert changes["stage"] == {"before": "lead", "after": "customer"}
    assert changes["phones"] == {"before": ["+84912345678"], "after": ["+84912345678", "+84988111222"]}
    assert changes["merged_customer"]["full_name"] == "Nguyễn Thị Lan"
    assert changes["merged_customer"]["phones"] == ["+84988111222"]
    other_event = AuditEvent.objects.get(object_id=str(o.pk), action="merge")
    assert other_event.changes["merged_into"] == {"before": None, "after": s.pk}
    # The survivor's history lists its own events and those of the card merged into it.
    history = list(selectors.customer_history(actor=org.supervisor_hn, customer=s))
    assert sorted((e.object_id, e.action) for e in history) == sorted(
        [
            (str(s.pk), "create"),
            (str(s.pk), "merge"),
            (str(o.pk), "create"),
            (str(o.pk), "create"),  # the note
            (str(o.pk), "merge"),
        ]
    )
    assert history == sorted(history, key=lambda e: (e.created_at, e.id), reverse=True)
    r = api_client(org.supervisor_hn).get(f"{BASE}/{s.pk}/history")
    assert len(r.json()) == 5
    page = web_client(org.supervisor_hn).get(f"/customers/{s.pk}/history/").content.decode()
    assert page.count("cl-history-item") == 5
    assert "Sự kiện của thẻ trùng" in page
    assert "cl-history-merged-card" in page
    assert f"Nguyễn Thị Lan (#{o.pk})" in page  # "Merged from" shows the card by name
    assert "0988 111 222" in page


def test_history_follows_a_chain_of_merges(org):
    a = make_customer(org.admin, full_name="A")
    b = make_customer(org.admin, full_name="B")
    c = make_customer(org.admin, full_name="C")
    merge(org.admin, b, a)
    merge(org.admin, c, b)
    ids = {e.object_id for e in selectors.customer_history(actor=org.admin, customer=c)}
    assert ids == {str(a.pk), str(b.pk), str(c.pk)}


def test_card_of_a_merged_customer_links_to_the_survivor(org):
    s = make_customer(org.supervisor_hn, full_name="Giữ Lại")
    o = make_customer(org.supervisor_hn, full_name="Gộp Đi")
    merge(org.supervisor_hn, s, o)
    page = web_client(org.supervisor_hn).get(f"/customers/{o.pk}/").content.decode()
    assert 'id="merged-into"' in page
    assert f'href="/customers/{s.pk}/"' in page.split('id="merged-into"')[1].split("</span>")[0]
    assert 'id="merged-into"' not in web_client(org.supervisor_hn).get(f"/customers/{s.pk}/").content.decode()


# --- refusals ---------------------------------------------------------------------------------------------


def test_merge_refusals(org):
    s = make_customer(org.consultant_hn, full_name="Của Tư Vấn")
    o = make_customer(org.consultant_hn, full_name="Cũng Của Tư Vấn")
    hidden = make_customer(org.consultant_hcm, full_name="Ngoài Phạm Vi")
    archived = make_customer(org.consultant_hn, full_name="Đã Lưu")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        merge(org.consultant_hn, s, o)  # consultants cannot merge
    with pytest.raises(NotFound):
        merge(org.supervisor_hn, s, hidden)  # the other is out of scope
    with pytest.raises(NotFound):
        merge(org.supervisor_hn, hidden, s)
    with pytest.raises(NotFound):
        merge(org.consultant_hn, hidden, s)  # out of scope answers 404 before 403
    with pytest.raises(Conflict) as exc:
        merge(org.supervisor_hn, s, s)
    assert exc.value.code == "same_customer"
    for a, b in ((s, archived), (archived, s)):
        with pytest.raises(Conflict) as exc:
            merge(org.supervisor_hn, a, b)
        assert exc.value.code == "archived"
    with pytest.raises(ValidationFailed) as exc:
        merge(org.supervisor_hn, s, o, fields={"search_text": "other", "phones": "other"})
    assert set(exc.value.fields) == {"search_text", "phones"}
    with pytest.raises(ValidationFailed) as exc:
        merge(org.supervisor_hn, s, o, fields={"full_name": "both"})
    assert set(exc.value.fields) == {"full_name"}
    assert AuditEvent.objects.count() == before
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_a_refused_choice_rolls_everything_back(org):
    s = make_customer(org.supervisor_hn, full_name="Lan", phones=["0912345678"])
    o = make_customer(org.admin, full_name="Lan", phones=["0988111222"], owner_id=org.consultant_hn.pk)
    services.customer_note_add(actor=org.admin, customer_id=o.pk, body="x")
    Customer.objects.filter(pk=o.pk).update(owner=org.consultant_hcm, team=org.hn_sales)  # odd but visible
    with pytest.raises(ValidationFailed):
        merge(org.supervisor_hn, s, o, fields={"owner_id": "other"})  # not assignable by the supervisor
    assert points(o) == [("phone", "+84988111222", "mobile")]
    assert Note.objects.get().customer_id == o.pk
    assert Customer.objects.get(pk=o.pk).archived_at is None


# --- bulk merge of exact duplicates -------------------------------------------------------------------------


def test_merge_all_exact_duplicates_for_admins_only(org):
    a = make_customer(org.admin, full_name="Lan", phones=["0912345678"])
    b = dup(org.admin, full_name="Lan B", phones=["0912345678"], emails=["lan@example.com"])
    c = dup(org.admin, full_name="Lan C", emails=["lan@example.com"])
    d = make_customer(org.admin, full_name="Cty", kind="organization", tax_code="0100109106")
    e = dup(org.admin, full_name="Cty 2", kind="organization", tax_code="0100109106")
    services.customer_note_add(actor=org.admin, customer_id=c.pk, body="của C")
    lone = make_customer(org.admin, full_name="Một Mình", phones=["0977000000"])
    for user in (org.manager_hn, org.supervisor_hn, org.consultant_hn, org.director):
        with pytest.raises(PermissionDenied):
            services.customer_merge_exact_all(actor=user)
    assert services.customer_merge_exact_all(actor=org.admin) == 3
    active = Customer.objects.filter(archived_at__isnull=True)
    assert sorted(active.values_list("pk", flat=True)) == [a.pk, d.pk, lone.pk]
    assert Customer.objects.get(pk=b.pk).merged_into_id == a.pk
    assert Customer.objects.get(pk=e.pk).merged_into_id == d.pk
    assert Customer.objects.get(pk=c.pk).merged_into_id in (a.pk, b.pk)
    assert {v for _k, v, _l in points(a)} == {"+84912345678", "lan@example.com"}
    assert Note.objects.get(body="của C").customer_id == a.pk
    assert selectors.customer_duplicate_groups(actor=org.admin, kind="exact") == []
    assert services.customer_merge_exact_all(actor=org.admin) == 0


def test_merge_all_api_and_page(org):
    make_customer(org.admin, full_name="Lan", phones=["0912345678"])
    dup(org.admin, full_name="Lan B", phones=["0912345678"])
    r = api_client(org.admin).post(f"{BASE}/duplicates/merge-exact")
    assert r.status_code == 200, r.content
    assert r.json() == {"merged": 1}
    make_customer(org.admin, full_name="Hoa", emails=["hoa@example.com"])
    dup(org.admin, full_name="Hoa B", emails=["hoa@example.com"])
    r = web_client(org.admin).post("/customers/duplicates/merge-exact/", follow=True)
    assert r.redirect_chain == [("/customers/duplicates/", 302)]
    assert 'id="no-duplicates"' in r.content.decode()


# --- API -------------------------------------------------------------------------------------------------


def post_merge(client: Client, survivor_id: int, body: dict) -> object:
    return client.post(
        f"{BASE}/{survivor_id}/merge",
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_api_merge(org):
    s = make_customer(org.supervisor_hn, full_name="Nguyễn Lan", phones=["0912345678"])
    o = make_customer(org.supervisor_hn, full_name="Nguyễn Thị Lan", phones=["0988111222"])
    client = api_client(org.supervisor_hn)
    r = post_merge(client, s.pk, {"other_id": o.pk, "fields": {"full_name": "other"}})
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == CUSTOMER_FIELDS
    assert body["id"] == s.pk
    assert body["full_name"] == "Nguyễn Thị Lan"
    assert body["phones"] == ["+84912345678", "+84988111222"]
    assert r["ETag"] == f'"{body["version"]}"'
    r = client.get(f"{BASE}/{o.pk}")
    assert r.json()["archived_at"] is not None
    # Merging it again: archived → 409.
    r = post_merge(client, s.pk, {"other_id": o.pk})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "archived")
    r = post_merge(client, s.pk, {"other_id": s.pk})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "same_customer")


def test_api_merge_errors(org):
    s = make_customer(org.supervisor_hn, full_name="Lan")
    o = make_customer(org.supervisor_hn, full_name="Lan 2")
    hidden = make_customer(org.consultant_hcm, full_name="Ngoài Phạm Vi")
    client = api_client(org.supervisor_hn)
    r = post_merge(client, s.pk, {"other_id": hidden.pk})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    r = post_merge(client, s.pk, {"other_id": o.pk, "fields": {"search_text": "other"}})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["fields"] == {
        "search_text": ["This field cannot be chosen in a merge."]
    }
    for body in ({"other_id": o.pk, "fields": {"full_name": "both"}}, {}, {"other_id": "x"}):
        r = post_merge(client, s.pk, body)
        assert r.status_code == 422, (body, r.content)
        assert r.json()["error"]["code"] == "validation_error"
    own = make_customer(org.consultant_hn, full_name="Của Tư Vấn")
    r = post_merge(api_client(org.consultant_hn), own.pk, {"other_id": o.pk})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = post_merge(Client(), s.pk, {"other_id": o.pk})
    assert r.status_code == 401
    assert Customer.objects.filter(archived_at__isnull=False).count() == 0


# --- the merge page ---------------------------------------------------------------------------------------


def test_merge_page_compares_and_merges(org):
    s = make_customer(
        org.supervisor_hn, full_name="Nguyễn Lan", phones=["0912345678"], tags=["IELTS"], province="01"
    )
    o = make_customer(
        org.supervisor_hn,
        full_name="Nguyễn Thị Lan",
        phones=["0988111222"],
        emails=["lan@example.com"],
        tags=["VIP"],
        province="01",
        birthday=dt.date(1990, 8, 15),
    )
    client = web_client(org.supervisor_hn)
    r = client.get(f"/customers/{s.pk}/merge/{o.pk}/")
    assert r.status_code == 200
    page = r.content.decode()
    rows = page.count("cl-merge-row")
    assert rows == 2  # full name and birthday differ; province is the same
    assert 'name="field_full_name" id="f-full_name-s" value="survivor" checked' in page
    assert 'name="field_birthday" id="f-birthday-o" value="other" checked' in page  # empty on the survivor
    assert "15/08/1990" in page
    union = page.split('id="merge-union"')[1].split("</dl>")[0]
    for text in ("0912 345 678", "0988 111 222", "lan@example.com", "IELTS", "VIP"):
        assert text in union
    assert f'href="/customers/{o.pk}/merge/{s.pk}/"' in page  # swap sides
    r = client.post(
        f"/customers/{s.pk}/merge/{o.pk}/", {"field_full_name": "other", "field_birthday": "other"}
    )
    assert r.status_code == 302
    assert r["Location"] == f"/customers/{s.pk}/"
    s.refresh_from_db()
    assert (s.full_name, s.birthday) == ("Nguyễn Thị Lan", dt.date(1990, 8, 15))
    assert Customer.objects.get(pk=o.pk).merged_into_id == s.pk
    page = client.get(f"/customers/{s.pk}/").content.decode()
    assert "0988 111 222" in page
    # Again: the other is archived now → 409 with the reason, no form button.
    r = client.get(f"/customers/{s.pk}/merge/{o.pk}/")
    assert r.status_code == 409
    assert 'id="merge-error"' in r.content.decode()
    assert 'id="merge-submit"' not in r.content.decode()
    r = client.post(f"/customers/{s.pk}/merge/{o.pk}/", {})
    assert r.status_code == 409
    assert client.get(f"/customers/{s.pk}/merge/{s.pk}/").status_code == 409


def test_merge_page_refusals(org):
    s = make_customer(org.consultant_hn, full_name="Lan")
    hidden = make_customer(org.consultant_hcm, full_name="Ngoài Phạm Vi")
    assert web_client(org.supervisor_hn).get(f"/customers/{s.pk}/merge/{hidden.pk}/").status_code == 404
    assert web_client(org.consultant_hn).get(f"/customers/{s.pk}/merge/{hidden.pk}/").status_code == 403
    r = Client().get(f"/customers/{s.pk}/merge/{hidden.pk}/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    o = make_customer(org.consultant_hn, full_name="Lan 2", province="01")
    r = web_client(org.supervisor_hn).post(
        f"/customers/{s.pk}/merge/{o.pk}/", {"field_province": "survivor", "field_ward": "bogus"}
    )
    assert r.status_code == 302  # an unknown side is ignored: the default applies


# --- property ---------------------------------------------------------------------------------------------

phone_sets = st.lists(
    st.integers(min_value=0, max_value=40).map(lambda n: f"09123450{n:02d}"), max_size=4, unique=True
)


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mine=phone_sets, theirs=phone_sets, pick_name=st.sampled_from(["survivor", "other"]))
def test_survivor_phones_are_the_union_of_both(org, mine, theirs, pick_name):
    with transaction.atomic():
        s = dup(org.admin, full_name="Một", phones=mine)
        o = dup(org.admin, full_name="Hai", phones=theirs)
        merge(org.admin, s, o, fields={"full_name": pick_name})
        phones = [v for k, v, _l in points(s) if k == "phone"]
        expected = [f"+84{p[1:]}" for p in mine] + [f"+84{p[1:]}" for p in theirs if p not in mine]
        assert phones == expected
        assert set(phones) == {f"+84{p[1:]}" for p in [*mine, *theirs]}
        assert Customer.objects.get(pk=s.pk).full_name == ("Một" if pick_name == "survivor" else "Hai")
        transaction.set_rollback(True)
