"""Every write to client cards goes through these functions (ARCHITECTURE §4).

Each one validates, checks the actor's permission and scope, writes in one transaction, keeps the
search columns current and records an audit event with the before/after values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.accounts.models import Branch, Team, User
from careline.accounts.selectors import user_list_assignable
from careline.core.audit import audit_event, audit_record, diff
from careline.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from careline.core.models import AuditAction, AuditEvent
from careline.core.rowwrite import execute_all, history_row, insert_statement, update_statement
from careline.core.visibility import Action, Scope, require_action
from careline.customers.choices import (
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    ContactKind,
    ContactLabel,
    CustomerKind,
    PriceType,
    Salutation,
    Source,
    Stage,
    Tier,
)
from careline.customers.models import Consent, ContactPoint, Customer, Note, Tag
from careline.customers.search import customer_search_text
from careline.customers.selectors import (
    DUPLICATES_MAX_LIMIT,
    OBJECT_TYPE,
    customer_duplicate_groups,
    customer_duplicates_of,
    customer_visible,
)
from careline.vn import (
    InvalidPhone,
    InvalidTaxCode,
    find_ward,
    fold,
    given_name,
    normalize_name,
    normalize_phone,
    normalize_tax_code,
    province_by_code,
)
from careline.vn.text import nfc

SIMPLE_TEXT_FIELDS = {
    "job_title": 100,
    "street": 255,
    "legacy_address": 255,
    "contract_terms": 5000,
    "external_ref": 64,
}
CHOICE_FIELDS: dict[str, Any] = {
    "kind": CustomerKind,
    "salutation": Salutation,
    "tier": Tier,
    "stage": Stage,
    "source": Source,
    "price_type": PriceType,
}
EDITABLE = (
    set(SIMPLE_TEXT_FIELDS)
    | set(CHOICE_FIELDS)
    | {
        "full_name",
        "organization_id",
        "birthday",
        "lunar_birthday",
        "founded_on",
        "tax_code",
        "province",
        "ward",
        "receivable_amount",
        "receivable_due",
        "owner_id",
        "team_id",
        "branch_id",
        "phones",
        "emails",
        "tags",
    }
)


@dataclass(frozen=True)
class PhoneEntry:
    number: str
    label: str = ContactLabel.MOBILE


# --- validation ------------------------------------------------------------------------------------


def _clean_phones(raw: Any, errors: dict[str, list[str]]) -> list[PhoneEntry]:
    out: list[PhoneEntry] = []
    seen: set[str] = set()
    for item in raw or []:
        if isinstance(item, Mapping):
            number, label = (
                str(item.get("number") or item.get("value") or ""),
                str(item.get("label") or "mobile"),
            )
        elif isinstance(item, PhoneEntry):
            number, label = item.number, item.label
        else:
            number, label = str(item), ContactLabel.MOBILE
        if not number.strip():
            continue
        if label not in ContactLabel.values:
            errors.setdefault("phones", []).append(_("Unknown phone label “%(label)s”.") % {"label": label})
            continue
        try:
            e164 = normalize_phone(number)
        except InvalidPhone:
            errors.setdefault("phones", []).append(
                _("“%(value)s” is not a valid phone number.") % {"value": number.strip()}
            )
            continue
        if e164 not in seen:
            seen.add(e164)
            out.append(PhoneEntry(e164, label))
    return out


def _clean_emails(raw: Any, errors: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for item in raw or []:
        value = str(item.get("value") if isinstance(item, Mapping) else item).strip().lower()
        if not value:
            continue
        try:
            validate_email(value)
        except DjangoValidationError:
            errors.setdefault("emails", []).append(
                _("“%(value)s” is not a valid email address.") % {"value": value}
            )
            continue
        if value not in out:
            out.append(value)
    return out


def _clean_tags(raw: Any) -> list[str]:
    out: list[str] = []
    folded: set[str] = set()
    for item in raw or []:
        name = " ".join(nfc(str(item)).split())[:50]
        if name and fold(name) not in folded:
            folded.add(fold(name))
            out.append(name)
    return out


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    from careline.vn import InvalidDate, parse_date

    try:
        return parse_date(str(value))
    except InvalidDate:
        errors.setdefault(field, []).append(_("Enter a date as dd/mm/yyyy."))
        return None


def _validated(
    *, actor: User, data: Mapping[str, Any], current: Customer | None
) -> tuple[dict[str, Any], list[PhoneEntry] | None, list[str] | None, list[str] | None]:
    """Check and normalise the given fields. Returns (model field values, phones, emails, tags)."""
    unknown = set(data) - EDITABLE
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    if "full_name" in data:
        name = normalize_name(str(data["full_name"] or ""))
        if not name:
            errors["full_name"] = [_("Enter the full name.")]
        elif len(name) > 200:
            errors["full_name"] = [_("At most 200 characters.")]
        values["full_name"] = name
    elif current is None:
        errors["full_name"] = [_("Enter the full name.")]

    for field, enum in CHOICE_FIELDS.items():
        if field in data:
            value = data[field] if data[field] is not None else ""
            blank_ok = value == "" and bool(getattr(Customer._meta.get_field(field), "blank", False))
            if value not in enum.values and not blank_ok:
                errors[field] = [_("“%(value)s” is not a valid choice.") % {"value": value}]
            values[field] = value

    for field, max_len in SIMPLE_TEXT_FIELDS.items():
        if field in data:
            text = nfc(str(data[field] or "")).strip()
            if len(text) > max_len:
                errors[field] = [_("At most %(n)d characters.") % {"n": max_len}]
            values[field] = text

    for field in ("birthday", "founded_on", "receivable_due"):
        if field in data:
            values[field] = _date(data[field], field, errors)
    today = timezone.localdate()
    if values.get("birthday") and values["birthday"] > today:
        errors["birthday"] = [_("The birthday cannot be in the future.")]
    if values.get("birthday") and values["birthday"].year < 1900:
        errors["birthday"] = [_("Check the year of birth.")]

    if "lunar_birthday" in data:
        values["lunar_birthday"] = bool(data["lunar_birthday"])

    if "tax_code" in data:
        raw_tax = str(data["tax_code"] or "").strip()
        if raw_tax:
            try:
                values["tax_code"] = normalize_tax_code(raw_tax)
            except InvalidTaxCode:
                errors["tax_code"] = [_("“%(value)s” is not a valid tax code (MST).") % {"value": raw_tax}]
        else:
            values["tax_code"] = ""

    if "province" in data:
        code = str(data["province"] or "").strip()
        if code and province_by_code(code) is None:
            errors["province"] = [_("Unknown province code “%(value)s”.") % {"value": code}]
        values["province"] = code
    if "ward" in data or "province" in data:
        # The ward must be one of the province's wards (2025 list); stored by its full name.
        province = values.get("province", current.province if current else "")
        current_ward = current.ward if current else ""
        ward_text = str(data["ward"] or "").strip() if "ward" in data else current_ward
        if ward_text:
            ward = find_ward(province, ward_text) if province else None
            if not province:
                errors["ward"] = [_("Choose the province first.")]
            elif ward is None:
                errors["ward"] = [
                    _("“%(value)s” is not a ward or commune of this province.") % {"value": ward_text}
                ]
            else:
                values["ward"] = ward.name
        elif "ward" in data:
            values["ward"] = ""

    if "receivable_amount" in data:
        try:
            amount = int(data["receivable_amount"] or 0)
        except (TypeError, ValueError):
            errors["receivable_amount"] = [_("Enter a whole number of đồng.")]
        else:
            if abs(amount) > 10**15:
                errors["receivable_amount"] = [_("Receivables are out of range.")]
            values["receivable_amount"] = amount

    kind = values.get("kind", current.kind if current else CustomerKind.PERSON)
    if "organization_id" in data:
        org_id = data["organization_id"]
        if org_id:
            org = customer_visible(actor=actor).filter(pk=org_id, kind=CustomerKind.ORGANIZATION).first()
            if org is None:
                errors["organization_id"] = [_("Choose an organisation you can see.")]
            elif current is not None and org.pk == current.pk:
                errors["organization_id"] = [_("An organisation cannot be its own contact.")]
            values["organization_id"] = org_id if org is not None else None
        else:
            values["organization_id"] = None
    if kind == CustomerKind.ORGANIZATION and values.get("organization_id"):
        errors["organization_id"] = [_("Only people can be contact persons of an organisation.")]
    if kind == CustomerKind.PERSON and values.get("founded_on"):
        errors["founded_on"] = [_("A founding date is for organisations.")]

    _validate_ownership(actor=actor, data=data, values=values, current=current, errors=errors)

    phones = _clean_phones(data["phones"], errors) if "phones" in data else None
    emails = _clean_emails(data["emails"], errors) if "emails" in data else None
    tags = _clean_tags(data["tags"]) if "tags" in data else None
    if errors:
        raise ValidationFailed(errors)
    return values, phones, emails, tags


def _validate_ownership(
    *,
    actor: User,
    data: Mapping[str, Any],
    values: dict[str, Any],
    current: Customer | None,
    errors: dict[str, list[str]],
) -> None:
    """Owner must be someone the actor may assign to; team/branch follow the owner unless given."""
    if "owner_id" in data:
        owner_id = data["owner_id"]
        if owner_id in (None, ""):
            values["owner_id"] = None
        else:
            owner = user_list_assignable(actor=actor).filter(pk=owner_id).first()
            if owner is None:
                errors["owner_id"] = [_("You cannot assign customers to this user.")]
            else:
                values["owner_id"] = owner.pk
                if "team_id" not in data:
                    values["team_id"] = owner.team_id
                if "branch_id" not in data:
                    values["branch_id"] = owner.branch_id
    scope = actor.scope_for(OBJECT_TYPE)
    if "team_id" in data:
        team = Team.objects.filter(pk=data["team_id"]).first() if data["team_id"] else None
        if data["team_id"] and team is None:
            errors["team_id"] = [_("Unknown team.")]
        elif team is not None and scope in (Scope.OWN, Scope.TEAM) and team.pk != actor.team_id:
            errors["team_id"] = [_("You can only put customers in your own team.")]
        elif team is not None and scope == Scope.BRANCH and team.branch_id != actor.branch_id:
            errors["team_id"] = [_("You can only choose teams of your branch.")]
        else:
            values["team_id"] = team.pk if team else None
            if team is not None and "branch_id" not in data:
                values["branch_id"] = team.branch_id
    if "branch_id" in data:
        branch = Branch.objects.filter(pk=data["branch_id"]).first() if data["branch_id"] else None
        if data["branch_id"] and branch is None:
            errors["branch_id"] = [_("Unknown branch.")]
        elif branch is not None and scope != Scope.ALL and branch.pk != actor.branch_id:
            errors["branch_id"] = [_("You can only choose your own branch.")]
        else:
            values["branch_id"] = branch.pk if branch else None


def _refresh_search(customer: Customer, phones: list[str], emails: list[str]) -> None:
    customer.given_name = given_name(customer.full_name)[:60]
    customer.name_folded = fold(customer.full_name)[:200]
    customer.given_folded = fold(customer.given_name)[:60]
    customer.search_text = customer_search_text(
        full_name=customer.full_name, phones=phones, emails=emails, tax_code=customer.tax_code
    )


def customer_snapshot(
    customer: Customer,
    *,
    phones: list[str] | None = None,
    emails: list[str] | None = None,
    tags: list[Tag] | None = None,
) -> dict[str, Any]:
    """The audited view of a customer: its fields plus phones, emails and tags. A caller that has just
    written the contact points and tags passes them (in their stored order) instead of reading them back."""
    data: dict[str, Any] = {f: getattr(customer, f) for f in sorted(EDITABLE - {"phones", "emails", "tags"})}
    if phones is None or emails is None:
        points = list(customer.contact_points.all())
        phones = [p.value for p in points if p.kind == ContactKind.PHONE]
        emails = [p.value for p in points if p.kind == ContactKind.EMAIL]
    data["phones"] = phones
    data["emails"] = emails
    data["tags"] = sorted(t.name for t in (customer.tags.all() if tags is None else tags))
    return data


def _guard_duplicates(
    *,
    actor: User,
    phones: list[str],
    emails: list[str],
    tax_code: str,
    exclude_id: int | None,
    allow_duplicate: bool,
) -> None:
    if allow_duplicate and actor.allows(OBJECT_TYPE, Action.OVERRIDE_DUPLICATE):
        return  # whatever the lookup finds, this actor may keep it: no need to look
    found = customer_duplicates_of(
        actor=actor, phones=phones, emails=emails, tax_code=tax_code, exclude_id=exclude_id
    )
    if not found:
        return
    if allow_duplicate:
        require_action(actor, OBJECT_TYPE, Action.OVERRIDE_DUPLICATE)
        return
    field, value, existing = found[0]
    raise Conflict(
        "duplicate",
        _("%(value)s already belongs to %(name)s.") % {"value": value, "name": existing.full_name},
        {
            "field": field,
            "value": value,
            "existing_id": existing.pk,
            "existing_name": existing.full_name,
            "existing_url": reverse("customers:detail", args=[existing.pk]),
        },
    )


def _write_contact_points(
    customer: Customer, phones: list[PhoneEntry] | None, emails: list[str] | None, *, new: bool = False
) -> None:
    """Replace the phones and/or emails given (None: keep). A `new` customer has none to delete."""
    if phones is not None:
        if not new:
            ContactPoint.objects.filter(customer=customer, kind=ContactKind.PHONE).delete()
        ContactPoint.objects.bulk_create(
            ContactPoint(customer=customer, kind=ContactKind.PHONE, value=p.number, label=p.label, position=i)
            for i, p in enumerate(phones)
        )
    if emails is not None:
        if not new:
            ContactPoint.objects.filter(customer=customer, kind=ContactKind.EMAIL).delete()
        ContactPoint.objects.bulk_create(
            ContactPoint(
                customer=customer, kind=ContactKind.EMAIL, value=e, label=ContactLabel.OTHER, position=i
            )
            for i, e in enumerate(emails)
        )


def _write_tags(customer: Customer, tags: list[str] | None) -> list[Tag] | None:
    """Set the customer's tags (None: keep them). Returns the tags set."""
    if tags is None:
        return None
    objs = []
    for name in tags:
        tag, _created = Tag.objects.get_or_create(name_folded=fold(name), defaults={"name": name})
        objs.append(tag)
    customer.tags.set(objs)
    return objs


