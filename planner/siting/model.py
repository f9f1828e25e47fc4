"""The siting MILP on abstract sites and demands: open, chargers per power class, who is served, by stage.

``ModelInput`` holds numbers only (no network), built by ``plan.py`` or by a test; ``solve_model``
builds the mixed-integer programme from sparse reach lists, solves it with ``solver.py`` and returns
what the solver chose. The formulation is written out in ``solve_model``'s docstring.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from time import perf_counter

import numpy as np
import pulp
from scipy import sparse

from planner.errors import InfeasibleError, NoPlanInTimeError
from planner.progress import ProgressCallback, silent
from planner.siting.sizing import (
    chargers_for_wait,
    max_arrivals_per_hour,
    present_value_factor,
)
from planner.siting.solver import (
    SolveResult,
    SolverOptions,
    model_variable,
    relative_gap,
    solution_values,
    solve_problem,
)


logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class ChargerClass:
    """A power class of charger: its power, unit cost and mean session (None: no queue, e.g. depots)."""

    name: str
    power_kw: float
    unit_cost_cny: float
    session_minutes: float | None


@dataclass(frozen=True)
class SiteInput:
    """One candidate site, per stage where it varies (tuples aligned with ``ModelInput.years``)."""

    site_id: str
    #: Names of the charger classes the site may hold (keys of ``ModelInput.classes``).
    classes: tuple[str, ...]
    #: Civil works and connection, paid in the stage the site opens (0 for a site that exists).
    fixed_cost_cny: float
    #: Chargers (all classes) the site needs in each stage if open (station minimum, parking norm, depot fleet).
    floor_by_stage: tuple[int, ...]
    #: Peak-hour arrivals that come with the site itself when open (its side's or its corridor's stopping traffic).
    base_arrivals_by_stage: tuple[float, ...] = ()
    #: Chargers already there in each stage, per class (commissioned by then); sunk, never removed.
    existing_by_stage: tuple[dict[str, int], ...] = ()
    #: Installed power of those existing chargers, kW, per stage.
    existing_power_kw_by_stage: tuple[float, ...] = ()
    #: Open in every stage (a service-area side under clause 22, a fleet depot).
    mandatory: bool = False
    #: Grid connection, kW (None: unknown, so not limited); checked against the diversified power.
    grid_kw: float | None = None
    #: Class whose share of the *new* chargers is at least ``high_power_share`` (None: no such rule).
    high_power_class: str | None = None
    high_power_share: float = 0.0
    #: Most chargers of each class the site can physically hold (None: unbounded).
    max_by_class: dict[str, int] | None = None

    def existing(self, t: int, k: str) -> int:
        return self.existing_by_stage[t].get(k, 0) if self.existing_by_stage else 0

    def existing_kw(self, t: int) -> float:
        return self.existing_power_kw_by_stage[t] if self.existing_power_kw_by_stage else 0.0

    def base(self, t: int) -> float:
        return self.base_arrivals_by_stage[t] if self.base_arrivals_by_stage else 0.0

    @property
    def has_existing(self) -> bool:
        return any(sum(e.values()) > 0 for e in self.existing_by_stage)


@dataclass(frozen=True)
class DemandInput:
    """A demand point: peak-hour arrivals per stage, the sites that may serve it, and its weight (people)."""

    demand_id: str
    arrivals_by_stage: tuple[float, ...]
    #: Indices into ``ModelInput.sites`` within its reach (sparse: only these pairs get a variable).
    sites: tuple[int, ...]
    #: Must be served in each stage (outside budget mode).
    required_by_stage: tuple[bool, ...]
    #: People it stands for (None: unknown); budget mode maximises the people served.
    people: int | None = None


@dataclass(frozen=True)
class ModelInput:
    """Everything ``solve_model`` needs; ``windows`` are the site sets of which each stage opens one."""

    years: tuple[int, ...]
    classes: dict[str, ChargerClass]
    sites: tuple[SiteInput, ...]
    demands: tuple[DemandInput, ...]
    windows: tuple[tuple[int, ...], ...] = ()
    #: Names of the windows for error messages (aligned with ``windows``; optional).
    window_names: tuple[str, ...] = ()
    max_wait_probability: float = 0.2
    grid_diversity_factor: float = 1.0
    discount_rate: float = 0.0
    #: Total capital spending allowed over all stages, undiscounted (None: no budget, demands required).
    budget_cny: float | None = None
    #: Display names of sites for error messages (aligned with ``sites``; optional).
    site_names: tuple[str, ...] = ()

    def discount(self, t: int) -> float:
        return present_value_factor(self.years[t], self.years[0], self.discount_rate)

    def site_name(self, j: int) -> str:
        return self.site_names[j] if self.site_names else self.sites[j].site_id


@dataclass(frozen=True)
class SiteSolution:
    """What the solver chose for one site, per stage."""

    open_by_stage: tuple[bool, ...]
    #: Chargers per class (existing included) in each stage.
    chargers_by_stage: tuple[dict[str, int], ...]
    #: Capital spent at the site in each stage (new chargers, and the fixed cost when it opens), CNY.
    capex_by_stage: tuple[float, ...]
    #: Peak-hour arrivals the site serves in each stage: its own stopping traffic plus assigned demand.
    arrivals_by_stage: tuple[float, ...]
    #: Arrivals its chargers can serve at the target waiting probability.
    capacity_by_stage: tuple[float, ...]
    #: Installed power, kW (existing at their own power).
    power_kw_by_stage: tuple[float, ...]


@dataclass(frozen=True)
class ModelSolution:
    """The solved model: sites, assignments, costs and the solver's report of each phase."""

    sites: tuple[SiteSolution, ...]
    #: Per demand, per stage: the arrivals each site serves, ``{site index: arrivals per hour}``.
    assignment: tuple[tuple[dict[int, float], ...], ...]
    #: Per demand, per stage: whether it is served (all its arrivals, at sites in its reach).
    served: tuple[tuple[bool, ...], ...]
    capex_by_stage: tuple[float, ...]
    present_value_cny: float
    #: The solve that fixed the plan (the cost phase); ``phases`` lists every solve in order.
    solve: SolveResult
    phases: tuple[tuple[str, SolveResult], ...] = ()
    #: Budget mode: the cheapest total spending meeting the mandatory requirements, when computed.
    minimum_budget_cny: float | None = None
    build_time_s: float = 0.0
    variables: int = 0
    constraints: int = 0


# --------------------------------------------------------------------------------------------------


@dataclass
class _Model:
    prob: pulp.LpProblem
    y: dict[tuple[int, int], pulp.LpVariable]
    add: dict[tuple[int, str, int], pulp.LpVariable]
    x: dict[tuple[int, int, int], pulp.LpVariable]
    z: dict[tuple[int, int], pulp.LpVariable | int]
    capex: list[pulp.LpAffineExpression]
    pv: pulp.LpAffineExpression
    upper: dict[tuple[int, str], int]
    slack: dict[str, pulp.LpVariable] = field(default_factory=dict)
    separable: dict[int, list[list[dict[str, int]] | None]] = field(default_factory=dict)
    #: Capacity level chains: (site, class or "all", stage) -> the most chargers a level counts.
    chains: dict[tuple[int, str, int], int] = field(default_factory=dict)


def _mixed(inp: ModelInput, s: SiteInput) -> bool:
    h = s.high_power_class
    return (h in s.classes and len(s.classes) == 2 and s.high_power_share > 0
            and all(inp.classes[k].session_minutes for k in s.classes))


def mixed_capacity(inp: ModelInput, s: SiteInput, t: int, total: int) -> float:
    """Capacity of ``total`` chargers at a two-class site in stage ``t``, the new ones split by the share rule.

    New chargers are ``total`` less the existing ones, of which the share rounded up is high-power
    (the model's rule); below the existing count the capacity is that of the existing chargers.
    """
    h = s.high_power_class
    o = next(k for k in s.classes if k != h)
    e_h, e_o = s.existing(t, h), s.existing(t, o)
    new = max(total - e_h - e_o, 0)
    if total < e_h + e_o:
        return mixed_capacity(inp, s, t, e_h + e_o) if total > 0 else 0.0
    new_h = math.ceil(s.high_power_share * new - 1e-9)
    return site_capacity(inp, s, {h: e_h + new_h, o: e_o + new - new_h})


def capacity_table(session_minutes: float, p: float, count: int) -> list[float]:
    """``[max_arrivals_per_hour(m) for m in 0..count]`` for one class."""
    return [max_arrivals_per_hour(m, session_minutes, p) for m in range(count + 1)]


