"""Road networks from OpenStreetMap extracts: the graph, its expressway service areas, POIs and towns.

``load_network`` reads OSM XML (``.osm``, ``.osm.bz2``; roads via osmnx ``graph_from_xml``) or PBF
(``.osm.pbf``; roads via pyrosm), clips it to a boundary or bbox, keeps the largest strongly connected
part, simplifies it, puts ``length`` (m), ``speed_kph`` and ``travel_time`` (s) on every edge, and
snaps each expressway service-area side onto its own carriageway. Processed networks are cached on
disk, keyed by the file's content and the options.

Service areas are read as features, not roads: osmnx (since 2.0.6) and pyrosm drop
``highway=services|rest_area`` ways from drivable networks. One OSM element is one side of a service
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
* A network without any motorway still loads (a city network serves town coverage), with a logged
  warning; its service areas are reported as unsnapped, and ``expressway_graph`` raises
  ``NetworkError`` because expressways were asked for.
* OSM ids are written ``node/123``, ``way/456``, ``relation/789``: OSM numbers each type apart.
* Service-area nodes inserted on carriageways have negative ids (OSM ids are positive).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import pickle
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry

from planner import _osm, _snap, config
from planner.errors import InputFileError, NetworkError
from planner.geo import feature_collection, haversine_m, line_feature, point_feature

logger = logging.getLogger(__name__)

#: Speed per OSM ``highway`` class, km/h, used where a way has no usable ``maxspeed`` tag: the
#: design speeds of Chinese roads (JTG B01-2014 for highways: expressway 120, class-1 80–100,
#: class-2 60–80, class-3 30–40; CJJ 37-2012 for urban roads: arterial 60, secondary 40–50,
#: branch 30–40). Links (ramps) take the common ramp design speed. Pass ``speeds_kph`` to
#: ``load_network`` to override any entry; a class not listed falls back to ``unclassified``.
DEFAULT_SPEEDS_KPH: dict[str, float] = {
    "motorway": 120.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 40.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "road": 30.0,
    "living_street": 10.0,
    "service": 20.0,
}
#: Expressway classes: both carriageways of each are directed edges of the graph.
EXPRESSWAY_CLASSES = ("motorway", "motorway_link")
#: A service area farther than this from every motorway carriageway is reported, not snapped, km.
MAX_SNAP_KM = 2.0
#: Sides with the same name closer than this are one service area, km (sides are typically
#: opposite each other or staggered by up to 2–3 km).
SERVICE_AREA_GROUP_KM = 5.0
#: Files larger than this are keyed by size, mtime and their first and last ``_HASH_PART`` bytes
#: instead of a hash of every byte (hashing a 10 GB country file would cost more than it saves).
FULL_HASH_MAX_BYTES = 512 * 2**20
_HASH_PART = 16 * 2**20
#: Bump when the processing changes, so that stale caches are rebuilt.
CACHE_VERSION = 1
_ADMIN_CODE = re.compile(r"^\d{6}$")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class ServiceAreaSide:
    """One side (one carriageway's direction) of an expressway service area, snapped onto the graph.

    ``node`` is a graph node on the carriageway the side serves; ``side`` is the compass side of the
    road the area lies on; ``lon``/``lat`` are the OSM element's own position (centroid for areas).
    """

    id: str
    name: str
    name_zh: str | None
    side: str
    status: str
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
    status: str = "active"
    name_zh: str | None = None
    location_approximate: bool = False


@dataclass(frozen=True)
class Poi:
    """A candidate charger location: an interchange (motorway junction), a fuel station or a car park."""

    kind: str
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


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A routable road graph with the service areas, POIs and places attached to its nodes.

    ``graph`` is an osmnx-compatible ``MultiDiGraph`` (int node ids, ``x``/``y`` in WGS84 degrees;
    edges with ``length`` m, ``speed_kph``, ``travel_time`` s, ``highway``, ``ref``, ``oneway``).
    """

    graph: nx.MultiDiGraph
    service_areas: tuple[ServiceAreaSide, ...]
    unsnapped_service_areas: tuple[UnsnappedServiceArea, ...]
    pois: tuple[Poi, ...]
    places: tuple[Place, ...]
    source: str


# -------------------------------------------------------------------------------------------- loading


def load_graph(
    source: Path | str,
    *,
    boundary: str | Path | BaseGeometry | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> nx.MultiDiGraph:
    """The routable road graph of an OSM extract (see ``load_network``, whose cache it shares)."""
    return load_network(source, boundary=boundary, bbox=bbox).graph


def load_network(
    source: Path | str,
    *,
    boundary: str | Path | BaseGeometry | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    max_snap_km: float = MAX_SNAP_KM,
    speeds_kph: Mapping[str, float] | None = None,
    county_boundaries: Path | str | None = config.SHANWEI_BOUNDARIES,
    use_cache: bool = True,
) -> RoadNetwork:
    """Load an OSM extract as a ``RoadNetwork``, from the processed-graph cache when possible.

    Parameters
    ----------
    source
        ``.osm``, ``.osm.bz2`` (OSM XML) or ``.osm.pbf`` file.
    boundary
        Clip polygon: a six-digit admin code found in ``config.SHANWEI_BOUNDARIES`` (``"441500"``),
        a GeoJSON file with a Polygon or MultiPolygon, or a shapely (Multi)Polygon in WGS84.
    bbox
        Clip box ``(west, south, east, north)`` in degrees; with ``boundary``, both apply.
    max_snap_km
        Service areas farther than this from every motorway carriageway are reported in
        ``unsnapped_service_areas`` instead of being snapped, km.
    speeds_kph
        Overrides of ``DEFAULT_SPEEDS_KPH`` by highway class, km/h.
    county_boundaries
        GeoJSON whose ``level == "county"`` features give each place its ``county_code`` (``adcode``);
        ignored when the file does not exist.
    use_cache
        Read and write the cache in ``config.cache_dir()/networks``. The key is the sha256 of the
        file's bytes (size, mtime and the first and last 16 MiB for files over 512 MiB) and the
        options, so an edited file or new options never hit a stale entry.
    """
    path, kind = _osm.check_source(source)
    clip = resolve_clip(boundary, bbox)
    speeds = {**DEFAULT_SPEEDS_KPH, **{str(k): float(v) for k, v in (speeds_kph or {}).items()}}
    if any(not (s > 0) for s in speeds.values()):
        raise NetworkError(f"speeds_kph: expected positive speeds in km/h, got {dict(speeds_kph or {})}")
    if not max_snap_km > 0:
        raise NetworkError(f"max_snap_km: expected a positive distance in km, got {max_snap_km}")
    counties = Path(county_boundaries) if county_boundaries is not None else None
    if counties is not None and not counties.is_file():
        counties = None
    cache_file = None
    if use_cache:
        key = _cache_key(path, clip, max_snap_km, speeds, counties)
        cache_file = config.cache_dir() / "networks" / f"{key}.pickle"
        network = _read_cache(cache_file)
        if network is not None:
            network = dataclasses.replace(network, source=str(path))
            _log_warnings(network)
            return network
    network = _build_network(path, kind, clip=clip, max_snap_km=max_snap_km, speeds_kph=speeds, counties=counties)
    _log_warnings(network)
    if cache_file is not None:
        _write_cache(cache_file, network)
    return network


def _build_network(
    path: Path,
    kind: str,
    *,
    clip: BaseGeometry | None,
    max_snap_km: float,
    speeds_kph: Mapping[str, float],
    counties: Path | None,
) -> RoadNetwork:
    """The uncached work of ``load_network``: read, clip, prune, simplify, weight and attach."""
    started = time.perf_counter()
    read_box = clip.bounds if clip is not None else None
    if kind == "xml":
        content = _osm.read_xml(path)  # first: a truncated file fails here with a clear message
        features = content.features
        raw = _osm.read_xml_graph(path)
    else:
        raw = _osm.read_pbf_graph(path, read_box)
        features = _osm.read_pbf_features(path, read_box)
    if raw.number_of_edges() == 0:
        where = f"inside the clip {_describe_clip(clip)}" if clip is not None and kind == "pbf" else "in the file"
        raise _osm.no_road_error(path, where)
    if clip is not None:
        raw = _clip_graph(raw, clip)
        features = [f for f in features if clip.intersects(Point(f.lon, f.lat))]
        if raw.number_of_edges() == 0:
            raise _osm.no_road_error(path, f"inside the clip {_describe_clip(clip)}")
    raw, pruned = _largest_strong_component(raw)
    # Attach POIs and places before simplifying, and keep their nodes: the nearest node of the full
    # graph is where a town really joins the road, not the next junction kilometres away.
    pois, places = _attach_pois_and_places(raw, features, counties)
    graph = _simplify(raw, keep_nodes={p.node for p in pois} | {p.node for p in places})
    graph.graph.update(
        crs="EPSG:4326",
        evplan_source=path.name,
        evplan_pruned=pruned,
        evplan_clip=_describe_clip(clip) if clip is not None else None,
    )
    add_edge_speeds(graph, speeds_kph=speeds_kph)
    sides, unsnapped = _attach_service_areas(graph, features, max_snap_km=max_snap_km)
    logger.info("loaded %s: %d nodes, %d edges, %d service-area sides in %.1f s", path.name,
                graph.number_of_nodes(), graph.number_of_edges(), len(sides), time.perf_counter() - started)
    return RoadNetwork(graph=graph, service_areas=sides, unsnapped_service_areas=unsnapped, pois=pois,
                       places=places, source=str(path))


def _log_warnings(network: RoadNetwork) -> None:
    """Warnings a planner must see on every load, cached or not."""
    if not any(_first(d.get("highway")) == "motorway" for _, _, d in network.graph.edges(data=True)):
        logger.warning("%s: the network has no motorway; expressway corridors and service areas are empty",
                       network.source)
    for u in network.unsnapped_service_areas:
        # A closed service area off today's alignment is expected; an active one off the motorway is not.
        log = logger.warning if u.status == "active" else logger.info
        log("%s: %s service area %s (%s) not snapped: %s", network.source, u.status, u.name, u.osm_id, u.reason)


# --------------------------------------------------------------------------------------------- clipping


def resolve_clip(
    boundary: str | Path | BaseGeometry | None, bbox: tuple[float, float, float, float] | None = None
) -> BaseGeometry | None:
    """The clip polygon for a boundary (admin code, GeoJSON file or shapely polygon) and/or a bbox."""
    clip = resolve_boundary(boundary) if boundary is not None else None
    if bbox is not None:
        try:
            w, s, e, n = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise NetworkError(f"bbox: expected (west, south, east, north) in degrees, got {bbox!r}") from None
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise NetworkError(f"bbox: expected west < east and south < north within WGS84 bounds, got {bbox!r}")
        clip = box(w, s, e, n) if clip is None else clip.intersection(box(w, s, e, n))
        if clip.is_empty:
            raise NetworkError(f"bbox {bbox!r} does not overlap the boundary {boundary!r}")
    return clip


def resolve_boundary(boundary: str | Path | BaseGeometry) -> BaseGeometry:
    """A boundary polygon from an admin code (``"441500"``), a GeoJSON file or a shapely polygon."""
    if isinstance(boundary, BaseGeometry):
        return _as_polygon(boundary, "boundary")
    text = str(boundary)
    if _ADMIN_CODE.match(text):
        return admin_boundary(text)
    path = Path(text)
    if not path.is_file():
        raise InputFileError(path, "a GeoJSON file with a Polygon or MultiPolygon boundary, or a six-digit admin "
                             "code such as 441500", detail="file not found")
    return _as_polygon(_read_geojson_geometry(path), path)


def admin_boundary(code: str, boundaries: Path | str | None = None) -> BaseGeometry:
    """The polygon of an administrative area by its six-digit code (``adcode``) in ``boundaries``.

    ``boundaries`` defaults to ``config.SHANWEI_BOUNDARIES``, read when called.
    """
    path = Path(boundaries if boundaries is not None else config.SHANWEI_BOUNDARIES)
    if not path.is_file():
        raise InputFileError(path, "the admin boundaries GeoJSON (FeatureCollection with 'adcode' properties)",
                             detail=f"file not found, needed to resolve admin code {code}")
    collection = _read_json(path)
    known = []
    for feat in collection.get("features", []):
        adcode = str((feat.get("properties") or {}).get("adcode", ""))
        known.append(adcode)
        if adcode == code:
            return _as_polygon(shape(feat["geometry"]), f"{path} feature {code}")
    raise NetworkError(f"unknown admin code {code!r}: {path} has {', '.join(sorted(known)) or 'no codes'}")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, "a GeoJSON file (UTF-8 JSON)", detail=str(exc)) from None


def _read_geojson_geometry(path: Path) -> BaseGeometry:
    data = _read_json(path)
    if data.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in data.get("features", [])]
    elif data.get("type") == "Feature":
        geoms = [data.get("geometry")]
    else:
        geoms = [data]
    try:
        shapes = [shape(g) for g in geoms if g]
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise InputFileError(path, "a GeoJSON Polygon or MultiPolygon", detail=str(exc)) from None
    if not shapes:
        raise InputFileError(path, "a GeoJSON Polygon or MultiPolygon", detail="no geometry found")
    kinds = sorted({s.geom_type for s in shapes})
    if any(k not in ("Polygon", "MultiPolygon") for k in kinds):
        raise InputFileError(path, "a GeoJSON Polygon or MultiPolygon boundary", detail=f"found {', '.join(kinds)}")
    return shapely.union_all(shapes)


