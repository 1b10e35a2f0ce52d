"""The timeline: one function per kind of event (Saleor's order/events.py). Each appends
an OrderEvent and, where API.md names one, the outbox event, in the caller's transaction."""

from typing import Any

from oms.core.outbox import emit_many, outbox_event
from orders.models import Order, OrderEvent


def _who(actor, system: str) -> dict:
    return {
        "actor": actor if getattr(actor, "pk", None) else None,
        "system": system if not getattr(actor, "pk", None) else "",
    }


def build_event(
    *,
    order: Order,
    kind: str,
    message: str,
    actor=None,
    system: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """An unsaved timeline entry (bulk writers save many at once)."""
    return OrderEvent(
        order=order, kind=kind, message=message[:500], data=data or {}, **_who(actor, system)
    )


def order_event(**kwargs) -> OrderEvent:
    event = build_event(**kwargs)
    event.save()
    return event


def created_message(order: Order, *, lines: int, source: str, origin: str) -> str:
    where = f" from {origin}" if origin else ""
    return f"Order captured via {source or 'api'}{where}: {lines} lines, {order.total} {order.currency}."


def created_outbox(order: Order, *, status: str):
    return outbox_event(
        "order.created",
        {
            "number": order.number,
            "channel": order.channel.code,
            "external_ref": order.external_ref,
            "status": status,
            "total": order.total,
            "currency": order.currency,
        },
        about=order,
    )


def status_message(before: str, after: str, reason: str) -> str:
    label = dict(Order.Status.choices)
    return f"{label[before]} → {label[after]}" + (f": {reason}" if reason else "")


def status_outbox(order: Order, before: str, reason: str, *, after: str = ""):
    return outbox_event(
        "order.status_changed",
        {"number": order.number, "from": before, "to": after or order.status, "reason": reason},
        about=order,
    )


def order_status_changed(
    *, order: Order, before: str, actor=None, system: str = "", reason: str = ""
) -> None:
    order_event(
        order=order,
        kind="status_changed",
        message=status_message(before, order.status, reason),
        actor=actor,
        system=system,
        data={"from": before, "to": order.status, "reason": reason},
    )
    emit_many([status_outbox(order, before, reason)])
