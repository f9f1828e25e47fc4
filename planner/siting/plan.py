"""The Shanwei planning model: fast chargers at every service area, along every corridor, near every town.

One mixed-integer programme over all stages (2025 and 2030 by default), nested so that a site
opened in an early stage stays open and keeps its chargers:

* service areas: every active service-area side has a station in every stage (2025 mandate);
* corridors: every stretch of ``range_margin_km`` along each motorway direction holds a charger;
* towns: every town seat within ``drive_time_min`` of a public fast charger (from
  ``town_coverage_from``), or, under a budget, the most people covered;
* fleets: bus and taxi depots get the chargers their overnight energy needs;
* sizing: chargers per site from norms and an Erlang-C peak-hour queue (``sizing.py``), within
  the site's grid capacity where it is known.

The objective is the cost summed over stages, which builds each site as late as its requirements allow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pulp

from planner.errors import InfeasibleError, NoPlanInTimeError
from planner.progress import ProgressCallback, StepTimer, silent
from planner.routing import costs_from, to_csr
from planner.siting.candidates import (
    CANDIDATE_KINDS,
    Candidate,
    CorridorWindow,
    Town,
    corridor_windows,
    haversine_km,
    motorway_graph,
)
from planner.siting.models import SolveResult, SolverOptions, model_variable, solve_problem
from planner.siting.sizing import ChargerNorms, chargers_for_wait, required_chargers, site_power_kw


@dataclass(frozen=True)
class CostAssumptions:
    """Capital costs in CNY. ASSUMPTIONS, not published prices: replace with local quotes."""

    #: Civil works, grid connection and transformer per new site.
    site_fixed_cny: float = 600_000.0
    #: One 120 kW DC charger with installation.
    dc_charger_cny: float = 70_000.0
    #: One high-power (>= 360 kW) connector share of a liquid-cooled charger with installation.
    high_power_charger_cny: float = 220_000.0
    #: One depot charger (overnight, ``depot_power_kw``).
    depot_charger_cny: float = 40_000.0


@dataclass(frozen=True)
class DemandAssumptions:
    """Peak-hour charging demand. ASSUMPTIONS documented here; a city replaces them with counts."""

    #: Annual average daily traffic on an expressway, both directions (no public count: assumed).
    expressway_aadt: float = 40_000.0
    #: Share of daily traffic in the peak hour (typical design-hour factor 0.08-0.12).
    peak_hour_factor: float = 0.10
    #: Share of passing EVs that stop to fast-charge at a service area.
    ev_stop_share: float = 0.10
    #: Cars per resident (Shanwei's car ownership is below Guangdong's average: assumed).
    cars_per_resident: float = 0.15
    #: Fast-charging sessions per EV per day in a town without home charging for all (assumed).
    town_sessions_per_ev_day: float = 0.10
    #: EV share of the car stock (and of expressway traffic) in each stage year; the CLI replaces the
    #: defaults with the fleet records' projection.
    ev_share_by_year: dict[int, float] = field(default_factory=lambda: {2025: 0.08, 2030: 0.20})

    def ev_share(self, year: int) -> float:
        """EV share for ``year``: the nearest year at or before it, else the earliest known."""
        known = sorted(self.ev_share_by_year)
        before = [y for y in known if y <= year]
        return self.ev_share_by_year[before[-1] if before else known[0]]


@dataclass(frozen=True)
class Scenario:
    """Everything a planner can choose for one run; defaults follow the Shanwei plan and the norms."""

    stage_years: tuple[int, ...] = (2025, 2030)
    #: Longest motorway stretch without a fast charger, km (EV range margin).
    range_margin_km: float = 50.0
    #: A town is covered by a public fast charger within this drive time, minutes.
    drive_time_min: float = 30.0
    #: First stage year in which towns must be covered (None: never required).
    town_coverage_from: int | None = 2030
    #: Total capital budget for the final stage, CNY; with a budget, towns are covered as far as it
    #: allows (most people first) instead of all being required.
    budget_cny: float | None = None
    candidate_kinds: tuple[str, ...] = CANDIDATE_KINDS
    #: Interchange and fuel/parking sites this close to a motorway node count for its corridor, km.
    corridor_access_km: float = 1.0
    norms: ChargerNorms = field(default_factory=ChargerNorms)
    costs: CostAssumptions = field(default_factory=CostAssumptions)
    demand: DemandAssumptions = field(default_factory=DemandAssumptions)
    #: Depot charger power, kW, and the overnight window in which fleets charge, hours.
    depot_power_kw: float = 60.0
    depot_window_h: float = 8.0
    solver: SolverOptions = field(default_factory=SolverOptions)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.candidate_kinds) - set(CANDIDATE_KINDS))
        if unknown:
            raise ValueError(f"unknown candidate kinds {unknown}; expected some of {list(CANDIDATE_KINDS)}")
        if not self.stage_years or list(self.stage_years) != sorted(set(self.stage_years)):
            raise ValueError(f"stage_years must be increasing years, got {self.stage_years}")
        if self.range_margin_km <= 0 or self.drive_time_min <= 0:
            raise ValueError("range_margin_km and drive_time_min must be positive")


@dataclass(frozen=True)
class SitePlan:
    """One opened site: where, from which stage, and how many chargers in each stage."""

    candidate: Candidate
    first_stage: int
    chargers_by_stage: dict[int, int]
    power_kw_by_stage: dict[int, float]
    cost_cny_by_stage: dict[int, float]
    peak_arrivals_per_hour_by_stage: dict[int, float]
    towns_served: tuple[str, ...]


@dataclass(frozen=True)
class TownCoverage:
    """Drive time from a town to its nearest open public charger, per stage."""

    town: Town
    minutes_by_stage: dict[int, float | None]
    covered_by_stage: dict[int, bool]


@dataclass(frozen=True)
class PlanResult:
    """A solved plan: sites, town coverage, the corridor windows it satisfies, and solver figures."""

    scenario: Scenario
    sites: tuple[SitePlan, ...]
    towns: tuple[TownCoverage, ...]
    windows: tuple[CorridorWindow, ...]
    solve: SolveResult
    timings_s: dict[str, float]

    def summary(self) -> dict[str, Any]:
        """Sites, chargers, cost and town coverage per stage, city-wide and by county (JSON-ready)."""
        stages: dict[str, Any] = {}
        for year in self.scenario.stage_years:
            open_sites = [s for s in self.sites if s.first_stage <= year]
            by_county: dict[str, dict[str, int]] = {}
            for tc in self.towns:
                c = by_county.setdefault(tc.town.county_code or "unknown", {"towns": 0, "covered": 0})
                c["towns"] += 1
                c["covered"] += int(tc.covered_by_stage[year])
            stages[str(year)] = {
                "sites": len(open_sites),
                "sites_by_kind": _count(s.candidate.kind for s in open_sites),
                "chargers": sum(s.chargers_by_stage[year] for s in open_sites),
                "power_kw": sum(s.power_kw_by_stage[year] for s in open_sites),
                "cost_cny": sum(s.cost_cny_by_stage[year] for s in open_sites),
                "service_area_sides_with_station": sum(1 for s in open_sites if s.candidate.kind == "service_area"),
                "towns_covered": sum(int(t.covered_by_stage[year]) for t in self.towns),
                "towns": len(self.towns),
                "population_covered": sum(t.town.population for t in self.towns if t.covered_by_stage[year]),
                "coverage_by_county": by_county,
            }
        return {
            "stages": stages,
            "corridor_windows": len(self.windows),
            "solver": {
                "status": self.solve.status,
                "objective_cny": self.solve.objective,
                "bound_cny": self.solve.bound,
                "gap": self.solve.gap,
                "solver": self.solve.solver,
                "solve_time_s": self.solve.solve_time_s,
            },
            "timings_s": dict(self.timings_s),
        }


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# Inputs from the road network and the fleet records
# --------------------------------------------------------------------------------------------------


def candidates_from_network(
    network: Any, *, scenario: Scenario, depots: Sequence[dict[str, Any]] = ()
) -> list[Candidate]:
    """Candidate sites of the kinds the scenario allows, each attached to its graph node.

    ``depots`` are dicts with ``depot_id``, ``name``, ``lon``, ``lat``, ``vehicles``, ``daily_kwh`` and
    optionally ``grid_capacity_kw`` (from the fleet records).
    """
    graph = network.graph
    kinds = set(scenario.candidate_kinds)
    mg = motorway_graph(graph)
    mw_nodes = list(mg.nodes)
    mw_lon = np.array([graph.nodes[n]["x"] for n in mw_nodes])
    mw_lat = np.array([graph.nodes[n]["y"] for n in mw_nodes])

    def near_motorway(lon: float, lat: float) -> tuple[Any, ...]:
        if not mw_nodes:
            return ()
        d = haversine_km(lon, lat, mw_lon, mw_lat)
        return tuple(mw_nodes[i] for i in np.flatnonzero(d <= scenario.corridor_access_km))

    out: list[Candidate] = []
    if "service_area" in kinds:
        for sa in network.service_areas:
            if sa.status != "active":
                continue
            out.append(
                Candidate(
                    site_id=f"sa:{sa.id}:{sa.side}",
                    kind="service_area",
                    name=f"{sa.name} ({sa.side} side)",
                    lon=sa.lon,
                    lat=sa.lat,
                    node=sa.node,
                    corridor_nodes=(sa.node,),
                    service_area_id=sa.id,
                    side=sa.side,
                    parking_spaces=sa.parking_spaces,
                    grid_capacity_kw=sa.grid_capacity_kw,
                    location_approximate=sa.location_approximate,
                )
            )
    for poi in network.pois:
        if poi.kind not in kinds:
            continue
        corridor = near_motorway(poi.lon, poi.lat) if poi.kind == "interchange" else ()
        out.append(
            Candidate(
                site_id=f"{poi.kind}:{poi.osm_id}",
                kind=poi.kind,
                name=poi.name or f"{poi.kind} {poi.osm_id}",
                lon=poi.lon,
                lat=poi.lat,
                node=poi.node,
                corridor_nodes=corridor,
            )
        )
    if "town" in kinds:
        for place in network.places:
            out.append(
                Candidate(
                    site_id=f"town:{place.osm_id}",
                    kind="town",
                    name=f"{place.name} town centre",
                    lon=place.lon,
                    lat=place.lat,
                    node=place.node,
                )
            )
    if "depot" in kinds and depots:
        nodes = list(graph.nodes)
        lon = np.array([graph.nodes[n]["x"] for n in nodes])
        lat = np.array([graph.nodes[n]["y"] for n in nodes])
        for d in depots:
            if float(d.get("daily_kwh", 0.0)) <= 0:
                continue  # no electric vehicle is based there: nothing to charge
            node = nodes[int(np.argmin(haversine_km(d["lon"], d["lat"], lon, lat)))]
            out.append(
                Candidate(
                    site_id=f"depot:{d['depot_id']}",
                    kind="depot",
                    name=str(d.get("name") or d["depot_id"]),
                    lon=float(d["lon"]),
                    lat=float(d["lat"]),
                    node=node,
                    grid_capacity_kw=d.get("grid_capacity_kw"),
                    depot_vehicles=int(d.get("vehicles", 0)),
                    depot_daily_kwh=float(d.get("daily_kwh", 0.0)),
                    location_approximate=True,
                )
            )
    return out


def towns_from_network(network: Any) -> list[Town]:
    """Town and township seats of the network, with population (0 where unknown)."""
    return [
        Town(
            town_id=str(p.osm_id),
            name=p.name,
            lon=p.lon,
            lat=p.lat,
            node=p.node,
            population=int(p.population or 0),
            county_code=p.county_code,
        )
        for p in network.places
    ]


# --------------------------------------------------------------------------------------------------
# Demand and sizing
# --------------------------------------------------------------------------------------------------


def service_area_arrivals_per_hour(scenario: Scenario, year: int) -> float:
    """Peak-hour EVs stopping to fast-charge at one side of a service area."""
    d = scenario.demand
    return d.expressway_aadt * 0.5 * d.peak_hour_factor * d.ev_share(year) * d.ev_stop_share


def town_arrivals_per_hour(scenario: Scenario, town: Town, year: int) -> float:
    """Peak-hour fast-charging arrivals generated by a town's residents."""
    d = scenario.demand
    daily = town.population * d.cars_per_resident * d.ev_share(year) * d.town_sessions_per_ev_day
    return daily * d.peak_hour_factor


