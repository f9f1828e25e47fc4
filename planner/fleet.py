"""Fleet records and the new-energy indicators of the carbon-peak plan (Shanwei plan, clauses 20-22).

Records are tables: vehicles (one row per registered vehicle), activity (per year, county, vehicle class
and powertrain of operating vehicles: vehicle-years, vehicle-km, passenger-km, tonne-km and energy by
carrier), depots, emission factors and counties. Reading checks every row: a bad row is quarantined as
a ``RowIssue`` (file, row, field, value, reason) and the good rows are kept; nothing is dropped or
repaired silently.

Definitions used by ``indicators``: the stock of year Y is every vehicle registered on or before 31 Dec Y
and not deregistered by then; the additions of Y are the vehicles registered in Y. NE (new energy) =
BEV, PHEV, FCEV; clean energy = CNG, LNG.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import math
import tomllib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import config
from planner.errors import InputFileError, RecordError

VEHICLE_CLASSES: tuple[str, ...] = ("bus", "taxi", "ride_hailing", "passenger_car", "coach", "truck", "van", "special")
POWERTRAINS: tuple[str, ...] = ("BEV", "PHEV", "FCEV", "HEV", "petrol", "diesel", "CNG", "LNG")
NE_POWERTRAINS: frozenset[str] = frozenset({"BEV", "PHEV", "FCEV"})
CLEAN_POWERTRAINS: frozenset[str] = frozenset({"CNG", "LNG"})
#: Powertrains that charge from the grid (depot charging).
PLUG_IN_POWERTRAINS: frozenset[str] = frozenset({"BEV", "PHEV"})

#: County-level divisions of Shanwei (GB/T 2260 codes); a fleet directory's counties.csv replaces them.
SHANWEI_COUNTIES: dict[str, str] = {"441502": "城区", "441521": "海丰县", "441523": "陆河县", "441581": "陆丰市"}

REQUIRED_COLUMNS: tuple[str, ...] = (
    "vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code", "is_operating",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("depot_id",)

#: Energy carriers of the activity table and their units (column names carry the unit).
ENERGY_COLUMNS: tuple[str, ...] = ("electricity_kwh", "petrol_l", "diesel_l", "cng_m3", "lng_kg", "h2_kg")
ACTIVITY_KEY: tuple[str, ...] = ("year", "county_code", "vehicle_class", "powertrain")
ACTIVITY_MEASURES: tuple[str, ...] = ("vehicle_years", "vehicle_km", "passenger_km", "tonne_km", *ENERGY_COLUMNS)
DEPOT_REQUIRED: tuple[str, ...] = ("depot_id", "name", "fleet_kind", "lon", "lat", "county_code")

#: Road transport: 10 passenger-km count as 1 tonne-km in converted turnover (换算周转量), the national
#: transport statistics convention for road (公路 10人公里 = 1吨公里).
PASSENGER_KM_TO_TONNE_KM = 0.1
#: The plan measures the CO2-intensity cut against this year.
BASE_YEAR = 2020

#: Depot-demand fallbacks, used only where the activity table has no row for a depot's vehicles
#: (ASSUMPTIONS: a 10-12 m e-bus 1.05 kWh/km, 165 km/day; an e-taxi 0.15 kWh/km, 300 km/day).
DEFAULT_KWH_PER_KM: dict[str, float] = {"bus": 1.05, "coach": 1.2, "taxi": 0.15, "ride_hailing": 0.14,
                                         "passenger_car": 0.15, "van": 0.20, "truck": 0.55, "special": 0.8}
DEFAULT_DAILY_KM: dict[str, float] = {"bus": 165.0, "coach": 250.0, "taxi": 300.0, "ride_hailing": 165.0,
                                       "passenger_car": 35.0, "van": 80.0, "truck": 120.0, "special": 60.0}

_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
_FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_FIELDS_COLUMN = "_fields"  # number of fields a CSV record really had, when some record did not match the header
_MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class RowIssue:
    """One field of one row that failed a check: where it is, what it holds, what was expected.

    ``row`` counts as in the file: the header is line 1 and the first data row is 2 (Parquet rows are
    numbered the same way, as if the file were exported to CSV). ``field`` is ``"*"`` when the row as a
    whole is malformed (wrong number of fields).
    """

    file: str
    row: int
    field: str
    value: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"file": self.file, "row": self.row, "field": self.field, "value": self.value, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, field {self.field}: {self.reason} (value {self.value!r})"


@dataclass(frozen=True, eq=False)
class FleetRecords:
    """The fleet records of one city: validated tables plus every row that was quarantined on the way."""

    vehicles: pd.DataFrame
    activity: pd.DataFrame
    depots: pd.DataFrame
    quarantine: tuple[RowIssue, ...] = ()
    emission_factors: pd.DataFrame | None = None
    counties: Mapping[str, str] = field(default_factory=lambda: dict(SHANWEI_COUNTIES))
    #: True when the directory's ``dataset.toml`` says the records are synthetic, False when it says
    #: they are real, None when nothing says (the report then words its data note conditionally).
    synthetic: bool | None = None


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


# ------------------------------------------------------------------------------------------ reading


def read_table(path: Path | str, *, what: str = "a table (CSV, CSV.GZ or Parquet)") -> TextTable:
    """Read a CSV, gzip CSV or Parquet file as text, detecting the encoding.

    CSV text is tried as UTF-8 (with or without BOM), then GBK; the encoding used is reported. Rows
    keep their line numbers; a record with more or fewer fields than the header is kept and marked so
    that validation quarantines it. Raises ``InputFileError`` for a file that cannot be read at all.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, what, detail="no such file") from None
    except OSError as exc:
        raise InputFileError(path, what, detail=str(exc)) from exc
    sha256 = hashlib.sha256(data).hexdigest()
    size = len(data)
    if data[:4] == b"PAR1":
        return TextTable(_parquet_frame(path, data, what), path, "utf-8", "parquet", sha256, size)
    file_format = "csv"
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputFileError(path, what, detail=f"the gzip data is damaged or truncated ({exc})") from exc
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
    _check_header(path, header)
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
        frame[_FIELDS_COLUMN] = counts_arr
    return frame


def _check_header(path: Path, header: list[str]) -> None:
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
    _check_header(path, list(table.column_names))
    df = table.to_pandas()
    out = pd.DataFrame({c: _as_text(df[c]) for c in df.columns})
    out.index = pd.Index(np.arange(2, len(out) + 2), name="row")
    return out


