"""Generic facility-location models on any cost or coverage matrix, built with PuLP.

Four models, each returning a :class:`~planner.siting.solver.SolveResult` that tells a proven optimum
from an answer cut off by the time limit: set covering, maximal covering, p-median and capacitated
facility location. Demands are rows, candidate sites are columns. Coverage constraints are built
from sparse coverage sets; identical demand rows are merged and dominated columns dropped before the
solve, and ``open_sites`` always refers to the caller's column indices. Nothing here knows about
chargers or cities; ``plan.py`` is the Shanwei model.
"""

from __future__ import annotations

import math
from dataclasses import replace
from time import perf_counter
from typing import Any, TypeAlias

import numpy as np
import pulp
from scipy import sparse

from planner.errors import InfeasibleError, SolverError
from planner.siting.solver import (
    SolveResult,
    SolverOptions,
    classify_status,
    highs_available,
    model_variable,
    native_stdout_to_stderr,
    relative_gap,
    silence_highs_banner,
    solve_problem,
)

#: Linear terms ``(variable, coefficient)`` of a constraint or objective.
Terms: TypeAlias = list[tuple[pulp.LpVariable, float]]

#: Solver options a model uses when given none (HiGHS, 60 s, relative gap 1e-4).
DEFAULT_OPTIONS = SolverOptions()

_MAX_LISTED = 20  # rows named in an infeasibility message before "… and N more"
_RESTARTS = 30  # perturbed restarts of the maximal-covering local search


# --------------------------------------------------------------------------------------------------
# Input checks and reductions
# --------------------------------------------------------------------------------------------------


