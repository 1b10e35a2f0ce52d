"""Order reads used by more than one caller (the API, the admin, the console): querysets
with their joins and prefetches already applied, so a list costs the same few queries
whatever its length (STYLE.md 2)."""

from django.db.models import Prefetch, QuerySet

from oms.core.exceptions import NotFound
from orders.models import Hold, Order, OrderEvent, OrderLine


def order_list() -> QuerySet[Order]:
    """Orders, newest first, with what a list shows: the channel joined, the lines (by
    line number) and the holds prefetched. One query each, however many orders."""
    return Order.objects.select_related("channel").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
        Prefetch("holds", queryset=Hold.objects.order_by("opened_at", "id")),
    )


def order_detail_queryset() -> QuerySet[Order]:
    """Orders with everything one order's page shows: the list's parts, the customer and
    the timeline with who acted."""
    return (
        order_list()
        .select_related("customer")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("actor").order_by("at", "id"),
            )
        )
    )


def order_detail(*, number: str) -> Order:
    """One order by its number, ready to show in full; NotFound (404) when there is none."""
    try:
        return order_detail_queryset().get(number=number)
    except Order.DoesNotExist:
        raise NotFound(f"No order {number}.") from None


def order_as_written(order: Order) -> Order:
    """A just-captured order ready to show in full from the rows the capture wrote (the
    same prefetches order_detail makes, filled without a query); any other order is
    read again with order_detail."""
    written = getattr(order, "written", None)
    if written is None:
        return order_detail(number=order.number)
    for name, rows in written.items():
        queryset = getattr(order, name).all()
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        order._prefetched_objects_cache = {
            **getattr(order, "_prefetched_objects_cache", {}),
            name: queryset,
        }
    return order
