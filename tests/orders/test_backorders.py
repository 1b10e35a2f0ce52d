"""Backorders get stock as it arrives: a receipt (or stock given back) announces it after
commit, and waiting orders are allocated, highest priority then oldest first."""

import pytest

from inventory.models import Location, Product, StockLevel
from inventory.services import ReceiptLine, stock_move, stock_receive
from orders.models import Order
from orders.services import backorders as backorders_module
from orders.services import order_cancel, order_hold
from orders.services.backorders import backorders_allocate
from tests.factories import ChannelFactory, captured_order, ship_to

pytestmark = pytest.mark.django_db
S = Order.Status


def backorder(quantity: int = 2, *, n: int = 0, sku: str = "WIDGET-RED", **overrides) -> Order:
    """An order waiting for stock (none at WH-TEST), to its own address."""
    order = captured_order(
        stock=0,
        lines=[{"sku": sku, "quantity": quantity, "unit_price": "1.00"}],
        payment={"status": "paid", "amount": f"{quantity}.00"},
        ship_to=ship_to(line1=f"{n + 1} Market St"),
        **overrides,
    )
    assert order.status == S.BACKORDERED
    return order


def receive(quantity: int, sku: str = "WIDGET-RED", *, run_on_commit, capture=True):
    """Goods in at WH-TEST; the on-commit callbacks run as a real commit would run them."""
    lines = [ReceiptLine(product=Product.objects.get(sku=sku), quantity=quantity)]
    with run_on_commit(execute=capture):
        stock_receive(location=Location.objects.get(code="WH-TEST"), lines=lines, reference="PO-1")


def state(order: Order) -> tuple[str, int]:
    row = Order.objects.get(pk=order.pk)
    return row.status, sum(line.quantity_reserved for line in row.lines.all())


def test_a_receipt_allocates_a_backorder_once_it_commits(django_capture_on_commit_callbacks):
    order = backorder(2)
    receive(5, run_on_commit=django_capture_on_commit_callbacks)
    assert state(order) == (S.ALLOCATED, 2)
    assert StockLevel.objects.get().reserved == 2
    row = Order.objects.get(pk=order.pk)
    reserved, moved = row.events.order_by("-id")[:2][::-1]
    assert reserved.kind == "reserved"
    assert reserved.message.startswith("Reserved 2 units")
    assert moved.data["from"] == "backordered"
    assert moved.data["to"] == "allocated"
    assert moved.system == "backorder allocation"
    assert row.history.latest().status == S.ALLOCATED


def test_nothing_is_allocated_before_the_receipt_commits(django_capture_on_commit_callbacks):
    order = backorder(2)
    receive(5, run_on_commit=django_capture_on_commit_callbacks, capture=False)
    assert state(order) == (S.BACKORDERED, 0)


def test_the_highest_priority_then_the_oldest_is_served_first_and_the_rest_partly(
    django_capture_on_commit_callbacks,
):
    ChannelFactory(code="web", priority=100)
    late_normal = backorder(2, n=0, placed_at="2026-11-20T12:00:00Z")
    early_normal = backorder(2, n=1, placed_at="2026-11-20T09:00:00Z")
    urgent = backorder(2, n=2, placed_at="2026-11-20T15:00:00Z", priority=10)
    receive(5, run_on_commit=django_capture_on_commit_callbacks)
    assert state(urgent) == (S.ALLOCATED, 2)
    assert state(early_normal) == (S.ALLOCATED, 2)
    assert state(late_normal) == (S.BACKORDERED, 1)  # what was left
    receive(1, run_on_commit=django_capture_on_commit_callbacks)
    assert state(late_normal) == (S.ALLOCATED, 2)


def test_a_priority_channel_goes_first_among_orders_of_equal_priority(
    django_capture_on_commit_callbacks,
):
    ChannelFactory(code="web", priority=100)
    ChannelFactory(code="vip", priority=5)
    web = backorder(2, n=0, placed_at="2026-11-20T09:00:00Z")
    vip = backorder(2, n=1, channel="vip", placed_at="2026-11-20T12:00:00Z", priority=100)
    assert (web.priority, vip.priority) == (100, 100)
    receive(2, run_on_commit=django_capture_on_commit_callbacks)
    assert state(vip) == (S.ALLOCATED, 2)
    assert state(web) == (S.BACKORDERED, 0)


