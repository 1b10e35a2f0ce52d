"""The wholesale CSV's columns: the header, and the format checks the parser makes itself.
Checks that need the database or a country's rules (SKU exists, postcode, phone, minor
units) are the capture service's; its errors come back through map_capture_errors."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from orders.validation import MAX_QUANTITY

# Order-level columns must agree on every row of one order; line columns differ per row.
ORDER_COLUMNS = (
    "order_ref",
    "order_date",
    "customer_code",
    "customer_name",
    "contact_email",
    "contact_phone",
    "ship_name",
    "ship_company",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postcode",
    "ship_country",
    "currency",
    "requested_ship_date",
    "po_number",
    "notes",
)
LINE_COLUMNS = ("sku", "quantity", "unit_price")
COLUMNS = ORDER_COLUMNS + LINE_COLUMNS
# ship_postcode is left out: a file of orders to countries without postcodes needs no
# such column, and the capture service names each order that does need one.
REQUIRED_COLUMNS = (
    "order_ref",
    "order_date",
    "customer_code",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_country",
    "sku",
    "quantity",
    "unit_price",
)
MAX_REF = 100

# ASCII only: str.isdigit() and \d also accept other scripts' digits.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


@dataclass(frozen=True)
class Layout:
    """Where each known column stands in the file's rows."""

    width: int  # fields in the header; every row must have as many
    positions: dict[str, int]  # canonical name -> index in a row
    unknown: list[str]

    def values(self, record: Sequence[str]) -> dict[str, str]:
        """Every canonical column's trimmed value; "" for a column the file leaves out."""
        values = dict.fromkeys(COLUMNS, "")
        for name, index in self.positions.items():
            values[name] = record[index].strip()
        return values


def read_header(record: Sequence[str]) -> tuple[Layout, list[str]]:
    """The layout of a header row, and its problems (any one means no row can be read)."""
    positions: dict[str, int] = {}
    seen: dict[str, int] = {}
    unknown, problems = [], []
    for index, raw in enumerate(record):
        # A spreadsheet saved twice can carry a second BOM into the first name.
        written = raw.strip().lstrip("\ufeff").strip()
        name = written.lower()
        if not name:
            continue  # a trailing comma's empty column: nothing to report
        if name in seen:
            problems.append(
                f"Column {written!r} appears more than once in the header "
                f"(fields {seen[name] + 1} and {index + 1})."
            )
            continue
        seen[name] = index
        if name in COLUMNS:
            positions[name] = index
        else:
            unknown.append(written)
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        problems.append(f"Missing required columns: {', '.join(missing)}.")
    return Layout(width=len(record), positions=positions, unknown=unknown), problems


def normalise(values: dict[str, str]) -> None:
    """Codes in capitals, so that "gb" and "GB" agree between the rows of one order."""
    values["ship_country"] = values["ship_country"].upper()
    values["currency"] = values["currency"].upper()


def shown(text: str, limit: int = 40) -> str:
    """A value quoted for a message, cut short so a runaway field stays readable."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_order_values(
    values: dict[str, str], columns: Sequence[str] = ORDER_COLUMNS
) -> list[tuple[str, str]]:
    """(column, message) for each order-level value among `columns` that breaks its rule."""
    problems = []
    for column in columns:
        problem = _check_order_value(column, values)
        if problem:
            problems.append((column, problem))
    return problems


def _check_order_value(column: str, values: dict[str, str]) -> str | None:
    value = values[column]
    if not value:
        return f"{column} is required." if column in REQUIRED_COLUMNS else None
    if column == "order_ref" and len(value) > MAX_REF:
        return f"order_ref must be at most {MAX_REF} characters (it has {len(value)})."
    if column in ("order_date", "requested_ship_date"):
        return _check_date(column, value, values)
    if column == "contact_email":
        return _check_email(value)
    if column == "currency" and not _letters(value, 3):
        return f"currency must be an ISO 4217 code of 3 letters (like EUR), not {shown(value)}."
    if column == "ship_country" and not _letters(value, 2):
        return (
            f"ship_country must be an ISO 3166-1 code of 2 letters (like GB), not {shown(value)}."
        )
    return None


def _letters(value: str, count: int) -> bool:
    return len(value) == count and value.isascii() and value.isalpha()


def iso_date(value: str) -> date | None:
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _check_date(column: str, value: str, values: dict[str, str]) -> str | None:
    if not _ISO_DATE.fullmatch(value):
        return f"{column} must be an ISO date (YYYY-MM-DD), not {shown(value)}."
    day = iso_date(value)
    if day is None:
        return f"{column} {shown(value)} is not a real date."
    if column == "requested_ship_date":
        ordered = iso_date(values["order_date"])
        if ordered is not None and day < ordered:
            return f"requested_ship_date {value} is before order_date {values['order_date']}."
    return None


def _check_email(value: str) -> str | None:
    try:
        validate_email(value)
    except ValidationError:
        return f"contact_email must be a valid e-mail address, not {shown(value)}."
    return None


def check_line_values(values: dict[str, str]) -> list[tuple[str, str]]:
    """(column, message) for each line value (sku, quantity, unit_price) that breaks its rule."""
    problems = []
    for column in LINE_COLUMNS:
        value = values[column]
        if not value:
            problems.append((column, f"{column} is required."))
        elif column == "quantity":
            problem = _check_quantity(value)
            if problem:
                problems.append((column, problem))
        elif column == "unit_price" and not _DECIMAL.fullmatch(value):
            problems.append(
                (
                    column,
                    f"unit_price must be a decimal number, 0 or more (like 12.50), not {shown(value)}.",
                )
            )
    return problems


def _check_quantity(value: str) -> str | None:
    if not _WHOLE.fullmatch(value) or not value.strip("0"):
        return f"quantity must be a whole number, 1 or more, not {shown(value)}."
    # The length test first: int() refuses strings of more than 4,300 digits.
    if len(value.lstrip("0")) > len(str(MAX_QUANTITY)) or int(value) > MAX_QUANTITY:
        return f"quantity must be at most {MAX_QUANTITY}, not {shown(value)}."
    return None
