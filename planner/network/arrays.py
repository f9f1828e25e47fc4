"""The processed road graph as flat numpy arrays: nodes, directed edges, tags, geometries.

What ``load_network`` builds and caches (one ``.npy`` file per array, memory-mapped on a warm load);
``to_networkx`` makes the osmnx-compatible ``MultiDiGraph`` from it once, ``csr`` the routing matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy import sparse

#: String-valued way tags kept on edges, in the order their code columns are stored.
TAG_KEYS = ("highway", "ref", "name", "maxspeed", "lanes", "junction", "bridge", "tunnel", "access")


@dataclass(eq=False)
class RoadArrays:
    """A directed multigraph as arrays; edge ``i`` runs from node ``u[i]`` to ``v[i]`` (row indices).

    Edges are stored in the order networkx iterates the graph (by source node, then neighbour, then
    key). Tag columns hold codes into ``strings`` (-1: tag absent). ``osmid`` of edge ``i`` is
    ``osmid_flat[osmid_start[i]:osmid_start[i+1]]`` (a list when ``osmid_is_list``); its geometry, when
    it has one (simplified or split edges), is ``geom_xy[geom_start[i]:geom_start[i+1]]``.
    """

    node_id: np.ndarray          # int64 OSM node ids (negative: nodes inserted at service areas)
    lon: np.ndarray              # float64 degrees
    lat: np.ndarray              # float64 degrees
    inserted: np.ndarray         # bool: node inserted on a carriageway at a service area
    u: np.ndarray                # int32 row of the source node
    v: np.ndarray                # int32 row of the target node
    key: np.ndarray              # int32 networkx edge key
    length_m: np.ndarray         # float64
    speed_kph: np.ndarray        # float64
    travel_time_s: np.ndarray    # float64
    oneway: np.ndarray           # bool
    reversed: np.ndarray         # bool
    tags: np.ndarray             # int32 (edges, len(TAG_KEYS)) codes into strings, -1 absent
    strings: list[str]
    osmid_start: np.ndarray      # int64 (edges + 1)
    osmid_flat: np.ndarray       # int64
    osmid_is_list: np.ndarray    # bool
    geom_start: np.ndarray       # int64 (edges + 1); an edge without geometry has an empty range
    geom_xy: np.ndarray          # float64 (points, 2)
    graph_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        """Number of directed edges (parallel edges counted)."""
        return len(self.u)

    def tag(self, key: str) -> np.ndarray:
        """The codes of one tag column (index into ``strings``; -1 where the tag is absent)."""
        return self.tags[:, TAG_KEYS.index(key)]

    def class_mask(self, classes: tuple[str, ...] | list[str] | set[str]) -> np.ndarray:
        """Edges whose ``highway`` value is one of ``classes``."""
        wanted = np.array([s in set(classes) for s in self.strings] + [False], dtype=bool)
        return wanted[self.tag("highway")]

    def csr(self, weight: str = "travel_time", *, edges: np.ndarray | None = None) -> sparse.csr_matrix:
        """Edge costs as a CSR matrix over node rows, the cheapest of parallel edges kept.

        ``weight``: ``travel_time`` (s) or ``length`` (m). Zero costs become 1e-9 so they stay stored.
        ``edges``: a boolean mask of the edges to keep (e.g. ``~class_mask(EXPRESSWAY_CLASSES)``); all by default.
        """
        values = {"travel_time": self.travel_time_s, "length": self.length_m}[weight]
        u, v = self.u, self.v
        if edges is not None:
            u, v, values = u[edges], v[edges], values[edges]
        n = self.n_nodes
        order = np.lexsort((values, v, u))
        r, c, d = u[order], v[order], values[order]
        first = np.ones(len(r), dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        d = np.where(d[first] > 0, d[first], 1e-9)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, r[first].astype(np.int64) + 1, 1)
        return sparse.csr_matrix((d, c[first].astype(np.int32), np.cumsum(indptr)), shape=(n, n))

    def rows_of(self, node_ids: Any) -> np.ndarray:
        """Row of each node id (-1 where the id is not a node of the graph), vectorised."""
        ids = np.asarray(node_ids, dtype=np.int64).ravel()
        order = self._id_order()
        pos = np.searchsorted(self.node_id, ids, sorter=order)
        pos = np.minimum(pos, max(self.n_nodes - 1, 0))
        rows = order[pos] if self.n_nodes else np.zeros(len(ids), dtype=np.int64)
        return np.where((self.n_nodes > 0) & (self.node_id[rows] == ids), rows, -1) if len(ids) else rows

    def _id_order(self) -> np.ndarray:
        order = self.__dict__.get("_id_sort")
        if order is None:
            order = np.argsort(self.node_id, kind="stable")
            self.__dict__["_id_sort"] = order
        return order

    @classmethod
    def from_networkx(cls, graph: nx.MultiDiGraph) -> RoadArrays:
        """The arrays of a networkx road graph (int node ids, ``x``/``y``; edges with ``length`` m and
        optionally ``travel_time`` s, ``speed_kph``, tags): for hand-made or GraphML graphs."""
        ids = list(graph.nodes)
        row = {n: i for i, n in enumerate(ids)}
        strings: list[str] = []
        code: dict[str, int] = {}

        def enc(value: Any) -> int:
            if value is None:
                return -1
            value = str(value[0] if isinstance(value, list) and value else value)
            if value not in code:
                code[value] = len(strings)
                strings.append(value)
            return code[value]

        edges = list(graph.edges(keys=True, data=True))
        m = len(edges)
        length = np.array([float(d.get("length", 0.0)) for *_, d in edges], dtype=float)
        speed = np.array([float(d.get("speed_kph", 0.0)) for *_, d in edges], dtype=float)
        travel = np.array([float(d.get("travel_time", 0.0)) for *_, d in edges], dtype=float)
        return cls(
            node_id=np.array(ids, dtype=np.int64),
            lon=np.array([float(graph.nodes[n]["x"]) for n in ids], dtype=float),
            lat=np.array([float(graph.nodes[n]["y"]) for n in ids], dtype=float),
            inserted=np.zeros(len(ids), dtype=bool),
            u=np.array([row[e[0]] for e in edges], dtype=np.int32), v=np.array([row[e[1]] for e in edges], dtype=np.int32),
            key=np.array([e[2] for e in edges], dtype=np.int32), length_m=length, speed_kph=speed,
            travel_time_s=travel, oneway=np.array([bool(d.get("oneway", False)) for *_, d in edges], dtype=bool),
            reversed=np.array([bool(d.get("reversed", False)) for *_, d in edges], dtype=bool),
            tags=np.array([[enc(d.get(k)) for k in TAG_KEYS] for *_, d in edges], dtype=np.int32).reshape(m, len(TAG_KEYS)),
            strings=strings, osmid_start=np.zeros(m + 1, dtype=np.int64), osmid_flat=np.zeros(0, dtype=np.int64),
            osmid_is_list=np.zeros(m, dtype=bool), geom_start=np.zeros(m + 1, dtype=np.int64),
            geom_xy=np.zeros((0, 2), dtype=float), graph_attrs=dict(graph.graph))

    def to_networkx(self) -> nx.MultiDiGraph:
        """The osmnx-compatible ``MultiDiGraph`` (built once per call: keep the result)."""
        graph = nx.MultiDiGraph(**self.graph_attrs)
        ids = self.node_id.tolist()
        xs, ys, ins = self.lon.tolist(), self.lat.tolist(), self.inserted.tolist()
        graph.add_nodes_from((n, {"x": x, "y": y, "street_count": 2} if i else {"x": x, "y": y})
                             for n, x, y, i in zip(ids, xs, ys, ins))
        geoms = _geometries(self.geom_start, self.geom_xy)
        strings = self.strings
        tag_rows = self.tags.tolist()
        o_start, o_flat, o_list = self.osmid_start.tolist(), self.osmid_flat.tolist(), self.osmid_is_list.tolist()
        u_ids = [ids[i] for i in self.u.tolist()]
        v_ids = [ids[i] for i in self.v.tolist()]

        def edges():
            for i, (u, v, k, length, speed, tt, one, rev, row) in enumerate(zip(
                    u_ids, v_ids, self.key.tolist(), self.length_m.tolist(), self.speed_kph.tolist(),
                    self.travel_time_s.tolist(), self.oneway.tolist(), self.reversed.tolist(), tag_rows)):
                a, b = o_start[i], o_start[i + 1]
                d: dict[str, Any] = {"osmid": o_flat[a:b] if o_list[i] else (o_flat[a] if b > a else None)}
                for key, code in zip(TAG_KEYS, row):
                    if code >= 0:
                        d[key] = strings[code]
                d["oneway"] = one
                d["reversed"] = rev
                d["length"] = length
                g = geoms[i]
                if g is not None:
                    d["geometry"] = g
                d["speed_kph"] = speed
                d["travel_time"] = tt
                yield u, v, k, d

        graph.add_edges_from(edges())
        return graph

    # -------------------------------------------------------------------------------- files

    ARRAY_FIELDS = ("node_id", "lon", "lat", "inserted", "u", "v", "key", "length_m", "speed_kph", "travel_time_s",
                    "oneway", "reversed", "tags", "osmid_start", "osmid_flat", "osmid_is_list", "geom_start",
                    "geom_xy")


def _geometries(start: np.ndarray, xy: np.ndarray) -> list[Any]:
    """One shapely LineString per edge with a geometry range, None for the others (vectorised)."""
    counts = np.diff(start)
    out: list[Any] = [None] * len(counts)
    has = np.flatnonzero(counts > 0)
    if len(has):
        # Ranges are contiguous and in edge order, so every stored point belongs to one geometry in turn.
        idx = np.repeat(np.arange(len(has)), counts[has])
        pts = xy[int(start[0]):int(start[-1])]
        lines = shapely.linestrings(pts, indices=idx)
        for j, i in enumerate(has.tolist()):
            out[i] = lines[j]
    return out
