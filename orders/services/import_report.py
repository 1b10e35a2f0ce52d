"""What an import made of each order of a file, and its error report: the rejected
rows in the file's own columns, each with its reason, ready to fix and import again."""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from orders.imports.files import raw_rows
from orders.models import ImportRun

# ImportRun.summary keeps the counts and at most this many entries per outcome.
SUMMARY_LIMIT = 1000
REASON_COLUMN = "reason"


@dataclass
class OrderResult:
    """What became of one order_ref of the file."""

    ref: str
    rows: list[int]
    outcome: str  # "created" | "skipped" | "rejected"
    number: str = ""
    status: str = ""
    text: str = ""  # what happened, in a sentence: allocated from..., held: ...
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "rows": self.rows,
            "number": self.number,
            "status": self.status,
            "outcome": self.text,
            "reasons": self.reasons,
        }


@dataclass
class ImportReport:
    filename: str
    channel: str
    dry_run: bool
    checksum: str = ""
    rows_total: int = 0
    created: list[OrderResult] = field(default_factory=list)
    skipped: list[OrderResult] = field(default_factory=list)
    rejected: list[OrderResult] = field(default_factory=list)
    # Problems not tied to an order (a missing header column, a row without order_ref).
    file_errors: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    customers_created: list[str] = field(default_factory=list)
    # The rejected rows as the file held them, for the error report.
    header: list[str] = field(default_factory=list)
    rejected_rows: list[tuple[int, list[str], str]] = field(default_factory=list)
    # Every RowError behind the rejections (parser's and capture's, mapped to rows).
    row_errors: list = field(default_factory=list)
    run: ImportRun | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.file_errors

    def summary(self, limit: int = SUMMARY_LIMIT) -> dict[str, Any]:
        """JSON for ImportRun.summary: counts, and the first `limit` entries of each list."""
        return {
            "counts": {
                "created": len(self.created),
                "skipped": len(self.skipped),
                "rejected": len(self.rejected),
            },
            "created": [r.as_dict() for r in self.created[:limit]],
            "skipped": [r.as_dict() for r in self.skipped[:limit]],
            "rejected": [r.as_dict() for r in self.rejected[:limit]],
            "truncated": max(len(self.created), len(self.skipped), len(self.rejected)) > limit,
            "file_errors": self.file_errors[:limit],
            "unknown_columns": self.unknown_columns,
            "customers_created": self.customers_created[:limit],
            "dry_run": self.dry_run,
        }


def rows_text(rows: Iterable[int]) -> str:
    """'row 4', 'rows 2-3', 'rows 2-4, 9'."""
    numbers = sorted(set(rows))
    parts: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
    label = "row" if len(numbers) == 1 else "rows"
    return f"{label} {', '.join(parts)}"


def error_text(error) -> str:
    where = f"row {error.row}" + (f", {error.column}" if error.column else "")
    return f"{where}: {error.message}"


def collect_rejected_rows(report: ImportReport, stream: BinaryIO) -> None:
    """Keep the rejected orders' rows (all of them: fixed and re-imported, the order must
    be whole) as the file holds them, each with its reason."""
    refs = {result.ref for result in report.rejected}
    wanted = {error.row for error in report.row_errors if error.row and error.row > 1}
    if not refs and not wanted:
        return
    report.header, rows, ref_rows = raw_rows(stream, wanted, refs)
    reasons: dict[int, list[str]] = defaultdict(list)
    for error in report.row_errors:
        if error.row and error.row > 1:
            reasons[error.row].append(error_text(error))
    for result in report.rejected:
        result.rows = sorted(set(result.rows) | set(ref_rows.get(result.ref, ())))
        why = "; ".join(result.reasons[:3]) + ("; ..." if len(result.reasons) > 3 else "")
        for row in result.rows:
            if row not in reasons:
                reasons[row].append(f"row {row}: order {result.ref} is rejected whole: {why}")
    report.rejected_rows = [
        (row, rows.get(row, []), "; ".join(dict.fromkeys(reasons[row]))) for row in sorted(reasons)
    ]


def error_report_csv(report: ImportReport) -> str:
    """The rejected rows in the file's own columns plus a `reason` column (row number and
    column in each reason), in row order: fix them and import the file again.

    Cells are written as the customer sent them, not formula-escaped: the report exists
    to be re-imported, and escaping would change values the parser must read back (a
    phone number begins with "+"). A re-imported report's old `reason` column is
    replaced, not repeated."""
    header = list(report.header)
    keep = [i for i, name in enumerate(header) if name.strip().lower() != REASON_COLUMN]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header[i] for i in keep] + [REASON_COLUMN])
    width = len(header)
    for _row, values, reason in report.rejected_rows:
        values = list(values) + [""] * (width - len(values))
        writer.writerow([values[i] for i in keep] + [reason])
    return out.getvalue()
