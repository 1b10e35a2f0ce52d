"""The wholesale CSV parser (wholesale-csv.md): format rules, grouping into orders, row
numbers as a spreadsheet shows them, and capture errors mapped back onto rows."""

import csv
import io
from pathlib import Path

import pytest

from orders.imports import RowError, map_capture_errors, parse_wholesale_csv
from orders.imports.columns import COLUMNS, REQUIRED_COLUMNS

SAMPLE = Path("/work/shared/data/wholesale_orders_sample.csv")
if not SAMPLE.exists():  # a checkout without the shared folder
    SAMPLE = Path(__file__).resolve().parents[2] / "data" / "wholesale_orders_sample.csv"

GOOD = {
    "order_ref": "PO-1",
    "order_date": "2026-11-02",
    "customer_code": "ACME-01",
    "customer_name": "Acme Trading Ltd",
    "contact_email": "orders@acme.example",
    "contact_phone": "+44 20 7946 0958",
    "ship_name": "Receiving Dock",
    "ship_company": "Acme Trading Ltd",
    "ship_line1": "12 Harbour Road",
    "ship_line2": "Unit 4",
    "ship_city": "London",
    "ship_region": "",
    "ship_postcode": "E14 5AB",
    "ship_country": "GB",
    "sku": "WIDGET-RED",
    "quantity": "40",
    "unit_price": "3.20",
    "currency": "GBP",
    "requested_ship_date": "2026-11-05",
    "po_number": "PO-77812",
    "notes": "",
}


def row(**changes) -> dict:
    return {**GOOD, **changes}


def to_csv(rows, columns=COLUMNS, *, newline: str = "\n", header=None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header or columns)
    for values in rows:
        writer.writerow([values.get(column, "") for column in columns])
    return out.getvalue().encode()


def parse(data: bytes, default_currency: str = "USD"):
    return parse_wholesale_csv(data, default_currency=default_currency)


def only_order(parsed):
    assert parsed.errors == []
    assert len(parsed.orders) == 1
    return parsed.orders[0]


# -- the sample and the payload ---------------------------------------------------------


def test_the_sample_file_is_three_orders_with_their_rows():
    with SAMPLE.open("rb") as source:
        parsed = parse_wholesale_csv(source, default_currency="USD")
    assert parsed.errors == [] and parsed.rejected == {} and parsed.unknown_columns == []
    assert parsed.rows == 6
    assert [(o.ref, o.rows, o.line_rows) for o in parsed.orders] == [
        ("ACME-PO-1001", [2, 3], [2, 3]),
        ("NW-58213", [4, 5, 6], [4, 5, 6]),
        ("ACME-PO-1002", [7], [7]),
    ]
    northwind = parsed.orders[1]
    assert [line["sku"] for line in northwind.payload["lines"]] == [
        "GADGET-PRO",
        "WIDGET-BLUE",
        "BOLT-M8-50",
    ]
    # Notes are given on one row of the order only: a blank cell agrees with any value.
    assert parsed.orders[0].payload["notes"] == "Deliver before 3pm, dock B"
    assert northwind.payload["notes"] == "Pallet if over 20kg"


def test_an_order_becomes_the_capture_payload():
    order = only_order(parse(to_csv([row(), row(sku="CABLE-USB-C-2M", quantity="120")])))
    customer = {
        "code": "ACME-01",
        "name": "Acme Trading Ltd",
        "email": "orders@acme.example",
        "phone": "+44 20 7946 0958",
    }
    assert order.customer == customer
    assert order.payload == {
        "external_ref": "PO-1",
        "placed_at": "2026-11-02T00:00:00",
        "currency": "GBP",
        "customer": customer,
        "ship_to": {
            "name": "Receiving Dock",
            "company": "Acme Trading Ltd",
            "line1": "12 Harbour Road",
            "line2": "Unit 4",
            "city": "London",
            "region": "",
            "postcode": "E14 5AB",
            "country": "GB",
        },
        "lines": [
            {"sku": "WIDGET-RED", "quantity": "40", "unit_price": "3.20"},
            {"sku": "CABLE-USB-C-2M", "quantity": "120", "unit_price": "3.20"},
        ],
        "requested_ship_date": "2026-11-05",
        "po_number": "PO-77812",
        "notes": "",
    }
    assert "channel" not in order.payload  # the caller's to add


