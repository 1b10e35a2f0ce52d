"""What parsing a wholesale CSV returns (docs: wholesale-csv.md)."""

from dataclasses import dataclass, field


@dataclass
class RowError:
    """One problem, where a spreadsheet shows it: row 1 is the header; column is the
    canonical column name, "" for a whole-row or whole-file problem."""

    row: int
    column: str
    message: str
    order_ref: str = ""


@dataclass
class ParsedOrder:
    ref: str
    rows: list[int]  # the order's row numbers, in file order
    payload: dict  # for order_capture / capture_many; the caller adds "channel"
    line_rows: list[int]  # row of payload["lines"][i]
    customer: dict  # {"code", "name", "email", "phone"} as given


@dataclass
class ParsedFile:
    orders: list[ParsedOrder]  # orders without format errors, in order of first appearance
    rejected: dict[str, list[RowError]]  # order_ref -> its errors; the order is rejected whole
    errors: list[RowError]  # every error (file-level and all rows'), sorted by row
    unknown_columns: list[str] = field(default_factory=list)  # reported, ignored
    rows: int = 0  # data rows read (blank lines not counted)
