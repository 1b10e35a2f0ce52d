"""GET /products/ and /products/{sku}/: the catalog, read-only, looked up by SKU."""

from rest_framework import serializers, viewsets

from inventory.filters import ProductFilter
from inventory.models import Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "sku",
            "barcode",
            "name",
            "weight_grams",
            "length_mm",
            "width_mm",
            "height_mm",
            "active",
            "updated_at",
        ]


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """Products, looked up by SKU."""

    queryset = Product.objects.order_by("sku")
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "sku"
    lookup_value_regex = "[^/]+"
