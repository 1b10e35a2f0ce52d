"""After capture: confirm, reserve, hold, resolve, cancel."""

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.services import DemandLine, stock_allocate, stock_release
from oms.core.exceptions import IllegalTransition, NotFound, ValidationFailed
from oms.core.fastsql import insert_history
from orders.events import order_event
from orders.models import Hold, Order, OrderLine
from orders.services.common import lock_order, move
from orders.tasks import allocate_backorders

S = Order.Status
HOLDABLE = (S.PENDING, S.CONFIRMED, S.BACKORDERED, S.ALLOCATED)


def order_allocate(*, order: Order, actor=None, system: str = "allocation") -> Order:
    """Reserve what the open lines still need (the order row is locked by the caller).
    Everything reserved: allocated; otherwise backordered, holding what it got."""
    lines = [line for line in order.lines.select_related("product") if line.quantity_open > 0]
    got: dict[int, int] = defaultdict(int)
    reason = ""
    if lines:
        allocation = stock_allocate(
            lines=[
                DemandLine(
                    line.product_id, line.quantity_open, line, f"{order.number}/{line.line_no}"
                )
                for line in lines
            ],
            destination_country=str(order.ship_country),
            destination_postcode=order.ship_postcode,
            policy=order.channel.routing_policy,
            allow_split=order.channel.allow_split,
            partial=True,
            channel_code=order.channel.code,
        )
        for reservation in allocation.reservations:
            got[reservation.demand_id] += reservation.quantity
        for line_id, quantity in got.items():
            OrderLine.objects.filter(pk=line_id).update(
                quantity_reserved=F("quantity_reserved") + quantity
            )
        reason = allocation.reason
        short = {
            line.sku: line.quantity_open - got[line.pk]
            for line in lines
            if got[line.pk] < line.quantity_open
        }
    else:
        short = {}
    if got:
        order_event(
            order=order,
            kind="reserved",
            message=f"Reserved {sum(got.values())} units ({reason}).",
            actor=actor,
            system=system,
            data={"lines": {str(k): v for k, v in got.items()}, "reason": reason},
        )
    if not short and order.status in (S.CONFIRMED, S.BACKORDERED):
        move(order, "allocate", actor=actor, system=system, reason=reason or "every line reserved")
    elif short and order.status == S.CONFIRMED:
        waiting = ", ".join(f"{q} × {sku}" for sku, q in short.items())
        move(order, "backorder", actor=actor, system=system, reason=f"waiting for {waiting}")
        # A receipt that committed while this order was being written looked for waiting
        # orders before this one existed: look once more after commit (no lost wake-up).
        short_products = sorted(
            {line.product_id for line in lines if got[line.pk] < line.quantity_open}
        )
        transaction.on_commit(lambda: allocate_backorders.delay(short_products))
    return order


def order_proceed(*, order: Order, actor=None, system: str = "") -> Order:
    """Run the steps that remain: with no open hold, confirm and reserve."""
    if order.holds.filter(resolved_at__isnull=True).exists():
        return order
    if order.status == S.PENDING:
        move(order, "confirm", actor=actor, system=system, reason="validated")
    elif order.status == S.ON_HOLD:
        move(order, "release_hold", actor=actor, system=system, reason="all holds resolved")
    if order.status in (S.CONFIRMED, S.BACKORDERED):
        order_allocate(order=order, actor=actor, system=system or "allocation")
    return order


def open_holds(
    *, order: Order, holds: list[tuple[str, str, dict]], actor=None, system: str = ""
) -> list[Hold]:
    created = []
    for kind, reason, data in holds:
        created.append(
            Hold.objects.create(
                order=order,
                kind=kind,
                reason=reason,
                data=data,
                opened_by=actor if getattr(actor, "pk", None) else None,
            )
        )
        order_event(
            order=order,
            kind="hold_opened",
            message=f"{Hold.Kind(kind).label} hold: {reason}",
            actor=actor,
            system=system,
            data={"kind": kind, **data},
        )
    if created and order.status != S.ON_HOLD:
        move(order, "hold", actor=actor, system=system, reason="; ".join(h.reason for h in created))
    return created


@transaction.atomic
def order_hold(*, order: Order, kind: str, reason: str, actor=None) -> Hold:
    """Put an order on hold. Its reservations stay: the stock is kept while someone looks."""
    if kind not in Hold.Kind.values:
        raise ValidationFailed({"kind": [f"One of: {', '.join(Hold.Kind.values)}."]})
    if not reason.strip():
        raise ValidationFailed({"reason": ["Say why the order is held."]})
    order = lock_order(order)
    if order.status not in (*HOLDABLE, S.ON_HOLD):
        raise IllegalTransition(
            f"Order {order.number} is {order.get_status_display().lower()}; it can no longer be held.",
            status=order.status,
        )
    (hold,) = open_holds(order=order, holds=[(kind, reason.strip(), {})], actor=actor)
    return hold


@transaction.atomic
def hold_resolve(*, hold: Hold, note: str = "", actor=None, system: str = "") -> Hold:
    """Resolve a hold; when it was the last one, the order goes on (confirm, reserve)."""
    order = lock_order(hold.order_id)
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    if hold.resolved_at is not None:
        raise IllegalTransition(
            f"This {hold.get_kind_display().lower()} hold was already resolved.",
            status=order.status,
        )
    if order.status == S.CANCELLED:
        raise IllegalTransition(f"Order {order.number} is cancelled.", status=order.status)
    hold.resolved_at = timezone.now()
    hold.resolved_by = actor if getattr(actor, "pk", None) else None
    hold.resolution_note = note.strip()[:500]
    hold.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
    order_event(
        order=order,
        kind="hold_resolved",
        message=f"{hold.get_kind_display()} hold resolved"
        + (f": {hold.resolution_note}" if hold.resolution_note else "."),
        actor=actor,
        system=system,
        data={"kind": hold.kind},
    )
    order_proceed(order=order, actor=actor, system=system)
    return hold