def _as_polygon(geom: BaseGeometry, where: object) -> BaseGeometry:
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise NetworkError(f"{where}: expected a Polygon or MultiPolygon boundary, got a {geom.geom_type}")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.is_empty or geom.area == 0:
        raise NetworkError(f"{where}: expected a boundary polygon with an area, got an empty one")
    return geom


def _describe_clip(clip: BaseGeometry) -> str:
    w, s, e, n = clip.bounds
    return f"{clip.geom_type} within W {w:.4f}, S {s:.4f}, E {e:.4f}, N {n:.4f}"


def _clip_graph(graph: nx.MultiDiGraph, clip: BaseGeometry) -> nx.MultiDiGraph:
    """The subgraph of nodes inside the clip polygon (edges crossing its edge are dropped)."""
    nodes = list(graph.nodes)
    x = np.fromiter((graph.nodes[n]["x"] for n in nodes), dtype=float, count=len(nodes))
    y = np.fromiter((graph.nodes[n]["y"] for n in nodes), dtype=float, count=len(nodes))
    shapely.prepare(clip)
    inside = shapely.intersects_xy(clip, x, y)
    return graph.subgraph([n for n, keep in zip(nodes, inside) if keep]).copy()


# ------------------------------------------------------------------------------------ graph processing


def _largest_strong_component(graph: nx.MultiDiGraph) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    """Keep the largest strongly connected component, so every node reaches and is reached by all."""
    components = list(nx.strongly_connected_components(graph))
    pruned = {"strong_components_before": len(components), "weak_components_before":
              nx.number_weakly_connected_components(graph), "nodes": 0, "edges": 0, "km": 0.0}
    if len(components) <= 1:
        return graph, pruned
    keep = max(components, key=lambda c: (len(c), -min(c)))
    kept = graph.subgraph(keep).copy()
    dropped_m = sum(d["length"] for u, v, d in graph.edges(data=True)) - sum(
        d["length"] for u, v, d in kept.edges(data=True))
    pruned.update(nodes=graph.number_of_nodes() - kept.number_of_nodes(),
                  edges=graph.number_of_edges() - kept.number_of_edges(), km=round(dropped_m / 1000.0, 3))
    logger.info("kept the largest strongly connected component: dropped %d nodes, %d edges (%.1f km)",
                pruned["nodes"], pruned["edges"], pruned["km"])
    return kept, pruned


