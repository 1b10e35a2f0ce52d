import importlib
import logging
import threading
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection
from django_celery_beat.models import PeriodicTask

from inventory.models import PurchaseOrder, PurchaseOrderLine, StockLevel, Supplier
from inventory.services import (
    DemandLine,
    OrderLine,
    ReceiptLine,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_place,
    replenishment_candidates,
    replenishment_run,
    stock_allocate,
    stock_level_get_or_create,
    stock_receive,
)
from inventory.services.replenishment import NO_SUPPLIER, SUPPLIER_INACTIVE, order_quantity
from inventory.tasks import replenishment_daily
from tests.factories import LocationFactory, ProductFactory, UserFactory, stocked

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)


def make_supplier(code: str = "ACME", *, lead_time_days: int = 5, active: bool = True):
    return Supplier.objects.create(
        code=code, name=code.title(), lead_time_days=lead_time_days, active=active
    )


def make_level(
    *,
    on_hand: int,
    reorder_point: int,
    reorder_qty: int = 0,
    supplier=None,
    product=None,
    location=None,
) -> StockLevel:
    """A stock level holding `on_hand` (put there by a ledger receipt) with a reorder rule."""
    product = product or ProductFactory(supplier=supplier)
    location = location or LocationFactory()
    if on_hand:
        level = stocked(product=product, location=location, quantity=on_hand)
    else:
        level = stock_level_get_or_create(product=product, location=location)
    StockLevel.objects.filter(pk=level.pk).update(
        reorder_point=reorder_point, reorder_qty=reorder_qty
    )
    level.refresh_from_db()
    return level


def po_lines(purchase_order=None):
    lines = PurchaseOrderLine.objects.all()
    if purchase_order is not None:
        lines = lines.filter(purchase_order=purchase_order)
    return {line.product.sku: line.quantity_ordered for line in lines.select_related("product")}


# --- the quantity rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "reorder_point", "reorder_qty", "expected"),
    [
        (11, 10, 12, 0),  # above the reorder point: nothing
        (10, 10, 0, 1),  # at it, no pack size: just enough to be above it
        (3, 10, 0, 8),
        (4, 10, 12, 12),  # at least one reorder_qty
        (0, 30, 12, 36),  # 31 needed, rounded up to a multiple of 12
        (-5, 10, 4, 16),  # negative position (more reserved than... on order): 16 needed
    ],
)
def test_order_quantity_rule(position, reorder_point, reorder_qty, expected):
    assert (
        order_quantity(position=position, reorder_point=reorder_point, reorder_qty=reorder_qty)
        == expected
    )


# --- replenishment_run ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_hand", "reorder_point", "reorder_qty", "expected"),
    [(10, 10, 0, 1), (3, 10, 0, 8), (4, 10, 12, 12), (0, 30, 12, 36)],
)
def test_a_level_at_or_below_its_reorder_point_gets_a_drafted_line(
    on_hand, reorder_point, reorder_qty, expected
):
    supplier = make_supplier(lead_time_days=5)
    level = make_level(
        on_hand=on_hand, reorder_point=reorder_point, reorder_qty=reorder_qty, supplier=supplier
    )
    clerk = UserFactory()

    [purchase_order] = replenishment_run(actor=clerk, today=TODAY)

    assert purchase_order.status == PurchaseOrder.Status.DRAFT
    assert purchase_order.supplier == supplier
    assert purchase_order.location == level.location
    assert purchase_order.expected_date == TODAY + timedelta(days=5)
    assert purchase_order.created_by == clerk
    assert purchase_order.number.startswith("PO-")
    assert po_lines(purchase_order) == {level.product.sku: expected}


def test_a_level_above_its_reorder_point_orders_nothing():
    make_level(on_hand=11, reorder_point=10, reorder_qty=5, supplier=make_supplier())
    assert replenishment_run(today=TODAY) == []
    assert not PurchaseOrder.objects.exists()


def test_a_level_without_a_reorder_point_orders_nothing():
    make_level(on_hand=0, reorder_point=0, reorder_qty=5, supplier=make_supplier())
    assert replenishment_run(today=TODAY) == []
    assert not PurchaseOrder.objects.exists()


