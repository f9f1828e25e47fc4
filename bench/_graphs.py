"""Synthetic road graphs and facility-location instances for the benchmarks.

A perturbed grid stands in for a road network: local roads on a jittered 1 km lattice with some
links missing, arterials every few rows and columns, and motorways on a coarser lattice. It has the
degree (≈ 3–4), planarity and speed mix of a real road graph, and is built straight into a CSR
matrix so that a province-sized graph (≥ 500,000 nodes) takes seconds rather than minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

#: Speeds of the synthetic road classes, km/h (Chinese design speeds: expressway 100–120, arterial 60–80).
SPEEDS_KPH = {"motorway": 110.0, "arterial": 70.0, "local": 40.0}


@dataclass(frozen=True)
class SyntheticRoads:
    """A directed road graph as a CSR matrix of travel times (s), with node positions in km."""

    travel_time_s: sparse.csr_matrix
    x_km: np.ndarray
    y_km: np.ndarray
    #: Indices of nodes on a motorway (where service areas go).
    motorway_nodes: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.travel_time_s.shape[0]

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return self.travel_time_s.nnz


def grid_roads(
    n_nodes: int,
    *,
    spacing_km: float = 1.0,
    arterial_every: int = 8,
    motorway_every: int = 40,
    drop_local_share: float = 0.15,
    seed: int = 0,
) -> SyntheticRoads:
    """A perturbed-grid road graph of about ``n_nodes`` nodes (a square lattice, rounded up).

    Parameters
    ----------
    n_nodes
        Target number of nodes; the lattice side is ``ceil(sqrt(n_nodes))``.
    spacing_km
        Lattice spacing; node positions are jittered by up to 30 % of it.
    arterial_every, motorway_every
        Every ``arterial_every``-th row and column is an arterial, every ``motorway_every``-th a motorway.
    drop_local_share
        Share of local links removed at random, so that routes are not lattice-perfect.
    seed
        Seed of the random generator: the same arguments give the same graph.
    """
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_nodes))
    rows, cols = np.divmod(np.arange(side * side), side)
    x = (cols + rng.uniform(-0.3, 0.3, side * side)) * spacing_km
    y = (rows + rng.uniform(-0.3, 0.3, side * side)) * spacing_km

    def line_class(index: np.ndarray) -> np.ndarray:
        speed = np.full(index.shape, SPEEDS_KPH["local"])
        speed[index % arterial_every == 0] = SPEEDS_KPH["arterial"]
        speed[index % motorway_every == 0] = SPEEDS_KPH["motorway"]
        return speed

    idx = np.arange(side * side).reshape(side, side)
    # Horizontal links run along a row (class from the row), vertical ones along a column.
    h_u, h_v = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    v_u, v_v = idx[:-1, :].ravel(), idx[1:, :].ravel()
    u = np.concatenate([h_u, v_u])
    v = np.concatenate([h_v, v_v])
    speed = np.concatenate([line_class(rows[h_u]), line_class(cols[v_u])])
    keep = (speed > SPEEDS_KPH["local"]) | (rng.random(len(u)) >= drop_local_share)
    u, v, speed = u[keep], v[keep], speed[keep]
    detour = rng.uniform(1.0, 1.3, len(u))
    length_km = np.hypot(x[u] - x[v], y[u] - y[v]) * detour
    seconds = length_km / speed * 3600.0
    n = side * side
    matrix = sparse.csr_matrix(
        (np.concatenate([seconds, seconds]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n)
    )
    on_motorway = (rows % motorway_every == 0) | (cols % motorway_every == 0)
    return SyntheticRoads(matrix, x, y, np.flatnonzero(on_motorway))


def choose_nodes(roads: SyntheticRoads, count: int, *, seed: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """``count`` distinct random nodes of the largest strongly connected part (sorted)."""
    rng = np.random.default_rng(seed)
    pool = _main_component(roads)
    if exclude is not None and len(exclude):
        pool = np.setdiff1d(pool, exclude, assume_unique=False)
    if count > len(pool):
        raise ValueError(f"asked for {count} nodes, the graph has {len(pool)} eligible")
    return np.sort(rng.choice(pool, size=count, replace=False))


def _main_component(roads: SyntheticRoads) -> np.ndarray:
    _, labels = csgraph.connected_components(roads.travel_time_s, directed=True, connection="strong")
    main = np.bincount(labels).argmax()
    return np.flatnonzero(labels == main)


def travel_minutes(
    roads: SyntheticRoads,
    demand_nodes: np.ndarray,
    site_nodes: np.ndarray,
    *,
    limit_min: float = np.inf,
    chunk: int = 128,
) -> np.ndarray:
    """Dense drive times in minutes from each demand node to each site node (``inf`` beyond ``limit_min``).

    Runs many-source Dijkstra from the sites on the reversed graph, ``chunk`` sources at a time so that
    the (chunk × nodes) work array stays small.
    """
    reverse = roads.travel_time_s.T.tocsr()
    out = np.empty((len(demand_nodes), len(site_nodes)))
    limit_s = limit_min * 60.0
    for start in range(0, len(site_nodes), chunk):
        block = site_nodes[start : start + chunk]
        dist = csgraph.dijkstra(reverse, directed=True, indices=block, limit=limit_s)
        out[:, start : start + len(block)] = dist[:, demand_nodes].T / 60.0
    return out
