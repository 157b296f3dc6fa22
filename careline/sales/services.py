"""Lead intake and allocation — every write of the sales app.

* `inquiry_receive` — one inquiry from any channel (API, web form, email, hotline, signed webhooks):
  de-duplicated by (channel, external id), attached to the customer who already has that phone/email (and
  handed to that customer's owner), or creating a customer in stage `lead`; then allocated.
* `inquiry_allocate` / `leads_allocate_queued` — the allocation rules (see `sales.allocation`), one lead at a
  time under the rule's row lock, or the whole queue in batches (the bulk path).
* `inquiry_assign` / `inquiries_assign` — a supervisor's manual assignment, `inquiry_reclaim` and
  `leads_reclaim_overdue` — "thu hồi": no activity within the rule's time → back to the queue, re-allocated
  to someone else, the previous owner told why.
Every assignment and reclaim is an `Assignment` row (who, why, which rule) and an audit event.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from careline.accounts.models import Notification, User
from careline.accounts.services import notification_build, notification_send, system_user
from careline.core.audit import audit_event, audit_record
from careline.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditAction, AuditEvent
from careline.core.rowwrite import column, execute_all, insert_statement, reserve_ids, update_statement
from careline.core.visibility import Action, require_action
from careline.customers import selectors as customer_selectors
from careline.customers import services as customer_services
from careline.customers.choices import (
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    ContactKind,
    Source,
    Stage,
)
from careline.customers.models import ContactPoint, Customer
from careline.sales.allocation import Rotation, Slot
from careline.sales.choices import AssignmentReason, Channel, InquiryStatus, Strategy
from careline.sales.models import (
    Absence,
    AllocationMember,
    AllocationRule,
    Assignment,
    Inquiry,
    OpenLeadCount,
)
from careline.vn import PROVINCES, InvalidPhone, find_province, fold, normalize_phone, province_by_code
from careline.vn.holidays import WorkCalendar

OBJECT_TYPE = "inquiry"
# Open leads (what capacity caps): these statuses, customer in stage lead. Counted by `sales.open_leads`.
OPEN_STATUSES = (InquiryStatus.ASSIGNED, InquiryStatus.CONTACTED)
CALENDAR = WorkCalendar()

# Transparent lead score (0–100): how promptly a lead should be contacted. Shown on the lead.
CHANNEL_SCORE: dict[str, int] = {
    Channel.HOTLINE: 30,
    Channel.WEB: 25,
    Channel.ZALO: 20,
    Channel.FACEBOOK: 20,
    Channel.EMAIL: 20,
    Channel.MARKETPLACE: 15,
    Channel.API: 10,
}


@dataclass
class InquiryData:
    """An inquiry as a channel delivers it (already parsed from the form/JSON/email/webhook)."""

    channel: str
    full_name: str = ""
    phone: str = ""
    email: str = ""
    message: str = ""
    external_id: str = ""
    product_interest: str = ""
    language: str = "vi"
    province: str = ""
    consent: bool = False
    consent_evidence: str = ""
    received_at: dt.datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    branch_id: int | None = None
    team_id: int | None = None
    web_form_id: int | None = None
    connector_id: int | None = None
    mailbox_id: int | None = None


@dataclass(frozen=True)
class InquiryResult:
    inquiry: Inquiry
    created: bool


def inquiry_score(data: InquiryData) -> int:
    score = CHANNEL_SCORE.get(data.channel, 10)
    score += 20 if data.phone else 0
    score += 10 if data.email else 0
    score += 10 if len(data.message.strip()) >= 20 else 0
    score += 10 if data.product_interest else 0
    score += 10 if data.consent else 0
    return min(score, 100)


def _clean(data: InquiryData) -> InquiryData:
    errors: dict[str, list[str]] = {}
    if data.channel not in Channel.values:
        errors.setdefault("channel", []).append(
            _("Unknown channel. Use one of: %(values)s.") % {"values": ", ".join(Channel.values)}
        )
    phone = ""
    if data.phone and data.phone.strip():
        try:
            phone = normalize_phone(data.phone)
        except InvalidPhone:
            errors.setdefault("phone", []).append(_("This is not a valid phone number."))
    email = (data.email or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors.setdefault("email", []).append(_("This is not a valid email address."))
    if not phone and not email and "phone" not in errors and "email" not in errors:
        errors.setdefault("phone", []).append(_("Give a phone number or an email address."))
    if data.province:
        found = province_by_code(data.province) or find_province(data.province)
        if found is None:
            errors.setdefault("province", []).append(
                _("Unknown province (use the 2025 code, e.g. 01, or a name).")
            )
        else:
            data.province = found.code
    if len(data.external_id) > 200:
        errors.setdefault("external_id", []).append(_("At most 200 characters."))
    if errors:
        raise ValidationFailed(errors)
    data.phone = phone
    data.email = email
    data.full_name = " ".join((data.full_name or "").split())[:200]
    data.message = (data.message or "")[:20000]
    data.product_interest = (data.product_interest or "").strip()[:120]
    data.language = (data.language or "vi").strip().lower()[:5] or "vi"
    return data


def _existing(data: InquiryData) -> Inquiry | None:
    if not data.external_id:
        return None
    return Inquiry.objects.filter(channel=data.channel, external_id=data.external_id).first()


def _source_for(channel: str) -> str:
    return channel if channel in Source.values else Source.OTHER


def inquiry_receive(*, actor: User | None, data: InquiryData, allocate: bool = True) -> InquiryResult:
    """Take in one inquiry. The same (channel, external id) again returns the first one (created=False).

    `actor` is the signed-in user for the API and the web UI, None for public channels (web forms,
    webhooks, mailboxes): those act as the system user."""
    if actor is not None:
        require_action(actor, OBJECT_TYPE, Action.ADD)
    data = _clean(data)
    existing = _existing(data)
    if existing is not None:
        return InquiryResult(existing, False)
    failure: Exception | None = None
    try:
        # One transaction (one commit) for the intake and the allocation. The allocation runs in a
        # savepoint: if it fails, the lead is still taken in (queued) and the error raised after the commit.
        with transaction.atomic():
            lead = _receive_new_lead(actor=actor, data=data) if allocate else None
            if lead is not None:
                inquiry = lead
            else:
                inquiry, customer_locked = _receive(actor=actor, data=data)
                if allocate and inquiry.status == InquiryStatus.QUEUED:
                    try:
                        with transaction.atomic():
                            _allocate(inquiry, now=timezone.now(), customer_locked=customer_locked)
                    except Exception as exc:  # noqa: BLE001 — re-raised below, once the intake is committed
                        failure = exc
    except IntegrityError:
        # A concurrent delivery of the same event won the race: answer with its inquiry.
        existing = _existing(data)
        if existing is None:
            raise
        return InquiryResult(existing, False)
    if failure is not None:
        raise failure
    return InquiryResult(inquiry, True)


def _lead_customer_data(data: InquiryData) -> dict[str, Any]:
    """The card of a new person who asked: a lead, named (or else known by phone/email), from the channel."""
    return {
        "kind": "person",
        "full_name": data.full_name or data.phone or data.email,
        "phones": [data.phone] if data.phone else [],
        "emails": [data.email] if data.email else [],
        "province": data.province,
        "stage": Stage.LEAD,
        "source": _source_for(data.channel),
    }


def _intake_event(inquiry: Inquiry, actor: User) -> AuditEvent:
    """The audit event of an inquiry taken in, not saved."""
    return audit_event(
        actor=actor,
        action=AuditAction.CREATE,
        obj=inquiry,
        changes={"channel": [None, inquiry.channel], "customer": [None, inquiry.customer_id]},
    )


def _inquiry_of(data: InquiryData, *, customer: Customer, actor: User | None, new_customer: bool) -> Inquiry:
    """The new inquiry (not saved, checked), as it is taken in: queued, nobody's yet."""
    inquiry = Inquiry(
        customer=customer,
        channel=data.channel,
        external_id=data.external_id,
        received_at=data.received_at or timezone.now(),
        full_name=data.full_name,
        phone=data.phone,
        email=data.email,
        message=data.message,
        product_interest=data.product_interest,
        language=data.language,
        province=data.province or customer.province,
        consent=data.consent,
        payload=dict(data.payload),
        score=inquiry_score(data),
        new_customer=new_customer,
        team_id=data.team_id,
        branch_id=data.branch_id,
        web_form_id=data.web_form_id,
        connector_id=data.connector_id,
        mailbox_id=data.mailbox_id,
        created_by=actor,
    )
    # The one constraint, (channel, external id) unique, is the database's to guard: a concurrent
    # duplicate raises IntegrityError, which inquiry_receive answers with the first inquiry.
    inquiry.full_clean(
        exclude=["customer", "owner", "team", "branch", "rule", "created_by"], validate_constraints=False
    )
    return inquiry