def test_no_currency_means_the_default_and_codes_are_capitalised():
    order = only_order(parse(to_csv([row(currency="", ship_country="gb")]), "EUR"))
    assert order.payload["currency"] == "EUR"
    assert order.payload["ship_to"]["country"] == "GB"
    assert only_order(parse(to_csv([row(currency="gbp")]))).payload["currency"] == "GBP"


def test_no_requested_ship_date_is_none():
    order = only_order(parse(to_csv([row(requested_ship_date="")])))
    assert order.payload["requested_ship_date"] is None


def test_values_are_trimmed():
    rows = [row(order_ref="  PO-1 ", quantity=" 3 "), row(order_ref="PO-1", ship_city=" London")]
    order = only_order(parse(to_csv(rows)))
    assert order.rows == [2, 3]
    assert order.payload["lines"][0]["quantity"] == "3"


# -- per-column rules: one bad value, one error, the order rejected ---------------------

BAD_VALUES = [
    ("order_ref", "R" * 101),
    ("order_date", ""),
    ("order_date", "02/11/2026"),
    ("order_date", "2026-2-3"),
    ("order_date", "20261102"),
    ("order_date", "2026-02-30"),
    ("order_date", "2026-11-02T10:00"),
    ("customer_code", ""),
    ("contact_email", "orders at acme"),
    ("contact_email", "orders@"),
    ("ship_name", ""),
    ("ship_line1", ""),
    ("ship_city", ""),
    ("ship_country", ""),
    ("ship_country", "GBR"),
    ("ship_country", "G"),
    ("ship_country", "1A"),
    ("sku", ""),
    ("quantity", ""),
    ("quantity", "0"),
    ("quantity", "-1"),
    ("quantity", "2.5"),
    ("quantity", "1e3"),
    ("quantity", "two"),
    ("quantity", "\u0663"),  # ARABIC-INDIC DIGIT THREE: a digit, not an ASCII one
    ("quantity", "1000001"),
    ("quantity", "9" * 5000),
    ("unit_price", ""),
    ("unit_price", "-0.01"),
    ("unit_price", "abc"),
    ("unit_price", "1,50"),
    ("unit_price", "1e3"),
    ("unit_price", "NaN"),
    ("unit_price", "$3.20"),
    ("currency", "EURO"),
    ("currency", "E1R"),
    ("currency", "€€€"),
    ("requested_ship_date", "2026-11-01"),  # before order_date
    ("requested_ship_date", "soon"),
    ("requested_ship_date", "2026-11-31"),
]


@pytest.mark.parametrize(("column", "value"), BAD_VALUES)
def test_a_bad_value_is_an_error_on_its_row_and_column(column, value):
    rows = [row(order_ref="OK-1"), row(**{column: value, "order_ref": "PO-9"})]
    if column == "order_ref":
        rows[1]["order_ref"] = value
    parsed = parse(to_csv(rows))
    ref = rows[1]["order_ref"]
    [error] = parsed.errors
    assert (error.row, error.column, error.order_ref) == (3, column, ref)
    assert column in error.message  # each message names its column's rule
    assert parsed.rejected == {ref: [error]}
    assert [order.ref for order in parsed.orders] == ["OK-1"]


def test_a_bad_line_rejects_its_whole_order():
    rows = [row(), row(sku="B"), row(order_ref="PO-2"), row(sku="C", quantity="lots")]
    parsed = parse(to_csv(rows))
    assert [o.ref for o in parsed.orders] == ["PO-2"]
    assert parsed.rejected == {
        "PO-1": [RowError(5, "quantity", parsed.errors[0].message, "PO-1")],
    }


