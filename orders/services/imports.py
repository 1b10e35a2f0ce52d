"""Wholesale CSV import (../shared/wholesale-csv.md): a file in, orders out through the same
capture as every other channel, nothing doubled, every problem named by row and column.

The parser (orders/imports/parser.py) reads the file once, streaming, and groups its rows
into orders; this service hashes the bytes as the parser reads them, creates the new
wholesale accounts the file introduces, feeds the orders to `capture_many` in chunks
(each chunk one transaction: an order is written whole or not at all, and a crash loses
at most the chunk in flight, which a re-import then fills in) and reports what became of
each order. Idempotency is capture's: (channel, external_ref) is unique, so an order
already imported, by this file or an overlapping one, comes back as a replay or a
conflict and is reported as skipped.
"""

import io
from collections import defaultdict
from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Reservation
from oms.core.exceptions import NotFound
from orders.imports import map_capture_errors, parse_wholesale_csv
from orders.imports.files import HashingReader, open_source
from orders.models import Channel, Customer, Hold, ImportRun, Order, OrderLine
from orders.services.capture import capture_many
from orders.services.import_report import (
    ImportReport,
    OrderResult,
    collect_rejected_rows,
    error_report_csv,
    error_text,
    rows_text,
)
from orders.validation import check_phone, format_phone

SYSTEM = "csv import"
# Orders per capture_many transaction. Bigger chunks import faster (fewer statements per
# order) but hold the stock levels they plan from for longer: 1,000 orders is about a
# second and a half, during which other captures of those SKUs wait.
CHUNK_SIZE = 1000
SOURCE = "csv import"
RUN_COUNTS = (
    "checksum",
    "rows_total",
    "rows_done",
    "orders_created",
    "orders_skipped",
    "orders_rejected",
)

ProgressCallback = Callable[[int, int], None]


# --- describing the outcome --------------------------------------------------------------


def _describe(orders: list[Order]) -> dict[int, tuple[str, str]]:
    """(status, what happened) per order id, in four queries however many orders:
    allocated and from where, backordered and by how much, or held and why."""
    ids = [order.pk for order in orders]
    statuses = dict(Order.objects.filter(pk__in=ids).values_list("pk", "status"))
    lines = list(
        OrderLine.objects.filter(order_id__in=ids).values(
            "pk", "order_id", "sku", "quantity", "quantity_reserved", "quantity_cancelled"
        )
    )
    where: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    line_order = {line["pk"]: line["order_id"] for line in lines}
    for demand_id, location, quantity in Reservation.objects.filter(
        demand_type=ContentType.objects.get_for_model(OrderLine),
        demand_id__in=list(line_order),
        state=Reservation.State.ACTIVE,
    ).values_list("demand_id", "stock_level__location__code", "quantity"):
        where[line_order[demand_id]][location] += quantity
    holds: dict[int, list[str]] = defaultdict(list)
    for order_id, kind, reason in Hold.objects.filter(
        order_id__in=ids, resolved_at__isnull=True
    ).values_list("order_id", "kind", "reason"):
        holds[order_id].append(f"{Hold.Kind(kind).label.lower()} hold: {reason}")
    short: dict[int, list[str]] = defaultdict(list)
    for line in lines:
        missing = line["quantity"] - line["quantity_reserved"] - line["quantity_cancelled"]
        if missing > 0:
            short[line["order_id"]].append(f"{missing} × {line['sku']}")

    described = {}
    labels = dict(Order.Status.choices)
    for order_id in ids:
        status = statuses.get(order_id, "")
        reserved = ", ".join(
            f"{quantity} at {code}" for code, quantity in sorted(where[order_id].items())
        )
        if status == Order.Status.ON_HOLD:
            text = "held: " + ("; ".join(holds[order_id]) or "on hold")
        elif status == Order.Status.BACKORDERED:
            text = f"backordered, short {', '.join(short[order_id])}"
            if reserved:
                text += f"; reserved {reserved}"
        elif status == Order.Status.ALLOCATED:
            text = f"allocated from {', '.join(sorted(where[order_id]))}"
            if len(where[order_id]) > 1:
                text += f" ({reserved})"
        else:
            text = labels.get(status, status).lower()
        described[order_id] = (status, text)
    return described


# --- the import ------------------------------------------------------------------------


def _code(order) -> str:
    return str((order.customer or {}).get("code") or "").strip()


