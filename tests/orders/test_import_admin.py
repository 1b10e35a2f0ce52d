"""Orders > Import in the console: the preview says what would happen to each order and
writes nothing; confirm imports the very file previewed and lands on its ImportRun page;
a second upload previews every order as skipped; errors are listed by row and column;
large files go to the background (progress, error report as CSV); only users with
orders.import_orders get in; everything the file brings is shown escaped."""

import csv
import io
import os
import time
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from inventory.invariants import violations
from orders.admin import import_page as import_admin
from orders.models import Channel, ImportRun, Order
from tests.factories import (
    ChannelFactory,
    LocationFactory,
    ProductFactory,
    WholesaleCustomerFactory,
    stocked,
)

pytestmark = pytest.mark.django_db

HEADER = (
    "order_ref,order_date,customer_code,ship_name,ship_line1,ship_city,ship_postcode,"
    "ship_country,sku,quantity,unit_price,currency,notes"
)
ADDRESS = "Receiving,4100 East Marginal Way S,Seattle,98134,US"


def line(ref: str, sku: str, quantity, *, customer: str = "NORTHWIND", notes: str = "") -> str:
    return f"{ref},2026-11-02,{customer},{ADDRESS},{sku},{quantity},3.20,USD,{notes}"


def csv_file(*lines: str, header: str = HEADER, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join([header, *lines]) + "\n").encode(), "text/csv")


# Three orders: one allocated (stock at WH-NJ), one short of GADGET-PRO (backordered by 4),
# one over its account's credit limit (held).
GOOD = (
    line("NW-1", "WIDGET-RED", 5, notes="<script>alert(1)</script> dock B"),
    line("NW-2", "GADGET-PRO", 6),
    line("NW-2", "WIDGET-RED", 1),
    line("TINY-1", "WIDGET-RED", 50, customer="TINY"),
)


