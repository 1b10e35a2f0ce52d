import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db.models import Count, F, Sum

from inventory.models import Bin, Location, Product, StockLevel, StockMovement
from inventory.services import stock_move
from orders.models import Channel, Customer

pytestmark = pytest.mark.django_db

ROLES = ("Admin", "Support", "Warehouse", "Inventory", "Finance")
SAMPLE_SKUS = ("WIDGET-RED", "WIDGET-BLUE", "GADGET-PRO", "CABLE-USB-C-2M", "BOLT-M8-50")
# What ../shared/data/wholesale_orders_sample.csv orders per SKU, all orders together.
SAMPLE_DEMAND = {
    "WIDGET-RED": 40,
    "WIDGET-BLUE": 35,
    "GADGET-PRO": 6,
    "CABLE-USB-C-2M": 120,
    "BOLT-M8-50": 500,
}


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The demo users' passwords are hashed on every seed; the default hasher is slow on
    # purpose. authenticate() below still proves the password is the demo one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def ean13_is_valid(code: str) -> bool:
    if len(code) != 13 or not code.isdigit():
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def snapshot() -> dict:
    """Every row count the seed touches, history included, and every stock figure."""
    User = get_user_model()
    models = (Location, Bin, Product, StockLevel, StockMovement, Channel, Customer, User)
    counts = {model.__name__: model.objects.count() for model in models}
    for model in (Location, Bin, Product, StockLevel, Channel, Customer):
        counts[f"history of {model.__name__}"] = model.history.count()
    stock = dict(StockLevel.objects.values_list("pk", "on_hand").order_by("pk"))
    thresholds = list(
        StockLevel.objects.values_list("safety_stock", "reorder_point", "reorder_qty").order_by(
            "pk"
        )
    )
    memberships = list(User.objects.values_list("username", "groups__name").order_by("username"))
    return {"counts": counts, "stock": stock, "thresholds": thresholds, "groups": memberships}


def test_ean13_helper_rejects_a_wrong_check_digit():
    assert ean13_is_valid("5012345678900")
    assert not ean13_is_valid("5012345678901")


def test_seed_creates_locations_in_two_countries_including_a_store():
    seed()
    locations = Location.objects.all()
    assert locations.count() == 3
    assert {loc.country.code for loc in locations} >= {"US", "GB"}
    assert set(locations.values_list("kind", flat=True)) == {"warehouse", "store"}
    assert list(locations.values_list("code", "priority")) == [
        ("WH-NJ", 10),
        ("WH-UK", 20),
        ("ST-NYC", 30),
    ]
    assert all(loc.fulfils_orders and loc.city and loc.postcode for loc in locations)


def test_bins_have_zones_and_a_walk_order():
    seed()
    for location in Location.objects.all():
        bins = list(Bin.objects.filter(location=location).order_by("pick_sequence", "id"))
        assert len(bins) >= 8
        sequences = [b.pick_sequence for b in bins]
        assert sequences == sorted(set(sequences)), "pick_sequence must strictly increase"
        assert all(b.zone for b in bins)
        # Each zone is walked in one stretch: once the picker leaves a zone, it is done.
        zones_in_walk_order = [b.zone for b in bins]
        runs = [
            z
            for i, z in enumerate(zones_in_walk_order)
            if i == 0 or zones_in_walk_order[i - 1] != z
        ]
        assert len(runs) == len(set(runs))
    warehouse_zones = set(Bin.objects.filter(location__code="WH-NJ").values_list("zone", flat=True))
    assert warehouse_zones == {"A", "B", "C"}
    assert Bin.objects.filter(location__code="WH-NJ").count() >= 24
    assert Bin.objects.filter(location__code="WH-UK", code="A-01-01").exists()
    store_zones = set(Bin.objects.filter(location__code="ST-NYC").values_list("zone", flat=True))
    assert store_zones == {"FLOOR", "BACKROOM"}


def test_products_are_many_with_valid_unique_barcodes_and_the_sample_skus_active():
    seed()
    products = Product.objects.all()
    assert products.count() >= 50
    barcodes = [p.barcode for p in products]
    assert all(ean13_is_valid(code) for code in barcodes), [
        c for c in barcodes if not ean13_is_valid(c)
    ]
    assert len(set(barcodes)) == len(barcodes)
    assert all(p.weight_grams and p.length_mm and p.width_mm and p.height_mm for p in products)
    assert set(
        Product.objects.filter(sku__in=SAMPLE_SKUS, active=True).values_list("sku", flat=True)
    ) == set(SAMPLE_SKUS)