def _cell_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _as_text(values: pd.Series) -> pd.Series:
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


# --------------------------------------------------------------------------------------- validation


class _Checker:
    """Collects row issues of one table, positionally."""

    def __init__(self, source: str, rows: np.ndarray, order: Iterable[str]) -> None:
        self.source = source
        self.rows = rows
        self.bad = np.zeros(len(rows), dtype=bool)
        self.found: list[tuple[int, int, str, str, str]] = []
        self.order = {name: i for i, name in enumerate(order)}

    def flag(self, mask: np.ndarray, field_name: str, values: pd.Series, reason: str | Any) -> None:
        """Quarantine the rows in ``mask`` for ``field_name``; ``reason`` is text or a function of position."""
        mask = np.asarray(mask, dtype=bool)
        for pos in np.flatnonzero(mask):
            text = reason if isinstance(reason, str) else reason(pos)
            value = str(values.iat[pos])[:_MAX_VALUE_CHARS]
            self.found.append((int(pos), self.order.get(field_name, len(self.order)), field_name, value, text))
        self.bad |= mask

    def issues(self) -> list[RowIssue]:
        return [RowIssue(self.source, int(self.rows[p]), f, v, r) for p, _, f, v, r in sorted(self.found)]


def _row_numbers(df: pd.DataFrame) -> np.ndarray:
    if df.index.name == "row" and pd.api.types.is_integer_dtype(df.index):
        return df.index.to_numpy(dtype=int)
    return np.arange(2, len(df) + 2)


def _text(df: pd.DataFrame, column: str) -> pd.Series:
    """A column as text (``""`` where missing or absent), indexed 0..n-1."""
    if column not in df.columns:
        return pd.Series([""] * len(df), dtype="str")
    return _as_text(df[column])


def _mask(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=bool, na_value=False)


def _one_of(allowed: Iterable[str]) -> str:
    return "expected one of: " + ", ".join(allowed)


def _spelling_hint(value: str, allowed: Iterable[str]) -> str:
    folded = {a.lower(): a for a in allowed}
    match = folded.get(value.strip().lower())
    return f" (did you mean {match!r}? values are case- and space-sensitive)" if match and match != value else ""


