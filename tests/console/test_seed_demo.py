import io
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from inventory.models import (
    Bin,
    CycleCount,
    CycleCountLine,
    Location,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockLevel,
    StockMovement,
    Supplier,
    Transfer,
    TransferLine,
)
from inventory.selectors import available_to_promise
from inventory.services import (
    ReceiptLine,
    purchase_order_cancel,
    replenishment_candidates,
    stock_move,
    stock_receive,
)
from oms.console import demo_data, demo_orders
from oms.console.management.commands.seed_demo import DEFAULT_ORDERS
from oms.console.management.commands.seed_demo import Command as SeedDemo
from oms.core.models import OutboxEvent
from orders.models import Channel, Customer, Hold, Order, OrderEvent, OrderLine, Payment
from orders.services import order_cancel

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


# Every demo order scenario once (demo_orders.SCENARIOS) and a few more. Tests about the
# rest of the business seed no orders (each order costs a capture); the tests about the
# whole demo seed these, and one seeds the default number, as `make run` does.
FEW_ORDERS = 24


def seed(orders: int = 0) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--orders", str(orders), stdout=out)
    return out.getvalue()


def ean13_is_valid(code: str) -> bool:
    if len(code) != 13 or not code.isdigit():
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def snapshot() -> dict:
    """Every row count the seed touches, history included, and every stock figure."""
    User = get_user_model()
    models = (
        Location,
        Bin,
        Supplier,
        Product,
        StockLevel,
        StockMovement,
        Channel,
        Customer,
        User,
        PurchaseOrder,
        PurchaseOrderLine,
        Transfer,
        TransferLine,
        CycleCount,
        CycleCountLine,
        OutboxEvent,
        Order,
        OrderLine,
        OrderEvent,
        Payment,
        Hold,
        Reservation,
    )
    counts = {model.__name__: model.objects.count() for model in models}
    for model in (
        Location,
        Bin,
        Supplier,
        Product,
        StockLevel,
        Channel,
        Customer,
        PurchaseOrder,
        PurchaseOrderLine,
        Transfer,
        CycleCount,
        Order,
        OrderLine,
        Hold,
    ):
        counts[f"history of {model.__name__}"] = model.history.count()
    stock = dict(StockLevel.objects.values_list("pk", "on_hand").order_by("pk"))
    reserved = dict(StockLevel.objects.values_list("pk", "reserved").order_by("pk"))
    statuses = {
        "purchase orders": list(PurchaseOrder.objects.values_list("number", "status")),
        "po lines": list(
            PurchaseOrderLine.objects.values_list("pk", "quantity_received").order_by("pk")
        ),
        "transfers": list(Transfer.objects.values_list("number", "status")),
        "counts": list(CycleCount.objects.values_list("pk", "status")),
        "orders": list(Order.objects.values_list("number", "status", "updated_at").order_by("pk")),
        "order lines": list(
            OrderLine.objects.values_list(
                "pk", "quantity", "quantity_reserved", "quantity_cancelled"
            ).order_by("pk")
        ),
        "holds": list(Hold.objects.values_list("pk", "resolved_at").order_by("pk")),
    }
    thresholds = list(
        StockLevel.objects.values_list("safety_stock", "reorder_point", "reorder_qty").order_by(
            "pk"
        )
    )
    memberships = list(User.objects.values_list("username", "groups__name").order_by("username"))
    return {
        "counts": counts,
        "stock": stock,
        "reserved": reserved,
        "thresholds": thresholds,
        "groups": memberships,
        "statuses": statuses,
    }


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
    opening = StockMovement.objects.filter(reference="SEED-OPENING")
    assert opening.count() >= 100
    assert set(opening.values_list("reason", flat=True)) == {"receipt"}
    assert set(StockMovement.objects.values_list("reason", flat=True)) == {
        "receipt",
        "transfer",
        "count",
        "adjustment",
    }
    # Opening stock, purchase order receipts and adjustments each name the pick bin of
    # their own location.
    binned = StockMovement.objects.filter(reason__in=["receipt", "adjustment"])
    assert not binned.filter(bin=None).exists()
    assert not binned.exclude(bin__location=F("stock_level__location")).exists()
    assert not binned.exclude(bin=F("stock_level__bin")).exists()
    assert not StockLevel.objects.exclude(bin__location=F("location")).exists()


