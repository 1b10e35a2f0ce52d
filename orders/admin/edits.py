"""The edit pages behind the order's Edit menu: lines and quantities, the ship-to
address, the priority. Each calls orders.services.edits; a refusal is a message and its
field errors land on the fields (or the line row) they name."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from inventory.admin.base import change_url, describe
from oms.core.exceptions import DomainError, ValidationFailed
from orders.forms import AddressForm, LineEditFormSet, NewLineFormSet, PriorityForm, apply_errors
from orders.models import Order
from orders.services.edits import (
    EDITABLE,
    order_address_change,
    order_line_add,
    order_line_quantity_change,
    order_line_remove,
    order_priority_change,
)


def _refuse_if_released(request: HttpRequest, order: Order) -> HttpResponse | None:
    """A page for an order that can no longer change would only end in a refusal."""
    if order.status in EDITABLE:
        return None
    messages.error(
        request,
        f"Order {order.number} is {order.get_status_display().lower()}; it can no longer "
        "be edited (only before it is released to the warehouse).",
    )
    return HttpResponseRedirect(change_url(order))


def address_page(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    if refused := _refuse_if_released(request, order):
        return refused
    data = request.POST if request.method == "POST" else None
    form = AddressForm(data, initial=AddressForm.initial_for(order))
    if data is not None and form.is_valid():
        try:
            order_address_change(order=order, ship_to=form.ship_to(), actor=request.user)
        except ValidationFailed as error:
            apply_errors(form, error.errors.get("ship_to", error.errors))
            messages.error(request, "Nothing was changed: correct the fields marked below.")
        except DomainError as error:
            messages.error(request, describe(error))
            return HttpResponseRedirect(change_url(order))
        else:
            messages.success(request, f"Ship-to address of {order.number} saved.")
            return HttpResponseRedirect(change_url(order))
    return model_admin.render_page(
        request,
        "admin/orders/order/edit_form.html",
        title="Edit ship-to address",
        obj=order,
        form=form,
        order=order,
        intro="The address is checked with the same rules as a new order (postcode and "
        "phone formats for the country). Stock already reserved stays where it is.",
        submit_label="Save address",
    )


def priority_page(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    if refused := _refuse_if_released(request, order):
        return refused
    data = request.POST if request.method == "POST" else None
    form = PriorityForm(data, initial={"priority": order.priority})
    if data is not None and form.is_valid():
        try:
            order_priority_change(
                order=order, priority=form.cleaned_data["priority"], actor=request.user
            )
        except ValidationFailed as error:
            apply_errors(form, error.errors)
            messages.error(request, "Nothing was changed: correct the fields marked below.")
        except DomainError as error:
            messages.error(request, describe(error))
            return HttpResponseRedirect(change_url(order))
        else:
            messages.success(request, f"Priority of {order.number} saved.")
            return HttpResponseRedirect(change_url(order))
    return model_admin.render_page(
        request,
        "admin/orders/order/edit_form.html",
        title="Edit priority",
        obj=order,
        form=form,
        order=order,
        intro="Orders with a lower number get stock and are picked first.",
        submit_label="Save priority",
    )


def _planned(order: Order, lines_by_no: dict, current, new) -> list:
    """(form, call) per change, in an order that frees stock before taking it: removals,
    decreases, increases, then new lines."""
    removals, decreases, increases, additions = [], [], [], []
    for form in current.forms:
        data = form.cleaned_data
        line = lines_by_no.get(data.get("line_no"))
        if line is None:
            continue
        wanted = line.quantity - line.quantity_cancelled
        if data.get("remove"):
            removals.append((form, {"kind": "remove", "line_no": line.line_no}))
        elif data.get("quantity") is not None and data["quantity"] != wanted:
            change = {"kind": "quantity", "line_no": line.line_no, "quantity": data["quantity"]}
            (decreases if data["quantity"] < wanted else increases).append((form, change))
    for form in new.forms:
        data = form.cleaned_data
        if not data.get("skip", True):
            additions.append(
                (
                    form,
                    {
                        "kind": "add",
                        "sku": data["sku"],
                        "quantity": data["quantity"],
                        "unit_price": data["unit_price"],
                    },
                )
            )
    return removals + decreases + increases + additions


def _apply(order: Order, change: dict, actor) -> None:
    if change["kind"] == "remove":
        order_line_remove(order=order, line_no=change["line_no"], actor=actor)
    elif change["kind"] == "quantity":
        order_line_quantity_change(
            order=order, line_no=change["line_no"], quantity=change["quantity"], actor=actor
        )
    else:
        order_line_add(
            order=order,
            sku=change["sku"],
            quantity=change["quantity"],
            unit_price=change["unit_price"],
            actor=actor,
        )


def lines_page(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    """Every line's quantity (or Remove) and new lines, saved together or not at all."""
    if refused := _refuse_if_released(request, order):
        return refused
    lines = [
        line
        for line in order.lines.select_related("product").order_by("line_no")
        if line.quantity > line.quantity_cancelled
    ]
    lines_by_no = {line.line_no: line for line in lines}
    data = request.POST if request.method == "POST" else None
    current = LineEditFormSet(
        data,
        initial=[
            {"line_no": line.line_no, "quantity": line.quantity - line.quantity_cancelled}
            for line in lines
        ],
        prefix="lines",
    )
    new = NewLineFormSet(data, prefix="new")
    if data is not None and current.is_valid() and new.is_valid():
        changes = _planned(order, lines_by_no, current, new)
        if not changes:
            messages.info(request, "Nothing to change.")
            return HttpResponseRedirect(change_url(order))
        failed = None  # the row of the change being made, for its errors
        try:
            # Several service calls, one outcome: a refusal of any undoes them all.
            with transaction.atomic():
                for failed, change in changes:  # noqa: B007 (read after the loop)
                    _apply(order, change, request.user)
        except ValidationFailed as error:
            apply_errors(failed, error.errors, {"line_no": ""})
            messages.error(
                request, f"Nothing was changed. {describe(error)} (see the row marked below)"
            )
        except DomainError as error:
            failed.add_error(None, describe(error))
            messages.error(request, f"Nothing was changed. {describe(error)}")
        else:
            after = Order.objects.get(pk=order.pk)
            messages.success(
                request,
                f"{len(changes)} change{'s' if len(changes) != 1 else ''} saved on "
                f"{order.number}: total {after.total} {after.currency}, "
                f"{after.get_status_display().lower()}.",
            )
            return HttpResponseRedirect(change_url(order))
    rows = []
    for form in current.forms:
        line_no = form["line_no"].value()
        rows.append((form, lines_by_no.get(int(line_no)) if str(line_no).isdigit() else None))
    return model_admin.render_page(
        request,
        "admin/orders/order/edit_lines.html",
        title="Edit lines and quantities",
        obj=order,
        form=None,
        order=order,
        current=current,
        rows=rows,
        new=new,
        submit_label="Save changes",
    )
