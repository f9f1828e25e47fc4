"""Flow capture: chargers placed so that the most O-D trip volume can be driven (the FRLM).

The flow-refuelling location model (Kuby & Lim 2005) serves demand that is a flow along a path,
not a point: a trip counts only when chargers along its path are never more than the vehicle's
range apart. Refuelling rule (Kuby & Lim's round-trip convention): the vehicle drives origin →
destination → origin on the same path; it leaves the origin with a full battery if a station
stands there and with half a battery otherwise; it charges to full at every station it passes in
either direction; the trip is served when the battery never runs out and the vehicle is back at the
origin with at least what it left with (so the round trip can be repeated). A trip with no station
on its path is not served. For a path of length L with stations at km s_1 <= ... <= s_m this is:
m >= 1, s_1 <= R/2, s_(i+1) - s_i <= R, and L - s_m <= R/2 (R the range; bounds inclusive).
Read one way it says: leave the origin with half a battery (full at a station) and reach the
destination with at least half (or at a station), which is how directed flows on dual carriageways
are read, each direction being its own flow on its own path.

Formulation: the arc-cover model (Capar & Kuby 2012) instead of Kuby & Lim's pre-generated station
combinations, whose number grows exponentially with the path length. On the round trip, each
point where a candidate station stands must be reached from an open station at most R before it;
one constraint per such point and path, over the candidates that lie within R behind it, implies
exactly the rule above. Constraints implied by another of the same path are dropped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pulp

from planner.errors import SolverError
from planner.siting.solver import (
    SolveResult,
    SolverOptions,
    model_variable,
    relative_gap,
    solve_problem,
)

if TYPE_CHECKING:
    from planner.demand.flows import RoutedFlow
    from planner.network import RoadNetwork
    from planner.siting.candidates import Candidate, CandidateKind

#: Solver options used when given none (HiGHS, 60 s, relative gap 1e-4).
DEFAULT_OPTIONS = SolverOptions()
#: Candidate kinds a through trip can charge at by default (public sites on or beside its road).
DEFAULT_KINDS: tuple[CandidateKind, ...] = ("service_area", "interchange", "fuel", "parking", "town")
_TOL = 1e-9


@dataclass(frozen=True)
class FlowPath:
    """One O-D flow on its path: the path's nodes in order with their distance from the origin (km).

    ``nodes`` may include nodes that cannot hold a station (they are ignored unless listed as
    candidates); the path runs from km 0 (origin) to ``length_km`` (destination; default the last
    node's km). ``range_km`` overrides the model's range for this flow (e.g. another vehicle class).
    """

    flow_id: str
    volume: float
    nodes: tuple[Hashable, ...]
    cum_km: tuple[float, ...]
    length_km: float | None = None
    range_km: float | None = None

    @property
    def path_km(self) -> float:
        """Origin-to-destination length, km."""
        if self.length_km is not None:
            return float(self.length_km)
        return float(self.cum_km[-1]) if self.cum_km else 0.0


@dataclass(frozen=True)
class FlowCaptureResult:
    """The stations chosen and the flows their chargers make drivable.

    ``status`` is the solver's: "optimal" only when proven within the gap; a time-limited answer is
    "feasible" with its ``bound`` and ``gap`` (on captured volume, trips per day).
    """

    stations: tuple[Hashable, ...]
    new_stations: tuple[Hashable, ...]
    flows_captured: tuple[str, ...]
    captured_volume: float
    total_volume: float
    cost_cny: float
    status: str
    bound: float | None
    gap: float | None
    solver: str
    solve_time_s: float
    build_time_s: float
    #: Per flow id, whether it is served (every flow given).
    served: Mapping[str, bool] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """True when the solver returned a solution (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    def describe(self) -> str:
        """One line: stations, captured share and the solver's status."""
        share = self.captured_volume / self.total_volume if self.total_volume > 0 else 0.0
        line = (f"{len(self.new_stations)} new + {len(self.stations) - len(self.new_stations)} existing stations "
                f"serve {self.captured_volume:.6g} of {self.total_volume:.6g} trips/day ({100 * share:.1f} %); "
                f"{self.status}")
        if self.status == "feasible":
            gap = "unknown" if self.gap is None else f"{100 * self.gap:.2f} %"
            line += f", gap {gap}, bound {self.bound:.6g} (stopped before proving optimality)"
        return line + f" ({self.solver}, {self.solve_time_s:.2f} s)"


# --------------------------------------------------------------------------------------------------
# The refuelling rule
# --------------------------------------------------------------------------------------------------


def trip_served(stations_km: Iterable[float], length_km: float, range_km: float) -> bool:
    """Whether a trip of ``length_km`` with stations at ``stations_km`` (from the origin) is served.

    Kuby & Lim's round trip in closed form: a station on the path, the first at most half the range
    from the origin, consecutive ones at most the range apart, the last at most half the range from
    the destination.
    """
    km = sorted(float(s) for s in stations_km)
    if not km:
        return False
    slack = _TOL * max(1.0, range_km)
    half = range_km / 2 + slack
    if km[0] > half or length_km - km[-1] > half:
        return False
    return all(b - a <= range_km + slack for a, b in itertools.pairwise(km))


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is {value!r}; expected a positive number") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} is {value!r}; expected a positive number")
    return v


def _check_path(i: int, path: FlowPath) -> None:
    where = f"paths[{i}] (flow {path.flow_id!r})"
    if not (isinstance(path.volume, (int, float)) and math.isfinite(path.volume) and path.volume >= 0):
        raise ValueError(f"{where}: volume is {path.volume!r}; expected a non-negative number of trips per day")
    if len(path.nodes) != len(path.cum_km):
        raise ValueError(f"{where}: {len(path.nodes)} nodes but {len(path.cum_km)} cum_km values; expected one km per node")
    prev = 0.0
    for k, km in enumerate(path.cum_km):
        if not (isinstance(km, (int, float)) and math.isfinite(km) and km >= 0):
            raise ValueError(f"{where}: cum_km[{k}] is {km!r}; expected a non-negative distance in km")
        if km < prev - _TOL:
            raise ValueError(f"{where}: cum_km[{k}] = {km:g} is less than cum_km[{k - 1}] = {prev:g}; "
                             "expected km non-decreasing along the path")
        prev = float(km)
    length = path.path_km
    if not (math.isfinite(length) and length >= 0):
        raise ValueError(f"{where}: length_km is {path.length_km!r}; expected a non-negative distance in km")
    if path.cum_km and length < prev - _TOL:
        raise ValueError(f"{where}: length_km = {length:g} is shorter than the last node's km {prev:g}")
    if path.range_km is not None:
        _positive(path.range_km, f"{where}: range_km")


# --------------------------------------------------------------------------------------------------
# Arc-cover constraints of one path
# --------------------------------------------------------------------------------------------------


def _cover_sets(stops: Sequence[tuple[float, int]], length_km: float, range_km: float) -> list[frozenset[int]]:
    """The path's arc-cover constraints, each the set of stations one of which must be open.

    On the round trip (tour position t in [0, 2L): outbound km x at t = x, return at t = 2L - x),
    every tour point where a candidate stands must be reached from an open station at most
    ``range_km`` behind it (cyclically, as the round trip repeats). Sets implied by a smaller set
    of the same path are dropped. A path of length 0 needs any one of its stations.
    """
    if not stops:
        return []
    if length_km <= _TOL:
        return [frozenset(k for _, k in stops)]
    cycle = 2.0 * length_km
    points: dict[tuple[float, int], None] = {}
    for x, k in stops:
        points[(x, k)] = None
        points[(cycle - x if x < length_km else x, k)] = None
    t = np.array([p[0] for p in points]) % cycle
    ks = np.array([p[1] for p in points])
    reach = range_km + _TOL * max(1.0, range_km)
    sets: set[frozenset[int]] = set()
    for tb in np.unique(t):
        back = (tb - t) % cycle
        back[back <= _TOL * cycle] = cycle  # the station at the point itself was last seen one cycle ago
        sets.add(frozenset(ks[back <= reach].tolist()))
    ordered = sorted(sets, key=len)
    minimal: list[frozenset[int]] = []
    for s in ordered:
        if not any(m <= s for m in minimal):
            minimal.append(s)
    return minimal


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


def flow_capture(
    paths: Sequence[FlowPath],
    range_km: float,
    *,
    p: int | None = None,
    budget_cny: float | None = None,
    station_cost_cny: float | Mapping[Hashable, float] | None = None,
    candidates: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] = (),
    options: SolverOptions = DEFAULT_OPTIONS,
) -> FlowCaptureResult:
    """Open at most ``p`` new stations (and/or within ``budget_cny``) serving the most flow volume.

    Parameters
    ----------
    paths
        The flows with their paths; ``volume`` in trips per day.
    range_km
        Vehicle range, km (a path's own ``range_km`` overrides it).
    p
        Most new stations to open (existing stations do not count).
    budget_cny
        Most capital for new stations, with ``station_cost_cny`` (one figure, or per candidate).
    candidates
        Path nodes that can hold a station; None: every node of every path.
    existing
        Stations already open (fixed open, no cost); must be candidates.
    options
        Solver options.
    """
    start = perf_counter()
    R = _positive(range_km, "range_km")
    if p is None and budget_cny is None:
        raise ValueError("flow_capture needs a budget: p (number of new stations) or budget_cny")
    if p is not None and (isinstance(p, bool) or not float(p).is_integer() or p < 0):
        raise ValueError(f"p is {p!r}; expected a whole number of new stations (0 or more)")
    for i, path in enumerate(paths):
        _check_path(i, path)
    allowed = None if candidates is None else set(candidates)
    fixed = list(dict.fromkeys(existing))
    if allowed is not None:
        missing = [s for s in fixed if s not in allowed]
        if missing:
            raise ValueError(f"existing station {missing[0]!r} is not among the candidates")

    # Stations indexed in first-seen order; each path as its candidate stops (km, station index).
    index: dict[Hashable, int] = {s: i for i, s in enumerate(fixed)}
    stations: list[Hashable] = list(fixed)
    path_stops: list[list[tuple[float, int]]] = []
    for path in paths:
        stops = []
        for node, km in zip(path.nodes, path.cum_km):
            if allowed is not None and node not in allowed:
                continue
            if node not in index:
                index[node] = len(stations)
                stations.append(node)
            stops.append((float(km), index[node]))
        path_stops.append(stops)
    n = len(stations)
    is_existing = np.zeros(n, dtype=bool)
    is_existing[: len(fixed)] = True
    cost = _station_costs(station_cost_cny, stations, budget_cny is not None)
    if budget_cny is not None:
        budget = float(budget_cny)
        if not (math.isfinite(budget) and budget >= 0):
            raise ValueError(f"budget_cny is {budget_cny!r}; expected a non-negative amount in CNY")

    # Paths with the same constraints (after the existing stations) merged, their volumes summed; a
    # path that even every candidate cannot serve has an empty constraint and is left out.
    open_now = set(np.flatnonzero(is_existing).tolist())
    families: dict[tuple[Any, ...], frozenset[frozenset[int]]] = {}
    groups: dict[frozenset[frozenset[int]], int] = {}
    group_volume: list[float] = []
    group_sets: list[list[frozenset[int]]] = []
    constant = 0.0
    for path, stops in zip(paths, path_stops):
        if path.volume <= 0 or not stops:
            continue
        r = R if path.range_km is None else float(path.range_km)
        key = (round(path.path_km, 9), r, tuple(sorted(set(stops))))
        family = families.get(key)
        if family is None:
            family = families[key] = frozenset(s for s in _cover_sets(stops, path.path_km, r) if not (s & open_now))
        if frozenset() in family:
            continue
        g = groups.get(family)
        if g is None:
            g = groups[family] = len(group_volume)
            group_volume.append(0.0)
            group_sets.append(sorted(family, key=lambda s: sorted(s)))
        group_volume[g] += float(path.volume)
    prob = pulp.LpProblem("flow_capture", pulp.LpMaximize)
    used = sorted({k for sets in group_sets for s in sets for k in s})
    x = {k: model_variable(prob, f"open_{k}", cat=pulp.LpBinary) for k in used}
    objective: list[tuple[pulp.LpVariable, float]] = []
    for g, sets in enumerate(group_sets):
        if not sets:  # served by the existing stations alone
            constant += group_volume[g]
            continue
        y = model_variable(prob, f"served_{g}", 0, 1)
        objective.append((y, group_volume[g]))
        for c, s in enumerate(sets):
            terms = [(x[k], 1.0) for k in sorted(s)] + [(y, -1.0)]
            prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintGE, f"cover_{g}_{c}", 0)
    if p is not None and x:
        prob += pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in x.values()]),
                                  pulp.LpConstraintLE, "stations", int(p))
    if budget_cny is not None and x:
        prob += pulp.LpConstraint(pulp.LpAffineExpression([(x[k], float(cost[k])) for k in used]),
                                  pulp.LpConstraintLE, "budget", budget)
    prob += pulp.LpAffineExpression(objective, constant=constant)
    build_time_s = perf_counter() - start

    opened = set(np.flatnonzero(is_existing).tolist())
    if objective:
        result = solve_problem(prob, options)
    else:
        result = SolveResult("optimal", constant, constant, 0.0, f"{options.solver} (not needed)", 0.0)
    if result.has_solution:
        opened |= {k for k, v in x.items() if (v.value() or 0.0) > 0.5}
        opened = _prune(opened, is_existing, paths, path_stops, R)
    total = float(sum(pth.volume for pth in paths))
    served = _served(opened, paths, path_stops, R)
    captured = float(sum(pth.volume for pth, ok in zip(paths, served) if ok))
    if result.has_solution and result.objective is not None and captured < result.objective - 1e-6 * max(1.0, total):
        raise SolverError(f"flow capture: the solver's stations serve {captured:g} trips/day by the refuelling rule, "
                          f"less than its objective {result.objective:g}")
    gap = relative_gap(captured, result.bound) if result.has_solution else result.gap
    status = result.status
    if status == "optimal" and gap is not None and gap > max(options.mip_gap, 1e-9) and objective:
        status = "feasible"
    order = sorted(opened)
    return FlowCaptureResult(
        stations=tuple(stations[k] for k in order),
        new_stations=tuple(stations[k] for k in order if not is_existing[k]),
        flows_captured=tuple(pth.flow_id for pth, ok in zip(paths, served) if ok),
        captured_volume=captured,
        total_volume=total,
        cost_cny=float(sum(cost[k] for k in order if not is_existing[k])),
        status=status,
        bound=result.bound,
        gap=gap,
        solver=result.solver,
        solve_time_s=result.solve_time_s,
        build_time_s=build_time_s,
        served={pth.flow_id: ok for pth, ok in zip(paths, served)},
    )