@functools.cache
def _contact_sql(alias: str) -> str:
    qn = connections[alias].ops.quote_name
    point = ContactPoint._meta
    kind, value = qn(column(point.get_field("kind"))), qn(column(point.get_field("value")))
    return (
        f"SELECT 1 FROM {qn(point.db_table)} WHERE ({kind} = %s AND {value} = %s)"
        f" OR ({kind} = %s AND {value} = %s) LIMIT 1"
    )


def _receive_new_lead(*, actor: User | None, data: InquiryData) -> Inquiry | None:
    """The common case of intake, a new person whom a rule gives to someone now, decided first and then
    written at once: the customer is created with its owner (one history row, not "created" then
    "assigned"), the inquiry assigned, and every row — customer, phones, emails, history, inquiry,
    assignment, three audit events, the consultant's notice, the rule's rotation and the member's count —
    goes to the database in one round trip (`core.rowwrite`). The same rows as `_receive` + `_allocate`
    (tests compare them), in 4 round trips instead of 22.

    None, having written nothing, when it does not apply: the phone or email is already a customer's
    (their owner takes it), consent is to be recorded, no rule matches or nobody is available (queued)."""
    if data.consent:
        return None
    system = system_user()
    with connection.cursor() as cur:
        cur.execute(
            _contact_sql(connection.alias),
            [ContactKind.PHONE, data.phone or None, ContactKind.EMAIL, data.email or None],
        )
        if cur.fetchone() is not None:
            return None
    customer, phones, emails, _tags = customer_services.customer_build(
        actor=system,
        data=_lead_customer_data(data),
    )
    inquiry = _inquiry_of(data, customer=customer, actor=actor, new_customer=True)
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: a failed pick must leave the intake possible
            picked = _pick(inquiry, now=now)
    except Exception:  # noqa: BLE001 — the general path takes the lead in, tries again and reports it
        return None
    if picked is None:
        return None
    rule, rotation, members, slot = picked
    if slot is None:
        return None
    member = members[slot.key]
    owner = member.user()
    # A matched rule's team and branch are the inquiry's (when it names them), so those ids exist.
    customer.pk, inquiry.pk = reserve_ids(Customer, Inquiry)
    customer.owner_id, customer.team_id, customer.branch_id = owner.pk, owner.team_id, owner.branch_id
    inquiry.customer = customer
    _give(inquiry, owner, rule=rule, now=now)
    statements, customer_event = customer_services.customer_insert_statements(
        customer, phones, emails, actor=system, when=now
    )
    assignment, assign_event = _assignment_rows(
        inquiry,
        None,
        owner,
        reason=AssignmentReason.RULE,
        rule=rule,
        actor=None,
        by=system,
        note=rule.name,
        now=now,
    )
    rows: list[Any] = [
        inquiry,
        assignment,
        customer_event,
        _intake_event(inquiry, actor or system),
        assign_event,
    ]
    notice = _notice_assigned(inquiry, owner)
    if notice is not None:
        rows.append(notice)
    statements += [insert_statement(row) for row in rows]
    statements += _advance_statements(rule, rotation, member, now)
    execute_all(statements)
    return inquiry


def _receive(*, actor: User | None, data: InquiryData) -> tuple[Inquiry, bool]:
    """The intake of one inquiry (in the caller's transaction). Returns it and whether its customer's row
    is this transaction's own (a new customer: nobody else can see it yet, let alone lock it)."""
    system = system_user()
    matches = customer_selectors.customer_duplicates_of(
        actor=system,
        phones=[data.phone] if data.phone else [],
        emails=[data.email] if data.email else [],
        tax_code="",
    )
    customer = matches[0][2] if matches else None
    new_customer = customer is None
    if customer is None:
        customer = customer_services.customer_create(
            actor=system,
            data={
                **_lead_customer_data(data),
                "owner_id": None,
                "team_id": data.team_id,
                "branch_id": data.branch_id,
            },
            allow_duplicate=True,
        )
    inquiry = _inquiry_of(data, customer=customer, actor=actor, new_customer=new_customer)
    inquiry.save(force_insert=True)
    if data.consent:
        customer_services.customer_consent_record(
            actor=system,
            customer_id=customer.pk,
            purpose=ConsentPurpose.CARE_CALLS,
            status=ConsentStatus.GRANTED,
            method=ConsentMethod.WEB_FORM
            if data.channel == Channel.WEB
            else ConsentMethod.EMAIL
            if data.channel == Channel.EMAIL
            else ConsentMethod.ZALO
            if data.channel == Channel.ZALO
            else ConsentMethod.WEB_FORM,
            evidence=(
                data.consent_evidence
                or _("Inquiry #%(id)s via %(channel)s")
                % {
                    "id": inquiry.pk,
                    "channel": data.channel,
                }
            )[:500],
        )
    _intake_event(inquiry, actor or system).save(force_insert=True)
    if not new_customer and customer.owner_id:
        # A known customer asking again goes to their consultant, who is told.
        owner = customer.owner
        _set_owner(
            inquiry,
            owner,
            reason=AssignmentReason.EXISTING_OWNER,
            actor=None,
            rule=None,
            note=_("Existing customer's owner"),
            move_customer=False,
        )
        notification_send(
            user=owner,
            kind="inquiry_existing_customer",
            message=_("%(name)s (your customer) asked again via %(channel)s: %(message)s")
            % {
                "name": customer.full_name,
                "channel": inquiry.get_channel_display(),
                "message": (data.message or "")[:120],
            },
            url=reverse("customers:detail", args=[customer.pk]),
        )
    return inquiry, new_customer


