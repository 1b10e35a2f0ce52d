"""Stock can never be oversold, and nothing deadlocks, when many clients race (DESIGN.md
sections 5 and 6).

Real threads, each with its own PostgreSQL connection (closed when the thread ends), all
released at once by a barrier. Refusals (InsufficientStock, Conflict, ...) are expected
outcomes and are counted; any other exception (a deadlock, a serialization failure, a
check-constraint violation) is recorded and must not happen. SQLite cannot prove any of
this, so these tests run on PostgreSQL only (CI always has one).
"""

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from inventory.invariants import violations
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import (
    DemandLine,
    OrderLine,
    ReceiptLine,
    count_create,
    count_post,
    count_record,
    reserved_for,
    stock_adjust,
    stock_allocate,
    stock_consume,
    stock_receive,
    stock_release,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from oms.core.exceptions import Conflict, DomainError, InsufficientStock
from tests.factories import BinFactory, LocationFactory, ProductFactory, stocked

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

THREADS = 16


def race(worker: Callable[[int], None], threads: int = THREADS) -> list[BaseException]:
    """Run `worker(i)` in `threads` real threads that start together; return what they
    raised. Each thread closes its own database connection when it ends."""
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            worker(index)
        except BaseException as exc:  # recorded; every test asserts there is none
            failures.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=180)
    assert not [t.name for t in pool if t.is_alive()], "a racer hung (lock wait without end?)"
    return failures


@dataclass
class Ledger:
    """What one racer saw: units per demand it was granted, released and consumed."""

    granted: Counter = field(default_factory=Counter)
    released: Counter = field(default_factory=Counter)
    consumed: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)  # error code -> times

    def held(self) -> Counter:
        held = Counter(self.granted)
        held.subtract(self.released)
        held.subtract(self.consumed)
        return held


def merged(ledgers: list[Ledger]) -> Ledger:
    total = Ledger()
    for ledger in ledgers:
        total.granted.update(ledger.granted)
        total.released.update(ledger.released)
        total.consumed.update(ledger.consumed)
        total.refused.update(ledger.refused)
    return total


def make_demands(count: int, prefix: str) -> list[Group]:
    """Demands are any saved record (orders use their lines); auth groups are cheap."""
    Group.objects.bulk_create(Group(name=f"{prefix}-{i}") for i in range(count))
    return list(Group.objects.filter(name__startswith=f"{prefix}-").order_by("pk"))


def granted_per_demand(allocation) -> Counter:
    units = Counter()
    for reservation in allocation.reservations:
        units[reservation.demand_id] += reservation.quantity
    return units


def release_or_consume(rng: random.Random, ledger: Ledger, demands_by_pk: dict[int, Group]) -> None:
    """Give back part or all of one held demand, or ship part of it."""
    held = [(pk, units) for pk, units in ledger.held().items() if units > 0]
    if not held:
        return
    pk, units = rng.choice(held)
    demand = demands_by_pk[pk]
    roll = rng.random()
    if roll < 0.35:
        ledger.released[pk] += stock_release(demands=[demand])
    elif roll < 0.7:
        part = rng.randint(1, units)
        assert stock_release(demands=[demand], quantity=part) == part
        ledger.released[pk] += part
    else:
        part = rng.randint(1, units)
        movements = stock_consume(demand=demand, quantity=part, reference=f"SHIP-{pk}")
        assert -sum(m.quantity for m in movements) == part
        ledger.consumed[pk] += part


def assert_end_state(ledger: Ledger, demands: list[Group]) -> None:
    """reserved <= on_hand everywhere; reserved == active reservations == what the racers
    were granted and kept; on_hand == ledger; check_invariants is clean."""
    for level in StockLevel.objects.all():
        assert 0 <= level.reserved <= level.on_hand, level
        ledger_total = StockMovement.objects.filter(stock_level=level).aggregate(
            total=Sum("quantity")
        )["total"]
        assert level.on_hand == ledger_total, level
    held = ledger.held()
    assert min(held.values(), default=0) >= 0
    active = Reservation.objects.filter(state=Reservation.State.ACTIVE)
    active_total = active.aggregate(total=Sum("quantity", default=0))["total"]
    reserved_total = StockLevel.objects.aggregate(total=Sum("reserved"))["total"]
    assert reserved_total == active_total == sum(held.values())
    for demand in demands:
        assert reserved_for([demand]) == held[demand.pk], demand.name
    assert list(violations()) == []
    call_command("check_invariants")  # raises CommandError on any violation


