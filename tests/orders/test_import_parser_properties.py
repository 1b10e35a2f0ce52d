"""Properties of the wholesale CSV parser: any bytes give a ParsedFile (never an
exception), and a well-formed file built from generated orders (any column order, header
case and padding, quoting, LF or CRLF, BOM, blank lines, interleaved rows) comes back as
exactly those orders, on the rows they were written to; one bad value rejects its order
whole and names its row, and leaves the others alone."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.imports import ParsedFile, parse_wholesale_csv
from orders.imports.columns import COLUMNS, ORDER_COLUMNS, REQUIRED_COLUMNS

DEFAULT_CURRENCY = "USD"
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTIONAL_COLUMNS = [c for c in COLUMNS if c not in REQUIRED_COLUMNS]
# Required ones must be on every row; a row may leave an optional one blank (it agrees).
OPTIONAL_ORDER_COLUMNS = [c for c in ORDER_COLUMNS if c not in REQUIRED_COLUMNS]

# Any printable text, with the characters CSV quoting exists for; trimmed as the parser
# trims, so what is written is what should come back. A lone CR becomes CRLF: Python's
# csv.writer does not quote a CR when its line terminator is LF, which is not RFC 4180.
text = (
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
        | st.sampled_from([",", '"', "\n", "\r", " "]),
        max_size=12,
    )
    .map(lambda value: value.replace("\r", "\r\n"))
    .map(str.strip)
)
given_text = text.filter(bool)
codes = st.from_regex(r"[A-Z][A-Z0-9\-]{0,11}", fullmatch=True)
cents = st.integers(0, 10**8).map(lambda c: f"{c // 100}.{c % 100:02d}")


@dataclass
class Written:
    data: bytes
    columns: list[str]  # canonical names of the columns the file has
    unknown: list[str]  # unknown header names, as written
    orders: dict[str, dict]  # ref -> its order-level values
    rows: list[tuple[int, str, dict]]  # (row number, ref, line) in file order


@st.composite
def order_values(draw, ref: str) -> dict:
    placed = draw(st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 12, 31)))
    wait = draw(st.none() | st.integers(0, 60))
    return {
        "order_ref": ref,
        "order_date": placed.isoformat(),
        "customer_code": draw(codes),
        "customer_name": draw(text),
        "contact_email": draw(
            st.sampled_from(["", "orders@acme.example", "a.b+c@x.example.co.uk"])
        ),
        "contact_phone": draw(text),
        "ship_name": draw(given_text),
        "ship_company": draw(text),
        "ship_line1": draw(given_text),
        "ship_line2": draw(text),
        "ship_city": draw(given_text),
        "ship_region": draw(text),
        "ship_postcode": draw(text),
        "ship_country": draw(st.sampled_from(["GB", "US", "DE", "NL", "HK", "JP"])),
        "currency": draw(st.sampled_from(["", "GBP", "EUR", "USD", "JPY"])),
        "requested_ship_date": "" if wait is None else (placed + timedelta(wait)).isoformat(),
        "po_number": draw(text),
        "notes": draw(text),
    }


lines = st.fixed_dictionaries(
    {"sku": codes, "quantity": st.integers(1, 10**6).map(str), "unit_price": cents}
)


def header_name(draw, name: str) -> str:
    cased = draw(st.sampled_from([name, name.upper(), name.title(), name.capitalize()]))
    return draw(st.sampled_from(["", " ", "  "])) + cased + draw(st.sampled_from(["", " "]))


@st.composite
def csv_files(draw) -> Written:
    refs = draw(st.lists(codes, min_size=1, max_size=5, unique=True))
    orders = {ref: draw(order_values(ref)) for ref in refs}
    order_lines = [
        (ref, line) for ref in refs for line in draw(st.lists(lines, min_size=1, max_size=4))
    ]
    order_lines = draw(st.permutations(order_lines))  # interleaved

    optional = draw(st.lists(st.sampled_from(OPTIONAL_COLUMNS), unique=True))
    unknown = draw(st.lists(st.sampled_from(["gift_wrap", "Colour", "x"]), unique=True))
    columns = draw(st.permutations([*REQUIRED_COLUMNS, *optional, *unknown]))
    header = [c if c in unknown else header_name(draw, c) for c in columns]

    out = io.StringIO()
    writer = csv.writer(
        out,
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )
    writer.writerow(header)
    row, rows, seen = 1, [], set()
    for ref, line in order_lines:
        if draw(st.booleans()) and draw(st.booleans()):
            writer.writerow([])  # a blank line: skipped, but a spreadsheet row all the same
            row += 1
        values = {**orders[ref], **line}
        if ref in seen:  # a later row may leave optional order-level cells blank
            blanks = draw(st.lists(st.sampled_from(OPTIONAL_ORDER_COLUMNS), unique=True))
            values.update(dict.fromkeys(blanks, ""))
        seen.add(ref)
        padding = draw(st.sampled_from(["", " "]))
        writer.writerow([padding + values.get(c, "unknown") + padding for c in columns])
        row += 1
        rows.append((row, ref, line))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    known = [c for c in columns if c not in unknown]
    unknown = [c for c in columns if c in unknown]  # in the file's order
    return Written(bom + out.getvalue().encode(), known, unknown, orders, rows)


def expected_payload(written: Written, ref: str) -> dict:
    """The payload of an order as written: columns the file leaves out are blank."""
    given = {c: (v if c in written.columns else "") for c, v in written.orders[ref].items()}
    return {
        "external_ref": ref,
        "placed_at": f"{given['order_date']}T00:00:00",
        "currency": given["currency"] or DEFAULT_CURRENCY,
        "customer": {
            "code": given["customer_code"],
            "name": given["customer_name"],
            "email": given["contact_email"],
            "phone": given["contact_phone"],
        },
        "ship_to": {
            key: given[f"ship_{key}"]
            for key in (
                "name",
                "company",
                "line1",
                "line2",
                "city",
                "region",
                "postcode",
                "country",
            )
        },
        "lines": [line for _, r, line in written.rows if r == ref],
        "requested_ship_date": given["requested_ship_date"] or None,
        "po_number": given["po_number"],
        "notes": given["notes"],
    }


def assert_parsed_as_written(parsed: ParsedFile, written: Written, refs: list[str]) -> None:
    by_ref = {order.ref: order for order in parsed.orders}
    for ref in refs:
        order = by_ref[ref]
        rows = [row for row, r, _ in written.rows if r == ref]
        assert order.rows == rows and order.line_rows == rows
        assert order.payload == expected_payload(written, ref)
        assert order.customer == order.payload["customer"]


def assert_consistent(parsed: ParsedFile) -> None:
    """What holds for any input: errors sorted by row, an order either parsed or rejected
    (never both), every rejected order with its reasons."""
    assert isinstance(parsed, ParsedFile)
    assert [e.row for e in parsed.errors] == sorted(e.row for e in parsed.errors)
    assert all(e.row >= 1 for e in parsed.errors)
    assert not {o.ref for o in parsed.orders} & set(parsed.rejected)
    assert all(parsed.rejected.values())
    for order in parsed.orders:
        assert len(order.payload["lines"]) == len(order.line_rows) >= 1


@SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_parsed_file_never_an_exception(data):
    assert_consistent(parse_wholesale_csv(data, default_currency=DEFAULT_CURRENCY))


@SETTINGS
@given(st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_any_bytes_after_a_good_header_give_a_parsed_file(tail):
    header = ",".join(COLUMNS).encode() + b"\r\n"
    parsed = parse_wholesale_csv(header + tail, default_currency=DEFAULT_CURRENCY)
    assert_consistent(parsed)


@SETTINGS
@given(csv_files())
def test_a_well_formed_file_comes_back_as_its_orders_on_their_rows(written):
    parsed = parse_wholesale_csv(io.BytesIO(written.data), default_currency=DEFAULT_CURRENCY)
    assert parsed.errors == [] and parsed.rejected == {}
    first_seen = list(dict.fromkeys(ref for _, ref, _ in written.rows))
    assert [order.ref for order in parsed.orders] == first_seen
    assert_parsed_as_written(parsed, written, first_seen)
    assert parsed.rows == len(written.rows)
    assert parsed.unknown_columns == written.unknown


def bad_values(written: Written, ref: str) -> list[tuple[str, str]]:
    """(column, bad value) pairs the file's columns can hold for this order."""
    placed = date.fromisoformat(written.orders[ref]["order_date"])
    table = [
        ("order_date", "02/11/2026"),
        ("order_date", "2026-02-30"),
        ("customer_code", ""),
        ("ship_city", ""),
        ("ship_country", "GBR"),
        ("sku", ""),
        ("quantity", "0"),
        ("quantity", "1.5"),
        ("unit_price", "-1"),
        ("unit_price", "1,50"),
        ("contact_email", "not-an-email"),
        ("currency", "EURO"),
        ("requested_ship_date", (placed - timedelta(1)).isoformat()),
        ("requested_ship_date", "2026-13-01"),
    ]
    return [(column, value) for column, value in table if column in written.columns]