def _ensure_in_scope(actor: User, customer_id: int) -> None:
    """NetBox-style re-check: after a write the record must still be visible to its writer (certain,
    without a query, for an active actor who sees every customer)."""
    if (
        actor.is_active
        and actor.scope_for(OBJECT_TYPE) == Scope.ALL
        and actor.allows(OBJECT_TYPE, Action.VIEW)
    ):
        return
    if not customer_visible(actor=actor).filter(pk=customer_id).exists():
        raise PermissionDenied(_("You cannot move a customer outside what you can see."))


# --- services --------------------------------------------------------------------------------------


def customer_build(
    *, actor: User, data: Mapping[str, Any]
) -> tuple[Customer, list[PhoneEntry], list[str], list[str] | None]:
    """A new customer checked and normalised exactly as `customer_create` stores it, not saved: (customer,
    phones, emails, tags). No owner defaults, no duplicate check, no write."""
    values, phones, emails, tags = _validated(actor=actor, data=data, current=None)
    customer = Customer(created_by=actor, **values)
    phones = phones or []
    emails = emails or []
    _refresh_search(customer, [p.number for p in phones], emails)
    # The one check constraint (receivables range) is validated by _validated above, and the database
    # guards it: no need for full_clean's query.
    customer.full_clean(
        exclude=["organization", "owner", "team", "branch", "created_by"], validate_constraints=False
    )
    return customer, phones, emails, tags


