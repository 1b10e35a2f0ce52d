"""The console's home: a few live figures, computed in a handful of queries."""

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.urls import reverse

from inventory.models import Location, Product, StockLevel
from oms.core.models import OutboxEvent
from orders.models import Channel


def environment_callback(request):
    return ["Development", "warning"] if settings.DEBUG else None


def dashboard_callback(request, context):
    # Aliases must not shadow field names: `low` filters on the on_hand column.
    stock = StockLevel.objects.aggregate(
        units_on_hand=Sum("on_hand", default=0),
        units_reserved=Sum("reserved", default=0),
        low=Count("id", filter=Q(reorder_point__gt=0, on_hand__lte=F("reorder_point"))),
    )
    context["kpis"] = [
        {
            "title": "Active products",
            "value": Product.objects.filter(active=True).count(),
            "href": reverse("admin:inventory_product_changelist") + "?active__exact=1",
        },
        {
            "title": "Units on hand",
            "value": stock["units_on_hand"],
            "footnote": f"{stock['units_reserved']:,} reserved",
            "href": reverse("admin:inventory_stocklevel_changelist"),
        },
        {
            "title": "At or below reorder point",
            "value": stock["low"],
            "href": reverse("admin:inventory_stocklevel_changelist"),
        },
        {
            "title": "Locations fulfilling",
            "value": Location.objects.filter(active=True, fulfils_orders=True).count(),
            "footnote": f"{Channel.objects.filter(active=True).count()} sales channels",
            "href": reverse("admin:inventory_location_changelist"),
        },
        {
            "title": "Outbox pending",
            "value": OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).count(),
            "href": reverse("admin:core_outboxevent_changelist") + "?status__exact=pending",
        },
    ]
    return context
