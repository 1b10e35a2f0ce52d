"""The wholesale CSV import service (wholesale-csv.md, issue 5): the sample imports cleanly
and only once, overlapping files never double an order, a dry run writes nothing yet
says what a real run does, an order is rejected whole and alone, new accounts, the
timeline, the error report, the ImportRun record and the background task."""

import csv
import hashlib
import io
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from inventory.models import Reservation, StockLevel, StockMovement
from oms.core.exceptions import NotFound
from oms.core.models import OutboxEvent
from orders.imports import parse_wholesale_csv
from orders.models import (
    Channel,
    Customer,
    Hold,
    ImportRun,
    Order,
    OrderEvent,
    OrderLine,
    OrderSequence,
)
from orders.services.import_report import error_report_csv
from orders.services.import_runs import import_run_execute, import_run_queue
from orders.services.imports import import_orders_file
from tests.factories import (
    ChannelFactory,
    LocationFactory,
    ProductFactory,
    UserFactory,
    WholesaleCustomerFactory,
    stocked,
)

pytestmark = pytest.mark.django_db

SAMPLE_NAME = "wholesale_orders_sample.csv"
SAMPLE = next(
    path
    for path in (
        Path(settings.BASE_DIR) / "data" / SAMPLE_NAME,
        Path(settings.BASE_DIR) / "tests" / "data" / SAMPLE_NAME,
        Path(settings.BASE_DIR).parent / "shared" / "data" / SAMPLE_NAME,
    )
    if path.exists()
)

COLUMNS = [
    "order_ref",
    "order_date",
    "customer_code",
    "customer_name",
    "contact_email",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_postcode",
    "ship_country",
    "sku",
    "quantity",
    "unit_price",
    "notes",
]


def row(ref: str, sku: str = "IMP-A", quantity="2", **values) -> dict:
    """One CSV row of a wholesale order to a US address of its own (no fraud velocity)."""
    return {
        "order_ref": ref,
        "order_date": "2026-11-02",
        "customer_code": "ACCT-1",
        "ship_name": "Receiving",
        "ship_line1": f"Dock {ref}",
        "ship_city": "Seattle",
        "ship_postcode": "98134",
        "ship_country": "US",
        "sku": sku,
        "quantity": str(quantity),
        "unit_price": "5.00",
        **values,
    }


def csv_bytes(rows: list[dict], columns: list[str] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def wholesale_setup() -> Channel:
    """A wholesale channel, an account on terms, and stock at one warehouse: IMP-A and
    IMP-B plenty, IMP-SHORT only 3."""
    channel = ChannelFactory(code="wholesale", kind=Channel.Kind.WHOLESALE, currency="USD")
    WholesaleCustomerFactory(code="ACCT-1", name="Account One", credit_limit=Decimal("100000"))
    location = LocationFactory(code="WH-IMP", country="US")
    stocked(product=ProductFactory(sku="IMP-A"), location=location, quantity=1000)
    stocked(product=ProductFactory(sku="IMP-B"), location=location, quantity=1000)
    stocked(product=ProductFactory(sku="IMP-SHORT"), location=location, quantity=3)
    return channel


@pytest.fixture
def wholesale():
    return wholesale_setup()


@pytest.fixture
def seeded():
    call_command("seed_demo", orders=0, stdout=io.StringIO())


def outcomes(report) -> dict[str, str]:
    return {r.ref: r.outcome for r in [*report.created, *report.skipped, *report.rejected]}


def table_counts() -> dict[str, int]:
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "reservations": Reservation.objects.count(),
        "reserved": sum(StockLevel.objects.values_list("reserved", flat=True)),
        "movements": StockMovement.objects.count(),
        "customers": Customer.objects.count(),
        "holds": Hold.objects.count(),
        "events": OrderEvent.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "runs": ImportRun.objects.count(),
        "order history": Order.history.count(),
        "customer history": Customer.history.count(),
        "sequence": sum(OrderSequence.objects.values_list("last", flat=True)),
    }


# --- the sample ----------------------------------------------------------------------------


