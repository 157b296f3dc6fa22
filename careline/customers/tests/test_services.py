"""customers.services: normalisation, validation, duplicates, ownership, concurrency, audit, refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from careline.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from careline.core.models import AuditEvent
from careline.customers import services
from careline.customers.models import Consent, ContactPoint, Customer, Note, Tag
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db

VALID_TAX_CODE = "0100233488"


def _events(customer: Customer) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="customers.customer", object_id=str(customer.pk)).order_by("id")
    )


def _db_state(customer: Customer | None = None) -> dict[str, Any]:
    """Everything a refused service call must leave untouched."""
    state: dict[str, Any] = {
        "customers": sorted(Customer.objects.values_list("id", "version", "archived_at", "full_name")),
        "contact_points": sorted(ContactPoint.objects.values_list("customer_id", "kind", "value")),
        "notes": Note.objects.count(),
        "consents": Consent.objects.count(),
        "audit": AuditEvent.objects.count(),
        "tags": Tag.objects.count(),
    }
    if customer is not None:
        state["row"] = Customer.objects.filter(pk=customer.pk).values().first()
    return state


def expect(exc_type: type[Exception], label: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call fn and return the exception it must raise; `label` names the case when it does not."""
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    pytest.fail(f"{label}: did not raise {exc_type.__name__}")


# --- create: normalisation -----------------------------------------------------------------------


def test_create_normalises_name_and_fills_search_columns(org):
    c = make_customer(
        org.consultant_hn,
        full_name="  nguyễn   văn a ",
        phones=["0912.345.678", "+84 912 345 678", {"number": "(024) 3826 1234", "label": "home"}],
        emails=[" Lan@Example.COM ", "lan@example.com"],
        tax_code="0100 233 488",
        tags=["IELTS", "ielts", "Phụ huynh"],
    )
    c.refresh_from_db()
    assert c.full_name == "Nguyễn Văn A"
    assert c.given_name == "A"
    assert c.name_folded == "nguyen van a"
    assert c.given_folded == "a"
    assert c.tax_code == VALID_TAX_CODE
    assert c.version == 1
    assert c.created_by == org.consultant_hn
    phones = list(c.contact_points.filter(kind="phone").order_by("position").values_list("value", "label"))
    assert phones == [("+84912345678", "mobile"), ("+842438261234", "home")]
    emails = list(c.contact_points.filter(kind="email").values_list("value", flat=True))
    assert emails == ["lan@example.com"]
    assert sorted(t.name for t in c.tags.all()) == ["IELTS", "Phụ huynh"]
    assert c.search_text.startswith(" nguyen van a ")
    assert c.search_text.endswith(" ")
    for token in ("0912345678", "84912345678", "lan@example.com", VALID_TAX_CODE):
        assert f" {token} " in c.search_text


def test_create_uppercase_name_and_nfd_input(org):
    import unicodedata

    c = make_customer(org.consultant_hn, full_name=unicodedata.normalize("NFD", "TRẦN THỊ BÍCH"))
    assert c.full_name == "Trần Thị Bích"
    assert unicodedata.is_normalized("NFC", c.full_name)
    assert c.given_name == "Bích"
    assert c.given_folded == "bich"


def test_mixed_case_name_is_kept(org):
    c = make_customer(org.consultant_hn, full_name="McDonald Trần")
    assert c.full_name == "McDonald Trần"


def test_owner_defaults_to_actor_and_team_branch_follow(org):
    c = make_customer(org.consultant_hn)
    assert (c.owner_id, c.team_id, c.branch_id) == (org.consultant_hn.pk, org.hn_sales.pk, org.hn.pk)


def test_consultant_can_create_unassigned_into_own_team_queue(org):
    c = make_customer(org.consultant_hn, owner_id=None)
    assert (c.owner_id, c.team_id, c.branch_id) == (None, org.hn_sales.pk, org.hn.pk)
    # It waits in the team queue: the colleague sees it, the other team does not.
    from careline.customers.selectors import customer_visible

    assert customer_visible(actor=org.consultant_hn_b).filter(pk=c.pk).exists()
    assert not customer_visible(actor=org.consultant_hn2).filter(pk=c.pk).exists()


