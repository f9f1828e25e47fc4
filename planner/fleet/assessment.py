"""Assessing the fleet targets on the records: observed values, stock-turnover projection, status and levers.

Method (the same for the terminal, the JSON and the report):

- Every assessment states its data cut-off (``turnover.Cutoff``): stocks on the cut-off date, flows as
  the rolling 12 months to the last complete month.
- Projections come from the stock-turnover model of ``turnover.py`` under a stated additions scenario;
  the interval is the 80 % prediction interval for the target-year value, calibrated by hindcast
  (``hindcast.py``).
- A projected stock share counts as meeting a target when it is within half a vehicle of it.

Status rules (``comparison`` decides which side of the interval is the pessimistic one):

- ``met``: the target year has been observed and its value meets the target. A target year not yet
  observed is never met.
- ``on track``: the projection and the pessimistic end of its interval meet the target; or, for a stock
  share, every vehicle still to switch reaches its mandatory scrapping age by the end of the target
  year and the additions scenario keeps them from being replaced by others (met by natural turnover).
- ``at risk``: the projection meets the target but the pessimistic end does not, or the projection
  misses but the optimistic end meets it (the target lies inside the interval).
- ``off track``: the whole interval misses the target, or the target year has passed unmet.
- ``no data``: nothing counted, no baseline, or no projection.

For a target with county scope (``城乡全覆盖``) the city and each county are assessed alike and the
target's status is the worst of them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner.fleet.hindcast import (
    INTERVAL_LEVEL,
    Calibration,
    logit_counts,
    run_hindcast,
    share_from_logit,
)
from planner.fleet.indicators import FleetSeries, fleet_series
from planner.fleet.records import FleetRecords
from planner.fleet.schema import NE_POWERTRAINS
from planner.fleet.survival import SCRAPPING_AGE_YEARS, Survival, scrapping_date
from planner.fleet.targets import SHARE_COUNTS, Comparison, Kind, Target, TargetSet
from planner.fleet.turnover import (
    DEFAULT_SCENARIO,
    STOCK_CLASS,
    AdditionsScenario,
    Cutoff,
    Outlook,
    project,
    records_at,
)

Status = Literal["met", "on track", "at risk", "off track", "no data"]
MET: Status = "met"
ON_TRACK: Status = "on track"
AT_RISK: Status = "at risk"
OFF_TRACK: Status = "off track"
NO_DATA: Status = "no data"
#: Statuses from best to worst; a county-scope target takes the worst of its city and counties.
STATUS_ORDER: tuple[Status, ...] = (MET, ON_TRACK, AT_RISK, OFF_TRACK)
#: The operator of a vehicle whose records name none (the report words it in its language).
OPERATOR_NOT_RECORDED = "(operator not recorded)"


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ShareObservation:
    """A share observed in one year (stock on 31 Dec, additions over the year), with its counts."""

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
    """The value expected in the target year and its prediction interval (observed when the year has passed).

    ``value`` is the centre of the prediction: the scenario's projection (``scenario_value``) moved by the
    median hindcast error, so that it lies inside its interval. ``intensity``: for an intensity ratio, the
    predicted intensity itself (kg CO2 per converted t·km).
    """

    year: int
    value: float
    low: float
    high: float
    level: float
    method: str
    intensity: float | None = None
    scenario_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"year": self.year, "value": self.value, "low": self.low, "high": self.high,
                               "level": self.level, "method": self.method}
        if self.scenario_value is not None:
            out["scenario_value"] = self.scenario_value
        if self.intensity is not None:
            out["intensity"] = self.intensity
        return out


@dataclass(frozen=True)
class PathPoint:
    """One year of the projection and its interval (for the charts)."""

    year: int
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Gap:
    """What is left to do, as levers a manager can pull.

    Stock share: ``ne_share_of_additions_needed`` (NE share of every addition from now to the target
    year that reaches the target), ``last_non_ne_retires_on`` (the day the last non-NE vehicle in service
    reaches its scrapping age; None without an age limit) and ``vehicles_total`` (non-NE vehicles in service
    now). Flow share: ``vehicles_per_year`` = extra NE additions per year. Intensity: ``co2_t`` to cut.
    """

    vehicles_per_year: float | None
    vehicles_total: int | None
    co2_t: float | None
    years_left: int
    basis: str
    ne_share_of_additions_needed: float | None = None
    last_non_ne_retires_on: str | None = None
    early_retirements_needed: int | None = None
    by_turnover: bool = False
    ne_share_of_additions_last_12_months: float | None = None
    scrapping_age_years: float | None = None
    vehicle_class: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"vehicles_per_year": self.vehicles_per_year, "vehicles_total": self.vehicles_total,
                "co2_t": self.co2_t, "years_left": self.years_left, "basis": self.basis,
                "ne_share_of_additions_needed": self.ne_share_of_additions_needed,
                "last_non_ne_retires_on": self.last_non_ne_retires_on,
                "early_retirements_needed": self.early_retirements_needed, "by_turnover": self.by_turnover,
                "ne_share_of_additions_last_12_months": self.ne_share_of_additions_last_12_months,
                "scrapping_age_years": self.scrapping_age_years, "vehicle_class": self.vehicle_class}


@dataclass(frozen=True)
class Clause:
    """Where a target comes from: the clause, its document, the quote and how evplan reads it."""

    number: str
    document: str
    quote_zh: str
    gloss_en: str
    interpretation: str
    interpretation_zh: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"number": self.number, "document": self.document, "quote_zh": self.quote_zh,
                "gloss_en": self.gloss_en, "interpretation": self.interpretation,
                "interpretation_zh": self.interpretation_zh}


@dataclass(frozen=True)
class Trajectory:
    """One area's (the city's or a county's) assessment of a target.

    ``latest_*`` are the values at the data cut-off (stock on its date, flows over its 12 months, the
    intensity of the latest activity year). The intensity fields are set for an intensity ratio only.
    ``reason_case`` names which status rule applied (``REASON_CASES``), so that the reason can be worded
    in any language from the figures.
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
    reason_case: str = ""

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
            "reason_case": self.reason_case,
            "gap": self.gap.to_dict(),
        }
        if self.kind == "intensity ratio" and self.baseline_intensity is not None:
            out["target_intensity"] = self.target_intensity
        return out


