"""The plan reads the network's arrays, never networkx: checked against a networkx reference.

The reference below is the siting's former networkx path (motorway chains, corridor windows, ramp
walks, candidates, local-road drive times), kept here only as an independent check: on the shipped
network and on a generated region the array path must give exactly the same candidates, corridors,
windows and drive times, and a whole plan must never build ``RoadNetwork.graph``.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from typing import Any

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from planner.network import RoadNetwork, load_network
from planner.network.arrays import RoadArrays
from planner.siting import plan as plan_module
from planner.siting.candidates import (
    CANDIDATE_KINDS,
    Corridor,
    CorridorWindow,
    bearing_deg,
    candidates_from_network,
    compass,
    corridor_windows,
    corridors,
    haversine_km,
    local_access_node,
    motorway_graph,
    motorways,
)
from planner.siting.scenario import Scenario

EXPRESSWAY = ("motorway", "motorway_link")

# ------------------------------------------------------------------------ networkx reference


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def nx_corridors(graph: nx.MultiDiGraph) -> list[Corridor]:
    mg = motorway_graph(graph)
    chains, seen = [], set()

    def is_break(n: Any) -> bool:
        return mg.in_degree(n) != 1 or mg.out_degree(n) != 1

    starts = [n for n in mg.nodes if is_break(n)]
    for comp in nx.weakly_connected_components(mg):
        if not any(is_break(n) for n in comp):
            starts.append(min(comp, key=str))
    for start in sorted(starts, key=str):
        for nxt in sorted(mg.successors(start), key=str):
            if (start, nxt) in seen:
                continue
            nodes, pos = [start], [0.0]
            u, v = start, nxt
            while True:
                seen.add((u, v))
                nodes.append(v)
                pos.append(pos[-1] + mg[u][v]["length_km"])
                if is_break(v) or v == start:
                    break
                u, v = v, next(iter(mg.successors(v)))
            refs = [mg[a][b]["ref"] for a, b in itertools.pairwise(nodes)]
            ref = max(set(refs), key=refs.count)
            a, b = graph.nodes[nodes[0]], graph.nodes[nodes[-1]]
            direction = compass(bearing_deg(a["x"], a["y"], b["x"], b["y"]))
            chains.append(Corridor(f"{ref} {direction} {nodes[0]}-{nodes[-1]}", ref, direction, tuple(nodes),
                                   tuple(round(p, 6) for p in pos)))
    return chains


def nx_windows(graph: nx.MultiDiGraph, candidates: list, *, range_margin_km: float) -> list[CorridorWindow]:
    mg = motorway_graph(graph)
    at_node: dict[Any, list[str]] = {}
    for cand in candidates:
        for n in cand.corridor_nodes:
            if n in mg:
                at_node.setdefault(n, []).append(cand.site_id)
    where = {}
    for chain in nx_corridors(graph):
        for n, km in zip(chain.nodes, chain.position_km):
            where.setdefault(n, (chain, km))
    windows: dict[tuple[str, ...], CorridorWindow] = {}
    for origin in [n for n in mg.nodes if mg.in_degree(n) == 0] + sorted(at_node, key=str):
        stack = [(origin, 0.0, [], frozenset({origin}))]
        while stack:
            node, dist, sites, visited = stack.pop()
            ends = []
            extended = False
            for nxt in mg.successors(node):
                step = mg[node][nxt]["length_km"]
                if dist + step > range_margin_km:
                    extended = True
                    ends.append(sites)
                    continue
                if nxt in visited:
                    continue
                extended = True
                stack.append((nxt, dist + step, sites + at_node.get(nxt, []), visited | {nxt}))
            if not extended and dist >= range_margin_km:
                ends.append(sites)
            for found_sites in ends:
                found = tuple(sorted(set(found_sites)))
                key = found or ("", str(origin))
                if key not in windows:
                    chain, km = where[origin]
                    windows[key] = CorridorWindow(chain.corridor_id, chain.ref, chain.direction, km, origin, found)
    return list(windows.values())


def nx_local_access_node(graph: nx.MultiDiGraph, junction: Any, max_ramp_km: float = 5.0) -> Any | None:
    if junction not in graph:
        return None
    best = {junction: 0.0}
    frontier = [(0.0, junction)]
    while frontier:
        dist, n = heapq.heappop(frontier)
        if dist > best.get(n, math.inf):
            continue
        edges = [(v, d) for _, v, d in graph.out_edges(n, data=True)] + [(u, d) for u, _, d in graph.in_edges(n, data=True)]
        if n != junction and any(_first(d.get("highway")) not in EXPRESSWAY for _, d in edges):
            return n
        for m, d in edges:
            if _first(d.get("highway")) != "motorway_link":
                continue
            nd = dist + float(d.get("length", 0.0)) / 1000.0
            if nd <= max_ramp_km and nd < best.get(m, math.inf):
                best[m] = nd
                heapq.heappush(frontier, (nd, m))
    return None


def nx_local_reach(graph: nx.MultiDiGraph, sources: list, targets: list, max_s: float) -> sparse.csr_matrix:
    """Drive times over non-expressway edges: one full Dijkstra per source, no chunks, no sparse tricks."""
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    best: dict[tuple[int, int], float] = {}
    for u, v, d in graph.edges(data=True):
        if _first(d.get("highway")) in EXPRESSWAY:
            continue
        e = (index[u], index[v])
        best[e] = min(best.get(e, math.inf), max(float(d["travel_time"]), 1e-9))
    w = list(best.values())
    r, c = [e[0] for e in best], [e[1] for e in best]
    matrix = sparse.csr_matrix((w, (r, c)), shape=(len(nodes), len(nodes)))
    dist = csgraph.dijkstra(matrix, directed=True, indices=[index[s] for s in sources])[:, [index[t] for t in targets]]
    i, j = np.nonzero(dist <= max_s)
    return sparse.csr_matrix((np.maximum(dist[i, j], 1e-9), (i, j)), shape=dist.shape)


# ------------------------------------------------------------------------------------ tests


@pytest.fixture(scope="module")
def fresh_network() -> RoadNetwork:
    """The shipped network from the cache, its networkx graph not built yet."""
    from tests.support.paths import ROOT

    return load_network(ROOT / "data" / "osm" / "shanwei.osm")


def _same_everything(network: RoadNetwork, graph: nx.MultiDiGraph) -> None:
    sc = Scenario()
    assert [dataclasses.asdict(c) for c in corridors(network.arrays)] == \
        [dataclasses.asdict(c) for c in nx_corridors(graph)]
    mg = motorways(network.arrays)
    ref = motorway_graph(graph)
    assert list(mg.nodes) == list(ref.nodes)
    assert {e: mg.edge_km(*e) for e in mg.length_km} == {(u, v): d["length_km"] for u, v, d in ref.edges(data=True)}
    junctions = [p.node for p in network.pois if p.kind == "interchange"]
    assert junctions
    assert [local_access_node(network.arrays, j) for j in junctions] == [nx_local_access_node(graph, j) for j in junctions]
    cands = candidates_from_network(network, kinds=CANDIDATE_KINDS, corridor_access_km=sc.corridor_access_km)
    assert any(c.kind == "interchange" for c in cands)
    # Candidates: the interchange charger sits at the ramp's local end, with the nearby motorway nodes.
    nodes = list(ref.nodes)
    lon = np.array([graph.nodes[n]["x"] for n in nodes])
    lat = np.array([graph.nodes[n]["y"] for n in nodes])
    by_id = {c.site_id: c for c in cands}
    for p in network.pois:
        if p.kind != "interchange":
            continue
        access = nx_local_access_node(graph, p.node)
        if access is None:
            assert f"interchange:{p.osm_id}" not in by_id
            continue
        c = next(c for c in cands if c.kind == "interchange" and c.node == access)
        assert (c.lon, c.lat) == (graph.nodes[access]["x"], graph.nodes[access]["y"])
        near = {nodes[i] for i in np.flatnonzero(haversine_km(p.lon, p.lat, lon, lat) <= sc.corridor_access_km)}
        assert near <= set(c.corridor_nodes)
    for km in (sc.range_margin_km, 20.0):
        got = corridor_windows(network.arrays, cands, range_margin_km=km)
        assert got == nx_windows(graph, cands, range_margin_km=km)
    public = [c.node for c in cands if c.public]
    towns = [p.node for p in network.places]
    got = plan_module.local_road_reach(network, towns, public, max_s=sc.drive_time_min * 60.0)
    want = nx_local_reach(graph, towns, public, sc.drive_time_min * 60.0)
    assert got.nnz == want.nnz > 0
    assert (got != want).nnz == 0


def test_array_path_equals_networkx_on_the_shipped_network(fresh_network) -> None:
    graph = fresh_network.arrays.to_networkx()  # a separate graph: the network's own stays unbuilt
    _same_everything(fresh_network, graph)
    assert fresh_network._graph is None


def test_array_path_equals_networkx_on_a_generated_region(tmp_path) -> None:
    from bench.synth_region import make

    path, _, _ = make(12_000, tmp_path / "region.osm.pbf", cities=1, seed=3)
    network = load_network(path, admin_boundaries=None, use_cache=False)
    _same_everything(network, network.arrays.to_networkx())


def test_a_plan_never_builds_the_networkx_graph(fresh_network) -> None:
    sc = Scenario()  # a loose gap: the routing, not the optimum, is under test
    result = plan_module.plan_sites(fresh_network, scenario=dataclasses.replace(
        sc, solver=dataclasses.replace(sc.solver, mip_gap=0.05)))
    assert result.sites and result.solve.status in ("optimal", "feasible")
    assert fresh_network._graph is None


def test_arrays_from_networkx_round_trip(fresh_network) -> None:
    graph = fresh_network.arrays.to_networkx()
    back = RoadArrays.from_networkx(graph)
    assert back.node_id.tolist() == fresh_network.arrays.node_id.tolist()
    assert back.u.tolist() == fresh_network.arrays.u.tolist() and back.v.tolist() == fresh_network.arrays.v.tolist()
    assert np.array_equal(back.travel_time_s, fresh_network.arrays.travel_time_s)
    assert [back.strings[c] if c >= 0 else None for c in back.tag("highway")] == \
        [fresh_network.arrays.strings[c] if c >= 0 else None for c in fresh_network.arrays.tag("highway")]
    assert back.rows_of([int(back.node_id[5]), -123456789]).tolist() == [5, -1]
