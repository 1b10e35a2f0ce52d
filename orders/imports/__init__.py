"""Wholesale CSV import: parse a file into capture payloads and row-numbered errors
(wholesale-csv.md), and map the capture service's errors back onto the file's rows."""

from orders.imports.capture_errors import map_capture_errors
from orders.imports.parser import parse_wholesale_csv
from orders.imports.results import ParsedFile, ParsedOrder, RowError

__all__ = ["ParsedFile", "ParsedOrder", "RowError", "map_capture_errors", "parse_wholesale_csv"]
