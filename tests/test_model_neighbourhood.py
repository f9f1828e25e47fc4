"""The neighbourhood search on the starting plan: each step a feasible plan of the whole model, never
dearer, and the MILP from it ends at the same optimum as without any start."""

from __future__ import annotations

import random

import pytest

from planner.siting.model import (
    ChargerClass,
    DemandInput,
    ModelInput,
    _build,
    _separable,
    greedy_start,
    solve_model,
)
from planner.siting.neighbourhood import improve_plan, plan_from_values, site_cost
from planner.siting.solver import SolverOptions
from tests.support.road import road_sites

CLASSES = {
    "standard": ChargerClass("standard", 120.0, 70_000.0, 24.0),
    "high_power": ChargerClass("high_power", 360.0, 220_000.0, 8.0),
}
OPTIONS = SolverOptions(mip_gap=0.0, time_limit_s=120)


def line_region(seed: int, n_sites: int = 24, n_demands: int = 30) -> ModelInput:
    """Sites along a road, demand points reaching the sites within 2.5 km of them, a mandatory site with
    traffic of its own, one corridor window."""
    rng = random.Random(seed)
    where, sites = road_sites(rng, n_sites)
    demands = []
    for i in range(n_demands):
        x = rng.uniform(0, 40)
        reach = tuple(j for j, p in enumerate(where) if abs(p - x) <= 2.5) or (min(range(n_sites),
                                                                                  key=lambda j: abs(where[j] - x)),)
        a = rng.lognormvariate(0.5, 0.8)
        demands.append(DemandInput(f"d{i}", (0.35 * a, a), reach, (False, True)))
    return ModelInput(years=(2025, 2030), classes=CLASSES, sites=tuple(sites), demands=tuple(demands),
                      windows=((0, 1, 2),), max_wait_probability=0.2, grid_diversity_factor=0.8, discount_rate=0.08)


@pytest.mark.parametrize("seed", range(3))
def test_the_improved_start_meets_every_row_and_costs_no_more(seed: int) -> None:
    inp = line_region(seed)
    model = _build(inp, budget_mode=False, separable=_separable(inp, OPTIONS))
    start = greedy_start(inp, model, OPTIONS)
    assert start is not None
    got = improve_plan(inp, model, start, SolverOptions(mip_gap=0.01, time_limit_s=30), 60.0, open_sites=2)
    assert got.tried >= 2
    assert got.cost_after_cny <= got.cost_before_cny + 1e-6
    for v in model.prob.variables():
        v.varValue = got.values.get(v.name, 0.0)
        assert v.lowBound is None or v.varValue >= v.lowBound - 1e-9
        assert v.upBound is None or v.varValue <= v.upBound + 1e-9
    assert [c.name for c in model.prob.constraints() if not c.valid(1e-6)] == []
    plan = plan_from_values(inp, model, got.values)
    assert sum(site_cost(inp, plan, j) for j in plan.opens) == pytest.approx(got.cost_after_cny, rel=1e-9)
    assert model.pv.value() == pytest.approx(got.cost_after_cny, rel=1e-9)


@pytest.mark.parametrize("seed", range(1, 4))
def test_the_search_changes_no_optimum(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance with more open sites than a neighbourhood holds, the search let run on a model of its
    size: the optimum of ``solve_model`` is the unreduced model's."""
    from planner.siting import model

    monkeypatch.setattr(model, "NEIGHBOURHOOD_MIN_VARIABLES", 0)
    inp = line_region(seed, n_sites=30, n_demands=40)
    reduced = solve_model(inp, OPTIONS)
    assert any(name.startswith("neighbourhood search") for name, _ in reduced.phases)
    plain = solve_model(inp, OPTIONS, reduce=False)
    assert reduced.solve.status == plain.solve.status == "optimal"
    assert reduced.present_value_cny == pytest.approx(plain.present_value_cny, rel=1e-9)


def test_the_search_stops_when_sub_problems_keep_hitting_their_limit(monkeypatch) -> None:
    """Parts too large to solve in their time (here a limit of 1 ms) end the search after
    FRUITLESS_TIMEOUTS of them in a row, leaving the rest of its share to the full MILP."""
    import planner.siting.neighbourhood as nb

    inp = line_region(0, n_sites=60, n_demands=120)
    model = _build(inp, budget_mode=False, separable=_separable(inp, OPTIONS))
    start = greedy_start(inp, model, OPTIONS)
    assert start is not None
    monkeypatch.setattr(nb, "SUB_TIME_LIMIT_S", 0.001)
    got = improve_plan(inp, model, start, SolverOptions(mip_gap=0.0, time_limit_s=600), 600.0, open_sites=4)
    assert got.taken == 0
    assert got.tried == nb.FRUITLESS_TIMEOUTS
    assert got.values is start