def _coverage_matrix(coverage: Any) -> sparse.csr_array:
    """``coverage`` as a boolean CSR matrix with sorted indices; entries must be 0 or 1."""
    if sparse.issparse(coverage):
        matrix = sparse.csr_array(coverage)
        if matrix.ndim != 2:
            raise ValueError(f"coverage must be a 2-D matrix, got shape {matrix.shape}")
        values = np.asarray(matrix.data)
    else:
        dense = np.asarray(coverage)
        if dense.ndim != 2:
            raise ValueError(f"coverage must be a 2-D n_demand × n_sites matrix, got shape {dense.shape}")
        values = dense.ravel()
        matrix = sparse.csr_array(dense != 0)
    if values.size and not np.isin(values, (0, 1)).all():
        raise ValueError("coverage must hold only 0 and 1 (or False and True)")
    matrix = sparse.csr_array(matrix != 0)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _vector(values: Any, length: int, name: str, *, allow_inf: bool = False, positive: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = np.full(length, float(arr))
    if arr.shape != (length,):
        raise ValueError(f"{name} must have {length} entries, got shape {arr.shape}")
    bad = np.isnan(arr) | (np.isinf(arr) if not allow_inf else np.isneginf(arr))
    if bad.any():
        raise ValueError(f"{name}[{int(np.flatnonzero(bad)[0])}] is {arr[bad][0]}; expected a finite number")
    low = arr <= 0 if positive else arr < 0
    if low.any():
        i = int(np.flatnonzero(low)[0])
        raise ValueError(f"{name}[{i}] is {arr[i]:g}; expected a {'positive' if positive else 'non-negative'} number")
    return arr


def _cost_matrix(costs: Any, name: str = "costs") -> np.ndarray:
    """A dense float n_demand × n_sites matrix; +inf marks a pair that cannot be assigned."""
    if sparse.issparse(costs):
        raise ValueError(f"{name} must be a dense matrix (missing entries of a sparse matrix would read as 0)")
    arr = np.asarray(costs, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D n_demand × n_sites matrix, got shape {arr.shape}")
    bad = np.isnan(arr) | np.isneginf(arr)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{name}[{i}, {j}] is {arr[i, j]}; expected a number, or +inf where the pair is not allowed")
    return arr


def _site_count(p: Any, n_sites: int, model: str) -> int:
    if isinstance(p, bool) or not float(p).is_integer() or p < 1:
        raise ValueError(f"{model}: p must be a positive whole number of sites, got {p!r}")
    p = int(p)
    if p > n_sites:
        raise InfeasibleError(
            f"{model} cannot open p = {p} sites",
            [f"only {n_sites} candidate site{'s' if n_sites != 1 else ''} given"],
        )
    return p


def _listed(rows: np.ndarray, describe: Any) -> list[str]:
    reasons = [describe(int(r)) for r in rows[:_MAX_LISTED]]
    if len(rows) > _MAX_LISTED:
        reasons.append(f"… and {len(rows) - _MAX_LISTED} more rows")
    return reasons


def _merge_rows(matrix: sparse.csr_array, weights: np.ndarray) -> tuple[sparse.csr_array, np.ndarray]:
    """Rows with identical coverage sets merged into one (weights summed), in first-seen order."""
    groups: dict[bytes, int] = {}
    first: list[int] = []
    merged: list[float] = []
    indptr, indices = matrix.indptr, matrix.indices
    for i in range(matrix.shape[0]):
        key = indices[indptr[i] : indptr[i + 1]].tobytes()
        g = groups.setdefault(key, len(first))
        if g == len(first):
            first.append(i)
            merged.append(0.0)
        merged[g] += float(weights[i])
    return matrix[first], np.array(merged)


def _row_bitsets(matrix: sparse.csr_array, order: np.ndarray) -> list[int]:
    """Each row's columns as a Python int whose bit k is set when the column ranked k covers the row."""
    n_rows, n_cols = matrix.shape
    chunk = max(1, (1 << 23) // max(n_cols, 1))
    out: list[int] = []
    for start in range(0, n_rows, chunk):
        block = matrix[start : start + chunk].toarray()[:, order]
        packed = np.packbits(block, axis=1, bitorder="little")
        out.extend(int.from_bytes(row.tobytes(), "little") for row in packed)
    return out


def _undominated_columns(matrix: sparse.csr_array, costs: np.ndarray) -> np.ndarray:
    """Columns no other column dominates, in index order.

    Column j is dominated when another column k covers every row j covers at no higher cost. Ranking
    columns by (cost, -rows covered, index), j is dominated exactly when some column ranked before it
    covers all of j's rows; the best-ranked column covering a given row set always survives, so a
    covering or maximal-covering optimum is kept. Columns covering no row are dropped.
    """
    n_cols = matrix.shape[1]
    csc = sparse.csc_array(matrix)
    csc.sort_indices()
    sizes = np.diff(csc.indptr)
    order = np.lexsort((np.arange(n_cols), -sizes, costs))
    rank = np.empty(n_cols, dtype=np.int64)
    rank[order] = np.arange(n_cols)
    masks = _row_bitsets(matrix, order)
    row_sizes = np.diff(matrix.indptr)
    keep: list[int] = []
    for j in range(n_cols):
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if rows.size == 0:
            continue
        better = (1 << int(rank[j])) - 1  # columns ranked before j
        for r in rows[np.argsort(row_sizes[rows], kind="stable")]:
            better &= masks[r]
            if not better:
                break
        if not better:
            keep.append(j)
    return np.array(keep, dtype=np.int64)



def _add(prob: pulp.LpProblem, terms: Terms, sense: int, rhs: float, name: str) -> None:
    """Add ``sum(coef * var for var, coef in terms) <sense> rhs`` to ``prob`` as constraint ``name``."""
    prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs)


def _row_terms(matrix: sparse.csr_array, row: int, variables: list[pulp.LpVariable]) -> Terms:
    return [(variables[k], 1.0) for k in matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]]


def _binary_values(variables: list[pulp.LpVariable]) -> np.ndarray:
    return np.array([(v.value() or 0.0) > 0.5 for v in variables], dtype=bool)


def _nothing_to_decide(options: SolverOptions, build_time_s: float) -> SolveResult:
    """An instance the reductions solved outright (no demand left to serve): open nothing, cost 0."""
    return SolveResult("optimal", 0.0, 0.0, 0.0, f"{options.solver} (not needed)", 0.0, build_time_s=build_time_s)


def _finish(result: SolveResult, objective: float | None, build_time_s: float, **fields: Any) -> SolveResult:
    """The solver's result with the objective recomputed from the caller's data and the mapped solution."""
    gap = relative_gap(objective, result.bound) if result.has_solution else result.gap
    return replace(result, objective=objective, gap=gap, build_time_s=build_time_s, **fields)


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


def set_covering(coverage: Any, costs: Any = None, *, options: SolverOptions = DEFAULT_OPTIONS) -> SolveResult:
    """Cheapest set of sites covering every demand row (minimum number of sites when ``costs`` is None).

    Parameters
    ----------
    coverage
        n_demand × n_sites 0/1 matrix (numpy array or scipy.sparse): 1 where the site covers the demand.
    costs
        Cost of opening each site (non-negative); default 1 per site.
    options
        Solver options.

    Raises
    ------
    InfeasibleError
        When a demand row is covered by no site, naming the rows.
    """
    start = perf_counter()
    matrix = _coverage_matrix(coverage)
    n_rows, n_sites = matrix.shape
    site_costs = np.ones(n_sites) if costs is None else _vector(costs, n_sites, "costs")
    uncovered = np.flatnonzero(np.diff(matrix.indptr) == 0)
    if uncovered.size:
        raise InfeasibleError(
            f"Set covering: {uncovered.size} of {n_rows} demand rows are covered by no site",
            _listed(uncovered, lambda r: f"row {r}: no site covers it"),
        )
    reduced, _ = _merge_rows(matrix, np.ones(n_rows))
    kept = _undominated_columns(reduced, site_costs)
    reduced, _ = _merge_rows(sparse.csr_array(reduced[:, kept]), np.ones(reduced.shape[0]))
    if reduced.shape[0] == 0:
        return _nothing_to_decide(options, perf_counter() - start)

    prob = pulp.LpProblem("set_covering", pulp.LpMinimize)
    y = [model_variable(prob, f"open_{j}", cat=pulp.LpBinary) for j in kept]
    prob += pulp.LpAffineExpression([(y[k], float(site_costs[j])) for k, j in enumerate(kept)])
    for r in range(reduced.shape[0]):
        _add(prob, _row_terms(reduced, r, y), pulp.LpConstraintGE, 1, f"cover_{r}")
    build_time_s = perf_counter() - start

    result = solve_problem(prob, options)
    if not result.has_solution:
        return replace(result, build_time_s=build_time_s)
    open_sites = kept[_binary_values(y)]
    covered = np.asarray(matrix[:, open_sites].sum(axis=1)).ravel() > 0
    if not covered.all():
        raise SolverError(f"the solver's set-covering answer leaves row {int(np.flatnonzero(~covered)[0])} uncovered")
    opened = tuple(int(j) for j in open_sites)
    return _finish(result, float(site_costs[open_sites].sum()), build_time_s, open_sites=opened)


def max_covering(coverage: Any, weights: Any, p: int, *, options: SolverOptions = DEFAULT_OPTIONS) -> SolveResult:
    """At most ``p`` sites covering the largest total demand weight (maximal covering location).

    Exact reductions before the MIP: rows without weight or site dropped, rows with identical site
    sets merged (weights summed), dominated sites dropped, and rows that any ``p`` of the remaining
    sites cover (more than ``n - p`` of them reach it) counted as covered. A greedy-and-swap local
    search gives HiGHS its starting solution.
    Dropping dominated sites is safe: if site k covers every row site j covers, replacing j by k in
    any solution (or dropping j when k is already open) keeps every covered row covered and uses no
    more than ``p`` sites, so some optimum uses no dominated site.

    Parameters
    ----------
    coverage
        n_demand × n_sites 0/1 matrix (numpy array or scipy.sparse).
    weights
        Demand weight of each row (non-negative), e.g. population.
    p
        Number of sites to open; fewer are returned when fewer undominated sites reach any weighted row.
    options
        Solver options.

    Raises
    ------
    InfeasibleError
        When ``p`` exceeds the number of candidate sites.
    """
    start = perf_counter()
    matrix = _coverage_matrix(coverage)
    n_rows, n_sites = matrix.shape
    w = _vector(weights, n_rows, "weights")
    p = _site_count(p, n_sites, "Maximal covering")
    useful = np.flatnonzero((w > 0) & (np.diff(matrix.indptr) > 0))
    reduced, merged_w = _merge_rows(sparse.csr_array(matrix[useful]), w[useful])
    kept = _undominated_columns(reduced, np.zeros(n_sites))
    reduced, merged_w = _merge_rows(sparse.csr_array(reduced[:, kept]), merged_w)
    if reduced.shape[0] == 0:
        return _nothing_to_decide(options, perf_counter() - start)
    n_kept = len(kept)
    p_eff = min(p, n_kept)
    always = np.diff(reduced.indptr) > n_kept - p_eff  # any p_eff of the kept sites include one of its sites
    constant = float(merged_w[always].sum())
    if always.any():
        reduced, merged_w = sparse.csr_array(reduced[~always]), merged_w[~always]
    first = _max_covering_start(reduced, merged_w, p_eff, options.random_seed)

    if reduced.shape[0] == 0:  # every row is covered by any p_eff sites
        open_sites = kept[np.arange(p_eff)]
        result = SolveResult("optimal", None, None, 0.0, f"{options.solver} (not needed)", 0.0)
        build_time_s = perf_counter() - start
    elif options.solver == "highs" and highs_available():
        build_time_s = perf_counter() - start
        result, chosen = _max_covering_highs(reduced, merged_w, p_eff, first, constant, options)
        if not result.has_solution:
            return replace(result, build_time_s=build_time_s)
        open_sites = kept[chosen]
    else:
        prob = pulp.LpProblem("max_covering", pulp.LpMaximize)
        y = [model_variable(prob, f"open_{j}", cat=pulp.LpBinary) for j in kept]
        # z_r <= 1 and z_r <= sum of covering y: with binary y the optimal z_r is 0 or 1 by itself.
        z = [model_variable(prob, f"covered_{r}", 0, 1) for r in range(reduced.shape[0])]
        prob += pulp.LpAffineExpression([(z[r], float(merged_w[r])) for r in range(len(z))],
                                        constant=constant)
        _add(prob, [(v, 1.0) for v in y], pulp.LpConstraintEQ, p_eff, "sites")  # see _max_covering_highs
        for r in range(len(z)):
            terms = _row_terms(reduced, r, y) + [(z[r], -1.0)]
            _add(prob, terms, pulp.LpConstraintGE, 0, f"cover_{r}")
        build_time_s = perf_counter() - start
        result = solve_problem(prob, options)
        if not result.has_solution:
            return replace(result, build_time_s=build_time_s)
        open_sites = kept[_binary_values(y)]
    covered = np.asarray(matrix[:, open_sites].sum(axis=1)).ravel() > 0
    total = float(w[covered].sum())
    if result.bound is None and result.status == "optimal":
        result = replace(result, bound=total)
    return _finish(result, total, build_time_s, open_sites=tuple(int(j) for j in sorted(open_sites)))


def _max_covering_start(matrix: sparse.csr_array, weights: np.ndarray, p: int, seed: int) -> np.ndarray:
    """A good set of ``p`` columns: greedy, then best-swap local search, then a few perturbed restarts.

    Deterministic for a given ``seed``; the iteration count, not the clock, bounds the work.
    """
    n_rows, n_cols = matrix.shape
    a = sparse.csr_array(matrix, dtype=np.float64)
    at = sparse.csr_array(a.T)
    if p >= n_cols:
        return np.arange(n_cols)

    def counts(sites: list[int]) -> np.ndarray:
        return np.asarray(a[:, sites].sum(axis=1)).ravel()

    def local(sites: list[int]) -> tuple[list[int], float]:
        sites = list(sites)
        cnt = counts(sites)
        for _ in range(50 * p):
            alone = weights * (cnt == 1)
            gain_in = at @ (weights * (cnt == 0))
            cols = a[:, sites]
            loss_out = cols.T @ alone
            kept_rows = (sparse.csr_array(cols.multiply(alone[:, None])).T @ a).toarray()
            gain = gain_in[None, :] - loss_out[:, None] + kept_rows
            gain[:, sites] = -np.inf
            k, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
            if gain[k, j] <= 1e-9 * max(1.0, float(weights.sum())):
                break
            cnt += a[:, [int(j)]].toarray().ravel() - a[:, [sites[k]]].toarray().ravel()
            sites[k] = int(j)
        return sites, float(weights[cnt > 0].sum())

    cnt = np.zeros(n_rows)
    greedy: list[int] = []
    for _ in range(p):
        gain = at @ (weights * (cnt == 0))
        gain[greedy] = -1.0
        j = int(np.argmax(gain))
        greedy.append(j)
        cnt += a[:, [j]].toarray().ravel()
    best, best_value = local(greedy)
    current, current_value = best, best_value
    rng = np.random.default_rng(seed)
    kick = min(3, p, n_cols - p)
    for _ in range(_RESTARTS if kick else 0):
        trial = list(current)
        closed = np.setdiff1d(np.arange(n_cols), trial)
        for k, j in zip(rng.choice(p, kick, replace=False), rng.choice(closed, kick, replace=False)):
            trial[int(k)] = int(j)
        trial, value = local(trial)
        if value >= current_value:
            current, current_value = trial, value
        if value > best_value:
            best, best_value = trial, value
    return np.array(sorted(best), dtype=np.int64)


def _max_covering_highs(
    matrix: sparse.csr_array, weights: np.ndarray, p: int, first: np.ndarray, constant: float, options: SolverOptions
) -> tuple[SolveResult, np.ndarray]:
    """The maximal-covering MIP built from arrays and solved by HiGHS from the starting solution ``first``.

    PuLP's highspy interface (``pulp.HiGHS``) passes no starting solution (only ``HiGHS_CMD(warmStart=True)``
    does, through a solution file), so the model goes to highspy directly and the start is given with
    ``Highs.setSolution``. Returns the result and the chosen columns.
    """
    import highspy

    n_rows, n_cols = matrix.shape
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols + n_rows
    lp.num_row_ = n_rows + 1
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = float(constant)
    lp.col_cost_ = np.r_[np.zeros(n_cols), weights].astype(np.float64)
    lp.col_lower_ = np.zeros(n_cols + n_rows)
    lp.col_upper_ = np.ones(n_cols + n_rows)
    # Row r: z_r - sum of its sites' y <= 0; last row: sum of y = p (the rows counted as covered by
    # any p sites need all p open; with p no more than the columns, an optimum with exactly p exists).
    block = sparse.vstack([
        sparse.hstack([-sparse.csr_array(matrix, dtype=np.float64), sparse.identity(n_rows, format="csr")]),
        sparse.hstack([sparse.csr_array(np.ones((1, n_cols))), sparse.csr_array((1, n_rows))]),
    ]).tocsr()
    lp.row_lower_ = np.r_[np.full(n_rows, -inf), float(p)]
    lp.row_upper_ = np.r_[np.zeros(n_rows), float(p)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = block.indptr.astype(np.int32)
    lp.a_matrix_.index_ = block.indices.astype(np.int32)
    lp.a_matrix_.value_ = block.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols + [highspy.HighsVarType.kContinuous] * n_rows

    silence_highs_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.msg))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.setOptionValue("random_seed", int(options.random_seed))
    # The model is already reduced exactly (above) and starts from the local search: HiGHS's presolve
    # then finds little but triggers root restarts, and its RINS/RENS sub-MIPs mostly re-find the start.
    # On issue 16's hard instance (same optimum, proven, over several random seeds): 15-32 s of CPU with
    # the defaults, 7-8 s without presolve, 4-5 s without presolve and these two sub-MIPs. Speed only: a
    # HiGHS that lacks one of them refuses the setting and solves the same model with its default.
    h.setOptionValue("presolve", "off")
    h.setOptionValue("mip_heuristic_run_rins", False)
    h.setOptionValue("mip_heuristic_run_rens", False)
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", float(options.time_limit_s))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    h.passModel(lp)
    start_values = np.zeros(n_cols + n_rows)
    start_values[first] = 1.0
    start_values[n_cols:] = np.asarray(matrix[:, first].sum(axis=1)).ravel() > 0
    solution = highspy.HighsSolution()
    solution.col_value = start_values.tolist()
    solution.value_valid = True
    h.setSolution(solution)
    began = perf_counter()
    if options.msg:
        with native_stdout_to_stderr():
            h.run()
    else:
        h.run()
    elapsed = perf_counter() - began
    model_status = h.getModelStatus()
    info = h.getInfo()
    kind = highspy.HighsModelStatus
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    if model_status == kind.kOptimal:
        status = "optimal"
    elif model_status in (kind.kInfeasible, kind.kUnboundedOrInfeasible):
        status = "infeasible"
    else:
        status = "feasible" if has_solution else "not_solved"
    chosen = np.array([], dtype=np.int64)
    objective = bound = None
    if status in ("optimal", "feasible"):
        values = np.asarray(h.getSolution().col_value[:n_cols])
        chosen = np.flatnonzero(values > 0.5)
        objective = float(info.objective_function_value)
        dual = float(info.mip_dual_bound)
        bound = dual if math.isfinite(dual) else None
    status, gap = classify_status(status, objective, bound, options)
    return SolveResult(status, objective, bound, gap, f"highs {h.version()}", elapsed), chosen