def test_check_invariants_passes_after_seeding():
    seed(FEW_ORDERS)
    out = io.StringIO()
    call_command("check_invariants", stdout=out)  # raises on any violation
    assert "All invariants hold" in out.getvalue()


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
    # Fictional addresses only (RFC 2606); demo orders add new shoppers at example.net.
    domains = {c.email.split("@")[1] for c in retail if c.email}
    assert domains <= {"example.com", "example.org", "example.net"}


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
    first = seed(FEW_ORDERS)
    before = snapshot()
    second = seed(FEW_ORDERS)
    assert snapshot() == before
    assert f"orders          {FEW_ORDERS:>4} created    0 existing: " in first
    assert f"orders             0 created {FEW_ORDERS:>4} existing: " in second
    assert "locations          3 created    0 existing" in first
    assert "locations          0 created    3 existing" in second
    assert "products           0 created" in second
    assert "suppliers          4 created    0 existing" in first
    assert "suppliers          0 created    4 existing" in second
    for kind, n in (
        ("purchase orders", 4),
        ("transfers", 2),
        ("cycle counts", 2),
        ("adjustments", 3),
    ):
        assert f"{kind:<15} {n:>4} created    0 existing" in first
        assert f"{kind:<15}    0 created {n:>4} existing" in second
    assert (
        "purchase orders    0 created    4 existing: "
        "draft 1, ordered 1, partially received 1, received 1"
    ) in second
    assert "transfers          0 created    2 existing: in transit 1, received 1" in second
    assert "demo activity created through the inventory services" in first
    assert "demo activity was there already: left as it is" in second
    assert "Log in at http://127.0.0.1:8000/admin/ as admin / oms-demo" in second


def test_a_second_run_does_not_top_up_stock_that_moved():
    seed(FEW_ORDERS)
    level = StockLevel.objects.get(product__sku="WIDGET-RED", location__code="WH-NJ")
    stock_move(  # down to what the demo orders hold
        product=level.product,
        location=level.location,
        quantity=level.reserved - level.on_hand,
        reason="adjustment",
        reference="TEST",
    )
    level.safety_stock = 7
    level.save(update_fields=["safety_stock"])
    seed(FEW_ORDERS)
    level.refresh_from_db()
    assert (level.on_hand, level.safety_stock) == (level.reserved, 7)
    assert level.movements.count() == 2


def test_a_second_run_keeps_a_changed_password():
    seed()
    user = get_user_model().objects.get(username="warehouse")
    user.set_password("my-own-secret-42")
    user.save(update_fields=["password"])
    seed()
    assert authenticate(username="warehouse", password="my-own-secret-42") == user
    assert authenticate(username="warehouse", password="oms-demo") is None


# --- suppliers, locations' channels ---------------------------------------------------------


def test_suppliers_and_every_active_product_has_one():
    seed()
    suppliers = Supplier.objects.all()
    assert 3 <= suppliers.count() <= 4
    for supplier in suppliers:
        assert supplier.active and supplier.name and supplier.lead_time_days > 0
        assert supplier.email.endswith(".example")
        assert supplier.products.filter(active=True).exists(), supplier
    assert not Product.objects.filter(active=True, supplier=None).exists()


def test_suppliers_follow_the_product_family():
    seed()
    by_sku = dict(Product.objects.values_list("sku", "supplier__code"))
    families = {}
    for sku, code in by_sku.items():
        families.setdefault(sku.split("-")[0], set()).add(code)
    # One supplier per family, except tape: a tape measure is a tool, packing tape is not.
    assert {family for family, codes in families.items() if len(codes) > 1} == {"TAPE"}
    assert by_sku["TAPE-MEASURE-5M"] == by_sku["BOLT-M8-50"] == "HARTWELL"
    assert by_sku["TAPE-PACKING-48"] == by_sku["MAILER-BOX-S"] == "MERIDIAN"
    assert by_sku["CABLE-USB-C-2M"] == by_sku["CHARGER-USB-C-65W-UK"] == "VOLTCORE"
    assert by_sku["GADGET-MINI"] == by_sku["WIDGET-RED"] == "BRIGHTLINE"
    assert by_sku == {row.sku: demo_data.supplier_code(row.sku) for row in demo_data.PRODUCTS}