def test_every_problem_of_a_row_is_reported():
    parsed = parse(to_csv([row(order_date="soon", sku="", quantity="0", contact_email="x")]))
    assert [(e.row, e.column) for e in parsed.errors] == [
        (2, "order_date"),
        (2, "contact_email"),
        (2, "sku"),
        (2, "quantity"),
    ]


def test_a_row_without_order_ref_is_reported_but_belongs_to_no_order():
    parsed = parse(to_csv([row(order_ref=""), row(order_ref="PO-2")]))
    assert [(e.row, e.column, e.order_ref) for e in parsed.errors] == [(2, "order_ref", "")]
    assert parsed.rejected == {}
    assert [o.ref for o in parsed.orders] == ["PO-2"]


# -- order-level columns agree on every row ---------------------------------------------


@pytest.mark.parametrize(
    "column", ["order_date", "customer_code", "ship_city", "ship_postcode", "currency", "notes"]
)
def test_an_order_level_disagreement_is_an_error_on_the_row_that_differs(column):
    other = {"order_date": "2026-11-03", "currency": "EUR"}.get(column, "Other")
    parsed = parse(to_csv([row(notes="Dock B"), row(sku="B"), row(sku="C", **{column: other})]))
    [error] = parsed.errors
    assert (error.row, error.column, error.order_ref) == (4, column, "PO-1")
    assert "row 2" in error.message
    assert parsed.orders == [] and list(parsed.rejected) == ["PO-1"]


def test_each_row_that_differs_is_named():
    rows = [row(), row(ship_city="Leeds"), row(), row(ship_city="York", po_number="X")]
    parsed = parse(to_csv(rows))
    assert [(e.row, e.column) for e in parsed.errors] == [
        (3, "ship_city"),
        (5, "ship_city"),
        (5, "po_number"),
    ]


def test_a_blank_optional_cell_agrees_and_the_given_value_is_the_orders():
    rows = [row(notes="", requested_ship_date=""), row(notes="Dock B", requested_ship_date="")]
    rows.append(row(notes="", requested_ship_date="2026-11-09"))
    order = only_order(parse(to_csv(rows)))
    assert order.payload["notes"] == "Dock B"
    assert order.payload["requested_ship_date"] == "2026-11-09"


def test_a_value_first_given_on_a_later_row_is_still_checked():
    parsed = parse(to_csv([row(contact_email=""), row(contact_email="not-an-email")]))
    assert [(e.row, e.column) for e in parsed.errors] == [(3, "contact_email")]


def test_two_later_rows_that_disagree_with_each_other():
    rows = [row(notes=""), row(notes="Dock B"), row(notes="Dock C")]
    [error] = parse(to_csv(rows)).errors
    assert (error.row, error.column) == (4, "notes")
    assert "row 3" in error.message


def test_a_required_cell_left_blank_on_a_later_row_is_an_error():
    [error] = parse(to_csv([row(), row(ship_city="")])).errors
    assert (error.row, error.column) == (3, "ship_city")
    assert "required" in error.message


def test_codes_that_differ_only_in_case_agree_and_a_blank_currency_takes_the_orders():
    rows = [row(currency="gbp", ship_country="gb"), row(currency="", ship_country="GB")]
    order = only_order(parse(to_csv(rows), "USD"))
    assert order.payload["currency"] == "GBP"


# -- the file's layout ------------------------------------------------------------------


def test_rows_of_one_order_may_stand_anywhere_in_the_file():
    refs = ["A", "B", "A", "C", "B", "A"]
    parsed = parse(to_csv([row(order_ref=ref, sku=f"SKU-{i}") for i, ref in enumerate(refs)]))
    assert [(o.ref, o.rows) for o in parsed.orders] == [
        ("A", [2, 4, 7]),
        ("B", [3, 6]),
        ("C", [5]),
    ]
    assert [line["sku"] for line in parsed.orders[0].payload["lines"]] == [
        "SKU-0",
        "SKU-2",
        "SKU-5",
    ]


