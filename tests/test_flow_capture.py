"""Flow capture (FRLM): the refuelling rule on hand-made paths, and the model's optimum against brute force.

The brute force below simulates the battery along the round trip (origin -> destination -> origin),
independently of the model's arc-cover constraints and of ``trip_served``'s closed form.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.demand.flows import RoutedFlow
from planner.siting.flow_capture import (
    FlowPath,
    flow_capture,
    flow_capture_on_network,
    flow_paths_from_routed,
    trip_served,
)
from planner.siting.solver import SolverOptions

RANGE_KM = 100.0


def simulate_round_trip(stations_km: list[float], length_km: float, range_km: float) -> bool:
    """Drive origin -> destination -> origin, charging to full at every station; True if never empty.

    Starts full with a station at the origin, else with half a battery; must be back at the origin
    with at least what it started with (so the round trip repeats).
    """
    eps = 1e-9 * max(1.0, range_km)
    here = sorted(set(stations_km))
    if not here:
        return False
    at_origin = abs(here[0]) <= 1e-12
    battery = range_km if at_origin else range_km / 2
    start = battery
    # Points of the tour in driving order: (position km, is a station).
    tour = [(km, True) for km in here if km > 1e-12] + [(length_km, False)]
    tour += [(km, True) for km in reversed(here) if 1e-12 < km < length_km - 1e-12] + [(0.0, at_origin)]
    pos = 0.0
    for km, station in tour:
        battery -= abs(km - pos)
        pos = km
        if battery < -eps:
            return False
        if station:
            battery = range_km
    return battery >= start - eps


# --------------------------------------------------------------------------------------------------
# Hand-made paths: the rule stated in the module docstring and docs/flow_capture.md
# --------------------------------------------------------------------------------------------------

# (stations at km, path length km, served?) with a 100 km range, each worked out by hand.
HAND_CASES = [
    ([0.0, 100.0], 100.0, True),     # chargers at both ends exactly a range apart: 100 <= 100
    ([0.0, 100.5], 100.5, False),    # just over the range between the two chargers
    ([0.0], 50.0, True),             # charger only at the origin: out and back 2 x 50 = 100 on one charge
    ([0.0], 50.5, False),            # ... 101 km on one charge: not served
    ([0.0], 120.0, False),           # ... a path longer than the range: never
    ([50.0, 150.0], 150.0, True),    # no charger at the origin: 50 km on half a battery, then 100, then at the end
    ([50.5, 150.0], 150.0, False),   # half a battery does not reach 50.5 km
    ([20.0, 110.0], 160.0, True),    # last charger 50 km before the end: there and back on one charge
    ([20.0, 109.0], 160.0, False),   # 51 km before the end: 102 km there and back
    ([], 30.0, False),               # no charger at all
    ([10.0], 15.0, True),            # one charger in the middle of a short path
]


@pytest.mark.parametrize("stations_km,length_km,served", HAND_CASES)
def test_hand_made_paths_follow_the_round_trip_rule(stations_km, length_km, served) -> None:
    assert trip_served(stations_km, length_km, RANGE_KM) is served
    assert simulate_round_trip(stations_km, length_km, RANGE_KM) is served
    # The model agrees: the chargers as existing stations, no new ones.
    nodes = tuple(f"n{i}" for i in range(len(stations_km)))
    path = FlowPath("trip", 10.0, nodes, tuple(stations_km), length_km)
    result = flow_capture([path], RANGE_KM, p=0, existing=nodes)
    assert result.served == {"trip": served}
    assert result.captured_volume == (10.0 if served else 0.0)
    # And as candidates to open (all of them allowed): served exactly when the whole set serves it.
    result = flow_capture([path], RANGE_KM, p=len(nodes))
    assert result.captured_volume == (10.0 if served else 0.0)
    assert result.status == "optimal"


def test_a_station_needed_in_the_middle_is_chosen() -> None:
    # a 0 -- b 40 -- c 130 -- d 170 km, range 100: a charger within 50 km of each end, <= 100 apart.
    # One station cannot be within 50 km of both ends; of the pairs only b, c (40, 90, 40) serves it.
    path = FlowPath("long", 5.0, ("a", "b", "c", "d"), (0.0, 40.0, 130.0, 170.0))
    result = flow_capture([path], RANGE_KM, p=1)
    assert result.captured_volume == 0.0  # no single station serves it
    result = flow_capture([path], RANGE_KM, p=2)
    assert set(result.new_stations) == {"b", "c"}
    assert result.captured_volume == 5.0


# --------------------------------------------------------------------------------------------------
# Random small instances against brute force
# --------------------------------------------------------------------------------------------------


def _random_instance(seed: int) -> tuple[list[FlowPath], list[str]]:
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(5, 9))
    names = [f"c{i}" for i in range(n_nodes)]
    paths = []
    for q in range(int(rng.integers(3, 7))):
        k = int(rng.integers(2, min(6, n_nodes) + 1))
        nodes = [names[i] for i in rng.choice(n_nodes, k, replace=False)]
        gaps = rng.uniform(10, 90, k - 1)
        km = np.r_[0.0, np.cumsum(gaps)]
        start = float(rng.choice([0.0, rng.uniform(0, 40)]))  # origin a candidate or not
        end = float(rng.choice([0.0, rng.uniform(0, 40)]))
        paths.append(FlowPath(f"f{q}", float(rng.integers(1, 50)), tuple(nodes), tuple((km + start).tolist()),
                              float(km[-1] + start + end)))
    return paths, names


def _captured(paths: list[FlowPath], open_set: set[str], range_km: float) -> float:
    total = 0.0
    for path in paths:
        km = [x for node, x in zip(path.nodes, path.cum_km) if node in open_set]
        if simulate_round_trip(km, path.path_km, range_km):
            total += path.volume
    return total


@pytest.mark.parametrize("seed", range(12))
def test_optimum_equals_brute_force_with_p_stations(seed: int) -> None:
    paths, names = _random_instance(seed)
    range_km = float(np.random.default_rng(seed + 100).uniform(60, 160))
    for p in (1, 2, 3):
        best = max(_captured(paths, set(c), range_km)
                   for r in range(p + 1) for c in itertools.combinations(names, r))
        result = flow_capture(paths, range_km, p=p)
        assert result.status == "optimal"
        assert result.captured_volume == pytest.approx(best)
        assert len(result.new_stations) <= p
        # What it reports is what the simulation finds for its stations.
        assert _captured(paths, set(result.stations), range_km) == pytest.approx(result.captured_volume)
        simulated = {path.flow_id for path in paths if simulate_round_trip(
            [x for node, x in zip(path.nodes, path.cum_km) if node in set(result.stations)], path.path_km, range_km)}
        assert set(result.flows_captured) == simulated


@pytest.mark.parametrize("seed", range(6))
def test_optimum_equals_brute_force_with_a_capital_budget_and_existing_stations(seed: int) -> None:
    paths, names = _random_instance(seed + 50)
    rng = np.random.default_rng(seed)
    costs = {n: float(rng.integers(1, 6)) * 1e6 for n in names}
    existing = [names[0]]
    budget = 6e6
    range_km = 110.0
    free = names[1:]
    best = max(_captured(paths, set(c) | set(existing), range_km)
               for r in range(len(free) + 1) for c in itertools.combinations(free, r)
               if sum(costs[n] for n in c) <= budget)
    result = flow_capture(paths, range_km, budget_cny=budget, station_cost_cny=costs, existing=existing)
    assert result.captured_volume == pytest.approx(best)
    assert names[0] in result.stations and names[0] not in result.new_stations
    assert result.cost_cny == sum(costs[n] for n in result.new_stations) <= budget


def test_a_time_limited_answer_is_never_called_optimal() -> None:
    paths = []
    for seed in range(40):
        paths += [FlowPath(f"{seed}-{p.flow_id}", p.volume, p.nodes, p.cum_km, p.length_km)
                  for p in _random_instance(seed)[0]]
    result = flow_capture(paths, 90.0, p=3, options=SolverOptions(time_limit_s=0.01))
    assert result.status in ("optimal", "feasible", "not_solved")
    if result.status == "optimal":
        assert result.gap is not None and result.gap <= 1e-4
    if result.status == "feasible":
        assert result.bound is not None and result.bound >= result.captured_volume - 1e-6


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"paths\[1\] \(flow 'b'\): cum_km\[2\] = 5 is less than cum_km\[1\] = 10"):
        flow_capture([FlowPath("a", 1, ("x",), (0.0,)), FlowPath("b", 1, ("x", "y", "z"), (0.0, 10.0, 5.0))],
                     100, p=1)
    with pytest.raises(ValueError, match="needs a budget"):
        flow_capture([FlowPath("a", 1, ("x",), (0.0,))], 100)
    with pytest.raises(ValueError, match="volume is -1"):
        flow_capture([FlowPath("a", -1, ("x",), (0.0,))], 100, p=1)
    with pytest.raises(ValueError, match="range_km"):
        flow_capture([FlowPath("a", 1, ("x",), (0.0,))], 0, p=1)
    with pytest.raises(ValueError, match="existing station 'q' is not among the candidates"):
        flow_capture([FlowPath("a", 1, ("x",), (0.0,))], 100, p=1, candidates=["x"], existing=["q"])
    with pytest.raises(ValueError, match="station_cost_cny has no cost for candidate 'y'"):
        flow_capture([FlowPath("a", 1, ("x", "y"), (0.0, 1.0))], 100, budget_cny=5, station_cost_cny={"x": 1})


# --------------------------------------------------------------------------------------------------
# Routed flows on the shipped network
# --------------------------------------------------------------------------------------------------


def test_routed_flows_adapter_places_candidates_at_their_nodes_and_corridor_nodes() -> None:
    from planner.siting.candidates import Candidate

    cands = [Candidate("sa:1:north", "service_area", "SA", 0, 0, node=2, corridor_nodes=(2,)),
             Candidate("interchange:9", "interchange", "IC", 0, 0, node=99, corridor_nodes=(3, 4))]
    flow = RoutedFlow("gateway:a", "town:b", "car", 120.0, (1, 2, 3, 4, 5), (0.0, 10.0, 20.0, 21.0, 40.0),
                      origin_external_km=30.0)
    (path,) = flow_paths_from_routed([flow], cands)
    assert path.nodes == ("sa:1:north", "interchange:9", "interchange:9")
    assert path.cum_km == (10.0, 20.0, 21.0) and path.path_km == 40.0 and path.volume == 120.0
    (ext,) = flow_paths_from_routed([flow], cands, count_external_km=True)
    assert ext.cum_km == (40.0, 50.0, 51.0) and ext.path_km == 70.0
    (ev,) = flow_paths_from_routed([flow], cands, volume_factor_by_class={"car": 0.25},
                                   range_km_by_class={"car": 300.0})
    assert ev.volume == 30.0 and ev.range_km == 300.0
    with pytest.raises(ValueError, match="no range for vehicle class 'car'"):
        flow_paths_from_routed([flow], cands, range_km_by_class={"truck": 250.0})


def test_flow_capture_on_the_shipped_network_equals_brute_force(shanwei_network) -> None:
    import networkx as nx

    from planner.siting.candidates import candidates_from_network

    net = shanwei_network
    cands = candidates_from_network(net, kinds=("service_area", "interchange", "town"), corridor_access_km=1.0)
    towns = [c for c in cands if c.kind == "town"]
    rng = np.random.default_rng(3)
    flows = []
    for i, j in rng.choice(len(towns), size=(12, 2)):
        if i == j:
            continue
        nodes = nx.shortest_path(net.graph, towns[i].node, towns[j].node, weight="length")
        km = [0.0]
        for a, b in itertools.pairwise(nodes):
            km.append(km[-1] + min(d["length"] for d in net.graph[a][b].values()) / 1000.0)
        flows.append(RoutedFlow(f"town:{i}", f"town:{j}", "car", float(rng.integers(100, 1000)),
                                tuple(nodes), tuple(km)))
    range_km = 60.0
    result = flow_capture_on_network(net, flows, range_km, p=2, candidates=cands)
    assert result.status == "optimal"

    # Brute force: every pair of candidates on some path, battery simulated along each path.
    by_site = {c.site_id: {c.node, *c.corridor_nodes} for c in cands}
    on_paths = sorted({s for f in flows for s, nodes in by_site.items() if nodes & set(f.nodes)})

    def captured(open_sites: set[str]) -> float:
        total = 0.0
        for f in flows:
            km = [x for node, x in zip(f.nodes, f.cum_km) if any(node in by_site[s] for s in open_sites)]
            total += f.trips_per_day if simulate_round_trip(km, f.cum_km[-1], range_km) else 0.0
        return total

    best = max(captured(set(c)) for r in range(3) for c in itertools.combinations(on_paths, r))
    assert best > 0
    assert result.captured_volume == pytest.approx(best)
    assert captured(set(result.stations)) == pytest.approx(result.captured_volume)
