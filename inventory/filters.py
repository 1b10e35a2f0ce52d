import django_filters
from django.db.models import Q

from inventory.models import Product


class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="sku", lookup_expr="iexact")
    barcode = django_filters.CharFilter(field_name="barcode")
    active = django_filters.BooleanFilter()
    q = django_filters.CharFilter(method="search", label="SKU, barcode or name contains")

    class Meta:
        model = Product
        fields = ["sku", "barcode", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(sku__icontains=value) | Q(barcode=value) | Q(name__icontains=value)
        )
