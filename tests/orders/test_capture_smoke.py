import pytest

from orders.models import Order
from tests.factories import captured_order

pytestmark = pytest.mark.django_db


def test_a_paid_order_in_stock_is_allocated_with_its_timeline():
    order = captured_order()
    assert order.status == Order.Status.ALLOCATED
    assert order.number.startswith("SO-")
    assert [e.kind for e in order.events.all()] == [
        "created",
        "status_changed",
        "reserved",
        "status_changed",
    ]
    assert order.lines.get().quantity_reserved == 2
