"""Loading an OSM extract as a ``RoadNetwork``: one streamed read (pyosmium), then ``build`` in arrays.

Also the class speed table, the ``maxspeed`` parser, edge speeds on a networkx graph, and the
expressway subgraph.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import networkx as nx
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from planner import config
from planner.errors import NetworkError
from planner.network import _osm, _stream
from planner.network._tags import first
from planner.network.build import build_network
from planner.network.cache import cache_key, read_cache, write_cache
from planner.network.clip import BBox, Boundary, resolve_clip
from planner.network.places import MAX_ATTACH_KM
from planner.network.service_areas import MAX_SNAP_KM
from planner.network.types import EXPRESSWAY_CLASSES, RoadNetwork

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

#: ``admin_boundaries="shipped"``: the boundaries ``planner.config`` ships with this very source file
#: (the shipped network's), none for any other extract.
SHIPPED: Literal["shipped"] = "shipped"


def load_graph(source: Path | str, *, boundary: Boundary | None = None, bbox: BBox | None = None,
               admin_boundaries: Path | str | Literal["shipped"] | None = SHIPPED) -> nx.MultiDiGraph:
    """The routable road graph of an OSM extract (see ``load_network``, whose cache it shares)."""
    return load_network(source, boundary=boundary, bbox=bbox, admin_boundaries=admin_boundaries).graph


def load_network(
    source: Path | str,
    *,
    boundary: Boundary | None = None,
    bbox: BBox | None = None,
    max_snap_km: float = MAX_SNAP_KM,
    max_attach_km: float = MAX_ATTACH_KM,
    speeds_kph: Mapping[str, float] | None = None,
    admin_boundaries: Path | str | Literal["shipped"] | None = SHIPPED,
    use_cache: bool = True,
) -> RoadNetwork:
    """Load an OSM extract as a ``RoadNetwork``, from the processed-graph cache when possible.

    Parameters
    ----------
    source
        ``.osm``, ``.osm.bz2`` (OSM XML) or ``.osm.pbf`` file.
    boundary
        Clip polygon: a six-digit admin code found in ``admin_boundaries`` (``"441500"``), a GeoJSON
        file with a Polygon or MultiPolygon, or a shapely (Multi)Polygon in WGS84.
    bbox
        Clip box ``(west, south, east, north)`` in degrees; with ``boundary``, both apply.
    max_snap_km
        Service areas farther than this from every motorway carriageway are reported in
        ``unsnapped_service_areas`` instead of being snapped, km.
    max_attach_km
        POIs and places farther than this from every node they may join are reported in
        ``unattached`` instead of being attached, km.
    speeds_kph
        Overrides of ``DEFAULT_SPEEDS_KPH`` by highway class, km/h.
    admin_boundaries
        GeoJSON of admin areas (``adcode`` properties): resolves an admin-code ``boundary``, and its
        ``level == "county"`` features give each place its ``county_code``; ignored when the file
        does not exist. ``"shipped"`` (the default): the file ``planner.config`` ships with this
        source (``config.shipped_admin_boundaries``), none for any other extract. None: no areas.
    use_cache
        Read and write the cache in ``config.cache_dir()/networks``. The key is the sha256 of the
        file's bytes (size, mtime and the first and last 16 MiB for files over 512 MiB) and the
        options, so an edited file or new options never hit a stale entry.
    """
    path, kind = _osm.check_source(source)
    areas = config.shipped_admin_boundaries(path) if admin_boundaries == SHIPPED else admin_boundaries
    clip = resolve_clip(boundary, bbox, admin_boundaries=areas)
    speeds = {**DEFAULT_SPEEDS_KPH, **{str(k): float(v) for k, v in (speeds_kph or {}).items()}}
    if any(not (s > 0) for s in speeds.values()):
        raise NetworkError(f"speeds_kph: expected positive speeds in km/h, got {dict(speeds_kph or {})}")
    if not max_snap_km > 0:
        raise NetworkError(f"max_snap_km: expected a positive distance in km, got {max_snap_km}")
    if not max_attach_km > 0:
        raise NetworkError(f"max_attach_km: expected a positive distance in km, got {max_attach_km}")
    counties = Path(areas) if areas is not None else None
    if counties is not None and not counties.is_file():
        counties = None
    cache_file = None
    if use_cache:
        key = cache_key(path, clip, max_snap_km=max_snap_km, max_attach_km=max_attach_km, speeds=speeds,
                        counties=counties)
        cache_file = config.cache_dir() / "networks" / key
        network = read_cache(cache_file)
        if network is not None:
            network = dataclasses.replace(network, source=str(path))
            _log_warnings(network)
            return network
    network = _build_network(path, kind, clip=clip, max_snap_km=max_snap_km, max_attach_km=max_attach_km,
                             speeds_kph=speeds, counties=counties)
    _log_warnings(network)
    if cache_file is not None:
        write_cache(cache_file, network)
    return network


def _build_network(
    path: Path,
    kind: str,
    *,
    clip: BaseGeometry | None,
    max_snap_km: float,
    max_attach_km: float,
    speeds_kph: Mapping[str, float],
    counties: Path | None,
) -> RoadNetwork:
    """The uncached work of ``load_network``: one streamed read, then clip, prune, attach, simplify, snap."""
    started = time.perf_counter()
    raw = _stream.read_osm(path)
    read_s = time.perf_counter() - started
    network = network_from_read(raw, clip=clip, max_snap_km=max_snap_km, max_attach_km=max_attach_km,
                                speeds_kph=speeds_kph, counties=counties, read_s=read_s)
    del raw
    release_freed_memory()
    return network


def release_freed_memory() -> None:
    """Hand the heap the build freed back to the system (glibc keeps it: +1.2 GB resident after a cold
    1M-node load, 355 MB at 300k); a no-op where ``malloc_trim`` does not exist."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def network_from_read(
    raw: _stream.RawOsm,
    *,
    clip: BaseGeometry | None,
    max_snap_km: float = MAX_SNAP_KM,
    max_attach_km: float = MAX_ATTACH_KM,
    speeds_kph: Mapping[str, float] | None = None,
    counties: Path | None = None,
    read_s: float | None = None,
) -> RoadNetwork:
    """A ``RoadNetwork`` from one streamed read (``read_osm``), clipped to ``clip``; the read is reusable."""
    started = time.perf_counter()
    speeds = DEFAULT_SPEEDS_KPH if speeds_kph is None else speeds_kph
    if clip is not None:
        features = [f for f in raw.features if clip.intersects(Point(f.lon, f.lat))]
        raw = dataclasses.replace(raw, features=features)
    built = build_network(raw, clip=clip, max_snap_km=max_snap_km, max_attach_km=max_attach_km,
                          speeds_kph=speeds, counties=counties)
    arrays = built.arrays
    logger.info("loaded %s: %d nodes, %d edges, %d service-area sides (read %s, processing %.1f s: %s)",
                raw.path.name, arrays.n_nodes, arrays.n_edges, len(built.service_areas),
                "cached" if read_s is None else f"{read_s:.1f} s", time.perf_counter() - started,
                ", ".join(f"{k[:-2]} {v:.2f}" for k, v in built.timings_s.items()))
    return RoadNetwork(arrays=arrays, service_areas=built.service_areas,
                       unsnapped_service_areas=built.unsnapped_service_areas, pois=built.pois, places=built.places,
                       source=str(raw.path), unattached=built.unattached)


