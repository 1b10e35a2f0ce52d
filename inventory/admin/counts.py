"""Cycle counts. A sheet is made by count_create (location, optional zone); counted
values are typed into its lines and saved through count_record while it is open; Post
books every variance as a ledger movement (count_post), Cancel drops the sheet. All of
it needs `inventory.count_stock`."""

from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import TabularInline
from unfold.decorators import action, display

from inventory.admin.base import (
    STATUS_LABELS,
    ServiceModelAdmin,
    requires,
)
from inventory.admin_forms import CountLinesFormSet, CycleCountForm
from inventory.models import CycleCount, CycleCountLine
from inventory.services import count_cancel, count_create, count_post, count_record

Status = CycleCount.Status
COUNT_STOCK = "inventory.count_stock"


class CycleCountLineInline(TabularInline):
    hide_title = True  # each row says what it is
    model = CycleCountLine
    formset = CountLinesFormSet
    fields = ["sku", "product_name", "bin_code", "expected", "counted", "difference"]
    readonly_fields = ["sku", "product_name", "bin_code", "expected", "difference"]
    extra = 0
    can_delete = False
    verbose_name_plural = "Count sheet"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("stock_level__product", "stock_level__bin")
            .order_by("stock_level__bin__pick_sequence", "stock_level__product__sku")
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is not None and obj.status == Status.OPEN and request.user.has_perm(COUNT_STOCK)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("inventory.view_cyclecount")

    @admin.display(description="SKU")
    def sku(self, line: CycleCountLine) -> str:
        return line.stock_level.product.sku

    @admin.display(description="product")
    def product_name(self, line: CycleCountLine) -> str:
        return line.stock_level.product.name

    @admin.display(description="bin")
    def bin_code(self, line: CycleCountLine) -> str:
        return line.stock_level.bin.code if line.stock_level.bin else "-"

    @admin.display(description="variance")
    def difference(self, line: CycleCountLine) -> str:
        """Booked variance once posted; until then, counted minus expected."""
        if line.variance is not None:
            return f"{line.variance:+d}"
        if line.counted is None:
            return "-"
        return f"{line.counted - line.expected:+d}"


@admin.register(CycleCount)
class CycleCountAdmin(SimpleHistoryAdmin, ServiceModelAdmin):
    form = CycleCountForm
    open_after_add = True
    list_display = [
        "__str__",
        "location",
        "zone",
        "status_label",
        "progress",
        "created_by",
        "created_at",
        "posted_at",
    ]
    list_filter = ["status", "location", "created_at"]
    search_fields = ["location__code", "zone", "note"]
    list_select_related = ["location", "created_by"]
    autocomplete_fields = ["location"]
    inlines = [CycleCountLineInline]
    readonly_fields = ["status", "created_by", "created_at", "posted_at"]
    actions_detail = ["post_count", "cancel_count"]
    transition_statuses = {"post_count": [Status.OPEN], "cancel_count": [Status.OPEN]}
    has_count_stock_permission = requires(COUNT_STOCK)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                line_total=Count("lines"),
                counted_total=Count("lines", filter=Q(lines__counted__isnull=False)),
            )
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["location", "zone", "note"]})]
        return [
            (None, {"fields": ["location", "zone", "status", "note"]}),
            ("Record", {"fields": ["created_by", "created_at", "posted_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "location", "zone"] if obj is not None else fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(COUNT_STOCK)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(COUNT_STOCK) and (obj is None or obj.status == Status.OPEN)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @display(description="status", ordering="status", label=STATUS_LABELS)
    def status_label(self, count: CycleCount):
        return count.status, count.get_status_display()

    @display(description="counted")
    def progress(self, count: CycleCount) -> str:
        return f"{count.counted_total} / {count.line_total}"

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = count_create(
            location=data["location"], zone=data["zone"], note=data["note"], actor=request.user
        )
        obj.pk, obj.created_by = created.pk, request.user
        obj._state.adding = False

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not CycleCountLine:
            super().save_formset(request, form, formset, change)
            return
        changed = [
            line
            for line in formset.forms
            if "counted" in line.changed_data and line.cleaned_data.get("counted") is not None
        ]
        if changed:
            count_record(
                count=form.instance,
                counted={
                    line.instance.stock_level_id: line.cleaned_data["counted"] for line in changed
                },
                actor=request.user,
            )
        # For the admin's change message (count_record wrote the rows).
        formset.new_objects, formset.deleted_objects = [], []
        formset.changed_objects = [(line.instance, ["counted"]) for line in changed]

    def _transition(self, request, object_id, service, verb: str):
        return self.run_on_object(
            request,
            object_id,
            lambda count: service(count=count, actor=request.user),
            lambda done_count: f"{done_count} {verb}.",
        )

    @action(
        description="Post",
        url_path="post",
        icon="task_alt",
        permissions=["count_stock"],
        dialog={
            "title": "Post this count?",
            "description": "On hand of every counted line is set to its count; each "
            "difference becomes a ledger movement. Lines left blank are not changed.",
            "form_submit_text": "Post count",
        },
    )
    def post_count(self, request: HttpRequest, form, object_id: str):
        return self._transition(request, object_id, count_post, "posted")

    @action(
        description="Cancel",
        url_path="cancel",
        icon="block",
        permissions=["count_stock"],
        dialog={
            "title": "Cancel this count?",
            "description": "Nothing is booked; the sheet stays as a record.",
            "form_submit_text": "Cancel count",
        },
    )
    def cancel_count(self, request: HttpRequest, form, object_id: str):
        return self._transition(request, object_id, count_cancel, "cancelled")
