"""Reading one records file as text: CSV, gzip CSV or Parquet, in UTF-8, UTF-8 with BOM or GBK.

Values stay text, indexed by their line number in the file, so that the row checks (``checks.py``)
see and report exactly what the file holds.

A compressed file is inflated in bounded steps and refused as soon as it expands past a limit
(``EVPLAN_MAX_DECOMPRESSED_MB``, default 500 MB): the same ``GzipInflater`` counts a service upload
while it streams in, so ``evplan fleet ingest`` and ``POST /fleet/records`` refuse a gzip bomb alike.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputFileError, RecordError

#: Number of fields a CSV record really had, when some record did not match the header.
FIELDS_COLUMN = "_fields"

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
#: The setting that bounds what a compressed file may expand to, in MB (10^6 bytes).
MAX_DECOMPRESSED_SETTING = "EVPLAN_MAX_DECOMPRESSED_MB"
#: Its default: the service's too (10 x its 50 MB upload limit).
DEFAULT_MAX_DECOMPRESSED_MB = 500.0


class DecompressedTooLargeError(InputFileError):
    """A compressed file expands past the limit (a gzip bomb, or simply too much): refused before it is read whole."""


def decompressed_limit_bytes() -> int:
    """The decompressed-size limit in bytes: ``EVPLAN_MAX_DECOMPRESSED_MB`` when set, else 500 MB."""
    raw = os.environ.get(MAX_DECOMPRESSED_SETTING, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_DECOMPRESSED_MB
    except ValueError:
        raise InputFileError(MAX_DECOMPRESSED_SETTING, "a number of MB greater than 0", detail=f"got {raw!r}") from None
    if not mb > 0 or mb == float("inf"):
        raise InputFileError(MAX_DECOMPRESSED_SETTING, "a number of MB greater than 0", detail=f"got {raw!r}")
    return int(mb * 1_000_000)


def too_large(name: object, what: str, limit_bytes: int, *, declared_bytes: int | None = None) -> DecompressedTooLargeError:
    """The one refusal of an oversized compressed file, for the CLI and the service alike."""
    how = (f"it declares {declared_bytes / 1e6:,.0f} MB of uncompressed data, " if declared_bytes is not None
           else "it expands to ")
    return DecompressedTooLargeError(
        name, f"{what} of at most {limit_bytes / 1e6:g} MB uncompressed",
        detail=f"{how}more than {limit_bytes / 1e6:g} MB ({MAX_DECOMPRESSED_SETTING}); nothing was stored - "
               "split it or send it uncompressed")


class GzipInflater:
    """Inflates a gzip stream (one or more members) as it arrives, in steps of at most ``STEP`` bytes.

    Past ``limit_bytes`` of output it raises ``DecompressedTooLargeError``; so at most the limit is ever
    held (``keep``) or none of it (counting only). Damaged data raises ``zlib.error``.
    """

    STEP = 1 << 20

    def __init__(self, limit_bytes: int, *, name: object, keep: bool = True,
                 what: str = "a gzip file") -> None:
        self.limit_bytes = limit_bytes
        self.name = name
        self.keep = keep
        self.what = what
        self.total_bytes = 0
        self._parts: list[bytes] = []
        self._z = zlib.decompressobj(wbits=31)

    def _take(self, out: bytes) -> None:
        self.total_bytes += len(out)
        if self.total_bytes > self.limit_bytes:
            self._parts.clear()
            raise too_large(self.name, self.what, self.limit_bytes)
        if self.keep and out:
            self._parts.append(out)

    def feed(self, data: bytes) -> None:
        """Inflate the next compressed bytes."""
        while data:
            if self._z.eof:  # the next gzip member
                self._z = zlib.decompressobj(wbits=31)
            self._take(self._z.decompress(data, self.STEP))
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail

    def finish(self) -> bytes:
        """Everything inflated (empty when counting only); ``EOFError`` when the last member is cut off."""
        if not self._z.eof:
            self._take(self._z.flush())  # at most one pending match: the input is all consumed
            if not self._z.eof:
                raise EOFError("the compressed data ended before the end of its last gzip member")
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def inflate_gzip(path: Path, data: bytes, limit_bytes: int, what: str) -> bytes:
    """``data`` (gzip, one or more members) inflated, refused past ``limit_bytes``; ``InputFileError`` if damaged."""
    inflater = GzipInflater(limit_bytes, name=path)
    view = memoryview(data)
    try:
        for start in range(0, len(view), GzipInflater.STEP):
            inflater.feed(bytes(view[start:start + GzipInflater.STEP]))
        return inflater.finish()
    except (EOFError, zlib.error) as exc:
        raise InputFileError(path, what, detail=f"the gzip data is damaged or truncated ({exc})") from None


def parquet_declared_bytes(path: Path) -> int | None:
    """What a Parquet file's footer declares its row groups take uncompressed, or None if it is unreadable."""
    try:
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception:  # noqa: BLE001 - not readable as Parquet: the reader says why, with the file's name
        return None