def read_osm(source: Path | str) -> _stream.RawOsm:
    """One streamed pass over an OSM file (drivable ways and features), to clip many times with
    ``network_from_read`` — a province read once and cut city by city."""
    path, _ = _osm.check_source(source)
    return _stream.read_osm(path)


def _log_warnings(network: RoadNetwork) -> None:
    """Warnings a planner must see on every load, cached or not."""
    if not network.arrays.class_mask(("motorway",)).any():
        logger.warning("%s: the network has no motorway; expressway corridors and service areas are empty",
                       network.source)
    for u in network.unsnapped_service_areas:
        # A closed service area off today's alignment is expected; an active one off the motorway is not.
        log = logger.warning if u.status == "active" else logger.info
        log("%s: %s service area %s (%s) not snapped: %s", network.source, u.status, u.name, u.osm_id, u.reason)
    for f in network.unattached:
        logger.warning("%s: %s %s (%s) not attached: %s", network.source, f.kind, f.name, f.osm_id, f.reason)


def maxspeed_kph(value: object) -> float | None:
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
            speed = speeds.get(str(first(d.get("highway"))), fallback)
        d["speed_kph"] = float(speed)
        d["travel_time"] = float(d["length"]) / (speed / 3.6)
    return graph


def expressway_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The expressway subgraph (``motorway`` and ``motorway_link`` edges, each carriageway directed).

    Raises ``NetworkError`` when the network has no motorway: asking for expressways of a network
    without any is a mistake worth stopping for (loading such a network only warns).
    """
    edges = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True)
             if first(d.get("highway")) in EXPRESSWAY_CLASSES]
    if not any(first(graph.edges[e].get("highway")) == "motorway" for e in edges):
        name = graph.graph.get("evplan_source", "the network")
        raise NetworkError(f"{name}: expected expressways (highway=motorway), found none")
    return graph.edge_subgraph(edges).copy()
