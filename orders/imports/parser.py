"""Read a wholesale CSV (wholesale-csv.md) into capture payloads, one per order_ref, and
row-numbered errors. Pure: no database writes. Streams: the file is decoded and read
once, and of each order only its first row's order-level values and its lines are kept."""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from orders.imports.columns import (
    ORDER_COLUMNS,
    Layout,
    check_line_values,
    check_order_values,
    normalise,
    read_header,
    shown,
)
from orders.imports.results import ParsedFile, ParsedOrder, RowError

# Undecodable bytes arrive as lone surrogates (errors="surrogateescape"), so a file that is
# not UTF-8 is found on the row that holds the byte rather than raised from a read ahead.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(slots=True)
class _Order:
    """One order_ref's rows as they are read."""

    ref: str
    rows: list[int] = field(default_factory=list)
    # The first readable row's order-level values as written: most rows repeat them
    # exactly, so checking a row is one tuple comparison.
    key: tuple[str, ...] | None = None
    first_row: int = 0
    # The order's value of each order-level column (the first given, normalised), and
    # the row of each value a later row gave first.
    values: dict[str, str] = field(default_factory=dict)
    later: dict[str, int] = field(default_factory=dict)
    lines: list[dict] = field(default_factory=list)
    line_rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def source(self, column: str) -> int:
        return self.later.get(column, self.first_row)