# --- allocation ------------------------------------------------------------------------------------


def _rule_matches(rule: AllocationRule, inquiry: Inquiry) -> bool:
    if rule.channels and inquiry.channel not in rule.channels:
        return False
    if rule.provinces and inquiry.province not in rule.provinces:
        return False
    if rule.languages and (inquiry.language or "vi") not in rule.languages:
        return False
    if inquiry.branch_id and rule.branch_id != inquiry.branch_id:
        return False
    if inquiry.team_id and rule.team_id != inquiry.team_id:
        return False
    if rule.products:
        wanted = fold(inquiry.product_interest + " " + inquiry.message)
        if not any(fold(p) in wanted for p in rule.products if p):
            return False
    return True


def rule_for(inquiry: Inquiry, rules: Iterable[AllocationRule] | None = None) -> AllocationRule | None:
    """The first active rule (by position) whose conditions all match the inquiry."""
    candidates = rules if rules is not None else _active_rules()
    for rule in candidates:
        if rule.active and _rule_matches(rule, inquiry):
            return rule
    return None


def in_working_hours(rule: AllocationRule, now: dt.datetime) -> bool:
    if not rule.respect_working_hours:
        return True
    local = timezone.localtime(now)
    if not CALENDAR.is_working_day(local.date()):
        return False
    start = (
        rule.work_start
        if isinstance(rule.work_start, dt.time)
        else dt.time.fromisoformat(str(rule.work_start))
    )
    end = rule.work_end if isinstance(rule.work_end, dt.time) else dt.time.fromisoformat(str(rule.work_end))
    return start <= local.time() < end


_USER_FIELDS = tuple(
    f.attname for f in User._meta.concrete_fields if f.attname in ("id", "team_id", "branch_id", "is_active")
)


@dataclass(slots=True)
class _Member:
    """A rotation member as allocation reads it: one row of `_rotation`'s query, no model instance (a
    rule of 50 members would cost 100 instances per lead)."""

    pk: int
    user_id: int
    position: int
    capacity: int | None
    skills: list[str]
    languages: list[str]
    assigned_count: int
    team_id: int | None
    branch_id: int | None

    def user(self) -> User:
        """The consultant, with what allocation needs of them (the rest loads only if asked)."""
        values = {"id": self.user_id, "team_id": self.team_id, "branch_id": self.branch_id, "is_active": True}
        return User.from_db(connection.alias, _USER_FIELDS, [values[f] for f in _USER_FIELDS])


@functools.cache
def _rotation_sql(alias: str) -> str:
    """`_rotation`'s query, built once (the ORM took longer to compile it than the database to run it):
    the rule's active members with active users, in rotation order; per member its id, user id, position,
    capacity, skills, languages, assigned count, the user's team and branch, open leads, absent now."""
    qn = connections[alias].ops.quote_name
    member, user, count, absence = (m._meta for m in (AllocationMember, User, OpenLeadCount, Absence))

    def col(meta: Any, name: str, table_alias: str) -> str:
        return f"{table_alias}.{qn(meta.get_field(name).column)}"

    member_cols = ", ".join(
        col(member, f, "m")
        for f in ("id", "user", "position", "capacity", "skills", "languages", "assigned_count")
    )
    return (
        f"SELECT {member_cols}, {col(user, 'team', 'u')}, {col(user, 'branch', 'u')},"
        f" COALESCE((SELECT {col(count, 'open_leads', 'o')} FROM {qn(count.db_table)} o"
        f" WHERE {col(count, 'user', 'o')} = {col(member, 'user', 'm')}), 0),"
        f" EXISTS(SELECT 1 FROM {qn(absence.db_table)} a WHERE {col(absence, 'user', 'a')} = {col(member, 'user', 'm')}"
        f" AND {col(absence, 'starts_at', 'a')} <= %s AND {col(absence, 'ends_at', 'a')} > %s)"
        f" FROM {qn(member.db_table)} m JOIN {qn(user.db_table)} u ON u.{qn('id')} = {col(member, 'user', 'm')}"
        f" WHERE {col(member, 'rule', 'm')} = %s AND {col(member, 'active', 'm')} = %s"
        f" AND {col(user, 'is_active', 'u')} = %s"
        f" ORDER BY {col(member, 'position', 'm')}, {col(member, 'id', 'm')}"
    )


def _json_list(value: Any) -> list[Any]:
    """A JSON list column as a raw cursor gives it (text on both backends, as Django sets them up)."""
    return json.loads(value) if isinstance(value, str | bytes) else list(value or [])


def _rotation(
    rule: AllocationRule, now: dt.datetime, skills_for: Inquiry | None = None
) -> tuple[Rotation, dict[int, _Member]]:
    """Load a rule's active members in one query: availability (absent now?), open leads (the counter
    the database keeps, see `sales.open_leads`: O(members) whatever the number of open leads) and what
    allocation needs of the user (team, branch)."""
    with connection.cursor() as cur:
        at = connection.ops.adapt_datetimefield_value(now)
        cur.execute(_rotation_sql(connection.alias), [at, at, rule.pk, True, True])
        rows = [(*r[:4], _json_list(r[4]), _json_list(r[5]), *r[6:10], bool(r[10])) for r in cur.fetchall()]
    working = in_working_hours(rule, now)
    state = rule.rotation or {}
    wanted = fold(skills_for.product_interest + " " + skills_for.message) if skills_for is not None else ""
    slots = []
    members: dict[int, _Member] = {}
    for *fields, open_leads, absent in rows:
        member = _Member(*fields)
        available = working and not absent
        if available and skills_for is not None and member.skills:
            available = any(fold(s) in wanted for s in member.skills if s)
        if available and skills_for is not None and member.languages:
            available = (skills_for.language or "vi") in member.languages
        slots.append(
            Slot(
                key=member.pk,
                user_id=member.user_id,
                position=member.position,
                capacity=member.capacity,
                open_leads=max(open_leads, 0),
                credit=float(state.get(str(member.pk), 0.0)),
                available=available,
            )
        )
        members[member.pk] = member
    return Rotation(rule.strategy, slots), members


