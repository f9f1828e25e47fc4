"""The streamed, array-built network against osmnx's own graph building, on generated regions.

The reference is computed independently: osmnx ``graph_from_xml``, networkx's largest strongly
connected component and ``ox.simplify_graph``; the loader must give the same nodes and the same
shortest paths (its only addition: a node per service-area side on the carriageway).
"""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import shape

from bench import synth_region
from planner import network as net
from planner.errors import InputFileError, NetworkError
from planner.network.load import network_from_read, read_osm


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth")
    r = synth_region.generate(6_000, cities=2, seed=3)
    return (synth_region.write(r, out / "r.osm.pbf"), synth_region.write(r, out / "r.osm"),
            synth_region.write_boundaries(r, out / "r.boundaries.geojson"), r)


def test_generator_is_seeded_and_has_what_a_region_has(region) -> None:
    r = region[3]
    again = synth_region.generate(6_000, cities=2, seed=3)
    assert np.array_equal(again.lon, r.lon) and again.ways == r.ways and again.node_tags == r.node_tags
    assert synth_region.generate(6_000, cities=2, seed=4).ways != r.ways
    assert 4_000 < r.n_nodes < 9_000
    kinds = [t.get("highway") or t.get("amenity") or t.get("place") for t in r.node_tags.values()]
    for kind in ("services", "motorway_junction", "fuel", "parking", "city", "town", "village"):
        assert kind in kinds, kind
    assert all(t["population"].isdigit() for t in r.node_tags.values() if "place" in t)
    classes = {t["highway"] for _, t in r.ways}
    assert {"motorway", "motorway_link", "primary", "residential"} <= classes
    assert any(t.get("oneway") == "yes" and t["highway"] == "residential" for _, t in r.ways)
    assert len(r.cities) == 2 and {c["properties"]["level"] for c in r.cities} == {"city"}


def _reference(xml, keep_nodes) -> nx.MultiDiGraph:
    """osmnx's graph of the file: drivable edges, largest strongly connected part, simplified."""
    import osmnx as ox

    from planner.network._osm import is_drivable

    g = ox.graph_from_xml(xml, bidirectional=False, simplify=False, retain_all=True)
    g.remove_edges_from([(u, v, k) for u, v, k, d in g.edges(keys=True, data=True) if not is_drivable(d)])
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    g = g.subgraph(max(nx.strongly_connected_components(g), key=len)).copy()
    for n in keep_nodes:
        g.nodes[n]["keep"] = True
    return ox.simplify_graph(g, node_attrs_include=["keep"], edge_attrs_differ=["highway", "maxspeed", "ref"],
                             remove_rings=False)


def test_pbf_and_xml_load_what_osmnx_builds(region) -> None:
    pbf, xml, _, _ = region
    a = net.load_network(pbf, use_cache=False, admin_boundaries=None)
    b = net.load_network(xml, use_cache=False, admin_boundaries=None)
    assert a.service_areas == b.service_areas and a.places == b.places and a.pois == b.pois
    assert np.array_equal(a.arrays.node_id, b.arrays.node_id) and np.array_equal(a.arrays.u, b.arrays.u)
    ref = _reference(xml, {p.node for p in a.places} | {p.node for p in a.pois})
    g = a.graph
    inserted = {n for n in g.nodes if n < 0}
    assert len(inserted) == len({s.node for s in a.service_areas if s.node < 0}) > 0
    assert set(g.nodes) - inserted == set(ref.nodes)
    # Each inserted node splits one carriageway edge in two: one edge more per inserted node.
    assert g.number_of_edges() == ref.number_of_edges() + len(inserted)
    # osmnx measures with its own Earth radius (6,371,009 m): lengths agree to ~3e-8, not bit for bit.
    rng = np.random.default_rng(0)
    nodes = sorted(ref.nodes)
    for s in rng.choice(nodes, 5, replace=False).tolist():
        want = nx.single_source_dijkstra_path_length(ref, s, weight="length")
        got = nx.single_source_dijkstra_path_length(g, s, weight="length")
        assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-6)
    km = sum(d["length"] for _, _, d in ref.edges(data=True)) / 1000
    assert sum(net.network_info(a)["km_by_class"].values()) == pytest.approx(km, rel=1e-6)


def test_one_read_clipped_per_city_equals_loading_each_city(region) -> None:
    pbf, _, bounds, _ = region
    raw = read_osm(pbf)
    features = json.loads(bounds.read_text(encoding="utf-8"))["features"]
    total_nodes = 0
    for feat in features:
        poly = shape(feat["geometry"])
        from_read = network_from_read(raw, clip=poly)
        direct = net.load_network(pbf, boundary=poly, use_cache=False, admin_boundaries=None)
        assert np.array_equal(from_read.arrays.node_id, direct.arrays.node_id)
        assert np.array_equal(from_read.arrays.travel_time_s, direct.arrays.travel_time_s)
        assert from_read.places == direct.places and from_read.service_areas == direct.service_areas
        # Everything kept lies inside the city (or on its edge).
        from shapely import intersects_xy

        original = ~direct.arrays.inserted
        assert intersects_xy(poly, direct.arrays.lon[original], direct.arrays.lat[original]).all()
        assert direct.arrays.n_nodes > 0 and direct.places
        total_nodes += direct.arrays.n_nodes
    # The clips split the region: together about its size (a clip adds endpoints, so a little more).
    whole = network_from_read(raw, clip=None)
    assert 0.8 * whole.arrays.n_nodes < total_nodes < 1.2 * whole.arrays.n_nodes


def test_bad_pbf_and_empty_boundary_name_the_file(region, tmp_path) -> None:
    pbf, _, _, _ = region
    data = pbf.read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputFileError, match=r"cut\.osm\.pbf: expected a complete OSM PBF file.*truncated"):
        net.load_network(cut, use_cache=False)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 20)
    with pytest.raises(InputFileError, match=r"junk\.osm\.pbf: expected a complete OSM PBF file"):
        net.load_network(junk, use_cache=False)
    with pytest.raises(NetworkError, match=r"r\.osm\.pbf: expected drivable roads .* inside the clip"):
        net.load_network(pbf, bbox=(10.0, 10.0, 10.1, 10.1), use_cache=False)


def test_reach_on_a_region_matches_networkx(region) -> None:
    from planner.network.routing import reach_within, to_csr

    pbf, _, _, _ = region
    network = net.load_network(pbf, use_cache=False, admin_boundaries=None)
    towns = [p.node for p in network.places][:8]
    cands = sorted({p.node for p in network.pois})
    got = reach_within(to_csr(network), towns, cands, max_cost=600.0, chunk_sources=3).tocoo()
    stored = {(int(i), int(j)): float(d) for i, j, d in zip(got.row, got.col, got.data, strict=True)}
    want = {}
    for i, t in enumerate(towns):
        dist = nx.single_source_dijkstra_path_length(network.graph, t, cutoff=600.0, weight="travel_time")
        want.update({(i, j): dist[c] for j, c in enumerate(cands) if c in dist})
    assert stored and stored == pytest.approx(want, rel=1e-9)
