"""Orders captured per second, 2 lines each: through the service layer (`order_capture`),
through the HTTP API (POST /api/v1/orders/ on a real gunicorn), and the bare-SQL floor of
the same writes, in one run on one database.

    .venv/bin/python bench/bench_orders.py [--seconds 12] [--rounds 3] [--no-write]
        [--no-http] [--only service|http|floor ...]
    BENCH_DATABASE_URL=postgres://user@host:5432/name .venv/bin/python bench/...

Scenarios, each with 1 and 2 client processes (one connection each), interleaved in rounds
(service, http, floor, service, ...) so that load from elsewhere falls on all of them:
- service: `order_capture(payload=...)` in a loop: validation, customer, payment, credit and
  fraud rules, gap-free number, order + lines + payment + history rows, timeline events and
  outbox rows, routing and reservation, status moves. Every order is paid and in stock, so
  each capture ends allocated.
- http: the same requests as JSON POSTs with a knox token to gunicorn (sync workers, as
  many as client processes) on 127.0.0.1, CONN_MAX_AGE=60 as in production.
- floor: psycopg, no Django, one transaction per order: INSERT the order row, its 2 lines,
  the 2 conditional stock UPDATEs (in stock level id order), 2 reservation rows and one
  timeline event; COMMIT. What any implementation of "capture a paid 2-line order" must
  write at the least.

Correctness is checked at the end (every capture answered created, every order allocated
with its lines reserved, a `created` event and a history row per order, order numbers gap
free, reserved == active reservations, `check_invariants` clean but for the floor's own
orders, which have no history row or status change by definition); the script exits 1 if it
fails. The database (default oms_bench) is DROPPED and re-created each run: never point it
at one you keep. On success its block in the Orders section of BENCHMARKS.md is replaced (--no-write to
skip).
"""

