"""Order capture under real concurrency (DESIGN.md sections 5 and 6): idempotent on
(channel, external_ref), never oversells scarce stock, never deadlocks, and stock that
arrives while orders race reaches the backorders in priority order.

Real threads, each with its own PostgreSQL connection (closed when the thread ends), all
released at once by a barrier. Domain refusals are outcomes and are counted; any other
exception (a deadlock, a serialization failure, an IntegrityError, a check-constraint
violation) is a failure. SQLite cannot prove any of this: PostgreSQL only (CI has one).
"""

import copy
import io
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Sum

from inventory.models import Reservation, StockLevel
from inventory.services import ReceiptLine, reserved_for, stock_level_get_or_create, stock_receive
from oms.core.exceptions import Conflict
from orders.models import Customer, Order, OrderEvent, OrderLine, OrderSequence
from orders.services import order_capture
from tests.factories import ChannelFactory, LocationFactory, ProductFactory, order_payload, stocked

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

PRICE = Decimal("4.00")


@dataclass
class Outcome:
    index: int
    value: Any = None
    error: BaseException | None = None


def race(worker: Callable[[int], Any], threads: int) -> list[Outcome]:
    """Run `worker(i)` in `threads` real threads released together by a barrier; return
    each one's result or exception. Each thread closes its own database connection."""
    barrier = threading.Barrier(threads)
    outcomes = [Outcome(i) for i in range(threads)]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index].value = worker(index)
        except BaseException as exc:  # kept for the test to judge
            outcomes[index].error = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=180)
    assert not [t.name for t in pool if t.is_alive()], "a racer hung (a lock wait without end?)"
    return outcomes


def unexpected(outcomes: list[Outcome], *allowed: type[BaseException]) -> list[str]:
    return [
        f"racer {o.index}: {o.error!r}"
        for o in outcomes
        if o.error is not None and not isinstance(o.error, allowed)
    ]


def request(ref: str, lines: list[tuple[str, int]], *, n: int, priority: int | None = None):
    """A paid web order; its own buyer and street address, so neither the new-customer
    nor the orders-per-address fraud rule holds it."""
    total = sum((PRICE * quantity for _, quantity in lines), Decimal("0"))
    payload = order_payload(
        external_ref=ref,
        customer={"email": f"buyer{n}@example.com", "name": f"Buyer {n}"},
        lines=[{"sku": sku, "quantity": q, "unit_price": str(PRICE)} for sku, q in lines],
        payment={"status": "paid", "amount": str(total), "reference": f"pi_{ref}"},
    )
    payload["ship_to"] = {**payload["ship_to"], "line1": f"{n} Market St", "phone": ""}
    if priority is not None:
        payload["priority"] = priority
    return payload


@pytest.fixture
def warehouse():
    ChannelFactory(code="web", priority=50)
    return LocationFactory(code="WH-RACE", priority=10)


def assert_stock_consistent() -> None:
    """Never oversold; every reserved unit is an active reservation of an order line that
    knows it holds it; the ledger agrees (check_invariants)."""
    for level in StockLevel.objects.select_related("product"):
        assert 0 <= level.reserved <= level.on_hand, level
        lines = OrderLine.objects.filter(product=level.product).aggregate(
            total=Sum("quantity_reserved", default=0)
        )["total"]
        assert lines == level.reserved, (level.product.sku, lines, level.reserved)
    active = Reservation.objects.filter(state=Reservation.State.ACTIVE).aggregate(
        total=Sum("quantity", default=0)
    )["total"]
    assert active == StockLevel.objects.aggregate(total=Sum("reserved", default=0))["total"]
    for line in OrderLine.objects.all():
        assert reserved_for([line]) == line.quantity_reserved, line
    out = io.StringIO()
    call_command("check_invariants", stdout=out)  # raises CommandError on a violation
    assert "All invariants hold" in out.getvalue()


def assert_status_matches_reservations() -> None:
    """allocated <=> every line fully reserved; backordered <=> something still open; the
    timeline's reserved events add up to what the lines hold."""
    for order in Order.objects.prefetch_related("lines"):
        lines = list(order.lines.all())
        complete = all(line.quantity_reserved == line.quantity for line in lines)
        assert order.status == (Order.Status.ALLOCATED if complete else Order.Status.BACKORDERED), (
            order.number,
            order.status,
            [(line.sku, line.quantity, line.quantity_reserved) for line in lines],
        )
        told = sum(
            sum(event.data["lines"].values())
            for event in OrderEvent.objects.filter(order=order, kind="reserved")
        )
        assert told == sum(line.quantity_reserved for line in lines), order.number


def assert_numbers_gap_free() -> None:
    numbers = sorted(Order.objects.values_list("number", flat=True))
    sequence = OrderSequence.objects.get()
    assert sequence.last == len(numbers)
    assert numbers == [f"SO-{sequence.year}-{n:06d}" for n in range(1, len(numbers) + 1)]


# --- (a) idempotency under a race -------------------------------------------------------