def _record(rows, *, actor) -> None:
    """History rows for rows a queryset UPDATE changed (it sends no signals)."""
    insert_history(list(rows), user=actor, date=timezone.now(), kind="~")


def _close_holds(*, order: Order, actor=None, note: str) -> int:
    """Close the open holds of an order that is being cancelled (nothing left to review)."""
    ids = list(order.holds.filter(resolved_at__isnull=True).values_list("pk", flat=True))
    closed = Hold.objects.filter(pk__in=ids).update(
        resolved_at=timezone.now(),
        resolved_by=actor if getattr(actor, "pk", None) else None,
        resolution_note=note,
    )
    _record(Hold.objects.filter(pk__in=ids), actor=actor)
    return closed


@transaction.atomic
def order_cancel(*, order: Order, reason: str, actor=None, system: str = "") -> Order:
    """Cancel the whole order before its first shipment leaves; reservations are released
    and open holds closed."""
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Say why the order is cancelled."]})
    order = lock_order(order)
    if order.status not in Order.CANCELLABLE or order.lines.filter(quantity_shipped__gt=0).exists():
        raise IllegalTransition(
            f"Order {order.number} is {order.get_status_display().lower()}; it can no longer be cancelled.",
            status=order.status,
        )
    lines = list(order.lines.all())
    released = stock_release(demands=lines)
    OrderLine.objects.filter(order=order).update(
        quantity_cancelled=F("quantity") - F("quantity_shipped"), quantity_reserved=0
    )
    _record(OrderLine.objects.filter(order=order), actor=actor)
    _close_holds(order=order, actor=actor, note="order cancelled")
    move(order, "cancel", actor=actor, system=system, reason=reason.strip())
    if released:
        order_event(
            order=order,
            kind="released",
            message=f"Released {released} reserved units.",
            actor=actor,
            system=system,
        )
    return order


@transaction.atomic
def order_lines_cancel(
    *, order: Order, quantities: dict[int, int], reason: str, actor=None
) -> Order:
    """Cancel some units of some lines (by line number). Reservations shrink to match; a
    fully cancelled order is cancelled; a backorder whose rest is all reserved is allocated."""
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Say why the lines are cancelled."]})
    order = lock_order(order)
    if order.status not in Order.CANCELLABLE:
        raise IllegalTransition(
            f"Order {order.number} is {order.get_status_display().lower()}; its lines can no longer be cancelled.",
            status=order.status,
        )
    if not quantities:
        raise ValidationFailed({"lines": ["Name at least one line to cancel."]})
    lines = {line.line_no: line for line in order.lines.select_for_update()}
    errors = {}
    for line_no, quantity in quantities.items():
        line = lines.get(line_no)
        if line is None:
            errors[str(line_no)] = ["No such line."]
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors[str(line_no)] = ["A whole number, 1 or more, is required."]
        elif quantity > line.quantity - line.quantity_shipped - line.quantity_cancelled:
            errors[str(line_no)] = [
                f"Only {line.quantity - line.quantity_shipped - line.quantity_cancelled} can still be cancelled."
            ]
    if errors:
        raise ValidationFailed({"lines": errors})
    for line_no, quantity in quantities.items():
        line = lines[line_no]
        from_open = min(quantity, line.quantity_open)
        from_reserved = quantity - from_open
        if from_reserved:
            stock_release(demands=[line], quantity=from_reserved)
        OrderLine.objects.filter(pk=line.pk).update(
            quantity_cancelled=F("quantity_cancelled") + quantity,
            quantity_reserved=F("quantity_reserved") - from_reserved,
        )
    _record(OrderLine.objects.filter(pk__in=[lines[n].pk for n in quantities]), actor=actor)
    # What the customer is charged follows what is still ordered (as an edit does).
    total_before = order.total
    order.subtotal = sum(
        (line.unit_price * (line.quantity - line.quantity_cancelled) for line in order.lines.all()),
        Decimal("0"),
    )
    order.total = order.subtotal + order.shipping_total
    order.save(update_fields=["subtotal", "total", "updated_at"])
    order_event(
        order=order,
        kind="lines_cancelled",
        message=f"Cancelled {', '.join(f'{q} × {lines[n].sku}' for n, q in quantities.items())}: {reason.strip()}",
        actor=actor,
        data={
            "lines": {str(n): q for n, q in quantities.items()},
            "total": {"before": str(total_before), "after": str(order.total)},
        },
    )
    remaining = order.lines.filter(quantity__gt=F("quantity_cancelled")).exists()
    if not remaining:
        _close_holds(order=order, actor=actor, note="every line cancelled")
        move(order, "cancel", actor=actor, reason="every line cancelled")
    elif order.status == S.BACKORDERED:
        order_allocate(order=order, actor=actor)
    return order


def order_get(*, number: str) -> Order:
    try:
        return Order.objects.select_related("channel", "customer").get(number=number)
    except Order.DoesNotExist:
        raise NotFound(f"No order {number}.") from None