@pytest.fixture(autouse=True)
def wholesale(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # previews and queued files land here
    ChannelFactory(code="wholesale", name="Wholesale", kind=Channel.Kind.WHOLESALE)
    WholesaleCustomerFactory(code="NORTHWIND", name="Northwind", credit_limit=100_000)
    WholesaleCustomerFactory(code="TINY", name="Tiny Shop", credit_limit=10)
    location = LocationFactory(code="WH-NJ", priority=1)
    stocked(product=ProductFactory(sku="WIDGET-RED"), location=location, quantity=500)
    stocked(product=ProductFactory(sku="GADGET-PRO"), location=location, quantity=2)
    yield
    assert list(violations()) == []


@pytest.fixture
def importer(login):
    return login(None, "orders.import_orders")


IMPORT_URL = "admin:orders_importrun_import_orders"


def url(name: str = IMPORT_URL, *args) -> str:
    return reverse(name, args=args)


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def preview(client, upload: SimpleUploadedFile, channel: str = "wholesale"):
    upload.seek(0)
    return client.post(url(), {"file": upload, "channel": channel})


def confirm(client, response, **extra):
    return client.post(url(), {"token": response.context["token"], **extra})


def written() -> tuple[int, int]:
    return Order.objects.count(), ImportRun.objects.count()


# -- the page and the preview ------------------------------------------------------------


def test_the_form_offers_the_channels_with_wholesale_first_chosen(client, importer):
    response = client.get(url())
    assert response.status_code == 200
    assert response.context["form"]["channel"].value() == "wholesale"
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_preview_says_what_would_happen_to_each_order_and_writes_nothing(client, importer):
    before = written()
    response = preview(client, csv_file(*GOOD))

    assert response.status_code == 200
    assert written() == before
    report = response.context["report"]
    outcomes = {row["ref"]: row["text"] for row in report["created"]}
    assert set(outcomes) == {"NW-1", "NW-2", "TINY-1"}
    assert "allocated from WH-NJ" in outcomes["NW-1"]
    assert "backordered" in outcomes["NW-2"] and "4 × GADGET-PRO" in outcomes["NW-2"]
    assert "credit" in outcomes["TINY-1"].lower() and "held" in outcomes["TINY-1"]
    badges = " ".join(str(row["badge"]) for row in report["created"])
    assert "Allocated" in badges and "Backordered" in badges and "On hold" in badges
    # A dry run's order numbers were rolled back with it: none is shown or linked.
    assert all(row["number"] == "" for row in report["created"])
    page = response.content.decode()
    assert "Orders to create (3)" in page
    assert "allocated from WH-NJ" in page
    assert "Confirm import" in page


def test_preview_shows_file_text_escaped(client, importer):
    upload = csv_file(line("NW-9", "NOPE<b>", 1, notes="<script>alert(1)</script>"))
    page = preview(client, upload).content.decode().lower()
    assert "<script>alert(1)</script>" not in page
    assert "nope<b>" not in page
    assert "nope&lt;b&gt;" in page  # the unknown SKU, named in the error


def test_confirm_imports_what_was_previewed_and_lands_on_the_run(client, importer):
    response = preview(client, csv_file(*GOOD, name="november.csv"))
    previewed = {row["ref"]: row["text"] for row in response.context["report"]["created"]}

    done = confirm(client, response)

    run = ImportRun.objects.get()
    assert done.status_code == 302
    assert done.url == reverse("admin:orders_importrun_change", args=[run.pk])
    assert run.status == ImportRun.Status.DONE
    assert run.filename == "november.csv"
    assert run.uploaded_by == importer
    assert run.checksum == response.context["pending"].checksum
    assert (run.orders_created, run.orders_skipped, run.orders_rejected) == (3, 0, 0)
    assert {e["ref"]: e["outcome"] for e in run.summary["created"]} == previewed
    imported = Order.objects.select_related("channel")
    assert set(imported.values_list("external_ref", flat=True)) == set(previewed)
    assert {o.channel.code for o in imported} == {"wholesale"}
    assert any("3 created, 0 skipped, 0 rejected" in text for text in texts(done))
    page = client.get(done.url)
    assert page.status_code == 200
    assert page.context["run_progress"]["percent"] == 100
    body = page.content.decode()
    assert "Orders created (3)" in body
    assert "allocated from WH-NJ" in body
    assert "Download error report" not in body  # nothing was rejected


def test_a_second_upload_of_the_same_file_previews_every_order_as_skipped(client, importer):
    confirm(client, preview(client, upload := csv_file(*GOOD)))
    orders = Order.objects.count()

    again = preview(client, upload)

    report = again.context["report"]
    assert report["created"] == [] and report["rejected"] == []
    assert {row["ref"] for row in report["skipped"]} == {"NW-1", "NW-2", "TINY-1"}
    assert "already imported" in again.content.decode()
    confirm(client, again)
    assert Order.objects.count() == orders
    assert ImportRun.objects.latest("pk").orders_skipped == 3


def test_a_file_with_errors_previews_them_by_row_and_column(client, importer):
    upload = csv_file(
        line("NW-1", "WIDGET-RED", 2) + ",red",
        line("NW-3", "WIDGET-RED", 0) + ",red",  # row 3: quantity
        line("NW-4", "WIDGET-RED", 1).replace(",US,", ",XX,") + ",red",  # row 4: ship_country
        header=HEADER + ",colour",
    )
    response = preview(client, upload)

    report = response.context["report"]
    assert {row["ref"] for row in report["created"]} == {"NW-1"}
    assert {row["ref"] for row in report["rejected"]} == {"NW-3", "NW-4"}
    assert report["unknown_columns"] == ["colour"]
    where = {(error.row, error.column) for error in report["errors"]}
    assert (3, "quantity") in where
    assert (4, "ship_country") in where
    page = response.content.decode()
    assert 'data-row="3" data-column="quantity"' in page
    assert "Unknown columns, ignored" in page and "colour" in page
    assert Order.objects.count() == 0

    confirm(client, response)
    run = ImportRun.objects.get()
    assert (run.orders_created, run.orders_rejected) == (1, 2)
    report_csv = client.get(url("admin:orders_importrun_error_report", run.pk))
    rows = list(csv.DictReader(io.StringIO(report_csv.content.decode())))
    assert [row["order_ref"] for row in rows] == ["NW-3", "NW-4"]
    assert "quantity" in rows[0]["reason"]


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00garbage\x00\n\x81", b"order_ref\nNW-1\n", b'"unclosed,quote\n'],
    ids=["not-utf8", "missing-columns", "bad-quoting"],
)
def test_an_unreadable_file_previews_its_errors_and_never_500s(client, importer, content):
    response = preview(client, SimpleUploadedFile("odd.csv", content, "text/csv"))
    assert response.status_code == 200
    report = response.context["report"]
    assert report["created"] == []
    assert report["errors"] or report["file_errors"]
    assert written() == (0, 0)