def _simplify(raw: nx.MultiDiGraph, *, keep_nodes: Iterable[int]) -> nx.MultiDiGraph:
    """Merge chains of degree-2 nodes (osmnx), never across a change of class, speed limit or ref.

    Motorway junction nodes stay so that an interchange keeps its own node.
    """
    import osmnx as ox

    for n in keep_nodes:
        raw.nodes[n]["evplan_keep"] = True
    graph = ox.simplify_graph(raw, node_attrs_include=["evplan_keep"],
                              edge_attrs_differ=["highway", "maxspeed", "ref"], remove_rings=False)
    for _, d in graph.nodes(data=True):
        d.pop("evplan_keep", None)
    for _, _, d in graph.edges(data=True):
        for key, value in list(d.items()):
            if not isinstance(value, list) or key == "osmid":
                continue
            if key in ("oneway", "reversed"):
                d[key] = all(value) if key == "oneway" else any(value)
            else:
                d[key] = ";".join(dict.fromkeys(str(v) for v in value))
    return graph


def maxspeed_kph(value: Any) -> float | None:
    """A ``maxspeed`` tag in km/h: ``"80"``, ``"80 km/h"``, ``"50 mph"``, ``"60;80"`` (mean) or a list.

    Non-numeric values (``none``, ``signals``, ``CN:urban`` …) give None, so the class speed applies.
    """
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        parts = [maxspeed_kph(v) for v in value]
    else:
        text = str(value).strip().lower()
        pieces = [p for p in re.split(r"[;|]", text) if p.strip()]
        if len(pieces) > 1:
            parts = [maxspeed_kph(p) for p in pieces]
        else:
            m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?", text)
            if not m:
                return None
            speed = float(m.group(1)) * {"mph": 1.609344, "knots": 1.852}.get(m.group(2) or "", 1.0)
            return speed if speed > 0 else None
    found = [p for p in parts if p is not None]
    return sum(found) / len(found) if found else None


