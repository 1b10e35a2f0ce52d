"""Reading a wholesale CSV file as bytes: hashed as the parser reads it, and read again
for the rows of rejected orders as the file held them (the parser keeps no raw rows)."""

import csv
import hashlib
import io
from collections import defaultdict
from pathlib import Path
from typing import BinaryIO

from orders.imports.columns import read_header


class HashingReader(io.RawIOBase):
    """Hands the parser the file's bytes and hashes them on the way: one read, one pass."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        return n

    def drain(self) -> None:
        """Hash what the parser left unread (it may stop early on a fatal error)."""
        while data := self._raw.read(1 << 16):
            self.sha256.update(data)


def open_source(source) -> tuple[BinaryIO, bool]:
    """A seekable binary stream for a path, bytes or file object; and whether we opened it
    (and so close it)."""
    if isinstance(source, str | Path):
        return open(source, "rb"), True
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source), True
    if isinstance(source, io.TextIOBase):
        return io.BytesIO(source.read().encode()), True
    if hasattr(source, "open") and getattr(source, "closed", False):
        source.open("rb")  # a Django FieldFile
    stream = source
    if not (hasattr(stream, "seekable") and stream.seekable()):
        spool = io.BytesIO()
        while data := stream.read(1 << 16):
            spool.write(data)
        spool.seek(0)
        return spool, True
    stream.seek(0)
    return stream, False


def raw_rows(
    stream: BinaryIO, wanted: set[int], refs: set[str]
) -> tuple[list[str], dict[int, list[str]], dict[str, list[int]]]:
    """The header, and the rows (spreadsheet numbering: header = row 1) that are `wanted`
    or belong to one of `refs`, as the file holds them; and each ref's row numbers. A
    second streaming read that keeps only those rows (the parser keeps no raw rows)."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    header: list[str] = []
    rows: dict[int, list[str]] = {}
    ref_rows: dict[str, list[int]] = defaultdict(list)
    position = None
    try:
        for number, record in enumerate(csv.reader(text), start=1):
            if not header:
                header = record
                position = read_header(record)[0].positions.get("order_ref")
                continue
            ref = (
                record[position].strip() if position is not None and position < len(record) else ""
            )
            if ref in refs and "".join(record).strip():
                ref_rows[ref].append(number)
                rows[number] = record
            elif number in wanted:
                rows[number] = record
    except csv.Error:
        pass  # the parser reported it; keep the rows read so far
    finally:
        text.detach()  # leave the stream to its owner
    return header, rows, ref_rows