def test_an_empty_file_is_a_form_error(client, importer):
    response = preview(client, SimpleUploadedFile("empty.csv", b"", "text/csv"))
    assert response.status_code == 200
    assert "file" in response.context["form"].errors


# -- confirm checks the file --------------------------------------------------------------


def test_confirm_refuses_a_stored_file_that_changed_since_the_preview(client, importer):
    response = preview(client, csv_file(*GOOD))
    storage = response.context["pending"].storage()
    storage.remove()
    storage.save(("\n".join([HEADER, line("EVIL-1", "WIDGET-RED", 400)]) + "\n").encode())

    refused = confirm(client, response)

    assert refused.status_code == 302
    assert written() == (0, 0)
    assert any("checksum differs" in text for text in texts(refused))


def test_confirm_with_a_forged_or_replayed_token_writes_nothing(client, importer):
    refused = client.post(url(), {"token": "forged:token"})
    assert refused.status_code == 302
    assert any("could not be read" in text for text in texts(refused))

    response = preview(client, csv_file(*GOOD))
    confirm(client, response)
    orders = written()
    replayed = confirm(client, response)  # the stored file went with the first confirm
    assert replayed.status_code == 302
    assert written() == orders
    assert any("no longer stored" in text for text in texts(replayed))


def test_previews_never_confirmed_are_removed_once_expired(client, importer, settings):
    first = preview(client, csv_file(*GOOD)).context["pending"]
    stale = Path(settings.MEDIA_ROOT) / import_admin.PREVIEW_FOLDER / first.name
    long_ago = time.time() - import_admin.PREVIEW_MAX_AGE - 60
    os.utime(stale, (long_ago, long_ago))

    second = preview(client, csv_file(*GOOD)).context["pending"]

    assert not stale.exists()
    assert (stale.parent / second.name).exists()


def test_an_unknown_channel_is_a_form_error_not_a_500(client, importer):
    response = preview(client, csv_file(*GOOD), channel="nope")
    assert response.status_code == 200
    assert "channel" in response.context["form"].errors


# -- permissions and CSRF -----------------------------------------------------------------


@pytest.mark.parametrize("permissions", [(), ("orders.view_importrun",)])
def test_without_the_import_permission_importing_is_refused(client, login, permissions):
    login(None, *permissions)
    assert client.get(url()).status_code == 403
    assert preview(client, csv_file(*GOOD)).status_code == 403
    assert client.post(url(), {"token": "x"}).status_code == 403
    assert written() == (0, 0)
    assert (
        "Import orders" not in client.get(url("admin:orders_importrun_changelist")).content.decode()
    )


def test_runs_are_records_read_with_the_view_permission_only(client, login):
    run = ImportRun.objects.create(
        channel=Channel.objects.get(code="wholesale"), filename="x.csv", error_report="a\r\n"
    )
    pages = [
        url("admin:orders_importrun_changelist"),
        url("admin:orders_importrun_change", run.pk),
        url("admin:orders_importrun_progress", run.pk),
        url("admin:orders_importrun_error_report", run.pk),
    ]
    login()
    assert [client.get(page).status_code for page in pages] == [403] * 4
    login(None, "orders.view_importrun")  # every role has it (oms.core.roles)
    assert [client.get(page).status_code for page in pages] == [200] * 4


def test_the_superuser_may_import(client, login):
    login(is_superuser=True)
    assert client.get(url()).status_code == 200


