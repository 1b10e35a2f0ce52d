"""The phone order form: support types the order during the call; it is shaped into the
API's capture request and captured by the same service as every other channel
(source "admin"), so the same rules apply and the service's field errors come back onto
the fields and line rows they name."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from inventory.admin.base import change_url
from oms.core.exceptions import DomainError, ValidationFailed
from orders.forms import PhoneLineFormSet, PhoneOrderForm, apply_capture_errors, phone_payload
from orders.models import Order
from orders.services import order_capture


def _outcome(order: Order) -> str:
    if order.status == Order.Status.ON_HOLD:
        reasons = "; ".join(
            hold.reason for hold in order.holds.filter(resolved_at__isnull=True).order_by("pk")
        )
        return f"on hold: {reasons.rstrip('.')}"
    if order.status == Order.Status.BACKORDERED:
        return "backordered: waiting for stock"
    return order.get_status_display().lower()


def phone_order_page(model_admin, request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = PhoneOrderForm(data)
    lines = PhoneLineFormSet(data, prefix="lines")
    if data is not None and form.is_valid() and lines.is_valid():
        try:
            result = order_capture(
                payload=phone_payload(form, lines),
                actor=request.user,
                source="admin",
                origin="phone order form",
            )
        except ValidationFailed as error:
            apply_capture_errors(form, lines, error.errors)
        except DomainError as error:
            # The reference is already another order's (capture's Conflict).
            form.add_error("external_ref", error.message)
        else:
            order = result.order
            if result.created:
                messages.success(request, f"{order.number} captured, {_outcome(order)}.")
            else:
                messages.info(
                    request, f"{order.number} was already captured from this form; nothing new."
                )
            return HttpResponseRedirect(change_url(order))
    return model_admin.render_page(
        request,
        "admin/orders/order/phone_order.html",
        title="New phone order",
        form=form,
        lines=lines,
        formset=lines,  # the page's error note counts the line errors too
        form_id="phone",
        submit_label="Capture order",
    )
