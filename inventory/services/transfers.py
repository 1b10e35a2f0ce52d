"""Transfers between locations: out of one on dispatch, into the other on receipt."""

import uuid
from datetime import date

from django.db import transaction
from django.utils import timezone

from inventory.models import Location, StockLevel, StockMovement, Transfer, TransferLine
from inventory.services.purchasing import OrderLine, check_order_lines
from inventory.services.stock import lock_stock_levels, lock_stock_levels_at, stock_move
from inventory.signals import announce_available
from oms.core.exceptions import InsufficientStock, ValidationFailed
from oms.core.fsm import apply_transition

Reason = StockMovement.Reason


def _lock(transfer: Transfer) -> Transfer:
    # of=("self",): lock the transfer row only. A bare select_for_update() would also
    # lock both joined location rows, which every insert referencing a location (a new
    # stock level, another transfer) must key-share: a bottleneck and a deadlock cycle.
    return (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("from_location", "to_location")
        .get(pk=transfer.pk)
    )


def _transition(transfer: Transfer, name: str) -> None:
    apply_transition(transfer, name, label=f"Transfer {transfer.number}")


@transaction.atomic
def transfer_create(
    *,
    from_location: Location,
    to_location: Location,
    lines: list[OrderLine],
    expected_date: date | None = None,
    actor=None,
) -> Transfer:
    if from_location.pk == to_location.pk:
        raise ValidationFailed({"to_location": ["Choose a location other than the source."]})
    check_order_lines(lines)
    transfer = Transfer.objects.create(
        number=uuid.uuid4().hex,
        from_location=from_location,
        to_location=to_location,
        expected_date=expected_date,
        created_by=actor,
    )
    transfer.number = f"TR-{transfer.pk:06d}"
    transfer.save(update_fields=["number"])
    TransferLine.objects.bulk_create(
        TransferLine(transfer=transfer, product=line.product, quantity=line.quantity)
        for line in lines
    )
    return transfer


@transaction.atomic
def transfer_dispatch(*, transfer: Transfer, actor=None) -> Transfer:
    """Take the goods out of the source. Only unreserved stock may leave: what is
    promised to orders stays (safety stock may move; it is a selling buffer)."""
    transfer = _lock(transfer)
    _transition(transfer, "dispatch")
    lines = list(transfer.lines.select_related("product"))
    levels = {
        level.product_id: level
        for level in lock_stock_levels(
            StockLevel.objects.filter(
                location=transfer.from_location, product__in=[line.product_id for line in lines]
            ).values_list("pk", flat=True)
        ).values()
    }
    errors = []
    for line in lines:
        level = levels.get(line.product_id)
        free = level.on_hand - level.reserved if level else 0
        errors.append(
            {}
            if free >= line.quantity
            else {
                "quantity": [
                    f"{line.product.sku}: only {free} unreserved at {transfer.from_location.code}."
                ]
            }
        )
    if any(errors):
        raise InsufficientStock("Not enough unreserved stock to dispatch.", lines=errors)
    for line in lines:
        stock_move(
            product=line.product,
            location=transfer.from_location,
            quantity=-line.quantity,
            reason=Reason.TRANSFER,
            reference=transfer.number,
            actor=actor,
        )
    transfer.dispatched_at = timezone.now()
    transfer.save(update_fields=["status", "dispatched_at", "updated_at"])
    return transfer


@transaction.atomic
def transfer_receive(*, transfer: Transfer, actor=None) -> Transfer:
    transfer = _lock(transfer)
    _transition(transfer, "receive")
    lines = list(transfer.lines.select_related("product"))
    # Lock the destination levels in a fixed order first (lines are in entry order).
    lock_stock_levels_at(location=transfer.to_location, products=[line.product for line in lines])
    for line in lines:
        stock_move(
            product=line.product,
            location=transfer.to_location,
            quantity=line.quantity,
            reason=Reason.TRANSFER,
            reference=transfer.number,
            actor=actor,
            announce=False,
        )
    announce_available(
        product_ids=[line.product_id for line in lines], location_id=transfer.to_location_id
    )
    transfer.received_at = timezone.now()
    transfer.save(update_fields=["status", "received_at", "updated_at"])
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, actor=None) -> Transfer:
    transfer = _lock(transfer)
    _transition(transfer, "cancel")
    transfer.save(update_fields=["status", "updated_at"])
    return transfer
