"""Jobs: long-running imports and exports with their progress, counts, row errors and result files."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careline.core.models import TimeStampedModel
from careline.imports.choices import JobKind, JobStatus


class Job(TimeStampedModel):
    """One import or export run: who started it, with which options, how far it got and what came out.

    Live progress while running is kept in the cache (see `imports.progress`) so it is visible outside the
    job's own transaction; the row holds the final figures.
    """

    kind = models.CharField(_("kind"), max_length=10, choices=JobKind.choices)
    entity = models.CharField(_("entity"), max_length=30, default="customers")
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT, related_name="jobs"
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    source_name = models.CharField(_("file name"), max_length=255, blank=True)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    result_name = models.CharField(_("result file"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "-created_at"], name="imports_job_actor_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class SavedMapping(TimeStampedModel):
    """A column mapping a user saved to reuse for files with the same headers (e.g. their old CRM export)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_mappings",
    )
    name = models.CharField(_("name"), max_length=100)
    entity = models.CharField(_("entity"), max_length=30, default="customers")
    headers = models.JSONField(_("headers"), default=list)
    columns = models.JSONField(_("columns"), default=list)

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "entity", "name"], name="imports_savedmapping_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