def test_a_product_seeded_without_a_supplier_gets_its_familys():
    seed()
    Product.objects.filter(sku="HUB-USB-C-7IN1").update(supplier=None)
    untouched = Product.history.exclude(sku="HUB-USB-C-7IN1").count()
    out = seed()
    assert Product.objects.get(sku="HUB-USB-C-7IN1").supplier.code == "VOLTCORE"
    assert "suppliers given to 1 existing products" in out
    assert Product.history.exclude(sku="HUB-USB-C-7IN1").count() == untouched


def test_warehouses_serve_every_channel_and_the_store_ships_web_orders():
    seed()
    channels = dict(Location.objects.values_list("code", "channel_codes"))
    assert channels == {"WH-NJ": [], "WH-UK": [], "ST-NYC": ["store", "web"]}
    store = Location.objects.get(code="ST-NYC")
    assert store.serves("web") and store.serves("store") and not store.serves("wholesale")


def test_channel_codes_are_set_on_creation_only():
    seed()
    Location.objects.filter(code="ST-NYC").update(channel_codes=["store"])
    seed()
    assert Location.objects.get(code="ST-NYC").channel_codes == ["store"]


# --- purchasing and stock movements ---------------------------------------------------------


def demo_purchase_order(status: str) -> PurchaseOrder:
    return PurchaseOrder.objects.get(status=status, note__contains="(seed_demo)")


def test_one_purchase_order_in_each_stage():
    seed()
    statuses = list(PurchaseOrder.objects.values_list("status", flat=True).order_by("status"))
    assert statuses == ["draft", "ordered", "partially_received", "received"]
    inventory_user = get_user_model().objects.get(username="inventory")
    assert not PurchaseOrder.objects.exclude(created_by=inventory_user).exists()
    for purchase_order in PurchaseOrder.objects.all():
        products = Product.objects.filter(pk__in=purchase_order.lines.values("product"))
        assert set(products.values_list("supplier", flat=True)) == {purchase_order.supplier_id}
        assert purchase_order.expected_date and purchase_order.lines.exists()
        assert not purchase_order.lines.filter(unit_cost=None).exists()
    assert not demo_purchase_order("draft").lines.filter(quantity_received__gt=0).exists()
    assert not demo_purchase_order("ordered").lines.filter(quantity_received__gt=0).exists()
    partial = demo_purchase_order("partially_received").lines
    assert partial.filter(quantity_received=F("quantity_ordered")).exists()
    assert partial.filter(
        quantity_received__gt=0, quantity_received__lt=F("quantity_ordered")
    ).exists()
    assert partial.filter(quantity_received=0).exists()
    received = demo_purchase_order("received").lines
    assert not received.exclude(quantity_received=F("quantity_ordered")).exists()


def test_what_was_received_on_purchase_orders_is_in_the_ledger():
    seed()
    for purchase_order in PurchaseOrder.objects.all():
        for line in purchase_order.lines.all():
            booked = StockMovement.objects.filter(
                reason="receipt",
                reference=purchase_order.number,
                stock_level__product=line.product,
                stock_level__location=purchase_order.location,
            ).aggregate(total=Sum("quantity", default=0))["total"]
            assert booked == line.quantity_received, (purchase_order, line)
    warehouse = get_user_model().objects.get(username="warehouse")
    receipts = StockMovement.objects.filter(reason="receipt").exclude(reference="SEED-OPENING")
    assert receipts.count() == 4
    assert not receipts.exclude(actor=warehouse).exists()


