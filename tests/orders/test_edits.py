"""Editing orders before release (orders/services/edits.py): each edit changes what it
says, leaves a timeline event with before and after, keeps totals, reservations and
StockLevel.reserved in step, moves the status as the machine allows, and is refused, with
nothing changed, once the order is in fulfilment or cancelled."""

from decimal import Decimal

import pytest

from inventory.invariants import violations
from inventory.models import Reservation, StockLevel
from inventory.services import reserved_for
from oms.core.exceptions import IllegalTransition, InsufficientStock, ValidationFailed
from orders.models import Hold, Order, OrderLine
from orders.services import hold_resolve, order_cancel
from orders.services.common import lock_order, move
from orders.services.edits import (
    order_address_change,
    order_line_add,
    order_line_quantity_change,
    order_line_remove,
    order_priority_change,
)
from tests.factories import (
    LocationFactory,
    ProductFactory,
    UserFactory,
    captured_order,
    stocked,
)

pytestmark = pytest.mark.django_db

S = Order.Status


@pytest.fixture(autouse=True)
def consistent():
    """After every test: the ledger and reservations agree (invariants 1 and 2) and every
    order line's quantity_reserved is what its active reservations hold (invariant 3)."""
    yield
    assert list(violations()) == []
    for line in OrderLine.objects.all():
        assert line.quantity_reserved == reserved_for([line]), line
        assert line.quantity >= line.quantity_reserved + line.quantity_cancelled


@pytest.fixture
def clerk():
    return UserFactory(username="clerk")


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def paid(total: str = "500.00") -> dict:
    """A payment that covers edits (so no payment hold opens)."""
    return {"status": "paid", "amount": total, "reference": "pi_cover"}


def level(sku: str, code: str = "WH-TEST") -> StockLevel:
    return StockLevel.objects.get(product__sku=sku, location__code=code)


def events(order: Order, kind: str):
    return list(order.events.filter(kind=kind).order_by("id"))


def in_fulfilment(order: Order) -> Order:
    locked = lock_order(order)
    move(locked, "release_to_warehouse", system="test")
    return fresh(order)


# -- address ------------------------------------------------------------------------------


def test_address_change_validates_with_capture_rules_and_records_before_and_after(clerk):
    order = captured_order()

    order_address_change(
        order=order,
        ship_to={"line1": "350 5th Ave", "city": "New York", "region": "NY", "postcode": "10118"},
        actor=clerk,
    )

    order = fresh(order)
    assert (order.ship_line1, order.ship_city, order.ship_postcode) == (
        "350 5th Ave",
        "New York",
        "10118",
    )
    assert order.ship_name == "Ana Silva"  # untouched fields stay
    (event,) = events(order, "address_changed")
    assert event.actor == clerk
    assert event.data["before"]["postcode"] == "94105"
    assert event.data["after"]["postcode"] == "10118"
    assert set(event.data["changed"]) == {"line1", "city", "region", "postcode"}
    assert "postcode 94105 → 10118" in event.message
    assert order.history.count() >= 2  # the change left a history row


def test_address_errors_are_field_level_and_change_nothing(clerk):
    order = captured_order()
    before = order.events.count()

    with pytest.raises(ValidationFailed) as refused:
        order_address_change(
            order=order, ship_to={"postcode": "ABC", "phone": "12", "name": ""}, actor=clerk
        )

    errors = refused.value.errors["ship_to"]
    assert set(errors) == {"postcode", "phone", "name"}
    assert "not a valid US postcode" in errors["postcode"][0]
    order = fresh(order)
    assert order.ship_postcode == "94105"
    assert order.events.count() == before


def test_a_new_country_checks_the_postcode_against_it(clerk):
    order = captured_order()
    with pytest.raises(ValidationFailed) as refused:
        order_address_change(order=order, ship_to={"country": "GB"}, actor=clerk)
    assert "not a valid GB postcode" in refused.value.errors["ship_to"]["postcode"][0]

    order_address_change(
        order=order, ship_to={"country": "gb", "postcode": "sw1a 1aa", "region": ""}, actor=clerk
    )
    order = fresh(order)
    assert (str(order.ship_country), order.ship_postcode) == ("GB", "SW1A 1AA")


def test_unknown_address_fields_are_named(clerk):
    order = captured_order()
    with pytest.raises(ValidationFailed) as refused:
        order_address_change(order=order, ship_to={"street": "x"}, actor=clerk)
    assert refused.value.errors == {"ship_to": {"street": ["Not an address field."]}}


def test_the_same_address_again_records_nothing(clerk):
    order = captured_order()
    before = order.events.count()
    order_address_change(order=order, ship_to={"postcode": "94105"}, actor=clerk)
    assert fresh(order).events.count() == before


# -- quantities -------------------------------------------------------------------------


