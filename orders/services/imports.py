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

import csv
import hashlib
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Reservation
from oms.core.exceptions import DomainError, NotFound
from orders.imports import map_capture_errors, parse_wholesale_csv
from orders.imports.columns import read_header
from orders.models import Channel, Customer, Hold, ImportRun, Order, OrderLine
from orders.services.capture import capture_many
from orders.tasks import import_orders_run
from orders.validation import check_phone, format_phone

logger = logging.getLogger(__name__)

SYSTEM = "csv import"
# Orders per capture_many transaction. Bigger chunks import faster (fewer statements per
# order) but hold the stock levels they plan from for longer: 1,000 orders is about a
# second and a half, during which other captures of those SKUs wait.
CHUNK_SIZE = 1000
SOURCE = "csv import"
# ImportRun.summary keeps the counts and at most this many entries per outcome.
SUMMARY_LIMIT = 1000
REASON_COLUMN = "reason"
RUN_COUNTS = (
    "checksum",
    "rows_total",
    "rows_done",
    "orders_created",
    "orders_skipped",
    "orders_rejected",
)

ProgressCallback = Callable[[int, int], None]


@dataclass
class OrderResult:
    """What became of one order_ref of the file."""

    ref: str
    rows: list[int]
    outcome: str  # "created" | "skipped" | "rejected"
    number: str = ""
    status: str = ""
    text: str = ""  # what happened, in a sentence: allocated from..., held: ...
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "rows": self.rows,
            "number": self.number,
            "status": self.status,
            "outcome": self.text,
            "reasons": self.reasons,
        }


@dataclass
class ImportReport:
    filename: str
    channel: str
    dry_run: bool
    checksum: str = ""
    rows_total: int = 0
    created: list[OrderResult] = field(default_factory=list)
    skipped: list[OrderResult] = field(default_factory=list)
    rejected: list[OrderResult] = field(default_factory=list)
    # Problems not tied to an order (a missing header column, a row without order_ref).
    file_errors: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    customers_created: list[str] = field(default_factory=list)
    # The rejected rows as the file held them, for the error report.
    header: list[str] = field(default_factory=list)
    rejected_rows: list[tuple[int, list[str], str]] = field(default_factory=list)
    # Every RowError behind the rejections (parser's and capture's, mapped to rows).
    row_errors: list = field(default_factory=list)
    run: ImportRun | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.file_errors

    def summary(self, limit: int = SUMMARY_LIMIT) -> dict[str, Any]:
        """JSON for ImportRun.summary: counts, and the first `limit` entries of each list."""
        return {
            "counts": {
                "created": len(self.created),
                "skipped": len(self.skipped),
                "rejected": len(self.rejected),
            },
            "created": [r.as_dict() for r in self.created[:limit]],
            "skipped": [r.as_dict() for r in self.skipped[:limit]],
            "rejected": [r.as_dict() for r in self.rejected[:limit]],
            "truncated": max(len(self.created), len(self.skipped), len(self.rejected)) > limit,
            "file_errors": self.file_errors[:limit],
            "unknown_columns": self.unknown_columns,
            "customers_created": self.customers_created[:limit],
            "dry_run": self.dry_run,
        }


# --- reading ---------------------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    """Hands the parser the file's bytes and hashes them on the way: one read, one pass."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        return n

    def drain(self) -> None:
        """Hash what the parser left unread (it may stop early on a fatal error)."""
        while data := self._raw.read(1 << 16):
            self.sha256.update(data)


def _open(source) -> tuple[BinaryIO, bool]:
    """A seekable binary stream for a path, bytes or file object; and whether we opened it
    (and so close it)."""
    if isinstance(source, str | Path):
        return open(source, "rb"), True
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source), True
    if isinstance(source, io.TextIOBase):
        return io.BytesIO(source.read().encode()), True
    if hasattr(source, "open") and getattr(source, "closed", False):
        source.open("rb")  # a Django FieldFile
    stream = source
    if not (hasattr(stream, "seekable") and stream.seekable()):
        spool = io.BytesIO()
        while data := stream.read(1 << 16):
            spool.write(data)
        spool.seek(0)
        return spool, True
    stream.seek(0)
    return stream, False


