"""Purchase orders: draft, place, receive (through stock_receive), cancel."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import F

from inventory.models import Location, Product, PurchaseOrder, PurchaseOrderLine, Supplier
from oms.core.exceptions import IllegalTransition, ValidationFailed
from oms.core.fsm import apply_transition


@dataclass(frozen=True)
class OrderLine:
    product: Product
    quantity: int
    unit_cost: object = None


def check_order_lines(lines: list[OrderLine]) -> None:
    """Lines of a purchase order or transfer: at least one, each 1 or more, no SKU twice."""
    if not lines:
        raise ValidationFailed({"lines": ["At least one line is required."]})
    errors = [
        {}
        if isinstance(line.quantity, int)
        and not isinstance(line.quantity, bool)
        and line.quantity > 0
        else {"quantity": ["Must be 1 or more."]}
        for line in lines
    ]
    if any(errors):
        raise ValidationFailed({"lines": errors})
    duplicated = [sku for sku, n in Counter(line.product.sku for line in lines).items() if n > 1]
    if duplicated:
        raise ValidationFailed({"lines": [f"{', '.join(duplicated)} appears more than once."]})


def _lock(purchase_order: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update().get(pk=purchase_order.pk)


def _transition(purchase_order: PurchaseOrder, name: str) -> None:
    apply_transition(purchase_order, name, label=f"Purchase order {purchase_order.number}")


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    location: Location,
    lines: list[OrderLine],
    expected_date: date | None = None,
    note: str = "",
    actor=None,
) -> PurchaseOrder:
    check_order_lines(lines)
    purchase_order = PurchaseOrder.objects.create(
        number=uuid.uuid4().hex,
        supplier=supplier,
        location=location,
        expected_date=expected_date,
        note=note,
        created_by=actor,
    )
    # The number comes from the primary key: unique without a counter to contend on.
    purchase_order.number = f"PO-{purchase_order.pk:06d}"
    purchase_order.save(update_fields=["number"])
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=purchase_order,
            product=line.product,
            quantity_ordered=line.quantity,
            unit_cost=line.unit_cost,
        )
        for line in lines
    )
    return purchase_order


@transaction.atomic
def purchase_order_place(*, purchase_order: PurchaseOrder, actor=None) -> PurchaseOrder:
    purchase_order = _lock(purchase_order)
    if not purchase_order.lines.exists():
        raise ValidationFailed({"lines": ["A purchase order needs at least one line."]})
    _transition(purchase_order, "place")
    purchase_order.save(update_fields=["status", "updated_at"])
    return purchase_order


@transaction.atomic
def purchase_order_cancel(*, purchase_order: PurchaseOrder, actor=None) -> PurchaseOrder:
    purchase_order = _lock(purchase_order)
    _transition(purchase_order, "cancel")
    purchase_order.save(update_fields=["status", "updated_at"])
    return purchase_order


def purchase_order_record_receipt(
    *, purchase_order: PurchaseOrder, location: Location, lines, actor=None
) -> None:
    """Book received quantities on the PO lines and move its status. Called by
    stock_receive inside its transaction; refuses unknown products and over-receipt."""
    purchase_order = _lock(purchase_order)
    if purchase_order.location_id != location.pk:
        raise ValidationFailed(
            {"location": [f"{purchase_order.number} is for {purchase_order.location.code}."]}
        )
    if purchase_order.status not in (
        PurchaseOrder.Status.ORDERED,
        PurchaseOrder.Status.PARTIALLY_RECEIVED,
    ):
        raise IllegalTransition(
            f"{purchase_order.number} is {purchase_order.get_status_display().lower()}; "
            "only an ordered purchase order can be received.",
            status=purchase_order.status,
        )
    po_lines = {line.product_id: line for line in purchase_order.lines.select_for_update()}
    # The same SKU may come on several receipt lines (several pallets): check the total.
    receiving = Counter()
    for line in lines:
        receiving[line.product.pk] += line.quantity
    errors = []
    for line in lines:
        po_line = po_lines.get(line.product.pk)
        if po_line is None:
            errors.append({"sku": [f"{line.product.sku} is not on {purchase_order.number}."]})
        elif receiving[line.product.pk] > po_line.quantity_open:
            errors.append(
                {
                    "quantity": [
                        f"Only {po_line.quantity_open} of {line.product.sku} are still open."
                    ]
                }
            )
        else:
            errors.append({})
    if any(errors):
        raise ValidationFailed({"lines": errors})
    for line in lines:
        PurchaseOrderLine.objects.filter(pk=po_lines[line.product.pk].pk).update(
            quantity_received=F("quantity_received") + line.quantity
        )
    still_open = purchase_order.lines.filter(quantity_received__lt=F("quantity_ordered")).exists()
    _transition(purchase_order, "receive_part" if still_open else "receive_all")
    purchase_order.save(update_fields=["status", "updated_at"])
