"""orders/invariants.py through `manage.py check_invariants`: clean data passes; data
corrupted behind the services' back is reported, and the command exits 1."""

import io
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.models import Reservation
from oms.console.invariants import CHECKS
from orders.invariants import violations
from orders.models import Order, OrderEvent, OrderLine
from orders.services import hold_resolve, order_cancel, order_hold, order_lines_cancel
from tests.factories import captured_order, ship_to

pytestmark = pytest.mark.django_db


def check() -> str:
    """Run the command; return what it printed when it found violations (it must)."""
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"\d+ invariant violation\(s\)\."):
        call_command("check_invariants", stdout=out)
    return out.getvalue()


def drop_constraints(cursor, table: str, *names: str) -> None:
    # The deferred foreign-key checks of the rows written so far run first: PostgreSQL
    # alters no table with checks pending.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for name in names:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def check_constraints_off(table: str, *names: str):
    """Let a test write what the CheckConstraints refuse, to see the check find it. On
    PostgreSQL the DROP is undone with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        else:
            drop_constraints(cursor, table, *names)
    try:
        yield
    finally:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def n(k: int) -> dict:
    return {"ship_to": ship_to(line1=f"{k} Market St")}


@pytest.fixture
def orders():
    """Orders in the states the services lead to, through the services."""
    allocated = captured_order(**n(1))
    backordered = captured_order(
        lines=[{"sku": "WIDGET-BLUE", "quantity": 500, "unit_price": "0.01"}],
        payment={"status": "paid", "amount": "5.00"},
        **n(2),
    )
    held = captured_order(payment=None, **n(3))
    resolved = captured_order(payment=None, **n(4))
    hold_resolve(hold=resolved.holds.get(), note="paid")
    cancelled = order_cancel(order=captured_order(**n(5)), reason="changed mind")
    partly = captured_order(
        lines=[{"sku": "WIDGET-RED", "quantity": 3, "unit_price": "1.00"}],
        payment={"status": "paid", "amount": "3.00"},
        **n(6),
    )
    order_lines_cancel(order=partly, quantities={1: 1}, reason="one fewer")
    order_hold(order=partly, kind="manual", reason="check")
    return {
        "allocated": allocated,
        "backordered": Order.objects.get(pk=backordered.pk),
        "held": held,
        "resolved": resolved,
        "cancelled": cancelled,
        "partly": partly,
    }


def test_orders_through_the_services_keep_every_invariant(orders):
    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses == {"allocated", "backordered", "on_hold", "cancelled"}
    assert list(violations()) == []
    out = io.StringIO()
    call_command("check_invariants", stdout=out)
    assert "All invariants hold" in out.getvalue()
    assert "orders.invariants" in CHECKS


# -- invariant 3 ------------------------------------------------------------------------


def test_a_line_whose_reserved_count_is_not_its_reservations_is_reported(orders):
    order = orders["allocated"]
    OrderLine.objects.filter(order=order).update(quantity_reserved=1)
    assert (
        f"invariant 3: {order.number} line 1 (WIDGET-RED): quantity_reserved 1 != active reservations 2"
        in check()
    )


def test_a_reservation_closed_behind_the_lines_back_is_reported(orders):
    order = orders["allocated"]
    line = order.lines.get()
    Reservation.objects.filter(demand_id=line.pk, state="active").update(state="released")
    assert (
        f"invariant 3: {order.number} line 1 (WIDGET-RED): quantity_reserved 2 != active reservations 0"
        in check()
    )


def test_a_line_reserved_and_shipped_beyond_what_was_ordered_is_reported(orders):
    order = orders["partly"]  # 3 ordered, 1 cancelled, 2 reserved
    with check_constraints_off("orders_orderline", "orderline_reserved_shipped_lte_ordered"):
        OrderLine.objects.filter(order=order).update(quantity_shipped=1)
    report = check()
    assert (
        f"invariant 3: {order.number} line 1 (WIDGET-RED): reserved 2 + shipped 1 > ordered 3 - cancelled 1"
        in report
    )


def test_a_line_returned_beyond_what_was_shipped_is_reported(orders):
    order = orders["allocated"]
    with check_constraints_off("orders_orderline", "orderline_returned_lte_shipped"):
        OrderLine.objects.filter(order=order).update(quantity_returned=1)
    assert f"invariant 3: {order.number} line 1 (WIDGET-RED): returned 1 > shipped 0" in check()


# -- invariant 6 ------------------------------------------------------------------------


def test_two_orders_whose_refs_differ_only_by_spaces_are_reported(orders):
    first, second = orders["allocated"], orders["held"]
    Order.objects.filter(pk=second.pk).update(external_ref=f" {first.external_ref} ")
    numbers = ", ".join(sorted([first.number, second.number]))
    assert f"invariant 6: 2 orders for web / {first.external_ref}: {numbers}" in check()


@pytest.mark.pg
def test_an_exact_duplicate_is_reported_when_the_constraint_is_missing(orders):
    # On SQLite the unique constraint is part of the table and cannot be dropped.
    first, second = orders["allocated"], orders["held"]
    with connection.cursor() as cursor:
        drop_constraints(cursor, "orders_order", "order_channel_ref_unique")
    Order.objects.filter(pk=second.pk).update(external_ref=first.external_ref)
    numbers = ", ".join(sorted([first.number, second.number]))
    assert f"invariant 6: 2 orders for web / {first.external_ref}: {numbers}" in check()


# -- invariant 7 ------------------------------------------------------------------------


def test_a_status_set_without_a_transition_is_reported(orders):
    order = orders["allocated"]
    Order.objects.filter(pk=order.pk).update(status=Order.Status.SHIPPED)
    assert (
        f"invariant 7: {order.number}: is shipped but its last status change on the timeline is to allocated"
        in check()
    )


def test_an_order_set_back_to_pending_is_reported(orders):
    order = orders["held"]
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PENDING)
    assert (
        f"invariant 7: {order.number}: is pending but its last status change on the timeline is to on_hold"
        in check()
    )


def test_an_order_without_a_timeline_is_reported(orders):
    order = orders["resolved"]
    OrderEvent.objects.filter(order=order).delete()
    report = check()
    assert f"invariant 7: {order.number}: no timeline event" in report
    assert (
        f"invariant 7: {order.number}: is allocated but no status change is on its timeline"
        in report
    )


def test_an_order_without_history_is_reported(orders):
    order = orders["cancelled"]
    Order.history.filter(id=order.pk).delete()
    assert check().splitlines()[0] == f"invariant 7: {order.number}: no history row"


def test_every_violation_is_listed_and_counted(orders):
    OrderLine.objects.filter(order=orders["allocated"]).update(quantity_reserved=0)
    Order.objects.filter(pk=orders["backordered"].pk).update(status=Order.Status.DELIVERED)
    Order.history.filter(id=orders["held"].pk).delete()
    found = list(violations())
    assert len(found) == 3
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("check_invariants", stdout=out)
    # inventory's invariants are clean: the line's reservation is still active at its level
    assert str(failed.value) == "3 invariant violation(s)."
    assert out.getvalue().splitlines() == found
