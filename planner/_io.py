"""File I/O shared by the readers and writers of evplan.

* ``read_csv_rows``: a user's CSV file (a bureau's existing chargers, traffic counts, an O-D table) as
  text rows with their line numbers; UTF-8, GBK or UTF-16 with a byte-order mark; a row with the wrong
  number of fields is quarantined (``QuarantinedRecord``); a missing file, a missing or repeated column
  raises ``InputFileError``; blank header cells (trailing commas of a spreadsheet export) are ignored.
* ``write_text_atomic``: a crash or a concurrent writer never leaves a half-written output behind.
"""

from __future__ import annotations

import codecs
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
    #: What was found instead, when the value alone does not show it (``4 fields``); else empty.
    found: str = ""

    def describe(self) -> str:
        """The problem in one line, e.g. ``existing.csv row 4, power_kw: expected … , got '12x'`` or
        ``counts.csv row 7: 4 fields; expected 5 comma-separated fields, as in the header, got '…'``."""
        where = f"row {self.row}" if isinstance(self.row, int) else self.row
        if self.found:
            return f"{self.file} {where}: {self.found}; expected {self.expected}, got {self.value!r}"
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
    """A CSV file read as text: its named columns (lower case, in file order; blank header cells left
    out), its records with the header's number of fields, and those quarantined for another number."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]
    quarantined: tuple[QuarantinedRecord, ...]


#: Encodings a user's CSV is tried in, in order: UTF-8 (a BOM is dropped), then GB18030 (a superset of GBK).
#: A file that starts with a UTF-16 byte-order mark (Excel's "Unicode" exports) is read as UTF-16.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
_NEWLINE = b"\n"
_SAVE_AS = "save it from the spreadsheet as CSV UTF-8 (comma-delimited)"


def _decode(p: Path, raw: bytes) -> str:
    """The text of a user's CSV: UTF-16 when it starts with its byte-order mark, else UTF-8, else GBK.

    An undecodable file is refused naming the first bad byte and its line, as the fleet reader does.
    """
    expected = "a CSV file in UTF-8, GBK or UTF-16 with a byte-order mark"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise InputFileError(p, expected, detail=f"the file starts as UTF-16 but byte {exc.start} (line {line}) "
                                                     f"is not valid UTF-16; {_SAVE_AS}") from None
    if b"\x00" in raw[:4096]:
        raise InputFileError(p, expected, detail="the file holds NUL bytes: UTF-16 without a byte-order mark, "
                                                 f"or not text at all; {_SAVE_AS}")
    errors: list[int] = []  # where each encoding failed
    for encoding in CSV_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            errors.append(exc.start)
    utf8_at, gbk_at = (f"byte {start} (line {raw.count(_NEWLINE, 0, start) + 1})" for start in errors)
    why = (f"{utf8_at} is valid neither as UTF-8 nor as GBK" if errors[0] == errors[1] else
           f"{utf8_at} is not valid UTF-8 and {gbk_at} is not valid GBK")
    raise InputFileError(p, expected, detail=f"{why}; {_SAVE_AS}")


def _as_csv(values: Sequence[str]) -> str:
    """A record's fields as one CSV line, quoted where the file had to quote them."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()


def read_csv_rows(path: Path | str, required: Sequence[str], what: str, *, table: str | None = None) -> CsvRows:
    """Read a user's CSV file: header on line 1 (names case-insensitive), every ``required`` column present.

    ``what`` names the file in errors (``"a segment-counts CSV file"``), ``table`` in errors about its
    header (default: ``what``). Blank lines are skipped, and so are columns whose header cell is blank
    (a spreadsheet's trailing commas). A record whose number of fields differs from the header's is
    quarantined with its first line number and both counts, never padded or cut. Raises
    ``InputFileError`` naming the file when it is missing, undecodable (the byte and line), empty, not
    CSV, or lacks a required column (named, with the columns found) or repeats one.
    """
    p = Path(path)
    table = table or what
    if not p.is_file():
        raise InputFileError(p, what, detail="file not found")
    text = _decode(p, p.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    expected_header = f"{table} with the columns {', '.join(required)}"
    rows: list[CsvRow] = []
    bad: list[QuarantinedRecord] = []
    try:
        header = next(reader, None)
        if header is None:
            raise InputFileError(p, expected_header, detail="the file is empty")
        names = [h.strip().lower() for h in header]
        named = [(i, c) for i, c in enumerate(names) if c]  # a blank header cell names no column
        cols = tuple(c for _, c in named)
        missing = [c for c in required if c not in cols]
        if missing:
            hint = "; the header is tab-separated: save the file as CSV (comma-delimited)" if (
                len(header) == 1 and "\t" in header[0]) else ""
            raise InputFileError(p, expected_header, detail=f"missing column(s) {', '.join(missing)}; "
                                                            f"found {', '.join(cols) or 'none'}{hint}")
        repeated = sorted({c for c in cols if cols.count(c) > 1})
        if repeated:
            raise InputFileError(p, f"{table} with each column once",
                                 detail=f"repeated column(s) {', '.join(repeated)}")
        width = len(header)
        end = reader.line_num
        for values in reader:
            start, end = end + 1, reader.line_num  # a quoted field may span lines: the record's first one
            if not any(v.strip() for v in values):
                continue
            if len(values) != width:
                bad.append(QuarantinedRecord(p.name, start, "(row)", _as_csv(values),
                                             f"{width} comma-separated fields, as in the header",
                                             found=f"{len(values)} field{'s' if len(values) != 1 else ''}"))
                continue
            rows.append(CsvRow(start, {c: values[i].strip() for i, c in named}, tuple(values)))
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise InputFileError(p, "CSV text", detail=f"line {reader.line_num}: {exc}") from None
    return CsvRows(p, cols, tuple(rows), tuple(bad))
