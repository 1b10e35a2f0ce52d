"""The order list's own filters: an open hold or not, and a range of days placed."""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.utils import parse_date_str

from orders.models import Hold


def open_holds_of(order_ref: str = "pk"):
    return Hold.objects.filter(order=OuterRef(order_ref), resolved_at__isnull=True)


class OpenHoldFilter(admin.SimpleListFilter):
    title = "open hold"
    parameter_name = "open_hold"

    def lookups(self, request, model_admin):
        return [("yes", "Has an open hold"), ("no", "No open hold")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Exists(open_holds_of()))
        if self.value() == "no":
            return queryset.filter(~Exists(open_holds_of()))
        return queryset


class PlacedDateFilter(RangeDateFilter):
    """A range of days on a date-and-time field: the last day counts in full."""

    def queryset(self, request, queryset):
        filters = {}
        for suffix, lookup in (("from", "gte"), ("to", "lte")):
            value = self.used_parameters.get(f"{self.parameter_name}_{suffix}")
            if value:
                day = parse_date_str(value)
                if day is None:
                    return None
                filters[f"{self.parameter_name}__date__{lookup}"] = day
        return queryset.filter(**filters)
