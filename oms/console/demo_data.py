"""The demo business that `manage.py seed_demo` creates.

Plain data plus the few rules that derive opening stock and suppliers from it, and a few
weeks of purchasing, transfers, counts and adjustments that the command replays through
the inventory services. Everything is deterministic: the same data on every machine and
every run (no Faker, and the only variety comes from `random.Random` seeded with the SKU
and location code); only the expected dates move with the day of the seed.

The demo orders (captured through the order services) are planned in demo_orders.py.

It covers what `../shared/data/wholesale_orders_sample.csv` refers to (SKUs WIDGET-RED,
WIDGET-BLUE, GADGET-PRO, CABLE-USB-C-2M, BOLT-M8-50; wholesale customers ACME-01 and
NORTHWIND), so the sample imports cleanly on a fresh install.
"""

import random
from decimal import Decimal
from typing import NamedTuple

from oms.core import roles

DEMO_PASSWORD = "oms-demo"
OPENING_REFERENCE = "SEED-OPENING"

# --- Locations and bins -----------------------------------------------------------------

LOCATIONS = (
    {
        "code": "WH-NJ",
        "name": "East Coast Fulfilment Center",
        "kind": "warehouse",
        "address_line1": "300 Raritan Center Parkway",
        "address_line2": "Building 4, Dock 12-18",
        "city": "Edison",
        "region": "NJ",
        "postcode": "08837",
        "country": "US",
        "priority": 10,
        "fulfils_orders": True,
    },
    {
        "code": "WH-UK",
        "name": "UK Distribution Centre",
        "kind": "warehouse",
        "address_line1": "Unit 3, Royal Oak Way North",
        "address_line2": "Royal Oak Industrial Estate",
        "city": "Daventry",
        "region": "Northamptonshire",
        "postcode": "NN11 8PQ",
        "country": "GB",
        "priority": 20,
        "fulfils_orders": True,
    },
    {
        "code": "ST-NYC",
        "name": "SoHo Store",
        "kind": "store",
        "address_line1": "110 Prince Street",
        "address_line2": "",
        "city": "New York",
        "region": "NY",
        "postcode": "10012",
        "country": "US",
        "priority": 30,
        "fulfils_orders": True,
        # Sells in the store and ships web orders from the shelf; the warehouses leave
        # channel_codes empty, so they serve every channel.
        "channel_codes": ["store", "web"],
    },
)

WAREHOUSE_ZONES = ("A", "B", "C")  # A: small fast movers, B: bulk small parts, C: heavy/bulky
AISLES_PER_ZONE = 2
BAYS_PER_AISLE = 6
STORE_ZONES = (("FLOOR", 6), ("BACKROOM", 4))  # (zone, number of bins)


def warehouse_bins() -> tuple[tuple[str, str], ...]:
    """(code, zone) in walk order: zone after zone, aisle after aisle, snaking so the
    picker walks up one aisle and down the next (A-01-01 ... A-01-06, A-02-06 ... A-02-01)."""
    bins = []
    for zone in WAREHOUSE_ZONES:
        for aisle in range(1, AISLES_PER_ZONE + 1):
            bays = range(1, BAYS_PER_AISLE + 1)
            for bay in bays if aisle % 2 else reversed(bays):
                bins.append((f"{zone}-{aisle:02d}-{bay:02d}", zone))
    return tuple(bins)


def store_bins() -> tuple[tuple[str, str], ...]:
    return tuple(
        (f"{zone}-{number:02d}", zone)
        for zone, count in STORE_ZONES
        for number in range(1, count + 1)
    )


# Bins per location, in walk order; pick_sequence is 10, 20, 30, ... in this order.
BINS = {"WH-NJ": warehouse_bins(), "WH-UK": warehouse_bins(), "ST-NYC": store_bins()}
PICK_SEQUENCE_STEP = 10  # gaps leave room to slot a new bin between two others

