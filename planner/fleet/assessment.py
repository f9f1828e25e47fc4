"""Assessing the fleet targets on the records: observed values, projection, status and gap of each.

Method (the same for the terminal, the JSON and the report):

- Shares are projected with the logistic trend of ``trend.py`` over every year with data up to the
  assessment year; the interval is its ``INTERVAL_LEVEL`` (80 %) band at the target year.
- The intensity ratio is projected with the log-linear trend of ``trend.py``; the change is
  ``projection / baseline - 1`` with the observed baseline-year intensity.
- A projected share counts as meeting a target when it is within half a vehicle of it (the logistic
  curve only approaches 100 %, a fleet reaches it).

Status rules (``comparison`` decides which side of the interval is the pessimistic one):

- ``met``: the observed value of the assessment year already meets the target (after the target
  year: the value observed in the target year did).
- ``on track``: the projection and the pessimistic end of its interval meet the target.
- ``at risk``: the projection meets the target but the pessimistic end does not, or the projection
  misses but the optimistic end meets it (the target lies inside the interval).
- ``off track``: the whole interval misses the target, or the target year has passed unmet.
- ``no data``: fewer than ``MIN_YEARS_FOR_TREND`` years with data (or no baseline), so no projection.

For a target with county scope (``城乡全覆盖``) the city and each county are assessed alike and the
target's status is the worst of them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner.fleet.indicators import FleetSeries, fleet_series
from planner.fleet.records import FleetRecords
from planner.fleet.targets import (
    SHARE_COUNTS,
    Comparison,
    Kind,
    Target,
    TargetSet,
)
from planner.fleet.trend import (
    INTERVAL_LEVEL,
    MIN_YEARS_FOR_TREND,
    fit_logistic_share,
    fit_loglinear,
)

Status = Literal["met", "on track", "at risk", "off track", "no data"]
MET: Status = "met"
ON_TRACK: Status = "on track"
AT_RISK: Status = "at risk"
OFF_TRACK: Status = "off track"
NO_DATA: Status = "no data"
#: Statuses from best to worst; a county-scope target takes the worst of its city and counties.
STATUS_ORDER: tuple[Status, ...] = (MET, ON_TRACK, AT_RISK, OFF_TRACK)
#: Flow shares: the expected additions per year are the mean of this many latest years.
ADDITIONS_WINDOW_YEARS = 3


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ShareObservation:
    """A share observed in one year, with the counts it is made of."""

    year: int
    value: float
    numerator: int
    denominator: int

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "value": self.value, "numerator": self.numerator, "denominator": self.denominator}


@dataclass(frozen=True)
class IntensityObservation:
    """An intensity observed in one year and its change against the baseline year (``value``)."""

    year: int
    value: float
    intensity: float

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "value": self.value, "intensity": self.intensity}


Observation = ShareObservation | IntensityObservation


@dataclass(frozen=True)
class Count:
    """The numerator and denominator of a share."""

    numerator: int
    denominator: int

    def to_dict(self) -> dict[str, int]:
        return {"numerator": self.numerator, "denominator": self.denominator}


@dataclass(frozen=True)
class Projection:
    """The value expected in the target year and its interval (an observed value when the year has passed).

    ``intensity``: for an intensity ratio, the projected intensity itself (kg CO2 per converted t·km).
    """

    year: int
    value: float
    low: float
    high: float
    level: float
    method: str
    intensity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"year": self.year, "value": self.value, "low": self.low, "high": self.high,
                               "level": self.level, "method": self.method}
        if self.intensity is not None:
            out["intensity"] = self.intensity
        return out


@dataclass(frozen=True)
class PathPoint:
    """One year of the projected trend and its interval (for the charts)."""

    year: int
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Gap:
    """What is left to do: vehicles to switch (stock shares), NE additions (flow shares) or t CO2 to cut."""

    vehicles_per_year: float | None
    vehicles_total: int | None
    co2_t: float | None
    years_left: int
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"vehicles_per_year": self.vehicles_per_year, "vehicles_total": self.vehicles_total,
                "co2_t": self.co2_t, "years_left": self.years_left, "basis": self.basis}


@dataclass(frozen=True)
class Clause:
    """Where a target comes from: the clause, its document, the quote and how evplan reads it."""

    number: str
    document: str
    quote_zh: str
    gloss_en: str
    interpretation: str

    def to_dict(self) -> dict[str, str]:
        return {"number": self.number, "document": self.document, "quote_zh": self.quote_zh,
                "gloss_en": self.gloss_en, "interpretation": self.interpretation}


@dataclass(frozen=True)
class Trajectory:
    """One area's (the city's or a county's) assessment of a target.

    The intensity fields are set for an intensity ratio only (``target_intensity`` once the baseline
    year has data).
    """

    kind: Kind
    observed: tuple[Observation, ...]
    latest_year: int | None
    latest_value: float | None
    latest_count: Count | None
    projection: Projection | None
    projection_path: tuple[PathPoint, ...]
    status: Status
    status_reason: str
    gap: Gap
    latest_intensity: float | None = None
    baseline_intensity: float | None = None
    target_intensity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "observed": [o.to_dict() for o in self.observed],
            "latest_year": self.latest_year,
            "latest_value": self.latest_value,
            "latest_count": None if self.latest_count is None else self.latest_count.to_dict(),
        }
        if self.kind == "intensity ratio":
            out["latest_intensity"] = self.latest_intensity
            out["baseline_intensity"] = self.baseline_intensity
        out |= {
            "projection": None if self.projection is None else self.projection.to_dict(),
            "projection_path": [p.to_dict() for p in self.projection_path],
            "status": self.status,
            "status_reason": self.status_reason,
            "gap": self.gap.to_dict(),
        }
        if self.kind == "intensity ratio" and self.baseline_intensity is not None:
            out["target_intensity"] = self.target_intensity
        return out


@dataclass(frozen=True)
class CountyAssessment:
    """A county-scope target assessed for one county."""

    county_code: str
    county_name: str
    result: Trajectory

    def to_dict(self) -> dict[str, Any]:
        return {"county_code": self.county_code, "county_name": self.county_name} | self.result.to_dict()


@dataclass(frozen=True)
class Assessment:
    """One target assessed on the records: the target, the city's trajectory and, by county scope, each county's.

    ``status`` and ``status_reason`` are the target's: for a county-scope target the worst of the city
    and its counties (``result.status`` is then the city's own).
    """

    target: Target
    assessment_year: int
    result: Trajectory
    status: Status
    status_reason: str
    counties: tuple[CountyAssessment, ...] = ()

    @property
    def id(self) -> str:
        return self.target.id

    @property
    def indicator(self) -> str:
        return self.target.indicator

    @property
    def kind(self) -> Kind:
        return self.target.kind

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the API's ``/fleet/targets`` items and the report's ``targets``)."""
        t = self.target
        clause = Clause(t.clause, t.document, t.quote_zh, t.gloss_en, t.interpretation)
        out: dict[str, Any] = {
            "id": t.id, "indicator": t.indicator, "kind": t.kind, "scope": t.scope, "target_value": t.value,
            "comparison": t.comparison, "tolerance": t.tolerance, "target_year": t.year,
            "baseline_year": t.baseline_year, "clause": clause.to_dict(), "assessment_year": self.assessment_year,
        } | self.result.to_dict()
        out["status"], out["status_reason"] = self.status, self.status_reason
        if t.scope == "county":
            out["counties"] = [c.to_dict() for c in self.counties]
            out["city_status"] = self.result.status
        return out


# ------------------------------------------------------------------------------------------ assessing


def assess_targets(records: FleetRecords, *, targets: Sequence[Target] | TargetSet, year: int | None = None,
                   series: FleetSeries | None = None) -> list[Assessment]:
    """Assess each target on the fleet records.

    Parameters
    ----------
    records
        ``FleetRecords`` (vehicles, activity, …).
    targets
        Targets or a whole ``TargetSet`` (whose county names are used).
    year
        Assessment year (stock on 31 Dec); default the latest year in the records. Only years up to it
        enter the trends, so an earlier year shows what could have been known then. A year outside
        the records is a ``RecordError``.
    series
        The records' ``fleet_series``, when the caller has it already (it is not computed again).
    """
    target_set = _as_target_set(targets)
    full = series if series is not None else fleet_series(records)
    return assess_series(full.up_to(year).with_county_names(target_set.counties), target_set.targets)


def _as_target_set(targets: Sequence[Target] | TargetSet) -> TargetSet:
    if isinstance(targets, TargetSet):
        return targets
    return TargetSet(path="", plan={}, counties={}, targets=tuple(targets))


def assess_series(series: FleetSeries, targets: Iterable[Target]) -> list[Assessment]:
    """Assess targets on a series, at its last year (see ``assess_targets``)."""
    return [_assess_one(series, t) for t in targets]


def _assess_one(series: FleetSeries, target: Target) -> Assessment:
    year = series.assessment_year
    if target.kind == "intensity ratio":
        city = _assess_intensity(target, series.city, year)
        return Assessment(target, year, city, city.status, city.status_reason)
    num_col, den_col = SHARE_COUNTS[target.indicator]
    city = _assess_share(target, _counts(series.city, num_col, den_col), year)
    if target.scope != "county":
        return Assessment(target, year, city, city.status, city.status_reason)
    counties = []
    for code, name in series.county_names.items():
        rows = series.counties[series.counties["county"] == code] if len(series.counties) else series.counties
        counties.append(CountyAssessment(code, name, _assess_share(target, _counts(rows, num_col, den_col), year)))
    status, reason = _worst(city, counties)
    return Assessment(target, year, city, status, reason, tuple(counties))


def _counts(frame: pd.DataFrame, num_col: str, den_col: str) -> pd.DataFrame:
    if frame.empty or num_col not in frame or den_col not in frame:
        return pd.DataFrame({"year": pd.Series(dtype=int), "numerator": pd.Series(dtype=float),
                             "denominator": pd.Series(dtype=float)})
    out = pd.DataFrame({
        "year": frame["year"].astype(int).to_numpy(),
        "numerator": pd.to_numeric(frame[num_col], errors="coerce").fillna(0).astype(float).to_numpy(),
        "denominator": pd.to_numeric(frame[den_col], errors="coerce").fillna(0).astype(float).to_numpy(),
    })
    return out.sort_values("year").reset_index(drop=True)


def _worst(city: Trajectory, counties: list[CountyAssessment]) -> tuple[Status, str]:
    parts = [("city", city)] + [(c.county_name, c.result) for c in counties]
    ranked = [(STATUS_ORDER.index(p.status), label, p) for label, p in parts if p.status in STATUS_ORDER]
    if not ranked:
        return NO_DATA, "no data for the city or any county"
    worst_rank = max(r for r, _, _ in ranked)
    worst = STATUS_ORDER[worst_rank]
    laggards = [label for r, label, _ in ranked if r == worst_rank and label != "city"]
    no_data = [label for label, p in parts if p.status == NO_DATA]
    reason = f"city {city.status}"
    if worst != city.status and laggards:
        reason += f"; {worst}: " + ", ".join(laggards)
    if no_data:
        reason += "; no data: " + ", ".join(no_data)
    return worst, reason + " — " + city.status_reason


def _assess_share(target: Target, counts: pd.DataFrame, year: int) -> Trajectory:
    data = counts[(counts["denominator"] > 0) & (counts["year"] <= year)]
    observed = tuple(ShareObservation(int(r.year), float(r.numerator / r.denominator), int(round(r.numerator)),
                                      int(round(r.denominator))) for r in data.itertuples())
    if not observed:
        counted = SHARE_COUNTS[target.indicator][1].replace("_", " ")
        return Trajectory(target.kind, (), None, None, None, None, (), NO_DATA,
                          f"no {counted} in the records up to {year}", _empty_gap(target, year))
    latest = observed[-1]
    if target.kind == "stock share":
        expected_denominator = float(latest.denominator)
    else:
        expected_denominator = float(np.mean([o.denominator for o in observed[-ADDITIONS_WINDOW_YEARS:]]))
    slack = 0.5 / expected_denominator  # half a vehicle

    projection: Projection | None = None
    path: tuple[PathPoint, ...] = ()
    if target.year <= year:
        at_target = next((o for o in observed if o.year == target.year), latest)
        value = at_target.value
        projection = Projection(target.year, value, value, value, INTERVAL_LEVEL, f"observed in {at_target.year}")
        ok = target.meets(value)
        status: Status = MET if ok else OFF_TRACK
        reason = (f"target year {target.year} reached: observed {format_percent(value)} "
                  f"{'meets' if ok else 'misses'} the target {_goal(target, format_percent)}")
    else:
        try:
            fit = fit_logistic_share(data["year"], data["numerator"], data["denominator"])
        except ValueError:
            fit = None
        if fit is not None:
            mid, low, high = fit.band(target.year)
            projection = Projection(target.year, mid, low, high, INTERVAL_LEVEL, fit.description)
            path = tuple(PathPoint(y, *fit.band(y)) for y in range(latest.year, target.year + 1))
        status, reason = _status(target, latest.value, projection, slack, fmt=format_percent, have_trend=fit is not None)
    gap = _share_gap(target, year, latest, projection, expected_denominator)
    return Trajectory(target.kind, observed, latest.year, latest.value, Count(latest.numerator, latest.denominator),
                      projection, path, status, reason, gap)


def _status(target: Target, latest: float, projection: Projection | None, slack: float, *,
            fmt: Callable[[float | None], str], have_trend: bool) -> tuple[Status, str]:
    goal = _goal(target, fmt)
    if target.meets(latest):
        return MET, f"already {fmt(latest)}, target {goal}"
    if not have_trend or projection is None:
        return NO_DATA, f"fewer than {MIN_YEARS_FOR_TREND} years with data: no projection"
    mid, low, high = projection.value, projection.low, projection.high
    pessimistic, optimistic = (high, low) if target.comparison == "<=" else (low, high)
    span = f"projected {fmt(mid)} ({fmt(low)} to {fmt(high)}), target {goal}"
    if target.meets(mid, slack=slack):
        if target.meets(pessimistic, slack=slack):
            return ON_TRACK, span + ": whole interval meets it"
        return AT_RISK, span + ": projection meets it, the pessimistic end does not"
    if target.meets(optimistic, slack=slack):
        return AT_RISK, span + ": projection misses it, the target is inside the interval"
    return OFF_TRACK, span + ": the whole interval misses it"


_SIGNS: dict[Comparison, str] = {">=": "≥", "<=": "≤", "≈": "≈"}


def _goal(target: Target, fmt: Callable[[float | None], str]) -> str:
    return f"{_SIGNS[target.comparison]} {fmt(target.value).replace('.0 %', ' %')} by {target.year}"


def _empty_gap(target: Target, year: int, basis: str = "") -> Gap:
    return Gap(None, None, None, max(target.year - year, 0), basis)


def _share_gap(target: Target, year: int, latest: ShareObservation, projection: Projection | None,
               expected_denominator: float) -> Gap:
    years_left = max(target.year - year, 0)
    if target.kind == "stock share":
        # vehicles of the class that must be NE on top of today's to reach the target share of today's stock
        needed = max(0, math.ceil(target.threshold * latest.denominator - latest.numerator - 1e-9))
        when = f"over the {years_left} year(s) to {target.year}" if years_left else "now: the target year has come"
        return Gap(needed / max(years_left, 1), needed, None, years_left,
                   f"{needed:,} of the {latest.denominator:,} vehicles in service at the end of "
                   f"{latest.year} must still switch to new energy, {when}")
    if projection is None:
        return _empty_gap(target, year, "no projection, so no gap")
    shortfall = max(0.0, target.threshold - projection.value)
    if shortfall == 0:
        basis = f"the projection for {target.year} meets the target: no extra NE additions needed"
    else:
        basis = (f"({format_percent(target.threshold)} needed − {format_percent(projection.value)} projected for "
                 f"{target.year}) × {expected_denominator:,.0f} additions per year (mean of the latest "
                 f"{ADDITIONS_WINDOW_YEARS} years) = extra NE additions per year")
    return Gap(shortfall * expected_denominator, None, None, years_left, basis)


def _assess_intensity(target: Target, city: pd.DataFrame, year: int) -> Trajectory:
    col = target.indicator
    frame = city[["year", col] + [c for c in ("converted_turnover_tkm", "operating_co2_t") if c in city]].copy()
    frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame = frame[(frame["year"] <= year) & frame[col].notna() & (frame[col] > 0)].sort_values("year")
    base = frame[frame["year"] == target.baseline_year]
    if base.empty:
        return Trajectory(target.kind, (), None, None, None, None, (), NO_DATA,
                          f"no {col} for the baseline year {target.baseline_year}", _empty_gap(target, year))
    base_intensity = float(base[col].iloc[0])

    def change(intensity: float) -> float:
        return intensity / base_intensity - 1.0

    observed = tuple(IntensityObservation(int(r["year"]), float(r[col]) / base_intensity - 1.0, float(r[col]))
                     for _, r in frame.iterrows())
    latest = observed[-1]
    projection: Projection | None = None
    path: tuple[PathPoint, ...] = ()
    projected_intensity: float | None = None
    signed = lambda v: format_percent(v, signed=True)  # noqa: E731
    if target.year <= year:
        at_target = next((o for o in observed if o.year == target.year), latest)
        projected_intensity = at_target.intensity
        value = at_target.value
        projection = Projection(target.year, value, value, value, INTERVAL_LEVEL, f"observed in {at_target.year}",
                                intensity=projected_intensity)
        ok = target.meets(value)
        status: Status = MET if ok else OFF_TRACK
        reason = (f"target year {target.year} reached: change {format_percent(value, signed=True)} "
                  f"{'meets' if ok else 'misses'} the target {_goal(target, signed)}")
    else:
        try:
            fit = fit_loglinear(frame["year"], frame[col])
        except ValueError:
            fit = None
        if fit is not None:
            mid, low, high = fit.band(target.year)
            projected_intensity = mid
            projection = Projection(target.year, change(mid), change(low), change(high), INTERVAL_LEVEL,
                                    fit.description, intensity=mid)
            path = tuple(PathPoint(y, change(m), change(lo), change(hi))
                         for y in range(latest.year, target.year + 1) for m, lo, hi in [fit.band(y)])
        status, reason = _status(target, latest.value, projection, 0.0, fmt=signed, have_trend=fit is not None)
    target_intensity = base_intensity * (1.0 + target.threshold)
    turnover = frame["converted_turnover_tkm"].iloc[-1] if "converted_turnover_tkm" in frame else None
    gap = _empty_gap(target, year)
    if projected_intensity is not None and turnover is not None and pd.notna(turnover):
        co2_t = max(0.0, projected_intensity - target_intensity) * float(turnover) / 1000.0
        if co2_t == 0:
            basis = f"the projected intensity for {target.year} meets the target: no further cut needed"
        else:
            basis = (f"CO2 to cut in {target.year} = (projected {projected_intensity:.4g} − target "
                     f"{target_intensity:.4g} kg CO2 per converted t·km) × {float(turnover):,.0f} converted "
                     f"t·km (the turnover of {latest.year})")
        gap = Gap(None, None, co2_t, gap.years_left, basis)
    return Trajectory(target.kind, observed, latest.year, latest.value, None, projection, path, status, reason, gap,
                      latest_intensity=latest.intensity, baseline_intensity=base_intensity,
                      target_intensity=target_intensity)


# ------------------------------------------------------------------------------------------ describe


def format_percent(value: float | None, *, signed: bool = False) -> str:
    """A fraction as a reader sees it: ``97.0 %``, ``99.96 %`` near 100 %, ``+1.5 %`` when signed."""
    if value is None:
        return "–"
    if signed:
        return f"{100 * value:+.1f} %"
    if 0.995 <= value < 1.0:  # near 100 %: show that it is not there yet (99.96 %, not 100.0 %)
        return f"{min(100 * value, 99.99):.2f} %"
    return f"{100 * value:.1f} %"


def format_value(assessed: Mapping[str, Any], value: float | None) -> str:
    """A target's value as a reader sees it: a share in %, an intensity change in signed %."""
    return format_percent(value, signed=assessed.get("kind") == "intensity ratio")


def format_target(assessed: Mapping[str, Any]) -> str:
    """The target as a short phrase, e.g. ``≥ 100 % by 2025``."""
    sign = {">=": "≥", "<=": "≤", "≈": "≈"}[assessed["comparison"]]
    base = f" vs {assessed['baseline_year']}" if assessed.get("baseline_year") else ""
    value = format_value(assessed, assessed["target_value"]).replace(".0 %", " %")
    return f"{sign} {value}{base} by {assessed['target_year']}"


def format_gap(assessed: Mapping[str, Any]) -> str:
    """The gap as a short phrase: vehicles per year to switch, extra NE additions per year, or t CO2."""
    gap = assessed.get("gap") or {}
    if gap.get("co2_t") is not None:
        return f"cut {gap['co2_t']:,.0f} t CO2 in {assessed['target_year']}" if gap["co2_t"] > 0 else "none"
    per_year = gap.get("vehicles_per_year")
    if per_year is None:
        return "–"
    if per_year <= 0:
        return "none"
    if assessed.get("kind") == "stock share":
        if not gap.get("years_left"):
            return f"{gap['vehicles_total']:,} vehicles to switch now"
        return f"{per_year:,.1f} vehicles/yr to switch ({gap['vehicles_total']:,} in all)"
    return f"+{per_year:,.0f} NE additions/yr"


def format_projection(assessed: Mapping[str, Any]) -> str:
    """Projection with its interval, e.g. ``99.6 % (98.9–99.9)`` or ``-11.5 % (-12.2 to -10.8)``."""
    p = assessed.get("projection")
    if not p:
        return "–"
    if p["low"] == p["high"]:
        return format_value(assessed, p["value"])
    if assessed.get("kind") == "intensity ratio":
        low, high = (format_percent(p[k], signed=True).removesuffix(" %") for k in ("low", "high"))
        return f"{format_percent(p['value'], signed=True)} ({low} to {high})"
    fine = any(0.995 <= p[k] < 1.0 for k in ("value", "low", "high"))  # same precision on both ends
    low, mid, high = (f"{min(100 * p[k], 99.99 if p[k] < 1 else 100):.{2 if fine else 1}f}" for k in ("low", "value", "high"))
    return f"{mid} % ({low}–{high})"


def describe(assessed: Sequence[Assessment]) -> str:
    """The assessed targets as a terminal table, county rows indented under their target."""
    header = ("target", "latest", "target", "projection", "status", "gap per year")
    rows: list[tuple[str, ...]] = []
    for a in (x.to_dict() for x in assessed):
        latest = f"{format_value(a, a['latest_value'])} ({a['latest_year']})" if a["latest_year"] else "–"
        rows.append((a["id"], latest, format_target(a), format_projection(a), a["status"], format_gap(a)))
        for c in a.get("counties", []):
            c_full = {**a, **c}
            c_latest = f"{format_value(a, c['latest_value'])} ({c['latest_year']})" if c["latest_year"] else "–"
            rows.append((f"  {c['county_code']} {c['county_name']}", c_latest, "", format_projection(c_full),
                         c["status"], format_gap(c_full)))
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(v, w) for v, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if assessed:
        year = assessed[0].assessment_year
        lines.append(f"assessed on the records to 31 Dec {year}; projections: {int(INTERVAL_LEVEL * 100)} % intervals")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
