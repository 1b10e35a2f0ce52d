"""DESIGN.md invariants 3, 6 and 7 for orders, as queries that return every violation.

The database holds part of them too (OrderLine's CheckConstraints, the unique
(channel, external_ref)); they are checked here anyway, so a dropped constraint, a raw
.update() or a restore from an old dump cannot hide a violation.
"""

from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Trim

from inventory.models import Reservation
from orders.models import Order, OrderEvent, OrderLine


def violations() -> Iterator[str]:
    yield from _line_quantities()
    yield from _duplicate_refs()
    yield from _timeline()


def _line_quantities() -> Iterator[str]:
    """Invariant 3, per line: reserved + shipped <= ordered - cancelled; returned <=
    shipped; quantity_reserved == the active reservations held for the line."""
    held = (
        Reservation.objects.filter(
            demand_type=ContentType.objects.get_for_model(OrderLine),
            demand_id=OuterRef("pk"),
            state=Reservation.State.ACTIVE,
        )
        .order_by()
        .values("demand_id")
        .annotate(total=Sum("quantity"))
        .values("total")[:1]
    )
    lines = (
        OrderLine.objects.annotate(
            held=Coalesce(Subquery(held), Value(0), output_field=IntegerField())
        )
        .filter(
            Q(quantity__lt=F("quantity_reserved") + F("quantity_shipped") + F("quantity_cancelled"))
            | Q(quantity_returned__gt=F("quantity_shipped"))
            | ~Q(quantity_reserved=F("held"))
        )
        .select_related("order")
        .order_by("order_id", "line_no")
    )
    for line in lines:
        name = f"{line.order.number} line {line.line_no} ({line.sku})"
        reserved, shipped = line.quantity_reserved, line.quantity_shipped
        if reserved + shipped > line.quantity - line.quantity_cancelled:
            yield (
                f"invariant 3: {name}: reserved {reserved} + shipped {shipped} > ordered "
                f"{line.quantity} - cancelled {line.quantity_cancelled}"
            )
        if line.quantity_returned > shipped:
            yield f"invariant 3: {name}: returned {line.quantity_returned} > shipped {shipped}"
        if reserved != line.held:
            yield f"invariant 3: {name}: quantity_reserved {reserved} != active reservations {line.held}"


def _duplicate_refs() -> Iterator[str]:
    """Invariant 6: one order per (channel, external_ref). Capture strips the ref, so refs
    that differ only by surrounding spaces are the same order too."""
    groups = (
        Order.objects.annotate(ref=Trim("external_ref"))
        .values("channel_id", "channel__code", "ref")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("channel__code", "ref")
    )
    for group in groups:
        numbers = Order.objects.filter(channel_id=group["channel_id"]).annotate(
            ref=Trim("external_ref")
        )
        numbers = sorted(numbers.filter(ref=group["ref"]).values_list("number", flat=True))
        yield (
            f"invariant 6: {group['n']} orders for {group['channel__code']} / {group['ref']}: "
            f"{', '.join(numbers)}"
        )


def _timeline() -> Iterator[str]:
    """Invariant 7: every order has a timeline and a history; the last status change on
    its timeline says where it is now (an order never moved is pending)."""
    last_change = (
        OrderEvent.objects.filter(order=OuterRef("pk"), kind="status_changed")
        .order_by("-id")
        .annotate(to=KT("data__to"))
        .values("to")[:1]
    )
    orders = (
        Order.objects.annotate(
            has_events=Exists(OrderEvent.objects.filter(order=OuterRef("pk"))),
            has_history=Exists(Order.history.model.objects.filter(id=OuterRef("pk"))),
            last_to=Subquery(last_change),
        )
        .filter(
            Q(has_events=False)
            | Q(has_history=False)
            | (Q(last_to__isnull=True) & ~Q(status=Order.Status.PENDING))
            | (Q(last_to__isnull=False) & ~Q(last_to=F("status")))
        )
        .order_by("number")
    )
    for order in orders:
        if not order.has_events:
            yield f"invariant 7: {order.number}: no timeline event"
        if not order.has_history:
            yield f"invariant 7: {order.number}: no history row"
        if order.last_to is None and order.status != Order.Status.PENDING:
            yield f"invariant 7: {order.number}: is {order.status} but no status change is on its timeline"
        elif order.last_to is not None and order.last_to != order.status:
            yield (
                f"invariant 7: {order.number}: is {order.status} but its last status change "
                f"on the timeline is to {order.last_to}"
            )
