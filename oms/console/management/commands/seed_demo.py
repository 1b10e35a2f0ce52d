"""`manage.py seed_demo`: a believable demo business (locations, bins, suppliers, products,
opening stock, channels, customers, one staff user per role, and a few weeks of
purchasing, transfers, cycle counts and adjustments), so a first `make run` shows a live
console. The data is in oms/console/demo_data.py.

Idempotent: every record is looked up by its natural key and created only when missing;
an existing record is left as it is (no update, so no history row and no edit undone).
The one exception fills a gap: a product without a supplier gets its family's supplier.
Opening stock goes in through the inventory ledger only when its stock level is new.

The demo activity (purchase orders, transfers, counts, adjustments) has no natural key:
it is created once, through the inventory services as staff would, when none of its
markers exists (see demo_data.DEMO_MARKER and ADJUSTMENT_REFERENCE); later runs leave it,
and whatever staff did since, alone.

Demo orders (`--orders N`, planned in demo_orders.py) are keyed like every order, by
(channel, external_ref) with refs such as DEMO-WEB-000123: each goes through order_capture,
which answers a re-run with the existing order (created=False), so nothing doubles and a
larger N adds only the orders still missing. The steps staff take after a capture (cancel,
cancel lines, holds) run only for an order captured in this run.
"""

from collections import Counter
from datetime import timedelta
from itertools import cycle

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models import Count, Min
from django.utils import timezone

