from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from oms.core.models import TimeStampedModel

sku_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9._-]*$", "Use capital letters, digits, dot, dash or underscore."
)


def gtin_validator(value: str) -> None:
    """GTIN-8/12/13/14 (EAN, UPC): digits only, right length, valid check digit."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        raise ValidationError("A GTIN (EAN/UPC) has 8, 12, 13 or 14 digits.", code="gtin")
    body, check = value[:-1], int(value[-1])
    # Weights 3,1,3,1... from the rightmost digit of the body.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        raise ValidationError(f"{value} has a wrong check digit.", code="gtin_check")


class Supplier(TimeStampedModel):
    """Who purchase orders go to. Lead time drives reorder-point suggestions."""

    code = models.CharField(max_length=32, unique=True, validators=[sku_validator])
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=7)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


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
    supplier = models.ForeignKey(
        Supplier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        help_text="Who replenishment orders this product from.",
    )
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
