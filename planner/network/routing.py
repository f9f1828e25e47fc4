"""Shortest-path costs on road graphs with sparse matrices (scipy.sparse.csgraph).

``reach_within`` is the one to use at scale: bounded many-source Dijkstra, chunked over sources, that
keeps only the target columns within the cost threshold (a sparse matrix, as large as the answer).
``costs_from`` returns a dense sources × targets array, for small problems.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from planner.network.types import RoadNetwork


@dataclass(frozen=True)
class CsrGraph:
    """A directed graph as a CSR matrix of edge weights, with the node id of each row."""

    matrix: sparse.csr_matrix
    node_ids: tuple[Hashable, ...]
    index: dict[Hashable, int]
    weight: str


def to_csr(graph: nx.MultiDiGraph | RoadNetwork, *, weight: str = "travel_time",
           exclude_classes: Sequence[str] = ()) -> CsrGraph:
    """The graph's directed edges as a CSR matrix, keeping the cheapest of parallel edges.

    Parameters
    ----------
    graph
        A ``RoadNetwork`` (read from its arrays, no networkx graph is built; rows in node order) or
        a road graph whose edges carry ``weight``.
    weight
        ``travel_time`` (s) or ``length`` (m).
    exclude_classes
        OSM ``highway`` classes whose edges are left out (e.g. ``EXPRESSWAY_CLASSES`` for local roads);
        every node keeps its row.
    """
    if isinstance(graph, RoadNetwork):
        arrays = graph.arrays
        ids = arrays.node_id.tolist()
        keep = ~arrays.class_mask(tuple(exclude_classes)) if exclude_classes else None
        return CsrGraph(matrix=arrays.csr(weight, edges=keep), node_ids=tuple(ids),
                        index={n: i for i, n in enumerate(ids)}, weight=weight)
    node_ids = tuple(graph.nodes)
    index = {n: i for i, n in enumerate(node_ids)}
    rows, cols, vals = [], [], []
    skip = set(exclude_classes)
    for u, v, data in graph.edges(data=True):
        h = data.get("highway")
        if skip and (h[0] if isinstance(h, list) and h else h) in skip:
            continue
        rows.append(index[u])
        cols.append(index[v])
        vals.append(float(data[weight]))
    n = len(node_ids)
    coo = sparse.coo_matrix((vals, (rows, cols)), shape=(n, n))
    # Parallel edges: keep the minimum (COO->CSR would sum them).
    order = np.lexsort((coo.data, coo.col, coo.row))
    r, c, d = coo.row[order], coo.col[order], coo.data[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    # Zero-length edges would vanish in a sparse matrix; give them a negligible positive cost.
    d = np.where(d[first] > 0, d[first], 1e-9)
    matrix = sparse.csr_matrix((d, (r[first], c[first])), shape=(n, n))
    return CsrGraph(matrix=matrix, node_ids=node_ids, index=index, weight=weight)


def costs_from(
    csr: CsrGraph, sources: Sequence[Hashable], targets: Sequence[Hashable], *, limit: float = np.inf
) -> np.ndarray:
    """Cost from each source node to each target node (``inf`` where unreachable or above ``limit``).

    Returns an array of shape ``(len(sources), len(targets))`` in the units of the graph's weight.
    """
    if not sources or not targets:
        return np.full((len(sources), len(targets)), np.inf)
    src = np.fromiter((csr.index[s] for s in sources), dtype=np.int64, count=len(sources))
    tgt = np.fromiter((csr.index[t] for t in targets), dtype=np.int64, count=len(targets))
    unique_src, inverse = np.unique(src, return_inverse=True)
    dist = csgraph.dijkstra(csr.matrix, directed=True, indices=unique_src, limit=limit)
    # Pick target columns first: indexing rows first would copy whole sources x nodes blocks.
    return dist[:, tgt][inverse]


#: Work array per chunk of sources in ``reach_within``: chunk × nodes float64 values at most, bytes.
CHUNK_BYTES = 64 * 2**20


def reach_within(
    csr: CsrGraph,
    sources: Sequence[Hashable],
    targets: Sequence[Hashable],
    *,
    max_cost: float,
    chunk_sources: int | None = None,
) -> sparse.csr_matrix:
    """Costs from each source to the targets it reaches within ``max_cost`` (inclusive), sparse.

    Bounded many-source Dijkstra (``csgraph.dijkstra(limit=max_cost)``) over chunks of distinct
    sources; from each chunk only the target columns at or under ``max_cost`` are kept, so memory
    grows with the answer, never with sources × nodes.

    Parameters
    ----------
    csr
        From ``to_csr`` (the network's ``travel_time`` in s or ``length`` in m).
    sources, targets
        Node ids (repeats allowed; each row or column answers for its own entry).
    max_cost
        Threshold in the graph's units (s for ``travel_time``); a pair exactly at it is kept.
    chunk_sources
        Sources per Dijkstra call; default: as many as keep the work array under ``CHUNK_BYTES``.

    Returns
    -------
    A ``len(sources) × len(targets)`` ``scipy.sparse.csr_matrix`` of float64 costs whose stored
    entries are exactly the pairs within ``max_cost``. A source that is itself a target stores an
    explicit 0.0: read the stored structure (``indptr``/``indices``/``data``, or ``tocoo()``), not
    ``nonzero()``, which drops explicit zeros.
    """
    if not max_cost >= 0:
        raise ValueError(f"max_cost: expected a cost >= 0, got {max_cost}")
    n_src, n_tgt = len(sources), len(targets)
    if n_src == 0 or n_tgt == 0:
        return sparse.csr_matrix((n_src, n_tgt), dtype=float)
    src = np.fromiter((csr.index[s] for s in sources), dtype=np.int64, count=n_src)
    tgt = np.fromiter((csr.index[t] for t in targets), dtype=np.int64, count=n_tgt)
    unique_src, inverse = np.unique(src, return_inverse=True)
    n_nodes = csr.matrix.shape[0]
    chunk = chunk_sources or max(1, min(1024, CHUNK_BYTES // (8 * max(n_nodes, 1))))
    # Target columns sorted by node, so each chunk's hits come out in column order.
    tgt_order = np.argsort(tgt, kind="stable")
    tgt_sorted = tgt[tgt_order]
    rows_u, cols, vals = [], [], []
    for start in range(0, len(unique_src), chunk):
        block = unique_src[start : start + chunk]
        dist = csgraph.dijkstra(csr.matrix, directed=True, indices=block, limit=max_cost)
        sub = dist[:, tgt_sorted]
        r, c = np.nonzero(sub <= max_cost)
        rows_u.append(r + start)
        cols.append(tgt_order[c])
        vals.append(sub[r, c])
        del dist, sub
    r_u = np.concatenate(rows_u)
    c = np.concatenate(cols)
    d = np.concatenate(vals)
    # One row per unique source; then every requested source (repeats included) gets its row.
    per_unique = sparse.csr_matrix((d, (r_u, c)), shape=(len(unique_src), n_tgt))
    per_unique.sort_indices()
    return _rows(per_unique, inverse)


def _rows(matrix: sparse.csr_matrix, rows: np.ndarray) -> sparse.csr_matrix:
    """``matrix[rows]`` keeping explicit zeros (scipy's fancy row indexing may drop them)."""
    counts = np.diff(matrix.indptr)[rows]
    indptr = np.r_[0, np.cumsum(counts)]
    starts = matrix.indptr[rows]
    take = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1])
    out = sparse.csr_matrix((matrix.data[take], matrix.indices[take], indptr), shape=(len(rows), matrix.shape[1]))
    out.has_sorted_indices = True
    return out