from inventory.models import (
    Bin,
    CycleCount,
    Location,
    Product,
    PurchaseOrder,
    StockLevel,
    StockMovement,
    Supplier,
    Transfer,
)
from inventory.services import (
    OrderLine,
    ReceiptLine,
    count_create,
    count_post,
    count_record,
    purchase_order_create,
    purchase_order_place,
    stock_adjust,
    stock_move,
    stock_receive,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from oms.console import demo_data, demo_orders
from oms.core.exceptions import Conflict, DomainError, ValidationFailed
from oms.core.roles import roles_setup
from orders.models import Channel, Customer, Hold, Order
from orders.services import (
    hold_resolve,
    order_cancel,
    order_capture,
    order_hold,
    order_lines_cancel,
)

KINDS = (
    "locations",
    "bins",
    "suppliers",
    "products",
    "stock levels",
    "channels",
    "customers",
    "users",
)
# Created once as a whole; "existing" counts what the database holds of each kind.
ACTIVITY_KINDS = ("purchase orders", "transfers", "cycle counts", "adjustments")


DEFAULT_ORDERS = 300


class Command(BaseCommand):
    help = (
        "Create the demo business (idempotent: a second run changes nothing), with demo "
        "orders captured through the order services on every channel: allocated, "
        "backordered, on hold (payment, credit, fraud, address), cancelled, some with "
        "cancelled lines or resolved holds. Orders in fulfilment, shipped or delivered are "
        "not seeded: they need shipments, which come with fulfilment."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--orders",
            type=int,
            default=DEFAULT_ORDERS,
            metavar="N",
            help=f"How many demo orders there should be (default {DEFAULT_ORDERS}; 0 for none). "
            "A re-run with a larger N adds only the missing ones; a smaller N removes none.",
        )

    def handle(self, *args, **options):
        if options["orders"] < 0:
            raise CommandError("--orders must be 0 or more.")
        self.created: Counter[str] = Counter()
        self.existing: Counter[str] = Counter()
        self.units_received = 0
        self.suppliers_filled_in = 0
        self.orders_changed = 0
        self.orders_refused: list[str] = []
        self.steps_skipped: list[str] = []
        with transaction.atomic():
            roles_setup()  # the groups the staff users join; also works before setup_roles
            locations = self.seed_locations()
            bins = self.seed_bins(locations)
            suppliers = self.seed_suppliers()
            products = self.seed_products(suppliers)
            self.seed_stock(locations, bins, products)
            self.seed_channels()
            self.seed_customers()
            self.seed_users()
            activity_created = self.seed_activity(locations, suppliers, products)
        # After the commit above: the opening stock's "stock available" announcements have
        # run, with no demo order waiting yet; from here each order commits on its own.
        self.seed_orders(options["orders"])
        for kind in KINDS:
            self.write_counts(kind)
        for kind, breakdown in self.activity_breakdown().items():
            self.write_counts(kind, breakdown)
        self.write_counts("orders", self.orders_breakdown())
        if self.orders_changed:
            self.stdout.write(
                f"{self.orders_changed} demo orders exist with other content (left as they are)"
            )
        for problem in self.orders_refused:
            self.stdout.write(f"demo order refused: {problem}")
        for problem in self.steps_skipped:
            self.stdout.write(f"demo order step skipped: {problem}")
        if self.suppliers_filled_in:
            self.stdout.write(f"suppliers given to {self.suppliers_filled_in} existing products")
        self.stdout.write(
            f"opening stock {self.units_received} units received, "
            f"ledger reference {demo_data.OPENING_REFERENCE}"
        )
        if activity_created:
            self.stdout.write(
                "demo activity created through the inventory services; its adjustments "
                f"carry ledger reference {demo_data.ADJUSTMENT_REFERENCE}"
            )
        else:
            self.stdout.write("demo activity was there already: left as it is")
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at http://127.0.0.1:8000/admin/ as admin / {demo_data.DEMO_PASSWORD}"
            )
        )

    def count(self, kind: str, created: bool) -> None:
        (self.created if created else self.existing)[kind] += 1

    def write_counts(self, kind: str, breakdown: str = "") -> None:
        line = f"{kind:<15} {self.created[kind]:>4} created {self.existing[kind]:>4} existing"
        self.stdout.write(f"{line}: {breakdown}" if breakdown else line)

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

    def seed_suppliers(self) -> dict[str, Supplier]:
        suppliers = {}
        for row in demo_data.SUPPLIERS:
            code, defaults = row["code"], {k: v for k, v in row.items() if k != "code"}
            suppliers[code], created = Supplier.objects.get_or_create(code=code, defaults=defaults)
            self.count("suppliers", created)
        return suppliers

    def seed_products(self, suppliers: dict[str, Supplier]) -> dict[str, Product]:
        products = {}
        for row in demo_data.PRODUCTS:
            length, width, height = row.dims_mm
            supplier = suppliers[demo_data.supplier_code(row.sku)]
            product, created = Product.objects.get_or_create(
                sku=row.sku,
                defaults={
                    "barcode": demo_data.barcode(row),
                    "name": row.name,
                    "weight_grams": row.grams,
                    "length_mm": length,
                    "width_mm": width,
                    "height_mm": height,
                    "supplier": supplier,
                    "active": row.active,
                },
            )
            if product.supplier_id is None:
                # Seeded before products had suppliers: replenishment needs one to order.
                product.supplier = supplier
                product.save(update_fields=["supplier", "updated_at"])
                self.suppliers_filled_in += 1
            products[row.sku] = product
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

    # --- demo activity -----------------------------------------------------------------

    @staticmethod
    def activity_exists() -> bool:
        return (
            PurchaseOrder.objects.filter(note__contains=demo_data.DEMO_MARKER).exists()
            or CycleCount.objects.filter(note__contains=demo_data.DEMO_MARKER).exists()
            # The ledger is append-only: this marker outlives any deleted order or count.
            or StockMovement.objects.filter(reference=demo_data.ADJUSTMENT_REFERENCE).exists()
        )

    @staticmethod
    def activity_querysets() -> dict[str, models.QuerySet]:
        return {
            "purchase orders": PurchaseOrder.objects.all(),
            "transfers": Transfer.objects.all(),
            "cycle counts": CycleCount.objects.all(),
            "adjustments": StockMovement.objects.filter(reason=StockMovement.Reason.ADJUSTMENT),
        }

    def activity_breakdown(self) -> dict[str, str]:
        """Per activity kind, what the database holds now by status."""
        breakdown = dict.fromkeys(ACTIVITY_KINDS, "")
        for kind, model in (
            ("purchase orders", PurchaseOrder),
            ("transfers", Transfer),
            ("cycle counts", CycleCount),
        ):
            by_status = dict(model.objects.order_by().values_list("status").annotate(n=Count("id")))
            breakdown[kind] = ", ".join(
                f"{label.lower()} {by_status[value]}"
                for value, label in model.Status.choices
                if by_status.get(value)
            )
        return breakdown

    def seed_activity(
        self,
        locations: dict[str, Location],
        suppliers: dict[str, Supplier],
        products: dict[str, Product],
    ) -> bool:
        """Replay the demo's purchasing and stock movements through the services, once.
        Returns whether it was created now."""
        for kind, queryset in self.activity_querysets().items():
            self.existing[kind] = queryset.count()
        if self.activity_exists():
            return False
        users = {
            user.username: user
            for user in get_user_model().objects.filter(
                username__in=[demo_data.PLANNER, demo_data.WAREHOUSE_CLERK]
            )
        }
        self.planner = users.get(demo_data.PLANNER)
        self.clerk = users.get(demo_data.WAREHOUSE_CLERK)
        self.today = timezone.localdate()
        for row in demo_data.PURCHASE_ORDERS:
            self.seed_purchase_order(row, locations, suppliers, products)
        for row in demo_data.TRANSFERS:
            self.seed_transfer(row, locations, products)
        for row in demo_data.COUNTS:
            self.seed_count(row, locations)
        for sku, code, quantity, note in demo_data.ADJUSTMENTS:
            self.seed_adjustment(products[sku], locations[code], quantity, note)
        return True

    @staticmethod
    def stock_level(product: Product, location: Location) -> StockLevel | None:
        return StockLevel.objects.filter(product=product, location=location).first()

    def unreserved(self, product: Product, location: Location) -> int:
        level = self.stock_level(product, location)
        return level.on_hand - level.reserved if level else 0

    def seed_purchase_order(
        self,
        row: demo_data.DemoPurchaseOrder,
        locations: dict[str, Location],
        suppliers: dict[str, Supplier],
        products: dict[str, Product],
    ) -> None:
        location = locations[row.location]
        purchase_order = purchase_order_create(
            supplier=suppliers[row.supplier],
            location=location,
            lines=[
                OrderLine(products[sku], quantity, unit_cost)
                for sku, quantity, unit_cost in row.lines
            ],
            expected_date=self.today + timedelta(days=row.expected_in_days),
            note=row.note,
            actor=self.planner,
        )
        self.created["purchase orders"] += 1
        if not row.placed:
            return
        purchase_order_place(purchase_order=purchase_order, actor=self.planner)
        for delivery in row.deliveries:
            lines = []
            for sku, quantity in delivery.items():
                if not products[sku].active:
                    continue  # deactivated since it was seeded: goods in are refused
                level = self.stock_level(products[sku], location)
                lines.append(ReceiptLine(products[sku], quantity, level.bin if level else None))
            if not lines:
                continue
            stock_receive(
                location=location,
                lines=lines,
                purchase_order=purchase_order,
                actor=self.clerk,
            )

    def seed_transfer(
        self,
        row: demo_data.DemoTransfer,
        locations: dict[str, Location],
        products: dict[str, Product],
    ) -> None:
        source = locations[row.from_location]
        # Only unreserved stock may leave (orders may have claimed some since opening).
        lines = []
        for sku, wanted in row.lines:
            quantity = min(wanted, self.unreserved(products[sku], source))
            if quantity > 0:
                lines.append(OrderLine(products[sku], quantity))
        if not lines:
            return
        transfer = transfer_create(
            from_location=source,
            to_location=locations[row.to_location],
            lines=lines,
            expected_date=self.today + timedelta(days=row.expected_in_days),
            actor=self.planner,
        )
        self.created["transfers"] += 1
        transfer_dispatch(transfer=transfer, actor=self.clerk)
        if row.received:
            transfer_receive(transfer=transfer, actor=self.clerk)

    def seed_count(self, row: demo_data.DemoCount, locations: dict[str, Location]) -> None:
        count = count_create(
            location=locations[row.location], zone=row.zone, note=row.note, actor=self.clerk
        )
        self.created["cycle counts"] += 1
        if not row.posted:
            return  # open: the sheet is printed, nothing counted yet
        counted = {}
        for line in count.lines.select_related("stock_level__product"):
            level = line.stock_level
            found = line.expected + row.variances.get(level.product.sku, 0)
            counted[level.pk] = max(found, level.reserved)  # a count below reserved is refused
        count_record(count=count, counted=counted, actor=self.clerk)
        count_post(count=count, actor=self.planner)

    def seed_adjustment(
        self, product: Product, location: Location, quantity: int, note: str
    ) -> None:
        if quantity < 0:
            quantity = -min(-quantity, self.unreserved(product, location))
        if not quantity:
            return
        level = self.stock_level(product, location)
        stock_adjust(
            product=product,
            location=location,
            quantity=quantity,
            reason=StockMovement.Reason.ADJUSTMENT,
            reference=demo_data.ADJUSTMENT_REFERENCE,
            note=note,
            bin=level.bin if level else None,
            actor=self.planner,
        )
        self.created["adjustments"] += 1

    # --- demo orders ---------------------------------------------------------------------

    @staticmethod
    def anchor():
        """When the demo was first seeded (its opening stock): demo orders are placed
        relative to it, so every run sends the same requests."""
        first = StockMovement.objects.filter(reference=demo_data.OPENING_REFERENCE).aggregate(
            first=Min("at")
        )["first"]
        return first or timezone.now()

    def seed_orders(self, count: int) -> None:
        """Capture the demo orders through order_capture; an order this run created gets
        the steps staff took after it. Each order with its steps is one transaction, and
        what its commit sets off (stock a cancellation gave back goes to the backorders
        waiting for it) happens before the next order, as it would in production; so
        seeding N orders at once or in steps gives the same orders."""
        if not count:
            return
        users = {
            user.username: user
            for user in get_user_model().objects.filter(
                username__in=[demo_orders.SUPPORT, demo_orders.FINANCE]
            )
        }
        for demo in demo_orders.demo_orders(count, self.anchor()):
            with transaction.atomic():
                try:
                    result = order_capture(
                        payload=demo.payload,
                        actor=users.get(demo.actor) if demo.actor else None,
                        source=demo.source,
                        origin="seed_demo",
                    )
                except Conflict:
                    # Same key, other content: an older demo's order, or edited since.
                    self.orders_changed += 1
                    self.count("orders", False)
                    continue
                except ValidationFailed as exc:
                    # Refused as any request would be (a product deactivated since).
                    self.orders_refused.append(f"{demo.external_ref}: {exc.errors}")
                    continue
                self.count("orders", result.created)
                if result.created:
                    for step in demo.steps:
                        self.order_step(result.order, step, users.get(step.actor), demo)

    def order_step(self, order: Order, step: demo_orders.Step, actor, demo) -> None:
        try:
            if step.action == "cancel":
                order_cancel(order=order, reason=step.reason, actor=actor)
            elif step.action == "cancel_lines":
                order_lines_cancel(
                    order=order, quantities=dict(step.lines), reason=step.reason, actor=actor
                )
            elif step.action == "hold":
                order_hold(order=order, kind=step.kind, reason=step.reason, actor=actor)
            elif step.action == "resolve_holds":
                for hold in order.holds.filter(resolved_at__isnull=True).order_by("pk"):
                    hold_resolve(hold=hold, note=step.reason, actor=actor)
            else:
                raise ValueError(f"unknown demo step {step.action!r}")
        except DomainError as exc:  # the services refused: say so, keep the order as it is
            self.steps_skipped.append(f"{demo.external_ref} {step.action}: {exc}")

    def orders_breakdown(self) -> str:
        demo = Order.objects.filter(external_ref__startswith=demo_orders.REF_PREFIX)
        by_status = dict(demo.order_by().values_list("status").annotate(n=Count("id")))
        statuses = ", ".join(
            f"{label.lower()} {by_status[value]}"
            for value, label in Order.Status.choices
            if by_status.get(value)
        )
        holds = Hold.objects.filter(order__in=demo)
        open_holds = dict(
            holds.filter(resolved_at__isnull=True)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("id"))
        )
        part_cancelled = (
            demo.filter(lines__quantity_cancelled__gt=0)
            .exclude(status=Order.Status.CANCELLED)
            .distinct()
            .count()
        )
        resolved = holds.filter(resolved_at__isnull=False).exclude(
            order__status=Order.Status.CANCELLED
        )
        details = [
            f"{part_cancelled} with cancelled lines",
            f"{resolved.count()} holds resolved",
        ]
        if open_holds:
            details.append(
                "open holds " + ", ".join(f"{kind} {n}" for kind, n in sorted(open_holds.items()))
            )
        return f"{statuses}" + (f" ({'; '.join(details)})" if statuses else "")
