from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from oms.core.models import TimeStampedModel

# ISO 4217 codes the shop sells in; the minor units say how many decimals a price may have.
MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "JPY": 0}
CURRENCY_CHOICES = [
    ("USD", "USD · US dollar"),
    ("EUR", "EUR · Euro"),
    ("GBP", "GBP · Pound sterling"),
    ("CAD", "CAD · Canadian dollar"),
    ("AUD", "AUD · Australian dollar"),
    ("JPY", "JPY · Japanese yen"),
]

channel_code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$", "Use lower-case letters, digits, dash or underscore."
)


class Channel(TimeStampedModel):
    """Where orders come from; carries the promise (SLA) and the routing policy."""

    class Kind(models.TextChoices):
        WEB = "web", "Web shop"
        MARKETPLACE = "marketplace", "Marketplace"
        PHONE = "phone", "Phone"
        WHOLESALE = "wholesale", "Wholesale"
        STORE = "store", "Store"

    class RoutingPolicy(models.TextChoices):
        FASTEST = "fastest", "Fastest"
        CHEAPEST = "cheapest", "Cheapest"

    code = models.CharField(max_length=32, unique=True, validators=[channel_code_validator])
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    ship_within_hours = models.PositiveIntegerField(
        default=48, help_text="The promise: an order must ship within this many hours (SLA)."
    )
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower is served first when stock is short."
    )
    allow_split = models.BooleanField(
        default=False, help_text="May an order ship from several locations?"
    )
    routing_policy = models.CharField(
        max_length=16, choices=RoutingPolicy, default=RoutingPolicy.FASTEST
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.code


class Customer(TimeStampedModel):
    class Kind(models.TextChoices):
        RETAIL = "retail", "Retail"
        WHOLESALE = "wholesale", "Wholesale"

    code = models.CharField(
        max_length=32, blank=True, help_text="Account code (wholesale customers)."
    )
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.RETAIL)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True)
    credit_limit = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    payment_terms_days = models.PositiveIntegerField(
        default=0, help_text="0 = pays up front; 30 = net 30 (wholesale on terms)."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="customer_code_unique"
            ),
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="customer_credit_gte_0"),
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(kind="retail") & ~Q(email=""),
                name="customer_retail_email_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}" if self.code else self.name
