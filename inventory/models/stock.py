from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from inventory.models.catalog import Product
from inventory.models.locations import Bin, Location
from oms.core.models import TimeStampedModel


class StockLevel(TimeStampedModel):
    """One product at one location. on_hand and reserved move only through inventory
    services (an F() update plus a ledger row); the database refuses impossible values."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    bin = models.ForeignKey(
        Bin,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where this product is picked at this location.",
    )
    on_hand = models.IntegerField(default=0, editable=False)
    reserved = models.IntegerField(default=0, editable=False)
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Kept back from what channels may sell."
    )
    reorder_point = models.PositiveIntegerField(default=0)
    reorder_qty = models.PositiveIntegerField(default=0)

    # Quantities are audited by the ledger; history records the settings staff edit.
    history = HistoricalRecords(excluded_fields=["on_hand", "reserved"])

    class Meta:
        ordering = ["product__sku", "location__priority"]
        permissions = [
            ("adjust_stock", "Can adjust stock"),
            ("receive_stock", "Can receive stock"),
            ("transfer_stock", "Can transfer stock"),
            ("count_stock", "Can count stock"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="stocklevel_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stocklevel_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.location.code}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved - self.safety_stock, 0)


class StockMovement(models.Model):
    """The append-only ledger: on_hand of a stock level is the sum of its movements."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SHIPMENT = "shipment", "Shipment"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER = "transfer", "Transfer"
        RETURN = "return", "Return"
        COUNT = "count", "Cycle count"

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    bin = models.ForeignKey(Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    on_hand_after = models.IntegerField()
    reason = models.CharField(max_length=16, choices=Reason)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="stockmovement_quantity_not_0")
        ]

    def __str__(self) -> str:
        return f"{self.quantity:+d} on stock level {self.stock_level_id} ({self.reason})"


class Reservation(models.Model):
    """Stock held at one location for one demand line (an order line, in production).

    The demand is generic so inventory never imports the apps above it (DESIGN.md 2).
    Only services change `state`, always together with StockLevel.reserved.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"
        CONSUMED = "consumed", "Consumed"

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="reservations"
    )
    demand_type = models.ForeignKey(  # indexed by reservation_demand_idx
        ContentType, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    demand_id = models.PositiveBigIntegerField()
    demand = GenericForeignKey("demand_type", "demand_id")
    quantity = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State, default=State.ACTIVE, editable=False)
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["demand_type", "demand_id"], name="reservation_demand_idx"),
            models.Index(
                fields=["stock_level"],
                name="reservation_active_idx",
                condition=Q(state="active"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × stock level {self.stock_level_id} ({self.state})"
