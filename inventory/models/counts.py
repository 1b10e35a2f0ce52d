from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from inventory.models.locations import Location
from inventory.models.stock import StockLevel
from oms.core.models import TimeStampedModel


class CycleCount(TimeStampedModel):
    """A count sheet for one location (optionally one zone). Posting turns each variance
    into a ledger movement with reason `count`."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="counts")
    zone = models.CharField(max_length=32, blank=True)
    status = FSMField(choices=Status, default=Status.OPEN, protected=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Count #{self.pk} {self.location.code}{' / ' + self.zone if self.zone else ''}"

    @transition(field=status, source=Status.OPEN, target=Status.POSTED)
    def post(self) -> None:
        pass

    @transition(field=status, source=Status.OPEN, target=Status.CANCELLED)
    def cancel(self) -> None:
        pass


class CycleCountLine(models.Model):
    count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="On hand when the sheet was made.")
    counted = models.PositiveIntegerField(null=True, blank=True)
    variance = models.IntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "stock_level"], name="countline_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stock_level} counted {self.counted}"