def parse_wholesale_csv(source: BinaryIO | bytes, *, default_currency: str) -> ParsedFile:
    """Parse a wholesale CSV (a binary file or bytes). Never raises on bad content: every
    problem is a RowError. Orders with any error are in `rejected`, the rest in `orders`."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        return _Parser(default_currency.strip().upper()).run(csv.reader(text))
    finally:
        text.detach()  # the caller's file stays open


class _Parser:
    def __init__(self, default_currency: str):
        self.default_currency = default_currency
        self.layout: Layout | None = None
        self.orders: dict[str, _Order] = {}
        self.errors: list[RowError] = []
        self.rows = 0
        self.fatal: RowError | None = None
        # One copy of each value: a file repeats its customers, addresses, SKUs and prices
        # thousands of times, and the payloads keep them all.
        self.shared = {}.setdefault

    def run(self, reader: Iterable[list[str]]) -> ParsedFile:
        row = 0
        try:
            for row, record in enumerate(reader, start=1):
                joined = "".join(record)
                if not joined or joined.isspace():
                    continue  # a blank line (or one of only commas) still counts as a row
                if _UNDECODABLE.search(joined):
                    self._stop(row, _not_utf8(record, self.layout))
                    break
                if self.layout is None:
                    if not self._header(row, record):
                        break
                else:
                    self.rows += 1
                    self._row(row, record)
        except csv.Error as exc:
            self._stop(row + 1, f"This row cannot be read as CSV ({exc}); nothing was imported.")
        if self.layout is None and not self.errors:
            self._stop(1, "The file is empty: the first row must be the header.")
        elif self.layout is not None and not self.rows and not self.errors:
            self.errors.append(RowError(1, "", "The file has a header but no order rows."))
        return self._result()

    def _stop(self, row: int, message: str) -> None:
        """A problem with the file itself: no order of it is imported."""
        self.fatal = RowError(row, "", message)
        self.errors.append(self.fatal)

    def _header(self, row: int, record: list[str]) -> bool:
        layout, problems = read_header(record)
        for problem in problems:
            self.errors.append(RowError(row, "", problem))
        if problems:
            self.fatal = self.errors[-1]
            return False
        self.layout = layout
        return True

    def _row(self, row: int, record: list[str]) -> None:
        if len(record) != self.layout.width:
            self._ragged(row, record)
            return
        key, (sku, quantity, unit_price) = self.layout.split(record)
        ref = key[0]
        order = self._order(ref, row)
        problems = check_line_values(sku, quantity, unit_price)
        if order is None:  # no order_ref: report everything, group nothing
            problems = check_order_values(_normalised(key)) + problems
        else:
            if key != order.key:
                problems = self._order_level(order, row, key) + problems
            shared = self.shared
            order.lines.append(
                {
                    "sku": shared(sku, sku),
                    "quantity": shared(quantity, quantity),
                    "unit_price": shared(unit_price, unit_price),
                }
            )
            order.line_rows.append(row)
        for column, message in problems:
            self._error(order, RowError(row, column, message, ref))

    def _order_level(self, order: _Order, row: int, key: tuple[str, ...]) -> list[tuple[str, str]]:
        """Check a row's order-level values against its order's. They agree when every row
        that gives a value gives the same: a blank cell agrees with any (the sample fills
        notes on one row of an order only). A required one must be on every row."""
        values = _normalised(key)
        if order.key is None:  # the order's first readable row: checked in full
            order.key, order.first_row = tuple(map(self.shared, key, key)), row
            order.values = {c: self.shared(v, v) for c, v in values.items() if v}
            return check_order_values(values)
        changed = [c for c in ORDER_COLUMNS if values[c] != order.values.get(c, "")]
        problems = []
        for column in changed:
            mine, given = values[column], order.values.get(column)
            if not mine:
                continue  # agrees; a required column's check says it is missing
            if given is None:
                order.values[column], order.later[column] = mine, row
                continue
            problems.append(
                (
                    column,
                    f"{column} {shown(mine)} differs from {shown(given)} on row "
                    f"{order.source(column)}: an order's rows must agree on it.",
                )
            )
        return problems + check_order_values(values, changed)

    def _ragged(self, row: int, record: list[str]) -> None:
        width = self.layout.width
        message = (
            f"This row has {len(record)} fields but the header has {width} "
            "(a missing or extra comma, or an unclosed quote?)."
        )
        position = self.layout.positions["order_ref"]
        ref = record[position].strip() if position < len(record) else ""
        self._error(self._order(ref, row), RowError(row, "", message, ref))

    def _order(self, ref: str, row: int) -> _Order | None:
        """The order this row belongs to (None without an order_ref), with the row added."""
        if not ref:
            return None
        order = self.orders.get(ref)
        if order is None:
            order = self.orders[ref] = _Order(ref)
        order.rows.append(row)
        return order

    def _error(self, order: _Order | None, error: RowError) -> None:
        self.errors.append(error)
        if order is not None:
            order.errors.append(error)

    def _result(self) -> ParsedFile:
        parsed, rejected = [], {}
        # Popped as they are turned into results, so the two are not all held at once.
        for ref in list(self.orders):
            order = self.orders.pop(ref)
            errors = order.errors + ([self.fatal] if self.fatal else [])
            if errors or order.key is None:
                rejected[ref] = sorted(errors, key=_by_row)
            else:
                parsed.append(_parsed_order(order, self.default_currency))
        return ParsedFile(
            orders=parsed,
            rejected=rejected,
            errors=sorted(self.errors, key=_by_row),
            unknown_columns=list(self.layout.unknown) if self.layout else [],
            rows=self.rows,
        )


def _normalised(key: tuple[str, ...]) -> dict[str, str]:
    values = dict(zip(ORDER_COLUMNS, key, strict=True))
    normalise(values)
    return values


def _by_row(error: RowError) -> int:
    return error.row


def _not_utf8(record: list[str], layout: Layout | None) -> str:
    """Which field holds the first byte that is not UTF-8, for the message."""
    for index, value in enumerate(record):
        found = _UNDECODABLE.search(value)
        if found:
            byte = ord(found.group()) - 0xDC00
            names = {i: name for name, i in layout.positions.items()} if layout else {}
            where = names.get(index, f"field {index + 1}")
            return (
                f"The file is not UTF-8: byte 0x{byte:02X} in {where} of this row, "
                f"after {shown(value[: found.start()])}. Save it as 'CSV UTF-8' and import "
                "it again; nothing was imported."
            )
    return "The file is not UTF-8."


def _parsed_order(order: _Order, default_currency: str) -> ParsedOrder:
    values = dict.fromkeys(ORDER_COLUMNS, "") | order.values
    customer = {
        "code": values["customer_code"],
        "name": values["customer_name"],
        "email": values["contact_email"],
        "phone": values["contact_phone"],
    }
    payload = {
        "external_ref": order.ref,
        # Naive on purpose: the capture service makes it aware in the site's time zone.
        "placed_at": f"{values['order_date']}T00:00:00",
        "currency": values["currency"] or default_currency,
        "customer": dict(customer),
        "ship_to": {
            key: values[f"ship_{key}"]
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
        "lines": order.lines,
        "requested_ship_date": values["requested_ship_date"] or None,
        "po_number": values["po_number"],
        "notes": values["notes"],
    }
    return ParsedOrder(
        ref=order.ref,
        rows=order.rows,
        payload=payload,
        line_rows=order.line_rows,
        customer=customer,
    )


__all__ = ["parse_wholesale_csv"]
