"""Stock levels (with their ledger, reservations and the Adjust stock page), the ledger
itself and reservations. Quantities are never form fields: they change through
stock_adjust, stock_receive and the other services, each writing a ledger row."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.timezone import localtime
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import RangeNumericFilter
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display

from inventory.admin.base import (
    STATUS_LABELS,
    ServiceModelAdmin,
    change_url,
    describe,
    forecasts_for,
    requires,
)
from inventory.admin.catalog import ImportExportPermissions
from inventory.admin_forms import AdjustStockForm, StockLevelForm, apply_service_errors
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.resources import FORMATS, OpeningStockResource
from inventory.services import stock_adjust
from oms.core.exceptions import DomainError, ValidationFailed

LEDGER_ROWS = 50


def ledger_url(level: StockLevel) -> str:
    return (
        reverse("admin:inventory_stockmovement_changelist") + f"?stock_level__id__exact={level.pk}"
    )


@admin.register(StockLevel)
class StockLevelAdmin(
    ImportExportPermissions, SimpleHistoryAdmin, ServiceModelAdmin, ImportExportModelAdmin
):
    list_display = [
        "product",
        "location",
        "bin_code",
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
    list_select_related = ["product", "location", "bin"]
    form = StockLevelForm
    # on_hand and reserved change only through stock services, never by editing a form.
    readonly_fields = ["product", "location", "on_hand", "reserved", "available", "suggested"]
    fieldsets = [
        (None, {"fields": ["product", "location", "on_hand", "reserved", "available"]}),
        (
            "Replenishment",
            {"fields": ["bin", "safety_stock", "reorder_point", "suggested", "reorder_qty"]},
        ),
    ]
    actions_detail = ["adjust"]
    change_form_outer_after_template = "admin/inventory/stocklevel/ledger.html"

    resource_classes = [OpeningStockResource]
    formats = FORMATS
    import_form_class = ImportForm
    export_form_class = ExportForm
    # Opening stock sets on hand (through stock_adjust): the right to adjust stock.
    import_permissions = ("inventory.adjust_stock",)

    has_adjust_stock_permission = requires("inventory.adjust_stock")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "location", "bin")

    @display(description="bin", ordering="bin__code")
    def bin_code(self, level: StockLevel) -> str:
        return level.bin.code if level.bin else "-"

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available

    @admin.display(description="suggested reorder point")
    def suggested(self, level: StockLevel) -> str:
        """Advice from the demand forecast; staff decide and edit the reorder point."""
        forecast = forecasts_for([level]).get(level.pk)
        if forecast is None:
            return "no forecast yet"
        return (
            f"{forecast.suggested_reorder_point()}: forecast demand "
            f"{forecast.daily_demand:.2f} a day (last {forecast.days} days) over a "
            f"{forecast.lead_time_days}-day lead time, plus {forecast.safety_stock} safety stock"
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        level = self.get_object(request, object_id)
        if level is not None:
            extra_context = {**(extra_context or {}), **ledger_panel(level)}
        return super().change_view(request, object_id, form_url, extra_context)

    @action(
        description="Adjust stock",
        url_path="adjust",
        icon="tune",
        permissions=["adjust_stock"],
    )
    def adjust(self, request: HttpRequest, object_id: str):
        """A delta or a counted on-hand value, booked by stock_adjust as a ledger row."""
        level = self.get_object_or_404(request, object_id)
        form = AdjustStockForm(request.POST or None, level=level)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                movement = stock_adjust(
                    product=level.product,
                    location=level.location,
                    quantity=data["delta"],
                    counted=data["counted"],
                    reason=data["reason"],
                    reference=data["reference"],
                    note=data["note"],
                    bin=data["bin"],
                    actor=request.user,
                )
            except DomainError as error:
                if isinstance(error, ValidationFailed):
                    apply_service_errors(form, error, form.service_fields)
                messages.error(request, f"Nothing was changed. {describe(error)}")
            else:
                level.refresh_from_db(fields=["on_hand", "reserved"])
                if movement is None:
                    messages.info(request, f"{level} already has {level.on_hand} on hand.")
                else:
                    messages.success(
                        request,
                        f"{level}: {movement.quantity:+d} booked, on hand now {level.on_hand}.",
                    )
                return HttpResponseRedirect(change_url(level))
        return self.render_page(
            request,
            "admin/inventory/stocklevel/adjust.html",
            title="Adjust stock",
            obj=level,
            form=form,
            level=level,
        )


def ledger_panel(level: StockLevel) -> dict:
    """The stock level page's tables: its latest movements and its active reservations."""
    movements = level.movements.select_related("bin", "actor").order_by("-at", "-id")
    reservations = (
        level.reservations.filter(state=Reservation.State.ACTIVE)
        .select_related("demand_type")
        .order_by("created_at", "id")
    )
    return {
        "ledger_url": ledger_url(level),
        "ledger_total": level.movements.count(),
        "ledger_table": {
            "headers": [
                "when",
                "change",
                "on hand after",
                "reason",
                "reference",
                "bin",
                "by",
                "note",
            ],
            "rows": [
                [
                    localtime(movement.at).strftime("%Y-%m-%d %H:%M"),
                    f"{movement.quantity:+d}",
                    movement.on_hand_after,
                    movement.get_reason_display(),
                    movement.reference,
                    movement.bin.code if movement.bin else "",
                    movement.actor.get_username() if movement.actor else "",
                    movement.note,
                ]
                for movement in movements[:LEDGER_ROWS]
            ],
        },
        "reservations_table": {
            "headers": ["since", "quantity", "demand", "reference"],
            "rows": [
                [
                    localtime(reservation.created_at).strftime("%Y-%m-%d %H:%M"),
                    reservation.quantity,
                    f"{reservation.demand_type.model} #{reservation.demand_id}",
                    reservation.reference,
                ]
                for reservation in reservations
            ],
        },
    }


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
        "bin_code",
        "actor",
    ]
    list_filter = ["reason", "stock_level__location", "at"]
    search_fields = ["stock_level__product__sku", "reference"]
    list_select_related = ["stock_level__product", "stock_level__location", "bin", "actor"]
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

    @admin.display(description="bin", ordering="bin__code")
    def bin_code(self, movement: StockMovement) -> str:
        return movement.bin.code if movement.bin else "-"


@admin.register(Reservation)
class ReservationAdmin(ModelAdmin):
    """Stock held for demand. Only reservation services change these rows."""

    list_display = [
        "id",
        "stock_level",
        "demand",
        "reference",
        "quantity",
        "state_label",
        "created_at",
        "closed_at",
    ]
    list_filter = ["state", "stock_level__location", "created_at"]
    search_fields = ["reference", "stock_level__product__sku"]
    list_select_related = ["stock_level__product", "stock_level__location", "demand_type"]
    readonly_fields = ["stock_level", "demand", "reference", "quantity", "state", "created_at"]
    fields = [*readonly_fields, "closed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @display(description="demand")
    def demand(self, reservation: Reservation) -> str:
        return f"{reservation.demand_type.model} #{reservation.demand_id}"

    @display(description="state", ordering="state", label=STATUS_LABELS)
    def state_label(self, reservation: Reservation):
        return reservation.state, reservation.get_state_display()
