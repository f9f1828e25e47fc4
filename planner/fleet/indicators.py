"""The fleet indicators a carbon-peak plan tracks (the shipped plan's clauses 20-22, in ``data/fleet/targets.toml``).

``indicators`` gives one year, city-wide or for one county, as an ``Indicators`` record. ``fleet_series``
gives every record year, city-wide and per county, as one ``FleetSeries``: the vehicles are counted
once per county, class and powertrain, not filtered again for each county and year. The targets, the
report and ``evplan plan`` all read that one series.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import RecordError
from planner.fleet.records import FleetRecords
from planner.fleet.schema import (
    BASE_YEAR,
    CLEAN_POWERTRAINS,
    NE_POWERTRAINS,
    PASSENGER_KM_TO_TONNE_KM,
)
from planner.fleet.stock import record_years, vehicle_span


@dataclass(frozen=True)
class Indicators:
    """The fleet indicators of one year, city-wide (``county`` None) or for one county.

    Shares are fractions 0-1 and None when nothing is counted. The stock is taken on 31 Dec, the
    additions over the year. ``operating_co2_per_converted_turnover`` is kg CO2 per converted t·km
    (t·km + ``pkm_to_tkm`` × passenger-km); its change vs ``BASE_YEAR`` (2020) is a fraction, -0.08 =
    8 % lower. ``year_in_records`` says whether the year lies inside the records.
    """

    year: int
    county: str | None
    vehicles_in_stock: int
    ne_bus_share: float | None
    buses: int
    ne_buses: int
    ne_taxi_share: float | None
    taxis: int
    ne_taxis: int
    ne_bus_share_by_county: Mapping[str, float | None]
    ne_taxi_share_by_county: Mapping[str, float | None]
    ne_or_clean_new_vehicle_share: float | None
    new_vehicles: int
    new_ne_or_clean_vehicles: int
    ev_new_passenger_car_share: float | None
    new_passenger_cars: int
    new_ev_passenger_cars: int
    ev_passenger_car_stock_share: float | None
    operating_co2_t: float | None
    passenger_km: float | None
    tonne_km: float | None
    pkm_to_tkm: float
    converted_turnover_tkm: float | None
    operating_co2_per_converted_turnover: float | None
    operating_co2_per_converted_turnover_2020: float | None
    operating_co2_intensity_change_vs_2020: float | None
    year_in_records: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, keys in field order (the shape of the API's and the CLI's JSON)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    def scalars(self) -> dict[str, Any]:
        """``to_dict`` without the by-county mappings: one row of an indicator table."""
        return {k: v for k, v in self.to_dict().items() if not isinstance(v, dict)}


# ------------------------------------------------------------------------------------------ counting


@dataclass(frozen=True, eq=False)
class _Counts:
    """Stock and additions per (county, class, powertrain) group and year, counted in one pass."""

    years: tuple[int, ...]
    county: np.ndarray      # per group
    vclass: np.ndarray      # per group
    ne: np.ndarray          # per group, bool
    clean: np.ndarray       # per group, bool
    stock: np.ndarray       # groups × years
    added: np.ndarray       # groups × years

    @classmethod
    def of(cls, vehicles: pd.DataFrame, years: Iterable[int]) -> _Counts:
        years = tuple(sorted({int(y) for y in years}))
        n_years = len(years)
        parts = [pd.factorize(vehicles[col].astype(str)) for col in ("county_code", "vehicle_class", "powertrain")]
        combined = np.zeros(len(vehicles), dtype=np.int64)
        for part_codes, uniques in parts:
            combined = combined * len(uniques) + part_codes
        keys, codes = np.unique(combined, return_inverse=True)
        codes = codes.reshape(-1)
        groups = []
        for key_code in keys.tolist():
            names = []
            for _, uniques in reversed(parts):
                key_code, at = divmod(key_code, len(uniques))
                names.append(str(uniques[at]))
            groups.append(tuple(reversed(names)))
        n_groups = len(groups)
        stock = np.zeros((n_groups, n_years), dtype=np.int64)
        added = np.zeros((n_groups, n_years), dtype=np.int64)
        if n_years and n_groups:
            y0, y1 = years[0], years[-1]
            reg = vehicles["registered_on"].dt.year.to_numpy(dtype=float)
            dereg = vehicles["deregistered_on"].dt.year.to_numpy(dtype=float)
            gone = np.where(np.isnan(dereg), np.inf, np.fmax(reg, dereg))  # deregistered by 31 Dec of that year
            span = np.arange(y0, y1 + 1)
            registered_by = _cumulative(codes, reg, y0, y1, n_groups)
            gone_by = _cumulative(codes, gone, y0, y1, n_groups)
            in_year = (reg >= y0) & (reg <= y1)
            added_all = np.bincount(codes[in_year] * len(span) + (reg[in_year] - y0).astype(int),
                                    minlength=n_groups * len(span)).reshape(n_groups, len(span))
            cols = np.array(years) - y0
            stock = (registered_by - gone_by)[:, cols]
            added = added_all[:, cols]
        ne_set, clean_set = set(NE_POWERTRAINS), set(CLEAN_POWERTRAINS)
        return cls(
            years=years,
            county=np.array([g[0] for g in groups], dtype=object),
            vclass=np.array([g[1] for g in groups], dtype=object),
            ne=np.array([g[2] in ne_set for g in groups], dtype=bool),
            clean=np.array([g[2] in clean_set for g in groups], dtype=bool),
            stock=stock, added=added,
        )

    def column(self, year: int) -> int:
        return self.years.index(int(year))


def _cumulative(codes: np.ndarray, year_of: np.ndarray, y0: int, y1: int, n_groups: int) -> np.ndarray:
    """Per group, how many vehicles have ``year_of`` on or before each year ``y0..y1``."""
    width = y1 - y0 + 1
    keep = year_of <= y1
    bins = np.clip(year_of[keep], y0, y1).astype(int) - y0
    hist = np.bincount(codes[keep] * width + bins, minlength=n_groups * width).reshape(n_groups, width)
    return np.cumsum(hist, axis=1)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


# ------------------------------------------------------------------------------------------ activity


@dataclass(frozen=True, eq=False)
class _Turnover:
    """The activity table's CO2 and turnover sums per year, city-wide and per county."""

    by_key: Mapping[tuple[int, str | None], tuple[float, float, float]]
    years: frozenset[int]

    @classmethod
    def of(cls, activity: pd.DataFrame) -> _Turnover:
        if activity.empty:
            return cls({}, frozenset())
        if "co2_kg" not in activity.columns:
            raise RecordError("the activity table has no co2_kg column; price its energy with "
                              "fleet.with_co2(activity, emission_factors) first")
        sums: dict[tuple[int, str | None], tuple[float, float, float]] = {}
        for year, rows in activity.groupby("year", sort=False):
            sums[(int(year), None)] = _sums(rows)
            for county, county_rows in rows.groupby("county_code", sort=False):
                sums[(int(year), str(county))] = _sums(county_rows)
        return cls(sums, frozenset(int(y) for y in activity["year"]))

    def intensity(self, year: int, county: str | None, pkm_to_tkm: float) -> dict[str, float | None]:
        found = self.by_key.get((int(year), county))
        if found is None:
            return {"co2_kg": None, "passenger_km": None, "tonne_km": None, "converted_tkm": None, "intensity": None}
        co2, pkm, tkm = found
        converted = tkm + pkm * pkm_to_tkm
        return {"co2_kg": co2, "passenger_km": pkm, "tonne_km": tkm, "converted_tkm": converted,
                "intensity": co2 / converted if converted > 0 else None}


