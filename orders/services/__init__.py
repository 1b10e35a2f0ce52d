"""Every order write. Import services from here."""

from orders.services.capture import (
    CaptureOutcome,
    CaptureResult,
    capture_many,
    order_capture,
    request_digest,
)
from orders.services.lifecycle import (
    hold_resolve,
    order_allocate,
    order_cancel,
    order_get,
    order_hold,
    order_lines_cancel,
    order_proceed,
)

__all__ = [
    "CaptureOutcome",
    "CaptureResult",
    "capture_many",
    "hold_resolve",
    "order_allocate",
    "order_cancel",
    "order_capture",
    "order_get",
    "order_hold",
    "order_lines_cancel",
    "order_proceed",
    "request_digest",
]