@dataclass(frozen=True)
class TextTable:
    """A table read from a file with every value as text, and how the file was read.

    ``frame`` has the file's columns as text (missing values as ``""``) and is indexed by the row number
    in the file (``row``).
    """

    frame: pd.DataFrame
    path: Path
    encoding: str
    file_format: str
    sha256: str
    size_bytes: int


def read_table(path: Path | str, *, what: str = "a table (CSV, CSV.GZ or Parquet)",
               max_decompressed_bytes: int | None = None) -> TextTable:
    """Read a CSV, gzip CSV or Parquet file as text, detecting the encoding.

    CSV text is tried as UTF-8 (with or without BOM), then GBK; the encoding used is reported. Rows
    keep their line numbers; a record with more or fewer fields than the header is kept and marked so
    that validation quarantines it. Raises ``InputFileError`` for a file that cannot be read at all, and
    ``DecompressedTooLargeError`` for a gzip file that inflates, or a Parquet file that declares, more
    than ``max_decompressed_bytes`` (default: ``decompressed_limit_bytes()``).
    """
    path = Path(path)
    limit = max_decompressed_bytes if max_decompressed_bytes is not None else decompressed_limit_bytes()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, what, detail="no such file") from None
    except OSError as exc:
        raise InputFileError(path, what, detail=str(exc)) from exc
    sha256 = hashlib.sha256(data).hexdigest()
    size = len(data)
    if data[:4] == PARQUET_MAGIC:
        declared = parquet_declared_bytes(path)
        if declared is not None and declared > limit:
            raise too_large(path, "a Parquet file", limit, declared_bytes=declared)
        return TextTable(_parquet_frame(path, data, what), path, "utf-8", "parquet", sha256, size)
    file_format = "csv"
    if data[:2] == GZIP_MAGIC:
        data = inflate_gzip(path, data, limit, what)
        file_format = "csv.gz"
    text, encoding = _decode(path, data)
    return TextTable(_csv_frame(path, text), path, encoding, file_format, sha256, size)


def read_vehicle_file(path: Path | str) -> pd.DataFrame:
    """Read a vehicle records file (CSV, CSV.GZ or Parquet; UTF-8, UTF-8 with BOM or GBK) as text.

    Every value stays text so that validation sees exactly what the file holds. The frame is indexed
    by row number in the file; ``frame.attrs`` holds ``source``, ``encoding`` and ``format``.
    """
    table = read_table(path, what="a vehicle records file (CSV, CSV.GZ or Parquet)")
    frame = table.frame
    frame.attrs.update(source=str(table.path), encoding=table.encoding, format=table.file_format)
    return frame


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    expected = "text in UTF-8 (with or without BOM) or GBK"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise InputFileError(path, expected, detail="the file looks like UTF-16 or binary data; save it as CSV UTF-8")
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gbk"), "gbk"
        except UnicodeDecodeError as gbk_error:
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise InputFileError(
                path, expected,
                detail=f"byte {utf8_error.start} (line {line}) is not valid UTF-8 "
                       f"and byte {gbk_error.start} is not valid GBK",
            ) from None


