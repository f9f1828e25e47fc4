"""``build._walk_paths`` (pointer jumping over arcs) against osmnx's node-by-node path walk, on random graphs."""

import itertools

import numpy as np
import pytest

from planner.network.build import _walk_paths


def _brute_paths(n: int, arcs: list[tuple[int, int]], ep: list[bool]) -> list[list[int]]:
    """osmnx's walk, written out: from each endpoint (set order) through each non-endpoint successor."""
    succ: dict[int, list[int]] = {x: [] for x in range(n)}
    for a, b in arcs:
        succ[a].append(b)
    paths = []
    for e in {x for x in range(n) if ep[x]}:
        for s in succ[e]:
            if ep[s]:
                continue
            path, inpath = [e, s], {e, s}
            for t in succ[s]:
                if t in inpath:
                    continue
                path.append(t)
                inpath.add(t)
                cur = t
                while not ep[cur]:
                    nxt = [x for x in succ[cur] if x not in inpath]
                    if len(nxt) == 1:
                        cur = nxt[0]
                        path.append(cur)
                        inpath.add(cur)
                    elif not nxt:
                        if e in succ[cur]:
                            path.append(e)
                        break
                    else:
                        raise AssertionError("an interior node with two ways on")
                break
            paths.append(path)
    return paths


def _random_graph(rng: np.random.Generator, n: int) -> tuple[list[tuple[int, int]], list[bool], np.ndarray, np.ndarray]:
    """Chains (one- and two-way), rings through an endpoint and stray arcs; endpoints by osmnx's degree rules."""
    arcs: set[tuple[int, int]] = set()
    nodes = rng.permutation(n).tolist()
    i = 0
    while i < n - 2:
        k = int(rng.integers(2, 8))
        chain = nodes[i:i + k + 1]
        two_way = rng.random() < 0.5
        for a, b in itertools.pairwise(chain):
            arcs.add((a, b))
            if two_way:
                arcs.add((b, a))
        if rng.random() < 0.2 and len(chain) > 2:  # close a ring back to its first node
            arcs.add((chain[-1], chain[0]))
        i += k
    for _ in range(n // 10):
        a, b = (int(x) for x in rng.integers(0, n, 2))
        if a != b:
            arcs.add((a, b))
    order = sorted(arcs)  # adjacency order: by source, then target
    u = np.array([a for a, _ in order])
    v = np.array([b for _, b in order])
    in_deg, out_deg = np.bincount(v, minlength=n), np.bincount(u, minlength=n)
    nb = np.unique(np.concatenate([u * n + v, v * n + u]))
    n_nb = np.bincount(nb // n, minlength=n)
    deg = in_deg + out_deg
    ep = (in_deg == 0) | (out_deg == 0) | ~((n_nb == 2) & ((deg == 2) | (deg == 4)))
    ep |= rng.random(n) < 0.05  # nodes kept for other reasons (tags differ, a town joins there)
    return order, ep.tolist(), nb, n_nb


@pytest.mark.parametrize("seed", range(40))
def test_walk_paths_equal_the_node_by_node_walk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 120))
    arcs, ep, nb, n_nb = _random_graph(rng, n)
    u = np.array([a for a, _ in arcs], dtype=np.int64)
    v = np.array([b for _, b in arcs], dtype=np.int64)
    flat, p_start, p_len = _walk_paths(np.arange(n, dtype=np.int64), np.array(ep), nb, n_nb, u, v)
    got = [flat[p_start[i]:p_start[i + 1]].tolist() for i in range(len(p_len))]
    assert got == _brute_paths(n, arcs, ep)
    assert (np.diff(p_start) == p_len).all()