def test_racing_reservations_on_one_scarce_sku_never_oversell():
    level = stocked(quantity=50)
    attempts = 30
    demands = make_demands(THREADS * attempts, "scarce")
    by_pk = {d.pk: d for d in demands}
    ledgers = [Ledger() for _ in range(THREADS)]

    def worker(index: int) -> None:
        rng = random.Random(index)
        ledger = ledgers[index]
        for attempt in range(attempts):
            demand = demands[index * attempts + attempt]
            quantity = rng.randint(1, 3)
            try:
                allocation = stock_allocate(lines=[DemandLine(level.product_id, quantity, demand)])
            except InsufficientStock as refused:
                ledger.refused[refused.code] += 1
            else:
                assert allocation.complete
                ledger.granted.update(granted_per_demand(allocation))
            if rng.random() < 0.3:
                release_or_consume(rng, ledger, by_pk)

    failures = race(worker)

    assert failures == []
    total = merged(ledgers)
    # The race was real: the SKU ran out (refusals) while others got stock.
    assert sum(total.granted.values()) > 50
    assert total.refused["insufficient_stock"] > 0
    assert sum(total.consumed.values()) > 0 and sum(total.released.values()) > 0
    level.refresh_from_db()
    assert level.on_hand == 50 - sum(total.consumed.values())
    assert level.reserved == sum(total.held().values()) <= level.on_hand
    assert_end_state(total, demands)


def test_multi_sku_orders_in_opposite_line_orders_across_two_locations_never_deadlock():
    a, b = ProductFactory(), ProductFactory()
    near, far = LocationFactory(priority=1), LocationFactory(priority=2)
    # Interleave the stock level ids so every order touches rows in both id orders.
    for product, location in [(a, near), (b, far), (b, near), (a, far)]:
        stocked(product=product, location=location, quantity=20)
    attempts = 20
    demands = make_demands(THREADS * attempts * 2, "pair")
    by_pk = {d.pk: d for d in demands}
    ledgers = [Ledger() for _ in range(THREADS)]
    outcomes: list[Counter] = [Counter() for _ in range(THREADS)]

    def worker(index: int) -> None:
        rng = random.Random(1000 + index)
        ledger = ledgers[index]
        for attempt in range(attempts):
            pair = (index * attempts + attempt) * 2
            first, second = demands[pair], demands[pair + 1]
            qa, qb = rng.randint(1, 4), rng.randint(1, 4)
            lines = [DemandLine(a.pk, qa, first), DemandLine(b.pk, qb, second)]
            if index % 2:  # half the racers name the SKUs the other way round
                lines.reverse()
            partial = attempt % 3 == 2
            try:
                allocation = stock_allocate(lines=lines, allow_split=True, partial=partial)
            except InsufficientStock as refused:
                ledger.refused[refused.code] += 1
            else:
                got = granted_per_demand(allocation)
                ledger.granted.update(got)
                locations = {r.stock_level.location_id for r in allocation.reservations}
                outcomes[index]["split" if len(locations) > 1 else "one location"] += 1
                if not partial:
                    assert got == {first.pk: qa, second.pk: qb}
                if allocation.short:
                    outcomes[index]["short"] += 1
            roll = rng.random()
            if roll < 0.2:
                # Release a whole order (both lines, rows at both locations) in one go.
                held = [pk for pk, units in ledger.held().items() if units > 0]
                if held:
                    pks = rng.sample(held, min(2, len(held)))
                    released = stock_release(demands=[by_pk[pk] for pk in pks])
                    assert released == sum(ledger.held()[pk] for pk in pks)
                    for pk in pks:
                        ledger.released[pk] += ledger.held()[pk]
            elif roll < 0.4:
                release_or_consume(rng, ledger, by_pk)

    failures = race(worker)

    assert failures == []
    total = merged(ledgers)
    seen = sum(outcomes, Counter())
    assert sum(total.granted.values()) > 80  # more than was ever on hand at once
    assert total.refused["insufficient_stock"] > 0
    assert seen["split"] > 0 and seen["one location"] > 0 and seen["short"] > 0
    assert sum(total.consumed.values()) > 0
    assert_end_state(total, demands)


