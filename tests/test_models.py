"""Generic siting models: OR-Library optima, brute force on small instances, honest solver status."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pulp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from planner.errors import InfeasibleError, InputFileError, ScenarioError
from planner.siting import locate, solver
from planner.siting.locate import (
    capacitated_facility_location,
    max_covering,
    p_median,
    set_covering,
)
from planner.siting.solver import SolverOptions, solve_problem
from tests.support.orlib import read_cap, read_optima, read_pmed, read_scp

#: OR-Library instances and optima carried in the repository (tests/data/orlib/README.md: sources, licence).
ORLIB = Path(__file__).resolve().parent / "data" / "orlib"
PMED = ORLIB / "pmed"
SCP = ORLIB / "scp"
CAP = ORLIB / "cap"
SOLVERS = ("highs", "cbc")

# Proven optima of OR-Library set covering (orlib-scp/OPTIMA.md: Caprara, Fischetti & Toth 1999).
SCP_OPTIMA = {
    "scp41": 429, "scp42": 512, "scp43": 516, "scp44": 494, "scp45": 512,
    "scp46": 560, "scp47": 430, "scp48": 492, "scp49": 641, "scp410": 514,
    "scp51": 253, "scp52": 302, "scp61": 138, "scpa1": 253, "scpe1": 5,
}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# OR-Library: published optima
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,solver",
    [(f"pmed{k}", "highs") for k in (1, 2, 3, 4, 5, 7, 10, 15)] + [(f"pmed{k}", "cbc") for k in (1, 4, 5)],
)
def test_p_median_reproduces_orlib_optimum(name: str, solver: str) -> None:
    optimum = read_optima(PMED / "pmedopt.txt")[name]
    inst = read_pmed(PMED / f"{name}.txt")
    result = p_median(inst.costs, inst.p, options=SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == optimum
    assert result.bound is not None and result.bound <= optimum + 1e-6
    assert len(result.open_sites) == inst.p
    # Independent check: every node served by its assigned (open, nearest) site at the stated total.
    assigned = np.array(result.assignment)
    assert set(assigned) <= set(result.open_sites)
    served = inst.costs[np.arange(len(assigned)), assigned]
    assert served.sum() == optimum
    assert np.array_equal(served, inst.costs[:, list(result.open_sites)].min(axis=1))


@pytest.mark.parametrize(
    "name,solver",
    [(name, "highs") for name in SCP_OPTIMA] + [(name, "cbc") for name in ("scp41", "scp42", "scp51", "scp61")],
)
def test_set_covering_reproduces_orlib_optimum(name: str, solver: str) -> None:
    inst = read_scp(SCP / f"{name}.txt")
    result = set_covering(inst.coverage, inst.costs, options=SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == SCP_OPTIMA[name]
    opened = np.zeros(inst.coverage.shape[1], dtype=bool)
    opened[list(result.open_sites)] = True
    assert (inst.coverage.toarray()[:, opened].any(axis=1)).all()
    assert inst.costs[opened].sum() == SCP_OPTIMA[name]


@pytest.mark.parametrize(
    "name,solver",
    [(f"cap{k}", "highs") for k in (41, 42, 43, 44, 81, 111)] + [(f"cap{k}", "cbc") for k in (41, 42, 43, 44)],
)
def test_capacitated_location_reproduces_orlib_optimum(name: str, solver: str) -> None:
    optimum = read_optima(CAP / "capopt.txt")[name]
    inst = read_cap(CAP / f"{name}.txt")
    result = capacitated_facility_location(
        inst.fixed_costs, inst.capacities, inst.demands, inst.costs, options=SolverOptions(solver=solver, mip_gap=0.0)
    )
    assert result.status == "optimal"
    # Published values are rounded to 3 decimals; CBC writes shares with ~8 significant digits.
    assert result.objective == pytest.approx(optimum, abs=1e-3 if solver == "highs" else 5e-3)
    _check_allocation(result, inst.fixed_costs, inst.capacities, inst.demands, inst.costs)


@pytest.mark.parametrize(
    "name,solver",
    [(f"cap{k}", "highs") for k in (71, 72, 73, 74, 101, 131)] + [(f"cap{k}", "cbc") for k in (71, 101)],
)
def test_uncapacitated_location_reproduces_orlib_optimum(name: str, solver: str) -> None:
    optimum = read_optima(CAP / "uncapopt.txt")[name]
    inst = read_cap(CAP / f"{name}.txt")
    result = capacitated_facility_location(
        inst.fixed_costs, None, inst.demands, inst.costs, options=SolverOptions(solver=solver, mip_gap=0.0)
    )
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optimum, abs=1e-3)
    _check_allocation(result, inst.fixed_costs, np.full(len(inst.fixed_costs), np.inf), inst.demands, inst.costs)


def _check_allocation(result, fixed, capacities, demands, costs) -> None:
    """Shares sum to 1 per demand, only open sites serve, loads within capacity, cost as stated."""
    units = np.array(result.units)
    load = np.zeros(len(fixed))
    total = float(np.dot(fixed, units))
    for r, pairs in enumerate(result.assignment):
        assert sum(s for _, s in pairs) == pytest.approx(1.0, abs=1e-6)
        for i, s in pairs:
            assert units[i] >= 1
            load[i] += s * demands[r]
            total += s * costs[r, i]
    limit = np.where(units > 0, capacities * np.maximum(units, 1), 0.0)
    assert np.all(load <= limit * (1 + 1e-6) + 1e-6)
    assert total == pytest.approx(result.objective, rel=1e-9)
    assert set(result.open_sites) == set(np.flatnonzero(units))


# --------------------------------------------------------------------------------------------------
# Small random instances against brute force, with both solvers
# --------------------------------------------------------------------------------------------------

SEEDS = range(6)


def _random_coverage(rng: np.random.Generator, n_rows: int, n_sites: int, density: float) -> np.ndarray:
    cover = rng.random((n_rows, n_sites)) < density
    if n_rows >= 4:
        cover[1] = cover[0]  # a duplicate row, to exercise merging
    return cover


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", SEEDS)
def test_set_covering_agrees_with_brute_force(seed: int, solver: str) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_sites = 9, 8
    cover = _random_coverage(rng, n_rows, n_sites, 0.35)
    for r in np.flatnonzero(~cover.any(axis=1)):
        cover[r, rng.integers(n_sites)] = True
    costs = rng.integers(1, 10, n_sites).astype(float)
    best = min(
        costs[list(s)].sum()
        for k in range(1, n_sites + 1)
        for s in itertools.combinations(range(n_sites), k)
        if cover[:, list(s)].any(axis=1).all()
    )
    matrix = sparse.csr_array(cover) if seed % 2 else cover.astype(int)
    result = set_covering(matrix, costs, options=SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == best
    assert cover[:, list(result.open_sites)].any(axis=1).all()


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", SEEDS)
def test_max_covering_agrees_with_brute_force(seed: int, solver: str) -> None:
    rng = np.random.default_rng(100 + seed)
    n_rows, n_sites, p = 10, 7, 1 + seed % 3
    cover = _random_coverage(rng, n_rows, n_sites, 0.3)
    weights = rng.integers(0, 20, n_rows).astype(float)
    best = max(weights[cover[:, list(s)].any(axis=1)].sum() for s in itertools.combinations(range(n_sites), p))
    result = max_covering(cover, weights, p, options=SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == best
    assert len(result.open_sites) <= p
    assert weights[cover[:, list(result.open_sites)].any(axis=1)].sum() == best


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", range(8))
def test_max_covering_reductions_change_no_answer(seed: int, solver: str) -> None:
    # Every reduction exercised: duplicate rows, a dominated column (a copy of another's rows minus
    # one), a row reached by all but p - 1 sites (covered by any p sites), rows without weight or site.
    rng = np.random.default_rng(300 + seed)
    n_rows, n_sites, p = 12, 9, 2 + seed % 3
    cover = _random_coverage(rng, n_rows, n_sites, 0.3)
    cover[2] = cover[0]
    cover[:, 4] = cover[:, 3]
    cover[np.flatnonzero(cover[:, 4])[:1], 4] = False
    cover[5] = True
    cover[5, rng.choice(n_sites, p - 1, replace=False)] = False
    cover[6] = False
    weights = rng.integers(0, 20, n_rows).astype(float)
    weights[7] = 0.0
    best = max(weights[cover[:, list(s)].any(axis=1)].sum() for s in itertools.combinations(range(n_sites), p))
    result = max_covering(sparse.csr_array(cover) if seed % 2 else cover, weights, p,
                          options=SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == best
    assert len(result.open_sites) <= p
    assert weights[cover[:, list(result.open_sites)].any(axis=1)].sum() == best


@pytest.mark.parametrize("seed", range(3))
def test_max_covering_equals_the_unreduced_model(seed: int) -> None:
    # A road-like instance too large for brute force: the plain textbook model, built here, as reference.
    rng = np.random.default_rng(400 + seed)
    n_rows, n_sites, p = 300, 40, 4
    sites_xy, rows_xy = rng.random((n_sites, 2)), rng.random((n_rows, 2))
    dist = np.linalg.norm(rows_xy[:, None, :] - sites_xy[None, :, :], axis=2)
    cover = dist <= 0.22
    weights = rng.integers(1, 100, n_rows).astype(float)
    prob = pulp.LpProblem("plain_mclp", pulp.LpMaximize)
    y = [pulp.LpVariable(f"y{j}", cat=pulp.LpBinary) for j in range(n_sites)]
    z = [pulp.LpVariable(f"z{r}", 0, 1) for r in range(n_rows)]
    prob += pulp.lpSum(weights[r] * z[r] for r in range(n_rows))
    prob += pulp.lpSum(y) <= p
    for r in range(n_rows):
        prob += z[r] <= pulp.lpSum(y[j] for j in np.flatnonzero(cover[r]))
    reference = solve_problem(prob, SolverOptions(mip_gap=0.0))
    assert reference.status == "optimal"
    result = max_covering(cover, weights, p, options=SolverOptions(mip_gap=0.0))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(reference.objective)
    assert weights[cover[:, list(result.open_sites)].any(axis=1)].sum() == pytest.approx(reference.objective)


def test_max_covering_start_is_a_valid_p_subset_no_better_than_the_optimum() -> None:
    rng = np.random.default_rng(11)
    cover = rng.random((60, 15)) < 0.2
    weights = rng.integers(1, 30, 60).astype(float)
    for p in (1, 3, 5):
        start = locate._max_covering_start(sparse.csr_array(cover), weights, p, seed=0)
        assert len(set(start.tolist())) == p and start.max() < 15
        best = max(weights[cover[:, list(s)].any(axis=1)].sum() for s in itertools.combinations(range(15), p))
        assert weights[cover[:, start].any(axis=1)].sum() <= best


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", SEEDS)
def test_p_median_agrees_with_brute_force(seed: int, solver: str) -> None:
    rng = np.random.default_rng(200 + seed)
    n_rows, n_sites, p = 9, 7, 1 + seed % 4
    costs = rng.integers(0, 30, (n_rows, n_sites)).astype(float)
    costs[2] = costs[3]  # duplicate rows are merged
    if seed % 2:
        costs[rng.random(costs.shape) < 0.25] = np.inf  # pairs that cannot be assigned
    weights = rng.integers(0, 5, n_rows).astype(float)

    def total(sites: tuple[int, ...]) -> float:
        nearest = costs[:, list(sites)].min(axis=1)
        if not np.isfinite(nearest).all():
            return np.inf
        return float(np.dot(weights, nearest))

    best = min(total(s) for s in itertools.combinations(range(n_sites), p))
    options = SolverOptions(solver=solver)
    if not np.isfinite(best):
        with pytest.raises(InfeasibleError):
            p_median(costs, p, weights, options=options)
        return
    result = p_median(costs, p, weights, options=options)
    assert result.status == "optimal"
    assert result.objective == best
    assert len(result.open_sites) == p
    assert total(result.open_sites) == best
    assert all(j in result.open_sites for j in result.assignment)


def _transport_cost(open_units: np.ndarray, fixed, capacities, demands, costs) -> float:
    """Cheapest split of all demand over the given units (scipy linprog), plus their fixed cost."""
    n_rows, n_sites = costs.shape
    usable = np.isfinite(costs) & (open_units > 0)[None, :]
    pairs = np.argwhere(usable)
    if not usable.any(axis=1).all():
        return np.inf
    c = costs[pairs[:, 0], pairs[:, 1]]
    a_eq = np.zeros((n_rows, len(pairs)))
    a_eq[pairs[:, 0], np.arange(len(pairs))] = 1.0
    a_ub = np.zeros((n_sites, len(pairs)))
    a_ub[pairs[:, 1], np.arange(len(pairs))] = demands[pairs[:, 0]]
    res = linprog(c, A_ub=a_ub, b_ub=capacities * open_units, A_eq=a_eq, b_eq=np.ones(n_rows), bounds=(0, 1))
    return float(res.fun + np.dot(fixed, open_units)) if res.status == 0 else np.inf


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", SEEDS)
def test_capacitated_location_agrees_with_brute_force(seed: int, solver: str) -> None:
    rng = np.random.default_rng(300 + seed)
    n_rows, n_sites = 7, 5
    demands = rng.integers(1, 20, n_rows).astype(float)
    unit_cost = rng.integers(1, 15, (n_rows, n_sites)).astype(float)
    costs = unit_cost * demands[:, None]  # OR-Library convention: cost of serving all of the demand
    if seed % 2:
        costs[rng.random(costs.shape) < 0.2] = np.inf
    fixed = rng.integers(20, 200, n_sites).astype(float)
    capacities = rng.integers(10, 45, n_sites).astype(float)
    max_units = 2 if seed % 3 == 0 else None
    choices = itertools.product(range(3) if max_units else range(2), repeat=n_sites)
    best = min(_transport_cost(np.array(u), fixed, capacities, demands, costs) for u in choices)
    options = SolverOptions(solver=solver, mip_gap=0.0)
    if not np.isfinite(best):
        with pytest.raises(InfeasibleError):
            capacitated_facility_location(fixed, capacities, demands, costs, max_units=max_units, options=options)
        return
    result = capacitated_facility_location(fixed, capacities, demands, costs, max_units=max_units, options=options)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best, rel=1e-6)
    _check_allocation(result, fixed, capacities, demands, np.where(np.isfinite(costs), costs, 0.0))


@st.composite
def covering_instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n_rows = draw(st.integers(1, 12))
    n_sites = draw(st.integers(1, 9))
    cells = draw(st.lists(st.booleans(), min_size=n_rows * n_sites, max_size=n_rows * n_sites))
    cover = np.array(cells, dtype=bool).reshape(n_rows, n_sites)
    fixes = draw(st.lists(st.integers(0, n_sites - 1), min_size=n_rows, max_size=n_rows))
    for r in range(n_rows):
        if not cover[r].any():
            cover[r, fixes[r]] = True  # feasible: every row has a covering site
    costs = np.array(draw(st.lists(st.integers(0, 6), min_size=n_sites, max_size=n_sites)), dtype=float)
    return cover, costs


@settings(max_examples=40, deadline=None, derandomize=True)
@given(instance=covering_instances(), as_sparse=st.booleans())
def test_feasible_covering_is_always_solved_and_covers_every_row(instance, as_sparse: bool) -> None:
    cover, costs = instance
    result = set_covering(sparse.csr_array(cover) if as_sparse else cover, costs)
    assert result.status == "optimal"
    opened = list(result.open_sites)
    assert all(0 <= j < cover.shape[1] for j in opened)
    assert cover[:, opened].any(axis=1).all()
    best = min(
        costs[list(s)].sum()
        for k in range(cover.shape[1] + 1)
        for s in itertools.combinations(range(cover.shape[1]), k)
        if cover[:, list(s)].any(axis=1).all()
    )
    assert result.objective == costs[opened].sum() == best


def test_dominated_columns_match_their_definition() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        cover = rng.random((6, 8)) < 0.4
        cover[:, 5] = cover[:, 2]  # identical columns: only the first survives at equal cost
        costs = rng.integers(1, 4, 8).astype(float)
        costs[5] = costs[2]
        kept = locate._undominated_columns(sparse.csr_array(cover), costs)
        rows = [set(np.flatnonzero(cover[:, j])) for j in range(8)]

        def beats(k: int, j: int) -> bool:
            if not rows[j] <= rows[k] or costs[k] > costs[j]:
                return False
            return costs[k] < costs[j] or len(rows[k]) > len(rows[j]) or k < j

        expected = [j for j in range(8) if rows[j] and not any(beats(k, j) for k in range(8) if k != j)]
        assert kept.tolist() == expected


def test_open_sites_refer_to_the_callers_columns_after_reduction() -> None:
    # Column 0 is dominated by column 3 (same rows and more, cheaper); rows 0 and 2 are identical.
    cover = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 1, 0], [1, 0, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 0, 1]])
    result = set_covering(cover, [5, 5, 1, 2, 3])
    assert result.open_sites == (3, 4)
    assert result.objective == 5


# --------------------------------------------------------------------------------------------------
# Status honesty, bounds and options
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_time_limit_stop_is_never_reported_as_a_proven_optimum(solver: str) -> None:
    inst = read_scp(SCP / "scpa1.txt")  # HiGHS needs several seconds to prove 253 on two cores
    options = SolverOptions(solver=solver, time_limit_s=0.3)
    result = set_covering(inst.coverage, inst.costs, options=options)
    if result.status == "optimal":  # only on a machine fast enough to close the gap in 0.3 s
        assert result.objective == 253 and result.gap is not None and result.gap <= options.mip_gap
        return
    assert result.status in ("feasible", "not_solved")
    if result.status == "feasible":
        assert result.objective >= 253
        assert result.gap is not None and result.gap > options.mip_gap
        assert result.bound is not None and result.bound <= 253 + 1e-6
        assert "gap" in result.describe()
        assert inst.coverage.toarray()[:, list(result.open_sites)].any(axis=1).all()
    else:
        assert result.objective is None and result.open_sites == ()


def _knapsack() -> tuple[pulp.LpProblem, list[pulp.LpVariable], float]:
    values, weights, capacity = [10, 13, 7, 8, 9, 4, 6], [5, 7, 3, 4, 5, 2, 3], 14
    prob = pulp.LpProblem("knapsack", pulp.LpMaximize)
    x = [prob.add_variable(f"take_{i}", cat=pulp.LpBinary) for i in range(len(values))]
    prob += pulp.lpSum(v * xi for v, xi in zip(values, x)) + 3  # a constant the solvers never see
    prob += pulp.lpSum(w * xi for w, xi in zip(weights, x)) <= capacity
    best = max(
        sum(values[i] for i in s) + 3
        for k in range(len(values) + 1)
        for s in itertools.combinations(range(len(values)), k)
        if sum(weights[i] for i in s) <= capacity
    )
    return prob, x, best


@pytest.mark.parametrize("solver", SOLVERS)
def test_solve_problem_reports_objective_and_bound_of_a_maximisation(solver: str) -> None:
    prob, _, best = _knapsack()
    result = solve_problem(prob, SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best)
    assert result.bound == pytest.approx(best, abs=1e-6)
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.solver.startswith(solver)


@pytest.mark.parametrize("solver", SOLVERS)
def test_solve_problem_reports_infeasible_and_lp(solver: str) -> None:
    prob = pulp.LpProblem("impossible", pulp.LpMinimize)
    x = prob.add_variable("x", 0, 1, pulp.LpInteger)
    prob += x
    prob += x >= 2
    result = solve_problem(prob, SolverOptions(solver=solver))
    assert result.status == "infeasible" and result.objective is None

    lp = pulp.LpProblem("lp", pulp.LpMinimize)
    y = lp.add_variable("y", 0)
    lp += 2 * y + 1
    lp += y >= 3
    result = solve_problem(lp, SolverOptions(solver=solver))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(7.0) and result.bound == pytest.approx(7.0)


def test_falls_back_to_cbc_and_says_so_when_highs_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver, "highs_available", lambda: False)
    prob, _, best = _knapsack()
    result = solve_problem(prob, SolverOptions(solver="highs"))
    assert result.solver.startswith("cbc") and "highs unavailable" in result.solver
    assert result.objective == pytest.approx(best)


def test_repeated_solves_give_the_same_sites() -> None:
    inst = read_pmed(PMED / "pmed2.txt")
    options = SolverOptions(threads=1)
    first = p_median(inst.costs, inst.p, options=options)
    again = p_median(inst.costs, inst.p, options=options)
    assert first.open_sites == again.open_sites and first.assignment == again.assignment


def test_solver_options_are_checked() -> None:
    with pytest.raises(ScenarioError, match="solver") as info:
        SolverOptions(solver="gurobi")
    assert info.value.option == "solver"
    with pytest.raises(ScenarioError, match="time_limit_s"):
        SolverOptions(time_limit_s=0)
    with pytest.raises(ScenarioError, match="time_limit_s"):
        SolverOptions(time_limit_s=float("nan"))
    with pytest.raises(ScenarioError, match="mip_gap"):
        SolverOptions(mip_gap=-0.1)


@pytest.mark.parametrize("name", SOLVERS)
def test_a_solve_prints_nothing_unless_the_log_is_asked_for(name: str) -> None:
    """No HiGHS banner, no CBC output: a fresh process (the banner comes once per process) stays silent."""
    code = (
        "import pulp\n"
        "from planner.siting.solver import SolverOptions, solve_problem\n"
        "prob = pulp.LpProblem('tiny', pulp.LpMinimize)\n"
        "x = pulp.LpVariable('x', 0, 10, cat=pulp.LpInteger)\n"
        "prob += x\n"
        "prob += x >= 2.5\n"
        f"assert solve_problem(prob, SolverOptions(solver={name!r})).objective == 3\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")


# --------------------------------------------------------------------------------------------------
# Infeasible and invalid input, named before the solve
# --------------------------------------------------------------------------------------------------


def test_uncovered_demand_row_is_named() -> None:
    cover = np.array([[1, 0], [0, 0], [0, 1], [0, 0]])
    with pytest.raises(InfeasibleError) as err:
        set_covering(cover)
    assert err.value.reasons == ["row 1: no site covers it", "row 3: no site covers it"]


def test_more_sites_than_candidates_is_infeasible() -> None:
    with pytest.raises(InfeasibleError, match="p = 4") as err:
        p_median(np.ones((3, 3)), 4)
    assert err.value.reasons == ["only 3 candidate sites given"]
    with pytest.raises(InfeasibleError, match="p = 3"):
        max_covering(np.eye(2), [1, 1], 3)
    with pytest.raises(ValueError, match="positive whole number"):
        p_median(np.ones((3, 3)), 0)


def test_p_median_names_unservable_rows_and_solver_proven_infeasibility() -> None:
    costs = np.array([[1.0, np.inf], [np.inf, np.inf], [2.0, 3.0]])
    with pytest.raises(InfeasibleError) as err:
        p_median(costs, 1)
    assert err.value.reasons == ["row 1: every site's cost is infinite"]
    # Each row reachable, but only from different sites: one site cannot serve both.
    with pytest.raises(InfeasibleError, match="solver proved"):
        p_median(np.array([[1.0, np.inf], [np.inf, 1.0]]), 1)


def test_capacity_below_demand_is_named() -> None:
    costs = np.array([[1.0, 2.0], [1.0, np.inf], [np.inf, np.inf]])
    with pytest.raises(InfeasibleError) as err:
        capacitated_facility_location([1, 1], [5, 4], [3, 6, 2], costs)
    reasons = err.value.reasons
    assert "demand row 2: no site can serve it (every cost is infinite)" in reasons
    assert "demand row 1: demand 6 exceeds the capacity 5 of the sites that can serve it" in reasons
    assert "total demand 11 exceeds the total capacity 9 of all sites" in reasons
    # Units multiply capacity: three units of 5 at site 0 make the first two rows servable.
    ok = capacitated_facility_location([1, 1], [5, 4], [3, 6], costs[:2], max_units=3)
    assert ok.status == "optimal" and ok.units[0] == 2


def test_invalid_matrices_are_rejected() -> None:
    with pytest.raises(ValueError, match="0 and 1"):
        set_covering(np.array([[2, 0], [0, 1]]))
    with pytest.raises(ValueError, match="costs\\[1\\]"):
        set_covering(np.eye(2), [1, -1])
    with pytest.raises(ValueError, match="nan"):
        p_median(np.array([[np.nan, 1.0]]), 1)


# --------------------------------------------------------------------------------------------------
# OR-Library readers and their traps
# --------------------------------------------------------------------------------------------------


def test_pmed_reader_keeps_the_last_duplicate_edge(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text(" 3 3 1\n 1 2 5\n 2 3 4\n 2 1 9\n")
    inst = read_pmed(path)
    assert inst.p == 1
    assert inst.costs[0, 1] == 9 and inst.costs[0, 2] == 13 and inst.costs[2, 0] == 13


def test_scp_and_cap_readers(tmp_path: Path) -> None:
    scp = tmp_path / "scp.txt"
    scp.write_text(" 2 3\n 4 5\n 6\n 2 1 3\n 1\n 2\n")
    inst = read_scp(scp)
    assert inst.costs.tolist() == [4, 5, 6]
    assert inst.coverage.toarray().tolist() == [[True, False, True], [False, True, False]]
    cap = tmp_path / "cap.txt"
    cap.write_text(" 2 2\n capacity 10.\n capacity 20.\n 3\n 1.5 2.5\n 4\n 8 9\n")
    wh = read_cap(cap, capacity=7)
    assert wh.capacities.tolist() == [7, 7] and wh.fixed_costs.tolist() == [10, 20]
    assert wh.demands.tolist() == [3, 4] and wh.costs.tolist() == [[1.5, 2.5], [8, 9]]
    assert np.isnan(read_cap(cap).capacities).all()


def test_readers_name_the_file_on_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "short.txt"
    bad.write_text(" 5 4 2\n 1 2 3\n")
    with pytest.raises(InputFileError, match="short.txt.*file ends early"):
        read_pmed(bad)
    with pytest.raises(InputFileError, match="file not found"):
        read_scp(tmp_path / "missing.txt")
    words = tmp_path / "words.txt"
    words.write_text(" 1 1\n 1\n 1 x\n")
    with pytest.raises(InputFileError, match="'x' is not a number"):
        read_scp(words)


def test_p_median_widens_rows_whose_nearest_open_site_lies_past_the_first_levels() -> None:
    """A light demand far from the heavy ones is served by its 31st-nearest site: the model must widen
    that row (levels are first cut near 2·sites/p) to price it truly and prove the optimum."""
    rng = np.random.default_rng(7)
    remote_sites = rng.uniform(0, 1, (30, 2))  # a cluster around the remote demand at (0.5, 0.5)
    heavy_sites = rng.uniform(0, 1, (10, 2)) + 50.0  # far away, one heavy demand on each
    sites = np.vstack([remote_sites, heavy_sites])
    demand = np.vstack([[[0.5, 0.5]], heavy_sites])
    costs = np.linalg.norm(demand[:, None, :] - sites[None, :, :], axis=2)
    weights = np.r_[0.001, np.full(10, 1000.0)]
    result = p_median(costs, 10, weights)
    heavy = tuple(range(30, 40))
    assert result.open_sites == heavy
    expected = 0.001 * costs[0, 30:].min()
    assert result.objective == pytest.approx(expected, rel=1e-9)
    assert result.status == "optimal" and result.bound == pytest.approx(expected, rel=1e-4)


def test_capacitated_rows_without_demand_open_nothing() -> None:
    """A zero-demand row (even one no site reaches) needs no service, so it opens no site."""
    inf = np.inf
    result = capacitated_facility_location([100, 100], [10, 10], [5, 0], [[1, inf], [inf, 1]])
    assert result.open_sites == (0,) and result.objective == pytest.approx(101.0)
    result = capacitated_facility_location([100, 100], [10, 10], [5, 0], [[1, inf], [inf, inf]])
    assert result.open_sites == (0,) and result.assignment[1] == ()
