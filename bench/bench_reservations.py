"""Reservations per second through inventory's `stock_allocate`, on ONE hot SKU.

    .venv/bin/python bench/bench_reservations.py [--seconds 10] [--no-write]
    BENCH_DATABASE_URL=postgres://user@host:5432/name .venv/bin/python bench/...

Scenarios: 1 worker process; 2 worker processes; 32 concurrent clients (2 processes x 16
threads, each thread its own connection). Every call reserves 1 unit through the service
(router, conditional UPDATE, reservation row, stock.low check), one line per call, on one
stock level with ample stock. Then the bare-SQL floor on the same tables with 32 clients:
psycopg, `BEGIN; SELECT ... FOR UPDATE; UPDATE ...; INSERT ...; COMMIT`, no Django.

Correctness is checked at the end (zero oversell: reserved <= on_hand, reserved == active
reservations == units the clients were granted, `check_invariants` clean); the script
exits 1 if it fails. The database (default oms_bench) is DROPPED and re-created each run:
never point it at one you keep. On success the Inventory/reservations section of
BENCHMARKS.md is replaced (--no-write to skip).
"""

import argparse
import multiprocessing as mp
import os
import platform
import re
import sys
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_bench"
SECTION = "bench_reservations"
STOCK = 10_000_000  # never runs out: every refusal would be a bug


def configure_django(url: str) -> None:
    """Settings come from the environment (oms/settings.py); the process env wins over
    .env. DEBUG off so Django does not keep a log of every query."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings"
    import django

    django.setup()


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def machine() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg_version,) = cursor.fetchone()
        cursor.execute("SHOW synchronous_commit")
        (sync_commit,) = cursor.fetchone()
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kib = re.search(r"MemTotal:\s+(\d+)", meminfo)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor() or "?",
        "ram": f"{int(kib.group(1)) / 1024 / 1024:.1f} GiB" if kib else "?",
        "postgres": f"{pg_version} (synchronous_commit={sync_commit}, same machine)",
        "python": platform.python_version(),
    }


# --- data -----------------------------------------------------------------------------


def build_data(clients: int) -> dict:
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from inventory.models import Location, Product, StockLevel
    from inventory.services import stock_move

    location = Location.objects.create(code="BENCH-WH", name="Bench warehouse", country="US")
    levels = {}
    for sku in ("HOT-SERVICE", "HOT-FLOOR"):
        product = Product.objects.create(sku=sku, name=sku)
        stock_move(product=product, location=location, quantity=STOCK, reason="receipt")
        levels[sku] = StockLevel.objects.get(product=product, location=location)
    # One demand record per client thread (an order line would be one in production).
    Group.objects.bulk_create(Group(name=f"bench-demand-{i}") for i in range(clients))
    return {
        "service_level": levels["HOT-SERVICE"].pk,
        "service_product": levels["HOT-SERVICE"].product_id,
        "floor_level": levels["HOT-FLOOR"].pk,
        "demand_ids": list(
            Group.objects.filter(name__startswith="bench-demand-")
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        "demand_type": ContentType.objects.get_for_model(Group).pk,
    }


# --- clients --------------------------------------------------------------------------


def service_client(data: dict, demand_id: int):
    """One thread: returns a function that makes one reservation through the service."""
    from django.contrib.auth.models import Group

    from inventory.services import DemandLine, stock_allocate

    demand = Group.objects.get(pk=demand_id)
    line = [DemandLine(data["service_product"], 1, demand)]

    def reserve() -> int:
        allocation = stock_allocate(lines=line)
        return sum(r.quantity for r in allocation.reservations)

    return reserve, lambda: None


FLOOR_SQL = (
    "SELECT on_hand, reserved, safety_stock FROM inventory_stocklevel WHERE id = %s FOR UPDATE",
    "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s",
    "INSERT INTO inventory_reservation "
    "(stock_level_id, demand_type_id, demand_id, quantity, state, reference, created_at) "
    "VALUES (%s, %s, %s, 1, 'active', '', now())",
)


def floor_client(data: dict, demand_id: int):
    """One thread: the same reservation in bare SQL on its own psycopg connection."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
    )
    level = data["floor_level"]

    def reserve() -> int:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(FLOOR_SQL[0], [level])
            on_hand, reserved, safety = cursor.fetchone()
            if on_hand - reserved - safety < 1:
                raise RuntimeError("floor: out of stock")
            cursor.execute(FLOOR_SQL[1], [level])
            cursor.execute(FLOOR_SQL[2], [level, data["demand_type"], demand_id])
        return 1

    return reserve, conn.close