def customer_insert_statements(
    customer: Customer, phones: list[PhoneEntry], emails: list[str], *, actor: User, when: dt.datetime
) -> tuple[list[tuple[str, list[Any]]], AuditEvent]:
    """The rows of a new customer without tags, for a service that writes them together with its own in
    one round trip (`core.rowwrite`): the customer (its id reserved), its phones and emails, its
    simple-history row; and its CREATE audit event (not saved: the caller writes it with its own).
    What `customer_create` writes, minus the checks the caller has made."""
    statements = [insert_statement(customer)]
    points = [
        ContactPoint(customer=customer, kind=ContactKind.PHONE, value=p.number, label=p.label, position=i)
        for i, p in enumerate(phones)
    ] + [
        ContactPoint(customer=customer, kind=ContactKind.EMAIL, value=e, label=ContactLabel.OTHER, position=i)
        for i, e in enumerate(emails)
    ]
    statements += [insert_statement(p) for p in points]
    statements.append(insert_statement(history_row(customer, history_type="+", when=when)))
    snapshot = customer_snapshot(customer, phones=[p.number for p in phones], emails=emails, tags=[])
    event = audit_event(actor=actor, action=AuditAction.CREATE, obj=customer, changes=diff({}, snapshot))
    return statements, event


@transaction.atomic
def customer_create(*, actor: User, data: Mapping[str, Any], allow_duplicate: bool = False) -> Customer:
    """Create a client card. Owner defaults to the actor (team and branch follow the owner)."""
    require_action(actor, OBJECT_TYPE, Action.ADD)
    data = dict(data)
    if "owner_id" not in data and "team_id" not in data:
        data["owner_id"] = actor.pk
    elif not data.get("owner_id") and "team_id" not in data and "branch_id" not in data:
        # Unassigned: it waits in the creator's team queue (or branch), where the creator can see it.
        if actor.team_id:
            data["team_id"] = actor.team_id
        elif actor.branch_id:
            data["branch_id"] = actor.branch_id
    customer, phones, emails, tags = customer_build(actor=actor, data=data)
    _guard_duplicates(
        actor=actor,
        phones=[p.number for p in phones],
        emails=emails,
        tax_code=customer.tax_code,
        exclude_id=None,
        allow_duplicate=allow_duplicate,
    )
    customer.save()
    _write_contact_points(customer, phones, emails, new=True)
    tag_objs = _write_tags(customer, tags)
    _ensure_in_scope(actor, customer.pk)
    snapshot = customer_snapshot(
        customer, phones=[p.number for p in phones], emails=emails, tags=tag_objs or []
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=customer, changes=diff({}, snapshot))
    return customer