def add_edge_speeds(graph: nx.MultiDiGraph, *, speeds_kph: Mapping[str, float] | None = None) -> nx.MultiDiGraph:
    """Set ``speed_kph`` (the ``maxspeed`` tag, else the class speed) and ``travel_time`` (s) on every edge.

    Parameters
    ----------
    graph
        Road graph whose edges carry ``length`` (m) and ``highway``; changed in place and returned.
    speeds_kph
        Speed per highway class, km/h; default ``DEFAULT_SPEEDS_KPH``.
    """
    speeds = dict(DEFAULT_SPEEDS_KPH if speeds_kph is None else speeds_kph)
    fallback = speeds.get("unclassified", DEFAULT_SPEEDS_KPH["unclassified"])
    for _, _, d in graph.edges(data=True):
        speed = maxspeed_kph(d.get("maxspeed"))
        if speed is None:
            speed = speeds.get(str(_first(d.get("highway"))), fallback)
        d["speed_kph"] = float(speed)
        d["travel_time"] = float(d["length"]) / (speed / 3.6)
    return graph


def expressway_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The expressway subgraph (``motorway`` and ``motorway_link`` edges, each carriageway directed).

    Raises ``NetworkError`` when the network has no motorway: asking for expressways of a network
    without any is a mistake worth stopping for (loading such a network only warns).
    """
    edges = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True)
             if _first(d.get("highway")) in EXPRESSWAY_CLASSES]
    if not any(_first(graph.edges[e].get("highway")) == "motorway" for e in edges):
        name = graph.graph.get("evplan_source", "the network")
        raise NetworkError(f"{name}: expected expressways (highway=motorway), found none")
    return graph.edge_subgraph(edges).copy()


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


# ---------------------------------------------------------------------------------------- service areas


def _attach_service_areas(
    graph: nx.MultiDiGraph, features: Sequence[_osm.OsmElement], *, max_snap_km: float
) -> tuple[tuple[ServiceAreaSide, ...], tuple[UnsnappedServiceArea, ...]]:
    """Snap each service-area side onto the motorway carriageway it serves and group the sides.

    Right-hand traffic: a side serves the carriageway that has it on its right. The nearest such
    carriageway within ``max_snap_km`` wins; when only carriageways with the area on their left are
    in reach (the other carriageway is missing from the data), the nearest is used and a warning
    logged. The carriageway edge is split at the projected point, so the side has its own node.
    """
    elements = sorted((f for f in features if _osm.service_area_status(f.tags)), key=lambda f: _ref_key(f.ref))
    if not elements:
        return (), ()
    motorway = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if _first(d.get("highway")) == "motorway"]
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
                           "nearest carriageway (%.0f m)", _name(el.tags, el.ref), el.ref, max_snap_km,
                           snaps[0].distance_m)
            chosen.append((el, snaps[0]))
            continue
        nearest = index.nearest_m(el.lon, el.lat)
        reason = ("no motorway in the network" if nearest is None else
                  f"nearest motorway carriageway is {nearest / 1000:.1f} km away, "
                  f"more than max_snap_km={max_snap_km:g}")
        unsnapped.append(UnsnappedServiceArea(
            osm_id=el.ref, name=_name(el.tags, el.ref), lon=el.lon, lat=el.lat,
            distance_m=None if nearest is None else round(nearest, 1), reason=reason,
            status=_osm.service_area_status(el.tags) or "active", name_zh=_name_zh(el.tags),
            location_approximate=el.tags.get("location") == "approximate"))
    by_edge: dict[tuple[Any, Any, Any], list[int]] = defaultdict(list)
    for j, (_, snap) in enumerate(chosen):
        by_edge[snap.edge].append(j)
    node_of: list[int] = [0] * len(chosen)
    next_id = min(0, min(graph.nodes)) - 1
    for edge in sorted(by_edge, key=str):
        idx = by_edge[edge]
        nodes, next_id = _snap.split_edge(graph, [chosen[j][1] for j in idx], next_id)
        for j, n in zip(idx, nodes):
            node_of[j] = n
    sides = []
    for (el, snap), node in zip(chosen, node_of):
        edge_data = _edge_data_at(graph, node, snap)
        sides.append(dict(el=el, snap=snap, node=node, ref=edge_data.get("ref"), side=_side_of_road(el, snap)))
    return _group_sides(sides), tuple(unsnapped)


def _edge_data_at(graph: nx.MultiDiGraph, node: int, snap: _snap.Snap) -> dict[str, Any]:
    for _, _, d in graph.out_edges(node, data=True):
        if _first(d.get("highway")) == "motorway":
            return d
    u, v, _ = snap.edge
    data = graph.get_edge_data(u, v)
    return next(iter(data.values())) if data else {}


def _side_of_road(el: _osm.OsmElement, snap: _snap.Snap) -> str:
    """Compass side of the road the area lies on: from the road to the area, or to the right of travel."""
    if snap.distance_m >= 1.0:
        kx = math.cos(math.radians(snap.lat))
        bearing = math.degrees(math.atan2((el.lon - snap.lon) * kx, el.lat - snap.lat)) % 360.0
    else:
        bearing = (snap.bearing_deg + 90.0) % 360.0
    return ("north", "east", "south", "west")[int((bearing + 45.0) // 90.0) % 4]


def _group_sides(sides: list[dict[str, Any]]) -> tuple[ServiceAreaSide, ...]:
    """One id per service area: sides sharing a name within ``SERVICE_AREA_GROUP_KM`` (single linkage)."""
    groups: list[list[dict[str, Any]]] = []
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in sides:
        key = _group_name(s["el"].tags)
        if key is None:
            groups.append([s])
        else:
            by_name[key].append(s)
    for members in by_name.values():
        graph = nx.Graph()
        graph.add_nodes_from(range(len(members)))
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                a, b = members[i]["el"], members[j]["el"]
                if haversine_m(a.lon, a.lat, b.lon, b.lat) <= SERVICE_AREA_GROUP_KM * 1000:
                    graph.add_edge(i, j)
        groups.extend([members[i] for i in sorted(comp)] for comp in nx.connected_components(graph))
    out = []
    for members in groups:
        members.sort(key=lambda s: _ref_key(s["el"].ref))
        base = "sa-" + _short_ref(members[0]["el"].ref)
        used: dict[str, int] = {}
        for s in members:
            count = used.get(s["side"], 0)
            used[s["side"]] = count + 1
            # Two sides of one name on the same side of the road (an area mapped twice, say) are kept
            # apart under their own id rather than merged or dropped.
            sid = base if count == 0 else f"{base}-{_short_ref(s['el'].ref)}"
            el, snap = s["el"], s["snap"]
            out.append(ServiceAreaSide(
                id=sid, name=_name(el.tags, el.ref), name_zh=_name_zh(el.tags), side=s["side"],
                status=_osm.service_area_status(el.tags) or "active", lon=el.lon, lat=el.lat, node=int(s["node"]),
                osm_id=el.ref, ref=None if s["ref"] is None else str(s["ref"]),
                snap_distance_m=round(snap.distance_m, 1), parking_spaces=_int_tag(el.tags.get("capacity")),
                grid_capacity_kw=_float_tag(el.tags.get("evplan:grid_capacity_kw")),
                location_approximate=el.tags.get("location") == "approximate"))
    return tuple(sorted(out, key=lambda s: (s.id, s.side)))


def _group_name(tags: Mapping[str, str]) -> str | None:
    for key in ("name", "name:zh"):
        if tags.get(key):
            return f"{key}={tags[key].strip()}"
    return None


def _name(tags: Mapping[str, str], ref: str) -> str:
    for key in ("name", "name:zh", "name:en"):
        if tags.get(key):
            return tags[key].strip()
    return f"unnamed {ref}"


def _name_zh(tags: Mapping[str, str]) -> str | None:
    for key in ("name:zh", "name:zh-Hans", "name:zh-CN"):
        if tags.get(key):
            return tags[key].strip()
    name = tags.get("name")
    return name.strip() if name and _CJK.search(name) else None


def _ref_key(ref: str) -> tuple[int, int]:
    kind, _, num = ref.partition("/")
    return ({"node": 0, "way": 1, "relation": 2}.get(kind, 3), int(num) if num.lstrip("-").isdigit() else 0)


def _short_ref(ref: str) -> str:
    kind, _, num = ref.partition("/")
    return f"{kind[:1]}{num}"


def _int_tag(value: str | None) -> int | None:
    m = re.match(r"\s*(\d+)", value or "")
    return int(m.group(1)) if m else None


def _float_tag(value: str | None) -> float | None:
    m = re.match(r"\s*(\d+(?:\.\d+)?)", value or "")
    return float(m.group(1)) if m else None


# ------------------------------------------------------------------------------------- POIs and places


def _attach_pois_and_places(
    graph: nx.MultiDiGraph, features: Sequence[_osm.OsmElement], counties: Path | None
) -> tuple[tuple[Poi, ...], tuple[Place, ...]]:
    """Interchanges at their junction node; fuel, parking and places at the nearest local-road node."""
    local = _NearestNode(graph, lambda d: _first(d.get("highway")) not in EXPRESSWAY_CLASSES)
    express = _NearestNode(graph, lambda d: _first(d.get("highway")) in EXPRESSWAY_CLASSES)
    pois: list[Poi] = []
    places: list[Place] = []
    county_shapes = _county_polygons(counties)
    for el in sorted(features, key=lambda f: _ref_key(f.ref)):
        kind = _osm.poi_kind(el.tags, el.osm_type)
        if kind == "interchange":
            node = el.osm_id if el.osm_id in graph else express.nearest(el.lon, el.lat)
            name = el.tags.get("name") or (f"exit {el.tags['ref']}" if el.tags.get("ref") else None)
        elif kind is not None:
            node = local.nearest(el.lon, el.lat)
            name = el.tags.get("name") or el.tags.get("name:zh") or el.tags.get("brand")
        elif _osm.is_place(el.tags):
            node = local.nearest(el.lon, el.lat)
            if node is not None:
                county = next((code for code, poly in county_shapes if poly.intersects(Point(el.lon, el.lat))), None)
                places.append(Place(osm_id=el.ref, name=_name(el.tags, el.ref), place=el.tags["place"], lon=el.lon,
                                    lat=el.lat, node=int(node), population=_int_tag(
                                        (el.tags.get("population") or "").replace(",", "").replace(" ", "")),
                                    county_code=county))
            continue
        else:
            continue
        if node is not None:
            pois.append(Poi(kind=kind, osm_id=el.ref, name=name, lon=el.lon, lat=el.lat, node=int(node)))
    return tuple(pois), tuple(places)


class _NearestNode:
    """Nearest graph node among those touching an edge that passes ``accept`` (all nodes if none do)."""

    def __init__(self, graph: nx.MultiDiGraph, accept: Any) -> None:
        accepted = {n for u, v, d in graph.edges(data=True) if accept(d) for n in (u, v)}
        # A network of expressways only still attaches its towns: to the nearest node of any kind.
        nodes = sorted(accepted or graph.nodes)
        self.nodes = nodes
        if not nodes:
            self.tree = None
            return
        xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], dtype=float)
        self.kx = math.cos(math.radians(float(xy[:, 1].mean())))
        self.tree = cKDTree(np.column_stack((xy[:, 0] * self.kx, xy[:, 1])))

    def nearest(self, lon: float, lat: float) -> int | None:
        if self.tree is None:
            return None
        _, i = self.tree.query((lon * self.kx, lat))
        return self.nodes[int(i)]


def _county_polygons(path: Path | None) -> list[tuple[str, BaseGeometry]]:
    if path is None:
        return []
    data = _read_json(path)
    out = []
    for feat in data.get("features", []):
        props = feat.get("properties") or {}
        if props.get("level") == "county" and feat.get("geometry"):
            geom = shape(feat["geometry"])
            shapely.prepare(geom)
            out.append((str(props.get("adcode")), geom))
    return out


# ---------------------------------------------------------------------------------------------- caching


def _file_digest(path: Path) -> str:
    """sha256 of the file's bytes; for files over ``FULL_HASH_MAX_BYTES``, of its size, mtime and ends."""
    stat = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        if stat.st_size <= FULL_HASH_MAX_BYTES:
            for chunk in iter(lambda: fh.read(2**20), b""):
                h.update(chunk)
        else:
            h.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            h.update(fh.read(_HASH_PART))
            fh.seek(-_HASH_PART, os.SEEK_END)
            h.update(fh.read(_HASH_PART))
    return h.hexdigest()


