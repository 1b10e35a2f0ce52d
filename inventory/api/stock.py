"""Stock reads: levels per SKU and location, and available to promise per channel."""

from django.apps import apps
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from inventory.api.base import HasPermission, split_codes
from inventory.filters import StockLevelFilter
from inventory.models import Product, StockLevel
from inventory.selectors import Promise, available_to_promise, stock_levels

MAX_SKUS = 100


# -- GET /stock-levels/ -----------------------------------------------------------------


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code")
    available = serializers.IntegerField(
        help_text="on_hand - reserved - safety_stock, never below 0."
    )

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "reserved", "safety_stock", "available"]
        read_only_fields = fields


class StockLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Stock per SKU and location, by SKU then location priority. Two queries a page
    (count, rows with product and location joined), however large the page."""

    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter

    def get_queryset(self):
        return stock_levels()


# -- GET /availability/ -----------------------------------------------------------------


class AvailabilityQuerySerializer(serializers.Serializer):
    sku = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    channel = serializers.CharField(max_length=32, required=False)
    quantity = serializers.IntegerField(min_value=1, default=1)

    def validate_sku(self, values: list[str]) -> list[str]:
        skus = split_codes(values)
        if not skus:
            raise serializers.ValidationError("At least one SKU is required.")
        if len(skus) > MAX_SKUS:
            raise serializers.ValidationError(
                f"At most {MAX_SKUS} SKUs per call; {len(skus)} were given."
            )
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        unknown = [sku for sku in skus if sku not in known]
        if unknown:
            raise serializers.ValidationError([f"Unknown SKU: {sku}" for sku in unknown])
        return skus

    def validate_channel(self, code: str) -> str:
        # Channels belong to orders, a layer above inventory (DESIGN.md section 2): look the
        # model up through the app registry at call time instead of importing it. Matching
        # the code against Location.channel_codes instead would accept anything, since a
        # location with no channel codes serves every channel.
        channel_model = apps.get_model("orders", "Channel")
        if not channel_model.objects.filter(code=code).exists():
            raise serializers.ValidationError(f"Unknown channel: {code}")
        return code


class IncomingSerializer(serializers.Serializer):
    expected_date = serializers.DateField(allow_null=True)
    quantity = serializers.IntegerField()
    reference = serializers.CharField(help_text="The purchase order or transfer number.")


class AvailabilitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    available = serializers.IntegerField(help_text="Free now across the channel's locations.")
    locations = serializers.DictField(
        child=serializers.IntegerField(), help_text="Free now per location code."
    )
    incoming = IncomingSerializer(many=True, help_text="Open purchase orders and transfers.")
    promise_date = serializers.DateField(
        allow_null=True,
        help_text="When `quantity` can ship: today, the expected date of the stock coming in "
        "that covers it, or null when nothing does.",
    )


def promise_row(promise: Promise, *, quantity: int) -> dict:
    incoming = sorted(promise.incoming, key=lambda item: (item[0] is None, item[0], item[2]))
    return {
        "sku": promise.sku,
        "available": promise.available,
        "locations": promise.by_location,
        "incoming": [
            {"expected_date": expected, "quantity": units, "reference": reference}
            for expected, units, reference in incoming
        ],
        "promise_date": promise.date_for(quantity),
    }


class AvailabilityViewSet(viewsets.ViewSet):
    """Available to promise per SKU across the active locations that fulfil orders for the
    channel (every fulfilling location when no channel is given)."""

    permission_classes = [HasPermission.of("inventory.view_stocklevel")]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        operation_id="availability_list",
        parameters=[
            OpenApiParameter(
                "sku",
                OpenApiTypes.STR,
                many=True,
                required=True,
                explode=True,
                description=f"SKUs: repeat the parameter or separate by commas; at most {MAX_SKUS}.",
            ),
            OpenApiParameter(
                "channel",
                OpenApiTypes.STR,
                description="Channel code (web, ...): only the locations that serve it count.",
            ),
            OpenApiParameter(
                "quantity",
                OpenApiTypes.INT,
                description="The quantity promise_date is for (default 1).",
            ),
        ],
        responses={
            200: AvailabilitySerializer(many=True),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='{"sku": ["Unknown SKU: X"]}, {"channel": [...]}, ...',
            ),
        },
    )
    def list(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        skus, quantity = query.validated_data["sku"], query.validated_data["quantity"]
        promises = available_to_promise(skus=skus, channel_code=query.validated_data.get("channel"))
        rows = [promise_row(promises[sku], quantity=quantity) for sku in skus]
        return Response(AvailabilitySerializer(rows, many=True).data)