@dataclass(frozen=True)
class CountyAssessment:
    """A county-scope target assessed for one county, named in Chinese and English (``TargetSet.counties``)."""

    county_code: str
    county_name: str
    result: Trajectory
    county_name_en: str = ""

    @property
    def name_en(self) -> str:
        """The county's English name (its only name when the targets file gives one)."""
        return self.county_name_en or self.county_name

    def to_dict(self) -> dict[str, Any]:
        return {"county_code": self.county_code, "county_name": self.county_name,
                "county_name_en": self.name_en} | self.result.to_dict()


@dataclass(frozen=True)
class OperatorCount:
    """Non-NE vehicles of one operator (and county) still in service at the cut-off."""

    operator: str
    county_code: str
    vehicles: int
    last_scrapping_on: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "county_code": self.county_code, "vehicles": self.vehicles,
                "last_scrapping_on": self.last_scrapping_on}


@dataclass(frozen=True)
class Assessment:
    """One target assessed on the records: the target, the city's trajectory and, by county scope, each county's.

    ``status`` and ``status_reason`` are the target's: for a county-scope target the worst of the city
    and its counties (``result.status`` is then the city's own). ``cutoff`` is the data cut-off;
    ``operators`` lists who still runs non-NE vehicles of a stock-share target's class.
    """

    target: Target
    assessment_year: int
    result: Trajectory
    status: Status
    status_reason: str
    counties: tuple[CountyAssessment, ...] = ()
    cutoff: Cutoff | None = None
    scenario: str = ""
    operators: tuple[OperatorCount, ...] = field(default=())

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
        clause = Clause(t.clause, t.document, t.quote_zh, t.gloss_en, t.interpretation, t.interpretation_zh)
        out: dict[str, Any] = {
            "id": t.id, "indicator": t.indicator, "kind": t.kind, "scope": t.scope, "target_value": t.value,
            "comparison": t.comparison, "tolerance": t.tolerance, "target_year": t.year,
            "baseline_year": t.baseline_year, "clause": clause.to_dict(), "assessment_year": self.assessment_year,
            "data_cutoff": None if self.cutoff is None else self.cutoff.to_dict(), "scenario": self.scenario,
        } | self.result.to_dict()
        out["status"], out["status_reason"] = self.status, self.status_reason
        if t.scope == "county":
            out["counties"] = [c.to_dict() for c in self.counties]
            out["city_status"] = self.result.status
        if t.kind == "stock share":
            out["operators_to_switch"] = [o.to_dict() for o in self.operators]
        return out


