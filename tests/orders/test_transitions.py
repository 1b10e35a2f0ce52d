"""The order machine, pair by pair: every (state, action) of DESIGN.md section 4, on the
model's transitions and through the services. An allowed move changes the status and
leaves an OrderEvent, a history row and an outbox event; a refused one raises with a
clear message and leaves the row exactly as it was."""

import pytest
from django.db import transaction
from django_fsm import TransitionNotAllowed

from oms.core.exceptions import IllegalTransition
from oms.core.models import OutboxEvent
from orders.models import Hold, Order
from orders.services import hold_resolve, order_cancel, order_hold
from orders.services.common import lock_order, move
from tests.factories import captured_order

pytestmark = pytest.mark.django_db
S = Order.Status
STATES = list(S.values)
BEFORE_FIRST_SHIPMENT = (
    S.PENDING,
    S.ON_HOLD,
    S.CONFIRMED,
    S.BACKORDERED,
    S.ALLOCATED,
    S.IN_FULFILMENT,
)
HOLDABLE = (S.PENDING, S.CONFIRMED, S.BACKORDERED, S.ALLOCATED)

# DESIGN.md section 4, written out: action -> {source: target}. Anything not here is refused.
ALLOWED = {
    "confirm": {S.PENDING: S.CONFIRMED},
    "hold": dict.fromkeys(HOLDABLE, S.ON_HOLD),
    "release_hold": {S.ON_HOLD: S.CONFIRMED},
    "allocate": {S.CONFIRMED: S.ALLOCATED, S.BACKORDERED: S.ALLOCATED},
    "backorder": {S.CONFIRMED: S.BACKORDERED},
    "release_to_warehouse": {S.ALLOCATED: S.IN_FULFILMENT},
    "ship_part": {S.IN_FULFILMENT: S.PARTIALLY_SHIPPED, S.PARTIALLY_SHIPPED: S.PARTIALLY_SHIPPED},
    "ship": {S.IN_FULFILMENT: S.SHIPPED, S.PARTIALLY_SHIPPED: S.SHIPPED},
    "deliver": {S.SHIPPED: S.DELIVERED},
    "cancel": dict.fromkeys(BEFORE_FIRST_SHIPMENT, S.CANCELLED),
}
ACTIONS = list(ALLOWED)


def order_in(state: str) -> Order:
    """An order in `state`: through the services where they lead there, else an allocated
    order set to the state directly (the fulfilment steps belong to another app)."""
    if state == S.ALLOCATED:
        order = captured_order()
    elif state == S.BACKORDERED:
        order = captured_order(stock=0)
    elif state == S.ON_HOLD:
        order = captured_order(payment=None)  # "Awaiting payment."
    elif state == S.CANCELLED:
        order = order_cancel(order=captured_order(), reason="test setup")
    else:
        order = captured_order()
        Order.objects.filter(pk=order.pk).update(status=state)
    order = Order.objects.get(pk=order.pk)
    assert order.status == state
    return order


def snapshot(order: Order) -> dict:
    row = Order.objects.get(pk=order.pk)
    return {
        "status": row.status,
        "updated_at": row.updated_at,
        "events": row.events.count(),
        "history": row.history.count(),
        "outbox": OutboxEvent.objects.filter(
            aggregate_id=str(order.pk), aggregate_type="orders.order"
        ).count(),
        "holds": list(row.holds.values_list("pk", "resolved_at")),
    }


def assert_moved(order: Order, before: dict, source: str, target: str, *, reason: str = "") -> None:
    """The status moved from `source` to `target` and it was recorded three ways."""
    row = Order.objects.get(pk=order.pk)
    assert row.status == target
    assert row.updated_at >= before["updated_at"]
    change = row.events.filter(kind="status_changed").last()
    assert (change.data["from"], change.data["to"]) == (source, target)
    if reason:
        assert change.data["reason"] == reason
    assert row.history.count() > before["history"]
    assert row.history.latest().status == target
    outbox = OutboxEvent.objects.filter(
        aggregate_id=str(order.pk), topic="order.status_changed"
    ).first()
    assert (outbox.payload["from"], outbox.payload["to"]) == (source, target)


def test_the_table_names_every_transition_of_the_model():
    declared = {t.name: t for t in Order._meta.get_field("status").get_all_transitions(Order)}
    assert set(declared) == set(ACTIONS)
    for action, moves in ALLOWED.items():
        sources = {
            t.source
            for t in Order._meta.get_field("status").get_all_transitions(Order)
            if t.name == action
        }
        assert sources == set(moves), action