def _new_customers(chunk, existing: set[str]) -> dict[str, dict]:
    """Unknown account codes the file introduces with a name and an e-mail: the first
    order's details, per code. Codes without them stay unknown, and capture says so."""
    wanted: dict[str, dict] = {}
    for order in chunk:
        customer = order.customer or {}
        code = _code(order)
        known = not code or code in existing or code in wanted
        if not known and customer.get("name") and customer.get("email"):
            wanted[code] = {
                **customer,
                "currency": order.payload.get("currency", ""),
                "country": (order.payload.get("ship_to") or {}).get("country", ""),
            }
    return wanted


def _create_customers(wanted: dict[str, dict], default_currency: str) -> dict[str, Customer]:
    """Create the new wholesale accounts, in code order (two imports introducing the same
    accounts take their unique-index locks in one order: no deadlock). One created by a
    racing import meanwhile is taken as it is (get_or_create re-reads it after the
    unique constraint refuses ours). Returns those this call created."""
    created = {}
    for code in sorted(wanted):
        details = wanted[code]
        phone = details.get("phone") or ""
        if phone and check_phone(phone, details["country"]) is None:
            phone = format_phone(phone, details["country"])
        else:
            phone = ""
        customer, made = Customer.objects.get_or_create(
            code=code,
            defaults={
                "kind": Customer.Kind.WHOLESALE,
                "name": details["name"][:200],
                "email": details["email"].lower()[:254],
                "phone": phone[:32],
                "currency": details["currency"] or default_currency,
            },
        )
        if made:
            created[code] = customer
    return created


def _capture_chunk(chunk, *, channel: Channel, filename: str, actor, report: ImportReport) -> None:
    """Capture one chunk of parsed orders and record each outcome.

    New accounts are created (and committed) before the capture, in a transaction of
    their own, rather than in one transaction around capture_many: capture locks an
    account row (credit check) and then the order-number counter, order by order, so one
    transaction spanning several orders of different accounts could deadlock against a
    racing import. An account left without orders (all refused) is removed again; a
    crash in between leaves at most an account without orders, which a re-import uses."""
    by = actor.get_username() if getattr(actor, "pk", None) else ""
    payloads = [{**order.payload, "channel": channel.code} for order in chunk]
    origins = [
        f"{filename} {rows_text(order.rows)}" + (f", imported by {by}" if by else "")
        for order in chunk
    ]
    codes = {_code(o) for o in chunk} - {""}
    with transaction.atomic():
        existing = set(Customer.objects.filter(code__in=codes).values_list("code", flat=True))
        new = _create_customers(_new_customers(chunk, existing), channel.currency)
    outcomes = capture_many(payloads, actor=actor, source=SOURCE, origins=origins, system=SYSTEM)
    used = {_code(o) for o, outcome in zip(chunk, outcomes, strict=True) if outcome.order}
    orphans = [customer.pk for code, customer in new.items() if code not in used]
    if orphans:
        try:
            with transaction.atomic():
                Customer.objects.filter(pk__in=orphans, orders__isnull=True).delete()
        except IntegrityError:
            pass  # a racing import captured an order for it meanwhile: it stays
    report.customers_created.extend(sorted(code for code in new if code in used))
    described = _describe([o.order for o in outcomes if o.created and o.order is not None])

    for order, outcome in zip(chunk, outcomes, strict=True):
        result = OrderResult(ref=order.ref, rows=list(order.rows), outcome="")
        if outcome.errors:
            result.outcome = "rejected"
            errors = map_capture_errors(order, outcome.errors)
            result.reasons = [error_text(e) for e in errors]
            result.text = "rejected"
            report.rejected.append(result)
            report.row_errors.extend(errors)
        elif outcome.conflict:
            result.outcome = "skipped"
            result.text = "already imported with different content"
            result.reasons = [f"already imported: {outcome.conflict}"]
            report.skipped.append(result)
        elif outcome.order is not None and not outcome.created:
            result.outcome = "skipped"
            result.number = outcome.order.number
            result.status = outcome.order.status
            result.text = "already imported"
            result.reasons = [
                f"already imported as {outcome.order.number} ({outcome.order.get_status_display().lower()})"
            ]
            report.skipped.append(result)
        else:
            result.outcome = "created"
            result.number = outcome.order.number
            result.status, result.text = described[outcome.order.pk]
            if _code(order) in new:
                result.reasons = [f"new wholesale customer {_code(order)}"]
            report.created.append(result)


