"""A better starting plan for the siting MILP: the plan re-optimised one spatial neighbourhood at a time.

Fix-and-optimise (large-neighbourhood search): a few open sites close to each other, the demand they
serve and every closed site that demand can reach form a small instance of the same model, solved by
HiGHS from the plan's own values; when it costs less, that part of the plan is replaced. Everything
outside stays as it is, so each step keeps a feasible plan of the whole model and never raises its cost.
The full MILP then starts from the result (it proves the bound; this only finds plans).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from time import perf_counter

from planner.siting.model import (
    DemandInput,
    ModelInput,
    _build,
    _complete_levels,
    _extract,
    _Model,
    _separable,
    _site_solution,
    _write_site,
)
from planner.siting.solver import SolverOptions, solve_problem

#: Open sites around each seed whose demand is re-planned together, and each sub-problem's time limit, s.
OPEN_SITES_PER_NEIGHBOURHOOD = 6
SUB_TIME_LIMIT_S = 10.0
#: The search stops after this many sub-problems in a row reach their time limit without a cheaper plan
#: (dense reach sets make each part too large to solve: its time is better spent in the full MILP).
FRUITLESS_TIMEOUTS = 3


@dataclass
class Plan:
    """A plan in site terms: the stage each open site opens, its chargers, and each demand's split."""

    opens: dict[int, int]
    chargers: dict[int, list[dict[str, int]]]
    #: Per demand, per stage: ``{site: share of the demand's arrivals}``.
    shares: list[list[dict[int, float]]]


def plan_from_values(inp: ModelInput, model: _Model, values: dict[str, float]) -> Plan:
    """The plan that variable values of ``model`` (by name, e.g. ``greedy_start``'s) describe."""
    T = range(len(inp.years))
    opens: dict[int, int] = {}
    chargers: dict[int, list[dict[str, int]]] = {}
    for j, s in enumerate(inp.sites):
        opened = [values.get(model.y[j, t].name, 0.0) > 0.5 for t in T]
        if not any(opened):
            continue
        t0 = opened.index(True)
        opens[j] = t0
        if j in model.separable:
            chargers[j] = model.separable[j][t0] or [{k: 0 for k in s.classes} for _ in T]
        else:
            chargers[j] = [{k: s.existing(t, k) + round(values.get(model.add[j, k, t].name, 0.0)) for k in s.classes}
                           for t in T]
    shares: list[list[dict[int, float]]] = [[{} for _ in T] for _ in inp.demands]
    for (i, j, t), v in model.x.items():
        share = values.get(v.name, 0.0)
        if share > 1e-9:
            shares[i][t][j] = share
    return Plan(opens, chargers, shares)


def values_from_plan(inp: ModelInput, model: _Model, plan: Plan) -> dict[str, float]:
    """Variable values of ``model`` for ``plan`` (a start for ``solve_problem``)."""
    start: dict[str, float] = {}
    for j, t0 in plan.opens.items():
        if j in model.separable:
            for t in range(len(inp.years)):
                start[model.y[j, t].name] = float(t >= t0)
        else:
            _write_site(inp, model, j, t0, plan.chargers[j], start)
    for i, per_stage in enumerate(plan.shares):
        for t, split in enumerate(per_stage):
            for j, share in split.items():
                start[model.x[i, j, t].name] = share
    _complete_levels(inp, model, start)
    return start


def site_cost(inp: ModelInput, plan: Plan, j: int) -> float:
    """Present value of the capital spent at site ``j`` in ``plan`` (0 when closed)."""
    if j not in plan.opens:
        return 0.0
    T = range(len(inp.years))
    spent = _site_solution(inp, j, plan.chargers[j], [t >= plan.opens[j] for t in T], [0.0 for _ in T]).capex_by_stage
    return sum(inp.discount(t) * spent[t] for t in T)


@dataclass(frozen=True)
class Improvement:
    """What ``improve_plan`` did: the values to start from, and its figures."""

    values: dict[str, float]
    cost_before_cny: float
    cost_after_cny: float
    #: Neighbourhoods solved, and those whose re-plan was cheaper (and taken).
    tried: int
    taken: int
    time_s: float


def improve_plan(inp: ModelInput, model: _Model, start: dict[str, float], options: SolverOptions,
                 time_s: float, open_sites: int | None = None) -> Improvement:
    """``start`` (values of ``model``, outside budget mode) improved neighbourhood by neighbourhood within
    about ``time_s``; each sub-problem gets at most ``SUB_TIME_LIMIT_S`` and a tenth of ``options.mip_gap``.

    Seeds are the open sites in index order, each not yet in a neighbourhood of the current pass; its
    neighbourhood is the ``open_sites`` open sites first met by a breadth-first walk over sites that share
    a demand point. Passes repeat, each with one more open site per neighbourhood, until one improves
    nothing, ``FRUITLESS_TIMEOUTS`` sub-problems in a row reach their limit without a cheaper plan, or the
    time is up. Returns ``start`` itself when the plan has too few open sites for a part
    to be smaller than the whole.
    """
    began = perf_counter()
    deadline = began + time_s
    size = open_sites or OPEN_SITES_PER_NEIGHBOURHOOD
    plan = plan_from_values(inp, model, start)
    before = sum(site_cost(inp, plan, j) for j in plan.opens)
    served_by: dict[int, set[int]] = {}
    for i, d in enumerate(inp.demands):
        for j in d.sites:
            served_by.setdefault(j, set()).add(i)
    movable = [j for j in sorted(plan.opens) if j not in model.separable]
    taken = tried = fruitless = 0
    while perf_counter() < deadline and len(movable) > size and fruitless < FRUITLESS_TIMEOUTS:
        done: set[int] = set()
        improved = 0
        for seed in movable:
            if seed in done or seed not in plan.opens:
                continue
            left = deadline - perf_counter()
            if left <= 1.0:
                break
            group = _neighbourhood(inp, plan, model, served_by, seed, size)
            done |= group
            tried += 1
            better, stopped = _replan(inp, plan, model, group, replace(
                options, time_limit_s=min(SUB_TIME_LIMIT_S, left), mip_gap=options.mip_gap / 10))
            improved += better
            fruitless = fruitless + 1 if stopped and not better else 0
            if fruitless >= FRUITLESS_TIMEOUTS:
                break
        taken += improved
        movable = [j for j in sorted(plan.opens) if j not in model.separable]
        if not improved:
            break
        size += 1
    after = sum(site_cost(inp, plan, j) for j in plan.opens)
    return Improvement(values_from_plan(inp, model, plan) if taken else start, before, after, tried, taken,
                       perf_counter() - began)


