"""Purchase orders: created through purchase_order_create, lines editable while draft,
Place / Receive / Cancel buttons that call the services, and replenishment (preview the
candidates, then draft the purchase orders through replenishment_run)."""

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import TabularInline
from unfold.decorators import action, display

from inventory.admin.base import (
    STATUS_LABELS,
    ServiceModelAdmin,
    call_service,
    change_url,
    describe,
    done,
    requires,
)
from inventory.admin.receiving import receive_page
from inventory.admin_forms import PurchaseOrderLinesFormSet
from inventory.models import Location, PurchaseOrder, PurchaseOrderLine
from inventory.services import (
    OrderLine,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_place,
    replenishment_candidates,
    replenishment_run,
)
from oms.core.exceptions import DomainError, IllegalTransition

Status = PurchaseOrder.Status


class DraftLinesInline(TabularInline):
    """Lines of a document that may change only while it is a draft, by whoever may
    change (or, on the add page, add) the document itself."""

    extra = 0
    parent_permission = ""  # "app_label.codename" that allows editing the parent

    def _editable(self, request: HttpRequest, obj) -> bool:
        if obj is None:
            opts = self.parent_model._meta
            return request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")
        return obj.status == "draft" and request.user.has_perm(self.parent_permission)

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 3 if obj is None else int(self._editable(request, obj))

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is not None and self._editable(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        opts = self.parent_model._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


class PurchaseOrderLineInline(DraftLinesInline):
    hide_title = True  # each row says what it is
    model = PurchaseOrderLine
    formset = PurchaseOrderLinesFormSet
    fields = ["product", "quantity_ordered", "unit_cost", "quantity_received", "quantity_open"]
    readonly_fields = ["quantity_received", "quantity_open"]
    autocomplete_fields = ["product"]
    parent_permission = "inventory.change_purchaseorder"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description="open")
    def quantity_open(self, line: PurchaseOrderLine) -> int | str:
        return line.quantity_open if line.pk else "-"


def saved_by_service(formsets) -> None:
    """The service wrote the lines: tell the admin's change message there is nothing else."""
    for formset in formsets:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def lines_of(formsets) -> list:
    """(product, quantity, unit_cost) of the kept rows of the line formsets."""
    return [
        form.cleaned_data
        for formset in formsets
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
    ]


def refuse_unless_draft(model, pk, formsets, what: str) -> None:
    """Lines change only on a draft: lock the document and check, so a concurrent
    Place or Dispatch cannot slip between the page load and this save."""
    if not any(formset.has_changed() for formset in formsets):
        return
    status = model.objects.select_for_update().values_list("status", flat=True).get(pk=pk)
    if status != "draft":
        raise IllegalTransition(
            f"This {what} is no longer a draft ({status.replace('_', ' ')}): "
            "its lines cannot change.",
            status=status,
        )