def _check_missing_columns(df: pd.DataFrame, required: Iterable[str], source: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = [repr(c) if str(c) != str(c).strip() else str(c) for c in df.columns if c != _FIELDS_COLUMN]
        hint = ""
        if len(found) == 1 and any(sep in found[0] for sep in (";", "\t", "|")):
            hint = "; the header looks split by another delimiter: expected commas"
        raise RecordError(
            f"{source}: missing required column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(required)}; found {', '.join(found) or 'no columns'}{hint}"
        )


def _check_field_counts(df: pd.DataFrame, check: _Checker, ncol: int) -> np.ndarray:
    if _FIELDS_COLUMN not in df.columns:
        return np.zeros(len(df), dtype=bool)
    counts = df[_FIELDS_COLUMN].to_numpy(dtype=int)
    wrong = counts != ncol
    check.flag(wrong, "*", pd.Series(counts.astype(str)),
               lambda p: f"expected {ncol} comma-separated fields (as in the header), found {counts[p]}")
    return wrong


def _parse_dates(
    text: pd.Series, check: _Checker, field_name: str, *, skip: np.ndarray, required: bool, today: date
) -> pd.Series:
    """ISO dates as datetimes (NaT where empty or bad); bad ones are flagged."""
    empty = _mask(text == "")
    shaped = _mask(text.str.fullmatch(_ISO_DATE))
    parsed = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")
    ok = _mask(parsed.notna())
    what = "the registration date" if field_name == "registered_on" else "the deregistration date"
    if required:
        check.flag(empty & ~skip, field_name, text, f"empty; expected {what} as YYYY-MM-DD")
    check.flag(~empty & ~shaped & ~skip, field_name, text, "expected an ISO date YYYY-MM-DD")
    check.flag(shaped & ~ok & ~skip, field_name, text, "not a calendar date; expected an ISO date YYYY-MM-DD")
    too_old = ok & _mask(parsed < pd.Timestamp(1900, 1, 1))
    check.flag(too_old & ~skip, field_name, text, f"before 1900; expected {what}")
    future = ok & _mask(parsed > pd.Timestamp(today))
    check.flag(future & ~skip, field_name, text, f"after today ({today.isoformat()}); expected a date that has passed")
    return parsed.where(ok & ~too_old & ~future)


def _not_in(values: pd.Series, allowed: Iterable[str]) -> np.ndarray:
    return ~_mask(values.isin(list(allowed)))


def validate_vehicles(
    df: pd.DataFrame,
    *,
    source: str,
    known_counties: Mapping[str, str] | Iterable[str] | None = None,
    known_depots: Iterable[str] | None = None,
    today: date | None = None,
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Check every row of a vehicle table; return the good rows (typed) and the issues of the bad ones.

    Parameters
    ----------
    df
        Vehicle table, as from ``read_vehicle_file`` (text, indexed by row number) or any frame with the
        required columns (rows are then numbered from 2, as in a CSV export).
    source
        File name used in every ``RowIssue``.
    known_counties
        Valid county codes (default: Shanwei's four). A mapping's values (names) are used in messages.
    known_depots
        Valid depot ids; ``None`` skips the check.
    today
        Dates after this day are refused (default: today).

    Returns
    -------
    (vehicles, issues)
        ``vehicles`` has ``vehicle_id``, ``vehicle_class``, ``powertrain``, ``county_code``, ``depot_id``
        (None where empty) as text, ``registered_on`` and ``deregistered_on`` as datetimes (NaT while in
        service), ``is_operating`` as bool, then any extra columns as text; its index is the row number.
        A row with any bad field is left out of ``vehicles`` and has one ``RowIssue`` per bad field.

    Raises
    ------
    RecordError
        When required columns are missing (names the file and the columns).
    """
    _check_missing_columns(df, REQUIRED_COLUMNS, source)
    if isinstance(known_counties, Mapping):
        counties = {str(c): str(n) for c, n in known_counties.items()}
    elif known_counties is not None:
        counties = {str(c): "" for c in known_counties}
    else:
        counties = dict(SHANWEI_COUNTIES)
    today = today or date.today()
    rows = _row_numbers(df)
    check = _Checker(source, rows, ("*", *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    header_cols = [c for c in df.columns if c != _FIELDS_COLUMN]
    skip = _check_field_counts(df, check, len(header_cols))

    vid = _text(df, "vehicle_id")
    empty_id = _mask(vid == "")
    check.flag(empty_id & ~skip, "vehicle_id", vid, "empty; expected a vehicle id, unique in the file")
    spaced = _mask(vid != vid.str.strip()) & ~empty_id
    check.flag(spaced & ~skip, "vehicle_id", vid, "has leading or trailing spaces; expected the id exactly")
    dup = _mask(vid.duplicated(keep=False)) & ~empty_id & ~skip
    if dup.any():
        rows_of: dict[str, list[int]] = {}
        for pos in np.flatnonzero(dup):
            rows_of.setdefault(vid.iat[pos], []).append(int(rows[pos]))

        def dup_reason(pos: int) -> str:
            others = [r for r in rows_of[vid.iat[pos]] if r != rows[pos]]
            shown = ", ".join(map(str, others[:10])) + (" …" if len(others) > 10 else "")
            return f"duplicate id, also on row(s) {shown}; expected each vehicle_id once per file"

        check.flag(dup, "vehicle_id", vid, dup_reason)

    texts = {name: _text(df, name) for name in ("vehicle_class", "powertrain")}
    for name, allowed in (("vehicle_class", VEHICLE_CLASSES), ("powertrain", POWERTRAINS)):
        values = texts[name]
        check.flag(_not_in(values, allowed) & ~skip, name, values,
                   lambda p, v=values, a=allowed: _one_of(a) + _spelling_hint(str(v.iat[p]), a))

    reg_text = _text(df, "registered_on")
    dereg_text = _text(df, "deregistered_on")
    registered = _parse_dates(reg_text, check, "registered_on", skip=skip, required=True, today=today)
    deregistered = _parse_dates(dereg_text, check, "deregistered_on", skip=skip, required=False, today=today)
    before = _mask(deregistered < registered)
    check.flag(before & ~skip, "deregistered_on", dereg_text,
               lambda p: f"before registered_on {reg_text.iat[p]}; expected deregistered_on on or after registered_on")

    county = _text(df, "county_code")
    listed = ", ".join(f"{c} ({n})" if n else c for c, n in counties.items())
    check.flag(_not_in(county, counties) & ~skip, "county_code", county,
               f"unknown county code; expected one of: {listed}")

    operating_text = _text(df, "is_operating")
    lowered = operating_text.str.lower()
    is_true = _mask(lowered.isin(list(_TRUE_WORDS)))
    is_false = _mask(lowered.isin(list(_FALSE_WORDS)))
    check.flag(~is_true & ~is_false & ~skip, "is_operating", operating_text,
               "expected true or false (1/0, yes/no and 是/否 are also read)")

    depot = _text(df, "depot_id")
    if known_depots is not None and "depot_id" in df.columns:
        depots = sorted({str(d) for d in known_depots})
        stray = _mask(depot != "") & _not_in(depot, depots)
        shown = (", ".join(depots[:12]) + (" …" if len(depots) > 12 else "")) if depots else "none are defined"
        check.flag(stray & ~skip, "depot_id", depot,
                   f"unknown depot; expected empty or a depot id of depots.csv ({shown})")

    good = ~check.bad
    index = pd.Index(rows[good], name="row")

    def pick(series: pd.Series) -> pd.Series:
        out = series[good]
        out.index = index
        return out

    out = pd.DataFrame({
        "vehicle_id": pick(vid),
        "vehicle_class": pick(texts["vehicle_class"]),
        "powertrain": pick(texts["powertrain"]),
        "registered_on": pick(registered),
        "deregistered_on": pick(deregistered),
        "county_code": pick(county),
        "is_operating": pd.Series(is_true[good], index=index),
        "depot_id": pick(depot.where(depot != "")),
    })
    for extra in header_cols:
        if extra not in REQUIRED_COLUMNS and extra not in OPTIONAL_COLUMNS and extra not in out.columns:
            out[extra] = pick(_text(df, extra))
    return out, check.issues()


def extra_columns(df: pd.DataFrame) -> list[str]:
    """Columns of a vehicle table beyond the required and optional ones (kept, and reported)."""
    return [c for c in df.columns if c not in REQUIRED_COLUMNS and c not in OPTIONAL_COLUMNS and c != _FIELDS_COLUMN]


def _numbers(text: pd.Series, check: _Checker, field_name: str, *, skip: np.ndarray, required: bool,
             low: float | None = None, high: float | None = None, unit: str = "") -> np.ndarray:
    """Text as floats (NaN where empty or bad); bad ones are flagged."""
    empty = _mask(text == "")
    values = np.array(pd.to_numeric(text.where(~empty), errors="coerce"), dtype=float)
    if required:
        check.flag(empty & ~skip, field_name, text, f"empty; expected a number{unit}")
    bad = ~empty & ~np.isfinite(values)
    check.flag(bad & ~skip, field_name, text, f"not a number; expected a number{unit}")
    if low is not None and high is not None:
        wanted = f" between {low:g} and {high:g}"
    elif low is not None:
        wanted = f" of at least {low:g}"
    else:
        wanted = ""
    with np.errstate(invalid="ignore"):
        out_of_range = np.isfinite(values) & ((values < (low if low is not None else -np.inf)) |
                                              (values > (high if high is not None else np.inf)))
    check.flag(out_of_range & ~skip, field_name, text, f"out of range; expected a number{wanted}{unit}")
    values[bad | out_of_range] = np.nan
    return values


def validate_activity(
    df: pd.DataFrame, *, source: str, known_counties: Iterable[str] | None = None
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Check an activity table (one row per year, county, class, powertrain); return good rows and issues.

    Required: ``year, county_code, vehicle_class, powertrain`` and the measures ``vehicle_km``,
    ``passenger_km``, ``tonne_km``; energy columns (``electricity_kwh, petrol_l, diesel_l, cng_m3,
    lng_kg, h2_kg``) and ``vehicle_years`` are optional (0 when absent). Measures must be numbers ≥ 0.
    """
    required = (*ACTIVITY_KEY, "vehicle_km", "passenger_km", "tonne_km")
    _check_missing_columns(df, required, source)
    counties = [str(c) for c in known_counties] if known_counties is not None else list(SHANWEI_COUNTIES)
    rows = _row_numbers(df)
    check = _Checker(source, rows, ("*", *ACTIVITY_KEY, *ACTIVITY_MEASURES))
    header_cols = [c for c in df.columns if c != _FIELDS_COLUMN]
    skip = _check_field_counts(df, check, len(header_cols))
    year_text = _text(df, "year")
    year = _numbers(year_text, check, "year", skip=skip, required=True, low=1900, high=2100)
    not_whole = np.isfinite(year) & (year != np.round(year))
    check.flag(not_whole & ~skip, "year", year_text, "expected a whole calendar year")
    texts = {name: _text(df, name) for name in ("county_code", "vehicle_class", "powertrain")}
    for name, allowed in (("county_code", counties), ("vehicle_class", VEHICLE_CLASSES), ("powertrain", POWERTRAINS)):
        check.flag(_not_in(texts[name], allowed) & ~skip, name, texts[name], _one_of(allowed))
    measures = {}
    for name in ACTIVITY_MEASURES:
        if name in df.columns:
            measures[name] = _numbers(_text(df, name), check, name, skip=skip, required=True, low=0.0)
        else:
            measures[name] = np.zeros(len(df))
    key = pd.DataFrame({"year": year, **texts})
    dup = _mask(key.duplicated(keep=False)) & ~skip
    check.flag(dup, "year", year_text,
               "duplicate year, county_code, vehicle_class and powertrain; expected one row each")
    good = ~check.bad
    out = key[good].copy()
    out["year"] = out["year"].astype(int)
    for name, values in measures.items():
        out[name] = values[good]
    out.index = pd.Index(rows[good], name="row")
    return out, check.issues()


def validate_depots(
    df: pd.DataFrame, *, source: str, known_counties: Iterable[str] | None = None
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Check a depots table; return good rows and issues.

    Required: ``depot_id, name, fleet_kind (bus|taxi), lon, lat (WGS84 degrees), county_code``; optional
    ``operator``, ``grid_capacity_kw`` (empty = unknown), ``location_approximate`` (true/false, default
    true: a depot whose place is not stated is treated as approximate).
    """
    _check_missing_columns(df, DEPOT_REQUIRED, source)
    counties = [str(c) for c in known_counties] if known_counties is not None else list(SHANWEI_COUNTIES)
    rows = _row_numbers(df)
    check = _Checker(source, rows, ("*", *DEPOT_REQUIRED, "grid_capacity_kw", "location_approximate"))
    header_cols = [c for c in df.columns if c != _FIELDS_COLUMN]
    skip = _check_field_counts(df, check, len(header_cols))
    ids = _text(df, "depot_id")
    check.flag(_mask(ids == "") & ~skip, "depot_id", ids, "empty; expected a depot id")
    check.flag(_mask(ids.duplicated(keep=False)) & _mask(ids != "") & ~skip, "depot_id", ids,
               "duplicate depot id; expected each depot once")
    kind = _text(df, "fleet_kind")
    check.flag(_not_in(kind, ("bus", "taxi")) & ~skip, "fleet_kind", kind, _one_of(("bus", "taxi")))
    degrees = " (WGS84 degrees)"
    lon = _numbers(_text(df, "lon"), check, "lon", skip=skip, required=True, low=-180, high=180, unit=degrees)
    lat = _numbers(_text(df, "lat"), check, "lat", skip=skip, required=True, low=-90, high=90, unit=degrees)
    county = _text(df, "county_code")
    check.flag(_not_in(county, counties) & ~skip, "county_code", county, _one_of(counties))
    capacity = _numbers(_text(df, "grid_capacity_kw"), check, "grid_capacity_kw", skip=skip, required=False,
                        low=0.0, unit=" in kW (empty when unknown)")
    approx_text = _text(df, "location_approximate")
    approx_l = approx_text.str.lower()
    check.flag(_not_in(approx_l, (*_TRUE_WORDS, *_FALSE_WORDS, "")) & ~skip, "location_approximate", approx_text,
               "expected true or false")
    good = ~check.bad
    out = pd.DataFrame(
        {
            "depot_id": ids[good].to_numpy(dtype=object),
            "name": _text(df, "name")[good].to_numpy(dtype=object),
            "operator": _text(df, "operator")[good].to_numpy(dtype=object),
            "fleet_kind": kind[good].to_numpy(dtype=object),
            "county_code": county[good].to_numpy(dtype=object),
            "lon": lon[good],
            "lat": lat[good],
            "grid_capacity_kw": [None if math.isnan(v) else float(v) for v in capacity[good]],
            "location_approximate": ~_mask(approx_l.isin(list(_FALSE_WORDS)))[good],
        },
        index=pd.Index(rows[good], name="row"),
    )
    for col in ("depot_id", "name", "operator", "fleet_kind", "county_code"):
        out[col] = out[col].astype("str")
    return out, check.issues()


# ----------------------------------------------------------------------------------- loading a directory


def vehicle_files(fleet_dir: Path | str) -> list[Path]:
    """The vehicle files of a records directory: ``vehicles*.csv``, ``.csv.gz`` or ``.parquet``, sorted."""
    fleet_dir = Path(fleet_dir)
    patterns = ("vehicles*.csv", "vehicles*.csv.gz", "vehicles*.parquet")
    return sorted({p for pattern in patterns for p in fleet_dir.glob(pattern) if p.is_file()})


def load_counties(fleet_dir: Path | str) -> dict[str, str]:
    """County codes and names from ``counties.csv`` (``county_code, name``), else Shanwei's four."""
    path = Path(fleet_dir) / "counties.csv"
    if not path.exists():
        return dict(SHANWEI_COUNTIES)
    frame = read_table(path, what="a counties table (county_code, name)").frame
    _check_missing_columns(frame, ("county_code", "name"), str(path))
    codes = _text(frame, "county_code").tolist()
    bad = [int(r) for r, c in zip(_row_numbers(frame), codes, strict=True) if not (len(c) == 6 and c.isdigit())]
    if bad:
        raise RecordError(f"{path}, row(s) {bad}, field county_code: expected a 6-digit county code")
    return dict(zip(codes, _text(frame, "name").tolist(), strict=True))


def load_emission_factors(path: Path | str, *, grid_kg_co2_per_kwh: float | None = None) -> pd.DataFrame:
    """Emission factors per energy carrier: ``carrier, activity_column, unit, kg_co2_per_unit, source``.

    ``grid_kg_co2_per_kwh`` replaces the electricity factor (the grid factor is a choice: regional or
    national average, year). Raises ``RecordError`` naming the row of a bad factor.
    """
    path = Path(path)
    frame = read_table(path, what="an emission factors table").frame
    required = ("carrier", "activity_column", "unit", "kg_co2_per_unit", "source")
    _check_missing_columns(frame, required, str(path))
    rows = _row_numbers(frame)
    out = pd.DataFrame({c: _text(frame, c).to_numpy(dtype=object) for c in frame.columns if c != _FIELDS_COLUMN})
    values = pd.to_numeric(pd.Series(out["kg_co2_per_unit"]), errors="coerce")
    for pos, (col, value) in enumerate(zip(out["activity_column"], values, strict=True)):
        if col not in ENERGY_COLUMNS:
            raise RecordError(f"{path}, row {rows[pos]}, field activity_column: {col!r}; {_one_of(ENERGY_COLUMNS)}")
        if not (np.isfinite(value) and value >= 0):
            raise RecordError(f"{path}, row {rows[pos]}, field kg_co2_per_unit: {out['kg_co2_per_unit'][pos]!r}; "
                              "expected a number ≥ 0 (kg CO2 per unit)")
    if pd.Series(out["activity_column"]).duplicated().any():
        raise RecordError(f"{path}: an activity_column appears twice; expected one factor per energy carrier")
    out["kg_co2_per_unit"] = values.to_numpy(dtype=float)
    if grid_kg_co2_per_kwh is not None:
        if not (math.isfinite(grid_kg_co2_per_kwh) and grid_kg_co2_per_kwh >= 0):
            raise RecordError(f"grid factor {grid_kg_co2_per_kwh!r}: expected kg CO2 per kWh ≥ 0")
        is_grid = out["activity_column"] == "electricity_kwh"
        out.loc[is_grid, "kg_co2_per_unit"] = float(grid_kg_co2_per_kwh)
        out.loc[is_grid, "source"] = f"set by the user: {grid_kg_co2_per_kwh:g} kg CO2/kWh"
    return out.reset_index(drop=True)


def with_co2(activity: pd.DataFrame, emission_factors: pd.DataFrame) -> pd.DataFrame:
    """The activity table with ``co2_kg``: each carrier's energy times its factor, summed.

    Raises ``RecordError`` when a carrier is used but has no factor.
    """
    factors = dict(zip(emission_factors["activity_column"], emission_factors["kg_co2_per_unit"], strict=True))
    out = activity.copy()
    co2 = np.zeros(len(out))
    for col in ENERGY_COLUMNS:
        if col not in out.columns:
            continue
        used = out[col].to_numpy(dtype=float)
        if col not in factors:
            if (used > 0).any():
                raise RecordError(f"no emission factor for {col}, which the activity table uses; "
                                  "add it to emission_factors.csv")
            continue
        co2 += used * factors[col]
    out["co2_kg"] = co2
    return out


def load_records(
    fleet_dir: Path | str = config.FLEET_DIR,
    *,
    grid_kg_co2_per_kwh: float | None = None,
    today: date | None = None,
) -> FleetRecords:
    """Read and check a fleet records directory.

    The directory holds ``vehicles*.csv|.csv.gz|.parquet`` (required), ``activity.csv``,
    ``depots.csv``, ``emission_factors.csv`` (required with activity) and ``counties.csv`` (optional).
    Bad rows are quarantined into ``FleetRecords.quarantine``; a vehicle id found in two files is kept
    from the first (sorted by name) and quarantined in the later one. Activity gets ``co2_kg``.
    """
    fleet_dir = Path(fleet_dir)
    what = "a fleet records directory with vehicles.csv, vehicles.csv.gz or vehicles.parquet"
    if not fleet_dir.is_dir():
        raise InputFileError(fleet_dir, what, detail="no such directory")
    files = vehicle_files(fleet_dir)
    if not files:
        raise InputFileError(fleet_dir, what, detail="no vehicle file found")
    counties = load_counties(fleet_dir)
    depots, issues = load_depots(fleet_dir, known_counties=counties)
    known_depots = depots["depot_id"].tolist() if (fleet_dir / "depots.csv").exists() else None
    frames: list[pd.DataFrame] = []
    for path in files:
        good, found = validate_vehicles(read_vehicle_file(path), source=str(path), known_counties=counties,
                                        known_depots=known_depots, today=today)
        issues.extend(found)
        frames.append(good.assign(_file=str(path), _row=good.index.to_numpy()))
    vehicles = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    again = _mask(vehicles["vehicle_id"].duplicated(keep="first")) if len(frames) > 1 else np.zeros(len(vehicles), bool)
    if again.any():
        first = vehicles[~again].set_index("vehicle_id")
        for vid, file_name, row in vehicles.loc[again, ["vehicle_id", "_file", "_row"]].itertuples(index=False):
            issues.append(RowIssue(file_name, int(row), "vehicle_id", vid,
                                   f"duplicate id, already in {first.at[vid, '_file']} row {first.at[vid, '_row']}; "
                                   "expected each vehicle once"))
        vehicles = vehicles[~again].reset_index(drop=True)
    vehicles = vehicles.drop(columns=["_file", "_row"])
    activity, factors, more = load_activity(fleet_dir, known_counties=counties, grid_kg_co2_per_kwh=grid_kg_co2_per_kwh)
    issues.extend(more)
    return FleetRecords(vehicles=vehicles, activity=activity, depots=depots, quarantine=tuple(issues),
                        emission_factors=factors, counties=counties, synthetic=dataset_is_synthetic(fleet_dir))


#: Optional file of a records directory describing the data set (``synthetic = true|false``, ``description``).
DATASET_FILE = "dataset.toml"


def dataset_is_synthetic(fleet_dir: Path | str) -> bool | None:
    """What ``dataset.toml`` of a records directory says about the data being synthetic (None: no file)."""
    path = Path(fleet_dir) / DATASET_FILE
    if not path.is_file():
        return None
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, "TOML with `synthetic = true` or `false`", detail=str(exc)) from None
    value = meta.get("synthetic")
    if not isinstance(value, bool):
        raise InputFileError(path, "`synthetic = true` or `synthetic = false`", detail=f"got {value!r}")
    return value


def load_depots(
    fleet_dir: Path | str, *, known_counties: Iterable[str] | None = None
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """The depots of a records directory (empty table when there is no ``depots.csv``) and their issues."""
    path = Path(fleet_dir) / "depots.csv"
    if not path.exists():
        return _empty_depots(), []
    depots, issues = validate_depots(read_table(path, what="a depots table").frame, source=str(path),
                                     known_counties=known_counties)
    return depots.reset_index(drop=True), issues


def load_activity(
    fleet_dir: Path | str, *, known_counties: Iterable[str] | None = None, grid_kg_co2_per_kwh: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[RowIssue]]:
    """Activity (with ``co2_kg``), emission factors and the activity's row issues of a records directory."""
    fleet_dir = Path(fleet_dir)
    factors_path = fleet_dir / "emission_factors.csv"
    factors = None
    if factors_path.exists():
        factors = load_emission_factors(factors_path, grid_kg_co2_per_kwh=grid_kg_co2_per_kwh)
    path = fleet_dir / "activity.csv"
    if not path.exists():
        return _empty_activity(), factors, []
    activity, issues = validate_activity(read_table(path, what="an activity table").frame, source=str(path),
                                         known_counties=known_counties)
    if factors is None:
        raise InputFileError(factors_path, "emission factors for the activity table (carrier, activity_column, unit, "
                                           "kg_co2_per_unit, source)", detail="no such file")
    return with_co2(activity.reset_index(drop=True), factors), factors, issues


def _empty_activity() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=str) for c in ACTIVITY_KEY[1:]})
    frame.insert(0, "year", pd.Series([], dtype=int))
    for name in (*ACTIVITY_MEASURES, "co2_kg"):
        frame[name] = pd.Series([], dtype=float)
    return frame


def _empty_depots() -> pd.DataFrame:
    return pd.DataFrame({"depot_id": pd.Series([], dtype=str), "name": pd.Series([], dtype=str),
                         "operator": pd.Series([], dtype=str), "fleet_kind": pd.Series([], dtype=str),
                         "county_code": pd.Series([], dtype=str), "lon": pd.Series([], dtype=float),
                         "lat": pd.Series([], dtype=float), "grid_capacity_kw": pd.Series([], dtype=object),
                         "location_approximate": pd.Series([], dtype=bool)})


# ------------------------------------------------------------------------------------------ indicators


def _year_end(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=12, day=31)


def in_stock(vehicles: pd.DataFrame, year: int) -> np.ndarray:
    """Mask of the stock on 31 Dec ``year``: registered on or before, not deregistered by then."""
    end = _year_end(year)
    registered = (vehicles["registered_on"] <= end).to_numpy(dtype=bool)
    gone = (vehicles["deregistered_on"] <= end).to_numpy(dtype=bool)  # NaT compares False: still in service
    return registered & ~gone


def added_in(vehicles: pd.DataFrame, year: int) -> np.ndarray:
    """Mask of the additions of ``year``: vehicles registered from 1 Jan to 31 Dec."""
    reg = vehicles["registered_on"]
    return ((reg >= pd.Timestamp(year=int(year), month=1, day=1)) & (reg <= _year_end(year))).to_numpy(dtype=bool)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _shares_by_county(vehicles: pd.DataFrame, mask: np.ndarray, counties: list[str]) -> dict[str, float | None]:
    chosen = vehicles[mask]
    ne = chosen["powertrain"].isin(NE_POWERTRAINS)
    total = chosen.groupby("county_code").size()
    part = chosen[ne].groupby("county_code").size()
    return {c: _share(int(part.get(c, 0)), int(total.get(c, 0))) for c in counties}


def _vehicle_span(vehicles: pd.DataFrame) -> tuple[int, int] | None:
    """First and last year of the vehicle records.

    A registry extract lists the vehicles in service at some time since it starts; those retired
    earlier are absent, so stocks before the first recorded deregistration may miss vehicles. The span
    therefore starts at the later of the first registration and the first deregistration year.
    """
    if vehicles.empty:
        return None
    reg = vehicles["registered_on"]
    dereg = vehicles["deregistered_on"].dropna()
    first = int(reg.min().year)
    last = int(reg.max().year)
    if not dereg.empty:
        first = max(first, int(dereg.min().year))
        last = max(last, int(dereg.max().year))
    return first, last


def record_years(records: FleetRecords) -> list[int]:
    """Calendar years the records span, sorted (see ``_vehicle_span`` for where they start)."""
    span = _vehicle_span(records.vehicles)
    act_years = sorted({int(y) for y in records.activity["year"]}) if not records.activity.empty else []
    if span is None:
        return act_years
    first, last = span
    if act_years:
        last = max(last, act_years[-1])
    return list(range(first, last + 1))


def _co2_frame(activity: pd.DataFrame) -> pd.DataFrame:
    if "co2_kg" in activity.columns or activity.empty:
        return activity
    factors = load_emission_factors(config.FLEET_DIR / "emission_factors.csv")
    return with_co2(activity, factors)


def _intensity(activity: pd.DataFrame, year: int, county: str | None, pkm_to_tkm: float) -> dict[str, float | None]:
    rows = activity[activity["year"] == year] if not activity.empty else activity
    if county is not None and not rows.empty:
        rows = rows[rows["county_code"] == county]
    if rows.empty:
        return {"co2_kg": None, "passenger_km": None, "tonne_km": None, "converted_tkm": None, "intensity": None}
    co2 = float(rows["co2_kg"].sum())
    pkm = float(rows["passenger_km"].sum())
    tkm = float(rows["tonne_km"].sum())
    converted = tkm + pkm * pkm_to_tkm
    return {"co2_kg": co2, "passenger_km": pkm, "tonne_km": tkm, "converted_tkm": converted,
            "intensity": co2 / converted if converted > 0 else None}


def indicators(
    vehicles: pd.DataFrame,
    activity: pd.DataFrame,
    *,
    year: int,
    county: str | None = None,
    pkm_to_tkm: float = PASSENGER_KM_TO_TONNE_KM,
) -> dict[str, Any]:
    """The plan's fleet indicators for one year, city-wide or for one county (JSON-ready).

    Parameters
    ----------
    vehicles, activity
        Validated tables (``FleetRecords.vehicles`` and ``.activity``; activity with ``co2_kg`` or
        energy columns, which are then priced with the shipped emission factors).
    year
        Calendar year: the stock is taken on 31 Dec, the additions over the year.
    county
        6-digit county code; every figure (and the by-county dicts) is then restricted to it.
    pkm_to_tkm
        Tonne-km per passenger-km in converted turnover (0.1 for road, national statistics convention).

    Returns
    -------
    dict
        Shares are fractions 0-1 and None when nothing is counted. Keys: ``year, county,
        ne_bus_share, buses, ne_buses, ne_taxi_share, taxis, ne_taxis, ne_bus_share_by_county,
        ne_taxi_share_by_county, ne_or_clean_new_vehicle_share, new_vehicles,
        new_ne_or_clean_vehicles, ev_new_passenger_car_share, new_passenger_cars,
        new_ev_passenger_cars, operating_co2_t, converted_turnover_tkm,
        operating_co2_per_converted_turnover`` (kg CO2 per converted t·km),
        ``operating_co2_per_converted_turnover_2020, operating_co2_intensity_change_vs_2020`` (fraction,
        -0.08 = 8 % lower), plus ``vehicles_in_stock, ev_passenger_car_stock_share, passenger_km,
        tonne_km, pkm_to_tkm, year_in_records``.

    Raises
    ------
    RecordError
        When ``county`` has no vehicle in the records (the message lists the counties there are).
    """
    year = int(year)
    all_counties = sorted(str(c) for c in vehicles["county_code"].unique())
    if county is not None:
        if county not in all_counties:
            raise RecordError(f"county {county!r} has no vehicles in the records; "
                              f"counties there: {', '.join(all_counties)}")
        vehicles = vehicles[vehicles["county_code"] == county]
        counties = [county]
    else:
        counties = all_counties
    stock = in_stock(vehicles, year)
    added = added_in(vehicles, year)
    vclass = vehicles["vehicle_class"]
    ne = vehicles["powertrain"].isin(NE_POWERTRAINS).to_numpy()
    clean = vehicles["powertrain"].isin(CLEAN_POWERTRAINS).to_numpy()
    bus = (vclass == "bus").to_numpy()
    taxi = (vclass == "taxi").to_numpy()
    car = (vclass == "passenger_car").to_numpy()

    buses, ne_buses = int((stock & bus).sum()), int((stock & bus & ne).sum())
    taxis, ne_taxis = int((stock & taxi).sum()), int((stock & taxi & ne).sum())
    new_total, new_ne_clean = int(added.sum()), int((added & (ne | clean)).sum())
    new_cars, new_ev_cars = int((added & car).sum()), int((added & car & ne).sum())
    cars, ev_cars = int((stock & car).sum()), int((stock & car & ne).sum())

    activity = _co2_frame(activity)
    now = _intensity(activity, year, county, pkm_to_tkm)
    base = _intensity(activity, BASE_YEAR, county, pkm_to_tkm)
    change = None
    if now["intensity"] is not None and base["intensity"]:
        change = now["intensity"] / base["intensity"] - 1.0
    span = _vehicle_span(vehicles)
    act_years = set(int(y) for y in activity["year"]) if not activity.empty else set()
    in_records = bool(span and span[0] <= year <= span[1]) or year in act_years
    return {
        "year": year,
        "county": county,
        "vehicles_in_stock": int(stock.sum()),
        "ne_bus_share": _share(ne_buses, buses),
        "buses": buses,
        "ne_buses": ne_buses,
        "ne_taxi_share": _share(ne_taxis, taxis),
        "taxis": taxis,
        "ne_taxis": ne_taxis,
        "ne_bus_share_by_county": _shares_by_county(vehicles, stock & bus, counties),
        "ne_taxi_share_by_county": _shares_by_county(vehicles, stock & taxi, counties),
        "ne_or_clean_new_vehicle_share": _share(new_ne_clean, new_total),
        "new_vehicles": new_total,
        "new_ne_or_clean_vehicles": new_ne_clean,
        "ev_new_passenger_car_share": _share(new_ev_cars, new_cars),
        "new_passenger_cars": new_cars,
        "new_ev_passenger_cars": new_ev_cars,
        "ev_passenger_car_stock_share": _share(ev_cars, cars),
        "operating_co2_t": None if now["co2_kg"] is None else now["co2_kg"] / 1000.0,
        "passenger_km": now["passenger_km"],
        "tonne_km": now["tonne_km"],
        "pkm_to_tkm": float(pkm_to_tkm),
        "converted_turnover_tkm": now["converted_tkm"],
        "operating_co2_per_converted_turnover": now["intensity"],
        "operating_co2_per_converted_turnover_2020": base["intensity"],
        "operating_co2_intensity_change_vs_2020": change,
        "year_in_records": in_records,
    }


def indicator_series(
    vehicles: pd.DataFrame, activity: pd.DataFrame, *, years: Iterable[int], county: str | None = None,
    pkm_to_tkm: float = PASSENGER_KM_TO_TONNE_KM,
) -> pd.DataFrame:
    """One row per year with the scalar indicators of ``indicators`` (no by-county dicts)."""
    rows = []
    activity = _co2_frame(activity)
    for year in years:
        result = indicators(vehicles, activity, year=year, county=county, pkm_to_tkm=pkm_to_tkm)
        rows.append({k: v for k, v in result.items() if not isinstance(v, dict)})
    return pd.DataFrame(rows)


def ne_bus_share_by_year(vehicles: pd.DataFrame, *, years: Iterable[int] | None = None) -> dict[int, float | None]:
    """NE share of the bus stock on 31 Dec of each year (default: the years the vehicle records span)."""
    if years is None:
        span = _vehicle_span(vehicles)
        years = range(span[0], span[1] + 1) if span else []
    bus = (vehicles["vehicle_class"] == "bus").to_numpy()
    ne = vehicles["powertrain"].isin(NE_POWERTRAINS).to_numpy()
    out: dict[int, float | None] = {}
    for year in years:
        stock = in_stock(vehicles, year) & bus
        out[int(year)] = _share(int((stock & ne).sum()), int(stock.sum()))
    return out


# ------------------------------------------------------------------------------------------ projections


def ev_car_share_projection(records: FleetRecords, *, years: Iterable[int]) -> dict[int, float]:
    """EV (NE) share of the passenger-car stock on 31 Dec of each stage year, as a fraction.

    Years inside the records are observed. Later years come from a stock-flow projection: the NE share
    of new passenger cars follows a logistic trend fitted (weighted least squares on the logit) to the
    record years; yearly additions stay at the mean of the last three years; NE and other cars retire
    at their observed rates of the last three years.
    """
    vehicles = records.vehicles
    cars = vehicles[vehicles["vehicle_class"] == "passenger_car"]
    if cars.empty:
        raise RecordError("no passenger cars in the fleet records: cannot project the EV share of the car stock")
    span = record_years(records)
    last = span[-1]
    first = span[0]
    ne = cars["powertrain"].isin(NE_POWERTRAINS).to_numpy()

    def stock_counts(year: int) -> tuple[int, int]:
        s = in_stock(cars, year)
        return int((s & ne).sum()), int(s.sum())

    years = [int(y) for y in years]
    out: dict[int, float] = {}
    for year in years:
        if year <= last:
            ev, total = stock_counts(year)
            out[year] = ev / total if total else 0.0
    later = [y for y in years if y > last]
    if not later:
        return out

    hist = list(range(first, last + 1))
    additions = np.array([added_in(cars, y).sum() for y in hist], dtype=float)
    ne_additions = np.array([(added_in(cars, y) & ne).sum() for y in hist], dtype=float)
    share_trend = _logistic_trend(np.array(hist, dtype=float), ne_additions, additions)
    recent = hist[-3:]
    volume = float(additions[-len(recent):].mean())
    rate_ne, rate_other = _retirement_rates(cars, ne, recent)
    ev, total = stock_counts(last)
    other = float(total - ev)
    ev_f = float(ev)
    for year in range(last + 1, max(later) + 1):
        s = share_trend(year)
        ev_f = ev_f * (1 - rate_ne) + volume * s
        other = other * (1 - rate_other) + volume * (1 - s)
        if year in later:
            out[year] = ev_f / (ev_f + other) if ev_f + other > 0 else 0.0
    return dict(sorted(out.items()))


def _logistic_trend(years: np.ndarray, part: np.ndarray, whole: np.ndarray) -> Any:
    """A function year -> share from a logistic fit of part/whole (weighted by whole)."""
    use = whole > 0
    if use.sum() == 0:
        return lambda year: 0.0
    x, n = years[use], whole[use]
    share = np.clip(part[use] / n, 0.5 / n, 1 - 0.5 / n)
    logit = np.log(share / (1 - share))
    if use.sum() == 1:
        a, b = 0.0, float(logit[0])
    else:
        a, b = np.polyfit(x - x.mean(), logit, 1, w=np.sqrt(n))
    centre = x.mean()
    return lambda year: float(1.0 / (1.0 + math.exp(-(a * (year - centre) + b))))


def _retirement_rates(cars: pd.DataFrame, ne: np.ndarray, years: list[int]) -> tuple[float, float]:
    """Yearly retirement rates (retired in year / stock at the start of it) of NE and other cars."""
    rates = []
    for group in (ne, ~ne):
        sub = cars[group]
        retired = stocked = 0
        for year in years:
            start = in_stock(sub, year - 1)
            stocked += int(start.sum())
            dereg = sub["deregistered_on"]
            retired += int((start & (dereg <= _year_end(year)).to_numpy(dtype=bool)).sum())
        rates.append(retired / stocked if stocked else 0.0)
    return rates[0], rates[1]


# ------------------------------------------------------------------------------------------ depots


def depot_energy_demand(records: FleetRecords, *, year: int) -> pd.DataFrame:
    """Plug-in vehicles and their daily energy per depot on 31 Dec ``year``.

    Daily kWh per vehicle = kWh/km × daily km of its class, powertrain and county in the activity table
    of ``year`` (or the nearest earlier year; the earliest if none is earlier): kWh/km =
    electricity_kwh / vehicle_km and daily km = vehicle_km / vehicle_years / 365. Where the activity has
    no such row, ``DEFAULT_KWH_PER_KM`` × ``DEFAULT_DAILY_KM`` of the class is used (PHEV: 60 % of it).

    Returns
    -------
    pandas.DataFrame
        ``depot_id, name, operator, fleet_kind, county_code, lon, lat, vehicles, daily_kwh,
        kwh_per_km, daily_km, grid_capacity_kw`` (None when unknown), ``location_approximate``,
        ``activity_year`` — the dict records that ``siting.plan`` takes as depots.
    """
    columns = ["depot_id", "name", "operator", "fleet_kind", "county_code", "lon", "lat", "vehicles", "daily_kwh",
               "kwh_per_km", "daily_km", "grid_capacity_kw", "location_approximate", "activity_year"]
    depots = records.depots
    if depots.empty:
        return pd.DataFrame(columns=columns)
    vehicles = records.vehicles
    plug_in = vehicles["powertrain"].isin(PLUG_IN_POWERTRAINS).to_numpy()
    has_depot = vehicles["depot_id"].notna().to_numpy()
    chosen = vehicles[in_stock(vehicles, year) & plug_in & has_depot]
    groups = chosen.groupby(["depot_id", "vehicle_class", "powertrain", "county_code"]).size()

    activity = records.activity
    act_year = None
    lookup: dict[tuple[str, str, str], tuple[float, float]] = {}
    if not activity.empty:
        act_years = sorted({int(y) for y in activity["year"]})
        earlier = [y for y in act_years if y <= year]
        act_year = earlier[-1] if earlier else act_years[0]
        rows = activity[(activity["year"] == act_year) & (activity["vehicle_km"] > 0) & (activity["vehicle_years"] > 0)]
        for r in rows.itertuples(index=False):
            lookup[(r.vehicle_class, r.powertrain, r.county_code)] = (
                r.electricity_kwh / r.vehicle_km, r.vehicle_km / r.vehicle_years / 365.0)

    per_depot: dict[str, list[float]] = {}
    for (depot_id, vclass, powertrain, county), count in groups.items():
        kwh_per_km, daily_km = lookup.get((vclass, powertrain, county), (math.nan, math.nan))
        if math.isnan(kwh_per_km):
            kwh_per_km = DEFAULT_KWH_PER_KM.get(vclass, 0.2) * (0.6 if powertrain == "PHEV" else 1.0)
            daily_km = DEFAULT_DAILY_KM.get(vclass, 100.0)
        acc = per_depot.setdefault(depot_id, [0.0, 0.0, 0.0])
        acc[0] += count
        acc[1] += count * kwh_per_km * daily_km
        acc[2] += count * daily_km
    out = []
    for d in depots.itertuples(index=False):
        n, kwh, km = per_depot.get(d.depot_id, [0.0, 0.0, 0.0])
        out.append({
            "depot_id": d.depot_id, "name": d.name, "operator": d.operator, "fleet_kind": d.fleet_kind,
            "county_code": d.county_code, "lon": float(d.lon), "lat": float(d.lat), "vehicles": int(n),
            "daily_kwh": float(kwh), "kwh_per_km": kwh / km if km else None, "daily_km": km / n if n else None,
            "grid_capacity_kw": d.grid_capacity_kw, "location_approximate": bool(d.location_approximate),
            "activity_year": act_year,
        })
    frame = pd.DataFrame(out, columns=columns)
    frame["grid_capacity_kw"] = frame["grid_capacity_kw"].astype(object).where(frame["grid_capacity_kw"].notna(), None)
    return frame