def p_median(costs: Any, p: int, weights: Any = None, *, options: SolverOptions = DEFAULT_OPTIONS) -> SolveResult:
    """Open ``p`` sites minimising the total weighted cost of serving each demand from its nearest open site.

    Uses a radius formulation (Elloumi 2010; García, Labbé & Marín 2011) instead of one variable per
    demand-site pair: per demand row, one variable per distinct cost level ("this demand is served at
    more than level k"), chained so that each level's constraint holds only the sites at exactly
    that cost. A row never needs levels beyond its (m - p + 1)-th cheapest site, since any m - p + 1
    sites include an open one. With binary site variables the level variables take their true 0/1
    values, so the optimum equals the classical formulation's.

    Parameters
    ----------
    costs
        n_demand × n_sites matrix of the cost of serving each demand from each site; +inf where a
        site cannot serve a demand.
    p
        Number of sites to open.
    weights
        Demand weight of each row (non-negative); default 1.
    options
        Solver options.

    Raises
    ------
    InfeasibleError
        When ``p`` exceeds the number of sites, a demand row has no finite cost, or the solver proves
        that no ``p`` sites serve every demand.
    """
    start = perf_counter()
    cost = _cost_matrix(costs)
    n_rows, n_sites = cost.shape
    w = np.ones(n_rows) if weights is None else _vector(weights, n_rows, "weights")
    p = _site_count(p, n_sites, "p-median")
    finite = np.isfinite(cost)
    unserved = np.flatnonzero(~finite.any(axis=1))
    if unserved.size:
        raise InfeasibleError(
            f"p-median: {unserved.size} of {n_rows} demand rows cannot be served by any site",
            _listed(unserved, lambda r: f"row {r}: every site's cost is infinite"),
        )
    unique_rows, inverse = np.unique(cost, axis=0, return_inverse=True)
    merged_w = np.bincount(inverse.ravel(), weights=w, minlength=len(unique_rows))
    rows = [_cost_levels(row, n_sites - p + 1) for row in unique_rows]
    n_levels = np.array([len(r[2]) for r in rows])
    # Start each row with the levels a spread-out choice of p sites would reach, and widen only the
    # rows whose nearest open site lies beyond (see _p_median_model): far fewer rows and variables.
    depth = np.minimum(n_levels, max(4, math.ceil(2 * n_sites / p)))
    build_time_s = perf_counter() - start
    solve_time_s = 0.0
    deadline = None if options.time_limit_s is None else start + options.time_limit_s
    while True:
        started = perf_counter()
        prob, y, beyond = _p_median_model(rows, merged_w, depth, n_sites, p)
        build_time_s += perf_counter() - started
        left_s = None if deadline is None else max(0.01, deadline - perf_counter())
        result = solve_problem(prob, replace(options, time_limit_s=left_s))
        solve_time_s += result.solve_time_s
        result = replace(result, solve_time_s=solve_time_s)
        if result.status == "infeasible":
            raise InfeasibleError(
                f"p-median: the solver proved that no {p} sites can serve every demand row",
                ["some rows can only be served by sites that exclude each other's rows (infinite costs)"],
            )
        if not result.has_solution:
            return replace(result, build_time_s=build_time_s)
        short = [u for u, v in beyond.items() if (v.value() or 0.0) > 0.5]
        if not short or (deadline is not None and perf_counter() >= deadline):
            break
        depth[short] = np.minimum(n_levels[short], depth[short] * 4)
    open_sites = np.flatnonzero(_binary_values(y))
    nearest = open_sites[np.argmin(cost[:, open_sites], axis=1)]
    served = cost[np.arange(n_rows), nearest]
    total = float(np.sum(np.where(w > 0, w * served, 0.0)))
    done = _finish(
        result,
        total,
        build_time_s,
        open_sites=tuple(int(j) for j in open_sites),
        assignment=tuple(int(j) for j in nearest),
    )
    if short:  # stopped by the time limit with rows still cut: optimal only if the true gap says so
        proven = done.gap is not None and done.gap <= options.mip_gap
        done = replace(done, status="optimal" if proven else "feasible")
    return done


