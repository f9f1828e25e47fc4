"""Candidate charger sites, towns to cover and expressway corridors, taken from a road network.

Everything here is geometry and graph bookkeeping: which places could hold a charger (service-area
sides, interchanges, fuel stations, car parks, town centres, fleet depots), which towns need one within
reach, and which motorway stretches need one. The optimisation lives in ``plan.py``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, get_args

import networkx as nx
import numpy as np

from planner.geo import haversine_m
from planner.network.types import EXPRESSWAY_CLASSES

if TYPE_CHECKING:
    from planner.network import RoadNetwork
    from planner.network.arrays import RoadArrays

#: Kinds of candidate site.
CandidateKind: TypeAlias = Literal["service_area", "interchange", "fuel", "parking", "town", "depot"]
#: Candidate kinds a scenario can draw on, in their canonical order.
CANDIDATE_KINDS: tuple[CandidateKind, ...] = get_args(CandidateKind)
#: Kinds open to the public, and so able to cover a town.
PUBLIC_KINDS: frozenset[CandidateKind] = frozenset({"interchange", "fuel", "parking", "town"})


@dataclass(frozen=True)
class Candidate:
    """A place where a charging site could be built."""

    site_id: str
    kind: CandidateKind
    name: str
    lon: float
    lat: float
    node: Any
    #: Motorway nodes from which the site is reached without leaving the corridor's direction of travel.
    corridor_nodes: tuple[Any, ...] = ()
    service_area_id: str | None = None
    side: str | None = None
    parking_spaces: int | None = None
    grid_capacity_kw: float | None = None
    #: Fleet vehicles charging at a depot overnight, and their daily energy (kWh).
    depot_vehicles: int = 0
    depot_daily_kwh: float = 0.0
    location_approximate: bool = False

    @property
    def public(self) -> bool:
        """Whether the public can charge here, so that it counts for town coverage."""
        return self.kind in PUBLIC_KINDS


@dataclass(frozen=True)
class Depot:
    """A fleet depot whose plug-in buses or taxis charge overnight (from the fleet records)."""

    depot_id: str
    name: str
    lon: float
    lat: float
    #: Plug-in vehicles based there, and their daily energy, kWh.
    vehicles: int
    daily_kwh: float
    grid_capacity_kw: float | None = None


@dataclass(frozen=True)
class Town:
    """A town or township seat whose residents need a public fast charger within reach."""

    town_id: str
    name: str
    lon: float
    lat: float
    node: Any
    #: Residents (None: unknown).
    population: int | None
    county_code: str | None
    #: Where ``population`` comes from (census table, a county-remainder rule, the OSM tag), None if unknown.
    population_source: str | None = None


@dataclass(frozen=True)
class Corridor:
    """One direction of an expressway: a chain of motorway nodes with cumulative distance (km)."""

    corridor_id: str
    ref: str
    direction: str
    nodes: tuple[Any, ...]
    position_km: tuple[float, ...]

    @property
    def length_km(self) -> float:
        """Length of the corridor, km."""
        return self.position_km[-1] if self.position_km else 0.0


@dataclass(frozen=True)
class CorridorWindow:
    """A stretch of ``range_margin_km`` along a corridor, which must hold at least one charger."""

    corridor_id: str
    ref: str
    direction: str
    #: Where the stretch starts, km from the start of its corridor, and the node there.
    start_km: float
    origin_node: Any
    candidates: tuple[str, ...] = field(default=())

    def describe(self, range_margin_km: float) -> str:
        """The stretch in a planner's words."""
        return (
            f"{self.ref} {self.direction}, km {self.start_km:.1f}-{self.start_km + range_margin_km:.1f} "
            f"of corridor {self.corridor_id}"
        )