def _bounds(inp: ModelInput) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Per site and class: an upper bound on chargers in any optimal plan, and the capacity chain length.

    The capacity length ``M`` is the count at which the class alone serves every arrival that could ever
    come to the site; capacity beyond it is never needed, so counting units only up to ``M`` is exact.
    """
    in_reach: dict[int, list[int]] = {}
    for i, d in enumerate(inp.demands):
        for j in d.sites:
            in_reach.setdefault(j, []).append(i)
    upper: dict[tuple[int, str], int] = {}
    length: dict[tuple[int, str], int] = {}
    p = inp.max_wait_probability
    for j, s in enumerate(inp.sites):
        potential = max(
            (s.base(t) + sum(inp.demands[i].arrivals_by_stage[t] for i in in_reach.get(j, ())))
            for t in range(len(inp.years))
        )
        floor = max(s.floor_by_stage) if s.floor_by_stage else 0
        exist = {k: max(s.existing(t, k) for t in range(len(inp.years))) for k in s.classes}
        for k in s.classes:
            cls = inp.classes[k]
            m = chargers_for_wait(potential, cls.session_minutes, p) if cls.session_minutes and potential > 0 else 0
            length[j, k] = m
        for k in s.classes:
            if k == s.high_power_class:
                continue
            upper[j, k] = exist[k] + max(floor, length[j, k], 1)
        if s.high_power_class in s.classes:
            k = s.high_power_class
            others = sum(upper[j, o] - exist[o] for o in s.classes if o != k)
            share = s.high_power_share
            forced = math.ceil(share / (1 - share) * others - 1e-9) if share < 1 else others
            upper[j, k] = exist[k] + max(floor, length[j, k], forced, 1)
        for k in s.classes:
            cap = (s.max_by_class or {}).get(k)
            if cap is not None:
                upper[j, k] = max(min(upper[j, k], cap), exist[k])
            length[j, k] = min(length[j, k], upper[j, k])
    return upper, length


def least_config(inp: ModelInput, s: SiteInput, t: int, base: float, length: int = 10_000) -> dict[str, int] | None:
    """The cheapest chargers per class site ``s`` needs if open in stage ``t`` to serve ``base`` arrivals alone.

    Meets the floor, the high-power share (at least, and at most rounded up, of the new chargers), the
    queue and the grid; None when no count does. Enumerates the high-power count; for each, the fewest
    standard chargers that serve the rest (sites of one class other than high-power, as the plan's).
    """
    p = inp.max_wait_probability
    floor = max(s.floor_by_stage[t], 1)
    h = s.high_power_class if s.high_power_class in s.classes else None
    others = [k for k in s.classes if k != h]
    if len(others) > 1:
        return None
    o = others[0] if others else None
    best, best_key = None, None
    cap_h = min((s.max_by_class or {}).get(h, length), length) if h else 0
    cap_o = (s.max_by_class or {}).get(o, length) if o else 0
    for n_h in range(s.existing(t, h) if h else 0, cap_h + 1):
        if h is not None and s.grid_kw is not None and inp.grid_diversity_factor * (
                s.existing_kw(t) + inp.classes[h].power_kw * (n_h - s.existing(t, h))) > s.grid_kw + 1e-9:
            break  # the high-power chargers alone exceed the grid; more of them only add kW
        have = max_arrivals_per_hour(n_h, inp.classes[h].session_minutes, p) if h and inp.classes[h].session_minutes else 0.0
        n_o = s.existing(t, o) if o else 0
        if o is not None:
            rest = base - have
            cls = inp.classes[o]
            if rest > 1e-12:
                if not cls.session_minutes:
                    continue
                n_o = max(n_o, chargers_for_wait(rest, cls.session_minutes, p))
            n_o = max(n_o, floor - n_h)
            if n_o > cap_o:
                continue
        elif have < base - 1e-12 or n_h < floor:
            continue
        if h is not None and o is not None:
            share = s.high_power_share
            new_h = n_h - s.existing(t, h)
            # No more high-power than the share rounded up: standard chargers are added to match.
            if share > 0:
                n_o = max(n_o, s.existing(t, o) + math.ceil(((1 - share) * new_h - (1 - 1e-3)) / share - 1e-9))
            new_o = n_o - s.existing(t, o)
            if n_o > cap_o or new_h < share * (new_h + new_o) - 1e-9:
                continue
        counts = {k: n for k, n in ((h, n_h), (o, n_o)) if k is not None}
        kw = s.existing_kw(t) + sum(inp.classes[k].power_kw * (n - s.existing(t, k)) for k, n in counts.items())
        if s.grid_kw is not None and inp.grid_diversity_factor * kw > s.grid_kw + 1e-9:
            continue
        key = (sum(inp.classes[k].unit_cost_cny * n for k, n in counts.items()), sum(counts.values()))
        if best_key is None or key < best_key:
            best, best_key = counts, key
        if have >= base and n_h >= floor:
            break  # more high-power chargers only cost more
    return best


def site_minimum(inp: ModelInput, j: int, t: int, length: int = 10_000) -> tuple[float, int, float] | None:
    """(cost at unit prices, number, installed kW) of ``least_config`` for site ``j``'s own traffic."""
    s = inp.sites[j]
    counts = least_config(inp, s, t, s.base(t), length)
    if counts is None:
        return None
    kw = s.existing_kw(t) + sum(inp.classes[k].power_kw * (n - s.existing(t, k)) for k, n in counts.items())
    return sum(inp.classes[k].unit_cost_cny * n for k, n in counts.items()), sum(counts.values()), kw


@dataclass(frozen=True)
class CoverCuts:
    """What ``cover_cuts`` added: the least opening cost per stage proven by set covering, and its effort."""

    rhs_by_stage: dict[int, float]
    #: Per stage, the cost of opening each site that covers a row (``c_j``).
    costs_by_stage: dict[int, dict[int, float]]
    rows: int
    solve_time_s: float


#: Share of ``SolverOptions.time_limit_s`` the set-covering bounds of ``cover_cuts`` may take.
COVER_CUT_TIME_SHARE = 0.05


def cover_cuts(inp: ModelInput, model: _Model, options: SolverOptions) -> CoverCuts:
    """Valid inequalities from the covering the plan must do (outside budget mode), added to ``model``.

    In stage t every required demand point needs an open site in its reach, and every corridor window an
    open site: the sites open in t form a set cover of those rows. So for any costs ``c_j >= 0``,
    ``sum_j c_j open[j,t] >= C*_t``, the least cost of such a cover, holds for every feasible plan.
    With ``c_j`` = what opening j costs at least (fixed cost and its cheapest chargers, ``site_minimum``),
    the relaxation can no longer spread openings over many fractions of sites. ``C*_t`` is the proven
    bound of a set-covering MIP (``locate.set_covering``), so the cut is valid even when that stops early.
    Sites open anyway (mandatory, existing chargers) satisfy their rows and are left out.
    """
    budget_s = None if options.time_limit_s is None else COVER_CUT_TIME_SHARE * options.time_limit_s
    cuts = cover_bounds(inp, options, budget_s)
    for t, value in cuts.rhs_by_stage.items():
        model.prob += (pulp.LpAffineExpression([(model.y[j, t], c) for j, c in cuts.costs_by_stage[t].items() if c])
                       >= value, f"coverCut_{t}")
    return cuts


def cover_bounds(inp: ModelInput, options: SolverOptions, budget_s: float | None,
                 stages: Sequence[int] | None = None) -> CoverCuts:
    """Per stage, a proven lower bound ``C*_t`` on ``sum_j c_j open[j,t]`` over the sites not open anyway
    (``cover_cuts`` has the argument), the set-covering MIPs stopping within ``budget_s`` in all, the
    stages in the order ``stages`` (default: first to last)."""
    from planner.siting.locate import set_covering

    began = perf_counter()
    rhs: dict[int, float] = {}
    costs_by_stage: dict[int, dict[int, float]] = {}
    rows_total = 0
    upper, _ = _bounds(inp)
    for t in range(len(inp.years)) if stages is None else stages:
        forced = {j for j, s in enumerate(inp.sites)
                  if s.mandatory or sum(s.existing_by_stage[t].values() if s.existing_by_stage else ()) > 0}
        rows = [set(d.sites) for d in inp.demands if d.required_by_stage[t] and d.sites]
        rows += [set(w) for w in inp.windows]
        rows = [r for r in rows if r and not r & forced]
        if not rows:
            continue
        cols = sorted(set().union(*rows))
        col = {j: n for n, j in enumerate(cols)}
        costs = []
        for j in cols:
            s = inp.sites[j]
            least = site_minimum(inp, j, t, max(upper[j, k] for k in s.classes))
            costs.append((0.0 if s.has_existing else s.fixed_cost_cny) + (least[0] if least else 0.0))
        if not any(costs):
            continue
        indptr = np.cumsum([0] + [len(r) for r in rows])
        indices = np.array([col[j] for r in rows for j in sorted(r)], dtype=np.int64)
        matrix = sparse.csr_array((np.ones(len(indices)), indices, indptr), shape=(len(rows), len(cols)))
        left = None if budget_s is None else budget_s - (perf_counter() - began)
        if left is not None and left <= 0.05:
            break
        result = set_covering(matrix, np.array(costs), options=replace(options, mip_gap=1e-6, time_limit_s=left))
        bound = result.bound if result.bound is not None else (result.objective if result.status == "optimal" else None)
        if bound is None or bound <= 0:
            continue
        rhs[t] = float(bound) * (1 - 1e-9) - 1e-6
        costs_by_stage[t] = dict(zip(cols, costs))
        rows_total += len(rows)
    return CoverCuts(rhs, costs_by_stage, rows_total, perf_counter() - began)


def size_alone(inp: ModelInput, j: int, t0: int, base: Sequence[float], options: SolverOptions,
               length: int = 10_000) -> list[dict[str, int]] | None:
    """Chargers per class in each stage for site ``j`` open from stage ``t0`` serving ``base[t]`` arrivals.

    The least present value: when each stage's ``least_config`` is nested in the next (new chargers
    never fewer), that sequence is optimal (the present value is a positive combination of the stages'
    cumulative costs); otherwise a one-site MILP of the same rules decides. None: no sizing fits.
    """
    s = inp.sites[j]
    T = len(inp.years)
    seq = [least_config(inp, s, t, base[t], length) for t in range(t0, T)]
    zero = [{k: 0 for k in s.classes} for _ in range(t0)]
    if all(c is not None for c in seq):
        nested = all(all(seq[i + 1][k] - s.existing(t0 + i + 1, k) >= seq[i][k] - s.existing(t0 + i, k)
                         for k in s.classes) for i in range(len(seq) - 1))
        if nested:
            return zero + seq  # type: ignore[operator]
    own = replace(
        s, mandatory=True, fixed_cost_cny=0.0, floor_by_stage=s.floor_by_stage[t0:],
        base_arrivals_by_stage=tuple(base[t] for t in range(t0, T)),
        existing_by_stage=s.existing_by_stage[t0:] if s.existing_by_stage else (),
        existing_power_kw_by_stage=s.existing_power_kw_by_stage[t0:] if s.existing_power_kw_by_stage else ())
    one = replace(inp, years=inp.years[t0:], sites=(own,), demands=(), windows=(), window_names=(),
                  site_names=(), budget_cny=None)
    model = _build(one, budget_mode=False)
    model.prob.setObjective(model.pv)
    res = solve_problem(model.prob, replace(options, mip_gap=0.0))
    if res.status != "optimal":
        return None
    return zero + [{k: own.existing(t - t0, k) + round(model.add[0, k, t - t0].value() or 0) for k in s.classes}
                   for t in range(t0, T)]


def _build(inp: ModelInput, *, budget_mode: bool, elastic: bool = False,
           separable: dict[int, list[list[dict[str, int]] | None]] | None = None) -> _Model:
    separable = separable or {}
    chains: dict[tuple[int, str, int], int] = {}
    years = inp.years
    T = range(len(years))
    prob = pulp.LpProblem("evplan_siting", pulp.LpMinimize)
    upper, length = _bounds(inp)
    y: dict[tuple[int, int], pulp.LpVariable] = {}
    add: dict[tuple[int, str, int], pulp.LpVariable] = {}
    capex: list[pulp.LpAffineExpression] = [pulp.LpAffineExpression() for _ in T]
    served_terms: dict[tuple[int, int], list[tuple[pulp.LpVariable, float]]] = {}
    slack: dict[str, pulp.LpVariable] = {}

    def slack_var(name: str) -> pulp.LpVariable:
        v = model_variable(prob, f"slack_{len(slack)}", 0, None)
        slack[name] = v
        return v

    potential: dict[tuple[int, int], float] = {}
    for j, s in enumerate(inp.sites):
        for t in T:
            if s.base(t) > 0:
                potential[j, t] = s.base(t)
    for d in inp.demands:
        for t in T:
            # Only demand the stage may assign counts (a stage where it is neither required nor optional
            # has no assignment, so capacity for it buys nothing there: no units for it).
            if d.arrivals_by_stage[t] > 0 and _assignable(inp, d, t, budget_mode):
                for j in d.sites:
                    potential[j, t] = potential.get((j, t), 0.0) + d.arrivals_by_stage[t]
    for j, s in enumerate(inp.sites):
        for t in T:
            forced = s.mandatory or sum(s.existing_by_stage[t].values() if s.existing_by_stage else ()) > 0
            # Integer in [0, 1] rather than LpBinary: PuLP resets a binary's lower bound to 0.
            y[j, t] = model_variable(prob, f"open_{j}_{t}", 1 if (forced and not elastic) else 0, 1, pulp.LpInteger)
            if forced and elastic:
                prob += y[j, t] + slack_var(f"site {inp.site_name(j)} must be open in {years[t]}") >= 1
            if t:
                prob += y[j, t - 1] <= y[j, t], f"nest_{j}_{t}"
            if j in separable:
                continue
            for k in s.classes:
                head = upper[j, k] - s.existing(t, k)
                add[j, k, t] = model_variable(prob, f"add_{j}_{k}_{t}", 0, max(head, 0), pulp.LpInteger)
                if t:
                    prob += add[j, k, t - 1] <= add[j, k, t], f"keep_{j}_{k}_{t}"
                prob += add[j, k, t] - max(head, 0) * y[j, t] <= 0, f"link_{j}_{k}_{t}"
            total = pulp.LpAffineExpression([(add[j, k, t], 1) for k in s.classes])
            exist_total = sum(s.existing(t, k) for k in s.classes)
            least = None if elastic else site_minimum(inp, j, t, max(upper[j, k] for k in s.classes))
            if least is not None:
                # Valid cuts: an open site pays at least the cheapest chargers for its own traffic (the
                # relaxation otherwise prices a fractionally open site at the chord of the Erlang curve).
                exist_cost = sum(inp.classes[k].unit_cost_cny * s.existing(t, k) for k in s.classes)
                prob += (pulp.LpAffineExpression([(add[j, k, t], inp.classes[k].unit_cost_cny) for k in s.classes])
                         + exist_cost - least[0] * y[j, t] >= 0, f"leastcost_{j}_{t}")
                prob += total + exist_total - least[1] * y[j, t] >= 0, f"leastcount_{j}_{t}"
            floor = max(s.floor_by_stage[t], 1)
            prob += total + exist_total - floor * y[j, t] >= 0, f"floor_{j}_{t}"
            if s.high_power_class in s.classes:
                h = s.high_power_class
                prob += (
                    pulp.LpAffineExpression([(add[j, k, t], -s.high_power_share if k != h else 1 - s.high_power_share)
                                             for k in s.classes]) >= 0,
                    f"hpshare_{j}_{t}",
                )
                # ... and at most that share rounded up: past it a high-power charger buys capacity dearer
                # than standard ones (3.1x the cost for 3x the rate, pooled worse), so the plan builds the norm.
                prob += (
                    pulp.LpAffineExpression([(add[j, k, t], -s.high_power_share if k != h else 1 - s.high_power_share)
                                             for k in s.classes]) <= 1 - 1e-3,
                    f"hpcap_{j}_{t}",
                )
            if s.grid_kw is not None:
                kw = pulp.LpAffineExpression([(add[j, k, t], inp.classes[k].power_kw) for k in s.classes])
                lhs = inp.grid_diversity_factor * (kw + s.existing_kw(t))
                if elastic:
                    lhs -= slack_var(f"grid {inp.site_name(j)} in {years[t]}")
                prob += lhs <= s.grid_kw, f"grid_{j}_{t}"
            # Capital spent in stage t: chargers added since the last stage, and the fixed cost on opening.
            for k in s.classes:
                c = inp.classes[k].unit_cost_cny
                capex[t] += c * add[j, k, t] - (c * add[j, k, t - 1] if t else 0)
            if s.fixed_cost_cny and not s.has_existing:
                capex[t] += s.fixed_cost_cny * y[j, t] - (s.fixed_cost_cny * y[j, t - 1] if t else 0)
            # Capacity: one level chain per class, its levels worth the Erlang-C capacity. A site of
            # standard and high-power chargers has its mix fixed by the share rule, so one chain over its
            # total count carries the capacity of that mix (``mixed_capacity``); else one per class.
            units: list[tuple[pulp.LpVariable, float]] = []
            mixed = _mixed(inp, s)
            groups = [(None, s.classes)] if mixed else [(k, (k,)) for k in s.classes]
            for label, members in groups:
                first = 1
                if mixed:
                    if potential.get((j, t), 0.0) <= 0:
                        continue
                    most = sum(upper[j, k] for k in s.classes)
                    # An open site holds its floor, so its one chain over the total count starts there.
                    first = min(max(floor, 1), most)
                    table = [0.0]
                    while len(table) <= most and (table[-1] < potential[j, t] or len(table) <= first):
                        table.append(mixed_capacity(inp, s, t, len(table)))
                    m_len = len(table) - 1
                else:
                    cls = inp.classes[label]
                    m_len = length[j, label]
                    if not cls.session_minutes or m_len <= 0 or potential.get((j, t), 0.0) <= 0:
                        continue
                    m_len = min(m_len, chargers_for_wait(potential[j, t], cls.session_minutes,
                                                         inp.max_wait_probability))
                    table = capacity_table(cls.session_minutes, inp.max_wait_probability, m_len)
                tag = label or "all"
                # Capacity levels: ``level[m] = 1`` says the site's chargers of the group number at least
                # m and count as m (one level at most, exactly one on a mixed chain, and only at an open
                # site): one row per chain
                # instead of one per unit of an ordered unary chain, on which HiGHS's cuts bite far faster.
                counts = range(first, m_len + 1)
                levels = [model_variable(prob, f"level_{j}_{tag}_{t}_{m}", 0, 1, pulp.LpBinary) for m in counts]
                chains[j, tag, t] = m_len
                one = pulp.LpAffineExpression([(u, 1) for u in levels]) - y[j, t]
                # A chain over the total count from the floor has exactly one level at an open site (its
                # count, or the last level past it): the relaxation then prices a fractional site on the
                # hull of (floor, C(floor)) .. (M, C(M)), not on the chord from 0 chargers.
                prob += (one == 0 if mixed else one <= 0), f"oneLevel_{j}_{tag}_{t}"
                prob += (pulp.LpAffineExpression([(u, m) for m, u in zip(counts, levels)]
                                                 + [(add[j, k, t], -1) for k in members])
                         <= sum(s.existing(t, k) for k in members), f"levelCount_{j}_{tag}_{t}")
                units += [(u, table[m]) for m, u in zip(counts, levels)]
            served_terms[j, t] = [(y[j, t], s.base(t))] if s.base(t) > 0 else []
            served_terms[j, t] += [(v, -inc) for v, inc in units]

    # Sites that serve only their own traffic: sized beforehand for each opening stage (``size_alone``),
    # so the model only chooses when they open; opening at t0 costs that sizing's capital per stage.
    for j, options_by_t0 in separable.items():
        for t0, seq in enumerate(options_by_t0):
            opened = y[j, t0] - (y[j, t0 - 1] if t0 else 0)
            if seq is None:
                prob += opened <= 0, f"nosize_{j}_{t0}"
                continue
            spent = _site_solution(inp, j, seq, [t >= t0 for t in T], [0.0 for _ in T]).capex_by_stage
            for t in T:
                if spent[t]:
                    capex[t] += spent[t] * opened
    x: dict[tuple[int, int, int], pulp.LpVariable] = {}
    z: dict[tuple[int, int], pulp.LpVariable | int] = {}
    for i, d in enumerate(inp.demands):
        for t in T:
            required = d.required_by_stage[t] and not budget_mode
            optional = budget_mode and t == len(years) - 1
            if not (required or optional) or not d.sites:
                z[i, t] = 0
                continue
            if required and not elastic:
                z[i, t] = 1
                rhs: pulp.LpAffineExpression | int = 1
            elif required:
                z[i, t] = 1
                rhs = 1 - slack_var(f"demand {d.demand_id} in {years[t]}")
            else:
                z[i, t] = model_variable(prob, f"served_{i}_{t}", 0, 1, pulp.LpBinary)
                rhs = z[i, t]
            terms = []
            for j in d.sites:
                v = model_variable(prob, f"x_{i}_{j}_{t}", 0, 1)
                x[i, j, t] = v
                terms.append((v, 1))
                prob += v - y[j, t] <= 0, f"reach_{i}_{j}_{t}"
                if d.arrivals_by_stage[t] > 0:
                    served_terms.setdefault((j, t), []).append((v, d.arrivals_by_stage[t]))
            prob += pulp.LpAffineExpression(terms) == rhs, f"assign_{i}_{t}"
    for (j, t), terms in served_terms.items():
        if any(c > 0 for _, c in terms):
            prob += pulp.LpAffineExpression(terms) <= 0, f"capacity_{j}_{t}"
    for w, sites in enumerate(inp.windows):
        name = inp.window_names[w] if inp.window_names else f"window {w}"
        for t in T:
            expr = pulp.LpAffineExpression([(y[j, t], 1) for j in sites])
            if elastic:
                expr += slack_var(f"{name} in {years[t]}")
            prob += expr >= 1, f"window_{w}_{t}"
    pv = pulp.LpAffineExpression()
    for t in T:
        pv += inp.discount(t) * capex[t]
    return _Model(prob, y, add, x, z, capex, pv, upper, slack, separable, chains)


def _assignable(inp: ModelInput, d: DemandInput, t: int, budget_mode: bool) -> bool:
    """Whether the model assigns demand ``d`` in stage ``t``: required (outside budget mode), or the final
    stage in budget mode (served or not)."""
    return (d.required_by_stage[t] and not budget_mode) or (budget_mode and t == len(inp.years) - 1)


def _weights(inp: ModelInput) -> list[int]:
    """Budget-mode weights: people first, then the number of demand points (lexicographic, integral)."""
    n = len(inp.demands)
    return [(d.people or 0) * (n + 1) + 1 for d in inp.demands]


def _check(result: SolveResult, options: SolverOptions) -> None:
    if not result.has_solution and result.status != "infeasible":
        limit = options.time_limit_s
        raise NoPlanInTimeError(
            f"{result.solver} found no plan within the time limit of {'no' if limit is None else f'{limit:g}'} s "
            f"(status {result.status}); raise the time limit (time_limit_s) or relax the MIP gap (mip_gap)"
        )


def solve_model(inp: ModelInput, options: SolverOptions | None = None, *, reduce: bool = True,
                progress: ProgressCallback = silent) -> ModelSolution:
    """Solve the multi-stage siting and sizing MILP; see the module docstring of ``plan.py`` for the rules.

    Variables, per site j, class k, stage t: ``open[j,t]`` binary, nondecreasing in t;
    ``add[j,k,t]`` integer new chargers (cumulative, nondecreasing), so chargers are
    ``existing[j,k,t] + add[j,k,t]``; ``level[j,k,m,t]`` binary (the class's chargers count as m for
    capacity): m = 1..M with at most one level per site, class and stage, or for a two-class site m from
    its floor to M with exactly one at an open site (below);
    ``x[i,j,t]`` in [0, 1], the share of demand i served at site j, only for j in i's reach;
    ``served[i,t]`` binary (budget mode) or fixed.

    Constraints: chargers need ``open`` (``add <= bound * open``); a site with existing chargers or a
    mandatory one is open; an open site holds its floor; new chargers are at least
    ``high_power_share`` high-power; ``diversity * (existing kW + new kW) <= grid kW``;
    ``sum_j x[i,j,t] = served[i,t]`` and ``x[i,j,t] <= open[j,t]``; capacity:
    ``base[j,t] * open[j,t] + sum_i arrivals[i,t] * x[i,j,t] <= sum_k sum_m C_k(m) level[j,k,m,t]``
    where ``C_k(m)`` is the Erlang-C capacity of m chargers of class k (``max_arrivals_per_hour``),
    ``sum_m level[j,k,m,t] <= open[j,t]`` and ``sum_m m * level[j,k,m,t] <= chargers``: the right side
    is at most ``sum_k C_k(chargers_k)`` and reaches it (level ``min(chargers, M)``), exact although
    ``C_k`` is convex (the feasible set is not convex; the binaries carry it). A two-class site under
    the share rule has one level chain over its total count (``mixed_capacity``), from its floor up,
    with exactly one level at an open site (``= open[j,t]``; the same plans, a tighter relaxation than
    levels from 1 at most one of which is set). Classes are two
    separate queues (a conservative view: pooling them would only shorten waits). Each window has
    an open site in every stage.

    Objective: present value of the capital spent per stage (``capex[t]``: fixed cost in the stage a
    site opens, unit cost of each charger added) at ``discount_rate`` to the first stage year. Budget
    mode (``budget_cny``): first maximise the weighted demands served in the final stage (people,
    then demand points) with total undiscounted capex within the budget, then minimise the present
    value keeping that coverage. Afterwards, in stages where demands were not required, the plan's own
    spare capacity serves what it can (a fill solve with every charger fixed).

    Budget mode always has a plan once the budget covers the mandatory-only plan: that plan starts the
    coverage phase, each phase stops at its share of the time limit (``BUDGET_TIME_SHARES``), and a
    phase stopped on time hands on its best plan, reported "feasible" (not proven optimal), never optimal.

    ``reduce`` (default) applies reductions that change no answer: demand points of one reach set merged
    (``merge_demands``, outside budget mode), and the cost phase started from ``greedy_start``, on a
    model of ``NEIGHBOURHOOD_MIN_VARIABLES`` or more whose reach sets hold at most
    ``NEIGHBOURHOOD_MAX_MEAN_REACH`` sites on average improved first by ``neighbourhood.improve_plan``
    (about ``NEIGHBOURHOOD_TIME_SHARE`` of the time limit, reported as a phase), and outside budget mode
    the set-cover bound of each stage added as a valid inequality (``cover_cuts``). Levels
    count capacity only in stages a demand can be assigned, and only up to what the site's reachable
    demand can use, in either case.

    ``time_limit_s`` bounds the solver phases together (cuts, search, MILP and the fill), not each one:
    the MILP leaves ``FILL_TIME_SHARE`` of it to the fill when one will run. ``progress`` hears of each
    phase as it starts (``[i/n]``-free messages, for a caller's ``nested`` progress).

    On dense reach (``dense``, outside budget mode, with ``reduce``) the MILP runs over a kernel of the
    sites (``_solve_over_kernel``): its plan is a plan of the whole model, and its bound and gap are the
    whole model's (``plan_lower_bound``), never the kernel's.
    """
    options = options or SolverOptions()
    _prechecks(inp, inp.budget_cny is not None)
    if reduce and inp.budget_cny is None and dense(inp):
        return _solve_over_kernel(inp, options, progress)
    return _solve(inp, options, reduce=reduce, progress=progress)


def _solve(inp: ModelInput, options: SolverOptions, *, reduce: bool, progress: ProgressCallback,
           explain: bool = True) -> ModelSolution:
    """``solve_model`` on the model as given (its prechecks done); ``explain``: an infeasible model says
    which requirements fail (``diagnose``, an elastic solve), else only that it is infeasible."""
    began = perf_counter()
    budget_mode = inp.budget_cny is not None
    original, members = inp, None
    if reduce and not budget_mode:
        inp, members = merge_demands(inp)
        if len(members) == len(original.demands):
            inp, members = original, None
    model = _build(inp, budget_mode=budget_mode, separable=_separable(inp, options))
    build_s = perf_counter() - began
    phases: list[tuple[str, SolveResult]] = []
    prob = model.prob
    minimum = None
    if budget_mode:
        total = pulp.LpAffineExpression()
        for c in model.capex:
            total += c
        prob += total <= inp.budget_cny, "budget"
        weights = _weights(inp)
        last = len(inp.years) - 1
        cover = pulp.LpAffineExpression(
            [(model.z[i, last], w) for i, w in enumerate(weights) if isinstance(model.z[i, last], pulp.LpVariable)]
        )
        # The mandatory-only plan: its cost is the least budget (stated when the budget is below it), and
        # within the budget it is a feasible plan that starts the coverage phase (never "no plan in time").
        clock = perf_counter()
        least, least_start = _mandatory_plan(inp, _share(options, BUDGET_TIME_SHARES[0]))
        phases.append(("cheapest plan meeting the mandatory requirements", least))
        if least.status == "infeasible":
            raise InfeasibleError("The solver proved that no plan meets the mandatory requirements",
                                  diagnose(inp, options))
        if least.status == "optimal":
            minimum = float(least.objective or 0.0)
            if inp.budget_cny < minimum - 1e-6:
                raise _below_minimum(inp.budget_cny, minimum)
        start = least_start if least.has_solution and (least.objective or 0.0) <= inp.budget_cny + 1e-6 else None
        if start is not None:
            start = budget_greedy_start(inp, model, options, start, float(least.objective or 0.0))
        prob.sense = pulp.LpMaximize
        prob.setObjective(cover)
        coverage_options = options if options.time_limit_s is None else replace(
            options, time_limit_s=max(BUDGET_TIME_SHARES[1] * (options.time_limit_s - (perf_counter() - clock)),
                                      0.05 * options.time_limit_s, 0.1))
        most = sum(c for _, c in cover.items())
        if start is not None and sum(c * start.get(v.name, 0.0) for v, c in cover.items()) >= most - 0.5:
            # The starting plan serves every point that has a site in reach: no plan serves more (proven).
            for v in prob.variables():
                v.varValue = start.get(v.name, 0.0)
            first = SolveResult("optimal", float(most), float(most), 0.0, "starting plan (every point served)", 0.0)
        else:
            first = solve_problem(prob, replace(coverage_options, mip_gap=0.0), start)
        phases.append(("most people served within the budget", first))
        if first.status == "infeasible":
            raise _below_minimum(inp.budget_cny, minimum if minimum is not None else minimum_budget(inp, options))
        if first.has_solution:
            kept, start = round(first.objective or 0.0), solution_values(prob)
        elif start is not None:  # the start was not taken up: the mandatory plan serves nobody for sure
            kept = 0
        else:
            _check(first, options)
        # Keep the coverage found (proven the most when optimal; at least what was found otherwise).
        prob += cover >= kept - 0.5, "coverage_kept"
        prob.sense = pulp.LpMinimize
        used_s = perf_counter() - clock
        last_options = options if options.time_limit_s is None else replace(
            options, time_limit_s=max(options.time_limit_s - used_s, BUDGET_TIME_SHARES[2] * options.time_limit_s))
    else:
        last_options, first = options, None
        if reduce:
            progress(0.0, "set-cover bounds as cuts …")
            cuts = cover_cuts(inp, model, options)
            if cuts.solve_time_s:
                phases.append((f"cover cuts ({cuts.rows} rows, {len(cuts.rhs_by_stage)} stage(s))",
                               SolveResult("optimal", None, None, None, "highs (set covering)", cuts.solve_time_s)))
            if options.time_limit_s is not None and cuts.solve_time_s:
                last_options = replace(options, time_limit_s=max(options.time_limit_s - cuts.solve_time_s, 0.1))
        if reduce:
            progress(0.0, "starting plan (greedy placement, local search) …")
        start = greedy_start(inp, model, options) if reduce else None
        if start is not None:
            build_s = perf_counter() - began
        if (start is not None and prob.numVariables() >= NEIGHBOURHOOD_MIN_VARIABLES
                and mean_reach(original) <= NEIGHBOURHOOD_MAX_MEAN_REACH):
            from planner.siting.neighbourhood import improve_plan

            limit = options.time_limit_s
            progress(0.0, "neighbourhood search on the starting plan"
                     + (f" (up to {NEIGHBOURHOOD_TIME_SHARE * limit:.0f} s)" if limit is not None else "") + " …")
            better = improve_plan(inp, model, start, options,
                                  NEIGHBOURHOOD_TIME_SHARE * limit if limit is not None else math.inf)
            if better.tried:
                start = better.values
                phases.append((f"neighbourhood search on the starting plan ({better.taken} of {better.tried} "
                               "re-plans taken)", SolveResult("feasible", better.cost_after_cny, None, None,
                                                              "highs (sub-problems)", better.time_s)))
                if limit is not None:
                    left = last_options.time_limit_s if last_options.time_limit_s is not None else limit
                    last_options = replace(options, time_limit_s=max(left - better.time_s, 0.1))
    prob.setObjective(model.pv)
    fills = _fill_stages(inp, budget_mode)
    if fills and options.time_limit_s is not None and last_options.time_limit_s is not None:
        # Budget mode's cost phase keeps its least share (``BUDGET_TIME_SHARES``) whatever the fill takes.
        floor = BUDGET_TIME_SHARES[2] * options.time_limit_s if budget_mode else 0.1
        last_options = replace(last_options, time_limit_s=max(
            last_options.time_limit_s - FILL_TIME_SHARE * options.time_limit_s, min(floor, last_options.time_limit_s)))
    progress(0.0, "MILP: least present value"
             + (f" (time limit {last_options.time_limit_s:.0f} s)" if last_options.time_limit_s is not None else "") + " …")
    result = solve_problem(prob, last_options, start)
    phases.append(("least present value", result))
    progress(0.0, f"MILP: {result.describe()}")
    if result.status == "infeasible":
        raise InfeasibleError("The solver proved that no plan meets every requirement",
                              diagnose(original, options) if explain else [])
    _check(result, options)
    solution = _extract(inp, model)
    if members is not None:
        solution, inp = expand_solution(original, solution, members), original
    solution = _polish(inp, solution, options)
    if fills:
        fill_options = options if options.time_limit_s is None else replace(options, time_limit_s=max(
            options.time_limit_s - sum(r.solve_time_s for _, r in phases), FILL_TIME_SHARE * options.time_limit_s))
        progress(0.0, f"spare capacity may serve demand in {', '.join(str(inp.years[t]) for t in fills)}"
                 + (f" (time limit {fill_options.time_limit_s:.0f} s)" if fill_options.time_limit_s is not None else "") + " …")
        solution = _fill(inp, solution, fill_options, phases)
    final = result
    if solution.present_value_cny < (result.objective or 0.0) - 1e-6 and not budget_mode:
        final = replace(result, objective=solution.present_value_cny,
                        gap=relative_gap(solution.present_value_cny, result.bound))
    if first is not None and first.status != "optimal":
        # The coverage phase stopped on time: its best plan is returned, never called optimal; the gap is
        # the larger of the coverage phase's (people) and the cost phase's.
        gaps = [g for g in (first.gap, result.gap) if g is not None]
        final = replace(final, status="feasible", gap=max(gaps) if first.gap is not None and gaps else None)
    # The time reported is every phase's (the neighbourhood search, budget mode's phases, the fill), not
    # only the last solve's: what the user waited for.
    final = replace(final, solve_time_s=sum(r.solve_time_s for _, r in phases))
    return replace(solution, solve=final, phases=tuple(phases), minimum_budget_cny=minimum, build_time_s=build_s,
                   variables=prob.numVariables(), constraints=prob.numConstraints())


def _polish(inp: ModelInput, sol: ModelSolution, options: SolverOptions) -> ModelSolution:
    """Each open site re-sized exactly for what it serves (its own traffic and its assigned demand).

    The main solve may stop within its MIP gap with a charger more than a site needs; with the opening
    stages and the assignment fixed, the sizing separates by site into tiny exact MILPs (same rules,
    same objective), which can only lower the cost. So no plan keeps a charger nothing needs.
    """
    sites = list(sol.sites)
    upper, _ = _bounds(inp)
    for j, ss in enumerate(sol.sites):
        if not any(ss.open_by_stage):
            continue
        t0 = ss.open_by_stage.index(True)
        s = inp.sites[j]
        need = [max(ss.arrivals_by_stage[t] * (1 - 1e-9) - 1e-9, 0.0) for t in range(len(inp.years))]
        chargers = size_alone(inp, j, t0, need, options, max(upper[j, k] for k in s.classes))
        if chargers is None:
            continue
        assigned = [ss.arrivals_by_stage[t] - (s.base(t) if ss.open_by_stage[t] else 0.0) for t in range(len(inp.years))]
        new = _site_solution(inp, j, chargers, list(ss.open_by_stage), assigned)
        old_pv = sum(inp.discount(t) * ss.capex_by_stage[t] for t in range(len(inp.years)))
        if sum(inp.discount(t) * new.capex_by_stage[t] for t in range(len(inp.years))) < old_pv - 1e-6:
            sites[j] = new
    capex = tuple(sum(x.capex_by_stage[t] for x in sites) for t in range(len(inp.years)))
    return replace(sol, sites=tuple(sites), capex_by_stage=capex,
                   present_value_cny=sum(inp.discount(t) * capex[t] for t in range(len(inp.years))))


def merge_demands(inp: ModelInput) -> tuple[ModelInput, tuple[tuple[int, ...], ...]]:
    """Demand points with the same reach set and the same required stages merged into one (arrivals and
    people summed), and the original indices behind each merged point.

    Exact outside budget mode: the assignment shares are continuous, so any split of the merged arrivals
    over the common sites is a split of each original point's (``expand_solution`` gives each the merged
    shares). In budget mode a point is served wholly or not, so there it is not applied.
    """
    groups: dict[tuple, list[int]] = {}
    for i, d in enumerate(inp.demands):
        groups.setdefault((d.sites, d.required_by_stage), []).append(i)
    if len(groups) == len(inp.demands):
        return inp, tuple((i,) for i in range(len(inp.demands)))
    members = tuple(tuple(g) for g in groups.values())
    demands = []
    for g in members:
        first = inp.demands[g[0]]
        people = [inp.demands[i].people for i in g]
        demands.append(replace(
            first, demand_id=first.demand_id if len(g) == 1 else f"{first.demand_id} and {len(g) - 1} more",
            arrivals_by_stage=tuple(sum(inp.demands[i].arrivals_by_stage[t] for i in g) for t in range(len(inp.years))),
            people=None if any(x is None for x in people) else sum(people)))  # type: ignore[misc]
    return replace(inp, demands=tuple(demands)), members


def expand_solution(inp: ModelInput, sol: ModelSolution, members: tuple[tuple[int, ...], ...]) -> ModelSolution:
    """A solution of the merged model (``merge_demands``) for the original demand points of ``inp``."""
    n = len(inp.demands)
    assignment: list[tuple[dict[int, float], ...]] = [()] * n
    served: list[tuple[bool, ...]] = [()] * n
    for g, group in enumerate(members):
        for i in group:
            a_i = inp.demands[i].arrivals_by_stage
            per_stage = []
            for t, merged in enumerate(sol.assignment[g]):
                total = sum(inp.demands[k].arrivals_by_stage[t] for k in group)
                per_stage.append({j: (v / total) * a_i[t] if total > 0 else 0.0 for j, v in merged.items()})
            assignment[i] = tuple(per_stage)
            served[i] = sol.served[g]
    return replace(sol, assignment=tuple(assignment), served=tuple(served))


def greedy_start(inp: ModelInput, model: _Model, options: SolverOptions, tries: int = 20,
                 improve: bool = True) -> dict[str, float] | None:
    """A feasible plan to start the cost phase from (outside budget mode), as variable values by name.

    Each required demand point goes wholly to one site: first to a site that is open anyway (mandatory,
    existing chargers) in its reach, then greedily to the site in the reach of most points still without
    one, then picked sites that became redundant close again (their points moved to the busiest other
    site in reach); every corridor window gets its first site if none of its sites is open; each site
    opens in the first stage it is needed and is sized exactly for what it then serves (``size_alone``). A site that
    cannot be sized for its points (a grid or space limit) is left out and the points placed again, up
    to ``tries`` times; None when that does not succeed (the solver then starts without a plan). With
    ``improve``, the placement is also improved by local search (``_improve_assignment``, the corridor
    windows' sites chosen first) and that plan returned when its exact present value is lower.
    """
    banned: set[int] = set()
    for _ in range(tries):
        out = _greedy_attempt(inp, model, options, banned, improve)
        if isinstance(out, dict):
            return out
        if out is None:
            return None
        banned.add(out)
    return None


def _greedy_attempt(inp: ModelInput, model: _Model, options: SolverOptions,
                    banned: set[int], improve: bool = True) -> dict[str, float] | int | None:
    """One placement of ``greedy_start``: the values, or the site that could not be sized (None: give up)."""
    placed = _placement(inp, banned)
    if placed is None:
        return None
    site_of, need_t, forced = placed
    plain = _start_values(inp, model, options, site_of, need_t, forced, banned, set())
    if not isinstance(plain, tuple) or not improve:
        return plain if not isinstance(plain, tuple) else plain[0]
    # The same placement improved by local search, with the corridor windows' sites chosen first (so
    # that demand can move to them): kept when its exact present value is lower.
    moved = dict(site_of)
    window_sites = _window_sites(inp, forced, banned)
    _improve_assignment(inp, moved, need_t, forced | window_sites, banned, set(model.separable))
    better = _start_values(inp, model, options, moved, need_t, forced, banned, window_sites)
    if isinstance(better, tuple) and better[1] < plain[1] - 1e-6:
        return better[0]
    return plain[0]


def _placement(inp: ModelInput, banned: set[int]) -> tuple[dict[int, int], list[list[int]], set[int]] | None:
    """``greedy_start``'s placement: the site of each required demand point, the stages it is required
    in, and the sites open anyway; None when a point has no site left in reach."""
    T = range(len(inp.years))
    need_t = [[t for t in T if d.required_by_stage[t]] if d.sites else [] for d in inp.demands]
    todo = {i for i, ts in enumerate(need_t) if ts}
    forced = {j for j, s in enumerate(inp.sites) if s.mandatory or s.has_existing}
    site_of: dict[int, int] = {}
    for i in sorted(todo):
        hit = [j for j in inp.demands[i].sites if j in forced and j not in banned]
        if hit:
            site_of[i] = hit[0]
    todo -= set(site_of)
    reach: dict[int, set[int]] = {}
    for i in todo:
        for j in inp.demands[i].sites:
            if j not in banned:
                reach.setdefault(j, set()).add(i)
    if todo - set().union(*reach.values()):
        return None  # a point whose every site was left out
    picked: list[int] = []
    while todo:
        j = max(reach, key=lambda k: (len(reach[k]), sum(inp.demands[i].arrivals_by_stage[-1] for i in reach[k]), -k))
        for i in list(reach[j]):
            site_of[i] = j
            todo.discard(i)
            for k in inp.demands[i].sites:
                if k != j and k in reach:
                    reach[k].discard(i)
        del reach[j]
        reach = {k: v for k, v in reach.items() if v}
        picked.append(j)
    # Redundant sites (every point they took has another picked or forced site in reach) close, last
    # picked first; their points join the busiest such site (pooled chargers serve more per charger).
    load: dict[int, float] = {}
    for i, j in site_of.items():
        load[j] = load.get(j, 0.0) + inp.demands[i].arrivals_by_stage[-1]
    alive = set(picked) | forced
    for j in reversed(picked):
        mine = [i for i, k in site_of.items() if k == j]
        others = {i: [k for k in inp.demands[i].sites if k in alive and k != j and k not in banned] for i in mine}
        if any(not o for o in others.values()):
            continue
        alive.discard(j)
        for i in mine:
            k = max(others[i], key=lambda k: (load.get(k, 0.0), -k))
            site_of[i] = k
            load[k] = load.get(k, 0.0) + inp.demands[i].arrivals_by_stage[-1]
        load.pop(j, None)
    return site_of, need_t, forced


def _window_sites(inp: ModelInput, forced: set[int], banned: set[int]) -> set[int]:
    """Sites opened from the first stage so that every corridor window has one (besides ``forced``): the
    site in the most windows still without one first, then the one with the most demand in reach."""
    reach_load: dict[int, float] = {}
    for d in inp.demands:
        for j in d.sites:
            reach_load[j] = reach_load.get(j, 0.0) + d.arrivals_by_stage[-1]
    todo = [set(w) for w in inp.windows if w and not set(w) & forced]
    out: set[int] = set()
    while todo:
        counts: dict[int, int] = {}
        for w in todo:
            for j in w:
                if j not in banned:
                    counts[j] = counts.get(j, 0) + 1
        if not counts:
            break
        j = max(counts, key=lambda k: (counts[k], reach_load.get(k, 0.0), -k))
        out.add(j)
        todo = [w for w in todo if j not in w]
    return out


def _start_values(inp: ModelInput, model: _Model, options: SolverOptions, site_of: dict[int, int],
                  need_t: list[list[int]], forced: set[int], banned: set[int],
                  window_sites: set[int]) -> tuple[dict[str, float], float] | int | None:
    """The starting values of a placement (each site sized exactly) and their present value, or the site
    that could not be sized (None: give up)."""
    T = range(len(inp.years))
    never = len(inp.years)
    opens: dict[int, int] = {j: 0 for j in forced | window_sites}
    for i, j in site_of.items():
        opens[j] = min(opens.get(j, never), need_t[i][0])
    for sites in inp.windows:
        for t in T:
            if not any(opens.get(j, never) <= t for j in sites):
                pick = next((j for j in sites if j not in banned), sites[0])
                opens[pick] = min(opens.get(pick, t), t)
    start: dict[str, float] = {}
    pv = 0.0
    for j, t0 in opens.items():
        s = inp.sites[j]
        load = [s.base(t) if t >= t0 else 0.0 for t in T]
        for i, k in site_of.items():
            if k == j:
                for t in need_t[i]:
                    load[t] += inp.demands[i].arrivals_by_stage[t]
        for t in T:
            start[model.y[j, t].name] = float(t >= t0)
        if j in model.separable:
            seq = model.separable[j][t0]
            if seq is None:
                return None
        else:
            seq = size_alone(inp, j, t0, load, options, max(model.upper[j, k] for k in s.classes))
            if seq is None:
                return None if j in forced or j in banned else j
            _write_site(inp, model, j, t0, seq, start)
        spent = _site_solution(inp, j, seq, [t >= t0 for t in T], [0.0 for _ in T]).capex_by_stage
        pv += sum(inp.discount(t) * spent[t] for t in T)
    for i, j in site_of.items():
        for t in need_t[i]:
            start[model.x[i, j, t].name] = 1.0
    return start, pv


def _improve_assignment(inp: ModelInput, site_of: dict[int, int], need_t: list[list[int]], forced: set[int],
                        banned: set[int], separable: set[int], passes: int = 50,
                        budget: int = 200_000) -> None:
    """Local search on ``greedy_start``'s placement (in place): move a point, or every point of a site,
    to another site in reach while the plan's estimated present value falls.

    The estimate prices a two-class site at the fewest chargers of the share rule's mix
    (``mixed_capacity``) that serve its load in each stage, nested over stages, plus its fixed cost in
    the stage it opens; other sites are not moved to or from. Moves: a point to its best site; all the
    points in a site's reach to it; a site's points each to its best other site (closing it). At most
    ``passes`` rounds and about ``budget`` site estimates (deterministic, so that the start is too). Only a
    heuristic: the start is then sized exactly (``size_alone``), so it stays a feasible plan of the exact
    model whatever the estimate says, and ``greedy_start`` keeps it only when its exact cost is lower.
    """
    T = range(len(inp.years))
    disc = [inp.discount(t) for t in T]
    tables: dict[tuple[int, int], list[float]] = {}

    can_move = [j not in banned and j not in separable and _mixed(inp, s) for j, s in enumerate(inp.sites)]

    def movable(j: int) -> bool:
        return can_move[j]

    def count_for(j: int, t: int, load: float) -> int | None:
        table = tables.setdefault((j, t), [0.0])
        s = inp.sites[j]
        while table[-1] < load - 1e-9:
            if len(table) > 5000:
                return None
            table.append(mixed_capacity(inp, s, t, len(table)))
        lo, hi = 0, len(table) - 1  # the fewest n with table[n] >= load (the table is nondecreasing)
        while lo < hi:
            mid = (lo + hi) // 2
            if table[mid] >= load - 1e-9:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def cost_of_new(j: int, t: int, n: int) -> float:
        s = inp.sites[j]
        h = s.high_power_class
        o = next(k for k in s.classes if k != h)
        new = max(n - s.existing(t, h) - s.existing(t, o), 0)
        new_h = math.ceil(s.high_power_share * new - 1e-9)
        return inp.classes[h].unit_cost_cny * new_h + inp.classes[o].unit_cost_cny * (new - new_h)

    evaluations = [0]

    def site_pv(j: int, points: list[int]) -> float:
        evaluations[0] += 1
        if not points and j not in forced:
            return 0.0
        s = inp.sites[j]
        t0 = 0 if j in forced else min(need_t[i][0] for i in points)
        pv = s.fixed_cost_cny * disc[t0] if not s.has_existing else 0.0
        n_before, spent_before = 0, 0.0
        for t in T:
            if t < t0:
                continue
            load = s.base(t) + sum(inp.demands[i].arrivals_by_stage[t] for i in points if t in need_t[i])
            n = count_for(j, t, load)
            if n is None:
                return math.inf
            n = max(n, s.floor_by_stage[t], 1, n_before)
            spent = cost_of_new(j, t, n)
            pv += disc[t] * max(spent - spent_before, 0.0)
            n_before, spent_before = n, max(spent, spent_before)
        return pv

    members: dict[int, list[int]] = {}
    for i, j in site_of.items():
        members.setdefault(j, []).append(i)
    value = {j: site_pv(j, pts) for j, pts in members.items() if movable(j)}

    def pv_at(j: int, pts: list[int]) -> float:
        return site_pv(j, pts) if movable(j) else math.inf

    def value_of(j: int) -> float:
        if j not in value:
            value[j] = pv_at(j, members.get(j, []))
        return value[j]

    for _ in range(passes):
        improved = False
        for i in sorted(site_of):
            j = site_of[i]
            if not movable(j):
                continue
            rest = [p for p in members[j] if p != i]
            gain_here = value_of(j) - site_pv(j, rest)
            best, best_delta = None, -1e-3
            for k in inp.demands[i].sites:
                if k == j or not movable(k):
                    continue
                delta = pv_at(k, members.get(k, []) + [i]) - value_of(k) - gain_here
                if delta < best_delta:
                    best, best_delta = k, delta
            if best is not None:
                members[j] = rest
                members.setdefault(best, []).append(i)
                value[j] = site_pv(j, rest)
                value[best] = site_pv(best, members[best])
                site_of[i] = best
                improved = True
        # Gather at a site every point in its reach, if the total falls (pooled chargers serve more each).
        reach_of: dict[int, list[int]] = {}
        for i in sorted(site_of):
            for k in inp.demands[i].sites:
                if movable(k) and movable(site_of[i]) and site_of[i] != k:
                    reach_of.setdefault(k, []).append(i)
        best_move, best_delta = None, -1e-3
        for k, pts in sorted(reach_of.items()):
            if evaluations[0] > budget:
                break
            change = _moved(members, {i: k for i in pts}, site_of)
            delta = sum(pv_at(m, v) - value_of(m) for m, v in change.items())
            if delta < best_delta:
                best_move, best_delta = {i: k for i in pts}, delta
        # Close a site: each of its points to its cheapest other site, if the total falls.
        for j in sorted(members):
            pts = members[j]
            if evaluations[0] > budget or not pts or not movable(j) or j in forced:
                continue
            moves: dict[int, int] = {}
            for i in pts:
                choices = [k for k in inp.demands[i].sites if k != j and movable(k)]
                if not choices:
                    break
                now = _moved(members, moves, site_of)
                moves[i] = min(choices, key=lambda k: pv_at(k, now.get(k, members.get(k, [])) + [i])
                               - pv_at(k, now.get(k, members.get(k, []))))
            else:
                change = _moved(members, moves, site_of)
                delta = sum(pv_at(m, v) - value_of(m) for m, v in change.items())
                if delta < best_delta:
                    best_move, best_delta = moves, delta
        if best_move is not None:
            for m, v in _moved(members, best_move, site_of).items():
                members[m] = v
                value[m] = pv_at(m, v)
            site_of.update(best_move)
            improved = True
        if not improved or evaluations[0] > budget:
            break


def _moved(members: dict[int, list[int]], moves: dict[int, int], site_of: dict[int, int]) -> dict[int, list[int]]:
    """The member lists of the sites that ``moves`` (point -> new site) changes, after the moves."""
    out: dict[int, list[int]] = {}
    for i, k in moves.items():
        j = site_of[i]
        if j == k:
            continue
        out.setdefault(j, list(members.get(j, [])))
        out.setdefault(k, list(members.get(k, [])))
    for i, k in moves.items():
        j = site_of[i]
        if j != k:
            out[j].remove(i)
            out[k].append(i)
    return out


def _write_site(inp: ModelInput, model: _Model, j: int, t0: int, chargers: list[dict[str, int]],
                start: dict[str, float]) -> None:
    """Variable values of site ``j`` open from stage ``t0`` with ``chargers`` (per stage, per class)."""
    s = inp.sites[j]
    mixed = _mixed(inp, s)
    for t in range(len(inp.years)):
        start[model.y[j, t].name] = float(t >= t0)
        for k in s.classes:
            start[model.add[j, k, t].name] = float(chargers[t][k] - s.existing(t, k)) if t >= t0 else 0.0
        counts = [("all", sum(chargers[t].values()))] if mixed else list(chargers[t].items())
        for tag, n in counts:
            m_len = model.chains.get((j, tag, t), 0)
            if m_len and n > 0:
                start[f"level_{j}_{tag}_{t}_{min(n, m_len)}"] = 1.0


def budget_greedy_start(inp: ModelInput, model: _Model, options: SolverOptions, base: dict[str, float],
                        base_cost: float) -> dict[str, float]:
    """A better start for budget mode's coverage phase than the mandatory-only plan ``base`` (cost ``base_cost``).

    On top of it, closed sites open in the final stage one by one, each sized exactly (``size_alone``) for
    the points in its reach not yet served, the most weighted points (people) per CNY first, while the
    total spending stays within the budget. What ``base`` has at the sites it opens is kept as it is.
    """
    last = len(inp.years) - 1
    budget = float(inp.budget_cny or 0.0)
    weights = _weights(inp)
    taken = {j for j in range(len(inp.sites)) if base.get(model.y[j, last].name, 0.0) > 0.5}
    served: set[int] = set()
    start = dict(base)
    spent = base_cost
    reach: dict[int, list[int]] = {}
    for i, d in enumerate(inp.demands):
        if isinstance(model.z[i, last], pulp.LpVariable):
            for j in d.sites:
                if j not in taken and j not in model.separable:
                    reach.setdefault(j, []).append(i)
    cache: dict[tuple[int, frozenset[int]], tuple[float, list[dict[str, int]]] | None] = {}

    def package(j: int) -> tuple[float, list[dict[str, int]], list[int]] | None:
        points = [i for i in reach[j] if i not in served]
        key = (j, frozenset(points))
        if key not in cache:
            s = inp.sites[j]
            load = [0.0] * len(inp.years)
            load[last] = s.base(last) + sum(inp.demands[i].arrivals_by_stage[last] for i in points)
            chargers = size_alone(inp, j, last, load, options, max(model.upper[j, k] for k in s.classes))
            cache[key] = None if chargers is None else (
                sum(_site_solution(inp, j, chargers, [t == last for t in range(len(inp.years))],
                                   [0.0] * len(inp.years)).capex_by_stage), chargers)
        got = cache[key]
        return None if got is None else (got[0], got[1], points)

    while reach:
        best, best_key = None, None
        for j in list(reach):
            pack = package(j)
            if pack is None or not pack[2] or spent + pack[0] > budget + 1e-6:
                del reach[j]
                continue
            key = sum(weights[i] for i in pack[2]) / max(pack[0], 1.0)
            if best_key is None or key > best_key:
                best, best_key = (j, pack), key
        if best is None:
            break
        j, (cost, chargers, points) = best
        _write_site(inp, model, j, last, chargers, start)
        for i in points:
            start[model.z[i, last].name] = 1.0
            start[model.x[i, j, last].name] = 1.0
            served.add(i)
        spent += cost
        del reach[j]
    _complete_levels(inp, model, start)
    return start


def _complete_levels(inp: ModelInput, model: _Model, start: dict[str, float]) -> None:
    """Set the capacity level of every chain of ``model`` from the start's own charger counts (in place).

    A start taken from another model (the mandatory-only plan) lacks the levels of chains that model
    did not have, and a chain from the floor needs exactly one level at an open site.
    """
    for (j, tag, t), m_len in model.chains.items():
        s = inp.sites[j]
        members = s.classes if tag == "all" else (tag,)
        for m in range(1, m_len + 1):
            start.pop(f"level_{j}_{tag}_{t}_{m}", None)
        n = sum(s.existing(t, k) + round(start.get(model.add[j, k, t].name, 0.0)) for k in members)
        if start.get(model.y[j, t].name, 0.0) > 0.5 and n > 0:
            start[f"level_{j}_{tag}_{t}_{min(n, m_len)}"] = 1.0


def dominated_sites(inp: ModelInput) -> set[int]:
    """Sites another site makes redundant: same rules and costs, no traffic or existing chargers of their
    own, no grid limit, and every demand and corridor window they serve served by the other too.

    Moving such a site's demand to the other never costs more (Erlang capacity is superadditive, the
    fixed cost is paid once), up to the rounding of the high-power share on the merged count; the
    lowest index of identical sites is kept. Site ``j`` is dominated when some ``k`` of its group serves
    a superset of what ``j`` serves (strictly more, or the same and ``k < j``); the test runs on the
    site-by-site overlap counts of a sparse incidence product, in row blocks, instead of pair by pair.
    """
    free = [j for j, s in enumerate(inp.sites)
            if not s.mandatory and not s.has_existing and not any(s.base(t) for t in range(len(inp.years)))
            and s.grid_kw is None and s.max_by_class is None]
    if len(free) < 2:
        return set()
    keys: dict[tuple, int] = {}
    group = np.empty(len(free), dtype=np.int64)
    for r, j in enumerate(free):
        s = inp.sites[j]
        group[r] = keys.setdefault(
            (s.classes, s.fixed_cost_cny, s.floor_by_stage, s.high_power_class, s.high_power_share), len(keys))
    # Incidence of free sites (rows, in index order) with what they serve: demands, then windows.
    row_of = np.full(len(inp.sites), -1, dtype=np.int64)
    row_of[np.asarray(free, dtype=np.int64)] = np.arange(len(free))
    lists = [d.sites for d in inp.demands] + [tuple(w) for w in inp.windows]
    sizes = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(sizes.sum()))
    cols = np.repeat(np.arange(len(lists), dtype=np.int64), sizes)
    rows = row_of[flat] if len(flat) else flat
    keep = rows >= 0
    incidence = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=np.int32), (rows[keep], cols[keep])),
                                  shape=(len(free), max(len(lists), 1)))
    incidence.sum_duplicates()
    incidence.data[:] = 1  # a site listed twice for one demand serves it once
    degree = np.asarray(incidence.sum(axis=1)).ravel()
    out = np.zeros(len(free), dtype=bool)
    # A site serving nothing is covered by any other member of its group (by index among themselves).
    empty = degree == 0
    if empty.any():
        size = np.bincount(group, minlength=len(keys))
        busy = np.bincount(group, weights=~empty, minlength=len(keys)) > 0
        lowest = np.full(len(keys), len(free))
        np.minimum.at(lowest, group, np.arange(len(free)))
        idx = np.flatnonzero(empty)
        g = group[idx]
        out[idx] = (size[g] > 1) & (busy[g] | (idx != lowest[g]))
    transpose = incidence.T.tocsr()
    block = 1024
    for lo in range(0, len(free), block):
        overlap = (incidence[lo:lo + block] @ transpose).tocoo()
        j = overlap.row.astype(np.int64) + lo
        k = overlap.col.astype(np.int64)
        hit = ((overlap.data == degree[j]) & (j != k) & (group[j] == group[k])
               & ((degree[k] > degree[j]) | (k < j)) & (degree[j] > 0))
        out[j[hit]] = True
    return {free[r] for r in np.flatnonzero(out)}