def test_quantity_down_releases_stock_and_keeps_the_line_in_step(clerk):
    order = captured_order(
        lines=[{"sku": "WIDGET-RED", "quantity": 5, "unit_price": "10.00"}], payment=paid()
    )
    assert order.status == S.ALLOCATED
    assert level("WIDGET-RED").reserved == 5

    order_line_quantity_change(order=order, line_no=1, quantity=2, actor=clerk)

    order = fresh(order)
    line = order.lines.get()
    assert (line.quantity, line.quantity_reserved, line.quantity_cancelled) == (2, 2, 0)
    assert level("WIDGET-RED").reserved == 2
    assert (order.subtotal, order.total) == (Decimal("20.00"), Decimal("20.00"))
    assert order.status == S.ALLOCATED
    (event,) = events(order, "line_quantity_changed")
    assert event.data["before"] == {"quantity": 5, "reserved": 5}
    assert event.data["after"] == {"quantity": 2, "reserved": 2}
    assert event.data["total"] == {"before": "50.00", "after": "20.00"}
    assert "quantity 5 → 2" in event.message
    assert "50.00 → 20.00 USD" in event.message
    assert events(order, "released")[0].message == "Released 3 reserved units of WIDGET-RED."


def test_quantity_up_on_an_allocated_order_is_reserved_at_once(clerk):
    order = captured_order(payment=paid())

    order_line_quantity_change(order=order, line_no=1, quantity=6, actor=clerk)

    order = fresh(order)
    line = order.lines.get()
    assert (line.quantity, line.quantity_reserved) == (6, 6)
    assert level("WIDGET-RED").reserved == 6
    assert order.status == S.ALLOCATED
    assert order.total == Decimal("59.94")
    assert [e.kind for e in order.events.order_by("id")][-2:] == [
        "line_quantity_changed",
        "reserved",
    ]


def test_quantity_up_beyond_stock_on_an_allocated_order_is_refused_and_changes_nothing(clerk):
    order = captured_order(stock=3, payment=paid())  # 2 reserved, 1 free
    before = (order.events.count(), order.total)

    with pytest.raises(InsufficientStock) as refused:
        order_line_quantity_change(order=order, line_no=1, quantity=4, actor=clerk)

    assert "is allocated, so 2 more of WIDGET-RED must be reserved at once" in str(
        refused.value.message
    )
    order = fresh(order)
    line = order.lines.get()
    assert (line.quantity, line.quantity_reserved) == (2, 2)
    assert (order.events.count(), order.total) == before
    assert order.status == S.ALLOCATED
    assert level("WIDGET-RED").reserved == 2


def test_an_allocated_order_grows_only_where_its_stock_is_unless_the_channel_splits(clerk):
    order = captured_order(stock=2, payment=paid())  # all of WH-TEST's stock reserved
    far = LocationFactory(code="WH-FAR", priority=90)
    stocked(product=ProductFactory(sku="WIDGET-RED"), location=far, quantity=10)

    with pytest.raises(InsufficientStock):
        order_line_quantity_change(order=order, line_no=1, quantity=3, actor=clerk)
    assert level("WIDGET-RED", "WH-FAR").reserved == 0

    order.channel.allow_split = True
    order.channel.save(update_fields=["allow_split"])
    order_line_quantity_change(order=order, line_no=1, quantity=3, actor=clerk)
    assert level("WIDGET-RED", "WH-FAR").reserved == 1
    assert fresh(order).lines.get().quantity_reserved == 3


def test_a_larger_total_than_the_payment_opens_a_payment_hold(clerk):
    order = captured_order()  # authorized 19.98 for 2 at 9.99

    order_line_quantity_change(order=order, line_no=1, quantity=3, actor=clerk)

    order = fresh(order)
    assert order.status == S.ON_HOLD
    hold = order.holds.get(resolved_at__isnull=True)
    assert hold.kind == Hold.Kind.PAYMENT
    assert "less than the new order total 29.97" in hold.reason
    assert order.lines.get().quantity_reserved == 3  # the stock is kept while it waits


def test_backordered_order_becomes_allocated_once_its_short_line_shrinks(clerk):
    order = captured_order(
        stock=3, lines=[{"sku": "WIDGET-RED", "quantity": 5, "unit_price": "1.00"}], payment=paid()
    )
    assert order.status == S.BACKORDERED
    assert order.lines.get().quantity_reserved == 3

    order_line_quantity_change(order=order, line_no=1, quantity=3, actor=clerk)

    order = fresh(order)
    assert order.status == S.ALLOCATED
    assert order.lines.get().quantity_reserved == 3
    assert events(order, "status_changed")[-1].data == {
        "from": "backordered",
        "to": "allocated",
        "reason": "every line reserved",
    }