def haversine_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in km (vectorised over numpy arrays)."""
    return haversine_m(lon1, lat1, lon2, lat2) / 1000.0


def compass(bearing_deg: float) -> str:
    """The compass word (eastbound, northbound …) for a bearing in degrees clockwise from north."""
    names = ("northbound", "eastbound", "southbound", "westbound")
    return names[int(((bearing_deg % 360) + 45) // 90) % 4]


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def motorway_graph(graph: nx.MultiDiGraph) -> nx.DiGraph:
    """Directed motorway carriageways of a networkx graph as an ``nx.DiGraph`` (for checks and GIS).

    The same graph as ``Motorways``, which is what the plan reads (``motorways(network.arrays)``):
    ``highway=motorway``, links excluded, shortest parallel edge kept.
    """
    out = nx.DiGraph()
    for u, v, data in graph.edges(data=True):
        if _first(data.get("highway")) != "motorway":
            continue
        length_km = float(data["length"]) / 1000.0
        if not out.has_edge(u, v) or out[u][v]["length_km"] > length_km:
            out.add_edge(u, v, length_km=length_km, ref=str(_first(data.get("ref")) or "motorway"))
    return out


@dataclass(frozen=True, eq=False)
class Motorways:
    """Directed motorway carriageways (``highway=motorway``, links excluded), shortest parallel edge kept.

    Read from the network's arrays, never from networkx. ``nodes`` are in order of first appearance
    along the network's edges and ``successors`` in edge order, so every walk over them visits what a
    networkx ``DiGraph`` of the same edges would, in the same order.
    """

    nodes: tuple[int, ...]
    succ: dict[int, list[int]]
    length_km: dict[tuple[int, int], float]
    ref: dict[tuple[int, int], str]
    in_deg: dict[int, int]
    lon: dict[int, float]
    lat: dict[int, float]

    def __contains__(self, node: object) -> bool:
        return node in self.lon

    def successors(self, node: int) -> list[int]:
        """Motorway nodes one carriageway edge downstream of ``node``."""
        return self.succ.get(node, [])

    def in_degree(self, node: int) -> int:
        """Distinct motorway nodes with an edge into ``node``."""
        return self.in_deg.get(node, 0)

    def out_degree(self, node: int) -> int:
        """Distinct motorway nodes ``node`` has an edge to."""
        return len(self.succ.get(node, ()))

    def edge_km(self, u: int, v: int) -> float:
        """Length of the shortest carriageway edge from ``u`` to ``v``, km."""
        return self.length_km[(u, v)]


def motorways(arrays: RoadArrays) -> Motorways:
    """The network's directed motorway carriageways (see ``Motorways``), from its arrays."""
    idx = np.flatnonzero(arrays.class_mask(("motorway",)))
    ur, vr = arrays.u[idx], arrays.v[idx]
    uid, vid = arrays.node_id[ur].tolist(), arrays.node_id[vr].tolist()
    km = (arrays.length_m[idx] / 1000.0).tolist()
    codes = arrays.tag("ref")[idx].tolist()
    strings = arrays.strings
    refs = [(strings[c] if c >= 0 else "") or "motorway" for c in codes]
    nodes: dict[int, None] = {}
    succ: dict[int, list[int]] = {}
    length: dict[tuple[int, int], float] = {}
    ref: dict[tuple[int, int], str] = {}
    in_deg: dict[int, int] = {}
    for u, v, k, r in zip(uid, vid, km, refs):
        e = (u, v)
        old = length.get(e)
        if old is None:
            nodes.setdefault(u)
            nodes.setdefault(v)
            succ.setdefault(u, []).append(v)
            in_deg[v] = in_deg.get(v, 0) + 1
            length[e], ref[e] = k, r
        elif old > k:
            length[e], ref[e] = k, r
    rows = dict(zip(uid, ur.tolist())) | dict(zip(vid, vr.tolist()))
    lon = {n: float(arrays.lon[rows[n]]) for n in nodes}
    lat = {n: float(arrays.lat[rows[n]]) for n in nodes}
    return Motorways(tuple(nodes), succ, length, ref, in_deg, lon, lat)


def _weak_components(mg: Motorways) -> list[set[int]]:
    """Weakly connected components of the motorway graph (edges taken both ways)."""
    nbrs: dict[int, list[int]] = {n: [] for n in mg.nodes}
    for (u, v) in mg.length_km:
        nbrs[u].append(v)
        nbrs[v].append(u)
    seen: set[int] = set()
    out = []
    for n in mg.nodes:
        if n in seen:
            continue
        comp, stack = {n}, [n]
        while stack:
            for m in nbrs[stack.pop()]:
                if m not in comp:
                    comp.add(m)
                    stack.append(m)
        seen |= comp
        out.append(comp)
    return out