def depot_chargers(scenario: Scenario, cand: Candidate) -> int:
    """Depot chargers to deliver the fleet's daily energy within the overnight window."""
    if cand.depot_daily_kwh <= 0:
        return 0
    return max(1, math.ceil(cand.depot_daily_kwh / (scenario.depot_power_kw * scenario.depot_window_h)))


def minimum_chargers(scenario: Scenario, cand: Candidate, year: int) -> int:
    """Chargers a site needs in ``year`` if opened, before town demand is assigned to it."""
    if cand.kind == "depot":
        return depot_chargers(scenario, cand)
    arrivals = service_area_arrivals_per_hour(scenario, year) if cand.kind == "service_area" else 0.0
    return required_chargers(
        norms=scenario.norms,
        peak_arrivals_per_hour=arrivals,
        parking_spaces=cand.parking_spaces,
        is_service_area=cand.kind == "service_area",
    )


def power_kw(scenario: Scenario, cand: Candidate, chargers: int) -> float:
    """Installed power of ``chargers`` at a site (depots at the depot power)."""
    if cand.kind == "depot":
        return chargers * scenario.depot_power_kw
    return site_power_kw(chargers, scenario.norms)


def max_chargers(scenario: Scenario, cand: Candidate) -> int | None:
    """Most chargers the site's grid connection allows, or None when its capacity is unknown."""
    if cand.grid_capacity_kw is None:
        return None
    n = 0
    while power_kw(scenario, cand, n + 1) <= cand.grid_capacity_kw + 1e-9:
        n += 1
    return n


