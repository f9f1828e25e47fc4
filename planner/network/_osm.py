"""Reading and writing OpenStreetMap files: OSM XML (``.osm``, ``.osm.bz2``) and PBF (``.osm.pbf``).

Private to ``planner.network``. Roads come through osmnx (XML) or pyrosm (PBF) and leave here as one
raw, unsimplified directed graph with the same attributes whichever reader made it; the features the
road readers drop (service areas, junctions, fuel, parking, places) are read here as ``OsmElement``s.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import math
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.sax import SAXException
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from planner.errors import InputFileError, NetworkError
from planner.geo import haversine_m
from planner.network.types import PoiKind, ServiceAreaStatus

XML_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.xml")
PBF_SUFFIXES = (".osm.pbf", ".pbf")
EXPECTED_SOURCE = "an OpenStreetMap extract (.osm, .osm.bz2 or .osm.pbf)"

#: Place kinds read as towns to cover.
PLACE_KINDS = frozenset({"city", "town", "village", "suburb", "township"})
SERVICE_AREA_VALUES = frozenset({"services", "rest_area"})

#: Tags an element may carry to say which OSM element it stood for before ``import_extract`` turned it
#: into a node (a service-area polygon becomes a node at its centroid).
SOURCE_ELEMENT_TAG = "evplan:osm_element"

# The drivable-way rules of pyrosm's "driving" network (which follow osmnx's "drive" filter), written
# once so that the XML path applies exactly what the PBF reader applies.
_EXCLUDED_HIGHWAY = frozenset(
    "abandoned construction no planned platform proposed raceway razed rest_area services bridleway "
    "bus_guideway busway corridor cycleway elevator escalator footway ladder path pedestrian steps "
    "track trail service".split()
)
_EXCLUDED_SERVICE = frozenset({"emergency_access", "parking", "parking_aisle", "private", "alley", "driveway"})
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
_CLOSED_ACCESS = frozenset({"no", "private"})

#: Way tags kept on raw edges (the readers' other tags are dropped so both readers agree).
EDGE_TAGS = ("highway", "ref", "name", "maxspeed", "lanes", "junction", "bridge", "tunnel", "access")
_META_COLUMNS = frozenset(
    {"id", "lon", "lat", "tags", "visible", "version", "timestamp", "changeset", "geometry", "osm_type",
     "uid", "user", "nodes", "members", "u", "v", "length"}
)


# ------------------------------------------------------------------------------------------ source files


def source_kind(path: Path) -> str:
    """``"xml"`` or ``"pbf"`` from the file name; an unsupported suffix is an ``InputFileError``."""
    name = path.name.lower()
    if name.endswith(PBF_SUFFIXES):
        return "pbf"
    if name.endswith(XML_SUFFIXES):
        return "xml"
    raise InputFileError(path, EXPECTED_SOURCE, detail=f"unsupported file name suffix {''.join(path.suffixes)!r}")


def check_source(source: Path | str) -> tuple[Path, str]:
    """The source path and its kind, or an ``InputFileError`` when it is missing or not an OSM file."""
    path = Path(source)
    kind = source_kind(path)
    if not path.is_file():
        raise InputFileError(path, EXPECTED_SOURCE, detail="file not found")
    if path.stat().st_size == 0:
        raise InputFileError(path, EXPECTED_SOURCE, detail="the file is empty")
    return path, kind


@contextlib.contextmanager
def open_xml(path: Path) -> Iterator[IO[bytes]]:
    """Open an OSM XML file, decompressing ``.bz2`` and ``.gz`` on the fly."""
    name = path.name.lower()
    opener: Callable[..., Any] = bz2.open if name.endswith(".bz2") else gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        yield fh


def corrupt(path: Path, expected: str, exc: BaseException) -> InputFileError:
    """The error for a file that stops or breaks part-way (truncated download, wrong content)."""
    return InputFileError(path, expected, detail=f"the file is truncated or corrupt: {exc}")


# -------------------------------------------------------------------------------------------- features


@dataclass(frozen=True)
class OsmElement:
    """A tagged OSM element reduced to one point: a node's position or an area's centroid."""

    osm_type: str
    osm_id: int
    tags: dict[str, str] = field(hash=False)
    lon: float
    lat: float

    @property
    def ref(self) -> str:
        """``node/123``, ``way/456`` or ``relation/789``, as in OSM's own URLs; ids differ per type."""
        return self.tags.get(SOURCE_ELEMENT_TAG) or f"{self.osm_type}/{self.osm_id}"


