import pytest
from django.db.models import Sum

from inventory.models import StockMovement
from inventory.services import stock_move
from oms.core.exceptions import Conflict, ValidationFailed
from tests.factories import BinFactory, LocationFactory, ProductFactory, stocked

pytestmark = pytest.mark.django_db


def test_stock_move_updates_on_hand_and_writes_the_ledger():
    level = stocked(quantity=7)
    stock_move(product=level.product, location=level.location, quantity=-3, reason="adjustment")
    level.refresh_from_db()
    assert level.on_hand == 4
    ledger = StockMovement.objects.filter(stock_level=level)
    assert ledger.aggregate(total=Sum("quantity"))["total"] == 4
    assert list(ledger.values_list("on_hand_after", flat=True)) == [4, 7]


@pytest.mark.parametrize("quantity", [0, 1.5, True, "3"])
def test_stock_move_refuses_a_quantity_that_is_not_a_nonzero_integer(quantity):
    with pytest.raises(ValidationFailed) as refused:
        stock_move(
            product=ProductFactory(),
            location=LocationFactory(),
            quantity=quantity,
            reason="receipt",
        )
    assert "quantity" in refused.value.errors
    assert not StockMovement.objects.exists()


def test_stock_move_refuses_to_go_below_zero_and_changes_nothing():
    level = stocked(quantity=2)
    with pytest.raises(Conflict):
        stock_move(product=level.product, location=level.location, quantity=-3, reason="adjustment")
    level.refresh_from_db()
    assert level.on_hand == 2
    assert StockMovement.objects.filter(stock_level=level).count() == 1


def test_stock_move_refuses_a_bin_of_another_location():
    location = LocationFactory()
    foreign_bin = BinFactory()
    with pytest.raises(ValidationFailed) as refused:
        stock_move(
            product=ProductFactory(),
            location=location,
            quantity=1,
            reason="receipt",
            bin=foreign_bin,
        )
    assert "bin" in refused.value.errors
