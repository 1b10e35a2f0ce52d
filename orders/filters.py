"""The order list's filters (API.md "Orders"). A value the filter cannot read (a date that
is no date, a status that does not exist) is a 400 naming the parameter, never a silently
ignored filter that returns every order."""

from django.db.models import Exists, OuterRef, Q
from django_filters import rest_framework as filters

from orders.models import Order, OrderLine


class OrderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Order.Status.choices,
        label="Status; repeat the parameter for several (status=allocated&status=backordered)",
    )
    channel = filters.CharFilter(field_name="channel__code", label="Channel code (web, ...)")
    payment_status = filters.ChoiceFilter(choices=Order.PaymentStatus.choices)
    placed_after = filters.IsoDateTimeFilter(
        field_name="placed_at",
        lookup_expr="gte",
        label="Placed at or after this ISO 8601 time",
    )
    placed_before = filters.IsoDateTimeFilter(
        field_name="placed_at",
        lookup_expr="lt",
        label="Placed before this ISO 8601 time",
    )
    sku = filters.CharFilter(method="filter_sku", label="Has a line for this SKU")
    customer_email = filters.CharFilter(
        field_name="email", lookup_expr="iexact", label="Customer e-mail (exact, any case)"
    )
    external_ref = filters.CharFilter(label="The channel's reference (exact)")
    q = filters.CharFilter(
        method="search", label="Search: order number, channel reference or e-mail contains"
    )

    class Meta:
        model = Order
        fields = [
            "status",
            "channel",
            "payment_status",
            "placed_after",
            "placed_before",
            "sku",
            "customer_email",
            "external_ref",
            "q",
        ]

    def filter_sku(self, queryset, name, value: str):
        # EXISTS rather than a join: an order with two lines of the SKU is listed once, and
        # no DISTINCT is needed (which would fight the list's ordering and prefetches).
        lines = OrderLine.objects.filter(order=OuterRef("pk"), sku=value.strip().upper())
        return queryset.filter(Exists(lines))

    def search(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(external_ref__icontains=value)
            | Q(email__icontains=value)
        )