def service_area_status(tags: dict[str, str]) -> ServiceAreaStatus | None:
    """``active``, ``closed`` or ``under_construction`` for a service-area element, else None."""
    if tags.get("highway") in SERVICE_AREA_VALUES:
        return "active"
    if tags.get("disused:highway") in SERVICE_AREA_VALUES or tags.get("abandoned:highway") in SERVICE_AREA_VALUES:
        return "closed"
    if tags.get("construction:highway") in SERVICE_AREA_VALUES or (
        tags.get("highway") == "construction" and tags.get("construction") in SERVICE_AREA_VALUES
    ):
        return "under_construction"
    return None


def poi_kind(tags: dict[str, str], osm_type: str) -> PoiKind | None:
    """``interchange`` (junction nodes), ``fuel`` or ``parking`` for a POI element, else None."""
    if tags.get("highway") == "motorway_junction" and osm_type == "node":
        return "interchange"
    amenity = tags.get("amenity")
    if amenity == "fuel":
        return "fuel"
    return "parking" if amenity == "parking" else None


def is_place(tags: dict[str, str]) -> bool:
    """A named settlement of a kind the planner covers."""
    return tags.get("place") in PLACE_KINDS and bool(tags.get("name") or tags.get("name:zh") or tags.get("name:en"))


def is_feature(tags: dict[str, str], osm_type: str = "node") -> bool:
    """Whether the loader keeps the element as a service area, POI or place."""
    return service_area_status(tags) is not None or poi_kind(tags, osm_type) is not None or is_place(tags)


def is_drivable(tags: dict[str, str]) -> bool:
    """Whether a way is a public drivable road (pyrosm ``driving`` = osmnx ``drive`` rules)."""
    hwy = tags.get("highway")
    if not hwy or _matches(hwy, _EXCLUDED_HIGHWAY):
        return False
    if _matches(tags.get("area"), {"yes"}) or _matches(tags.get("service"), _EXCLUDED_SERVICE):
        return False
    for key in _ACCESS_KEYS:  # the most specific access tag present decides
        if tags.get(key) is not None:
            return not _matches(tags[key], _CLOSED_ACCESS)
    return True


def _matches(value: str | None, values: Iterable[str]) -> bool:
    if value is None:
        return False
    return any(part.strip() in values for part in str(value).split(";"))