# ------------------------------------------------------------------------------------------ assessing


@dataclass(frozen=True, eq=False)
class _Context:
    series: FleetSeries
    outlook: Outlook
    calibration: Calibration
    cutoff: Cutoff
    records: FleetRecords
    #: class -> its non-NE vehicles in service at the cut-off (filled by ``_non_ne_in_stock``).
    non_ne_stock: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: County code -> English name (``series.county_names`` holds the Chinese ones).
    county_names_en: Mapping[str, str] = field(default_factory=dict)


def assess_targets(records: FleetRecords, *, targets: Sequence[Target] | TargetSet, year: int | None = None,
                   series: FleetSeries | None = None, scenario: AdditionsScenario = DEFAULT_SCENARIO,
                   survival: Mapping[str, Survival] | None = None) -> list[Assessment]:
    """Assess each target on the fleet records.

    Parameters
    ----------
    records
        ``FleetRecords`` (vehicles, activity, …).
    targets
        Targets or a whole ``TargetSet`` (whose county names are used).
    year
        Assessment year: the records are cut at 31 Dec of it, as they stood then (default: the records'
        own cut-off). A year outside the records is a ``RecordError``.
    series
        The records' ``fleet_series``, when the caller has it already (it is not computed again).
    scenario
        The additions scenario of the projection (default: the last 12 months' NE share continues).
    survival
        Survival curves per class (default: fitted to the records, ``survival.fit_survival``).
    """
    target_set = _as_target_set(targets)
    full = series if series is not None else fleet_series(records)
    cutoff = Cutoff.of_records(records)
    recs = records
    if year is not None:
        full.up_to(year)  # refuses a year outside the records
        if pd.Timestamp(year=int(year), month=12, day=31) < cutoff.date:
            cutoff = Cutoff.at(pd.Timestamp(year=int(year), month=12, day=31))
            recs = records_at(records, cutoff)
    last_complete = cutoff.complete_year
    cut_series = full.up_to(min(last_complete, full.years[-1]) if last_complete >= full.years[0] else None)
    cut_series = cut_series.with_county_names(target_set.counties)
    horizon = max([t.year for t in target_set.targets] + [cutoff.date.year + 1])
    outlook = project(recs, years=range(cutoff.date.year, horizon + 1), cutoff=cutoff, scenario=scenario,
                      survival=survival)
    calibration = run_hindcast(records, series=full).calibration(by_year=last_complete)
    ctx = _Context(cut_series, outlook, calibration, cutoff, recs,
                   county_names_en=target_set.english_names(cut_series.county_names))
    return [_assess_one(ctx, t) for t in target_set.targets]


def _as_target_set(targets: Sequence[Target] | TargetSet) -> TargetSet:
    if isinstance(targets, TargetSet):
        return targets
    return TargetSet(path="", plan={}, counties={}, targets=tuple(targets))


def _assess_one(ctx: _Context, target: Target) -> Assessment:
    year = ctx.cutoff.complete_year
    scenario = ctx.outlook.scenario.name
    if target.kind == "intensity ratio":
        city = _assess_intensity(ctx, target, None)
        return Assessment(target, year, city, city.status, city.status_reason, cutoff=ctx.cutoff, scenario=scenario)
    city = _assess_share(ctx, target, None)
    operators = _operators(ctx, target) if target.kind == "stock share" else ()
    if target.scope != "county":
        return Assessment(target, year, city, city.status, city.status_reason, cutoff=ctx.cutoff, scenario=scenario)
    counties = [CountyAssessment(code, name, _assess_share(ctx, target, code), ctx.county_names_en.get(code, name))
                for code, name in ctx.series.county_names.items()]
    status, reason = _worst(city, counties)
    return Assessment(target, year, city, status, reason, tuple(counties), cutoff=ctx.cutoff, scenario=scenario,
                      operators=operators)


