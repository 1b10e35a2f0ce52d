"""Shared steps of the order services: locking and moving the status machine."""

from django_fsm import TransitionNotAllowed

from oms.core.exceptions import IllegalTransition
from orders.events import order_status_changed
from orders.models import Order


def lock_order(order: Order | int) -> Order:
    """Lock and reload the order row: two clerks never move the same order at once.
    Only the order's row (of=self): the customer is an outer join, which PostgreSQL will
    not lock, and the channel is shared by every order of it."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel", "customer")
        .get(pk=getattr(order, "pk", order))
    )


def move(order: Order, transition: str, *, actor=None, system: str = "", reason: str = "") -> None:
    """Apply a transition, save the status, and record it on the timeline (invariant 7)."""
    before = order.status
    try:
        getattr(order, transition)()
    except TransitionNotAllowed:
        raise IllegalTransition(
            f"Order {order.number} is {order.get_status_display().lower()}; it cannot {transition.replace('_', ' ')}.",
            status=before,
        ) from None
    order.save(update_fields=["status", "updated_at"])
    order_status_changed(order=order, before=before, actor=actor, system=system, reason=reason)