def _give(inquiry: Inquiry, owner: User | None, *, rule: AllocationRule | None, now: dt.datetime) -> None:
    """Set the inquiry's fields for `owner` (None: back to the queue), not saved: status, contact deadline
    (the rule's reclaim time), team and branch (the owner's, else the rule's)."""
    inquiry.owner = owner
    if owner is not None:
        inquiry.status = InquiryStatus.ASSIGNED
        inquiry.assigned_at = now
        inquiry.team_id = owner.team_id or inquiry.team_id
        inquiry.branch_id = owner.branch_id or inquiry.branch_id
        minutes = rule.reclaim_after_minutes if rule is not None else None
        inquiry.contact_due_at = now + dt.timedelta(minutes=minutes) if minutes else None
    else:
        inquiry.status = InquiryStatus.QUEUED
        inquiry.assigned_at = None
        inquiry.contact_due_at = None
    if rule is not None:
        inquiry.rule = rule
        inquiry.team_id = inquiry.team_id or rule.team_id
        inquiry.branch_id = inquiry.branch_id or rule.branch_id


_OWNER_FIELDS = ("owner", "status", "assigned_at", "contact_due_at", "team", "branch", "rule", "updated_at")


def _set_owner(
    inquiry: Inquiry,
    owner: User | None,
    *,
    reason: str,
    actor: User | None,
    rule: AllocationRule | None,
    note: str = "",
    move_customer: bool = True,
    now: dt.datetime | None = None,
    customer_locked: bool = False,
    also: Iterable[tuple[str, list[Any]]] = (),
) -> None:
    """Give the inquiry to `owner` (None: back to the queue), move its customer along (with its history
    row), log the assignment and audit both — every write in one round trip (`core.rowwrite`), with the
    caller's own statements `also` (e.g. the rule's rotation, the notice). `customer_locked`:
    `inquiry.customer` is a row this transaction holds locked (or created); otherwise it is locked and
    read again before it changes."""
    now = now or timezone.now()
    previous_id = inquiry.owner_id
    _give(inquiry, owner, rule=rule, now=now)
    statements = [update_statement(inquiry, _OWNER_FIELDS)]
    by = actor or system_user()
    events = []
    if move_customer and (owner is not None or inquiry.customer.owner_id == previous_id):
        customer = (
            inquiry.customer
            if customer_locked
            else customer_services.customer_lock_for_owner(inquiry.customer_id)
        )
        more, changes = customer_services.customer_owner_statements(
            customer,
            owner=owner,
            team_id=owner.team_id if owner else (rule.team_id if rule else inquiry.team_id),
            branch_id=owner.branch_id if owner else (rule.branch_id if rule else inquiry.branch_id),
            reason=reason,
            when=now,
        )
        statements += more
        inquiry.customer = customer
        events.append(audit_event(actor=by, action=AuditAction.UPDATE, obj=customer, changes=changes))
    assignment, assign_event = _assignment_rows(
        inquiry, previous_id, owner, reason=reason, rule=rule, actor=actor, by=by, note=note, now=now
    )
    events.append(assign_event)
    statements += [insert_statement(row) for row in (assignment, *events)]
    execute_all([*statements, *also])


def _assignment_rows(
    inquiry: Inquiry,
    previous_id: int | None,
    owner: User | None,
    *,
    reason: str,
    rule: AllocationRule | None,
    actor: User | None,
    by: User,
    note: str,
    now: dt.datetime,
) -> tuple[Assignment, AuditEvent]:
    """The assignment log row and its audit event (assign, or reclaim), not saved."""
    assignment = Assignment(
        created_at=now,
        inquiry=inquiry,
        customer_id=inquiry.customer_id,
        from_user_id=previous_id,
        to_user=owner,
        reason=reason,
        rule=rule,
        actor=actor,
        note=note[:300],
    )
    event = audit_event(
        actor=by,
        action=AuditAction.RECLAIM if reason == AssignmentReason.RECLAIM else AuditAction.ASSIGN,
        obj=inquiry,
        changes={
            "owner": [previous_id, owner.pk if owner else None],
            "reason": [None, reason],
            "rule": [None, rule.pk if rule else None],
        },
    )
    return assignment, event


def _notice_assigned(inquiry: Inquiry, owner: User) -> Notification | None:
    return notification_build(
        user=owner,
        kind="lead_assigned",
        message=_("New lead for you: %(name)s (%(channel)s)")
        % {"name": inquiry.customer.full_name, "channel": inquiry.get_channel_display()},
        url=reverse("customers:detail", args=[inquiry.customer_id]),
    )


def _notify_assigned(inquiry: Inquiry, owner: User) -> None:
    notice = _notice_assigned(inquiry, owner)
    if notice is not None:
        notice.save(force_insert=True)


@functools.cache
def _advance_sql(alias: str) -> tuple[str, str]:
    qn = connections[alias].ops.quote_name
    rule, member = AllocationRule._meta, AllocationMember._meta
    return (
        f"UPDATE {qn(rule.db_table)} SET {qn('rotation')} = %s, {qn('updated_at')} = %s WHERE {qn('id')} = %s",
        f"UPDATE {qn(member.db_table)} SET {qn('assigned_count')} = {qn('assigned_count')} + 1,"
        f" {qn('last_assigned_at')} = %s WHERE {qn('id')} = %s",
    )


def _advance_statements(
    rule: AllocationRule, rotation: Rotation, member: _Member, now: dt.datetime
) -> list[tuple[str, list[Any]]]:
    """The writes of one pick: the rule's rotation state (its row is locked) and the member's count."""
    rule.rotation = rotation.state()
    rule.updated_at = timezone.now()
    rule_sql, member_sql = _advance_sql(connection.alias)
    prep = connection.ops.adapt_datetimefield_value
    state = AllocationRule._meta.get_field("rotation").get_db_prep_save(rule.rotation, connection)
    return [(rule_sql, [state, prep(rule.updated_at), rule.pk]), (member_sql, [prep(now), member.pk])]