def corridors(arrays: RoadArrays | Motorways) -> list[Corridor]:
    """Split the directed motorway graph into chains between merges, diverges and ends.

    Each chain is one direction of one expressway stretch; windows in ``corridor_windows`` run
    across chains where the motorway continues, so splitting here loses no constraint.
    """
    mg = arrays if isinstance(arrays, Motorways) else motorways(arrays)
    chains: list[Corridor] = []
    seen_edges: set[tuple[Any, Any]] = set()

    def is_break(n: Any) -> bool:
        return mg.in_degree(n) != 1 or mg.out_degree(n) != 1

    starts = [n for n in mg.nodes if is_break(n)]
    # Pure cycles have no break node; start them anywhere.
    for comp in _weak_components(mg):
        if not any(is_break(n) for n in comp):
            starts.append(min(comp, key=str))
    for start in sorted(starts, key=str):
        for nxt in sorted(mg.successors(start), key=str):
            if (start, nxt) in seen_edges:
                continue
            nodes, pos = [start], [0.0]
            u, v = start, nxt
            while True:
                seen_edges.add((u, v))
                nodes.append(v)
                pos.append(pos[-1] + mg.edge_km(u, v))
                if is_break(v) or v == start:
                    break
                u, v = v, mg.successors(v)[0]
            chains.append(_make_corridor(mg, nodes, pos))
    return chains


def _make_corridor(mg: Motorways, nodes: list[Any], pos: list[float]) -> Corridor:
    refs = [mg.ref[(u, v)] for u, v in itertools.pairwise(nodes)]
    ref = max(set(refs), key=refs.count)
    a, b = nodes[0], nodes[-1]
    direction = compass(bearing_deg(mg.lon[a], mg.lat[a], mg.lon[b], mg.lat[b]))
    corridor_id = f"{ref} {direction} {nodes[0]}-{nodes[-1]}"
    return Corridor(corridor_id, ref, direction, tuple(nodes), tuple(round(p, 6) for p in pos))


def corridor_windows(
    arrays: RoadArrays | Motorways, candidates: Sequence[Candidate], *, range_margin_km: float
) -> list[CorridorWindow]:
    """Every stretch of ``range_margin_km`` along a motorway direction that needs a charger.

    A window starts at a corridor's entry node or just after a candidate site and follows every
    directed motorway path for ``range_margin_km``; a path that leaves the network sooner ends the
    corridor and asks for nothing. This is the flow-refuelling view of a range constraint: a driver
    never covers more than the range margin between chargers.
    """
    mg = arrays if isinstance(arrays, Motorways) else motorways(arrays)
    at_node: dict[Any, list[str]] = {}
    for cand in candidates:
        for n in cand.corridor_nodes:
            if n in mg:
                at_node.setdefault(n, []).append(cand.site_id)
    where: dict[Any, tuple[Corridor, float]] = {}
    for chain in corridors(mg):
        for n, km in zip(chain.nodes, chain.position_km):
            where.setdefault(n, (chain, km))
    origins = [n for n in mg.nodes if mg.in_degree(n) == 0] + sorted(at_node, key=str)
    windows: dict[tuple[str, ...], CorridorWindow] = {}
    for origin in origins:
        for sites, reached_km in _paths_within(mg, origin, at_node, range_margin_km):
            if reached_km < range_margin_km:
                continue  # the motorway ends first: no full-length stretch here
            found = tuple(sorted(set(sites)))
            key = found or ("", str(origin))  # keep every empty stretch: each is an infeasibility to report
            if key not in windows:
                chain, km = where[origin]
                windows[key] = CorridorWindow(chain.corridor_id, chain.ref, chain.direction, km, origin, found)
    return list(windows.values())


def _paths_within(
    mg: Motorways, origin: Any, at_node: dict[Any, list[str]], range_km: float
) -> Iterable[tuple[list[str], float]]:
    """Depth-first walk of every directed path from ``origin`` up to ``range_km``.

    Yields the candidate sites met strictly after the origin and the distance the path reached
    (``range_km`` when the path is long enough, less when the motorway ends).
    """
    stack: list[tuple[Any, float, list[str], frozenset[Any]]] = [(origin, 0.0, [], frozenset({origin}))]
    while stack:
        node, dist, sites, visited = stack.pop()
        extended = False
        for nxt in mg.successors(node):
            step = mg.edge_km(node, nxt)
            if dist + step > range_km:
                extended = True
                yield sites, range_km
                continue
            if nxt in visited:
                continue
            extended = True
            stack.append((nxt, dist + step, sites + at_node.get(nxt, []), visited | {nxt}))
        if not extended:
            yield sites, dist


# --------------------------------------------------------------------------------------------------
# From a road network
# --------------------------------------------------------------------------------------------------


#: A depot farther than this from every graph node lies outside the network's area (records of another
#: city, a wrong coordinate): it is reported with its distance and not sited. Generous because a coarse
#: network's nearest node may be a few km from a depot reached over streets the graph leaves out.
MAX_DEPOT_ATTACH_KM = 10.0