def _frame(ctx: _Context, area: str | None) -> pd.DataFrame:
    if area is None:
        return ctx.series.city
    c = ctx.series.counties
    return c[c["county"] == area] if len(c) else c


def _worst(city: Trajectory, counties: list[CountyAssessment]) -> tuple[Status, str]:
    parts = [("city", city)] + [(c.name_en, c.result) for c in counties]  # the reason is worded in English
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


def _share_interval(ctx: _Context, indicator: str, num: float, den: float,
                    year: int) -> tuple[float, float, float] | None:
    """(low, centre, high) of the prediction for a projected share: the scenario's counts plus the hindcast's offsets."""
    offsets = ctx.calibration.offsets(indicator, ctx.cutoff.years_to(year))
    if offsets is None or den <= 0:
        return None
    z = logit_counts(num, den)
    low, mid, high = (share_from_logit(z + o, den) for o in offsets)
    return low, mid, high


def _assess_share(ctx: _Context, target: Target, area: str | None) -> Trajectory:
    num_col, den_col = SHARE_COUNTS[target.indicator]
    frame = _frame(ctx, area)
    observed: tuple[ShareObservation, ...] = ()
    if len(frame) and den_col in frame:
        observed = tuple(ShareObservation(int(r["year"]), float(r[num_col]) / float(r[den_col]), int(r[num_col]),
                                          int(r[den_col]))
                         for r in frame.sort_values("year").to_dict("records")
                         if r.get(den_col) and r[den_col] > 0)
    now = ctx.outlook.now_shares.get((target.indicator, area))
    cutoff = ctx.cutoff
    years_left = max(target.year - cutoff.complete_year, 0)
    if now is None or now.denominator <= 0:
        counted = den_col.replace("_", " ")
        return Trajectory(target.kind, observed, None, None, None, None, (), NO_DATA,
                          f"no {counted} in the records to {cutoff.date.date()}", Gap(None, None, None, years_left, ""),
                          reason_case="no_counts")
    latest = Count(int(now.numerator), int(now.denominator))
    latest_value = float(now.value)
    if target.year <= cutoff.complete_year:  # the target year has been observed
        at_target = next((o for o in observed if o.year == target.year), None)
        value = at_target.value if at_target else latest_value
        projection = Projection(target.year, value, value, value, INTERVAL_LEVEL, f"observed in {target.year}")
        ok = target.meets(value)
        reason = (f"target year {target.year} observed: {format_percent(value)} "
                  f"{'meets' if ok else 'misses'} the target {_goal(target, format_percent)}")
        gap = _share_gap(ctx, target, area, latest, projection)
        return Trajectory(target.kind, observed, cutoff.complete_year, latest_value, latest, projection, (),
                          MET if ok else OFF_TRACK, reason, gap,
                          reason_case="observed_meets" if ok else "observed_misses")
    proj = ctx.outlook.shares.get((target.indicator, area, target.year))
    if proj is None or proj.denominator <= 0:
        return Trajectory(target.kind, observed, cutoff.complete_year, latest_value, latest, None, (), NO_DATA,
                          "no projection: nothing of this kind is left in service or added",
                          Gap(None, None, None, years_left, ""), reason_case="no_projection")
    scenario_mid = float(proj.value)
    interval = _share_interval(ctx, target.indicator, proj.numerator, proj.denominator, target.year)
    low, mid, high = interval if interval else (scenario_mid, scenario_mid, scenario_mid)
    method = (f"stock turnover ({ctx.outlook.scenario.name}); {int(INTERVAL_LEVEL * 100)} % prediction interval "
              "and its centre (the median past error) calibrated by hindcast"
              + ("" if interval else " (not calibrated: too few hindcast errors)"))
    projection = Projection(target.year, mid, low, high, INTERVAL_LEVEL, method, scenario_value=scenario_mid)
    path = []
    for y in range(cutoff.date.year + (1 if (cutoff.date.month, cutoff.date.day) == (12, 31) else 0), target.year + 1):
        p = ctx.outlook.shares.get((target.indicator, area, y))
        if p is None or p.denominator <= 0:
            continue
        iv = _share_interval(ctx, target.indicator, p.numerator, p.denominator, y) or (p.value,) * 3
        path.append(PathPoint(y, float(iv[1]), iv[0], iv[2]))
    path = [PathPoint(cutoff.complete_year, latest_value, latest_value, latest_value), *path]
    slack = 0.5 / proj.denominator if target.kind == "stock share" else 0.0
    gap = _share_gap(ctx, target, area, latest, projection)
    status, reason, case = _status(target, projection, slack, fmt=format_percent)
    if target.kind == "stock share" and gap.by_turnover and status != ON_TRACK:
        status, reason = ON_TRACK, "met by natural turnover — " + gap.basis
    elif gap.by_turnover:
        reason += "; met by natural turnover — " + gap.basis
    return Trajectory(target.kind, observed, cutoff.complete_year, latest_value, latest, projection, tuple(path),
                      status, reason, gap, reason_case=case)