def cost_cny(scenario: Scenario, cand: Candidate, chargers: int) -> float:
    """Capital cost of a site with ``chargers`` (fixed part included when chargers > 0)."""
    if chargers <= 0:
        return 0.0
    c = scenario.costs
    if cand.kind == "depot":
        return c.site_fixed_cny * 0.25 + chargers * c.depot_charger_cny
    standard = chargers - math.ceil(scenario.norms.high_power_share * chargers)
    high = chargers - standard
    return c.site_fixed_cny + standard * c.dc_charger_cny + high * c.high_power_charger_cny


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


def plan_sites(
    network: Any,
    *,
    scenario: Scenario | None = None,
    depots: Sequence[dict[str, Any]] = (),
    progress: ProgressCallback = silent,
) -> PlanResult:
    """Site and size fast chargers on ``network`` for every stage of ``scenario``.

    Raises ``InfeasibleError`` naming each requirement that cannot be met, and where.
    """
    scenario = scenario or Scenario()
    timer = StepTimer(total=3, callback=progress)
    with timer.step("candidates, towns and corridor windows"):
        cands = candidates_from_network(network, scenario=scenario, depots=depots)
        towns = towns_from_network(network)
        windows = corridor_windows(network.graph, cands, range_margin_km=scenario.range_margin_km)
    with timer.step("drive times from towns to public candidates"):
        public = [c for c in cands if c.public]
        csr = to_csr(network.graph, weight="travel_time")
        minutes = (
            costs_from(csr, [t.node for t in towns], [c.node for c in public], limit=scenario.drive_time_min * 60)
            / 60.0
        )
    with timer.step("model build, solve and sizing"):
        sites, coverage, solve = _solve_within_budget(scenario, cands, towns, windows, public, minutes)
    return PlanResult(scenario, tuple(sites), tuple(coverage), tuple(windows), solve, dict(timer.timings_s))