@dataclass(frozen=True)
class UnsitedDepot:
    """A fleet depot that was not sited because it lies outside the network's area."""

    depot_id: str
    name: str
    lon: float
    lat: float
    #: Great-circle distance to the nearest graph node, km.
    distance_km: float
    reason: str


def depots_within_reach(
    network: RoadNetwork, depots: Sequence[Depot], *, max_attach_km: float = MAX_DEPOT_ATTACH_KM
) -> tuple[list[Depot], list[UnsitedDepot]]:
    """Split ``depots`` into those near the network and those beyond ``max_attach_km`` of every node.

    A depot beyond reach is never attached to a far node (a Finnish extract must not get Shanwei's bus
    depots); it is returned with its distance so the plan can say which depots it left out and why.
    """
    if not depots:
        return [], []
    from planner.network import nearest_nodes

    _, dist_m = nearest_nodes(network, [d.lon for d in depots], [d.lat for d in depots])
    kept: list[Depot] = []
    unsited: list[UnsitedDepot] = []
    for d, m in zip(depots, dist_m.tolist(), strict=True):
        if m <= max_attach_km * 1000.0:
            kept.append(d)
        else:
            unsited.append(UnsitedDepot(
                depot_id=d.depot_id, name=d.name, lon=d.lon, lat=d.lat, distance_km=round(m / 1000.0, 1),
                reason=f"{m / 1000.0:,.1f} km from the nearest node of the road network (more than "
                       f"{max_attach_km:g} km): outside the network's area",
            ))
    return kept, unsited


#: Longest ramp (motorway_link) walk from a junction to the local road it serves, km.
MAX_RAMP_KM = 5.0


class _Ramps:
    """The ramp (``motorway_link``) edges of a network, both ways, and which nodes touch a local road."""

    def __init__(self, arrays: RoadArrays) -> None:
        self.arrays = arrays
        link = np.flatnonzero(arrays.class_mask(("motorway_link",)))
        local = ~arrays.class_mask(EXPRESSWAY_CLASSES)
        touches = np.zeros(arrays.n_nodes, dtype=bool)
        touches[arrays.u[local]] = True
        touches[arrays.v[local]] = True
        self.touches_local = touches.tolist()
        a, b = arrays.u[link].astype(np.int64), arrays.v[link].astype(np.int64)
        km = arrays.length_m[link] / 1000.0
        rows, nbr, dist = np.r_[a, b], np.r_[b, a], np.r_[km, km]
        order = np.argsort(rows, kind="stable")
        self.start = np.searchsorted(rows[order], np.arange(arrays.n_nodes + 1)).tolist()
        self.nbr = nbr[order].tolist()
        self.km = dist[order].tolist()
        self.ids = arrays.node_id.tolist()


def local_access_node(ramps: _Ramps | RoadArrays, junction: Any, *, max_ramp_km: float = MAX_RAMP_KM) -> Any | None:
    """The local-road node a motorway junction's ramps lead to (nearest by ramp length), or None.

    Walks ``motorway_link`` edges (either direction) from ``junction``; the first node that also
    touches a road of another class (not motorway or motorway_link) is where an interchange's charger
    can stand, off the carriageway and reached from the town over local roads. None means a system
    interchange, whose ramps only join another motorway.
    """
    if not isinstance(ramps, _Ramps):
        ramps = _Ramps(ramps)
    row = int(ramps.arrays.rows_of([junction])[0])
    if row < 0:
        return None
    ids, start, nbr, km, touches = ramps.ids, ramps.start, ramps.nbr, ramps.km, ramps.touches_local
    best: dict[int, float] = {row: 0.0}
    # Heap entries are (distance, node id, row): ties break on the node id.
    frontier = [(0.0, ids[row], row)]
    while frontier:
        dist, n, r = heapq.heappop(frontier)
        if dist > best.get(r, math.inf):
            continue
        if r != row and touches[r]:
            return n
        for k in range(start[r], start[r + 1]):
            m = nbr[k]
            nd = dist + km[k]
            if nd <= max_ramp_km and nd < best.get(m, math.inf):
                best[m] = nd
                heapq.heappush(frontier, (nd, ids[m], m))
    return None