def inquiry_allocate(
    *, inquiry_id: int, now: dt.datetime | None = None, exclude_user_ids: Iterable[int] = ()
) -> Inquiry:
    """Allocate one queued inquiry by the rules. Safe under concurrency: the inquiry's and its customer's
    rows are locked, then the rule's row while its rotation is read and written. Stays queued (in the
    rule's team queue) when nobody is available."""
    now = now or timezone.now()
    with transaction.atomic():
        # Without `of`, the customer's row is locked too (PostgreSQL), as it will change. NO KEY UPDATE
        # everywhere here (no key column changes): other transactions' foreign-key checks at commit
        # (FOR KEY SHARE) never wait for these locks, so they cannot close a cycle with the open-lead
        # counters the triggers lock.
        inquiry = (
            Inquiry.objects.select_for_update(no_key=True)
            .select_related("customer")
            .filter(pk=inquiry_id)
            .first()
        )
        if inquiry is None:
            raise NotFound(_("Inquiry not found."))
        if inquiry.status != InquiryStatus.QUEUED:
            return inquiry
        _allocate(inquiry, now=now, exclude_user_ids=exclude_user_ids, customer_locked=True)
    return inquiry


def _pick(
    inquiry: Inquiry, *, now: dt.datetime, exclude_user_ids: Iterable[int] = ()
) -> tuple[AllocationRule, Rotation, dict[int, _Member], Slot | None] | None:
    """The inquiry's rule (None: no rule matches), locked for this transaction, its rotation and the
    member it gives the inquiry to (None: nobody available). Writes nothing."""
    rule = rule_for(inquiry)
    if rule is None:
        return None
    rule = _locked_rule(rule.pk)
    rotation, members = _rotation(rule, now, skills_for=inquiry)
    return rule, rotation, members, rotation.pick(exclude_users=exclude_user_ids)


