"""API v1 routes: each app contributes its viewsets to one router."""

from rest_framework.routers import DefaultRouter

from inventory.api import (
    AvailabilityViewSet,
    ProductViewSet,
    ReceiptViewSet,
    StockAdjustmentViewSet,
    StockLevelViewSet,
)
from orders.api import OrderViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("stock-levels", StockLevelViewSet, basename="stock-level")
router.register("availability", AvailabilityViewSet, basename="availability")
router.register("stock-adjustments", StockAdjustmentViewSet, basename="stock-adjustment")
router.register("receipts", ReceiptViewSet, basename="receipt")
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
