"""DESIGN.md invariants 3, 6 and 7 for orders, as queries that return every violation.

The database holds part of them too (OrderLine's CheckConstraints, the unique
(channel, external_ref)); they are checked here anyway, so a dropped constraint, a raw
.update() or a restore from an old dump cannot hide a violation.
"""

import json
from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
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


_EVENT = OrderEvent._meta.db_table
_HISTORY = Order.history.model._meta.db_table
# One pass with hash joins: a correlated subquery per order (the ORM's Exists/Subquery)
# took a minute on 25,000 imported orders before the planner had statistics.
_TIMELINE_SQL = f"""
WITH last AS (
    SELECT order_id, MAX(id) AS id FROM {_EVENT} WHERE kind = 'status_changed' GROUP BY order_id
),
events AS (SELECT DISTINCT order_id FROM {_EVENT}),
history AS (SELECT DISTINCT id FROM {_HISTORY})
SELECT o.number, o.status, events.order_id IS NOT NULL, history.id IS NOT NULL, e.data
FROM {Order._meta.db_table} o
LEFT JOIN events ON events.order_id = o.id
LEFT JOIN history ON history.id = o.id
LEFT JOIN last ON last.order_id = o.id
LEFT JOIN {_EVENT} e ON e.id = last.id
ORDER BY o.number
"""


def _timeline() -> Iterator[str]:
    """Invariant 7: every order has a timeline and a history; the last status change on
    its timeline says where it is now (an order never moved is pending)."""
    with connection.cursor() as cursor:
        cursor.execute(_TIMELINE_SQL)
        rows = cursor.fetchall()
    for number, status, has_events, has_history, data in rows:
        if isinstance(data, str):  # SQLite hands JSON back as text
            data = json.loads(data)
        last_to = data.get("to") if data else None
        if not has_events:
            yield f"invariant 7: {number}: no timeline event"
        if not has_history:
            yield f"invariant 7: {number}: no history row"
        if last_to is None and status != Order.Status.PENDING:
            yield f"invariant 7: {number}: is {status} but no status change is on its timeline"
        elif last_to is not None and last_to != status:
            yield (
                f"invariant 7: {number}: is {status} but its last status change "
                f"on the timeline is to {last_to}"
            )