def test_open_purchase_order_quantity_nets_out_and_closed_ones_do_not():
    supplier = make_supplier()
    level = make_level(on_hand=4, reorder_point=20, supplier=supplier)
    product, location = level.product, level.location
    # Ordered 10, 3 of them received: on hand 7, 7 still open -> position 14.
    ordered = purchase_order_create(
        supplier=supplier, location=location, lines=[OrderLine(product, 10)]
    )
    purchase_order_place(purchase_order=ordered)
    stock_receive(location=location, lines=[ReceiptLine(product, 3)], purchase_order=ordered)
    # Not open: cancelled, fully received, and one for another location.
    cancelled = purchase_order_create(
        supplier=supplier, location=location, lines=[OrderLine(product, 100)]
    )
    purchase_order_cancel(purchase_order=cancelled)
    received = purchase_order_create(
        supplier=supplier, location=location, lines=[OrderLine(product, 2)]
    )
    purchase_order_place(purchase_order=received)
    stock_receive(location=location, lines=[ReceiptLine(product, 2)], purchase_order=received)
    elsewhere = purchase_order_create(
        supplier=supplier, location=LocationFactory(), lines=[OrderLine(product, 50)]
    )
    purchase_order_place(purchase_order=elsewhere)
    # on hand 4 + 3 + 2 = 9, open 7 -> position 16 -> 20 - 16 + 1 = 5.

    [drafted] = replenishment_run(today=TODAY)

    assert drafted not in (ordered, cancelled, received, elsewhere)
    assert po_lines(drafted) == {product.sku: 5}


def test_reserved_stock_counts_against_the_position():
    supplier = make_supplier()
    level = make_level(on_hand=15, reorder_point=10, supplier=supplier)
    stock_allocate(lines=[DemandLine(level.product.pk, 6, Group.objects.create(name="line"))])
    # 15 - 6 = 9 <= 10 -> 2.

    [drafted] = replenishment_run(today=TODAY)

    assert po_lines(drafted) == {level.product.sku: 2}


def test_two_suppliers_get_two_purchase_orders():
    acme, globex = make_supplier("ACME", lead_time_days=3), make_supplier("GLOBEX")
    location = LocationFactory()
    a = make_level(on_hand=0, reorder_point=5, reorder_qty=10, supplier=acme, location=location)
    b = make_level(on_hand=1, reorder_point=5, reorder_qty=10, supplier=acme, location=location)
    c = make_level(on_hand=2, reorder_point=5, reorder_qty=4, supplier=globex, location=location)

    drafted = replenishment_run(today=TODAY)

    assert [(po.supplier, po.location) for po in drafted] == [(acme, location), (globex, location)]
    assert po_lines(drafted[0]) == {a.product.sku: 10, b.product.sku: 10}
    assert po_lines(drafted[1]) == {c.product.sku: 4}
    assert drafted[0].expected_date == TODAY + timedelta(days=3)
    assert drafted[1].expected_date == TODAY + timedelta(days=5)


def test_one_supplier_at_two_locations_gets_two_purchase_orders():
    supplier = make_supplier()
    product = ProductFactory(supplier=supplier)
    north, south = LocationFactory(), LocationFactory()
    make_level(on_hand=0, reorder_point=5, product=product, location=north)
    make_level(on_hand=2, reorder_point=5, product=product, location=south)

    drafted = replenishment_run(today=TODAY)

    assert {po.location: po_lines(po) for po in drafted} == {
        north: {product.sku: 6},
        south: {product.sku: 4},
    }
    assert PurchaseOrder.objects.count() == 2


def test_a_second_run_the_same_day_orders_nothing_more():
    supplier = make_supplier()
    location = LocationFactory()
    make_level(on_hand=0, reorder_point=5, reorder_qty=10, supplier=supplier, location=location)
    make_level(on_hand=3, reorder_point=5, supplier=supplier, location=location)
    first = replenishment_run(today=TODAY)
    lines_after_first = po_lines()

    assert replenishment_run(today=TODAY) == []

    assert PurchaseOrder.objects.count() == len(first) == 1
    assert po_lines() == lines_after_first


def test_an_existing_draft_is_extended_not_duplicated():
    supplier = make_supplier(lead_time_days=5)
    location = LocationFactory()
    on_draft = make_level(on_hand=0, reorder_point=10, supplier=supplier, location=location)
    not_on_draft = make_level(on_hand=1, reorder_point=4, supplier=supplier, location=location)
    draft = purchase_order_create(
        supplier=supplier,
        location=location,
        lines=[OrderLine(on_draft.product, 3)],
        expected_date=TODAY,
    )

    assert replenishment_run(today=TODAY) == [draft]

    # 3 already on the draft -> position 3 -> 8 more; a new line for the other product.
    assert po_lines(draft) == {on_draft.product.sku: 11, not_on_draft.product.sku: 4}
    assert PurchaseOrder.objects.count() == 1
    draft = PurchaseOrder.objects.get(pk=draft.pk)  # protected FSM field: no refresh_from_db
    assert draft.status == PurchaseOrder.Status.DRAFT
    assert draft.expected_date == TODAY + timedelta(days=5)
    assert replenishment_run(today=TODAY) == []
    assert po_lines(draft) == {on_draft.product.sku: 11, not_on_draft.product.sku: 4}