def test_the_sample_imports_cleanly_after_seed_demo_and_a_second_import_creates_nothing(
    seeded,
):
    data = SAMPLE.read_bytes()

    first = import_orders_file(SAMPLE, filename=SAMPLE.name)

    assert first.ok and not first.rejected and not first.skipped
    assert [r.ref for r in first.created] == ["ACME-PO-1001", "NW-58213", "ACME-PO-1002"]
    assert [r.rows for r in first.created] == [[2, 3], [4, 5, 6], [7]]
    for result in first.created:
        order = Order.objects.get(channel__code="wholesale", external_ref=result.ref)
        assert result.number == order.number
        assert result.status == order.status
    run = first.run
    assert run.status == ImportRun.Status.DONE
    assert run.checksum == hashlib.sha256(data).hexdigest()
    assert (run.rows_total, run.rows_done) == (6, 6)
    assert (run.orders_created, run.orders_skipped, run.orders_rejected) == (3, 0, 0)
    assert run.error_report == ""
    assert run.summary["counts"] == {"created": 3, "skipped": 0, "rejected": 0}
    assert run.started_at and run.finished_at
    before = table_counts()

    second = import_orders_file(SAMPLE, filename=SAMPLE.name)

    assert not second.created and not second.rejected
    assert [r.ref for r in second.skipped] == ["ACME-PO-1001", "NW-58213", "ACME-PO-1002"]
    for result, created in zip(second.skipped, first.created, strict=True):
        assert result.number == created.number
        assert result.reasons[0].startswith(f"already imported as {created.number}")
    after = table_counts()
    assert after.pop("runs") == before.pop("runs") + 1
    assert after == before
    assert second.run.orders_skipped == 3 and second.run.checksum == run.checksum


# --- idempotency across files ----------------------------------------------------------


def test_overlapping_files_never_double_an_order(wholesale):
    first = csv_bytes([row("PO-1"), row("PO-2"), row("PO-2", sku="IMP-B")])
    second = csv_bytes([row("PO-2"), row("PO-2", sku="IMP-B"), row("PO-3")])

    import_orders_file(first, filename="monday.csv")
    report = import_orders_file(second, filename="tuesday.csv")

    assert outcomes(report) == {"PO-2": "skipped", "PO-3": "created"}
    assert sorted(Order.objects.values_list("external_ref", flat=True)) == ["PO-1", "PO-2", "PO-3"]
    assert Order.objects.get(external_ref="PO-2").lines.count() == 2


def test_an_order_ref_imported_with_other_content_is_skipped_and_says_so(wholesale):
    import_orders_file(csv_bytes([row("PO-1", quantity=2)]), filename="a.csv")

    report = import_orders_file(csv_bytes([row("PO-1", quantity=7)]), filename="b.csv")

    (skipped,) = report.skipped
    assert skipped.ref == "PO-1"
    assert "already imported" in skipped.reasons[0]
    assert "different content" in skipped.reasons[0]
    assert Order.objects.get().lines.get().quantity == 2


# --- what happened to each order --------------------------------------------------------


def test_each_created_order_says_what_happened_to_it(wholesale):
    data = csv_bytes(
        [
            row("PO-OK", quantity=4),
            row("PO-SHORT", sku="IMP-SHORT", quantity=5),
            row(
                "PO-NEW",
                customer_code="NEW-1",
                customer_name="New Co",
                contact_email="a@new.example",
            ),
        ]
    )

    report = import_orders_file(data, filename="f.csv")

    by_ref = {r.ref: r for r in report.created}
    assert by_ref["PO-OK"].status == "allocated"
    assert by_ref["PO-OK"].text == "allocated from WH-IMP"
    assert by_ref["PO-SHORT"].status == "backordered"
    assert by_ref["PO-SHORT"].text == "backordered, short 2 × IMP-SHORT; reserved 3 at WH-IMP"
    # A new account pays up front until staff give it terms: held for payment.
    assert by_ref["PO-NEW"].status == "on_hold"
    assert by_ref["PO-NEW"].text == "held: payment hold: Awaiting payment."
    assert by_ref["PO-NEW"].reasons == ["new wholesale customer NEW-1"]