def _neighbourhood(inp: ModelInput, plan: Plan, model: _Model, served_by: dict[int, set[int]], seed: int,
                   size: int) -> set[int]:
    """The first ``size`` open sites (not separable) met walking from ``seed`` over shared demand points."""
    seen, frontier, group = {seed}, [seed], {seed}
    met_demands: set[int] = set()
    while frontier and len(group) < size:
        nxt = []
        for j in frontier:
            for i in sorted(served_by.get(j, ())):
                if i in met_demands:
                    continue
                met_demands.add(i)
                for k in inp.demands[i].sites:
                    if k not in seen:
                        seen.add(k)
                        nxt.append(k)
                        if k in plan.opens and k not in model.separable and len(group) < size:
                            group.add(k)
        frontier = nxt
    return group


def _replan(inp: ModelInput, plan: Plan, model: _Model, group: set[int], options: SolverOptions) -> tuple[int, bool]:
    """Re-plan the sites of ``group`` and the demand they serve, with the closed sites that demand reaches.

    Returns (1 when that lowered the plan's cost, ``plan`` then updated in place, else 0; whether the
    sub-problem stopped short of its gap, at its time limit)."""
    T = range(len(inp.years))
    portions: dict[int, list[float]] = {}
    for i, per_stage in enumerate(plan.shares):
        p = [sum(v for j, v in per_stage[t].items() if j in group) for t in T]
        if any(x > 1e-9 for x in p):
            portions[i] = p
    sites = set(group)
    for i in portions:
        sites.update(j for j in inp.demands[i].sites if j not in plan.opens)
    order = sorted(sites)
    index = {j: n for n, j in enumerate(order)}
    demands = []
    members = sorted(portions)
    for i in members:
        d, p = inp.demands[i], portions[i]
        demands.append(DemandInput(
            demand_id=d.demand_id, arrivals_by_stage=tuple(p[t] * d.arrivals_by_stage[t] for t in T),
            sites=tuple(index[j] for j in d.sites if j in index), required_by_stage=tuple(x > 1e-9 for x in p),
            people=d.people))
    # A corridor window open outside the part in every stage needs nothing here; one that is not, is
    # open from the first stage at one of its sites here (nesting), which the part must keep.
    windows = []
    for w in inp.windows:
        if any(plan.opens.get(j) == 0 for j in w if j not in sites):
            continue
        here_w = tuple(index[j] for j in w if j in index)
        if here_w:
            windows.append(here_w)
    sub = replace(inp, sites=tuple(inp.sites[j] for j in order), demands=tuple(demands), windows=tuple(windows),
                  window_names=(), site_names=(), budget_cny=None)
    sub_model = _build(sub, budget_mode=False, separable=_separable(sub, options))
    here = Plan(
        opens={index[j]: plan.opens[j] for j in group},
        chargers={index[j]: plan.chargers[j] for j in group},
        shares=[[{index[j]: v / portions[i][t] for j, v in plan.shares[i][t].items() if j in group}
                 if portions[i][t] > 1e-9 else {} for t in T] for i in members])
    before = sum(site_cost(inp, plan, j) for j in group)
    sub_model.prob.setObjective(sub_model.pv)
    res = solve_problem(sub_model.prob, options, values_from_plan(sub, sub_model, here))
    stopped = res.status != "optimal"
    if not res.has_solution:
        return 0, stopped
    got = _extract(sub, sub_model)
    if got.present_value_cny >= before - max(1.0, 1e-7 * before):
        return 0, stopped
    for j in group:
        plan.opens.pop(j, None)
        plan.chargers.pop(j, None)
    for n, ss in enumerate(got.sites):
        if any(ss.open_by_stage):
            plan.opens[order[n]] = ss.open_by_stage.index(True)
            plan.chargers[order[n]] = [dict(c) for c in ss.chargers_by_stage]
    for n, i in enumerate(members):
        for t in T:
            if portions[i][t] <= 1e-9:
                continue
            a = sub.demands[n].arrivals_by_stage[t]
            split = {j: v for j, v in plan.shares[i][t].items() if j not in group}
            for jn, arrivals in got.assignment[n][t].items():
                share = portions[i][t] * (arrivals / a if a > 0 else 1.0 / len(got.assignment[n][t]))
                split[order[jn]] = split.get(order[jn], 0.0) + share
            plan.shares[i][t] = split
    return 1, stopped
