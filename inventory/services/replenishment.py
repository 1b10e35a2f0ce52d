"""Replenishment: draft purchase orders for stock levels at or below their reorder point.

`replenishment_candidates` is the read (what would be ordered, nothing written; the admin
shows it); `replenishment_run` drafts the purchase orders. Both use the same rule, so what
staff see is what the run orders.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    Supplier,
    Transfer,
    TransferLine,
)
from inventory.services.purchasing import OrderLine, purchase_order_create

logger = logging.getLogger(__name__)

NO_SUPPLIER = "no supplier"
SUPPLIER_INACTIVE = "supplier inactive"


@dataclass(frozen=True)
class ReplenishmentCandidate:
    """One stock level that needs replenishing, and how much the run would order.

    `skip_reason` is empty when the run will order it; otherwise it says why not
    (NO_SUPPLIER, SUPPLIER_INACTIVE) and the level is reported, never ordered.
    """

    stock_level: StockLevel
    on_order: int
    quantity: int
    skip_reason: str = ""

    @property
    def product(self):
        return self.stock_level.product

    @property
    def location(self) -> Location:
        return self.stock_level.location

    @property
    def supplier(self) -> Supplier | None:
        return self.stock_level.product.supplier

    @property
    def sku(self) -> str:
        return self.stock_level.product.sku

    @property
    def position(self) -> int:
        """on_hand - reserved + open purchase order quantity."""
        level = self.stock_level
        return level.on_hand - level.reserved + self.on_order

    @property
    def orderable(self) -> bool:
        return not self.skip_reason

    def as_dict(self) -> dict:
        level = self.stock_level
        supplier = self.supplier
        return {
            "stock_level_id": level.pk,
            "sku": self.sku,
            "product_name": level.product.name,
            "location": level.location.code,
            "supplier": supplier.code if supplier else "",
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "on_order": self.on_order,
            "position": self.position,
            "reorder_point": level.reorder_point,
            "reorder_qty": level.reorder_qty,
            "quantity": self.quantity,
            "skip_reason": self.skip_reason,
        }


def order_quantity(*, position: int, reorder_point: int, reorder_qty: int) -> int:
    """How many units to order for a level whose position is at or below its reorder point.

    The rule: enough to lift the position strictly above the reorder point
    (reorder_point - position + 1), but at least one reorder_qty; when reorder_qty > 0 the
    result is rounded up to a whole multiple of reorder_qty (suppliers sell in packs).
    E.g. reorder point 10, position 4, reorder_qty 12 -> 12; position -20 -> 36.
    0 when the position is already above the reorder point.
    """
    if position > reorder_point:
        return 0
    quantity = max(reorder_qty, reorder_point - position + 1)
    if reorder_qty > 0:
        quantity = math.ceil(quantity / reorder_qty) * reorder_qty
    return quantity


def _open_quantity_subquery() -> Subquery:
    """Units still to come for the outer stock level's product at its location: open
    (draft, ordered, partially received) purchase order lines, ordered - received."""
    open_lines = (
        PurchaseOrderLine.objects.filter(
            product_id=OuterRef("product_id"),
            purchase_order__location_id=OuterRef("location_id"),
            purchase_order__status__in=PurchaseOrder.OPEN,
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum(F("quantity_ordered") - F("quantity_received")))
        .values("total")
    )
    return Subquery(open_lines, output_field=IntegerField())


def _in_transit_subquery() -> Subquery:
    """Units on their way to the outer stock level's location by transfer: they will be
    on hand there without a purchase order, so they count as on order."""
    lines = (
        TransferLine.objects.filter(
            product_id=OuterRef("product_id"),
            transfer__to_location_id=OuterRef("location_id"),
            transfer__status__in=[Transfer.Status.DRAFT, Transfer.Status.IN_TRANSIT],
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Subquery(lines, output_field=IntegerField())


def _candidates(
    *, location=None, stock_level_ids: Iterable[int] | None = None
) -> list[ReplenishmentCandidate]:
    """One query: levels with a reorder point at active locations for active products whose
    position (on_hand - reserved + on order + transfers coming in) is at or below the reorder point."""
    levels = (
        StockLevel.objects.filter(reorder_point__gt=0, product__active=True, location__active=True)
        .select_related("product__supplier", "location")
        .annotate(
            on_order=Coalesce(_open_quantity_subquery(), Value(0))
            + Coalesce(_in_transit_subquery(), Value(0))
        )
        .annotate(position=F("on_hand") - F("reserved") + F("on_order"))
        .filter(position__lte=F("reorder_point"))
        .order_by("location__priority", "location__code", "product__sku")
    )
    if location is not None:
        levels = levels.filter(location_id=getattr(location, "pk", location))
    if stock_level_ids is not None:
        levels = levels.filter(pk__in=list(stock_level_ids))
    result = []
    for level in levels:
        supplier = level.product.supplier
        if supplier is None:
            skip = NO_SUPPLIER
        elif not supplier.active:
            skip = SUPPLIER_INACTIVE
        else:
            skip = ""
        result.append(
            ReplenishmentCandidate(
                stock_level=level,
                on_order=level.on_order,
                quantity=order_quantity(
                    position=level.position,
                    reorder_point=level.reorder_point,
                    reorder_qty=level.reorder_qty,
                ),
                skip_reason=skip,
            )
        )
    return result


def replenishment_candidates(*, location: Location | None = None) -> list[ReplenishmentCandidate]:
    """What replenishment_run would order now (orderable candidates) and what it would
    report instead (no supplier, supplier inactive). Reads only; one query.

    Each candidate has stock_level, product, location, supplier, sku, on_order,
    position, quantity, skip_reason and orderable; `as_dict()` gives the plain values.
    """
    return _candidates(location=location)


@transaction.atomic
def replenishment_run(
    *,
    actor: AbstractBaseUser | None = None,
    location: Location | None = None,
    today: date | None = None,
) -> list[PurchaseOrder]:
    """Draft purchase orders for every stock level at or below its reorder point.

    Which levels: reorder_point > 0, active product, active location (only `location`
    when given), and position = on_hand - reserved + open purchase order quantity for the
    product at that location <= reorder_point. Open = draft, ordered and partially
    received lines, quantity_ordered - quantity_received.

    How much: see `order_quantity`: max(reorder_qty, reorder_point - position + 1),
    rounded up to a multiple of reorder_qty when reorder_qty > 0.

    Where: one purchase order per (supplier, location). An existing draft for that pair
    (the oldest, if staff made several) is extended: a new line, or more on the product's
    line; otherwise a new draft is created. expected_date = today + the supplier's lead
    time (an extended draft's date only moves later).

    Idempotent: a draft's quantities count as on order, so a second run the same day
    finds nothing left to order. Products without an active supplier are logged and not
    ordered (`replenishment_candidates` lists them for the admin).

    Returns the purchase orders created or extended, in (supplier, location) order.
    """
    today = today or timezone.localdate()
    first_look = _candidates(location=location)
    supplier_ids = sorted({c.supplier.pk for c in first_look if c.orderable})
    if supplier_ids:
        # Two runs at once (beat and a clerk's admin action) must not both draft for the
        # same supplier: lock the suppliers in pk order, then look again. On PostgreSQL
        # (read committed) the second look sees the drafts the other run committed, so
        # it orders only what is still missing. NO KEY UPDATE: runs queue behind each
        # other, but a purchase order created meanwhile (a foreign key to the supplier
        # takes KEY SHARE) does not wait.
        list(
            Supplier.objects.select_for_update(no_key=True)
            .filter(pk__in=supplier_ids)
            .order_by("pk")
        )
        candidates = _candidates(
            location=location, stock_level_ids=[c.stock_level.pk for c in first_look]
        )
    else:
        candidates = first_look

    groups: dict[tuple[int, int], list[ReplenishmentCandidate]] = defaultdict(list)
    for candidate in candidates:
        if not candidate.orderable:
            logger.warning(
                "Replenishment: %s at %s is at or below its reorder point (position %s, "
                "reorder point %s) but is not ordered: %s.",
                candidate.sku,
                candidate.location.code,
                candidate.position,
                candidate.stock_level.reorder_point,
                candidate.skip_reason,
            )
        elif candidate.supplier.pk in supplier_ids:
            groups[(candidate.supplier.pk, candidate.location.pk)].append(candidate)
    if not groups:
        return []

    drafts: dict[tuple[int, int], PurchaseOrder] = {}
    for draft in (
        PurchaseOrder.objects.select_for_update(no_key=True)
        .filter(
            status=PurchaseOrder.Status.DRAFT,
            supplier_id__in={key[0] for key in groups},
            location_id__in={key[1] for key in groups},
        )
        .order_by("pk")
    ):
        drafts.setdefault((draft.supplier_id, draft.location_id), draft)

    touched = []
    for key in sorted(
        groups, key=lambda k: (groups[k][0].supplier.code, groups[k][0].location.code)
    ):
        group = groups[key]
        supplier, location_ = group[0].supplier, group[0].location
        expected = today + timedelta(days=supplier.lead_time_days)
        draft = drafts.get(key)
        if draft is None:
            draft = purchase_order_create(
                supplier=supplier,
                location=location_,
                lines=[OrderLine(product=c.product, quantity=c.quantity) for c in group],
                expected_date=expected,
                note=f"Drafted by replenishment on {today.isoformat()}.",
                actor=actor,
            )
        else:
            _extend_draft(draft=draft, group=group, expected=expected)
        logger.info(
            "Replenishment: %s for %s at %s: %s",
            draft.number,
            supplier.code,
            location_.code,
            ", ".join(f"{c.quantity} x {c.sku}" for c in group),
        )
        touched.append(draft)
    return touched


def _extend_draft(
    *, draft: PurchaseOrder, group: list[ReplenishmentCandidate], expected: date
) -> None:
    """Add lines to a locked draft, or raise the quantity of the product's line. Lines are
    saved (not .update()d) so their history shows what replenishment changed."""
    lines = {
        line.product_id: line
        for line in PurchaseOrderLine.objects.select_for_update()
        .filter(purchase_order=draft, product_id__in=[c.product.pk for c in group])
        .order_by("pk")
    }
    for candidate in group:
        line = lines.get(candidate.product.pk)
        if line is None:
            PurchaseOrderLine.objects.create(
                purchase_order=draft, product=candidate.product, quantity_ordered=candidate.quantity
            )
        else:
            line.quantity_ordered += candidate.quantity
            line.save(update_fields=["quantity_ordered"])
    if draft.expected_date is None or draft.expected_date < expected:
        draft.expected_date = expected
    # Saved even when the date is unchanged: updated_at shows when the draft last grew.
    draft.save(update_fields=["expected_date", "updated_at"])
