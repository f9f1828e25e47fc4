"""Corridor windows on small hand-made motorway graphs, checked against a direct gap computation."""

from __future__ import annotations

import itertools

import networkx as nx

from planner.network.arrays import RoadArrays
from planner.siting.candidates import Candidate, corridor_windows, corridors


def line_graph(km_steps: list[float], *, lon0: float = 115.0) -> RoadArrays:
    """One eastbound motorway carriageway with nodes 0..n at the given step lengths (km), as arrays."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    x = lon0
    g.add_node(0, x=x, y=22.8)
    for i, step in enumerate(km_steps, start=1):
        x += step / 102.6  # ~km per degree of longitude at 22.8°N
        g.add_node(i, x=x, y=22.8)
        g.add_edge(i - 1, i, highway="motorway", ref="G15", length=step * 1000.0)
    return RoadArrays.from_networkx(g)


def cand(site_id: str, node: int) -> Candidate:
    return Candidate(site_id=site_id, kind="service_area", name=site_id, lon=0, lat=0, node=node,
                     corridor_nodes=(node,))


def max_gap(positions: list[float], length: float) -> float:
    """Longest stretch without a charger, counting the corridor's ends as walls."""
    pts = [0.0, *sorted(positions), length]
    return max(b - a for a, b in itertools.pairwise(pts))


def test_single_corridor_is_one_chain_with_positions() -> None:
    g = line_graph([10, 20, 30])
    (chain,) = corridors(g)
    assert chain.nodes == (0, 1, 2, 3)
    assert chain.position_km == (0.0, 10.0, 30.0, 60.0)
    assert chain.direction == "eastbound" and chain.ref == "G15"


def test_windows_are_exactly_the_subsets_that_keep_gaps_within_range() -> None:
    steps = [10.0] * 12  # 120 km, candidates at every node
    g = line_graph(steps)
    pos = {i: 10.0 * i for i in range(13)}
    cands = [cand(f"s{i}", i) for i in range(1, 12)]
    windows = corridor_windows(g, cands, range_margin_km=35.0)
    # Brute force over subsets of a few candidates: windows satisfied <=> max gap <= range.
    chosen_sets = [set(c) for r in range(3, 6) for c in itertools.combinations(range(1, 12), r)]
    for chosen in chosen_sets[:400]:
        ids = {f"s{i}" for i in chosen}
        ok_windows = all(ids & set(w.candidates) for w in windows)
        ok_gaps = max_gap([pos[i] for i in chosen], 120.0) <= 35.0
        assert ok_windows == ok_gaps, sorted(chosen)


def test_a_stretch_without_candidates_is_an_empty_window() -> None:
    g = line_graph([20, 20, 20, 20])
    windows = corridor_windows(g, [cand("a", 1), cand("b", 4)], range_margin_km=30.0)
    empty = [w for w in windows if not w.candidates]
    assert empty and empty[0].ref == "G15"
    assert "km 20.0-50.0" in empty[0].describe(30.0)


def test_short_corridor_needs_nothing() -> None:
    g = line_graph([5, 5])
    assert corridor_windows(g, [], range_margin_km=50.0) == []
