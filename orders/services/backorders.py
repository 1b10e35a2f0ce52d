"""Backorders get stock as it arrives: oldest and highest priority first."""

import logging

from django.db import transaction
from django.db.models import F

from inventory.models import StockLevel
from orders.models import Order
from orders.services.common import lock_order
from orders.services.lifecycle import order_allocate

log = logging.getLogger(__name__)


def _in_stock(product_ids: list[int]) -> list[int]:
    """Which of these products have units free at a location that ships orders."""
    return list(
        StockLevel.objects.filter(
            product_id__in=product_ids, location__active=True, location__fulfils_orders=True
        )
        .annotate(free=F("on_hand") - F("reserved") - F("safety_stock"))
        .filter(free__gt=0)
        .values_list("product_id", flat=True)
        .distinct()
    )


def backorders_allocate(*, product_ids: list[int], order_ids: list[int] | None = None) -> list[str]:
    """Try each waiting order that needs one of these products (and is one of
    `order_ids`, when given), in priority order (order priority, then channel priority,
    then placed first); each in its own transaction so one order's failure never blocks
    the rest. Returns the numbers of orders now fully allocated. Products with nothing
    free wake no one: one query, however many orders wait for them."""
    product_ids = _in_stock(product_ids)
    if not product_ids:
        return []
    waiting = (
        Order.objects.filter(
            status=Order.Status.BACKORDERED,
            lines__product_id__in=product_ids,
            lines__quantity__gt=F("lines__quantity_reserved")
            + F("lines__quantity_shipped")
            + F("lines__quantity_cancelled"),
        )
        .filter(**({"pk__in": order_ids} if order_ids is not None else {}))
        .order_by("priority", "channel__priority", "placed_at", "pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    allocated = []
    for order_id in list(dict.fromkeys(waiting)):
        try:
            with transaction.atomic():
                order = lock_order(order_id)
                if order.status != Order.Status.BACKORDERED:
                    continue
                order_allocate(order=order, system="backorder allocation")
        except Exception:
            # Rolled back alone; the orders behind it still get their turn, and this one
            # is tried again on the next receipt (it is still backordered).
            log.exception("Backorder allocation failed for order id %s", order_id)
            continue
        if order.status == Order.Status.ALLOCATED:
            allocated.append(order.number)
    return allocated
