"""Attaching points to the network: the one nearest-node search, and nothing far away attached silently."""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from cli.main import main
from planner import config
from planner import network as net
from planner.errors import NetworkError
from tests.support.osm import counties_geojson, expressway_osm, haversine_m, write_osm


@pytest.fixture(scope="module")
def expressway(tmp_path_factory: pytest.TempPathFactory) -> net.RoadNetwork:
    d = tmp_path_factory.mktemp("osm")
    return net.load_network(expressway_osm(d / "expressway.osm"), admin_boundaries=counties_geojson(d / "c.geojson"))


def grid_graph(lons: list[float], lats: list[float]) -> nx.MultiDiGraph:
    """A graph of isolated nodes at every (lon, lat) of the grid, ids 1, 2, …"""
    g = nx.MultiDiGraph()
    for i, (x, y) in enumerate(((x, y) for x in lons for y in lats), start=1):
        g.add_node(i, x=x, y=y)
    return g


def test_nearest_nodes_is_the_great_circle_argmin_with_haversine_distances() -> None:
    """Checked against brute force over every node, at high latitude and across the antimeridian,
    where a flat lon/lat frame picks the wrong node."""
    rng = np.random.default_rng(7)
    g = grid_graph([-179.9, -179.5, 179.5, 179.9, 0.0, 24.9, 25.0], [59.9, 60.0, 60.5, 70.0])
    lons, lats = rng.uniform(-180, 180, 200), rng.uniform(55, 75, 200)
    ids, dist = net.nearest_nodes(g, lons, lats)
    xs = np.array([g.nodes[n]["x"] for n in g.nodes])
    ys = np.array([g.nodes[n]["y"] for n in g.nodes])
    for lon, lat, node, d in zip(lons, lats, ids, dist):
        brute = np.array([haversine_m(lon, lat, x, y) for x, y in zip(xs, ys)])
        assert d == pytest.approx(brute.min(), rel=1e-9)
        assert brute[list(g.nodes).index(node)] == pytest.approx(brute.min(), rel=1e-9)
    across = grid_graph([-179.95, 179.0], [60.0])  # a flat lon/lat frame would pick 179.0 for 179.99
    assert net.nearest_nodes(across, 179.99, 60.0)[0].tolist() == [1]


def test_nearest_nodes_by_road_class_and_on_a_network(expressway) -> None:
    g = expressway.graph
    ids, dist = net.nearest_nodes(expressway, [115.0401], [22.7905], exclude_classes=net.EXPRESSWAY_CLASSES)
    assert g.nodes[ids[0]]["y"] == pytest.approx(22.79) and dist[0] < 100
    ids, dist = net.nearest_nodes(g, [115.0401], [22.7905], classes=["motorway"])
    node = g.nodes[ids[0]]
    assert any(d["highway"] == "motorway" for _, _, d in g.edges(ids[0], data=True))
    assert dist[0] == pytest.approx(haversine_m(115.0401, 22.7905, node["x"], node["y"]), rel=1e-9)
    empty_ids, empty_dist = net.nearest_nodes(g, [], [])
    assert len(empty_ids) == 0 and len(empty_dist) == 0
    with pytest.raises(NetworkError, match="no node on the road classes asked for"):
        net.nearest_nodes(g, [115.0], [22.8], classes=["busway"])


def test_a_place_far_outside_the_extract_is_reported_not_attached(tmp_path: Path, caplog) -> None:
    """A town 40 km from every road (outside what the extract covers) is named with its distance."""
    nodes = [(1, 115.00, 22.80, {}), (2, 115.01, 22.80, {}), (3, 115.02, 22.80, {}),
             (7, 115.011, 22.801, {"place": "town", "name": "Near town"}),
             (8, 115.40, 22.80, {"place": "town", "name": "Far town"}),
             (9, 115.01, 23.20, {"amenity": "fuel", "name": "Far fuel"})]
    ways = [(10, [1, 2, 3], {"highway": "primary", "oneway": "no"})]
    path = write_osm(tmp_path / "small.osm", nodes, ways)
    with caplog.at_level(logging.WARNING, logger="planner.network"):
        network = net.load_network(path, use_cache=False)
    assert [p.name for p in network.places] == ["Near town"] and network.pois == ()
    far = {f.name: f for f in network.unattached}
    assert set(far) == {"Far town", "Far fuel"}
    assert far["Far town"].kind == "place" and far["Far town"].osm_id == "node/8"
    assert far["Far town"].distance_m == pytest.approx(haversine_m(115.40, 22.80, 115.02, 22.80), abs=1.0)
    assert "39.0 km away" in far["Far town"].reason and "max_attach_km=2" in far["Far town"].reason
    assert any("Far town" in r.getMessage() and "not attached" in r.getMessage() for r in caplog.records)
    info = net.network_info(network)
    assert info["unattached_features"] == 2 and info["unattached"]["node/8"].startswith("place Far town: nearest")
    # A wider attach distance is a choice the caller makes, and attaches it.
    wide = net.load_network(path, use_cache=False, max_attach_km=50.0)
    assert {p.name for p in wide.places} == {"Near town", "Far town"} and wide.unattached == ()
    with pytest.raises(NetworkError, match="max_attach_km"):
        net.load_network(path, use_cache=False, max_attach_km=0)


def test_the_cli_warns_about_what_it_did_not_attach(tmp_path: Path, capsys) -> None:
    nodes = [(1, 115.00, 22.80, {}), (2, 115.01, 22.80, {}), (8, 115.40, 22.80, {"place": "town", "name": "Far town"})]
    path = write_osm(tmp_path / "small.osm", nodes, [(10, [1, 2], {"highway": "primary", "oneway": "no"})])
    assert main(["network", "export", "--osm", str(path), "--out", str(tmp_path / "out")]) == 0
    km = haversine_m(115.40, 22.80, 115.01, 22.80) / 1000
    assert f"place Far town (node/8) not attached: nearest road node is {km:.1f} km away" in capsys.readouterr().err


def test_admin_codes_are_the_shipped_networks_only(tmp_path: Path) -> None:
    """Another extract gets nothing of Shanwei's: an admin code needs boundaries passed for it."""
    nodes = [(1, 115.00, 22.80, {}), (2, 115.01, 22.80, {})]
    path = write_osm(tmp_path / "other.osm", nodes, [(10, [1, 2], {"highway": "primary", "oneway": "no"})])
    with pytest.raises(NetworkError, match="admin code 441500: no admin boundaries file is known"):
        net.load_network(path, boundary="441500", use_cache=False)
    assert config.shipped_admin_boundaries(path) is None
    assert config.shipped_admin_boundaries(config.SHANWEI_OSM) == config.SHANWEI_BOUNDARIES
    with pytest.raises(TypeError):
        net.admin_boundary("441500")  # type: ignore[call-arg]  # no city is built in