# -- the model's transitions, applied the way services apply them (common.move) --------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_model_transition(state, action):
    order = order_in(state)
    before = snapshot(order)
    target = ALLOWED[action].get(state)
    if target is None:
        with pytest.raises(TransitionNotAllowed) as refused:
            getattr(order, action)()
        assert str(refused.value) == f"Can't switch from state '{state}' using method '{action}'"
        assert order.status == state
        with pytest.raises(IllegalTransition) as illegal, transaction.atomic():
            move(lock_order(order), action, system="test")
        status_label = dict(S.choices)[state].lower()
        assert illegal.value.message == (
            f"Order {order.number} is {status_label}; it cannot {action.replace('_', ' ')}."
        )
        assert illegal.value.status == state
        assert snapshot(order) == before
    else:
        # The transition itself only sets the field: nothing is saved until a service saves.
        getattr(order, action)()
        assert order.status == target
        assert snapshot(order) == before
        with transaction.atomic():
            move(lock_order(order), action, system="test", reason=f"table: {action}")
        assert_moved(order, before, state, target, reason=f"table: {action}")
        after = snapshot(order)
        assert after["events"] == before["events"] + 1
        assert after["history"] == before["history"] + 1
        assert after["outbox"] == before["outbox"] + 1


# -- through the services ---------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_order_hold(state):
    order = order_in(state)
    before = snapshot(order)
    if state in (*HOLDABLE, S.ON_HOLD):
        hold = order_hold(order=order, kind=Hold.Kind.MANUAL, reason="Customer called")
        assert (hold.kind, hold.reason, hold.is_open) == ("manual", "Customer called", True)
        assert hold.history.count() == 1
        row = Order.objects.get(pk=order.pk)
        assert row.status == S.ON_HOLD
        opened = row.events.filter(kind="hold_opened").last()
        assert opened.message == "Manual hold: Customer called"
        if state == S.ON_HOLD:
            # Already on hold: one more reason to wait, and no status change.
            assert row.holds.filter(resolved_at__isnull=True).count() == 2
            assert snapshot(order)["events"] == before["events"] + 1
            assert snapshot(order)["history"] == before["history"]
        else:
            assert_moved(order, before, state, S.ON_HOLD, reason="Customer called")
            assert snapshot(order)["events"] == before["events"] + 2
    else:
        with pytest.raises(IllegalTransition) as refused:
            order_hold(order=order, kind=Hold.Kind.MANUAL, reason="Customer called")
        label = dict(S.choices)[state].lower()
        assert (
            refused.value.message == f"Order {order.number} is {label}; it can no longer be held."
        )
        assert refused.value.status == state
        assert snapshot(order) == before


@pytest.mark.parametrize("state", STATES)
def test_order_cancel(state):
    order = order_in(state)
    before = snapshot(order)
    if state in BEFORE_FIRST_SHIPMENT:
        order_cancel(order=order, reason="Customer asked")
        assert_moved(order, before, state, S.CANCELLED, reason="Customer asked")
        row = Order.objects.get(pk=order.pk)
        assert not row.holds.filter(resolved_at__isnull=True).exists()
        assert all(line.quantity_reserved == 0 for line in row.lines.all())
    else:
        with pytest.raises(IllegalTransition) as refused:
            order_cancel(order=order, reason="Customer asked")
        label = dict(S.choices)[state].lower()
        assert (
            refused.value.message
            == f"Order {order.number} is {label}; it can no longer be cancelled."
        )
        assert refused.value.status == state
        assert snapshot(order) == before


# Resolving an open hold: an order on hold goes on (confirm, then reserve: stock is there);
# one with no earlier step to take keeps its status; a cancelled order's holds are closed.
RESOLVED_TO = {
    S.ON_HOLD: S.ALLOCATED,
    S.PENDING: S.ALLOCATED,
    S.CONFIRMED: S.ALLOCATED,
    S.BACKORDERED: S.BACKORDERED,  # still no stock
}


@pytest.mark.parametrize("state", STATES)
def test_hold_resolve(state):
    order = order_in(state)
    hold = order.holds.filter(resolved_at__isnull=True).first() or Hold.objects.create(
        order=order, kind=Hold.Kind.MANUAL, reason="Check the address"
    )
    before = snapshot(order)
    last_event = order.events.order_by("id").last().pk
    if state == S.CANCELLED:
        with pytest.raises(IllegalTransition) as refused:
            hold_resolve(hold=hold, note="looked fine")
        assert refused.value.message == f"Order {order.number} is cancelled."
        assert refused.value.status == S.CANCELLED
        assert snapshot(order) == before
        return
    hold_resolve(hold=hold, note="looked fine")
    hold.refresh_from_db()
    assert not hold.is_open
    assert hold.resolution_note == "looked fine"
    assert hold.history.count() >= 1
    row = Order.objects.get(pk=order.pk)
    assert (
        row.events.filter(kind="hold_resolved")
        .last()
        .message.endswith("hold resolved: looked fine")
    )
    target = RESOLVED_TO.get(state, state)
    assert row.status == target
    moves = [
        (e.data["from"], e.data["to"])
        for e in row.events.filter(kind="status_changed", pk__gt=last_event).order_by("id")
    ]
    if target == state:
        assert moves == []
        assert snapshot(order)["history"] == before["history"]
    else:
        first = {S.ON_HOLD: (S.ON_HOLD, S.CONFIRMED), S.PENDING: (S.PENDING, S.CONFIRMED)}
        assert moves == [*([first[state]] if state in first else []), (S.CONFIRMED, S.ALLOCATED)]
        assert_moved(order, before, S.CONFIRMED, target)
        assert all(line.quantity_reserved == line.quantity for line in row.lines.all())