def _finish_run(run: ImportRun, report: ImportReport, rows_done: int) -> None:
    run.checksum = report.checksum
    run.rows_total = report.rows_total
    run.rows_done = rows_done
    run.orders_created = len(report.created)
    run.orders_skipped = len(report.skipped)
    run.orders_rejected = len(report.rejected)
    run.error_report = error_report_csv(report) if report.rejected_rows else ""
    run.summary = report.summary()
    run.status = ImportRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=[*RUN_COUNTS, "error_report", "summary", "status", "finished_at"])


def import_orders_file(
    source,
    *,
    filename: str,
    channel_code: str = "wholesale",
    actor=None,
    dry_run: bool = False,
    run: ImportRun | None = None,
    progress: ProgressCallback | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ImportReport:
    """Import a wholesale CSV file into a channel. `source`: a path, bytes or a binary
    file object. Returns the report: each order created (with what happened to it),
    skipped as already imported, or rejected (with every problem by row and column).

    A dry run does all of it in one transaction and rolls it back: the report says
    exactly what a real import would do (numbers included) and nothing is written, not
    even an ImportRun. Being one transaction, on PostgreSQL it holds what capture locks
    (the order-number counter, accounts' rows) until it ends: other captures wait for a
    dry run, so a very large file is better previewed in a quiet hour.

    A real run records itself on `run` (or a new ImportRun), with progress after every
    chunk; `progress(rows_done, rows_total)` is called as well."""
    channel = Channel.objects.filter(code=channel_code, active=True).first()
    if channel is None:
        raise NotFound(f"Unknown or inactive channel {channel_code!r}.", channel=channel_code)
    if dry_run:
        with transaction.atomic():
            report = _import(
                source,
                filename=filename,
                channel=channel,
                actor=actor,
                run=None,
                progress=progress,
                chunk_size=chunk_size,
            )
            report.dry_run = True
            transaction.set_rollback(True)
        return report
    if run is None:
        run = ImportRun.objects.create(
            channel=channel,
            filename=filename[:255],
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
    return _import(
        source,
        filename=filename,
        channel=channel,
        actor=actor,
        run=run,
        progress=progress,
        chunk_size=chunk_size,
    )


def _import(
    source,
    *,
    filename: str,
    channel: Channel,
    actor,
    run: ImportRun | None,
    progress: ProgressCallback | None,
    chunk_size: int,
) -> ImportReport:
    report = ImportReport(filename=filename, channel=channel.code, dry_run=False, run=run)
    if run is not None:
        run.status = ImportRun.Status.RUNNING
        run.started_at, run.finished_at, run.message = timezone.now(), None, ""
        run.save(update_fields=["status", "started_at", "finished_at", "message"])

    stream, owned = open_source(source)
    try:
        hashing = HashingReader(stream)
        parsed = parse_wholesale_csv(io.BufferedReader(hashing), default_currency=channel.currency)
        hashing.drain()
        report.checksum = hashing.sha256.hexdigest()
        report.rows_total = parsed.rows
        report.unknown_columns = list(parsed.unknown_columns)

        # Parser refusals: whole orders, and problems that belong to no order.
        for ref, errors in parsed.rejected.items():
            rows = sorted({e.row for e in errors if e.row > 1})  # completed from the file below
            report.rejected.append(
                OrderResult(
                    ref=ref,
                    rows=rows,
                    outcome="rejected",
                    text="rejected",
                    reasons=[error_text(e) for e in errors],
                )
            )
            report.row_errors.extend(errors)
        for error in parsed.errors:
            if not error.order_ref:  # the file's own problems, and rows without order_ref
                report.file_errors.append(error_text(error))
                report.row_errors.append(error)
        # Rows the parser settled (refused, blank) are done; the rest go chunk by chunk.
        done = parsed.rows - sum(len(order.rows) for order in parsed.orders)

        def advance(rows: int) -> None:
            nonlocal done
            done = min(done + rows, report.rows_total) if report.rows_total else done + rows
            if run is not None:
                ImportRun.objects.filter(pk=run.pk).update(
                    rows_total=report.rows_total, rows_done=done, checksum=report.checksum
                )
            if progress is not None:
                progress(done, report.rows_total)

        advance(0)
        orders = parsed.orders
        for start in range(0, len(orders), chunk_size):
            chunk = orders[start : start + chunk_size]
            _capture_chunk(chunk, channel=channel, filename=filename, actor=actor, report=report)
            advance(sum(len(order.rows) for order in chunk))

        collect_rejected_rows(report, stream)
        for results in (report.created, report.skipped, report.rejected):
            results.sort(key=lambda r: (min(r.rows, default=0), r.ref))
    finally:
        if owned:
            stream.close()
    if run is not None:
        _finish_run(run, report, rows_done=report.rows_total)
    return report