def test_backordered_order_below_what_it_holds_releases_and_allocates(clerk):
    order = captured_order(
        stock=3, lines=[{"sku": "WIDGET-RED", "quantity": 5, "unit_price": "1.00"}], payment=paid()
    )

    order_line_quantity_change(order=order, line_no=1, quantity=1, actor=clerk)

    order = fresh(order)
    assert order.status == S.ALLOCATED
    assert order.lines.get().quantity_reserved == 1
    assert level("WIDGET-RED").reserved == 1


def test_backordered_order_growing_reserves_what_there_is_and_keeps_waiting(clerk):
    order = captured_order(
        stock=3, lines=[{"sku": "WIDGET-RED", "quantity": 5, "unit_price": "1.00"}], payment=paid()
    )
    stocked(
        product=ProductFactory(sku="WIDGET-RED"),
        location=LocationFactory(code="WH-TEST"),
        quantity=4,
    )

    order_line_quantity_change(order=order, line_no=1, quantity=9, actor=clerk)

    order = fresh(order)
    assert order.status == S.BACKORDERED
    assert order.lines.get().quantity_reserved == 7


def test_an_order_on_hold_changes_now_and_reserves_when_released(clerk):
    order = captured_order(payment={"status": "pending", "amount": "0", "reference": ""})
    assert order.status == S.ON_HOLD
    assert order.lines.get().quantity_reserved == 0

    order_line_quantity_change(order=order, line_no=1, quantity=4, actor=clerk)
    assert fresh(order).lines.get().quantity_reserved == 0

    hold_resolve(hold=order.holds.get(), note="paid by phone", actor=clerk)
    order = fresh(order)
    assert order.status == S.ALLOCATED
    assert order.lines.get().quantity_reserved == 4


@pytest.mark.parametrize("quantity", [0, -1, "2", True, None])
def test_quantity_must_be_a_whole_number_of_at_least_one(clerk, quantity):
    order = captured_order()
    with pytest.raises(ValidationFailed) as refused:
        order_line_quantity_change(order=order, line_no=1, quantity=quantity, actor=clerk)
    assert "quantity" in refused.value.errors


def test_an_unknown_line_is_named(clerk):
    order = captured_order()
    with pytest.raises(ValidationFailed) as refused:
        order_line_quantity_change(order=order, line_no=7, quantity=1, actor=clerk)
    assert refused.value.errors == {"line_no": [f"Order {order.number} has no line 7."]}


# -- lines added and removed ------------------------------------------------------------


def test_a_line_added_to_an_allocated_order_is_reserved(clerk):
    order = captured_order(payment=paid())
    stocked(
        product=ProductFactory(sku="GADGET-BLUE"),
        location=LocationFactory(code="WH-TEST"),
        quantity=5,
    )

    line = order_line_add(
        order=order, sku="gadget-blue", quantity=3, unit_price="4.50", actor=clerk
    )

    assert (line.line_no, line.sku, line.quantity, line.quantity_reserved) == (
        2,
        "GADGET-BLUE",
        3,
        3,
    )
    order = fresh(order)
    assert order.status == S.ALLOCATED
    assert order.total == Decimal("19.98") + Decimal("13.50")
    (event,) = events(order, "line_added")
    assert event.data["after"] == {"quantity": 3, "unit_price": "4.50"}
    assert event.data["before"] is None


def test_a_line_that_cannot_be_reserved_is_not_added_to_an_allocated_order(clerk):
    order = captured_order(payment=paid())
    ProductFactory(sku="GADGET-BLUE")  # no stock anywhere

    with pytest.raises(InsufficientStock):
        order_line_add(order=order, sku="GADGET-BLUE", quantity=1, unit_price="4.50", actor=clerk)

    assert fresh(order).lines.count() == 1
    assert fresh(order).total == Decimal("19.98")


def test_a_line_added_to_a_backorder_waits_for_its_stock(clerk):
    order = captured_order(stock=1, payment=paid())
    assert order.status == S.BACKORDERED
    ProductFactory(sku="GADGET-BLUE")

    line = order_line_add(order=order, sku="GADGET-BLUE", quantity=2, unit_price="1", actor=clerk)

    assert line.quantity_reserved == 0
    assert fresh(order).status == S.BACKORDERED


def test_line_add_errors_are_field_level(clerk):
    order = captured_order()
    ProductFactory(sku="OLD-THING", active=False)
    with pytest.raises(ValidationFailed) as refused:
        order_line_add(order=order, sku="NOPE", quantity=0, unit_price="1.234", actor=clerk)
    assert set(refused.value.errors) == {"sku", "quantity", "unit_price"}
    assert refused.value.errors["sku"] == ["Unknown SKU 'NOPE'."]
    assert "at most 2 decimal places" in refused.value.errors["unit_price"][0]

    with pytest.raises(ValidationFailed) as refused:
        order_line_add(order=order, sku="OLD-THING", quantity=1, unit_price="", actor=clerk)
    assert "inactive" in refused.value.errors["sku"][0]
    assert refused.value.errors["unit_price"] == ["This field is required."]