# --- dry run -------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_reports_what_the_real_run_does(wholesale, django_user_model):
    user = UserFactory(username="clerk")
    data = csv_bytes(
        [
            row("PO-OK", quantity=4),
            row("PO-SHORT", sku="IMP-SHORT", quantity=5),
            row(
                "PO-NEW",
                customer_code="NEW-1",
                customer_name="New Co",
                contact_email="a@new.example",
            ),
            row("PO-BAD", sku="NO-SUCH-SKU"),
            row("PO-BAD", sku="IMP-A", quantity="two"),
            row("PO-OLD"),
        ]
    )
    import_orders_file(csv_bytes([row("PO-OLD")]), filename="old.csv")
    before = table_counts()
    progress = []

    dry = import_orders_file(
        data, filename="f.csv", actor=user, dry_run=True, progress=lambda *p: progress.append(p)
    )

    assert table_counts() == before
    assert dry.dry_run and dry.run is None
    assert progress[-1] == (6, 6)
    real = import_orders_file(data, filename="f.csv", actor=user)

    def seen(report):
        return [
            (r.ref, r.rows, r.outcome, r.number, r.status, r.text, r.reasons)
            for r in [*report.created, *report.skipped, *report.rejected]
        ]

    assert seen(dry) == seen(real)
    assert outcomes(real) == {
        "PO-OK": "created",
        "PO-SHORT": "created",
        "PO-NEW": "created",
        "PO-BAD": "rejected",
        "PO-OLD": "skipped",
    }
    assert dry.customers_created == real.customers_created == ["NEW-1"]
    assert dry.checksum == real.checksum == hashlib.sha256(data).hexdigest()
    assert error_report_csv(dry) == error_report_csv(real)
    assert table_counts()["orders"] == before["orders"] + 3


# --- per-order atomicity -------------------------------------------------------------------


def test_one_bad_row_rejects_its_order_only(wholesale):
    data = csv_bytes(
        [
            row("PO-1"),
            row("PO-2", sku="IMP-A"),
            row("PO-2", sku="NO-SUCH-SKU"),  # the capture refuses it: unknown SKU
            row("PO-3", sku="IMP-B"),
            row("PO-4", quantity="0"),  # the parser refuses it
            row("PO-4", sku="IMP-B"),
        ]
    )

    report = import_orders_file(data, filename="f.csv")

    assert outcomes(report) == {
        "PO-1": "created",
        "PO-2": "rejected",
        "PO-3": "created",
        "PO-4": "rejected",
    }
    assert sorted(Order.objects.values_list("external_ref", flat=True)) == ["PO-1", "PO-3"]
    assert OrderLine.objects.count() == 2
    rejected = {r.ref: r for r in report.rejected}
    assert rejected["PO-2"].rows == [3, 4]
    assert any(
        reason.startswith("row 4, sku:") and "NO-SUCH-SKU" in reason
        for reason in rejected["PO-2"].reasons
    )
    assert rejected["PO-4"].rows == [6, 7]
    assert any(reason.startswith("row 6, quantity:") for reason in rejected["PO-4"].reasons)
    assert report.run.orders_rejected == 2 and not report.ok


# --- customers -----------------------------------------------------------------------------


def test_an_unknown_code_with_name_and_email_becomes_a_new_wholesale_customer(wholesale):
    data = csv_bytes(
        [
            row(
                "PO-1",
                customer_code="NEW-7",
                customer_name="Seven Ltd",
                contact_email="Buy@Seven.example",
            ),
            row(
                "PO-2",
                customer_code="NEW-7",
                customer_name="Seven Ltd",
                contact_email="buy@seven.example",
            ),
        ]
    )

    report = import_orders_file(data, filename="f.csv")

    customer = Customer.objects.get(code="NEW-7")
    assert customer.kind == Customer.Kind.WHOLESALE
    assert (customer.name, customer.email, customer.currency) == (
        "Seven Ltd",
        "buy@seven.example",
        "USD",
    )
    assert set(Order.objects.values_list("customer__code", flat=True)) == {"NEW-7"}
    assert report.customers_created == ["NEW-7"]


def test_an_unknown_code_without_name_and_email_rejects_the_order_at_customer_code(wholesale):
    data = csv_bytes([row("PO-1", customer_code="GHOST"), row("PO-2")])

    report = import_orders_file(data, filename="f.csv")

    assert outcomes(report) == {"PO-1": "rejected", "PO-2": "created"}
    errors = [(e.row, e.column) for e in report.row_errors if e.order_ref == "PO-1"]
    assert (2, "customer_code") in errors
    assert "GHOST" in report.rejected[0].reasons[0]
    assert report.rejected[0].reasons[0].startswith("row 2, customer_code:")
    assert not Customer.objects.filter(code="GHOST").exists()


