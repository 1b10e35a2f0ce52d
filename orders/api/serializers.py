"""What the order endpoints read and answer. Input and output are separate (STYLE.md 8):
capture's input is checked by the capture service itself (orders/validation.py, the same
rules for every channel), so its serializer here only documents the shape."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Hold, Order, OrderEvent, OrderLine
from orders.validation import PAYMENT_STATUSES

# -- input ------------------------------------------------------------------------------


class CaptureCustomerSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="Any format; stored E.164."
    )
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="An existing account code (wholesale); otherwise matched by e-mail.",
    )


class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="Required unless the country has no postcodes; checked for US, CA, GB, ...",
    )
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class CaptureLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="An active product's SKU.")
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class CapturePaymentSerializer(serializers.Serializer):
    # A plain string with its values listed (not a choice field): a second enum for a
    # field named "status" would clash with the order's StatusEnum in the schema.
    status = serializers.CharField(help_text=f"One of: {', '.join(PAYMENT_STATUSES)}.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class OrderCaptureSerializer(serializers.Serializer):
    """An order from any channel (API.md "Orders")."""

    channel = serializers.CharField(max_length=32, help_text="An active channel's code (web, ...).")
    external_ref = serializers.CharField(
        max_length=100, help_text="The channel's own reference; one order per channel and ref."
    )
    placed_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217; default: the channel's."
    )
    customer = CaptureCustomerSerializer(required=False)
    ship_to = AddressSerializer()
    lines = CaptureLineSerializer(many=True)
    payment = CapturePaymentSerializer(required=False)
    requested_ship_date = serializers.DateField(required=False)
    po_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    priority = serializers.IntegerField(
        min_value=0, required=False, help_text="Lower is served first; default: the channel's."
    )
    notes = serializers.CharField(required=False, allow_blank=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500, allow_blank=True, default="", help_text="Why (required, not blank)."
    )


class HoldOpenSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Hold.Kind.choices)
    reason = serializers.CharField(
        max_length=500, allow_blank=True, default="", help_text="Why (required, not blank)."
    )


class HoldResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, allow_blank=True, default="")


# -- output -----------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = [
            "line_no",
            "sku",
            "quantity",
            "unit_price",
            "quantity_reserved",
            "quantity_shipped",
            "quantity_cancelled",
        ]
        read_only_fields = fields


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = ["id", "kind", "reason", "opened_at", "resolved_at", "resolution_note"]
        read_only_fields = fields


class HoldResultSerializer(HoldSerializer):
    """A hold after opening or resolving it, with where that left its order."""

    order = serializers.CharField(source="order.number", read_only=True)
    order_status = serializers.CharField(
        source="order.status",
        read_only=True,
        help_text="The order's status now: on_hold while any hold is open; confirmed, "
        "allocated or backordered once the last one is resolved.",
    )

    class Meta(HoldSerializer.Meta):
        fields = [*HoldSerializer.Meta.fields, "order", "order_status"]
        read_only_fields = fields


class TotalsSerializer(serializers.Serializer):
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class ShipToSerializer(serializers.Serializer):
    name = serializers.CharField(source="ship_name")
    company = serializers.CharField(source="ship_company")
    line1 = serializers.CharField(source="ship_line1")
    line2 = serializers.CharField(source="ship_line2")
    city = serializers.CharField(source="ship_city")
    region = serializers.CharField(source="ship_region")
    postcode = serializers.CharField(source="ship_postcode")
    country = serializers.CharField(source="ship_country")
    phone = serializers.CharField(source="ship_phone")


class CustomerSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField(
        help_text="The user's username, or the part of the system that acted."
    )

    class Meta:
        model = OrderEvent
        fields = ["kind", "message", "actor", "at", "data"]
        read_only_fields = fields

    def get_actor(self, event: OrderEvent) -> str:
        return _actor(event)


def _actor(event: OrderEvent) -> str:
    return event.actor.get_username() if event.actor else (event.system or "system")


class OrderSummarySerializer(serializers.ModelSerializer):
    """An order in a list: its state, lines and holds, without address or timeline."""

    channel = serializers.CharField(source="channel.code", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    holds = HoldSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "channel",
            "external_ref",
            "status",
            "payment_status",
            "placed_at",
            "ship_by",
            "currency",
            "total",
            "email",
            "lines",
            "holds",
        ]
        read_only_fields = fields


class OrderSerializer(OrderSummarySerializer):
    """One order in full: lines, holds, shipments and timeline."""

    totals = TotalsSerializer(source="*", read_only=True)
    customer = serializers.SerializerMethodField()
    ship_to = ShipToSerializer(source="*", read_only=True)
    shipments = serializers.SerializerMethodField(
        help_text="The order's shipments (fulfilment): none yet in this version."
    )
    timeline = EventSerializer(source="events", many=True, read_only=True)

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            "number",
            "channel",
            "external_ref",
            "status",
            "payment_status",
            "placed_at",
            "ship_by",
            "requested_ship_date",
            "priority",
            "currency",
            "totals",
            "customer",
            "ship_to",
            "po_number",
            "notes",
            "lines",
            "holds",
            "shipments",
            "timeline",
        ]
        read_only_fields = fields

    @extend_schema_field(CustomerSerializer(allow_null=True))
    def get_customer(self, order: Order) -> dict | None:
        return _customer(order)

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_shipments(self, order: Order) -> list:
        return []  # fulfilment's shipments: none yet in this version

    def to_representation(self, order: Order) -> dict:
        # The fields above say the shape (and the OpenAPI schema); this writes it. DRF
        # builds a ModelSerializer's fields again for every instance and nested list,
        # which was a third of a POST's CPU (bench/bench_orders.py); the same output,
        # field for field, is checked in tests/orders/test_api_representation.py.
        return order_representation(order)


# Formatting exactly as the declared fields do (time zone, "Z", decimals as strings).
_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_MONEY = serializers.DecimalField(max_digits=14, decimal_places=2)
_PRICE = serializers.DecimalField(max_digits=12, decimal_places=2)


def _when(value):
    return None if value is None else _DATETIME.to_representation(value)


def _customer(order: Order) -> dict | None:
    customer = order.customer
    if customer is None:
        return None
    return {
        "code": customer.code,
        "name": customer.name,
        "email": order.email or customer.email,
        "phone": customer.phone,
    }


def order_representation(order: Order) -> dict:
    """OrderSerializer's output for `order` (with its lines, holds and events loaded)."""
    return {
        "number": order.number,
        "channel": order.channel.code,
        "external_ref": order.external_ref,
        "status": order.status,
        "payment_status": order.payment_status,
        "placed_at": _when(order.placed_at),
        "ship_by": _when(order.ship_by),
        "requested_ship_date": (
            None
            if order.requested_ship_date is None
            else _DATE.to_representation(order.requested_ship_date)
        ),
        "priority": order.priority,
        "currency": order.currency,
        "totals": {
            "subtotal": _MONEY.to_representation(order.subtotal),
            "shipping_total": _MONEY.to_representation(order.shipping_total),
            "total": _MONEY.to_representation(order.total),
        },
        "customer": _customer(order),
        "ship_to": {
            "name": order.ship_name,
            "company": order.ship_company,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postcode": order.ship_postcode,
            "country": str(order.ship_country),
            "phone": order.ship_phone,
        },
        "po_number": order.po_number,
        "notes": order.notes,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": _PRICE.to_representation(line.unit_price),
                "quantity_reserved": line.quantity_reserved,
                "quantity_shipped": line.quantity_shipped,
                "quantity_cancelled": line.quantity_cancelled,
            }
            for line in order.lines.all()
        ],
        "holds": [
            {
                "id": hold.id,
                "kind": hold.kind,
                "reason": hold.reason,
                "opened_at": _when(hold.opened_at),
                "resolved_at": _when(hold.resolved_at),
                "resolution_note": hold.resolution_note,
            }
            for hold in order.holds.all()
        ],
        "shipments": [],
        "timeline": [
            {
                "kind": event.kind,
                "message": event.message,
                "actor": _actor(event),
                "at": _when(event.at),
                "data": event.data,
            }
            for event in order.events.all()
        ],
    }


# -- errors (for the schema; oms/core/api_errors.py writes them) -------------------------


class OrderErrorSerializer(serializers.Serializer):
    """A refusal: 404 for an unknown order or hold."""

    detail = serializers.CharField()
    code = serializers.CharField()


class OrderTransitionErrorSerializer(OrderErrorSerializer):
    """409: the order's (or hold's) state refuses the change; nothing was changed."""

    status = serializers.CharField(help_text="The order's current, unchanged status.")


class OrderConflictSerializer(OrderTransitionErrorSerializer):
    """409: this channel and reference already have an order with different content."""

    number = serializers.CharField(help_text="The existing order's number.")