def _station_costs(station_cost_cny: Any, stations: list[Hashable], needed: bool) -> np.ndarray:
    if station_cost_cny is None:
        if needed:
            raise ValueError("budget_cny needs station_cost_cny (one cost per station, or a mapping per candidate)")
        return np.zeros(len(stations))
    if isinstance(station_cost_cny, Mapping):
        out = []
        for s in stations:
            if s not in station_cost_cny:
                raise ValueError(f"station_cost_cny has no cost for candidate {s!r}")
            out.append(station_cost_cny[s])
    else:
        out = [station_cost_cny] * len(stations)
    arr = np.array(out, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"station_cost_cny for {stations[i]!r} is {out[i]!r}; expected a non-negative amount in CNY")
    return arr


def _served(opened: set[int], paths: Sequence[FlowPath], path_stops: list[list[tuple[float, int]]],
            range_km: float) -> list[bool]:
    out = []
    for path, stops in zip(paths, path_stops):
        r = range_km if path.range_km is None else float(path.range_km)
        out.append(trip_served([km for km, k in stops if k in opened], path.path_km, r))
    return out


def _prune(opened: set[int], is_existing: np.ndarray, paths: Sequence[FlowPath],
           path_stops: list[list[tuple[float, int]]], range_km: float) -> set[int]:
    """Close again the new stations no served flow needs (the solver may open spare ones)."""
    served = _served(opened, paths, path_stops, range_km)
    on_path: dict[int, list[int]] = {}
    for q, stops in enumerate(path_stops):
        if served[q]:
            for k in {k for _, k in stops}:
                on_path.setdefault(k, []).append(q)
    keep = set(opened)
    for k in sorted(opened, reverse=True):
        if is_existing[k]:
            continue
        trial = keep - {k}
        qs = on_path.get(k, [])
        if all(trip_served([km for km, j in path_stops[q] if j in trial], paths[q].path_km,
                           range_km if paths[q].range_km is None else float(paths[q].range_km)) for q in qs):
            keep = trial
    return keep