def _separable(inp: ModelInput, options: SolverOptions) -> dict[int, list[list[dict[str, int]] | None]]:
    """Sites no demand with arrivals can reach: their sizing, per opening stage, depends on nothing else."""
    reached = {j for d in inp.demands if any(a > 0 for a in d.arrivals_by_stage) for j in d.sites}
    upper, _ = _bounds(inp)
    out = {}
    for j, s in enumerate(inp.sites):
        if j in reached:
            continue
        base = [s.base(t) for t in range(len(inp.years))]
        length = max(upper[j, k] for k in s.classes)
        out[j] = [size_alone(inp, j, t0, base, options, length) for t0 in range(len(inp.years))]
    return out


#: Share of ``SolverOptions.time_limit_s`` the neighbourhood search on the starting plan may take (about:
#: its last sub-problem may overrun by its model build; ``neighbourhood.improve_plan`` stops sooner when a
#: pass improves nothing or sub-problems keep hitting their limit); the MILP gets what the search left.
NEIGHBOURHOOD_TIME_SHARE = 0.5
#: Models with fewer variables go to the MILP straight from the greedy start: there HiGHS itself finds
#: the better plans about as fast (the region bench's quick instance, 2,239 variables: 21 s to the 1 %
#: gap without the search, 31 s with it; the full one, 22,937: the search is what lowers the plan).
NEIGHBOURHOOD_MIN_VARIABLES = 10_000
#: ... and models whose demand points reach more sites than this on average skip it: each part then holds
#: most of the region (the 300k-node region: 283 sites per town; its first 3 parts of 6 open sites
#: each stopped at their limit, none cheaper, 45 s of a 60 s limit), and the MILP's own time is what
#: gives the plan a bound.
NEIGHBOURHOOD_MAX_MEAN_REACH = 60.0


