"""Row checks of the vehicle, activity and depot tables: good rows typed, bad rows quarantined.

A bad field becomes a ``RowIssue`` (file, row, field, value, reason) and its row is left out; the good
rows are kept. Nothing is dropped or repaired silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from planner.errors import RecordError
from planner.fleet.reading import FIELDS_COLUMN, as_text
from planner.fleet.schema import (
    ACTIVITY_KEY,
    ACTIVITY_MEASURES,
    DEPOT_REQUIRED,
    FALSE_WORDS,
    OPTIONAL_COLUMNS,
    POWERTRAINS,
    REQUIRED_COLUMNS,
    TRUE_WORDS,
    VEHICLE_CLASSES,
    RowIssue,
)

_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_MAX_VALUE_CHARS = 200


#: A file in which at least this many rows, and more than ``REFUSE_BAD_SHARE`` of all rows, fail their
#: checks is refused whole (nothing stored, the reason and the first issues named) instead of quarantining
#: each row: such a file is broken as a whole (a wrong export, one id repeated a million times), and
#: listing a million quarantined rows would only bury the cause. Smaller or mostly good files keep
#: row-by-row quarantine.
REFUSE_MIN_BAD_ROWS = 10_000
REFUSE_BAD_SHARE = 0.5


class _Checker:
    """Collects row issues of one table, positionally; texts are built only when the issues are read.

    Work is linear in the rows, and a refused file costs no per-row text at all.
    """

    def __init__(self, source: str, rows: np.ndarray, order: Iterable[str]) -> None:
        self.source = source
        self.rows = rows
        self.bad = np.zeros(len(rows), dtype=bool)
        #: Per flag call: positions, field order, field name, values, reason (text or function of position).
        self.found: list[tuple[np.ndarray, int, str, pd.Series, str | Callable[[int], str]]] = []
        self.order = {name: i for i, name in enumerate(order)}

    def flag(self, mask: np.ndarray, field_name: str, values: pd.Series, reason: str | Callable[[int], str]) -> None:
        """Quarantine the rows in ``mask`` for ``field_name``; ``reason`` is text or a function of position."""
        mask = np.asarray(mask, dtype=bool)
        positions = np.flatnonzero(mask)
        if positions.size:
            self.found.append((positions, self.order.get(field_name, len(self.order)), field_name, values, reason))
        self.bad |= mask

    def issues(self, limit: int | None = None) -> list[RowIssue]:
        """The issues by row, then by the field's place in the header (the first ``limit`` of them)."""
        if not self.found:
            return []
        pos = np.concatenate([f[0] for f in self.found])
        rank = np.concatenate([np.full(f[0].size, f[1]) for f in self.found])
        call = np.concatenate([np.full(f[0].size, i) for i, f in enumerate(self.found)])
        within = np.concatenate([np.arange(f[0].size) for f in self.found])
        order = np.lexsort((within, call, rank, pos))[:limit]
        shown: dict[int, np.ndarray] = {}
        out = []
        for p, c, j in zip(pos[order].tolist(), call[order].tolist(), within[order].tolist(), strict=True):
            positions, _, name, values, reason = self.found[c]
            if c not in shown:
                shown[c] = values.to_numpy(dtype=object)
            value = str(shown[c][p])[:_MAX_VALUE_CHARS]
            out.append(RowIssue(self.source, int(self.rows[p]), name, value,
                                reason if isinstance(reason, str) else reason(p)))
        return out

    def refuse_if_broken(self) -> None:
        """Raise ``RecordError`` when the file fails as a whole (``REFUSE_MIN_BAD_ROWS``, ``REFUSE_BAD_SHARE``)."""
        bad, total = int(self.bad.sum()), len(self.bad)
        if bad >= REFUSE_MIN_BAD_ROWS and bad > REFUSE_BAD_SHARE * total:
            examples = "; ".join(str(i) for i in self.issues(limit=3))
            raise RecordError(
                f"{self.source}: {bad:,} of {total:,} rows fail their checks, e.g. {examples}. A file this broken "
                "is refused whole and nothing was stored: fix the file (or the export) and load it again"
            )


def row_numbers(df: pd.DataFrame) -> np.ndarray:
    if df.index.name == "row" and pd.api.types.is_integer_dtype(df.index):
        return df.index.to_numpy(dtype=int)
    return np.arange(2, len(df) + 2)


def text_column(df: pd.DataFrame, column: str) -> pd.Series:
    """A column as text (``""`` where missing or absent), indexed 0..n-1."""
    if column not in df.columns:
        return pd.Series([""] * len(df), dtype="str")
    return as_text(df[column])


