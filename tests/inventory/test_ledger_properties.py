"""Property test: any sequence of inventory operations keeps the books straight.

Hypothesis draws sequences of receipts, adjustments (by delta and to a counted value),
allocations (all-or-nothing, partial, split), releases, consumes, transfers, cycle counts
and purchase orders over 3 SKUs and 3 locations (one of which does not ship orders).
A small model predicts each outcome from the state before it: whether the service must
accept or refuse, on-hand per stock level, units held per demand, statuses. A refusal
must be a DomainError and change nothing. After every sequence: on_hand is rebuilt from
the ledger, reserved from active reservations, the model agrees with both, available to
promise agrees with the levels, and inventory.invariants reports nothing.
"""

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inventory.invariants import violations
from inventory.models import (
    CycleCount,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockLevel,
    StockMovement,
    Supplier,
    Transfer,
)
from inventory.selectors import available_to_promise
from inventory.services import (
    DemandLine,
    OrderLine,
    ReceiptLine,
    count_cancel,
    count_create,
    count_post,
    count_record,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_place,
    reserved_for,
    stock_adjust,
    stock_allocate,
    stock_consume,
    stock_receive,
    stock_release,
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from oms.core.exceptions import DomainError
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS, LOCATIONS = 3, 3
FULFILLING = (0, 1)  # location 2 holds stock but does not ship orders

P = st.integers(0, PRODUCTS - 1)
L = st.integers(0, LOCATIONS - 1)
PICK = st.integers(0, 30)  # an earlier demand / transfer / count / PO, modulo how many

OPERATIONS = st.one_of(
    st.tuples(st.just("receive"), P, L, st.integers(-2, 12)),
    st.tuples(st.just("adjust"), P, L, st.integers(-8, 8)),
    st.tuples(st.just("count_to"), P, L, st.integers(0, 15)),
    st.tuples(
        st.just("allocate"),
        st.lists(st.tuples(P, st.integers(1, 6)), min_size=1, max_size=3),
        st.sampled_from(["all", "partial", "split"]),
    ),
    st.tuples(
        st.just("allocate"),
        st.lists(st.tuples(P, st.integers(1, 3)), min_size=1, max_size=2),
        st.sampled_from(["all", "partial", "split"]),
    ),  # twice: small orders, so that there is something to release and consume
    st.tuples(st.just("release"), PICK, st.none() | st.integers(1, 5)),
    st.tuples(st.just("consume"), PICK, st.integers(1, 5)),
    st.tuples(st.just("consume"), PICK, st.integers(1, 2)),
    st.tuples(st.just("transfer_create"), P, L, L, st.integers(1, 8)),
    st.tuples(st.just("transfer_step"), PICK, st.sampled_from(["dispatch", "receive", "cancel"])),
    st.tuples(st.just("count_create"), L),
    st.tuples(st.just("count_record"), PICK, st.lists(st.tuples(PICK, st.integers(0, 15)))),
    st.tuples(st.just("count_step"), PICK, st.sampled_from(["post", "cancel"])),
    st.tuples(
        st.just("po_create"), L, st.lists(st.tuples(P, st.integers(1, 9)), min_size=1, max_size=3)
    ),
    st.tuples(st.just("po_step"), PICK, st.sampled_from(["place", "cancel"])),
    st.tuples(st.just("po_receive"), PICK, P, st.integers(1, 6)),
)


def snapshot() -> dict:
    return {
        "levels": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "movements": StockMovement.objects.count(),
        "reservations": list(
            Reservation.objects.order_by("pk").values_list("pk", "state", "quantity")
        ),
        "purchase_orders": list(PurchaseOrder.objects.order_by("pk").values_list("pk", "status")),
        "po_received": list(
            PurchaseOrderLine.objects.order_by("pk").values_list("pk", "quantity_received")
        ),
        "transfers": list(Transfer.objects.order_by("pk").values_list("pk", "status")),
        "counts": list(CycleCount.objects.order_by("pk").values_list("pk", "status")),
    }


@dataclass
class Model:
    """What the books must say, computed without reading the ledger."""

    on_hand: Counter = field(default_factory=Counter)  # (product idx, location idx) -> units
    held: Counter = field(default_factory=Counter)  # demand pk -> units reserved
    transfers: list = field(default_factory=list)  # [transfer, product idx, from, to, qty]
    counts: list = field(default_factory=list)  # [count, location idx]
    purchase_orders: list = field(default_factory=list)  # [po, location idx, {p: ordered}]
    po_received: dict = field(default_factory=lambda: defaultdict(Counter))
    status: dict = field(default_factory=dict)  # (kind, pk) -> status


class World:
    def __init__(self) -> None:
        self.products = [ProductFactory() for _ in range(PRODUCTS)]
        self.locations = [
            LocationFactory(priority=10 + i, fulfils_orders=i in FULFILLING)
            for i in range(LOCATIONS)
        ]
        self.supplier = Supplier.objects.create(code="SUP", name="Supplier")
        self.demands: list[Group] = []
        self.model = Model()
        self.outcomes: Counter = Counter()
        self.names = itertools.count()
        self.keys: dict[int, tuple[int, int]] = {}

    # --- reading the state before an operation ----------------------------------------

    def level(self, p: int, loc: int) -> tuple[int, int]:
        """(on_hand, reserved), (0, 0) where no stock level exists yet."""
        row = StockLevel.objects.filter(
            product=self.products[p], location=self.locations[loc]
        ).values_list("on_hand", "reserved")
        return row.first() or (0, 0)

    def free(self, p: int, loc: int) -> int:
        on_hand, reserved = self.level(p, loc)
        return on_hand - reserved

    def key_of(self, level_id: int) -> tuple[int, int]:
        """(product idx, location idx) of a stock level (they never move)."""
        if level_id not in self.keys:
            level = StockLevel.objects.get(pk=level_id)
            self.keys[level_id] = (
                [x.pk for x in self.products].index(level.product_id),
                [x.pk for x in self.locations].index(level.location_id),
            )
        return self.keys[level_id]

    # --- running one operation --------------------------------------------------------

    def run(self, op: tuple) -> str:
        """Run one operation, check it against the model; say "ok", "refused" or "skip"."""
        kind = op[0]
        before = snapshot()
        expected_ok, apply = getattr(self, f"do_{kind}")(*op[1:])
        if expected_ok is None:  # nothing to act on yet (no demand, transfer, ...)
            return "skip"
        try:
            apply()
        except DomainError as refused:
            assert not expected_ok, f"{op} was refused: {refused.message} {refused.data}"
            assert snapshot() == before, f"{op} was refused but changed something"
            self.outcomes[f"{kind} refused"] += 1
            return "refused"
        assert expected_ok, f"{op} should have been refused"
        self.outcomes[f"{kind} ok"] += 1
        return "ok"

    def do_receive(self, p, loc, quantity):
        def apply():
            stock_receive(
                location=self.locations[loc], lines=[ReceiptLine(self.products[p], quantity)]
            )
            self.model.on_hand[p, loc] += quantity

        return quantity > 0, apply

    def do_adjust(self, p, loc, delta):
        on_hand, reserved = self.level(p, loc)

        def apply():
            stock_adjust(product=self.products[p], location=self.locations[loc], quantity=delta)
            self.model.on_hand[p, loc] += delta

        return delta != 0 and on_hand + delta >= reserved, apply

    def do_count_to(self, p, loc, counted):
        _, reserved = self.level(p, loc)

        def apply():
            movement = stock_adjust(
                product=self.products[p], location=self.locations[loc], counted=counted
            )
            assert (movement is None) == (self.model.on_hand[p, loc] == counted)
            self.model.on_hand[p, loc] = counted

        return counted >= reserved, apply

    def do_allocate(self, lines, mode):
        need = Counter()
        for p, quantity in lines:
            need[p] += quantity
        free = {(p, loc): self.free(p, loc) for p in need for loc in FULFILLING}
        one_location = any(all(free[p, loc] >= n for p, n in need.items()) for loc in FULFILLING)
        everywhere = all(sum(free[p, loc] for loc in FULFILLING) >= n for p, n in need.items())
        expected = {"all": one_location, "split": everywhere, "partial": True}[mode]
        demands = [Group.objects.create(name=f"demand-{next(self.names)}") for _ in lines]

        def apply():
            allocation = stock_allocate(
                lines=[
                    DemandLine(self.products[p].pk, q, d)
                    for (p, q), d in zip(lines, demands, strict=True)
                ],
                allow_split=mode == "split",
                partial=mode == "partial",
            )
            self.demands.extend(demands)
            got = Counter()
            for reservation in allocation.reservations:
                got[reservation.demand_id] += reservation.quantity
                assert self.key_of(reservation.stock_level_id)[1] in FULFILLING
            for index, ((_, quantity), demand) in enumerate(zip(lines, demands, strict=True)):
                assert got[demand.pk] + allocation.short.get(index, 0) == quantity
                if mode != "partial":
                    assert got[demand.pk] == quantity
                self.model.held[demand.pk] += got[demand.pk]
            if mode == "partial" and one_location:
                assert allocation.complete
            return allocation

        return expected, apply

    def pick(self, items: list, index: int):
        return items[index % len(items)] if items else None

    def do_release(self, index, quantity):
        demand = self.pick(self.demands, index)
        if demand is None:
            return None, lambda: None
        held = self.model.held[demand.pk]

        def apply():
            released = stock_release(demands=[demand], quantity=quantity)
            assert released == (held if quantity is None else quantity)
            self.model.held[demand.pk] -= released

        return quantity is None or quantity <= held, apply

    def do_consume(self, index, quantity):
        demand = self.pick(self.demands, index)
        if demand is None:
            return None, lambda: None
        held = self.model.held[demand.pk]

        def apply():
            movements = stock_consume(demand=demand, quantity=quantity, reference="SHIP")
            assert -sum(m.quantity for m in movements) == quantity
            for movement in movements:
                self.model.on_hand[self.key_of(movement.stock_level_id)] += movement.quantity
            self.model.held[demand.pk] -= quantity

        return quantity <= held, apply

    def do_transfer_create(self, p, source, target, quantity):
        def apply():
            transfer = transfer_create(
                from_location=self.locations[source],
                to_location=self.locations[target],
                lines=[OrderLine(self.products[p], quantity)],
            )
            self.model.transfers.append([transfer, p, source, target, quantity])
            self.model.status["transfer", transfer.pk] = "draft"

        return source != target, apply

    def do_transfer_step(self, index, action):
        entry = self.pick(self.model.transfers, index)
        if entry is None:
            return None, lambda: None
        transfer, p, source, target, quantity = entry
        status = self.model.status["transfer", transfer.pk]
        expected = {
            "dispatch": status == "draft" and self.free(p, source) >= quantity,
            "receive": status == "in_transit",
            "cancel": status == "draft",
        }[action]

        def apply():
            {"dispatch": transfer_dispatch, "receive": transfer_receive, "cancel": transfer_cancel}[
                action
            ](transfer=transfer)
            if action == "dispatch":
                self.model.on_hand[p, source] -= quantity
            elif action == "receive":
                self.model.on_hand[p, target] += quantity
            self.model.status["transfer", transfer.pk] = {
                "dispatch": "in_transit",
                "receive": "received",
                "cancel": "cancelled",
            }[action]

        return expected, apply

    def do_count_create(self, loc):
        stocked = StockLevel.objects.filter(location=self.locations[loc]).exists()

        def apply():
            count = count_create(location=self.locations[loc])
            assert (
                count.lines.count()
                == StockLevel.objects.filter(location=self.locations[loc]).count()
            )
            self.model.counts.append(count)
            self.model.status["count", count.pk] = "open"

        return stocked, apply

    def do_count_record(self, index, values):
        count = self.pick(self.model.counts, index)
        if count is None:
            return None, lambda: None
        sheet = list(count.lines.order_by("pk").values_list("stock_level_id", flat=True))
        counted = {sheet[i % len(sheet)]: value for i, value in values}

        def apply():
            count_record(count=count, counted=counted)

        return self.model.status["count", count.pk] == "open", apply

    def do_count_step(self, index, action):
        count = self.pick(self.model.counts, index)
        if count is None:
            return None, lambda: None
        is_open = self.model.status["count", count.pk] == "open"
        lines = list(count.lines.exclude(counted=None).values_list("stock_level_id", "counted"))
        below = any(
            value < StockLevel.objects.get(pk=level_id).reserved for level_id, value in lines
        )

        def apply():
            if action == "post":
                count_post(count=count)
                for level_id, value in lines:
                    self.model.on_hand[self.key_of(level_id)] = value
                self.model.status["count", count.pk] = "posted"
            else:
                count_cancel(count=count)
                self.model.status["count", count.pk] = "cancelled"

        return is_open and (action == "cancel" or not below), apply

    def do_po_create(self, loc, lines):
        products = [p for p, _ in lines]

        def apply():
            po = purchase_order_create(
                supplier=self.supplier,
                location=self.locations[loc],
                lines=[OrderLine(self.products[p], q) for p, q in lines],
            )
            self.model.purchase_orders.append([po, loc, dict(lines)])
            self.model.status["po", po.pk] = "draft"

        return len(set(products)) == len(products), apply

    def do_po_step(self, index, action):
        entry = self.pick(self.model.purchase_orders, index)
        if entry is None:
            return None, lambda: None
        po = entry[0]
        status = self.model.status["po", po.pk]

        def apply():
            if action == "place":
                purchase_order_place(purchase_order=po)
                self.model.status["po", po.pk] = "ordered"
            else:
                purchase_order_cancel(purchase_order=po)
                self.model.status["po", po.pk] = "cancelled"

        allowed = {"place": ("draft",), "cancel": ("draft", "ordered")}[action]
        return status in allowed, apply

    def do_po_receive(self, index, p, quantity):
        entry = self.pick(self.model.purchase_orders, index)
        if entry is None:
            return None, lambda: None
        po, loc, ordered = entry
        status = self.model.status["po", po.pk]
        received = self.model.po_received[po.pk]
        open_units = ordered.get(p, 0) - received[p]
        expected = status in ("ordered", "partially_received") and 0 < quantity <= open_units

        def apply():
            stock_receive(
                location=self.locations[loc],
                lines=[ReceiptLine(self.products[p], quantity)],
                purchase_order=po,
            )
            received[p] += quantity
            self.model.on_hand[p, loc] += quantity
            complete = all(received[x] == n for x, n in ordered.items())
            self.model.status["po", po.pk] = "received" if complete else "partially_received"

        return expected, apply

    # --- the books after a sequence ---------------------------------------------------

    def check(self) -> None:
        for level in StockLevel.objects.all():
            ledger = StockMovement.objects.filter(stock_level=level).aggregate(
                total=Sum("quantity", default=0)
            )["total"]
            active = Reservation.objects.filter(stock_level=level, state="active").aggregate(
                total=Sum("quantity", default=0)
            )["total"]
            assert level.on_hand == ledger, f"{level}: on_hand {level.on_hand} != ledger {ledger}"
            assert level.reserved == active, f"{level}: reserved != active reservations"
            assert 0 <= level.reserved <= level.on_hand
            assert level.on_hand == self.model.on_hand[self.key_of(level.pk)], level
        # Every modelled quantity is on a real level (nothing appeared from nowhere).
        for (p, loc), units in self.model.on_hand.items():
            assert self.level(p, loc)[0] == units
        for demand in self.demands:
            assert reserved_for([demand]) == self.model.held[demand.pk]
        statuses = {
            **{("transfer", pk): s for pk, s in Transfer.objects.values_list("pk", "status")},
            **{("count", pk): s for pk, s in CycleCount.objects.values_list("pk", "status")},
            **{("po", pk): s for pk, s in PurchaseOrder.objects.values_list("pk", "status")},
        }
        assert statuses == self.model.status
        self.check_available_to_promise()
        assert list(violations()) == []

    def check_available_to_promise(self) -> None:
        promises = available_to_promise(skus=[p.sku for p in self.products])
        levels = {
            self.key_of(pk): max(on_hand - reserved, 0)
            for pk, on_hand, reserved in StockLevel.objects.values_list("pk", "on_hand", "reserved")
        }
        for p, product in enumerate(self.products):
            free = sum(levels.get((p, loc), 0) for loc in FULFILLING)
            incoming = sum(
                qty
                for transfer, tp, _, target, qty in self.model.transfers
                if tp == p
                and target in FULFILLING
                and self.model.status["transfer", transfer.pk] == "in_transit"
            ) + sum(
                ordered.get(p, 0) - self.model.po_received[po.pk][p]
                for po, loc, ordered in self.model.purchase_orders
                if loc in FULFILLING
                and self.model.status["po", po.pk] in ("ordered", "partially_received")
            )
            promise = promises[product.sku]
            assert promise.available == free
            assert sum(units for _, units, _ in promise.incoming) == incoming


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operations=st.lists(OPERATIONS, min_size=5, max_size=30))
def test_any_sequence_of_operations_keeps_the_ledger_the_levels_and_the_model_in_step(
    operations,
):
    # Each example runs in its own transaction, rolled back, so examples never see each
    # other's rows (the django_db transaction around the test stays open throughout).
    with transaction.atomic():
        world = World()
        for op in [*OPENING, *operations]:
            world.run(op)
        world.check()
        transaction.set_rollback(True)
    for outcome in world.outcomes:  # shown by pytest --hypothesis-show-statistics
        event(outcome)