#: Re-solves allowed when sizing for town demand pushes the final-stage cost over the budget.
BUDGET_ROUNDS = 6


def _solve_within_budget(
    scenario: Scenario,
    cands: Sequence[Candidate],
    towns: Sequence[Town],
    windows: Sequence[CorridorWindow],
    public: Sequence[Candidate],
    minutes: np.ndarray,
) -> tuple[list[SitePlan], list[TownCoverage], SolveResult]:
    """Solve, then size; under a budget, tighten the model's budget until the sized plan fits in it.

    The model prices each site at its minimum charger count; town demand assigned afterwards can add
    chargers, so the budget the model sees is lowered by the overrun and the model solved again.
    """
    final = scenario.stage_years[-1]
    model_scenario = scenario
    spent = 0.0
    for _ in range(BUDGET_ROUNDS):
        try:
            open_stage, solve = _solve_model(model_scenario, cands, towns, windows, public, minutes)
        except InfeasibleError:
            if model_scenario is scenario:
                raise
            break  # the tightened budget no longer fits: say so with the planner's own budget below
        sites, coverage = _size_and_cover(scenario, cands, towns, public, minutes, open_stage)
        if scenario.budget_cny is None:
            return sites, coverage, solve
        spent = sum(s.cost_cny_by_stage[final] for s in sites)
        if spent <= scenario.budget_cny + 1e-6:
            return sites, coverage, solve
        model_scenario = replace(model_scenario, budget_cny=model_scenario.budget_cny - (spent - scenario.budget_cny))
    raise InfeasibleError(
        "No plan fits the budget once sites are sized for the demand they serve",
        [f"budget {scenario.budget_cny:,.0f} CNY: the last sized plan cost {spent:,.0f} CNY in {final}; "
         "raise the budget or the drive-time threshold"],
    )


