"""The orders console (Django admin themed by unfold), one module per concern.

Orders are read-only records: every change goes through orders services, behind
permission-checked buttons (Hold, Resolve hold, Cancel, the edit pages), bulk actions and
the phone order form, and each leaves a timeline event. Importing this package registers
the admins.
"""

from orders.admin.holds import HoldAdmin
from orders.admin.imports import ImportRunAdmin
from orders.admin.orders import OrderAdmin
from orders.admin.parties import ChannelAdmin, CustomerAdmin

__all__ = ["ChannelAdmin", "CustomerAdmin", "HoldAdmin", "ImportRunAdmin", "OrderAdmin"]
