"""What `available_to_promise` costs at catalogue scale: 10,000 SKUs x 3 locations.

    .venv/bin/python bench/bench_atp.py [--runs 5] [--no-write]

Builds 30,000 stock levels (bulk_create) with matching ledger rows (so invariant 1
holds), reservations on a tenth of them, open purchase orders and transfers in transit;
then times the selector for all 10,000 SKUs at once, for 100 and for 1 (median of
several runs, after a warm-up), counts its queries and measures its peak Python memory
(tracemalloc) and the process's peak RSS. Every result is checked against a direct sum
of the levels, POs and transfers; the script exits 1 on any mismatch or invariant
violation. Shares the database handling of bench_reservations.py (oms_bench by default,
DROPPED and re-created; BENCH_DATABASE_URL to change it).
"""

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date, timedelta

from bench_reservations import (
    DEFAULT_URL,
    configure_django,
    machine,
    recreate_database,
    write_section,
)

SECTION = "bench_atp"
SKUS, LOCATIONS = 10_000, 3


def build() -> list[str]:
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from inventory.models import (
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

    rng = random.Random(7)
    locations = [
        Location.objects.create(code=f"WH-{i}", name=f"Warehouse {i}", country="US", priority=i)
        for i in range(LOCATIONS)
    ]
    Product.objects.bulk_create(
        Product(sku=f"SKU-{i:05d}", name=f"Product {i}") for i in range(SKUS)
    )
    products = list(Product.objects.order_by("pk"))
    StockLevel.objects.bulk_create(
        (
            StockLevel(
                product=product,
                location=location,
                on_hand=rng.randint(0, 200),
                safety_stock=rng.choice((0, 0, 0, 5)),
            )
            for product in products
            for location in locations
        ),
        batch_size=5000,
    )
    levels = list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand"))
    StockMovement.objects.bulk_create(
        (
            StockMovement(
                stock_level_id=pk, quantity=on_hand, on_hand_after=on_hand, reason="receipt"
            )
            for pk, on_hand in levels
            if on_hand
        ),
        batch_size=5000,
    )
    # A tenth of the levels have stock held for orders (reserved == active reservations).
    demand = Group.objects.create(name="bench-order-line")
    held = [(pk, rng.randint(1, on_hand)) for pk, on_hand in levels[::10] if on_hand]
    Reservation.objects.bulk_create(
        (
            Reservation(
                stock_level_id=pk,
                demand_type=ContentType.objects.get_for_model(Group),
                demand_id=demand.pk,
                quantity=units,
            )
            for pk, units in held
        ),
        batch_size=5000,
    )
    for pk, units in held:
        StockLevel.objects.filter(pk=pk).update(reserved=units)
    # Stock on the way: 200 open purchase orders of 5 lines, 100 transfers of 3 lines.
    supplier = Supplier.objects.create(code="SUP", name="Supplier")
    today = date.today()
    for n in range(200):
        po = PurchaseOrder.objects.create(
            number=f"PO-{n:06d}",
            supplier=supplier,
            location=locations[n % LOCATIONS],
            expected_date=today + timedelta(days=n % 30),
        )
        PurchaseOrder.objects.filter(pk=po.pk).update(status=PurchaseOrder.Status.ORDERED)
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(purchase_order=po, product=p, quantity_ordered=rng.randint(5, 50))
            for p in rng.sample(products, 5)
        )
    for n in range(100):
        transfer = Transfer.objects.create(
            number=f"TR-{n:06d}",
            from_location=locations[n % LOCATIONS],
            to_location=locations[(n + 1) % LOCATIONS],
            expected_date=today + timedelta(days=3),
        )
        Transfer.objects.filter(pk=transfer.pk).update(status=Transfer.Status.IN_TRANSIT)
        TransferLine.objects.bulk_create(
            TransferLine(transfer=transfer, product=p, quantity=rng.randint(1, 10))
            for p in rng.sample(products, 3)
        )
    return [p.sku for p in products]


