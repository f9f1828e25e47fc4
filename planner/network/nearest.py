"""The one nearest-node search of evplan: WGS84 points to graph nodes, with great-circle distances.

Nodes are indexed as unit vectors on the sphere (a k-d tree), so the nearest node by chord is the
nearest by great circle anywhere on Earth, not only near one latitude; the distances returned are
``planner.geo.haversine_m`` between each point and its node.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from planner.errors import NetworkError
from planner.geo import haversine_m
from planner.network._tags import first
from planner.network.arrays import RoadArrays
from planner.network.types import RoadNetwork


def nearest_nodes(
    network: RoadNetwork | nx.MultiDiGraph,
    lons: ArrayLike,
    lats: ArrayLike,
    *,
    classes: Iterable[str] | None = None,
    exclude_classes: Iterable[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest graph node to each (lon, lat) point and its great-circle distance, m.

    Parameters
    ----------
    network
        A ``RoadNetwork`` or its graph (nodes with ``x``/``y`` in WGS84 degrees).
    lons, lats
        Points in WGS84 degrees: scalars or equal-length sequences.
    classes
        Consider only nodes on an edge of these OSM ``highway`` classes (e.g. ``EXPRESSWAY_CLASSES``).
    exclude_classes
        Consider only nodes on an edge of a class not listed here (e.g. the local roads).

    Returns
    -------
    ``(node_ids, distances_m)``, arrays as long as the points. A caller decides what is too far:
    nothing here attaches a point silently, the distance says how far its node is.

    Raises ``NetworkError`` when no node qualifies.
    """
    if isinstance(network, RoadNetwork):
        # The arrays answer without building the networkx graph.
        arrays = network.arrays
        rows = class_rows(arrays, classes=classes, exclude_classes=exclude_classes)
        if not len(rows):
            what = "" if classes is None and exclude_classes is None else " on the road classes asked for"
            raise NetworkError(f"{network.source}: no node{what} to attach points to")
        order = rows[np.argsort(arrays.node_id[rows], kind="stable")]
        return _NodeIndex(arrays.node_id[order], arrays.lon[order], arrays.lat[order]).query(lons, lats)
    graph = network
    nodes = candidate_nodes(graph, classes=classes, exclude_classes=exclude_classes)
    if not nodes:
        what = "" if classes is None and exclude_classes is None else " on the road classes asked for"
        raise NetworkError(f"{graph.graph.get('evplan_source', 'the network')}: no node{what} to attach points to")
    return _NodeIndex.from_graph(graph, nodes).query(lons, lats)


def class_rows(arrays: RoadArrays, *, classes: Iterable[str] | None = None,
               exclude_classes: Iterable[str] | None = None) -> np.ndarray:
    """Rows of the nodes touching an edge whose class is in ``classes`` and not in ``exclude_classes``."""
    if classes is None and exclude_classes is None:
        return np.arange(arrays.n_nodes)
    unwanted = set(exclude_classes or ())
    ok = [(classes is None or s in set(classes)) and s not in unwanted for s in arrays.strings]
    # An edge without a highway tag (code -1) counts as class None, as ``candidate_nodes`` reads it.
    ok.append(classes is None and None not in unwanted)
    edge_ok = np.array(ok, dtype=bool)[arrays.tag("highway")]
    touched = np.zeros(arrays.n_nodes, dtype=bool)
    touched[arrays.u[edge_ok]] = True
    touched[arrays.v[edge_ok]] = True
    return np.flatnonzero(touched)


def candidate_nodes(
    graph: nx.MultiDiGraph,
    *,
    classes: Iterable[str] | None = None,
    exclude_classes: Iterable[str] | None = None,
) -> list[Hashable]:
    """Nodes touching an edge whose class is in ``classes`` and not in ``exclude_classes`` (sorted)."""
    if classes is None and exclude_classes is None:
        return sorted(graph.nodes)
    wanted = None if classes is None else set(classes)
    unwanted = set(exclude_classes or ())

    def keep(data: dict[str, object]) -> bool:
        hwy = first(data.get("highway"))
        return (wanted is None or hwy in wanted) and hwy not in unwanted

    return sorted({n for u, v, d in graph.edges(data=True) if keep(d) for n in (u, v)})


def _unit_vectors(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lons), np.radians(lats)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


class _NodeIndex:
    """A k-d tree over chosen nodes (ids and WGS84 positions) as points on the unit sphere."""

    def __init__(self, ids: ArrayLike, lon: ArrayLike, lat: ArrayLike) -> None:
        self.ids = np.asarray(ids)
        self.lon = np.asarray(lon, dtype=float)
        self.lat = np.asarray(lat, dtype=float)
        self.tree = cKDTree(_unit_vectors(self.lon, self.lat))

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, nodes: Sequence[Hashable]) -> _NodeIndex:
        """The index of some nodes of a networkx graph (``x``/``y`` attributes)."""
        lon = np.fromiter((graph.nodes[n]["x"] for n in nodes), dtype=float, count=len(nodes))
        lat = np.fromiter((graph.nodes[n]["y"] for n in nodes), dtype=float, count=len(nodes))
        return cls(np.asarray(nodes), lon, lat)

    def query(self, lons: ArrayLike, lats: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        lon = np.atleast_1d(np.asarray(lons, dtype=float))
        lat = np.atleast_1d(np.asarray(lats, dtype=float))
        if lon.shape != lat.shape or lon.ndim != 1:
            raise ValueError(f"lons and lats: expected equal-length sequences, got shapes {lon.shape} and {lat.shape}")
        if not len(lon):
            return self.ids[:0], np.zeros(0)
        _, i = self.tree.query(_unit_vectors(lon, lat))
        return self.ids[i], np.asarray(haversine_m(lon, lat, self.lon[i], self.lat[i]), dtype=float)
