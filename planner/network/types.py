"""What a loaded road network is: the graph and the service areas, POIs and places attached to it.

Plain frozen dataclasses and the ``Literal`` vocabularies they use, so that every other module of
``planner.network`` (and the siting that reads a network) shares one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypedDict

import networkx as nx

if TYPE_CHECKING:
    from planner.network.arrays import RoadArrays

#: State of a service area in OSM: ``highway=services|rest_area``, ``disused:highway=services``,
#: ``construction:highway=services``.
ServiceAreaStatus = Literal["active", "closed", "under_construction"]
#: Compass side of the road a service-area side lies on.
RoadSide = Literal["north", "east", "south", "west"]
#: Candidate kinds read from OSM: motorway junctions, ``amenity=fuel``, ``amenity=parking``.
PoiKind = Literal["interchange", "fuel", "parking"]
#: What a feature that was not attached to the network was meant to be.
FeatureKind = Literal["interchange", "fuel", "parking", "place"]

#: Expressway classes: both carriageways of each are directed edges of the graph.
EXPRESSWAY_CLASSES = ("motorway", "motorway_link")


@dataclass(frozen=True)
class ServiceAreaSide:
    """One side (one carriageway's direction) of an expressway service area, snapped onto the graph.

    ``node`` is a graph node on the carriageway the side serves; ``side`` is the compass side of the
    road the area lies on; ``lon``/``lat`` are the OSM element's own position (centroid for areas).
    """

    id: str
    name: str
    name_zh: str | None
    side: RoadSide
    status: ServiceAreaStatus
    lon: float
    lat: float
    node: int
    osm_id: str
    ref: str | None
    snap_distance_m: float
    parking_spaces: int | None
    grid_capacity_kw: float | None
    location_approximate: bool


@dataclass(frozen=True)
class UnsnappedServiceArea:
    """A service area no motorway carriageway was found for within the snap distance."""

    osm_id: str
    name: str
    lon: float
    lat: float
    #: Distance to the nearest motorway carriageway, m (None when the network has no motorway).
    distance_m: float | None
    reason: str
    status: ServiceAreaStatus = "active"
    name_zh: str | None = None
    location_approximate: bool = False


@dataclass(frozen=True)
class UnattachedFeature:
    """A POI or place farther from the network than the attach distance: reported, never attached."""

    kind: FeatureKind
    osm_id: str
    name: str
    lon: float
    lat: float
    #: Distance to the nearest node it could have joined, m (None when there is no such node).
    distance_m: float | None
    reason: str


@dataclass(frozen=True)
class Poi:
    """A candidate charger location: an interchange (motorway junction), a fuel station or a car park."""

    kind: PoiKind
    osm_id: str
    name: str | None
    lon: float
    lat: float
    node: int


@dataclass(frozen=True)
class Place:
    """A settlement (``place=city|town|village|suburb|township``) attached to its nearest local-road node."""

    osm_id: str
    name: str
    place: str
    lon: float
    lat: float
    node: int
    population: int | None
    county_code: str | None


class PruneStats(TypedDict):
    """What keeping the largest strongly connected component dropped (``graph.graph["evplan_pruned"]``)."""

    strong_components_before: int
    weak_components_before: int
    nodes: int
    edges: int
    km: float


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A routable road graph with the service areas, POIs and places attached to its nodes.

    ``arrays`` is the graph as numpy arrays (``planner.network.arrays.RoadArrays``: node ids and
    positions, directed edges with ``length_m``, ``speed_kph``, ``travel_time_s``, class, oneway);
    routing and nearest-node searches read it directly. ``graph`` is the same graph as an
    osmnx-compatible ``MultiDiGraph`` (int node ids, ``x``/``y`` in WGS84 degrees; edges with
    ``length`` m, ``speed_kph``, ``travel_time`` s, ``highway``, ``ref``, ``oneway``), built from the
    arrays on first use and kept. ``unsnapped_service_areas`` and ``unattached`` are the features
    that lie too far from the network to be attached (outside the extract or clip, say), each with
    its distance.
    """

    arrays: RoadArrays
    service_areas: tuple[ServiceAreaSide, ...]
    unsnapped_service_areas: tuple[UnsnappedServiceArea, ...]
    pois: tuple[Poi, ...]
    places: tuple[Place, ...]
    source: str
    unattached: tuple[UnattachedFeature, ...] = ()
    _graph: nx.MultiDiGraph | None = field(default=None, repr=False)

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph, built from ``arrays`` once (about 2–3 µs and ~1 kB per edge)."""
        if self._graph is None:
            object.__setattr__(self, "_graph", self.arrays.to_networkx())
        return self._graph

    def __getstate__(self) -> dict[str, object]:
        # Pickle (e.g. to a Dask worker) the arrays only: the receiver rebuilds the graph if it needs it.
        return {**self.__dict__, "_graph": None}

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
