"""Reading and writing OpenStreetMap files: OSM XML (``.osm``, ``.osm.bz2``) and PBF (``.osm.pbf``).

Private to ``planner.network``: source checks, the tag rules (drivable ways, features), ``OsmElement``,
and extracts written as OSM XML. Files are read in one streamed pass by ``_stream``.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from planner.errors import InputFileError, NetworkError
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
    ["abandoned", "construction", "no", "planned", "platform", "proposed", "raceway", "razed", "rest_area", "services", "bridleway", "bus_guideway", "busway", "corridor", "cycleway", "elevator", "escalator", "footway", "ladder", "path", "pedestrian", "steps", "track", "trail", "service"]
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


def present(value: Any) -> bool:
    """Whether a reader's attribute value is set (not None, NaN or empty)."""
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, str) and value == "")


# ------------------------------------------------------------------------------------------ extract I/O


@dataclass
class Extract:
    """Roads (with their nodes) and features cut out of a larger file, ready to write as OSM XML."""

    node_xy: dict[int, tuple[float, float]]
    node_tags: dict[int, dict[str, str]]
    ways: list[tuple[int, list[int], dict[str, str]]]
    features: list[OsmElement]


def read_extract(path: Path, kind: str, clip: BaseGeometry) -> Extract:
    """Drivable ways with at least one node inside ``clip`` (kept whole) and the features inside it.

    One streamed pass (pyosmium) for XML and PBF alike; ways keep all their tags.
    """
    from planner.network import _stream

    raw = _stream.read_osm(path, all_tags=True)
    inside = np.zeros(len(raw.refs), dtype=bool)
    if len(raw.refs):
        minx, miny, maxx, maxy = clip.bounds
        box = (raw.lon >= minx) & (raw.lon <= maxx) & (raw.lat >= miny) & (raw.lat <= maxy)
        cand = np.flatnonzero(box)
        inside[cand[shapely.intersects_xy(clip, raw.lon[cand], raw.lat[cand])]] = True
    way_of_ref = np.repeat(np.arange(len(raw.way_ids)), np.diff(raw.way_start))
    keep_way = np.zeros(len(raw.way_ids), dtype=bool)
    keep_way[way_of_ref[inside]] = True
    starts = raw.way_start.tolist()
    refs_l = raw.refs.tolist()
    ways = [(int(raw.way_ids[i]), refs_l[starts[i]:starts[i + 1]], raw.way_tags[i])
            for i in np.flatnonzero(keep_way).tolist() if starts[i + 1] - starts[i] >= 2]
    kept_refs = np.isin(way_of_ref, np.flatnonzero(keep_way))
    ids, first = np.unique(raw.refs[kept_refs], return_index=True)
    node_xy = dict(zip(ids.tolist(), zip(raw.lon[kept_refs][first].tolist(), raw.lat[kept_refs][first].tolist())))
    needed = set(node_xy)
    kept_features = [f for f in raw.features if clip.intersects(Point(f.lon, f.lat))]
    junctions = {f.osm_id: f.tags for f in kept_features if f.osm_type == "node" and f.osm_id in needed}
    return Extract(
        node_xy=node_xy,
        node_tags=junctions,
        ways=ways,
        features=[f for f in kept_features if not (f.osm_type == "node" and f.osm_id in needed)],
    )


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