def test_a_placed_purchase_order_is_never_changed():
    supplier = make_supplier()
    location = LocationFactory()
    level = make_level(on_hand=0, reorder_point=5, supplier=supplier, location=location)
    placed = purchase_order_create(
        supplier=supplier, location=location, lines=[OrderLine(level.product, 1)]
    )
    purchase_order_place(purchase_order=placed)

    [drafted] = replenishment_run(today=TODAY)

    assert drafted != placed
    assert drafted.status == PurchaseOrder.Status.DRAFT
    assert po_lines(placed) == {level.product.sku: 1}
    assert po_lines(drafted) == {level.product.sku: 5}


def test_a_draft_for_another_supplier_or_location_is_not_extended():
    supplier = make_supplier()
    location = LocationFactory()
    level = make_level(on_hand=0, reorder_point=5, supplier=supplier, location=location)
    other_supplier = purchase_order_create(
        supplier=make_supplier("OTHER"), location=location, lines=[OrderLine(level.product, 2)]
    )
    other_location = purchase_order_create(
        supplier=supplier, location=LocationFactory(), lines=[OrderLine(level.product, 2)]
    )

    [drafted] = replenishment_run(today=TODAY)

    assert drafted not in (other_supplier, other_location)
    # The other supplier's draft delivers here, so it counts as on order: 6 - 2.
    assert po_lines(drafted) == {level.product.sku: 4}
    assert po_lines(other_location) == {level.product.sku: 2}


@pytest.mark.parametrize("inactive", ["product", "location", "supplier"])
def test_inactive_products_locations_and_suppliers_are_not_ordered(inactive):
    supplier = make_supplier()
    level = make_level(on_hand=0, reorder_point=5, supplier=supplier)
    target = {"product": level.product, "location": level.location, "supplier": supplier}[inactive]
    type(target).objects.filter(pk=target.pk).update(active=False)

    assert replenishment_run(today=TODAY) == []
    assert not PurchaseOrder.objects.exists()


def test_a_product_without_a_supplier_is_reported_not_ordered(caplog):
    level = make_level(on_hand=0, reorder_point=5)
    ordered = make_level(on_hand=0, reorder_point=5, supplier=make_supplier())

    [candidate, other] = sorted(replenishment_candidates(), key=lambda c: c.stock_level.pk)
    assert candidate.stock_level == level
    assert not candidate.orderable
    assert candidate.skip_reason == NO_SUPPLIER
    assert candidate.as_dict()["supplier"] == ""
    assert other.orderable

    with caplog.at_level(logging.WARNING, logger="inventory.services.replenishment"):
        [drafted] = replenishment_run(today=TODAY)

    assert po_lines() == {ordered.product.sku: 6}
    assert drafted.supplier == ordered.product.supplier
    assert level.product.sku in caplog.text
    assert NO_SUPPLIER in caplog.text


def test_a_product_whose_supplier_is_inactive_is_reported():
    level = make_level(on_hand=0, reorder_point=5, supplier=make_supplier(active=False))
    [candidate] = replenishment_candidates()
    assert candidate.stock_level == level
    assert candidate.skip_reason == SUPPLIER_INACTIVE


def test_candidates_show_what_the_run_orders_and_write_nothing():
    supplier = make_supplier()
    location = LocationFactory()
    a = make_level(on_hand=2, reorder_point=5, reorder_qty=6, supplier=supplier, location=location)
    make_level(on_hand=9, reorder_point=5, supplier=supplier, location=location)
    reserved = make_level(on_hand=7, reorder_point=5, supplier=supplier, location=location)
    stock_allocate(lines=[DemandLine(reserved.product.pk, 3, Group.objects.create(name="x"))])

    candidates = replenishment_candidates()

    assert not PurchaseOrder.objects.exists()
    assert {c.sku: c.quantity for c in candidates} == {a.product.sku: 6, reserved.product.sku: 2}
    row = next(c.as_dict() for c in candidates if c.sku == reserved.product.sku)
    assert row | {"stock_level_id": None, "product_name": None} == {
        "stock_level_id": None,
        "product_name": None,
        "sku": reserved.product.sku,
        "location": location.code,
        "supplier": supplier.code,
        "on_hand": 7,
        "reserved": 3,
        "on_order": 0,
        "position": 4,
        "reorder_point": 5,
        "reorder_qty": 0,
        "quantity": 2,
        "skip_reason": "",
    }
    [drafted] = replenishment_run(today=TODAY)
    assert po_lines(drafted) == {c.sku: c.quantity for c in candidates}
    assert replenishment_candidates() == []


