"""The wholesale CSV's columns: the header, and the format checks the parser makes itself.
Checks that need the database or a country's rules (SKU exists, postcode, phone, minor
units) are the capture service's; its errors come back through map_capture_errors."""

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from operator import itemgetter

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
_PLAIN_QUANTITY = re.compile(r"0*[1-9][0-9]{0,5}")  # 1 to 999,999: no more to check


class Layout:
    """Where each known column stands in the file's rows."""

    def __init__(self, width: int, positions: dict[str, int], unknown: list[str]):
        self.width = width  # fields in the header; every row must have as many
        self.positions = positions  # canonical name -> index in a row
        self.unknown = unknown
        # A column the file leaves out reads the "" that split() appends to the row.
        self._order_part = itemgetter(*(positions.get(name, width) for name in ORDER_COLUMNS))
        self._line_part = itemgetter(*(positions.get(name, width) for name in LINE_COLUMNS))

    def split(self, record: list[str]) -> tuple[tuple[str, ...], tuple[str, str, str]]:
        """A row's trimmed values: (order-level ones in ORDER_COLUMNS order, (sku, quantity,
        unit_price)). C-level passes only: this runs for each of a file's 100,000 rows."""
        record.append("")
        return tuple(map(str.strip, self._order_part(record))), tuple(
            map(str.strip, self._line_part(record))
        )


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
    if not _valid_email(value):
        return f"contact_email must be a valid e-mail address, not {shown(value)}."
    return None


@lru_cache(maxsize=1024)  # a file repeats its few customers' addresses order after order
def _valid_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def check_line_values(sku: str, quantity: str, unit_price: str) -> list[tuple[str, str]]:
    """(column, message) for each line value that breaks its rule."""
    if sku and _PLAIN_QUANTITY.fullmatch(quantity) and _DECIMAL.fullmatch(unit_price):
        return []  # the usual row, in one step
    problems = []
    for column, value in zip(LINE_COLUMNS, (sku, quantity, unit_price), strict=True):
        problem = _check_line_value(column, value)
        if problem:
            problems.append((column, problem))
    return problems


def _check_line_value(column: str, value: str) -> str | None:
    if not value:
        return f"{column} is required."
    if column == "quantity":
        return _check_quantity(value)
    if column == "unit_price" and not _DECIMAL.fullmatch(value):
        return f"unit_price must be a decimal number, 0 or more (like 12.50), not {shown(value)}."
    return None


def _check_quantity(value: str) -> str | None:
    if not _WHOLE.fullmatch(value) or not value.strip("0"):
        return f"quantity must be a whole number, 1 or more, not {shown(value)}."
    # The length test first: int() refuses strings of more than 4,300 digits.
    if len(value.lstrip("0")) > len(str(MAX_QUANTITY)) or int(value) > MAX_QUANTITY:
        return f"quantity must be at most {MAX_QUANTITY}, not {shown(value)}."
    return None