def _centroid(coords: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not coords:
        return None
    if len(coords) >= 4 and coords[0] == coords[-1]:
        poly = Polygon(coords)
        if poly.is_valid and poly.area > 0:
            c = poly.centroid
            return c.x, c.y
    c = (LineString(coords) if len(coords) > 1 else Point(coords[0])).centroid
    return c.x, c.y


@dataclass
class XmlContent:
    """What one pass over an OSM XML file gives: features, and roads when asked (for the importer)."""

    features: list[OsmElement]
    node_xy: dict[int, tuple[float, float]]
    roads: list[tuple[int, list[int], dict[str, str]]]
    bounds: tuple[float, float, float, float] | None


def read_xml(path: Path, *, roads: bool = False) -> XmlContent:
    """Stream an OSM XML file once (``iterparse``): feature elements, and drivable ways when ``roads``.

    Areas (closed ways, multipolygon relations) become their centroid. A file that ends early or is
    not XML raises ``InputFileError`` naming the file.
    """
    expected = "a complete OSM XML file (<osm> with <node>, <way> elements)"
    node_xy: dict[int, tuple[float, float]] = {}
    feature_nodes: list[tuple[int, dict[str, str]]] = []
    feature_ways: list[tuple[int, list[int], dict[str, str]]] = []
    feature_rels: list[tuple[int, list[int], dict[str, str]]] = []
    road_ways: list[tuple[int, list[int], dict[str, str]]] = []
    bounds = None
    seen_root = False
    try:
        with open_xml(path) as fh:
            context = ET.iterparse(fh, events=("start", "end"))
            root = None
            for event, elem in context:
                if event == "start":
                    if root is None:
                        root = elem
                        seen_root = elem.tag == "osm"
                    continue
                tag = elem.tag
                if tag == "node":
                    nid = int(elem.get("id"))
                    node_xy[nid] = (float(elem.get("lon")), float(elem.get("lat")))
                    if len(elem):
                        tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                        if is_feature(tags, "node"):
                            feature_nodes.append((nid, tags))
                elif tag == "way":
                    tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                    refs = [int(nd.get("ref")) for nd in elem.iter("nd")]
                    if is_feature(tags, "way"):
                        feature_ways.append((int(elem.get("id")), refs, tags))
                    if roads and is_drivable(tags):
                        road_ways.append((int(elem.get("id")), refs, tags))
                elif tag == "relation":
                    tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                    if is_feature(tags, "relation"):
                        members = [int(m.get("ref")) for m in elem.iter("member") if m.get("type") == "way"]
                        feature_rels.append((int(elem.get("id")), members, tags))
                elif tag == "bounds":
                    with contextlib.suppress(TypeError, ValueError):
                        bounds = tuple(float(elem.get(k)) for k in ("minlon", "minlat", "maxlon", "maxlat"))
                else:
                    continue
                if root is not None:
                    root.clear()  # keep memory flat on large files
    except ET.ParseError as exc:
        raise corrupt(path, expected, exc) from None
    except (EOFError, OSError, ValueError, TypeError) as exc:
        raise corrupt(path, expected, exc) from None
    if not seen_root:
        raise InputFileError(path, expected, detail="the root element is not <osm>")

    features = [OsmElement("node", nid, tags, *node_xy[nid]) for nid, tags in feature_nodes]
    way_coords: dict[int, list[tuple[float, float]]] = {}
    for wid, refs, tags in feature_ways:
        coords = [node_xy[r] for r in refs if r in node_xy]
        way_coords[wid] = coords
        c = _centroid(coords)
        if c is not None:
            features.append(OsmElement("way", wid, tags, *c))
    if feature_rels:
        member_refs = _way_refs(path, {w for _, members, _ in feature_rels for w in members})
        for rid, members, tags in feature_rels:
            c = _area_centroid([[node_xy[r] for r in member_refs.get(w, []) if r in node_xy] for w in members])
            if c is not None:
                features.append(OsmElement("relation", rid, tags, *c))
    return XmlContent(features=features, node_xy=node_xy, roads=road_ways, bounds=bounds)


def _way_refs(path: Path, way_ids: set[int]) -> dict[int, list[int]]:
    """Node lists of the given ways (a second pass, only when a feature is a relation)."""
    out: dict[int, list[int]] = {}
    with open_xml(path) as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag == "way":
                wid = int(elem.get("id"))
                if wid in way_ids:
                    out[wid] = [int(nd.get("ref")) for nd in elem.iter("nd")]
                elem.clear()
            elif elem.tag == "node":
                elem.clear()
    return out


def _area_centroid(rings: list[list[tuple[float, float]]]) -> tuple[float, float] | None:
    polys = [Polygon(r) for r in rings if len(r) >= 4 and r[0] == r[-1]]
    polys = [p for p in polys if p.is_valid and p.area > 0]
    if polys:
        c = shapely.union_all(polys).centroid
        return c.x, c.y
    points = [pt for r in rings for pt in r]
    if not points:
        return None
    c = MultiPoint(points).centroid
    return c.x, c.y


def read_pbf_features(path: Path, bbox: tuple[float, float, float, float] | None) -> list[OsmElement]:
    """Feature elements of a PBF file (pyrosm), nodes as points and areas by centroid."""
    from pyrosm import OSM

    custom_filter = {
        "highway": ["services", "rest_area", "motorway_junction", "construction"],
        "disused:highway": ["services", "rest_area"],
        "abandoned:highway": ["services", "rest_area"],
        "construction:highway": ["services", "rest_area"],
        "amenity": ["fuel", "parking"],
        "place": sorted(PLACE_KINDS),
    }
    try:
        osm = OSM(str(path), bounding_box=list(bbox) if bbox else None, progress=False)
        with warnings.catch_warnings():  # an extract without any feature is normal
            warnings.simplefilter("ignore", UserWarning)
            gdf = osm.get_data_by_custom_criteria(custom_filter=custom_filter, keep_nodes=True, keep_ways=True,
                                                  keep_relations=True)
    except Exception as exc:  # pyrosm raises assorted errors on damaged blocks
        raise corrupt(path, "a complete OSM PBF file", exc) from None
    out: list[OsmElement] = []
    if gdf is None or len(gdf) == 0:
        return out
    for row in _frame_rows(gdf):
        tags = row["tags"]
        osm_type = str(row.get("osm_type") or "node")
        if not is_feature(tags, osm_type):
            continue
        geom: BaseGeometry | None = row.get("geometry")
        if geom is None or geom.is_empty:
            continue
        c = geom if geom.geom_type == "Point" else geom.centroid
        out.append(OsmElement(osm_type, int(row["id"]), tags, float(c.x), float(c.y)))
    return out


def _frame_rows(gdf: Any) -> Iterator[dict[str, Any]]:
    """Rows of a pyrosm frame as dicts whose ``tags`` merges the tag columns and the JSON ``tags``."""
    tag_cols = [c for c in gdf.columns if c not in _META_COLUMNS]
    records = gdf.to_dict("records")
    for rec in records:
        tags: dict[str, str] = {}
        extra = rec.get("tags")
        if isinstance(extra, str) and extra:
            with contextlib.suppress(ValueError):
                tags.update({str(k): str(v) for k, v in json.loads(extra).items()})
        elif isinstance(extra, dict):
            tags.update({str(k): str(v) for k, v in extra.items()})
        for col in tag_cols:
            value = rec.get(col)
            if present(value):
                tags[col] = str(value)
        rec["tags"] = tags
        yield rec


def present(value: Any) -> bool:
    """Whether a reader's attribute value is set (not None, NaN or empty)."""
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, str) and value == "")


