"""Record visibility as data (ARCHITECTURE §1).

A role grants, per object type, a *scope* (`own`, `team`, `branch`, `all`) and a set of *actions*.
Selectors call `restrict()` so every read is limited to what the actor may see; services call
`require_action()` before writing. Objects outside the scope answer 404 (never 403): callers use
`restrict(...).filter(pk=...)` and treat "no row" as not found.

`core` imports no domain app: the user object is duck-typed (`scope_for`, `allows`, `team_id`,
`branch_id`, `pk`) and implemented by `careline.accounts.models.User`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careline.core.errors import PermissionDenied


class Scope(models.TextChoices):
    NONE = "none", _("Nothing")
    OWN = "own", _("Own records")
    TEAM = "team", _("Team's records")
    BRANCH = "branch", _("Branch's records")
    ALL = "all", _("All records")


class Action(models.TextChoices):
    VIEW = "view", _("View")
    ADD = "add", _("Create")
    CHANGE = "change", _("Edit")
    DELETE = "delete", _("Archive / delete")
    MERGE = "merge", _("Merge")
    IMPORT = "import", _("Import")
    EXPORT = "export", _("Export")
    OVERRIDE_DUPLICATE = "override_duplicate", _("Create despite a duplicate")
    ASSIGN = "assign", _("Assign / reclaim")
    CONFIGURE = "configure", _("Configure (rules, quotas, channels)")


class ScopedActor(Protocol):
    pk: Any
    team_id: int | None
    branch_id: int | None
    is_authenticated: bool

    def scope_for(self, object_type: str) -> str: ...

    def allows(self, object_type: str, action: str) -> bool: ...


@dataclass(frozen=True)
class ScopeFields:
    """Which fields of a model carry ownership. Any of them may be None when the model lacks it."""

    owner: str | None = "owner"
    team: str | None = "team"
    branch: str | None = "branch"


def scope_q(actor: ScopedActor, scope: str, fields: ScopeFields) -> Q | None:
    """The filter for a scope; None means "no restriction" and `Q(pk__in=[])` means nothing."""
    if scope == Scope.ALL:
        return None
    nothing = Q(pk__in=[])
    owner_q = Q(**{f"{fields.owner}_id": actor.pk}) if fields.owner else nothing
    if scope == Scope.OWN:
        # Own records plus the unassigned ones waiting in the team's queue.
        if fields.owner and fields.team and actor.team_id:
            return owner_q | Q(**{f"{fields.owner}__isnull": True, f"{fields.team}_id": actor.team_id})
        return owner_q
    if scope == Scope.TEAM:
        if fields.team and actor.team_id:
            return owner_q | Q(**{f"{fields.team}_id": actor.team_id})
        return owner_q
    if scope == Scope.BRANCH:
        if fields.branch and actor.branch_id:
            return owner_q | Q(**{f"{fields.branch}_id": actor.branch_id})
        return owner_q
    return nothing


def restrict[M: models.Model](
    queryset: models.QuerySet[M], *, actor: ScopedActor | Any, object_type: str, fields: ScopeFields
) -> models.QuerySet[M]:
    """Limit `queryset` to the rows `actor` may see. Anonymous or scope-less actors see nothing."""
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not getattr(actor, "is_active", True)
    ):
        return queryset.none()
    scope = actor.scope_for(object_type)
    if scope == Scope.NONE or not actor.allows(object_type, Action.VIEW):
        return queryset.none()
    q = scope_q(actor, scope, fields)
    return queryset if q is None else queryset.filter(q)


def require_action(actor: ScopedActor | Any, object_type: str, action: str) -> None:
    """Raise PermissionDenied (403) unless the actor's role allows `action` on `object_type`."""
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.allows(object_type, action)
    ):
        raise PermissionDenied()