def _locked_for_write(actor: User, customer_id: int, action: str) -> Customer:
    customer = customer_visible(actor=actor).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    require_action(actor, OBJECT_TYPE, action)
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: User,
    customer_id: int,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    allow_duplicate: bool = False,
) -> Customer:
    """Change some fields of a customer. A stale `expected_version` is refused (412)."""
    customer = _locked_for_write(actor, customer_id, Action.CHANGE)
    if expected_version is not None and expected_version != customer.version:
        raise PreconditionFailed(customer.version)
    if customer.is_archived:
        raise ApplicationError("archived", _("Restore this customer before editing it."), status=409)
    before = customer_snapshot(customer)
    values, phones, emails, tags = _validated(actor=actor, data=data, current=customer)
    new_phones = [p.number for p in phones] if phones is not None else before["phones"]
    new_emails = emails if emails is not None else before["emails"]
    added_phones = [p for p in new_phones if p not in before["phones"]]
    added_emails = [e for e in new_emails if e not in before["emails"]]
    new_tax = values.get("tax_code", customer.tax_code)
    _guard_duplicates(
        actor=actor,
        phones=added_phones,
        emails=added_emails,
        tax_code=new_tax if new_tax != customer.tax_code else "",
        exclude_id=customer.pk,
        allow_duplicate=allow_duplicate,
    )
    for field, value in values.items():
        setattr(customer, field, value)
    _refresh_search(customer, new_phones, new_emails)
    customer.version += 1
    customer.full_clean(exclude=["organization", "owner", "team", "branch", "created_by"])
    customer.save()
    _write_contact_points(customer, phones, emails)
    _write_tags(customer, tags)
    _ensure_in_scope(actor, customer.pk)
    changes = diff(before, customer_snapshot(customer))
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=customer, changes=changes)
    return customer