def mean_reach(inp: ModelInput) -> float:
    """Mean number of sites in reach of a demand point that has any."""
    sizes = [len(d.sites) for d in inp.demands if d.sites]
    return sum(sizes) / len(sizes) if sizes else 0.0


#: Dense reach (``mean_reach`` above ``NEIGHBOURHOOD_MAX_MEAN_REACH``) with more sites in reach than this:
#: the MILP is solved over a kernel of about this many sites (``kernel_sites``), with the bound of
#: ``plan_lower_bound`` for the whole model. There the whole model's root relaxation alone outlasts the
#: time limit (the 300k-node region: 664,567 variables, its LP unfinished after 300 s; HiGHS returned
#: the greedy start unchanged at a 49.8 % gap), while over 232 sites HiGHS reached a 1.5 % gap
#: of the kernel in 20 s and a cheaper plan.
KERNEL_SITES = 150
#: Share of ``SolverOptions.time_limit_s`` the set covering of ``plan_lower_bound`` may take.
KERNEL_BOUND_TIME_SHARE = 0.1


def dense(inp: ModelInput) -> bool:
    """Whether ``solve_model`` plans over a kernel: many sites in reach of each demand point, and more in
    reach overall than the kernel holds."""
    reached = {j for d in inp.demands for j in d.sites}
    return mean_reach(inp) > NEIGHBOURHOOD_MAX_MEAN_REACH and len(reached) > KERNEL_SITES


