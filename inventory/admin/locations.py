"""Locations (with their bins and a Receive stock page for goods that come in without a
purchase order) and bins."""

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from inventory.admin.base import ServiceModelAdmin, requires
from inventory.admin.receiving import receive_page
from inventory.models import Bin, Location


class BinInline(TabularInline):
    model = Bin
    fields = ["code", "zone", "pick_sequence", "active"]
    extra = 0


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin, ServiceModelAdmin):
    list_display = ["code", "name", "kind", "country", "priority", "fulfils_orders", "active"]
    list_filter = ["kind", "country", "fulfils_orders", "active"]
    search_fields = ["code", "name", "city"]
    inlines = [BinInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "priority", "fulfils_orders", "active"]}),
        (
            "Address",
            {"fields": ["address_line1", "address_line2", "city", "region", "postcode", "country"]},
        ),
    ]
    actions_detail = ["receive"]
    has_receive_stock_permission = requires("inventory.receive_stock")

    @action(
        description="Receive stock",
        url_path="receive",
        icon="move_to_inbox",
        permissions=["receive_stock"],
    )
    def receive(self, request: HttpRequest, object_id: str):
        """Goods in without a purchase order (returns to vendor stock, found stock, ...)."""
        location = self.get_object_or_404(request, object_id)
        return receive_page(self, request, obj=location, location=location)


@admin.register(Bin)
class BinAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ["code", "location", "zone", "pick_sequence", "active"]
    list_filter = ["location", "zone", "active"]
    search_fields = ["code", "location__code"]
    list_select_related = ["location"]
    autocomplete_fields = ["location"]
