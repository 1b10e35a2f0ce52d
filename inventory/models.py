from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from oms.core.models import TimeStampedModel

sku_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9._-]*$", "Use capital letters, digits, dot, dash or underscore."
)
gtin_validator = RegexValidator(r"^(\d{8}|\d{12}|\d{13}|\d{14})$", "A GTIN has 8, 12, 13 or 14 digits.")


class Product(TimeStampedModel):
    sku = models.CharField("SKU", max_length=64, unique=True, validators=[sku_validator])
    barcode = models.CharField(
        max_length=14, blank=True, validators=[gtin_validator], help_text="GTIN / EAN / UPC"
    )
    name = models.CharField(max_length=200)
    weight_grams = models.PositiveIntegerField(default=0)
    length_mm = models.PositiveIntegerField(default=0)
    width_mm = models.PositiveIntegerField(default=0)
    height_mm = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["barcode"], condition=~Q(barcode=""), name="product_barcode_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class Location(TimeStampedModel):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"
        VENDOR = "vendor", "Vendor (dropship)"

    code = models.CharField(max_length=32, unique=True, validators=[sku_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.WAREHOUSE)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = CountryField()
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower ships first when several locations can."
    )
    fulfils_orders = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.code


class Bin(TimeStampedModel):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="bins")
    code = models.CharField(max_length=32)
    zone = models.CharField(max_length=32, blank=True)
    pick_sequence = models.PositiveIntegerField(
        default=0, help_text="Walk order on a pick list: lower is visited first."
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["location", "pick_sequence", "code"]
        constraints = [
            models.UniqueConstraint(fields=["location", "code"], name="bin_code_unique_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.location.code}/{self.code}"


class StockLevel(TimeStampedModel):
    """One product at one location. on_hand and reserved move only through inventory
    services (an F() update plus a ledger row); the database refuses impossible values."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0, editable=False)
    reserved = models.IntegerField(default=0, editable=False)
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Kept back from what channels may sell."
    )
    reorder_point = models.PositiveIntegerField(default=0)
    reorder_qty = models.PositiveIntegerField(default=0)

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