def kernel_sites(inp: ModelInput, separable: set[int], size: int | None = None) -> set[int]:
    """Sites in reach that the kernel model keeps: those of ``greedy_start``'s placement, before and after
    its local search; a greedy cover of the demand points (the site in reach of most points without one,
    then of most arrivals); then the sites with the most arrivals in reach (their own traffic included)
    up to ``size`` (default ``KERNEL_SITES``). Every point with a site in reach keeps one. ``separable``:
    as ``_separable``'s keys."""
    size = KERNEL_SITES if size is None else size
    last = len(inp.years) - 1
    kept: set[int] = set()
    placed = _placement(inp, set())
    if placed is not None:
        site_of, need_t, forced = placed
        kept |= set(site_of.values())
        moved = dict(site_of)
        _improve_assignment(inp, moved, need_t, forced | _window_sites(inp, forced, set()), set(), separable)
        kept |= set(moved.values())
    potential: dict[int, float] = {}
    reach: dict[int, set[int]] = {}
    for i, d in enumerate(inp.demands):
        for j in d.sites:
            potential[j] = potential.get(j, 0.0) + d.arrivals_by_stage[last]
            reach.setdefault(j, set()).add(i)
    for j in potential:
        potential[j] += inp.sites[j].base(last)
    kept &= set(potential)
    todo = {i for i, d in enumerate(inp.demands) if d.sites}
    while todo:
        j = max(reach, key=lambda k: (len(reach[k] & todo), potential[k], -k))
        kept.add(j)
        todo -= reach.pop(j)
    for j in sorted(potential, key=lambda k: (-potential[k], k)):
        if len(kept) >= size:
            break
        kept.add(j)
    return kept


