"""Writes for organisation and access: users, roles, tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils import timezone

from careline.accounts.choices import DEFAULT_ROLE_SCOPES, RoleCode
from careline.accounts.models import ApiToken, Branch, Notification, Role, RoleScope, Team, User
from careline.accounts.tokens import scopes_unpack, token_row
from careline.core.audit import audit_record
from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.models import AuditAction

TOKEN_PREFIX = "cl_"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def roles_ensure_defaults() -> None:
    """Create the eight standard roles and their default scopes when missing (idempotent)."""
    wanted = {
        (str(code), object_type) for code, scopes in DEFAULT_ROLE_SCOPES.items() for object_type in scopes
    }
    present = set(
        RoleScope.objects.filter(role__code__in=[c for c, _o in wanted]).values_list(
            "role__code", "object_type"
        )
    )
    if wanted <= present:
        return  # the usual case: one query instead of two per role and object type
    for code, scopes in DEFAULT_ROLE_SCOPES.items():
        role, _ = Role.objects.get_or_create(code=code, defaults={"name": str(RoleCode(code).label)})
        for object_type, (scope, actions) in scopes.items():
            RoleScope.objects.get_or_create(
                role=role, object_type=object_type, defaults={"scope": scope, "actions": actions}
            )


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    display_name: str = "",
    branch: Branch | None = None,
    team: Team | None = None,
    is_superuser: bool = False,
) -> User:
    """Create a staff account with a role (and optionally a branch and team)."""
    if role not in RoleCode.values:
        raise ValidationFailed(
            {"role": [f"Unknown role {role!r}. Choose one of: {', '.join(RoleCode.values)}."]}
        )
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError("duplicate_username", f"A user named {username!r} already exists.", status=409)
    if team is not None and branch is None:
        branch = team.branch
    if team is not None and branch is not None and team.branch_id != branch.pk:
        raise ValidationFailed({"team": ["The team belongs to another branch."]})
    roles_ensure_defaults()
    user = User(
        username=username,
        email=email,
        display_name=display_name,
        role=Role.objects.get(code=role),
        branch=branch,
        team=team,
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=user,
        changes={"username": username, "role": role, "branch": branch.pk if branch else None},
    )
    return user


@transaction.atomic
def token_create(*, actor: User, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a personal API token for `user`; returns the row and the raw token (shown once)."""
    if actor.pk != user.pk and not actor.is_superuser:
        raise NotFound()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:10], digest=token_digest(raw))
    audit_record(actor=actor, action=AuditAction.TOKEN_CREATE, obj=token, object_repr=f"{token.prefix}…")
    return token, raw


@transaction.atomic
def token_revoke(*, actor: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).first()
    if token is None or (token.user_id != actor.pk and not actor.is_superuser):
        raise NotFound()
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    audit_record(actor=actor, action=AuditAction.TOKEN_REVOKE, obj=token, object_repr=f"{token.prefix}…")
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user owning a valid, unrevoked token, or None. Updates last-used at most once a minute.

    One hand-written query (accounts/tokens.py) brings the token, the user, the role and the role's scopes,
    so an API request spends a single round trip and almost no Python on authentication."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    found = token_row(token_digest(raw))
    if found is None:
        return None
    token, packed_scopes = found
    user = token.user
    if not user.is_active:
        return None
    if user.role_id:
        user._careline_scopes = scopes_unpack(packed_scopes)
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


def login_recorded(*, user: Any, ok: bool, username: str = "") -> None:
    """Audit a sign-in attempt (called from the auth signal receivers)."""
    audit_record(
        actor=user if ok else None,
        action=AuditAction.LOGIN if ok else AuditAction.LOGIN_FAILED,
        object_type="accounts.user",
        object_id=getattr(user, "pk", "") or "",
        object_repr=username or (user.get_username() if user else ""),
        actor_label=username or (user.get_username() if user else ""),
    )


def logout_recorded(*, user: Any) -> None:
    if user is not None and getattr(user, "pk", None):
        audit_record(actor=user, action=AuditAction.LOGOUT, obj=user)


def notification_send(*, user: Any, kind: str, message: str, url: str = "") -> Notification | None:
    """Tell one staff member something (a lead allocated to them, a lead reclaimed and why…).
    Inactive users and missing users get nothing. Not audited: the event that caused it is."""
    notice = notification_build(user=user, kind=kind, message=message, url=url)
    if notice is not None:
        notice.save(force_insert=True)
    return notice


def notification_build(*, user: Any, kind: str, message: str, url: str = "") -> Notification | None:
    """The notification `notification_send` writes, not saved (None for an inactive or missing user): for a
    service that writes it with its other rows in one round trip (`core.rowwrite`)."""
    if user is None or not getattr(user, "is_active", False):
        return None
    return Notification(user=user, kind=kind, message=message[:500], url=url[:300])


def notifications_mark_read(*, actor: User, ids: list[int] | None = None) -> int:
    """Mark the actor's notifications read (all unread ones when `ids` is None). Returns how many."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


SYSTEM_USERNAME = "careline-system"

# The system user, per database alias, once its row is known to be committed (see `system_user`).
_system_users: dict[str, User] = {}


def system_user() -> User:
    """The actor for work nobody signed in for: web-form and webhook intake, scheduled allocation and
    reclaim. A superuser that cannot sign in (unusable password, no tokens); audit rows name it.

    Cached per process: every intake and allocation needs it, and it never changes. Only a row known to
    be committed is cached — one read outside a transaction, or after the transaction that read or created
    it commits for real (a test's rolled-back transaction never caches it) — and the cache is dropped
    when that user is saved or deleted and after `migrate`/`flush` (test databases come and go)."""
    alias = User.objects.db
    cached = _system_users.get(alias)
    if cached is not None:
        return cached
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        user = User(
            username=SYSTEM_USERNAME,
            display_name="Careline (hệ thống)",
            is_superuser=True,
            is_staff=False,
            is_active=True,
        )
        user.set_unusable_password()
        user.save()
    if not transaction.get_connection(alias).in_atomic_block:
        _system_users[alias] = user
    else:
        transaction.on_commit(lambda: _remember_system_user(alias, user), using=alias)
    return user


def _remember_system_user(alias: str, user: User) -> None:
    # A real commit runs its callbacks back in autocommit; a test capturing on_commit callbacks runs them
    # inside its own (later rolled back) transaction: not cached then.
    if not transaction.get_connection(alias).in_atomic_block:
        _system_users.setdefault(alias, user)


def _forget_system_user(sender: Any = None, **kwargs: Any) -> None:
    instance = kwargs.get("instance")
    if instance is None or getattr(instance, "username", None) == SYSTEM_USERNAME:
        _system_users.clear()


post_save.connect(_forget_system_user, sender=User, dispatch_uid="careline.accounts.system_user.save")
post_delete.connect(_forget_system_user, sender=User, dispatch_uid="careline.accounts.system_user.delete")
post_migrate.connect(_forget_system_user, dispatch_uid="careline.accounts.system_user.migrate")