OWNERSHIP_FIELDS = ("owner_id", "team_id", "branch_id")


def customer_assign_owner(
    *,
    actor: User,
    customer_id: int,
    owner: User | None,
    team_id: int | None,
    branch_id: int | None,
    reason: str = "",
    locked: Customer | None = None,
    audit: bool = True,
) -> tuple[Customer, dict[str, dict[str, Any]]]:
    """Give a customer to a consultant (or back to a team queue with owner None): lead allocation,
    reclaim and supervisors' manual assignment. The caller (sales services) checks who may assign.

    `locked`: the customer's row as the caller already holds it `SELECT … FOR UPDATE` in this transaction
    (saves reading it again). Only owner, team and branch change, so only they are compared: one UPDATE,
    one history row (simple-history, with `reason`) and one audit event — or, with `audit=False`, the
    changes returned for the caller to record with its own events. Returns (customer, changes).

    Joins the caller's transaction without a savepoint: nothing here is worth retrying on its own."""
    with transaction.atomic(savepoint=False):
        customer = locked if locked is not None else customer_lock_for_owner(customer_id)
        statements, changes = customer_owner_statements(
            customer, owner=owner, team_id=team_id, branch_id=branch_id, reason=reason
        )
        execute_all(statements)
        if audit:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=customer, changes=changes)
    return customer, changes


def customer_lock_for_owner(customer_id: int) -> Customer:
    """The customer's row, locked (NO KEY UPDATE: only owner, team and branch will change) for
    `customer_owner_statements`."""
    customer = Customer.objects.select_for_update(no_key=True).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def customer_owner_statements(
    customer: Customer,
    *,
    owner: User | None,
    team_id: int | None,
    branch_id: int | None,
    reason: str = "",
    when: dt.datetime | None = None,
) -> tuple[list[tuple[str, list[Any]]], dict[str, dict[str, Any]]]:
    """`customer_assign_owner`'s writes as statements for a caller's round trip (`core.rowwrite`): the
    UPDATE of owner, team, branch and version, and the simple-history row with `reason`; `customer` (a
    row the caller holds locked) is changed in memory. Returns (statements, changes)."""
    before = {f: getattr(customer, f) for f in OWNERSHIP_FIELDS}
    customer.owner = owner
    customer.team_id = team_id if team_id is not None else (owner.team_id if owner else customer.team_id)
    customer.branch_id = (
        branch_id if branch_id is not None else (owner.branch_id if owner else customer.branch_id)
    )
    customer.version += 1
    statements = [update_statement(customer, ("owner", "team", "branch", "version", "updated_at"))]
    history = history_row(customer, history_type="~", when=when or timezone.now(), reason=reason[:100])
    statements.append(insert_statement(history))
    return statements, diff(before, {f: getattr(customer, f) for f in OWNERSHIP_FIELDS})