def test_negative_adjustments_racing_reservations_never_take_on_hand_below_reserved():
    level = stocked(quantity=60)
    product, location = level.product, level.location
    attempts = 25
    demands = make_demands(THREADS * attempts, "adj")
    ledgers = [Ledger() for _ in range(THREADS)]
    adjusted = [0] * THREADS  # units each adjuster took out (signed deltas)
    adjust_refusals = Counter()

    def worker(index: int) -> None:
        rng = random.Random(2000 + index)
        for attempt in range(attempts):
            if index % 4 == 0:  # 4 adjusters: write-offs and recounts
                try:
                    if rng.random() < 0.7:
                        movement = stock_adjust(
                            product=product, location=location, quantity=-rng.randint(1, 4)
                        )
                    else:
                        movement = stock_adjust(
                            product=product, location=location, counted=rng.randint(0, 8)
                        )
                except Conflict as refused:
                    assert "reserved" in refused.message
                    adjust_refusals[refused.code] += 1
                else:
                    adjusted[index] += movement.quantity if movement else 0
            else:  # 12 sellers
                demand = demands[index * attempts + attempt]
                try:
                    allocation = stock_allocate(
                        lines=[DemandLine(product.pk, rng.randint(1, 3), demand)]
                    )
                except InsufficientStock as refused:
                    ledgers[index].refused[refused.code] += 1
                else:
                    ledgers[index].granted.update(granted_per_demand(allocation))

    failures = race(worker)

    assert failures == []
    total = merged(ledgers)
    assert adjust_refusals["conflict"] > 0, "no adjustment ever hit the reserved floor"
    assert any(adjusted), "no adjustment ever went through"
    assert total.refused["insufficient_stock"] > 0
    level.refresh_from_db()
    assert level.on_hand == 60 + sum(adjusted)
    assert level.reserved == sum(total.granted.values()) <= level.on_hand
    assert_end_state(total, demands)


def test_the_database_alone_refuses_on_hand_below_reserved_under_a_race():
    """Even a write that skips the service's check (a bug, a hand-written script) cannot
    get past the CheckConstraint: the statement fails and its transaction rolls back."""
    level = stocked(quantity=40)
    demands = make_demands(THREADS * 10, "raw")
    granted = [0] * THREADS
    taken = [0] * THREADS
    constraint_refusals = [0] * THREADS

    def worker(index: int) -> None:
        rng = random.Random(3000 + index)
        for attempt in range(10):
            if index % 2:
                try:
                    stock_allocate(
                        lines=[DemandLine(level.product_id, 2, demands[index * 10 + attempt])]
                    )
                    granted[index] += 2
                except InsufficientStock:
                    pass
                continue
            units = rng.randint(1, 5)
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    # No lock, no check: only the database stands in the way.
                    cursor.execute(
                        "UPDATE inventory_stocklevel SET on_hand = on_hand - %s "
                        "WHERE id = %s RETURNING on_hand",
                        [units, level.pk],
                    )
                    (after,) = cursor.fetchone()
                    StockMovement.objects.create(
                        stock_level_id=level.pk,
                        quantity=-units,
                        on_hand_after=after,
                        reason=StockMovement.Reason.ADJUSTMENT,
                        reference="RAW",
                    )
                taken[index] += units
            except IntegrityError as refused:
                assert "stocklevel_" in str(refused)  # one of the named check constraints
                constraint_refusals[index] += 1

    failures = race(worker)

    assert failures == []
    assert sum(constraint_refusals) > 0 and sum(taken) > 0 and sum(granted) > 0
    level.refresh_from_db()
    assert level.on_hand == 40 - sum(taken)
    assert level.reserved == sum(granted) <= level.on_hand
    assert list(violations()) == []


