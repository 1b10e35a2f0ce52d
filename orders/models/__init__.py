"""Order models, one module per concern; import them from here."""

from orders.models.events import OrderEvent
from orders.models.holds import Hold
from orders.models.imports import ImportRun as ImportRun
from orders.models.orders import Order, OrderLine, OrderSequence
from orders.models.parties import CURRENCY_CHOICES, MINOR_UNITS, Channel, Customer
from orders.models.payments import Payment

__all__ = [
    "CURRENCY_CHOICES",
    "MINOR_UNITS",
    "Channel",
    "Customer",
    "Hold",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderSequence",
    "Payment",
]
