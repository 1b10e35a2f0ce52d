"""`manage.py import_orders FILE [--channel wholesale] [--dry-run]`: the summary it prints
and its exit code (1 when any order was rejected)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import ImportRun, Order, OrderEvent
from tests.factories import UserFactory
from tests.orders.test_import_service import (
    SAMPLE,
    csv_bytes,
    row,
    table_counts,
    wholesale_setup,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wholesale():
    return wholesale_setup()


@pytest.fixture
def seeded():
    call_command("seed_demo", orders=0, stdout=io.StringIO())


def run(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_orders", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def bad_file(tmp_path, wholesale):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        csv_bytes(
            [
                row("PO-1"),
                row("PO-2"),
                row("PO-2", sku="IMP-B", quantity="lots"),
                row("PO-3", customer_code="GHOST"),
            ]
        )
    )
    return path


def test_the_sample_imports_with_a_summary_and_a_second_run_skips_every_order(seeded):
    output, error = run(str(SAMPLE))

    assert error is None
    assert "created 3, skipped 0, rejected 0" in output
    number = Order.objects.get(external_ref="ACME-PO-1001").number
    assert f"ACME-PO-1001 (rows 2-3) → {number}: allocated from" in output

    output, error = run(str(SAMPLE))

    assert error is None
    assert "created 0, skipped 3, rejected 0" in output
    assert f"ACME-PO-1001 (rows 2-3): already imported as {number}" in output
    assert Order.objects.count() == 3


def test_a_rejected_order_is_listed_with_rows_and_reasons_and_the_exit_code_is_1(bad_file):
    output, error = run(str(bad_file))

    assert isinstance(error, CommandError) and error.returncode == 1
    assert "2 order(s) rejected" in str(error)
    assert "created 1, skipped 0, rejected 2" in output
    assert "PO-2 (rows 3-4):" in output
    assert "    row 4, quantity: " in output
    assert "PO-3 (row 5):" in output
    assert "    row 5, customer_code: Unknown customer code 'GHOST'." in output
    assert list(Order.objects.values_list("external_ref", flat=True)) == ["PO-1"]
    assert ImportRun.objects.get().orders_rejected == 2


def test_a_dry_run_prints_what_would_happen_and_writes_nothing(bad_file):
    before = table_counts()

    output, error = run(str(bad_file), "--dry-run")

    assert table_counts() == before
    assert error.returncode == 1 and "dry run" in str(error)
    assert "would create 1, skip 0, reject 2. Nothing was written." in output
    assert "Would create:\n  PO-1 (row 2) → SO-" in output
    assert "row 4, quantity: " in output


def test_a_clean_dry_run_exits_0(wholesale, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes([row("PO-1")]))

    output, error = run(str(path), "--dry-run")

    assert error is None
    assert "would create 1" in output and Order.objects.count() == 0


def test_the_user_option_names_the_importer_on_the_timeline(wholesale, tmp_path):
    UserFactory(username="carol")
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes([row("PO-1")]))

    run(str(path), "--user", "carol")

    event = OrderEvent.objects.get(kind="created")
    assert event.actor.username == "carol"
    assert "ok.csv row 2, imported by carol" in event.message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "nowhere"], "Unknown or inactive channel 'nowhere'."),
        (["--user", "nobody"], "No user 'nobody'."),
    ],
)
def test_an_unknown_channel_or_user_is_a_clear_error(wholesale, tmp_path, args, message):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes([row("PO-1")]))

    _, error = run(str(path), *args)

    assert str(error) == message
    assert Order.objects.count() == 0 and ImportRun.objects.count() == 0


def test_a_missing_file_is_a_clear_error(wholesale, tmp_path):
    _, error = run(str(tmp_path / "nope.csv"))

    assert "No such file" in str(error)
