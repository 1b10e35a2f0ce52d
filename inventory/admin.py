from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeNumericFilter

from inventory.models import Bin, Location, Product, StockLevel, StockMovement


class StockLevelInline(TabularInline):
    model = StockLevel
    fields = ["location", "on_hand", "reserved", "available", "safety_stock", "reorder_point"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Stock per location"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ["sku", "name", "barcode", "weight_grams", "active"]
    list_filter = ["active"]
    search_fields = ["sku", "barcode", "name"]
    list_filter_submit = True
    inlines = [StockLevelInline]
    fieldsets = [
        (None, {"fields": ["sku", "barcode", "name", "active"]}),
        ("Size", {"fields": ["weight_grams", "length_mm", "width_mm", "height_mm"]}),
    ]


class BinInline(TabularInline):
    model = Bin
    fields = ["code", "zone", "pick_sequence", "active"]
    extra = 0


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin, ModelAdmin):
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


@admin.register(Bin)
class BinAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ["code", "location", "zone", "pick_sequence", "active"]
    list_filter = ["location", "zone", "active"]
    search_fields = ["code", "location__code"]
    list_select_related = ["location"]
    autocomplete_fields = ["location"]


@admin.register(StockLevel)
class StockLevelAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = [
        "product",
        "location",
        "on_hand",
        "reserved",
        "available",
        "safety_stock",
        "reorder_point",
        "reorder_qty",
    ]
    list_filter = ["location", ("on_hand", RangeNumericFilter)]
    list_filter_submit = True
    search_fields = ["product__sku", "product__name", "location__code"]
    list_select_related = ["product", "location"]
    # on_hand and reserved change only through stock services, never by editing a form.
    readonly_fields = ["product", "location", "on_hand", "reserved", "available"]
    fields = [*readonly_fields[:-1], "safety_stock", "reorder_point", "reorder_qty"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available


@admin.register(StockMovement)
class StockMovementAdmin(ModelAdmin):
    """The ledger: read-only for everyone, superusers included."""

    list_display = [
        "at",
        "sku",
        "location",
        "quantity",
        "on_hand_after",
        "reason",
        "reference",
        "actor",
    ]
    list_filter = ["reason", "stock_level__location", "at"]
    search_fields = ["stock_level__product__sku", "reference"]
    list_select_related = ["stock_level__product", "stock_level__location", "actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="SKU", ordering="stock_level__product__sku")
    def sku(self, movement: StockMovement) -> str:
        return movement.stock_level.product.sku

    @admin.display(description="location", ordering="stock_level__location__code")
    def location(self, movement: StockMovement) -> str:
        return movement.stock_level.location.code