# --- Products -----------------------------------------------------------------------------

# Where a product is stocked (location codes).
ALL = ("WH-NJ", "WH-UK", "ST-NYC")
WH = ("WH-NJ", "WH-UK")
US = ("WH-NJ", "ST-NYC")
UK = ("WH-UK",)
NOWHERE = ()

GS1_COMPANY_PREFIX = "5012345"  # + a 5-digit item reference + check digit = EAN-13


class DemoProduct(NamedTuple):
    item: int  # GS1 item reference: the barcode is derived from it, so it never moves
    sku: str
    name: str
    grams: int
    dims_mm: tuple[int, int, int]  # length, width, height
    base: int  # the quantity a warehouse normally holds; stores hold a tenth
    stocked_at: tuple[str, ...]
    active: bool = True


P = DemoProduct
PRODUCTS = (
    P(10, "WIDGET-RED", "Widget, red", 85, (60, 40, 25), 400, ALL),
    P(20, "WIDGET-BLUE", "Widget, blue", 85, (60, 40, 25), 400, ALL),
    P(30, "WIDGET-BLACK", "Widget, black", 85, (60, 40, 25), 300, ALL),
    P(40, "WIDGET-XL-RED", "Widget XL, red", 190, (90, 60, 35), 150, WH),
    P(50, "WIDGET-GREEN", "Widget, green (discontinued)", 85, (60, 40, 25), 0, NOWHERE, False),
    P(60, "GADGET-PRO", "Gadget Pro, aluminium", 420, (180, 95, 40), 60, ALL),
    P(70, "GADGET-MINI", "Gadget Mini", 210, (120, 70, 30), 80, ALL),
    P(80, "GADGET-PRO-CASE", "Gadget Pro protective case", 140, (200, 110, 50), 90, ALL),
    P(90, "CABLE-USB-C-2M", "USB-C to USB-C cable, 2 m, 100 W", 62, (150, 100, 20), 600, ALL),
    P(100, "CABLE-USB-C-1M", "USB-C to USB-C cable, 1 m, 60 W", 38, (150, 100, 20), 500, ALL),
    P(110, "CABLE-USB-A-C-1M", "USB-A to USB-C cable, 1 m", 35, (150, 100, 20), 450, ALL),
    P(120, "CABLE-LIGHTNING-1M", "USB-C to Lightning cable, 1 m", 34, (150, 100, 20), 300, ALL),
    P(130, "CABLE-HDMI-2M", "HDMI 2.1 cable, 2 m", 110, (180, 120, 25), 250, ALL),
    P(140, "CABLE-HDMI-5M", "HDMI 2.1 cable, 5 m", 240, (200, 140, 35), 80, WH),
    P(150, "CABLE-DP-2M", "DisplayPort 1.4 cable, 2 m", 105, (180, 120, 25), 120, WH),
    P(160, "CABLE-CAT6-3M", "Cat 6 patch cable, 3 m, blue", 90, (160, 110, 25), 300, WH),
    P(170, "CHARGER-USB-C-20W", "USB-C charger 20 W, US plug", 45, (70, 50, 40), 350, US),
    P(180, "CHARGER-USB-C-65W", "USB-C GaN charger 65 W, US plug", 115, (80, 60, 40), 200, US),
    P(190, "CHARGER-USB-C-65W-UK", "USB-C GaN charger 65 W, UK plug", 125, (80, 60, 45), 150, UK),
    P(200, "POWERBANK-10K", "Power bank, 10,000 mAh", 210, (105, 68, 16), 180, ALL),
    P(210, "POWERBANK-20K", "Power bank, 20,000 mAh", 360, (150, 72, 26), 90, ALL),
    P(220, "ADAPTER-TRAVEL", "Universal travel adapter", 150, (80, 60, 60), 160, ALL),
    P(230, "HUB-USB-C-7IN1", "USB-C hub, 7-in-1", 95, (120, 50, 18), 140, ALL),
    P(240, "MOUSE-WIRELESS", "Wireless mouse, silent click", 78, (115, 65, 40), 220, ALL),
    P(250, "KEYBOARD-US", "Wireless keyboard, US layout", 460, (440, 140, 30), 90, US),
    P(260, "KEYBOARD-UK", "Wireless keyboard, UK layout", 460, (440, 140, 30), 70, UK),
    P(270, "WEBCAM-1080P", "Webcam 1080p with privacy shutter", 160, (110, 80, 70), 110, ALL),
    P(280, "HEADPHONES-ANC", "Noise-cancelling headphones", 280, (220, 190, 90), 70, ALL),
    P(290, "EARBUDS-BT", "Bluetooth earbuds with charging case", 60, (90, 80, 40), 200, ALL),
    P(300, "SPEAKER-BT-MINI", "Bluetooth speaker, mini", 240, (100, 100, 60), 100, ALL),
    P(310, "SSD-PORTABLE-1TB", "Portable SSD, 1 TB, USB-C", 58, (110, 70, 25), 80, ALL),
    P(320, "LAPTOP-STAND", "Laptop stand, aluminium", 980, (280, 240, 60), 75, WH),
    P(330, "MONITOR-ARM", "Monitor arm, gas spring", 2600, (450, 180, 120), 40, WH),
    P(340, "DESK-LAMP-LED", "LED desk lamp, dimmable", 850, (420, 160, 110), 60, ALL),
    P(350, "MOUSEPAD-XL", "Desk mat XL, 900 x 400 mm", 520, (410, 90, 90), 150, ALL),
    P(360, "PHONE-STAND", "Phone stand, foldable", 120, (110, 80, 20), 240, ALL),
    P(370, "BOLT-M6-30", "Hex bolt M6 x 30 mm, zinc plated", 9, (30, 10, 10), 4000, WH),
    P(380, "BOLT-M8-50", "Hex bolt M8 x 50 mm, zinc plated", 25, (50, 13, 13), 3000, WH),
    P(390, "BOLT-M10-60", "Hex bolt M10 x 60 mm, zinc plated", 44, (60, 16, 16), 1500, WH),
    P(400, "NUT-M6", "Hex nut M6, zinc plated", 2, (10, 10, 5), 6000, WH),
    P(410, "NUT-M8", "Hex nut M8, zinc plated", 5, (13, 13, 7), 5000, WH),
    P(420, "WASHER-M8", "Flat washer M8, zinc plated", 2, (17, 17, 2), 8000, WH),
    P(430, "SCREW-WOOD-4X40", "Wood screws 4 x 40 mm, box of 100", 380, (90, 60, 40), 300, ALL),
    P(440, "ANCHOR-8MM-50", "Wall plugs 8 mm, bag of 50", 60, (120, 80, 30), 400, ALL),
    P(450, "DRIVER-SET-32", "Precision screwdriver set, 32 pieces", 310, (170, 90, 35), 120, ALL),
    P(460, "HEX-KEY-SET-9", "Hex key set, 9 pieces, metric", 230, (180, 60, 20), 150, ALL),
    P(470, "PLIERS-COMBI-180", "Combination pliers, 180 mm", 270, (185, 55, 20), 100, ALL),
    P(480, "HAMMER-CLAW-16OZ", "Claw hammer, 16 oz", 640, (330, 125, 30), 70, WH),
    P(490, "TAPE-MEASURE-5M", "Tape measure, 5 m", 210, (75, 75, 40), 200, ALL),
    P(500, "LEVEL-600", "Spirit level, 600 mm", 450, (600, 60, 25), 50, WH),
    P(510, "DRILL-BITS-HSS-19", "HSS drill bit set, 19 pieces", 520, (200, 110, 25), 90, WH),
    P(520, "TORCH-LED-500", "LED torch, 500 lumen, rechargeable", 180, (150, 40, 40), 130, ALL),
    P(530, "KNIFE-UTILITY", "Utility knife, retractable", 160, (160, 40, 20), 180, ALL),
    P(540, "TAPE-PACKING-48", "Packing tape, 48 mm x 66 m", 220, (110, 110, 48), 600, WH),
    P(550, "LABELS-100X150", "Shipping labels 100 x 150 mm, roll", 750, (160, 120, 120), 200, WH),
    P(560, "MAILER-BOX-S", "Mailer box, small", 110, (230, 160, 80), 1000, WH),
    P(570, "BUBBLE-WRAP-50M", "Bubble wrap, 500 mm x 50 m", 1900, (500, 300, 300), 60, WH),
)


