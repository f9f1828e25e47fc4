"""The plan's fleet targets: read them from a TOML file and assess each one against the records.

Each target is assessed as what it measures — a stock share (vehicles in service on 31 Dec), a flow
share (vehicles registered in the year) or an intensity ratio (change against a baseline year) — with
a projection to its year, a status and the gap to close per year.

Method (the same for the terminal, the JSON and the report):

- Shares are projected with a logistic trend, the usual shape of a technology's take-up: the
  empirical logit ``z = ln((x + 0.5) / (n - x + 0.5))`` of each year's count ``x`` of ``n`` is fitted
  against the year by weighted least squares with weights ``1 / (1/(x + 0.5) + 1/(n - x + 0.5))``
  (the inverse variance of ``z``; Cox & Snell, *Analysis of Binary Data*), using every year with data
  up to the assessment year. The covariance of the fit is scaled by the residual dispersion (never
  below the binomial one) and the interval is the ``INTERVAL_LEVEL`` (80 %) two-sided Student-t band
  of the fitted trend at the target year, transformed back to a share.
- The intensity ratio is projected with a log-linear trend (ordinary least squares of the log of
  the intensity against the year, same kind of band); the change is ``projection / baseline - 1``
  with the observed baseline-year intensity.
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
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from planner import config
from planner.errors import InputFileError, RecordError

#: Share indicators and the counts they are made of: indicator -> (numerator, denominator).
SHARE_COUNTS: dict[str, tuple[str, str]] = {
    "ne_bus_share": ("ne_buses", "buses"),
    "ne_taxi_share": ("ne_taxis", "taxis"),
    "ne_or_clean_new_vehicle_share": ("new_ne_or_clean_vehicles", "new_vehicles"),
    "ev_new_passenger_car_share": ("new_ev_passenger_cars", "new_passenger_cars"),
}
#: Which kind of measure each indicator is.
INDICATOR_KINDS: dict[str, str] = {
    "ne_bus_share": "stock share",
    "ne_taxi_share": "stock share",
    "ne_or_clean_new_vehicle_share": "flow share",
    "ev_new_passenger_car_share": "flow share",
    "operating_co2_per_converted_turnover": "intensity ratio",
}
KINDS = ("stock share", "flow share", "intensity ratio")
COMPARISONS = (">=", "≈", "<=")
SCOPES = ("city", "county")

MET, ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = "met", "on track", "at risk", "off track", "no data"
#: Statuses from best to worst; a county-scope target takes the worst of its city and counties.
STATUS_ORDER = (MET, ON_TRACK, AT_RISK, OFF_TRACK)
#: Two-sided level of the projection interval.
INTERVAL_LEVEL = 0.80
#: A trend needs at least this many years with data.
MIN_YEARS_FOR_TREND = 3
#: Flow shares: the expected additions per year are the mean of this many latest years.
ADDITIONS_WINDOW_YEARS = 3

DEFAULT_TARGETS_FILE = config.FLEET_DIR / "targets.toml"

_REQUIRED = {
    "indicator": str, "kind": str, "value": float, "comparison": str, "year": int, "scope": str,
    "clause": str, "document": str, "quote_zh": str, "gloss_en": str,
}
_OPTIONAL = {"tolerance": float, "baseline_year": int, "interpretation": str}


# ------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One quantified target of the plan, as read from the targets file."""

    id: str
    indicator: str
    kind: str
    value: float
    comparison: str
    year: int
    scope: str
    clause: str
    document: str
    quote_zh: str
    gloss_en: str
    tolerance: float = 0.0
    baseline_year: int | None = None
    interpretation: str = ""

    @property
    def threshold(self) -> float:
        """The value that counts as meeting the target (``value - tolerance`` for "about")."""
        return self.value - self.tolerance if self.comparison == "≈" else self.value

    def meets(self, observed: float, *, slack: float = 0.0) -> bool:
        """Whether a value meets the target, allowing ``slack`` (same units) in its favour."""
        if self.comparison == "<=":
            return observed <= self.threshold + slack + 1e-12
        return observed >= self.threshold - slack - 1e-12


