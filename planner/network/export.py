"""A network as GeoJSON (roads, service areas; RFC 7946 WGS84) and as the counts ``network_info`` reports.

What the CLI's ``evplan network info|export``, the plan's ``service_areas.geojson`` and the service's
``/network`` endpoints write or serve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, TypedDict

import networkx as nx
import shapely
from shapely.geometry import box

from planner.geo import feature_collection, line_feature, point_feature
from planner.network import _snap
from planner.network._tags import first
from planner.network.clip import BBox
from planner.network.types import EXPRESSWAY_CLASSES, RoadNetwork

#: A GeoJSON FeatureCollection as JSON-ready dicts (``planner.geo`` builds them).
FeatureCollection = dict[str, Any]


class ComponentCounts(TypedDict):
    strong: int | None
    weak: int | None


class NetworkInfo(TypedDict):
    """``network_info``'s counts; ``km_by_class`` and ``expressway_km`` in km of directed edges."""

    source: str
    nodes: int
    edges: int
    km_by_class: dict[str, float]
    expressway_km: float
    service_areas: int
    service_areas_active: int
    service_area_ids: int
    unsnapped_service_areas: int
    unsnapped: dict[str, str]
    unattached_features: int
    unattached: dict[str, str]
    places: int
    pois_by_kind: dict[str, int]
    strongly_connected_components: int
    weakly_connected_components: int
    dropped_outside_largest_component: dict[str, float]
    components_before_pruning: ComponentCounts


def roads_geojson(
    graph: nx.MultiDiGraph,
    *,
    classes: Iterable[str] | None = None,
    bbox: BBox | None = None,
) -> FeatureCollection:
    """One LineString per directed edge, WGS84, with its ``highway`` class, ``ref``, name and speeds.

    Parameters
    ----------
    graph
        A graph from ``load_network``.
    classes
        Keep only these highway classes (e.g. ``["motorway", "trunk"]``); default all.
    bbox
        Keep only edges touching ``(west, south, east, north)``, degrees.
    """
    wanted = set(classes) if classes is not None else None
    window = box(*bbox) if bbox is not None else None
    features = []
    for u, v, k, d in graph.edges(keys=True, data=True):
        hwy = first(d.get("highway"))
        if wanted is not None and hwy not in wanted:
            continue
        coords = _snap.edge_coords(graph, u, v, d)
        if window is not None and bbox is not None:
            w, s, e, n = bbox
            xs, ys = coords[:, 0], coords[:, 1]
            if xs.max() < w or xs.min() > e or ys.max() < s or ys.min() > n:
                continue
            if not shapely.LineString(coords).intersects(window):
                continue
        features.append(line_feature([tuple(c) for c in coords], {
            "u": u, "v": v, "key": k, "highway": hwy, "ref": d.get("ref"), "name": d.get("name"),
            "oneway": bool(d.get("oneway", False)), "length_m": round(float(d["length"]), 1),
            "speed_kph": d.get("speed_kph"), "travel_time_s": round(float(d.get("travel_time", 0.0)), 1),
        }))
    return feature_collection(features)


def service_areas_geojson(network: RoadNetwork) -> FeatureCollection:
    """One Point per service-area side (snapped ones, then the unsnapped with ``snapped: false``)."""
    features = [
        point_feature(s.lon, s.lat, {
            "id": s.id, "name": s.name, "name_zh": s.name_zh, "side": s.side, "status": s.status,
            "osm_id": s.osm_id, "ref": s.ref, "snapped": True, "node": s.node,
            "snap_distance_m": s.snap_distance_m, "parking_spaces": s.parking_spaces,
            "grid_capacity_kw": s.grid_capacity_kw, "location_approximate": s.location_approximate,
        })
        for s in network.service_areas
    ]
    features += [
        point_feature(u.lon, u.lat, {
            "id": None, "name": u.name, "name_zh": u.name_zh, "side": None, "status": u.status, "osm_id": u.osm_id,
            "ref": None, "snapped": False, "node": None, "snap_distance_m": None, "parking_spaces": None,
            "grid_capacity_kw": None, "location_approximate": u.location_approximate, "reason": u.reason,
        })
        for u in network.unsnapped_service_areas
    ]
    return feature_collection(features)


def network_info(network: RoadNetwork) -> NetworkInfo:
    """Counts a planner checks a network by: size, km by class, service areas, places, components.

    ``km_by_class`` sums directed edges, so a two-way road counts once per direction and a motorway
    once per carriageway. ``unsnapped`` and ``unattached`` name what lies too far from the network.
    """
    graph = network.graph
    km: Counter[str] = Counter()
    for _, _, d in graph.edges(data=True):
        km[str(first(d.get("highway")))] += float(d["length"]) / 1000.0
    pruned = graph.graph.get("evplan_pruned") or {}
    return NetworkInfo(
        source=network.source,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        km_by_class={k: round(v, 3) for k, v in sorted(km.items(), key=lambda kv: -kv[1])},
        expressway_km=round(sum(v for k, v in km.items() if k in EXPRESSWAY_CLASSES), 3),
        service_areas=len(network.service_areas),
        service_areas_active=sum(s.status == "active" for s in network.service_areas),
        service_area_ids=len({s.id for s in network.service_areas}),
        unsnapped_service_areas=len(network.unsnapped_service_areas),
        unsnapped={u.osm_id: f"{u.name}: {u.reason}" for u in network.unsnapped_service_areas},
        unattached_features=len(network.unattached),
        unattached={f.osm_id: f"{f.kind} {f.name}: {f.reason}" for f in network.unattached},
        places=len(network.places),
        pois_by_kind=dict(sorted(Counter(p.kind for p in network.pois).items())),
        strongly_connected_components=nx.number_strongly_connected_components(graph),
        weakly_connected_components=nx.number_weakly_connected_components(graph),
        dropped_outside_largest_component={k: pruned[k] for k in ("nodes", "edges", "km") if k in pruned},
        components_before_pruning=ComponentCounts(strong=pruned.get("strong_components_before"),
                                                  weak=pruned.get("weak_components_before")),
    )