def test_every_stock_level_equals_its_ledger():
    seed()
    levels = StockLevel.objects.annotate(ledger=Sum("movements__quantity"))
    assert levels.count() >= 100
    for level in levels:
        assert level.on_hand == (level.ledger or 0), level
    assert not StockMovement.objects.exclude(reference="SEED-OPENING").exists()
    assert set(StockMovement.objects.values_list("reason", flat=True)) == {"receipt"}
    # Each receipt is put into a bin of its own location.
    assert not StockMovement.objects.filter(bin=None).exists()
    assert not StockMovement.objects.exclude(bin__location=F("stock_level__location")).exists()
    assert not StockMovement.objects.exclude(bin=F("stock_level__bin")).exists()
    assert not StockLevel.objects.exclude(bin__location=F("location")).exists()
    call_command("check_invariants", stdout=io.StringIO())  # raises on any violation


def test_both_warehouses_can_ship_the_wholesale_sample_on_their_own():
    seed()
    for code in ("WH-NJ", "WH-UK"):
        for sku, demand in SAMPLE_DEMAND.items():
            level = StockLevel.objects.get(product__sku=sku, location__code=code)
            assert level.available >= demand, level


def test_some_stock_is_deliberately_short_and_thresholds_are_set():
    seed()
    active = StockLevel.objects.filter(product__active=True)
    assert active.filter(on_hand=0).count() >= 3
    assert active.filter(on_hand__gt=0, on_hand__lt=F("reorder_point")).exists()
    out_everywhere = (
        Product.objects.filter(active=True)
        .annotate(total=Sum("stock_levels__on_hand"), levels=Count("stock_levels"))
        .filter(total=0, levels__gt=0)
    )
    assert out_everywhere.exists(), "one active product is out of stock everywhere"
    assert not active.filter(reorder_point=0).exists()
    assert not active.filter(reorder_qty=0).exists()
    assert active.filter(safety_stock__gt=0).exists()


def test_channels():
    seed()
    channels = {c.code: c for c in Channel.objects.all()}
    assert set(channels) == {"web", "marketplace", "phone", "wholesale", "store"}
    expected = {
        "web": ("web", 24, 20, False),
        "marketplace": ("marketplace", 48, 30, False),
        "phone": ("phone", 24, 20, False),
        "wholesale": ("wholesale", 72, 40, True),
        "store": ("store", 4, 10, False),
    }
    for code, (kind, hours, priority, split) in expected.items():
        channel = channels[code]
        assert (channel.kind, channel.ship_within_hours, channel.priority, channel.allow_split) == (
            kind,
            hours,
            priority,
            split,
        )
    assert channels["wholesale"].currency == "USD"


def test_customers():
    seed()
    acme = Customer.objects.get(code="ACME-01")
    northwind = Customer.objects.get(code="NORTHWIND")
    assert (acme.kind, acme.name, acme.email, acme.currency) == (
        "wholesale",
        "Acme Trading Ltd",
        "orders@acme.example",
        "GBP",
    )
    assert (acme.credit_limit, acme.payment_terms_days) == (10000, 30)
    assert (northwind.kind, northwind.currency, northwind.credit_limit) == (
        "wholesale",
        "USD",
        25000,
    )
    retail = Customer.objects.filter(kind="retail")
    assert retail.count() >= 10
    assert all(c.email.split("@")[1] in {"example.com", "example.org"} for c in retail)


@pytest.mark.parametrize("role", ROLES)
def test_one_staff_user_per_role_who_can_log_in(role):
    seed()
    user = get_user_model().objects.get(username=role.lower())
    assert user.is_staff and user.is_active
    assert user.first_name and user.last_name and user.email
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.is_superuser == (role == "Admin")
    assert authenticate(username=role.lower(), password="oms-demo") == user


def test_a_second_run_changes_nothing():
    first = seed()
    before = snapshot()
    second = seed()
    assert snapshot() == before
    assert "locations        3 created    0 existing" in first
    assert "locations        0 created    3 existing" in second
    assert "products         0 created" in second
    assert "Log in at http://127.0.0.1:8000/admin/ as admin / oms-demo" in second


def test_a_second_run_does_not_top_up_stock_that_moved():
    seed()
    level = StockLevel.objects.get(product__sku="WIDGET-RED", location__code="WH-NJ")
    stock_move(
        product=level.product,
        location=level.location,
        quantity=-level.on_hand,
        reason="adjustment",
        reference="TEST",
    )
    level.safety_stock = 7
    level.save(update_fields=["safety_stock"])
    seed()
    level.refresh_from_db()
    assert (level.on_hand, level.safety_stock) == (0, 7)
    assert level.movements.count() == 2


def test_a_second_run_keeps_a_changed_password():
    seed()
    user = get_user_model().objects.get(username="warehouse")
    user.set_password("my-own-secret-42")
    user.save(update_fields=["password"])
    seed()
    assert authenticate(username="warehouse", password="my-own-secret-42") == user
    assert authenticate(username="warehouse", password="oms-demo") is None
