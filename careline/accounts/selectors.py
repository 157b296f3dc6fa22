"""Reads for organisation data."""

from __future__ import annotations

from django.db.models import QuerySet

from careline.accounts.models import ApiToken, Branch, Notification, Team, User
from careline.core.visibility import Scope


def user_list_assignable(*, actor: User) -> QuerySet[User]:
    """Users the actor may make owners of records: self for `own`, team/branch members, or everyone."""
    qs = (
        User.objects.filter(is_active=True)
        .select_related("team", "branch")
        .order_by("display_name", "username")
    )
    scope = actor.scope_for("customer")
    if scope == Scope.ALL:
        return qs
    if scope == Scope.BRANCH and actor.branch_id:
        return qs.filter(branch_id=actor.branch_id)
    if scope == Scope.TEAM and actor.team_id:
        return qs.filter(team_id=actor.team_id)
    return qs.filter(pk=actor.pk)


def team_list(*, actor: User) -> QuerySet[Team]:
    qs = Team.objects.select_related("branch")
    scope = actor.scope_for("customer")
    if scope == Scope.ALL:
        return qs
    if scope == Scope.BRANCH and actor.branch_id:
        return qs.filter(branch_id=actor.branch_id)
    if actor.team_id:
        return qs.filter(pk=actor.team_id)
    return qs.none()


def branch_list(*, actor: User) -> QuerySet[Branch]:
    if actor.scope_for("customer") == Scope.ALL:
        return Branch.objects.all()
    if actor.branch_id:
        return Branch.objects.filter(pk=actor.branch_id)
    return Branch.objects.none()


def token_list(*, actor: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor, revoked_at__isnull=True)


def notification_list(*, actor: User, unread_only: bool = False, limit: int = 20) -> list[Notification]:
    """The actor's own notifications, newest first."""
    qs = Notification.objects.filter(user=actor)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.order_by("-created_at", "-id")[:limit])


def notification_unread_count(*, actor: User) -> int:
    return Notification.objects.filter(user=actor, read_at__isnull=True).count()