#: The status rules a reason can name (``Trajectory.reason_case``); ``i18n`` words each one.
REASON_CASES = ("observed_meets", "observed_misses", "interval_meets", "pessimistic_misses", "target_inside",
                "interval_misses", "no_counts", "no_projection", "no_baseline", "no_activity")


def _status(target: Target, projection: Projection, slack: float, *,
            fmt: Callable[[float | None], str]) -> tuple[Status, str, str]:
    """Status of a projected target year, its reason in English and the rule that applied (``REASON_CASES``)."""
    goal = _goal(target, fmt)
    mid, low, high = projection.value, projection.low, projection.high
    pessimistic, optimistic = (high, low) if target.comparison == "<=" else (low, high)
    span = f"projected {fmt(mid)} ({fmt(low)} to {fmt(high)}), target {goal}"
    if target.meets(mid, slack=slack):
        if target.meets(pessimistic, slack=slack):
            return ON_TRACK, span + ": whole interval meets it", "interval_meets"
        return AT_RISK, span + ": projection meets it, the pessimistic end does not", "pessimistic_misses"
    if target.meets(optimistic, slack=slack):
        return AT_RISK, span + ": projection misses it, the target is inside the interval", "target_inside"
    return OFF_TRACK, span + ": the whole interval misses it", "interval_misses"


_SIGNS: dict[Comparison, str] = {">=": "≥", "<=": "≤", "≈": "≈"}


def _goal(target: Target, fmt: Callable[[float | None], str]) -> str:
    return f"{_SIGNS[target.comparison]} {fmt(target.value).replace('.0 %', ' %')} by {target.year}"


def _non_ne_in_stock(ctx: _Context, vclass: str, area: str | None) -> pd.DataFrame:
    """Non-NE vehicles of ``vclass`` in service at the cut-off, in ``area`` (found once per class)."""
    left = ctx.non_ne_stock.get(vclass)
    if left is None:
        v = ctx.records.vehicles
        d = ctx.cutoff.date
        m = ((v["vehicle_class"] == vclass) & (v["registered_on"] <= d) & ~(v["deregistered_on"] <= d)
             & ~v["powertrain"].isin(NE_POWERTRAINS))
        left = ctx.non_ne_stock[vclass] = v[m.to_numpy(dtype=bool)]
    if area is not None:
        return left[(left["county_code"].astype(str) == area).to_numpy(dtype=bool)]
    return left