def test_a_removed_line_is_cancelled_not_deleted_and_its_stock_released(clerk):
    order = captured_order(
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
            {"sku": "GADGET-BLUE", "quantity": 1, "unit_price": "5.00"},
        ],
        payment=paid(),
    )
    assert level("GADGET-BLUE").reserved == 1

    order_line_remove(order=order, line_no=2, actor=clerk)

    order = fresh(order)
    line = order.lines.get(line_no=2)
    assert (line.quantity, line.quantity_cancelled, line.quantity_reserved) == (1, 1, 0)
    assert level("GADGET-BLUE").reserved == 0
    assert order.total == Decimal("19.98")
    assert order.status == S.ALLOCATED
    (event,) = events(order, "line_removed")
    assert event.data["before"] == {"quantity": 1, "reserved": 1}
    assert line.history.count() == 2  # created, then removed: the history stays
    assert Reservation.objects.filter(state="released", demand_id=line.pk).exists()

    with pytest.raises(ValidationFailed) as refused:
        order_line_remove(order=order, line_no=2, actor=clerk)
    assert "removed" in refused.value.errors["line_no"][0]
    with pytest.raises(ValidationFailed) as refused:
        order_line_quantity_change(order=order, line_no=2, quantity=1, actor=clerk)
    assert "removed" in refused.value.errors["line_no"][0]


def test_the_last_line_cannot_be_removed(clerk):
    order = captured_order()
    with pytest.raises(ValidationFailed) as refused:
        order_line_remove(order=order, line_no=1, actor=clerk)
    assert "cancel the order instead" in refused.value.errors["line_no"][0]
    assert fresh(order).lines.get().quantity_cancelled == 0


def test_removing_the_short_line_of_a_backorder_allocates_it(clerk):
    stocked(
        product=ProductFactory(sku="GADGET-BLUE"),
        location=LocationFactory(code="WH-TEST"),
        quantity=1,
    )
    order = captured_order(
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
            {"sku": "GADGET-BLUE", "quantity": 3, "unit_price": "5.00"},
        ],
        payment=paid(),
    )
    assert order.status == S.BACKORDERED
    assert level("GADGET-BLUE").reserved == 1

    order_line_remove(order=order, line_no=2, actor=clerk)

    order = fresh(order)
    assert order.status == S.ALLOCATED
    assert order.lines.get(line_no=1).quantity_reserved == 2
    assert level("GADGET-BLUE").reserved == 0


# -- priority -------------------------------------------------------------------------------


def test_priority_change_is_recorded(clerk):
    order = captured_order()
    order_priority_change(order=order, priority=5, actor=clerk)
    order = fresh(order)
    assert order.priority == 5
    (event,) = events(order, "priority_changed")
    assert event.data == {"before": 100, "after": 5}
    assert event.message == "Priority 100 → 5 (lower is served first)."

    with pytest.raises(ValidationFailed):
        order_priority_change(order=order, priority=-1, actor=clerk)


# -- refused once released or cancelled ------------------------------------------------------


EDITS = {
    "address": lambda order, actor: order_address_change(
        order=order, ship_to={"city": "Oakland"}, actor=actor
    ),
    "quantity": lambda order, actor: order_line_quantity_change(
        order=order, line_no=1, quantity=1, actor=actor
    ),
    "add": lambda order, actor: order_line_add(
        order=order, sku="WIDGET-RED", quantity=1, unit_price="1", actor=actor
    ),
    "remove": lambda order, actor: order_line_remove(order=order, line_no=1, actor=actor),
    "priority": lambda order, actor: order_priority_change(order=order, priority=1, actor=actor),
}


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("state", ["in_fulfilment", "cancelled"])
def test_edits_are_refused_once_released_or_cancelled(clerk, edit, state):
    order = captured_order(payment=paid())
    if state == "in_fulfilment":
        order = in_fulfilment(order)
    else:
        order = order_cancel(order=order, reason="customer changed their mind", actor=clerk)
    before = (order.events.count(), order.total, order.priority, order.ship_city)
    lines_before = list(
        order.lines.values_list("quantity", "quantity_reserved", "quantity_cancelled")
    )

    with pytest.raises(IllegalTransition) as refused:
        EDITS[edit](order, clerk)

    assert refused.value.status == state
    assert "can no longer be changed" in refused.value.message
    order = fresh(order)
    assert (order.events.count(), order.total, order.priority, order.ship_city) == before
    assert (
        list(order.lines.values_list("quantity", "quantity_reserved", "quantity_cancelled"))
        == lines_before
    )