def test_a_new_customer_whose_orders_are_all_rejected_is_not_kept(wholesale):
    data = csv_bytes(
        [
            row(
                "PO-1",
                sku="NO-SUCH",
                customer_code="NEW-9",
                customer_name="Nine",
                contact_email="n@nine.example",
            )
        ]
    )

    report = import_orders_file(data, filename="f.csv")

    assert outcomes(report) == {"PO-1": "rejected"}
    assert not Customer.objects.filter(code="NEW-9").exists()
    assert report.customers_created == []


# --- timeline ------------------------------------------------------------------------------


def test_an_imported_orders_timeline_names_the_file_the_rows_and_the_importer(wholesale):
    user = UserFactory(username="alice")
    data = csv_bytes([row("PO-1"), row("PO-2"), row("PO-1", sku="IMP-B")])

    import_orders_file(data, filename="week-45.csv", actor=user)

    event = OrderEvent.objects.get(order__external_ref="PO-1", kind="created")
    assert "week-45.csv rows 2, 4" in event.message
    assert "imported by alice" in event.message
    assert event.actor == user
    assert event.data["origin"] == "week-45.csv rows 2, 4, imported by alice"


# --- error report --------------------------------------------------------------------------


def test_the_error_report_holds_the_rejected_rows_and_imports_again_once_fixed(wholesale):
    data = csv_bytes(
        [
            row("PO-1"),
            row("PO-2", notes='Dock "B", before 3pm\nring twice'),
            row("PO-2", sku="IMP-B", quantity="-1"),
            row("PO-3", customer_code="GHOST"),
        ]
    )

    report = import_orders_file(data, filename="f.csv")
    text = report.run.error_report

    assert text == error_report_csv(report)
    records = list(csv.DictReader(io.StringIO(text)))
    assert list(records[0]) == [*COLUMNS, "reason"]
    assert [(r["order_ref"], r["sku"]) for r in records] == [
        ("PO-2", "IMP-A"),
        ("PO-2", "IMP-B"),
        ("PO-3", "IMP-A"),
    ]
    assert records[0]["notes"] == 'Dock "B", before 3pm\nring twice'
    assert records[0]["reason"].startswith("row 3: order PO-2 is rejected whole: row 4, quantity:")
    assert records[1]["reason"].startswith("row 4, quantity:")
    assert records[2]["reason"].startswith("row 5, customer_code:")
    # It parses again: the same orders and rows, the reason column reported and ignored.
    parsed = parse_wholesale_csv(text.encode(), default_currency="USD")
    assert parsed.unknown_columns == ["reason"]
    assert set(parsed.rejected) == {"PO-2"}  # the bad quantity is still there

    fixed = text.replace(",IMP-B,-1,", ",IMP-B,1,").replace("GHOST", "ACCT-1")
    again = import_orders_file(fixed.encode(), filename="f-fixed.csv")

    assert outcomes(again) == {"PO-2": "created", "PO-3": "created"}
    assert again.ok and again.run.error_report == ""
    assert Order.objects.get(external_ref="PO-2").lines.count() == 2
    # A re-imported report's reason column is replaced, not repeated.
    header = error_report_csv(import_orders_file(text.encode(), filename="x.csv")).splitlines()[0]
    assert header.split(",").count("reason") == 1


def test_a_file_the_parser_cannot_read_is_rejected_with_the_reason(wholesale):
    report = import_orders_file(b"order_ref,sku\nPO-1,IMP-A\n", filename="f.csv")

    assert not report.ok and not report.created
    assert any("Missing required columns" in problem for problem in report.file_errors)
    assert report.run.status == ImportRun.Status.DONE
    assert Order.objects.count() == 0


# --- records, limits, channel --------------------------------------------------------------


def test_an_unknown_channel_is_refused_before_anything_is_read(wholesale):
    with pytest.raises(NotFound, match="nowhere"):
        import_orders_file(csv_bytes([row("PO-1")]), filename="f.csv", channel_code="nowhere")
    assert ImportRun.objects.count() == 0


