from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from orders.models.orders import Order


class Hold(models.Model):
    """Why an order may not go on: open until someone (or the system) resolves it."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        ADDRESS = "address", "Address"
        FRAUD = "fraud", "Fraud review"
        CREDIT = "credit", "Credit limit"
        STOCK = "stock", "Stock"
        ROUTING = "routing", "Routing"
        CARRIER = "carrier", "Carrier"
        SLA = "sla", "SLA"
        MANUAL = "manual", "Manual"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(max_length=16, choices=Kind)
    reason = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.CharField(max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [
            models.Index(
                fields=["kind", "opened_at"],
                name="hold_open_queue_idx",
                condition=Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} hold on {self.order_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