def test_gadget_mini_is_out_of_stock_and_promised_for_next_week():
    seed()
    ordered = demo_purchase_order("ordered")
    assert ordered.expected_date == timezone.localdate() + timedelta(days=7)
    assert ordered.lines.filter(product__sku="GADGET-MINI").exists()
    promise = available_to_promise(skus=["GADGET-MINI"])["GADGET-MINI"]
    assert promise.available == 0
    assert promise.date_for(1) == ordered.expected_date
    assert promise.incoming == [(ordered.expected_date, 120, ordered.number)]


def test_one_transfer_in_transit_and_one_received():
    seed()
    in_transit = Transfer.objects.get(status="in_transit")
    received = Transfer.objects.get(status="received")
    for transfer in (in_transit, received):
        assert (transfer.from_location.code, transfer.to_location.code) == ("WH-NJ", "ST-NYC")
        assert transfer.dispatched_at and transfer.expected_date
    assert received.received_at and not in_transit.received_at
    # In transit: out of the warehouse, not yet in the store (on hand nowhere).
    moved = StockMovement.objects.filter(reference=in_transit.number)
    assert set(moved.values_list("stock_level__location__code", flat=True)) == {"WH-NJ"}
    assert sorted(moved.values_list("stock_level__product__sku", "quantity")) == sorted(
        (line.product.sku, -line.quantity) for line in in_transit.lines.all()
    )
    # Received: every unit that left arrived.
    moved = StockMovement.objects.filter(reference=received.number)
    assert moved.filter(quantity__lt=0, stock_level__location__code="WH-NJ").count() == 2
    assert moved.filter(quantity__gt=0, stock_level__location__code="ST-NYC").count() == 2
    assert moved.aggregate(net=Sum("quantity"))["net"] == 0
    # The store channel's ATP sees the webcams on their way.
    webcams = available_to_promise(skus=["WEBCAM-1080P"], channel_code="store")["WEBCAM-1080P"]
    assert webcams.by_location["ST-NYC"] == 0
    assert webcams.incoming == [(in_transit.expected_date, 8, in_transit.number)]


def test_the_posted_count_wrote_count_movements():
    seed()
    posted = CycleCount.objects.get(status="posted")
    assert (posted.location.code, posted.zone) == ("WH-UK", "A")
    assert posted.posted_at and posted.lines.count() >= 20
    assert not posted.lines.filter(counted=None).exists()
    variances = posted.lines.exclude(variance=0)
    assert sorted(variances.values_list("stock_level__product__sku", "variance")) == [
        ("CABLE-LIGHTNING-1M", 1),
        ("EARBUDS-BT", -2),
    ]
    movements = StockMovement.objects.filter(reason="count")
    assert movements.count() == 2
    assert set(movements.values_list("reference", flat=True)) == {f"COUNT-{posted.pk}"}
    assert sorted(movements.values_list("stock_level__product__sku", "quantity")) == [
        ("CABLE-LIGHTNING-1M", 1),
        ("EARBUDS-BT", -2),
    ]
    for line in posted.lines.select_related("stock_level"):
        assert line.stock_level.on_hand == line.counted
    open_count = CycleCount.objects.get(status="open")
    assert (open_count.location.code, open_count.zone) == ("WH-NJ", "C")
    assert open_count.lines.exists()
    assert not open_count.lines.exclude(counted=None).exists()


def test_adjustments_are_in_the_ledger_with_a_reason():
    seed()
    adjustments = StockMovement.objects.filter(reason="adjustment")
    assert adjustments.count() == 3
    assert set(adjustments.values_list("reference", flat=True)) == {"SEED-ADJUST"}
    assert not adjustments.filter(note="").exists()
    assert not adjustments.filter(quantity__gte=0).exists()
    assert not adjustments.exclude(actor__username="inventory").exists()
    damaged = adjustments.get(note="damaged in aisle")
    assert (damaged.stock_level.product.sku, damaged.stock_level.location.code) == (
        "MOUSE-WIRELESS",
        "WH-NJ",
    )
    assert damaged.quantity == -2


