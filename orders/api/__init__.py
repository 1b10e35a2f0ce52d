"""Orders' HTTP API v1 (../shared/API.md, "Orders").

- serializers.py  capture input (documented; the capture service checks it), transition
                  inputs, the order in a list and in full, holds, error bodies
- views.py        OrderViewSet: POST /orders/ (capture), GET /orders/, /orders/{number}/,
                  POST /orders/{number}/cancel/, /holds/, /holds/{id}/resolve/
"""

from orders.api.views import OrderViewSet

__all__ = ["OrderViewSet"]
