"""Backorders get stock as it arrives: oldest and highest priority first."""

import logging

from django.db import transaction
from django.db.models import F

from orders.models import Order
from orders.services.common import lock_order
from orders.services.lifecycle import order_allocate

log = logging.getLogger(__name__)


def backorders_allocate(*, product_ids: list[int]) -> list[str]:
    """Try each waiting order that needs one of these products, in priority order
    (order priority, then channel priority, then placed first); each in its own
    transaction so one order's failure never blocks the rest. Returns the numbers of
    orders now fully allocated."""
    waiting = (
        Order.objects.filter(
            status=Order.Status.BACKORDERED,
            lines__product_id__in=product_ids,
            lines__quantity__gt=F("lines__quantity_reserved")
            + F("lines__quantity_shipped")
            + F("lines__quantity_cancelled"),
        )
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
