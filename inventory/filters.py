from django import forms
from django.db.models import Q
from django_filters import rest_framework as filters

from inventory.models import Product


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
