"""Cycle counts: a sheet per location (or zone), counted values, variances posted as
ledger movements with reason `count`."""

from django.db import transaction
from django.utils import timezone

from inventory.models import CycleCount, CycleCountLine, Location, StockLevel, StockMovement
from inventory.services.stock import lock_stock_levels, stock_move
from oms.core.exceptions import Conflict, IllegalTransition, ValidationFailed
from oms.core.fsm import apply_transition


def _lock(count: CycleCount) -> CycleCount:
    # of=("self",): lock the count only, not the joined location row (which every insert
    # referencing the location must key-share; locking it deadlocks with stock writes).
    return (
        CycleCount.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=count.pk)
    )


def _transition(count: CycleCount, name: str) -> None:
    apply_transition(count, name, label=f"Count #{count.pk}")


@transaction.atomic
def count_create(*, location: Location, zone: str = "", note: str = "", actor=None) -> CycleCount:
    """A sheet of every stock level at the location (in the zone of its pick bin)."""
    levels = StockLevel.objects.filter(location=location)
    if zone:
        levels = levels.filter(bin__zone=zone)
    levels = list(levels.order_by("bin__pick_sequence", "product__sku"))
    if not levels:
        raise ValidationFailed(
            {"zone" if zone else "location": ["Nothing is stocked there to count."]}
        )
    count = CycleCount.objects.create(location=location, zone=zone, note=note, created_by=actor)
    CycleCountLine.objects.bulk_create(
        CycleCountLine(count=count, stock_level=level, expected=level.on_hand) for level in levels
    )
    return count


@transaction.atomic
def count_record(*, count: CycleCount, counted: dict[int, int], actor=None) -> CycleCount:
    """Record counted quantities by stock level id."""
    count = _lock(count)
    if count.status != CycleCount.Status.OPEN:
        raise IllegalTransition(f"Count #{count.pk} is {count.status}.", status=count.status)
    lines = {line.stock_level_id: line for line in count.lines.all()}
    errors = {}
    for level_id, value in counted.items():
        if level_id not in lines:
            errors[str(level_id)] = ["Not on this count sheet."]
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors[str(level_id)] = ["A whole number, 0 or more, is required."]
    if errors:
        raise ValidationFailed({"counted": errors})
    for level_id, value in counted.items():
        CycleCountLine.objects.filter(pk=lines[level_id].pk).update(counted=value)
    return count


@transaction.atomic
def count_post(*, count: CycleCount, actor=None) -> CycleCount:
    """Set on hand to each counted value. Refused whole if a count is below what is
    reserved there (release or re-route those orders first)."""
    count = _lock(count)
    _transition(count, "post")
    lines = list(count.lines.filter(counted__isnull=False).select_related("stock_level__product"))
    levels = lock_stock_levels(line.stock_level_id for line in lines)
    problems = [
        f"{line.stock_level.product.sku}: counted {line.counted}, {levels[line.stock_level_id].reserved} reserved"
        for line in lines
        if line.counted < levels[line.stock_level_id].reserved
    ]
    if problems:
        raise Conflict("Counts below reserved stock: " + "; ".join(problems), lines=problems)
    for line in lines:
        level = levels[line.stock_level_id]
        line.variance = line.counted - level.on_hand
        if line.variance:
            stock_move(
                product=line.stock_level.product,
                location=count.location,
                quantity=line.variance,
                reason=StockMovement.Reason.COUNT,
                reference=f"COUNT-{count.pk}",
                note=f"expected {line.expected}, counted {line.counted}",
                actor=actor,
            )
    CycleCountLine.objects.bulk_update(lines, ["variance"])
    count.posted_at = timezone.now()
    count.save(update_fields=["status", "posted_at", "updated_at"])
    return count


@transaction.atomic
def count_cancel(*, count: CycleCount, actor=None) -> CycleCount:
    count = _lock(count)
    _transition(count, "cancel")
    count.save(update_fields=["status", "updated_at"])
    return count
