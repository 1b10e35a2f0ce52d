"""Inventory models, one module per concern; import them from here."""

from inventory.models.catalog import Product, Supplier, gtin_validator, sku_validator
from inventory.models.counts import CycleCount, CycleCountLine
from inventory.models.locations import Bin, Location
from inventory.models.purchasing import PurchaseOrder, PurchaseOrderLine
from inventory.models.stock import Reservation, StockLevel, StockMovement
from inventory.models.transfers import Transfer, TransferLine

__all__ = [
    "Bin",
    "CycleCount",
    "CycleCountLine",
    "Location",
    "Product",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Reservation",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "Transfer",
    "TransferLine",
    "gtin_validator",
    "sku_validator",
]