def candidates_table(candidates) -> dict:
    """replenishment_candidates as an unfold table: each stock level, its position and
    what the run would order (or why it will not)."""
    rows = []
    for candidate in candidates:
        level = candidate.stock_level
        rows.append(
            [
                format_html(
                    '<a href="{}" class="text-primary-600" title="{}">{}</a>',
                    change_url(level),
                    level.product.name,
                    candidate.sku,
                ),
                level.location.code,
                candidate.supplier.code if candidate.supplier else "-",
                level.on_hand,
                level.reserved,
                candidate.on_order,
                candidate.position,
                level.reorder_point,
                level.reorder_qty,
                candidate.quantity if candidate.orderable else "-",
                candidate.skip_reason,
            ]
        )
    return {
        "headers": [
            "SKU",
            "location",
            "supplier",
            "on hand",
            "reserved",
            "on order",
            "position",
            "reorder point",
            "reorder qty",
            "order",
            "note",
        ],
        "rows": rows,
    }


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(SimpleHistoryAdmin, ServiceModelAdmin):
    list_display = [
        "number",
        "supplier",
        "location",
        "status_label",
        "expected_date",
        "line_count",
        "units",
        "created_at",
    ]
    list_filter = ["status", "supplier", "location", "expected_date"]
    list_filter_submit = True
    search_fields = ["number", "supplier__code", "supplier__name", "lines__product__sku"]
    list_select_related = ["supplier", "location"]
    autocomplete_fields = ["supplier", "location"]
    inlines = [PurchaseOrderLineInline]
    readonly_fields = ["number", "status", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["number", "status", "supplier", "location", "expected_date", "note"]}),
        ("Record", {"fields": ["created_by", "created_at", "updated_at"]}),
    ]
    actions_list = ["replenishment"]
    open_after_add = True
    actions_detail = ["place", "receive", "cancel_order"]
    transition_statuses = {
        "place": [Status.DRAFT],
        "receive": [Status.ORDERED, Status.PARTIALLY_RECEIVED],
        "cancel_order": [Status.DRAFT, Status.ORDERED],
    }

    has_place_purchaseorder_permission = requires("inventory.place_purchaseorder")
    has_cancel_purchaseorder_permission = requires("inventory.change_purchaseorder")
    has_receive_stock_permission = requires("inventory.receive_stock")
    has_replenish_permission = requires("inventory.add_purchaseorder")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                line_total=Count("lines"),
                ordered_total=Sum("lines__quantity_ordered"),
                received_total=Sum("lines__quantity_received"),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Status.DRAFT:
            fields += ["supplier", "location"]
        return fields

    def has_change_permission(self, request, obj=None) -> bool:
        # Received and cancelled orders are records: viewable, not editable.
        return super().has_change_permission(request, obj) and (
            obj is None or obj.status in PurchaseOrder.OPEN
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or obj.status == Status.DRAFT
        )

    @display(description="status", ordering="status", label=STATUS_LABELS)
    def status_label(self, purchase_order: PurchaseOrder):
        return purchase_order.status, purchase_order.get_status_display()

    @display(description="lines", ordering="line_total")
    def line_count(self, purchase_order: PurchaseOrder) -> int:
        return purchase_order.line_total

    @display(description="received / ordered")
    def units(self, purchase_order: PurchaseOrder) -> str:
        return f"{purchase_order.received_total or 0} / {purchase_order.ordered_total or 0}"

    # -- create through the service; lines change only on drafts -------------------------

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
        # Added: purchase_order_create saves it, with its lines, in save_related.

    def save_related(self, request, form, formsets, change) -> None:
        if change:
            refuse_unless_draft(PurchaseOrder, form.instance.pk, formsets, "purchase order")
            super().save_related(request, form, formsets, change)
            return
        data = form.cleaned_data
        created = purchase_order_create(
            supplier=data["supplier"],
            location=data["location"],
            expected_date=data.get("expected_date"),
            note=data.get("note", ""),
            lines=[
                OrderLine(
                    product=line["product"],
                    quantity=line["quantity_ordered"],
                    unit_cost=line.get("unit_cost"),
                )
                for line in lines_of(formsets)
            ],
            actor=request.user,
        )
        # The admin logs and redirects to the record the service made.
        form.instance.pk, form.instance.number = created.pk, created.number
        form.instance._state.adding = False
        saved_by_service(formsets)

    # -- buttons -------------------------------------------------------------------------

    @action(
        description="Place",
        url_path="place",
        icon="send",
        permissions=["place_purchaseorder"],
        dialog={
            "title": "Place this purchase order?",
            "description": "It goes to the supplier and its lines count as on order. "
            "Lines cannot change after this.",
            "form_submit_text": "Place order",
        },
    )
    def place(self, request: HttpRequest, form, object_id: str):
        purchase_order = self.get_object_or_404(request, object_id)
        call_service(
            request,
            lambda: purchase_order_place(purchase_order=purchase_order, actor=request.user),
            lambda placed: f"{placed.number} placed with {purchase_order.supplier}.",
        )
        return done(request, change_url(purchase_order))

    @action(
        description="Cancel",
        url_path="cancel",
        icon="block",
        permissions=["cancel_purchaseorder"],
        dialog={
            "title": "Cancel this purchase order?",
            "description": "Its open lines no longer count as on order. This cannot be undone.",
            "form_submit_text": "Cancel order",
        },
    )
    def cancel_order(self, request: HttpRequest, form, object_id: str):
        purchase_order = self.get_object_or_404(request, object_id)
        call_service(
            request,
            lambda: purchase_order_cancel(purchase_order=purchase_order, actor=request.user),
            lambda cancelled: f"{cancelled.number} cancelled.",
        )
        return done(request, change_url(purchase_order))

    @action(
        description="Receive",
        url_path="receive",
        icon="move_to_inbox",
        permissions=["receive_stock"],
    )
    def receive(self, request: HttpRequest, object_id: str):
        purchase_order = self.get_object_or_404(request, object_id)
        if purchase_order.status not in (Status.ORDERED, Status.PARTIALLY_RECEIVED):
            messages.error(
                request,
                f"{purchase_order.number} is {purchase_order.get_status_display().lower()}; "
                "only an ordered purchase order can be received.",
            )
            return HttpResponseRedirect(change_url(purchase_order))
        return receive_page(
            self,
            request,
            obj=purchase_order,
            location=purchase_order.location,
            purchase_order=purchase_order,
        )

    @action(
        description="Replenishment",
        url_path="replenishment",
        icon="autorenew",
        permissions=["replenish"],
    )
    def replenishment(self, request: HttpRequest):
        """What is at or below its reorder point, and a button that drafts the purchase
        orders for it (one per supplier and location) through replenishment_run."""
        location = None
        location_id = request.POST.get("location") or request.GET.get("location")
        if location_id:
            location = Location.objects.filter(pk=location_id).first()
        if request.method == "POST":
            try:
                drafted = replenishment_run(actor=request.user, location=location)
            except DomainError as error:
                messages.error(request, describe(error))
            else:
                if drafted:
                    numbers = ", ".join(order.number for order in drafted)
                    plural = "s" if len(drafted) != 1 else ""
                    messages.success(
                        request,
                        f"Replenishment drafted {len(drafted)} purchase order{plural} "
                        f"(new or extended drafts): {numbers}. Check them, then place them.",
                    )
                else:
                    messages.info(request, "Nothing needs reordering: no purchase order drafted.")
                return HttpResponseRedirect(
                    reverse("admin:inventory_purchaseorder_changelist") + "?status__exact=draft"
                )
        candidates = replenishment_candidates(location=location)
        return self.render_page(
            request,
            "admin/inventory/purchaseorder/replenishment.html",
            title="Replenishment",
            candidates=candidates,
            orderable=[candidate for candidate in candidates if candidate.orderable],
            candidates_table=candidates_table(candidates),
            locations=Location.objects.filter(active=True).order_by("priority", "code"),
            location=location,
            submit_label="Draft replenishment purchase orders",
        )
