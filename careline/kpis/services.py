"""Every write to quota definitions goes through these functions (ARCHITECTURE §4).

Defining quotas needs the `configure` action on "quota". Where the actor may define them follows their
scope: `all` (admin) anywhere, including company-wide role quotas; `branch` (branch manager) role quotas
limited to a team of the branch or a person of the branch; `team` (supervisor) role quotas limited to
their team or a person of their team. Every write is audited with the before/after values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from careline.accounts.models import Role, Team, User
from careline.core.audit import audit_record, diff
from careline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditAction
from careline.core.visibility import Action, Scope, require_action
from careline.kpis.choices import Period, QuotaKind
from careline.kpis.models import Quota
from careline.kpis.selectors import OBJECT_TYPE, quotas_visible

EDITABLE = {"kind", "period", "target", "role", "team_id", "user_id", "active"}
MAX_TARGET = 100_000


def quota_snapshot(quota: Quota) -> dict[str, Any]:
    """The audited view of a quota."""
    return {
        "kind": quota.kind,
        "period": quota.period,
        "target": quota.target,
        "role": quota.role.code if quota.role_id and quota.role else None,
        "team_id": quota.team_id,
        "user_id": quota.user_id,
        "active": quota.active,
    }


def _in_configure_scope(actor: Any, *, team: Team | None, user: User | None) -> bool:
    """May the actor define a quota for this team (role quota) or this person?"""
    scope = actor.scope_for(OBJECT_TYPE)
    if scope == Scope.ALL:
        return True
    if user is not None:
        if scope == Scope.BRANCH:
            return bool(actor.branch_id) and actor.branch_id in (
                user.branch_id,
                user.team.branch_id if user.team_id and user.team else None,
            )
        if scope == Scope.TEAM:
            return bool(actor.team_id) and user.team_id == actor.team_id
        return False
    if team is None:
        return False  # company-wide role quotas: scope `all` only
    if scope == Scope.BRANCH:
        return bool(actor.branch_id) and team.branch_id == actor.branch_id
    if scope == Scope.TEAM:
        return bool(actor.team_id) and team.pk == actor.team_id
    return False


def _validated(*, actor: Any, data: Mapping[str, Any], current: Quota | None) -> dict[str, Any]:
    """Check the given fields, merged over `current`; return the model values to set."""
    unknown = set(data) - EDITABLE
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    kind = data.get("kind", current.kind if current else None)
    if kind not in QuotaKind.values:
        errors["kind"] = [_("Choose what the quota counts.")]
    values["kind"] = kind
    period = data.get("period", current.period if current else Period.DAY)
    if period not in Period.values:
        errors["period"] = [_("Choose day, week or month.")]
    values["period"] = period
    target = data.get("target", current.target if current else None)
    try:
        target = int(target) if target is not None and not isinstance(target, bool) else None
    except (TypeError, ValueError):
        target = None
    if target is None or target <= 0:
        errors["target"] = [_("Enter a target greater than 0.")]
    elif target > MAX_TARGET:
        errors["target"] = [_("At most %(n)d.") % {"n": MAX_TARGET}]
    values["target"] = target
    values["active"] = bool(data.get("active", current.active if current else True))

    # Who: a role (optionally limited to a team) xor one person.
    # Switching a quota from a role to a person (or back) only needs the new side.
    role_code = data.get("role", current.role.code if current and current.role else None)
    user_id = data.get("user_id", current.user_id if current else None)
    team_id = data.get("team_id", current.team_id if current else None)
    if data.get("user_id") and "role" not in data:
        role_code = None
        if "team_id" not in data:
            team_id = None
    if data.get("role") and "user_id" not in data:
        user_id = None
    role: Role | None = None
    user: User | None = None
    team: Team | None = None
    if bool(role_code) == bool(user_id):
        errors["role"] = [_("Set the quota either for a role or for one person.")]
    if role_code:
        role = Role.objects.filter(code=str(role_code)).first()
        if role is None:
            errors["role"] = [_("Unknown role “%(value)s”.") % {"value": role_code}]
    if user_id:
        user = User.objects.select_related("team").filter(pk=user_id, is_active=True).first()
        if user is None:
            errors["user_id"] = [_("Unknown person.")]
    if team_id:
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            errors["team_id"] = [_("Unknown team.")]
        elif user_id:
            errors["team_id"] = [_("A person's quota is not limited to a team.")]
    if not errors and not _in_configure_scope(actor, team=team, user=user):
        field = "user_id" if user_id else "team_id"
        errors[field] = [
            _("Choose a person of your team.")
            if user_id
            else _("Choose your team: you can only define quotas for the people you manage.")
        ]
    if errors:
        raise ValidationFailed(errors)
    values.update(role=role, team=team if role else None, user=user)
    return values


def _guard_duplicate(values: dict[str, Any], exclude_id: int | None) -> None:
    if not values["active"]:
        return
    clash = Quota.objects.filter(
        active=True,
        kind=values["kind"],
        period=values["period"],
        role=values["role"],
        team=values["team"],
        user=values["user"],
    )
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    existing = clash.first()
    if existing is not None:
        raise Conflict(
            "duplicate_quota",
            _("The same quota already exists (target %(target)d); change it instead.")
            % {"target": existing.target},
            {"existing_id": existing.pk},
        )


def _save(quota: Quota) -> None:
    try:
        quota.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
    quota.save()


@transaction.atomic
def quota_create(*, actor: Any, data: Mapping[str, Any]) -> Quota:
    """Define a quota: `kind`, `period`, `target` and either `role` (a role code, optionally with
    `team_id`) or `user_id`."""
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    values = _validated(actor=actor, data=data, current=None)
    _guard_duplicate(values, None)
    quota = Quota(**values)
    _save(quota)
    audit_record(actor=actor, action=AuditAction.CREATE, obj=quota, changes=diff({}, quota_snapshot(quota)))
    return quota


def _for_write(actor: Any, quota_id: int) -> Quota:
    quota = quotas_visible(actor=actor).select_for_update(of=("self",)).filter(pk=quota_id).first()
    if quota is None:
        raise NotFound(_("Quota not found."))
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    team = quota.team if quota.team_id else None
    user = User.objects.select_related("team").filter(pk=quota.user_id).first() if quota.user_id else None
    if not _in_configure_scope(actor, team=team, user=user):
        raise PermissionDenied(_("This quota is defined by someone above you; you cannot change it."))
    return quota


@transaction.atomic
def quota_update(*, actor: Any, quota_id: int, data: Mapping[str, Any]) -> Quota:
    """Change some fields of a quota (the same rules as creating one)."""
    quota = _for_write(actor, quota_id)
    before = quota_snapshot(quota)
    values = _validated(actor=actor, data=data, current=quota)
    _guard_duplicate(values, quota.pk)
    for name, value in values.items():
        setattr(quota, name, value)
    _save(quota)
    changes = diff(before, quota_snapshot(quota))
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=quota, changes=changes)
    return quota


@transaction.atomic
def quota_delete(*, actor: Any, quota_id: int) -> None:
    """Delete a quota definition (progress is computed, nothing else refers to it)."""
    quota = _for_write(actor, quota_id)
    before = quota_snapshot(quota)
    pk, label = quota.pk, str(quota)
    quota.delete()
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        object_type=Quota._meta.label_lower,
        object_id=pk,
        object_repr=label,
        changes=diff(before, {}),
    )


def quota_can_change(*, actor: Any, quota: Quota) -> bool:
    """Whether the actor may edit or delete this (visible) quota — for showing the buttons."""
    if not actor.allows(OBJECT_TYPE, Action.CONFIGURE):
        return False
    return _in_configure_scope(
        actor, team=quota.team if quota.team_id else None, user=quota.user if quota.user_id else None
    )
