"""Every write to activities and email templates goes through these functions (ARCHITECTURE §4).

Each one checks scope and permission, validates, writes in one transaction, records an audit event
(object type "activities.activity" / "activities.emailtemplate") and sends `signals.activity_logged` after
commit for newly logged activities. Emails are sent through Django's mailers (`MAILERS["default"]`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Mapping
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage, mailers
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from careline.accounts.models import User
from careline.accounts.services import notification_send
from careline.activities.choices import FOLLOW_UP_DONE_OUTCOMES, KIND_OUTCOMES, ActivityKind, Outcome
from careline.activities.models import Activity, EmailTemplate
from careline.activities.selectors import OBJECT_TYPE, activity_visible, activity_writable
from careline.activities.signals import activity_logged
from careline.core.audit import audit_record, diff
from careline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditAction
from careline.core.visibility import Action, Scope, require_action
from careline.customers.choices import ConsentPurpose, ConsentStatus, ContactKind, Salutation
from careline.customers.models import Customer
from careline.customers.selectors import customer_consent_state, customer_get
from careline.vn import InvalidPhone, format_phone, normalize_phone
from careline.vn.text import nfc

logger = logging.getLogger(__name__)

FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # clocks differ a little; "done" cannot be later than that
MAX_DURATION_SECONDS = 24 * 3600
SUBJECT_MAX = 200
NOTES_MAX = 10_000
EMAIL_BODY_MAX = 50_000
EXTERNAL_ID_MAX = 200
SNAPSHOT_FIELDS = (
    "customer_id",
    "kind",
    "outcome",
    "owner_id",
    "team_id",
    "branch_id",
    "occurred_at",
    "due_at",
    "completed_at",
    "remind_at",
    "duration_seconds",
    "subject",
    "notes",
    "customer_stage",
    "email_to",
    "message_id",
    "external_id",
    "recording_url",
)
EDITABLE = {
    "outcome",
    "occurred_at",
    "due_at",
    "remind_at",
    "duration_seconds",
    "subject",
    "notes",
    "recording_url",
    "owner_id",
}
FK_FIELDS = ["customer", "owner", "team", "branch", "created_by"]


# --- helpers ---------------------------------------------------------------------------------------------


def activity_snapshot(activity: Activity) -> dict[str, Any]:
    return {name: getattr(activity, name) for name in SNAPSHOT_FIELDS}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Naive datetimes (an API client that sent no offset, a form) are local time."""
    if value is None:
        return None
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_current_timezone())
    return value


def _text(value: Any) -> str:
    return nfc(str(value or "")).strip()


def _covers(actor: User, owner: User) -> bool:
    """May the actor log or move activities for `owner`? Self always; others when the actor's activity
    scope covers them (team → same team, branch → same branch, all → anyone)."""
    if owner.pk == actor.pk:
        return True
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.ALL:
        return True
    if scope == Scope.BRANCH:
        return bool(actor.branch_id) and owner.branch_id == actor.branch_id
    if scope == Scope.TEAM:
        return bool(actor.team_id) and owner.team_id == actor.team_id
    return False


def _resolve_owner(actor: User, owner: Any) -> User:
    if owner is None or owner == "" or (isinstance(owner, User) and owner.pk == actor.pk):
        return actor
    owner_id = owner.pk if isinstance(owner, User) else owner
    if isinstance(owner_id, int) and owner_id == actor.pk:
        return actor
    user = User.objects.filter(pk=owner_id, is_active=True).first() if str(owner_id).isdigit() else None
    if user is None:
        raise ValidationFailed({"owner_id": [_("Choose an active staff member.")]})
    if not _covers(actor, user):
        raise PermissionDenied(_("You cannot log activities for this staff member."))
    return user


