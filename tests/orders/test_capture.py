"""Capture: what an accepted order holds, its timeline and outbox, idempotency on
(channel, external_ref), and gap-free order numbers."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from oms.core import fastsql
from oms.core.exceptions import Conflict
from oms.core.models import OutboxEvent
from orders.models import Customer, Hold, Order, OrderEvent, OrderLine, OrderSequence, Payment
from orders.services import capture as capture_module
from orders.services import order_capture
from orders.services.capture import capture_many
from tests.factories import (
    ChannelFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    order_payload,
    ship_to,
    stocked,
)

pytestmark = pytest.mark.django_db
S = Order.Status
WRITTEN = (
    Order,
    OrderLine,
    Customer,
    Payment,
    Hold,
    OrderEvent,
    OutboxEvent,
    Reservation,
    Order.history.model,
)


@pytest.fixture(autouse=True)
def catalog():
    ChannelFactory(code="web", ship_within_hours=48)
    location = LocationFactory(code="WH-TEST")
    for sku in ("WIDGET-RED", "WIDGET-BLUE"):
        stocked(product=ProductFactory(sku=sku), location=location, quantity=100)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


def numbers() -> list[int]:
    return sorted(int(n.rsplit("-", 1)[1]) for n in Order.objects.values_list("number", flat=True))


def payload(n: int = 0, **overrides) -> dict:
    """A valid request; n gives it its own address, so many of them are no fraud pattern."""
    return order_payload(ship_to=ship_to(line1=f"{n + 1} Market St"), **overrides)


# -- what an accepted order holds -------------------------------------------------------


def test_an_accepted_order_holds_what_was_sent():
    result = order_capture(
        payload=payload(
            external_ref=" WEB-7 ",
            lines=[
                {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
                {"sku": "widget-blue", "quantity": 1, "unit_price": "5.00"},
            ],
            payment={"status": "paid", "amount": "24.98", "reference": "pi_7"},
            requested_ship_date="2026-11-21",
            po_number="PO-55",
            notes="Leave at the door",
        ),
        source="api",
    )
    assert result.created
    order = result.order
    assert re.fullmatch(rf"SO-{timezone.localdate().year}-\d{{6}}", order.number)
    assert order.external_ref == "WEB-7"
    assert order.channel.code == "web"
    assert (order.status, order.payment_status) == (S.ALLOCATED, Order.PaymentStatus.PAID)
    assert (order.currency, order.subtotal, order.total) == (
        "USD",
        Decimal("24.98"),
        Decimal("24.98"),
    )
    assert order.placed_at == datetime(2026, 11, 20, 14, 3, tzinfo=UTC)
    # The SLA: placed + the channel's 48 hours (later than the requested date's end).
    assert order.ship_by == datetime(2026, 11, 22, 14, 3, tzinfo=UTC)
    assert (order.po_number, order.notes) == ("PO-55", "Leave at the door")
    assert (order.ship_name, order.ship_postcode, order.ship_country.code, order.ship_phone) == (
        "Ana Silva",
        "94105",
        "US",
        "+14155550101",
    )
    assert [
        (ln.line_no, ln.sku, ln.quantity, ln.unit_price, ln.quantity_reserved)
        for ln in order.lines.all()
    ] == [
        (1, "WIDGET-RED", 2, Decimal("9.99"), 2),
        (2, "WIDGET-BLUE", 1, Decimal("5.00"), 1),
    ]
    payment = order.payments.get()
    assert (payment.status, payment.amount, payment.reference) == (
        "captured",
        Decimal("24.98"),
        "pi_7",
    )
    assert order.customer.email == "ana@example.com"
    assert order.email == "ana@example.com"
    assert sorted(StockLevel.objects.values_list("reserved", flat=True)) == [1, 2]


def test_a_later_requested_ship_date_moves_the_promise():
    order = order_capture(payload=payload(requested_ship_date="2026-12-01")).order
    assert order.ship_by == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


def test_the_order_priority_comes_from_the_channel_unless_sent():
    ChannelFactory(code="vip", priority=10)
    assert order_capture(payload=payload(0, channel="vip")).order.priority == 10
    assert order_capture(payload=payload(1, channel="vip", priority=3)).order.priority == 3


def test_a_returning_customer_is_found_by_email_and_a_new_one_is_created():
    known = CustomerFactory(email="ana@example.com")
    first = order_capture(payload=payload(0)).order
    assert first.customer == known
    other = order_capture(
        payload=payload(1, customer={"email": "BO@Example.com", "name": "Bo", "phone": ""})
    ).order
    assert (other.customer.email, other.customer.name, other.customer.kind) == (
        "bo@example.com",
        "Bo",
        "retail",
    )
    assert Customer.objects.count() == 2


def test_an_order_without_customer_details_has_no_customer():
    order = order_capture(payload=payload(customer=None)).order
    assert order.customer is None
    assert order.email == ""
    assert order.status == S.ALLOCATED


# -- timeline and outbox ----------------------------------------------------------------


def test_capture_leaves_a_timeline_history_rows_and_outbox_events():
    order = order_capture(payload=payload(), source="api", origin="203.0.113.9").order
    events = list(order.events.all())
    assert [e.kind for e in events] == ["created", "status_changed", "reserved", "status_changed"]
    created = events[0]
    assert created.message == "Order captured via api from 203.0.113.9: 1 lines, 19.98 USD."
    assert created.data == {
        "source": "api",
        "origin": "203.0.113.9",
        "external_ref": order.external_ref,
    }
    assert [e.data["from"] + ">" + e.data["to"] for e in events if e.kind == "status_changed"] == [
        "pending>confirmed",
        "confirmed>allocated",
    ]
    assert all(
        e.system == "capture" and e.actor is None for e in events if e.kind == "status_changed"
    )
    # One history row: the state the capture committed (its steps are on the timeline;
    # no one could ever read the order as pending or confirmed).
    assert list(order.history.values_list("history_type", "status")) == [("+", "allocated")]
    outbox = OutboxEvent.objects.filter(
        aggregate_type="orders.order", aggregate_id=str(order.pk)
    ).order_by("id")
    assert [(o.topic, o.payload) for o in outbox] == [
        (
            "order.created",
            {
                "number": order.number,
                "channel": "web",
                "external_ref": order.external_ref,
                "status": "pending",
                "total": "19.98",
                "currency": "USD",
            },
        ),
        (
            "order.status_changed",
            {"number": order.number, "from": "pending", "to": "confirmed", "reason": "validated"},
        ),
        (
            "order.status_changed",
            {
                "number": order.number,
                "from": "confirmed",
                "to": "allocated",
                "reason": events[3].data["reason"],
            },
        ),
    ]
    assert all(o.status == OutboxEvent.Status.PENDING for o in outbox)


def test_a_staff_capture_names_the_person_on_the_timeline(django_user_model):
    clerk = django_user_model.objects.create_user(username="clerk", password="x")
    order = order_capture(payload=payload(), actor=clerk, source="phone").order
    assert {(e.actor_id, e.system) for e in order.events.all()} == {(clerk.pk, "")}
    assert order.events.first().message.startswith("Order captured via phone")


# -- idempotency ------------------------------------------------------------------------


def test_the_same_request_twice_makes_one_order():
    request = payload()
    first = order_capture(payload=request)
    before = counts()
    again = order_capture(payload=dict(request))
    assert (first.created, again.created) == (True, False)
    assert again.order.pk == first.order.pk
    assert again.order.number == first.order.number
    assert counts() == before


def test_the_order_of_keys_in_the_request_does_not_matter():
    request = payload()
    order_capture(payload=request)
    reordered = dict(reversed(list(request.items())))
    assert order_capture(payload=reordered).created is False
    assert Order.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict_and_changes_nothing():
    request = payload()
    order = order_capture(payload=request).order
    row = Order.objects.filter(pk=order.pk).values().get()
    before = counts()
    changed = {**request, "lines": [{"sku": "WIDGET-RED", "quantity": 3, "unit_price": "9.99"}]}
    with pytest.raises(Conflict) as conflict:
        order_capture(payload=changed)
    assert conflict.value.message == (
        f"Order {order.number} already exists for web / {order.external_ref} with different content."
    )
    assert conflict.value.data == {"status": "allocated", "number": order.number}
    assert counts() == before
    assert Order.objects.filter(pk=order.pk).values().get() == row


def test_the_same_key_is_a_conflict_even_when_the_new_body_is_invalid():
    request = payload()
    order_capture(payload=request)
    with pytest.raises(Conflict):
        order_capture(payload={**request, "lines": []})


def test_the_same_ref_on_another_channel_is_another_order():
    ChannelFactory(code="amazon", kind="marketplace")
    request = payload()
    order_capture(payload=request)
    other = order_capture(
        payload={**request, "channel": "amazon", "ship_to": ship_to(line1="9 Elm St")}
    )
    assert other.created
    assert Order.objects.count() == 2


def blind_once(monkeypatch) -> None:
    """The first look-up of existing keys sees nothing, as when two requests with one key
    pass it together; the look-up after the failed insert sees the winner."""
    real, calls = capture_module._existing, []

    def existing(*args):
        calls.append(args)
        return {} if len(calls) == 1 else real(*args)

    monkeypatch.setattr(capture_module, "_existing", existing)


def test_a_request_that_loses_the_race_on_the_unique_key_gets_the_winners_order(monkeypatch):
    # Two requests with one key pass the look-up together; the second insert meets the
    # unique constraint (invariant 6) and answers as a retry, giving its number back.
    request = payload()
    winner = order_capture(payload=request).order
    blind_once(monkeypatch)
    before = counts()
    late = order_capture(payload=dict(request))
    assert (late.created, late.order.pk) == (False, winner.pk)
    assert counts() == before
    monkeypatch.undo()
    assert (
        order_capture(payload=payload(1)).order.number == f"SO-{timezone.localdate().year}-000002"
    )


def test_the_race_loser_with_another_body_gets_a_conflict(monkeypatch):
    request = payload()
    order_capture(payload=request)
    blind_once(monkeypatch)
    with pytest.raises(Conflict):
        order_capture(payload={**request, "notes": "different"})
    assert Order.objects.count() == 1


# -- numbering --------------------------------------------------------------------------


def test_the_number_is_everywhere_the_order_is_named():
    # Rows are written under a placeholder and numbered last (orders/services/numbering.py):
    # nothing may keep the placeholder.
    order = order_capture(payload=payload(0)).order
    other = order_capture(payload=payload(1, payment=None)).order
    for captured in (order, other):
        stored = Order.objects.get(pk=captured.pk)
        assert stored.number == captured.number
        assert re.fullmatch(rf"SO-{timezone.localdate().year}-\d{{6}}", stored.number)
        assert set(stored.history.values_list("number", flat=True)) == {stored.number}
        payloads = OutboxEvent.objects.filter(
            aggregate_id=str(stored.pk), topic__startswith="order."
        )
        assert {p.payload["number"] for p in payloads} == {stored.number}
    references = Reservation.objects.values_list("reference", flat=True)
    assert sorted(references) == [f"{order.number}/1"]
    assert not Order.history.filter(number__startswith="~").exists()


def test_in_a_batch_each_orders_number_is_in_its_own_rows():
    outcomes = capture_many([payload(0), payload(1, payment=None), payload(2)])

    orders = [Order.objects.get(pk=outcome.order.pk) for outcome in outcomes]
    assert [o.number[-6:] for o in orders] == ["000001", "000002", "000003"]
    for order in orders:
        outbox = OutboxEvent.objects.filter(aggregate_id=str(order.pk))
        assert outbox.count() >= 2  # created, then each status step
        assert {event.payload["number"] for event in outbox} == {order.number}
        assert set(order.history.values_list("number", flat=True)) == {order.number}
    assert OutboxEvent.objects.count() == sum(
        OutboxEvent.objects.filter(aggregate_id=str(o.pk)).count() for o in orders
    )


def test_order_numbers_are_consecutive_per_year():
    for n in range(5):
        order_capture(payload=payload(n))
    assert numbers() == [1, 2, 3, 4, 5]
    assert OrderSequence.objects.get(year=timezone.localdate().year).last == 5


def test_held_and_backordered_orders_take_numbers_too():
    order_capture(payload=payload(0, payment=None))
    order_capture(
        payload=payload(
            1,
            lines=[{"sku": "WIDGET-BLUE", "quantity": 500, "unit_price": "0.01"}],
            payment={"status": "paid", "amount": "5.00"},
        )
    )
    order_capture(payload=payload(2))
    assert list(Order.objects.order_by("number").values_list("status", flat=True)) == [
        S.ON_HOLD,
        S.BACKORDERED,
        S.ALLOCATED,
    ]
    assert numbers() == [1, 2, 3]


def test_a_refused_request_does_not_use_a_number():
    order_capture(payload=payload(0))
    with pytest.raises(Exception):  # noqa: B017 - any refusal
        order_capture(payload=payload(1, channel="nope"))
    order_capture(payload=payload(2))
    assert numbers() == [1, 2]


@pytest.mark.parametrize(
    "module, step",
    [
        (capture_module, "stock_reserve"),
        (fastsql, "insert_together"),  # lines, then history, timeline and outbox
        (capture_module, "number_orders"),
    ],
)
def test_a_capture_that_fails_after_taking_its_number_gives_it_back(monkeypatch, module, step):
    order_capture(payload=payload(0))
    before = counts()

    def fail(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(module, step, fail)
    with pytest.raises(RuntimeError):
        order_capture(payload=payload(1))
    assert counts() == before
    assert StockLevel.objects.get(product__sku="WIDGET-RED").reserved == 2
    assert OrderSequence.objects.get().last == 1
    monkeypatch.undo()
    retried = order_capture(payload=payload(1))
    assert retried.created
    assert numbers() == [1, 2]