def plan_lower_bound(inp: ModelInput, options: SolverOptions) -> tuple[float, float]:
    """A lower bound on the present value of every plan, worked out apart from the MILP, and its time (s).

    Sites are apart: each mandatory site costs at least its sizing for its own traffic alone from the
    first stage (``size_alone``: more demand never needs fewer chargers). The other sites open in stage t
    pay no later than t, so at least the least discount factor up to t times what they cost at unit
    prices, which is at least the stage's set-cover bound ``C*_t`` (``cover_bounds``), and at least
    ``r C*_t`` (``r``: the least share of fixed cost in those sites' cover costs) plus the chargers the
    stage's required arrivals need (``_charger_cost_bound``). The bound is the first part plus the largest
    second part over the stages.
    """
    began = perf_counter()
    T = range(len(inp.years))
    upper, _ = _bounds(inp)
    total = 0.0
    for j, s in enumerate(inp.sites):
        if not s.mandatory:
            continue
        seq = size_alone(inp, j, 0, [s.base(t) for t in T], options, max(upper[j, k] for k in s.classes))
        if seq is not None:
            spent = _site_solution(inp, j, seq, [True for _ in T], [0.0 for _ in T]).capex_by_stage
            total += sum(inp.discount(t) * spent[t] for t in T)
    budget = None if options.time_limit_s is None else KERNEL_BOUND_TIME_SHARE * options.time_limit_s
    cover = cover_bounds(inp, options, budget, stages=tuple(reversed(T)))
    factor = [min(inp.discount(u) for u in range(t + 1)) for t in T]
    best = 0.0
    for t in T:
        c_star = cover.rhs_by_stage.get(t, 0.0)
        costs = cover.costs_by_stage.get(t, {})
        share = min(((0.0 if inp.sites[j].has_existing else inp.sites[j].fixed_cost_cny) / c
                     for j, c in costs.items() if c > 0), default=0.0)
        best = max(best, factor[t] * max(c_star, share * c_star + _charger_cost_bound(inp, t)))
    return total + best, perf_counter() - began


