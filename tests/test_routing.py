"""Sparse shortest-path costs, checked against networkx's Dijkstra on random directed graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from planner.network.routing import costs_from, reach_within, to_csr


def random_road_graph(seed: int, n: int = 120, m: int = 480) -> nx.MultiDiGraph:
    rng = np.random.default_rng(seed)
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for _ in range(m):
        u, v = (int(x) for x in rng.integers(0, n, 2))
        if u != v:
            g.add_edge(u, v, travel_time=float(rng.uniform(5, 300)))
    return g


def nx_costs(g: nx.MultiDiGraph, sources: list[int], targets: list[int]) -> np.ndarray:
    simple = nx.DiGraph()
    simple.add_nodes_from(g.nodes)
    for u, v, d in g.edges(data=True):  # parallel edges: the cheaper one counts
        if not simple.has_edge(u, v) or simple[u][v]["travel_time"] > d["travel_time"]:
            simple.add_edge(u, v, travel_time=d["travel_time"])
    out = np.full((len(sources), len(targets)), np.inf)
    for i, s in enumerate(sources):
        dist = nx.single_source_dijkstra_path_length(simple, s, weight="travel_time")
        for j, t in enumerate(targets):
            out[i, j] = dist.get(t, np.inf)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_costs_match_networkx_with_repeated_sources(seed: int) -> None:
    g = random_road_graph(seed)
    rng = np.random.default_rng(seed + 10)
    sources = [int(x) for x in rng.integers(0, 120, 15)] + [3, 3]
    targets = [int(x) for x in rng.integers(0, 120, 25)]
    got = costs_from(to_csr(g), sources, targets)
    assert got.shape == (len(sources), len(targets))
    np.testing.assert_allclose(got, nx_costs(g, sources, targets))


def test_limit_cuts_off_and_parallel_edges_keep_the_cheapest() -> None:
    g = nx.MultiDiGraph()
    g.add_edge("a", "b", travel_time=100.0)
    g.add_edge("a", "b", travel_time=40.0)
    g.add_edge("b", "c", travel_time=70.0)
    g.add_edge("c", "d", travel_time=0.0)  # zero-length edges still connect
    csr = to_csr(g)
    full = costs_from(csr, ["a"], ["b", "c", "d"])
    np.testing.assert_allclose(full, [[40.0, 110.0, 110.0]], atol=1e-6)
    cut = costs_from(csr, ["a"], ["b", "c"], limit=60.0)
    assert cut[0, 0] == pytest.approx(40.0) and np.isinf(cut[0, 1])
    assert costs_from(csr, [], ["a"]).shape == (0, 1)


# ------------------------------------------------------------------------------- bounded, sparse reach


def _stored(matrix) -> dict[tuple[int, int], float]:
    coo = matrix.tocoo()
    return {(int(i), int(j)): float(d) for i, j, d in zip(coo.row, coo.col, coo.data, strict=True)}


@pytest.mark.parametrize(("seed", "chunk"), [(0, 1), (1, 4), (2, None)])
def test_reach_within_keeps_exactly_the_pairs_within_the_threshold(seed: int, chunk: int | None) -> None:
    # Integer travel times: many pairs cost exactly the threshold, which must be kept.
    rng = np.random.default_rng(seed)
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(150))
    for _ in range(600):
        u, v = (int(x) for x in rng.integers(0, 150, 2))
        if u != v:
            g.add_edge(u, v, travel_time=float(rng.integers(1, 8)))
    sources = [int(x) for x in rng.integers(0, 150, 30)] + [7, 7]
    targets = [int(x) for x in rng.integers(0, 150, 40)] + [7]
    max_cost = 9.0
    got = reach_within(to_csr(g), sources, targets, max_cost=max_cost, chunk_sources=chunk)
    want = nx_costs(g, sources, targets)
    expected = {(i, j): want[i, j] for i in range(len(sources)) for j in range(len(targets)) if want[i, j] <= max_cost}
    assert got.shape == (len(sources), len(targets))
    assert _stored(got) == pytest.approx(expected)
    assert any(c == max_cost for c in expected.values())  # the boundary is exercised
    assert got[len(sources) - 1, len(targets) - 1] == 0.0 and (len(sources) - 1, len(targets) - 1) in _stored(got)
    assert got.has_sorted_indices


def test_reach_within_on_the_shipped_network_agrees_with_the_graph_path(shanwei_network) -> None:
    """The arrays' CSR gives what the networkx graph gives, and the sparse answer what the dense one does."""
    shanwei = shanwei_network
    towns = [p.node for p in shanwei.places]
    sites = sorted({p.node for p in shanwei.pois} | {s.node for s in shanwei.service_areas})
    limit_s = 20 * 60.0
    dense = costs_from(to_csr(shanwei.graph), towns, sites, limit=limit_s)
    sparse_reach = reach_within(to_csr(shanwei), towns, sites, max_cost=limit_s, chunk_sources=5)
    expected = {(i, j): dense[i, j] for i, j in zip(*np.nonzero(dense <= limit_s), strict=True)}
    assert expected and _stored(sparse_reach) == pytest.approx(expected, rel=1e-12)
    assert reach_within(to_csr(shanwei), [], sites, max_cost=1.0).shape == (0, len(sites))
    with pytest.raises(ValueError, match="max_cost"):
        reach_within(to_csr(shanwei), towns, sites, max_cost=-1.0)


def test_to_csr_leaves_out_excluded_classes_on_arrays_and_on_networkx(shanwei_network) -> None:
    """Local roads only: the arrays' matrix equals networkx's, and holds no edge that is only an expressway."""
    classes = ("motorway", "motorway_link")
    local = to_csr(shanwei_network, exclude_classes=classes).matrix
    graph = shanwei_network.arrays.to_networkx()
    via_nx = to_csr(graph, exclude_classes=classes).matrix
    assert (local != via_nx).nnz == 0
    index = {n: i for i, n in enumerate(graph.nodes)}
    cheapest: dict[tuple[int, int], float] = {}
    expressway_only = set()
    for u, v, d in graph.edges(data=True):
        e = (index[u], index[v])
        if d.get("highway") in classes:
            expressway_only.add(e)
        else:
            cheapest[e] = min(cheapest.get(e, np.inf), max(d["travel_time"], 1e-9))
    expressway_only -= set(cheapest)
    assert expressway_only and all(local[e] == 0 for e in expressway_only)
    assert all(local[e] == w for e, w in cheapest.items())