def _csv_frame(path: Path, text: str) -> pd.DataFrame:
    """Rows of CSV text as text columns indexed by line number (header = line 1)."""
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as exc:
        raise InputFileError(path, "CSV text", detail=f"line 1: {exc}") from exc
    if header is None:
        raise InputFileError(path, "a CSV file with a header row", detail="the file is empty")
    if not any(h.strip() for h in header):
        raise RecordError(f"{path}: line 1 is not a header row; expected the column names on line 1")
    check_header(path, header)
    fast = _csv_frame_fast(text, header)
    return fast if fast is not None else _csv_frame_exact(path, text, header)


def _csv_frame_fast(text: str, header: list[str]) -> pd.DataFrame | None:
    """The Arrow CSV reader for regular files: every record on one line, no blank line, right field count.

    Returns None for anything else, which the exact reader then handles with true line numbers.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False, null_values=[],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    physical_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if table.column_names != header or physical_lines != table.num_rows + 1 or "\r" in text.replace("\r\n", ""):
        return None
    frame = table.to_pandas()
    frame.index = pd.Index(np.arange(2, len(frame) + 2), name="row")
    return frame


def _csv_frame_exact(path: Path, text: str, header: list[str]) -> pd.DataFrame:
    """Python's csv reader, record by record, keeping each record's first line number."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    lines: list[int] = []
    counts: list[int] = []
    ncol = len(header)
    try:
        next(reader)
        previous = reader.line_num
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not record:
                continue  # a blank line holds no data
            counts.append(len(record))
            if len(record) != ncol:
                record = (record + [""] * ncol)[:ncol]
            rows.append(record)
            lines.append(start)
    except csv.Error as exc:
        raise InputFileError(path, "CSV text", detail=f"line {reader.line_num}: {exc}") from exc
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    frame = pd.DataFrame({h: pd.Series(list(col), dtype="str") for h, col in zip(header, columns, strict=True)})
    frame.index = pd.Index(np.asarray(lines, dtype=int), name="row")
    counts_arr = np.asarray(counts, dtype=int)
    if len(counts_arr) and (counts_arr != ncol).any():
        frame[FIELDS_COLUMN] = counts_arr
    return frame


def check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    dupes = sorted({h for h in header if h in seen or seen.add(h)})  # type: ignore[func-returns-value]
    if dupes:
        raise RecordError(f"{path}: column(s) {dupes} appear more than once in the header; expected each column once")


def _parquet_frame(path: Path, data: bytes, what: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(path, what, detail=f"cannot read the Parquet data ({exc})") from exc
    check_header(path, list(table.column_names))
    df = table.to_pandas()
    out = pd.DataFrame({c: as_text(df[c]) for c in df.columns})
    out.index = pd.Index(np.arange(2, len(out) + 2), name="row")
    return out


def _cell_text(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def as_text(values: pd.Series) -> pd.Series:
    """Values as the text a CSV export would hold (ISO dates, true/false, ``""`` for missing).

    Returns a ``str``-dtype Series with a fresh 0..n-1 index.
    """
    s = values.reset_index(drop=True)
    if isinstance(s.dtype, pd.StringDtype):
        return s.fillna("").astype("str")
    if pd.api.types.is_object_dtype(s) and pd.api.types.infer_dtype(s, skipna=False) == "string":
        return s.astype("str")
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s):
        text = s.map({True: "true", False: "false"})
    elif pd.api.types.is_datetime64_any_dtype(s):
        at_midnight = (s.dt.normalize() == s).to_numpy()
        text = pd.Series(np.where(at_midnight, s.dt.strftime("%Y-%m-%d"), s.astype(str)))
    elif pd.api.types.is_object_dtype(s):
        text = s.map(_cell_text)
    else:
        text = s.astype(str)
    out = np.array(text.astype(object), dtype=object)
    out[missing] = ""
    return pd.Series(out, dtype="str")
