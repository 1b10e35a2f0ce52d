"""The Receive stock page, shared by a location (a free receipt) and a purchase order
(lines pre-filled with what is still open). Lines are typed or scanned (SKU or barcode,
quantity, bin code) and booked by stock_receive: all lines or none."""

from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from inventory.admin.base import ServiceModelAdmin, change_url, describe
from inventory.admin_forms import ReceiveForm, receive_line_formset
from inventory.models import Location, PurchaseOrder, StockLevel
from inventory.services import ReceiptLine, stock_receive
from oms.core.exceptions import DomainError, ValidationFailed

FREE_RECEIPT_ROWS = 8


def purchase_order_initial(purchase_order: PurchaseOrder) -> list[dict]:
    """One row per line still open: its SKU, the open quantity, the product's pick bin."""
    lines = [line for line in purchase_order.lines.select_related("product") if line.quantity_open]
    bins = dict(
        StockLevel.objects.filter(
            location_id=purchase_order.location_id,
            product_id__in=[line.product_id for line in lines],
            bin__isnull=False,
        ).values_list("product_id", "bin__code")
    )
    return [
        {
            "sku": line.product.sku,
            "quantity": line.quantity_open,
            "bin": bins.get(line.product_id, ""),
            "name": line.product.name,
            "ordered": line.quantity_ordered,
            "received": line.quantity_received,
        }
        for line in lines
    ]


def _show_line_errors(formset, lines, error: ValidationFailed) -> None:
    """stock_receive names problems by line (in the order given): put them on those rows."""
    line_errors = error.errors.get("lines")
    if not isinstance(line_errors, list):
        return
    for (index, _), problems in zip(lines, line_errors, strict=False):
        if not isinstance(problems, dict):
            continue
        form = formset.forms[index]
        for field, texts in problems.items():
            for text in texts if isinstance(texts, list) else [texts]:
                form.add_error(field if field in form.fields else None, str(text))


def receive_page(
    model_admin: ServiceModelAdmin,
    request: HttpRequest,
    *,
    obj: models.Model,
    location: Location,
    purchase_order: PurchaseOrder | None = None,
) -> HttpResponse:
    initial = purchase_order_initial(purchase_order) if purchase_order else []
    formset_class = receive_line_formset(extra=0 if purchase_order else FREE_RECEIPT_ROWS)
    data = request.POST if request.method == "POST" else None
    form = ReceiveForm(data, initial={"reference": purchase_order.number if purchase_order else ""})
    formset = formset_class(
        data, initial=initial, form_kwargs={"location": location}, prefix="lines"
    )
    if data is not None and form.is_valid() and formset.is_valid():
        lines = formset.lines()
        try:
            movements = stock_receive(
                location=location,
                lines=[
                    ReceiptLine(
                        product=line["product"], quantity=line["quantity"], bin=line["bin_obj"]
                    )
                    for _, line in lines
                ],
                reference=form.cleaned_data["reference"],
                purchase_order=purchase_order,
                actor=request.user,
            )
        except DomainError as error:
            if isinstance(error, ValidationFailed):
                _show_line_errors(formset, lines, error)
            messages.error(request, f"Nothing was received. {describe(error)}")
        else:
            units = sum(movement.quantity for movement in movements)
            against = f" against {purchase_order.number}" if purchase_order else ""
            messages.success(
                request,
                f"Received {units} unit{'s' if units != 1 else ''} on {len(movements)} "
                f"line{'s' if len(movements) != 1 else ''} at {location.code}{against}.",
            )
            return HttpResponseRedirect(change_url(obj))
    return model_admin.render_page(
        request,
        "admin/inventory/receive.html",
        title="Receive stock",
        obj=obj,
        form=form,
        formset=formset,
        location=location,
        purchase_order=purchase_order,
        submit_label="Receive",
    )