def _prechecks(
    scenario: Scenario,
    cands: Sequence[Candidate],
    towns: Sequence[Town],
    windows: Sequence[CorridorWindow],
    covering: np.ndarray,
) -> None:
    """Requirements that no choice of sites can meet, in a planner's words."""
    reasons: list[str] = []
    for cand in cands:
        cap = max_chargers(scenario, cand)
        if cand.kind not in ("service_area", "depot") or cap is None:
            continue
        # Demand grows with the EV share, so a mandatory station may outgrow its grid in a later stage.
        for year in scenario.stage_years:
            need = minimum_chargers(scenario, cand, year)
            if cap < need:
                reasons.append(
                    f"{cand.name} in {year}: grid capacity {cand.grid_capacity_kw:.0f} kW < "
                    f"{power_kw(scenario, cand, need):.0f} kW needed for {need} chargers"
                )
                break
    for w in windows:
        if not w.candidates:
            reasons.append(
                f"{w.describe(scenario.range_margin_km)}: no candidate site on this stretch, so the "
                f"{scenario.range_margin_km:g} km range margin cannot be kept (add interchange or "
                "service-area candidates, or raise the range margin)"
            )
    if scenario.town_coverage_from is not None and scenario.budget_cny is None and towns:
        for i in np.flatnonzero(~covering.any(axis=1)):
            reasons.append(
                f"town {towns[i].name}: no public candidate within {scenario.drive_time_min:g} min drive "
                "(add candidates near it or raise the drive-time threshold)"
            )
    if reasons:
        raise InfeasibleError("The plan's requirements cannot all be met", reasons)


