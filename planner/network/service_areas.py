"""Expressway service areas: each side snapped onto the carriageway it serves, sides grouped by name.

Right-hand traffic: a side serves the carriageway that has it on its right. A side farther than
``MAX_SNAP_KM`` from every motorway carriageway is reported as an ``UnsnappedServiceArea``.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from planner.geo import haversine_m
from planner.network import _osm, _snap
from planner.network._tags import (
    first,
    float_tag,
    int_tag,
    name,
    name_zh,
    ref_key,
    short_ref,
)
from planner.network.types import RoadSide, ServiceAreaSide, UnsnappedServiceArea

logger = logging.getLogger(__name__)

#: A service area farther than this from every motorway carriageway is reported, not snapped, km.
MAX_SNAP_KM = 2.0
#: Sides with the same name closer than this are one service area, km (sides are typically
#: opposite each other or staggered by up to 2–3 km).
SERVICE_AREA_GROUP_KM = 5.0


@dataclass(frozen=True)
class _Side:
    """A snapped side before grouping: the element, where it met the road, its node and road."""

    el: _osm.OsmElement
    snap: _snap.Snap
    node: int
    ref: object
    side: RoadSide


def attach_service_areas(
    graph: Any, features: Sequence[_osm.OsmElement], *, max_snap_km: float,
    motorway: Sequence[tuple[int, int, int]] | None = None, next_node_id: int | None = None,
) -> tuple[tuple[ServiceAreaSide, ...], tuple[UnsnappedServiceArea, ...]]:
    """Snap each service-area side onto the motorway carriageway it serves and group the sides.

    The nearest carriageway with the side on its right within ``max_snap_km`` wins; when only
    carriageways with the area on their left are in reach (the other carriageway is missing from
    the data), the nearest is used and a warning logged. The carriageway edge is split at the
    projected point, so the side has its own node (``graph`` is changed in place).

    ``graph`` is a networkx ``MultiDiGraph`` or anything with the same edge and node access (the
    loader's edge table); ``motorway`` lists its ``highway=motorway`` edges and ``next_node_id`` the
    first id for inserted nodes when the caller knows them.
    """
    elements = sorted((f for f in features if _osm.service_area_status(f.tags)), key=lambda f: ref_key(f.ref))
    if not elements:
        return (), ()
    if motorway is None:
        motorway = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True)
                    if first(d.get("highway")) == "motorway"]
    index = _snap.EdgeIndex(graph, motorway)
    max_m = max_snap_km * 1000.0
    chosen: list[tuple[_osm.OsmElement, _snap.Snap]] = []
    unsnapped: list[UnsnappedServiceArea] = []
    for el in elements:
        snaps = index.snaps(el.lon, el.lat, max_m)
        right = [s for s in snaps if s.on_right]
        if right:
            chosen.append((el, right[0]))
            continue
        if snaps:
            logger.warning("service area %s (%s): no carriageway within %.1f km has it on its right; snapped to the "
                           "nearest carriageway (%.0f m)", name(el.tags, el.ref), el.ref, max_snap_km,
                           snaps[0].distance_m)
            chosen.append((el, snaps[0]))
            continue
        nearest = index.nearest_m(el.lon, el.lat)
        reason = ("no motorway in the network" if nearest is None else
                  f"nearest motorway carriageway is {nearest / 1000:.1f} km away, "
                  f"more than max_snap_km={max_snap_km:g}")
        unsnapped.append(UnsnappedServiceArea(
            osm_id=el.ref, name=name(el.tags, el.ref), lon=el.lon, lat=el.lat,
            distance_m=None if nearest is None else round(nearest, 1), reason=reason,
            status=_osm.service_area_status(el.tags) or "active", name_zh=name_zh(el.tags),
            location_approximate=el.tags.get("location") == "approximate"))
    by_edge: dict[tuple[Hashable, Hashable, Hashable], list[int]] = defaultdict(list)
    for j, (_, snap) in enumerate(chosen):
        by_edge[snap.edge].append(j)
    node_of: list[int] = [0] * len(chosen)
    next_id = min(0, min(graph.nodes)) - 1 if next_node_id is None else next_node_id
    for edge in sorted(by_edge, key=str):
        idx = by_edge[edge]
        nodes, next_id = _snap.split_edge(graph, [chosen[j][1] for j in idx], next_id)
        for j, n in zip(idx, nodes):
            node_of[j] = n
    sides = [
        _Side(el=el, snap=snap, node=node, ref=_edge_data_at(graph, node, snap).get("ref"), side=_side_of_road(el, snap))
        for (el, snap), node in zip(chosen, node_of)
    ]
    return _group_sides(sides), tuple(unsnapped)


def _edge_data_at(graph: Any, node: int, snap: _snap.Snap) -> Mapping[str, Any]:
    for _, _, d in graph.out_edges(node, data=True):
        if first(d.get("highway")) == "motorway":
            return d
    u, v, _ = snap.edge
    data = graph.get_edge_data(u, v)
    return next(iter(data.values())) if data else {}


def _side_of_road(el: _osm.OsmElement, snap: _snap.Snap) -> RoadSide:
    """Compass side of the road the area lies on: from the road to the area, or to the right of travel."""
    if snap.distance_m >= 1.0:
        kx = math.cos(math.radians(snap.lat))
        bearing = math.degrees(math.atan2((el.lon - snap.lon) * kx, el.lat - snap.lat)) % 360.0
    else:
        bearing = (snap.bearing_deg + 90.0) % 360.0
    sides: tuple[RoadSide, ...] = ("north", "east", "south", "west")
    return sides[int((bearing + 45.0) // 90.0) % 4]


def _group_sides(sides: list[_Side]) -> tuple[ServiceAreaSide, ...]:
    """One id per service area: sides sharing a name within ``SERVICE_AREA_GROUP_KM`` (single linkage)."""
    groups: list[list[_Side]] = []
    by_name: dict[str, list[_Side]] = defaultdict(list)
    for s in sides:
        key = _group_name(s.el.tags)
        if key is None:
            groups.append([s])
        else:
            by_name[key].append(s)
    for members in by_name.values():
        graph = nx.Graph()
        graph.add_nodes_from(range(len(members)))
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                a, b = members[i].el, members[j].el
                if haversine_m(a.lon, a.lat, b.lon, b.lat) <= SERVICE_AREA_GROUP_KM * 1000:
                    graph.add_edge(i, j)
        groups.extend([members[i] for i in sorted(comp)] for comp in nx.connected_components(graph))
    out = []
    for members in groups:
        members.sort(key=lambda s: ref_key(s.el.ref))
        base = "sa-" + short_ref(members[0].el.ref)
        used: dict[str, int] = {}
        for s in members:
            count = used.get(s.side, 0)
            used[s.side] = count + 1
            # Two sides of one name on the same side of the road (an area mapped twice, say) are kept
            # apart under their own id rather than merged or dropped.
            sid = base if count == 0 else f"{base}-{short_ref(s.el.ref)}"
            el, snap = s.el, s.snap
            out.append(ServiceAreaSide(
                id=sid, name=name(el.tags, el.ref), name_zh=name_zh(el.tags), side=s.side,
                status=_osm.service_area_status(el.tags) or "active", lon=el.lon, lat=el.lat, node=int(s.node),
                osm_id=el.ref, ref=None if s.ref is None else str(s.ref),
                snap_distance_m=round(snap.distance_m, 1), parking_spaces=int_tag(el.tags.get("capacity")),
                grid_capacity_kw=float_tag(el.tags.get("evplan:grid_capacity_kw")),
                location_approximate=el.tags.get("location") == "approximate"))
    return tuple(sorted(out, key=lambda s: (s.id, s.side)))


def _group_name(tags: Mapping[str, str]) -> str | None:
    for key in ("name", "name:zh"):
        if tags.get(key):
            return f"{key}={tags[key].strip()}"
    return None