# --------------------------------------------------------------------------------------------------
# Routed flows on a road network
# --------------------------------------------------------------------------------------------------


def flow_paths_from_routed(
    flows: Sequence[RoutedFlow],
    candidates: Sequence[Candidate],
    *,
    count_external_km: bool = False,
    range_km_by_class: Mapping[str, float] | None = None,
    volume_factor_by_class: Mapping[str, float] | None = None,
) -> list[FlowPath]:
    """``FlowPath`` s of routed flows, their stops the candidates whose node or corridor node they pass.

    A candidate's positions on a path are the path's nodes equal to its ``node`` or one of its
    ``corridor_nodes`` (a site beside a motorway serves the carriageway that passes it). With
    ``count_external_km`` a gateway trip's distance beyond the network counts as road without a
    charger at either end; otherwise the trip is taken to start and end at the boundary. A flow's
    volume is its ``trips_per_day`` times ``volume_factor_by_class`` of its class (e.g. the EV share
    of the traffic in a stage year), if given.
    """
    at_node: dict[Any, list[str]] = {}
    for c in candidates:
        for node in dict.fromkeys((c.node, *c.corridor_nodes)):
            at_node.setdefault(node, []).append(c.site_id)
    out: list[FlowPath] = []
    seen: dict[str, int] = {}
    for i, f in enumerate(flows):
        base = f"{f.origin}->{f.destination}:{f.vehicle_class}"
        seen[base] = seen.get(base, 0) + 1
        flow_id = base if seen[base] == 1 else f"{base}#{seen[base]}"
        if len(f.nodes) != len(f.cum_km):
            raise ValueError(f"flows[{i}] ({base}): {len(f.nodes)} nodes but {len(f.cum_km)} cum_km values")
        shift = f.origin_external_km if count_external_km else 0.0
        nodes: list[str] = []
        kms: list[float] = []
        for node, km in zip(f.nodes, f.cum_km):
            for site in at_node.get(node, ()):
                nodes.append(site)
                kms.append(shift + float(km))
        length = f.trip_km if count_external_km else f.length_km
        r = None
        if range_km_by_class is not None:
            if f.vehicle_class not in range_km_by_class:
                raise ValueError(f"range_km_by_class has no range for vehicle class {f.vehicle_class!r} (flows[{i}])")
            r = float(range_km_by_class[f.vehicle_class])
        factor = 1.0
        if volume_factor_by_class is not None:
            if f.vehicle_class not in volume_factor_by_class:
                raise ValueError(f"volume_factor_by_class has no factor for vehicle class {f.vehicle_class!r} "
                                 f"(flows[{i}])")
            factor = float(volume_factor_by_class[f.vehicle_class])
        out.append(FlowPath(flow_id, float(f.trips_per_day) * factor, tuple(nodes), tuple(kms), float(length), r))
    return out