def test_columns_in_any_order_and_headers_in_any_case_with_spaces():
    columns = list(reversed(COLUMNS))
    header = [f"  {name.upper()} " if i % 2 else name.title() for i, name in enumerate(columns)]
    order = only_order(parse(to_csv([row()], columns, header=header)))
    assert order.payload["ship_to"]["postcode"] == "E14 5AB"


def test_optional_columns_may_be_left_out():
    order = only_order(parse(to_csv([row()], REQUIRED_COLUMNS)))
    assert order.payload["currency"] == "USD"
    assert order.payload["notes"] == "" and order.customer["email"] == ""


def test_unknown_columns_are_reported_and_ignored():
    columns = [*COLUMNS, "Gift Wrap", "colour"]
    parsed = parse(to_csv([row(**{"Gift Wrap": "yes", "colour": "red"})], columns))
    assert parsed.unknown_columns == ["Gift Wrap", "colour"]
    assert only_order(parsed).payload["lines"] == [
        {"sku": "WIDGET-RED", "quantity": "40", "unit_price": "3.20"}
    ]


def test_a_missing_required_column_is_a_file_error_naming_it():
    columns = [c for c in COLUMNS if c not in ("order_date", "sku")]
    parsed = parse(to_csv([row()], columns))
    [error] = parsed.errors
    assert (error.row, error.column) == (1, "")
    assert "order_date" in error.message and "sku" in error.message
    assert parsed.orders == [] and parsed.rows == 0


def test_a_duplicate_header_is_a_file_error():
    columns = [*COLUMNS, "SKU "]
    parsed = parse(to_csv([], columns))
    [error] = parsed.errors
    assert error.row == 1 and "'SKU'" in error.message and "more than once" in error.message
    assert parsed.orders == []


@pytest.mark.parametrize("change", [1, -1])
def test_a_row_with_more_or_fewer_fields_than_the_header_is_an_error(change):
    lines = to_csv([row(), row(sku="B"), row(order_ref="PO-2")]).decode().splitlines()
    lines[2] = lines[2] + ",extra" if change > 0 else lines[2].rsplit(",", 1)[0]
    parsed = parse("\n".join(lines).encode())
    [error] = parsed.errors
    assert (error.row, error.column, error.order_ref) == (3, "", "PO-1")
    assert "fields" in error.message
    assert [o.ref for o in parsed.orders] == ["PO-2"]
    assert list(parsed.rejected) == ["PO-1"]


def test_a_ragged_row_names_its_order_when_it_reaches_the_order_ref():
    parsed = parse(to_csv([row()]) + b"PO-2\n")
    assert [(e.row, e.order_ref) for e in parsed.errors] == [(3, "PO-2")]
    assert [o.ref for o in parsed.orders] == ["PO-1"] and list(parsed.rejected) == ["PO-2"]
    # With order_ref as the last column, a one-field row belongs to no order.
    parsed = parse(to_csv([row()], list(reversed(COLUMNS))) + b"PO-2\n")
    assert [(e.row, e.order_ref) for e in parsed.errors] == [(3, "")]
    assert [o.ref for o in parsed.orders] == ["PO-1"] and parsed.rejected == {}


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_utf8_with_or_without_bom_and_lf_or_crlf(bom, newline):
    name = {"customer_name": "Société Générale ☕"}
    rows = [row(**name), row(sku="B", **name)]
    order = only_order(parse(bom + to_csv(rows, newline=newline)))
    assert order.rows == [2, 3]
    assert order.customer["name"] == "Société Générale ☕"
    assert order.payload["lines"][1]["sku"] == "B"


