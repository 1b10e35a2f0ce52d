"""Editing an order before it is released to the warehouse: the ship-to address, line
quantities, lines added or removed, the priority (support's most common requests).

Every edit locks the order row (and the line it touches) for its whole transaction, so it
never interleaves with allocation, a hold or a cancel of the same order; stock moves only
through inventory's reserve and release services, and OrderLine.quantity_reserved follows
them in the same transaction. Once the order is in fulfilment (or cancelled) its contents
belong to the warehouse: every edit is refused with IllegalTransition.

Stock follows the order's status:
- pending / on hold: quantities change; nothing is reserved until the order goes on
  (a decrease below what is held releases the difference at once);
- confirmed / backordered: the open quantity is reserved as far as stock allows, and a
  backorder whose lines are now all covered becomes allocated;
- allocated: the machine has no way back to backordered, so a larger or new line must be
  reserved at once, all of it, where the order's stock already is unless the channel
  allows a split; otherwise the edit is refused and nothing changes.
A larger total that the payment or the customer's credit no longer covers opens the same
payment or credit hold capture would have opened.
"""

from dataclasses import replace
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Max, Sum

from inventory.models import Product, Reservation
from inventory.routing import Plan, Router, RoutingRequest, get_router
from inventory.services import DemandLine, stock_allocate, stock_release
from oms.core.exceptions import IllegalTransition, InsufficientStock, ValidationFailed
from orders.events import order_event
from orders.models import MINOR_UNITS, Hold, Order, OrderLine, Payment
from orders.rules import open_balance
from orders.services.common import lock_order
from orders.services.lifecycle import open_holds, order_allocate

# The capture rules for an address (required fields, country, postcode and phone formats),
# so an edited address is held to exactly what a captured one was.
from orders.validation import _ship_to as validate_ship_to
from orders.validation import check_money

S = Order.Status
EDITABLE = (S.PENDING, S.ON_HOLD, S.CONFIRMED, S.BACKORDERED, S.ALLOCATED)
ADDRESS_FIELDS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "region",
    "postcode",
    "country",
    "phone",
)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_editable(order: Order, what: str) -> None:
    if order.status not in EDITABLE:
        raise IllegalTransition(
            f"Order {order.number} is {order.get_status_display().lower()}; {what} can no "
            "longer be changed (only before the order is released to the warehouse).",
            status=order.status,
        )


def _lock_line(order: Order, line_no) -> OrderLine:
    """The order's line by number, row-locked (not its product: nothing here changes it)."""
    if not _is_count(line_no):
        raise ValidationFailed({"line_no": [f"{line_no!r} is not a line number."]})
    line = order.lines.select_for_update().filter(line_no=line_no).first()
    if line is None:
        raise ValidationFailed({"line_no": [f"Order {order.number} has no line {line_no}."]})
    if line.quantity_cancelled >= line.quantity:
        raise ValidationFailed(
            {"line_no": [f"Line {line_no} of {order.number} is removed (fully cancelled)."]}
        )
    return line


def _active(line: OrderLine) -> int:
    """Units still wanted: ordered less cancelled."""
    return line.quantity - line.quantity_cancelled


def _totals(order: Order) -> tuple[Decimal, Decimal]:
    """Recompute subtotal and total from the lines; returns (total before, total after)."""
    before = order.total
    order.subtotal = sum(
        (line.unit_price * _active(line) for line in order.lines.all()), Decimal("0")
    )
    order.total = order.subtotal + order.shipping_total
    order.save(update_fields=["subtotal", "total", "updated_at"])
    return before, order.total


class _AlongsideRouter:
    """Routes an addition to an allocated order. Unless the channel allows a split, only
    the locations already holding the order's stock may give it, so it still ships as
    planned (DESIGN.md section 7)."""

    def __init__(self, router: Router, location_ids: set[int]) -> None:
        self.router = router
        self.location_ids = location_ids

    def plan(self, request: RoutingRequest) -> Plan:
        candidates = tuple(c for c in request.candidates if c.location_id in self.location_ids)
        plan = self.router.plan(replace(request, candidates=candidates))
        plan.reason = f"{plan.reason}, among the locations holding the order's stock"
        return plan


