"""The holds queue: the exception queue of orders that wait for someone. Open holds by
default, oldest first, with their age and a link to the order; Resolve (one, or the
selected) calls hold_resolve, which lets the order go on when it was its last hold."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from simple_history.admin import SimpleHistoryAdmin
from unfold.decorators import action, display

from inventory.admin.base import ServiceModelAdmin, call_service, change_url, done, requires
from orders.admin.base import HOLD_KIND_LABELS, badge, bulk_page, order_status_badge, run_each
from orders.forms import BulkResolveForm, ResolveNoteForm
from orders.models import Hold
from orders.services import hold_resolve


class HoldStateFilter(admin.SimpleListFilter):
    """Open holds unless asked otherwise: the queue is what still waits."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Hold)
class HoldAdmin(SimpleHistoryAdmin, ServiceModelAdmin):
    list_display = [
        "order_link",
        "order_status",
        "kind_label",
        "reason",
        "age",
        "opened_by",
        "state_label",
        "resolved_by",
    ]
    list_display_links = None
    list_filter = [HoldStateFilter, "kind", "order__channel"]
    search_fields = ["order__number", "order__external_ref", "order__email", "reason"]
    search_help_text = "Order number, external reference, e-mail or reason."
    list_select_related = ["order", "opened_by", "resolved_by"]
    ordering = ["opened_at", "pk"]
    readonly_fields = [
        "order",
        "kind",
        "reason",
        "data",
        "opened_at",
        "opened_by",
        "resolved_at",
        "resolved_by",
        "resolution_note",
    ]
    fields = readonly_fields

    actions = ["resolve_selected"]
    actions_row = ["resolve"]
    actions_detail = ["resolve_detail"]

    has_hold_order_permission = requires("orders.hold_order")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions_detail(self, request: HttpRequest, object_id) -> list:
        actions = super().get_actions_detail(request, object_id)
        still_open = Hold.objects.filter(pk=object_id, resolved_at__isnull=True).exists()
        return actions if still_open else []

    # -- columns -------------------------------------------------------------------------

    @display(description="order", ordering="order__number")
    def order_link(self, hold: Hold) -> SafeString:
        return format_html(
            '<a href="{}" class="font-semibold text-primary-600 whitespace-nowrap '
            'dark:text-primary-500">{}</a>',
            change_url(hold.order),
            hold.order.number,
        )

    @display(description="order status", ordering="order__status")
    def order_status(self, hold: Hold) -> SafeString:
        return order_status_badge(hold.order)

    @display(description="kind", ordering="kind")
    def kind_label(self, hold: Hold) -> SafeString:
        return badge(hold.get_kind_display(), HOLD_KIND_LABELS.get(hold.kind, ""))

    @display(description="age", ordering="opened_at")
    def age(self, hold: Hold) -> str:
        end = hold.resolved_at or timezone.now()
        return timesince(hold.opened_at, end, depth=1)

    @display(description="state")
    def state_label(self, hold: Hold) -> SafeString:
        return badge("open", "danger") if hold.is_open else badge("resolved", "success")

    # -- resolve -----------------------------------------------------------------------------

    def _resolve(self, request: HttpRequest, form: ResolveNoteForm, object_id: str, back: str):
        hold = self.get_object_or_404(request, object_id)
        call_service(
            request,
            lambda: hold_resolve(hold=hold, note=form.cleaned_data["note"], actor=request.user),
            lambda resolved: f"{resolved.get_kind_display()} hold on {hold.order.number} resolved.",
        )
        return done(request, back or change_url(hold))

    _dialog = {
        "title": "Resolve this hold?",
        "description": "When it is the order's last open hold, the order goes on: it is "
        "confirmed and its stock reserved.",
        "form_class": ResolveNoteForm,
        "form_submit_text": "Resolve",
    }

    @action(
        description="Resolve",
        url_path="resolve",
        icon="play_circle",
        permissions=["hold_order"],
        dialog=_dialog,
    )
    def resolve(self, request: HttpRequest, form: ResolveNoteForm, object_id: str):
        return self._resolve(request, form, object_id, reverse("admin:orders_hold_changelist"))

    @action(
        description="Resolve",
        url_path="resolve-hold",
        icon="play_circle",
        permissions=["hold_order"],
        dialog=_dialog,
    )
    def resolve_detail(self, request: HttpRequest, form: ResolveNoteForm, object_id: str):
        return self._resolve(request, form, object_id, "")

    @action(description="Resolve selected holds", permissions=["hold_order"])
    def resolve_selected(self, request: HttpRequest, queryset):
        form = BulkResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            run_each(
                request,
                queryset.select_related("order").order_by("opened_at", "pk"),
                lambda hold: hold_resolve(
                    hold=hold, note=form.cleaned_data["note"], actor=request.user
                ),
                verb="Resolved",
                name=lambda hold: f"{hold.get_kind_display()} hold on {hold.order.number}",
            )
            return None
        return bulk_page(
            self,
            request,
            queryset.select_related("order"),
            action="resolve_selected",
            title="Resolve holds",
            form=form,
            intro="Each hold is resolved on its own; an order whose last hold this was goes "
            "on (confirmed, stock reserved). A hold already resolved is listed and left.",
            submit_label="Resolve these holds",
        )
