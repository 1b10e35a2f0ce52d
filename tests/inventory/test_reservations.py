import pytest
from django.contrib.auth.models import Group

from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import (
    DemandLine,
    reserved_for,
    stock_allocate,
    stock_consume,
    stock_release,
)
from oms.console.invariants import all_violations
from oms.core.exceptions import InsufficientStock
from oms.core.models import OutboxEvent
from tests.factories import LocationFactory, ProductFactory, stocked

pytestmark = pytest.mark.django_db


def demand(name: str = "line") -> Group:
    """Any saved record can own a reservation; orders use their lines."""
    return Group.objects.create(name=f"{name}-{Group.objects.count()}")


def test_allocate_prefers_one_location_by_priority():
    product = ProductFactory()
    near = LocationFactory(priority=1)
    far = LocationFactory(priority=2)
    stocked(product=product, location=near, quantity=2)
    stocked(product=product, location=far, quantity=10)
    line = demand()

    allocation = stock_allocate(lines=[DemandLine(product.pk, 5, line)])

    assert allocation.complete
    assert [(r.stock_level.location, r.quantity) for r in allocation.reservations] == [(far, 5)]
    assert StockLevel.objects.get(product=product, location=far).reserved == 5
    assert reserved_for([line]) == 5
    assert not list(all_violations())


def test_all_or_nothing_reserves_nothing_when_short():
    a, b = ProductFactory(), ProductFactory()
    location = LocationFactory()
    stocked(product=a, location=location, quantity=5)
    stocked(product=b, location=location, quantity=1)

    with pytest.raises(InsufficientStock):
        stock_allocate(lines=[DemandLine(a.pk, 2, demand()), DemandLine(b.pk, 2, demand())])

    assert not Reservation.objects.exists()
    assert set(StockLevel.objects.values_list("reserved", flat=True)) == {0}


def test_partial_mode_reserves_what_there_is_and_reports_the_rest():
    product = ProductFactory()
    level = stocked(product=product, quantity=3)
    allocation = stock_allocate(lines=[DemandLine(product.pk, 5, demand())], partial=True)
    assert allocation.short == {0: 2}
    level.refresh_from_db()
    assert level.reserved == 3


def test_split_only_when_allowed():
    product = ProductFactory()
    first, second = LocationFactory(priority=1), LocationFactory(priority=2)
    stocked(product=product, location=first, quantity=3)
    stocked(product=product, location=second, quantity=3)
    with pytest.raises(InsufficientStock):
        stock_allocate(lines=[DemandLine(product.pk, 5, demand())])
    allocation = stock_allocate(lines=[DemandLine(product.pk, 5, demand())], allow_split=True)
    assert sorted(
        (r.stock_level.location.priority, r.quantity) for r in allocation.reservations
    ) == [(1, 3), (2, 2)]


def test_safety_stock_is_never_promised():
    level = stocked(quantity=10)
    StockLevel.objects.filter(pk=level.pk).update(safety_stock=4)
    with pytest.raises(InsufficientStock):
        stock_allocate(lines=[DemandLine(level.product_id, 7, demand())])
    stock_allocate(lines=[DemandLine(level.product_id, 6, demand())])


def test_release_gives_stock_back_in_part_or_whole():
    level = stocked(quantity=10)
    line = demand()
    stock_allocate(lines=[DemandLine(level.product_id, 6, line)])
    assert stock_release(demands=[line], quantity=2) == 2
    assert reserved_for([line]) == 4
    assert stock_release(demands=[line]) == 4
    level.refresh_from_db()
    assert level.reserved == 0
    assert not list(all_violations())


def test_consume_ships_reserved_stock_through_the_ledger():
    level = stocked(quantity=10)
    line = demand()
    stock_allocate(lines=[DemandLine(level.product_id, 4, line)])
    stock_consume(demand=line, quantity=3, reference="SHIP-1")
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (7, 1)
    shipped = StockMovement.objects.get(reason="shipment")
    assert (shipped.quantity, shipped.on_hand_after, shipped.reference) == (-3, 7, "SHIP-1")
    with pytest.raises(InsufficientStock):
        stock_consume(demand=line, quantity=2)
    assert not list(all_violations())


def test_reserving_below_the_reorder_point_emits_stock_low_once():
    level = stocked(quantity=10)
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=5)
    stock_allocate(lines=[DemandLine(level.product_id, 4, demand())])
    assert not OutboxEvent.objects.filter(topic="stock.low").exists()
    stock_allocate(lines=[DemandLine(level.product_id, 2, demand())])
    stock_allocate(lines=[DemandLine(level.product_id, 1, demand())])
    low = OutboxEvent.objects.get(topic="stock.low")
    assert low.payload["available"] == 4
    assert low.payload["sku"] == level.product.sku