def candidates_from_network(
    network: RoadNetwork,
    *,
    kinds: Iterable[CandidateKind],
    corridor_access_km: float,
    depots: Sequence[Depot] = (),
) -> list[Candidate]:
    """Candidate sites of ``kinds`` on ``network``, each attached to its graph node.

    An interchange is a candidate only where its ramps reach a local road (``local_access_node``): the
    site stands there, one per interchange (both carriageways' junctions), and counts for the motorway
    nodes within ``corridor_access_km`` of its junctions. A depot without electric vehicles is no
    candidate (nothing to charge there).
    """
    arrays = network.arrays
    wanted = set(kinds)
    mg = motorways(arrays)
    mw_nodes = list(mg.nodes)
    mw_lon = np.array([mg.lon[n] for n in mw_nodes])
    mw_lat = np.array([mg.lat[n] for n in mw_nodes])
    ramps = _Ramps(arrays) if "interchange" in wanted else None

    def near_motorway(lon: float, lat: float) -> tuple[Any, ...]:
        if not mw_nodes:
            return ()
        d = haversine_km(lon, lat, mw_lon, mw_lat)
        return tuple(mw_nodes[i] for i in np.flatnonzero(d <= corridor_access_km))

    out: list[Candidate] = []
    if "service_area" in wanted:
        for sa in network.service_areas:
            if sa.status != "active":
                continue
            out.append(
                Candidate(
                    site_id=f"sa:{sa.id}:{sa.side}",
                    kind="service_area",
                    name=f"{sa.name} ({sa.side} side)",
                    lon=sa.lon,
                    lat=sa.lat,
                    node=sa.node,
                    corridor_nodes=(sa.node,),
                    service_area_id=sa.id,
                    side=sa.side,
                    parking_spaces=sa.parking_spaces,
                    grid_capacity_kw=sa.grid_capacity_kw,
                    location_approximate=sa.location_approximate,
                )
            )
    by_access: dict[Any, int] = {}
    for poi in sorted(network.pois, key=lambda p: str(p.osm_id)):
        if poi.kind not in wanted:
            continue
        node, lon, lat, corridor = poi.node, poi.lon, poi.lat, ()
        if poi.kind == "interchange":
            access = local_access_node(ramps, poi.node)
            if access is None:
                continue  # a system interchange (motorway to motorway): no local road to put a charger on
            corridor = near_motorway(poi.lon, poi.lat)
            if access in by_access:  # the other carriageway's junction of the same interchange
                k = by_access[access]
                out[k] = replace(out[k], corridor_nodes=tuple(dict.fromkeys(out[k].corridor_nodes + corridor)))
                continue
            by_access[access] = len(out)
            r = int(arrays.rows_of([access])[0])
            node, lon, lat = access, float(arrays.lon[r]), float(arrays.lat[r])
        out.append(
            Candidate(
                site_id=f"{poi.kind}:{poi.osm_id}",
                kind=poi.kind,
                name=poi.name or f"{poi.kind} {poi.osm_id}",
                lon=lon,
                lat=lat,
                node=node,
                corridor_nodes=corridor,
            )
        )
    if "town" in wanted:
        for place in network.places:
            out.append(
                Candidate(
                    site_id=f"town:{place.osm_id}",
                    kind="town",
                    name=f"{place.name} town centre",
                    lon=place.lon,
                    lat=place.lat,
                    node=place.node,
                )
            )
    charged = [d for d in depots if d.daily_kwh > 0]  # without electric vehicles there is nothing to charge
    if "depot" in wanted and charged:
        from planner.network import nearest_nodes

        depot_nodes, _ = nearest_nodes(network, [d.lon for d in charged], [d.lat for d in charged])
        for d, node in zip(charged, depot_nodes.tolist(), strict=True):
            out.append(
                Candidate(
                    site_id=f"depot:{d.depot_id}",
                    kind="depot",
                    name=d.name or d.depot_id,
                    lon=d.lon,
                    lat=d.lat,
                    node=node,
                    grid_capacity_kw=d.grid_capacity_kw,
                    depot_vehicles=d.vehicles,
                    depot_daily_kwh=d.daily_kwh,
                    location_approximate=True,
                )
            )
    return out


def towns_from_network(network: RoadNetwork) -> list[Town]:
    """Town and township seats of the network, with population (None where unknown)."""
    return [
        Town(
            town_id=str(p.osm_id),
            name=p.name,
            lon=p.lon,
            lat=p.lat,
            node=p.node,
            population=None if p.population is None else int(p.population),
            county_code=p.county_code,
            population_source=None if p.population is None else "OpenStreetMap population tag",
        )
        for p in network.places
    ]