def customers_assign_owner_bulk(*, rows: list[tuple[int, int | None, int | None, int | None]]) -> int:
    """Set (owner, team, branch) of many customers in one statement: the bulk path of lead allocation.
    `rows` are (customer_id, owner_id, team_id, branch_id). The caller records the assignment log and one
    audit event for the batch (row-level history is the assignment log, not simple-history).

    PostgreSQL: UPDATE … FROM unnest() of four arrays sent as text literals (building and parsing
    '{1,2,…}' costs a fraction of adapting a Python list value by value)."""
    from django.db import connection

    if not rows:
        return 0
    table = Customer._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            columns = list(zip(*rows, strict=True))
            cur.execute(
                f"UPDATE {table} AS c SET owner_id = v.owner_id, team_id = v.team_id, branch_id = v.branch_id,"
                " version = c.version + 1, updated_at = now()"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
                " AS v(id, owner_id, team_id, branch_id) WHERE c.id = v.id",
                ["{" + ",".join("NULL" if v is None else str(v) for v in col) + "}" for col in columns],
            )
        else:
            now = timezone.now()
            cur.executemany(
                f"UPDATE {table} SET owner_id = %s, team_id = %s, branch_id = %s, version = version + 1,"
                " updated_at = %s WHERE id = %s",
                [(r[1], r[2], r[3], now, r[0]) for r in rows],
            )
    return len(rows)


