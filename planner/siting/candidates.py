"""Candidate charger sites, towns to cover and expressway corridors, taken from a road network.

Everything here is geometry and graph bookkeeping; the optimisation lives in ``plan.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from planner.geo import haversine_m

#: Candidate kinds a scenario can draw on.
CANDIDATE_KINDS = ("service_area", "interchange", "fuel", "parking", "town", "depot")
#: Kinds open to the public, and so able to cover a town.
PUBLIC_KINDS = frozenset({"interchange", "fuel", "parking", "town"})


@dataclass(frozen=True)
class Candidate:
    """A place where a charging site could be built."""

    site_id: str
    kind: str
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
class Town:
    """A town or township seat whose residents need a public fast charger within reach."""

    town_id: str
    name: str
    lon: float
    lat: float
    node: Any
    population: int
    county_code: str | None


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
    refs = [mg[u][v]["ref"] for u, v in zip(nodes[:-1], nodes[1:])]
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

