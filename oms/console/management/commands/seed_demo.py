"""`manage.py seed_demo`: a believable demo business (locations, bins, products, opening
stock, channels, customers, one staff user per role), so a first `make run` shows a
live console. The data is in oms/console/demo_data.py.

Idempotent: every record is looked up by its natural key and created only when missing;
an existing record is left as it is (no update, so no history row and no edit undone).
Opening stock goes in through the inventory ledger only when its stock level is new.
"""

from collections import Counter
from itertools import cycle

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from inventory.models import Bin, Location, Product, StockLevel
from inventory.services import stock_move
from oms.console import demo_data
from oms.core.roles import roles_setup
from orders.models import Channel, Customer

KINDS = ("locations", "bins", "products", "stock levels", "channels", "customers", "users")


class Command(BaseCommand):
    help = "Create the demo business (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        self.created: Counter[str] = Counter()
        self.existing: Counter[str] = Counter()
        self.units_received = 0
        with transaction.atomic():
            roles_setup()  # the groups the staff users join; also works before setup_roles
            locations = self.seed_locations()
            bins = self.seed_bins(locations)
            products = self.seed_products()
            self.seed_stock(locations, bins, products)
            self.seed_channels()
            self.seed_customers()
            self.seed_users()
        for kind in KINDS:
            self.stdout.write(
                f"{kind:<13} {self.created[kind]:>4} created {self.existing[kind]:>4} existing"
            )
        self.stdout.write(
            f"opening stock {self.units_received} units received, "
            f"ledger reference {demo_data.OPENING_REFERENCE}"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at http://127.0.0.1:8000/admin/ as admin / {demo_data.DEMO_PASSWORD}"
            )
        )

    def count(self, kind: str, created: bool) -> None:
        (self.created if created else self.existing)[kind] += 1

    def seed_locations(self) -> dict[str, Location]:
        locations = {}
        for row in demo_data.LOCATIONS:
            code, defaults = row["code"], {k: v for k, v in row.items() if k != "code"}
            locations[code], created = Location.objects.get_or_create(code=code, defaults=defaults)
            self.count("locations", created)
        return locations

    def seed_bins(self, locations: dict[str, Location]) -> dict[tuple[str, str], list[Bin]]:
        """Returns the bins per (location code, zone), in walk order."""
        by_zone: dict[tuple[str, str], list[Bin]] = {}
        for code, layout in demo_data.BINS.items():
            for position, (bin_code, zone) in enumerate(layout, start=1):
                bin_, created = Bin.objects.get_or_create(
                    location=locations[code],
                    code=bin_code,
                    defaults={
                        "zone": zone,
                        "pick_sequence": position * demo_data.PICK_SEQUENCE_STEP,
                    },
                )
                by_zone.setdefault((code, zone), []).append(bin_)
                self.count("bins", created)
        return by_zone

    def seed_products(self) -> dict[str, Product]:
        products = {}
        for row in demo_data.PRODUCTS:
            length, width, height = row.dims_mm
            products[row.sku], created = Product.objects.get_or_create(
                sku=row.sku,
                defaults={
                    "barcode": demo_data.barcode(row),
                    "name": row.name,
                    "weight_grams": row.grams,
                    "length_mm": length,
                    "width_mm": width,
                    "height_mm": height,
                    "active": row.active,
                },
            )
            self.count("products", created)
        return products

    def seed_stock(
        self,
        locations: dict[str, Location],
        bins: dict[tuple[str, str], list[Bin]],
        products: dict[str, Product],
    ) -> None:
        # Each zone's bins are handed out in turn, so products spread over the shelves; the
        # bin a product is slotted in is its pick bin and where its opening stock goes.
        next_bin = {key: cycle(zone_bins) for key, zone_bins in bins.items()}
        for row in demo_data.PRODUCTS:
            for code in row.stocked_at:
                location = locations[code]
                opening = demo_data.opening_stock(row, code, location.kind)
                pick_bin = next(next_bin[code, demo_data.bin_zone(row, location.kind)])
                level, created = StockLevel.objects.get_or_create(
                    product=products[row.sku],
                    location=location,
                    defaults={
                        "bin": pick_bin,
                        "safety_stock": opening.safety_stock,
                        "reorder_point": opening.reorder_point,
                        "reorder_qty": opening.reorder_qty,
                    },
                )
                self.count("stock levels", created)
                if created and opening.quantity:
                    stock_move(
                        product=level.product,
                        location=location,
                        quantity=opening.quantity,
                        reason="receipt",
                        reference=demo_data.OPENING_REFERENCE,
                        bin=pick_bin,
                        note="Opening stock (seed_demo)",
                    )
                    self.units_received += opening.quantity

    def seed_channels(self) -> None:
        for row in demo_data.CHANNELS:
            code, defaults = row["code"], {k: v for k, v in row.items() if k != "code"}
            _, created = Channel.objects.get_or_create(code=code, defaults=defaults)
            self.count("channels", created)

    def seed_customers(self) -> None:
        for row in demo_data.WHOLESALE_CUSTOMERS:
            code, defaults = row["code"], {k: v for k, v in row.items() if k != "code"}
            _, created = Customer.objects.get_or_create(
                code=code, defaults={**defaults, "kind": Customer.Kind.WHOLESALE}
            )
            self.count("customers", created)
        for name, email, phone, currency in demo_data.RETAIL_CUSTOMERS:
            _, created = Customer.objects.get_or_create(
                kind=Customer.Kind.RETAIL,
                email=email,
                defaults={"name": name, "phone": phone, "currency": currency},
            )
            self.count("customers", created)

    def seed_users(self) -> None:
        """Created with the demo password; an existing user (changed password, groups,
        names) is left alone."""
        User = get_user_model()
        for row in demo_data.STAFF:
            username = row["role"].lower()
            if User.objects.filter(username=username).exists():
                self.count("users", False)
                continue
            manager = User.objects
            create = manager.create_superuser if row.get("superuser") else manager.create_user
            user = create(
                username=username,
                email=f"{row['first_name']}.{row['last_name']}@example.com".lower(),
                password=demo_data.DEMO_PASSWORD,
                first_name=row["first_name"],
                last_name=row["last_name"],
                is_staff=True,
            )
            user.groups.add(Group.objects.get(name=row["role"]))
            self.count("users", True)