# --- create: validation ----------------------------------------------------------------------------


INVALID_CREATE: list[tuple[dict[str, Any], str]] = [
    ({"full_name": "   "}, "full_name"),
    ({"phones": ["123"]}, "phones"),
    ({"phones": ["0912 345 678 9"]}, "phones"),
    ({"phones": [{"number": "0912345678", "label": "pager"}]}, "phones"),
    ({"emails": ["not-an-email"]}, "emails"),
    ({"tax_code": "0100233480"}, "tax_code"),
    ({"tax_code": "12345"}, "tax_code"),
    ({"province": "99"}, "province"),
    ({"birthday": timezone.localdate() + dt.timedelta(days=1)}, "birthday"),
    ({"birthday": "31/02/1990"}, "birthday"),
    ({"birthday": dt.date(1850, 1, 1)}, "birthday"),
    ({"stage": "won"}, "stage"),
    ({"kind": "robot"}, "kind"),
    ({"receivable_amount": "lots"}, "receivable_amount"),
    ({"founded_on": dt.date(2000, 1, 1)}, "founded_on"),
    ({"search_text": "hack"}, "search_text"),
    ({"version": 5}, "version"),
]


def test_create_invalid_field(org):
    before = _db_state()
    for data, field in INVALID_CREATE:
        exc = expect(
            ValidationFailed,
            data,
            services.customer_create,
            actor=org.consultant_hn,
            data={"full_name": "Lê Văn Bình", **data},
        )
        assert field in exc.fields, (data, exc.fields)
        assert exc.status == 422
        assert exc.details == {"fields": exc.fields}
    assert _db_state() == before


def test_create_reports_every_invalid_field_at_once(org):
    with pytest.raises(ValidationFailed) as exc:
        services.customer_create(
            actor=org.consultant_hn,
            data={"full_name": "Lê Văn Bình", "phones": ["1"], "emails": ["x@"], "province": "00"},
        )
    assert set(exc.value.fields) == {"phones", "emails", "province"}


def test_birthday_today_and_dd_mm_yyyy_string_are_accepted(org):
    today = timezone.localdate()
    assert make_customer(org.consultant_hn, birthday=today).birthday == today
    c = make_customer(org.consultant_hn, full_name="Võ Thị Sáu", birthday="04/03/1990")
    assert c.birthday == dt.date(1990, 3, 4)


def test_valid_province_is_kept(org):
    assert make_customer(org.consultant_hn, province="01").province == "01"


# --- duplicates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"phones": ["0912345678"]}, {"phones": ["+84 912 345 678"]}, "phones"),
        ({"emails": ["lan@example.com"]}, {"emails": ["LAN@example.com"]}, "emails"),
        ({"tax_code": VALID_TAX_CODE}, {"tax_code": "0100-233-488"}, "tax_code"),
    ],
)
def test_duplicate_of_visible_customer_is_a_conflict(org, first, second, field):
    existing = make_customer(org.consultant_hn, full_name="Nguyễn Thị Lan", **first)
    before = _db_state()
    with pytest.raises(Conflict) as exc:
        make_customer(org.consultant_hn, full_name="Lan Khác", **second)
    assert exc.value.status == 409
    assert exc.value.code == "duplicate"
    assert exc.value.details["existing_id"] == existing.pk
    assert exc.value.details["field"] == field
    assert exc.value.details["existing_name"] == "Nguyễn Thị Lan"
    assert exc.value.details["existing_url"] == f"/customers/{existing.pk}/"
    assert _db_state() == before


def test_invisible_customer_phone_does_not_block(org):
    make_customer(org.consultant_hn, phones=["0912345678"])
    # consultant_hcm cannot see it, so it cannot learn that the number exists.
    other = make_customer(org.consultant_hcm, full_name="Trần Văn Hải", phones=["0912345678"])
    assert other.contact_points.get().value == "+84912345678"


