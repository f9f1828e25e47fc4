"""The Shanwei plan: one multi-stage MILP (``model.py``) sites chargers, sizes them per power class and assigns demand.

Per candidate site and stage the solver chooses: open or not, standard and high-power chargers
(integers, never decreasing, at least what exists), and which towns' peak-hour arrivals it serves,
within Erlang-C capacity. Service-area sides and fleet depots are mandatory (clause 22, the fleets);
every motorway stretch of ``range_margin_km`` holds a charger; corridor sites carry the stopping traffic
that passes them; towns reach public sites over local roads within ``drive_time_min`` and are required
from ``town_coverage_from``. The objective is the present value of the capital spent per stage; with a
budget, the most people are served in the final stage first. Existing chargers are sunk capacity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from planner.progress import ProgressCallback, StepTimer, nested, silent
from planner.siting.candidates import (
    Candidate,
    CandidateKind,
    CorridorWindow,
    Depot,
    Town,
    UnsitedDepot,
    candidates_from_network,
    corridor_windows,
    corridors,
    depots_within_reach,
    towns_from_network,
)
from planner.siting.existing import (
    AttachedExisting,
    ExistingCapacity,
    ExistingCharger,
    attach_existing,
)
from planner.siting.model import (
    ChargerClass,
    DemandInput,
    ModelInput,
    ModelSolution,
    SiteInput,
    dominated_sites,
    solve_model,
)
from planner.siting.scenario import Scenario
from planner.siting.sizing import (
    depot_chargers,
    present_value_factor,
    service_area_arrivals_per_hour,
    town_arrivals_per_hour,
)
from planner.siting.solver import SolveResult

if TYPE_CHECKING:
    from planner.demand.flows import RoutedFlow
    from planner.network import RoadNetwork

logger = logging.getLogger(__name__)

#: ``PlanResult.summary()`` as JSON: stages, counties, clause 22, solver figures and timings.
PlanSummary = dict[str, Any]

#: Charger power classes of the model: public sites hold the first two, depots the third.
STANDARD, HIGH_POWER, DEPOT = "standard", "high_power", "depot"
#: Road classes a town does not drive on to reach a charger (the tolled carriageway and its ramps).
EXPRESSWAY = ("motorway", "motorway_link")


@dataclass(frozen=True)
class DemandPoint:
    """Public fast-charging demand at one place: peak-hour arrivals by stage year, and the people behind it."""

    demand_id: str
    name: str
    lon: float
    lat: float
    node: Any
    arrivals_by_year: dict[int, float]
    #: Residents (None: unknown); budget mode serves the most people.
    people: int | None
    county_code: str | None = None


@dataclass(frozen=True)
class SitePlan:
    """One site the plan uses in some stage: per stage, chargers by class, power, spending and arrivals."""

    candidate: Candidate
    first_stage: int
    chargers_by_stage: dict[int, int]
    high_power_by_stage: dict[int, int]
    existing_by_stage: dict[int, int]
    power_kw_by_stage: dict[int, float]
    #: Capital spent at the site in the stage (new chargers, fixed cost when it opens), CNY.
    capex_cny_by_stage: dict[int, float]
    #: Everything spent at the site up to the stage, CNY.
    cost_cny_by_stage: dict[int, float]
    #: Peak-hour arrivals it serves: its own stopping traffic plus assigned town demand.
    peak_arrivals_per_hour_by_stage: dict[int, float]
    #: Of which its own stopping traffic (service-area side, corridor passing it).
    corridor_arrivals_per_hour_by_stage: dict[int, float]
    #: What its chargers can serve at the target waiting probability.
    capacity_arrivals_per_hour_by_stage: dict[int, float]
    towns_served_by_stage: dict[int, tuple[str, ...]]
    county_code: str | None = None
    county_name: str | None = None

    @property
    def towns_served(self) -> tuple[str, ...]:
        """Towns served in the final stage."""
        return self.towns_served_by_stage[max(self.towns_served_by_stage)] if self.towns_served_by_stage else ()


@dataclass(frozen=True)
class TownCoverage:
    """Whether a town's demand is served within the drive time, by which sites, per stage."""

    town: Town
    #: Drive time over local roads to the nearest open public charger (None: none within the threshold).
    minutes_by_stage: dict[int, float | None]
    covered_by_stage: dict[int, bool]
    sites_by_stage: dict[int, tuple[str, ...]] = field(default_factory=dict)
    arrivals_by_stage: dict[int, float] = field(default_factory=dict)
    county_name: str | None = None


