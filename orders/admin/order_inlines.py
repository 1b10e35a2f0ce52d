"""The rows on the order page: lines, holds and payments, read-only (services write them)."""

from django.utils.safestring import SafeString
from unfold.decorators import display

from orders.admin.base import ReadOnlyInline, badge
from orders.models import Hold, OrderLine, Payment


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "line_no",
        "sku",
        "product_name",
        "wanted",
        "reserved",
        "shipped",
        "returned",
        "cancelled",
        "unit_price",
        "amount",
    ]
    readonly_fields = fields
    verbose_name_plural = "lines"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @display(description="product")
    def product_name(self, line: OrderLine) -> str:
        return line.product.name

    @display(description="quantity")
    def wanted(self, line: OrderLine) -> str:
        """Ordered less cancelled: what the customer still wants."""
        return str(line.quantity - line.quantity_cancelled)

    @display(description="reserved")
    def reserved(self, line: OrderLine) -> int:
        return line.quantity_reserved

    @display(description="shipped")
    def shipped(self, line: OrderLine) -> int:
        return line.quantity_shipped

    @display(description="returned")
    def returned(self, line: OrderLine) -> int:
        return line.quantity_returned

    @display(description="cancelled")
    def cancelled(self, line: OrderLine) -> int:
        return line.quantity_cancelled

    @display(description="amount")
    def amount(self, line: OrderLine) -> str:
        return f"{line.line_total}"


class HoldInline(ReadOnlyInline):
    model = Hold
    fields = [
        "kind",
        "reason",
        "opened_at",
        "opened_by",
        "state",
        "resolved_at",
        "resolved_by",
        "resolution_note",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("opened_by", "resolved_by")

    @display(description="state")
    def state(self, hold: Hold) -> SafeString:
        return badge("open", "danger") if hold.is_open else badge("resolved", "success")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["status", "amount", "currency", "reference", "created_at"]
    readonly_fields = fields
