from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from inventory.models.catalog import Product, Supplier
from inventory.models.locations import Location
from oms.core.models import TimeStampedModel


class PurchaseOrder(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ORDERED = "ordered", "Ordered"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    OPEN = (Status.DRAFT, Status.ORDERED, Status.PARTIALLY_RECEIVED)

    number = models.CharField(max_length=32, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="purchase_orders", help_text="Deliver to"
    )
    status = FSMField(choices=Status, default=Status.DRAFT, protected=True)
    expected_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [("place_purchaseorder", "Can place purchase orders")]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=Status.DRAFT, target=Status.ORDERED)
    def place(self) -> None:
        """Sent to the supplier; its lines now count as on order."""

    @transition(
        field=status,
        source=[Status.ORDERED, Status.PARTIALLY_RECEIVED],
        target=Status.PARTIALLY_RECEIVED,
    )
    def receive_part(self) -> None:
        pass

    @transition(
        field=status, source=[Status.ORDERED, Status.PARTIALLY_RECEIVED], target=Status.RECEIVED
    )
    def receive_all(self) -> None:
        pass

    @transition(field=status, source=[Status.DRAFT, Status.ORDERED], target=Status.CANCELLED)
    def cancel(self) -> None:
        pass


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0, editable=False)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="poline_unique_product"
            ),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="poline_ordered_gt_0"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_ordered")),
                name="poline_received_lte_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} × {self.product_id}"

    @property
    def quantity_open(self) -> int:
        return self.quantity_ordered - self.quantity_received
