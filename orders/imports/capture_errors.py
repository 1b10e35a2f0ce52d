"""The capture service's validation errors (the API's shape) turned back into the CSV's
rows and columns, so an import reports them the way it reports its own."""

from typing import Any

from orders.imports.results import ParsedOrder, RowError

# Capture payload keys -> CSV columns. Keys not listed (channel, payment, priority, ...)
# are not from the file: their errors go to the order's rows with column "".
TOP_LEVEL = {
    "external_ref": "order_ref",
    "placed_at": "order_date",
    "currency": "currency",
    "requested_ship_date": "requested_ship_date",
    "po_number": "po_number",
    "notes": "notes",
}
NESTED = {
    "customer": {
        "code": "customer_code",
        "name": "customer_name",
        "email": "contact_email",
        "phone": "contact_phone",
    },
    "ship_to": {
        key: f"ship_{key}"
        for key in ("name", "company", "line1", "line2", "city", "region", "postcode", "country")
    },
}
LINE = {"sku": "sku", "quantity": "quantity", "unit_price": "unit_price"}


def map_capture_errors(order: ParsedOrder, errors: dict) -> list[RowError]:
    """Row errors for a capture refusal of `order.payload`, sorted by row: a line's error
    on that line's row, an order-level error on every row of the order."""
    found: list[RowError] = []
    for key, value in errors.items():
        if key == "lines" and isinstance(value, list) and any(isinstance(v, dict) for v in value):
            found += _line_errors(order, value)
        elif key in NESTED and isinstance(value, dict):
            for field, messages in value.items():
                found += _on_rows(order, order.rows, NESTED[key].get(field, ""), messages)
        else:
            found += _on_rows(order, order.rows, TOP_LEVEL.get(key, ""), value)
    return sorted(found, key=lambda error: error.row)


def _line_errors(order: ParsedOrder, per_line: list) -> list[RowError]:
    found = []
    for index, problems in enumerate(per_line):
        # An index the order does not have cannot be placed on a row: all rows, then.
        rows = [order.line_rows[index]] if index < len(order.line_rows) else order.rows
        if isinstance(problems, dict):
            for field, messages in problems.items():
                found += _on_rows(order, rows, LINE.get(field, ""), messages)
        else:
            found += _on_rows(order, rows, "", problems)
    return found


def _on_rows(order: ParsedOrder, rows: list[int], column: str, messages: Any) -> list[RowError]:
    return [
        RowError(row=row, column=column, message=message, order_ref=order.ref)
        for row in rows
        for message in _messages(messages)
    ]


def _messages(value: Any) -> list[str]:
    """The messages of one error entry, however deep DRF or a service nests them."""
    if isinstance(value, dict):
        return [message for nested in value.values() for message in _messages(nested)]
    if isinstance(value, list | tuple):
        return [message for nested in value for message in _messages(nested)]
    return [str(value)] if value not in (None, "") else []