def test_some_stock_is_left_for_the_dashboard_and_replenishment():
    seed()
    low = StockLevel.objects.filter(reorder_point__gt=0, on_hand__lte=F("reorder_point"))
    assert low.count() >= 5
    candidates = replenishment_candidates()
    to_order = {(c.sku, c.location.code) for c in candidates if c.orderable}
    assert len(to_order) >= 3
    assert all(c.orderable for c in candidates), "every active product has a supplier"
    assert ("SSD-PORTABLE-1TB", "WH-NJ") in to_order
    # What is already on order is not ordered again: GADGET-MINI at WH-NJ is low but covered.
    assert low.filter(product__sku="GADGET-MINI", location__code="WH-NJ").exists()
    assert ("GADGET-MINI", "WH-NJ") not in to_order


def test_the_activity_is_created_once_even_after_staff_moved_on():
    seed()
    draft = demo_purchase_order("draft")
    purchase_order_cancel(purchase_order=draft)
    partial = demo_purchase_order("partially_received")
    stock_receive(
        location=partial.location,
        lines=[
            ReceiptLine(line.product, line.quantity_open)
            for line in partial.lines.filter(quantity_received__lt=F("quantity_ordered"))
        ],
        purchase_order=partial,
    )
    before = snapshot()
    out = seed()
    assert snapshot() == before
    assert "purchase orders    0 created    4 existing: ordered 1, received 2, cancelled 1" in out


def test_an_older_demo_database_gets_the_activity_once_within_what_is_free(monkeypatch):
    # A database seeded before the activity existed, where stock has moved since.
    with monkeypatch.context() as patch:
        patch.setattr(SeedDemo, "seed_activity", lambda *args: False)
        seed(orders=0)
    assert not PurchaseOrder.objects.exists()
    earbuds = StockLevel.objects.get(product__sku="EARBUDS-BT", location__code="WH-NJ")
    stock_move(
        product=earbuds.product,
        location=earbuds.location,
        quantity=5 - earbuds.on_hand,
        reason="shipment",
        reference="TEST",
    )
    mice = StockLevel.objects.get(product__sku="MOUSE-WIRELESS", location__code="WH-NJ")
    stock_move(
        product=mice.product,
        location=mice.location,
        quantity=-mice.on_hand,
        reason="shipment",
        reference="TEST",
    )
    Product.objects.filter(sku="LAPTOP-STAND").update(active=False)
    out = seed()
    assert "demo activity created" in out
    # Goods in for a product deactivated since are refused: that drop is still to come.
    meridian = PurchaseOrder.objects.get(supplier__code="MERIDIAN")
    assert meridian.status == "partially_received"
    assert meridian.lines.get(product__sku="LAPTOP-STAND").quantity_received == 0
    received = Transfer.objects.get(status="received")
    assert received.lines.get(product__sku="EARBUDS-BT").quantity == 5  # all there was
    assert not StockMovement.objects.filter(
        reason="adjustment", stock_level=mice
    ).exists()  # nothing left to write off
    assert StockMovement.objects.filter(reason="adjustment").count() == 2
    call_command("check_invariants", stdout=io.StringIO())
    before = snapshot()
    seed()
    assert snapshot() == before


# --- demo orders ----------------------------------------------------------------------------

DEMO_REF = re.compile(r"DEMO-(WEB|MARKETPLACE|PHONE|WHOLESALE|STORE)-\d{6}")


def demo_orders_in_db():
    return Order.objects.filter(external_ref__startswith="DEMO-")


