"""Gateways: where motorways and trunk roads leave the network, found from the road graph.

A gateway is where traffic from beyond the network enters and leaves it: the end of a motorway
carriageway pair (one carriageway arrives, the other departs; an extract's clip joins them with a
``motorway_link`` U-turn that stands for the road beyond) or the dead end of a two-way trunk road,
within ``MAX_BOUNDARY_KM`` of the network's boundary. Each gets its road ref and compass direction
from the network's centre, and where it leads (``TrafficAssumptions.gateway_toward``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.geo import haversine_m

if TYPE_CHECKING:
    from planner.network import RoadNetwork

#: A road end farther than this from the network's boundary is an interior end (a real terminus or a
#: junction), not a gateway, km. The shipped network's U-turns lie 0.5-2 km inside the city boundary.
MAX_BOUNDARY_KM = 3.0
#: A motorway's arriving and departing carriageway ends closer than this form one gateway, km.
PAIR_KM = 1.5
#: Road classes whose ends are gateways.
GATEWAY_CLASSES = ("motorway", "trunk")
_COMPASS8 = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")


@dataclass(frozen=True)
class Gateway:
    """One place where a motorway or trunk road leaves the network.

    ``entry_node`` is where inbound traffic starts (the departing-into-the-network carriageway's first
    node), ``exit_node`` where outbound traffic ends; on a two-way trunk road they are the same node.
    ``direction`` is the compass point (8) from the network's centre, ``toward`` where it leads.
    """

    gateway_id: str
    ref: str
    highway: str
    direction: str
    toward: str
    entry_node: int
    exit_node: int
    lon: float
    lat: float
    #: Distance from the gateway to the network's boundary, km.
    boundary_km: float
    #: Directed edges (node id pairs) out of a motorway gateway's exit and into its entry (the clip's U-turn,
    #: standing for the road beyond): never routed over, so no trip turns round at the boundary.
    uturn_edges: tuple[tuple[int, int], ...] = ()


def compass8(bearing_deg: float) -> str:
    """The 8-point compass word for a bearing in degrees clockwise from north."""
    return _COMPASS8[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]


def _bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def network_boundary(network: RoadNetwork) -> Any:
    """The network's boundary as a shapely geometry (WGS84): the city polygon of the admin boundaries
    shipped with it (``level=city``), else the convex hull of its nodes."""
    import shapely
    from shapely.geometry import shape

    from planner import config

    path = config.shipped_admin_boundaries(network.source) if network.source else None
    if path is not None and path.is_file():
        feats = json.loads(path.read_text(encoding="utf-8")).get("features", [])
        cities = [shape(f["geometry"]) for f in feats if (f.get("properties") or {}).get("level") == "city"]
        if cities:
            return shapely.union_all(cities).boundary
    a = network.arrays
    return shapely.multipoints(np.column_stack([a.lon, a.lat])).convex_hull.boundary


def _boundary_km(boundary: Any, lon: float, lat: float) -> float:
    """Distance from a point to the boundary, km (equirectangular at the point's latitude)."""
    import shapely
    from shapely.geometry import Point

    p = Point(lon, lat)
    near = shapely.ops.nearest_points(boundary, p)[0]
    return float(haversine_m(lon, lat, near.x, near.y)) / 1000.0


def find_gateways(
    network: RoadNetwork,
    *,
    toward: Mapping[str, str] | None = None,
    boundary: Any = None,
    max_boundary_km: float = MAX_BOUNDARY_KM,
) -> list[Gateway]:
    """The network's gateways (see the module docstring), ordered by id.

    ``toward`` maps a compass point to where it leads (default: ``TrafficAssumptions().gateway_toward``);
    ``boundary`` a shapely geometry in WGS84 (default: ``network_boundary``). Read from the arrays only.
    """
    import shapely.ops  # noqa: F401  (nearest_points)

    from planner.demand.assumptions import TrafficAssumptions

    toward = dict(TrafficAssumptions().gateway_toward if toward is None else toward)
    boundary = network_boundary(network) if boundary is None else boundary
    a = network.arrays
    refs, strings = a.tag("ref"), a.strings
    ids = a.node_id
    centre_lon, centre_lat = float(a.lon.mean()), float(a.lat.mean())

    def ref_of(edges: np.ndarray, default: str) -> str:
        names = [strings[c] for c in refs[edges].tolist() if c >= 0]
        return max(set(names), key=names.count) if names else default

    found: list[tuple[str, str, int, int, tuple[tuple[int, int], ...]]] = []  # (ref, class, entry, exit, uturn)
    mw = np.flatnonzero(a.class_mask(("motorway",)))
    if len(mw):
        has_in = np.zeros(a.n_nodes, dtype=bool)
        has_out = np.zeros(a.n_nodes, dtype=bool)
        has_in[a.v[mw]] = True
        has_out[a.u[mw]] = True
        arriving = np.flatnonzero(has_in & ~has_out)   # a carriageway ends here: traffic leaves
        departing = np.flatnonzero(has_out & ~has_in)  # a carriageway starts here: traffic enters
        used: set[int] = set()
        for x in arriving.tolist():
            if not len(departing):
                break
            d = haversine_m(a.lon[x], a.lat[x], a.lon[departing], a.lat[departing])
            k = int(np.argmin(d))
            y = int(departing[k])
            if d[k] > PAIR_KM * 1000.0 or y in used:
                continue
            used.add(y)
            e = np.concatenate([mw[a.v[mw] == x], mw[a.u[mw] == y]])
            cut = np.flatnonzero((a.u == x) | (a.v == y))
            uturn = tuple(dict.fromkeys((int(ids[a.u[i]]), int(ids[a.v[i]])) for i in cut.tolist()))
            found.append((ref_of(e, "motorway"), "motorway", y, x, uturn))
    tr = np.flatnonzero(a.class_mask(("trunk",)))
    if len(tr):
        nbrs: dict[int, set[int]] = {}
        for u, v in zip(a.u[tr].tolist(), a.v[tr].tolist()):
            nbrs.setdefault(u, set()).add(v)
            nbrs.setdefault(v, set()).add(u)
        for n, s in nbrs.items():
            if len(s) == 1:
                e = tr[(a.u[tr] == n) | (a.v[tr] == n)]
                found.append((ref_of(e, "trunk"), "trunk", n, n, ()))
    out: list[Gateway] = []
    seen: dict[str, int] = {}
    for ref, cls, entry, exit_, uturn in found:
        lon = float((a.lon[entry] + a.lon[exit_]) / 2.0)
        lat = float((a.lat[entry] + a.lat[exit_]) / 2.0)
        bkm = _boundary_km(boundary, lon, lat)
        if bkm > max_boundary_km:
            continue
        direction = compass8(_bearing_deg(centre_lon, centre_lat, lon, lat))
        gid = f"{ref}-{direction}"
        seen[gid] = seen.get(gid, 0) + 1
        if seen[gid] > 1:
            gid = f"{gid}-{seen[gid]}"
        out.append(Gateway(gateway_id=gid, ref=ref, highway=cls, direction=direction,
                           toward=toward.get(direction, direction), entry_node=int(ids[entry]),
                           exit_node=int(ids[exit_]), lon=round(lon, 6), lat=round(lat, 6),
                           boundary_km=round(bkm, 3), uturn_edges=uturn))
    return sorted(out, key=lambda g: g.gateway_id)


__all__ = ["GATEWAY_CLASSES", "MAX_BOUNDARY_KM", "PAIR_KM", "Gateway", "compass8", "find_gateways",
           "network_boundary"]
