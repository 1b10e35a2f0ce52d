"""The demo orders that `manage.py seed_demo --orders N` captures through the order services.

A pure plan: `demo_orders(count, anchor)` returns the same orders for the same arguments on
every machine and every run. Order i depends only on i and on the orders before it (the
stock and credit budgets below are spent in index order), never on N, so a larger N adds
orders after the ones a smaller N made. Every request carries `placed_at` relative to
`anchor` (the day the demo was first seeded), so a re-run sends byte-identical requests and
order_capture answers with the existing order instead of a Conflict.

Each order is a capture request (../shared/API.md's shape) plus the steps staff take after
it (cancel, cancel some lines, open or resolve holds). The mix covers every status the
order services reach before fulfilment exists: allocated, backordered (GADGET-MINI is out of
stock everywhere), on hold (payment, credit, fraud, address) and cancelled, plus partly
cancelled lines and resolved holds.

What keeps the rest of the demo working:
- Stock: orders that will reserve spend at most STOCK_SHARE of each SKU's opening stock
  above safety stock at the warehouse that will ship them (warehouse_for), so no SKU is
  drained, the only backorders are the Gadget Mini's, and the wholesale sample CSV still
  imports from stock (oms/console/demo_data.py's note on it).
- Credit: ACME-01 and NORTHWIND are kept under CREDIT_SHARE of their credit limits (the
  sample CSV orders on their account must not hit a credit hold); the credit holds come
  from a third account, GLOBEX, whose big order is over its limit.
- Fraud: every order ships to its own street address (the house number comes from the
  index), and a known retail customer orders at most KNOWN_CUSTOMER_ORDERS times, so the
  orders-per-address rule never fires by accident; the fraud holds are the designed ones
  (billing country differs from shipping, high value, new customer).
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from oms.console import demo_data

REF_PREFIX = "DEMO-"
STOCK_SHARE = Decimal("0.25")
CREDIT_SHARE = Decimal("0.5")
KNOWN_CUSTOMER_ORDERS = 2
SUPPORT = "support"  # usernames from demo_data.STAFF
FINANCE = "finance"

# Retail prices in USD. Wholesale pays WHOLESALE_DISCOUNT of them.
PRICES = {
    "WIDGET-RED": "4.99",
    "WIDGET-BLUE": "4.99",
    "WIDGET-BLACK": "5.49",
    "WIDGET-XL-RED": "8.99",
    "GADGET-PRO": "189.00",
    "GADGET-MINI": "89.00",
    "GADGET-PRO-CASE": "24.99",
    "CABLE-USB-C-2M": "14.99",
    "CABLE-USB-C-1M": "11.99",
    "CABLE-USB-A-C-1M": "8.99",
    "CABLE-LIGHTNING-1M": "12.99",
    "CABLE-HDMI-2M": "16.99",
    "CABLE-HDMI-5M": "27.99",
    "CABLE-DP-2M": "18.99",
    "CABLE-CAT6-3M": "7.99",
    "CHARGER-USB-C-20W": "19.99",
    "CHARGER-USB-C-65W": "44.99",
    "CHARGER-USB-C-65W-UK": "44.99",
    "POWERBANK-10K": "29.99",
    "POWERBANK-20K": "49.99",
    "ADAPTER-TRAVEL": "24.99",
    "HUB-USB-C-7IN1": "39.99",
    "MOUSE-WIRELESS": "24.99",
    "KEYBOARD-US": "59.99",
    "KEYBOARD-UK": "59.99",
    "WEBCAM-1080P": "49.99",
    "HEADPHONES-ANC": "149.00",
    "EARBUDS-BT": "39.99",
    "SPEAKER-BT-MINI": "34.99",
    "SSD-PORTABLE-1TB": "109.00",
    "LAPTOP-STAND": "49.99",
    "MONITOR-ARM": "119.00",
    "DESK-LAMP-LED": "54.99",
    "MOUSEPAD-XL": "19.99",
    "PHONE-STAND": "12.99",
    "BOLT-M6-30": "0.15",
    "BOLT-M8-50": "0.25",
    "BOLT-M10-60": "0.45",
    "NUT-M6": "0.05",
    "NUT-M8": "0.08",
    "WASHER-M8": "0.04",
    "SCREW-WOOD-4X40": "6.99",
    "ANCHOR-8MM-50": "4.99",
    "DRIVER-SET-32": "19.99",
    "HEX-KEY-SET-9": "9.99",
    "PLIERS-COMBI-180": "14.99",
    "HAMMER-CLAW-16OZ": "17.99",
    "TAPE-MEASURE-5M": "9.99",
    "LEVEL-600": "21.99",
    "DRILL-BITS-HSS-19": "24.99",
    "TORCH-LED-500": "22.99",
    "KNIFE-UTILITY": "7.99",
    "TAPE-PACKING-48": "3.49",
    "LABELS-100X150": "18.99",
    "MAILER-BOX-S": "0.89",
    "BUBBLE-WRAP-50M": "29.99",
}
WHOLESALE_DISCOUNT = Decimal("0.55")
# Per unit of USD; the shop prices each market by hand, this is close enough for a demo.
FX = {"USD": Decimal("1"), "CAD": Decimal("1.35"), "GBP": Decimal("0.79"), "EUR": Decimal("0.92")}

# What each kind of buyer orders (weights: how often, relative to the rest).
RETAIL_SKUS = {
    "WIDGET-RED": 5,
    "WIDGET-BLUE": 5,
    "WIDGET-BLACK": 3,
    "WIDGET-XL-RED": 2,
    "GADGET-PRO": 2,
    "GADGET-PRO-CASE": 3,
    "CABLE-USB-C-2M": 6,
    "CABLE-USB-C-1M": 5,
    "CABLE-USB-A-C-1M": 4,
    "CABLE-LIGHTNING-1M": 3,
    "CABLE-HDMI-2M": 3,
    "CABLE-HDMI-5M": 1,
    "CABLE-DP-2M": 1,
    "CABLE-CAT6-3M": 2,
    "CHARGER-USB-C-20W": 4,
    "CHARGER-USB-C-65W": 3,
    "POWERBANK-10K": 3,
    "POWERBANK-20K": 2,
    "ADAPTER-TRAVEL": 2,
    "HUB-USB-C-7IN1": 2,
    "MOUSE-WIRELESS": 4,
    "KEYBOARD-US": 1,
    "WEBCAM-1080P": 2,
    "HEADPHONES-ANC": 1,
    "EARBUDS-BT": 4,
    "SPEAKER-BT-MINI": 2,
    "SSD-PORTABLE-1TB": 1,
    "LAPTOP-STAND": 2,
    "MONITOR-ARM": 1,
    "DESK-LAMP-LED": 1,
    "MOUSEPAD-XL": 2,
    "PHONE-STAND": 3,
    "DRIVER-SET-32": 2,
    "HEX-KEY-SET-9": 1,
    "PLIERS-COMBI-180": 1,
    "TAPE-MEASURE-5M": 2,
    "TORCH-LED-500": 2,
    "KNIFE-UTILITY": 1,
}
# UK shoppers get UK plugs and keyboards.
UK_SWAPS = {"CHARGER-USB-C-65W": "CHARGER-USB-C-65W-UK", "KEYBOARD-US": "KEYBOARD-UK"}
UK_ONLY = frozenset(UK_SWAPS.values())
US_ONLY = frozenset(UK_SWAPS) | {"CHARGER-USB-C-20W"}
# (sku, smallest, largest, step): trade customers order in cartons.
WHOLESALE_SKUS = (
    ("WIDGET-RED", 10, 30, 5),
    ("WIDGET-BLUE", 10, 30, 5),
    ("WIDGET-BLACK", 10, 20, 5),
    ("CABLE-USB-C-2M", 20, 60, 10),
    ("CABLE-USB-C-1M", 20, 60, 10),
    ("CABLE-CAT6-3M", 10, 40, 10),
    ("BOLT-M6-30", 200, 600, 100),
    ("BOLT-M8-50", 100, 300, 50),
    ("BOLT-M10-60", 100, 300, 50),
    ("NUT-M6", 200, 1000, 100),
    ("NUT-M8", 200, 800, 100),
    ("WASHER-M8", 500, 1500, 250),
    ("SCREW-WOOD-4X40", 5, 20, 5),
    ("ANCHOR-8MM-50", 10, 30, 5),
    ("TAPE-PACKING-48", 12, 36, 12),
    ("LABELS-100X150", 5, 15, 5),
    ("MAILER-BOX-S", 50, 200, 50),
)
# Worth a fraud check: high value, easy to sell on. (sku, units) tried in a random order
# until the order passes OMS_FRAUD_HIGH_VALUE (1000 by default).
HIGH_VALUE_LINES = (
    ("GADGET-PRO", 2),
    ("MONITOR-ARM", 2),
    ("SSD-PORTABLE-1TB", 2),
    ("LAPTOP-STAND", 3),
    ("POWERBANK-20K", 3),
    ("KEYBOARD-US", 2),
    ("DESK-LAMP-LED", 2),
    ("HUB-USB-C-7IN1", 3),
)
HIGH_VALUE = Decimal("1000")
# GLOBEX's big order: more than its credit line, in goods the shop has plenty of.
CREDIT_HOLD_LINES = (("WIDGET-BLACK", 400), ("CABLE-HDMI-2M", 200), ("POWERBANK-10K", 120))

# (city, region, postcode, country); postcodes that pass orders/validation.py.
CITIES = {
    "US": (
        ("San Francisco", "CA", "94105"),
        ("Austin", "TX", "78701"),
        ("Chicago", "IL", "60601"),
        ("Seattle", "WA", "98101"),
        ("Boston", "MA", "02108"),
        ("Denver", "CO", "80202"),
        ("Miami", "FL", "33131"),
        ("Portland", "OR", "97205"),
        ("Brooklyn", "NY", "11201"),
        ("Atlanta", "GA", "30303"),
        ("Minneapolis", "MN", "55401"),
        ("Philadelphia", "PA", "19103"),
    ),
    "CA": (("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1")),
    "GB": (
        ("London", "", "SW1A 1AA"),
        ("Manchester", "", "M1 1AE"),
        ("Leeds", "", "LS1 4AP"),
        ("Bristol", "", "BS1 4DJ"),
    ),
    "DE": (("Berlin", "", "10115"),),
    "FR": (("Paris", "", "75002"),),
}
CURRENCY = {"US": "USD", "CA": "CAD", "GB": "GBP", "DE": "EUR", "FR": "EUR"}
STREETS = (
    "Market Street",
    "Oak Avenue",
    "Maple Drive",
    "Cedar Lane",
    "Park Road",
    "Hill Street",
    "Lake View Terrace",
    "Station Road",
    "Mill Lane",
    "Church Street",
    "Harbour Road",
    "Elm Court",
)
FIRST_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Ella",
    "Finn",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kira",
    "Leo",
    "Mia",
    "Nina",
    "Omar",
    "Piper",
    "Quinn",
    "Ruby",
    "Sami",
    "Theo",
)
LAST_NAMES = (
    "Adams",
    "Brooks",
    "Carter",
    "Diaz",
    "Evans",
    "Fischer",
    "Gupta",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Murphy",
    "Nakamura",
    "Olsen",
    "Patel",
    "Reyes",
    "Schmidt",
    "Tanaka",
    "Walsh",
)
# Where each seeded retail customer lives (demo_data.RETAIL_CUSTOMERS, by e-mail).
KNOWN_CUSTOMER_HOMES = {
    "maria.garcia@example.com": ("214 Mulberry Street", "New York", "NY", "10012", "US"),
    "james.okafor@example.com": ("88 Atlantic Avenue", "Brooklyn", "NY", "11201", "US"),
    "emily.chen@example.org": ("1450 Valencia Street", "San Francisco", "CA", "94110", "US"),
    "noah.williams@example.com": ("2130 N Clark Street", "Chicago", "IL", "60614", "US"),
    "liam.oconnor@example.org": ("45 Beacon Street", "Boston", "MA", "02108", "US"),
    "ethan.tremblay@example.com": ("350 Queen Street West", "Toronto", "ON", "M5V 2A2", "CA"),
    "oliver.bennett@example.com": ("12 Camden High Street", "London", "", "NW1 0JH", "GB"),
    "aisha.khan@example.org": ("7 Oxford Road", "Manchester", "", "M1 5QA", "GB"),
    "sophie.laurent@example.com": ("18 Rue Oberkampf", "Paris", "", "75011", "FR"),
    "hannah.mueller@example.org": ("Kastanienallee 21", "Berlin", "", "10435", "DE"),
}
# Trade accounts (codes from demo_data.WHOLESALE_CUSTOMERS): name, currency, ship-to
# country and the cities of their branches. Branch addresses differ from the sample CSV's.
TRADE_ACCOUNTS = {
    "ACME-01": ("Acme Trading Ltd", "GBP", "GB"),
    "NORTHWIND": ("Northwind Traders", "USD", "US"),
    "GLOBEX": ("Globex Hardware Supply", "USD", "US"),
}


class Step(NamedTuple):
    """What staff do to the order after it is captured."""

    action: str  # "cancel" | "cancel_lines" | "hold" | "resolve_holds"
    actor: str  # username
    reason: str = ""
    lines: tuple[tuple[int, int], ...] = ()  # cancel_lines: (line number, units)
    kind: str = ""  # hold: the hold kind


@dataclass(frozen=True)
class DemoOrder:
    index: int
    scenario: str
    payload: dict
    source: str  # how it came in: api, phone, csv, store
    actor: str | None  # who entered it (phone orders), else None
    steps: tuple[Step, ...] = ()

    @property
    def external_ref(self) -> str:
        return self.payload["external_ref"]


# Scenario -> relative weight. The first len(SCENARIOS) orders take each scenario once, in
# this order, so even a small N shows every status; later ones follow the weights.
SCENARIOS = {
    "web": 28,
    "marketplace": 14,
    "phone": 7,
    "store": 6,
    "wholesale": 7,
    "backorder": 6,
    "payment_hold": 4,
    "payment_failed": 1.5,
    "payment_resolved": 4,
    "fraud_hold": 1.2,
    "fraud_resolved": 1,
    "credit_hold": 0.6,
    "cancelled": 6,
    "cancelled_unpaid": 2,
    "lines_cancelled": 4,
    "backorder_line_dropped": 2,
    "address_hold": 2,
}
# Orders that stay on hold reserve nothing; the rest spend the stock budget.
NOT_RESERVING = frozenset({"payment_hold", "payment_failed", "fraud_hold", "credit_hold"})


def price(sku: str, currency: str, *, trade: bool = False) -> Decimal:
    usd = Decimal(PRICES[sku]) * (WHOLESALE_DISCOUNT if trade else 1)
    return (usd * FX[currency]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def stock_budgets() -> dict[tuple[str, str], int]:
    """Units of each SKU that demo orders may reserve at each warehouse: STOCK_SHARE of
    its opening stock above safety stock (computed from demo_data, not the database, so
    the plan is the same everywhere). The store is left out: it ships web orders only, and
    from its shelf."""
    budgets = {}
    for location in demo_data.LOCATIONS:
        if location["kind"] != "warehouse":
            continue
        for product in demo_data.PRODUCTS:
            if location["code"] not in product.stocked_at or not product.active:
                continue
            opening = demo_data.opening_stock(product, location["code"], "warehouse")
            free = max(opening.quantity - opening.safety_stock, 0)
            budgets[product.sku, location["code"]] = int(free * STOCK_SHARE)
    return budgets


def warehouse_for(country: str) -> str:
    """Where an order's stock is budgeted. The priority router ships from WH-NJ whenever
    it holds every line, so only orders with UK-only goods (UK plugs and keyboards, which
    UK shoppers get) are budgeted at WH-UK; each order's lines fit one warehouse's budget,
    so the router finds one location that ships them all."""
    return "WH-UK" if country == "GB" else "WH-NJ"


class _Planner:
    def __init__(self, anchor: datetime):
        self.anchor = anchor.replace(second=0, microsecond=0)
        self.budget = stock_budgets()
        self.credit_used: Counter[str] = Counter()
        self.known_orders: Counter[str] = Counter()
        self.credit_limits = {
            row["code"]: row["credit_limit"] for row in demo_data.WHOLESALE_CUSTOMERS
        }

    # --- parts of a request ------------------------------------------------------------

    def placed_at(self, rng: random.Random) -> str:
        """Mostly the last day or two before the anchor; a few a few days older."""
        minutes = min(int(rng.expovariate(1 / 600)), 5 * 24 * 60)
        return (self.anchor - timedelta(minutes=minutes + 1)).isoformat()

    @staticmethod
    def address(index: int, rng: random.Random, name: str, country: str, company="") -> dict:
        city, region, postcode = rng.choice(CITIES[country])
        # The house number comes from the index: every order ships to its own address.
        return {
            "name": name,
            "company": company,
            "line1": f"{100 + index} {rng.choice(STREETS)}",
            "line2": "",
            "city": city,
            "region": region,
            "postcode": postcode,
            "country": country,
            "phone": "",
        }

    def shopper(
        self, index: int, rng: random.Random, *, known_ok=True, email=True, us_only=False
    ) -> tuple[dict, dict, str]:
        """(customer, ship_to, currency): a seeded retail customer now and then (each at
        most KNOWN_CUSTOMER_ORDERS times), otherwise a new one."""
        if known_ok and not us_only and rng.random() < 0.2:
            name, mail, _phone, _currency = rng.choice(demo_data.RETAIL_CUSTOMERS)
            if self.known_orders[mail] < KNOWN_CUSTOMER_ORDERS:
                self.known_orders[mail] += 1
                line1, city, region, postcode, country = KNOWN_CUSTOMER_HOMES[mail]
                ship_to = {
                    "name": name,
                    "company": "",
                    "line1": line1,
                    "line2": "",
                    "city": city,
                    "region": region,
                    "postcode": postcode,
                    "country": country,
                    "phone": "",
                }
                return {"email": mail, "name": name}, ship_to, CURRENCY[country]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        roll = rng.random()
        country = "US" if roll < 0.82 or us_only else "CA" if roll < 0.9 else "GB"
        customer = {"name": name}
        if email:
            customer["email"] = f"{first}.{last}.{index}@example.net".lower()
        return customer, self.address(index, rng, name, country), CURRENCY[country]

    def pick_lines(
        self, rng: random.Random, *, count: int, country: str, reserving: bool, most: int = 3
    ) -> list[tuple[str, int]]:
        """Retail lines: distinct SKUs, mostly 1 unit, within one warehouse's budget."""
        where = warehouse_for(country)
        skus = list(RETAIL_SKUS)
        weights = [RETAIL_SKUS[s] for s in skus]
        lines: list[tuple[str, int]] = []
        for _ in range(count * 4):
            if len(lines) == count:
                break
            sku = rng.choices(skus, weights)[0]
            if country == "GB":
                sku = UK_SWAPS.get(sku, sku)
            elif sku in UK_ONLY:
                continue
            if country != "US" and sku in US_ONLY:
                continue
            quantity = 1 if rng.random() < 0.7 else rng.randint(2, most)
            if sku in dict(lines) or not self.spend(sku, quantity, reserving, where):
                continue
            lines.append((sku, quantity))
        if not lines:  # every pick was over budget: the cables never run short
            self.spend("CABLE-USB-C-1M", 1, reserving, where)
            lines.append(("CABLE-USB-C-1M", 1))
        return lines

    def spend(self, sku: str, quantity: int, reserving: bool, where: str = "WH-NJ") -> bool:
        """Take `quantity` of the budget at `where`; False (nothing taken) when it does not
        fit. Orders that stay on hold reserve nothing and take nothing."""
        if not reserving:
            return True
        if self.budget.get((sku, where), 0) < quantity:
            return False
        self.budget[sku, where] -= quantity
        return True

    @staticmethod
    def request(
        *,
        index: int,
        channel: str,
        placed_at: str,
        currency: str,
        customer: dict,
        ship_to: dict,
        lines: list[tuple[str, int]],
        trade: bool = False,
        payment: str | None = "paid",
        bill_country: str = "",
        po_number: str = "",
        notes: str = "",
    ) -> dict:
        priced = [(sku, quantity, price(sku, currency, trade=trade)) for sku, quantity in lines]
        total = sum((p * q for _, q, p in priced), Decimal("0"))
        payload = {
            "channel": channel,
            "external_ref": f"{REF_PREFIX}{channel.upper()}-{index:06d}",
            "placed_at": placed_at,
            "currency": currency,
            "customer": customer,
            "ship_to": ship_to,
            "lines": [
                {"sku": sku, "quantity": quantity, "unit_price": str(unit)}
                for sku, quantity, unit in priced
            ],
            "notes": notes,
        }
        if payment:
            payload["payment"] = {
                "status": payment,
                "amount": str(total if payment in ("paid", "authorized") else Decimal("0")),
                "reference": f"pi_demo_{index:06d}",
            }
        if bill_country:
            payload["bill_to"] = {"country": bill_country}
        if po_number:
            payload["po_number"] = po_number
        return payload

    # --- scenarios --------------------------------------------------------------------

    def retail(self, index, rng, scenario, channel="web", *, payment="paid") -> dict:
        """One shopper's order: 1 to 3 lines (marketplaces pass no e-mail address; the
        store ships to nearby, US, addresses)."""
        customer, ship_to, currency = self.shopper(
            index,
            rng,
            known_ok=channel != "marketplace",
            email=channel != "marketplace",
            us_only=channel == "store",
        )
        picked = self.pick_lines(
            rng,
            count=1 if rng.random() < 0.55 else rng.randint(2, 3),
            country=ship_to["country"],
            reserving=scenario not in NOT_RESERVING,
        )
        return self.request(
            index=index,
            channel=channel,
            placed_at=self.placed_at(rng),
            currency=currency,
            customer=customer,
            ship_to=ship_to,
            lines=picked,
            payment=payment,
        )

    def trade_request(self, index, rng, account: str, lines, *, reserving: bool) -> dict:
        name, currency, country = TRADE_ACCOUNTS[account]
        branch = rng.choice(CITIES[country])[0]
        ship_to = self.address(index, rng, "Goods In", country, company=f"{name}, {branch}")
        return self.request(
            index=index,
            channel="wholesale",
            placed_at=self.placed_at(rng),
            currency=currency,
            customer={"code": account},
            ship_to=ship_to,
            lines=lines,
            trade=True,
            payment=None,
            po_number=f"PO-{account[:4]}-{index:05d}",
        )

    def wholesale(self, index: int, rng: random.Random) -> dict | None:
        """A trade order on account, within the stock and credit budgets; None when both
        accounts are at their share of credit (the caller makes it a web order instead)."""
        lines = []
        for sku, low, high, step in rng.sample(WHOLESALE_SKUS, rng.randint(1, 4)):
            quantity = rng.randrange(low, high + 1, step)
            if self.spend(sku, quantity, True):
                lines.append((sku, quantity))
        if not lines:
            return None
        for account in rng.sample(["ACME-01", "NORTHWIND"], 2):
            currency = TRADE_ACCOUNTS[account][1]
            total = sum(price(s, currency, trade=True) * q for s, q in lines)
            if self.credit_used[account] + total <= self.credit_limits[account] * CREDIT_SHARE:
                self.credit_used[account] += total
                return self.trade_request(index, rng, account, lines, reserving=True)
        for sku, quantity in lines:  # give the stock back: this order is not made
            self.budget[sku, "WH-NJ"] += quantity
        return None

    def build(self, index: int, scenario: str, rng: random.Random) -> DemoOrder:
        source, actor, steps = "api", None, ()
        payload = None
        if scenario in ("web", "marketplace"):
            payload = self.retail(index, rng, scenario, scenario)
        elif scenario == "phone":
            source, actor = "phone", SUPPORT
            payload = self.retail(index, rng, scenario, "phone", payment="authorized")
        elif scenario == "store":
            source = "store"
            payload = self.retail(index, rng, scenario, "store")
        elif scenario == "wholesale":
            payload = self.wholesale(index, rng)
            source = "csv"
            if payload is None:
                scenario, source = "web", "api"
                payload = self.retail(index, rng, "web")
        elif scenario in ("backorder", "backorder_line_dropped"):
            # GADGET-MINI: out of stock everywhere, on order from Brightline.
            wanted = [("GADGET-MINI", 1 if rng.random() < 0.8 else 2)]
            customer, ship_to, currency = self.shopper(index, rng)
            extra = self.pick_lines(rng, count=1, country=ship_to["country"], reserving=True)
            channel = rng.choice(["web", "web", "marketplace"])
            payload = self.request(
                index=index,
                channel=channel,
                placed_at=self.placed_at(rng),
                currency=currency,
                customer=customer if channel == "web" else {"name": customer["name"]},
                ship_to=ship_to,
                # The Gadget Mini first or last; when it is dropped later, last.
                lines=wanted + extra
                if scenario == "backorder" and rng.random() < 0.5
                else extra + wanted,
            )
            if scenario == "backorder_line_dropped":
                line_no = len(payload["lines"])  # GADGET-MINI is last
                steps = (
                    Step(
                        "cancel_lines",
                        SUPPORT,
                        "Customer would rather not wait for the Gadget Mini.",
                        lines=((line_no, wanted[0][1]),),
                    ),
                )
        elif scenario in ("payment_hold", "cancelled_unpaid", "payment_resolved"):
            channel = rng.choice(["web", "phone"])
            payment = "pending" if channel == "web" else None
            payload = self.retail(index, rng, scenario, channel, payment=payment)
            if channel == "phone":
                source, actor = "phone", SUPPORT
            if scenario == "cancelled_unpaid":
                steps = (Step("cancel", SUPPORT, "Payment never arrived."),)
            elif scenario == "payment_resolved":
                steps = (Step("resolve_holds", FINANCE, "Bank transfer received."),)
        elif scenario == "payment_failed":
            payload = self.retail(index, rng, scenario, "web", payment="failed")
        elif scenario in ("fraud_hold", "fraud_resolved"):
            payload = self.fraud(index, rng, reserving=scenario == "fraud_resolved")
            if scenario == "fraud_resolved":
                steps = (
                    Step("resolve_holds", SUPPORT, "Called the customer: genuine gift order."),
                )
        elif scenario == "credit_hold":
            source = "csv"
            payload = self.trade_request(
                index, rng, "GLOBEX", list(CREDIT_HOLD_LINES), reserving=False
            )
        elif scenario == "cancelled":
            payload = self.retail(index, rng, scenario, rng.choice(["web", "marketplace"]))
            steps = (
                Step(
                    "cancel",
                    SUPPORT,
                    rng.choice(("Customer changed their mind.", "Duplicate order.")),
                ),
            )
        elif scenario == "lines_cancelled":
            customer, ship_to, currency = self.shopper(index, rng)
            lines = self.pick_lines(
                rng, count=rng.randint(2, 3), country=ship_to["country"], reserving=True, most=4
            )
            if len(lines) == 1:
                lines = [(lines[0][0], max(lines[0][1], 2))]
            payload = self.request(
                index=index,
                channel="web",
                placed_at=self.placed_at(rng),
                currency=currency,
                customer=customer,
                ship_to=ship_to,
                lines=lines,
            )
            quantity = lines[-1][1]
            cancel = quantity - 1 if quantity > 1 and len(lines) == 1 else quantity
            steps = (
                Step(
                    "cancel_lines",
                    SUPPORT,
                    "Customer asked to remove it before dispatch.",
                    lines=((len(lines), cancel),),
                ),
            )
        elif scenario == "address_hold":
            payload = self.retail(index, rng, scenario, "web")
            steps = (
                Step(
                    "hold",
                    SUPPORT,
                    "Customer is moving; waiting for the new delivery address.",
                    kind="address",
                ),
            )
        else:
            raise ValueError(f"unknown demo scenario {scenario!r}")
        return DemoOrder(index, scenario, payload, source, actor, steps)

    def fraud(self, index: int, rng: random.Random, *, reserving: bool) -> dict:
        """A new customer, a high value, and a card from another country: score 80 of 50."""
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        lines: list[tuple[str, int]] = []
        total = Decimal("0")
        for sku, quantity in rng.sample(HIGH_VALUE_LINES, len(HIGH_VALUE_LINES)):
            if total >= HIGH_VALUE:
                break
            if self.spend(sku, quantity, reserving, "WH-NJ"):
                lines.append((sku, quantity))
                total += Decimal(PRICES[sku]) * quantity
        return self.request(
            index=index,
            channel="web",
            placed_at=self.placed_at(rng),
            currency="USD",
            customer={"email": f"{first}.{last}.{index}@example.net".lower(), "name": name},
            ship_to=self.address(index, rng, name, "US"),
            lines=lines,
            bill_country=rng.choice(("NG", "RU", "VN", "BR")),
        )


def scenario_sequence(count: int) -> list[str]:
    """Each scenario once, then a smooth weighted round robin (nginx's): every prefix of
    the sequence has each scenario in proportion to its weight, give or take one."""
    sequence = list(SCENARIOS)[:count]
    current = dict.fromkeys(SCENARIOS, 0.0)
    total = sum(SCENARIOS.values())
    while len(sequence) < count:
        for name, weight in SCENARIOS.items():
            current[name] += weight
        chosen = max(current, key=current.__getitem__)
        current[chosen] -= total
        sequence.append(chosen)
    return sequence


def demo_orders(count: int, anchor: datetime) -> list[DemoOrder]:
    """The first `count` demo orders (see the module docstring)."""
    planner = _Planner(anchor)
    return [
        # Per-order randomness from a str seed: stable across runs and Python versions.
        planner.build(index, scenario, random.Random(f"demo-order-{index}"))
        for index, scenario in enumerate(scenario_sequence(count), start=1)
    ]