@functools.cache
def _rule_sql(alias: str) -> tuple[str, str]:
    """(active rules in order, one rule locked): hot reads of every allocation, built once."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    meta = AllocationRule._meta
    cols = ", ".join(qn(column(f)) for f in meta.concrete_fields)
    table = qn(meta.db_table)
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    return (
        f"SELECT {cols} FROM {table} WHERE {qn('active')} = %s ORDER BY {qn('position')}, {qn('id')}",
        f"SELECT {cols} FROM {table} WHERE {qn('id')} = %s{lock}",
    )


def _active_rules() -> list[AllocationRule]:
    return list(AllocationRule.objects.raw(_rule_sql(connection.alias)[0], [True]))


def _locked_rule(pk: int) -> AllocationRule:
    """The rule's row, locked until the transaction ends (NO KEY UPDATE: see `inquiry_allocate`). SQLite
    transactions are serialised (BEGIN IMMEDIATE) and need no row lock."""
    found = list(AllocationRule.objects.raw(_rule_sql(connection.alias)[1], [pk]))
    if not found:
        raise NotFound(_("Allocation rule not found."))
    return found[0]


def _allocate(
    inquiry: Inquiry,
    *,
    now: dt.datetime,
    exclude_user_ids: Iterable[int] = (),
    customer_locked: bool,
) -> None:
    """Allocate a queued inquiry whose row this transaction holds (locked, or created by it)."""
    picked = _pick(inquiry, now=now, exclude_user_ids=exclude_user_ids)
    if picked is None:
        return
    rule, rotation, members, slot = picked
    if slot is None:
        if inquiry.team_id != rule.team_id or inquiry.rule_id != rule.pk:
            inquiry.team_id, inquiry.branch_id, inquiry.rule = rule.team_id, rule.branch_id, rule
            inquiry.save(update_fields=["team", "branch", "rule", "updated_at"])
        return
    member = members[slot.key]
    owner = member.user()
    notice = _notice_assigned(inquiry, owner)  # same transaction: no notice for a rolled-back assignment
    _set_owner(
        inquiry,
        owner,
        reason=AssignmentReason.RULE,
        actor=None,
        rule=rule,
        note=rule.name,
        now=now,
        customer_locked=customer_locked,
        also=[
            *_advance_statements(rule, rotation, member, now),
            *([insert_statement(notice)] if notice is not None else []),
        ],
    )


@dataclass
class AllocationStats:
    considered: int = 0
    assigned: int = 0
    still_queued: int = 0
    per_user: dict[int, int] = field(default_factory=dict)


def leads_allocate_queued(
    *, now: dt.datetime | None = None, batch: int = 5000, limit: int | None = None
) -> AllocationStats:
    """Run the queue: allocate every queued inquiry, oldest first, in batches — the bulk path (one rule
    lock, one rotation load and set-based writes per batch and rule). Used by `careline leads allocate`
    and the worker's periodic run.

    Built for 100,000s of leads: the queue is read as plain rows (no model instances), the rule of each
    distinct (channel, province, language, branch, team) is looked up once, the picks of a batch come
    from `Rotation.pick_many`, the consultants are read once per run, and the writes are one statement
    each (UPDATE … FROM unnest of text arrays, COPY of the assignment log on PostgreSQL)."""
    now = now or timezone.now()
    stats = AllocationStats()
    rules = list(AllocationRule.objects.filter(active=True).order_by("position", "id"))
    # Product words and skills are matched against the text: read it only when a rule or member needs it.
    needs_text = any(r.products for r in rules) or any(
        AllocationMember.objects.filter(rule__in=rules, active=True).values_list("skills", flat=True)
    )
    fields = ["pk", "customer_id", "channel", "province", "language", "branch_id", "team_id"]
    if needs_text:
        fields += ["product_interest", "message"]
    users: dict[int, User] = {}
    last_id = 0
    while True:
        with transaction.atomic():
            queued = list(
                Inquiry.objects.select_for_update(no_key=True, skip_locked=connection.vendor == "postgresql")
                .filter(status=InquiryStatus.QUEUED, pk__gt=last_id)
                .order_by("pk")
                .values_list(*fields)[:batch]
            )
            if not queued:
                break
            last_id = queued[-1][0]
            by_rule: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
            matched: dict[tuple[Any, ...], AllocationRule | None] = {}
            for row in queued:
                key = row[2:]
                if key in matched:
                    rule = matched[key]
                else:
                    rule = matched[key] = rule_for(Inquiry(**dict(zip(fields[2:], key, strict=True))), rules)
                if rule is not None:
                    by_rule[rule.pk].append(row)
                else:
                    stats.still_queued += 1
            stats.considered += len(queued)
            for rule_id, rows in by_rule.items():
                _allocate_batch(rule_id, rows, now, stats, users)
        if limit is not None and stats.considered >= limit:
            break
    return stats


def _allocate_batch(
    rule_id: int,
    rows: list[tuple[Any, ...]],
    now: dt.datetime,
    stats: AllocationStats,
    users: dict[int, User],
) -> None:
    """Allocate one batch's leads of one rule. `rows` are (inquiry id, customer id, channel, province,
    language, branch id, team id[, product interest, message]); `users` caches the consultants for the
    run."""
    rule = AllocationRule.objects.select_for_update(no_key=True).get(pk=rule_id)
    rotation, members = _rotation(rule, now)
    # A lead taken back ("thu hồi") never goes back to whoever it was taken from. The rows come in id
    # order: one range scan of the log instead of an IN list of thousands of ids.
    taken_from: dict[int, set[int]] = defaultdict(set)
    batch_ids = {row[0] for row in rows}
    for inquiry_id, from_user in Assignment.objects.filter(
        inquiry_id__gte=rows[0][0],
        inquiry_id__lte=rows[-1][0],
        reason=AssignmentReason.RECLAIM,
        from_user__isnull=False,
    ).values_list("inquiry_id", "from_user_id"):
        if inquiry_id in batch_ids:
            taken_from[inquiry_id].add(from_user)
    slots: list[Slot | None]
    if any(m.skills or m.languages for m in members.values()):
        # Per-lead eligibility by skill/language: mark the rotation's slots for each lead.
        slots = []
        base = {s.key: s.available for s in rotation.slots}
        for row in rows:
            wanted = fold(row[7] + " " + row[8]) if len(row) > 8 else ""
            for s in rotation.slots:
                m = members[s.key]
                ok = base[s.key]
                if ok and m.skills:
                    ok = any(fold(x) in wanted for x in m.skills if x)
                if ok and m.languages:
                    ok = (row[4] or "vi") in m.languages
                s.available = ok
            slots.append(rotation.pick(exclude_users=taken_from.get(row[0], ())))
            for s in rotation.slots:
                s.available = base[s.key]
    else:
        # Runs of leads nobody was taken from go through pick_many (the same choices as one pick each).
        slots = []
        start = 0
        while start < len(rows):
            if rows[start][0] in taken_from:
                slots.append(rotation.pick(exclude_users=taken_from[rows[start][0]]))
                start += 1
                continue
            end = start
            while end < len(rows) and rows[end][0] not in taken_from:
                end += 1
            slots.extend(rotation.pick_many(end - start))
            start = end
    picks = [(row[0], row[1], members[s.key]) for row, s in zip(rows, slots, strict=True) if s is not None]
    stats.still_queued += len(rows) - len(picks)
    rule.rotation = rotation.state()
    rule.save(update_fields=["rotation", "updated_at"])
    if not picks:
        return
    missing = {m.user_id for _i, _c, m in picks if m.user_id not in users}
    if missing:
        users.update(User.objects.in_bulk(missing))
    _write_assignments(rule, picks, now, users)
    per_member: dict[int, int] = defaultdict(int)
    for _i, _c, member in picks:
        per_member[member.pk] += 1
    changed = []
    for member_pk, n in per_member.items():
        member = members[member_pk]
        member.assigned_count += n
        changed.append(
            AllocationMember(pk=member_pk, assigned_count=member.assigned_count, last_assigned_at=now)
        )
        stats.per_user[member.user_id] = stats.per_user.get(member.user_id, 0) + n
    AllocationMember.objects.bulk_update(changed, ["assigned_count", "last_assigned_at"])
    stats.assigned += len(picks)
    for member_pk, n in per_member.items():
        notification_send(
            user=users.get(members[member_pk].user_id),
            kind="lead_assigned",
            message=_("%(count)s new leads allocated to you by “%(rule)s”") % {"count": n, "rule": rule.name},
            url=reverse("sales:list") + "?mine=1",
        )


def _pg_array(values: Iterable[int | None]) -> str:
    """A PostgreSQL array literal of integers: far cheaper to build and send than a list adapted value by
    value."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _write_assignments(
    rule: AllocationRule,
    picks: list[tuple[int, int, _Member]],
    now: dt.datetime,
    users: dict[int, User],
) -> None:
    """Set-based writes for a batch: customers' owners, inquiries, the assignment log, one audit event.
    `picks` are (inquiry id, customer id, member)."""
    due = now + dt.timedelta(minutes=rule.reclaim_after_minutes) if rule.reclaim_after_minutes else None
    table = Inquiry._meta.db_table
    inquiry_ids = [p[0] for p in picks]
    customer_ids = [p[1] for p in picks]
    owner_ids = [p[2].user_id for p in picks]
    place = {
        user_id: (user.team_id or rule.team_id, user.branch_id or rule.branch_id)
        for user_id, user in users.items()
    }
    team_ids = [place[u][0] for u in owner_ids]
    branch_ids = [place[u][1] for u in owner_ids]
    # Customers first, then inquiries (whose triggers lock the owners' open-lead counters): the order a
    # single allocation takes them in (customer row, then counter), so the two never wait on each other
    # in a cycle.
    customer_services.customers_assign_owner_bulk(
        rows=list(zip(customer_ids, owner_ids, team_ids, branch_ids, strict=True))
    )
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        if postgresql:
            cur.execute(
                f"UPDATE {table} AS q SET owner_id = v.owner_id, team_id = v.team_id, branch_id = v.branch_id,"
                " status = %s, assigned_at = %s, contact_due_at = %s, rule_id = %s, updated_at = %s"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
                " AS v(id, owner_id, team_id, branch_id) WHERE q.id = v.id",
                [
                    InquiryStatus.ASSIGNED,
                    now,
                    due,
                    rule.pk,
                    now,
                    _pg_array(inquiry_ids),
                    _pg_array(owner_ids),
                    _pg_array(team_ids),
                    _pg_array(branch_ids),
                ],
            )
        else:
            cur.executemany(
                f"UPDATE {table} SET owner_id = %s, team_id = %s, branch_id = %s, status = %s,"
                " assigned_at = %s, contact_due_at = %s, rule_id = %s, updated_at = %s WHERE id = %s",
                [
                    (o, t, b, InquiryStatus.ASSIGNED, now, due, rule.pk, now, i)
                    for i, o, t, b in zip(inquiry_ids, owner_ids, team_ids, branch_ids, strict=True)
                ],
            )
    note = rule.name[:300]
    if postgresql:
        with connection.cursor() as cur:
            columns = "created_at, inquiry_id, customer_id, to_user_id, reason, rule_id, note"
            with cur.cursor.copy(f"COPY {Assignment._meta.db_table} ({columns}) FROM STDIN") as copy:
                for i, c, o in zip(inquiry_ids, customer_ids, owner_ids, strict=True):
                    copy.write_row((now, i, c, o, AssignmentReason.RULE.value, rule.pk, note))
    else:
        Assignment.objects.bulk_create(
            [
                Assignment(
                    created_at=now,
                    inquiry_id=i,
                    customer_id=c,
                    from_user=None,
                    to_user_id=o,
                    reason=AssignmentReason.RULE,
                    rule=rule,
                    actor=None,
                    note=note,
                )
                for i, c, o in zip(inquiry_ids, customer_ids, owner_ids, strict=True)
            ],
            batch_size=1000,
        )
    audit_record(
        actor=system_user(),
        action=AuditAction.ASSIGN,
        object_type="sales.inquiry",
        object_id="",
        object_repr=_("%(count)s leads by rule “%(rule)s”") % {"count": len(picks), "rule": rule.name},
        changes={"count": [None, len(picks)], "rule": [None, rule.pk]},
    )


