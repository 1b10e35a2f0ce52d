"""The staff roles of DESIGN.md section 9, as Django groups with model permissions.

Every role reads the whole business (view permissions on every business app); what a
role may change is listed explicitly. Later issues add their permissions here.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

BUSINESS_APPS = ("core", "inventory", "orders", "fulfilment", "returns")

SUPPORT = "Support"
WAREHOUSE = "Warehouse"
INVENTORY = "Inventory"
FINANCE = "Finance"
ADMIN = "Admin"

# Beyond reading everything: what each role may do ("app_label.codename").
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Support takes phone orders (capture, the same service as the API), holds orders
    # and resolves holds, cancels, and imports wholesale accounts' CSV files (through the
    # same capture). Not add_order/change_order: an order is written only through capture
    # and its transitions, never edited as a row.
    SUPPORT: (
        "orders.import_orders",
        "orders.add_customer",
        "orders.change_customer",
        "orders.capture_order",
        "orders.hold_order",
        "orders.cancel_order",
        "orders.edit_order",
    ),
    WAREHOUSE: (
        "inventory.receive_stock",
        "inventory.count_stock",
        "inventory.add_bin",
        "inventory.change_bin",
    ),
    INVENTORY: (
        "inventory.add_product",
        "inventory.change_product",
        "inventory.add_location",
        "inventory.change_location",
        "inventory.add_bin",
        "inventory.change_bin",
        "inventory.change_stocklevel",
        "inventory.adjust_stock",
        "inventory.receive_stock",
        "inventory.transfer_stock",
        "inventory.count_stock",
        "inventory.add_supplier",
        "inventory.change_supplier",
        "inventory.add_purchaseorder",
        "inventory.change_purchaseorder",
        "inventory.place_purchaseorder",
    ),
    FINANCE: ("orders.change_customer",),
}
ROLES = (SUPPORT, WAREHOUSE, INVENTORY, FINANCE, ADMIN)


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = list(
        Permission.objects.filter(
            content_type__app_label__in={app for app, _ in wanted},
            codename__in={codename for _, codename in wanted},
        ).select_related("content_type")
    )
    found = [p for p in found if (p.content_type.app_label, p.codename) in wanted]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        # A typo here would silently take a right away from a whole team: fail loudly.
        raise LookupError(f"Unknown permissions: {sorted('.'.join(m) for m in missing)}")
    return found


@transaction.atomic
def roles_setup() -> dict[str, int]:
    """Create or update the role groups so each holds exactly its permissions.
    Idempotent; returns the permission count per group."""
    views = list(
        Permission.objects.filter(
            content_type__app_label__in=BUSINESS_APPS, codename__startswith="view_"
        )
    )
    counts = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        if role == ADMIN:
            perms = list(Permission.objects.filter(~Q(content_type__app_label="sessions")))
        else:
            perms = views + _permissions(ROLE_PERMISSIONS[role])
        group.permissions.set(perms)
        counts[role] = group.permissions.count()
    return counts