def _cost_levels(row: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A demand row's sites by cost, cut after its ``reach``-th cheapest, with the distinct cost levels.

    Returns (sites sorted by cost, start index of each level in them, cost of each level).
    """
    sites = np.flatnonzero(np.isfinite(row))
    order = np.argsort(row[sites], kind="stable")
    sites, values = sites[order], row[sites][order]
    if sites.size >= reach:
        cut = np.searchsorted(values, values[reach - 1], side="right")
        sites, values = sites[:cut], values[:cut]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return sites, starts, values[starts]


def _p_median_model(
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    weights: np.ndarray,
    depth: np.ndarray,
    n_sites: int,
    p: int,
) -> tuple[pulp.LpProblem, list[pulp.LpVariable], dict[int, pulp.LpVariable]]:
    """The radius formulation with each row's levels cut at ``depth``; ``beyond`` flags the cut rows.

    A cut row pays at most the cost of its first level past the cut when no site up to the cut is
    open, so the model's optimum is a lower bound of the p-median; when no ``beyond`` variable is 1
    in the answer, every row pays its true cost and the answer is optimal for the full problem.
    """
    prob = pulp.LpProblem("p_median", pulp.LpMinimize)
    y = [model_variable(prob, f"open_{j}", cat=pulp.LpBinary) for j in range(n_sites)]
    _add(prob, [(v, 1.0) for v in y], pulp.LpConstraintEQ, p, "sites")
    objective: Terms = []
    constant = 0.0
    beyond: dict[int, pulp.LpVariable] = {}
    for u, (sites, starts, levels) in enumerate(rows):
        ends = np.r_[starts[1:], sites.size]
        if weights[u] == 0:
            if sites.size < n_sites - p + 1:  # no cost to pay, but the row must still be servable
                _add(prob, [(y[j], 1.0) for j in sites], pulp.LpConstraintGE, 1, f"serve_{u}")
            continue
        kept = int(depth[u])
        constant += weights[u] * levels[0]
        # far[k] = 1: no site of levels 0..k is open, so the row pays at least levels[k + 1].
        far = [model_variable(prob, f"far_{u}_{k}", 0) for k in range(min(kept, len(levels) - 1))]
        for k in range(kept):
            terms = [(y[j], 1.0) for j in sites[starts[k] : ends[k]]]
            if k < len(far):
                terms.append((far[k], 1.0))
                objective.append((far[k], float(weights[u] * (levels[k + 1] - levels[k]))))
            if k > 0:
                terms.append((far[k - 1], -1.0))
            _add(prob, terms, pulp.LpConstraintGE, 0 if k else 1, f"level_{u}_{k}")
        if kept < len(levels):
            beyond[u] = far[kept - 1]
    prob += pulp.LpAffineExpression(objective, constant=float(constant))
    return prob, y, beyond


def capacitated_facility_location(
    fixed_costs: Any,
    capacities: Any,
    demands: Any,
    costs: Any,
    *,
    max_units: Any = None,
    options: SolverOptions = DEFAULT_OPTIONS,
) -> SolveResult:
    """Open sites and split each demand among them at least cost, within each site's capacity.

    Demand may be split between sites (as in OR-Library's capacitated warehouse location). With
    ``max_units``, a site holds a whole number of capacity units (e.g. chargers), each costing
    ``fixed_costs[i]`` and adding ``capacities[i]``; otherwise a site is open (once) or closed.

    Parameters
    ----------
    fixed_costs
        Cost of opening each site (or of each unit, with ``max_units``), non-negative.
    capacities
        Capacity of each site (or unit), positive; None or +inf for no limit (uncapacitated location).
    demands
        Demand of each row, non-negative.
    costs
        n_demand × n_sites cost of serving ALL of a demand row from a site (OR-Library convention;
        multiply a per-unit cost by the demand); +inf where the site cannot serve it.
    max_units
        Most units per site (int or one per site); None for open/closed sites.
    options
        Solver options.

    Returns
    -------
    SolveResult
        ``assignment`` gives, per demand row, the ``(site, share)`` pairs serving it; ``units`` the
        units installed per site (1 for an open site without ``max_units``).

    Raises
    ------
    InfeasibleError
        When a demand has no site that can serve it, exceeds the capacity of the sites that can, total
        demand exceeds total capacity, or the solver proves the assignment impossible.
    """
    start = perf_counter()
    cost = _cost_matrix(costs)
    n_rows, n_sites = cost.shape
    fixed = _vector(fixed_costs, n_sites, "fixed_costs")
    if capacities is None:
        cap = np.full(n_sites, np.inf)
    else:
        cap = _vector(capacities, n_sites, "capacities", allow_inf=True, positive=True)
    demand = _vector(demands, n_rows, "demands")
    if max_units is None:
        most = np.ones(n_sites, dtype=np.int64)
    else:
        most_f = _vector(max_units, n_sites, "max_units")
        if not np.all(most_f == np.round(most_f)):
            raise ValueError("max_units must be whole numbers")
        most = most_f.astype(np.int64)
    # A row without demand needs no service: it opens nothing and may be unreachable.
    servable = np.isfinite(cost) & (most > 0)[None, :] & (demand > 0)[:, None]
    reasons: list[str] = []
    unserved = np.flatnonzero(~servable.any(axis=1) & (demand > 0))
    reasons += _listed(unserved, lambda r: f"demand row {r}: no site can serve it (every cost is infinite)")
    reachable_cap = np.where(servable, (cap * most)[None, :], 0.0).sum(axis=1)
    short = np.flatnonzero(servable.any(axis=1) & (demand > reachable_cap * (1 + 1e-12)))
    reasons += _listed(
        short,
        lambda r: (
            f"demand row {r}: demand {demand[r]:g} exceeds the capacity {reachable_cap[r]:g} "
            "of the sites that can serve it"
        ),
    )
    total_cap = float(np.sum(cap * most))
    if demand.sum() > total_cap * (1 + 1e-12):
        reasons.append(f"total demand {demand.sum():g} exceeds the total capacity {total_cap:g} of all sites")
    if reasons:
        raise InfeasibleError("Capacitated facility location: the demand cannot be met", reasons)

    prob = pulp.LpProblem("capacitated_facility_location", pulp.LpMinimize)
    if max_units is None:
        y = [model_variable(prob, f"open_{i}", cat=pulp.LpBinary) for i in range(n_sites)]
    else:
        y = [model_variable(prob, f"units_{i}", 0, int(most[i]), pulp.LpInteger) for i in range(n_sites)]
    objective = [(y[i], float(fixed[i])) for i in range(n_sites)]
    share: list[list[tuple[int, pulp.LpVariable]]] = []
    load: list[Terms] = [[] for _ in range(n_sites)]
    for r in range(n_rows):
        row = []
        for i in np.flatnonzero(servable[r]):
            x = model_variable(prob, f"share_{r}_{i}", 0, 1)
            row.append((int(i), x))
            objective.append((x, float(cost[r, i])))
            load[i].append((x, float(demand[r])))
            # A share needs an open site; this strong link is what makes the LP bound tight.
            _add(prob, [(x, 1.0), (y[i], -1.0)], pulp.LpConstraintLE, 0, f"link_{r}_{i}")
        share.append(row)
        if row:
            _add(prob, [(x, 1.0) for _, x in row], pulp.LpConstraintEQ, 1, f"serve_{r}")
    for i in np.flatnonzero(np.isfinite(cap)):
        terms = load[i] + [(y[i], -float(cap[i]))]
        _add(prob, terms, pulp.LpConstraintLE, 0, f"capacity_{i}")
    if np.isfinite(cap).all():
        # Implied by the rows above, but it tightens the LP bound (a knapsack cover on the sites).
        total = [(y[i], float(cap[i])) for i in range(n_sites)]
        _add(prob, total, pulp.LpConstraintGE, float(demand.sum()), "total_capacity")
    prob += pulp.LpAffineExpression(objective)
    build_time_s = perf_counter() - start

    result = solve_problem(prob, options)
    if result.status == "infeasible":
        raise InfeasibleError(
            "Capacitated facility location: the solver proved that the demand cannot be met",
            ["the sites each demand can reach do not have enough capacity between them"],
        )
    if not result.has_solution:
        return replace(result, build_time_s=build_time_s)
    units = np.array([round(v.value() or 0.0) for v in y], dtype=np.int64)
    assignment = []
    total_cost = float(np.dot(fixed, units))
    for r, row in enumerate(share):
        pairs = [(i, min(1.0, max(0.0, x.value() or 0.0))) for i, x in row]
        pairs = [(i, s) for i, s in pairs if s > 1e-9]
        total_cost += sum(s * float(cost[r, i]) for i, s in pairs)
        assignment.append(tuple(pairs))
    return _finish(
        result,
        total_cost,
        build_time_s,
        open_sites=tuple(int(i) for i in np.flatnonzero(units > 0)),
        assignment=tuple(assignment),
        units=tuple(int(u) for u in units),
    )