@dataclass(frozen=True)
class PlanResult:
    """A solved plan: sites, town coverage, the corridor windows it satisfies, and solver figures."""

    scenario: Scenario
    sites: tuple[SitePlan, ...]
    towns: tuple[TownCoverage, ...]
    windows: tuple[CorridorWindow, ...]
    solve: SolveResult
    timings_s: dict[str, float]
    #: Depots of the fleet records that lie outside the network's area, so were not sited.
    unsited_depots: tuple[UnsitedDepot, ...] = ()
    model: ModelSolution | None = None
    #: Existing chargers given for site ids that are no candidate of this plan (not used).
    existing_not_sited: tuple[str, ...] = ()
    #: Existing chargers per site id, as given.
    existing: Mapping[str, ExistingCapacity] = field(default_factory=dict)
    county_names: Mapping[str, str] = field(default_factory=dict)
    #: How the records of ``plan_sites(existing_chargers=...)`` were attached (None: none were given).
    attached: AttachedExisting | None = None
    #: The traffic each corridor site serves, when the plan was given routed flows (``SiteFlows``).
    corridor_flows: tuple[Any, ...] = ()

    def summary(self) -> PlanSummary:
        """Sites, chargers, power, capital and town coverage per stage, city-wide and by county (JSON-ready)."""
        sc = self.scenario
        years = sc.stage_years
        stages: dict[str, Any] = {}
        for year in years:
            open_sites = [s for s in self.sites if s.first_stage <= year]
            towns_by_county: dict[str, dict[str, Any]] = {}
            for tc in self.towns:
                code = tc.town.county_code or "unknown"
                c = towns_by_county.setdefault(code, {"towns": 0, "covered": 0})
                c["towns"] += 1
                c["covered"] += int(tc.covered_by_stage[year])
            counties: dict[str, dict[str, Any]] = {}
            for s in open_sites:
                code = s.county_code or "unknown"
                c = counties.setdefault(code, {"county_name": s.county_name, "sites": 0, "chargers": 0,
                                               "power_kw": 0.0, "capex_cny": 0.0})
                c["sites"] += 1
                c["chargers"] += s.chargers_by_stage[year]
                c["power_kw"] += s.power_kw_by_stage[year]
                c["capex_cny"] += s.capex_cny_by_stage[year]
            for code, c in towns_by_county.items():
                counties.setdefault(code, {"county_name": self.county_names.get(code), "sites": 0, "chargers": 0,
                                           "power_kw": 0.0, "capex_cny": 0.0}).update(
                    {"towns": c["towns"], "towns_covered": c["covered"]})
            covered = [t for t in self.towns if t.covered_by_stage[year]]
            stages[str(year)] = {
                "sites": len(open_sites),
                "sites_by_kind": _count(s.candidate.kind for s in open_sites),
                "chargers": sum(s.chargers_by_stage[year] for s in open_sites),
                "existing_chargers": sum(s.existing_by_stage[year] for s in open_sites),
                "new_chargers": sum(s.chargers_by_stage[year] - s.existing_by_stage[year] for s in open_sites),
                "high_power_chargers": sum(s.high_power_by_stage[year] for s in open_sites),
                "power_kw": sum(s.power_kw_by_stage[year] for s in open_sites),
                "capex_cny": sum(s.capex_cny_by_stage[year] for s in self.sites),
                "capex_pv_cny": sum(s.capex_cny_by_stage[year] for s in self.sites)
                * present_value_factor(year, years[0], sc.discount_rate),
                "cost_cny": sum(s.cost_cny_by_stage[year] for s in open_sites),
                "service_area_sides_with_station": sum(1 for s in open_sites if s.candidate.kind == "service_area"),
                "towns_covered": len(covered),
                "towns": len(self.towns),
                "population_covered": sum(t.town.population or 0 for t in covered),
                "towns_covered_population_unknown": sum(1 for t in covered if t.town.population is None),
                "public_chargers_by_county": _public_by_county(open_sites, year),
                "coverage_by_county": {k: {"towns": v["towns"], "covered": v["covered"]}
                                       for k, v in towns_by_county.items()},
                "by_county": dict(sorted(counties.items())),
            }
        solve = self.solve
        phases = [] if self.model is None else [
            {"phase": name, "status": r.status, "objective": r.objective, "bound": r.bound, "gap": r.gap,
             "solve_time_s": r.solve_time_s} for name, r in self.model.phases]
        return {
            "stages": stages,
            "present_value_cny": None if self.model is None else self.model.present_value_cny,
            "capex_total_cny": sum(sum(s.capex_cny_by_stage.values()) for s in self.sites),
            "discount_rate": sc.discount_rate,
            "price_base_year": years[0],
            "budget_cny": sc.budget_cny,
            "clause_22": self.clause_22(),
            "corridor_windows": len(self.windows),
            "depots_not_sited": [
                {"depot_id": d.depot_id, "name": d.name, "lon": d.lon, "lat": d.lat,
                 "distance_km": d.distance_km, "reason": d.reason}
                for d in self.unsited_depots
            ],
            "existing_not_sited": list(self.existing_not_sited),
            "corridor_demand": "routed O-D flows" if self.corridor_flows else "uniform expressway assumption",
            "corridor_flows": [f.as_dict() for f in self.corridor_flows],
            "solver": {
                "status": solve.status,
                "objective_cny": solve.objective,
                "bound_cny": solve.bound,
                "gap": solve.gap,
                "solver": solve.solver,
                "solve_time_s": solve.solve_time_s,
                "phases": phases,
                "variables": None if self.model is None else self.model.variables,
                "constraints": None if self.model is None else self.model.constraints,
            },
            "timings_s": dict(self.timings_s),
        }

    def clause_22(self) -> list[dict[str, Any]]:
        """Per active service-area side: what exists by the first stage, whether it is a fast-charging
        station already (clause 22 of 汕府〔2023〕31号: every expressway service area has one by 2025;
        a station is at least ``min_chargers_per_station`` chargers, GB/T 50966-2024), and what the
        first stage adds."""
        first = self.scenario.stage_years[0]
        minimum = self.scenario.norms.min_chargers_per_station
        out = []
        for s in self.sites:
            c = s.candidate
            if c.kind != "service_area":
                continue
            have = s.existing_by_stage[first]
            out.append({
                "site_id": c.site_id, "name": c.name, "service_area_id": c.service_area_id, "side": c.side,
                "existing_chargers": have, "meets_clause_22_today": have >= minimum,
                f"chargers_{first}": s.chargers_by_stage[first],
                f"missing_chargers_{first}": s.chargers_by_stage[first] - have,
            })
        return out