def test_admin_allow_duplicate_creates_anyway(org):
    make_customer(org.consultant_hn, phones=["0912345678"])
    c = make_customer(org.admin, full_name="Bản sao", phones=["0912345678"], allow_duplicate=True)
    assert ContactPoint.objects.filter(value="+84912345678").count() == 2
    assert c.pk


def test_consultant_allow_duplicate_is_refused(org):
    make_customer(org.consultant_hn, phones=["0912345678"])
    before = _db_state()
    with pytest.raises(PermissionDenied):
        make_customer(org.consultant_hn, full_name="Bản sao", phones=["0912345678"], allow_duplicate=True)
    assert _db_state() == before


def test_update_adding_duplicate_phone_is_a_conflict_but_keeping_own_is_fine(org):
    a = make_customer(org.consultant_hn, full_name="Khách A", phones=["0912345678"])
    b = make_customer(org.consultant_hn, full_name="Khách B", phones=["0987654321"])
    with pytest.raises(Conflict) as exc:
        services.customer_update(
            actor=org.consultant_hn, customer_id=b.pk, data={"phones": ["0987654321", "0912345678"]}
        )
    assert exc.value.details["existing_id"] == a.pk
    # Re-saving a customer with its own phone is not a duplicate of itself.
    updated = services.customer_update(
        actor=org.consultant_hn, customer_id=a.pk, data={"phones": ["0912 345 678"], "stage": "prospect"}
    )
    assert updated.stage == "prospect"


# --- ownership -------------------------------------------------------------------------------------


def test_consultant_cannot_assign_to_user_of_another_team(org):
    before = _db_state()
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.consultant_hn, owner_id=org.consultant_hn2.pk)
    assert "owner_id" in exc.value.fields
    assert _db_state() == before


def test_consultant_cannot_put_customer_in_another_team_or_branch(org):
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.consultant_hn, team_id=org.hn_sales2.pk)
    assert "team_id" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.manager_hn, owner_id=None, branch_id=org.hcm.pk)
    assert "branch_id" in exc.value.fields


def test_consultant_cannot_reassign_own_customer_to_another_team(org):
    c = make_customer(org.consultant_hn)
    with pytest.raises(ValidationFailed) as exc:
        services.customer_update(
            actor=org.consultant_hn, customer_id=c.pk, data={"owner_id": org.consultant_hcm.pk}
        )
    assert "owner_id" in exc.value.fields
    c.refresh_from_db()
    assert c.owner_id == org.consultant_hn.pk


@pytest.mark.parametrize(
    ("actor_name", "owner_name", "team_name", "branch_name"),
    [
        ("supervisor_hn", "consultant_hn_b", "hn_sales", "hn"),
        ("manager_hn", "consultant_hn2", "hn_sales2", "hn"),
        ("admin", "consultant_hcm", "hcm_sales", "hcm"),
    ],
)
def test_team_and_branch_follow_the_owner(org, actor_name, owner_name, team_name, branch_name):
    actor = getattr(org, actor_name)
    owner = getattr(org, owner_name)
    c = make_customer(actor, owner_id=owner.pk)
    assert (c.owner_id, c.team_id, c.branch_id) == (
        owner.pk,
        getattr(org, team_name).pk,
        getattr(org, branch_name).pk,
    )
    # Re-assigning moves team and branch along.
    c = services.customer_update(actor=org.admin, customer_id=c.pk, data={"owner_id": org.consultant_hn.pk})
    assert (c.owner_id, c.team_id, c.branch_id) == (org.consultant_hn.pk, org.hn_sales.pk, org.hn.pk)


def test_supervisor_cannot_assign_outside_team(org):
    with pytest.raises(ValidationFailed) as exc:
        make_customer(org.supervisor_hn, owner_id=org.consultant_hn2.pk)
    assert "owner_id" in exc.value.fields


