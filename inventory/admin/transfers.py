"""Transfers between locations. Created through transfer_create (so numbering and line
rules are the service's); lines editable while draft, which moves no stock; Dispatch,
Receive and Cancel call the services. Everything needs `inventory.transfer_stock`."""

from django.contrib import admin
from django.db.models import Count, Sum
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin
from unfold.decorators import action, display

from inventory.admin.base import (
    STATUS_LABELS,
    ServiceModelAdmin,
    requires,
)
from inventory.admin.purchasing import (
    DraftLinesInline,
    lines_of,
    refuse_unless_draft,
    saved_by_service,
)
from inventory.admin_forms import TransferForm, TransferLinesFormSet
from inventory.models import Transfer, TransferLine
from inventory.services import (
    OrderLine,
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)

Status = Transfer.Status
TRANSFER_STOCK = "inventory.transfer_stock"


class TransferLineInline(DraftLinesInline):
    hide_title = True  # each row says what it is
    model = TransferLine
    formset = TransferLinesFormSet
    fields = ["product", "quantity"]
    autocomplete_fields = ["product"]
    parent_permission = TRANSFER_STOCK

    def _editable(self, request, obj) -> bool:
        if obj is None:
            return request.user.has_perm(TRANSFER_STOCK)
        return super()._editable(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Transfer)
class TransferAdmin(SimpleHistoryAdmin, ServiceModelAdmin):
    form = TransferForm
    open_after_add = True
    list_display = [
        "number",
        "from_location",
        "to_location",
        "status_label",
        "expected_date",
        "line_count",
        "unit_count",
        "dispatched_at",
        "received_at",
    ]
    list_filter = ["status", "from_location", "to_location", "expected_date"]
    list_filter_submit = True
    search_fields = ["number", "lines__product__sku"]
    list_select_related = ["from_location", "to_location"]
    autocomplete_fields = ["from_location", "to_location"]
    inlines = [TransferLineInline]
    readonly_fields = [
        "number",
        "status",
        "dispatched_at",
        "received_at",
        "created_by",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "from_location", "to_location", "expected_date"]}),
        ("Record", {"fields": ["dispatched_at", "received_at", "created_by", "created_at"]}),
    ]
    actions_detail = ["dispatch", "receive_transfer", "cancel_transfer"]
    transition_statuses = {
        "dispatch": [Status.DRAFT],
        "receive_transfer": [Status.IN_TRANSIT],
        "cancel_transfer": [Status.DRAFT],
    }

    has_transfer_stock_permission = requires(TRANSFER_STOCK)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(line_total=Count("lines"), unit_total=Sum("lines__quantity"))
        )

    # Transfers are stock work: the transfer_stock right, not the generic model rights.
    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(TRANSFER_STOCK)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(TRANSFER_STOCK) and (
            obj is None or obj.status in (Status.DRAFT, Status.IN_TRANSIT)
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a draft is cancelled, so its history stays

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Status.DRAFT:
            fields += ["from_location", "to_location"]
        return fields

    @display(description="status", ordering="status", label=STATUS_LABELS)
    def status_label(self, transfer: Transfer):
        return transfer.status, transfer.get_status_display()

    @display(description="lines", ordering="line_total")
    def line_count(self, transfer: Transfer) -> int:
        return transfer.line_total

    @display(description="units", ordering="unit_total")
    def unit_count(self, transfer: Transfer) -> int:
        return transfer.unit_total or 0

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
        # Added: transfer_create saves it, with its lines, in save_related.

    def save_related(self, request, form, formsets, change) -> None:
        if change:
            refuse_unless_draft(Transfer, form.instance.pk, formsets, "transfer")
            super().save_related(request, form, formsets, change)
            return
        data = form.cleaned_data
        created = transfer_create(
            from_location=data["from_location"],
            to_location=data["to_location"],
            expected_date=data.get("expected_date"),
            lines=[
                OrderLine(product=line["product"], quantity=line["quantity"])
                for line in lines_of(formsets)
            ],
            actor=request.user,
        )
        form.instance.pk, form.instance.number = created.pk, created.number
        form.instance._state.adding = False
        saved_by_service(formsets)

    def _transition(self, request, object_id, service, verb: str):
        return self.run_on_object(
            request,
            object_id,
            lambda transfer: service(transfer=transfer, actor=request.user),
            lambda moved: f"{moved.number} {verb}.",
        )

    @action(
        description="Dispatch",
        url_path="dispatch",
        icon="local_shipping",
        permissions=["transfer_stock"],
        dialog={
            "title": "Dispatch this transfer?",
            "description": "Its lines leave the source location now (only unreserved "
            "stock can leave) and are in transit until received.",
            "form_submit_text": "Dispatch",
        },
    )
    def dispatch(self, request: HttpRequest, form, object_id: str):
        return self._transition(request, object_id, transfer_dispatch, "dispatched")

    @action(
        description="Receive",
        url_path="receive",
        icon="move_to_inbox",
        permissions=["transfer_stock"],
        dialog={
            "title": "Receive this transfer?",
            "description": "Its lines are booked into the destination location.",
            "form_submit_text": "Receive",
        },
    )
    def receive_transfer(self, request: HttpRequest, form, object_id: str):
        return self._transition(request, object_id, transfer_receive, "received")

    @action(
        description="Cancel",
        url_path="cancel",
        icon="block",
        permissions=["transfer_stock"],
        dialog={
            "title": "Cancel this transfer?",
            "description": "A draft moved no stock; cancelling keeps it as a record.",
            "form_submit_text": "Cancel transfer",
        },
    )
    def cancel_transfer(self, request: HttpRequest, form, object_id: str):
        return self._transition(request, object_id, transfer_cancel, "cancelled")
