"""The Shanwei planning model: fast chargers at every service area, along every corridor, near every town.

One mixed-integer programme over all stages (2025 and 2030 by default), nested so that a site
opened in an early stage stays open and keeps its chargers. Binary ``open[site, stage]`` variables,
each priced at the site's minimum charger count in that stage (``sizing.py``), under these rules:

* service areas and depots: every active service-area side and every depot with electric buses or
  taxis has a station in every stage (the 2025 mandate; depots get what their overnight energy needs);
* corridors: every stretch of ``range_margin_km`` along each motorway direction holds a charger
  (the corridor windows of ``candidates.py``);
* towns: from ``town_coverage_from``, every town seat lies within ``drive_time_min`` of an open public
  charger; under a ``budget_cny`` the final stage's cost is capped instead and the people covered are
  maximised (cost breaks ties);
* grid: a site whose grid capacity cannot carry its minimum chargers stays closed (mandatory ones are
  reported as infeasible, naming the site and year).

The objective is the cost summed over stages, which builds each site as late as its requirements
allow. After the solve each town's peak-hour demand goes to its nearest open public charger, which is
sized again with the Erlang-C queue; under a budget the model is re-solved with a tightened budget
until the sized plan fits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pulp

from planner.errors import InfeasibleError, NoPlanInTimeError
from planner.network.routing import costs_from, to_csr
from planner.progress import ProgressCallback, StepTimer, silent
from planner.siting.candidates import (
    Candidate,
    CandidateKind,
    CorridorWindow,
    Depot,
    Town,
    candidates_from_network,
    corridor_windows,
    towns_from_network,
)
from planner.siting.scenario import Scenario
from planner.siting.sizing import (
    chargers_for_wait,
    cost_cny,
    max_chargers,
    minimum_chargers,
    power_kw,
    service_area_arrivals_per_hour,
    town_arrivals_per_hour,
)
from planner.siting.solver import SolveResult, model_variable, solve_problem

if TYPE_CHECKING:
    from planner.network import RoadNetwork


#: ``PlanResult.summary()`` as JSON: stages, corridor windows, solver figures and timings.
PlanSummary = dict[str, Any]


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

    def summary(self) -> PlanSummary:
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


def _count(items: Iterable[CandidateKind]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


def plan_sites(
    network: RoadNetwork,
    *,
    scenario: Scenario | None = None,
    depots: Sequence[Depot] = (),
    progress: ProgressCallback = silent,
) -> PlanResult:
    """Site and size fast chargers on ``network`` for every stage of ``scenario``.

    ``depots`` are the fleet depots to equip (from the fleet records). Raises ``InfeasibleError``
    naming each requirement that cannot be met, and where, and ``NoPlanInTimeError`` when the solver
    finds no plan within the scenario's time limit.
    """
    scenario = scenario or Scenario()
    timer = StepTimer(total=3, callback=progress)
    with timer.step("candidates, towns and corridor windows"):
        cands = candidates_from_network(network, kinds=scenario.candidate_kinds,
                                        corridor_access_km=scenario.corridor_access_km, depots=depots)
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
    model_budget = scenario.budget_cny
    spent = 0.0
    for _ in range(BUDGET_ROUNDS):
        try:
            open_stage, solve = _solve_model(scenario, model_budget, cands, towns, windows, public, minutes)
        except InfeasibleError:
            if model_budget == scenario.budget_cny:
                raise
            break  # the tightened budget no longer fits: say so with the planner's own budget below
        sites, coverage = _size_and_cover(scenario, cands, towns, public, minutes, open_stage)
        if scenario.budget_cny is None or model_budget is None:
            return sites, coverage, solve
        spent = sum(s.cost_cny_by_stage[final] for s in sites)
        if spent <= scenario.budget_cny + 1e-6:
            return sites, coverage, solve
        model_budget -= spent - scenario.budget_cny
    raise InfeasibleError(
        "No plan fits the budget once sites are sized for the demand they serve",
        [(f"budget {scenario.budget_cny:,.0f} CNY: the last sized plan cost {spent:,.0f} CNY in {final}; "
          "raise the budget or the drive-time threshold")],
    )


def _prechecks(
    scenario: Scenario,
    budget_cny: float | None,
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
    if scenario.town_coverage_from is not None and budget_cny is None and towns:
        for i in np.flatnonzero(~covering.any(axis=1)):
            reasons.append(
                f"town {towns[i].name}: no public candidate within {scenario.drive_time_min:g} min drive "
                "(add candidates near it or raise the drive-time threshold)"
            )
    if reasons:
        raise InfeasibleError("The plan's requirements cannot all be met", reasons)


def _solve_model(
    scenario: Scenario,
    budget_cny: float | None,
    cands: Sequence[Candidate],
    towns: Sequence[Town],
    windows: Sequence[CorridorWindow],
    public: Sequence[Candidate],
    minutes: np.ndarray,
) -> tuple[dict[str, int], SolveResult]:
    """Build and solve the nested multi-stage model; returns the first stage year of each open site.

    ``budget_cny`` caps the final stage's cost at minimum charger counts (the scenario's budget, or
    a tightened one); None requires every town instead.
    """
    covering = np.isfinite(minutes) & (minutes <= scenario.drive_time_min)
    _prechecks(scenario, budget_cny, cands, towns, windows, covering)
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
            if budget_cny is None:
                prob += cover >= 1, f"town_{i}_{t}"
            else:
                z[i, t] = model_variable(prob, f"covered_{i}_{t}", 0, 1, pulp.LpBinary)
                prob += z[i, t] <= cover, f"town_{i}_{t}"
    if budget_cny is not None:
        spend = pulp.LpAffineExpression(
            [(y[c.site_id, final], cost_cny(scenario, c, minimum_chargers(scenario, c, final))) for c in cands]
        )
        prob += spend <= budget_cny, "budget"
        # Lexicographic in one objective: people covered first, cost as the tie-breaker.
        total_cost = sum(cost_cny(scenario, c, minimum_chargers(scenario, c, final)) for c in cands) * len(years)
        weight = 10.0 * (total_cost + 1.0)
        objective += pulp.LpAffineExpression([(v, -weight * max(towns[i].population, 1)) for (i, _), v in z.items()])
    prob += objective
    result = solve_problem(prob, scenario.solver)
    if result.status == "infeasible":
        reasons = []
        if budget_cny is not None:
            mandatory = sum(
                cost_cny(scenario, c, minimum_chargers(scenario, c, final))
                for c in cands
                if c.kind in ("service_area", "depot")
            )
            reasons.append(
                f"budget {budget_cny:,.0f} CNY is below the cost of the mandatory service-area and depot "
                f"stations and corridor chargers (service areas and depots alone: {mandatory:,.0f} CNY)"
            )
        raise InfeasibleError("The solver proved that no plan meets every requirement", reasons)
    if not result.has_solution:
        limit = scenario.solver.time_limit_s
        raise NoPlanInTimeError(
            f"{result.solver} found no plan within the time limit of {'no' if limit is None else f'{limit:g}'} s "
            f"(status {result.status}); raise the time limit (time_limit_s) or relax the MIP gap (mip_gap)"
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
                town_arrivals[key] = town_arrivals.get(key, 0.0) + town_arrivals_per_hour(scenario, town.population, t)
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