# ------------------------------------------------------------------------------------------------ roads


def read_xml_graph(path: Path) -> nx.MultiDiGraph:
    """Drivable roads of an OSM XML file as a raw directed graph (osmnx ``graph_from_xml``)."""
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    extra = ["motorcar", "motor_vehicle", "vehicle"]
    kept = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = kept + [t for t in extra if t not in kept]
    try:
        graph = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
    except InsufficientResponseError:
        raise InputFileError(path, "an OSM XML file with nodes and ways", detail="it has none") from None
    except (SAXException, EOFError, OSError, ValueError, KeyError) as exc:
        raise corrupt(path, "a complete OSM XML file", exc) from None
    finally:
        ox.settings.useful_tags_way = kept
    drop = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not is_drivable(d)]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    return normalize_raw_graph(graph)


def read_pbf_graph(path: Path, bbox: tuple[float, float, float, float] | None) -> nx.MultiDiGraph:
    """Drivable roads of a PBF file as a raw directed graph (pyrosm ``driving`` network, unsimplified)."""
    from pyrosm import OSM

    try:
        osm = OSM(str(path), bounding_box=list(bbox) if bbox else None, progress=False)
        with warnings.catch_warnings():  # "no edges for the area" becomes our own NetworkError
            warnings.simplefilter("ignore", UserWarning)
            nodes, edges = osm.get_network(nodes=True, network_type="driving",
                                           extra_attributes=["ref", "junction", "access", "motorcar", "vehicle"])
        if edges is None or len(edges) == 0:
            return nx.MultiDiGraph(crs="EPSG:4326")
        graph = osm.to_graph(nodes, edges, graph_type="networkx", simplify=False, retain_all=True,
                             osmnx_compatible=True, progress=False)
    except Exception as exc:  # pyrosm raises assorted errors on damaged blocks
        raise corrupt(path, "a complete OSM PBF file", exc) from None
    return normalize_raw_graph(graph)