def test_unassigning_keeps_team_queue(org):
    c = make_customer(org.consultant_hn)
    c = services.customer_update(actor=org.consultant_hn, customer_id=c.pk, data={"owner_id": None})
    assert (c.owner_id, c.team_id) == (None, org.hn_sales.pk)


# --- update, version, archive ----------------------------------------------------------------------


def test_update_increments_version_and_refreshes_search(org):
    c = make_customer(org.consultant_hn, full_name="Nguyễn Văn A", phones=["0912345678"])
    c = services.customer_update(
        actor=org.consultant_hn,
        customer_id=c.pk,
        data={"full_name": "trần thị bích", "phones": ["0987 654 321"]},
        expected_version=1,
    )
    assert c.version == 2
    c.refresh_from_db()
    assert c.full_name == "Trần Thị Bích"
    assert (c.given_name, c.given_folded, c.name_folded) == ("Bích", "bich", "tran thi bich")
    assert " 0987654321 " in c.search_text
    assert "0912345678" not in c.search_text
    assert " nguyen " not in c.search_text
    assert list(c.contact_points.values_list("value", flat=True)) == ["+84987654321"]


def test_update_without_phones_keeps_them(org):
    c = make_customer(org.consultant_hn, phones=["0912345678"], emails=["a@example.com"], tags=["VIP"])
    c = services.customer_update(actor=org.consultant_hn, customer_id=c.pk, data={"stage": "customer"})
    assert sorted(c.contact_points.values_list("value", flat=True)) == ["+84912345678", "a@example.com"]
    assert [t.name for t in c.tags.all()] == ["VIP"]
    assert " 0912345678 " in c.search_text


def test_stale_expected_version_is_refused(org):
    c = make_customer(org.consultant_hn)
    services.customer_update(actor=org.consultant_hn, customer_id=c.pk, data={"stage": "prospect"})
    before = _db_state(c)
    with pytest.raises(PreconditionFailed) as exc:
        services.customer_update(
            actor=org.consultant_hn, customer_id=c.pk, data={"stage": "customer"}, expected_version=1
        )
    assert exc.value.status == 412
    assert exc.value.details == {"current_version": 2}
    assert _db_state(c) == before


def test_archive_restore_and_archived_cannot_be_edited(org):
    c = make_customer(org.supervisor_hn)
    c = services.customer_archive(actor=org.supervisor_hn, customer_id=c.pk)
    assert c.archived_at is not None
    assert c.version == 2
    before = _db_state(c)
    with pytest.raises(ApplicationError) as exc:
        services.customer_update(actor=org.supervisor_hn, customer_id=c.pk, data={"stage": "customer"})
    assert exc.value.code == "archived"
    assert exc.value.status == 409
    assert _db_state(c) == before
    # Archiving twice is a no-op.
    assert services.customer_archive(actor=org.supervisor_hn, customer_id=c.pk).version == 2
    c = services.customer_restore(actor=org.supervisor_hn, customer_id=c.pk)
    assert c.archived_at is None
    assert c.version == 3
    assert services.customer_restore(actor=org.supervisor_hn, customer_id=c.pk).version == 3
    c = services.customer_update(actor=org.supervisor_hn, customer_id=c.pk, data={"stage": "customer"})
    assert c.version == 4


# --- notes and consent ---------------------------------------------------------------------------


def test_note_add(org):
    c = make_customer(org.consultant_hn)
    note = services.customer_note_add(actor=org.consultant_hn, customer_id=c.pk, body="  Gọi lại sau 5h  ")
    assert note.body == "Gọi lại sau 5h"
    assert note.author == org.consultant_hn
    assert note.customer_id == c.pk
    event = _events(c)[-1]
    assert event.changes == {"note": {"before": None, "after": "Gọi lại sau 5h"}}
    assert event.actor == org.consultant_hn


def test_note_add_invalid(org):
    c = make_customer(org.consultant_hn)
    before = _db_state(c)
    for body in ("", "   ", "x" * 10_001):
        exc = expect(
            ValidationFailed,
            body[:5],
            services.customer_note_add,
            actor=org.consultant_hn,
            customer_id=c.pk,
            body=body,
        )
        assert "body" in exc.fields
    assert _db_state(c) == before


