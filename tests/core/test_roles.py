"""The staff roles (DESIGN.md section 9): `setup_roles` makes the groups, each holding
exactly its permissions, and can be run again at any time."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from oms.core import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLE_NAMES = ["Support", "Warehouse", "Inventory", "Finance", "Admin"]


def _perm_sets() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        for group in Group.objects.all()
    }


def _user(role: str):
    user = UserFactory(roles=[role])
    # has_perm caches per user object: reload so the groups' current permissions count.
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def setup_roles():
    call_command("setup_roles", stdout=StringIO())


def test_setup_roles_creates_the_five_groups():
    out = StringIO()
    call_command("setup_roles", stdout=out)

    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLE_NAMES)
    for role in ROLE_NAMES:
        count = Group.objects.get(name=role).permissions.count()
        assert count > 0
        assert f"{role}: {count} permissions" in out.getvalue()


def test_running_twice_gives_identical_permissions(setup_roles):
    first = _perm_sets()
    group_ids = dict(Group.objects.values_list("name", "pk"))

    call_command("setup_roles", stdout=StringIO())

    assert _perm_sets() == first
    assert dict(Group.objects.values_list("name", "pk")) == group_ids


def test_running_again_restores_a_permission_removed_by_hand(setup_roles):
    adjust = Permission.objects.get(content_type__app_label="inventory", codename="adjust_stock")
    inventory = Group.objects.get(name="Inventory")
    inventory.permissions.remove(adjust)
    assert not _user("Inventory").has_perm("inventory.adjust_stock")

    call_command("setup_roles", stdout=StringIO())

    assert inventory.permissions.filter(pk=adjust.pk).exists()
    assert _user("Inventory").has_perm("inventory.adjust_stock")


def test_running_again_takes_away_a_permission_granted_by_hand(setup_roles):
    adjust = Permission.objects.get(content_type__app_label="inventory", codename="adjust_stock")
    Group.objects.get(name="Support").permissions.add(adjust)

    call_command("setup_roles", stdout=StringIO())

    assert not _user("Support").has_perm("inventory.adjust_stock")


def test_support_cannot_adjust_stock_or_change_products(setup_roles):
    support = _user("Support")

    assert not support.has_perm("inventory.adjust_stock")
    assert not support.has_perm("inventory.change_product")
    assert not support.has_perm("inventory.add_product")
    assert not support.has_perm("inventory.delete_product")


def test_support_imports_wholesale_files_and_the_warehouse_does_not(setup_roles):
    assert _user("Support").has_perm("orders.import_orders")
    assert not _user("Warehouse").has_perm("orders.import_orders")
    assert not _user("Finance").has_perm("orders.import_orders")


def test_inventory_can_adjust_stock_and_change_products(setup_roles):
    inventory = _user("Inventory")

    assert inventory.has_perm("inventory.adjust_stock")
    assert inventory.has_perm("inventory.change_product")
    assert inventory.has_perm("inventory.add_product")


def test_warehouse_receives_and_counts_but_does_not_adjust(setup_roles):
    warehouse = _user("Warehouse")

    assert warehouse.has_perm("inventory.receive_stock")
    assert warehouse.has_perm("inventory.count_stock")
    assert not warehouse.has_perm("inventory.adjust_stock")
    assert not warehouse.has_perm("inventory.change_product")


def test_finance_does_not_touch_stock(setup_roles):
    finance = _user("Finance")

    assert not finance.has_perm("inventory.adjust_stock")
    assert not finance.has_perm("inventory.change_product")


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_role_can_view_products(setup_roles, role):
    user = _user(role)

    assert user.has_perm("inventory.view_product")
    assert user.has_perm("inventory.view_stocklevel")
    assert user.has_perm("core.view_outboxevent")


def test_no_role_may_delete_business_records_except_admin(setup_roles):
    perm_sets = _perm_sets()
    for role in ("Support", "Warehouse", "Inventory", "Finance"):
        assert not {p for p in perm_sets[role] if ".delete_" in p}, role
    assert "inventory.delete_product" in perm_sets["Admin"]


def test_admin_holds_every_permission_but_sessions(setup_roles):
    admin_perms = _perm_sets()["Admin"]

    assert "inventory.adjust_stock" in admin_perms
    assert "auth.change_user" in admin_perms
    assert not {p for p in admin_perms if p.startswith("sessions.")}


def test_an_unknown_codename_raises_lookup_error_and_changes_nothing(setup_roles, monkeypatch):
    before = _perm_sets()
    monkeypatch.setitem(
        roles.ROLE_PERMISSIONS,
        roles.SUPPORT,
        (*roles.ROLE_PERMISSIONS[roles.SUPPORT], "inventory.adjust_stok"),
    )

    with pytest.raises(LookupError, match=r"inventory\.adjust_stok"):
        roles.roles_setup()

    assert _perm_sets() == before


def test_a_codename_of_another_app_is_not_taken_for_the_named_one(monkeypatch):
    """'orders.adjust_stock' exists under inventory, not orders: still unknown."""
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, roles.FINANCE, ("orders.adjust_stock",))

    with pytest.raises(LookupError, match=r"orders\.adjust_stock"):
        roles.roles_setup()
