"""Orders: the changelist (a fixed number of queries whatever the rows), the order page
(a read-only record with its lines, holds, payments, timeline and history), the Hold /
Resolve hold / Cancel buttons, the edit pages, bulk cancel and hold, the phone order
form, and the Export of what the list shows (orders or order lines, CSV or XLSX). Every
change is a service call; refusals come back as messages."""

from django.contrib import admin
from django.db.models import Count, IntegerField, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import action, display

from inventory.admin.base import ServiceModelAdmin, call_service, change_url, done, requires
from orders.admin.base import PAYMENT_LABELS, badge, bulk_page, order_status_badge, run_each
from orders.admin.edits import address_page, lines_page, priority_page
from orders.admin.order_display import address_html, stamp, timeline, two_lines, when
from orders.admin.order_filters import OpenHoldFilter, PlacedDateFilter, open_holds_of
from orders.admin.order_inlines import HoldInline, OrderLineInline, PaymentInline
from orders.admin.phone import phone_order_page
from orders.forms import BulkCancelForm, BulkHoldForm, CancelForm, HoldForm, ResolveHoldForm
from orders.models import Hold, Order
from orders.resources import EXPORT_FORMATS, OrderLineResource, OrderResource
from orders.services import hold_resolve, order_cancel, order_hold
from orders.services.edits import EDITABLE
from orders.services.lifecycle import HOLDABLE

S = Order.Status
DONE = (S.SHIPPED, S.DELIVERED, S.CANCELLED)  # past the ship-by promise's reach