#: Up to this many standard chargers, ``_charger_cost_bound`` counts the cheapest mix one by one (the
#: 300k-node region: 1,380, about 2 s); past it, the pooled rates (the 1M region: under 2 s instead of 25).
CHARGER_BOUND_COUNTS = 1500


def _charger_cost_bound(inp: ModelInput, t: int) -> float:
    """Least cost at unit prices of the chargers that serve stage ``t``'s required arrivals, for the demand
    points whose every site in reach is alike (two classes, one share rule, not mandatory, no existing
    chargers): the cheapest class counts, pooled at one site, whose Erlang-C capacities cover those
    arrivals with the high-power share kept. Pooling never serves fewer (capacity is superadditive in the
    chargers of a class) and the share rule summed over sites holds for the total, so no plan pays less."""
    def key(s: SiteInput) -> tuple | None:
        if s.mandatory or s.has_existing or len(s.classes) != 2 or s.high_power_class not in s.classes:
            return None
        return s.classes, s.high_power_class, s.high_power_share

    counts: dict[tuple, float] = {}
    for d in inp.demands:
        if not (d.required_by_stage[t] and d.sites):
            continue
        keys = {key(inp.sites[j]) for j in d.sites}
        if len(keys) == 1 and None not in keys:
            k = keys.pop()
            counts[k] = counts.get(k, 0.0) + d.arrivals_by_stage[t]
    if not counts:
        return 0.0
    (classes, h, share), arrivals = max(counts.items(), key=lambda kv: kv[1])
    o = next(k for k in classes if k != h)
    hp, std, p = inp.classes[h], inp.classes[o], inp.max_wait_probability
    if not (hp.session_minutes and std.session_minutes) or arrivals <= 0:
        return 0.0
    need = arrivals * (1 - 1e-6) - 1e-6  # the capacity tables are bisection results: no hair-splitting
    most_standard = chargers_for_wait(need, std.session_minutes, p)
    if most_standard > CHARGER_BOUND_COUNTS:
        # Past ``CHARGER_BOUND_COUNTS``, counting one by one is slow (quadratic): each class's capacity
        # per charger rises with the count (pooling), so up to the count serving everything alone it is
        # at most that count's rate, and the continuous cheapest mix at those rates is a bound still.
        most_high = chargers_for_wait(need, hp.session_minutes, p)
        r_h = max_arrivals_per_hour(most_high, hp.session_minutes, p) / most_high * (1 + 1e-6)
        r_o = max_arrivals_per_hour(most_standard, std.session_minutes, p) / most_standard * (1 + 1e-6)
        q = share / (1 - share) if share < 1 else math.inf
        mixed = (hp.unit_cost_cny * q + std.unit_cost_cny) * need / (r_h * q + r_o) if q < math.inf else math.inf
        return min(hp.unit_cost_cny * need / r_h, mixed)
    best = math.inf
    n_h = 0
    while True:
        have = max_arrivals_per_hour(n_h, hp.session_minutes, p) if n_h else 0.0
        n_o = chargers_for_wait(need - have, std.session_minutes, p) if need > have else 0
        if n_h >= share * (n_h + n_o) - 1e-9:
            best = min(best, hp.unit_cost_cny * n_h + std.unit_cost_cny * n_o)
        if have >= need:
            return best
        n_h += 1


def _solve_over_kernel(inp: ModelInput, options: SolverOptions, progress: ProgressCallback) -> ModelSolution:
    """``solve_model`` on dense reach: the MILP over ``kernel_sites`` (each demand point keeps the kernel
    sites in its reach), its plan a plan of the whole model; the bound and gap are ``plan_lower_bound``'s
    (or the MILP's own where it solved the whole model: a kernel of every site in reach, or the fallback
    when the kernel has no plan), so the plan is called optimal only when a bound of the whole model
    proves it. The solve time is the wall time of all of it."""
    began = perf_counter()
    reached = {j for d in inp.demands for j in d.sites}
    loaded = {j for d in inp.demands if any(a > 0 for a in d.arrivals_by_stage) for j in d.sites}
    kernel = kernel_sites(inp, set(range(len(inp.sites))) - loaded)
    progress(0.0, f"{mean_reach(inp):.0f} sites in reach per demand point: a lower bound, then the MILP over "
             f"{len(kernel)} of the {len(reached)} sites in reach …")
    bound, bound_s = plan_lower_bound(inp, options)
    label = "lower bound of the whole model: mandatory sites alone, set cover and pooled chargers of the rest"
    phases: list[tuple[str, SolveResult]] = [(label, SolveResult("optimal", bound, bound, 0.0, "highs (set covering)",
                                                                 bound_s))]
    small = replace(inp, demands=tuple(replace(d, sites=tuple(j for j in d.sites if j in kernel))
                                       for d in inp.demands))
    rest = options if options.time_limit_s is None else replace(
        options, time_limit_s=max(options.time_limit_s - (perf_counter() - began), 0.1))
    whole = kernel >= reached
    try:
        sol = _solve(small, rest, reduce=True, progress=progress, explain=whole)
        phases += [(f"{name}, over {len(kernel)} of {len(reached)} sites", r) for name, r in sol.phases]
        solver = f"{sol.solve.solver}, MILP over {len(kernel)} of {len(reached)} sites"
    except (InfeasibleError, NoPlanInTimeError):
        if whole:
            raise
        # Grid or space limits can leave the kernel short of capacity the whole model has: plan on that.
        progress(0.0, "no plan over the kernel: the MILP over every site …")
        phases.append((f"no plan over {len(kernel)} of {len(reached)} sites", SolveResult(
            "infeasible", None, None, None, "highs", perf_counter() - began - bound_s)))
        left = options if options.time_limit_s is None else replace(
            options, time_limit_s=max(options.time_limit_s - (perf_counter() - began), 0.1))
        sol = _solve(inp, left, reduce=True, progress=progress)
        phases += list(sol.phases)
        solver, whole = sol.solve.solver, True
    if whole and sol.solve.bound is not None:
        bound = max(bound, sol.solve.bound)
    if bound > sol.present_value_cny * (1 + 1e-6) + 1e-6:
        # A bound above a feasible plan is an error in the bound: shown as none rather than as a proof.
        logger.error("lower bound %.10g above the plan's present value %.10g: not reported", bound,
                     sol.present_value_cny)
        bound = None
    gap = relative_gap(sol.present_value_cny, bound)
    proven = gap is not None and gap <= options.mip_gap
    final = replace(sol.solve, status="optimal" if proven else "feasible", objective=sol.present_value_cny,
                    bound=bound, gap=gap, solver=solver, solve_time_s=perf_counter() - began)
    return replace(sol, solve=final, phases=tuple(phases))