# --- manual assignment and reclaim -------------------------------------------------------------------


def _visible_inquiry_for_update(actor: User, inquiry_id: int) -> Inquiry:
    from careline.sales.selectors import inquiry_visible

    inquiry = (
        inquiry_visible(actor=actor)
        .select_for_update(of=("self",), no_key=True)
        .select_related("customer", "owner")
        .filter(pk=inquiry_id)
        .first()
    )
    if inquiry is None:
        raise NotFound(_("Inquiry not found."))
    return inquiry


def _assignable(actor: User, user_id: int) -> User:
    from careline.accounts.selectors import user_list_assignable

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationFailed({"user_id": [_("No such active user.")]})
    if not user_list_assignable(actor=actor).filter(pk=user.pk).exists():
        raise PermissionDenied(_("You cannot assign leads to this person."))
    return user


@transaction.atomic
def inquiry_assign(*, actor: User, inquiry_id: int, user_id: int, note: str = "") -> Inquiry:
    """A supervisor gives a lead to someone (out of the rotation: the rules' state is not touched)."""
    inquiry = _visible_inquiry_for_update(actor, inquiry_id)
    require_action(actor, OBJECT_TYPE, Action.ASSIGN)
    if inquiry.status in (InquiryStatus.CLOSED, InquiryStatus.SPAM):
        raise ApplicationError("closed", _("This inquiry is closed."), status=409)
    user = _assignable(actor, user_id)
    if inquiry.owner_id == user.pk:
        return inquiry
    _set_owner(inquiry, user, reason=AssignmentReason.MANUAL, actor=actor, rule=inquiry.rule, note=note)
    _notify_assigned(inquiry, user)
    return inquiry


def inquiries_assign(*, actor: User, inquiry_ids: list[int], user_id: int, note: str = "") -> list[Inquiry]:
    """Bulk manual assignment: all or nothing."""
    if not inquiry_ids:
        raise ValidationFailed({"ids": [_("Choose at least one lead.")]})
    if len(inquiry_ids) > 1000:
        raise ValidationFailed({"ids": [_("At most 1,000 leads at a time.")]})
    with transaction.atomic():
        return [
            inquiry_assign(actor=actor, inquiry_id=i, user_id=user_id, note=note)
            for i in dict.fromkeys(inquiry_ids)
        ]


def _reclaim(inquiry: Inquiry, *, actor: User | None, note: str, now: dt.datetime) -> None:
    previous = inquiry.owner
    _set_owner(
        inquiry, None, reason=AssignmentReason.RECLAIM, actor=actor, rule=inquiry.rule, note=note, now=now
    )
    if previous is not None:
        notification_send(
            user=previous,
            kind="lead_reclaimed",
            message=_("Lead %(name)s was taken back: %(why)s")
            % {"name": inquiry.customer.full_name, "why": note},
            url=reverse("sales:detail", args=[inquiry.pk]),
        )


def inquiry_reclaim(*, actor: User, inquiry_id: int, note: str = "", reallocate: bool = True) -> Inquiry:
    """Take a lead back from its consultant (supervisor), then allocate it again to someone else."""
    with transaction.atomic():
        inquiry = _visible_inquiry_for_update(actor, inquiry_id)
        require_action(actor, OBJECT_TYPE, Action.ASSIGN)
        if inquiry.owner_id is None:
            raise ApplicationError("not_assigned", _("This lead is not assigned to anyone."), status=409)
        previous_id = inquiry.owner_id
        _reclaim(
            inquiry,
            actor=actor,
            note=note or _("taken back by %(name)s") % {"name": actor},
            now=timezone.now(),
        )
    if reallocate:
        inquiry = inquiry_allocate(inquiry_id=inquiry.pk, exclude_user_ids=[previous_id])
    return inquiry


def leads_reclaim_overdue(*, now: dt.datetime | None = None) -> int:
    """Reclaim every assigned lead nobody contacted in time (the rule's `reclaim_after_minutes`), tell the
    previous owner why, and allocate it again to someone else. Idempotent; run by the worker."""
    now = now or timezone.now()
    count = 0
    ids = list(
        Inquiry.objects.filter(status=InquiryStatus.ASSIGNED, contact_due_at__lte=now).values_list(
            "pk", flat=True
        )[:5000]
    )
    for inquiry_id in ids:
        with transaction.atomic():
            inquiry = (
                Inquiry.objects.select_for_update(of=("self",), no_key=True)
                .select_related("customer", "owner", "rule")
                .filter(pk=inquiry_id, status=InquiryStatus.ASSIGNED, contact_due_at__lte=now)
                .first()
            )
            if inquiry is None:
                continue
            previous_id = inquiry.owner_id
            minutes = inquiry.rule.reclaim_after_minutes if inquiry.rule else None
            assigned_at = timezone.localtime(inquiry.assigned_at) if inquiry.assigned_at else None
            note = _("no activity within %(hours)s of assignment (assigned %(when)s)") % {
                "hours": _format_minutes(minutes or 0),
                "when": assigned_at.strftime("%H:%M %d/%m/%Y") if assigned_at else "?",
            }
            _reclaim(inquiry, actor=None, note=note, now=now)
        inquiry_allocate(
            inquiry_id=inquiry_id, now=now, exclude_user_ids=[previous_id] if previous_id else []
        )
        count += 1
    return count


