"""The inventory console (Django admin themed by unfold), one module per concern.

Every change of stock goes through inventory services: the admin shows quantities, and
its buttons and pages (Adjust stock, Receive stock, Place, Dispatch, Post, imports...)
call the services, which write the ledger. Importing this package registers the admins.
"""

from inventory.admin.catalog import ProductAdmin, SupplierAdmin
from inventory.admin.counts import CycleCountAdmin
from inventory.admin.locations import BinAdmin, LocationAdmin
from inventory.admin.purchasing import PurchaseOrderAdmin
from inventory.admin.stock import ReservationAdmin, StockLevelAdmin, StockMovementAdmin
from inventory.admin.transfers import TransferAdmin

__all__ = [
    "BinAdmin",
    "CycleCountAdmin",
    "LocationAdmin",
    "ProductAdmin",
    "PurchaseOrderAdmin",
    "ReservationAdmin",
    "StockLevelAdmin",
    "StockMovementAdmin",
    "SupplierAdmin",
    "TransferAdmin",
]
