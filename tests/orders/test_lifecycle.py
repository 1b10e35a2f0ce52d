"""After capture: holds opened later, resolving them, cancelling orders and lines, with
the stock each step holds or gives back."""

from decimal import Decimal

import pytest

from inventory.models import Reservation, StockLevel
from inventory.services.reservations import reserved_for
from oms.core.exceptions import IllegalTransition, ValidationFailed
from oms.core.models import OutboxEvent
from orders.models import Hold, Order, OrderLine
from orders.services import hold_resolve, order_cancel, order_hold, order_lines_cancel
from tests.factories import captured_order

pytestmark = pytest.mark.django_db
S = Order.Status
TWO_LINES = [
    {"sku": "WIDGET-RED", "quantity": 3, "unit_price": "10.00"},
    {"sku": "WIDGET-BLUE", "quantity": 2, "unit_price": "5.00"},
]
PAID_40 = {"status": "paid", "amount": "40.00"}


def reload(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def reserved(sku: str) -> int:
    return StockLevel.objects.get(product__sku=sku).reserved


def held_for(order: Order) -> int:
    return reserved_for(list(order.lines.all()))


def snapshot(order: Order) -> dict:
    row = reload(order)
    return {
        "status": row.status,
        "updated_at": row.updated_at,
        "events": row.events.count(),
        "history": row.history.count(),
        "lines": list(row.lines.values()),
        "holds": list(row.holds.values()),
        "reservations": list(Reservation.objects.values()),
        "levels": list(StockLevel.objects.values("pk", "on_hand", "reserved")),
        "outbox": OutboxEvent.objects.count(),
    }


def kinds_since(order: Order, event_id: int) -> list[str]:
    return list(order.events.filter(pk__gt=event_id).values_list("kind", flat=True))


def last_event_id(order: Order) -> int:
    return order.events.order_by("id").last().pk


# -- holds ------------------------------------------------------------------------------


def test_a_hold_opened_on_an_allocated_order_keeps_its_stock():
    order = captured_order()
    assert reserved("WIDGET-RED") == 2
    hold = order_hold(order=order, kind=Hold.Kind.ADDRESS, reason="Suite number missing")
    row = reload(order)
    assert row.status == S.ON_HOLD
    assert list(row.holds.values_list("kind", "reason", "resolved_at")) == [
        ("address", "Suite number missing", None)
    ]
    assert hold.order_id == order.pk
    assert row.lines.get().quantity_reserved == 2
    assert reserved("WIDGET-RED") == 2
    assert held_for(order) == 2


def test_resolving_the_last_hold_lets_the_order_go_on_without_reserving_twice():
    order = captured_order()
    hold = order_hold(order=order, kind=Hold.Kind.ADDRESS, reason="Suite number missing")
    mark = last_event_id(order)
    hold_resolve(hold=hold, note="Customer confirmed suite 4")
    row = reload(order)
    assert row.status == S.ALLOCATED
    assert kinds_since(order, mark) == ["hold_resolved", "status_changed", "status_changed"]
    assert [
        (e.data["from"], e.data["to"])
        for e in row.events.filter(pk__gt=mark, kind="status_changed")
    ] == [("on_hold", "confirmed"), ("confirmed", "allocated")]
    assert reserved("WIDGET-RED") == 2
    assert Reservation.objects.filter(state="active").count() == 1


def test_an_order_waits_until_every_hold_is_resolved():
    order = captured_order(payment=None)  # payment hold at capture
    fraud = order_hold(order=order, kind=Hold.Kind.FRAUD, reason="Odd e-mail domain")
    payment = reload(order).holds.get(kind="payment")
    hold_resolve(hold=payment, note="Paid by bank transfer")
    assert reload(order).status == S.ON_HOLD
    assert held_for(order) == 0
    hold_resolve(hold=fraud, note="Known customer")
    row = reload(order)
    assert row.status == S.ALLOCATED
    assert row.lines.get().quantity_reserved == 2
    assert reserved("WIDGET-RED") == 2


def test_a_hold_resolved_at_capture_reserves_then():
    order = captured_order(payment=None)
    assert reserved("WIDGET-RED") == 0
    hold_resolve(hold=order.holds.get(), note="Paid")
    assert reload(order).status == S.ALLOCATED
    assert reserved("WIDGET-RED") == 2


def test_resolving_a_backordered_orders_hold_takes_what_there_is(django_user_model):
    order = captured_order(stock=1)  # 1 of 2 reserved: backordered
    assert reload(order).status == S.BACKORDERED
    hold = order_hold(order=order, kind=Hold.Kind.MANUAL, reason="Check")
    assert reload(order).lines.get().quantity_reserved == 1
    clerk = django_user_model.objects.create_user(username="clerk", password="x")
    hold_resolve(hold=hold, actor=clerk)
    row = reload(order)
    assert row.status == S.BACKORDERED
    assert row.lines.get().quantity_reserved == 1
    hold.refresh_from_db()
    assert (hold.resolved_by, hold.resolution_note) == (clerk, "")
    assert row.events.filter(kind="hold_resolved").get().actor == clerk


def test_resolving_a_hold_twice_is_refused_and_changes_nothing():
    order = captured_order()
    hold = order_hold(order=order, kind=Hold.Kind.MANUAL, reason="Check")
    hold_resolve(hold=hold, note="ok")
    before = snapshot(order)
    with pytest.raises(IllegalTransition) as refused:
        hold_resolve(hold=hold, note="again")
    assert refused.value.message == "This manual hold was already resolved."
    assert refused.value.status == S.ALLOCATED
    assert snapshot(order) == before


@pytest.mark.parametrize(
    ("kind", "reason", "field"),
    [("nonsense", "Check", "kind"), ("manual", "  ", "reason")],
)
def test_a_hold_needs_a_known_kind_and_a_reason(kind, reason, field):
    order = captured_order()
    before = snapshot(order)
    with pytest.raises(ValidationFailed) as refused:
        order_hold(order=order, kind=kind, reason=reason)
    assert list(refused.value.errors) == [field]
    assert snapshot(order) == before


# -- cancelling an order ----------------------------------------------------------------


def test_cancelling_gives_the_stock_back_closes_holds_and_tells_subscribers(django_user_model):
    order = captured_order(lines=TWO_LINES, payment=PAID_40)
    assert (reserved("WIDGET-RED"), reserved("WIDGET-BLUE")) == (3, 2)
    order_hold(order=order, kind=Hold.Kind.FRAUD, reason="Chargeback history")
    clerk = django_user_model.objects.create_user(username="clerk", password="x")
    mark = last_event_id(order)
    order_cancel(order=order, reason="Customer asked", actor=clerk)
    row = reload(order)
    assert row.status == S.CANCELLED
    assert (reserved("WIDGET-RED"), reserved("WIDGET-BLUE")) == (0, 0)
    assert not Reservation.objects.filter(state="active").exists()
    assert Reservation.objects.filter(state="released").count() == 2
    assert list(row.lines.values_list("quantity_cancelled", "quantity_reserved")) == [
        (3, 0),
        (2, 0),
    ]
    hold = row.holds.get()
    assert (hold.is_open, hold.resolved_by, hold.resolution_note) == (
        False,
        clerk,
        "order cancelled",
    )
    assert kinds_since(order, mark) == ["status_changed", "released"]
    change = row.events.get(pk__gt=mark, kind="status_changed")
    assert change.data == {"from": "on_hold", "to": "cancelled", "reason": "Customer asked"}
    assert change.actor == clerk
    assert row.events.get(kind="released").message == "Released 5 reserved units."
    outbox = OutboxEvent.objects.filter(
        topic="order.status_changed", aggregate_id=str(order.pk)
    ).first()
    assert outbox.payload == {
        "number": order.number,
        "from": "on_hold",
        "to": "cancelled",
        "reason": "Customer asked",
    }
    assert row.history.latest().status == S.CANCELLED
    # The lines and the hold changed with the order: each has its history row, by the clerk.
    closed = hold.history.latest()
    assert (closed.history_type, closed.resolution_note, closed.history_user) == (
        "~",
        "order cancelled",
        clerk,
    )
    for line in row.lines.all():
        latest = line.history.latest()
        assert (latest.quantity_cancelled, latest.quantity_reserved) == (line.quantity, 0)
        assert latest.history_user == clerk


def test_cancelling_needs_a_reason():
    order = captured_order()
    before = snapshot(order)
    with pytest.raises(ValidationFailed) as refused:
        order_cancel(order=order, reason=" ")
    assert refused.value.errors == {"reason": ["Say why the order is cancelled."]}
    assert snapshot(order) == before


@pytest.mark.parametrize("status", [S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED])
def test_cancelling_after_a_shipment_left_is_refused(status):
    order = captured_order()
    Order.objects.filter(pk=order.pk).update(status=status)
    OrderLine.objects.filter(order=order).update(quantity_shipped=1, quantity_reserved=1)
    before = snapshot(order)
    with pytest.raises(IllegalTransition) as refused:
        order_cancel(order=order, reason="Too late")
    assert refused.value.status == status
    assert snapshot(order) == before


def test_an_order_in_fulfilment_with_a_line_already_shipped_cannot_be_cancelled():
    order = captured_order()
    Order.objects.filter(pk=order.pk).update(status=S.IN_FULFILMENT)
    OrderLine.objects.filter(order=order).update(quantity_shipped=1, quantity_reserved=1)
    before = snapshot(order)
    with pytest.raises(IllegalTransition) as refused:
        order_cancel(order=order, reason="Too late")
    assert (
        refused.value.message
        == f"Order {order.number} is in fulfilment; it can no longer be cancelled."
    )
    assert snapshot(order) == before


def test_cancelling_a_backorder_gives_back_what_it_had_taken():
    order = captured_order(stock=1)
    assert reserved("WIDGET-RED") == 1
    order_cancel(order=order, reason="Cannot wait")
    assert reload(order).status == S.CANCELLED
    assert reserved("WIDGET-RED") == 0


# -- cancelling lines -------------------------------------------------------------------


def test_cancelling_part_of_a_line_shrinks_its_reservation_and_the_total():
    order = captured_order(lines=TWO_LINES, payment=PAID_40)
    mark = last_event_id(order)
    order_lines_cancel(order=order, quantities={1: 2}, reason="Customer wants one")
    row = reload(order)
    assert row.status == S.ALLOCATED
    red, blue = row.lines.all()
    assert (red.quantity, red.quantity_cancelled, red.quantity_reserved) == (3, 2, 1)
    assert (blue.quantity_cancelled, blue.quantity_reserved) == (0, 2)
    assert reserved("WIDGET-RED") == 1
    assert reserved_for([red]) == 1
    assert (row.subtotal, row.total) == (Decimal("20.00"), Decimal("20.00"))
    assert kinds_since(order, mark) == ["lines_cancelled"]
    event = row.events.get(kind="lines_cancelled")
    assert event.message == "Cancelled 2 × WIDGET-RED: Customer wants one"
    assert event.data == {"lines": {"1": 2}, "total": {"before": "40.00", "after": "20.00"}}
    # The cancelled line has a history row saying so; the untouched one has none new.
    assert [(h.history_type, h.quantity_cancelled) for h in red.history.all()] == [
        ("~", 2),
        ("+", 0),
    ]
    assert blue.history.count() == 1


def test_cancelling_the_units_a_backorder_waits_for_allocates_it():
    order = captured_order(
        stock=3,
        lines=[{"sku": "WIDGET-RED", "quantity": 5, "unit_price": "2.00"}],
        payment={"status": "paid", "amount": "10.00"},
    )
    row = reload(order)
    assert (row.status, row.lines.get().quantity_reserved) == (S.BACKORDERED, 3)
    order_lines_cancel(order=order, quantities={1: 2}, reason="Customer takes what is there")
    row = reload(order)
    assert row.status == S.ALLOCATED
    line = row.lines.get()
    assert (line.quantity_cancelled, line.quantity_reserved) == (2, 3)
    assert reserved("WIDGET-RED") == 3  # the open units went first: nothing released


def test_cancelling_every_line_cancels_the_order_and_closes_its_holds():
    order = captured_order(lines=TWO_LINES, payment={"status": "paid", "amount": "1.00"})
    row = reload(order)
    assert row.status == S.ON_HOLD  # underpaid
    order_lines_cancel(order=order, quantities={1: 3, 2: 2}, reason="Out of budget")
    row = reload(order)
    assert row.status == S.CANCELLED
    assert not row.holds.filter(resolved_at__isnull=True).exists()
    assert row.holds.get().resolution_note == "every line cancelled"
    assert row.total == 0
    assert row.events.filter(kind="status_changed").last().data == {
        "from": "on_hold",
        "to": "cancelled",
        "reason": "every line cancelled",
    }


def test_cancelling_every_line_of_an_allocated_order_gives_all_the_stock_back():
    order = captured_order(lines=TWO_LINES, payment=PAID_40)
    order_lines_cancel(order=order, quantities={1: 3}, reason="No red")
    order_lines_cancel(order=order, quantities={2: 2}, reason="No blue either")
    assert reload(order).status == S.CANCELLED
    assert (reserved("WIDGET-RED"), reserved("WIDGET-BLUE")) == (0, 0)


@pytest.mark.parametrize(
    ("quantities", "errors"),
    [
        ({3: 1}, {"3": ["No such line."]}),
        ({1: 0}, {"1": ["A whole number, 1 or more, is required."]}),
        ({1: True}, {"1": ["A whole number, 1 or more, is required."]}),
        ({1: 1.5}, {"1": ["A whole number, 1 or more, is required."]}),
        ({1: 4}, {"1": ["Only 3 can still be cancelled."]}),
        ({1: 1, 2: 3}, {"2": ["Only 2 can still be cancelled."]}),
        ({}, ["Name at least one line to cancel."]),
    ],
)
def test_a_bad_line_cancellation_is_refused_whole(quantities, errors):
    order = captured_order(lines=TWO_LINES, payment=PAID_40)
    before = snapshot(order)
    with pytest.raises(ValidationFailed) as refused:
        order_lines_cancel(order=order, quantities=quantities, reason="Because")
    assert refused.value.errors == {"lines": errors}
    assert snapshot(order) == before


@pytest.mark.parametrize("status", [S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CANCELLED])
def test_lines_of_a_shipped_or_cancelled_order_cannot_be_cancelled(status):
    order = captured_order(lines=TWO_LINES, payment=PAID_40)
    Order.objects.filter(pk=order.pk).update(status=status)
    before = snapshot(order)
    with pytest.raises(IllegalTransition):
        order_lines_cancel(order=order, quantities={1: 1}, reason="Too late")
    assert snapshot(order) == before
