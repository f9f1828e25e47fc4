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

if TYPE_CHECKING:
    from planner.network import RoadNetwork

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
    """Directed motorway carriageways (``highway=motorway``, links excluded), shortest parallel edge kept."""
    out = nx.DiGraph()
    for u, v, data in graph.edges(data=True):
        if _first(data.get("highway")) != "motorway":
            continue
        length_km = float(data["length"]) / 1000.0
        if not out.has_edge(u, v) or out[u][v]["length_km"] > length_km:
            out.add_edge(u, v, length_km=length_km, ref=str(_first(data.get("ref")) or "motorway"))
    return out


def corridors(graph: nx.MultiDiGraph) -> list[Corridor]:
    """Split the directed motorway graph into chains between merges, diverges and ends.

    Each chain is one direction of one expressway stretch; windows in ``corridor_windows`` run
    across chains where the motorway continues, so splitting here loses no constraint.
    """
    mg = motorway_graph(graph)
    chains: list[Corridor] = []
    seen_edges: set[tuple[Any, Any]] = set()

    def is_break(n: Any) -> bool:
        return mg.in_degree(n) != 1 or mg.out_degree(n) != 1

    starts = [n for n in mg.nodes if is_break(n)]
    # Pure cycles have no break node; start them anywhere.
    for comp in nx.weakly_connected_components(mg):
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
                pos.append(pos[-1] + mg[u][v]["length_km"])
                if is_break(v) or v == start:
                    break
                u, v = v, next(iter(mg.successors(v)))
            chains.append(_make_corridor(graph, mg, nodes, pos))
    return chains


def _make_corridor(graph: nx.MultiDiGraph, mg: nx.DiGraph, nodes: list[Any], pos: list[float]) -> Corridor:
    refs = [mg[u][v]["ref"] for u, v in itertools.pairwise(nodes)]
    ref = max(set(refs), key=refs.count)
    a, b = graph.nodes[nodes[0]], graph.nodes[nodes[-1]]
    direction = compass(bearing_deg(a["x"], a["y"], b["x"], b["y"]))
    corridor_id = f"{ref} {direction} {nodes[0]}-{nodes[-1]}"
    return Corridor(corridor_id, ref, direction, tuple(nodes), tuple(round(p, 6) for p in pos))


def corridor_windows(
    graph: nx.MultiDiGraph, candidates: Sequence[Candidate], *, range_margin_km: float
) -> list[CorridorWindow]:
    """Every stretch of ``range_margin_km`` along a motorway direction that needs a charger.

    A window starts at a corridor's entry node or just after a candidate site and follows every
    directed motorway path for ``range_margin_km``; a path that leaves the network sooner ends the
    corridor and asks for nothing. This is the flow-refuelling view of a range constraint: a driver
    never covers more than the range margin between chargers.
    """
    mg = motorway_graph(graph)
    at_node: dict[Any, list[str]] = {}
    for cand in candidates:
        for n in cand.corridor_nodes:
            if n in mg:
                at_node.setdefault(n, []).append(cand.site_id)
    where: dict[Any, tuple[Corridor, float]] = {}
    for chain in corridors(graph):
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
    mg: nx.DiGraph, origin: Any, at_node: dict[Any, list[str]], range_km: float
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
            step = mg[node][nxt]["length_km"]
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


def local_access_node(graph: nx.MultiDiGraph, junction: Any, *, max_ramp_km: float = MAX_RAMP_KM) -> Any | None:
    """The local-road node a motorway junction's ramps lead to (nearest by ramp length), or None.

    Walks ``motorway_link`` edges (either direction) from ``junction``; the first node that also
    touches a road of another class (not motorway or motorway_link) is where an interchange's charger
    can stand, off the carriageway and reached from the town over local roads. None means a system
    interchange, whose ramps only join another motorway.
    """
    if junction not in graph:
        return None
    best: dict[Any, float] = {junction: 0.0}
    frontier = [(0.0, junction)]
    while frontier:
        dist, n = heapq.heappop(frontier)
        if dist > best.get(n, math.inf):
            continue
        edges = [(v, d) for _, v, d in graph.out_edges(n, data=True)] + [(u, d) for u, _, d in graph.in_edges(n, data=True)]
        if n != junction and any(_first(d.get("highway")) not in ("motorway", "motorway_link") for _, d in edges):
            return n
        for m, d in edges:
            if _first(d.get("highway")) != "motorway_link":
                continue
            nd = dist + float(d.get("length", 0.0)) / 1000.0
            if nd <= max_ramp_km and nd < best.get(m, math.inf):
                best[m] = nd
                heapq.heappush(frontier, (nd, m))
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
    graph = network.graph
    wanted = set(kinds)
    mg = motorway_graph(graph)
    mw_nodes = list(mg.nodes)
    mw_lon = np.array([graph.nodes[n]["x"] for n in mw_nodes])
    mw_lat = np.array([graph.nodes[n]["y"] for n in mw_nodes])

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
            access = local_access_node(graph, poi.node)
            if access is None:
                continue  # a system interchange (motorway to motorway): no local road to put a charger on
            corridor = near_motorway(poi.lon, poi.lat)
            if access in by_access:  # the other carriageway's junction of the same interchange
                k = by_access[access]
                out[k] = replace(out[k], corridor_nodes=tuple(dict.fromkeys(out[k].corridor_nodes + corridor)))
                continue
            by_access[access] = len(out)
            node, lon, lat = access, float(graph.nodes[access]["x"]), float(graph.nodes[access]["y"])
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