def flow_capture_on_network(
    network: RoadNetwork,
    flows: Sequence[RoutedFlow],
    range_km: float,
    *,
    p: int | None = None,
    budget_cny: float | None = None,
    station_cost_cny: float | Mapping[Hashable, float] | None = None,
    candidates: Sequence[Candidate] | None = None,
    kinds: Iterable[CandidateKind] = DEFAULT_KINDS,
    corridor_access_km: float = 1.0,
    existing: Iterable[str] = (),
    count_external_km: bool = False,
    range_km_by_class: Mapping[str, float] | None = None,
    volume_factor_by_class: Mapping[str, float] | None = None,
    options: SolverOptions = DEFAULT_OPTIONS,
) -> FlowCaptureResult:
    """Flow capture of routed flows on ``network``: stations are candidate sites (``site_id``).

    ``candidates`` default to ``candidates_from_network(network, kinds=kinds,
    corridor_access_km=corridor_access_km)``; ``existing`` names site ids already open.
    """
    if candidates is None:
        from planner.siting.candidates import candidates_from_network

        candidates = candidates_from_network(network, kinds=kinds, corridor_access_km=corridor_access_km)
    site_ids = [c.site_id for c in candidates]
    known = set(site_ids)
    for s in existing:
        if s not in known:
            raise ValueError(f"existing station {s!r} is not a candidate site of the network")
    paths = flow_paths_from_routed(flows, candidates, count_external_km=count_external_km,
                                   range_km_by_class=range_km_by_class,
                                   volume_factor_by_class=volume_factor_by_class)
    return flow_capture(paths, range_km, p=p, budget_cny=budget_cny, station_cost_cny=station_cost_cny,
                        candidates=site_ids, existing=existing, options=options)
