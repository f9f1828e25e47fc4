"""Road networks from OpenStreetMap extracts: the graph, its expressway service areas, POIs and towns.

``load_network`` streams OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``) or PBF (``.osm.pbf``) once with
pyosmium, clips it to a boundary or bbox, keeps the largest strongly connected part, simplifies it
(osmnx's rules), puts ``length`` (m), ``speed_kph`` and ``travel_time`` (s) on every edge, and snaps
each expressway service-area side onto its own carriageway — all in numpy arrays (``RoadNetwork.arrays``;
``RoadNetwork.graph`` is the networkx view, built on first use). Processed networks are cached on disk
as memory-mapped ``.npy`` files, keyed by the file's content and the options. ``read_osm`` +
``network_from_read`` clip one read many times (a province city by city); ``routing.reach_within``
gives drive times within a threshold as a sparse matrix.

Service areas are read as features, not roads (``highway=services|rest_area`` is not drivable). One OSM element is one side of a service
area; sides of the same name within ``SERVICE_AREA_GROUP_KM`` share one id. Tags read:

* ``highway=services|rest_area`` → status ``active``; ``disused:highway=services`` → ``closed``;
  ``construction:highway=services`` or ``highway=construction`` + ``construction=services`` →
  ``under_construction``;
* ``capacity`` → ``parking_spaces``; ``location=approximate`` → ``location_approximate``;
* ``evplan:grid_capacity_kw`` → ``grid_capacity_kw``: an evplan extension tag (not an OSM convention)
  for the spare grid connection at the site, kW, where the grid company has stated it.

Decisions worth knowing:

* Only the largest strongly connected component is kept (a clip leaves one-way stubs that can be
  entered but not left); ``network_info`` reports what was dropped.
* Nothing far away is attached: a service area farther than ``MAX_SNAP_KM`` from every motorway
  carriageway, or a POI or place farther than ``MAX_ATTACH_KM`` from every node it may join, is
  reported by name with its distance (``unsnapped_service_areas``, ``unattached``) and logged.
* A network without any motorway still loads (a city network serves town coverage), with a logged
  warning; its service areas are reported as unsnapped, and ``expressway_graph`` raises
  ``NetworkError`` because expressways were asked for.
* OSM ids are written ``node/123``, ``way/456``, ``relation/789``: OSM numbers each type apart.
* Service-area nodes inserted on carriageways have negative ids (OSM ids are positive).
* No city is built in: admin codes resolve against the admin boundaries the caller names (by
  default those ``planner.config`` ships with the shipped network, none for any other extract).

Modules: ``types`` (the dataclasses), ``load`` (loading), ``build`` (the processing, in arrays),
``arrays`` (``RoadArrays``), ``clip``, ``cache``,
``service_areas``, ``places`` (POIs and towns), ``nearest`` (``nearest_nodes``), ``export``
(GeoJSON, ``network_info``), ``fetch`` (import and download), ``routing`` (sparse shortest paths);
``_stream`` (the pyosmium reader), ``_osm`` (tag rules, extract writer), ``_snap`` and ``_tags`` are private.
"""

from planner.network.arrays import RoadArrays
from planner.network.cache import CACHE_VERSION, FULL_HASH_MAX_BYTES
from planner.network.clip import (
    BBox,
    Boundary,
    admin_boundary,
    resolve_boundary,
    resolve_clip,
)
from planner.network.export import (
    NetworkInfo,
    network_info,
    roads_geojson,
    service_areas_geojson,
)
from planner.network.fetch import (
    ONLINE_FEATURE_TAGS,
    extract_from_osmnx,
    fetch_place,
    import_extract,
)
from planner.network.load import (
    DEFAULT_SPEEDS_KPH,
    SHIPPED,
    add_edge_speeds,
    expressway_graph,
    load_graph,
    load_network,
    maxspeed_kph,
    network_from_read,
    read_osm,
)
from planner.network.nearest import nearest_nodes
from planner.network.places import MAX_ATTACH_KM
from planner.network.routing import reach_within, to_csr
from planner.network.service_areas import MAX_SNAP_KM, SERVICE_AREA_GROUP_KM
from planner.network.types import (
    EXPRESSWAY_CLASSES,
    FeatureKind,
    Place,
    Poi,
    PoiKind,
    RoadNetwork,
    RoadSide,
    ServiceAreaSide,
    ServiceAreaStatus,
    UnattachedFeature,
    UnsnappedServiceArea,
)

__all__ = [
    "CACHE_VERSION",
    "DEFAULT_SPEEDS_KPH",
    "EXPRESSWAY_CLASSES",
    "FULL_HASH_MAX_BYTES",
    "MAX_ATTACH_KM",
    "MAX_SNAP_KM",
    "ONLINE_FEATURE_TAGS",
    "SERVICE_AREA_GROUP_KM",
    "SHIPPED",
    "BBox",
    "Boundary",
    "FeatureKind",
    "NetworkInfo",
    "Place",
    "Poi",
    "PoiKind",
    "RoadArrays",
    "RoadNetwork",
    "RoadSide",
    "ServiceAreaSide",
    "ServiceAreaStatus",
    "UnattachedFeature",
    "UnsnappedServiceArea",
    "add_edge_speeds",
    "admin_boundary",
    "expressway_graph",
    "extract_from_osmnx",
    "fetch_place",
    "import_extract",
    "load_graph",
    "load_network",
    "maxspeed_kph",
    "nearest_nodes",
    "network_from_read",
    "network_info",
    "reach_within",
    "read_osm",
    "resolve_boundary",
    "resolve_clip",
    "roads_geojson",
    "service_areas_geojson",
    "to_csr",
]