# Every generated sequence starts from this stock (receipts, so the ledger has it):
# A and B everywhere, C only where orders do not ship from.
OPENING = [("receive", p, loc, 6) for p in (0, 1) for loc in range(LOCATIONS)]
OPENING += [("receive", 2, 2, 6)]

OK, REFUSED = "ok", "refused"
# Locations 0 and 1 ship orders, 2 does not; products A=0, B=1, C=2.
SCRIPT = [
    (("receive", 0, 0, 10), OK),
    (("receive", 0, 0, 0), REFUSED),  # nothing to receive
    (("receive", 1, 1, 4), OK),
    (("receive", 2, 2, 6), OK),  # C only where orders do not ship from
    (("adjust", 0, 0, -3), OK),
    (("adjust", 1, 1, -9), REFUSED),  # below zero
    (("count_to", 0, 0, 9), OK),
    (("allocate", [(0, 5), (1, 2)], "split"), OK),  # A from 0, B from 1
    (("allocate", [(0, 3), (0, 2)], "all"), REFUSED),  # 4 of A free; the two lines need 5
    (("allocate", [(2, 1)], "all"), REFUSED),  # C does not ship from location 2
    (("allocate", [(0, 9), (1, 1)], "partial"), OK),  # takes the 4 of A at location 0
    (("adjust", 0, 0, -1), REFUSED),  # all 9 of A are reserved
    (("count_to", 0, 0, 3), REFUSED),  # below the 9 reserved
    (("release", 0, 2), OK),
    (("release", 0, 9), REFUSED),  # 3 held
    (("consume", 0, 3), OK),
    (("consume", 1, 5), REFUSED),  # 2 held
    (("transfer_create", 2, 2, 0, 4), OK),
    (("transfer_create", 2, 1, 1, 1), REFUSED),  # to itself
    (("transfer_step", 0, "receive"), REFUSED),  # still a draft
    (("transfer_step", 0, "dispatch"), OK),
    (("transfer_step", 0, "receive"), OK),
    (("transfer_create", 0, 0, 1, 50), OK),
    (("transfer_step", 1, "dispatch"), REFUSED),  # 2 of A unreserved
    (("transfer_step", 1, "cancel"), OK),
    (("count_create", 0), OK),  # A and C are stocked at location 0 now
    (("count_record", 0, [(0, 1), (1, 8)]), OK),
    (("count_step", 0, "post"), REFUSED),  # A counted 1, 4 reserved
    (("count_record", 0, [(0, 20)]), OK),
    (("count_step", 0, "post"), OK),
    (("count_step", 0, "cancel"), REFUSED),  # posted
    (("po_create", 1, [(1, 5), (1, 1)]), REFUSED),  # B twice
    (("po_create", 1, [(1, 5), (2, 2)]), OK),
    (("po_receive", 0, 1, 1), REFUSED),  # still a draft
    (("po_step", 0, "place"), OK),
    (("po_receive", 0, 1, 3), OK),
    (("po_receive", 0, 1, 3), REFUSED),  # 2 still open
    (("po_receive", 0, 0, 1), REFUSED),  # A is not on it
    (("po_step", 0, "cancel"), REFUSED),  # partly received
    (("po_receive", 0, 1, 2), OK),
    (("po_receive", 0, 2, 2), OK),
    (("po_step", 0, "place"), REFUSED),  # received
    (("release", 1, None), OK),
]


def test_a_scripted_sequence_meets_every_outcome_the_model_predicts():
    """The model is not vacuous: a known sequence makes every kind of operation succeed
    and most of them be refused, each as predicted, and the books still balance."""
    world = World()
    outcomes = [world.run(op) for op, _ in SCRIPT]
    assert outcomes == [expected for _, expected in SCRIPT]
    world.check()
    assert world.model.on_hand[0, 0] == 20  # counted
    assert world.model.on_hand[2, 0] == 8  # 4 transferred in, counted 8
    assert sum(world.model.held.values()) == 4  # A at location 0, for the partial line
