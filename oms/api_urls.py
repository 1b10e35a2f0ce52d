"""API v1 routes: each app contributes its viewsets to one router."""

from rest_framework.routers import DefaultRouter

from inventory.api import ProductViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")

urlpatterns = router.urls