def normalize_raw_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """One attribute set for raw graphs from either reader; lengths are great-circle metres.

    Nodes keep ``x``, ``y``; edges keep the ``EDGE_TAGS`` present, ``osmid``, ``oneway``,
    ``reversed`` and ``length``.
    """
    out = nx.MultiDiGraph(crs="EPSG:4326")
    xy = {int(n): (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    out.add_nodes_from((n, {"x": x, "y": y}) for n, (x, y) in xy.items())
    us, vs, attrs = [], [], []
    for u, v, d in graph.edges(data=True):
        a: dict[str, Any] = {"osmid": int(d["osmid"]) if present(d.get("osmid")) else None}
        for key in EDGE_TAGS:
            if present(d.get(key)):
                a[key] = str(d[key])
        a["oneway"] = bool(d.get("oneway", False))
        a["reversed"] = bool(d.get("reversed", False))
        us.append(int(u))
        vs.append(int(v))
        attrs.append(a)
    if us:
        a = np.array([xy[n] for n in us])
        b = np.array([xy[n] for n in vs])
        lengths = haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        for a, length in zip(attrs, lengths):
            a["length"] = float(length)
    out.add_edges_from((u, v, a) for u, v, a in zip(us, vs, attrs))
    return out


# ------------------------------------------------------------------------------------------ extract I/O


@dataclass
class Extract:
    """Roads (with their nodes) and features cut out of a larger file, ready to write as OSM XML."""

    node_xy: dict[int, tuple[float, float]]
    node_tags: dict[int, dict[str, str]]
    ways: list[tuple[int, list[int], dict[str, str]]]
    features: list[OsmElement]


def read_extract(path: Path, kind: str, clip: BaseGeometry) -> Extract:
    """Drivable ways with at least one node inside ``clip`` (kept whole) and the features inside it."""
    minx, miny, maxx, maxy = clip.bounds
    if kind == "xml":
        content = read_xml(path, roads=True)
        node_xy, ways, features = content.node_xy, content.roads, content.features
    else:
        node_xy, ways = _pbf_ways(path, (minx, miny, maxx, maxy))
        features = read_pbf_features(path, (minx, miny, maxx, maxy))
    inside_ids = np.fromiter(node_xy.keys(), dtype=np.int64, count=len(node_xy))
    xy = np.array(list(node_xy.values()), dtype=float).reshape(-1, 2)
    inside = set(inside_ids[shapely.contains_xy(clip, xy[:, 0], xy[:, 1])].tolist()) if len(xy) else set()
    kept_ways = [(wid, refs, tags) for wid, refs, tags in ways
                 if any(r in inside for r in refs) and all(r in node_xy for r in refs)]
    needed = {r for _, refs, _ in kept_ways for r in refs}
    kept_features = [f for f in features if clip.intersects(Point(f.lon, f.lat))]
    junctions = {f.osm_id: f.tags for f in kept_features if f.osm_type == "node" and f.osm_id in needed}
    return Extract(
        node_xy={n: node_xy[n] for n in sorted(needed)},
        node_tags=junctions,
        ways=kept_ways,
        features=[f for f in kept_features if not (f.osm_type == "node" and f.osm_id in needed)],
    )


def _pbf_ways(path: Path, bbox: tuple[float, float, float, float]) -> tuple[
    dict[int, tuple[float, float]], list[tuple[int, list[int], dict[str, str]]]
]:
    """Drivable ways of a PBF file with their node lists, rebuilt from pyrosm's per-segment rows."""
    from pyrosm import OSM

    try:
        osm = OSM(str(path), bounding_box=list(bbox), progress=False)
        with warnings.catch_warnings():  # "no edges for the area" becomes our own NetworkError
            warnings.simplefilter("ignore", UserWarning)
            nodes, edges = osm.get_network(nodes=True, network_type="driving")
    except Exception as exc:  # pyrosm raises assorted errors on damaged blocks
        raise corrupt(path, "a complete OSM PBF file", exc) from None
    if edges is None or len(edges) == 0:
        return {}, []
    node_xy = {int(i): (float(x), float(y)) for i, x, y in zip(nodes["id"], nodes["lon"], nodes["lat"])}
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    current: int | None = None
    refs: list[int] = []
    tags: dict[str, str] = {}
    piece = 0
    for row in _frame_rows(edges.drop(columns=["geometry"])):
        wid, u, v = int(row["id"]), int(row["u"]), int(row["v"])
        if wid == current and refs and refs[-1] == u:
            refs.append(v)
            continue
        if current is not None:
            ways.append((current if piece == 0 else -current * 1000 - piece, refs, tags))
        piece = piece + 1 if wid == current else 0
        current, refs, tags = wid, [u, v], row["tags"]
    if current is not None:
        ways.append((current if piece == 0 else -current * 1000 - piece, refs, tags))
    return node_xy, ways


def write_osm_xml(extract: Extract, out_path: Path, *, bounds: tuple[float, float, float, float],
                  generator: str) -> Path:
    """Write an extract as OSM XML 0.6, atomically; features that were ways or relations become nodes.

    Such a node gets a negative id and ``evplan:osm_element=way/<id>`` so its OSM identity survives.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    feature_nodes: list[tuple[int, float, float, dict[str, str]]] = []
    next_id = -1
    for f in extract.features:
        if f.osm_type == "node":
            feature_nodes.append((f.osm_id, f.lon, f.lat, f.tags))
        else:
            feature_nodes.append((next_id, f.lon, f.lat, {**f.tags, SOURCE_ELEMENT_TAG: f.ref}))
            next_id -= 1
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0' encoding='UTF-8'?>\n")
        fh.write(f'<osm version="0.6" generator={quoteattr(generator)}>\n')
        w, s, e, n = bounds
        fh.write(f'  <bounds minlon="{w:.7f}" minlat="{s:.7f}" maxlon="{e:.7f}" maxlat="{n:.7f}"/>\n')
        for nid, (x, y) in extract.node_xy.items():
            _write_node(fh, nid, x, y, extract.node_tags.get(nid, {}))
        for nid, x, y, tags in feature_nodes:
            _write_node(fh, nid, x, y, tags)
        for wid, refs, tags in extract.ways:
            fh.write(f'  <way id="{wid}" version="1">\n')
            fh.writelines(f'    <nd ref="{r}"/>\n' for r in refs)
            _write_tags(fh, tags)
            fh.write("  </way>\n")
        fh.write("</osm>\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(out_path)
    return out_path


def _write_node(fh: IO[str], nid: int, x: float, y: float, tags: dict[str, str]) -> None:
    x, y = float(x), float(y)  # repr() is the shortest text that reads back as the same float
    if not tags:
        fh.write(f'  <node id="{nid}" version="1" lat="{y!r}" lon="{x!r}"/>\n')
        return
    fh.write(f'  <node id="{nid}" version="1" lat="{y!r}" lon="{x!r}">\n')
    _write_tags(fh, tags)
    fh.write("  </node>\n")


def _write_tags(fh: IO[str], tags: dict[str, str]) -> None:
    for k, v in sorted(tags.items()):
        fh.write(f"    <tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>\n")


def no_road_error(path: Path, where: str) -> NetworkError:
    """The error for an extract, or a clip of it, without any drivable road."""
    return NetworkError(f"{path}: expected drivable roads (highway=motorway … residential) {where}, found none")
