"""A city's fleet records: the ``FleetRecords`` bundle and reading a records directory into it.

A records directory holds ``vehicles*.csv|.csv.gz|.parquet``, ``activity.csv``, ``depots.csv``,
``emission_factors.csv``, ``counties.csv`` and ``dataset.toml`` (``data/fleet/README.md`` describes them).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputFileError, RecordError
from planner.fleet.checks import (
    as_mask,
    check_missing_columns,
    one_of,
    row_numbers,
    text_column,
    validate_activity,
    validate_depots,
    validate_vehicles,
)
from planner.fleet.reading import FIELDS_COLUMN, read_table, read_vehicle_file
from planner.fleet.schema import (
    ACTIVITY_KEY,
    ACTIVITY_MEASURES,
    ENERGY_COLUMNS,
    RowIssue,
)


@dataclass(frozen=True, eq=False)
class FleetRecords:
    """The fleet records of one city: validated tables plus every row that was quarantined on the way."""

    vehicles: pd.DataFrame
    activity: pd.DataFrame
    depots: pd.DataFrame
    quarantine: tuple[RowIssue, ...] = ()
    emission_factors: pd.DataFrame | None = None
    #: County code -> name (the directory's ``counties.csv``).
    counties: Mapping[str, str] = field(default_factory=dict)
    #: True when the directory's ``dataset.toml`` says the records are synthetic, False when it says
    #: they are real, None when nothing says (the report then words its data note conditionally).
    synthetic: bool | None = None
    #: Grid factor by year (``year, kg_co2_per_kwh, basis, source``; the directory's ``grid_factors.csv``),
    #: or None when the one electricity factor of ``emission_factors.csv`` holds for every year.
    grid_factors: pd.DataFrame | None = None


def vehicle_files(fleet_dir: Path | str) -> list[Path]:
    """The vehicle files of a records directory: ``vehicles*.csv``, ``.csv.gz`` or ``.parquet``, sorted."""
    fleet_dir = Path(fleet_dir)
    patterns = ("vehicles*.csv", "vehicles*.csv.gz", "vehicles*.parquet")
    return sorted({p for pattern in patterns for p in fleet_dir.glob(pattern) if p.is_file()})


def load_counties(fleet_dir: Path | str, *, default: Mapping[str, str] | None = None) -> dict[str, str]:
    """County codes and names from ``counties.csv`` (``county_code, name``) of a records directory.

    Without that file, ``default`` (a city's counties, passed by the caller); without a default, an
    ``InputFileError`` naming the missing file: county codes are never guessed.
    """
    path = Path(fleet_dir) / "counties.csv"
    if not path.exists():
        if default is None:
            raise InputFileError(path, "a counties table (county_code, name) beside the fleet records",
                                 detail="no such file")
        return dict(default)
    frame = read_table(path, what="a counties table (county_code, name)").frame
    check_missing_columns(frame, ("county_code", "name"), str(path))
    codes = text_column(frame, "county_code").tolist()
    bad = [int(r) for r, c in zip(row_numbers(frame), codes, strict=True) if not (len(c) == 6 and c.isdigit())]
    if bad:
        raise RecordError(f"{path}, row(s) {bad}, field county_code: expected a 6-digit county code")
    return dict(zip(codes, text_column(frame, "name").tolist(), strict=True))


def load_emission_factors(path: Path | str, *, grid_kg_co2_per_kwh: float | None = None) -> pd.DataFrame:
    """Emission factors per energy carrier: ``carrier, activity_column, unit, kg_co2_per_unit, source``.

    ``grid_kg_co2_per_kwh`` replaces the electricity factor (the grid factor is a choice: regional or
    national average, year). Raises ``RecordError`` naming the row of a bad factor.
    """
    path = Path(path)
    frame = read_table(path, what="an emission factors table").frame
    required = ("carrier", "activity_column", "unit", "kg_co2_per_unit", "source")
    check_missing_columns(frame, required, str(path))
    rows = row_numbers(frame)
    out = pd.DataFrame({c: text_column(frame, c).to_numpy(dtype=object) for c in frame.columns if c != FIELDS_COLUMN})
    values = pd.to_numeric(pd.Series(out["kg_co2_per_unit"]), errors="coerce")
    for pos, (col, value) in enumerate(zip(out["activity_column"], values, strict=True)):
        if col not in ENERGY_COLUMNS:
            raise RecordError(f"{path}, row {rows[pos]}, field activity_column: {col!r}; {one_of(ENERGY_COLUMNS)}")
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


def with_co2(activity: pd.DataFrame, emission_factors: pd.DataFrame, *,
             grid_factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The activity table with ``co2_kg``: each carrier's energy times its factor, summed.

    With ``grid_factors`` (``year, kg_co2_per_kwh``) electricity is priced with its year's factor (a year
    outside the table takes the nearest year's). Raises ``RecordError`` when a carrier is used but has no
    factor.
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
        if col == "electricity_kwh" and grid_factors is not None and len(grid_factors) and len(out):
            table = dict(zip(grid_factors["year"].astype(int), grid_factors["kg_co2_per_kwh"].astype(float),
                             strict=True))
            known = np.array(sorted(table))
            years = out["year"].astype(int).to_numpy()
            nearest = known[np.abs(years[:, None] - known[None, :]).argmin(axis=1)]
            co2 += used * np.array([table[int(y)] for y in nearest])
            continue
        co2 += used * factors[col]
    out["co2_kg"] = co2
    return out


#: Optional grid-factor table of a records directory: electricity CO2 by year.
GRID_FACTORS_FILE = "grid_factors.csv"


def load_grid_factors(fleet_dir: Path | str) -> pd.DataFrame | None:
    """``grid_factors.csv`` of a records directory (``year, kg_co2_per_kwh, basis, source``), None without one.

    Raises ``RecordError`` naming the row and field of a bad value.
    """
    path = Path(fleet_dir) / GRID_FACTORS_FILE
    if not path.exists():
        return None
    frame = read_table(path, what="a grid factor table (year, kg_co2_per_kwh, basis, source)").frame
    check_missing_columns(frame, ("year", "kg_co2_per_kwh", "source"), str(path))
    rows = row_numbers(frame)
    years = pd.to_numeric(text_column(frame, "year"), errors="coerce").to_numpy()
    values = pd.to_numeric(text_column(frame, "kg_co2_per_kwh"), errors="coerce").to_numpy()
    for pos in range(len(frame)):
        if not (np.isfinite(years[pos]) and float(years[pos]).is_integer() and 1990 <= years[pos] <= 2100):
            raise RecordError(f"{path}, row {rows[pos]}, field year: {text_column(frame, 'year').iloc[pos]!r}; "
                              "expected a calendar year")
        if not (np.isfinite(values[pos]) and values[pos] >= 0):
            raise RecordError(f"{path}, row {rows[pos]}, field kg_co2_per_kwh: "
                              f"{text_column(frame, 'kg_co2_per_kwh').iloc[pos]!r}; expected kg CO2 per kWh ≥ 0")
    if pd.Series(years).duplicated().any():
        raise RecordError(f"{path}: a year appears twice; expected one grid factor per year")
    basis = text_column(frame, "basis").tolist() if "basis" in frame else [""] * len(frame)
    return pd.DataFrame({"year": years.astype(int), "kg_co2_per_kwh": values.astype(float), "basis": basis,
                         "source": text_column(frame, "source").tolist()}).sort_values("year").reset_index(drop=True)


def load_records(
    fleet_dir: Path | str,
    *,
    grid_kg_co2_per_kwh: float | None = None,
    today: date | None = None,
    default_counties: Mapping[str, str] | None = None,
) -> FleetRecords:
    """Read and check a fleet records directory.

    The directory holds ``vehicles*.csv|.csv.gz|.parquet`` (required), ``activity.csv``,
    ``depots.csv``, ``emission_factors.csv`` (required with activity) and ``counties.csv`` (optional).
    Bad rows are quarantined into ``FleetRecords.quarantine``; a vehicle id found in two files is kept
    from the first (sorted by name) and quarantined in the later one. Activity gets ``co2_kg``.
    ``default_counties`` stand in for a missing ``counties.csv`` (see ``load_counties``).
    """
    fleet_dir = Path(fleet_dir)
    what = "a fleet records directory with vehicles.csv, vehicles.csv.gz or vehicles.parquet"
    if not fleet_dir.is_dir():
        raise InputFileError(fleet_dir, what, detail="no such directory")
    files = vehicle_files(fleet_dir)
    if not files:
        raise InputFileError(fleet_dir, what, detail="no vehicle file found")
    counties = load_counties(fleet_dir, default=default_counties)
    depots, issues = load_depots(fleet_dir, known_counties=counties)
    known_depots = depots["depot_id"].tolist() if (fleet_dir / "depots.csv").exists() else None
    frames: list[pd.DataFrame] = []
    for path in files:
        good, found = validate_vehicles(read_vehicle_file(path), source=str(path), known_counties=counties,
                                        known_depots=known_depots, today=today)
        issues.extend(found)
        frames.append(good.assign(_file=str(path), _row=good.index.to_numpy()))
    vehicles = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    again = as_mask(vehicles["vehicle_id"].duplicated(keep="first")) if len(frames) > 1 else np.zeros(len(vehicles), bool)
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
    grid = None if grid_kg_co2_per_kwh is not None else load_grid_factors(fleet_dir)  # a set factor holds every year
    return FleetRecords(vehicles=vehicles, activity=activity, depots=depots, quarantine=tuple(issues),
                        emission_factors=factors, counties=counties, synthetic=dataset_is_synthetic(fleet_dir),
                        grid_factors=grid)


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
    fleet_dir: Path | str, *, known_counties: Iterable[str]
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """The depots of a records directory (empty table when there is no ``depots.csv``) and their issues."""
    path = Path(fleet_dir) / "depots.csv"
    if not path.exists():
        return empty_depots(), []
    depots, issues = validate_depots(read_table(path, what="a depots table").frame, source=str(path),
                                     known_counties=known_counties)
    return depots.reset_index(drop=True), issues


def load_activity(
    fleet_dir: Path | str, *, known_counties: Iterable[str], grid_kg_co2_per_kwh: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[RowIssue]]:
    """Activity (with ``co2_kg``), emission factors and the activity's row issues of a records directory."""
    fleet_dir = Path(fleet_dir)
    factors_path = fleet_dir / "emission_factors.csv"
    factors = None
    if factors_path.exists():
        factors = load_emission_factors(factors_path, grid_kg_co2_per_kwh=grid_kg_co2_per_kwh)
    path = fleet_dir / "activity.csv"
    if not path.exists():
        return empty_activity(), factors, []
    activity, issues = validate_activity(read_table(path, what="an activity table").frame, source=str(path),
                                         known_counties=known_counties)
    if factors is None:
        raise InputFileError(factors_path, "emission factors for the activity table (carrier, activity_column, unit, "
                                           "kg_co2_per_unit, source)", detail="no such file")
    grid = None if grid_kg_co2_per_kwh is not None else load_grid_factors(fleet_dir)
    return with_co2(activity.reset_index(drop=True), factors, grid_factors=grid), factors, issues


def empty_activity() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=str) for c in ACTIVITY_KEY[1:]})
    frame.insert(0, "year", pd.Series([], dtype=int))
    for name in (*ACTIVITY_MEASURES, "co2_kg"):
        frame[name] = pd.Series([], dtype=float)
    return frame


def empty_depots() -> pd.DataFrame:
    return pd.DataFrame({"depot_id": pd.Series([], dtype=str), "name": pd.Series([], dtype=str),
                         "operator": pd.Series([], dtype=str), "fleet_kind": pd.Series([], dtype=str),
                         "county_code": pd.Series([], dtype=str), "lon": pd.Series([], dtype=float),
                         "lat": pd.Series([], dtype=float), "grid_capacity_kw": pd.Series([], dtype=object),
                         "location_approximate": pd.Series([], dtype=bool)})