def test_quoted_commas_quotes_and_newlines_and_the_row_numbers_after_them():
    notes = 'Ring "twice",\nthen wait\r\nat dock B'
    rows = [row(notes=notes), row(sku="B", notes=notes), row(order_ref="PO-2", quantity="0")]
    parsed = parse(to_csv(rows, newline="\r\n"))
    [order] = parsed.orders
    assert order.payload["notes"] == notes.strip()
    assert order.rows == [2, 3]
    # Two quoted fields spanned five physical lines; the bad row is still row 4.
    assert [(e.row, e.column, e.order_ref) for e in parsed.errors] == [(4, "quantity", "PO-2")]


def test_blank_lines_are_ignored_but_keep_their_row_numbers():
    data = to_csv([row()]) + b"\n,,,\n" + to_csv([row(order_ref="PO-2")]).split(b"\n", 1)[1]
    parsed = parse(data)
    assert parsed.errors == [] and parsed.rows == 2
    assert [(o.ref, o.rows) for o in parsed.orders] == [("PO-1", [2]), ("PO-2", [5])]


def test_invalid_utf8_is_a_file_error_naming_the_row_and_byte():
    data = to_csv([row(), row(order_ref="PO-2", customer_name="Caf\x00")])
    data = data.replace(b"Caf\x00", b"Caf\xe9")  # Latin-1, as a spreadsheet may save it
    parsed = parse(data)
    [error] = parsed.errors
    assert (error.row, error.column) == (3, "")
    assert "UTF-8" in error.message and "0xE9" in error.message
    assert "customer_name" in error.message
    # A file in another encoding is refused whole: no order of it is imported.
    assert parsed.orders == []
    assert parsed.rejected == {"PO-1": [error]}


def test_invalid_utf8_in_the_header():
    parsed = parse(b"order_ref,\xff\xfe\n")
    [error] = parsed.errors
    assert error.row == 1 and "UTF-8" in error.message and "0xFF" in error.message


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\r\n", b" , \n"])
def test_an_empty_file_is_a_file_error(data):
    parsed = parse(data)
    [error] = parsed.errors
    assert (error.row, error.column) == (1, "") and "empty" in error.message
    assert parsed.orders == [] and parsed.rows == 0


def test_a_header_alone_has_no_orders():
    parsed = parse(to_csv([]))
    assert parsed.orders == [] and parsed.rejected == {} and parsed.rows == 0
    [error] = parsed.errors
    assert error.row == 1 and "no order rows" in error.message


def test_a_quote_never_closed_is_an_error_not_a_crash():
    # The rest of the file becomes one field, more than the csv module takes: the file
    # cannot be read past it, so nothing of it is imported.
    parsed = parse(to_csv([row()]) + b'PO-2,"2026-11-02,' + b"x," * 100_000)
    [error] = parsed.errors
    assert (error.row, error.column) == (3, "") and "CSV" in error.message
    assert parsed.orders == [] and list(parsed.rejected) == ["PO-1"]


def test_a_quote_never_closed_at_the_end_is_a_ragged_row():
    parsed = parse(to_csv([row()]) + b'PO-2,"2026-11-02,x\n')
    assert [(e.row, e.order_ref) for e in parsed.errors] == [(3, "PO-2")]
    assert [o.ref for o in parsed.orders] == ["PO-1"]


def test_a_file_object_is_read_and_left_open():
    source = io.BytesIO(to_csv([row()]))
    assert only_order(parse_wholesale_csv(source, default_currency="USD")).ref == "PO-1"
    assert not source.closed


# -- capture errors back onto rows ------------------------------------------------------


@pytest.fixture
def interleaved():
    """Order A on rows 2, 4 and 5, with B on row 3 between them."""
    rows = [row(order_ref="A"), row(order_ref="B"), row(order_ref="A", sku="X")]
    rows.append(row(order_ref="A", sku="Y"))
    return parse(to_csv(rows)).orders[0]


