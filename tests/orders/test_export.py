"""Export from the Orders list: orders or order lines, CSV or XLSX; what the list shows
(filters, search, sort); text cells a spreadsheet would run as formulas are escaped while
numbers stay numbers; a fixed number of queries whatever the rows; whoever may view
orders may export, nobody else."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oms.core import roles
from orders.models import Order, OrderLine
from orders.resources import OrderLineResource, OrderResource, formula_safe, line_status
from tests.factories import ChannelFactory, captured_order, order_payload

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"
ORDERS, LINES = "0", "1"

EVIL = {
    "ship_name": '=HYPERLINK("http://evil.example","click")',
    "notes": "+1",
    "ship_company": "-2+3",
    "ship_line2": "@SUM(A1:A9)",
    "ship_region": "\tTAB",
    "po_number": "\rCR",
}


@pytest.fixture(autouse=True)
def role_groups():
    roles.roles_setup()


@pytest.fixture
def support(login):
    return login(roles.SUPPORT)


def export_url(query: str = "") -> str:
    return reverse("admin:orders_order_export") + (f"?{query}" if query else "")


def address(n: int) -> dict:
    """A ship-to of its own, so many orders in one test do not look alike to fraud rules."""
    return {**order_payload()["ship_to"], "line1": f"{n} Market St"}


def paid(amount: str = "500.00") -> dict:
    return {"status": "paid", "amount": amount, "reference": "pi_cover"}


def an_order(n: int, **overrides) -> Order:
    return captured_order(ship_to=address(n), payment=paid(), **overrides)


def export(client, *, resource=ORDERS, fmt=CSV_FORMAT, query="") -> list[list]:
    """POST the export form as its page does; the rows, header first, as a spreadsheet
    would read them (CSV as text, XLSX with its cell types)."""
    response = client.post(export_url(query), {"format": fmt, "resource": resource})
    name = "orders" if resource == ORDERS else "order-lines"
    assert response.status_code == 200, response.content.decode(errors="replace")[:2000]
    if fmt == CSV_FORMAT:
        assert response["Content-Type"].startswith("text/csv")
        assert f"{name}-" in response["Content-Disposition"]
        assert ".csv" in response["Content-Disposition"]
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert f"{name}-" in response["Content-Disposition"]
    assert ".xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def as_dicts(rows: list[list]) -> list[dict]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


# -- contents -------------------------------------------------------------------------------


def test_orders_csv_has_one_row_per_order_with_its_fields(client, support):
    ChannelFactory(code="wholesale", currency="USD")
    order = captured_order(
        channel="wholesale",
        external_ref="PO-7781",
        ship_to=address(1),
        payment=paid(),
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
            {"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "4.50"},
        ],
        notes="Leave at the back door",
    )
    Order.objects.filter(pk=order.pk).update(po_number="PO-1")

    (row,) = as_dicts(export(client))

    order.refresh_from_db()
    assert row["number"] == order.number
    assert row["channel"] == "wholesale"
    assert row["external_ref"] == "PO-7781"
    assert row["status"] == order.status
    assert row["payment_status"] == order.payment_status
    assert row["customer_name"] == order.customer.name
    assert row["customer_code"] == (order.customer.code or "")
    assert row["email"] == order.email
    assert row["currency"] == "USD"
    assert row["subtotal"] == "24.48"
    assert row["total"] == str(order.total)
    assert row["placed_at"] == "2026-11-20 14:03:00"
    assert row["ship_by"] == f"{order.ship_by:%Y-%m-%d %H:%M:%S}"
    assert row["ship_name"] == "Ana Silva"
    assert row["ship_line1"] == "1 Market St"
    assert row["ship_city"] == "San Francisco"
    assert row["ship_postcode"] == "94105"
    assert row["ship_country"] == "US"
    assert row["po_number"] == "PO-1"
    assert row["notes"] == "Leave at the back door"
    assert row["line_count"] == "2"


def test_order_lines_csv_has_one_row_per_line(client, support):
    order = an_order(
        1,
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
            {"sku": "WIDGET-BLUE", "quantity": 3, "unit_price": "4.50"},
        ],
    )

    rows = as_dicts(export(client, resource=LINES))

    assert [(r["order_number"], r["line_no"], r["sku"]) for r in rows] == [
        (order.number, "1", "WIDGET-RED"),
        (order.number, "2", "WIDGET-BLUE"),
    ]
    line = OrderLine.objects.get(order=order, line_no=2)
    assert rows[1] == {
        "order_number": order.number,
        "channel": "web",
        "external_ref": order.external_ref,
        "line_no": "2",
        "sku": "WIDGET-BLUE",
        "quantity": "3",
        "unit_price": "4.50",
        "reserved": str(line.quantity_reserved),
        "shipped": "0",
        "returned": "0",
        "cancelled": "0",
        "status": line_status(line),
        "order_status": order.status,
    }


def test_xlsx_has_the_same_rows_with_numbers_and_dates_as_cell_types(client, support):
    order = an_order(1, lines=[{"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"}])

    (row,) = as_dicts(export(client, fmt=XLSX_FORMAT))
    (line,) = as_dicts(export(client, resource=LINES, fmt=XLSX_FORMAT))

    assert row["number"] == order.number
    assert row["line_count"] == 1
    assert Decimal(str(row["subtotal"])) == Decimal("19.98")
    assert row["placed_at"].isoformat() == "2026-11-20T14:03:00"
    assert row["ship_country"] == "US"
    assert (line["order_number"], line["quantity"], line["shipped"]) == (order.number, 2, 0)
    assert Decimal(str(line["unit_price"])) == Decimal("9.99")


def test_line_status_follows_the_quantities():
    def status(**quantities) -> str:
        return line_status(OrderLine(**{"quantity": 4, **quantities}))

    assert status() == "open"
    assert status(quantity_reserved=1) == "partly reserved"
    assert status(quantity_reserved=4) == "reserved"
    assert status(quantity_cancelled=1, quantity_reserved=3) == "reserved"
    assert status(quantity_shipped=1, quantity_reserved=3) == "partly shipped"
    assert status(quantity_shipped=4) == "shipped"
    assert status(quantity_shipped=4, quantity_returned=1) == "partly returned"
    assert status(quantity_shipped=4, quantity_returned=4) == "returned"
    assert status(quantity_cancelled=4) == "cancelled"


# -- what the list shows --------------------------------------------------------------------


def test_export_follows_the_lists_filters_and_search(client, support):
    ChannelFactory(code="phone")
    red = an_order(1, lines=[{"sku": "WIDGET-RED", "quantity": 1, "unit_price": "1.00"}])
    blue = an_order(2, lines=[{"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "1.00"}])
    by_phone = an_order(
        3, channel="phone", lines=[{"sku": "WIDGET-RED", "quantity": 1, "unit_price": "1.00"}]
    )

    def numbers(query: str, resource=ORDERS, fmt=CSV_FORMAT) -> set[str]:
        column = "number" if resource == ORDERS else "order_number"
        return {
            row[column] for row in as_dicts(export(client, resource=resource, fmt=fmt, query=query))
        }

    assert numbers("") == {red.number, blue.number, by_phone.number}
    assert numbers("q=WIDGET-BLUE") == {blue.number}
    assert numbers("q=WIDGET-RED", LINES) == {red.number, by_phone.number}
    assert numbers(f"channel__id__exact={by_phone.channel_id}") == {by_phone.number}
    assert numbers(f"channel__id__exact={red.channel_id}&q=WIDGET-RED", LINES) == {red.number}
    assert numbers(f"channel__id__exact={red.channel_id}", fmt=XLSX_FORMAT) == {
        red.number,
        blue.number,
    }
    assert numbers("status__exact=cancelled") == set()


def test_a_sku_search_matching_two_lines_exports_the_order_once_with_all_its_lines(client, support):
    order = an_order(
        1,
        lines=[
            {"sku": "GADGET-GREEN", "quantity": 1, "unit_price": "5.00"},
            {"sku": "GADGET-GREEN-XL", "quantity": 1, "unit_price": "5.00"},
            {"sku": "WIDGET-RED", "quantity": 1, "unit_price": "5.00"},
        ],
    )

    (row,) = as_dicts(export(client, query="q=GADGET-GREEN"))
    lines = as_dicts(export(client, resource=LINES, query="q=GADGET-GREEN"))

    assert (row["number"], row["line_count"]) == (order.number, "3")
    assert [line["line_no"] for line in lines] == ["1", "2", "3"]


def test_lines_come_in_the_lists_sort_order(client, support):
    orders = [an_order(n) for n in range(3)]
    by_number = sorted(order.number for order in orders)

    def sequence(query: str) -> list[str]:
        return [
            row["order_number"] for row in as_dicts(export(client, resource=LINES, query=query))
        ]

    assert sequence("o=1") == by_number  # the "order" column, ascending
    assert sequence("o=-1") == by_number[::-1]
    assert [row["number"] for row in as_dicts(export(client, query="o=1"))] == by_number


def test_the_changelist_export_button_keeps_the_lists_filters(client, support):
    an_order(1)
    response = client.get(reverse("admin:orders_order_changelist"), {"q": "WIDGET-RED"})
    assert response.status_code == 200
    assert f'href="{export_url("q=WIDGET-RED")}"' in response.content.decode()

    page = client.get(export_url("q=WIDGET-RED"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Orders (one row per order)" in body and "Order lines (one row per line)" in body
    assert ">xlsx<" in body.lower() and ">csv<" in body.lower()


# -- formula escaping -----------------------------------------------------------------------


@pytest.fixture
def evil_order() -> Order:
    """Text a spreadsheet would run. Capture trims surrounding blanks, so the tab and CR
    ones are written directly, as a record from elsewhere (an older import) could hold."""
    order = an_order(1, lines=[{"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"}])
    Order.objects.filter(pk=order.pk).update(**EVIL)
    OrderLine.objects.filter(order=order).update(sku="=1+1")
    return order


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_text_cells_that_start_like_a_formula_are_escaped(client, support, evil_order, fmt):
    (row,) = as_dicts(export(client, fmt=fmt))
    (line,) = as_dicts(export(client, resource=LINES, fmt=fmt))

    for column, value in EVIL.items():
        if fmt == XLSX_FORMAT:
            value = value.replace("\r", "\n")  # XML reads a bare CR back as LF
        assert row[column] == "'" + value, column
    assert line["sku"] == "'=1+1"
    # Text that only looks harmless stays as it is.
    assert row["ship_city"] == "San Francisco"
    assert row["number"] == evil_order.number


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_numbers_are_never_escaped(client, support, evil_order, fmt):
    (row,) = as_dicts(export(client, fmt=fmt))
    (line,) = as_dicts(export(client, resource=LINES, fmt=fmt))

    if fmt == CSV_FORMAT:
        assert (line["quantity"], line["unit_price"], row["total"]) == ("2", "9.99", "19.98")
    else:
        assert (line["quantity"], row["line_count"]) == (2, 1)
        assert isinstance(line["unit_price"], float | int)
        assert Decimal(str(row["total"])) == Decimal("19.98")


@pytest.mark.parametrize("native", [False, True], ids=["csv", "xlsx"])
def test_a_negative_number_stays_a_number_while_the_same_text_is_escaped(native):
    """No column holds a negative number today (database constraints); if one ever does
    (a credit, an adjustment) it must stay a number: escaping is decided by the column,
    not by how the value looks."""
    order = Order(number="SO-1", notes="-5", total=Decimal("-5.00"))
    line = OrderLine(order=order, line_no=1, sku="-5", quantity=-5, unit_price=Decimal("-1.50"))
    line.quantity_reserved = line.quantity_shipped = 0
    line.quantity_returned = line.quantity_cancelled = 0

    kwargs = {"force_native_type": native}
    line_row = dict(
        zip(
            OrderLineResource().get_export_headers(),
            OrderLineResource().export_resource(line, **kwargs),
            strict=True,
        )
    )
    order.line_count = 1
    order_row = dict(
        zip(
            OrderResource().get_export_headers(),
            OrderResource().export_resource(order, **kwargs),
            strict=True,
        )
    )

    assert line_row["sku"] == "'-5" and order_row["notes"] == "'-5"
    if native:
        assert (line_row["quantity"], line_row["unit_price"]) == (-5, Decimal("-1.50"))
        assert order_row["total"] == Decimal("-5.00")
    else:
        assert (line_row["quantity"], line_row["unit_price"]) == ("-5", "-1.50")
        assert order_row["total"] == "-5.00"


def test_formula_safe():
    for value in ("=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-5"):
        assert formula_safe(value) == "'" + value
    for value in ("plain", "", "1-2", "a=b", None, -5, Decimal("-5")):
        assert formula_safe(value) == value


# -- queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [ORDERS, LINES], ids=["orders", "lines"])
@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT], ids=["csv", "xlsx"])
def test_the_export_costs_the_same_queries_for_2_or_8_orders(
    client, support, django_assert_max_num_queries, resource, fmt
):
    two_lines = [
        {"sku": "WIDGET-RED", "quantity": 1, "unit_price": "1.00"},
        {"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "1.00"},
    ]
    for n in range(2):
        an_order(n, lines=two_lines)
    query = "q=WIDGET&o=8"  # sorted on the open holds annotation
    with CaptureQueriesContext(connection) as two:
        assert len(as_dicts(export(client, resource=resource, fmt=fmt, query=query))) in (2, 4)

    for n in range(2, 8):
        an_order(n, lines=two_lines)
    with django_assert_max_num_queries(len(two.captured_queries)):
        rows = as_dicts(export(client, resource=resource, fmt=fmt, query=query))
    assert len(rows) == (8 if resource == ORDERS else 16)
    assert len(two.captured_queries) <= 12


# -- who may export -------------------------------------------------------------------------


def test_a_user_who_may_not_view_orders_may_not_export(client, login):
    an_order(1)
    login(None, "orders.view_channel")

    assert client.get(export_url()).status_code == 403
    response = client.post(export_url(), {"format": CSV_FORMAT, "resource": ORDERS})
    assert response.status_code == 403
    assert b"Ana Silva" not in response.content


def test_view_order_alone_is_enough_to_export(client, login):
    order = an_order(1)
    login(None, "orders.view_order")
    assert [row["number"] for row in as_dicts(export(client))] == [order.number]


@pytest.mark.parametrize("role", [roles.FINANCE, roles.SUPPORT])
def test_finance_and_support_may_export(client, login, role):
    order = an_order(1)
    login(role)

    response = client.get(reverse("admin:orders_order_changelist"))
    assert f'href="{export_url()}?"' in response.content.decode()  # the list's (empty) query
    assert [row["number"] for row in as_dicts(export(client))] == [order.number]
