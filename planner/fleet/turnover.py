"""Stock-turnover projection: additions by class and powertrain → survival → stock → shares and CO2 intensity.

The chain of the ICCT Roadmap, ANL VISION and LEAP. The stock at the data cut-off ages with the capped
Weibull curves of ``survival.py``; additions arrive month by month at the volume of the last 12 complete
months, with the NE share of an ``AdditionsScenario`` (default: the share of those 12 months continues).
Operating CO2 follows the projected stock at the latest year's activity and energy per vehicle, priced
with the grid factor of each year (``grid_factors.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np
import pandas as pd

from planner.errors import RecordError
from planner.fleet.records import FleetRecords
from planner.fleet.schema import (
    CLEAN_POWERTRAINS,
    ENERGY_COLUMNS,
    NE_POWERTRAINS,
    PASSENGER_KM_TO_TONNE_KM,
)
from planner.fleet.survival import Survival, fit_survival, prior_survival

#: Share indicators the projection gives, and what they count.
SHARE_INDICATORS: tuple[str, ...] = ("ne_bus_share", "ne_taxi_share", "ne_or_clean_new_vehicle_share",
                                     "ev_new_passenger_car_share")
INTENSITY_INDICATOR = "operating_co2_per_converted_turnover"
STOCK_CLASS = {"ne_bus_share": "bus", "ne_taxi_share": "taxi"}
_DAYS_PER_YEAR = 365.25


# ---------------------------------------------------------------------------------------------- dates


@dataclass(frozen=True)
class Cutoff:
    """The data cut-off: stocks are taken on ``date``; flows are the 12 months ``flow_start``..``flow_end``.

    ``flow_end`` is the last day of the last complete month on or before ``date``.
    """

    date: pd.Timestamp
    flow_start: pd.Timestamp
    flow_end: pd.Timestamp

    @classmethod
    def at(cls, date: pd.Timestamp | str) -> Cutoff:
        d = pd.Timestamp(date).normalize()
        month_end = d + pd.offsets.MonthEnd(0)
        end = month_end if d == month_end else d - pd.offsets.MonthEnd(1)
        return cls(d, (end - pd.DateOffset(months=12)) + pd.Timedelta(days=1), end)

    @classmethod
    def of_records(cls, records: FleetRecords) -> Cutoff:
        """The last date the vehicle records know of (latest registration or deregistration)."""
        v = records.vehicles
        if v.empty:
            raise RecordError("the fleet records hold no vehicles: no data cut-off")
        last = v["registered_on"].max()
        dereg = v["deregistered_on"].dropna()
        if not dereg.empty:
            last = max(last, dereg.max())
        return cls.at(last)

    def years_to(self, year: int) -> float:
        """Years from the cut-off to 31 Dec ``year`` (0 when that day has passed)."""
        return max(0.0, (pd.Timestamp(year=int(year), month=12, day=31) - self.date).days / _DAYS_PER_YEAR)

    @property
    def complete_year(self) -> int:
        """The last calendar year whose 31 Dec is on or before the cut-off."""
        return self.date.year if (self.date.month, self.date.day) == (12, 31) else self.date.year - 1

    def describe(self) -> str:
        return (f"data to {self.date.date().isoformat()}; flows over the 12 months "
                f"{self.flow_start.date().isoformat()} to {self.flow_end.date().isoformat()}")

    def to_dict(self) -> dict[str, str]:
        return {"date": self.date.date().isoformat(), "flow_start": self.flow_start.date().isoformat(),
                "flow_end": self.flow_end.date().isoformat()}


#: The vehicle columns the projection reads.
PROJECTION_COLUMNS = ("vehicle_class", "powertrain", "county_code", "registered_on", "deregistered_on")


def coded_vehicles(records: FleetRecords) -> FleetRecords:
    """The records with only the vehicle columns ``project`` reads, the text ones as categoricals.

    For projecting the same records from many cut-offs (the hindcast): cutting them with ``records_at``
    then copies integer codes instead of text, and the projection gives the same figures.
    """
    v = records.vehicles
    lean = pd.DataFrame({c: (pd.Categorical(v[c].astype(str)) if c in PROJECTION_COLUMNS[:3] else v[c])
                         for c in PROJECTION_COLUMNS})
    return replace(records, vehicles=lean)


def records_at(records: FleetRecords, cutoff: Cutoff) -> FleetRecords:
    """The records as they stood at ``cutoff``: later registrations dropped, later deregistrations unknown."""
    v = records.vehicles
    v = v[v["registered_on"] <= cutoff.date].copy()
    v.loc[v["deregistered_on"] > cutoff.date, "deregistered_on"] = pd.NaT
    act = records.activity
    if len(act):
        act = act[act["year"].astype(int) <= cutoff.complete_year]
    return replace(records, vehicles=v.reset_index(drop=True), activity=act.reset_index(drop=True))


# ------------------------------------------------------------------------------------------- scenario


@dataclass(frozen=True)
class AdditionsScenario:
    """The NE share of additions from the cut-off on, per vehicle class.

    ``ne_share_paths``: class -> {year: NE share of that year's additions}, linear between the years
    given and flat after the last; a class without a path keeps the NE share of its last 12 months
    (per county). ``volume_factor``: additions per year relative to the last 12 months.
    """

    ne_share_paths: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    volume_factor: float = 1.0
    name: str = "the NE share of additions of the last 12 months continues"

    def __post_init__(self) -> None:
        for vclass, path in self.ne_share_paths.items():
            for year, share in path.items():
                if not 0.0 <= float(share) <= 1.0:
                    raise ValueError(f"scenario path of {vclass!r}, year {year}: NE share {share!r} is not in 0-1")
        if not self.volume_factor >= 0:
            raise ValueError(f"volume_factor {self.volume_factor!r}: expected ≥ 0")

    def share(self, vclass: str, when: np.ndarray, default: float, start: pd.Timestamp) -> np.ndarray:
        """NE share of additions at decimal years ``when`` (from the cut-off ``start``)."""
        path = self.ne_share_paths.get(vclass)
        if not path:
            return np.full(len(when), default)
        years = sorted(int(y) for y in path)
        x = [start.year + (start.day_of_year - 1) / _DAYS_PER_YEAR] + [y + 0.5 for y in years]
        y = [default] + [float(path[k]) for k in years]
        return np.interp(when, x, y)


DEFAULT_SCENARIO = AdditionsScenario()


# ----------------------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Share:
    """A share as counts (expected counts when projected)."""

    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return None if self.denominator <= 0 else self.numerator / self.denominator


@dataclass(frozen=True)
class Intensity:
    """Operating CO2 and converted turnover of a year (kg, t·km) and their ratio."""

    co2_kg: float
    converted_tkm: float

    @property
    def value(self) -> float | None:
        return None if self.converted_tkm <= 0 else self.co2_kg / self.converted_tkm


@dataclass(frozen=True, eq=False)
class Outlook:
    """The stock-turnover projection of one fleet from one cut-off.

    ``shares[(indicator, area, year)]`` and ``intensity[(area, year)]``; ``area`` None is the city.
    ``now`` holds the same at the cut-off (stocks on the cut-off date, flows over its 12-month window,
    intensity of the latest activity year).
    """

    cutoff: Cutoff
    scenario: AdditionsScenario
    survival: Mapping[str, Survival]
    years: tuple[int, ...]
    areas: tuple[str | None, ...]
    shares: Mapping[tuple[str, str | None, int], Share]
    intensity: Mapping[tuple[str | None, int], Intensity]
    now_shares: Mapping[tuple[str, str | None], Share]
    now_intensity: Mapping[str | None, tuple[int, Intensity]]
    #: 12-month additions of the window by (area, class): (all, NE).
    window_additions: Mapping[tuple[str | None, str], tuple[int, int]]
    #: per (indicator, area): the parts of the stock in the target year, for the levers:
    #: {year: (NE survivors of today's stock, other survivors, additions surviving per unit share)}.
    stock_parts: Mapping[tuple[str, str | None, int], tuple[float, float, float, float]]


def project(records: FleetRecords, *, years: Iterable[int], cutoff: Cutoff | None = None,
            scenario: AdditionsScenario = DEFAULT_SCENARIO,
            survival: Mapping[str, Survival] | None = None,
            grid_kg_co2_per_kwh_by_year: Mapping[int, float] | None = None) -> Outlook:
    """Project the plan's indicators to 31 Dec of each of ``years`` by stock turnover.

    Parameters
    ----------
    records
        The fleet records (already cut at ``cutoff`` when projecting from the past: ``records_at``).
    years
        Target years (each projected to its 31 Dec; a year whose 31 Dec is before the cut-off is skipped).
    cutoff
        Default: the records' own (``Cutoff.of_records``).
    survival
        Curves per class; default fitted to the records (``survival.fit_survival``).
    grid_kg_co2_per_kwh_by_year
        Grid factor per year for the projected CO2; default the records' table (held at its last year).
    """
    cutoff = cutoff or Cutoff.of_records(records)
    vehicles = records.vehicles
    if vehicles.empty:
        raise RecordError("the fleet records hold no vehicles: nothing to project")
    start = pd.Timestamp(year=_first_year(vehicles), month=1, day=1)
    if survival is None:
        survival = fit_survival(vehicles, cutoff=cutoff.date, records_start=start)
    years = tuple(sorted({int(y) for y in years if cutoff.years_to(int(y)) > 0 or int(y) > cutoff.date.year}))
    all_cls, all_cls_names = _codes(vehicles["vehicle_class"])
    all_pt, all_pt_names = _codes(vehicles["powertrain"])
    all_county, all_county_names = _codes(vehicles["county_code"])
    counties = tuple(sorted(str(c) for c in all_county_names[np.unique(all_county[all_county >= 0])]))
    areas: tuple[str | None, ...] = (None, *counties)
    # the text columns are coded once for the whole frame (above); the stock and the window are index subsets
    stock_mask = (vehicles["registered_on"] <= cutoff.date) & ~(vehicles["deregistered_on"] <= cutoff.date)
    stock_rows = np.flatnonzero(stock_mask.to_numpy(dtype=bool))
    reg_stock = vehicles["registered_on"].iloc[stock_rows]
    age_days = (cutoff.date - reg_stock).dt.days.to_numpy()
    window_rows = np.flatnonzero(((vehicles["registered_on"] >= cutoff.flow_start)
                                  & (vehicles["registered_on"] <= cutoff.flow_end)).to_numpy(dtype=bool))
    w_cls_codes, w_county_codes = all_cls[window_rows], all_county[window_rows]
    w_cls = all_cls_names[w_cls_codes]
    w_pt_codes = all_pt[window_rows]
    w_pt = all_pt_names[w_pt_codes]
    w_county = all_county_names[w_county_codes]
    ne_pts, clean_pts = set(NE_POWERTRAINS), set(CLEAN_POWERTRAINS)

    # --- today's stock by group (county, class, powertrain), survivors per target year
    # codes in order of first appearance in the stock (as a factorisation of the names would give)
    cls_codes, cls_names = _refactorize(all_cls[stock_rows], all_cls_names)
    county_codes, county_names = _refactorize(all_county[stock_rows], all_county_names)
    pt_codes, pt_names = _refactorize(all_pt[stock_rows], all_pt_names)
    combined = (county_codes.astype(np.int64) * max(len(cls_names), 1) + cls_codes) * max(len(pt_names), 1) + pt_codes
    present = np.bincount(combined) > 0 if len(combined) else np.zeros(0, bool)  # the few group codes in use
    keys = np.flatnonzero(present)
    gid = (np.cumsum(present) - 1)[combined]
    n_pt, n_cls = max(len(pt_names), 1), max(len(cls_names), 1)
    group_index = pd.MultiIndex.from_arrays(
        [np.asarray(county_names, dtype=object)[keys // n_pt // n_cls],
         np.asarray(cls_names, dtype=object)[(keys // n_pt) % n_cls],
         np.asarray(pt_names, dtype=object)[keys % n_pt]], names=["county", "cls", "pt"])
    survivors: dict[int, pd.Series] = {}
    # registration-day cohorts of a class share one survival probability: evaluate the curve per cohort
    cohorts = []
    for code, c in enumerate(cls_names):
        rows = np.flatnonzero(cls_codes == code)
        days = age_days[rows]
        cohorts.append((rows, np.arange(int(days.max()) + 1 if len(days) else 0) / _DAYS_PER_YEAR, days,
                        survival.get(str(c)) or prior_survival(str(c))))
    for y in years:
        dt = cutoff.years_to(y)
        p = np.zeros(len(stock_rows))
        for rows, cohort_age, cohort_of, curve in cohorts:
            p[rows] = curve.conditional(cohort_age, dt)[cohort_of]
        survivors[y] = pd.Series(np.bincount(gid, weights=p, minlength=len(group_index)), index=group_index)
    today = pd.Series(np.bincount(gid, minlength=len(group_index)).astype(float), index=group_index)

    # --- additions: volume and powertrain mix of the window per (county, class)
    added: dict[int, dict[tuple[str, str, str], float]] = {y: {} for y in years}
    flows: dict[int, dict[tuple[str, str], tuple[float, float, float]]] = {y: {} for y in years}  # all, NE, clean
    unit_parts: dict[tuple[str, str, int], float] = {}
    window_additions: dict[tuple[str | None, str], tuple[int, int]] = {}
    horizon_end = max((cutoff.years_to(y) for y in years), default=0.0)
    n_months = round(horizon_end * 12) + 1 if years else 0
    month_mid = cutoff.date + pd.to_timedelta((np.arange(n_months) + 0.5) * _DAYS_PER_YEAR / 12, unit="D")
    month_year = month_mid.year.to_numpy()
    when = month_year + (month_mid.day_of_year.to_numpy() - 1) / _DAYS_PER_YEAR
    w_is_ne = np.isin(w_pt, list(ne_pts))
    w_keys = sorted(set(zip(w_county.tolist(), w_cls.tolist())))
    w_pair = w_county_codes.astype(np.int64) * max(len(all_cls_names), 1) + w_cls_codes
    w_sorted = np.argsort(w_pair, kind="stable")
    w_bounds = np.searchsorted(w_pair[w_sorted], np.unique(w_pair), side="left").tolist() + [len(w_pair)]
    w_index = {(str(w_county[w_sorted[a]]), str(w_cls[w_sorted[a]])): w_sorted[a:b]
               for a, b in pairwise(w_bounds)}
    w_rows = {k: w_index[k] for k in w_keys}
    for k, idx in w_rows.items():
        window_additions[k] = (len(idx), int(w_is_ne[idx].sum()))
    for c in sorted({*map(str, cls_names), *set(w_cls.tolist())}):
        prev = window_additions.get((None, c), (0, 0))
        for cty in counties:
            a, b = window_additions.get((cty, c), (0, 0))
            prev = (prev[0] + a, prev[1] + b)
        window_additions[(None, c)] = prev
    stock_pts = today.groupby(level=["cls", "pt"]).sum()
    for (cty, c), idx in w_rows.items():
        volume = len(idx) * scenario.volume_factor  # per year
        is_ne = w_is_ne[idx]
        ne_mix = _mix(w_pt_codes[idx][is_ne], all_pt_names)
        other_mix = _mix(w_pt_codes[idx][~is_ne], all_pt_names)
        if not ne_mix:
            ne_mix = [("BEV", 1.0)]
        if not other_mix:
            others = {p: n for (cc, p), n in stock_pts.items() if cc == c and p not in ne_pts}
            other_mix = [((max(others, key=others.get) if others else "petrol"), 1.0)]
        clean_of_other = float(sum(f for p, f in other_mix if p in clean_pts))
        s = scenario.share(c, when, float(is_ne.mean()) if len(idx) else 0.0, cutoff.date)
        curve = survival.get(c) or prior_survival(c)
        for y in years:
            dt = cutoff.years_to(y)
            m = round(dt * 12)
            if m <= 0:
                continue
            ages = dt - (np.arange(m) + 0.5) / 12.0
            surv = curve.survival(np.maximum(ages, 0.0)) * (volume / 12.0)
            ne_surv = float(np.sum(surv * s[:m]))
            other_surv = float(np.sum(surv * (1 - s[:m])))
            unit_parts[(cty, c, y)] = float(np.sum(surv))
            for p, f in ne_mix:
                added[y][(cty, c, str(p))] = added[y].get((cty, c, str(p)), 0.0) + ne_surv * float(f)
            for p, f in other_mix:
                added[y][(cty, c, str(p))] = added[y].get((cty, c, str(p)), 0.0) + other_surv * float(f)
            in_year = (month_year[:m] == y)
            if in_year.any():
                share_y = float(np.mean(s[:m][in_year]))
            else:
                share_y = float(s[m - 1]) if m else float(is_ne.mean())
            flows[y][(cty, c)] = (volume, volume * share_y, volume * (1 - share_y) * clean_of_other)

    # --- shares per indicator, area and year
    shares: dict[tuple[str, str | None, int], Share] = {}
    parts: dict[tuple[str, str | None, int], tuple[float, float, float, float]] = {}
    for y in years:
        surv_y = list(survivors[y].items())
        added_y = list(added[y].items())
        unit_y = [(cty, c, v) for (cty, c, yy), v in unit_parts.items() if yy == y]
        for area in areas:
            for ind, vclass in STOCK_CLASS.items():
                ne_e = other_e = 0.0
                for (cty, c, p), n in surv_y:
                    if c != vclass or (area is not None and cty != area):
                        continue
                    if p in ne_pts:
                        ne_e += n
                    else:
                        other_e += n
                ne_a = other_a = unit = 0.0
                for (cty, c, p), n in added_y:
                    if c != vclass or (area is not None and cty != area):
                        continue
                    if p in ne_pts:
                        ne_a += n
                    else:
                        other_a += n
                unit = sum(v for cty, c, v in unit_y if c == vclass and (area is None or cty == area))
                shares[(ind, area, y)] = Share(ne_e + ne_a, ne_e + other_e + ne_a + other_a)
                parts[(ind, area, y)] = (ne_e, other_e, unit, ne_a + other_a)
            f_all = f_ne = f_clean = car_all = car_ne = 0.0
            for (cty, c), (v, ne, cl) in flows[y].items():
                if area is not None and cty != area:
                    continue
                f_all += v
                f_ne += ne
                f_clean += cl
                if c == "passenger_car":
                    car_all += v
                    car_ne += ne
            shares[("ne_or_clean_new_vehicle_share", area, y)] = Share(f_ne + f_clean, f_all)
            shares[("ev_new_passenger_car_share", area, y)] = Share(car_ne, car_all)

    # --- observed at the cut-off
    now_shares: dict[tuple[str, str | None], Share] = {}
    # counted on the (county, class, powertrain) groups of the stock and of the window
    w_ne_or_clean = np.isin(w_pt, list(ne_pts | clean_pts))
    g_county, g_cls, g_pt = (np.asarray(group_index.get_level_values(k), dtype=object) for k in ("county", "cls", "pt"))
    g_ne = np.isin(g_pt, list(ne_pts))
    g_today = today.to_numpy()
    w_car = w_cls == "passenger_car"
    for area in areas:
        in_area = np.ones(len(g_county), bool) if area is None else g_county == area
        w_area = np.ones(len(window_rows), bool) if area is None else w_county == area
        for ind, vclass in STOCK_CLASS.items():
            m = in_area & (g_cls == vclass)
            now_shares[(ind, area)] = Share(float(g_today[m & g_ne].sum()), float(g_today[m].sum()))
        now_shares[("ne_or_clean_new_vehicle_share", area)] = Share(float((w_ne_or_clean & w_area).sum()),
                                                                     float(w_area.sum()))
        car = w_area & w_car
        now_shares[("ev_new_passenger_car_share", area)] = Share(float(np.isin(w_pt[car], list(ne_pts)).sum()),
                                                                  float(car.sum()))

    intensity, now_intensity = _project_intensity(records, cutoff, years, areas, today, survivors, added,
                                                  grid_kg_co2_per_kwh_by_year)
    return Outlook(cutoff=cutoff, scenario=scenario, survival=dict(survival), years=years, areas=areas,
                   shares=shares, intensity=intensity, now_shares=now_shares, now_intensity=now_intensity,
                   window_additions=window_additions, stock_parts=parts)


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a text column and the names they stand for (as ``str``, object array).

    A categorical column (``coded_vehicles``) gives its own codes without looking at the text again.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, names = values.cat.codes.to_numpy(dtype=np.int64), values.cat.categories
    else:
        codes, names = pd.factorize(values.astype(str))
    if len(codes) and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        raise RecordError(f"vehicle records, row {row + 1}: field {values.name!r} is empty; expected a value "
                          "on every vehicle to project the stock")
    return codes, np.asarray([str(x) for x in names], dtype=object)


def _mix(codes: np.ndarray, names: np.ndarray) -> list[tuple[str, float]]:
    """(name, share) of each name among ``codes``, most frequent first (ties in order of first appearance)."""
    if len(codes) == 0:
        return []
    uniq, first, counts = np.unique(codes, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    return [(str(names[u]), float(n / len(codes))) for u, n in zip(uniq[order], counts[order], strict=True)]


def _refactorize(codes: np.ndarray, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a subset renumbered by first appearance, and their names."""
    sub, uniques = pd.factorize(codes)
    return sub, names[uniques]


def _first_year(vehicles: pd.DataFrame) -> int:
    dereg = vehicles["deregistered_on"].dropna()
    first = int(vehicles["registered_on"].min().year)
    return max(first, int(dereg.min().year)) if not dereg.empty else first


def _project_intensity(records: FleetRecords, cutoff: Cutoff, years: tuple[int, ...], areas: tuple[str | None, ...],
                       today: pd.Series, survivors: Mapping[int, pd.Series],
                       added: Mapping[int, Mapping[tuple[str, str, str], float]],
                       grid_by_year: Mapping[int, float] | None,
                       ) -> tuple[dict[tuple[str | None, int], Intensity], dict[str | None, tuple[int, Intensity]]]:
    act = records.activity
    out: dict[tuple[str | None, int], Intensity] = {}
    now: dict[str | None, tuple[int, Intensity]] = {}
    if act is None or act.empty or "co2_kg" not in act:
        return out, now
    act = act[act["year"].astype(int) <= cutoff.complete_year]
    if act.empty:
        return out, now
    last = int(act["year"].max())
    rows = act[act["year"].astype(int) == last]
    factors = _carrier_factors(records)
    grid = dict(grid_by_year) if grid_by_year is not None else grid_factor_by_year(records)
    energy_cols = [c for c in ENERGY_COLUMNS if c in rows]
    keyed = rows.assign(county=rows["county_code"].astype(str), cls=rows["vehicle_class"].astype(str),
                        pt=rows["powertrain"].astype(str)).groupby(["county", "cls", "pt"])[
        ["passenger_km", "tonne_km", "co2_kg", *energy_cols]].sum()
    for area in areas:
        sel = keyed if area is None else keyed[keyed.index.get_level_values(0) == area]
        co2 = float(sel["co2_kg"].sum())
        conv = float((sel["tonne_km"] + PASSENGER_KM_TO_TONNE_KM * sel["passenger_km"]).sum())
        now[area] = (last, Intensity(co2, conv))
    # per-vehicle rates of the latest activity year (stock on 31 Dec of that year ~ today's stock)
    base = today.reindex(keyed.index).fillna(0.0)
    rates = keyed.div(base.replace(0.0, np.nan), axis=0)
    by_cls_pt = keyed.groupby(level=["cls", "pt"]).sum().div(
        today.groupby(level=["cls", "pt"]).sum().reindex(keyed.groupby(level=["cls", "pt"]).sum().index)
        .replace(0.0, np.nan), axis=0)
    cols = ["tonne_km", "passenger_km", *energy_cols]
    rate_of = {k: dict(zip(cols, (float(x) for x in row), strict=True))
               for k, row in zip(rates.index, rates[cols].to_numpy(), strict=True) if np.isfinite(row[1])}
    class_rate_of = {k: dict(zip(cols, (float(x) for x in row), strict=True))
                     for k, row in zip(by_cls_pt.index, by_cls_pt[cols].to_numpy(), strict=True) if np.isfinite(row[1])}
    for y in years:
        factor_y = {**factors, **({"electricity_kwh": grid[_nearest(grid, y)]} if grid else {})}
        fleet: dict[tuple[str, str, str], float] = dict(zip(survivors[y].index, survivors[y].to_numpy(), strict=True))
        for k, n in added[y].items():
            fleet[k] = fleet.get(k, 0.0) + n
        per_area = {area: [0.0, 0.0] for area in areas}
        for (cty, c, p), n in fleet.items():
            r = rate_of.get((cty, c, p)) or class_rate_of.get((c, p))
            if r is None:
                continue  # no operating activity known for this class and powertrain
            conv = n * (r["tonne_km"] + PASSENGER_KM_TO_TONNE_KM * r["passenger_km"])
            co2 = n * sum(r[col] * factor_y.get(col, 0.0) for col in energy_cols)
            for area in (None, cty):
                if area in per_area:
                    per_area[area][0] += co2
                    per_area[area][1] += conv
        for area in areas:
            out[(area, y)] = Intensity(per_area[area][0], per_area[area][1])
    return out, now


def _nearest(table: Mapping[int, float], year: int) -> int:
    keys = sorted(table)
    if year in table:
        return year
    return keys[-1] if year > keys[-1] else keys[0] if year < keys[0] else max(k for k in keys if k <= year)


def _carrier_factors(records: FleetRecords) -> dict[str, float]:
    factors = getattr(records, "emission_factors", None)
    if factors is None or len(factors) == 0:
        return {}
    return dict(zip(factors["activity_column"], factors["kg_co2_per_unit"].astype(float), strict=True))


def grid_factor_by_year(records: FleetRecords) -> dict[int, float]:
    """kg CO2 per kWh by year: the records' grid-factor table, else the one electricity factor."""
    table = getattr(records, "grid_factors", None)
    if table is not None and len(table):
        return {int(y): float(v) for y, v in zip(table["year"], table["kg_co2_per_kwh"], strict=True)}
    factors = _carrier_factors(records)
    return {0: factors["electricity_kwh"]} if "electricity_kwh" in factors else {}
