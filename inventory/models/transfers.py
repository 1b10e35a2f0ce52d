from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from inventory.models.catalog import Product
from inventory.models.locations import Location
from oms.core.models import TimeStampedModel


class Transfer(TimeStampedModel):
    """Stock moving between locations: out of one on dispatch, into the other on receipt;
    in between it is in transit and on hand nowhere."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_TRANSIT = "in_transit", "In transit"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True)
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    status = FSMField(choices=Status, default=Status.DRAFT, protected=True)
    expected_date = models.DateField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")), name="transfer_distinct_locations"
            )
        ]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=Status.DRAFT, target=Status.IN_TRANSIT)
    def dispatch(self) -> None:
        pass

    @transition(field=status, source=Status.IN_TRANSIT, target=Status.RECEIVED)
    def receive(self) -> None:
        pass

    @transition(field=status, source=Status.DRAFT, target=Status.CANCELLED)
    def cancel(self) -> None:
        pass


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transferline_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transferline_qty_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"