def test_the_run_summary_is_bounded(wholesale):
    report = import_orders_file(csv_bytes([row(f"PO-{n}") for n in range(5)]), filename="f.csv")

    summary = report.summary(limit=2)

    assert summary["counts"]["created"] == 5
    assert [entry["ref"] for entry in summary["created"]] == ["PO-0", "PO-1"]
    assert summary["truncated"] is True
    assert report.run.summary["created"][0] == {
        "ref": "PO-0",
        "rows": [2],
        "number": report.created[0].number,
        "status": "allocated",
        "outcome": "allocated from WH-IMP",
        "reasons": [],
    }


def test_progress_is_reported_and_recorded_after_every_chunk(wholesale):
    run = ImportRun.objects.create(channel=wholesale, filename="f.csv")
    seen = []

    def progress(done, total):
        seen.append((done, total, ImportRun.objects.get(pk=run.pk).rows_done))

    import_orders_file(
        csv_bytes([row("PO-1"), row("PO-1", sku="IMP-B"), row("PO-2"), row("PO-3")]),
        filename="f.csv",
        run=run,
        progress=progress,
        chunk_size=1,
    )

    assert seen == [(0, 4, 0), (2, 4, 2), (3, 4, 3), (4, 4, 4)]
    run.refresh_from_db()
    assert (run.rows_done, run.rows_total, run.orders_created) == (4, 4, 3)


# --- the background job ------------------------------------------------------------------


def test_a_queued_run_is_imported_in_the_background_from_its_stored_file(
    wholesale, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    user = UserFactory(username="bob")
    data = csv_bytes([row("PO-1"), row("PO-2", sku="IMP-B"), row("PO-3", sku="NO-SUCH")])

    with django_capture_on_commit_callbacks(execute=True):
        run = import_run_queue(file=data, filename="big.csv", actor=user)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert run.file.name.startswith("imports/")
    assert run.uploaded_by == user
    assert (run.rows_total, run.rows_done) == (3, 3)
    assert (run.orders_created, run.orders_skipped, run.orders_rejected) == (2, 0, 1)
    assert run.checksum == hashlib.sha256(data).hexdigest()
    assert "NO-SUCH" in run.error_report
    assert OrderEvent.objects.get(order__external_ref="PO-1", kind="created").actor == user

    # Run again (a redelivered task): a done run is left alone.
    assert import_run_execute(run_id=run.pk).status == ImportRun.Status.DONE
    assert Order.objects.count() == 2


def test_a_run_that_cannot_finish_is_marked_failed_with_the_reason(
    wholesale, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = import_run_queue(file=csv_bytes([row("PO-1")]), filename="f.csv")
    Channel.objects.filter(pk=wholesale.pk).update(active=False)

    for callback in callbacks:
        callback()

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert "inactive channel 'wholesale'" in run.message
    assert run.finished_at is not None
    assert Order.objects.count() == 0


# --- PostgreSQL: two overlapping imports racing -----------------------------------------------


@pytest.mark.pg
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_imports_racing_never_double_an_order(wholesale):
    # Every shared order is for a new account that both files introduce.
    new = {
        "customer_code": "NEW-RACE",
        "customer_name": "Race Co",
        "contact_email": "r@race.example",
    }
    shared = [row(f"PO-{n}", **new) for n in range(30)]
    files = [
        csv_bytes(shared + [row(f"A-{n}") for n in range(10)]),
        csv_bytes(list(reversed(shared)) + [row(f"B-{n}") for n in range(10)]),
    ]
    barrier = threading.Barrier(2)
    reports, errors = [None, None], []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            reports[i] = import_orders_file(files[i], filename=f"file-{i}.csv", chunk_size=7)
        except BaseException as exc:  # judged below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert errors == []
    assert Order.objects.count() == 50
    assert Order.objects.filter(external_ref__startswith="PO-").count() == 30
    created = [r.ref for report in reports for r in report.created]
    skipped = [r.ref for report in reports for r in report.skipped]
    assert sorted(created) == sorted(Order.objects.values_list("external_ref", flat=True))
    assert sorted(skipped) == sorted(f"PO-{n}" for n in range(30))
    assert not any(report.rejected for report in reports)
    assert OrderEvent.objects.filter(kind="created").count() == 50
    assert Customer.objects.filter(code="NEW-RACE").count() == 1
    assert set(
        Order.objects.filter(external_ref__startswith="PO-").values_list(
            "customer__code", flat=True
        )
    ) == {"NEW-RACE"}
    assert len(set(Order.objects.values_list("number", flat=True))) == 50