def client_process(mode, url, data, demand_ids, seconds, ready, go, start_at, results) -> None:
    """A worker process: one thread per demand id, all released together."""
    configure_django(url)
    from django.db import connection

    barrier = threading.Barrier(len(demand_ids) + 1)
    outcome = []

    def thread_main(demand_id: int) -> None:
        latencies, granted, errors = [], 0, []
        close = None
        try:
            reserve, close = (service_client if mode == "service" else floor_client)(
                data, demand_id
            )
            for _ in range(3):  # warm up: connection, caches, prepared statements
                granted += reserve()
        except Exception as exc:
            errors.append(repr(exc))
        barrier.wait()
        go.wait()
        start = start_at.value
        deadline = start + seconds
        while not errors and time.time() < start:
            time.sleep(0.0005)
        while not errors:
            began = time.perf_counter()
            if time.time() >= deadline:
                break
            try:
                granted += reserve()
            except Exception as exc:
                errors.append(repr(exc))
                break
            latencies.append(time.perf_counter() - began)
        if close:
            close()
        connection.close()
        outcome.append({"latencies": latencies, "granted": granted, "errors": errors})

    threads = [threading.Thread(target=thread_main, args=(d,)) for d in demand_ids]
    for thread in threads:
        thread.start()
    barrier.wait()  # every thread warmed up
    ready.put(os.getpid())
    go.wait()
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    results.put({"threads": outcome, "cpu": time.process_time() - cpu})