def test_twenty_identical_requests_make_one_order(warehouse):
    stocked(product=ProductFactory(sku="RACE-A"), location=warehouse, quantity=50)
    payload = request("WEB-SAME-1", [("RACE-A", 2)], n=1)

    outcomes = race(lambda i: order_capture(payload=copy.deepcopy(payload)), threads=20)

    assert unexpected(outcomes) == []
    results = [o.value for o in outcomes]
    assert sorted(r.created for r in results) == [False] * 19 + [True]
    assert {r.order.number for r in results} == {Order.objects.get().number}
    order = Order.objects.get()
    assert order.status == Order.Status.ALLOCATED
    assert order.lines.get().quantity_reserved == 2
    assert StockLevel.objects.get().reserved == 2
    # The 19 losers rolled back everything they wrote: no customer, event or number leaks.
    assert Customer.objects.filter(email="buyer1@example.com").count() == 1
    assert OrderEvent.objects.filter(kind="created").count() == 1
    assert order.history.count() >= 1
    assert_numbers_gap_free()
    assert_stock_consistent()


def test_twenty_different_bodies_under_one_key_make_one_order_and_conflicts(warehouse):
    stocked(product=ProductFactory(sku="RACE-A"), location=warehouse, quantity=50)
    bodies = [request("WEB-SAME-2", [("RACE-A", 1 + i % 3)], n=100 + i) for i in range(20)]
    for i, body in enumerate(bodies):
        body["notes"] = f"body {i}"

    outcomes = race(lambda i: order_capture(payload=bodies[i]), threads=20)

    assert unexpected(outcomes, Conflict) == []
    winners = [o for o in outcomes if o.error is None]
    assert len(winners) == 1 and winners[0].value.created
    order = Order.objects.get()
    assert order.notes == f"body {winners[0].index}"
    conflicts = [o.error for o in outcomes if isinstance(o.error, Conflict)]
    assert len(conflicts) == 19
    assert all(c.data.get("number") == order.number for c in conflicts)
    assert (
        StockLevel.objects.get().reserved
        == order.lines.get().quantity
        == 1 + (winners[0].index % 3)
    )
    assert Customer.objects.count() == 1  # the losers' new customers were rolled back
    assert_numbers_gap_free()
    assert_stock_consistent()


# --- (b) scarce stock -----------------------------------------------------------------------


def test_racing_orders_never_oversell_scarce_stock_nor_deadlock(warehouse):
    a = stocked(product=ProductFactory(sku="SCARCE-A"), location=warehouse, quantity=25)
    b = stocked(product=ProductFactory(sku="SCARCE-B"), location=warehouse, quantity=25)
    threads, per_thread = 16, 4
    demand = Counter()
    plans = []
    for t in range(threads):
        rng = random.Random(t)
        orders = []
        for k in range(per_thread):
            n = t * per_thread + k
            shape = rng.choice(["A", "B", "AB", "BA"])  # two-line orders in both SKU orders
            lines = [(f"SCARCE-{sku}", rng.randint(1, 3)) for sku in shape]
            demand.update(dict(lines))
            orders.append(request(f"WEB-SCARCE-{n}", lines, n=n))
        plans.append(orders)
    assert demand["SCARCE-A"] > 25 and demand["SCARCE-B"] > 25  # more wanted than there is

    def capture_all(t: int) -> list[str]:
        return [order_capture(payload=p).order.status for p in plans[t]]

    outcomes = race(capture_all, threads)

    assert unexpected(outcomes) == []  # no deadlock, no constraint violation, no refusal
    assert Order.objects.count() == threads * per_thread
    for level in (a, b):
        level.refresh_from_db()
        # Every unit went to someone (captures reserve what there is), none twice.
        assert (level.on_hand, level.reserved) == (25, 25), level
    statuses = Counter(Order.objects.values_list("status", flat=True))
    assert set(statuses) == {Order.Status.ALLOCATED, Order.Status.BACKORDERED}
    assert_status_matches_reservations()
    assert_numbers_gap_free()
    assert_stock_consistent()


def test_racing_orders_from_one_new_customer_make_one_customer(warehouse):
    stocked(product=ProductFactory(sku="RACE-A"), location=warehouse, quantity=100)
    payloads = []
    for i in range(12):
        payload = request(f"WEB-NEWCUST-{i}", [("RACE-A", 1)], n=500 + i)
        payload["customer"] = {"email": "new.buyer@example.com", "name": "New Buyer"}
        payloads.append(payload)

    outcomes = race(lambda i: order_capture(payload=payloads[i]), threads=12)

    assert unexpected(outcomes) == []
    assert Customer.objects.filter(email="new.buyer@example.com").count() == 1
    assert Order.objects.filter(customer__email="new.buyer@example.com").count() == 12


# --- (c) stock arriving while captures race -------------------------------------------------