def _cache_key(path: Path, clip: BaseGeometry | None, max_snap_km: float, speeds: Mapping[str, float],
               counties: Path | None) -> str:
    parts = {
        "version": CACHE_VERSION,
        "file": _file_digest(path),
        "clip": None if clip is None else hashlib.sha256(shapely.to_wkb(shapely.normalize(clip))).hexdigest(),
        "max_snap_km": float(max_snap_km),
        "speeds": sorted(speeds.items()),
        "counties": None if counties is None else _file_digest(counties),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _read_cache(cache_file: Path) -> RoadNetwork | None:
    if not cache_file.is_file():
        return None
    try:
        with cache_file.open("rb") as fh:
            payload = pickle.load(fh)
    except Exception as exc:  # a damaged or foreign cache file is rebuilt, never trusted
        logger.warning("ignoring unreadable network cache %s: %s", cache_file, exc)
        return None
    if not isinstance(payload, dict) or payload.get("version") != CACHE_VERSION:
        return None
    network = payload.get("network")
    return network if isinstance(network, RoadNetwork) else None


def _write_cache(cache_file: Path, network: RoadNetwork) -> None:
    """Pickle the network next to its final name, then rename: readers never see half a file."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"version": CACHE_VERSION, "network": network}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache_file)
    except OSError as exc:
        logger.warning("could not write the network cache %s: %s", cache_file, exc)


# ---------------------------------------------------------------------------------------------- exports


def roads_geojson(
    graph: nx.MultiDiGraph,
    *,
    classes: Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
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
        hwy = _first(d.get("highway"))
        if wanted is not None and hwy not in wanted:
            continue
        coords = _snap.edge_coords(graph, u, v, d)
        if window is not None:
            w, s, e, n = bbox  # type: ignore[misc]
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


def service_areas_geojson(network: RoadNetwork) -> dict[str, Any]:
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


def network_info(network: RoadNetwork) -> dict[str, Any]:
    """Counts a planner checks a network by: size, km by class, service areas, places, components.

    ``km_by_class`` sums directed edges, so a two-way road counts once per direction and a motorway
    once per carriageway.
    """
    graph = network.graph
    km: Counter[str] = Counter()
    for _, _, d in graph.edges(data=True):
        km[str(_first(d.get("highway")))] += float(d["length"]) / 1000.0
    pruned = graph.graph.get("evplan_pruned") or {}
    return {
        "source": network.source,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "km_by_class": {k: round(v, 3) for k, v in sorted(km.items(), key=lambda kv: -kv[1])},
        "expressway_km": round(sum(v for k, v in km.items() if k in EXPRESSWAY_CLASSES), 3),
        "service_areas": len(network.service_areas),
        "service_areas_active": sum(s.status == "active" for s in network.service_areas),
        "service_area_ids": len({s.id for s in network.service_areas}),
        "unsnapped_service_areas": len(network.unsnapped_service_areas),
        "unsnapped": {u.osm_id: f"{u.name}: {u.reason}" for u in network.unsnapped_service_areas},
        "places": len(network.places),
        "pois_by_kind": dict(sorted(Counter(p.kind for p in network.pois).items())),
        "strongly_connected_components": nx.number_strongly_connected_components(graph),
        "weakly_connected_components": nx.number_weakly_connected_components(graph),
        "dropped_outside_largest_component": {k: pruned[k] for k in ("nodes", "edges", "km") if k in pruned},
        "components_before_pruning": {"strong": pruned.get("strong_components_before"),
                                      "weak": pruned.get("weak_components_before")},
    }


# ----------------------------------------------------------------------------------------------- import


def import_extract(
    file: Path | str, *, boundary: str | Path | BaseGeometry, out_path: Path | str
) -> Path:
    """Clip a real OSM extract (XML or PBF) to a boundary and write it as OSM XML that evplan loads.

    Kept: every drivable way with a node inside the boundary (whole, so carriageways are not cut
    mid-way), and the service areas, junctions, fuel stations, car parks and places inside it. A
    feature mapped as a way or relation is written as a node at its centroid, tagged
    ``evplan:osm_element=way/<id>`` so that its OSM id is kept.
    """
    from planner import __version__

    path, kind = _osm.check_source(file)
    if boundary is None:
        raise NetworkError("import needs a boundary: an admin code such as 441500 or a GeoJSON polygon file")
    clip = resolve_clip(boundary)
    assert clip is not None
    extract = _osm.read_extract(path, kind, clip)
    if not extract.ways:
        raise _osm.no_road_error(path, f"inside the boundary {boundary} ({_describe_clip(clip)})")
    if not any(t.get("highway") == "motorway" for _, _, t in extract.ways):
        logger.warning("%s: no motorway inside the boundary %s", path, boundary)
    out = _osm.write_osm_xml(extract, Path(out_path), bounds=clip.bounds,
                             generator=f"evplan {__version__} import of {path.name}")
    logger.info("wrote %s: %d nodes, %d ways, %d features", out, len(extract.node_xy), len(extract.ways),
                len(extract.features))
    return out


# ------------------------------------------------------------------------------------- online (Overpass)

#: What ``fetch_place`` asks Overpass for besides the drivable roads: the features ``load_network`` reads.
ONLINE_FEATURE_TAGS: dict[str, list[str]] = {
    "highway": ["services", "rest_area", "motorway_junction"],
    "disused:highway": ["services"],
    "construction:highway": ["services"],
    "amenity": ["fuel", "parking"],
    "place": ["city", "town", "village", "suburb", "township"],
}
#: Edge attributes of an osmnx graph written back as way tags.
_ONLINE_WAY_TAGS = ("highway", "ref", "name", "name:zh", "maxspeed", "lanes", "junction", "bridge", "tunnel")


def fetch_place(place: str, *, out_path: Path | str) -> Path:
    """Download a place's drivable roads and features from OpenStreetMap (osmnx, Overpass) as OSM XML.

    Needs internet access, so it is never used in tests; the conversion it relies on,
    ``extract_from_osmnx``, is. The file written loads with ``load_network`` like any extract.
    """
    import osmnx as ox

    from planner import __version__

    try:
        polygon = ox.geocode_to_gdf(place).union_all()
        graph = ox.graph_from_polygon(polygon, network_type="drive", simplify=False, retain_all=True)
        features = ox.features_from_polygon(polygon, tags=ONLINE_FEATURE_TAGS)
    except Exception as exc:  # osmnx raises assorted network and lookup errors
        raise NetworkError(f"could not download {place!r} from OpenStreetMap (Overpass): {exc}") from exc
    extract = extract_from_osmnx(graph, features)
    return _osm.write_osm_xml(extract, Path(out_path), bounds=polygon.bounds,
                              generator=f"evplan {__version__} fetch of {place}")


def extract_from_osmnx(graph: nx.MultiDiGraph, features: Any) -> _osm.Extract:
    """An unsimplified osmnx graph and an osmnx features frame as an ``Extract`` ready to write.

    Each directed edge becomes a one-way way of two nodes, so the graph read back has exactly the
    same directed edges; a feature that is a graph node (a motorway junction) keeps its tags there.
    """
    node_xy = {int(n): (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    ways = []
    for i, (u, v, data) in enumerate(graph.edges(data=True), start=1):
        if "geometry" in data:
            raise NetworkError("extract_from_osmnx needs an unsimplified graph (simplify=False)")
        tags = {k: _tag_text(data[k]) for k in _ONLINE_WAY_TAGS if _osm._present(data.get(k))}
        ways.append((i, [int(u), int(v)], {**tags, "oneway": "yes"}))
    node_tags: dict[int, dict[str, str]] = {}
    elements: list[_osm.OsmElement] = []
    if features is not None and len(features):
        frame = features.reset_index()
        for row in frame.to_dict("records"):
            tags = {str(k): _tag_text(v) for k, v in row.items()
                    if k not in ("element", "id", "geometry") and _osm._present(v)}
            osm_type, osm_id = str(row["element"]), int(row["id"])
            if osm_type == "node" and osm_id in node_xy:
                node_tags[osm_id] = tags
                continue
            point = row["geometry"].centroid
            elements.append(_osm.OsmElement(osm_type, osm_id, tags, float(point.x), float(point.y)))
    return _osm.Extract(node_xy=node_xy, node_tags=node_tags, ways=ways, features=elements)


def _tag_text(value: Any) -> str:
    """An osmnx attribute as OSM tag text (lists, from merged ways, joined with ';' as OSM does)."""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)
