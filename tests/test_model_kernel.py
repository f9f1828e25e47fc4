"""Dense reach: the MILP over a kernel of the sites, its plan checked as a plan of the whole model, and
the lower bound reported for the whole model checked against exact optima (brute force, the full MILP)."""

from __future__ import annotations

import dataclasses
import functools
import random

import pytest

import planner.siting.model as model_module
from planner.siting.model import (
    DemandInput,
    ModelInput,
    kernel_sites,
    plan_lower_bound,
    site_capacity,
    solve_model,
)
from planner.siting.sizing import max_arrivals_per_hour
from planner.siting.solver import SolverOptions
from tests.support.road import road_sites
from tests.test_model import CLASSES, brute_force, random_instance

OPTIONS = SolverOptions(mip_gap=0.0, time_limit_s=60)


def dense_region(seed: int, n_sites: int = 40, n_demands: int = 25, reach_km: float = 7.0) -> ModelInput:
    """Sites along a 40 km road and demand points reaching every site within ``reach_km`` (about 14 each),
    a mandatory site with traffic of its own, and two corridor windows."""
    rng = random.Random(seed)
    where, sites = road_sites(rng, n_sites)
    demands = []
    for i in range(n_demands):
        x = rng.uniform(0, 40)
        reach = tuple(j for j, p in enumerate(where) if abs(p - x) <= reach_km and j != n_sites // 2)
        a = rng.lognormvariate(0.8, 0.9)
        demands.append(DemandInput(f"d{i}", (0.35 * a, a), reach, (False, True)))
    return ModelInput(years=(2025, 2030), classes=CLASSES, sites=tuple(sites), demands=tuple(demands),
                      windows=((0, 1, 2), (n_sites - 3, n_sites - 2, n_sites - 1)), max_wait_probability=0.2,
                      grid_diversity_factor=0.8, discount_rate=0.08)


@functools.cache
def exact(seed: int):
    """``dense_region(seed)`` solved exactly, the whole model (no reductions, no kernel)."""
    sol = solve_model(dense_region(seed), OPTIONS, reduce=False)
    assert sol.solve.status == "optimal"
    return sol


@pytest.fixture
def small_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernel planning on instances a test can solve exactly: from 10 sites per point, a kernel of 15."""
    monkeypatch.setattr(model_module, "NEIGHBOURHOOD_MAX_MEAN_REACH", 10.0)
    monkeypatch.setattr(model_module, "KERNEL_SITES", 15)


def test_the_lower_bound_never_exceeds_the_brute_force_optimum() -> None:
    checked = 0
    for seed in range(5, 35):
        inp = random_instance(seed)
        pv, _ = brute_force(inp)
        if pv == float("inf"):
            continue
        bound, _ = plan_lower_bound(inp, OPTIONS)
        assert bound <= pv + 1e-6, (seed, bound, pv)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("seed", range(2))
def test_the_lower_bound_is_below_the_exact_optimum_and_not_trivial(seed: int) -> None:
    inp = dense_region(seed)
    optimum = exact(seed).present_value_cny
    bound, _ = plan_lower_bound(inp, OPTIONS)
    assert bound <= optimum + 1e-6
    # Its charger part counts: far above the mandatory site alone plus the cheapest cover of the rest.
    mandatory_only = plan_lower_bound(
        ModelInput(years=inp.years, classes=inp.classes, sites=inp.sites, demands=(), windows=(),
                   max_wait_probability=inp.max_wait_probability, grid_diversity_factor=inp.grid_diversity_factor,
                   discount_rate=inp.discount_rate), OPTIONS)[0]
    assert bound - mandatory_only >= 0.5 * (optimum - mandatory_only)


def test_every_point_keeps_a_kernel_site_in_reach(small_kernel: None) -> None:
    inp = dense_region(0)
    kernel = kernel_sites(inp, set())
    reached = {j for d in inp.demands for j in d.sites}
    assert 15 <= len(kernel) < len(reached)
    assert all(set(d.sites) & kernel for d in inp.demands if d.sites)
    assert kernel <= {j for d in inp.demands for j in d.sites}


def _check_plan(inp: ModelInput, sol) -> None:
    """The plan meets the whole model's rules, checked from its numbers (not the MILP's variables)."""
    T = range(len(inp.years))
    for i, d in enumerate(inp.demands):
        for t in T:
            shares = sol.assignment[i][t]
            if d.required_by_stage[t]:
                assert sum(shares.values()) == pytest.approx(d.arrivals_by_stage[t], rel=1e-6, abs=1e-6)
            assert set(shares) <= set(d.sites)
            assert all(sol.sites[j].open_by_stage[t] for j in shares)
    for j, (s, ss) in enumerate(zip(inp.sites, sol.sites, strict=True)):
        for t in T:
            served = (s.base(t) if ss.open_by_stage[t] else 0.0) + sum(
                sol.assignment[i][t].get(j, 0.0) for i in range(len(inp.demands)))
            assert served <= site_capacity(inp, s, ss.chargers_by_stage[t]) + 1e-6
            counts = ss.chargers_by_stage[t]
            if ss.open_by_stage[t]:
                assert sum(counts.values()) >= s.floor_by_stage[t]
                new = sum(counts.values()) - sum(s.existing(t, k) for k in s.classes)
                assert counts[s.high_power_class] - s.existing(t, s.high_power_class) >= s.high_power_share * new - 1e-9
            assert all(counts[k] <= m for k, m in (s.max_by_class or {}).items())
            if t:
                assert all(ss.chargers_by_stage[t][k] >= ss.chargers_by_stage[t - 1][k] for k in s.classes)
        if s.mandatory:
            assert all(ss.open_by_stage)
    for w in inp.windows:
        assert all(any(sol.sites[j].open_by_stage[t] for j in w) for t in T)


@pytest.mark.parametrize("seed", range(2))
def test_the_kernel_plan_is_a_plan_of_the_whole_model_with_its_bound(small_kernel: None, seed: int) -> None:
    inp = dense_region(seed)
    assert model_module.dense(inp)
    sol = solve_model(inp, OPTIONS)
    _check_plan(inp, sol)
    bound, _ = plan_lower_bound(inp, OPTIONS)
    assert sol.solve.bound == pytest.approx(bound)
    assert sol.solve.objective == pytest.approx(sol.present_value_cny)
    assert bound <= sol.present_value_cny + 1e-6
    # Never called optimal on the kernel's word: only when the whole model's bound proves it.
    assert (sol.solve.status == "optimal") == (sol.solve.gap is not None and sol.solve.gap <= OPTIONS.mip_gap)
    assert "MILP over" in sol.solve.solver and sol.phases[0][0].startswith("lower bound")
    assert len(kernel_sites(inp, set())) < len({j for d in inp.demands for j in d.sites})
    # The whole model solved exactly: no cheaper than the bound, no dearer than the kernel's plan.
    assert bound <= exact(seed).present_value_cny + 1e-6 <= sol.present_value_cny + 2e-6


def test_a_kernel_short_of_capacity_falls_back_to_every_site(small_kernel: None) -> None:
    """Space limits (2 standard and 1 high-power charger a site) leave 15 sites short of the arrivals
    that 40 can serve: the plan then comes from the MILP over every site, and still meets every rule."""
    base = dense_region(0)
    inp = ModelInput(
        years=base.years, classes=base.classes,
        sites=tuple(dataclasses.replace(s, max_by_class={"standard": 2, "high_power": 1}, base_arrivals_by_stage=())
                    for s in base.sites),
        demands=base.demands, windows=base.windows, max_wait_probability=base.max_wait_probability,
        grid_diversity_factor=base.grid_diversity_factor, discount_rate=base.discount_rate)
    assert model_module.dense(inp)
    kernel = kernel_sites(inp, set())
    most = sum(site_capacity(inp, inp.sites[j], {"standard": 2, "high_power": 1}) for j in kernel)
    assert most < sum(d.arrivals_by_stage[-1] for d in inp.demands), "the kernel alone cannot serve them all"
    sol = solve_model(inp, OPTIONS)
    _check_plan(inp, sol)
    assert "MILP over" not in sol.solve.solver


@pytest.mark.parametrize("p", (0.1, 0.2, 0.5))
def test_capacity_per_charger_never_falls_as_chargers_are_pooled(p: float) -> None:
    """What the pooled-rate bound of ``_charger_cost_bound`` rests on, for both sessions of the model."""
    for minutes in (24.0, 8.0):
        rates = [max_arrivals_per_hour(n, minutes, p) / n for n in range(1, 400)]
        assert all(b >= a * (1 - 1e-9) for a, b in zip(rates, rates[1:])), (minutes, p)


def test_the_pooled_rate_bound_is_below_the_counted_one(monkeypatch: pytest.MonkeyPatch) -> None:
    inp = dense_region(0, n_demands=400)
    monkeypatch.setattr(model_module, "CHARGER_BOUND_COUNTS", 10**9)
    counted = model_module._charger_cost_bound(inp, 1)
    monkeypatch.setattr(model_module, "CHARGER_BOUND_COUNTS", 0)
    pooled = model_module._charger_cost_bound(inp, 1)
    assert 0.9 * counted <= pooled <= counted


def test_the_whole_model_bound_can_prove_a_kernel_plan_optimal(small_kernel: None) -> None:
    """At a gap tolerance the independent bound meets, the kernel's plan is proven and called optimal."""
    inp = dense_region(0)
    sol = solve_model(inp, SolverOptions(mip_gap=0.5, time_limit_s=60))
    assert "MILP over" in sol.solve.solver
    assert sol.solve.status == "optimal" and sol.solve.gap is not None and sol.solve.gap <= 0.5
    assert sol.solve.bound == pytest.approx(plan_lower_bound(inp, OPTIONS)[0])


def test_budget_mode_on_dense_reach_solves_the_whole_model(small_kernel: None) -> None:
    inp = dense_region(1)
    budget = 1.2 * sum(exact(1).capex_by_stage)
    sol = solve_model(dataclasses.replace(inp, budget_cny=budget), SolverOptions(mip_gap=0.0, time_limit_s=60))
    assert "MILP over" not in sol.solve.solver
    assert sum(sol.capex_by_stage) <= budget + 1e-6