def _sums(rows: pd.DataFrame) -> tuple[float, float, float]:
    return float(rows["co2_kg"].sum()), float(rows["passenger_km"].sum()), float(rows["tonne_km"].sum())


# ------------------------------------------------------------------------------------------ indicators


@dataclass(frozen=True, eq=False)
class _Tally:
    """Counts and sums for one fleet, ready to turn into ``Indicators`` for any year and county."""

    counts: _Counts
    turnover: _Turnover
    counties: tuple[str, ...]
    spans: Mapping[str | None, tuple[int, int] | None]

    @classmethod
    def of(cls, vehicles: pd.DataFrame, activity: pd.DataFrame, years: Iterable[int]) -> _Tally:
        counties = tuple(sorted(str(c) for c in vehicles["county_code"].unique()))
        spans: dict[str | None, tuple[int, int] | None] = {None: vehicle_span(vehicles)}
        if len(counties) > 1:
            dates = pd.DataFrame({"county": vehicles["county_code"].astype(str).to_numpy(),
                                  "reg": vehicles["registered_on"].dt.year.to_numpy(dtype=float),
                                  "dereg": vehicles["deregistered_on"].dt.year.to_numpy(dtype=float)})
            bounds = dates.groupby("county").agg(reg_min=("reg", "min"), reg_max=("reg", "max"),
                                                 dereg_min=("dereg", "min"), dereg_max=("dereg", "max"))
            for code, b in bounds.iterrows():  # as vehicle_span, per county
                first, last = int(b["reg_min"]), int(b["reg_max"])
                if not np.isnan(b["dereg_min"]):
                    first, last = max(first, int(b["dereg_min"])), max(last, int(b["dereg_max"]))
                spans[str(code)] = (first, last)
        else:
            spans.update({c: spans[None] for c in counties})
        return cls(_Counts.of(vehicles, years), _Turnover.of(activity), counties, spans)

    def indicators(self, year: int, county: str | None, pkm_to_tkm: float) -> Indicators:
        c = self.counts
        col = c.column(year)
        where = np.ones(len(c.county), dtype=bool) if county is None else (c.county == county)
        stock, added = c.stock[:, col], c.added[:, col]
        bus, taxi, car = where & (c.vclass == "bus"), where & (c.vclass == "taxi"), where & (c.vclass == "passenger_car")

        def total(values: np.ndarray, mask: np.ndarray) -> int:
            return int(values[mask].sum())

        buses, ne_buses = total(stock, bus), total(stock, bus & c.ne)
        taxis, ne_taxis = total(stock, taxi), total(stock, taxi & c.ne)
        new_total, new_ne_clean = total(added, where), total(added, where & (c.ne | c.clean))
        new_cars, new_ev_cars = total(added, car), total(added, car & c.ne)
        cars, ev_cars = total(stock, car), total(stock, car & c.ne)
        listed = self.counties if county is None else (county,)

        def by_county(kind: np.ndarray) -> dict[str, float | None]:
            return {code: _share(total(stock, kind & c.ne & (c.county == code)), total(stock, kind & (c.county == code)))
                    for code in listed}

        now = self.turnover.intensity(year, county, pkm_to_tkm)
        base = self.turnover.intensity(BASE_YEAR, county, pkm_to_tkm)
        change = None
        if now["intensity"] is not None and base["intensity"]:
            change = now["intensity"] / base["intensity"] - 1.0
        span = self.spans.get(county)
        in_records = bool(span and span[0] <= year <= span[1]) or year in self.turnover.years
        return Indicators(
            year=int(year), county=county, vehicles_in_stock=total(stock, where),
            ne_bus_share=_share(ne_buses, buses), buses=buses, ne_buses=ne_buses,
            ne_taxi_share=_share(ne_taxis, taxis), taxis=taxis, ne_taxis=ne_taxis,
            ne_bus_share_by_county=by_county(c.vclass == "bus"), ne_taxi_share_by_county=by_county(c.vclass == "taxi"),
            ne_or_clean_new_vehicle_share=_share(new_ne_clean, new_total), new_vehicles=new_total,
            new_ne_or_clean_vehicles=new_ne_clean,
            ev_new_passenger_car_share=_share(new_ev_cars, new_cars), new_passenger_cars=new_cars,
            new_ev_passenger_cars=new_ev_cars, ev_passenger_car_stock_share=_share(ev_cars, cars),
            operating_co2_t=None if now["co2_kg"] is None else now["co2_kg"] / 1000.0,
            passenger_km=now["passenger_km"], tonne_km=now["tonne_km"], pkm_to_tkm=float(pkm_to_tkm),
            converted_turnover_tkm=now["converted_tkm"], operating_co2_per_converted_turnover=now["intensity"],
            operating_co2_per_converted_turnover_2020=base["intensity"],
            operating_co2_intensity_change_vs_2020=change, year_in_records=in_records,
        )

    def check_county(self, county: str | None) -> None:
        if county is not None and county not in self.counties:
            raise RecordError(f"county {county!r} has no vehicles in the records; "
                              f"counties there: {', '.join(self.counties)}")