def _public_by_county(sites: Sequence[SitePlan], year: int) -> dict[str, int]:
    """Chargers of public sites (not fleet depots) per county code in ``year``: the 车桩比's denominator."""
    out: dict[str, int] = {}
    for s in sites:
        if s.candidate.public:
            code = s.county_code or "unknown"
            out[code] = out.get(code, 0) + s.chargers_by_stage[year]
    return dict(sorted(out.items()))


def _count(items: Iterable[CandidateKind]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# From a network to the model's inputs
# --------------------------------------------------------------------------------------------------


def local_road_reach(network: RoadNetwork, sources: Sequence[Any], targets: Sequence[Any], *,
                     max_s: float) -> sparse.csr_matrix:
    """Drive times (s) from each source to the targets within ``max_s`` over roads other than expressways.

    Sparse, from the network's arrays: ``routing.reach_within`` (bounded Dijkstra, chunked) keeps only
    the target columns within the limit (a zero drive time is stored as 1e-9 s so that it is not
    mistaken for "out of reach").
    """
    from planner.network.routing import reach_within, to_csr

    reach = reach_within(to_csr(network, exclude_classes=EXPRESSWAY), sources, targets, max_cost=max_s)
    reach.data = np.maximum(reach.data, 1e-9)
    return reach


def county_areas(network: RoadNetwork) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """County polygons ``(code, geometry)`` and names of the admin boundaries shipped with the network."""
    from planner import config
    from planner.network.places import county_polygons

    path = config.shipped_admin_boundaries(network.source) if network.source else None
    if path is None or not path.is_file():
        return [], {}
    names = {}
    for f in json.loads(path.read_text(encoding="utf-8")).get("features", []):
        p = f.get("properties") or {}
        if p.get("level") == "county":
            names[str(p.get("adcode"))] = str(p.get("name"))
    return county_polygons(path), names


def _county_of(polygons: list[tuple[str, Any]], lon: float, lat: float) -> str | None:
    from shapely.geometry import Point

    pt = Point(lon, lat)
    return next((code for code, poly in polygons if poly.intersects(pt)), None)


def town_demand(scenario: Scenario, towns: Sequence[Town]) -> list[DemandPoint]:
    """The default demand: each town's residents' peak-hour fast-charging arrivals (0 where population is unknown)."""
    return [
        DemandPoint(demand_id=f"town:{t.town_id}", name=t.name, lon=t.lon, lat=t.lat, node=t.node,
                    arrivals_by_year={y: town_arrivals_per_hour(scenario, t.population or 0, y)
                                      for y in scenario.stage_years},
                    people=t.population, county_code=t.county_code)
        for t in towns
    ]


def _directions_passing(network: RoadNetwork) -> dict[Any, set[tuple[str, str]]]:
    """Per motorway node, the carriageways (ref, direction) through it."""
    out: dict[Any, set[tuple[str, str]]] = {}
    for chain in corridors(network.arrays):
        for n in chain.nodes:
            out.setdefault(n, set()).add((chain.ref, chain.direction))
    return out


def model_input(
    scenario: Scenario,
    cands: Sequence[Candidate],
    demand: Sequence[DemandPoint],
    reach: sparse.csr_matrix,
    public_index: Sequence[int],
    windows: Sequence[CorridorWindow],
    existing: Mapping[str, ExistingCapacity],
    carriageways: Mapping[Any, set[tuple[str, str]]],
    corridor_arrivals: Mapping[str, Mapping[int, float]] | None = None,
) -> ModelInput:
    """The MILP's numbers for this scenario: classes, sites (floors, own traffic, existing), demands, windows.

    ``corridor_arrivals``: each site's own stopping traffic by stage year (peak-hour arrivals, e.g. from
    routed flows); sites it leaves out keep the scenario's uniform expressway assumption.
    """
    years = scenario.stage_years
    norms, costs = scenario.norms, scenario.costs
    classes = {
        STANDARD: ChargerClass(STANDARD, norms.dc_power_kw, costs.dc_charger_cny, norms.session_minutes(norms.dc_power_kw)),
        HIGH_POWER: ChargerClass(HIGH_POWER, norms.high_power_kw, costs.high_power_charger_cny,
                                 norms.session_minutes(norms.high_power_kw)),
        DEPOT: ChargerClass(DEPOT, scenario.depot_power_kw, costs.depot_charger_cny, None),
    }
    sites = []
    for c in cands:
        e = existing.get(c.site_id)
        by_stage: list[dict[str, int]] = []
        kw: list[float] = []
        for y in years:
            there = e is not None and (e.commissioned_year is None or e.commissioned_year <= y)
            if not there:
                by_stage.append({})
                kw.append(0.0)
            elif c.kind == "depot":
                by_stage.append({DEPOT: e.chargers})
                kw.append(e.power_kw)
            else:
                by_stage.append({STANDARD: e.chargers - e.high_power_chargers, HIGH_POWER: e.high_power_chargers})
                kw.append(e.power_kw)
        if c.kind == "depot":
            sites.append(SiteInput(
                site_id=c.site_id, classes=(DEPOT,), fixed_cost_cny=costs.site_fixed_cny * 0.25,
                floor_by_stage=tuple(depot_chargers(scenario, c) for _ in years), existing_by_stage=tuple(by_stage),
                existing_power_kw_by_stage=tuple(kw), mandatory=True, grid_kw=c.grid_capacity_kw))
            continue
        floor = norms.min_chargers_per_station
        if c.kind == "service_area" and c.parking_spaces:
            floor = max(floor, int(np.ceil(norms.service_area_parking_share * c.parking_spaces - 1e-9)))
        if c.kind == "service_area":
            ways = 1
        else:
            ways = len(set().union(*(carriageways.get(n, set()) for n in c.corridor_nodes))) if c.corridor_nodes else 0
        own = corridor_arrivals.get(c.site_id) if corridor_arrivals is not None else None
        if own is not None:
            base = tuple(float(own.get(y, 0.0)) for y in years)
        else:
            base = tuple(ways * service_area_arrivals_per_hour(scenario, y) for y in years)
        sites.append(SiteInput(
            site_id=c.site_id, classes=(STANDARD, HIGH_POWER), fixed_cost_cny=costs.site_fixed_cny,
            floor_by_stage=tuple(floor for _ in years), base_arrivals_by_stage=base,
            existing_by_stage=tuple(by_stage), existing_power_kw_by_stage=tuple(kw),
            mandatory=c.kind == "service_area", grid_kw=c.grid_capacity_kw, high_power_class=HIGH_POWER,
            high_power_share=norms.high_power_share))
    index = {c.site_id: j for j, c in enumerate(cands)}
    demands = []
    start = scenario.town_coverage_from
    for i, d in enumerate(demand):
        row = reach.getrow(i)
        demands.append(DemandInput(
            demand_id=f"{d.name} ({d.demand_id})", arrivals_by_stage=tuple(d.arrivals_by_year.get(y, 0.0) for y in years),
            sites=tuple(sorted(int(public_index[k]) for k in row.indices)),
            required_by_stage=tuple(start is not None and y >= start for y in years), people=d.people))
    win = tuple(tuple(sorted(index[s] for s in w.candidates if s in index)) for w in windows)
    names = tuple(
        f"{w.describe(scenario.range_margin_km)}: no candidate site on this stretch, so the "
        f"{scenario.range_margin_km:g} km range margin cannot be kept (add interchange or service-area "
        "candidates, or raise the range margin)" if not w.candidates else w.describe(scenario.range_margin_km)
        for w in windows)
    inp = ModelInput(
        years=years, classes=classes, sites=tuple(sites), demands=tuple(demands), windows=win, window_names=names,
        max_wait_probability=norms.max_wait_probability, grid_diversity_factor=norms.grid_diversity_factor,
        discount_rate=scenario.discount_rate, budget_cny=scenario.budget_cny,
        site_names=tuple(c.name for c in cands))
    # Reduction before the MIP: a dominated site is kept out of every reach set and window (never chosen).
    gone = dominated_sites(inp)
    if gone:
        inp = replace(inp, demands=tuple(replace(d, sites=tuple(j for j in d.sites if j not in gone))
                                         for d in inp.demands),
                      windows=tuple(tuple(j for j in w if j not in gone) for w in inp.windows))
    return inp


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------


def plan_sites(
    network: RoadNetwork,
    *,
    scenario: Scenario | None = None,
    depots: Sequence[Depot] = (),
    existing: Mapping[str, ExistingCapacity] = {},
    existing_chargers: Sequence[ExistingCharger] = (),
    extra_candidates: Sequence[Candidate] = (),
    demand: Sequence[DemandPoint] | None = None,
    corridor_arrivals: Mapping[str, Mapping[int, float]] | None = None,
    towns: Sequence[Town] | None = None,
    flows: Sequence[RoutedFlow] | None = None,
    progress: ProgressCallback = silent,
) -> PlanResult:
    """Site and size fast chargers on ``network`` for every stage of ``scenario``.

    ``depots`` are the fleet depots to equip (from the fleet records); ``existing`` the chargers already
    at candidate sites (by ``site_id``), sunk capacity; ``extra_candidates`` sites beyond the network's
    own (e.g. where an existing charger matches no candidate); ``existing_chargers`` records (CSV, OSM:
    ``planner.siting.existing``) attached here to the plan's candidates (``attach_existing``; an unmatched
    public station becomes an existing-only site), their operational chargers sunk like ``existing``, which
    wins for a site both give; ``demand`` replaces the towns' default
    demand (``town_demand``); ``corridor_arrivals`` each site's own stopping traffic by stage year (peak-hour
    arrivals, e.g. from routed flows, ``planner.demand``) instead of the uniform expressway assumption;
    ``towns`` replaces the network's own towns (e.g. with census populations); ``flows`` (routed O-D traffic,
    ``planner.demand.traffic_flows``) give each corridor site the stopping EVs that pass it
    (``planner.demand.corridor_demand``; ``corridor_arrivals`` wins for a site both give). Raises
    ``InfeasibleError`` naming each requirement that cannot be met, and where, and ``NoPlanInTimeError``
    when the solver finds no plan within the time limit.
    """
    scenario = scenario or Scenario()
    timer = StepTimer(total=3, callback=progress)
    with timer.step("candidates, towns and corridor windows"):
        depots, unsited_depots = depots_within_reach(network, depots)
        cands = candidates_from_network(network, kinds=scenario.candidate_kinds,
                                        corridor_access_km=scenario.corridor_access_km, depots=depots)
        cands += [c for c in extra_candidates if c.site_id not in {x.site_id for x in cands}]
        attached = None
        if existing_chargers:
            attached = attach_existing(existing_chargers, cands, network.service_areas, network=network)
            cands += [c for c in attached.existing_only_candidates if c.site_id not in {x.site_id for x in cands}]
            existing = {**attached.by_site, **existing}
        towns = towns_from_network(network) if towns is None else list(towns)
        points = town_demand(scenario, towns) if demand is None else list(demand)
        windows = corridor_windows(network.arrays, cands, range_margin_km=scenario.range_margin_km)
        polygons, county_names = county_areas(network)
        site_flows: dict[str, Any] = {}
        if flows is not None:
            from planner.demand.flows import corridor_demand

            site_flows = corridor_demand(network, cands, flows, scenario)
            corridor_arrivals = {**{k: dict(v.arrivals_per_hour) for k, v in site_flows.items()},
                                 **(corridor_arrivals or {})}
    with timer.step("drive times over local roads from towns to public candidates"):
        public_index = [j for j, c in enumerate(cands) if c.public]
        reach = local_road_reach(network, [d.node for d in points], [cands[j].node for j in public_index],
                                 max_s=scenario.drive_time_min * 60.0)
    with timer.step("model build and solve"):
        inp = model_input(scenario, cands, points, reach, public_index, windows, existing,
                          _directions_passing(network), corridor_arrivals)
        sol = solve_model(inp, scenario.solver, progress=nested(progress, 2 / 3, 1.0))
    if sol.solve.status != "optimal":
        logger.warning("the plan is not proven optimal: %s", sol.solve.describe())
    sites, coverage = _results(scenario, cands, towns, points, reach, public_index, inp, sol, polygons, county_names)
    return PlanResult(scenario, tuple(sites), tuple(coverage), tuple(windows), sol.solve, dict(timer.timings_s),
                      unsited_depots=tuple(unsited_depots), model=sol,
                      existing_not_sited=tuple(sorted(set(existing) - {c.site_id for c in cands})),
                      existing=dict(existing), county_names=county_names, attached=attached,
                      corridor_flows=tuple(site_flows.values()))


def _results(scenario: Scenario, cands: Sequence[Candidate], towns: Sequence[Town], points: Sequence[DemandPoint],
             reach: sparse.csr_matrix, public_index: Sequence[int], inp: ModelInput, sol: ModelSolution,
             polygons: list[tuple[str, Any]], county_names: Mapping[str, str]
             ) -> tuple[list[SitePlan], list[TownCoverage]]:
    years = scenario.stage_years
    served_names: dict[tuple[int, int], list[str]] = {}
    for i, d in enumerate(points):
        for t in range(len(years)):
            for j in sol.assignment[i][t]:
                served_names.setdefault((j, t), []).append(d.name)
    sites: list[SitePlan] = []
    for j, (c, s) in enumerate(zip(cands, sol.sites, strict=True)):
        if not any(s.open_by_stage):
            continue
        first = next(years[t] for t in range(len(years)) if s.open_by_stage[t])
        cum, spent = {}, 0.0
        for t, y in enumerate(years):
            spent += s.capex_by_stage[t]
            cum[y] = spent
        code = _county_of(polygons, c.lon, c.lat) if polygons else None
        site = inp.sites[j]
        sites.append(SitePlan(
            candidate=c, first_stage=first,
            chargers_by_stage={y: sum(s.chargers_by_stage[t].values()) for t, y in enumerate(years)},
            high_power_by_stage={y: s.chargers_by_stage[t].get(HIGH_POWER, 0) for t, y in enumerate(years)},
            existing_by_stage={y: sum(site.existing_by_stage[t].values()) if site.existing_by_stage else 0
                               for t, y in enumerate(years)},
            power_kw_by_stage={y: s.power_kw_by_stage[t] for t, y in enumerate(years)},
            capex_cny_by_stage={y: s.capex_by_stage[t] for t, y in enumerate(years)},
            cost_cny_by_stage=cum,
            peak_arrivals_per_hour_by_stage={y: round(s.arrivals_by_stage[t], 3) for t, y in enumerate(years)},
            corridor_arrivals_per_hour_by_stage={y: round(site.base(t) if s.open_by_stage[t] else 0.0, 3)
                                                 for t, y in enumerate(years)},
            capacity_arrivals_per_hour_by_stage={y: round(s.capacity_by_stage[t], 3) for t, y in enumerate(years)},
            towns_served_by_stage={y: tuple(sorted(served_names.get((j, t), ()))) for t, y in enumerate(years)},
            county_code=code, county_name=county_names.get(code) if code else None,
        ))
    by_point = {d.demand_id: i for i, d in enumerate(points)}
    coverage: list[TownCoverage] = []
    for town in towns:
        i = by_point.get(f"town:{town.town_id}")
        mins: dict[int, float | None] = {}
        covered: dict[int, bool] = {}
        served_by: dict[int, tuple[str, ...]] = {}
        arrivals: dict[int, float] = {}
        for t, y in enumerate(years):
            best = None
            if i is not None:
                row = reach.getrow(i)
                for k, sec in zip(row.indices, row.data):
                    j = public_index[k]
                    if sol.sites[j].open_by_stage[t] and (best is None or sec < best):
                        best = float(sec)
            mins[y] = None if best is None else round(best / 60.0, 2)
            covered[y] = i is not None and sol.served[i][t]
            served_by[y] = tuple(sorted(cands[j].site_id for j in sol.assignment[i][t])) if i is not None else ()
            arrivals[y] = round(sum(sol.assignment[i][t].values()), 4) if i is not None else 0.0
        coverage.append(TownCoverage(town, mins, covered, served_by, arrivals,
                                     county_names.get(town.county_code) if town.county_code else None))
    return sites, coverage
