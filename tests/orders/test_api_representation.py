"""OrderSerializer writes an order with a hand-built dict (order_representation) for speed;
its declared fields still say the shape. Here both must give the same output, field for
field, for orders in the shapes the API shows: just captured (from the rows written) and
read again, held and resolved, backordered, cancelled in part, wholesale on account, with
a requested ship date, by a person and by the system, in another time zone."""

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import override_settings
from rest_framework import serializers

from orders.api.serializers import OrderSerializer, order_representation
from orders.models import Hold
from orders.selectors import order_as_written, order_detail
from orders.services import hold_resolve, order_capture, order_hold, order_lines_cancel
from tests.factories import (
    ChannelFactory,
    LocationFactory,
    ProductFactory,
    UserFactory,
    WholesaleCustomerFactory,
    order_payload,
    stocked,
)

pytestmark = pytest.mark.django_db


def by_fields(order) -> dict:
    """What DRF's declared fields make of `order` (the reference)."""
    return serializers.ModelSerializer.to_representation(OrderSerializer(), order)


def assert_same(order) -> None:
    fast = order_representation(order)
    assert fast == by_fields(order)
    # And as JSON on the wire (types, not only equality: "9.99" is not 9.99).
    dump = lambda value: json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)  # noqa: E731
    assert dump(fast) == dump(by_fields(order))
    assert OrderSerializer(order).data == fast


@pytest.fixture
def shop():
    ChannelFactory(code="web")
    ChannelFactory(code="wholesale", kind="wholesale")
    location = LocationFactory(code="WH-TEST")
    stocked(product=ProductFactory(sku="WIDGET-RED"), location=location, quantity=5)
    stocked(product=ProductFactory(sku="WIDGET-BLUE"), location=location, quantity=100)


def capture(**overrides):
    return order_capture(payload=order_payload(**overrides), actor=UserFactory()).order


def test_a_just_captured_order_and_the_same_order_read_again(shop):
    order = capture(
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
            {"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "120.5"},
        ],
        payment={"status": "paid", "amount": "140.48", "reference": "pi_1"},
        requested_ship_date="2026-12-01",
        po_number="PO-7",
        notes="Leave at the door",
    )
    assert_same(order_as_written(order))
    assert_same(order_detail(number=order.number))


def test_a_backordered_order_with_a_cancelled_line(shop):
    order = capture(lines=[{"sku": "WIDGET-RED", "quantity": 8, "unit_price": "1.00"}])
    assert order.status == "backordered"
    order_lines_cancel(order=order, quantities={1: 3}, reason="customer asked")
    assert_same(order_detail(number=order.number))


def test_a_held_then_resolved_order_acted_on_by_a_person_and_the_system(shop):
    order = capture(payment={"status": "pending", "amount": "19.98", "reference": ""})
    hold = order_hold(
        order=order_detail(number=order.number), kind=Hold.Kind.MANUAL, reason="call", actor=None
    )
    hold_resolve(hold=hold, note="spoke to her", actor=UserFactory())
    assert_same(order_detail(number=order.number))


def test_a_wholesale_order_on_account_without_a_retail_e_mail(shop):
    account = WholesaleCustomerFactory(code="ACME")
    order = capture(channel="wholesale", customer={"code": account.code}, payment=None)
    assert_same(order_detail(number=order.number))


@override_settings(TIME_ZONE="America/New_York")
def test_times_in_another_time_zone(shop):
    order = capture()
    assert_same(order_detail(number=order.number))
    assert order_representation(order_detail(number=order.number))["placed_at"].endswith("-05:00")