def _held_at(order: Order) -> set[int]:
    """The locations where the order's lines hold stock now."""
    return set(
        Reservation.objects.filter(
            demand_type=ContentType.objects.get_for_model(OrderLine),
            demand_id__in=order.lines.values("pk"),
            state=Reservation.State.ACTIVE,
        ).values_list("stock_level__location_id", flat=True)
    )


def _reserve_now(order: Order, line: OrderLine, *, actor) -> None:
    """Reserve all of the line's open quantity or refuse (the order is allocated)."""
    line.refresh_from_db(fields=["quantity", "quantity_reserved", "quantity_cancelled"])
    wanted = line.quantity_open
    if wanted <= 0:
        return
    router = get_router()
    held_at = _held_at(order)
    if held_at and not order.channel.allow_split:
        router = _AlongsideRouter(router, held_at)
    try:
        allocation = stock_allocate(
            lines=[DemandLine(line.product_id, wanted, line, f"{order.number}/{line.line_no}")],
            destination_country=str(order.ship_country),
            destination_postcode=order.ship_postcode,
            policy=order.channel.routing_policy,
            allow_split=order.channel.allow_split,
            channel_code=order.channel.code,
            router=router,
        )
    except InsufficientStock as error:
        raise InsufficientStock(
            f"Order {order.number} is allocated, so {wanted} more of {line.sku} must be "
            f"reserved at once, and it cannot be: {error.message}",
            **error.data,
        ) from None
    got = sum(reservation.quantity for reservation in allocation.reservations)
    OrderLine.objects.filter(pk=line.pk).update(quantity_reserved=F("quantity_reserved") + got)
    order_event(
        order=order,
        kind="reserved",
        message=f"Reserved {got} units ({allocation.reason}).",
        actor=actor,
        data={"lines": {str(line.pk): got}, "reason": allocation.reason},
    )


def _more_demand(order: Order, line: OrderLine, *, actor) -> None:
    """A line grew or was added: reserve as the order's status says."""
    if order.status == S.ALLOCATED:
        _reserve_now(order, line, actor=actor)
    elif order.status in (S.CONFIRMED, S.BACKORDERED):
        order_allocate(order=order, actor=actor, system="allocation")


def _less_demand(order: Order, *, actor) -> None:
    """A line shrank or went: a backorder may now have everything it waits for."""
    if order.status == S.BACKORDERED:
        order_allocate(order=order, actor=actor, system="allocation")


def _release(order: Order, line: OrderLine, quantity: int, *, actor) -> int:
    """Give `quantity` of the line's reserved units back (the line row is locked)."""
    if quantity <= 0:
        return 0
    released = stock_release(demands=[line], quantity=quantity)
    OrderLine.objects.filter(pk=line.pk).update(quantity_reserved=F("quantity_reserved") - released)
    order_event(
        order=order,
        kind="released",
        message=f"Released {released} reserved units of {line.sku}.",
        actor=actor,
        data={"lines": {str(line.pk): released}},
    )
    return released


def _holds_for_total(order: Order, before: Decimal, *, actor) -> None:
    """When the total grew: the same payment and credit rules as capture."""
    if order.total <= before or order.status == S.CANCELLED:
        return
    open_kinds = set(order.holds.filter(resolved_at__isnull=True).values_list("kind", flat=True))
    holds = []
    covered_statuses = (Order.PaymentStatus.AUTHORIZED, Order.PaymentStatus.PAID)
    if order.payment_status in covered_statuses and Hold.Kind.PAYMENT not in open_kinds:
        covered = order.payments.filter(
            status__in=(Payment.Status.AUTHORIZED, Payment.Status.CAPTURED)
        ).aggregate(total=Sum("amount", default=Decimal("0")))["total"]
        covered = Decimal(covered).quantize(Decimal(1).scaleb(-MINOR_UNITS.get(order.currency, 2)))
        if covered < order.total:
            holds.append(
                (
                    Hold.Kind.PAYMENT,
                    f"Payment of {covered} is less than the new order total {order.total}.",
                    {"amount": str(covered), "total": str(order.total)},
                )
            )
    customer = order.customer
    if (
        order.payment_status == Order.PaymentStatus.ON_TERMS
        and customer is not None
        and Hold.Kind.CREDIT not in open_kinds
    ):
        balance = open_balance(customer, exclude_order_id=order.pk)
        if balance + order.total > customer.credit_limit:
            holds.append(
                (
                    Hold.Kind.CREDIT,
                    f"Credit limit {customer.credit_limit} exceeded: open balance {balance} + "
                    f"this order {order.total}.",
                    {
                        "credit_limit": str(customer.credit_limit),
                        "open_balance": str(balance),
                        "total": str(order.total),
                    },
                )
            )
    if holds:
        open_holds(order=order, holds=holds, actor=actor, system="edit")