def indicators(
    vehicles: pd.DataFrame,
    activity: pd.DataFrame,
    *,
    year: int,
    county: str | None = None,
    pkm_to_tkm: float = PASSENGER_KM_TO_TONNE_KM,
) -> Indicators:
    """The plan's fleet indicators for one year, city-wide or for one county.

    Parameters
    ----------
    vehicles, activity
        Validated tables (``FleetRecords.vehicles`` and ``.activity``; the activity priced with
        ``co2_kg``, as ``load_records`` gives it).
    year
        Calendar year: the stock is taken on 31 Dec, the additions over the year.
    county
        6-digit county code; every figure (and the by-county mappings) is then restricted to it.
    pkm_to_tkm
        Tonne-km per passenger-km in converted turnover (0.1 for road, national statistics convention).

    Raises
    ------
    RecordError
        When ``county`` has no vehicle in the records (the message lists the counties there are).
    """
    tally = _Tally.of(vehicles, activity, [int(year)])
    tally.check_county(county)
    return tally.indicators(int(year), county, pkm_to_tkm)


def indicator_series(
    vehicles: pd.DataFrame, activity: pd.DataFrame, *, years: Iterable[int], county: str | None = None,
    pkm_to_tkm: float = PASSENGER_KM_TO_TONNE_KM,
) -> pd.DataFrame:
    """One row per year with the scalar indicators of ``indicators`` (no by-county mappings)."""
    years = [int(y) for y in years]
    tally = _Tally.of(vehicles, activity, years)
    tally.check_county(county)
    return pd.DataFrame([tally.indicators(y, county, pkm_to_tkm).scalars() for y in years])