def _solve_model(
    scenario: Scenario,
    cands: Sequence[Candidate],
    towns: Sequence[Town],
    windows: Sequence[CorridorWindow],
    public: Sequence[Candidate],
    minutes: np.ndarray,
) -> tuple[dict[str, int], SolveResult]:
    """Build and solve the nested multi-stage model; returns the first stage year of each open site."""
    covering = np.isfinite(minutes) & (minutes <= scenario.drive_time_min)
    _prechecks(scenario, cands, towns, windows, covering)
    years = scenario.stage_years
    final = years[-1]
    prob = pulp.LpProblem("evplan_siting", pulp.LpMinimize)
    y = {(c.site_id, t): model_variable(prob, f"open_{j}_{t}", 0, 1, pulp.LpBinary)
         for j, c in enumerate(cands) for t in years}
    by_id = {c.site_id: c for c in cands}
    objective = pulp.LpAffineExpression()
    for c in cands:
        for k, t in enumerate(years):
            need = minimum_chargers(scenario, c, t)
            # Cost of holding the site in stage t; summing over stages favours opening late.
            objective += cost_cny(scenario, c, need) * y[c.site_id, t]
            if k:
                prob += y[c.site_id, years[k - 1]] <= y[c.site_id, t], f"nest_{c.site_id}_{t}"
            if c.kind in ("service_area", "depot"):
                prob += y[c.site_id, t] == 1, f"mandatory_{c.site_id}_{t}"
            cap = max_chargers(scenario, c)
            if cap is not None and cap < need:
                prob += y[c.site_id, t] == 0, f"grid_{c.site_id}_{t}"
    for w_i, w in enumerate(windows):
        for t in years:
            prob += pulp.LpAffineExpression([(y[s, t], 1) for s in w.candidates]) >= 1, f"corridor_{w_i}_{t}"
    z: dict[tuple[int, int], pulp.LpVariable] = {}
    for t in years:
        if scenario.town_coverage_from is None or t < scenario.town_coverage_from:
            continue
        for i, town in enumerate(towns):
            reach = [public[j].site_id for j in np.flatnonzero(covering[i])]
            cover = pulp.LpAffineExpression([(y[s, t], 1) for s in reach])
            if scenario.budget_cny is None:
                prob += cover >= 1, f"town_{i}_{t}"
            else:
                z[i, t] = model_variable(prob, f"covered_{i}_{t}", 0, 1, pulp.LpBinary)
                prob += z[i, t] <= cover, f"town_{i}_{t}"
    if scenario.budget_cny is not None:
        spend = pulp.LpAffineExpression(
            [(y[c.site_id, final], cost_cny(scenario, c, minimum_chargers(scenario, c, final))) for c in cands]
        )
        prob += spend <= scenario.budget_cny, "budget"
        # Lexicographic in one objective: people covered first, cost as the tie-breaker.
        total_cost = sum(cost_cny(scenario, c, minimum_chargers(scenario, c, final)) for c in cands) * len(years)
        weight = 10.0 * (total_cost + 1.0)
        objective += pulp.LpAffineExpression([(v, -weight * max(towns[i].population, 1)) for (i, _), v in z.items()])
    prob += objective
    result = solve_problem(prob, scenario.solver)
    if result.status == "infeasible":
        reasons = []
        if scenario.budget_cny is not None:
            mandatory = sum(
                cost_cny(scenario, c, minimum_chargers(scenario, c, final))
                for c in cands
                if c.kind in ("service_area", "depot")
            )
            reasons.append(
                f"budget {scenario.budget_cny:,.0f} CNY is below the cost of the mandatory service-area and depot "
                f"stations and corridor chargers (service areas and depots alone: {mandatory:,.0f} CNY)"
            )
        raise InfeasibleError("The solver proved that no plan meets every requirement", reasons)
    if not result.has_solution:
        raise NoPlanInTimeError(
            f"{result.solver} found no plan within the time limit of {scenario.solver.time_limit_s} s "
            f"(status {result.status}); raise --time-limit-s or relax --mip-gap"
        )
    first_stage: dict[str, int] = {}
    for c in cands:
        for t in years:
            if (y[c.site_id, t].value() or 0) > 0.5:
                first_stage[c.site_id] = t
                break
    assert set(first_stage) <= set(by_id)
    return first_stage, result


