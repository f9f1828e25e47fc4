"""Cover cuts: the least cost of the set cover each stage must make, proven by set covering, is a valid
inequality (every feasible plan meets it) and as strong as an enumeration of the covers says."""

from __future__ import annotations

import itertools

import pytest

from planner.siting.model import _build, _separable, cover_cuts, solve_model
from planner.siting.solver import SolverOptions
from tests.test_model_neighbourhood import line_region

OPTIONS = SolverOptions(mip_gap=0.0, time_limit_s=120)


def _rows(inp, t: int) -> list[set[int]]:
    forced = {j for j, s in enumerate(inp.sites) if s.mandatory or s.has_existing}
    rows = [set(d.sites) for d in inp.demands if d.required_by_stage[t] and d.sites] + [set(w) for w in inp.windows]
    return [r for r in rows if not r & forced]


@pytest.mark.parametrize("seed", range(3))
def test_the_cut_is_the_cheapest_cover_by_enumeration(seed: int) -> None:
    inp = line_region(seed, n_sites=12, n_demands=14)
    model = _build(inp, budget_mode=False, separable=_separable(inp, OPTIONS))
    cuts = cover_cuts(inp, model, OPTIONS)
    assert cuts.rhs_by_stage, "the instance has rows to cover"
    for t, rhs in cuts.rhs_by_stage.items():
        costs = cuts.costs_by_stage[t]
        rows = _rows(inp, t)
        cols = sorted(costs)
        best = min(sum(costs[j] for j in subset)
                   for k in range(len(cols) + 1) for subset in itertools.combinations(cols, k)
                   if all(r & set(subset) for r in rows))
        assert rhs == pytest.approx(best, rel=1e-6)
        assert model.prob.get_constraint_by_name(f"coverCut_{t}") is not None


@pytest.mark.parametrize("seed", range(3))
def test_every_optimal_plan_meets_the_cut_and_the_optimum_is_unchanged(seed: int) -> None:
    inp = line_region(seed, n_sites=20, n_demands=24)
    plain = solve_model(inp, OPTIONS, reduce=False)
    cut = solve_model(inp, OPTIONS)
    assert plain.solve.status == cut.solve.status == "optimal"
    assert cut.present_value_cny == pytest.approx(plain.present_value_cny, rel=1e-6)
    model = _build(inp, budget_mode=False, separable=_separable(inp, OPTIONS))
    cuts = cover_cuts(inp, model, OPTIONS)
    for t, rhs in cuts.rhs_by_stage.items():
        opened = sum(c for j, c in cuts.costs_by_stage[t].items() if plain.sites[j].open_by_stage[t])
        assert opened >= rhs - 1e-6
    assert any(name.startswith("cover cuts") for name, _ in cut.phases)