def test_posts_need_the_csrf_token(importer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(importer)
    upload = csv_file(*GOOD)
    assert strict.post(url(), {"file": upload, "channel": "wholesale"}).status_code == 403
    assert strict.post(url(), {"token": "x"}).status_code == 403


def test_runs_are_read_only(client, importer):
    run = ImportRun.objects.create(channel=Channel.objects.get(code="wholesale"), filename="x")
    assert client.get(url("admin:orders_importrun_add")).status_code == 403
    assert client.post(url("admin:orders_importrun_delete", run.pk)).status_code == 403
    page = client.get(url("admin:orders_importrun_change", run.pk)).content.decode()
    assert 'name="_save"' not in page


def test_the_run_list_shows_file_channel_who_status_progress_and_counts(client, importer):
    confirm(client, preview(client, csv_file(*GOOD, name="list.csv")))
    page = client.get(url("admin:orders_importrun_changelist")).content.decode()
    for text in ("list.csv", "wholesale", importer.username, "Done", "100%"):
        assert text in page


# -- large files --------------------------------------------------------------------------


def test_a_large_file_is_checked_then_imported_in_the_background(
    client, importer, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(import_admin, "IMPORT_INLINE_MAX_ROWS", 1)
    upload = csv_file(*GOOD, line("NW-5", "WIDGET-RED", "two"), name="big.csv")

    response = preview(client, upload)

    assert response.context["pending"].background
    parsed = response.context["parsed"]
    assert {row["ref"] for row in parsed["rejected"]} == {"NW-5"}
    assert [(e.row, e.column) for e in parsed["errors"]] == [(6, "quantity")]
    page = response.content.decode()
    assert 'data-testid="large-file-note"' in page
    assert "Confirm and import in the background" in page
    assert written() == (0, 0)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queued = confirm(client, response)
    assert len(callbacks) >= 1  # the task is sent after the commit
    run = ImportRun.objects.get()
    assert queued.url == reverse("admin:orders_importrun_change", args=[run.pk])
    assert run.file.name.startswith("imports/")
    # The task ran (eagerly here, as without a broker).
    assert run.status == ImportRun.Status.DONE
    assert (run.orders_created, run.orders_rejected) == (3, 1)
    assert run.rows_done == run.rows_total == 5

    progress = client.get(url("admin:orders_importrun_progress", run.pk)).json()
    assert progress == {
        "status": "done",
        "status_display": "Done",
        "rows_done": 5,
        "rows_total": 5,
        "percent": 100,
        "finished": True,
    }
    page = client.get(queued.url).content.decode()
    assert 'data-testid="progress-bar" style="width: 100%"' in page
    assert "5 / 5 rows · 100%" in page
    assert "Download error report (CSV)" in page

    download = client.get(url("admin:orders_importrun_error_report", run.pk))
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"] == 'attachment; filename="big-errors.csv"'
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [row["order_ref"] for row in rows] == ["NW-5"]
    assert "quantity" in rows[0]["reason"]


def test_a_queued_run_page_polls_its_progress(client, importer):
    run = ImportRun.objects.create(
        channel=Channel.objects.get(code="wholesale"),
        filename="slow.csv",
        rows_total=200,
        rows_done=50,
        status=ImportRun.Status.RUNNING,
    )
    page = client.get(url("admin:orders_importrun_change", run.pk)).content.decode()
    assert "50 / 200 rows · 25%" in page
    assert url("admin:orders_importrun_progress", run.pk) in page
    assert "setTimeout(poll" in page
    assert client.get(url("admin:orders_importrun_progress", run.pk)).json()["percent"] == 25


def test_a_failed_run_shows_why_escaped(client, importer):
    run = ImportRun.objects.create(
        channel=Channel.objects.get(code="wholesale"),
        filename="broken.csv",
        status=ImportRun.Status.FAILED,
        message="<b>disk full</b>",
    )
    page = client.get(url("admin:orders_importrun_change", run.pk)).content.decode()
    assert "&lt;b&gt;disk full&lt;/b&gt;" in page
    assert "<b>disk full</b>" not in page
    assert "setTimeout(poll" not in page  # finished: nothing to follow
