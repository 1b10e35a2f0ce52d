"""The timeline: one function per kind of event (Saleor's order/events.py). Each appends
an OrderEvent and, where API.md names one, the outbox event, in the caller's transaction."""

from typing import Any

from oms.core.outbox import emit
from orders.models import Order, OrderEvent


def _who(actor, system: str) -> dict:
    return {
        "actor": actor if getattr(actor, "pk", None) else None,
        "system": system if not getattr(actor, "pk", None) else "",
    }


def order_event(
    *,
    order: Order,
    kind: str,
    message: str,
    actor=None,
    system: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, kind=kind, message=message[:500], data=data or {}, **_who(actor, system)
    )


def order_created(
    *, order: Order, actor=None, system: str = "", source: str = "", origin: str = ""
) -> None:
    where = f" from {origin}" if origin else ""
    order_event(
        order=order,
        kind="created",
        message=f"Order captured via {source or 'api'}{where}: {order.lines.count()} lines, {order.total} {order.currency}.",
        actor=actor,
        system=system,
        data={"source": source, "origin": origin, "external_ref": order.external_ref},
    )
    emit(
        "order.created",
        {
            "number": order.number,
            "channel": order.channel.code,
            "external_ref": order.external_ref,
            "status": order.status,
            "total": order.total,
            "currency": order.currency,
        },
        about=order,
    )


def order_status_changed(
    *, order: Order, before: str, actor=None, system: str = "", reason: str = ""
) -> None:
    label = dict(Order.Status.choices)
    message = f"{label[before]} → {label[order.status]}" + (f": {reason}" if reason else "")
    order_event(
        order=order,
        kind="status_changed",
        message=message,
        actor=actor,
        system=system,
        data={"from": before, "to": order.status, "reason": reason},
    )
    emit(
        "order.status_changed",
        {"number": order.number, "from": before, "to": order.status, "reason": reason},
        about=order,
    )
