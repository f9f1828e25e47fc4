"""Snapping points to directed motorway edges and splitting edges there (private to ``planner.network``).

Distances use a local equirectangular frame around each point: within the few kilometres a snap
spans, its error is far below OSM's own positional accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString

from planner.geo import M_PER_DEG

#: A cut closer than this to an edge's end reuses the end node instead of splitting the edge.
SAME_NODE_M = 1.0


@dataclass(frozen=True)
class Snap:
    """Where a point meets a directed edge: the edge, the position along it and the point's side."""

    edge: tuple[Any, Any, Any]
    distance_m: float
    #: Distance along the edge's polyline from ``u`` (local metres) and the polyline's length.
    position_m: float
    polyline_m: float
    segment: int
    t: float
    lon: float
    lat: float
    #: True when the point lies to the right of the direction of travel (or on the road).
    on_right: bool
    #: Direction of travel at the snapped point, degrees clockwise from north.
    bearing_deg: float


def edge_coords(graph: nx.MultiDiGraph, u: Any, v: Any, data: dict[str, Any]) -> np.ndarray:
    """The edge's (lon, lat) vertices from ``u`` to ``v``: its geometry, else the straight segment."""
    geom = data.get("geometry")
    if geom is not None:
        return np.asarray(geom.coords, dtype=float)
    a, b = graph.nodes[u], graph.nodes[v]
    return np.array([[a["x"], a["y"]], [b["x"], b["y"]]], dtype=float)


class EdgeIndex:
    """A spatial index over a chosen set of directed edges (e.g. the motorway carriageways)."""

    def __init__(self, graph: nx.MultiDiGraph, edges: Sequence[tuple[Any, Any, Any]]) -> None:
        self.edges = list(edges)
        self.coords = [edge_coords(graph, u, v, graph.edges[u, v, k]) for u, v, k in self.edges]
        self.tree = shapely.STRtree([LineString(c) for c in self.coords]) if self.edges else None

    def snaps(self, lon: float, lat: float, max_m: float) -> list[Snap]:
        """Every indexed edge within ``max_m`` of the point, nearest first."""
        if self.tree is None:
            return []
        dlat = max_m / M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        box = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        out = []
        for i in self.tree.query(box):
            snap = _project(self.edges[i], self.coords[i], lon, lat)
            if snap.distance_m <= max_m:
                out.append(snap)
        return sorted(out, key=lambda s: (s.distance_m, str(s.edge)))

    def nearest_m(self, lon: float, lat: float) -> float | None:
        """Distance to the nearest indexed edge, metres (None when the index is empty)."""
        if self.tree is None:
            return None
        i = int(self.tree.nearest(shapely.Point(lon, lat)))
        return _project(self.edges[i], self.coords[i], lon, lat).distance_m


def _project(edge: tuple[Any, Any, Any], coords: np.ndarray, lon: float, lat: float) -> Snap:
    """The nearest point of a polyline to (lon, lat), in a local frame centred on the point."""
    kx = M_PER_DEG * math.cos(math.radians(lat))
    xy = np.column_stack(((coords[:, 0] - lon) * kx, (coords[:, 1] - lat) * M_PER_DEG))
    a, d = xy[:-1], np.diff(xy, axis=0)
    dd = np.einsum("ij,ij->i", d, d)
    t = np.where(dd > 0, np.clip(-np.einsum("ij,ij->i", a, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0), 0.0)
    q = a + d * t[:, None]
    dist = np.hypot(q[:, 0], q[:, 1])
    i = int(np.argmin(dist))
    seg_len = np.sqrt(dd)
    position = float(seg_len[:i].sum() + seg_len[i] * t[i])
    cross = d[i, 0] * (-a[i, 1]) - d[i, 1] * (-a[i, 0])
    px = coords[i, 0] + (coords[i + 1, 0] - coords[i, 0]) * t[i]
    py = coords[i, 1] + (coords[i + 1, 1] - coords[i, 1]) * t[i]
    bearing = math.degrees(math.atan2(d[i, 0], d[i, 1])) % 360.0
    return Snap(
        edge=edge,
        distance_m=float(dist[i]),
        position_m=position,
        polyline_m=float(seg_len.sum()),
        segment=i,
        t=float(t[i]),
        lon=float(px),
        lat=float(py),
        on_right=bool(cross <= 0 or dist[i] < SAME_NODE_M),
        bearing_deg=bearing,
    )


def split_edge(graph: nx.MultiDiGraph, snaps: Sequence[Snap], next_node_id: int) -> tuple[list[Any], int]:
    """Split one edge at the snapped points so that each gets a node on it; returns the nodes.

    New nodes get ids counting down from ``next_node_id`` (negative: OSM ids are positive). The
    pieces share the edge's attributes; ``length`` and ``travel_time`` are divided in proportion to
    the polyline, so the pieces add up to the original edge.
    """
    u, v, k = snaps[0].edge
    data = dict(graph.edges[u, v, k])
    coords = edge_coords(graph, u, v, data)
    total = snaps[0].polyline_m
    order = sorted(range(len(snaps)), key=lambda j: snaps[j].position_m)
    nodes: list[Any] = [None] * len(snaps)
    cuts: list[tuple[float, Any, Snap]] = []  # (position, node, snap) of interior cuts, in order
    for j in order:
        s = snaps[j]
        if s.position_m < SAME_NODE_M:
            nodes[j] = u
        elif total - s.position_m < SAME_NODE_M:
            nodes[j] = v
        elif cuts and s.position_m - cuts[-1][0] < SAME_NODE_M:
            nodes[j] = cuts[-1][1]
        else:
            node = next_node_id
            next_node_id -= 1
            graph.add_node(node, x=s.lon, y=s.lat, street_count=2)
            cuts.append((s.position_m, node, s))
            nodes[j] = node
    if not cuts:
        return nodes, next_node_id
    graph.remove_edge(u, v, k)
    base = {key: val for key, val in data.items() if key not in ("geometry", "length", "travel_time")}
    length, travel_time = float(data["length"]), data.get("travel_time")
    points = [(0.0, u, 0, 0.0, None)] + [(p, n, s.segment, s.t, s) for p, n, s in cuts]
    points.append((total, v, len(coords) - 2, 1.0, None))
    for (p0, n0, seg0, _t0, s0), (p1, n1, seg1, _t1, s1) in zip(points[:-1], points[1:]):
        piece = [(s0.lon, s0.lat)] if s0 is not None else [tuple(coords[0])]
        piece += [tuple(c) for c in coords[seg0 + 1 : seg1 + 1]]
        piece.append((s1.lon, s1.lat) if s1 is not None else tuple(coords[-1]))
        piece = [c for i, c in enumerate(piece) if i == 0 or c != piece[i - 1]]
        if len(piece) == 1:
            piece.append(piece[0])
        share = (p1 - p0) / total if total > 0 else 0.0
        attrs = dict(base, length=length * share, geometry=LineString(piece))
        if travel_time is not None:
            attrs["travel_time"] = float(travel_time) * share
        graph.add_edge(n0, n1, **attrs)
    return nodes, next_node_id