def test_a_receipt_of_another_sku_leaves_a_backorder_waiting(django_capture_on_commit_callbacks):
    order = backorder(2)
    backorder(1, n=1, sku="WIDGET-BLUE")
    receive(5, sku="WIDGET-BLUE", run_on_commit=django_capture_on_commit_callbacks)
    assert state(order) == (S.BACKORDERED, 0)


def test_a_multi_line_backorder_is_allocated_when_its_last_line_arrives(
    django_capture_on_commit_callbacks,
):
    order = captured_order(
        stock=0,
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "1.00"},
            {"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "1.00"},
        ],
        payment={"status": "paid", "amount": "3.00"},
    )
    receive(2, run_on_commit=django_capture_on_commit_callbacks)
    assert state(order) == (S.BACKORDERED, 2)
    receive(1, sku="WIDGET-BLUE", run_on_commit=django_capture_on_commit_callbacks)
    assert state(order) == (S.ALLOCATED, 3)


def test_stock_given_back_by_a_cancelled_order_goes_to_the_backorder(
    django_capture_on_commit_callbacks,
):
    first = captured_order(stock=2, payment={"status": "paid", "amount": "19.98"})
    assert first.status == S.ALLOCATED
    waiting = backorder(2, n=1)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=first, reason="Customer asked")
    assert state(waiting) == (S.ALLOCATED, 2)


def test_orders_held_or_cancelled_meanwhile_are_left_alone(django_capture_on_commit_callbacks):
    held = backorder(2, n=0)
    order_hold(order=held, kind="manual", reason="Check")
    cancelled = backorder(2, n=1)
    order_cancel(order=cancelled, reason="Gone")
    receive(5, run_on_commit=django_capture_on_commit_callbacks)
    assert state(held) == (S.ON_HOLD, 0)
    assert state(cancelled) == (S.CANCELLED, 0)
    assert StockLevel.objects.get().reserved == 0


def test_allocating_backorders_again_changes_nothing(django_capture_on_commit_callbacks):
    order = backorder(2)
    receive(2, run_on_commit=django_capture_on_commit_callbacks)
    events = Order.objects.get(pk=order.pk).events.count()
    product_id = Product.objects.get(sku="WIDGET-RED").pk
    assert backorders_allocate(product_ids=[product_id]) == []
    assert state(order) == (S.ALLOCATED, 2)
    assert Order.objects.get(pk=order.pk).events.count() == events


def test_backorders_allocate_returns_the_orders_it_completed():
    order = backorder(2)
    other = backorder(3, n=1)
    product = Product.objects.get(sku="WIDGET-RED")
    location = Location.objects.get(code="WH-TEST")
    stock_move(product=product, location=location, quantity=4, reason="receipt")  # no commit
    done = backorders_allocate(product_ids=[product.pk])
    assert done == [Order.objects.get(pk=order.pk).number]
    assert state(other) == (S.BACKORDERED, 2)


def test_one_order_failing_does_not_stop_the_orders_behind_it(monkeypatch, caplog):
    first = backorder(2)
    second = backorder(2, n=1)
    product = Product.objects.get(sku="WIDGET-RED")
    stock_move(
        product=product, location=Location.objects.get(code="WH-TEST"), quantity=4, reason="receipt"
    )
    real = backorders_module.order_allocate

    def allocate(*, order, **kwargs):
        if order.pk == first.pk:
            raise RuntimeError("the disk is full")
        return real(order=order, **kwargs)

    monkeypatch.setattr(backorders_module, "order_allocate", allocate)
    done = backorders_allocate(product_ids=[product.pk])
    assert done == [Order.objects.get(pk=second.pk).number]
    assert state(first) == (S.BACKORDERED, 0)
    assert state(second) == (S.ALLOCATED, 2)
    assert "Backorder allocation failed" in caplog.text
