from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django_countries.fields import CountryField
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from inventory.models import Product
from oms.core.models import TimeStampedModel
from orders.models.parties import CURRENCY_CHOICES, Channel, Customer


class OrderSequence(models.Model):
    """The last order number handed out per year. Taken under a row lock inside the
    capture transaction, so a rolled-back capture gives its number back: no gaps."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Order(ConcurrentTransitionMixin, TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ON_HOLD = "on_hold", "On hold"
        CONFIRMED = "confirmed", "Confirmed"
        BACKORDERED = "backordered", "Backordered"
        ALLOCATED = "allocated", "Allocated"
        IN_FULFILMENT = "in_fulfilment", "In fulfilment"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        AUTHORIZED = "authorized", "Authorized"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        ON_TERMS = "on_terms", "On account (terms)"
        REFUNDED = "refunded", "Refunded"

    # Before the first shipment leaves: may still be cancelled or edited.
    CANCELLABLE = (
        Status.PENDING,
        Status.ON_HOLD,
        Status.CONFIRMED,
        Status.BACKORDERED,
        Status.ALLOCATED,
        Status.IN_FULFILMENT,
    )

    # Every index here is written at each capture (a dozen a second and more): no index
    # another one already covers (channel: the (channel, external_ref) constraint's; status:
    # order_queue_idx's), no LIKE twin (search is icontains, which uses neither).
    number = models.CharField(max_length=20)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    external_ref = models.CharField(max_length=100)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    status = FSMField(choices=Status, default=Status.PENDING, protected=True)
    payment_status = models.CharField(
        max_length=16, choices=PaymentStatus, default=PaymentStatus.UNPAID
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    shipping_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    email = models.EmailField(blank=True)
    ship_name = models.CharField(max_length=200)
    ship_company = models.CharField(max_length=200, blank=True)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postcode = models.CharField(max_length=20, blank=True)
    ship_country = CountryField()
    ship_phone = models.CharField(max_length=32, blank=True)
    placed_at = models.DateTimeField(db_index=True)
    ship_by = models.DateTimeField(db_index=True)
    requested_ship_date = models.DateField(null=True, blank=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower is served first.")
    po_number = models.CharField("PO number", max_length=100, blank=True)
    notes = models.TextField(blank=True)
    request_digest = models.CharField(
        max_length=64, editable=False, help_text="Hash of the captured request (idempotency)."
    )

    # History rows are read per order (by id) and by date, nothing else.
    history = HistoricalRecords(
        excluded_fields=["request_digest"],
        no_db_index=[
            "number",
            "channel",
            "customer",
            "status",
            "email",
            "placed_at",
            "ship_by",
            "created_at",
        ],
    )

    class Meta:
        ordering = ["-placed_at", "-id"]
        permissions = [
            ("hold_order", "Can put orders on hold and resolve holds"),
            ("cancel_order", "Can cancel orders"),
            ("capture_order", "Can enter orders (phone orders)"),
            ("edit_order", "Can edit orders before release (address, lines, priority)"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            # Invariant 6: a retried or re-imported order is never a duplicate.
            models.UniqueConstraint(
                fields=["channel", "external_ref"], name="order_channel_ref_unique"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0"),
        ]
        indexes = [
            models.Index(fields=["status", "priority", "placed_at"], name="order_queue_idx"),
            models.Index(fields=["email"], name="order_email_idx"),
            # The fraud rule's orders-per-address-per-hour look-up, at every capture.
            models.Index(
                Lower("ship_line1"), "ship_postcode", "placed_at", name="order_address_time_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # Transitions only check and set the status (STYLE.md 3); services do the rest.
    @transition(field=status, source=Status.PENDING, target=Status.CONFIRMED)
    def confirm(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.PENDING, Status.CONFIRMED, Status.BACKORDERED, Status.ALLOCATED],
        target=Status.ON_HOLD,
    )
    def hold(self) -> None:
        pass

    @transition(field=status, source=Status.ON_HOLD, target=Status.CONFIRMED)
    def release_hold(self) -> None:
        pass

    @transition(
        field=status, source=[Status.CONFIRMED, Status.BACKORDERED], target=Status.ALLOCATED
    )
    def allocate(self) -> None:
        pass

    @transition(field=status, source=Status.CONFIRMED, target=Status.BACKORDERED)
    def backorder(self) -> None:
        pass

    @transition(field=status, source=Status.ALLOCATED, target=Status.IN_FULFILMENT)
    def release_to_warehouse(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.IN_FULFILMENT, Status.PARTIALLY_SHIPPED],
        target=Status.PARTIALLY_SHIPPED,
    )
    def ship_part(self) -> None:
        pass

    @transition(
        field=status, source=[Status.IN_FULFILMENT, Status.PARTIALLY_SHIPPED], target=Status.SHIPPED
    )
    def ship(self) -> None:
        pass

    @transition(field=status, source=Status.SHIPPED, target=Status.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=status, source=CANCELLABLE, target=Status.CANCELLED)
    def cancel(self) -> None:
        pass


class OrderLine(models.Model):
    order = models.ForeignKey(  # indexed by orderline_unique_no
        Order, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField("SKU", max_length=64, help_text="As ordered.")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity_reserved = models.PositiveIntegerField(default=0, editable=False)
    quantity_shipped = models.PositiveIntegerField(default=0, editable=False)
    quantity_returned = models.PositiveIntegerField(default=0, editable=False)
    quantity_cancelled = models.PositiveIntegerField(default=0, editable=False)

    history = HistoricalRecords(no_db_index=["order", "product"])

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_no"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_gte_0"),
            # Invariant 3, in the database as well as in services.
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_reserved")
                    + F("quantity_shipped")
                    + F("quantity_cancelled")
                ),
                name="orderline_reserved_shipped_lte_ordered",
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_shipped")),
                name="orderline_returned_lte_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_no} {self.quantity} × {self.sku}"

    @property
    def quantity_open(self) -> int:
        """Still to reserve: ordered, less cancelled, shipped and reserved."""
        return (
            self.quantity - self.quantity_cancelled - self.quantity_shipped - self.quantity_reserved
        )

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * (self.quantity - self.quantity_cancelled)