def test_the_default_demo_orders_cover_every_channel_and_status_and_leave_stock():
    started = time.monotonic()
    out = seed(DEFAULT_ORDERS)
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"seeding with {DEFAULT_ORDERS} orders took {elapsed:.0f} s"
    orders = demo_orders_in_db()
    assert orders.count() == DEFAULT_ORDERS == 300
    assert all(DEMO_REF.fullmatch(ref) for ref in orders.values_list("external_ref", flat=True))
    # Every channel, and wholesale orders for both trade accounts of the sample CSV.
    assert set(orders.values_list("channel__code", flat=True)) == {
        "web",
        "marketplace",
        "phone",
        "wholesale",
        "store",
    }
    assert {"ACME-01", "NORTHWIND"} <= set(
        orders.filter(channel__code="wholesale").values_list("customer__code", flat=True)
    )
    # Every status the order services reach before fulfilment exists, in sane shares.
    by_status = dict(orders.order_by().values_list("status").annotate(n=Count("id")))
    assert set(by_status) == {"allocated", "backordered", "on_hold", "cancelled"}
    assert by_status["allocated"] > DEFAULT_ORDERS / 2
    assert all(n >= 5 for n in by_status.values()), by_status
    # Backorders wait for the Gadget Mini, out of stock everywhere.
    waiting = OrderLine.objects.filter(
        order__in=orders.filter(status="backordered"), quantity__gt=F("quantity_reserved")
    )
    assert set(waiting.values_list("sku", flat=True)) == {"GADGET-MINI"}
    # Holds: payment (unpaid, failed), credit (the big wholesale order), fraud (billing
    # country differs, high value), address (opened by support after allocation).
    open_holds = Hold.objects.filter(order__in=orders, resolved_at=None)
    assert set(open_holds.values_list("kind", flat=True)) == {
        "payment",
        "credit",
        "fraud",
        "address",
    }
    assert not orders.filter(status="on_hold").exclude(holds__resolved_at=None).exists()
    credit = open_holds.filter(kind="credit").first()
    assert credit.order.customer.code == "GLOBEX"
    assert credit.order.total > credit.order.customer.credit_limit
    fraud = open_holds.filter(kind="fraud").first()
    assert "billing country" in fraud.reason and fraud.order.total >= 1000
    assert open_holds.filter(kind="payment", reason="Payment failed.").exists()
    assert open_holds.filter(kind="payment", reason="Awaiting payment.").exists()
    # Resolved holds: the order went on to be allocated (or waits for stock).
    resolved = Hold.objects.filter(order__in=orders, resolved_at__isnull=False).exclude(
        order__status="cancelled"
    )
    assert set(resolved.values_list("kind", flat=True)) == {"payment", "fraud"}
    assert set(resolved.values_list("order__status", flat=True)) <= {"allocated", "backordered"}
    assert not resolved.filter(resolved_by=None).exists()
    # Cancelled through order_cancel (reservations released) and partly cancelled lines.
    cancelled = orders.filter(status="cancelled")
    assert not OrderLine.objects.filter(order__in=cancelled, quantity_reserved__gt=0).exists()
    assert OrderEvent.objects.filter(order__in=cancelled, kind="released").exists()
    assert not cancelled.exclude(
        events__kind="status_changed", events__message__contains="Cancelled"
    ).exists()
    part = orders.exclude(status="cancelled").filter(lines__quantity_cancelled__gt=0).distinct()
    assert part.count() >= 5
    assert OrderEvent.objects.filter(order__in=part, kind="lines_cancelled").count() == part.count()
    # Through the services: every order has its timeline and history.
    assert not orders.exclude(events__kind="created").exists()
    assert (
        Order.history.filter(external_ref__startswith="DEMO-").values("id").distinct().count()
        == 300
    )
    # Stock: nothing drained; the wholesale sample CSV still imports from either warehouse.
    for sku in SAMPLE_SKUS:
        totals = StockLevel.objects.filter(product__sku=sku).aggregate(
            on_hand=Sum("on_hand"), reserved=Sum("reserved")
        )
        assert totals["reserved"] <= 0.3 * totals["on_hand"], (sku, totals)
    for code in ("WH-NJ", "WH-UK"):
        for sku, demand in SAMPLE_DEMAND.items():
            level = StockLevel.objects.get(product__sku=sku, location__code=code)
            assert level.available >= demand, level
    assert (
        not StockLevel.objects.filter(product__active=True, on_hand__gt=0)
        .filter(Q(reserved=F("on_hand")) & ~Q(product__sku="GADGET-MINI"))
        .exists()
    ), "a stocked SKU was reserved to the last unit"
    # ACME and NORTHWIND stay well inside their credit: the sample's orders pass.
    for code in ("ACME-01", "NORTHWIND"):
        customer = Customer.objects.get(code=code)
        owed = (
            orders.filter(customer=customer)
            .exclude(status="cancelled")
            .aggregate(total=Sum("total"))["total"]
        )
        assert owed <= customer.credit_limit / 2
    call_command("check_invariants", stdout=io.StringIO())
    # The summary names the count per status.
    summary = next(line for line in out.splitlines() if line.startswith("orders "))
    assert summary.startswith("orders           300 created    0 existing: ")
    for status, n in by_status.items():
        label = dict(Order.Status.choices)[status].lower()
        assert f"{label} {n}" in summary
    assert "skipped" not in out and "refused" not in out