# ------------------------------------------------------------------------------------------ the series


@dataclass(frozen=True, eq=False)
class FleetSeries:
    """The yearly indicators of a fleet, city-wide and per county, computed once (``fleet_series``).

    ``city``: one row per year, the columns of ``indicator_series``. ``counties``: one row per county
    with vehicles and year (``county`` holds the code), the same columns for that county.
    ``county_names``: code -> name of every county to report on, sorted by code. ``vehicle_years``:
    the years the vehicle records span (``vehicle_span``), which ``ne_bus_share_by_year`` lists.
    """

    years: tuple[int, ...]
    city: pd.DataFrame
    counties: pd.DataFrame
    county_names: Mapping[str, str]
    vehicle_years: tuple[int, ...] = ()

    @property
    def assessment_year(self) -> int:
        """The last year of the series: the year its figures are assessed on."""
        return self.years[-1]

    def up_to(self, year: int | None) -> FleetSeries:
        """The series from its first year to ``year`` (None: all of it); a year outside it is refused."""
        if year is None or int(year) == self.years[-1]:
            return self
        year = int(year)
        first, last = self.years[0], self.years[-1]
        if not first <= year <= last:
            raise RecordError(f"assessment year {year} is outside the records, which span {first}-{last}")
        counties = self.counties[self.counties["year"] <= year].reset_index(drop=True) if len(self.counties) \
            else self.counties
        return replace(self, years=tuple(y for y in self.years if y <= year),
                       city=self.city[self.city["year"] <= year].reset_index(drop=True), counties=counties)

    def with_county_names(self, names: Mapping[str, str]) -> FleetSeries:
        """The series with ``names`` (e.g. a targets file's) over its own; new codes join, sorted."""
        merged = {**self.county_names, **{str(k): str(v) for k, v in names.items()}}
        return replace(self, county_names={c: merged[c] for c in sorted(merged)})

    def ne_bus_share_by_year(self) -> dict[int, float | None]:
        """NE share of the bus stock on 31 Dec of each year the vehicle records span."""
        shares = dict(zip(self.city["year"].astype(int), self.city["ne_bus_share"], strict=True))
        return {y: None if pd.isna(shares[y]) else float(shares[y]) for y in self.vehicle_years if y in shares}


def fleet_series(records: FleetRecords, *, pkm_to_tkm: float = PASSENGER_KM_TO_TONNE_KM) -> FleetSeries:
    """Every record year's indicators, city-wide and per county with vehicles, computed once.

    County names are the records' own (``counties.csv``), else the code. Raises ``RecordError`` when
    the records span no year.
    """
    years = record_years(records)
    if not years:
        raise RecordError("the fleet records hold no vehicles: nothing to assess")
    vehicles = records.vehicles
    tally = _Tally.of(vehicles, records.activity, years)
    city = pd.DataFrame([tally.indicators(y, None, pkm_to_tkm).scalars() for y in years]).reset_index(drop=True)
    names = {str(k): str(v) for k, v in (getattr(records, "counties", None) or {}).items()}
    with_vehicles = set(tally.counties)
    codes = sorted({*names, *with_vehicles})
    rows = [tally.indicators(y, code, pkm_to_tkm).scalars() | {"year": y, "county": code}
            for code in codes if code in with_vehicles for y in years]
    counties = pd.DataFrame(rows, columns=None if rows else ["year", "county"])
    span = vehicle_span(vehicles)
    return FleetSeries(years=tuple(years), city=city, counties=counties,
                       county_names={c: names.get(c, c) for c in codes},
                       vehicle_years=tuple(range(span[0], span[1] + 1)) if span else ())


def ne_bus_share_by_year(
    vehicles: pd.DataFrame | None = None, *, years: Iterable[int] | None = None, series: FleetSeries | None = None,
) -> dict[int, float | None]:
    """NE share of the bus stock on 31 Dec of each year (default: the years the vehicle records span).

    With ``series`` (from ``fleet_series``) the shares are read from it instead of counted again.
    """
    if series is not None:
        shares = series.ne_bus_share_by_year()
        return shares if years is None else {int(y): shares[int(y)] for y in years if int(y) in shares}
    if vehicles is None:
        raise TypeError("ne_bus_share_by_year needs the vehicles or a series")
    if years is None:
        span = vehicle_span(vehicles)
        years = range(span[0], span[1] + 1) if span else []
    years = [int(y) for y in years]
    if not years:
        return {}
    counts = _Counts.of(vehicles, years)
    bus = counts.vclass == "bus"
    return {y: _share(int(counts.stock[bus & counts.ne, counts.column(y)].sum()),
                      int(counts.stock[bus, counts.column(y)].sum())) for y in years}