@SETTINGS
@given(csv_files(), st.data())
def test_a_bad_value_rejects_its_order_whole_and_names_the_row(written, data):
    _, ref, _ = data.draw(st.sampled_from(written.rows))
    column, value = data.draw(st.sampled_from(bad_values(written, ref)))
    row = data.draw(st.sampled_from([row for row, r, _ in written.rows if r == ref]))
    parsed = parse_wholesale_csv(inject(written, row, column, value), default_currency="USD")

    assert ref in parsed.rejected and ref not in {o.ref for o in parsed.orders}
    assert (row, column) in {(e.row, e.column) for e in parsed.rejected[ref]}
    assert all(e.order_ref == ref for e in parsed.rejected[ref])
    others = [r for r in dict.fromkeys(r for _, r, _ in written.rows) if r != ref]
    assert [order.ref for order in parsed.orders] == others
    assert_parsed_as_written(parsed, written, others)


def inject(written: Written, row: int, column: str, value: str) -> bytes:
    """The file with one cell changed, found by reading it back as CSV records."""
    bom = b"\xef\xbb\xbf" if written.data.startswith(b"\xef\xbb\xbf") else b""
    records = list(csv.reader(io.StringIO(written.data.decode("utf-8-sig"), newline="")))
    header = [name.strip().lower() for name in records[0]]
    records[row - 1][header.index(column)] = value
    out = io.StringIO()
    csv.writer(out).writerows(records)
    return bom + out.getvalue().encode()
