"""What the orders admins share: status badges, read-only inlines and the page between a
bulk action and its service calls. The console helpers (service calls as messages,
permission methods, custom pages) are inventory's, one layer down (DESIGN.md section 2)."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.db import models
from django.forms import Form
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString
from unfold.admin import TabularInline

from inventory.admin.base import describe
from oms.core.exceptions import DomainError
from orders.models import Hold, Order

ORDER_STATUS_LABELS = {
    Order.Status.PENDING: "info",
    Order.Status.ON_HOLD: "danger",
    Order.Status.CONFIRMED: "info",
    Order.Status.BACKORDERED: "warning",
    Order.Status.ALLOCATED: "primary",
    Order.Status.IN_FULFILMENT: "primary",
    Order.Status.PARTIALLY_SHIPPED: "warning",
    Order.Status.SHIPPED: "success",
    Order.Status.DELIVERED: "success",
    Order.Status.CANCELLED: "",
}
PAYMENT_LABELS = {
    Order.PaymentStatus.UNPAID: "warning",
    Order.PaymentStatus.AUTHORIZED: "info",
    Order.PaymentStatus.PAID: "success",
    Order.PaymentStatus.FAILED: "danger",
    Order.PaymentStatus.ON_TERMS: "primary",
    Order.PaymentStatus.REFUNDED: "",
}
HOLD_KIND_LABELS = {
    Hold.Kind.PAYMENT: "warning",
    Hold.Kind.FRAUD: "danger",
    Hold.Kind.CREDIT: "warning",
    Hold.Kind.ADDRESS: "info",
    Hold.Kind.STOCK: "primary",
}


def badge(text: str, kind: str = "", *, icon: str = "", title: str = "") -> SafeString:
    """unfold's label (info, success, warning, danger, primary; "" is grey), for lists and
    read-only fields alike."""
    return render_to_string(
        "unfold/helpers/label.html",
        {"text": text, "type": kind, "icon": icon, "label_title": title},
    )


def order_status_badge(order: Order) -> SafeString:
    return badge(order.get_status_display(), ORDER_STATUS_LABELS.get(order.status, ""))


class ReadOnlyInline(TabularInline):
    """Rows shown on the order page; services write them, nobody edits them here."""

    extra = 0
    can_delete = False
    hide_title = True  # each row says what it is

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def run_each(
    request: HttpRequest,
    records: Iterable[models.Model],
    call: Callable[[Any], Any],
    *,
    verb: str,
    name: Callable[[Any], str] = str,
) -> None:
    """One service call per record, each in its own transaction: what is refused is
    listed with the service's reason, the rest goes ahead."""
    done, refused = [], []
    for record in records:
        try:
            call(record)
        except DomainError as error:
            refused.append(f"{name(record)}: {describe(error)}")
        else:
            done.append(name(record))
    if done:
        messages.success(request, f"{verb} {len(done)}: {', '.join(done)}.")
    if refused:
        messages.error(
            request, f"{len(refused)} refused, nothing changed on them: {' '.join(refused)}"
        )


def bulk_page(
    model_admin,
    request: HttpRequest,
    queryset: models.QuerySet,
    *,
    action: str,
    title: str,
    form: Form,
    intro: str,
    submit_label: str,
) -> TemplateResponse:
    """The page between a bulk action and its services: what was selected and the form
    (a reason, a note). Posting it runs the action again with `apply`."""
    request.current_app = model_admin.admin_site.name
    opts = model_admin.opts
    return TemplateResponse(
        request,
        "admin/orders/bulk_action.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": opts,
            "form": form,
            "media": model_admin.media + form.media,
            "queryset": queryset,
            "action": action,
            "action_checkbox_name": "_selected_action",
            "select_across": request.POST.get("select_across", "0"),
            "intro": intro,
            "submit_label": submit_label,
        },
    )
