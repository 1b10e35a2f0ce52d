"""Bad input at the inventory service boundary: every request is refused with a domain
error that names the field or SKU at fault, and NOTHING changes (quantities, ledger,
reservations, statuses, the outbox)."""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F

from inventory.models import (
    CycleCount,
    CycleCountLine,
    Product,
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
    stock_adjust,
    stock_allocate,
    stock_consume,
    stock_move,
    stock_receive,
    stock_release,
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from oms.core.exceptions import (
    Conflict,
    DomainError,
    IllegalTransition,
    InsufficientStock,
    ValidationFailed,
)
from oms.core.models import OutboxEvent
from tests.factories import BinFactory, LocationFactory, ProductFactory, stocked

pytestmark = pytest.mark.django_db

NOT_WHOLE_NUMBERS = [0, -1, 1.5, Decimal("2"), "3", True, None]


def snapshot() -> dict:
    """Everything a refused request must leave exactly as it was."""
    return {
        "levels": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "movements": list(StockMovement.objects.order_by("pk").values_list("pk", "quantity")),
        "reservations": list(
            Reservation.objects.order_by("pk").values_list("pk", "state", "quantity")
        ),
        "purchase_orders": list(PurchaseOrder.objects.order_by("pk").values_list("pk", "status")),
        "po_lines": list(
            PurchaseOrderLine.objects.order_by("pk").values_list("pk", "quantity_received")
        ),
        "transfers": list(Transfer.objects.order_by("pk").values_list("pk", "status")),
        "counts": list(CycleCount.objects.order_by("pk").values_list("pk", "status")),
        "count_lines": list(
            CycleCountLine.objects.order_by("pk").values_list("pk", "counted", "variance")
        ),
        "outbox": OutboxEvent.objects.count(),
    }


def said(error: DomainError) -> str:
    """The message and the data a caller gets (the API renders both)."""
    return f"{error.message} {error.data!r}"


@contextmanager
def refused(kind: type[DomainError], *mentions: str):
    """The block must raise `kind`, name every one of `mentions`, and change nothing."""
    before = snapshot()
    with pytest.raises(kind) as caught:
        yield caught
    for mention in mentions:
        assert mention in said(caught.value), (mention, said(caught.value))
    assert snapshot() == before


@pytest.fixture
def world():
    """Two SKUs at two locations, 6 of A held for an order line at the first."""
    a = ProductFactory(sku="SKU-A")
    b = ProductFactory(sku="SKU-B")
    main, store = LocationFactory(code="MAIN", priority=1), LocationFactory(code="STORE")
    stocked(product=a, location=main, quantity=10)
    stocked(product=a, location=store, quantity=5)
    stocked(product=b, location=main, quantity=4)
    line = Group.objects.create(name="order-line-1")
    stock_allocate(lines=[DemandLine(a.pk, 6, line)])
    supplier = Supplier.objects.create(code="ACME", name="Acme")
    return {"a": a, "b": b, "main": main, "store": store, "line": line, "supplier": supplier}


# --- receipts and adjustments ---------------------------------------------------------


@pytest.mark.parametrize("quantity", NOT_WHOLE_NUMBERS)
def test_a_receipt_of_zero_negative_or_non_integer_units_is_refused(world, quantity):
    with refused(ValidationFailed, "quantity") as caught:
        stock_receive(location=world["main"], lines=[ReceiptLine(world["a"], quantity)])
    assert set(caught.value.errors["lines"][0]) == {"quantity"}


def test_one_bad_line_refuses_the_whole_receipt(world):
    with refused(ValidationFailed, "quantity") as caught:
        stock_receive(
            location=world["main"],
            lines=[ReceiptLine(world["a"], 5), ReceiptLine(world["b"], -2)],
        )
    assert caught.value.errors["lines"][0] == {}  # the good line is not blamed
    assert "quantity" in caught.value.errors["lines"][1]


def test_a_receipt_without_lines_of_an_inactive_sku_or_into_an_inactive_location_is_refused(
    world,
):
    with refused(ValidationFailed, "lines"):
        stock_receive(location=world["main"], lines=[])
    Product.objects.filter(pk=world["b"].pk).update(active=False)
    world["b"].refresh_from_db()
    with refused(ValidationFailed, "SKU-B"):
        stock_receive(location=world["main"], lines=[ReceiptLine(world["b"], 1)])
    closed = LocationFactory(code="CLOSED", active=False)
    with refused(ValidationFailed, "location", "CLOSED"):
        stock_receive(location=closed, lines=[ReceiptLine(world["a"], 1)])


@pytest.mark.parametrize("quantity", [0, 1.5, Decimal("-1"), "-1", True, None])
def test_an_adjustment_that_is_not_a_nonzero_whole_number_is_refused(world, quantity):
    with refused(ValidationFailed, "quantity"):
        stock_adjust(product=world["a"], location=world["main"], quantity=quantity)


@pytest.mark.parametrize("counted", [-1, 2.5, "7", True])
def test_a_counted_value_that_is_not_a_whole_number_of_0_or_more_is_refused(world, counted):
    with refused(ValidationFailed, "on_hand"):
        stock_adjust(product=world["a"], location=world["main"], counted=counted)


def test_an_adjustment_needs_exactly_one_of_delta_or_count(world):
    with refused(ValidationFailed, "quantity"):
        stock_adjust(product=world["a"], location=world["main"])
    with refused(ValidationFailed, "quantity"):
        stock_adjust(product=world["a"], location=world["main"], quantity=-1, counted=3)


def test_an_adjustment_below_what_is_reserved_is_a_409_conflict(world):
    # 10 on hand, 6 reserved: taking 5 would leave 5 < 6.
    with refused(Conflict, "SKU-A", "MAIN", "6 reserved") as caught:
        stock_adjust(product=world["a"], location=world["main"], quantity=-5)
    assert caught.value.http_status == 409
    assert caught.value.data["reserved"] == 6
    with refused(Conflict, "SKU-A", "6 reserved"):
        stock_adjust(product=world["a"], location=world["main"], counted=5)
    # Exactly down to what is reserved is allowed.
    stock_adjust(product=world["a"], location=world["main"], quantity=-4)
    assert StockLevel.objects.get(product=world["a"], location=world["main"]).on_hand == 6


def test_a_movement_with_an_unknown_reason_or_a_bin_of_another_location_is_refused(world):
    with refused(ValidationFailed, "reason", "theft"):
        stock_move(product=world["a"], location=world["main"], quantity=1, reason="theft")
    store_bin = BinFactory(location=world["store"], code="S-01")
    with refused(ValidationFailed, "bin", "S-01", "MAIN"):
        stock_move(
            product=world["a"], location=world["main"], quantity=1, reason="receipt", bin=store_bin
        )


def test_the_database_refuses_impossible_quantities_even_without_the_services(world):
    """The CheckConstraints stand behind the services: a write that skips them fails."""
    level = StockLevel.objects.get(product=world["a"], location=world["main"])
    before = snapshot()
    for change in (
        {"on_hand": F("reserved") - 1},  # below what is reserved
        {"reserved": F("on_hand") + 1},  # more reserved than on hand
        {"reserved": -1},
        {"on_hand": -1},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            StockLevel.objects.filter(pk=level.pk).update(**change)
    assert snapshot() == before
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (10, 6)


# --- reservations ---------------------------------------------------------------------


@pytest.mark.parametrize("quantity", NOT_WHOLE_NUMBERS)
def test_a_demand_line_that_is_not_a_whole_number_of_1_or_more_is_refused(world, quantity):
    with refused(ValidationFailed, "quantity"):
        stock_allocate(lines=[DemandLine(world["b"].pk, quantity, world["line"])])


def test_allocation_names_an_unknown_product_an_unsaved_demand_and_an_empty_order(world):
    with refused(ValidationFailed, "product_id", "999999") as caught:
        stock_allocate(
            lines=[
                DemandLine(world["b"].pk, 1, world["line"]),
                DemandLine(999_999, 1, world["line"]),
            ]
        )
    assert caught.value.errors["lines"][0] == {}
    with refused(ValidationFailed, "product_id"):
        stock_allocate(lines=[DemandLine("SKU-B", 1, world["line"])])
    with refused(ValidationFailed, "demand"):
        stock_allocate(lines=[DemandLine(world["b"].pk, 1, Group(name="unsaved"))])
    with refused(ValidationFailed, "lines"):
        stock_allocate(lines=[])


def test_more_than_is_available_is_refused_whole_naming_the_short_sku(world):
    # A: 4 free at MAIN and 5 at STORE; B: 4 at MAIN. B is fine, A is not (no split).
    with refused(InsufficientStock, "SKU-A") as caught:
        stock_allocate(
            lines=[
                DemandLine(world["b"].pk, 2, world["line"], reference="L2"),
                DemandLine(world["a"].pk, 6, world["line"], reference="L1"),
            ]
        )
    assert caught.value.http_status == 409
    # No split: MAIN covers the most (B 2 of 2, A 4 of 6), so A is 2 short there.
    assert caught.value.data["short"] == {"L1": 2}
    assert caught.value.data["skus"] == ["SKU-A"]


def test_stock_at_a_location_that_does_not_serve_the_channel_is_not_promised_to_it(world):
    shop = LocationFactory(code="SHOP", priority=0, channel_codes=["store"])
    stocked(product=world["b"], location=shop, quantity=50)
    with refused(InsufficientStock, "SKU-B"):
        stock_allocate(lines=[DemandLine(world["b"].pk, 10, world["line"])], channel_code="web")
    allocation = stock_allocate(
        lines=[DemandLine(world["b"].pk, 10, world["line"])], channel_code="store"
    )
    assert [r.stock_level.location.code for r in allocation.reservations] == ["SHOP"]


@pytest.mark.parametrize("quantity", [0, -2, 1.5, "1", True])
def test_a_release_of_a_bad_quantity_is_refused(world, quantity):
    with refused(ValidationFailed, "quantity"):
        stock_release(demands=[world["line"]], quantity=quantity)


def test_releasing_or_consuming_more_than_is_held_is_refused(world):
    with refused(ValidationFailed, "quantity", "Only 6"):
        stock_release(demands=[world["line"]], quantity=7)
    with refused(InsufficientStock, "Only 6"):
        stock_consume(demand=world["line"], quantity=7)
    with refused(InsufficientStock, "Only 0"):  # at a location that holds none of it
        stock_consume(demand=world["line"], quantity=1, location_id=world["store"].pk)
    with refused(InsufficientStock, "Only 0"):  # at a location that does not exist
        stock_consume(demand=world["line"], quantity=1, location_id=987_654)


@pytest.mark.parametrize("quantity", [0, -1, 2.5, "2", True])
def test_consuming_a_bad_quantity_is_refused(world, quantity):
    with refused(ValidationFailed, "quantity"):
        stock_consume(demand=world["line"], quantity=quantity)


def test_an_unknown_sku_is_promised_nothing(world):
    promises = available_to_promise(skus=["SKU-A", "NO-SUCH-SKU"])
    assert promises["NO-SUCH-SKU"].available == 0
    assert promises["NO-SUCH-SKU"].date_for(1) is None
    assert promises["SKU-A"].available == 4 + 5


# --- transfers ------------------------------------------------------------------------


def test_a_transfer_of_more_than_is_unreserved_is_refused_at_dispatch(world):
    transfer = transfer_create(
        from_location=world["main"],
        to_location=world["store"],
        lines=[OrderLine(world["b"], 1), OrderLine(world["a"], 5)],
    )
    # A at MAIN: 10 on hand, 6 reserved: 4 may leave.
    with refused(InsufficientStock, "SKU-A", "only 4 unreserved at MAIN") as caught:
        transfer_dispatch(transfer=transfer)
    assert caught.value.data["lines"][0] == {}
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.DRAFT


def test_a_transfer_of_a_sku_never_stocked_at_the_source_is_refused(world):
    transfer = transfer_create(
        from_location=world["store"], to_location=world["main"], lines=[OrderLine(world["b"], 1)]
    )
    with refused(InsufficientStock, "SKU-B", "only 0 unreserved at STORE"):
        transfer_dispatch(transfer=transfer)


def test_a_transfer_with_bad_lines_or_one_location_is_refused(world):
    main, store = world["main"], world["store"]
    with refused(ValidationFailed, "to_location"):
        transfer_create(from_location=main, to_location=main, lines=[OrderLine(world["a"], 1)])
    with refused(ValidationFailed, "quantity"):
        transfer_create(from_location=main, to_location=store, lines=[OrderLine(world["a"], 0)])
    with refused(ValidationFailed, "quantity"):
        transfer_create(from_location=main, to_location=store, lines=[OrderLine(world["a"], 1.5)])
    with refused(ValidationFailed, "SKU-A"):
        transfer_create(
            from_location=main,
            to_location=store,
            lines=[OrderLine(world["a"], 1), OrderLine(world["a"], 2)],
        )
    with refused(ValidationFailed, "lines"):
        transfer_create(from_location=main, to_location=store, lines=[])


def test_illegal_transfer_transitions_are_refused_with_the_status(world):
    transfer = transfer_create(
        from_location=world["main"], to_location=world["store"], lines=[OrderLine(world["b"], 1)]
    )
    with refused(IllegalTransition, transfer.number, "draft") as caught:
        transfer_receive(transfer=transfer)
    assert caught.value.status == "draft" and caught.value.http_status == 409
    transfer_dispatch(transfer=transfer)
    with refused(IllegalTransition, "in transit"):
        transfer_dispatch(transfer=transfer)
    with refused(IllegalTransition, "in transit"):
        transfer_cancel(transfer=transfer)
    transfer_receive(transfer=transfer)
    with refused(IllegalTransition, "received"):
        transfer_receive(transfer=transfer)
    cancelled = transfer_create(
        from_location=world["main"], to_location=world["store"], lines=[OrderLine(world["b"], 1)]
    )
    transfer_cancel(transfer=cancelled)
    with refused(IllegalTransition, "cancelled"):
        transfer_dispatch(transfer=cancelled)


# --- purchase orders ------------------------------------------------------------------


def _purchase_order(world, *, place: bool = True) -> PurchaseOrder:
    po = purchase_order_create(
        supplier=world["supplier"],
        location=world["main"],
        lines=[OrderLine(world["a"], 5), OrderLine(world["b"], 3)],
    )
    return purchase_order_place(purchase_order=po) if place else po


def test_receiving_more_than_is_open_on_a_purchase_order_is_refused(world):
    po = _purchase_order(world)
    stock_receive(location=world["main"], lines=[ReceiptLine(world["a"], 4)], purchase_order=po)
    with refused(ValidationFailed, "quantity", "Only 1 of SKU-A") as caught:
        stock_receive(
            location=world["main"],
            lines=[ReceiptLine(world["b"], 3), ReceiptLine(world["a"], 2)],
            purchase_order=po,
        )
    assert caught.value.errors["lines"][0] == {}  # B's 3 were fine, and are not booked either
    assert PurchaseOrder.objects.get(pk=po.pk).status == PurchaseOrder.Status.PARTIALLY_RECEIVED


def test_receiving_a_sku_not_on_the_purchase_order_or_at_another_location_is_refused(world):
    po = _purchase_order(world)
    c = ProductFactory(sku="SKU-C")
    with refused(ValidationFailed, "sku", "SKU-C", po.number):
        stock_receive(location=world["main"], lines=[ReceiptLine(c, 1)], purchase_order=po)
    with refused(ValidationFailed, "location", "MAIN"):
        stock_receive(
            location=world["store"], lines=[ReceiptLine(world["a"], 1)], purchase_order=po
        )


def test_receiving_a_draft_cancelled_or_fully_received_purchase_order_is_illegal(world):
    draft = _purchase_order(world, place=False)
    with refused(IllegalTransition, draft.number, "draft") as caught:
        stock_receive(
            location=world["main"], lines=[ReceiptLine(world["a"], 1)], purchase_order=draft
        )
    assert caught.value.status == "draft"
    purchase_order_cancel(purchase_order=draft)
    with refused(IllegalTransition, draft.number, "cancelled"):
        stock_receive(
            location=world["main"], lines=[ReceiptLine(world["a"], 1)], purchase_order=draft
        )
    done = _purchase_order(world)
    stock_receive(
        location=world["main"],
        lines=[ReceiptLine(world["a"], 5), ReceiptLine(world["b"], 3)],
        purchase_order=done,
    )
    with refused(IllegalTransition, done.number, "received"):
        stock_receive(
            location=world["main"], lines=[ReceiptLine(world["a"], 1)], purchase_order=done
        )


def test_illegal_purchase_order_transitions_and_bad_lines_are_refused(world):
    po = _purchase_order(world)
    with refused(IllegalTransition, po.number, "ordered"):
        purchase_order_place(purchase_order=po)
    stock_receive(
        location=world["main"],
        lines=[ReceiptLine(world["a"], 5), ReceiptLine(world["b"], 3)],
        purchase_order=po,
    )
    with refused(IllegalTransition, po.number, "received"):
        purchase_order_cancel(purchase_order=po)
    with refused(ValidationFailed, "quantity"):
        purchase_order_create(
            supplier=world["supplier"], location=world["main"], lines=[OrderLine(world["a"], -3)]
        )
    with refused(ValidationFailed, "SKU-B"):
        purchase_order_create(
            supplier=world["supplier"],
            location=world["main"],
            lines=[OrderLine(world["b"], 1), OrderLine(world["b"], 1)],
        )


# --- cycle counts ---------------------------------------------------------------------


def test_a_count_below_what_is_reserved_is_refused_whole_when_posted(world):
    count = count_create(location=world["main"])
    level_a = StockLevel.objects.get(product=world["a"], location=world["main"])
    level_b = StockLevel.objects.get(product=world["b"], location=world["main"])
    count_record(count=count, counted={level_b.pk: 1, level_a.pk: 5})  # A: 6 are reserved
    with refused(Conflict, "SKU-A", "counted 5", "6 reserved") as caught:
        count_post(count=count)
    assert caught.value.http_status == 409
    # Still open: correct the count, or release those orders first.
    assert CycleCount.objects.get(pk=count.pk).status == CycleCount.Status.OPEN


def test_a_count_of_an_unknown_stock_level_or_a_bad_number_is_refused(world):
    count = count_create(location=world["main"])
    level_a = StockLevel.objects.get(product=world["a"], location=world["main"])
    elsewhere = StockLevel.objects.get(product=world["a"], location=world["store"])
    with refused(ValidationFailed, "counted", str(elsewhere.pk), "Not on this count sheet"):
        count_record(count=count, counted={elsewhere.pk: 3})
    for value in (-1, 1.5, "4", True):
        with refused(ValidationFailed, "counted", str(level_a.pk)):
            count_record(count=count, counted={level_a.pk: value})


def test_a_count_where_nothing_is_stocked_is_refused(world):
    empty = LocationFactory(code="EMPTY")
    with refused(ValidationFailed, "location"):
        count_create(location=empty)
    with refused(ValidationFailed, "zone"):
        count_create(location=world["main"], zone="NO-SUCH-ZONE")


def test_illegal_count_transitions_are_refused(world):
    count = count_create(location=world["main"])
    level_b = StockLevel.objects.get(product=world["b"], location=world["main"])
    count_record(count=count, counted={level_b.pk: 3})
    count_post(count=count)
    with refused(IllegalTransition, f"Count #{count.pk}", "posted"):
        count_post(count=count)
    with refused(IllegalTransition, "posted"):
        count_cancel(count=count)
    with refused(IllegalTransition, "posted"):
        count_record(count=count, counted={level_b.pk: 2})
    cancelled = count_create(location=world["main"])
    count_cancel(count=cancelled)
    with refused(IllegalTransition, "cancelled"):
        count_post(count=cancelled)


def test_a_po_receipt_cannot_exceed_what_is_open_across_lines_of_one_sku():
    from inventory.models import PurchaseOrder, PurchaseOrderLine, StockMovement, Supplier
    from inventory.services import (
        OrderLine,
        ReceiptLine,
        purchase_order_create,
        purchase_order_place,
        stock_receive,
    )
    from oms.core.exceptions import ValidationFailed
    from tests.factories import LocationFactory, ProductFactory

    supplier = Supplier.objects.create(code="SUP-PALLETS", name="Pallets Ltd")
    product, location = ProductFactory(), LocationFactory()
    po = purchase_order_create(supplier=supplier, location=location, lines=[OrderLine(product, 5)])
    purchase_order_place(purchase_order=po)

    with pytest.raises(ValidationFailed) as refused:
        stock_receive(
            location=location,
            lines=[ReceiptLine(product, 3), ReceiptLine(product, 3)],
            purchase_order=po,
        )

    assert "Only 5" in str(refused.value.errors)
    assert PurchaseOrderLine.objects.get().quantity_received == 0
    assert PurchaseOrder.objects.get().status == PurchaseOrder.Status.ORDERED
    assert not StockMovement.objects.exists()
