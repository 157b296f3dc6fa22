"""Targets and how people are doing against them: activity quotas (calls ≥ 30/day…), later KPI
scorecards and reports. Progress is computed from activities (`careline.activities`) in local time."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careline.core.models import TimeStampedModel
from careline.kpis.choices import Period, QuotaKind


class Quota(TimeStampedModel):
    """A target: at least `target` of `kind` per `period`, for everyone in a role (optionally only in a
    team) or for one person (a person's quota replaces the role's for the same kind and period)."""

    kind = models.CharField(_("counts"), max_length=16, choices=QuotaKind.choices)
    period = models.CharField(_("period"), max_length=5, choices=Period.choices, default=Period.DAY)
    target = models.PositiveIntegerField(_("target"))
    role = models.ForeignKey(
        "accounts.Role",
        verbose_name=_("role"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["kind", "period", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__isnull=False, user__isnull=True) | Q(role__isnull=True, user__isnull=False),
                name="kpis_quota_role_xor_user",
            ),
            models.CheckConstraint(condition=Q(target__gt=0), name="kpis_quota_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ≥ {self.target}/{self.get_period_display()}"