def _share_gap(ctx: _Context, target: Target, area: str | None, latest: Count, projection: Projection) -> Gap:
    cutoff = ctx.cutoff
    years_left = max(target.year - cutoff.complete_year, 0)
    if target.kind == "stock share":
        vclass = STOCK_CLASS[target.indicator]
        left = _non_ne_in_stock(ctx, vclass, area)
        curve = ctx.outlook.survival.get(vclass)
        cap = curve.cap_years if curve is not None else SCRAPPING_AGE_YEARS.get(vclass)
        retires = None
        if cap is not None and len(left):
            retires = scrapping_date(left["registered_on"], cap).max().date().isoformat()
        if years_left == 0:
            n = latest.denominator - latest.numerator
            needed = max(0, math.ceil(target.threshold * latest.denominator - latest.numerator - 1e-9))
            return Gap(float(needed), needed, None, 0, f"{needed:,} of the {latest.denominator:,} vehicles in service "
                       f"on {cutoff.date.date()} must switch now ({n:,} non-NE left)", last_non_ne_retires_on=retires,
                       scrapping_age_years=cap, vehicle_class=vclass)
        ne_e, other_e, unit, _ = ctx.outlook.stock_parts.get((target.indicator, area, target.year), (0.0, 0.0, 0.0, 0.0))
        total = ne_e + other_e + unit
        theta = target.threshold
        slack = 0.5 / total if total > 0 else 0.0
        needed_share = None if unit <= 0 else max(0.0, ((theta - slack) * total - ne_e) / unit)
        early = None
        if needed_share is not None and needed_share > 1.0:
            early = max(0, math.ceil(other_e - (1 - theta + slack) * total - 1e-9))
        now_share_of_additions = _window_share(ctx, vclass, area)
        end = pd.Timestamp(year=target.year, month=12, day=31)
        all_go = len(left) == 0 or (retires is not None and pd.Timestamp(retires) <= end)
        by_turnover = (all_go and needed_share is not None and now_share_of_additions is not None
                       and now_share_of_additions >= min(needed_share, 1.0) - 1e-9 and theta > 0)
        parts = []
        if needed_share is not None:
            parts.append(f"NE share of additions needed from now to {target.year}: "
                         f"{format_percent(min(needed_share, 1.0))}" + (
                             f" (last 12 months: {format_percent(now_share_of_additions)})"
                             if now_share_of_additions is not None else ""))
        if retires is not None:
            parts.append(f"the last of the {len(left):,} non-NE {vclass} vehicles in service reaches its "
                         f"{cap:g}-year scrapping age on {retires}")
        elif len(left) == 0:
            parts.append(f"no non-NE {vclass} vehicle is left in service")
        if early:
            parts.append(f"even all-NE additions fall short: {early:,} non-NE vehicles must retire early")
        return Gap(None if needed_share is None else needed_share, len(left), None, years_left, "; ".join(parts),
                   ne_share_of_additions_needed=None if needed_share is None else min(needed_share, 1.0),
                   last_non_ne_retires_on=retires, early_retirements_needed=early, by_turnover=bool(by_turnover),
                   ne_share_of_additions_last_12_months=now_share_of_additions, scrapping_age_years=cap,
                   vehicle_class=vclass)
    additions = ctx.outlook.shares.get((target.indicator, area, target.year))
    per_year = additions.denominator if additions is not None else float(latest.denominator)
    shortfall = max(0.0, target.threshold - projection.value)
    if shortfall == 0:
        basis = f"the projection for {target.year} meets the target: no extra NE additions needed"
    else:
        basis = (f"({format_percent(target.threshold)} needed − {format_percent(projection.value)} projected for "
                 f"{target.year}) × {per_year:,.0f} additions per year (the last 12 months) = extra NE additions "
                 "per year")
    return Gap(shortfall * per_year, None, None, years_left, basis)


def _window_share(ctx: _Context, vclass: str, area: str | None) -> float | None:
    total, ne = ctx.outlook.window_additions.get((area, vclass), (0, 0))
    return None if total == 0 else ne / total