def _format_minutes(minutes: int) -> str:
    if minutes and minutes % 1440 == 0:
        return _("%(n)s day(s)") % {"n": minutes // 1440}
    if minutes and minutes % 60 == 0:
        return _("%(n)s hour(s)") % {"n": minutes // 60}
    return _("%(n)s minutes") % {"n": minutes}


def inquiry_mark_contacted(*, inquiry_ids: Iterable[int], at: dt.datetime) -> int:
    """An activity by the owner on the customer: the lead was contacted (stops the reclaim clock)."""
    return Inquiry.objects.filter(pk__in=list(inquiry_ids), status=InquiryStatus.ASSIGNED).update(
        status=InquiryStatus.CONTACTED, first_contact_at=at, updated_at=timezone.now()
    )


@transaction.atomic
def inquiry_close(*, actor: User, inquiry_id: int, spam: bool = False, note: str = "") -> Inquiry:
    inquiry = _visible_inquiry_for_update(actor, inquiry_id)
    require_action(actor, OBJECT_TYPE, Action.CHANGE)
    before = inquiry.status
    inquiry.status = InquiryStatus.SPAM if spam else InquiryStatus.CLOSED
    inquiry.contact_due_at = None
    inquiry.save(update_fields=["status", "contact_due_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=inquiry,
        changes={"status": [before, inquiry.status], "note": [None, note]},
    )
    return inquiry


# --- rules, members, absences (configuration) --------------------------------------------------------

RULE_FIELDS = (
    "name",
    "position",
    "active",
    "team_id",
    "branch_id",
    "channels",
    "provinces",
    "products",
    "languages",
    "strategy",
    "reclaim_after_minutes",
    "respect_working_hours",
    "work_start",
    "work_end",
)


def _check_rule_scope(actor: User, team_id: int | None) -> None:
    from careline.accounts.selectors import team_list

    if team_id is None or not team_list(actor=actor).filter(pk=team_id).exists():
        raise ValidationFailed({"team_id": [_("Choose a team you manage.")]})


@transaction.atomic
def rule_save(*, actor: User, data: Mapping[str, Any], rule_id: int | None = None) -> AllocationRule:
    """Create or change an allocation rule (and, with `members`, its rotation: a list of
    {"user_id", "capacity", "skills", "languages", "active"} in round-robin order)."""
    from careline.sales.selectors import rule_visible

    if rule_id is not None:
        # Out of scope answers 404 before a missing right answers 403 (no one learns the rule exists).
        rule = rule_visible(actor=actor).select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(_("Rule not found."))
        require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
        before = {f: getattr(rule, f) for f in RULE_FIELDS}
    else:
        require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
        rule = AllocationRule()
        before = {}
    errors: dict[str, list[str]] = {}
    for f in RULE_FIELDS:
        if f in data:
            value = data[f]
            if isinstance(value, dt.time) and value.tzinfo is not None:
                # Working hours are wall-clock times of the branch, never times with an offset.
                errors.setdefault(f, []).append(_("Give a local time without a time zone, e.g. 08:00."))
                continue
            setattr(rule, f, value)
    if rule.strategy not in Strategy.values:
        errors["strategy"] = [_("Unknown strategy.")]
    for f, allowed in (("channels", Channel.values), ("provinces", [p.code for p in PROVINCES])):
        bad = [v for v in (getattr(rule, f) or []) if v not in allowed]
        if bad:
            errors[f] = [_("Unknown values: %(v)s") % {"v": ", ".join(map(str, bad))}]
    if _as_time(rule.work_end) <= _as_time(rule.work_start):
        errors["work_end"] = [_("Working hours must end after they start.")]
    if errors:
        raise ValidationFailed(errors)
    _check_rule_scope(actor, rule.team_id)
    from careline.accounts.models import Team

    team = Team.objects.get(pk=rule.team_id)
    rule.branch_id = team.branch_id
    try:
        rule.full_clean(exclude=["team", "branch"])
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    rule.save()
    if "members" in data:
        _members_save(actor, rule, data["members"] or [])
    after = {f: getattr(rule, f) for f in RULE_FIELDS}
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        obj=rule,
        changes={k: [_json(before.get(k)), _json(v)] for k, v in after.items() if before.get(k) != v},
    )
    return rule


def _as_time(value: Any) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.time) else value


def _members_save(actor: User, rule: AllocationRule, members: list[Mapping[str, Any]]) -> None:
    from careline.accounts.selectors import user_list_assignable

    allowed = set(user_list_assignable(actor=actor).values_list("pk", flat=True))
    seen: set[int] = set()
    keep: list[int] = []
    for position, item in enumerate(members):
        user_id = int(item["user_id"])
        if user_id in seen:
            raise ValidationFailed({"members": [_("A person appears twice.")]})
        seen.add(user_id)
        if user_id not in allowed:
            raise ValidationFailed(
                {"members": [_("You cannot put user %(id)s in a rotation.") % {"id": user_id}]}
            )
        capacity = item.get("capacity")
        if capacity is not None and int(capacity) < 1:
            raise ValidationFailed({"members": [_("Capacity must be at least 1.")]})
        member, _created = AllocationMember.objects.update_or_create(
            rule=rule,
            user_id=user_id,
            defaults={
                "position": position,
                "capacity": int(capacity) if capacity is not None else None,
                "skills": list(item.get("skills") or []),
                "languages": list(item.get("languages") or []),
                "active": bool(item.get("active", True)),
            },
        )
        keep.append(member.pk)
    AllocationMember.objects.filter(rule=rule).exclude(pk__in=keep).delete()


@transaction.atomic
def rule_delete(*, actor: User, rule_id: int) -> None:
    from careline.sales.selectors import rule_visible

    rule = rule_visible(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Rule not found."))
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    audit_record(actor=actor, action=AuditAction.DELETE, obj=rule)
    rule.delete()


@transaction.atomic
def absence_create(
    *,
    actor: User,
    user_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    kind: str = "leave",
    note: str = "",
) -> Absence:
    """Record leave: the person gets no new leads in that time. Anyone may record their own; supervisors
    (assign right) their team's."""
    if user_id != actor.pk:
        require_action(actor, OBJECT_TYPE, Action.ASSIGN)
        _assignable(actor, user_id)
    if ends_at <= starts_at:
        raise ValidationFailed({"ends_at": [_("The end must be after the start.")]})
    absence = Absence(
        user_id=user_id, starts_at=starts_at, ends_at=ends_at, kind=kind, note=note[:200], created_by=actor
    )
    try:
        absence.full_clean(exclude=["user", "created_by"])
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    absence.save()
    audit_record(actor=actor, action=AuditAction.CREATE, obj=absence)
    return absence


@transaction.atomic
def absence_delete(*, actor: User, absence_id: int) -> None:
    absence = Absence.objects.filter(pk=absence_id).first()
    if absence is None:
        raise NotFound(_("Absence not found."))
    if absence.user_id != actor.pk:
        from careline.accounts.selectors import user_list_assignable

        # Someone else's: visible when the actor may assign to them (404 otherwise), then needs the right.
        if not user_list_assignable(actor=actor).filter(pk=absence.user_id).exists():
            raise NotFound(_("Absence not found."))
        require_action(actor, OBJECT_TYPE, Action.ASSIGN)
    else:
        require_action(actor, OBJECT_TYPE, Action.VIEW)
    audit_record(actor=actor, action=AuditAction.DELETE, obj=absence)
    absence.delete()
