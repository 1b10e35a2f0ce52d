"""Stock writes. Every quantity change is an F() update plus an append-only ledger row,
in one transaction (STYLE.md convention 4)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from inventory.models import Bin, Location, Product, StockLevel, StockMovement
from oms.core.exceptions import Conflict, ValidationFailed


def stock_level_get_or_create(*, product: Product, location: Location) -> StockLevel:
    level, _ = StockLevel.objects.get_or_create(product=product, location=location)
    return level


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
) -> StockMovement:
    """Change on_hand by `quantity` (signed) and write the ledger row.

    Refused, with nothing changed, when the result would fall below what is reserved.
    """
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity == 0:
        raise ValidationFailed({"quantity": ["A non-zero whole number is required."]})
    if reason not in StockMovement.Reason.values:
        raise ValidationFailed({"reason": [f"Unknown reason {reason!r}."]})
    if bin is not None and bin.location_id != location.pk:
        raise ValidationFailed({"bin": [f"Bin {bin} is not at location {location.code}."]})
    level = stock_level_get_or_create(product=product, location=location)
    # Lock the row: the ledger's on_hand_after must be the value this change produced.
    level = StockLevel.objects.select_for_update().get(pk=level.pk)
    if level.on_hand + quantity < level.reserved:
        raise Conflict(
            f"{product.sku} at {location.code}: on hand would be {level.on_hand + quantity}, "
            f"below the {level.reserved} reserved.",
            on_hand=level.on_hand,
            reserved=level.reserved,
        )
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + quantity)
    return StockMovement.objects.create(
        stock_level=level,
        bin=bin,
        quantity=quantity,
        on_hand_after=level.on_hand + quantity,
        reason=reason,
        reference=reference,
        note=note,
        actor=actor,
    )
