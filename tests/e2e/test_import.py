"""Orders > Import in a real browser: an admin uploads the wholesale sample (after
seed_demo, which creates what it refers to), reads the preview, confirms, and finds the
orders; a second upload of the same file previews every order as skipped."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from oms.core import roles
from orders.models import ImportRun, Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "wholesale_orders_sample.csv"
SAMPLE_REFS = ("ACME-PO-1001", "NW-58213", "ACME-PO-1002")
SCREENSHOT = "/tmp/import_preview.png"


@pytest.fixture
def demo(console, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--orders", "0", stdout=io.StringIO())
    return console


def _upload(page, url: str) -> None:
    page.goto(f"{url}/admin/orders/importrun/import/")
    page.set_input_files("#id_file", str(SAMPLE))
    expect(page.locator("#id_channel")).to_have_value("wholesale")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("import-preview")).to_be_visible()


def test_admin_previews_confirms_and_sees_the_imported_orders(demo):
    page = demo.login("boss", roles.ADMIN)

    # The way in is the sidebar: Orders > Import.
    sidebar = page.get_by_role("navigation").first
    sidebar.get_by_role("heading", name=re.compile(r"^Orders( chevron_right)?$")).click()
    sidebar.get_by_role("link", name=re.compile(r"^(\w+ )?Import$")).click()
    page.wait_for_url(f"{demo.url}/admin/orders/importrun/import/")

    _upload(page, demo.url)
    created = page.get_by_test_id("orders-created")
    expect(created).to_contain_text("Orders to create (3)")
    for ref in SAMPLE_REFS:
        expect(created.locator(f'tr[data-ref="{ref}"]')).to_contain_text("allocated from")
    expect(page.get_by_test_id("import-errors")).to_have_count(0)
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert Order.objects.filter(channel__code="wholesale").count() == 0  # a preview writes nothing

    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_url(re.compile(r"/admin/orders/importrun/\d+/change/$"))
    expect(page.get_by_test_id("progress-text")).to_contain_text("100%")
    run_page = page.get_by_test_id("import-run")
    expect(run_page).to_contain_text("Orders created (3)")
    run = ImportRun.objects.get()
    assert (run.orders_created, run.orders_skipped, run.orders_rejected) == (3, 0, 0)

    # Each created order links to the orders list, which finds it.
    run_page.locator('tr[data-ref="NW-58213"] a').click()
    expect(page.locator("#result_list")).to_contain_text("NW-58213")

    # The same file again: every order is already there.
    _upload(page, demo.url)
    expect(page.get_by_test_id("orders-skipped")).to_contain_text("Skipped: already imported (3)")
    expect(page.get_by_test_id("orders-created")).to_have_count(0)


def test_a_running_import_page_follows_its_progress_by_itself(console):
    from orders.models import Channel

    page = console.login("boss", roles.ADMIN)
    channel = Channel.objects.create(code="wholesale", name="Wholesale", kind="wholesale")
    run = ImportRun.objects.create(
        channel=channel,
        filename="big.csv",
        status=ImportRun.Status.RUNNING,
        rows_total=200,
        rows_done=50,
    )
    page.goto(f"{console.url}/admin/orders/importrun/{run.pk}/change/")
    expect(page.get_by_test_id("progress-text")).to_have_text("50 / 200 rows · 25%")

    ImportRun.objects.filter(pk=run.pk).update(rows_done=150)
    expect(page.get_by_test_id("progress-text")).to_have_text("150 / 200 rows · 75%")
    expect(page.get_by_test_id("progress-bar")).to_have_attribute("style", "width: 75%;")

    ImportRun.objects.filter(pk=run.pk).update(
        rows_done=200,
        status=ImportRun.Status.DONE,
        orders_rejected=1,
        error_report="order_ref,reason\r\nX-1,row 2: bad\r\n",
        summary={"counts": {"created": 0, "skipped": 0, "rejected": 1}, "rejected": []},
    )
    # Done: the page reloads itself once and shows the outcome and the report link.
    expect(page.get_by_role("link", name="Download error report (CSV)")).to_be_visible()
    expect(page.get_by_test_id("progress-text")).to_have_text("200 / 200 rows · 100%")