@dataclass(frozen=True)
class TargetSet:
    """A whole targets file: the plan it quotes, the county names, the targets and what is not assessed."""

    path: str
    plan: dict[str, str]
    counties: dict[str, str]
    targets: tuple[Target, ...]
    not_assessed: tuple[dict[str, str], ...] = ()


def load_target_set(path: Path | str = DEFAULT_TARGETS_FILE) -> TargetSet:
    """Read and check a targets file (see ``data/fleet/targets.toml`` for its fields).

    Parameters
    ----------
    path
        TOML file with ``[plan]``, ``[counties]`` (code = name), ``[targets.<id>]`` tables and an
        optional ``[[not_assessed]]`` list.

    Raises
    ------
    InputFileError
        Naming the file, the target, the field and what was expected.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputFileError(path, "a TOML file of targets", detail="file not found") from exc
    except OSError as exc:
        raise InputFileError(path, "a readable TOML file of targets", detail=str(exc)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, "valid TOML (UTF-8)", detail=str(exc)) from exc

    plan = doc.get("plan", {})
    if not isinstance(plan, dict):
        raise InputFileError(path, "[plan] to be a table")
    counties = doc.get("counties", {})
    if not isinstance(counties, dict) or not all(isinstance(v, str) for v in counties.values()):
        raise InputFileError(path, "[counties] to be a table of county code = \"name\"")
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, dict) or not raw_targets:
        raise InputFileError(path, "at least one [targets.<id>] table")
    targets = tuple(_parse_target(path, tid, raw) for tid, raw in raw_targets.items())
    not_assessed = doc.get("not_assessed", [])
    if not isinstance(not_assessed, list) or not all(isinstance(x, dict) for x in not_assessed):
        raise InputFileError(path, "[[not_assessed]] to be a list of tables")
    return TargetSet(
        path=str(path),
        plan={str(k): str(v) for k, v in plan.items()},
        counties={str(k): v for k, v in counties.items()},
        targets=targets,
        not_assessed=tuple({str(k): str(v) for k, v in x.items()} for x in not_assessed),
    )


def targets_for(fleet_dir: Path | str) -> TargetSet:
    """The targets of a records directory: its own ``targets.toml`` (another city's), else the shipped one."""
    own = Path(fleet_dir) / "targets.toml"
    return load_target_set(own if own.is_file() else DEFAULT_TARGETS_FILE)


def load_targets(path: Path | str = DEFAULT_TARGETS_FILE) -> list[Target]:
    """The targets of a targets file, checked (see ``load_target_set``)."""
    return list(load_target_set(path).targets)


def _parse_target(path: Path, tid: str, raw: Any) -> Target:
    def bad(name: str, expected: str, got: Any = None) -> InputFileError:
        detail = None if got is None else f"got {got!r}"
        return InputFileError(path, f"target {tid!r} field {name!r} to be {expected}", detail=detail)

    if not isinstance(raw, dict):
        raise InputFileError(path, f"target {tid!r} to be a table [targets.{tid}]")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise InputFileError(path, f"target {tid!r} to have only the fields "
                                   f"{', '.join(sorted({*_REQUIRED, *_OPTIONAL}))}",
                             detail=f"unknown field {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, typ in [*_REQUIRED.items(), *_OPTIONAL.items()]:
        if name not in raw:
            if name in _REQUIRED:
                raise bad(name, _describe_type(typ), "nothing (field missing)")
            continue
        got = raw[name]
        if typ is float and isinstance(got, int) and not isinstance(got, bool):
            got = float(got)
        if not isinstance(got, typ) or isinstance(got, bool) or (typ is float and not math.isfinite(got)):
            raise bad(name, _describe_type(typ), got)
        if typ is str and not got.strip():
            raise bad(name, "a non-empty string", got)
        values[name] = got

    if values["indicator"] not in INDICATOR_KINDS:
        raise bad("indicator", "one of " + ", ".join(INDICATOR_KINDS), values["indicator"])
    if values["kind"] not in KINDS:
        raise bad("kind", "one of " + ", ".join(repr(k) for k in KINDS), values["kind"])
    if values["kind"] != INDICATOR_KINDS[values["indicator"]]:
        raise bad("kind", f"{INDICATOR_KINDS[values['indicator']]!r} for indicator {values['indicator']!r}",
                  values["kind"])
    if values["comparison"] not in COMPARISONS:
        raise bad("comparison", "one of " + ", ".join(repr(c) for c in COMPARISONS), values["comparison"])
    if values["scope"] not in SCOPES:
        raise bad("scope", "'city' or 'county'", values["scope"])
    if not 1990 <= values["year"] <= 2100:
        raise bad("year", "a calendar year between 1990 and 2100", values["year"])
    if values["kind"] == "intensity ratio":
        if "baseline_year" not in values:
            raise bad("baseline_year", "the year the intensity change is measured against (an integer)",
                      "nothing (field missing)")
        if not values["baseline_year"] < values["year"]:
            raise bad("baseline_year", f"a year before the target year {values['year']}", values["baseline_year"])
        if not -1.0 < values["value"] < 10.0:
            raise bad("value", "a change as a fraction greater than -1 (e.g. -0.10 for 10 % lower)", values["value"])
        if values["scope"] != "city":
            raise bad("scope", "'city' for an intensity ratio (activity is not kept per county)", values["scope"])
    else:
        if "baseline_year" in values:
            raise bad("baseline_year", "absent for a share (only intensity ratios have a baseline)",
                      values["baseline_year"])
        if not 0.0 <= values["value"] <= 1.0:
            raise bad("value", "a share as a fraction between 0 and 1 (e.g. 0.40 for 40 %)", values["value"])
    if values["comparison"] == "≈":
        if "tolerance" not in values:
            raise bad("tolerance", "how far below the value still counts as 'about' (a fraction, e.g. 0.02)",
                      "nothing (field missing)")
        if not 0.0 <= values["tolerance"] < abs(values["value"]) + 1e-12:
            raise bad("tolerance", "a fraction between 0 and the target value", values["tolerance"])
    elif "tolerance" in values:
        raise bad("tolerance", "absent unless comparison is '≈'", values["tolerance"])
    return Target(id=str(tid), **values)


def _describe_type(typ: type) -> str:
    return {str: "a string", float: "a number", int: "an integer"}[typ]


# ---------------------------------------------------------------------------------------------- fits


@dataclass(frozen=True)
class TrendFit:
    """A straight line ``eta = intercept + slope * (year - year0)`` in a transformed scale, with its covariance.

    ``scale`` is ``"logit"`` (shares) or ``"log"`` (intensities); ``cov`` is the 2×2 covariance of
    (intercept, slope) and ``dof`` the residual degrees of freedom.
    """

    scale: str
    year0: float
    intercept: float
    slope: float
    cov: tuple[tuple[float, float], tuple[float, float]]
    dof: int
    years: tuple[int, ...] = field(default=())

    def band(self, year: float, *, level: float = INTERVAL_LEVEL) -> tuple[float, float, float]:
        """Trend and its two-sided ``level`` interval at ``year``, back in the original scale."""
        x = np.array([1.0, year - self.year0])
        eta = float(self.intercept + self.slope * x[1])
        se = float(math.sqrt(max(0.0, x @ np.array(self.cov) @ x)))
        t = float(stats.t.ppf(0.5 + level / 2.0, max(self.dof, 1)))
        back = _expit if self.scale == "logit" else math.exp
        return back(eta), back(eta - t * se), back(eta + t * se)

    @property
    def description(self) -> str:
        """How the trend was fitted, in one line for readers of the report."""
        if self.scale == "logit":
            return (f"logistic trend: weighted least squares on the empirical logit of {len(self.years)} years "
                    f"({self.years[0]}-{self.years[-1]}), {int(INTERVAL_LEVEL * 100)} % interval of the trend")
        return (f"log-linear trend: least squares on log intensity of {len(self.years)} years "
                f"({self.years[0]}-{self.years[-1]}), {int(INTERVAL_LEVEL * 100)} % interval of the trend")


def fit_logistic_share(years: Sequence[int], numerators: Sequence[float], denominators: Sequence[float]) -> TrendFit:
    """Fit a logistic trend of a share ``numerator / denominator`` against the year.

    Weighted least squares on the empirical logit (see the module docstring); years whose
    denominator is 0 are left out.

    Raises
    ------
    ValueError
        With fewer than ``MIN_YEARS_FOR_TREND`` years of data.
    """
    y = np.asarray(years, dtype=float)
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    keep = n > 0
    y, x, n = y[keep], x[keep], n[keep]
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("a share's count must lie between 0 and its denominator")
    if len(y) < MIN_YEARS_FOR_TREND:
        raise ValueError(f"a trend needs {MIN_YEARS_FOR_TREND} years with data, got {len(y)}")
    z = np.log((x + 0.5) / (n - x + 0.5))
    w = 1.0 / (1.0 / (x + 0.5) + 1.0 / (n - x + 0.5))
    return _wls("logit", y, z, w)


def fit_loglinear(years: Sequence[int], values: Sequence[float]) -> TrendFit:
    """Fit ``ln(value) = a + b * year`` by least squares (values must be positive)."""
    y = np.asarray(years, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v) & (v > 0)
    y, v = y[keep], v[keep]
    if len(y) < MIN_YEARS_FOR_TREND:
        raise ValueError(f"a trend needs {MIN_YEARS_FOR_TREND} years with data, got {len(y)}")
    return _wls("log", y, np.log(v), np.ones_like(y))


def _wls(scale: str, y: np.ndarray, z: np.ndarray, w: np.ndarray) -> TrendFit:
    year0 = float(y.mean())
    design = np.column_stack([np.ones_like(y), y - year0])
    xtwx = design.T @ (w[:, None] * design)
    beta = np.linalg.solve(xtwx, design.T @ (w * z))
    resid = z - design @ beta
    dof = len(y) - 2
    dispersion = float(np.sum(w * resid**2) / dof) if dof > 0 else 0.0
    if scale == "logit":
        dispersion = max(dispersion, 1.0)  # never claim less spread than binomial counts have
    cov = dispersion * np.linalg.inv(xtwx)
    return TrendFit(
        scale=scale, year0=year0, intercept=float(beta[0]), slope=float(beta[1]),
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        dof=dof, years=tuple(int(v) for v in y),
    )


def _expit(eta: float) -> float:
    return 1.0 / (1.0 + math.exp(-eta)) if eta >= 0 else math.exp(eta) / (1.0 + math.exp(eta))


# ------------------------------------------------------------------------------------ record series


@dataclass(frozen=True)
class FleetSeries:
    """The yearly figures the targets are assessed on, gathered once from the records.

    ``city``: one row per year (``indicator_series`` columns). ``counties``: one row per year and
    county with the scalar indicators of ``fleet.indicators(..., county=code)``.
    """

    years: tuple[int, ...]
    assessment_year: int
    city: pd.DataFrame
    counties: pd.DataFrame
    county_names: dict[str, str]


def collect_series(records: Any, *, year: int | None = None, county_names: dict[str, str] | None = None) -> FleetSeries:
    """Compute the yearly indicators, city-wide and per county, from the records' first year to ``year``.

    ``year`` defaults to the latest year in the records; a year outside the records is refused.
    """
    from planner import fleet

    record_years = fleet.record_years(records)
    if not record_years:
        raise RecordError("the fleet records hold no vehicles: nothing to assess")
    first, last = record_years[0], record_years[-1]
    assessment_year = last if year is None else int(year)
    if not first <= assessment_year <= last:
        raise RecordError(f"assessment year {assessment_year} is outside the records, which span {first}-{last}")
    years = list(range(first, assessment_year + 1))
    city = fleet.indicator_series(records.vehicles, records.activity, years=years).reset_index(drop=True)

    # county names: the targets file's, else the records' own (counties.csv), else the code
    names = {str(k): str(v) for k, v in (getattr(records, "counties", None) or {}).items()} | dict(county_names or {})
    with_vehicles = {str(c) for c in records.vehicles["county_code"].dropna().unique()}
    codes = sorted({*names, *with_vehicles})
    rows = []
    for code in codes:
        if code not in with_vehicles:
            continue  # no vehicle at all: assessed as "no data"
        for y in years:
            ind = fleet.indicators(records.vehicles, records.activity, year=y, county=code)
            rows.append({k: v for k, v in ind.items() if not isinstance(v, (dict, list))} | {"year": y, "county": code})
    counties = pd.DataFrame(rows, columns=None if rows else ["year", "county"])
    return FleetSeries(years=tuple(years), assessment_year=assessment_year, city=city, counties=counties,
                       county_names={c: names.get(c, c) for c in codes})


# ------------------------------------------------------------------------------------------ assessing


def assess_targets(records: Any, *, year: int | None = None, targets: Sequence[Target] | TargetSet | None = None,
                   ) -> list[dict[str, Any]]:
    """Assess each target on the fleet records.

    Parameters
    ----------
    records
        ``FleetRecords`` (vehicles, activity, …).
    year
        Assessment year (stock on 31 Dec); default the latest year in the records. Only years up to it
        enter the trends, so an earlier year shows what could have been known then.
    targets
        Targets or a whole ``TargetSet``; default the shipped ``data/fleet/targets.toml``.

    Returns
    -------
    list of dict
        JSON-ready, one per target: id, indicator, kind, target value/year, clause (quote, document),
        latest observed value, projection to the target year with its interval, status, gap and,
        for county-scope targets, the same per county.
    """
    target_set = _as_target_set(targets)
    series = collect_series(records, year=year, county_names=target_set.counties)
    return assess_series(series, target_set.targets)


def _as_target_set(targets: Sequence[Target] | TargetSet | None) -> TargetSet:
    if targets is None:
        return load_target_set()
    if isinstance(targets, TargetSet):
        return targets
    return TargetSet(path="", plan={}, counties={}, targets=tuple(targets))


def assess_series(series: FleetSeries, targets: Iterable[Target]) -> list[dict[str, Any]]:
    """Assess targets on gathered series (see ``assess_targets``)."""
    return [_assess_one(series, t) for t in targets]


def _assess_one(series: FleetSeries, target: Target) -> dict[str, Any]:
    head: dict[str, Any] = {
        "id": target.id,
        "indicator": target.indicator,
        "kind": target.kind,
        "scope": target.scope,
        "target_value": target.value,
        "comparison": target.comparison,
        "tolerance": target.tolerance,
        "target_year": target.year,
        "baseline_year": target.baseline_year,
        "clause": {"number": target.clause, "document": target.document, "quote_zh": target.quote_zh,
                   "gloss_en": target.gloss_en, "interpretation": target.interpretation},
        "assessment_year": series.assessment_year,
    }
    if target.kind == "intensity ratio":
        return head | _assess_intensity(target, series.city, series.assessment_year)
    num_col, den_col = SHARE_COUNTS[target.indicator]
    city = head | _assess_share(target, _counts(series.city, num_col, den_col), series.assessment_year)
    if target.scope != "county":
        return city
    counties = []
    for code, name in series.county_names.items():
        rows = series.counties[series.counties["county"] == code] if len(series.counties) else series.counties
        one = _assess_share(target, _counts(rows, num_col, den_col), series.assessment_year)
        counties.append({"county_code": code, "county_name": name} | one)
    city["counties"] = counties
    city["city_status"] = city["status"]
    city["status"], city["status_reason"] = _worst(city, counties)
    return city


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


def _worst(city: dict[str, Any], counties: list[dict[str, Any]]) -> tuple[str, str]:
    parts = [("city", city)] + [(c["county_name"], c) for c in counties]
    ranked = [(STATUS_ORDER.index(p["status"]), label, p) for label, p in parts if p["status"] in STATUS_ORDER]
    if not ranked:
        return NO_DATA, "no data for the city or any county"
    worst_rank = max(r for r, _, _ in ranked)
    worst = STATUS_ORDER[worst_rank]
    laggards = [label for r, label, _ in ranked if r == worst_rank and label != "city"]
    no_data = [label for label, p in parts if p["status"] == NO_DATA]
    reason = f"city {city['status']}"
    if worst != city["status"] and laggards:
        reason += f"; {worst}: " + ", ".join(laggards)
    if no_data:
        reason += "; no data: " + ", ".join(no_data)
    return worst, reason + " — " + city["status_reason"]


def _assess_share(target: Target, counts: pd.DataFrame, year: int) -> dict[str, Any]:
    data = counts[(counts["denominator"] > 0) & (counts["year"] <= year)]
    observed = [{"year": int(r.year), "value": float(r.numerator / r.denominator),
                 "numerator": int(round(r.numerator)), "denominator": int(round(r.denominator))}
                for r in data.itertuples()]
    out: dict[str, Any] = {"observed": observed, "latest_year": None, "latest_value": None, "latest_count": None,
                           "projection": None, "projection_path": [], "status": NO_DATA,
                           "status_reason": "", "gap": _empty_gap(target, year)}
    if not observed:
        counted = SHARE_COUNTS[target.indicator][1].replace("_", " ")
        out["status_reason"] = f"no {counted} in the records up to {year}"
        return out
    latest = observed[-1]
    out["latest_year"], out["latest_value"] = latest["year"], latest["value"]
    out["latest_count"] = {"numerator": latest["numerator"], "denominator": latest["denominator"]}
    if target.kind == "stock share":
        expected_denominator = float(latest["denominator"])
    else:
        expected_denominator = float(np.mean([o["denominator"] for o in observed[-ADDITIONS_WINDOW_YEARS:]]))
    slack = 0.5 / expected_denominator  # half a vehicle

    if target.year <= year:
        at_target = next((o for o in observed if o["year"] == target.year), latest)
        value = at_target["value"]
        out["projection"] = {"year": target.year, "value": value, "low": value, "high": value,
                             "level": INTERVAL_LEVEL, "method": f"observed in {at_target['year']}"}
        ok = target.meets(value)
        out["status"] = MET if ok else OFF_TRACK
        out["status_reason"] = (f"target year {target.year} reached: observed {_pct(value)} "
                                f"{'meets' if ok else 'misses'} the target {_goal(target, _pct)}")
    else:
        try:
            fit = fit_logistic_share(data["year"], data["numerator"], data["denominator"])
        except ValueError:
            fit = None
        if fit is not None:
            mid, low, high = fit.band(target.year)
            out["projection"] = {"year": target.year, "value": mid, "low": low, "high": high,
                                 "level": INTERVAL_LEVEL, "method": fit.description}
            out["projection_path"] = [dict(zip(("year", "value", "low", "high"), (y, *fit.band(y)), strict=True))
                                      for y in range(latest["year"], target.year + 1)]
        out["status"], out["status_reason"] = _status(target, latest["value"], out["projection"], slack,
                                                      fmt=_pct, have_trend=fit is not None)
    out["gap"] = _share_gap(target, year, latest, out["projection"], expected_denominator)
    return out


def _status(target: Target, latest: float, projection: dict[str, Any] | None, slack: float, *, fmt,
            have_trend: bool) -> tuple[str, str]:
    goal = _goal(target, fmt)
    if target.meets(latest):
        return MET, f"already {fmt(latest)}, target {goal}"
    if not have_trend or projection is None:
        return NO_DATA, f"fewer than {MIN_YEARS_FOR_TREND} years with data: no projection"
    mid, low, high = projection["value"], projection["low"], projection["high"]
    pessimistic, optimistic = (high, low) if target.comparison == "<=" else (low, high)
    span = f"projected {fmt(mid)} ({fmt(low)} to {fmt(high)}), target {goal}"
    if target.meets(mid, slack=slack):
        if target.meets(pessimistic, slack=slack):
            return ON_TRACK, span + ": whole interval meets it"
        return AT_RISK, span + ": projection meets it, the pessimistic end does not"
    if target.meets(optimistic, slack=slack):
        return AT_RISK, span + ": projection misses it, the target is inside the interval"
    return OFF_TRACK, span + ": the whole interval misses it"


_SIGNS = {">=": "≥", "<=": "≤", "≈": "≈"}


def _goal(target: Target, fmt) -> str:
    return f"{_SIGNS[target.comparison]} {fmt(target.value).replace('.0 %', ' %')} by {target.year}"


def _empty_gap(target: Target, year: int) -> dict[str, Any]:
    return {"vehicles_per_year": None, "vehicles_total": None, "co2_t": None,
            "years_left": max(target.year - year, 0), "basis": ""}


def _share_gap(target: Target, year: int, latest: dict[str, Any], projection: dict[str, Any] | None,
               expected_denominator: float) -> dict[str, Any]:
    gap = _empty_gap(target, year)
    years_left = gap["years_left"]
    if target.kind == "stock share":
        # vehicles of the class that must be NE on top of today's to reach the target share of today's stock
        needed = max(0, math.ceil(target.threshold * latest["denominator"] - latest["numerator"] - 1e-9))
        gap["vehicles_total"] = needed
        gap["vehicles_per_year"] = needed / max(years_left, 1)
        when = f"over the {years_left} year(s) to {target.year}" if years_left else "now: the target year has come"
        gap["basis"] = (f"{needed:,} of the {latest['denominator']:,} vehicles in service at the end of "
                        f"{latest['year']} must still switch to new energy, {when}")
        return gap
    if projection is None:
        gap["basis"] = "no projection, so no gap"
        return gap
    shortfall = max(0.0, target.threshold - projection["value"])
    gap["vehicles_per_year"] = shortfall * expected_denominator
    if shortfall == 0:
        gap["basis"] = f"the projection for {target.year} meets the target: no extra NE additions needed"
    else:
        gap["basis"] = (f"({_pct(target.threshold)} needed − {_pct(projection['value'])} projected for "
                        f"{target.year}) × {expected_denominator:,.0f} additions per year (mean of the latest "
                        f"{ADDITIONS_WINDOW_YEARS} years) = extra NE additions per year")
    return gap


def _assess_intensity(target: Target, city: pd.DataFrame, year: int) -> dict[str, Any]:
    col = target.indicator
    frame = city[["year", col] + [c for c in ("converted_turnover_tkm", "operating_co2_t") if c in city]].copy()
    frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame = frame[(frame["year"] <= year) & frame[col].notna() & (frame[col] > 0)].sort_values("year")
    out: dict[str, Any] = {"observed": [], "latest_year": None, "latest_value": None, "latest_count": None,
                           "latest_intensity": None, "baseline_intensity": None, "projection": None,
                           "projection_path": [], "status": NO_DATA, "status_reason": "",
                           "gap": _empty_gap(target, year)}
    base = frame[frame["year"] == target.baseline_year]
    if base.empty:
        out["status_reason"] = f"no {col} for the baseline year {target.baseline_year}"
        return out
    base_intensity = float(base[col].iloc[0])
    out["baseline_intensity"] = base_intensity
    out["observed"] = [{"year": int(r["year"]), "value": float(r[col]) / base_intensity - 1.0,
                        "intensity": float(r[col])} for _, r in frame.iterrows()]
    latest = out["observed"][-1]
    out["latest_year"], out["latest_value"], out["latest_intensity"] = latest["year"], latest["value"], latest["intensity"]

    def change(intensity: float) -> float:
        return intensity / base_intensity - 1.0

    projected_intensity: float | None = None
    if target.year <= year:
        at_target = next((o for o in out["observed"] if o["year"] == target.year), latest)
        projected_intensity = at_target["intensity"]
        value = at_target["value"]
        out["projection"] = {"year": target.year, "value": value, "low": value, "high": value,
                             "level": INTERVAL_LEVEL, "method": f"observed in {at_target['year']}",
                             "intensity": projected_intensity}
        ok = target.meets(value)
        out["status"] = MET if ok else OFF_TRACK
        out["status_reason"] = (f"target year {target.year} reached: change {_pct(value, signed=True)} "
                                f"{'meets' if ok else 'misses'} the target "
                                f"{_goal(target, lambda v: _pct(v, signed=True))}")
    else:
        try:
            fit = fit_loglinear(frame["year"], frame[col])
        except ValueError:
            fit = None
        if fit is not None:
            mid, low, high = fit.band(target.year)
            projected_intensity = mid
            out["projection"] = {"year": target.year, "value": change(mid), "low": change(low),
                                 "high": change(high), "level": INTERVAL_LEVEL, "method": fit.description,
                                 "intensity": mid}
            out["projection_path"] = [
                {"year": y, "value": change(m), "low": change(lo), "high": change(hi)}
                for y in range(latest["year"], target.year + 1) for m, lo, hi in [fit.band(y)]
            ]
        out["status"], out["status_reason"] = _status(target, latest["value"], out["projection"], 0.0,
                                                      fmt=lambda v: _pct(v, signed=True), have_trend=fit is not None)
    gap = out["gap"]
    target_intensity = base_intensity * (1.0 + target.threshold)
    turnover = frame["converted_turnover_tkm"].iloc[-1] if "converted_turnover_tkm" in frame else None
    out["target_intensity"] = target_intensity
    if projected_intensity is not None and turnover is not None and pd.notna(turnover):
        gap["co2_t"] = max(0.0, projected_intensity - target_intensity) * float(turnover) / 1000.0
        if gap["co2_t"] == 0:
            gap["basis"] = f"the projected intensity for {target.year} meets the target: no further cut needed"
        else:
            gap["basis"] = (f"CO2 to cut in {target.year} = (projected {projected_intensity:.4g} − target "
                            f"{target_intensity:.4g} kg CO2 per converted t·km) × {float(turnover):,.0f} converted "
                            f"t·km (the turnover of {latest['year']})")
    return out


# ------------------------------------------------------------------------------------------ describe


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "–"
    if signed:
        return f"{100 * value:+.1f} %"
    if 0.995 <= value < 1.0:  # near 100 %: show that it is not there yet (99.96 %, not 100.0 %)
        return f"{min(100 * value, 99.99):.2f} %"
    return f"{100 * value:.1f} %"


def format_value(assessed: dict[str, Any], value: float | None) -> str:
    """A target's value as a reader sees it: a share in %, an intensity change in signed %."""
    return _pct(value, signed=assessed.get("kind") == "intensity ratio")


def format_target(assessed: dict[str, Any]) -> str:
    """The target as a short phrase, e.g. ``≥ 100 % by 2025``."""
    sign = {">=": "≥", "<=": "≤", "≈": "≈"}[assessed["comparison"]]
    base = f" vs {assessed['baseline_year']}" if assessed.get("baseline_year") else ""
    value = format_value(assessed, assessed["target_value"]).replace(".0 %", " %")
    return f"{sign} {value}{base} by {assessed['target_year']}"


def format_gap(assessed: dict[str, Any]) -> str:
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


def format_projection(assessed: dict[str, Any]) -> str:
    """Projection with its interval, e.g. ``99.6 % (98.9–99.9)`` or ``-11.5 % (-12.2 to -10.8)``."""
    p = assessed.get("projection")
    if not p:
        return "–"
    if p["low"] == p["high"]:
        return format_value(assessed, p["value"])
    if assessed.get("kind") == "intensity ratio":
        low, high = (_pct(p[k], signed=True).removesuffix(" %") for k in ("low", "high"))
        return f"{_pct(p['value'], signed=True)} ({low} to {high})"
    fine = any(0.995 <= p[k] < 1.0 for k in ("value", "low", "high"))  # same precision on both ends
    low, mid, high = (f"{min(100 * p[k], 99.99 if p[k] < 1 else 100):.{2 if fine else 1}f}" for k in ("low", "value", "high"))
    return f"{mid} % ({low}–{high})"


def describe(assessed: list[dict[str, Any]]) -> str:
    """The assessed targets as a terminal table, county rows indented under their target."""
    header = ("target", "latest", "target", "projection", "status", "gap per year")
    rows: list[tuple[str, ...]] = []
    for a in assessed:
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
        year = assessed[0]["assessment_year"]
        lines.append(f"assessed on the records to 31 Dec {year}; projections: {int(INTERVAL_LEVEL * 100)} % intervals")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