def test_consent_record_is_a_ledger(org):
    from careline.customers.selectors import customer_consent_state

    c = make_customer(org.consultant_hn)
    assert customer_consent_state(customer=c) == {"care_calls": None, "marketing": None}
    t0 = timezone.now() - dt.timedelta(days=2)
    services.customer_consent_record(
        actor=org.consultant_hn,
        customer_id=c.pk,
        purpose="marketing",
        status="granted",
        method="web_form",
        evidence="form #12",
        given_at=t0,
    )
    latest = services.customer_consent_record(
        actor=org.consultant_hn,
        customer_id=c.pk,
        purpose="marketing",
        status="withdrawn",
        method="phone_call",
    )
    assert Consent.objects.filter(customer=c).count() == 2
    state = customer_consent_state(customer=c)
    assert state["marketing"] == latest
    assert state["care_calls"] is None
    assert latest.recorded_by == org.consultant_hn
    assert _events(c)[-1].changes == {
        "consent.marketing": {"before": None, "after": "withdrawn (phone_call)"}
    }


def test_consent_record_invalid(org):
    c = make_customer(org.consultant_hn)
    before = _db_state(c)
    for kwargs, field in (
        ({"purpose": "spam"}, "purpose"),
        ({"status": "maybe"}, "status"),
        ({"method": "telepathy"}, "method"),
        ({"given_at": timezone.now() + dt.timedelta(days=1)}, "given_at"),
    ):
        args = {"purpose": "care_calls", "status": "granted", "method": "paper", **kwargs}
        exc = expect(
            ValidationFailed,
            kwargs,
            services.customer_consent_record,
            actor=org.consultant_hn,
            customer_id=c.pk,
            **args,
        )
        assert field in exc.fields
    assert _db_state(c) == before


# --- audit ---------------------------------------------------------------------------------------


def test_audit_events_record_actor_and_before_after(org):
    c = make_customer(org.consultant_hn, full_name="Nguyễn Văn A", phones=["0912345678"], tags=["IELTS"])
    services.customer_update(
        actor=org.supervisor_hn,
        customer_id=c.pk,
        data={"stage": "prospect", "phones": ["0912345678", "0987654321"], "tags": ["IELTS", "VIP"]},
    )
    services.customer_archive(actor=org.supervisor_hn, customer_id=c.pk)
    services.customer_restore(actor=org.supervisor_hn, customer_id=c.pk)
    create, update, archive, restore = _events(c)

    assert (create.action, create.actor, create.actor_label) == ("create", org.consultant_hn, "consultant_hn")
    assert create.object_repr == "Nguyễn Văn A"
    assert create.changes["full_name"] == {"before": None, "after": "Nguyễn Văn A"}
    assert create.changes["phones"] == {"before": None, "after": ["+84912345678"]}
    assert create.changes["owner_id"] == {"before": None, "after": org.consultant_hn.pk}
    assert create.source == "system"  # no HTTP request around a direct service call

    assert (update.action, update.actor) == ("update", org.supervisor_hn)
    assert update.changes == {
        "stage": {"before": "lead", "after": "prospect"},
        "phones": {"before": ["+84912345678"], "after": ["+84912345678", "+84987654321"]},
        "tags": {"before": ["IELTS"], "after": ["IELTS", "VIP"]},
    }
    assert archive.action == "archive"
    assert archive.changes["archived_at"]["before"] is None
    assert archive.changes["archived_at"]["after"]
    assert restore.action == "restore"
    assert restore.changes["archived_at"]["after"] is None


def test_update_with_no_real_change_records_empty_diff(org):
    c = make_customer(org.consultant_hn, stage="lead")
    services.customer_update(actor=org.consultant_hn, customer_id=c.pk, data={"stage": "lead"})
    assert _events(c)[-1].changes == {}