@transaction.atomic
def customer_archive(*, actor: User, customer_id: int) -> Customer:
    """Archive (soft-delete) a customer: hidden from lists, restorable."""
    customer = _locked_for_write(actor, customer_id, Action.DELETE)
    if customer.is_archived:
        return customer
    customer.archived_at = timezone.now()
    customer.version += 1
    customer.save(update_fields=["archived_at", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.ARCHIVE,
        obj=customer,
        changes={"archived_at": {"before": None, "after": customer.archived_at.isoformat()}},
    )
    return customer


@transaction.atomic
def customer_restore(*, actor: User, customer_id: int) -> Customer:
    customer = _locked_for_write(actor, customer_id, Action.DELETE)
    if not customer.is_archived:
        return customer
    before = customer.archived_at
    customer.archived_at = None
    customer.version += 1
    customer.save(update_fields=["archived_at", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.RESTORE,
        obj=customer,
        changes={"archived_at": {"before": before.isoformat() if before else None, "after": None}},
    )
    return customer


@transaction.atomic
def customer_note_add(*, actor: User, customer_id: int, body: str) -> Note:
    customer = _locked_for_write(actor, customer_id, Action.CHANGE)
    text = nfc(body or "").strip()
    if not text:
        raise ValidationFailed({"body": [_("Write something first.")]})
    if len(text) > 10_000:
        raise ValidationFailed({"body": [_("At most 10,000 characters.")]})
    note = Note.objects.create(customer=customer, author=actor, body=text)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=customer,
        changes={"note": {"before": None, "after": text[:500]}},
    )
    return note


@transaction.atomic
def customer_consent_record(
    *,
    actor: User,
    customer_id: int,
    purpose: str,
    status: str,
    method: str,
    evidence: str = "",
    given_at: dt.datetime | None = None,
) -> Consent:
    """Append a consent decision (granted/withdrawn) for one purpose, with how and when it was given."""
    customer = _locked_for_write(actor, customer_id, Action.CHANGE)
    errors: dict[str, list[str]] = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = [_("Unknown purpose.")]
    if status not in ConsentStatus.values:
        errors["status"] = [_("Unknown status.")]
    if method not in ConsentMethod.values:
        errors["method"] = [_("Say how the consent was given.")]
    when = given_at or timezone.now()
    if when > timezone.now() + dt.timedelta(minutes=5):
        errors["given_at"] = [_("The time cannot be in the future.")]
    if errors:
        raise ValidationFailed(errors)
    consent = Consent.objects.create(
        customer=customer,
        purpose=purpose,
        status=status,
        method=method,
        evidence=nfc(evidence).strip()[:255],
        given_at=when,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=customer,
        changes={f"consent.{purpose}": {"before": None, "after": f"{status} ({method})"}},
    )
    return consent


# --- merge ---------------------------------------------------------------------------------------------

# The simple fields a merge chooses one side of, in the order the merge page shows them.
MERGE_FIELDS = (
    "full_name",
    "kind",
    "salutation",
    "birthday",
    "lunar_birthday",
    "founded_on",
    "tax_code",
    "province",
    "ward",
    "street",
    "legacy_address",
    "organization_id",
    "job_title",
    "tier",
    "stage",
    "source",
    "owner_id",
    "price_type",
    "contract_terms",
    "receivable_amount",
    "receivable_due",
    "external_ref",
)
SURVIVOR, OTHER = "survivor", "other"


def _is_empty(field: str, value: Any) -> bool:
    return value in (None, "") or (field == "receivable_amount" and value == 0)


def customer_merge_defaults(
    survivor: Customer, other: Customer, explicit: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Which side each field of a merge takes when the user does not say: the survivor's value, or the
    other's when the survivor's is empty. Fields that depend on each other stay consistent: the ward
    follows the province, a founding date is only taken for an organisation and an organisation only for
    a person. `explicit` choices are kept as given."""
    explicit = dict(explicit or {})
    choice: dict[str, str] = {}
    for field in MERGE_FIELDS:
        if field in explicit:
            choice[field] = explicit[field]
            continue
        mine, theirs = getattr(survivor, field), getattr(other, field)
        choice[field] = OTHER if _is_empty(field, mine) and not _is_empty(field, theirs) else SURVIVOR

    def final(field: str) -> Any:
        return getattr(survivor if choice[field] == SURVIVOR else other, field)

    if "ward" not in explicit and survivor.province != other.province:
        choice["ward"] = choice["province"]
    if "founded_on" not in explicit and final("kind") == CustomerKind.PERSON:
        choice["founded_on"] = SURVIVOR
    if "organization_id" not in explicit and (
        final("kind") == CustomerKind.ORGANIZATION or other.organization_id == survivor.pk
    ):
        choice["organization_id"] = SURVIVOR
    return choice


def _merge_choices(survivor: Customer, other: Customer, fields: Mapping[str, str] | None) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    for name, side in (fields or {}).items():
        if name not in MERGE_FIELDS:
            errors[name] = [_("This field cannot be chosen in a merge.")]
        elif side not in (SURVIVOR, OTHER):
            errors[name] = [_("Choose “survivor” or “other”.")]
    if errors:
        raise ValidationFailed(errors)
    return customer_merge_defaults(survivor, other, fields)


def _move_related(*, other: Customer, survivor: Customer) -> dict[str, int]:
    """Point every record that belongs to `other` at `survivor` (notes, consents, contact persons and
    whatever later apps link to customers). Contact points are merged by the caller; the history model
    and the merge chain itself (`merged_from`) stay as they are."""
    history_model = Customer.history.model  # type: ignore[attr-defined]
    moved: dict[str, int] = {}
    for rel in Customer._meta.related_objects:
        accessor = rel.get_accessor_name() or ""
        if rel.related_model is history_model or accessor in ("contact_points", "merged_from"):
            continue
        if rel.many_to_many:
            manager = getattr(other, accessor)
            items = list(manager.all())
            getattr(survivor, accessor).add(*items)
            manager.clear()
            moved[accessor] = len(items)
            continue
        model: Any = rel.related_model
        name = rel.field.name
        qs = model._base_manager.filter(**{name: other})
        if model is Customer:
            qs = qs.exclude(pk=survivor.pk)
        if rel.one_to_one and model._base_manager.filter(**{name: survivor}).exists():
            continue  # the survivor has its own; the other's stays with the archived card
        moved[accessor] = qs.update(**{name: survivor})
    return moved


def _merge_contact_points(*, survivor: Customer, other: Customer) -> tuple[list[str], list[str]]:
    """Keep every phone and email: the survivor's first, then the other's new ones (labels kept)."""
    mine = list(ContactPoint.objects.filter(customer=survivor).order_by("kind", "position", "id"))
    theirs = list(ContactPoint.objects.filter(customer=other).order_by("kind", "position", "id"))
    seen = {(p.kind, p.value) for p in mine}
    position = {
        kind: max((p.position for p in mine if p.kind == kind), default=-1) + 1 for kind in ContactKind.values
    }
    new: list[ContactPoint] = []
    for p in theirs:
        if (p.kind, p.value) in seen:
            continue
        seen.add((p.kind, p.value))
        new.append(
            ContactPoint(
                customer=survivor, kind=p.kind, value=p.value, label=p.label, position=position[p.kind]
            )
        )
        position[p.kind] += 1
    ContactPoint.objects.filter(customer=other).delete()
    ContactPoint.objects.bulk_create(new)
    points = mine + new
    return (
        [p.value for p in points if p.kind == ContactKind.PHONE],
        [p.value for p in points if p.kind == ContactKind.EMAIL],
    )


@transaction.atomic
def customer_merge(
    *, actor: User, survivor_id: int, other_id: int, fields: Mapping[str, str] | None = None
) -> Customer:
    """Merge customer `other_id` into `survivor_id` and return the survivor.

    `fields` maps simple fields (see MERGE_FIELDS) to "survivor" or "other"; unnamed fields keep the
    survivor's value, or take the other's when the survivor's is empty. Every phone, email and tag is kept,
    every related record (notes, consents, contact persons…) moves to the survivor, the other card is
    archived with `merged_into` set, and both cards get a "merge" audit event.
    """
    locked = {
        c.pk: c
        for c in customer_visible(actor=actor)
        .select_for_update()
        .filter(pk__in=sorted({survivor_id, other_id}))
        .order_by("pk")
    }
    survivor = locked.get(survivor_id)
    if survivor is None:
        raise NotFound(_("Customer not found."))
    require_action(actor, OBJECT_TYPE, Action.MERGE)
    if other_id == survivor_id:
        raise Conflict("same_customer", _("A customer cannot be merged with itself."), {"field": "other_id"})
    other = locked.get(other_id)
    if other is None:
        raise NotFound(_("Customer not found."), {"field": "other_id"})
    if survivor.is_archived or other.is_archived:
        raise Conflict(
            "archived",
            _("Restore archived customers before merging them."),
            {"archived_ids": [c.pk for c in (survivor, other) if c.is_archived]},
        )
    choice = _merge_choices(survivor, other, fields)
    before = customer_snapshot(survivor)
    merged_customer = customer_snapshot(other)
    data = {
        f: getattr(other, f)
        for f in MERGE_FIELDS
        if choice[f] == OTHER and getattr(other, f) != getattr(survivor, f)
    }
    values = _validated(actor=actor, data=data, current=survivor)[0] if data else {}

    _move_related(other=other, survivor=survivor)
    phones, emails = _merge_contact_points(survivor=survivor, other=other)
    survivor.tags.add(*other.tags.all())
    for field, value in values.items():
        setattr(survivor, field, value)
    if survivor.organization_id in (survivor.pk, other.pk):
        survivor.organization_id = None  # it was a contact person of the card merged into it
    _refresh_search(survivor, phones, emails)
    survivor.version += 1
    survivor.full_clean(exclude=["organization", "owner", "team", "branch", "created_by", "merged_into"])
    survivor.save()

    archived_at = timezone.now()
    other.merged_into = survivor
    other.archived_at = archived_at
    other.version += 1
    _refresh_search(other, [], [])
    other.save()
    _ensure_in_scope(actor, survivor.pk)

    changes: dict[str, Any] = diff(before, customer_snapshot(survivor))
    changes["merged_from"] = {"before": None, "after": other.pk}
    changes["merged_customer"] = merged_customer
    audit_record(actor=actor, action=AuditAction.MERGE, obj=survivor, changes=changes)
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        obj=other,
        changes={
            "merged_into": {"before": None, "after": survivor.pk},
            "archived_at": {"before": None, "after": archived_at.isoformat()},
        },
    )
    return survivor


def customer_merge_exact_all(*, actor: User) -> int:
    """Admins: merge every exact duplicate group (same phone, email or tax code) the actor sees into its
    oldest member, with the default field choices. One transaction per group; a group that cannot be
    merged (a rule refuses it) is skipped. Returns how many customers were merged away."""
    require_action(actor, OBJECT_TYPE, Action.OVERRIDE_DUPLICATE)
    require_action(actor, OBJECT_TYPE, Action.MERGE)
    merged = 0
    failed: set[str] = set()
    while True:
        groups = [
            g
            for g in customer_duplicate_groups(actor=actor, kind="exact", limit=DUPLICATES_MAX_LIMIT)
            if g.key not in failed
        ]
        progress = 0
        gone: set[int] = set()
        for group in groups:
            ids = [pk for pk in group.customer_ids if pk not in gone]
            if len(ids) < 2:
                continue
            survivor_id, others = ids[0], ids[1:]
            try:
                with transaction.atomic():
                    for other_id in others:
                        customer_merge(actor=actor, survivor_id=survivor_id, other_id=other_id)
            except ApplicationError:
                failed.add(group.key)
                continue
            gone.update(others)
            merged += len(others)
            progress += 1
        if progress == 0:
            return merged


def customer_reindex(*, id_from: int, id_to: int) -> int:
    """Recompute the search/sort columns of customers with id in [id_from, id_to] (idempotent).

    Run after a change to folding or to the search-token layout (see docs/adr/0001). Returns rows updated.
    """
    customers = list(
        Customer.objects.filter(pk__gte=id_from, pk__lte=id_to)
        .prefetch_related("contact_points")
        .order_by("pk")
    )
    for customer in customers:
        points = list(customer.contact_points.all())
        _refresh_search(
            customer,
            [p.value for p in points if p.kind == ContactKind.PHONE],
            [p.value for p in points if p.kind == ContactKind.EMAIL],
        )
    Customer.objects.bulk_update(
        customers, ["given_name", "name_folded", "given_folded", "search_text"], batch_size=1000
    )
    return len(customers)
