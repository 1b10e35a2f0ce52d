"""On-hand writes: every change is an F() update plus an append-only ledger row, in one
transaction (STYLE.md convention 4)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from inventory.models import Bin, Location, Product, StockLevel, StockMovement
from inventory.signals import announce_available
from oms.core.exceptions import Conflict, ValidationFailed
from oms.core.outbox import emit

Reason = StockMovement.Reason


def lock_stock_levels(ids: Iterable[int]) -> dict[int, StockLevel]:
    """Row-lock stock levels, always in primary-key order, so two transactions that need
    the same rows queue instead of deadlocking."""
    levels = StockLevel.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    return {level.pk: level for level in levels}


def stock_level_get_or_create(*, product: Product, location: Location) -> StockLevel:
    level, _ = StockLevel.objects.get_or_create(product=product, location=location)
    return level


def lock_stock_levels_at(
    *, location: Location, products: Iterable[Product]
) -> dict[int, StockLevel]:
    """Before a multi-line write moves stock line by line: create any missing levels (in
    product id order) and row-lock them all (in primary-key order), keyed by product id.
    Two receipts or transfers naming the same SKUs in opposite orders then queue instead
    of deadlocking on each other's rows (or on each other's new, uncommitted levels)."""
    ids = [
        stock_level_get_or_create(product=product, location=location).pk
        for product in sorted(set(products), key=lambda product: product.pk)
    ]
    return {level.product_id: level for level in lock_stock_levels(ids).values()}


def emit_if_low(
    *, level_id: int, available_before: int, available_after: int, reorder_point: int
) -> None:
    """stock.low when available falls to or below the reorder point (on the crossing only,
    so a busy SKU does not send one event per sale)."""
    if reorder_point and available_after <= reorder_point < available_before:
        level = StockLevel.objects.select_related("product", "location").get(pk=level_id)
        emit(
            "stock.low",
            {
                "sku": level.product.sku,
                "location": level.location.code,
                "available": available_after,
                "reorder_point": reorder_point,
            },
            about=level,
        )


def _check_quantity(quantity, field: str = "quantity") -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity == 0:
        raise ValidationFailed({field: ["A non-zero whole number is required."]})


@transaction.atomic
def stock_move(
    *,
    product: Product,
    location: Location,
    quantity: int,
    reason: str,
    reference: str = "",
    bin: Bin | None = None,
    note: str = "",
    actor: AbstractBaseUser | None = None,
    announce: bool = True,
) -> StockMovement:
    """Change on_hand by `quantity` (signed) and write the ledger row.

    Refused, with nothing changed, when the result would fall below what is reserved.
    `announce=False` leaves the stock_available signal to a caller that moves several
    lines and announces them once.
    """
    _check_quantity(quantity)
    if reason not in Reason.values:
        raise ValidationFailed({"reason": [f"Unknown reason {reason!r}."]})
    if bin is not None and bin.location_id != location.pk:
        raise ValidationFailed({"bin": [f"Bin {bin} is not at location {location.code}."]})
    level_id = stock_level_get_or_create(product=product, location=location).pk
    # Lock the row: the ledger's on_hand_after must be the value this change produced.
    level = lock_stock_levels([level_id])[level_id]
    after = level.on_hand + quantity
    if after < level.reserved:
        raise Conflict(
            f"{product.sku} at {location.code}: on hand would be {after}, "
            f"below the {level.reserved} reserved.",
            sku=product.sku,
            location=location.code,
            on_hand=level.on_hand,
            reserved=level.reserved,
        )
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + quantity)
    movement = StockMovement.objects.create(
        stock_level=level,
        bin=bin,
        quantity=quantity,
        on_hand_after=after,
        reason=reason,
        reference=reference,
        note=note,
        actor=actor,
    )
    free_before = level.on_hand - level.reserved - level.safety_stock
    emit_if_low(
        level_id=level.pk,
        available_before=free_before,
        available_after=free_before + quantity,
        reorder_point=level.reorder_point,
    )
    if quantity > 0 and announce:
        announce_available(product_ids=[product.pk], location_id=location.pk)
    return movement


@transaction.atomic
def stock_adjust(
    *,
    product: Product,
    location: Location,
    quantity: int | None = None,
    counted: int | None = None,
    reason: str = Reason.ADJUSTMENT,
    reference: str = "",
    note: str = "",
    bin: Bin | None = None,
    actor: AbstractBaseUser | None = None,
) -> StockMovement | None:
    """Adjust by a signed delta (`quantity`) or to a counted value (`counted`).

    Returns the movement, or None when a counted value equals what is on hand already.
    """
    if (quantity is None) == (counted is None):
        raise ValidationFailed(
            {"quantity": ["Give either a quantity (delta) or an on-hand count."]}
        )
    if counted is not None:
        if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
            raise ValidationFailed({"on_hand": ["A whole number, 0 or more, is required."]})
        level_id = stock_level_get_or_create(product=product, location=location).pk
        quantity = counted - lock_stock_levels([level_id])[level_id].on_hand
        if quantity == 0:
            return None
    return stock_move(
        product=product,
        location=location,
        quantity=quantity,
        reason=reason,
        reference=reference,
        note=note,
        bin=bin,
        actor=actor,
    )


@dataclass(frozen=True)
class ReceiptLine:
    product: Product
    quantity: int
    bin: Bin | None = None


@transaction.atomic
def stock_receive(
    *,
    location: Location,
    lines: list[ReceiptLine],
    reference: str = "",
    purchase_order=None,
    actor: AbstractBaseUser | None = None,
) -> list[StockMovement]:
    """Goods in: against a purchase order (its lines and status follow) or free.

    All lines or none: any bad line refuses the whole receipt, each error naming its line.
    """
    from inventory.services.purchasing import purchase_order_record_receipt

    errors: list[dict] = []
    for line in lines:
        problems = {}
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or line.quantity <= 0
        ):
            problems["quantity"] = ["A whole number, 1 or more, is required."]
        if line.bin is not None and line.bin.location_id != location.pk:
            problems["bin"] = [f"Bin {line.bin.code} is not at {location.code}."]
        if not line.product.active:
            problems["sku"] = [f"{line.product.sku} is inactive."]
        errors.append(problems)
    if not lines:
        raise ValidationFailed({"lines": ["At least one line is required."]})
    if any(errors):
        raise ValidationFailed({"lines": errors})
    if not location.active:
        raise ValidationFailed({"location": [f"{location.code} is inactive."]})
    if purchase_order is not None:
        purchase_order_record_receipt(
            purchase_order=purchase_order, location=location, lines=lines, actor=actor
        )
        reference = reference or purchase_order.number
    # Lock every level first, in a fixed order; stock_move then finds each one held.
    lock_stock_levels_at(location=location, products=[line.product for line in lines])
    movements = [
        stock_move(
            product=line.product,
            location=location,
            quantity=line.quantity,
            reason=Reason.RECEIPT,
            reference=reference,
            bin=line.bin,
            actor=actor,
            announce=False,
        )
        for line in lines
    ]
    # One signal per receipt: waiting backorders are tried once, for every SKU received.
    announce_available(product_ids=[line.product.pk for line in lines], location_id=location.pk)
    return movements