def test_a_line_error_goes_to_that_lines_row_and_column(interleaved):
    errors = {"lines": [{}, {"sku": ["Unknown SKU 'X'."]}, {"unit_price": ["GBP allows 2."]}]}
    assert map_capture_errors(interleaved, errors) == [
        RowError(4, "sku", "Unknown SKU 'X'.", "A"),
        RowError(5, "unit_price", "GBP allows 2.", "A"),
    ]


@pytest.mark.parametrize(
    ("errors", "column"),
    [
        ({"ship_to": {"postcode": ["'X' is not a valid GB postcode."]}}, "ship_postcode"),
        ({"ship_to": {"country": ["'XX' is not a country."]}}, "ship_country"),
        ({"ship_to": {"name": ["At most 200 characters."]}}, "ship_name"),
        ({"customer": {"code": ["Unknown customer code 'Z'."]}}, "customer_code"),
        ({"customer": {"email": ["Enter a valid e-mail address."]}}, "contact_email"),
        ({"customer": {"phone": ["'1' is not a valid phone number."]}}, "contact_phone"),
        ({"customer": {"name": ["Too long."]}}, "customer_name"),
        ({"requested_ship_date": ["Cannot be before the order date."]}, "requested_ship_date"),
        ({"currency": ["'XYZ' is not a currency we sell in."]}, "currency"),
        ({"placed_at": ["An ISO 8601 date and time is required."]}, "order_date"),
        ({"external_ref": ["At most 100 characters."]}, "order_ref"),
        ({"po_number": ["At most 100 characters."]}, "po_number"),
        ({"notes": ["Too long."]}, "notes"),
        ({"channel": ["Unknown or inactive channel 'x'."]}, ""),
        ({"non_field_errors": ["Something else."]}, ""),
        ({"lines": ["The order total must be less than 1000000000000."]}, ""),
        ({"customer": {"non_field_errors": ["An object is required."]}}, ""),
    ],
)
def test_an_order_level_error_goes_to_every_row_of_the_order(interleaved, errors, column):
    mapped = map_capture_errors(interleaved, errors)
    assert [(e.row, e.column, e.order_ref) for e in mapped] == [
        (2, column, "A"),
        (4, column, "A"),
        (5, column, "A"),
    ]
    assert {e.message for e in mapped} == {_only_message(errors)}


def _only_message(errors) -> str:
    while not isinstance(errors, str):
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return errors


def test_mapped_errors_are_sorted_by_row_and_keep_every_message(interleaved):
    errors = {
        "lines": [{"quantity": ["At most 1000000 per line."]}, {}, {}],
        "ship_to": {"postcode": ["Required.", "Really."]},
    }
    mapped = map_capture_errors(interleaved, errors)
    assert [(e.row, e.column, e.message) for e in mapped] == [
        (2, "quantity", "At most 1000000 per line."),
        (2, "ship_postcode", "Required."),
        (2, "ship_postcode", "Really."),
        (4, "ship_postcode", "Required."),
        (4, "ship_postcode", "Really."),
        (5, "ship_postcode", "Required."),
        (5, "ship_postcode", "Really."),
    ]


@pytest.mark.django_db
def test_the_capture_validation_of_a_parsed_order_maps_back_to_its_rows():
    """End to end with the real validation: an unknown SKU on the second line and a bad
    postcode come back on the rows and columns of the file."""
    from orders.validation import validate_capture
    from tests.factories import ChannelFactory, ProductFactory, WholesaleCustomerFactory

    ChannelFactory(code="wholesale", currency="GBP")
    WholesaleCustomerFactory(code="ACME-01")
    ProductFactory(sku="WIDGET-RED")
    bad = {"ship_postcode": "NOT A CODE"}
    rows = [row(**bad), row(order_ref="PO-2"), row(sku="NOPE", **bad)]
    order = parse(to_csv(rows)).orders[0]
    _, errors = validate_capture({**order.payload, "channel": "wholesale"})
    mapped = [(e.row, e.column) for e in map_capture_errors(order, errors)]
    assert mapped == [(2, "ship_postcode"), (4, "ship_postcode"), (4, "sku")]