def _size_and_cover(
    scenario: Scenario,
    cands: Sequence[Candidate],
    towns: Sequence[Town],
    public: Sequence[Candidate],
    minutes: np.ndarray,
    first_stage: dict[str, int],
) -> tuple[list[SitePlan], list[TownCoverage]]:
    """Assign each town to its nearest open public charger, size every site, and record coverage."""
    years = scenario.stage_years
    by_id = {c.site_id: c for c in cands}
    public_index = {c.site_id: j for j, c in enumerate(public)}
    town_arrivals: dict[tuple[str, int], float] = {}
    towns_served: dict[str, set[str]] = {}
    coverage: list[TownCoverage] = []
    for i, town in enumerate(towns):
        mins: dict[int, float | None] = {}
        covered: dict[int, bool] = {}
        for t in years:
            open_js = [public_index[s] for s, y0 in first_stage.items() if y0 <= t and s in public_index]
            best = None
            if open_js:
                row = minutes[i, open_js]
                k = int(np.argmin(row))
                if np.isfinite(row[k]):
                    best = public[open_js[k]].site_id
                    mins[t] = round(float(row[k]), 2)
            mins.setdefault(t, None)
            covered[t] = mins[t] is not None and mins[t] <= scenario.drive_time_min
            if best is not None and covered[t]:
                key = (best, t)
                town_arrivals[key] = town_arrivals.get(key, 0.0) + town_arrivals_per_hour(scenario, town, t)
                towns_served.setdefault(best, set()).add(town.name)
        coverage.append(TownCoverage(town, mins, covered))

    sites: list[SitePlan] = []
    reasons: list[str] = []
    for site_id, y0 in sorted(first_stage.items(), key=lambda kv: (kv[1], kv[0])):
        cand = by_id[site_id]
        chargers: dict[int, int] = {}
        arrivals: dict[int, float] = {}
        previous = 0
        for t in years:
            if t < y0:
                chargers[t], arrivals[t] = 0, 0.0
                continue
            need = minimum_chargers(scenario, cand, t)
            extra = town_arrivals.get((site_id, t), 0.0)
            base = service_area_arrivals_per_hour(scenario, t) if cand.kind == "service_area" else 0.0
            arrivals[t] = round(base + extra, 3)
            if extra > 0:
                need = max(need, chargers_for_wait(base + extra, scenario.norms.session_minutes(),
                                                   scenario.norms.max_wait_probability))
            need = max(need, previous)  # nested: chargers built stay
            cap = max_chargers(scenario, cand)
            if cap is not None and need > cap:
                reasons.append(
                    f"{cand.name} in {t}: grid capacity {cand.grid_capacity_kw:.0f} kW < "
                    f"{power_kw(scenario, cand, need):.0f} kW needed for {need} chargers"
                )
            chargers[t] = previous = need
        sites.append(
            SitePlan(
                candidate=cand,
                first_stage=y0,
                chargers_by_stage=chargers,
                power_kw_by_stage={t: power_kw(scenario, cand, n) for t, n in chargers.items()},
                cost_cny_by_stage={t: cost_cny(scenario, cand, n) for t, n in chargers.items()},
                peak_arrivals_per_hour_by_stage=arrivals,
                towns_served=tuple(sorted(towns_served.get(site_id, ()))),
            )
        )
    if reasons:
        raise InfeasibleError("Sized sites exceed their grid capacity", reasons)
    return sites, coverage


def scenario_from_options(
    *,
    stage_years: Sequence[int] = (2025, 2030),
    range_margin_km: float = 50.0,
    drive_time_min: float = 30.0,
    town_coverage_from: int | None = 2030,
    budget_cny: float | None = None,
    candidate_kinds: Sequence[str] = CANDIDATE_KINDS,
    power_kw: float = 120.0,
    high_power_kw: float = 360.0,
    min_chargers: int = 3,
    max_wait_probability: float = 0.2,
    solver: str = "highs",
    time_limit_s: float | None = 60.0,
    mip_gap: float = 1e-4,
) -> Scenario:
    """A scenario from the flat options the CLI and the API expose (units in the names)."""
    norms = replace(
        ChargerNorms(),
        dc_power_kw=power_kw,
        high_power_kw=high_power_kw,
        min_chargers_per_station=min_chargers,
        max_wait_probability=max_wait_probability,
    )
    return Scenario(
        stage_years=tuple(stage_years),
        range_margin_km=range_margin_km,
        drive_time_min=drive_time_min,
        town_coverage_from=town_coverage_from,
        budget_cny=budget_cny,
        candidate_kinds=tuple(dict.fromkeys(candidate_kinds)),
        norms=norms,
        solver=SolverOptions(solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap),
    )


def with_ev_shares(scenario: Scenario, shares: dict[int, float]) -> Scenario:
    """The scenario with EV shares by year replaced (e.g. from the fleet records' projection)."""
    return replace(scenario, demand=replace(scenario.demand, ev_share_by_year=dict(shares)))

