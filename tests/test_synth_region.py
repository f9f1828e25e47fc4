"""The benchmark region generator: seeded to the byte, its own PBF encoder reads back as pyosmium's XML,
and its city polygons are valid and tile the region without overlaps."""

from __future__ import annotations

import json
import math

import numpy as np
import osmium
from shapely.geometry import shape
from shapely.ops import unary_union

from bench import synth_region


def _objects(path) -> tuple[dict, dict]:
    nodes, ways = {}, {}
    for obj in osmium.FileProcessor(str(path)):
        if obj.is_node():
            nodes[obj.id] = (obj.location.x, obj.location.y, dict(obj.tags))
        elif obj.is_way():
            ways[obj.id] = ([n.ref for n in obj.nodes], dict(obj.tags))
    return nodes, ways


def test_pbf_is_seeded_and_reads_back_as_the_xml(tmp_path) -> None:
    region = synth_region.generate(9_000, cities=4, seed=5)
    a = synth_region.write(region, tmp_path / "a.osm.pbf")
    again = synth_region.write(synth_region.generate(9_000, cities=4, seed=5), tmp_path / "b.osm.pbf")
    assert a.read_bytes() == again.read_bytes()
    xml = synth_region.write(region, tmp_path / "a.osm")
    nodes, ways = _objects(a)
    assert (nodes, ways) == _objects(xml)
    assert len(nodes) == region.n_nodes and len(ways) == region.n_ways
    refs, tags = region.ways[-1]
    assert ways[region.n_ways] == ([r + 1 for r in refs], tags)
    tagged = next(i for i in sorted(region.node_tags) if i > 8_000)  # a node beyond the first block
    assert nodes[tagged + 1][2] == region.node_tags[tagged]


def test_varints_match_the_protobuf_rule() -> None:
    values = [0, 1, 127, 128, 300, 2**31, 2**56 + 5, 2**63 + 1, 2**64 - 1]
    data, lengths = synth_region._varints(np.array(values, dtype=np.uint64))
    assert data == b"".join(synth_region._varint(v) for v in values)
    assert lengths.tolist() == [1, 1, 1, 2, 2, 5, 9, 10, 10]
    assert synth_region._zigzag(np.array([0, -1, 1, -2, 2**40])).tolist() == [0, 1, 2, 3, 2**41]


def test_city_polygons_are_valid_and_do_not_overlap(tmp_path) -> None:
    region = synth_region.generate(40_000, cities=2, seed=1)
    path = synth_region.write_boundaries(region, tmp_path / "b.geojson")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["level"] for f in features] == ["city", "city"]
    # The layouts of the benchmark sizes, the province's (10M nodes, 6 cities) among them.
    for osm_nodes, cities in (*synth_region.SIZES.values(), (40_000, 2), (2_000_000, 9)):
        side = math.sqrt(osm_nodes / synth_region.NODES_PER_KM2)
        cols = math.ceil(math.sqrt(cities))
        w, h = side / cols, side / math.ceil(cities / cols)
        rng = np.random.default_rng(0)
        polygons = [shape(synth_region._city_polygon(k, (k % cols) * w, (k // cols) * h, w, h, side, rng)["geometry"])
                    for k in range(cities)]
        assert all(p.is_valid for p in polygons), (osm_nodes, cities)
        assert abs(sum(p.area for p in polygons) / unary_union(polygons).area - 1) < 1e-9, (osm_nodes, cities)