def _operators(ctx: _Context, target: Target) -> tuple[OperatorCount, ...]:
    vclass = STOCK_CLASS[target.indicator]
    left = _non_ne_in_stock(ctx, vclass, None)
    if left.empty:
        return ()
    if "operator" in left.columns:
        names = left["operator"].fillna("").astype(str).replace("", OPERATOR_NOT_RECORDED)
    elif "depot_id" in left.columns and len(ctx.records.depots) and "operator" in ctx.records.depots:
        by_depot = dict(zip(ctx.records.depots["depot_id"].astype(str), ctx.records.depots["operator"].astype(str),
                            strict=True))
        names = left["depot_id"].astype(str).map(lambda d: by_depot.get(d) or OPERATOR_NOT_RECORDED)
    else:
        names = pd.Series([OPERATOR_NOT_RECORDED] * len(left), index=left.index)
    curve = ctx.outlook.survival.get(vclass)
    cap = curve.cap_years if curve is not None else SCRAPPING_AGE_YEARS.get(vclass)
    frame = pd.DataFrame({"operator": names.to_numpy(), "county": left["county_code"].astype(str).to_numpy(),
                          "scraps_on": scrapping_date(left["registered_on"], cap).to_numpy() if cap is not None
                          else pd.NaT})
    groups = frame.groupby(["operator", "county"], sort=True)["scraps_on"].agg(["size", "max"])
    return tuple(OperatorCount(str(op), str(cty), int(row["size"]),
                               None if pd.isna(row["max"]) else pd.Timestamp(row["max"]).date().isoformat())
                 for (op, cty), row in groups.iterrows())


