from django.db import models
from django.utils.translation import gettext_lazy as _


class JobKind(models.TextChoices):
    IMPORT = "import", _("Import")
    EXPORT = "export", _("Export")


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Uploaded, not started")
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")


class ImportMode(models.TextChoices):
    CREATE = "create", _("Create new customers only")
    UPDATE = "update", _("Create new and update matching customers")
    SKIP = "skip", _("Create new, skip matching customers")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