def expected(skus: list[str]) -> dict[str, tuple[int, int]]:
    """(available, incoming units) per SKU, summed straight from the tables."""
    from django.db.models import F

    from inventory.models import PurchaseOrderLine, StockLevel, TransferLine

    result = {sku: [0, 0] for sku in skus}
    for sku, on_hand, reserved, safety in StockLevel.objects.filter(
        product__sku__in=skus
    ).values_list("product__sku", "on_hand", "reserved", "safety_stock"):
        result[sku][0] += max(on_hand - reserved - safety, 0)
    for sku, open_units in PurchaseOrderLine.objects.filter(
        product__sku__in=skus, purchase_order__status__in=["ordered", "partially_received"]
    ).values_list("product__sku", F("quantity_ordered") - F("quantity_received")):
        result[sku][1] += open_units
    for sku, units in TransferLine.objects.filter(
        product__sku__in=skus, transfer__status="in_transit"
    ).values_list("product__sku", "quantity"):
        result[sku][1] += units
    return {sku: tuple(v) for sku, v in result.items()}


def measure(skus: list[str], runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.selectors import available_to_promise

    available_to_promise(skus=skus)  # warm up
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        available_to_promise(skus=skus)
        times.append(time.perf_counter() - began)
    with CaptureQueriesContext(connection) as captured:
        tracemalloc.start()
        promises = available_to_promise(skus=skus)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "skus": len(skus),
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "queries": len(captured.captured_queries),
        "peak_mib": peak / 1024 / 1024,
        "promises": promises,
    }


def render(rows: list[dict], info: dict, build_s: float, rss_mib: float, load: float) -> str:
    lines = [
        f"<!-- {SECTION}:start -->",
        "### Available to promise (`bench/bench_atp.py`)",
        "",
        f"Run {date.today().isoformat()} on {info['cpus']} CPUs ({info['cpu']}), "
        f"{info['ram']} RAM, PostgreSQL {info['postgres']}, Python {info['python']}. "
        f"{SKUS:,} SKUs x {LOCATIONS} locations = {SKUS * LOCATIONS:,} stock levels with "
        f"their ledger rows, reservations on a tenth, 200 open POs (1,000 lines), 100 "
        f"transfers in transit (300 lines); built in {build_s:.0f} s. Load average when it "
        f"started: {load:.2f} (the machine is shared; expect noise).",
        "",
        "    .venv/bin/python bench/bench_atp.py   # or: make bench",
        "",
        "| SKUs asked | median ms | best ms | queries | peak Python memory MiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['skus']:,} | {r['median_ms']:.2f} | {r['min_ms']:.2f} | {r['queries']} | "
            f"{r['peak_mib']:.2f} |"
        )
    lines += [
        "",
        f"Peak RSS of the whole process (setup included): {rss_mib:.0f} MiB. Queries are "
        "constant in the number of SKUs (locations, levels, PO lines, transfer lines). "
        "Every promise matched a direct sum of the tables; `check_invariants` clean.",
        f"<!-- {SECTION}:end -->",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs for all SKUs")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the benchmark needs PostgreSQL (BENCH_DATABASE_URL=postgres://...)")

    load = os.getloadavg()[0]
    recreate_database(url)
    configure_django(url)
    from django.core.management import CommandError, call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    skus = build()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    build_s = time.perf_counter() - began
    info = machine()

    rng = random.Random(11)
    rows = [
        measure(skus, args.runs),
        measure(rng.sample(skus, 100), args.runs * 4),
        measure(rng.sample(skus, 1), args.runs * 10),
    ]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    problems = []
    truth = expected(skus)
    for row in rows:
        for sku, promise in row.pop("promises").items():
            got = (promise.available, sum(units for _, units, _ in promise.incoming))
            if got != truth[sku]:
                problems.append(f"{sku}: promised {got}, tables say {truth[sku]}")
    try:
        call_command("check_invariants", stdout=open(os.devnull, "w"))  # noqa: SIM115
    except CommandError as exc:
        problems.append(f"check_invariants: {exc}")

    print(f"built {SKUS * LOCATIONS:,} stock levels in {build_s:.1f} s")
    print(f"{'SKUs':>7} {'median ms':>10} {'best ms':>9} {'queries':>8} {'peak MiB':>9}")
    for r in rows:
        print(
            f"{r['skus']:>7} {r['median_ms']:>10.2f} {r['min_ms']:>9.2f} {r['queries']:>8} "
            f"{r['peak_mib']:>9.2f}"
        )
    print(f"peak RSS {rss_mib:.0f} MiB")
    if problems:
        print("\nCORRECTNESS FAILED:")
        for problem in problems[:20]:
            print("  -", problem)
        return 1
    print("every promise matches the tables; invariants hold")
    if not args.no_write:
        write_section(SECTION, render(rows, info, build_s, rss_mib, load))
        print("BENCHMARKS.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