# -- the order admin ----------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(ExportMixin, SimpleHistoryAdmin, ServiceModelAdmin):
    # ExportMixin first: Django's ModelAdmin.get_urls does not call super(), so a mixin
    # placed after it would never add its export URL.
    list_display = [
        "number_ref",
        "customer_display",
        "status_label",
        "payment_label",
        "total_display",
        "placed",
        "ship_by_display",
        "open_holds",
    ]
    list_display_links = ["number_ref"]
    list_filter = [
        "status",
        "channel",
        "payment_status",
        ("placed_at", PlacedDateFilter),
        OpenHoldFilter,
    ]
    list_filter_submit = True
    search_fields = ["number", "external_ref", "email", "lines__sku"]
    search_help_text = "Order number, external reference, e-mail or SKU."
    list_select_related = ["channel", "customer"]
    inlines = [OrderLineInline, HoldInline, PaymentInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("number", "status_label", "payment_label"),
                    ("channel", "external_ref", "priority"),
                    ("customer", "email", "po_number"),
                ]
            },
        ),
        (
            "Dates",
            {"fields": [("placed", "ship_by_display", "requested_ship_date")]},
        ),
        ("Ship to", {"fields": [("ship_to", "ship_phone")]}),
        ("Totals", {"fields": [("subtotal", "shipping_total", "total_display")]}),
        ("Notes", {"fields": ["notes"]}),
    ]
    readonly_fields = [
        "number",
        "status_label",
        "payment_label",
        "channel",
        "external_ref",
        "customer",
        "email",
        "priority",
        "placed",
        "ship_by_display",
        "requested_ship_date",
        "po_number",
        "ship_to",
        "ship_phone",
        "subtotal",
        "shipping_total",
        "total_display",
        "notes",
    ]
    change_form_outer_after_template = "admin/orders/order/timeline.html"

    actions = ["cancel_selected", "hold_selected"]
    actions_list = ["phone_order"]
    actions_detail = [
        "hold_order",
        "resolve_hold",
        "cancel_order",
        {
            "title": "Edit",
            "icon": "edit",
            "items": ["edit_lines", "edit_address", "edit_priority"],
        },
    ]
    transition_statuses = {
        "hold_order": [*HOLDABLE, S.ON_HOLD],
        "resolve_hold": [S.ON_HOLD],
        "cancel_order": Order.CANCELLABLE,
        "edit_lines": EDITABLE,
        "edit_address": EDITABLE,
        "edit_priority": EDITABLE,
    }

    # Export: the orders the list shows (filters, search and sort applied), one row per
    # order or per line; formula-safe (orders/resources.py).
    resource_classes = [OrderResource, OrderLineResource]
    export_formats = EXPORT_FORMATS
    export_form_class = ExportForm

    has_hold_order_permission = requires("orders.hold_order")
    has_cancel_order_permission = requires("orders.cancel_order")
    has_capture_order_permission = requires("orders.capture_order")
    has_edit_order_permission = requires("orders.edit_order")

    # Orders enter through capture (the API, the phone order form, imports) and change
    # through services: the page is a read-only record for everyone.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_export_permission(self, request: HttpRequest) -> bool:
        # import-export lets anyone export unless told otherwise: whoever may see orders.
        return self.has_view_permission(request)

    def get_export_filename(self, request, queryset, file_format) -> str:
        # The export form has been validated by now: "resource" is a valid index.
        resource = self.get_export_resource_classes(request)[int(request.POST.get("resource", 0))]
        return f"{resource.file_name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def get_queryset(self, request):
        counts = open_holds_of().order_by().values("order").annotate(n=Count("pk")).values("n")
        # A subquery, not a join: the SKU search joins lines, and a join would multiply
        # the count.
        return (
            super()
            .get_queryset(request)
            .select_related("channel", "customer")
            .annotate(open_hold_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0))
        )

    # -- columns and read-only fields -------------------------------------------------

    @display(description="order", ordering="number")
    def number_ref(self, order: Order) -> SafeString:
        """The number, and under it the channel and the channel's own reference."""
        return two_lines(order.number, f"{order.channel.code} · {order.external_ref}")

    @display(description="customer", ordering="email")
    def customer_display(self, order: Order) -> SafeString:
        name = order.customer.name if order.customer else order.ship_name
        return two_lines(name, order.email, strong=False)

    @display(description="status", ordering="status")
    def status_label(self, order: Order) -> SafeString:
        return order_status_badge(order)

    @display(description="payment", ordering="payment_status")
    def payment_label(self, order: Order) -> SafeString:
        label = "On terms" if order.payment_status == Order.PaymentStatus.ON_TERMS else None
        return badge(
            label or order.get_payment_status_display(),
            PAYMENT_LABELS.get(order.payment_status, ""),
        )

    @display(description="total", ordering="total")
    def total_display(self, order: Order) -> SafeString:
        return format_html(
            '<span class="whitespace-nowrap">{} {}</span>', order.total, order.currency
        )

    @display(description="placed", ordering="placed_at")
    def placed(self, order: Order) -> SafeString:
        return when(order.placed_at)

    @display(description="ship by", ordering="ship_by")
    def ship_by_display(self, order: Order) -> SafeString:
        if order.status not in DONE and order.ship_by < timezone.now():
            return badge(
                stamp(order.ship_by),
                "danger",
                icon="schedule",
                title="Overdue: past its ship-by promise",
            )
        return when(order.ship_by)

    @display(description="holds", ordering="open_hold_count")
    def open_holds(self, order: Order) -> SafeString | str:
        count = getattr(order, "open_hold_count", None)
        if count is None:
            count = order.holds.filter(resolved_at__isnull=True).count()
        return badge(str(count), "danger", icon="pause_circle") if count else "-"

    @display(description="address")
    def ship_to(self, order: Order) -> SafeString:
        return address_html(order)

    # -- the order page ------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        if order is not None:
            extra_context = {**(extra_context or {}), "timeline": timeline(order)}
        return super().change_view(request, object_id, form_url, extra_context)

    # -- buttons ---------------------------------------------------------------------------

    @action(
        description="Hold",
        url_path="hold",
        icon="pause_circle",
        permissions=["hold_order"],
        dialog={
            "title": "Put this order on hold?",
            "description": "It waits until every hold is resolved; reserved stock is kept.",
            "form_class": HoldForm,
            "form_submit_text": "Hold order",
        },
    )
    def hold_order(self, request: HttpRequest, form: HoldForm, object_id: str):
        order = self.get_object_or_404(request, object_id)
        data = form.cleaned_data
        call_service(
            request,
            lambda: order_hold(
                order=order, kind=data["kind"], reason=data["reason"], actor=request.user
            ),
            lambda hold: (
                f"{order.number} is on hold ({hold.get_kind_display().lower()}): {hold.reason}"
            ),
        )
        return done(request, change_url(order))

    @action(
        description="Resolve hold",
        url_path="resolve-hold",
        icon="play_circle",
        permissions=["hold_order"],
        dialog={
            "title": "Resolve a hold",
            "description": "When the last hold is resolved the order goes on: it is "
            "confirmed and its stock reserved.",
            "form_class": ResolveHoldForm,
            "form_submit_text": "Resolve",
        },
    )
    def resolve_hold(self, request: HttpRequest, form: ResolveHoldForm, object_id: str):
        order = self.get_object_or_404(request, object_id)
        hold = form.cleaned_data["hold"]

        def success(resolved: Hold) -> str:
            after = Order.objects.get(pk=order.pk)
            return (
                f"{resolved.get_kind_display()} hold on {order.number} resolved; the order "
                f"is {after.get_status_display().lower()}."
            )

        call_service(
            request,
            lambda: hold_resolve(hold=hold, note=form.cleaned_data["note"], actor=request.user),
            success,
        )
        return done(request, change_url(order))

    @action(
        description="Cancel",
        url_path="cancel",
        icon="block",
        permissions=["cancel_order"],
        dialog={
            "title": "Cancel this order?",
            "description": "Its reserved stock is released and its open holds closed. "
            "This cannot be undone.",
            "form_class": CancelForm,
            "form_submit_text": "Cancel order",
        },
    )
    def cancel_order(self, request: HttpRequest, form: CancelForm, object_id: str):
        order = self.get_object_or_404(request, object_id)
        call_service(
            request,
            lambda: order_cancel(
                order=order, reason=form.cleaned_data["reason"], actor=request.user
            ),
            lambda cancelled: f"{cancelled.number} cancelled.",
        )
        return done(request, change_url(order))

    @action(
        description="Lines and quantities",
        url_path="edit-lines",
        icon="list_alt",
        permissions=["edit_order"],
    )
    def edit_lines(self, request: HttpRequest, object_id: str):
        return lines_page(self, request, self.get_object_or_404(request, object_id))

    @action(
        description="Ship-to address",
        url_path="edit-address",
        icon="home_pin",
        permissions=["edit_order"],
    )
    def edit_address(self, request: HttpRequest, object_id: str):
        return address_page(self, request, self.get_object_or_404(request, object_id))

    @action(
        description="Priority",
        url_path="edit-priority",
        icon="low_priority",
        permissions=["edit_order"],
    )
    def edit_priority(self, request: HttpRequest, object_id: str):
        return priority_page(self, request, self.get_object_or_404(request, object_id))

    @action(
        description="New phone order",
        url_path="phone",
        icon="call",
        permissions=["capture_order"],
    )
    def phone_order(self, request: HttpRequest):
        return phone_order_page(self, request)

    # -- bulk actions ------------------------------------------------------------------------

    @action(description="Cancel selected orders", permissions=["cancel_order"])
    def cancel_selected(self, request: HttpRequest, queryset):
        form = BulkCancelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            run_each(
                request,
                queryset.order_by("pk"),
                lambda order: order_cancel(
                    order=order, reason=form.cleaned_data["reason"], actor=request.user
                ),
                verb="Cancelled",
            )
            return None
        return bulk_page(
            self,
            request,
            queryset,
            action="cancel_selected",
            title="Cancel orders",
            form=form,
            intro="Each order is cancelled on its own: its reserved stock is released and "
            "its open holds closed. An order that can no longer be cancelled is left as it "
            "is and listed with the reason.",
            submit_label="Cancel these orders",
        )

    @action(description="Hold selected orders", permissions=["hold_order"])
    def hold_selected(self, request: HttpRequest, queryset):
        form = BulkHoldForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            data = form.cleaned_data
            run_each(
                request,
                queryset.order_by("pk"),
                lambda order: order_hold(
                    order=order, kind=data["kind"], reason=data["reason"], actor=request.user
                ),
                verb="Held",
            )
            return None
        return bulk_page(
            self,
            request,
            queryset,
            action="hold_selected",
            title="Hold orders",
            form=form,
            intro="Each order gets its own hold; reserved stock is kept. An order that can "
            "no longer be held is left as it is and listed with the reason.",
            submit_label="Hold these orders",
        )
