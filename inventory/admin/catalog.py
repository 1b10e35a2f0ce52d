"""Suppliers and products. The product page shows stock per location (an inline) and a
read-only availability panel: ATP, what is on order or in transit, and the forecast's
suggested reorder point per location."""

from django.contrib import admin
from django.db.models import F
from django.http import HttpRequest
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm, ImportForm

from inventory.admin.base import change_url, forecasts_for
from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    Supplier,
    Transfer,
    TransferLine,
)
from inventory.resources import FORMATS, ProductResource
from inventory.selectors import available_to_promise


@admin.register(Supplier)
class SupplierAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ["code", "name", "email", "lead_time_days", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name", "email"]
    fields = ["code", "name", "email", "lead_time_days", "active"]


class StockLevelInline(TabularInline):
    model = StockLevel
    fields = ["location", "on_hand", "reserved", "available", "safety_stock", "reorder_point"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Stock per location"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location", "product")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available


class ImportExportPermissions:
    """import-export lets anyone import unless told otherwise: tie it to model rights."""

    import_permissions: tuple[str, ...] = ()

    def has_import_permission(self, request: HttpRequest) -> bool:
        return bool(self.import_permissions) and request.user.has_perms(self.import_permissions)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(Product)
class ProductAdmin(ImportExportPermissions, SimpleHistoryAdmin, ModelAdmin, ImportExportModelAdmin):
    list_display = ["sku", "name", "barcode", "supplier", "weight_grams", "active"]
    list_filter = ["active"]
    search_fields = ["sku", "barcode", "name", "supplier__code"]
    list_select_related = ["supplier"]
    list_filter_submit = True
    autocomplete_fields = ["supplier"]
    inlines = [StockLevelInline]
    fieldsets = [
        (None, {"fields": ["sku", "barcode", "name", "supplier", "active"]}),
        ("Size", {"fields": ["weight_grams", "length_mm", "width_mm", "height_mm"]}),
    ]
    change_form_outer_after_template = "admin/inventory/product/availability.html"

    resource_classes = [ProductResource]
    formats = FORMATS
    import_form_class = ImportForm
    export_form_class = ExportForm
    import_permissions = ("inventory.add_product", "inventory.change_product")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        product = self.get_object(request, object_id)
        if product is not None:
            extra_context = {**(extra_context or {}), "availability": availability(product)}
        return super().change_view(request, object_id, form_url, extra_context)


def availability(product: Product) -> dict:
    """The product page's panel: per location on hand, reserved, available, incoming and
    the forecast; the incoming documents; ATP over the fulfilling locations."""
    levels = list(
        StockLevel.objects.filter(product=product)
        .select_related("location")
        .order_by("location__priority", "location__code")
    )
    purchase_lines = list(
        PurchaseOrderLine.objects.filter(
            product=product,
            purchase_order__status__in=[
                PurchaseOrder.Status.ORDERED,
                PurchaseOrder.Status.PARTIALLY_RECEIVED,
            ],
            quantity_received__lt=F("quantity_ordered"),
        )
        .select_related("purchase_order__location")
        .order_by("purchase_order__expected_date", "purchase_order__number")
    )
    transfer_lines = list(
        TransferLine.objects.filter(product=product, transfer__status=Transfer.Status.IN_TRANSIT)
        .select_related("transfer__to_location")
        .order_by("transfer__expected_date", "transfer__number")
    )
    incoming = [
        {
            "document": line.purchase_order,
            "url": change_url(line.purchase_order),
            "location": line.purchase_order.location,
            "expected": line.purchase_order.expected_date,
            "quantity": line.quantity_open,
        }
        for line in purchase_lines
    ] + [
        {
            "document": line.transfer,
            "url": change_url(line.transfer),
            "location": line.transfer.to_location,
            "expected": line.transfer.expected_date,
            "quantity": line.quantity,
        }
        for line in transfer_lines
    ]
    forecasts = forecasts_for(levels)
    by_location: dict[int, int] = {}
    for item in incoming:
        by_location[item["location"].pk] = (
            by_location.get(item["location"].pk, 0) + item["quantity"]
        )
    rows = []
    for level in levels:
        forecast = forecasts.get(level.pk)
        rows.append(
            [
                format_html(
                    '<a href="{}" class="text-primary-600">{}</a>',
                    change_url(level),
                    level.location.code,
                ),
                level.on_hand,
                level.reserved,
                level.safety_stock,
                level.available,
                by_location.get(level.location_id, 0),
                level.reorder_point,
                f"{forecast.daily_demand:.2f}" if forecast else "-",
                forecast.suggested_reorder_point() if forecast else "-",
            ]
        )
    promise = available_to_promise(skus=[product.sku])[product.sku]
    return {
        "promise": promise,
        "levels_table": {
            "headers": [
                "location",
                "on hand",
                "reserved",
                "safety",
                "available",
                "incoming",
                "reorder point",
                "daily demand",
                "suggested reorder point",
            ],
            "rows": rows,
        },
        "incoming_table": {
            "headers": ["document", "to", "expected", "open quantity"],
            "rows": [
                [
                    format_html(
                        '<a href="{}" class="text-primary-600">{}</a>',
                        item["url"],
                        item["document"],
                    ),
                    item["location"].code,
                    item["expected"] or "not given",
                    item["quantity"],
                ]
                for item in incoming
            ],
        },
    }