def _validation_errors(
    *,
    kind: str,
    outcome: str,
    occurred_at: dt.datetime | None,
    due_at: dt.datetime | None,
    remind_at: dt.datetime | None,
    duration_seconds: int | None,
    completed: bool,
    creating: bool,
    now: dt.datetime,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if kind not in ActivityKind.values:
        add("kind", _("“%(value)s” is not a kind of activity.") % {"value": kind})
        return errors
    allowed = KIND_OUTCOMES[kind]
    is_call_back = kind == ActivityKind.CALL and outcome == Outcome.CALL_BACK
    if outcome not in allowed:
        if kind == ActivityKind.CALL and not outcome:
            add("outcome", _("Choose the outcome of the call."))
        else:
            add("outcome", _("“%(value)s” is not an outcome of this kind of activity.") % {"value": outcome})
    if kind == ActivityKind.FOLLOW_UP:
        if due_at is None:
            add("due_at", _("A follow-up needs a due date and time."))
        if not completed and occurred_at is not None:
            add("occurred_at", _("A follow-up is done only when it is completed."))
        if not completed and outcome:
            add("outcome", _("A follow-up gets its outcome when it is completed."))
    elif is_call_back and creating:
        if due_at is None:
            add("due_at", _("When should you call back?"))
        elif occurred_at is not None and due_at < occurred_at:
            add("due_at", _("The call-back must come after the call."))
    elif due_at is not None:
        add("due_at", _("Only follow-ups and call-backs have a due time."))
    if remind_at is not None:
        if kind != ActivityKind.FOLLOW_UP and not (is_call_back and creating):
            add("remind_at", _("Only follow-ups have reminders."))
        elif due_at is not None and remind_at > due_at:
            add("remind_at", _("The reminder must come before the due time."))
    if occurred_at is not None and occurred_at > now + FUTURE_TOLERANCE:
        add("occurred_at", _("This time is in the future."))
    if kind != ActivityKind.FOLLOW_UP and occurred_at is None:
        add("occurred_at", _("Enter when it happened."))
    if duration_seconds is not None:
        if duration_seconds < 0:
            add("duration_seconds", _("The duration cannot be negative."))
        elif duration_seconds > MAX_DURATION_SECONDS:
            add("duration_seconds", _("At most 24 hours."))
    return errors


def _text_errors(values: Mapping[str, str], errors: dict[str, list[str]]) -> None:
    limits = {"subject": SUBJECT_MAX, "notes": NOTES_MAX, "external_id": EXTERNAL_ID_MAX}
    for name, limit in limits.items():
        if len(values.get(name, "")) > limit:
            errors.setdefault(name, []).append(_("At most %(n)d characters.") % {"n": limit})


def _full_clean(activity: Activity) -> None:
    try:
        activity.full_clean(exclude=FK_FIELDS, validate_constraints=False)
    except DjangoValidationError as exc:
        raise ValidationFailed({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc


def _after_commit_logged(activity: Activity, actor: User) -> None:
    transaction.on_commit(
        lambda: activity_logged.send(sender=Activity, activity=activity, actor=actor), robust=False
    )


def _audit(actor: User, action: str, activity: Activity, changes: Mapping[str, Any]) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj=activity,
        object_type="activities.activity",
        object_repr=f"{activity.get_kind_display()} · {activity.customer_id}",
        changes=changes,
    )


def _created_changes(activity: Activity) -> dict[str, dict[str, Any]]:
    return diff({}, {k: v for k, v in activity_snapshot(activity).items() if v not in (None, "")})


def _complete(actor: User, follow_up: Activity, outcome: str, notes: str, now: dt.datetime) -> None:
    before = activity_snapshot(follow_up)
    follow_up.completed_at = now
    follow_up.occurred_at = now
    follow_up.outcome = outcome
    if notes:
        follow_up.notes = f"{follow_up.notes}\n{notes}".strip() if follow_up.notes else notes
        if len(follow_up.notes) > NOTES_MAX:
            raise ValidationFailed({"notes": [_("At most %(n)d characters.") % {"n": NOTES_MAX}]})
    follow_up.save()
    _audit(actor, AuditAction.UPDATE, follow_up, diff(before, activity_snapshot(follow_up)))


def _writable_for(actor: User, activity_id: int, action: str, *, lock: bool = True) -> Activity:
    """The activity if the actor sees it (404 otherwise), holds `action` and it is in their scope (403)."""
    if not activity_visible(actor=actor).filter(pk=activity_id).exists():
        raise NotFound(_("Activity not found."))
    require_action(actor, OBJECT_TYPE, action)
    qs = activity_writable(actor=actor)
    if lock:
        qs = qs.select_for_update()
    activity = qs.select_related("customer").filter(pk=activity_id).first()
    if activity is None:
        raise PermissionDenied(_("This activity belongs to someone outside your scope."))
    return activity


# --- activities -------------------------------------------------------------------------------------------


@transaction.atomic
def activity_log(
    *,
    actor: User,
    customer_id: int,
    kind: str,
    outcome: str = "",
    occurred_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    duration_seconds: int | None = None,
    subject: str = "",
    notes: str = "",
    owner: User | int | None = None,
    external_id: str = "",
    recording_url: str = "",
    source: str = "web",
    follow_up_id: int | None = None,
    email_to: str = "",
    message_id: str = "",
) -> Activity:
    """Log something done (or, for a follow-up, to do) with a customer the actor sees.

    * 404 when the actor cannot see the customer, 403 without `activity.add` (or when `owner` is someone
      the actor's activity scope does not cover); owner defaults to the actor, team/branch follow the owner.
    * Calls need an outcome (CALL_OUTCOMES); `call_back` needs `due_at` and also opens a follow-up due then
      (an identical open one is reused): it is returned as `activity.follow_up`.
    * A follow-up needs `due_at` and has no `occurred_at` until completed; other kinds are done now unless
      `occurred_at` says when (never more than 5 minutes in the future).
    * With `external_id` (a hotline call id…), the same (kind, external_id) returns the first activity
      (`activity.replayed` is True) instead of logging twice.
    * `follow_up_id`: an open follow-up of this customer that this activity fulfils (completed as done).
    """
    customer = customer_get(actor=actor, customer_id=customer_id)
    require_action(actor, OBJECT_TYPE, Action.ADD)
    kind = str(kind or "")
    outcome = str(outcome or "")
    external_id = _text(external_id)
    if external_id:
        existing = Activity.objects.filter(kind=kind, external_id=external_id).first()
        if existing is not None:
            return _replayed(actor, existing)
    owner_user = _resolve_owner(actor, owner)
    now = timezone.now()
    occurred_at, due_at, remind_at = _aware(occurred_at), _aware(due_at), _aware(remind_at)
    if kind != ActivityKind.FOLLOW_UP and occurred_at is None:
        occurred_at = now
    texts = {"subject": _text(subject), "notes": _text(notes), "external_id": external_id}
    errors = _validation_errors(
        kind=kind,
        outcome=outcome,
        occurred_at=occurred_at,
        due_at=due_at,
        remind_at=remind_at,
        duration_seconds=duration_seconds,
        completed=False,
        creating=True,
        now=now,
    )
    _text_errors(texts, errors)
    if errors:
        raise ValidationFailed(errors)
    is_call_back = kind == ActivityKind.CALL and outcome == Outcome.CALL_BACK
    activity = Activity(
        customer=customer,
        kind=kind,
        outcome=outcome,
        owner=owner_user,
        team_id=owner_user.team_id,
        branch_id=owner_user.branch_id,
        occurred_at=occurred_at,
        due_at=None if is_call_back else due_at,
        remind_at=None if is_call_back else remind_at,
        duration_seconds=duration_seconds,
        subject=texts["subject"],
        notes=texts["notes"],
        customer_stage=customer.stage,
        email_to=email_to,
        message_id=message_id,
        external_id=external_id,
        recording_url=_text(recording_url),
        created_by=actor,
    )
    _full_clean(activity)
    if external_id:
        try:
            with transaction.atomic():
                activity.save()
        except IntegrityError:  # a concurrent delivery of the same event won
            existing = Activity.objects.filter(kind=kind, external_id=external_id).first()
            if existing is None:
                raise
            return _replayed(actor, existing)
    else:
        activity.save()
    changes = _created_changes(activity)
    if source:
        changes["source"] = {"before": None, "after": source}
    _audit(actor, AuditAction.CREATE, activity, changes)
    follow_up: Activity | None = None
    if is_call_back and due_at is not None:
        follow_up = _call_back_follow_up(actor, activity, due_at=due_at, remind_at=remind_at)
    if follow_up_id:
        fulfilled = _writable_for(actor, follow_up_id, Action.CHANGE)
        if fulfilled.customer_id != customer.pk or not fulfilled.is_open:
            raise ValidationFailed({"follow_up_id": [_("Choose an open follow-up of this customer.")]})
        if fulfilled.kind != ActivityKind.FOLLOW_UP:
            raise ValidationFailed({"follow_up_id": [_("Choose an open follow-up of this customer.")]})
        _complete(actor, fulfilled, Outcome.DONE, "", now)
    activity.follow_up = follow_up  # type: ignore[attr-defined]
    activity.replayed = False  # type: ignore[attr-defined]
    _after_commit_logged(activity, actor)
    return activity


def _replayed(actor: User, existing: Activity) -> Activity:
    if not activity_visible(actor=actor).filter(pk=existing.pk).exists():
        raise Conflict(
            "duplicate_external_id",
            _("An activity with this external id already exists."),
            {"field": "external_id"},
        )
    existing.follow_up = None  # type: ignore[attr-defined]
    existing.replayed = True  # type: ignore[attr-defined]
    return existing


def _call_back_follow_up(
    actor: User, call: Activity, *, due_at: dt.datetime, remind_at: dt.datetime | None
) -> Activity:
    """The open follow-up a promised call-back creates (or the identical one already open)."""
    same = Activity.objects.filter(
        customer_id=call.customer_id,
        owner_id=call.owner_id,
        kind=ActivityKind.FOLLOW_UP,
        completed_at__isnull=True,
        due_at=due_at,
    ).first()
    if same is not None:
        return same
    follow_up = Activity(
        customer_id=call.customer_id,
        kind=ActivityKind.FOLLOW_UP,
        owner_id=call.owner_id,
        team_id=call.team_id,
        branch_id=call.branch_id,
        due_at=due_at,
        remind_at=remind_at,
        subject=_("Call back"),
        notes=call.notes,
        customer_stage=call.customer_stage,
        created_by=actor,
    )
    _full_clean(follow_up)
    follow_up.save()
    _audit(actor, AuditAction.CREATE, follow_up, _created_changes(follow_up))
    return follow_up


@transaction.atomic
def activity_update(*, actor: User, activity_id: int, data: Mapping[str, Any]) -> Activity:
    """Change an activity in the actor's scope. Emails sent from Careline keep what was sent (notes only).
    Moving a follow-up's due/remind time re-arms its reminder."""
    unknown = set(data) - EDITABLE
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
    activity = _writable_for(actor, activity_id, Action.CHANGE)
    if activity.message_id and set(data) - {"notes"}:
        raise ValidationFailed(
            {k: [_("An email sent from Careline cannot be changed.")] for k in sorted(set(data) - {"notes"})}
        )
    before = activity_snapshot(activity)
    now = timezone.now()
    if "owner_id" in data:
        owner = _resolve_owner(actor, data["owner_id"])
        activity.owner, activity.team_id, activity.branch_id = owner, owner.team_id, owner.branch_id
    for name in ("occurred_at", "due_at", "remind_at"):
        if name in data:
            setattr(activity, name, _aware(data[name]))
    if "outcome" in data:
        activity.outcome = str(data["outcome"] or "")
    if "duration_seconds" in data:
        activity.duration_seconds = data["duration_seconds"]
    texts = {"subject": activity.subject, "notes": activity.notes}
    for name in ("subject", "notes"):
        if name in data:
            texts[name] = _text(data[name])
            setattr(activity, name, texts[name])
    if "recording_url" in data:
        activity.recording_url = _text(data["recording_url"])
    errors = _validation_errors(
        kind=activity.kind,
        outcome=activity.outcome,
        occurred_at=activity.occurred_at,
        due_at=activity.due_at,
        remind_at=activity.remind_at,
        duration_seconds=activity.duration_seconds,
        completed=activity.completed_at is not None,
        creating=False,
        now=now,
    )
    _text_errors(texts, errors)
    if errors:
        raise ValidationFailed(errors)
    if activity.due_at != before["due_at"] or activity.remind_at != before["remind_at"]:
        activity.reminded_at = None
    _full_clean(activity)
    changes = diff(before, activity_snapshot(activity))
    if changes:
        activity.save()
        _audit(actor, AuditAction.UPDATE, activity, changes)
    return activity


@transaction.atomic
def activity_delete(*, actor: User, activity_id: int) -> None:
    """Delete an activity in the actor's scope (needs `activity.delete`); the audit event keeps a copy."""
    activity = _writable_for(actor, activity_id, Action.DELETE)
    snapshot = activity_snapshot(activity)
    _audit(actor, AuditAction.DELETE, activity, diff(snapshot, {}))
    activity.delete()


@transaction.atomic
def follow_up_complete(*, actor: User, activity_id: int, outcome: str = "done", notes: str = "") -> Activity:
    """Mark an open follow-up done (or cancelled). Completing one already completed changes nothing."""
    activity = _writable_for(actor, activity_id, Action.CHANGE)
    if activity.kind != ActivityKind.FOLLOW_UP:
        raise Conflict("not_a_follow_up", _("Only follow-ups can be completed."))
    if outcome not in FOLLOW_UP_DONE_OUTCOMES:
        raise ValidationFailed({"outcome": [_("Choose done or cancelled.")]})
    if activity.completed_at is not None:
        return activity
    _complete(actor, activity, outcome, _text(notes), timezone.now())
    return activity


def follow_up_reminders_send(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Notify owners of follow-ups whose reminder time (or, without one, due time) has come. Each follow-up
    is reminded once (`reminded_at`); the claim is a conditional UPDATE, so concurrent runs never notify
    twice. Returns how many follow-ups were reminded."""
    now = now or timezone.now()
    due = (
        Activity.objects.filter(
            kind=ActivityKind.FOLLOW_UP, completed_at__isnull=True, reminded_at__isnull=True
        )
        .filter(Q(remind_at__lte=now) | Q(remind_at__isnull=True, due_at__lte=now))  # remind_at, else due_at
        .select_related("customer", "owner")
        .order_by("due_at", "id")
    )
    sent = 0
    while True:
        rows = list(due[:batch])
        if not rows:
            return sent
        for activity in rows:
            with transaction.atomic():
                claimed = Activity.objects.filter(pk=activity.pk, reminded_at__isnull=True).update(
                    reminded_at=now
                )
                if not claimed:
                    continue
                _notify_due(activity)
                audit_record(
                    actor=None,
                    action=AuditAction.UPDATE,
                    obj=activity,
                    object_type="activities.activity",
                    object_repr=f"{activity.get_kind_display()} · {activity.customer_id}",
                    changes={"reminded_at": {"before": None, "after": now}},
                    actor_label="system",
                )
                sent += 1


def _notify_due(activity: Activity) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        due = timezone.localtime(activity.due_at).strftime("%H:%M %d/%m/%Y") if activity.due_at else ""
        message = _("Follow-up due %(due)s: %(customer)s") % {
            "due": due,
            "customer": activity.customer.full_name,
        }
        if activity.subject:
            message = f"{message} — {activity.subject}"
    notification_send(
        user=activity.owner,
        kind="follow_up_due",
        message=message,
        url=reverse("customers:detail", args=[activity.customer_id]),
    )


# --- emails -----------------------------------------------------------------------------------------------

PLACEHOLDERS = ("salutation", "given_name", "full_name", "staff_name", "staff_phone")
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RENDER_RE = re.compile(r"( ?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholder_values(*, customer: Customer, staff: User) -> dict[str, str]:
    """What each placeholder becomes for this customer and staff member."""
    salutation = Salutation(customer.salutation).label if customer.salutation else ""
    phone = staff.phone or ""
    if phone:
        with contextlib.suppress(InvalidPhone):
            phone = format_phone(normalize_phone(phone))
    return {
        "salutation": str(salutation or ""),
        "given_name": customer.given_name or customer.full_name,
        "full_name": customer.full_name,
        "staff_name": str(staff),
        "staff_phone": phone,
    }


def render_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` for the known names; anything else (unknown names, `{0}`, `{a.b}`, lone braces)
    stays as written. Like `str.format_map` with a dict that keeps missing keys, but without format specs,
    attribute or index access. An empty value takes the space before it along ("Chào {salutation} {given_name}"
    without a salutation reads "Chào Lan")."""

    def fill(m: re.Match[str]) -> str:
        space, name = m.group(1), m.group(2)
        if name not in values:
            return m.group(0)
        return f"{space}{values[name]}" if values[name] else ""

    return _RENDER_RE.sub(fill, text)


def _unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER_RE.findall(text) if name not in PLACEHOLDERS})


def _template_values(data: Mapping[str, Any], current: EmailTemplate | None) -> dict[str, Any]:
    allowed = {"name", "subject", "body", "language", "active", "marketing"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, limit in (("name", 120), ("subject", SUBJECT_MAX), ("body", EMAIL_BODY_MAX)):
        if name in data or current is None:
            text = nfc(str(data.get(name) or "")).strip()
            if name == "subject":
                text = " ".join(text.split())
            if not text:
                errors[name] = [_("This field is required.")]
            elif len(text) > limit:
                errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
            elif name != "name" and _unknown_placeholders(text):
                errors[name] = [
                    _("Unknown placeholder %(names)s. Use: %(allowed)s.")
                    % {
                        "names": ", ".join("{" + n + "}" for n in _unknown_placeholders(text)),
                        "allowed": ", ".join("{" + n + "}" for n in PLACEHOLDERS),
                    }
                ]
            values[name] = text
    if "language" in data:
        language = str(data["language"] or "vi")
        if language not in dict(settings.LANGUAGES):
            errors["language"] = [_("“%(value)s” is not a valid choice.") % {"value": language}]
        values["language"] = language
    for name in ("active", "marketing"):
        if name in data:
            values[name] = bool(data[name])
    if errors:
        raise ValidationFailed(errors)
    return values


def _template_snapshot(template: EmailTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "subject": template.subject,
        "body": template.body[:2000],
        "language": template.language,
        "active": template.active,
        "marketing": template.marketing,
    }


@transaction.atomic
def email_template_create(*, actor: User, data: Mapping[str, Any]) -> EmailTemplate:
    """A new template (needs `activity.configure`): name, subject, body, optional language/marketing."""
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    values = _template_values(data, None)
    template = EmailTemplate(created_by=actor, **values)
    template.full_clean(exclude=["created_by"])
    template.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=template,
        object_type="activities.emailtemplate",
        changes=diff({}, _template_snapshot(template)),
    )
    return template


@transaction.atomic
def email_template_update(*, actor: User, template_id: int, data: Mapping[str, Any]) -> EmailTemplate:
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    template = EmailTemplate.objects.select_for_update().filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("Email template not found."))
    values = _template_values(data, template)
    before = _template_snapshot(template)
    for name, value in values.items():
        setattr(template, name, value)
    template.full_clean(exclude=["created_by"])
    changes = diff(before, _template_snapshot(template))
    if changes:
        template.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=template,
            object_type="activities.emailtemplate",
            changes=changes,
        )
    return template


