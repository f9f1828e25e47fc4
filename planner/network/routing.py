"""Shortest-path costs on road graphs with sparse matrices (scipy.sparse.csgraph).

Many-source Dijkstra on a CSR matrix (scipy's compiled loop) is an order of magnitude faster than
networkx's per-source calls on road-like graphs, and a cut-off bounds the work per source.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


@dataclass(frozen=True)
class CsrGraph:
    """A directed graph as a CSR matrix of edge weights, with the node id of each row."""

    matrix: sparse.csr_matrix
    node_ids: tuple[Hashable, ...]
    index: dict[Hashable, int]
    weight: str


def to_csr(graph: nx.MultiDiGraph, *, weight: str = "travel_time") -> CsrGraph:
    """The graph's directed edges as a CSR matrix, keeping the cheapest of parallel edges.

    Parameters
    ----------
    graph
        A road graph whose edges carry ``weight`` (``travel_time`` in s or ``length`` in m).
    weight
        Edge attribute used as the cost.
    """
    node_ids = tuple(graph.nodes)
    index = {n: i for i, n in enumerate(node_ids)}
    rows, cols, vals = [], [], []
    for u, v, data in graph.edges(data=True):
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