def as_mask(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=bool, na_value=False)


def one_of(allowed: Iterable[str]) -> str:
    return "expected one of: " + ", ".join(allowed)


def _spelling_hint(value: str, allowed: Iterable[str]) -> str:
    folded = {a.lower(): a for a in allowed}
    match = folded.get(value.strip().lower())
    return f" (did you mean {match!r}? values are case- and space-sensitive)" if match and match != value else ""


def check_missing_columns(df: pd.DataFrame, required: Iterable[str], source: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = [repr(c) if str(c) != str(c).strip() else str(c) for c in df.columns if c != FIELDS_COLUMN]
        hint = ""
        if len(found) == 1 and any(sep in found[0] for sep in (";", "\t", "|")):
            hint = "; the header looks split by another delimiter: expected commas"
        raise RecordError(
            f"{source}: missing required column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(required)}; found {', '.join(found) or 'no columns'}{hint}"
        )


def _check_field_counts(df: pd.DataFrame, check: _Checker, ncol: int) -> np.ndarray:
    if FIELDS_COLUMN not in df.columns:
        return np.zeros(len(df), dtype=bool)
    counts = df[FIELDS_COLUMN].to_numpy(dtype=int)
    wrong = counts != ncol
    check.flag(wrong, "*", pd.Series(counts.astype(str)),
               lambda p: f"expected {ncol} comma-separated fields (as in the header), found {counts[p]}")
    return wrong


def _parse_dates(
    text: pd.Series, check: _Checker, field_name: str, *, skip: np.ndarray, required: bool, today: date
) -> pd.Series:
    """ISO dates as datetimes (NaT where empty or bad); bad ones are flagged."""
    empty = as_mask(text == "")
    shaped = as_mask(text.str.fullmatch(_ISO_DATE))
    parsed = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")
    ok = as_mask(parsed.notna())
    what = "the registration date" if field_name == "registered_on" else "the deregistration date"
    if required:
        check.flag(empty & ~skip, field_name, text, f"empty; expected {what} as YYYY-MM-DD")
    check.flag(~empty & ~shaped & ~skip, field_name, text, "expected an ISO date YYYY-MM-DD")
    check.flag(shaped & ~ok & ~skip, field_name, text, "not a calendar date; expected an ISO date YYYY-MM-DD")
    too_old = ok & as_mask(parsed < pd.Timestamp(1900, 1, 1))
    check.flag(too_old & ~skip, field_name, text, f"before 1900; expected {what}")
    future = ok & as_mask(parsed > pd.Timestamp(today))
    check.flag(future & ~skip, field_name, text, f"after today ({today.isoformat()}); expected a date that has passed")
    return parsed.where(ok & ~too_old & ~future)


def _not_in(values: pd.Series, allowed: Iterable[str]) -> np.ndarray:
    return ~as_mask(values.isin(list(allowed)))


def validate_vehicles(
    df: pd.DataFrame,
    *,
    source: str,
    known_counties: Mapping[str, str] | Iterable[str],
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
        Valid county codes (a records directory's ``counties.csv``); a mapping's values (names) are used
        in messages.
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
    check_missing_columns(df, REQUIRED_COLUMNS, source)
    if isinstance(known_counties, Mapping):
        counties = {str(c): str(n) for c, n in known_counties.items()}
    else:
        counties = {str(c): "" for c in known_counties}
    today = today or date.today()
    rows = row_numbers(df)
    check = _Checker(source, rows, ("*", *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    header_cols = [c for c in df.columns if c != FIELDS_COLUMN]
    skip = _check_field_counts(df, check, len(header_cols))

    vid = text_column(df, "vehicle_id")
    empty_id = as_mask(vid == "")
    check.flag(empty_id & ~skip, "vehicle_id", vid, "empty; expected a vehicle id, unique in the file")
    spaced = as_mask(vid != vid.str.strip()) & ~empty_id
    check.flag(spaced & ~skip, "vehicle_id", vid, "has leading or trailing spaces; expected the id exactly")
    dup = as_mask(vid.duplicated(keep=False)) & ~empty_id & ~skip
    if dup.any():
        ids = vid.to_numpy(dtype=object)
        rows_of: dict[str, list[int]] = {}
        for pos in np.flatnonzero(dup).tolist():
            rows_of.setdefault(ids[pos], []).append(int(rows[pos]))

        # Constant work per row (a file of one id repeated a million times must not take quadratic time):
        # each row names at most ten of the others, taken from the first eleven rows of its id.
        beyond_first: dict[str, str] = {}  # the reason of every row after its id's first eleven is the same

        def dup_reason(pos: int) -> str:
            group = rows_of[ids[pos]]
            row = int(rows[pos])
            if row not in group[:11] and ids[pos] in beyond_first:
                return beyond_first[ids[pos]]
            others = [r for r in group[:11] if r != row][:10]
            shown = ", ".join(map(str, others)) + (" …" if len(group) - 1 > len(others) else "")
            text = f"duplicate id, also on row(s) {shown}; expected each vehicle_id once per file"
            if row not in group[:11]:
                beyond_first[ids[pos]] = text
            return text

        check.flag(dup, "vehicle_id", vid, dup_reason)

    texts = {name: text_column(df, name) for name in ("vehicle_class", "powertrain")}
    for name, allowed in (("vehicle_class", VEHICLE_CLASSES), ("powertrain", POWERTRAINS)):
        values = texts[name]
        # One reason per distinct bad value, not per row: a million rows of one misspelling cost one hint.
        hints: dict[str, str] = {}
        shown = values.to_numpy(dtype=object)
        check.flag(_not_in(values, allowed) & ~skip, name, values,
                   lambda p, v=shown, a=allowed, h=hints: h.get(v[p]) or h.setdefault(
                       v[p], one_of(a) + _spelling_hint(str(v[p]), a)))

    reg_text = text_column(df, "registered_on")
    dereg_text = text_column(df, "deregistered_on")
    registered = _parse_dates(reg_text, check, "registered_on", skip=skip, required=True, today=today)
    deregistered = _parse_dates(dereg_text, check, "deregistered_on", skip=skip, required=False, today=today)
    before = as_mask(deregistered < registered)
    reg_shown = reg_text.to_numpy(dtype=object)
    check.flag(before & ~skip, "deregistered_on", dereg_text,
               lambda p: f"before registered_on {reg_shown[p]}; expected deregistered_on on or after registered_on")

    county = text_column(df, "county_code")
    listed = ", ".join(f"{c} ({n})" if n else c for c, n in counties.items())
    check.flag(_not_in(county, counties) & ~skip, "county_code", county,
               f"unknown county code; expected one of: {listed}")

    operating_text = text_column(df, "is_operating")
    lowered = operating_text.str.lower()
    is_true = as_mask(lowered.isin(list(TRUE_WORDS)))
    is_false = as_mask(lowered.isin(list(FALSE_WORDS)))
    check.flag(~is_true & ~is_false & ~skip, "is_operating", operating_text,
               "expected true or false (1/0, yes/no and 是/否 are also read)")

    depot = text_column(df, "depot_id")
    if known_depots is not None and "depot_id" in df.columns:
        depots = sorted({str(d) for d in known_depots})
        stray = as_mask(depot != "") & _not_in(depot, depots)
        shown = (", ".join(depots[:12]) + (" …" if len(depots) > 12 else "")) if depots else "none are defined"
        check.flag(stray & ~skip, "depot_id", depot,
                   f"unknown depot; expected empty or a depot id of depots.csv ({shown})")

    check.refuse_if_broken()
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
            out[extra] = pick(text_column(df, extra))
    return out, check.issues()


def extra_columns(df: pd.DataFrame) -> list[str]:
    """Columns of a vehicle table beyond the required and optional ones (kept, and reported)."""
    return [c for c in df.columns if c not in REQUIRED_COLUMNS and c not in OPTIONAL_COLUMNS and c != FIELDS_COLUMN]


def _numbers(text: pd.Series, check: _Checker, field_name: str, *, skip: np.ndarray, required: bool,
             low: float | None = None, high: float | None = None, unit: str = "") -> np.ndarray:
    """Text as floats (NaN where empty or bad); bad ones are flagged."""
    empty = as_mask(text == "")
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
    df: pd.DataFrame, *, source: str, known_counties: Iterable[str]
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Check an activity table (one row per year, county, class, powertrain); return good rows and issues.

    Required: ``year, county_code, vehicle_class, powertrain`` and the measures ``vehicle_km``,
    ``passenger_km``, ``tonne_km``; energy columns (``electricity_kwh, petrol_l, diesel_l, cng_m3,
    lng_kg, h2_kg``) and ``vehicle_years`` are optional (0 when absent). Measures must be numbers ≥ 0.
    """
    required = (*ACTIVITY_KEY, "vehicle_km", "passenger_km", "tonne_km")
    check_missing_columns(df, required, source)
    counties = [str(c) for c in known_counties]
    rows = row_numbers(df)
    check = _Checker(source, rows, ("*", *ACTIVITY_KEY, *ACTIVITY_MEASURES))
    header_cols = [c for c in df.columns if c != FIELDS_COLUMN]
    skip = _check_field_counts(df, check, len(header_cols))
    year_text = text_column(df, "year")
    year = _numbers(year_text, check, "year", skip=skip, required=True, low=1900, high=2100)
    not_whole = np.isfinite(year) & (year != np.round(year))
    check.flag(not_whole & ~skip, "year", year_text, "expected a whole calendar year")
    texts = {name: text_column(df, name) for name in ("county_code", "vehicle_class", "powertrain")}
    for name, allowed in (("county_code", counties), ("vehicle_class", VEHICLE_CLASSES), ("powertrain", POWERTRAINS)):
        check.flag(_not_in(texts[name], allowed) & ~skip, name, texts[name], one_of(allowed))
    measures = {}
    for name in ACTIVITY_MEASURES:
        if name in df.columns:
            measures[name] = _numbers(text_column(df, name), check, name, skip=skip, required=True, low=0.0)
        else:
            measures[name] = np.zeros(len(df))
    key = pd.DataFrame({"year": year, **texts})
    dup = as_mask(key.duplicated(keep=False)) & ~skip
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
    df: pd.DataFrame, *, source: str, known_counties: Iterable[str]
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Check a depots table; return good rows and issues.

    Required: ``depot_id, name, fleet_kind (bus|taxi), lon, lat (WGS84 degrees), county_code``; optional
    ``operator``, ``grid_capacity_kw`` (empty = unknown), ``location_approximate`` (true/false, default
    true: a depot whose place is not stated is treated as approximate).
    """
    check_missing_columns(df, DEPOT_REQUIRED, source)
    counties = [str(c) for c in known_counties]
    rows = row_numbers(df)
    check = _Checker(source, rows, ("*", *DEPOT_REQUIRED, "grid_capacity_kw", "location_approximate"))
    header_cols = [c for c in df.columns if c != FIELDS_COLUMN]
    skip = _check_field_counts(df, check, len(header_cols))
    ids = text_column(df, "depot_id")
    check.flag(as_mask(ids == "") & ~skip, "depot_id", ids, "empty; expected a depot id")
    check.flag(as_mask(ids.duplicated(keep=False)) & as_mask(ids != "") & ~skip, "depot_id", ids,
               "duplicate depot id; expected each depot once")
    kind = text_column(df, "fleet_kind")
    check.flag(_not_in(kind, ("bus", "taxi")) & ~skip, "fleet_kind", kind, one_of(("bus", "taxi")))
    degrees = " (WGS84 degrees)"
    lon = _numbers(text_column(df, "lon"), check, "lon", skip=skip, required=True, low=-180, high=180, unit=degrees)
    lat = _numbers(text_column(df, "lat"), check, "lat", skip=skip, required=True, low=-90, high=90, unit=degrees)
    county = text_column(df, "county_code")
    check.flag(_not_in(county, counties) & ~skip, "county_code", county, one_of(counties))
    capacity = _numbers(text_column(df, "grid_capacity_kw"), check, "grid_capacity_kw", skip=skip, required=False,
                        low=0.0, unit=" in kW (empty when unknown)")
    approx_text = text_column(df, "location_approximate")
    approx_l = approx_text.str.lower()
    check.flag(_not_in(approx_l, (*TRUE_WORDS, *FALSE_WORDS, "")) & ~skip, "location_approximate", approx_text,
               "expected true or false")
    good = ~check.bad
    out = pd.DataFrame(
        {
            "depot_id": ids[good].to_numpy(dtype=object),
            "name": text_column(df, "name")[good].to_numpy(dtype=object),
            "operator": text_column(df, "operator")[good].to_numpy(dtype=object),
            "fleet_kind": kind[good].to_numpy(dtype=object),
            "county_code": county[good].to_numpy(dtype=object),
            "lon": lon[good],
            "lat": lat[good],
            "grid_capacity_kw": [None if math.isnan(v) else float(v) for v in capacity[good]],
            "location_approximate": ~as_mask(approx_l.isin(list(FALSE_WORDS)))[good],
        },
        index=pd.Index(rows[good], name="row"),
    )
    for col in ("depot_id", "name", "operator", "fleet_kind", "county_code"):
        out[col] = out[col].astype("str")
    return out, check.issues()
