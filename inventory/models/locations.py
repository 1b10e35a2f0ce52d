from django.db import models
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from inventory.models.catalog import sku_validator
from oms.core.models import TimeStampedModel


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
    channel_codes = models.JSONField(
        default=list,
        blank=True,
        help_text='Channels this location sells for, e.g. ["store"]; empty = every channel.',
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.code

    def serves(self, channel_code: str | None) -> bool:
        return not channel_code or not self.channel_codes or channel_code in self.channel_codes


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
            models.UniqueConstraint(
                fields=["location", "code"], name="bin_code_unique_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.location.code}/{self.code}"