import argparse
import cProfile
import http.client
import json
import multiprocessing as mp
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_reservations import (  # noqa: E402  (same conventions, one place)
    configure_django,
    cpu_busy,
    machine,
    recreate_database,
    write_section,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_bench"
SECTION = "bench_orders"
SKUS = 40  # each order takes 2 of them: some contention, no single hot row
STOCK = 10_000_000  # never runs out: a capture that does not allocate is a bug here
CUSTOMERS = 200  # returning web customers (looked up by e-mail, not created)
PRICE = Decimal("9.99")
TARGETS = {"service": 0.40, "http": 0.25}  # share of the floor with 2 processes


# --- requests ---------------------------------------------------------------------------


def payload(tag: str, n: int) -> dict:
    """A paid 2-line web order (../shared/API.md's shape). Each order ships to its own
    street address (tag and number), so the orders-per-address fraud rule holds none."""
    first = n * 7 % SKUS
    second = (first + 1 + n % (SKUS - 1)) % SKUS
    email = f"buyer{n % CUSTOMERS}@example.com"
    return {
        "channel": "web",
        "external_ref": f"{tag}-{n}",
        "placed_at": "2026-11-20T14:03:00Z",
        "currency": "USD",
        "customer": {"email": email, "name": "Ana Silva", "phone": "+1 415 555 0101"},
        "ship_to": {
            "name": "Ana Silva",
            "company": "",
            "line1": f"{n} {tag} Street",
            "line2": "",
            "city": "San Francisco",
            "region": "CA",
            "postcode": "94105",
            "country": "US",
            "phone": "+1 415 555 0101",
        },
        "lines": [
            {"sku": f"BENCH-{first:03d}", "quantity": 1, "unit_price": str(PRICE)},
            {"sku": f"BENCH-{second:03d}", "quantity": 2, "unit_price": str(PRICE)},
        ],
        "payment": {"status": "paid", "amount": str(PRICE * 3), "reference": f"pi_{tag}_{n}"},
        "notes": "",
    }


# --- data -------------------------------------------------------------------------------


def build_data() -> dict:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from inventory.models import Location, Product, StockLevel
    from inventory.services import stock_move
    from orders.models import Channel, Customer

    location = Location.objects.create(
        code="BENCH-WH", name="Bench warehouse", country="US", priority=10
    )
    for i in range(SKUS):
        product = Product.objects.create(sku=f"BENCH-{i:03d}", name=f"Bench product {i}")
        stock_move(product=product, location=location, quantity=STOCK, reason="receipt")
    Channel.objects.create(code="web", name="Web", kind="web", currency="USD", priority=20)
    Customer.objects.bulk_create(
        Customer(kind="retail", name="Ana Silva", email=f"buyer{i}@example.com")
        for i in range(CUSTOMERS)
    )
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x" * 20)
    _, token = AuthToken.objects.create(user=user, expiry=None)
    levels = dict(StockLevel.objects.values_list("product__sku", "pk"))
    return {"token": token, "levels": levels, "location": location.pk}


# --- clients ----------------------------------------------------------------------------


def service_client(tag: str, data: dict):
    from orders.services import order_capture

    counter = iter(range(10**9))

    def capture() -> bool:
        return order_capture(payload=payload(tag, next(counter)), source="bench").created

    return capture, lambda: None


def http_client(tag: str, data: dict):
    """One keep-alive-less client (gunicorn's sync workers close after each answer)."""
    counter = iter(range(10**9))
    headers = {"Authorization": f"Token {data['token']}", "Content-Type": "application/json"}

    def capture() -> bool:
        body = json.dumps(payload(tag, next(counter)))
        conn = http.client.HTTPConnection("127.0.0.1", data["port"], timeout=60)
        try:
            conn.request("POST", "/api/v1/orders/", body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
        finally:
            conn.close()
        if response.status != 201:
            raise RuntimeError(f"HTTP {response.status}: {text[:300]!r}")
        return True

    return capture, lambda: None


def _floor_statements() -> dict[str, str]:
    """The floor's SQL, with every NOT NULL column of the real tables filled in."""
    from inventory.models import Reservation, StockLevel
    from orders.models import Order, OrderEvent, OrderLine

    order_cols = [
        "number",
        "channel_id",
        "external_ref",
        "customer_id",
        "status",
        "payment_status",
        "currency",
        "subtotal",
        "shipping_total",
        "total",
        "email",
        "ship_name",
        "ship_company",
        "ship_line1",
        "ship_line2",
        "ship_city",
        "ship_region",
        "ship_postcode",
        "ship_country",
        "ship_phone",
        "placed_at",
        "ship_by",
        "priority",
        "po_number",
        "notes",
        "request_digest",
    ]
    line_cols = [
        "order_id",
        "line_no",
        "product_id",
        "sku",
        "quantity",
        "unit_price",
        "quantity_reserved",
        "quantity_shipped",
        "quantity_returned",
        "quantity_cancelled",
    ]
    line_values = "(%s, %s, %s, %s, %s, %s, %s, 0, 0, 0)"
    return {
        "order": f"INSERT INTO {Order._meta.db_table} "
        f"({', '.join(order_cols)}, created_at, updated_at) VALUES "
        f"({', '.join(['%s'] * len(order_cols))}, now(), now()) RETURNING id",
        "lines": f"INSERT INTO {OrderLine._meta.db_table} ({', '.join(line_cols)}) VALUES "
        f"{line_values}, {line_values} RETURNING id, line_no",
        "reserve": f"UPDATE {StockLevel._meta.db_table} SET reserved = reserved + %s "
        "WHERE id = %s AND on_hand - reserved - safety_stock >= %s",
        "reservations": f"INSERT INTO {Reservation._meta.db_table} "
        "(stock_level_id, demand_type_id, demand_id, quantity, state, reference, created_at) "
        "VALUES (%s, %s, %s, %s, 'active', %s, now()), (%s, %s, %s, %s, 'active', %s, now())",
        "event": f"INSERT INTO {OrderEvent._meta.db_table} "
        "(order_id, kind, message, data, system, at) VALUES (%s, 'created', %s, %s, 'floor', now())",
    }


def floor_client(tag: str, data: dict):
    import psycopg
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from psycopg.types.json import Jsonb

    from inventory.models import Product
    from orders.models import Channel, Customer, OrderLine

    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
    )
    sql = _floor_statements()
    channel = Channel.objects.get(code="web").pk
    customers = dict(Customer.objects.values_list("email", "pk"))
    products = dict(Product.objects.filter(sku__startswith="BENCH-").values_list("sku", "pk"))
    line_type = ContentType.objects.get_for_model(OrderLine).pk
    levels = data["levels"]
    counter = iter(range(10**9))

    def capture() -> bool:
        n = next(counter)
        p = payload(tag, n)
        ship = p["ship_to"]
        skus = [line["sku"] for line in p["lines"]]
        quantities = [line["quantity"] for line in p["lines"]]
        total = PRICE * sum(quantities)
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(
                sql["order"],
                [
                    f"F-{tag}-{n}",
                    channel,
                    p["external_ref"],
                    customers[p["customer"]["email"]],
                    "allocated",
                    "paid",
                    "USD",
                    total,
                    0,
                    total,
                    p["customer"]["email"],
                    ship["name"],
                    "",
                    ship["line1"],
                    "",
                    ship["city"],
                    ship["region"],
                    ship["postcode"],
                    ship["country"],
                    ship["phone"],
                    p["placed_at"],
                    p["placed_at"],
                    20,
                    "",
                    "",
                    "",
                ],
            )
            (order_id,) = cursor.fetchone()
            line_params = []
            for no, (sku, quantity) in enumerate(zip(skus, quantities, strict=True), start=1):
                line_params += [order_id, no, products[sku], sku, quantity, PRICE, quantity]
            cursor.execute(sql["lines"], line_params)
            line_ids = {no: pk for pk, no in cursor.fetchall()}
            picks = sorted(
                (levels[sku], line_ids[no], quantity)
                for no, (sku, quantity) in enumerate(zip(skus, quantities, strict=True), start=1)
            )
            for level_id, _, quantity in picks:
                cursor.execute(sql["reserve"], [quantity, level_id, quantity])
                if cursor.rowcount != 1:
                    raise RuntimeError("floor: out of stock")
            params = []
            for level_id, line_id, quantity in picks:
                params += [level_id, line_type, line_id, quantity, p["external_ref"]]
            cursor.execute(sql["reservations"], params)
            cursor.execute(
                sql["event"],
                [order_id, f"Order captured: 2 lines, {total} USD.", Jsonb({"source": "floor"})],
            )
        return True

    return capture, conn.close


CLIENTS = {"service": service_client, "http": http_client, "floor": floor_client}


def client_process(mode, url, data, tag, seconds, ready, go, start_at, results) -> None:
    configure_django(url)
    from django.db import connection

    latencies, created, errors = [], 0, []
    close = None
    try:
        capture, close = CLIENTS[mode](tag, data)
        for _ in range(3):  # warm up: connection, caches, prepared statements
            created += capture()
    except Exception as exc:
        errors.append(repr(exc))
    ready.put(os.getpid())
    go.wait()
    start = start_at.value
    deadline = start + seconds
    while not errors and time.time() < start:
        time.sleep(0.0005)
    cpu = time.process_time()
    while not errors:
        began = time.perf_counter()
        if time.time() >= deadline:
            break
        try:
            created += capture()
        except Exception as exc:
            errors.append(repr(exc))
            break
        latencies.append(time.perf_counter() - began)
    cpu = time.process_time() - cpu
    if close:
        close()
    connection.close()
    results.put({"latencies": latencies, "created": created, "errors": errors, "cpu": cpu})


def run_scenario(mode: str, url: str, data: dict, processes: int, seconds: float, tag: str):
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    workers = [
        ctx.Process(
            target=client_process,
            args=(mode, url, data, f"{tag}{p}", seconds, ready, go, start_at, results),
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
    latencies = sorted(lat for r in reports for lat in r["latencies"])
    count = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    return {
        "mode": mode,
        "processes": processes,
        "count": count,
        "rate": count / seconds,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "created": sum(r["created"] for r in reports),
        "errors": [e for r in reports for e in r["errors"]],
        "client_cpu_ms": sum(r["cpu"] for r in reports) / max(count, 1) * 1000,
        "cpu_busy": busy,
        "latencies": latencies,
        "cpu_seconds": sum(r["cpu"] for r in reports),
        "seconds": seconds,
    }


def merged(rounds: list[dict]) -> dict:
    """One scenario's rounds as one row: totals over the time of all rounds."""
    latencies = sorted(lat for r in rounds for lat in r["latencies"])
    count, seconds = len(latencies), sum(r["seconds"] for r in rounds)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    return {
        **{k: rounds[0][k] for k in ("mode", "processes")},
        "count": count,
        "rate": count / seconds,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "created": sum(r["created"] for r in rounds),
        "errors": [e for r in rounds for e in r["errors"]],
        "client_cpu_ms": sum(r["cpu_seconds"] for r in rounds) / max(count, 1) * 1000,
        "cpu_busy": sum(r["cpu_busy"] * r["seconds"] for r in rounds) / seconds,
        "rounds": [r["rate"] for r in rounds],
    }


# --- gunicorn ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-" + "x" * 50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
        "API_THROTTLE_USER": "10000000/minute",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "oms.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health/")
            conn.getresponse().read()
            conn.close()
            return server, port
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited on start") from None
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def api_available() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("order-list")
    except NoReverseMatch:
        return False
    return True


# --- checks, profile and report ---------------------------------------------------------


def check(expected_service: int, expected_floor: int) -> list[str]:
    from django.db.models import Count, F, Q, Sum

    from inventory.models import Reservation, StockLevel
    from oms.console.invariants import all_violations
    from orders.models import Order, OrderEvent, OrderSequence

    problems = []
    captured = Order.objects.filter(number__startswith="SO-")
    floor = Order.objects.filter(number__startswith="F-")
    if captured.count() != expected_service:
        problems.append(f"{captured.count()} captured orders, {expected_service} answered created")
    if floor.count() != expected_floor:
        problems.append(f"{floor.count()} floor orders, {expected_floor} committed")
    not_allocated = captured.exclude(status=Order.Status.ALLOCATED).count()
    if not_allocated:
        problems.append(f"{not_allocated} captured orders are not allocated")
    short = (
        Order.objects.annotate(
            lines_n=Count("lines"),
            open_n=Count("lines", filter=Q(lines__quantity__gt=F("lines__quantity_reserved"))),
        )
        .exclude(lines_n=2, open_n=0)
        .count()
    )
    if short:
        problems.append(f"{short} orders without 2 fully reserved lines")
    without_event = captured.exclude(
        pk__in=OrderEvent.objects.filter(kind="created").values("order_id")
    ).count()
    if without_event:
        problems.append(f"{without_event} captured orders without a 'created' event")
    history = Order.history.filter(number__startswith="SO-").values("id").distinct().count()
    if history != captured.count():
        problems.append(f"history rows for {history} of {captured.count()} captured orders")
    numbers = sorted(captured.values_list("number", flat=True))
    if numbers:
        sequence = OrderSequence.objects.get()
        expected = [f"SO-{sequence.year}-{n:06d}" for n in range(1, len(numbers) + 1)]
        if numbers != expected or sequence.last != len(numbers):
            problems.append("order numbers are not gap-free")
    reserved = StockLevel.objects.aggregate(total=Sum("reserved"))["total"]
    active = Reservation.objects.filter(state="active").aggregate(total=Sum("quantity"))["total"]
    if reserved != active:
        problems.append(f"reserved {reserved} != active reservations {active}")
    if StockLevel.objects.filter(reserved__gt=F("on_hand")).exists():
        problems.append("oversold: reserved > on_hand")
    # check_invariants, less what the floor skips by definition: it writes no history row
    # and no status change (invariant 7), for its orders only.
    floor_only = re.compile(r"invariant 7: F-")
    problems += [m for m in all_violations() if not floor_only.match(m)]
    return problems


class _Timer:
    """A connection execute_wrapper: statements and the wall time spent in them."""

    def __init__(self):
        self.statements, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.statements += 1


# cProfile's own time per function, summed by where the function lives (first match).
BUCKETS = (
    ("psycopg: sending statements, reading results", r"/psycopg/"),
    ("Django ORM: building and compiling SQL, model instances", r"/django/db/"),
    ("django-simple-history: history rows, its managers", r"/simple_history/"),
    ("inspect: a history manager class built per `.history` access", r"/inspect\.py$"),
    ("phonenumbers", r"/phonenumbers/"),
    ("project code (orders, inventory, oms)", rf"^{re.escape(str(ROOT))}/(orders|inventory|oms)/"),
    ("Python stdlib", r"/lib/python3\.\d+/(?!site-packages/)"),
    ("django-fsm", r"/django_fsm/"),
    ("Django other: signals, utils, timezone, validators", r"/django/"),
)


def profile_capture(runs: int = 200) -> dict:
    """What one capture sends (CaptureQueriesContext), how its wall time splits between
    the database and Python (an execute_wrapper, no profiler), and where the Python time
    goes (cProfile's own CPU time per function, grouped by package)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.services import order_capture

    for n in range(5):  # warm: caches, first-year sequence row
        order_capture(payload=payload("PROFILE-WARM", n), source="bench")
    with CaptureQueriesContext(connection) as captured:
        order_capture(payload=payload("PROFILE-Q", 0), source="bench")
    queries = [q["sql"] for q in captured.captured_queries]
    timer = _Timer()
    began, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(timer):
        for n in range(runs):
            order_capture(payload=payload("PROFILE-T", n), source="bench")
    wall_ms = (time.perf_counter() - began) / runs * 1000
    cpu_ms = (time.process_time() - cpu) / runs * 1000
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits for PostgreSQL
    profiler.enable()
    for n in range(runs):
        order_capture(payload=payload("PROFILE-P", n), source="bench")
    profiler.disable()
    buckets = dict.fromkeys([label for label, _ in BUCKETS] + ["other"], 0.0)
    for (file, _line, _func), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(
        profiler
    ).stats.items():
        label = next((lb for lb, pattern in BUCKETS if re.search(pattern, file)), "other")
        buckets[label] += tottime
    total = sum(buckets.values()) or 1.0
    return {
        "queries": queries,
        "wall_ms": wall_ms,
        "cpu_ms": cpu_ms,
        "db_ms": timer.seconds / runs * 1000,
        "statements": timer.statements / runs,
        "buckets": {label: t / total for label, t in buckets.items() if t},
        "http_queries": http_queries(),
        "count": 5 + 1 + 2 * runs + (1 if api_available() else 0),
    }


def http_queries() -> list[str]:
    """The statements one POST /api/v1/orders/ sends, in-process (Django's test client,
    the knox token), the capture's own included."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from knox.models import AuthToken

    if not api_available():
        return []
    _, token = AuthToken.objects.create(user=get_user_model().objects.get(username="bench"))
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/orders/",
            data=json.dumps(payload("PROFILE-HTTP", 0)),
            content_type="application/json",
            secure=True,
            SERVER_NAME="127.0.0.1",
        )
    if response.status_code != 201:
        raise RuntimeError(f"in-process POST: {response.status_code} {response.content[:300]!r}")
    return [q["sql"] for q in captured.captured_queries]


def render(rows, info, seconds, rounds, profile, load, http_note: str) -> str:
    floors = {r["processes"]: r for r in rows if r["mode"] == "floor"}
    lines = [
        f"<!-- {SECTION}:start -->",
        "### Order capture, 2-line orders (`bench/bench_orders.py`)",
        "",
        f"Run {date.today().isoformat()} on {info['cpus']} CPUs ({info['cpu']}), "
        f"{info['ram']} RAM, PostgreSQL {info['postgres']}, Python {info['python']}. "
        f"{seconds:g} s per scenario in {rounds} interleaved rounds; paid 2-line web orders, {SKUS} SKUs in stock at one "
        f"warehouse, {CUSTOMERS} returning customers. Load average when it started: {load:.2f} "
        "(the machine is shared; expect noise).",
        "",
        "    .venv/bin/python bench/bench_orders.py   # or: make bench",
        "",
        "| scenario | processes | orders | orders/s | per round | p50 ms | p95 ms "
        "| client CPU ms per order | machine CPU busy | share of floor |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        floor = floors.get(r["processes"])
        share = f"{r['rate'] / floor['rate']:.2f}" if floor and r["mode"] != "floor" else ""
        name = {
            "service": "service (`order_capture`)",
            "http": "HTTP API (gunicorn, sync workers = processes)",
            "floor": "bare SQL floor (psycopg)",
        }[r["mode"]]
        lines.append(
            f"| {name} | {r['processes']} | {r['count']} | {r['rate']:.0f} | "
            f"{', '.join(f'{x:.0f}' for x in r['rounds'])} | {r['p50']:.2f} | "
            f"{r['p95']:.2f} | {r['client_cpu_ms']:.2f} | {r['cpu_busy']:.0%} | {share} |"
        )
    lines.append("")
    for mode, target in TARGETS.items():
        row = next((r for r in rows if r["mode"] == mode and r["processes"] == 2), None)
        if row and 2 in floors:
            share = row["rate"] / floors[2]["rate"]
            lines.append(
                f"- {mode} / floor with 2 processes: **{share:.2f}** (target >= {target:.2f}: "
                f"{'met' if share >= target else 'NOT met'})."
            )
    if http_note:
        lines.append(f"- {http_note}")
    lines += [
        "- Correct: every capture allocated with both lines reserved, a `created` event and a "
        "history row per order, numbers gap-free, reserved == active reservations, "
        "`check_invariants` clean (but for the floor's orders, which by definition have no "
        "history row or status change).",
        "",
        f"One capture, one client, in-process, {profile['statements']:.0f} SQL statements "
        "(BEGIN and COMMIT not counted): "
        f"{profile['wall_ms']:.1f} ms wall, of which {profile['db_ms']:.1f} ms inside "
        f"`cursor.execute` (round trips and PostgreSQL's work) and the rest Python; "
        f"{profile['cpu_ms']:.1f} ms of client CPU. Where that CPU goes (cProfile with a CPU "
        "clock, own time per function grouped by package):",
        "",
        "| where | share of client CPU |",
        "|---|---:|",
        *[f"| {label} | {share:.0%} |" for label, share in profile["buckets"].items()],
        "",
        f"What one capture sends ({len(profile['queries'])} statements, as Django logs them):",
        "",
        *[f"    {q[:140]}" for q in profile["queries"]],
        *(
            [
                "",
                f"One POST /api/v1/orders/ sends {len(profile['http_queries'])} statements "
                "(in-process, knox token): the capture's, plus authentication and the answer:",
                "",
                *[f"    {q[:140]}" for q in profile["http_queries"]],
            ]
            if profile["http_queries"]
            else []
        ),
        f"<!-- {SECTION}:end -->",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="per scenario, all rounds")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds the seconds are split into"
    )
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP scenarios")
    parser.add_argument(
        "--only", choices=["service", "http", "floor"], action="append", help="(repeatable)"
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the benchmark needs PostgreSQL (BENCH_DATABASE_URL=postgres://...)")

    load = os.getloadavg()[0]
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")  # the in-process POST (profile)
    recreate_database(url)
    configure_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    data = build_data()
    info = machine()
    profile = profile_capture()
    connection.close()  # the children open their own

    modes = args.only or ["service", "http", "floor"]
    http_note = ""
    if "http" in modes and (args.no_http or not api_available()):
        modes = [m for m in modes if m != "http"]
        http_note = (
            "HTTP not measured: --no-http."
            if args.no_http
            else "HTTP not measured: POST /api/v1/orders/ is not routed in this checkout."
        )
        print(http_note)
    # Rounds interleave the scenarios (service, http, floor, service, ...), so load from
    # elsewhere on a shared machine falls on all of them alike.
    runs: dict[tuple[str, int], list[dict]] = {}
    for round_no in range(1, args.rounds + 1):
        for mode in modes:
            for processes in (1, 2):
                server = None
                scenario_data = data
                if mode == "http":
                    server, port = start_gunicorn(url, processes)
                    scenario_data = {**data, "port": port}
                try:
                    row = run_scenario(
                        mode,
                        url,
                        scenario_data,
                        processes,
                        args.seconds / args.rounds,
                        f"{mode.upper()}{processes}R{round_no}-",
                    )
                finally:
                    if server is not None:
                        stop_gunicorn(server)
                runs.setdefault((mode, processes), []).append(row)
                print(
                    f"round {round_no} {mode:8} x{processes} {row['rate']:7.0f}/s  "
                    f"p50 {row['p50']:6.2f} ms  p95 {row['p95']:6.2f} ms  "
                    f"client CPU {row['client_cpu_ms']:.2f} ms/order  "
                    f"machine {row['cpu_busy']:.0%} busy",
                    flush=True,
                )
    rows = [merged(rounds) for rounds in runs.values()]

    configure_django(url)
    captured = profile["count"] + sum(r["created"] for r in rows if r["mode"] != "floor")
    floor_made = sum(r["created"] for r in rows if r["mode"] == "floor")
    problems = [e for r in rows for e in r["errors"]] + check(captured, floor_made)
    if not all(r["count"] for r in rows):
        problems.append("a scenario captured no order at all")

    floors = {r["processes"]: r["rate"] for r in rows if r["mode"] == "floor"}
    print()
    for r in rows:
        if r["mode"] != "floor" and r["processes"] in floors:
            print(
                f"{r['mode']} / floor with {r['processes']} process(es): "
                f"{r['rate'] / floors[r['processes']]:.2f}"
            )
    print(
        f"\none capture in-process: {profile['wall_ms']:.1f} ms wall, {profile['db_ms']:.1f} ms "
        f"in cursor.execute, {profile['cpu_ms']:.1f} ms CPU, {profile['statements']:.0f} statements"
    )
    for label, share in profile["buckets"].items():
        print(f"  {label:62} {share:5.0%}")
    for q in profile["queries"]:
        print("   ", q[:160])
    if profile["http_queries"]:
        print(f"one POST /api/v1/orders/: {len(profile['http_queries'])} statements")
        for q in profile["http_queries"]:
            print("   ", q[:160])
    for mode, target in TARGETS.items():
        row = next((r for r in rows if r["mode"] == mode and r["processes"] == 2), None)
        if row and 2 in floors and row["rate"] / floors[2] < target:
            print(f"WARNING: {mode} is {row['rate'] / floors[2]:.2f} of the floor (< {target})")
    if problems:
        print("\nCORRECTNESS FAILED:")
        for problem in problems[:20]:
            print("  -", problem)
        return 1
    print("\ncorrect: every order allocated, reserved == active, invariants hold")
    if not args.no_write:
        write_section(
            SECTION,
            render(rows, info, args.seconds, args.rounds, profile, load, http_note),
            heading="Orders",
        )
        print("BENCHMARKS.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