def _raw_rows(
    stream: BinaryIO, wanted: set[int], refs: set[str]
) -> tuple[list[str], dict[int, list[str]], dict[str, list[int]]]:
    """The header, and the rows (spreadsheet numbering: header = row 1) that are `wanted`
    or belong to one of `refs`, as the file holds them; and each ref's row numbers. A
    second streaming read that keeps only those rows (the parser keeps no raw rows)."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    header: list[str] = []
    rows: dict[int, list[str]] = {}
    ref_rows: dict[str, list[int]] = defaultdict(list)
    position = None
    try:
        for number, record in enumerate(csv.reader(text), start=1):
            if not header:
                header = record
                position = read_header(record)[0].positions.get("order_ref")
                continue
            ref = (
                record[position].strip() if position is not None and position < len(record) else ""
            )
            if ref in refs and "".join(record).strip():
                ref_rows[ref].append(number)
                rows[number] = record
            elif number in wanted:
                rows[number] = record
    except csv.Error:
        pass  # the parser reported it; keep the rows read so far
    finally:
        text.detach()  # leave the stream to its owner
    return header, rows, ref_rows


# --- describing the outcome --------------------------------------------------------------


def rows_text(rows: Iterable[int]) -> str:
    """'row 4', 'rows 2-3', 'rows 2-4, 9'."""
    numbers = sorted(set(rows))
    parts: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
    label = "row" if len(numbers) == 1 else "rows"
    return f"{label} {', '.join(parts)}"


def _error_text(error) -> str:
    where = f"row {error.row}" + (f", {error.column}" if error.column else "")
    return f"{where}: {error.message}"


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
            result.reasons = [_error_text(e) for e in errors]
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


def _collect_rejected_rows(report: ImportReport, stream: BinaryIO) -> None:
    """Keep the rejected orders' rows (all of them: fixed and re-imported, the order must
    be whole) as the file holds them, each with its reason."""
    refs = {result.ref for result in report.rejected}
    wanted = {error.row for error in report.row_errors if error.row and error.row > 1}
    if not refs and not wanted:
        return
    report.header, rows, ref_rows = _raw_rows(stream, wanted, refs)
    reasons: dict[int, list[str]] = defaultdict(list)
    for error in report.row_errors:
        if error.row and error.row > 1:
            reasons[error.row].append(_error_text(error))
    for result in report.rejected:
        result.rows = sorted(set(result.rows) | set(ref_rows.get(result.ref, ())))
        why = "; ".join(result.reasons[:3]) + ("; ..." if len(result.reasons) > 3 else "")
        for row in result.rows:
            if row not in reasons:
                reasons[row].append(f"row {row}: order {result.ref} is rejected whole: {why}")
    report.rejected_rows = [
        (row, rows.get(row, []), "; ".join(dict.fromkeys(reasons[row]))) for row in sorted(reasons)
    ]


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

    stream, owned = _open(source)
    try:
        hashing = _HashingReader(stream)
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
                    reasons=[_error_text(e) for e in errors],
                )
            )
            report.row_errors.extend(errors)
        for error in parsed.errors:
            if not error.order_ref:  # the file's own problems, and rows without order_ref
                report.file_errors.append(_error_text(error))
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

        _collect_rejected_rows(report, stream)
        for results in (report.created, report.skipped, report.rejected):
            results.sort(key=lambda r: (min(r.rows, default=0), r.ref))
    finally:
        if owned:
            stream.close()
    if run is not None:
        _finish_run(run, report, rows_done=report.rows_total)
    return report


def import_run_queue(
    *, file, filename: str = "", channel_code: str = "wholesale", actor=None
) -> ImportRun:
    """Store an uploaded file as a queued ImportRun and start it in the background once
    the run is committed (import_orders_run); the run row shows its progress."""
    channel = Channel.objects.filter(code=channel_code, active=True).first()
    if channel is None:
        raise NotFound(f"Unknown or inactive channel {channel_code!r}.", channel=channel_code)
    filename = Path(filename or getattr(file, "name", "") or "orders.csv").name[:255]
    content = ContentFile(file) if isinstance(file, bytes | bytearray) else File(file)
    with transaction.atomic():
        run = ImportRun(
            channel=channel,
            filename=filename,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        run.file.save(filename, content, save=False)
        run.save()
        transaction.on_commit(lambda: import_orders_run.delay(run.pk))
    return run


def import_run_execute(*, run_id: int) -> ImportRun:
    """Run a queued (or failed, or interrupted) ImportRun from its stored file; a done run
    is left alone. A failure marks the run failed with the reason and is not raised: the
    run row is where staff look. Orders captured before it stay (each chunk commits on its
    own) and a re-run skips them."""
    run = ImportRun.objects.select_related("channel", "uploaded_by").get(pk=run_id)
    if run.status == ImportRun.Status.DONE:
        return run
    try:
        with run.file.open("rb") as stream:
            import_orders_file(
                stream,
                filename=run.filename,
                channel_code=run.channel.code,
                actor=run.uploaded_by,
                run=run,
            )
    except DomainError as exc:
        import_run_fail(run=run, message=exc.message)
    except Exception as exc:
        logger.exception("Import run %s failed", run.pk)
        import_run_fail(run=run, message=f"{type(exc).__name__}: {exc}")
    return run


def import_run_fail(*, run: ImportRun, message: str) -> ImportRun:
    """Mark a run failed, with the reason."""
    run.status = ImportRun.Status.FAILED
    run.message = message[:5000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])
    return run


def error_report_csv(report: ImportReport) -> str:
    """The rejected rows in the file's own columns plus a `reason` column (row number and
    column in each reason), in row order: fix them and import the file again.

    Cells are written as the customer sent them, not formula-escaped: the report exists
    to be re-imported, and escaping would change values the parser must read back (a
    phone number begins with "+"). A re-imported report's old `reason` column is
    replaced, not repeated."""
    header = list(report.header)
    keep = [i for i, name in enumerate(header) if name.strip().lower() != REASON_COLUMN]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header[i] for i in keep] + [REASON_COLUMN])
    width = len(header)
    for _row, values, reason in report.rejected_rows:
        values = list(values) + [""] * (width - len(values))
        writer.writerow([values[i] for i in keep] + [reason])
    return out.getvalue()