# --- refusals: out of scope → NotFound, forbidden → PermissionDenied, DB unchanged --------------------


def _update(actor, cid):
    return services.customer_update(actor=actor, customer_id=cid, data={"stage": "customer"})


def _archive(actor, cid):
    return services.customer_archive(actor=actor, customer_id=cid)


def _restore(actor, cid):
    return services.customer_restore(actor=actor, customer_id=cid)


def _note(actor, cid):
    return services.customer_note_add(actor=actor, customer_id=cid, body="hello")


def _consent(actor, cid):
    return services.customer_consent_record(
        actor=actor, customer_id=cid, purpose="marketing", status="granted", method="paper"
    )


SERVICES: dict[str, Callable[[Any, int], Any]] = {
    "update": _update,
    "archive": _archive,
    "restore": _restore,
    "note_add": _note,
    "consent_record": _consent,
}


@pytest.mark.parametrize("service", SERVICES)
def test_out_of_scope_is_not_found(org, service):
    # Owned by consultant_hn2 (team HN 2): invisible to all of these actors.
    c = make_customer(org.consultant_hn2)
    if service == "restore":
        services.customer_archive(actor=org.admin, customer_id=c.pk)
    before = _db_state(c)
    for actor_name in (
        "consultant_hcm",
        "consultant_hn",
        "consultant_hn_b",
        "supervisor_hn",
        "care_agent_hn",
        "nobody",
    ):
        expect(NotFound, actor_name, SERVICES[service], getattr(org, actor_name), c.pk)
    expect(NotFound, "missing id", SERVICES[service], org.admin, 999_999)
    assert _db_state(c) == before


FORBIDDEN = [
    ("update", "director"),
    ("update", "care_head"),
    ("update", "academic_hn"),
    ("archive", "consultant_hn"),
    ("archive", "director"),
    ("archive", "care_head"),
    ("restore", "consultant_hn"),
    ("restore", "director"),
    ("note_add", "director"),
    ("note_add", "academic_hn"),
    ("consent_record", "care_head"),
    ("consent_record", "director"),
]


def test_forbidden_action_on_visible_customer(org):
    from careline.customers.selectors import customer_visible

    c = make_customer(org.consultant_hn)
    archived = make_customer(org.consultant_hn, full_name="Đã Lưu")
    services.customer_archive(actor=org.admin, customer_id=archived.pk)
    before = _db_state()
    for service, actor_name in FORBIDDEN:
        actor = getattr(org, actor_name)
        target = archived if service == "restore" else c
        assert customer_visible(actor=actor).filter(pk=target.pk).exists()  # visible, so 403 not 404
        expect(PermissionDenied, (service, actor_name), SERVICES[service], actor, target.pk)
    assert _db_state() == before


def test_create_forbidden(org):
    before = _db_state()
    for actor_name in ("director", "care_head", "care_agent_hn", "academic_hn", "nobody"):
        expect(PermissionDenied, actor_name, make_customer, getattr(org, actor_name))
    assert _db_state() == before


def test_inactive_user_can_do_nothing(org):
    c = make_customer(org.consultant_hn)
    org.consultant_hn.is_active = False
    org.consultant_hn.save()
    before = _db_state(c)
    with pytest.raises(PermissionDenied):
        make_customer(org.consultant_hn, full_name="Khác")
    with pytest.raises(NotFound):
        _update(org.consultant_hn, c.pk)
    assert _db_state(c) == before


def test_allowed_actions(org):
    """The positive side of the matrix: each allowed role really can perform the action."""
    c = make_customer(org.consultant_hn)
    assert (
        _update(org.care_agent_hn, make_customer(org.admin, owner_id=org.care_agent_hn.pk).pk).stage
        == "customer"
    )
    assert _update(org.manager_hn, c.pk).version == 2
    assert _note(org.consultant_hn, c.pk).pk
    assert _consent(org.supervisor_hn, c.pk).pk
    assert _archive(org.manager_hn, c.pk).archived_at is not None
    assert _restore(org.admin, c.pk).archived_at is None
