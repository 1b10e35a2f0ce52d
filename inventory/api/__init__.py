"""Inventory's HTTP API v1 (../shared/API.md, "Inventory"): serializers and viewsets.

- products.py   GET /products/, /products/{sku}/
- stock.py      GET /stock-levels/, GET /availability/ (reads, through selectors)
- movements.py  POST /stock-adjustments/, POST /receipts/ (writes, through services)

Each view parses its input with an input serializer, calls one selector or service and
serializes the answer with a separate output serializer (STYLE.md 8).
"""

from inventory.api.movements import ReceiptViewSet, StockAdjustmentViewSet
from inventory.api.products import ProductSerializer, ProductViewSet
from inventory.api.stock import AvailabilityViewSet, StockLevelViewSet

__all__ = [
    "AvailabilityViewSet",
    "ProductSerializer",
    "ProductViewSet",
    "ReceiptViewSet",
    "StockAdjustmentViewSet",
    "StockLevelViewSet",
]