def test_concurrent_receipts_adjustments_and_transfers_keep_on_hand_equal_to_the_ledger():
    products = [ProductFactory() for _ in range(3)]
    locations = [LocationFactory(priority=1), LocationFactory(priority=2)]
    for product in products:
        for location in locations:
            stocked(product=product, location=location, quantity=30)
    start_total = 30 * len(products) * len(locations)
    received = [0] * THREADS
    adjusted = [0] * THREADS
    refusals = [Counter() for _ in range(THREADS)]
    done = [Counter() for _ in range(THREADS)]

    def worker(index: int) -> None:
        rng = random.Random(4000 + index)
        for _ in range(12):
            location = rng.choice(locations)
            roll = rng.random()
            try:
                if roll < 0.3:
                    # Multi-line receipts naming the SKUs in a different order each time.
                    lines = [ReceiptLine(p, rng.randint(1, 5)) for p in rng.sample(products, 3)]
                    stock_receive(location=location, lines=lines, reference=f"ASN-{index}")
                    received[index] += sum(line.quantity for line in lines)
                    done[index]["receipt"] += 1
                elif roll < 0.55:
                    product = rng.choice(products)
                    if rng.random() < 0.6:
                        movement = stock_adjust(
                            product=product, location=location, quantity=rng.randint(-6, 6) or 1
                        )
                    else:
                        movement = stock_adjust(
                            product=product, location=location, counted=rng.randint(10, 40)
                        )
                    adjusted[index] += movement.quantity if movement else 0
                    done[index]["adjustment"] += 1
                elif roll < 0.75:
                    count = count_create(location=location)
                    sheet = list(count.lines.values_list("stock_level_id", flat=True))
                    counted = {pk: rng.randint(10, 40) for pk in rng.sample(sheet, 2)}
                    count_record(count=count, counted=counted)
                    count_post(count=count)
                    # Each variance is against on hand when the post locked the row.
                    adjusted[index] += sum(
                        count.lines.exclude(variance=None).values_list("variance", flat=True)
                    )
                    done[index]["count"] += 1
                else:
                    other = locations[1] if location == locations[0] else locations[0]
                    lines = [OrderLine(p, rng.randint(1, 4)) for p in rng.sample(products, 2)]
                    transfer = transfer_create(
                        from_location=location, to_location=other, lines=lines
                    )
                    transfer_dispatch(transfer=transfer)
                    transfer_receive(transfer=transfer)
                    done[index]["transfer"] += 1
            except DomainError as refused:
                refusals[index][refused.code] += 1

    failures = race(worker)
    assert failures == []
    kinds = sum(done, Counter())
    assert all(kinds[k] for k in ("receipt", "adjustment", "count", "transfer")), kinds
    on_hand_total = StockLevel.objects.aggregate(total=Sum("on_hand"))["total"]
    assert on_hand_total == start_total + sum(received) + sum(adjusted)
    # Each level's ledger is a clean running balance: rows in id order add up, one by one.
    running: dict[int, int] = defaultdict(int)
    for level_id, quantity, after in StockMovement.objects.order_by("pk").values_list(
        "stock_level_id", "quantity", "on_hand_after"
    ):
        running[level_id] += quantity
        assert after == running[level_id]
    assert_end_state(Ledger(), [])


def test_posting_a_count_or_dispatching_a_transfer_does_not_lock_the_location():
    """Both services lock their own row, then stock levels. Locking the joined location
    row too (a bare select_for_update() with select_related) would block every insert
    that references the location (a new stock level, bin, transfer, shipment) for the
    whole post, and deadlock against a writer that holds a stock level and inserts one."""
    level = stocked(quantity=10)
    location, elsewhere = level.location, LocationFactory()
    count = count_create(location=location)
    count_record(count=count, counted={level.pk: 8})
    transfer = transfer_create(
        from_location=location, to_location=elsewhere, lines=[OrderLine(level.product, 2)]
    )
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold_the_stock_level() -> None:
        try:
            with transaction.atomic():
                StockLevel.objects.select_for_update().get(pk=level.pk)
                holding.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def run(service: Callable[[], object]) -> Callable[[], None]:
        def target() -> None:
            try:
                service()
            except BaseException as exc:
                failures.append(exc)
            finally:
                connection.close()

        return target

    holder = threading.Thread(target=hold_the_stock_level)
    holder.start()
    assert holding.wait(timeout=30)
    blocked = [
        threading.Thread(target=run(lambda: count_post(count=count))),
        threading.Thread(target=run(lambda: transfer_dispatch(transfer=transfer))),
    ]
    for thread in blocked:
        thread.start()
    try:
        # Wait until both services sit on the stock level lock (past their own row lock).
        for _ in range(300):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0] >= 2:
                    break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the services never reached the stock level lock")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            # Key-shares the location row: fails with a lock timeout if it is locked.
            BinFactory(location=location)
    finally:
        release.set()
        for thread in [holder, *blocked]:
            thread.join(timeout=60)
    assert failures == []
    level.refresh_from_db()
    # Counted 8 then 2 dispatched, or 2 dispatched then counted 8: whichever locked first.
    assert level.on_hand in (6, 8)
    assert list(violations()) == []