# -- the edits --------------------------------------------------------------------------


@transaction.atomic
def order_address_change(*, order: Order, ship_to: dict, actor=None) -> Order:
    """Change the ship-to address. `ship_to` holds the fields to change (any of name,
    company, line1, line2, city, region, postcode, country, phone); the resulting address
    is validated as a whole with capture's rules. Errors are field-level, in capture's
    shape: {"ship_to": {"postcode": ["..."]}}."""
    if not isinstance(ship_to, dict):
        raise ValidationFailed(
            {"ship_to": {"non_field_errors": ["An address object is required."]}}
        )
    unknown = sorted(set(ship_to) - set(ADDRESS_FIELDS))
    if unknown:
        raise ValidationFailed({"ship_to": {key: ["Not an address field."] for key in unknown}})
    order = lock_order(order)
    _check_editable(order, "its address")
    before = {key: str(getattr(order, f"ship_{key}") or "") for key in ADDRESS_FIELDS}
    after, errors = validate_ship_to({**before, **ship_to})
    if errors:
        raise ValidationFailed({"ship_to": errors})
    changed = [key for key in ADDRESS_FIELDS if after[key] != before[key]]
    if not changed:
        return order
    for key in changed:
        setattr(order, f"ship_{key}", after[key])
    order.save(update_fields=[*(f"ship_{key}" for key in changed), "updated_at"])
    described = "; ".join(
        f"{key} {before[key] or '(blank)'} → {after[key] or '(blank)'}" for key in changed
    )
    order_event(
        order=order,
        kind="address_changed",
        message=f"Ship-to address changed: {described}.",
        actor=actor,
        data={"before": before, "after": after, "changed": changed},
    )
    return order


@transaction.atomic
def order_line_quantity_change(*, order: Order, line_no: int, quantity: int, actor=None) -> Order:
    """Set how many units a line wants (ordered less cancelled). Down: what is no longer
    wanted is released. Up: reserved as the order's status says (see the module)."""
    if not _is_count(quantity) or quantity < 1:
        raise ValidationFailed(
            {"quantity": ["A whole number, 1 or more, is required (to drop a line, remove it)."]}
        )
    order = lock_order(order)
    _check_editable(order, "its lines")
    line = _lock_line(order, line_no)
    active = _active(line)
    if quantity == active:
        return order
    if quantity < line.quantity_shipped:
        raise ValidationFailed(
            {"quantity": [f"{line.quantity_shipped} units of this line have already shipped."]}
        )
    reserved_before = line.quantity_reserved
    # Below what is already held (and shipped): release the difference first.
    excess = line.quantity_reserved + line.quantity_shipped - quantity
    line.quantity = quantity + line.quantity_cancelled
    if excess > 0:
        _release(order, line, excess, actor=actor)
        line.quantity_reserved -= excess
    line.save(update_fields=["quantity"])
    total_before, total_after = _totals(order)
    order_event(
        order=order,
        kind="line_quantity_changed",
        message=(
            f"Line {line.line_no} ({line.sku}) quantity {active} → {quantity}; total "
            f"{total_before} → {total_after} {order.currency}."
        ),
        actor=actor,
        data={
            "line_no": line.line_no,
            "sku": line.sku,
            "before": {"quantity": active, "reserved": reserved_before},
            "after": {"quantity": quantity, "reserved": line.quantity_reserved},
            "total": {"before": total_before, "after": total_after},
        },
    )
    if quantity > active:
        _more_demand(order, line, actor=actor)
    else:
        _less_demand(order, actor=actor)
    _holds_for_total(order, total_before, actor=actor)
    return order


