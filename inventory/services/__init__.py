"""Every inventory write. Import services from here."""

from inventory.services.counts import count_cancel, count_create, count_post, count_record
from inventory.services.purchasing import (
    OrderLine,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_place,
)
from inventory.services.replenishment import (
    ReplenishmentCandidate,
    replenishment_candidates,
    replenishment_run,
)
from inventory.services.reservations import (
    Allocation,
    DemandLine,
    reserved_for,
    stock_allocate,
    stock_consume,
    stock_release,
)
from inventory.services.stock import (
    ReceiptLine,
    lock_stock_levels,
    stock_adjust,
    stock_level_get_or_create,
    stock_move,
    stock_receive,
)
from inventory.services.transfers import (
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)

__all__ = [
    "Allocation",
    "DemandLine",
    "OrderLine",
    "ReceiptLine",
    "ReplenishmentCandidate",
    "count_cancel",
    "count_create",
    "count_post",
    "count_record",
    "lock_stock_levels",
    "purchase_order_cancel",
    "purchase_order_create",
    "purchase_order_place",
    "replenishment_candidates",
    "replenishment_run",
    "reserved_for",
    "stock_adjust",
    "stock_allocate",
    "stock_consume",
    "stock_level_get_or_create",
    "stock_move",
    "stock_receive",
    "stock_release",
    "transfer_cancel",
    "transfer_create",
    "transfer_dispatch",
    "transfer_receive",
]