def _assess_intensity(ctx: _Context, target: Target, area: str | None) -> Trajectory:
    col = target.indicator
    frame = _frame(ctx, area)
    years_left = max(target.year - ctx.cutoff.complete_year, 0)
    rows = frame[["year", col, *[c for c in ("converted_turnover_tkm",) if c in frame]]].copy() if len(frame) \
        else pd.DataFrame(columns=["year", col])
    rows[col] = pd.to_numeric(rows[col], errors="coerce")
    rows = rows[rows[col].notna() & (rows[col] > 0)].sort_values("year")
    base = rows[rows["year"] == target.baseline_year]
    if base.empty:
        return Trajectory(target.kind, (), None, None, None, None, (), NO_DATA,
                          f"no {col} for the baseline year {target.baseline_year}", Gap(None, None, None, years_left, ""),
                          reason_case="no_baseline")
    base_intensity = float(base[col].iloc[0])
    observed = tuple(IntensityObservation(int(r["year"]), float(r[col]) / base_intensity - 1.0, float(r[col]))
                     for _, r in rows.iterrows())
    latest = observed[-1]
    target_intensity = base_intensity * (1.0 + target.threshold)
    signed = lambda v: format_percent(v, signed=True)
    turnover = float(rows["converted_turnover_tkm"].iloc[-1]) if "converted_turnover_tkm" in rows else None
    if target.year <= ctx.cutoff.complete_year:
        at_target = next((o for o in observed if o.year == target.year), latest)
        projection = Projection(target.year, at_target.value, at_target.value, at_target.value, INTERVAL_LEVEL,
                                f"observed in {at_target.year}", intensity=at_target.intensity)
        ok = target.meets(at_target.value)
        reason = (f"target year {target.year} observed: change {signed(at_target.value)} "
                  f"{'meets' if ok else 'misses'} the target {_goal(target, signed)}")
        return Trajectory(target.kind, observed, latest.year, latest.value, None, projection, (),
                          MET if ok else OFF_TRACK, reason, Gap(None, None, 0.0, 0, ""),
                          latest_intensity=latest.intensity, baseline_intensity=base_intensity,
                          target_intensity=target_intensity, reason_case="observed_meets" if ok else "observed_misses")
    proj = ctx.outlook.intensity.get((area, target.year))
    if proj is None or not proj.value:
        return Trajectory(target.kind, observed, latest.year, latest.value, None, None, (), NO_DATA,
                          "no activity to project", Gap(None, None, None, years_left, ""),
                          latest_intensity=latest.intensity, baseline_intensity=base_intensity,
                          target_intensity=target_intensity, reason_case="no_activity")

    def interval(value: float, year: int) -> tuple[float, float, float]:
        o = ctx.calibration.offsets(col, ctx.cutoff.years_to(year))
        return (value, value, value) if o is None else tuple(value * math.exp(x) for x in o)  # type: ignore[return-value]

    scenario_mid = float(proj.value)
    lo_i, mid, hi_i = interval(scenario_mid, target.year)
    projection = Projection(target.year, mid / base_intensity - 1, lo_i / base_intensity - 1, hi_i / base_intensity - 1,
                            INTERVAL_LEVEL, f"stock turnover at the latest activity and energy per vehicle "
                            f"({ctx.outlook.scenario.name}); grid factor by year; {int(INTERVAL_LEVEL * 100)} % "
                            "prediction interval and its centre (the median past error) calibrated by hindcast",
                            intensity=mid, scenario_value=scenario_mid / base_intensity - 1)
    path = [PathPoint(latest.year, latest.value, latest.value, latest.value)]
    for y in range(latest.year + 1, target.year + 1):
        p = ctx.outlook.intensity.get((area, y))
        if p is None or not p.value:
            continue
        lo, centre, hi = interval(float(p.value), y)
        path.append(PathPoint(y, centre / base_intensity - 1, lo / base_intensity - 1, hi / base_intensity - 1))
    status, reason, case = _status(target, projection, 0.0, fmt=signed)
    co2_t = None
    basis = ""
    if turnover is not None and np.isfinite(turnover):
        co2_t = max(0.0, mid - target_intensity) * float(proj.converted_tkm) / 1000.0
        basis = (f"the projected intensity for {target.year} meets the target: no further cut needed"
                 if co2_t == 0 else
                 f"CO2 to cut in {target.year} = (projected {mid:.4g} − target {target_intensity:.4g} kg CO2 per "
                 f"converted t·km) × {proj.converted_tkm:,.0f} projected converted t·km; see the decomposition "
                 "for where the change since the baseline came from")
    return Trajectory(target.kind, observed, latest.year, latest.value, None, projection, tuple(path), status, reason,
                      Gap(None, None, co2_t, years_left, basis), latest_intensity=latest.intensity,
                      baseline_intensity=base_intensity, target_intensity=target_intensity, reason_case=case)


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
    """The lever as a short phrase: NE share of additions needed, extra NE additions per year, or t CO2."""
    gap = assessed.get("gap") or {}
    if gap.get("co2_t") is not None:
        return f"cut {gap['co2_t']:,.0f} t CO2 in {assessed['target_year']}" if gap["co2_t"] > 0 else "none"
    if assessed.get("kind") == "stock share":
        if not gap.get("years_left"):
            total = gap.get("vehicles_total")
            return "none" if not total else f"{total:,} vehicles to switch now"
        need = gap.get("ne_share_of_additions_needed")
        parts = []
        if gap.get("by_turnover"):
            parts.append("met by natural turnover")
        if need is not None:
            parts.append(f"NE share of additions ≥ {format_percent(need)}")
        if gap.get("last_non_ne_retires_on"):
            parts.append(f"last non-NE retires {gap['last_non_ne_retires_on']}")
        if gap.get("early_retirements_needed"):
            parts.append(f"{gap['early_retirements_needed']:,} early retirements")
        return "; ".join(parts) or "–"
    per_year = gap.get("vehicles_per_year")
    if per_year is None:
        return "–"
    if per_year <= 0:
        return "none"
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
    """The assessed targets as a terminal table in English, county rows (English names) under their target."""
    header = ("target", "latest", "target", "projection", "status", "gap per year")
    rows: list[tuple[str, ...]] = []
    for a in (x.to_dict() for x in assessed):
        latest = f"{format_value(a, a['latest_value'])} ({a['latest_year']})" if a["latest_year"] else "–"
        rows.append((a["id"], latest, format_target(a), format_projection(a), a["status"], format_gap(a)))
        for c in a.get("counties", []):
            c_full = {**a, **c}
            c_latest = f"{format_value(a, c['latest_value'])} ({c['latest_year']})" if c["latest_year"] else "–"
            name = c.get("county_name_en") or c["county_name"]
            rows.append((f"  {c['county_code']} {name}", c_latest, "", format_projection(c_full),
                         c["status"], format_gap(c_full)))
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(v, w) for v, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if assessed:
        cut = assessed[0].cutoff
        when = cut.describe() if cut is not None else f"records to 31 Dec {assessed[0].assessment_year}"
        lines.append(f"assessed on {when}; projections by stock turnover ({assessed[0].scenario}), "
                     f"{int(INTERVAL_LEVEL * 100)} % prediction intervals calibrated by hindcast")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
