"""Organisation and access: branches, teams, roles with per-object-type scopes, users and API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from careline.accounts.choices import RoleCode, TeamKind
from careline.core.models import TimeStampedModel
from careline.core.visibility import Scope


class Branch(TimeStampedModel):
    """A centre or office (e.g. the Hà Nội centre); branch managers see everything in theirs."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    province = models.CharField(_("province"), max_length=2, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Team(TimeStampedModel):
    """A group of staff in a branch led by a supervisor (a sales team, a care team…)."""

    name = models.CharField(_("name"), max_length=120)
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="teams"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TeamKind.choices, default=TeamKind.SALES)
    leader = models.ForeignKey(
        "accounts.User",
        verbose_name=_("leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["branch__name", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "name"], name="accounts_team_unique_name_per_branch"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(TimeStampedModel):
    """A job role (consultant, supervisor…) whose visibility is defined by its RoleScope rows."""

    code = models.SlugField(_("code"), max_length=30, unique=True, choices=RoleCode.choices)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(RoleCode(self.code).label) if self.code in RoleCode.values else self.name


class RoleScope(models.Model):
    """What a role may see (scope) and do (actions) for one object type, e.g. consultants × customer."""

    role = models.ForeignKey(Role, verbose_name=_("role"), on_delete=models.CASCADE, related_name="scopes")
    object_type = models.CharField(_("object type"), max_length=40)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.OWN)
    actions = models.JSONField(_("actions"), default=list, blank=True)

    class Meta:
        verbose_name = _("role scope")
        verbose_name_plural = _("role scopes")
        ordering = ["role_id", "object_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "object_type"], name="accounts_rolescope_unique_object_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} · {self.object_type}: {self.scope}"


class User(AbstractUser):
    """A staff member who logs in to Careline. Superusers act as admins (scope `all`)."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    role = models.ForeignKey(
        Role, verbose_name=_("role"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    branch = models.ForeignKey(
        Branch,
        verbose_name=_("branch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    # --- visibility (core.visibility.ScopedActor) ------------------------------------------------
    def _scope_map(self) -> dict[str, tuple[str, frozenset[str]]]:
        cache: dict[str, tuple[str, frozenset[str]]] | None = getattr(self, "_careline_scopes", None)
        if cache is None:
            cache = {}
            if self.role_id:
                for rs in RoleScope.objects.filter(role_id=self.role_id).only(
                    "object_type", "scope", "actions"
                ):
                    cache[rs.object_type] = (rs.scope, frozenset(rs.actions or []))
            self._careline_scopes = cache
        return cache

    def scope_for(self, object_type: str) -> str:
        if self.is_superuser:
            return Scope.ALL
        return self._scope_map().get(object_type, (Scope.NONE, frozenset()))[0]

    def allows(self, object_type: str, action: str) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return action in self._scope_map().get(object_type, (Scope.NONE, frozenset()))[1]

    @property
    def role_code(self) -> str:
        if self.is_superuser and not self.role_id:
            return RoleCode.ADMIN
        return self.role.code if self.role_id and self.role else ""

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__.pop("_careline_scopes", None)
        super().refresh_from_db(*args, **kwargs)


class ApiToken(TimeStampedModel):
    """A personal API token (`Authorization: Bearer <token>`). Only its SHA-256 digest is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=12)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Notification(models.Model):
    """A message for one staff member (a lead allocated or reclaimed, a known customer asked again, a
    follow-up due…), shown under the bell in the top bar until read."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=30)
    message = models.CharField(_("message"), max_length=500)
    url = models.CharField(_("link"), max_length=300, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="accounts_notif_unread_idx")]

    def __str__(self) -> str:
        return self.message