def test_stock_received_while_orders_race_reaches_backorders_in_priority_order(warehouse):
    product = ProductFactory(sku="LATE-A")
    level = stock_level_get_or_create(product=product, location=warehouse)
    # Waiting before the race: ten backorders of 2, priorities 1..10 (lower goes first),
    # captured in reverse so neither placement nor id order gives the answer away.
    for priority in range(10, 0, -1):
        result = order_capture(
            payload=request(
                f"WEB-WAIT-{priority}", [("LATE-A", 2)], n=900 + priority, priority=priority
            )
        )
        assert result.order.status == Order.Status.BACKORDERED
    receipts, per_receipt = 10, 3
    capturers, per_capturer = 8, 3

    def work(i: int) -> None:
        if i == 0:  # the dock: receipts one after another, as a receiving clerk books them
            for r in range(receipts):
                stock_receive(
                    location=warehouse,
                    lines=[ReceiptLine(product, per_receipt)],
                    reference=f"RCV-{r}",
                )
            return
        for k in range(per_capturer):
            n = i * per_capturer + k
            order_capture(payload=request(f"WEB-LATE-{n}", [("LATE-A", 1)], n=n, priority=500))

    outcomes = race(work, threads=1 + capturers)

    assert unexpected(outcomes) == []
    level.refresh_from_db()
    received = receipts * per_receipt
    wanted = 10 * 2 + capturers * per_capturer
    assert level.on_hand == received
    # No lost units: stock is free only when nobody waits for it (here: none is free).
    waiting = OrderLine.objects.filter(
        product=product, order__status=Order.Status.BACKORDERED, quantity__gt=F("quantity_reserved")
    )
    free = level.on_hand - level.reserved - level.safety_stock
    assert not (free and waiting.exists()), (
        f"{free} units free while {waiting.count()} backorders wait for them: "
        f"{list(waiting.values_list('order__number', 'quantity', 'quantity_reserved'))}"
    )
    assert level.reserved == min(received, wanted)
    # Priority order among the waiting orders: a later one holds stock only if every
    # earlier one is complete.
    queue = Order.objects.filter(external_ref__startswith="WEB-WAIT-").order_by("priority")
    held = [order.lines.get().quantity_reserved for order in queue]
    first_short = next((i for i, units in enumerate(held) if units < 2), len(held))
    assert all(units == 0 for units in held[first_short + 1 :]), held
    assert_status_matches_reservations()
    assert_stock_consistent()


def test_no_order_waits_for_stock_that_arrived_while_it_was_captured(warehouse):
    """Enough stock arrives for every order, in receipts that land while orders are being
    captured: at the end every order is allocated. (A capture that found the shelf empty
    commits as backordered; a receipt that committed meanwhile must still reach it.)"""
    product = ProductFactory(sku="LATE-B")
    level = stock_level_get_or_create(product=product, location=warehouse)
    capturers, per_capturer, receipts = 8, 4, 16
    wanted = capturers * per_capturer * 2
    per_receipt = wanted // receipts

    def work(i: int) -> None:
        if i == 0:
            for r in range(receipts):
                time.sleep(0.01)  # spread the receipts over the captures
                stock_receive(
                    location=warehouse,
                    lines=[ReceiptLine(product, per_receipt)],
                    reference=f"RCV-{r}",
                )
            return
        for k in range(per_capturer):
            n = i * per_capturer + k
            order_capture(payload=request(f"WEB-LATE-B-{n}", [("LATE-B", 2)], n=n))

    outcomes = race(work, threads=1 + capturers)

    assert unexpected(outcomes) == []
    level.refresh_from_db()
    assert level.on_hand == wanted
    waiting = list(
        Order.objects.exclude(status=Order.Status.ALLOCATED).values_list("number", "status")
    )
    assert waiting == [], f"{level.on_hand - level.reserved} units free while these wait: {waiting}"
    assert level.reserved == wanted
    assert_stock_consistent()


def test_a_receipt_that_commits_while_a_backorder_is_being_captured_reaches_it(
    warehouse, monkeypatch
):
    """The window, made certain: the capture has found the shelf empty and decided its
    order is backordered, but not committed yet; a receipt comes then. Either it waits for
    the capture's lock on the stock level, or it commits and its backorder sweep cannot see
    the order; either way, when the capture commits, the stock must still reach it."""
    from orders.services import capture as capture_module

    product = ProductFactory(sku="LATE-C")
    stock_level_get_or_create(product=product, location=warehouse)
    in_window, received = threading.Event(), threading.Event()
    real_number = capture_module.number_orders

    def number_then_wait(*args, **kwargs):
        real_number(*args, **kwargs)  # the capture's last statement before COMMIT
        if threading.current_thread().name == "racer-0":
            in_window.set()  # backordered, not committed
            received.wait(timeout=2)  # the receipt may be queued on our row lock

    monkeypatch.setattr(capture_module, "number_orders", number_then_wait)

    def work(i: int) -> None:
        if i == 0:
            order_capture(payload=request("WEB-LATE-C-1", [("LATE-C", 2)], n=1))
        else:
            assert in_window.wait(timeout=30)
            stock_receive(location=warehouse, lines=[ReceiptLine(product, 2)], reference="RCV")
            received.set()

    outcomes = race(work, threads=2)

    assert unexpected(outcomes) == []
    order = Order.objects.get()
    level = StockLevel.objects.get(product=product)
    assert (level.on_hand, level.reserved, order.status) == (2, 2, Order.Status.ALLOCATED)
    assert_stock_consistent()
