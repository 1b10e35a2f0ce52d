from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from orders.models.parties import Channel


class ImportRun(models.Model):
    """One wholesale CSV file imported into a channel: its checksum, progress, counts,
    what became of each order (summary) and the rejected rows (error_report, a CSV ready
    to fix and re-import). A record, not a workflow: only the import service writes it.
    A dry run leaves none."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="import_runs")
    filename = models.CharField(max_length=255)
    checksum = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="SHA-256 of the file's bytes."
    )
    file = models.FileField(
        upload_to="imports/", blank=True, help_text="The uploaded file (background runs)."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    message = models.TextField(blank=True, help_text="Why the run failed.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_skipped = models.PositiveIntegerField(default=0)
    orders_rejected = models.PositiveIntegerField(default=0)
    error_report = models.TextField(
        blank=True, help_text="The rejected rows as CSV, with a reason column."
    )
    summary = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import"
        verbose_name_plural = "imports"
        permissions = [("import_orders", "Can import wholesale orders")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)
