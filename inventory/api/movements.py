"""Stock writes: adjustments (a delta or a counted value) and receipts (goods in). Both
book ledger movements through inventory services; nothing here writes a model."""

from collections.abc import Iterable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from inventory.api.base import (
    HasPermission,
    IllegalTransitionSerializer,
    LineListSerializer,
    StockConflictSerializer,
)
from inventory.models import Bin, Location, Product, PurchaseOrder, StockMovement
from inventory.services import ReceiptLine, stock_adjust, stock_receive

Reason = StockMovement.Reason
MAX_RECEIPT_LINES = 500

FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='{"field": ["message"]}, per line for receipts: {"lines": [{}, {"sku": [...]}]}. '
    "Nothing was written.",
)


def product_by_sku(sku: str) -> Product:
    product = Product.objects.filter(sku=sku.upper()).first()
    if product is None:
        raise serializers.ValidationError(f"Unknown SKU: {sku}")
    return product


def location_by_code(code: str) -> Location:
    location = Location.objects.filter(code=code.upper()).first()
    if location is None:
        raise serializers.ValidationError(f"Unknown location: {code}")
    return location


def bins_at(location: Location, codes: Iterable[str]) -> dict[str, Bin]:
    """The active bins with these codes at the location, by code (one query)."""
    bins = Bin.objects.filter(location=location, code__in=set(codes), active=True)
    return {found.code: found for found in bins}


# -- POST /stock-adjustments/ -----------------------------------------------------------


class StockAdjustmentInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.CharField(max_length=32)
    quantity = serializers.IntegerField(
        required=False, allow_null=True, help_text="Signed change to on hand (not 0)."
    )
    on_hand = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="A counted on-hand value; the difference is booked.",
    )
    reason = serializers.ChoiceField(
        choices=[Reason.ADJUSTMENT, Reason.COUNT, Reason.RETURN],
        default=Reason.ADJUSTMENT,
        help_text="Receipts, shipments and transfers have their own flows.",
    )
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)
    bin = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True, help_text="Bin code."
    )

    def validate_sku(self, sku: str) -> Product:
        return product_by_sku(sku)

    def validate_location(self, code: str) -> Location:
        return location_by_code(code)

    def validate_quantity(self, quantity: int | None) -> int | None:
        if quantity == 0:
            raise serializers.ValidationError("A change of 0 changes nothing.")
        return quantity

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("quantity") is None) == (attrs.get("on_hand") is None):
            message = "Give exactly one of quantity (a signed change) or on_hand (a count)."
            raise serializers.ValidationError({"quantity": [message], "on_hand": [message]})
        code = attrs.get("bin")
        attrs["bin"] = None
        if code:
            attrs["bin"] = bins_at(attrs["location"], [code]).get(code)
            if attrs["bin"] is None:
                raise serializers.ValidationError(
                    {"bin": [f"No active bin {code} at {attrs['location'].code}."]}
                )
        return attrs


class StockMovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="stock_level.product.sku")
    location = serializers.CharField(source="stock_level.location.code")

    class Meta:
        model = StockMovement
        fields = ["id", "sku", "location", "quantity", "on_hand_after", "reason", "reference", "at"]
        read_only_fields = fields


class NoChangeSerializer(serializers.Serializer):
    detail = serializers.CharField()
    sku = serializers.CharField()
    location = serializers.CharField()
    on_hand = serializers.IntegerField()


class StockAdjustmentViewSet(viewsets.GenericViewSet):
    """Adjust on hand by a signed change or to a counted value: one ledger movement."""

    permission_classes = [HasPermission.of("inventory.adjust_stock")]
    serializer_class = StockAdjustmentInputSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        operation_id="stock_adjustments_create",
        request=StockAdjustmentInputSerializer,
        responses={
            201: StockMovementSerializer,
            200: OpenApiResponse(NoChangeSerializer, description="The count equals on hand."),
            400: FIELD_ERRORS,
            409: OpenApiResponse(
                StockConflictSerializer, description="On hand would fall below reserved."
            ),
        },
    )
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        product, location = data.validated_data["sku"], data.validated_data["location"]
        movement = stock_adjust(
            product=product,
            location=location,
            quantity=data.validated_data.get("quantity"),
            counted=data.validated_data.get("on_hand"),
            reason=data.validated_data["reason"],
            reference=data.validated_data.get("reference", ""),
            note=data.validated_data.get("note", ""),
            bin=data.validated_data["bin"],
            actor=request.user,
        )
        if movement is None:
            answer = {
                "detail": "No change",
                "sku": product.sku,
                "location": location.code,
                "on_hand": data.validated_data["on_hand"],
            }
            return Response(NoChangeSerializer(answer).data)
        return Response(StockMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


# -- POST /receipts/ --------------------------------------------------------------------


class ReceiptLineInputSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = LineListSerializer

    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1)
    bin = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True, help_text="Bin code."
    )


class ReceiptInputSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=32)
    reference = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="A delivery note; the purchase order's number when blank.",
    )
    purchase_order = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The purchase order's number (PO-000123): its lines and status follow.",
    )
    lines = ReceiptLineInputSerializer(many=True)

    def validate_location(self, code: str) -> Location:
        return location_by_code(code)

    def validate_purchase_order(self, number: str | None) -> PurchaseOrder | None:
        if not number:
            return None
        purchase_order = PurchaseOrder.objects.filter(number=number.upper()).first()
        if purchase_order is None:
            raise serializers.ValidationError(f"Unknown purchase order: {number}")
        return purchase_order

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        if not lines:
            raise serializers.ValidationError("At least one line is required.")
        if len(lines) > MAX_RECEIPT_LINES:
            raise serializers.ValidationError(f"At most {MAX_RECEIPT_LINES} lines per receipt.")
        return lines

    def validate(self, attrs: dict) -> dict:
        """Each line's SKU and bin code (at the receiving location), two queries for all
        lines, every problem reported on its line at once. Against a purchase order a SKU
        may appear on one line only: the service checks the open quantity line by line, so
        a SKU split over two lines could receive more than is open."""
        location, lines = attrs["location"], attrs["lines"]
        products = Product.objects.in_bulk(
            [line["sku"].upper() for line in lines], field_name="sku"
        )
        bins = bins_at(location, [line["bin"] for line in lines if line.get("bin")])
        first_line: dict[int, int] = {}
        errors = []
        for number, line in enumerate(lines, start=1):
            problems = {}
            line["product"] = products.get(line["sku"].upper())
            if line["product"] is None:
                problems["sku"] = [f"Unknown SKU: {line['sku']}"]
            elif attrs.get("purchase_order"):
                seen = first_line.setdefault(line["product"].pk, number)
                if seen != number:
                    problems["sku"] = [
                        f"{line['product'].sku} is on line {seen} already: "
                        "receive a purchase order's SKU on one line."
                    ]
            code = line.get("bin")
            line["bin"] = bins.get(code) if code else None
            if code and line["bin"] is None:
                problems["bin"] = [f"No active bin {code} at {location.code}."]
            errors.append(problems)
        if any(errors):
            raise serializers.ValidationError({"lines": errors})
        return attrs


class ReceiptLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    on_hand_after = serializers.IntegerField()


class ReceiptSerializer(serializers.Serializer):
    location = serializers.CharField()
    reference = serializers.CharField()
    purchase_order = serializers.CharField(allow_null=True)
    lines = ReceiptLineSerializer(many=True)


class ReceiptViewSet(viewsets.GenericViewSet):
    """Goods in at one location, free or against a purchase order: all lines or none.
    After commit, the stock_available signal lets orders allocate waiting backorders."""

    permission_classes = [HasPermission.of("inventory.receive_stock")]
    serializer_class = ReceiptInputSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        operation_id="receipts_create",
        request=ReceiptInputSerializer,
        responses={
            201: ReceiptSerializer,
            400: FIELD_ERRORS,
            409: OpenApiResponse(
                IllegalTransitionSerializer, description="The purchase order is not open."
            ),
        },
    )
    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = data.validated_data["location"]
        purchase_order = data.validated_data.get("purchase_order")
        lines = [
            ReceiptLine(product=line["product"], quantity=line["quantity"], bin=line["bin"])
            for line in data.validated_data["lines"]
        ]
        movements = stock_receive(
            location=location,
            lines=lines,
            reference=data.validated_data.get("reference", ""),
            purchase_order=purchase_order,
            actor=request.user,
        )
        answer = {
            "location": location.code,
            "reference": movements[0].reference,
            "purchase_order": purchase_order.number if purchase_order else None,
            "lines": [
                {
                    "sku": line.product.sku,
                    "quantity": movement.quantity,
                    "on_hand_after": movement.on_hand_after,
                }
                for line, movement in zip(lines, movements, strict=True)
            ],
        }
        return Response(ReceiptSerializer(answer).data, status=status.HTTP_201_CREATED)
