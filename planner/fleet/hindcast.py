"""Prediction intervals for the stock-turnover projection, calibrated by hindcast on the records themselves.

From each past cut-off (31 Dec of every record year but the last) the records are cut as they stood then,
projected to every later record year and compared with what happened. Errors are taken on the empirical
logit of a share (counts ``x`` of ``n``: ``ln((x+0.5)/(n-x+0.5))``) or the log of an intensity, divided by
the horizon in years (the default scenario holds today's additions, so errors grow with the drift the
scenario leaves out: linearly); their 10th and 90th percentiles per kind of measure (stock shares, flow
shares, intensity) give the 80 % interval ``projection + q * h``, and their median the centre of the
prediction (the scenario's own projection is biased where the past drifted one way: the NE share of
additions has risen at every cut-off, so "the last 12 months continue" has always come out low). A
calibration at cut-off ``c`` uses only errors observed by ``c``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.fleet.indicators import FleetSeries, fleet_series
from planner.fleet.records import FleetRecords
from planner.fleet.targets import SHARE_COUNTS
from planner.fleet.turnover import (
    INTENSITY_INDICATOR,
    SHARE_INDICATORS,
    Cutoff,
    Outlook,
    coded_vehicles,
    project,
    records_at,
)

#: Two-sided level of the prediction interval.
INTERVAL_LEVEL = 0.80
INDICATORS: tuple[str, ...] = (*SHARE_INDICATORS, INTENSITY_INDICATOR)
#: Errors are pooled per kind of measure: indicator -> pool.
POOL: dict[str, str] = {"ne_bus_share": "stock share", "ne_taxi_share": "stock share",
                        "ne_or_clean_new_vehicle_share": "flow share", "ev_new_passenger_car_share": "flow share",
                        INTENSITY_INDICATOR: "intensity ratio"}
#: Fewer errors than this for an indicator: its interval is not calibrated (reported as such).
MIN_ERRORS = 5


def logit_counts(x: float, n: float) -> float:
    """Empirical logit of ``x`` of ``n``."""
    x = min(max(x, 0.0), n)
    return math.log((x + 0.5) / (n - x + 0.5))


def share_from_logit(z: float, n: float) -> float:
    """The share whose empirical logit over ``n`` is ``z`` (inverse of ``logit_counts``), clipped to 0-1."""
    if n <= 0:
        return float("nan")
    e = math.exp(min(z, 700.0))
    x = (e * (n + 0.5) - 0.5) / (1.0 + e)
    return min(max(x / n, 0.0), 1.0)


@dataclass(frozen=True)
class HindcastError:
    """One projection from a past cut-off against the value observed later."""

    indicator: str
    area: str | None
    origin: int
    year: int
    horizon_years: float
    projected: float
    observed: float
    error: float   # on the logit (shares) or log (intensity) scale

    def to_dict(self) -> dict[str, object]:
        return {"indicator": self.indicator, "area": self.area, "origin": self.origin, "year": self.year,
                "horizon_years": self.horizon_years, "projected": self.projected, "observed": self.observed,
                "error": self.error}


@dataclass(frozen=True)
class Calibration:
    """Per pool (``POOL``), the 10th and 90th percentiles of error / horizon, how many errors, and the median."""

    quantiles: Mapping[str, tuple[float, float, int]]
    level: float = INTERVAL_LEVEL
    medians: Mapping[str, float] = field(default_factory=dict)

    def offsets(self, indicator: str, horizon_years: float) -> tuple[float, float, float] | None:
        """Offsets (low, centre, high) on the transformed scale at ``horizon_years``; None when not calibrated."""
        b = self.bounds(indicator, horizon_years)
        if b is None:
            return None
        pool = POOL.get(indicator, indicator)
        centre = self.medians[pool] * max(horizon_years, 0.0) if pool in self.medians else (b[0] + b[1]) / 2
        return b[0], min(max(centre, b[0]), b[1]), b[1]

    def bounds(self, indicator: str, horizon_years: float) -> tuple[float, float] | None:
        """Offsets (low, high) on the transformed scale at ``horizon_years``; None when not calibrated."""
        q = self.quantiles.get(POOL.get(indicator, indicator))
        if q is None or q[2] < MIN_ERRORS:
            return None
        h = max(horizon_years, 0.0)
        return q[0] * h, q[1] * h


def calibrate(errors: Iterable[HindcastError], *, level: float = INTERVAL_LEVEL) -> Calibration:
    """The empirical quantiles of the scaled errors, per indicator."""
    by: dict[str, list[float]] = {}
    for e in errors:
        if e.horizon_years > 0:
            by.setdefault(POOL.get(e.indicator, e.indicator), []).append(e.error / e.horizon_years)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    return Calibration({k: (float(np.quantile(v, lo_q)), float(np.quantile(v, hi_q)), len(v))
                        for k, v in sorted(by.items())}, level,
                       {k: float(np.median(v)) for k, v in sorted(by.items())})


@dataclass(frozen=True, eq=False)
class Hindcast:
    """Every hindcast error of a fleet, and the coverage check of the issue (fit to one year, project another)."""

    errors: tuple[HindcastError, ...]
    last_year: int

    def calibration(self, *, by_year: int | None = None) -> Calibration:
        """Calibration from the errors observed by ``by_year`` (default: all)."""
        cut = self.last_year if by_year is None else by_year
        return calibrate(e for e in self.errors if e.year <= cut)

    def coverage(self, *, fit_to: int, project_to: int) -> Coverage:
        """Share of (indicator × area) cases whose ``project_to`` value lies in the interval from ``fit_to``.

        The interval is calibrated on errors observed by ``fit_to`` only.
        """
        cal = self.calibration(by_year=fit_to)
        cases = []
        for e in self.errors:
            if e.origin != fit_to or e.year != project_to:
                continue
            b = cal.bounds(e.indicator, e.horizon_years)
            if b is None:
                continue
            cases.append((e, b[0] <= e.error <= b[1]))
        inside = sum(ok for _, ok in cases)
        return Coverage(fit_to, project_to, len(cases), inside, tuple(cases), cal.level)


@dataclass(frozen=True)
class Coverage:
    """How many hindcast cases fell inside their interval."""

    fit_to: int
    project_to: int
    cases: int
    inside: int
    detail: tuple[tuple[HindcastError, bool], ...]
    level: float

    @property
    def share(self) -> float | None:
        return None if not self.cases else self.inside / self.cases

    def to_dict(self) -> dict[str, object]:
        return {"fit_to": self.fit_to, "project_to": self.project_to, "cases": self.cases, "inside": self.inside,
                "share": self.share, "level": self.level,
                "detail": [{**e.to_dict(), "inside": ok} for e, ok in self.detail]}


_CACHE: dict[tuple, Hindcast] = {}
_CACHE_SIZE = 4


def _fingerprint(records: FleetRecords) -> tuple:
    """What the hindcast depends on, cheaply: the same records read twice give the same key."""
    v = records.vehicles
    act = records.activity
    reg = v["registered_on"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    dereg = v["deregistered_on"].to_numpy(dtype="datetime64[D]")
    dereg_days = np.where(np.isnat(dereg), 0, dereg.astype(np.int64))
    codes = pd.util.hash_pandas_object(v[["vehicle_class", "powertrain", "county_code"]].astype(str), index=False)
    weights = np.arange(1, len(v) + 1, dtype=np.uint64)
    grid = getattr(records, "grid_factors", None)
    return (len(v), int(reg.sum()), int(dereg_days.sum()), int((codes.to_numpy() * weights).sum()),
            len(act), float(act["co2_kg"].sum()) if len(act) and "co2_kg" in act else 0.0,
            None if grid is None else tuple(grid["kg_co2_per_kwh"].round(6)))


def run_hindcast(records: FleetRecords, *, series: FleetSeries | None = None) -> Hindcast:
    """Project from 31 Dec of every complete record year but the last to each later one; collect the errors.

    Computed once per content of the records (cached: the same records loaded twice hit the cache).
    """
    key = _fingerprint(records)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    series = series or fleet_series(records)
    cutoff = Cutoff.of_records(records)
    last = cutoff.complete_year
    years = [y for y in series.years if y <= last]
    observed = _observed(series)
    errors: list[HindcastError] = []
    coded = coded_vehicles(records)  # cut and projected from every origin: code the text columns once
    for origin in years[1:-1] if len(years) > 2 else []:
        at = Cutoff.at(pd.Timestamp(year=origin, month=12, day=31))
        past = records_at(coded, at)
        later = [y for y in years if y > origin]
        outlook = project(past, years=later, cutoff=at)
        errors += _errors(outlook, observed, origin, later)
    result = Hindcast(tuple(errors), last)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = result
    return result


def _observed(series: FleetSeries) -> dict[tuple[str, str | None, int], tuple[float, float] | float]:
    out: dict[tuple[str, str | None, int], tuple[float, float] | float] = {}
    frames: list[tuple[str | None, pd.DataFrame]] = [(None, series.city)]
    if len(series.counties):
        frames += [(str(code), rows) for code, rows in series.counties.groupby("county")]
    for area, frame in frames:
        for row in frame.to_dict("records"):
            y = int(row["year"])
            for ind in SHARE_INDICATORS:
                num, den = SHARE_COUNTS[ind]
                if den in row and row[den] and row[den] > 0:
                    out[(ind, area, y)] = (float(row[num]), float(row[den]))
            v = row.get(INTENSITY_INDICATOR)
            if v is not None and not pd.isna(v) and v > 0:
                out[(INTENSITY_INDICATOR, area, y)] = float(v)
    return out


def _errors(outlook: Outlook, observed: Mapping, origin: int, years: list[int]) -> list[HindcastError]:
    out = []
    for y in years:
        h = outlook.cutoff.years_to(y)
        for area in outlook.areas:
            for ind in SHARE_INDICATORS:
                proj = outlook.shares.get((ind, area, y))
                obs = observed.get((ind, area, y))
                if proj is None or obs is None or proj.denominator <= 0:
                    continue
                x, n = obs
                err = logit_counts(x, n) - logit_counts(proj.numerator, proj.denominator)
                out.append(HindcastError(ind, area, origin, y, h, proj.value, x / n, err))
            p = outlook.intensity.get((area, y))
            o = observed.get((INTENSITY_INDICATOR, area, y))
            if p is not None and p.value and o:
                out.append(HindcastError(INTENSITY_INDICATOR, area, origin, y, h, p.value, o,
                                         math.log(o) - math.log(p.value)))
    return out