def run_scenario(mode: str, url: str, data: dict, processes: int, threads: int, seconds: float):
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    ids = data["demand_ids"]
    shared = (seconds, ready, go, start_at, results)
    workers = [
        ctx.Process(
            target=client_process,
            args=(mode, url, data, ids[p * threads : (p + 1) * threads], *shared),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    start_at.value = time.time() + 0.2
    busy = cpu_busy()
    go.set()
    reports = [results.get(timeout=seconds + 300) for _ in workers]
    busy = cpu_busy(busy)
    for worker in workers:
        worker.join()
    outcomes = [item for report in reports for item in report["threads"]]
    latencies = sorted(lat for o in outcomes for lat in o["latencies"])
    errors = [e for o in outcomes for e in o["errors"]]
    count = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    return {
        "mode": mode,
        "processes": processes,
        "threads": threads,
        "clients": processes * threads,
        "count": count,
        "rate": count / seconds,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "granted": sum(o["granted"] for o in outcomes),
        "errors": errors,
        # Client CPU per reservation (Python, both processes) and the machine's CPU use.
        "client_cpu_ms": sum(r["cpu"] for r in reports) / max(count, 1) * 1000,
        "cpu_busy": busy,
    }


def cpu_busy(since=None):
    """Whole-machine CPU use from /proc/stat: a sample, or the busy share since one."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle, total = fields[3] + fields[4], sum(fields)
    if since is None:
        return idle, total
    return 1 - (idle - since[0]) / max(total - since[1], 1)


# --- checks and report ----------------------------------------------------------------


def check(data: dict, granted: dict[int, int]) -> list[str]:
    """Zero oversell, and every unit the clients were told they got is held."""
    from django.core.management import CommandError, call_command
    from django.db.models import Sum

    from inventory.models import Reservation, StockLevel

    problems = []
    for level_id, units in granted.items():
        level = StockLevel.objects.get(pk=level_id)
        active = Reservation.objects.filter(stock_level_id=level_id, state="active").aggregate(
            total=Sum("quantity", default=0)
        )["total"]
        if not 0 <= level.reserved <= level.on_hand:
            problems.append(f"level {level_id}: reserved {level.reserved} > on_hand")
        if level.reserved != active:
            problems.append(f"level {level_id}: reserved {level.reserved} != active {active}")
        if level.reserved != units:
            problems.append(f"level {level_id}: reserved {level.reserved} != granted {units}")
    try:
        call_command("check_invariants", stdout=open(os.devnull, "w"))  # noqa: SIM115
    except CommandError as exc:
        problems.append(f"check_invariants: {exc}")
    return problems


def profile_queries(data: dict) -> list[str]:
    """The SQL one service call sends (to show what the hot path costs)."""
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.services import DemandLine, stock_allocate

    demand = Group.objects.get(pk=data["demand_ids"][0])
    with CaptureQueriesContext(connection) as captured:
        stock_allocate(lines=[DemandLine(data["service_product"], 1, demand)])
    return [q["sql"] for q in captured.captured_queries]


def render(rows, floor, info, seconds, queries, load) -> str:
    hot = next(r for r in rows if r["clients"] == 32)
    ratio = hot["rate"] / floor["rate"]
    lines = [
        f"<!-- {SECTION}:start -->",
        "### Reservations on one hot SKU (`bench/bench_reservations.py`)",
        "",
        f"Run {date.today().isoformat()} on {info['cpus']} CPUs ({info['cpu']}), "
        f"{info['ram']} RAM, PostgreSQL {info['postgres']}, Python {info['python']}. "
        f"{seconds:g} s per scenario; 1 unit per `stock_allocate` call, one line per call. "
        f"Load average when it started: {load:.2f} (the machine is shared; expect noise).",
        "",
        "    .venv/bin/python bench/bench_reservations.py   # or: make bench",
        "",
        "| scenario | clients | reservations | reservations/s | p50 ms | p95 ms "
        "| client CPU ms per reservation | machine CPU busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [*rows, floor]:
        name = (
            "bare SQL floor (psycopg)"
            if r["mode"] == "floor"
            else f"service, {r['processes']} process(es) x {r['threads']} thread(s)"
        )
        lines.append(
            f"| {name} | {r['clients']} | {r['count']} | {r['rate']:.0f} | "
            f"{r['p50']:.2f} | {r['p95']:.2f} | {r['client_cpu_ms']:.2f} | {r['cpu_busy']:.0%} |"
        )
    lines += [
        "",
        f"Service / floor at 32 clients: **{ratio:.2f}** "
        f"({hot['rate']:.0f} vs {floor['rate']:.0f} reservations/s; target >= 500/s: "
        f"{'met' if hot['rate'] >= 500 else 'NOT met'}). Zero oversell: reserved <= on_hand, "
        "reserved == active reservations == units granted, `check_invariants` clean.",
        "",
        f"What one service call sends ({len(queries)} statements, as Django logs them):",
        "",
        *[f"    {q[:150]}" for q in queries],
        f"<!-- {SECTION}:end -->",
    ]
    return "\n".join(lines)


def write_section(section: str, block: str, heading: str = "Inventory") -> None:
    """Replace a script's block in BENCHMARKS.md, or add it at the end of its "## heading"
    section (created after the last section when missing). Every bench script uses this."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {section}:start -->.*?<!-- {section}:end -->", flags=re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    elif f"\n## {heading}" in text:
        start = text.index(f"\n## {heading}")
        following = text.find("\n## ", start + 1)
        end = following if following != -1 else len(text)
        text = f"{text[:end].rstrip()}\n\n{block}\n{text[end:]}"
    else:
        text = f"{text.rstrip()}\n\n## {heading}\n\n{block}\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument(
        "--quick", action="store_true", help="32 clients only (service and floor); no write"
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the benchmark needs PostgreSQL (BENCH_DATABASE_URL=postgres://...)")

    load = os.getloadavg()[0]
    recreate_database(url)
    configure_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    data = build_data(clients=32)
    info = machine()
    queries = profile_queries(data)
    connection.close()  # the children open their own

    scenarios = [("service", 1, 1), ("service", 2, 1), ("service", 2, 16)]
    if args.quick:
        scenarios, args.no_write = scenarios[-1:], True
    rows = []
    for mode, processes, threads in scenarios:
        rows.append(run_scenario(mode, url, data, processes, threads, args.seconds))
        print(
            f"{mode:8} {processes}x{threads:<3} {rows[-1]['rate']:8.0f}/s "
            f"(client CPU {rows[-1]['client_cpu_ms']:.2f} ms/reservation, "
            f"machine {rows[-1]['cpu_busy']:.0%} busy)",
            flush=True,
        )
    floor = run_scenario("floor", url, data, 2, 16, args.seconds)
    print(
        f"floor    2x16  {floor['rate']:8.0f}/s (client CPU {floor['client_cpu_ms']:.2f} "
        f"ms/reservation, machine {floor['cpu_busy']:.0%} busy)",
        flush=True,
    )

    granted = {
        data["service_level"]: 1 + sum(r["granted"] for r in rows),  # +1: profile_queries
        data["floor_level"]: floor["granted"],
    }
    problems = [e for r in [*rows, floor] for e in r["errors"]] + check(data, granted)

    print()
    print(
        f"{'scenario':16} {'clients':>7} {'count':>7} {'res/s':>6} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'client CPU ms':>13} {'CPU busy':>8}"
    )
    for r in [*rows, floor]:
        name = f"{r['mode']} {r['processes']}x{r['threads']}"
        print(
            f"{name:16} {r['clients']:7} {r['count']:7} {r['rate']:6.0f} {r['p50']:7.2f} "
            f"{r['p95']:7.2f} {r['client_cpu_ms']:13.2f} {r['cpu_busy']:8.0%}"
        )
    hot = rows[-1]
    if not all(r["count"] for r in [*rows, floor]):
        problems.append("a scenario made no reservation at all")
    print(f"\nservice/floor at 32 clients: {hot['rate'] / max(floor['rate'], 1e-9):.2f}")
    print(f"SQL per service call: {len(queries)}")
    for q in queries:
        print("   ", q[:160])
    if hot["rate"] < 500:
        print(f"WARNING: {hot['rate']:.0f}/s is below the 500/s target")
    if problems:
        print("\nCORRECTNESS FAILED:")
        for problem in problems[:20]:
            print("  -", problem)
        return 1
    print("\nzero oversell: reserved <= on_hand, reserved == active == granted; invariants hold")
    if not args.no_write:
        write_section(SECTION, render(rows, floor, info, args.seconds, queries, load))
        print("BENCHMARKS.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