def email_template_archive(*, actor: User, template_id: int) -> EmailTemplate:
    """Hide a template from the pickers (emails already sent keep their text)."""
    return email_template_update(actor=actor, template_id=template_id, data={"active": False})


def _mail_domain() -> str:
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    return address.rsplit("@", 1)[1] if "@" in address else "careline.local"


def email_send(
    *,
    actor: User,
    customer_id: int,
    to: str | None = None,
    template_id: int | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> Activity:
    """Send an email to one of the customer's addresses and log it (kind email, outcome sent or failed).

    Subject and body come from the template unless given; placeholders are filled for this customer and
    the actor. `to` defaults to the customer's first email and must be one of the card's addresses.
    Templates flagged `marketing` are refused (409 `no_marketing_consent`) unless the customer's latest
    marketing consent is granted. A delivery failure is recorded on the activity, never raised.
    The SMTP exchange happens outside any transaction; the activity is written after it."""
    customer = customer_get(actor=actor, customer_id=customer_id)
    require_action(actor, OBJECT_TYPE, Action.ADD)
    template: EmailTemplate | None = None
    if template_id:
        template = EmailTemplate.objects.filter(pk=template_id, active=True).first()
        if template is None:
            raise NotFound(_("Email template not found."))
    subject_src = subject if subject not in (None, "") else (template.subject if template else "")
    body_src = body if body not in (None, "") else (template.body if template else "")
    errors: dict[str, list[str]] = {}
    addresses = [p.value for p in customer.contact_points.all() if p.kind == ContactKind.EMAIL]
    address = (to or "").strip().lower()
    if not address:
        if not addresses:
            errors["to"] = [_("This customer has no email address.")]
        else:
            address = addresses[0]
    elif address not in addresses:
        errors["to"] = [_("Send only to one of the customer's email addresses.")]
    values = placeholder_values(customer=customer, staff=actor)
    rendered_subject = " ".join(render_placeholders(nfc(str(subject_src or "")), values).split())
    rendered_body = render_placeholders(nfc(str(body_src or "")), values).strip()
    if not rendered_subject:
        errors["subject"] = [_("This field is required.")]
    elif len(rendered_subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    if not rendered_body:
        errors["body"] = [_("This field is required.")]
    elif len(rendered_body) > EMAIL_BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": EMAIL_BODY_MAX}]
    if errors:
        raise ValidationFailed(errors)
    if template is not None and template.marketing:
        consent = customer_consent_state(customer=customer).get(ConsentPurpose.MARKETING)
        if consent is None or consent.status != ConsentStatus.GRANTED:
            raise Conflict("no_marketing_consent", _("This customer has not agreed to marketing emails."))
    message_id = make_msgid(domain=_mail_domain())
    message = EmailMessage(
        subject=rendered_subject,
        body=rendered_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        reply_to=[actor.email] if actor.email else None,
        headers={"Message-ID": message_id},
    )
    outcome, failure = Outcome.SENT, ""
    try:
        mailers.default.send_messages([message])
    except Exception as exc:  # any delivery problem is recorded on the activity, not raised
        logger.warning("email to customer %s failed: %s", customer.pk, exc)
        outcome, failure = Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:500]
    notes = rendered_body if not failure else f"{rendered_body}\n\n— {_('Not delivered')}: {failure}"
    return activity_log(
        actor=actor,
        customer_id=customer.pk,
        kind=ActivityKind.EMAIL,
        outcome=outcome,
        subject=rendered_subject,
        notes=notes[:NOTES_MAX],
        email_to=address,
        message_id=message_id,
        source="email",
    )