def test_a_larger_n_adds_only_the_missing_orders():
    seed(12)
    first = snapshot()["statuses"]["orders"]
    out = seed(FEW_ORDERS)
    assert "orders            12 created   12 existing: " in out
    assert demo_orders_in_db().count() == FEW_ORDERS
    # The first twelve are as they were, the new ones follow the same plan.
    assert snapshot()["statuses"]["orders"][:12] == first
    expected = [o.external_ref for o in demo_orders.demo_orders(FEW_ORDERS, timezone.now())]
    assert sorted(demo_orders_in_db().values_list("external_ref", flat=True)) == sorted(expected)
    before = snapshot()
    out = seed(6)  # a smaller N removes nothing
    assert "orders             0 created    6 existing: " in out
    assert snapshot() == before


def test_a_second_run_leaves_orders_staff_moved_on_alone():
    seed(FEW_ORDERS)
    support = get_user_model().objects.get(username="support")
    allocated = demo_orders_in_db().filter(status="allocated").first()
    order_cancel(order=allocated, reason="Customer called to cancel.", actor=support)
    before = snapshot()
    out = seed(FEW_ORDERS)
    assert snapshot() == before
    assert "orders             0 created   24 existing" in out


def test_demo_orders_for_a_product_deactivated_since_are_refused_not_fatal():
    seed(0)
    Product.objects.filter(sku__in=["WIDGET-RED", "WIDGET-BLUE"]).update(active=False)
    out = seed(FEW_ORDERS)
    refused = [line for line in out.splitlines() if line.startswith("demo order refused: ")]
    assert refused
    assert all("is no longer sold" in line for line in refused)
    assert demo_orders_in_db().count() == FEW_ORDERS - len(refused)
    call_command("check_invariants", stdout=io.StringIO())


def test_demo_orders_are_placed_before_the_first_seed():
    seed(FEW_ORDERS)
    opening = StockMovement.objects.filter(reference="SEED-OPENING").order_by("at").first().at
    placed = demo_orders_in_db().values_list("placed_at", flat=True)
    assert all(opening - timedelta(days=6) < at < opening for at in placed)


def test_the_demo_order_plan_is_deterministic_and_each_prefix_is_stable():
    anchor = timezone.now()
    plan = demo_orders.demo_orders(120, anchor)
    assert plan == demo_orders.demo_orders(120, anchor)
    assert demo_orders.demo_orders(40, anchor) == plan[:40]
    # Every scenario within the first orders; all refs distinct.
    assert [o.scenario for o in plan[: len(demo_orders.SCENARIOS)]] == list(demo_orders.SCENARIOS)
    assert len({o.external_ref for o in plan}) == 120
    # Each order ships to its own street address (the orders-per-address fraud rule).
    addresses = [(o.payload["ship_to"]["line1"], o.payload["ship_to"]["postcode"]) for o in plan]
    assert max(Counter(addresses).values()) <= demo_orders.KNOWN_CUSTOMER_ORDERS


def test_orders_must_be_zero_or_more_and_the_help_names_what_is_not_seeded():
    with pytest.raises(CommandError, match="--orders"):
        call_command("seed_demo", "--orders", "-1", stdout=io.StringIO())
    assert not Order.objects.exists()
    help_text = SeedDemo().create_parser("manage.py", "seed_demo").format_help()
    assert "--orders N" in help_text
    assert "not seeded" in help_text and "shipped" in help_text
