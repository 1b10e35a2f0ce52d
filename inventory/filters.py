from django import forms
from django.db.models import F, Q
from django_filters import rest_framework as filters
from django_filters.widgets import BaseCSVWidget

from inventory.models import Product, StockLevel


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is a 400 naming the field, not a silently
    ignored filter that returns every row."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        choice = {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())
        if choice is None:
            raise forms.ValidationError("Use true or false.", code="invalid")
        return choice


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        # DRF's BooleanFilter reads through BooleanWidget, which turns garbage into None.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class ProductFilter(filters.FilterSet):
    sku = filters.CharFilter(
        field_name="sku", lookup_expr="iexact", label="SKU (exact, case-insensitive)"
    )
    barcode = filters.CharFilter(field_name="barcode", label="GTIN / EAN / UPC (exact)")
    active = StrictBooleanFilter(label="Active (true or false)")
    q = filters.CharFilter(method="search", label="SKU or name contains, or barcode equals")

    class Meta:
        model = Product
        fields = ["sku", "barcode", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(sku__icontains=value) | Q(barcode=value) | Q(name__icontains=value)
        )


class RepeatableCSVWidget(BaseCSVWidget, forms.TextInput):
    """`?sku=A&sku=B`, `?sku=A,B` and a mix of the two all read as ["A", "B"]."""

    def value_from_datadict(self, data, files, name):
        if name not in data:
            return None
        raw = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


class CodesFilter(filters.BaseInFilter, filters.CharFilter):
    """One or more SKUs or location codes, repeated or comma-separated. Both kinds of code
    are capitals by their validator, so lower-case input is matched as capitals."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", RepeatableCSVWidget)
        kwargs.setdefault(
            "help_text",
            f"{kwargs.get('label', 'Codes')}: repeat the parameter or separate values by commas.",
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value:
            value = sorted({code.upper() for code in value})
        return super().filter(qs, value)


class StockLevelFilter(filters.FilterSet):
    sku = CodesFilter(field_name="product__sku", label="One or more SKUs")
    location = CodesFilter(field_name="location__code", label="One or more location codes")
    below_reorder_point = StrictBooleanFilter(
        method="filter_below_reorder_point",
        label=(
            "true: levels with a reorder point whose available (on hand - reserved - safety "
            "stock) is at or below it, as stock.low reports them; false: the others"
        ),
    )

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "below_reorder_point"]

    def filter_below_reorder_point(self, queryset, name, value: bool):
        low = Q(reorder_point__gt=0, free__lte=F("reorder_point"))
        queryset = queryset.alias(free=F("on_hand") - F("reserved") - F("safety_stock"))
        return queryset.filter(low) if value else queryset.exclude(low)