def test_a_run_for_one_location_orders_only_there():
    supplier = make_supplier()
    product = ProductFactory(supplier=supplier)
    here, there = LocationFactory(), LocationFactory()
    make_level(on_hand=0, reorder_point=5, product=product, location=here)
    make_level(on_hand=0, reorder_point=5, product=product, location=there)

    assert [c.location for c in replenishment_candidates(location=here)] == [here]
    [drafted] = replenishment_run(location=here, today=TODAY)

    assert drafted.location == here
    assert PurchaseOrder.objects.count() == 1


def test_the_run_is_one_transaction(monkeypatch):
    """A failure half way (here: creating the second supplier's draft) leaves nothing."""
    from inventory.services import replenishment

    location = LocationFactory()
    make_level(on_hand=0, reorder_point=5, supplier=make_supplier("AAA"), location=location)
    make_level(on_hand=0, reorder_point=5, supplier=make_supplier("BBB"), location=location)
    real_create = replenishment.purchase_order_create
    calls = []

    def failing_create(**kwargs):
        calls.append(kwargs["supplier"].code)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real_create(**kwargs)

    monkeypatch.setattr(replenishment, "purchase_order_create", failing_create)
    with pytest.raises(RuntimeError):
        replenishment_run(today=TODAY)

    assert calls == ["AAA", "BBB"]
    assert not PurchaseOrder.objects.exists()


# --- the Celery task and its schedule -------------------------------------------------


def test_the_daily_task_runs_eagerly_and_returns_the_purchase_order_numbers():
    supplier = make_supplier()
    here, there = LocationFactory(), LocationFactory()
    make_level(on_hand=0, reorder_point=5, supplier=supplier, location=here)
    make_level(on_hand=0, reorder_point=5, supplier=supplier, location=there)

    only_here = replenishment_daily.delay(here.pk).get()
    assert only_here == [PurchaseOrder.objects.get(location=here).number]

    numbers = replenishment_daily.delay().get()
    assert numbers == [PurchaseOrder.objects.get(location=there).number]
    assert replenishment_daily.delay().get() == []
    assert replenishment_daily.delay(10**9).get() == []


def test_the_daily_task_is_acks_late():
    assert replenishment_daily.name == "inventory.tasks.replenishment_daily"
    assert replenishment_daily.acks_late is True


def test_migrate_schedules_the_daily_run_at_five():
    task = PeriodicTask.objects.select_related("crontab").get(name="Daily replenishment")
    assert task.task == "inventory.tasks.replenishment_daily"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("0", "5")
    assert (
        task.crontab.day_of_week,
        task.crontab.day_of_month,
        task.crontab.month_of_year,
    ) == ("*", "*", "*")


def test_the_schedule_migration_is_idempotent_and_keeps_staff_edits():
    migration = importlib.import_module("inventory.migrations.0003_replenishment_schedule")
    task = PeriodicTask.objects.get(name="Daily replenishment")
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)

    migration.schedule(apps, None)

    assert PeriodicTask.objects.filter(task="inventory.tasks.replenishment_daily").count() == 1
    assert not PeriodicTask.objects.get(pk=task.pk).enabled

    migration.unschedule(apps, None)
    assert not PeriodicTask.objects.filter(name="Daily replenishment").exists()
    migration.schedule(apps, None)
    migration.schedule(apps, None)
    assert PeriodicTask.objects.filter(name="Daily replenishment").count() == 1


# --- two runs at once (PostgreSQL) ------------------------------------------------------


@pytest.mark.pg
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_draft_each_unit_once():
    supplier = make_supplier()
    location = LocationFactory()
    levels = [
        make_level(on_hand=0, reorder_point=5, reorder_qty=10, supplier=supplier, location=location)
        for _ in range(3)
    ]
    threads = 8
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            replenishment_run(today=TODAY)
        except BaseException as exc:  # every failure is asserted below
            failures.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)

    assert not failures
    assert PurchaseOrder.objects.count() == 1
    assert po_lines() == {level.product.sku: 10 for level in levels}


def test_a_transfer_on_its_way_counts_as_on_order():
    from inventory.services import OrderLine, transfer_create, transfer_dispatch

    supplier = Supplier.objects.create(code="SUP-TR", name="Transit supplier", lead_time_days=3)
    product = ProductFactory(supplier=supplier)
    store, warehouse = LocationFactory(), LocationFactory()
    level = stocked(product=product, location=store, quantity=2)
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=5, reorder_qty=10)
    stocked(product=product, location=warehouse, quantity=20)
    assert [c.sku for c in replenishment_candidates(location=store)] == [product.sku]

    transfer = transfer_create(
        from_location=warehouse, to_location=store, lines=[OrderLine(product, 8)]
    )
    transfer_dispatch(transfer=transfer)

    assert replenishment_candidates(location=store) == []
    assert replenishment_run(location=store) == []