#: Budget mode's time, as shares of ``SolverOptions.time_limit_s``: the mandatory-only plan (usually a
#: second or two; without it there is no plan to start from) stops at the first share; the coverage phase
#: at the second share of what is left then; the cost phase gets what is left after that, and at least
#: the third share (it starts from the coverage phase's plan, so it always has one).
BUDGET_TIME_SHARES = (1.0, 0.75, 0.25)


def _share(options: SolverOptions, share: float) -> SolverOptions:
    if options.time_limit_s is None:
        return options
    return replace(options, time_limit_s=max(share * options.time_limit_s, 0.1))


def _below_minimum(budget: float, minimum: float) -> InfeasibleError:
    return InfeasibleError(
        "No plan meets the mandatory requirements within the budget",
        [(f"budget {budget:,.0f} CNY is below the cheapest plan that meets the mandatory "
          f"requirements (service-area sides, corridors, fleets): {minimum:,.0f} CNY")],
    )


def _mandatory_plan(inp: ModelInput, options: SolverOptions) -> tuple[SolveResult, dict[str, float]]:
    """The least total (undiscounted) spending meeting the mandatory requirements only, solved exactly
    (gap 0, the error states it), and its variable values by name: the same names as ``inp``'s budget
    model, whose variables it leaves out (demand served, assignment) are 0 in it."""
    free = replace(inp, budget_cny=None, demands=tuple(
        replace(d, required_by_stage=tuple(False for _ in d.required_by_stage)) for d in inp.demands))
    model = _build(free, budget_mode=False, separable=_separable(free, options))
    total = pulp.LpAffineExpression()
    for c in model.capex:
        total += c
    model.prob.setObjective(total)
    res = solve_problem(model.prob, replace(options, mip_gap=0.0))
    return res, solution_values(model.prob) if res.has_solution else {}


def minimum_budget(inp: ModelInput, options: SolverOptions) -> float:
    """The least total (undiscounted) spending of a plan that meets the mandatory requirements only."""
    res, _ = _mandatory_plan(inp, options)
    if res.status == "infeasible":
        raise InfeasibleError("The solver proved that no plan meets the mandatory requirements", diagnose(inp, options))
    _check(res, options)
    return float(res.objective or 0.0)


def diagnose(inp: ModelInput, options: SolverOptions) -> list[str]:
    """Which requirements fail, and where: the elastic model's nonzero slacks (least total violation)."""
    model = _build(replace(inp, budget_cny=None), budget_mode=False, elastic=True)
    model.prob.setObjective(pulp.LpAffineExpression([(v, 1) for v in model.slack.values()]))
    res = solve_problem(model.prob, options)
    if not res.has_solution:
        return ["the requirements conflict (the elastic model found no solution either)"]
    out = [f"{name} (short by {v.value():.3g})" for name, v in model.slack.items() if (v.value() or 0) > 1e-6]
    return out or ["the requirements conflict in combination (no single requirement fails alone)"]


def _prechecks(inp: ModelInput, budget_mode: bool) -> None:
    """Requirements no plan can meet, found without a solve, in a planner's words."""
    reasons: list[str] = []
    for w, sites in enumerate(inp.windows):
        if not sites:
            reasons.append(inp.window_names[w] if inp.window_names else f"corridor window {w}: no candidate site")
    for j, s in enumerate(inp.sites):
        if not s.mandatory or s.grid_kw is None:
            continue
        for t, year in enumerate(inp.years):  # demand grows, so a station may outgrow its grid later
            if least_config(inp, s, t, s.base(t), 2000) is not None:
                continue
            unlimited = least_config(inp, replace(s, grid_kw=None), t, s.base(t), 2000)
            if unlimited is None:
                reasons.append(f"{inp.site_name(j)} in {year}: no charger count meets its floor and queue")
                break
            kw = s.existing_kw(t) + sum(inp.classes[k].power_kw * (n - s.existing(t, k)) for k, n in unlimited.items())
            reasons.append(
                f"{inp.site_name(j)} in {year}: grid capacity {s.grid_kw:.0f} kW < "
                f"{inp.grid_diversity_factor * kw:.0f} kW needed for {sum(unlimited.values())} chargers "
                f"({inp.grid_diversity_factor:g} x {kw:.0f} kW installed)")
            break
    if not budget_mode:
        for d in inp.demands:
            if any(d.required_by_stage) and not d.sites:
                reasons.append(f"{d.demand_id}: no candidate site within reach (drive time over local roads)")
    if reasons:
        raise InfeasibleError("The plan's requirements cannot all be met", reasons)


def _value(v: pulp.LpVariable | int) -> float:
    return float(v) if isinstance(v, int) else float(v.value() or 0.0)


def _extract(inp: ModelInput, model: _Model) -> ModelSolution:
    T = range(len(inp.years))
    n_demands = len(inp.demands)
    assignment: list[list[dict[int, float]]] = [[{} for _ in T] for _ in range(n_demands)]
    served: list[list[bool]] = [[False for _ in T] for _ in range(n_demands)]
    arrivals: dict[tuple[int, int], float] = {}
    for i, d in enumerate(inp.demands):
        for t in T:
            served[i][t] = _value(model.z[i, t]) > 0.5
            if not served[i][t]:
                continue
            for j in d.sites:
                share = model.x[i, j, t].value() or 0.0
                if share > 1e-9:
                    assignment[i][t][j] = share * d.arrivals_by_stage[t]
                    arrivals[j, t] = arrivals.get((j, t), 0.0) + share * d.arrivals_by_stage[t]
    sites = []
    for j, s in enumerate(inp.sites):
        opened = [_value(model.y[j, t]) > 0.5 for t in T]
        if j in model.separable:
            t0 = opened.index(True) if any(opened) else None
            seq = model.separable[j][t0] if t0 is not None else None
            chargers = seq if seq is not None else [{k: 0 for k in s.classes} for _ in T]
        else:
            chargers = [{k: s.existing(t, k) + round(model.add[j, k, t].value() or 0) for k in s.classes} for t in T]
        sites.append(_site_solution(inp, j, chargers, opened, [arrivals.get((j, t), 0.0) for t in T]))
    capex = tuple(sum(s.capex_by_stage[t] for s in sites) for t in T)
    pv = sum(inp.discount(t) * capex[t] for t in T)
    dummy = SolveResult("not_solved", None, None, None, "", 0.0)
    return ModelSolution(tuple(sites), tuple(tuple(a) for a in assignment), tuple(tuple(s) for s in served),
                         capex, pv, dummy)


def site_capacity(inp: ModelInput, site: SiteInput, chargers: dict[str, int]) -> float:
    """Peak-hour arrivals ``chargers`` serve at the target wait: the sum of each class's Erlang-C capacity."""
    total = 0.0
    for k, n in chargers.items():
        cls = inp.classes[k]
        if cls.session_minutes:
            total += max_arrivals_per_hour(n, cls.session_minutes, inp.max_wait_probability)
    return total


def _site_solution(inp: ModelInput, j: int, chargers: list[dict[str, int]], opened: list[bool],
                   assigned: list[float]) -> SiteSolution:
    s = inp.sites[j]
    T = range(len(inp.years))
    capex = []
    for t in T:
        spent = 0.0
        for k in s.classes:
            new_now = chargers[t][k] - s.existing(t, k)
            new_before = chargers[t - 1][k] - s.existing(t - 1, k) if t else 0
            spent += inp.classes[k].unit_cost_cny * (new_now - new_before)
        if opened[t] and not (t and opened[t - 1]) and not s.has_existing:
            spent += s.fixed_cost_cny
        capex.append(spent)
    power = []
    for t in T:
        kw = s.existing_kw(t) + sum(inp.classes[k].power_kw * (chargers[t][k] - s.existing(t, k)) for k in s.classes)
        power.append(kw)
    return SiteSolution(
        open_by_stage=tuple(opened),
        chargers_by_stage=tuple(chargers),
        capex_by_stage=tuple(capex),
        arrivals_by_stage=tuple((s.base(t) if opened[t] else 0.0) + assigned[t] for t in T),
        capacity_by_stage=tuple(site_capacity(inp, s, chargers[t]) for t in T),
        power_kw_by_stage=tuple(power),
    )


#: Share of ``SolverOptions.time_limit_s`` kept for the fill (``_fill``) when a stage has demand the
#: model did not have to serve: the MILP stops that much sooner, and the fill gets at least this share.
FILL_TIME_SHARE = 0.1


def _fill_stages(inp: ModelInput, budget_mode: bool) -> list[int]:
    """Stages in which the fill may serve demand the model was not required to (a demand with a reach)."""
    return [t for t in range(len(inp.years))
            if any(d.sites and (budget_mode or not d.required_by_stage[t]) for d in inp.demands)]


def _fill(inp: ModelInput, sol: ModelSolution, options: SolverOptions,
          phases: list[tuple[str, SolveResult]]) -> ModelSolution:
    """Serve, in the stages where demands were not decided, what the plan's spare capacity allows.

    One small MILP per such stage with every charger fixed: maximise the weighted demands served
    (people first), each wholly at open sites in its reach, within each site's spare capacity. The
    stages share ``options.time_limit_s`` (each gets what the earlier ones left, at least a tenth).
    """
    limit = options.time_limit_s
    weights = _weights(inp)
    assignment = [list(a) for a in sol.assignment]
    served = [list(s) for s in sol.served]
    sites = list(sol.sites)
    for t in range(len(inp.years)):
        open_j = {j for j, s in enumerate(sites) if s.open_by_stage[t]}
        todo = [i for i, d in enumerate(inp.demands) if not served[i][t] and any(j in open_j for j in d.sites)]
        if not todo:
            continue
        prob = pulp.LpProblem(f"evplan_fill_{inp.years[t]}", pulp.LpMaximize)
        spare = {j: sites[j].capacity_by_stage[t] - sites[j].arrivals_by_stage[t] for j in open_j}
        zs, xs, load = {}, {}, {}
        for i in todo:
            d = inp.demands[i]
            zs[i] = model_variable(prob, f"z_{i}", 0, 1, pulp.LpBinary)
            terms = []
            for j in d.sites:
                if j in open_j:
                    xs[i, j] = model_variable(prob, f"x_{i}_{j}", 0, 1)
                    terms.append((xs[i, j], 1))
                    if d.arrivals_by_stage[t] > 0:
                        load.setdefault(j, []).append((xs[i, j], d.arrivals_by_stage[t]))
            prob += pulp.LpAffineExpression(terms) - zs[i] == 0
        for j, terms in load.items():
            prob += pulp.LpAffineExpression(terms) <= max(spare[j], 0.0) * (1 - 1e-9)
        prob.setObjective(pulp.LpAffineExpression([(zs[i], weights[i]) for i in todo]))
        res = solve_problem(prob, replace(options, mip_gap=0.0, time_limit_s=limit))
        phases.append((f"spare capacity serves demand in {inp.years[t]}", res))
        if limit is not None and options.time_limit_s is not None:
            limit = max(limit - res.solve_time_s, 0.1 * options.time_limit_s)
        if not res.has_solution:
            continue
        extra: dict[int, float] = {}
        for i in todo:
            if (zs[i].value() or 0) < 0.5:
                continue
            served[i][t] = True
            a = {}
            for j in inp.demands[i].sites:
                if (i, j) in xs and (xs[i, j].value() or 0) > 1e-9:
                    a[j] = xs[i, j].value() * inp.demands[i].arrivals_by_stage[t]
                    extra[j] = extra.get(j, 0.0) + a[j]
            assignment[i][t] = a
        for j, more in extra.items():
            s = sites[j]
            arr = list(s.arrivals_by_stage)
            arr[t] += more
            sites[j] = replace(s, arrivals_by_stage=tuple(arr))
    return replace(sol, sites=tuple(sites), assignment=tuple(tuple(a) for a in assignment),
                   served=tuple(tuple(s) for s in served))