@transaction.atomic
def order_line_add(*, order: Order, sku: str, quantity: int, unit_price, actor=None) -> OrderLine:
    """Add a line (the next line number), reserved as the order's status says."""
    order = lock_order(order)
    _check_editable(order, "its lines")
    errors: dict[str, list[str]] = {}
    sku = str(sku or "").strip().upper()
    product = Product.objects.filter(sku=sku).first() if sku else None
    if not sku:
        errors["sku"] = ["This field is required."]
    elif product is None:
        errors["sku"] = [f"Unknown SKU {sku!r}."]
    elif not product.active:
        errors["sku"] = [f"{sku} is no longer sold (inactive)."]
    if not _is_count(quantity) or quantity < 1:
        errors["quantity"] = ["A whole number, 1 or more, is required."]
    price, problem = (None, "This field is required.")
    if unit_price not in (None, ""):
        price, problem = check_money(unit_price, order.currency)
    if problem:
        errors["unit_price"] = [problem]
    if errors:
        raise ValidationFailed(errors)
    line_no = (order.lines.aggregate(last=Max("line_no"))["last"] or 0) + 1
    line = OrderLine.objects.create(
        order=order,
        line_no=line_no,
        product=product,
        sku=product.sku,
        quantity=quantity,
        unit_price=price,
    )
    total_before, total_after = _totals(order)
    order_event(
        order=order,
        kind="line_added",
        message=(
            f"Line {line_no} added: {quantity} × {product.sku} at {price}; total "
            f"{total_before} → {total_after} {order.currency}."
        ),
        actor=actor,
        data={
            "line_no": line_no,
            "sku": product.sku,
            "before": None,
            "after": {"quantity": quantity, "unit_price": price},
            "total": {"before": total_before, "after": total_after},
        },
    )
    _more_demand(order, line, actor=actor)
    _holds_for_total(order, total_before, actor=actor)
    line.refresh_from_db()
    return line


@transaction.atomic
def order_line_remove(*, order: Order, line_no: int, actor=None) -> OrderLine:
    """Remove a line: its reservation is released and it becomes fully cancelled (kept,
    so the history stays). The last line cannot go: cancel the order instead."""
    order = lock_order(order)
    _check_editable(order, "its lines")
    line = _lock_line(order, line_no)
    others = order.lines.exclude(pk=line.pk).filter(quantity__gt=F("quantity_cancelled")).exists()
    if not others:
        raise ValidationFailed(
            {
                "line_no": [
                    f"Line {line_no} is the last line of {order.number}: cancel the order instead."
                ]
            }
        )
    active, reserved_before = _active(line), line.quantity_reserved
    if line.quantity_reserved:
        _release(order, line, line.quantity_reserved, actor=actor)
    line.quantity_reserved = 0
    line.quantity_cancelled = line.quantity - line.quantity_shipped
    line.save(update_fields=["quantity_reserved", "quantity_cancelled"])
    total_before, total_after = _totals(order)
    order_event(
        order=order,
        kind="line_removed",
        message=(
            f"Line {line.line_no} removed ({active} × {line.sku}); total "
            f"{total_before} → {total_after} {order.currency}."
        ),
        actor=actor,
        data={
            "line_no": line.line_no,
            "sku": line.sku,
            "before": {"quantity": active, "reserved": reserved_before},
            "after": {"quantity": 0, "reserved": 0},
            "total": {"before": total_before, "after": total_after},
        },
    )
    _less_demand(order, actor=actor)
    return line


@transaction.atomic
def order_priority_change(*, order: Order, priority: int, actor=None) -> Order:
    """Change where the order queues for stock and picking (lower is served first)."""
    if not _is_count(priority) or priority < 0:
        raise ValidationFailed({"priority": ["A whole number, 0 or more, is required."]})
    order = lock_order(order)
    _check_editable(order, "its priority")
    before = order.priority
    if priority == before:
        return order
    order.priority = priority
    order.save(update_fields=["priority", "updated_at"])
    order_event(
        order=order,
        kind="priority_changed",
        message=f"Priority {before} → {priority} (lower is served first).",
        actor=actor,
        data={"before": before, "after": priority},
    )
    return order


__all__ = [
    "EDITABLE",
    "order_address_change",
    "order_line_add",
    "order_line_quantity_change",
    "order_line_remove",
    "order_priority_change",
]
