"""File I/O shared by the readers and writers of evplan.

* ``read_csv_rows``: a user's CSV file (a bureau's existing chargers, traffic counts, an O-D table) as
  text rows with their line numbers; UTF-8 or GBK; a row with the wrong number of fields is quarantined
  (``QuarantinedRecord``), a missing file or column raises ``InputFileError``.
* ``write_text_atomic``: a crash or a concurrent writer never leaves a half-written output behind.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.errors import InputFileError


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` to a temporary file beside ``path`` (unique per process), fsync, then rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class QuarantinedRecord:
    """A record that was not used because a value is wrong: where it is and what was expected."""

    file: str
    #: The line of the file (the header is line 1), or the OSM element (``node/123``).
    row: int | str
    field: str
    value: str
    expected: str

    def describe(self) -> str:
        """The problem in one line, e.g. ``existing.csv row 4, power_kw: expected … , got '12x'``."""
        where = f"row {self.row}" if isinstance(self.row, int) else self.row
        return f"{self.file} {where}, {self.field}: expected {self.expected}, got {self.value!r}"


@dataclass(frozen=True)
class CsvRow:
    """One data record of a CSV file: its first line (the header is line 1), its values by column
    (stripped) and the fields as the file holds them."""

    line: int
    values: dict[str, str]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class CsvRows:
    """A CSV file read as text: its columns (lower case, in file order), its records with the right
    number of fields, and the records quarantined for a wrong number of fields."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]
    quarantined: tuple[QuarantinedRecord, ...]


#: Encodings a user's CSV is tried in, in order: UTF-8 (a BOM is dropped), then GB18030 (a superset of GBK).
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def read_csv_rows(path: Path | str, required: Sequence[str], what: str, *, table: str | None = None) -> CsvRows:
    """Read a user's CSV file: header on line 1 (names case-insensitive), every ``required`` column present.

    ``what`` names the file in errors (``"a segment-counts CSV file"``), ``table`` in errors about its
    header (default: ``what``). Blank lines are skipped; a record whose number of fields differs from
    the header's is quarantined with its first line number, never padded or cut. Raises
    ``InputFileError`` naming the file when it is missing, neither UTF-8 nor GBK, empty, not CSV, or
    lacks a required column (named, with the columns found) or repeats one.
    """
    p = Path(path)
    table = table or what
    if not p.is_file():
        raise InputFileError(p, what, detail="file not found")
    raw = p.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputFileError(p, "a CSV file in UTF-8 or GBK", detail="the bytes are neither")
    reader = csv.reader(io.StringIO(text, newline=""))
    expected_header = f"{table} with the columns {', '.join(required)}"
    rows: list[CsvRow] = []
    bad: list[QuarantinedRecord] = []
    try:
        header = next(reader, None)
        if header is None:
            raise InputFileError(p, expected_header, detail="the file is empty")
        cols = tuple(h.strip().lower() for h in header)
        missing = [c for c in required if c not in cols]
        if missing:
            raise InputFileError(p, expected_header,
                                 detail=f"missing column(s) {', '.join(missing)}; found {', '.join(cols) or 'none'}")
        repeated = sorted({c for c in cols if cols.count(c) > 1})
        if repeated:
            raise InputFileError(p, "a CSV file with each column once",
                                 detail=f"repeated column(s) {', '.join(repeated)}")
        end = reader.line_num
        for values in reader:
            start, end = end + 1, reader.line_num  # a quoted field may span lines: the record's first one
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(cols):
                bad.append(QuarantinedRecord(p.name, start, "(row)", ",".join(values),
                                             f"{len(cols)} comma-separated fields, as in the header"))
                continue
            rows.append(CsvRow(start, {c: v.strip() for c, v in zip(cols, values, strict=True)}, tuple(values)))
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise InputFileError(p, "CSV text", detail=f"line {reader.line_num}: {exc}") from None
    return CsvRows(p, cols, tuple(rows), tuple(bad))