def ean13(first_12_digits: str) -> str:
    """Append the GS1 check digit: weights 1, 3, 1, 3, ... from the left."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_12_digits))
    return first_12_digits + str(-total % 10)


def barcode(product: DemoProduct) -> str:
    return ean13(f"{GS1_COMPANY_PREFIX}{product.item:05d}")


# --- Suppliers ---------------------------------------------------------------------------

SUPPLIERS = (
    {
        "code": "BRIGHTLINE",
        "name": "Brightline Electronics Co., Ltd.",
        "email": "orders@brightline.example",
        "lead_time_days": 21,  # Shenzhen, by sea
    },
    {
        "code": "VOLTCORE",
        "name": "Voltcore Cables & Power",
        "email": "sales@voltcore.example",
        "lead_time_days": 14,
    },
    {
        "code": "HARTWELL",
        "name": "Hartwell Fasteners & Tools",
        "email": "trade@hartwell.example",
        "lead_time_days": 10,
    },
    {
        "code": "MERIDIAN",
        "name": "Meridian Office & Packaging Supply",
        "email": "purchasing@meridian.example",
        "lead_time_days": 5,
    },
)

# Who supplies a product family: the SKU's first segment, or its first two segments where
# one first segment spans two families (a tape measure is a tool, packing tape is not).
SUPPLIER_BY_FAMILY = {
    **dict.fromkeys(
        (
            "WIDGET",
            "GADGET",
            "HEADPHONES",
            "EARBUDS",
            "SPEAKER",
            "WEBCAM",
            "SSD",
            "MOUSE",
            "KEYBOARD",
        ),
        "BRIGHTLINE",
    ),
    **dict.fromkeys(("CABLE", "CHARGER", "POWERBANK", "ADAPTER", "HUB"), "VOLTCORE"),
    **dict.fromkeys(
        (
            "BOLT",
            "NUT",
            "WASHER",
            "SCREW",
            "ANCHOR",
            "DRIVER",
            "HEX",
            "PLIERS",
            "HAMMER",
            "TAPE-MEASURE",
            "LEVEL",
            "DRILL",
            "TORCH",
            "KNIFE",
        ),
        "HARTWELL",
    ),
    **dict.fromkeys(
        (
            "LAPTOP",
            "MONITOR",
            "DESK",
            "MOUSEPAD",
            "PHONE",
            "TAPE-PACKING",
            "LABELS",
            "MAILER",
            "BUBBLE",
        ),
        "MERIDIAN",
    ),
}


def supplier_code(sku: str) -> str:
    """The supplier of a SKU, by its family; KeyError for a family nobody supplies (a new
    demo product needs its family listed above)."""
    parts = sku.split("-")
    family = "-".join(parts[:2])
    return SUPPLIER_BY_FAMILY.get(family) or SUPPLIER_BY_FAMILY[parts[0]]


# --- Stock -----------------------------------------------------------------------------------

# Opening stock that is not left to the rule in opening_stock(). The wholesale sample needs
# up to 40 WIDGET-RED, 35 WIDGET-BLUE, 120 CABLE-USB-C-2M, 6 GADGET-PRO and 500 BOLT-M8-50:
# both warehouses hold plenty. The zeros and small numbers are deliberate, so backorders,
# reorder suggestions and split shipments have something to show.
OPENING_STOCK = {
    ("WIDGET-RED", "WH-NJ"): 480,
    ("WIDGET-RED", "WH-UK"): 360,
    ("WIDGET-BLUE", "WH-NJ"): 450,
    ("WIDGET-BLUE", "WH-UK"): 320,
    ("GADGET-PRO", "WH-NJ"): 72,
    ("GADGET-PRO", "WH-UK"): 48,
    ("GADGET-PRO", "ST-NYC"): 1,  # low: below its reorder point
    ("CABLE-USB-C-2M", "WH-NJ"): 900,
    ("CABLE-USB-C-2M", "WH-UK"): 640,
    ("BOLT-M8-50", "WH-NJ"): 4000,
    ("BOLT-M8-50", "WH-UK"): 2500,
    ("GADGET-MINI", "WH-NJ"): 0,  # out of stock everywhere: orders for it backorder
    ("GADGET-MINI", "WH-UK"): 0,
    ("GADGET-MINI", "ST-NYC"): 0,
    ("HEADPHONES-ANC", "WH-NJ"): 3,  # low
    ("HEADPHONES-ANC", "WH-UK"): 0,
    ("SSD-PORTABLE-1TB", "WH-NJ"): 0,  # only the UK and the store have it
    ("MONITOR-ARM", "WH-UK"): 2,
    ("KEYBOARD-US", "WH-NJ"): 4,
    ("WEBCAM-1080P", "ST-NYC"): 0,
}


class OpeningStock(NamedTuple):
    quantity: int
    safety_stock: int
    reorder_point: int
    reorder_qty: int


def _round(quantity: int) -> int:
    """Round to a quantity a buyer would order: 50s from 1000, 10s from 100, 5s from 20."""
    step = 50 if quantity >= 1000 else 10 if quantity >= 100 else 5 if quantity >= 20 else 1
    return max(step, round(quantity / step) * step)


def opening_stock(product: DemoProduct, location_code: str, location_kind: str) -> OpeningStock:
    normal = product.base if location_kind == "warehouse" else max(product.base // 10, 4)
    quantity = OPENING_STOCK.get((product.sku, location_code))
    if quantity is None:
        rng = random.Random(f"{product.sku}@{location_code}")  # str seeds are stable
        quantity = _round(int(normal * rng.uniform(0.8, 1.4)))
    return OpeningStock(
        quantity=quantity,
        safety_stock=normal // 20,
        reorder_point=_round(normal // 4),
        reorder_qty=_round(normal // 2),
    )


def bin_zone(product: DemoProduct, location_kind: str) -> str:
    """Slotting: heavy or bulky goods in C, bulk small parts in B, the rest in A;
    a store keeps its stock on the floor."""
    if location_kind != "warehouse":
        return "FLOOR"
    if product.grams >= 1000 or max(product.dims_mm) >= 400:
        return "C"
    if product.base >= 1000:
        return "B"
    return "A"


# --- Channels and customers ---------------------------------------------------------------

CHANNELS = (
    {
        "code": "web",
        "name": "Web shop",
        "kind": "web",
        "currency": "USD",
        "ship_within_hours": 24,
        "priority": 20,
        "allow_split": False,
        "routing_policy": "fastest",
    },
    {
        "code": "marketplace",
        "name": "Marketplace",
        "kind": "marketplace",
        "currency": "USD",
        "ship_within_hours": 48,
        "priority": 30,
        "allow_split": False,
        "routing_policy": "cheapest",
    },
    {
        "code": "phone",
        "name": "Phone orders",
        "kind": "phone",
        "currency": "USD",
        "ship_within_hours": 24,
        "priority": 20,
        "allow_split": False,
        "routing_policy": "fastest",
    },
    {
        "code": "wholesale",
        "name": "Wholesale (CSV)",
        "kind": "wholesale",
        "currency": "USD",
        "ship_within_hours": 72,
        "priority": 40,
        "allow_split": True,
        "routing_policy": "cheapest",
    },
    {
        "code": "store",
        "name": "SoHo store (ship from store)",
        "kind": "store",
        "currency": "USD",
        "ship_within_hours": 4,
        "priority": 10,
        "allow_split": False,
        "routing_policy": "fastest",
    },
)

WHOLESALE_CUSTOMERS = (
    {
        "code": "ACME-01",
        "name": "Acme Trading Ltd",
        "email": "orders@acme.example",
        "phone": "+44 20 7946 0958",
        "currency": "GBP",
        "credit_limit": Decimal("10000.00"),
        "payment_terms_days": 30,
    },
    {
        "code": "NORTHWIND",
        "name": "Northwind Traders",
        "email": "buying@northwind.example",
        "phone": "+1 206 555 0100",
        "currency": "USD",
        "credit_limit": Decimal("25000.00"),
        "payment_terms_days": 30,
    },
    # Over its credit line: the demo's credit holds are its orders (see demo_orders.py).
    {
        "code": "GLOBEX",
        "name": "Globex Hardware Supply",
        "email": "purchasing@globex.example",
        "phone": "+1 312 555 0147",
        "currency": "USD",
        "credit_limit": Decimal("4000.00"),
        "payment_terms_days": 30,
    },
)

# (name, e-mail, phone, currency); fictional numbers from the ranges set aside for drama.
RETAIL_CUSTOMERS = (
    ("Maria Garcia", "maria.garcia@example.com", "+1 212 555 0143", "USD"),
    ("James Okafor", "james.okafor@example.com", "+1 718 555 0172", "USD"),
    ("Emily Chen", "emily.chen@example.org", "+1 415 555 0119", "USD"),
    ("Noah Williams", "noah.williams@example.com", "+1 312 555 0186", "USD"),
    ("Liam O'Connor", "liam.oconnor@example.org", "+1 617 555 0124", "USD"),
    ("Ethan Tremblay", "ethan.tremblay@example.com", "+1 416 555 0165", "CAD"),
    ("Oliver Bennett", "oliver.bennett@example.com", "+44 20 7946 0321", "GBP"),
    ("Aisha Khan", "aisha.khan@example.org", "+44 161 496 0754", "GBP"),
    ("Sophie Laurent", "sophie.laurent@example.com", "", "EUR"),
    ("Hannah Müller", "hannah.mueller@example.org", "", "EUR"),
)

# --- Staff -------------------------------------------------------------------------------

# One user per role; the username is the role in lower case. All share DEMO_PASSWORD.
STAFF = (
    {"role": roles.ADMIN, "first_name": "Alex", "last_name": "Morgan", "superuser": True},
    {"role": roles.SUPPORT, "first_name": "Sam", "last_name": "Rivera"},
    {"role": roles.WAREHOUSE, "first_name": "Jordan", "last_name": "Lee"},
    {"role": roles.INVENTORY, "first_name": "Priya", "last_name": "Shah"},
    {"role": roles.FINANCE, "first_name": "Chris", "last_name": "Walker"},
)


# --- Purchasing and stock movements -----------------------------------------------------------

# A few weeks of back-office work, replayed through the inventory services once: the first
# run that finds none of its markers creates it all; later runs leave it (and whatever
# staff did since) alone. Purchase order and count notes end with DEMO_MARKER; the
# adjustments carry ADJUSTMENT_REFERENCE in the append-only ledger.
DEMO_MARKER = "(seed_demo)"
ADJUSTMENT_REFERENCE = "SEED-ADJUST"

# Who does what (usernames from STAFF): the inventory planner buys, transfers and signs off
# counts and write-offs; the warehouse receives and counts (DESIGN.md section 9).
PLANNER = "inventory"
WAREHOUSE_CLERK = "warehouse"


class DemoPurchaseOrder(NamedTuple):
    supplier: str
    location: str
    lines: tuple[tuple[str, int, Decimal], ...]  # (sku, quantity, unit cost)
    expected_in_days: int  # from the day of the seed; negative: it was due in the past
    note: str
    placed: bool = True
    deliveries: tuple[dict[str, int], ...] = ()  # one receipt each: sku -> quantity


PURCHASE_ORDERS = (
    DemoPurchaseOrder(
        supplier="VOLTCORE",
        location="WH-UK",
        lines=(
            ("CHARGER-USB-C-65W-UK", 150, Decimal("11.4000")),
            ("POWERBANK-20K", 90, Decimal("16.9500")),
            ("HUB-USB-C-7IN1", 70, Decimal("13.2000")),
        ),
        expected_in_days=14,
        note="Autumn top-up for the UK; waiting for the budget sign-off. " + DEMO_MARKER,
        placed=False,
    ),
    DemoPurchaseOrder(
        supplier="BRIGHTLINE",
        location="WH-NJ",
        lines=(
            ("GADGET-MINI", 120, Decimal("24.5000")),
            ("HEADPHONES-ANC", 70, Decimal("48.0000")),
        ),
        expected_in_days=7,
        note="Confirmed by Brightline; GADGET-MINI back in stock next week. " + DEMO_MARKER,
    ),
    DemoPurchaseOrder(
        supplier="HARTWELL",
        location="WH-NJ",
        lines=(
            ("BOLT-M6-30", 2000, Decimal("0.0600")),
            ("NUT-M6", 3000, Decimal("0.0200")),
            ("WASHER-M8", 4000, Decimal("0.0150")),
        ),
        expected_in_days=-1,
        note="First pallet in; the washers and the rest of the nuts follow. " + DEMO_MARKER,
        deliveries=({"BOLT-M6-30": 2000, "NUT-M6": 1500},),
    ),
    DemoPurchaseOrder(
        supplier="MERIDIAN",
        location="WH-UK",
        lines=(
            ("MONITOR-ARM", 30, Decimal("38.0000")),
            ("LAPTOP-STAND", 40, Decimal("17.5000")),
        ),
        expected_in_days=-4,
        note="Delivered in two drops. " + DEMO_MARKER,
        deliveries=({"MONITOR-ARM": 30}, {"LAPTOP-STAND": 40}),
    ),
)


class DemoTransfer(NamedTuple):
    from_location: str
    to_location: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    expected_in_days: int
    received: bool  # else left in transit


TRANSFERS = (
    DemoTransfer("WH-NJ", "ST-NYC", (("EARBUDS-BT", 12), ("POWERBANK-10K", 10)), -3, True),
    # The store's empty webcam peg and its last Gadget Pro, refilled tomorrow.
    DemoTransfer("WH-NJ", "ST-NYC", (("GADGET-PRO", 6), ("WEBCAM-1080P", 8)), 1, False),
)


class DemoCount(NamedTuple):
    location: str
    zone: str
    note: str
    variances: dict[str, int]  # sku -> counted minus on hand; every other line counts true
    posted: bool  # else left open, nothing counted yet


COUNTS = (
    DemoCount(
        "WH-UK",
        "A",
        "Weekly cycle count, zone A. " + DEMO_MARKER,
        {"EARBUDS-BT": -2, "CABLE-LIGHTNING-1M": 1},
        posted=True,
    ),
    DemoCount("WH-NJ", "C", "Quarterly count, bulky goods. " + DEMO_MARKER, {}, posted=False),
)

# (sku, location, signed quantity, note)
ADJUSTMENTS = (
    ("MOUSE-WIRELESS", "WH-NJ", -2, "damaged in aisle"),
    ("TAPE-PACKING-48", "WH-NJ", -6, "used at the packing benches"),
    ("SPEAKER-BT-MINI", "ST-NYC", -1, "display unit, scratched: written off"),
)
