"""Small OSM XML files written by hand for the road-network tests, and comparisons of loaded graphs.

The expressway runs west–east with two one-way carriageways ~45 m apart (right-hand traffic: the
eastbound one is the southern one), a local primary road to the south, ramps at both ends and an
interchange in the middle, and service areas placed where the tests know the answer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
from shapely.geometry import Polygon, mapping

LAT_EAST = 22.7998  # eastbound carriageway (south)
LAT_WEST = 22.8002  # westbound carriageway (north)
LAT_LOCAL = 22.7900  # local two-way primary road
LONS = [round(115.00 + 0.01 * i, 2) for i in range(11)]  # 115.00 … 115.10


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance, m (independent of the library's own)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def write_osm(path: Path, nodes: list[tuple], ways: list[tuple]) -> Path:
    """Write OSM XML 0.6: nodes as (id, lon, lat, tags), ways as (id, [node ids], tags)."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    for nid, lon, lat, tags in nodes:
        lines.append(f'  <node id="{nid}" version="1" lat="{lat}" lon="{lon}">')
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </node>")
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expressway_osm(path: Path) -> Path:
    """The test expressway with its service areas, an interchange, towns, fuel and parking."""
    east = {i: 1000 + i for i in range(11)}   # eastbound carriageway nodes, west to east
    west = {i: 2000 + i for i in range(11)}   # westbound carriageway nodes
    local = {i: 3000 + i for i in range(11)}  # local road nodes
    nodes = [(east[i], lon, LAT_EAST, {}) for i, lon in enumerate(LONS)]
    nodes += [(west[i], lon, LAT_WEST, {}) for i, lon in enumerate(LONS)]
    nodes += [(local[i], lon, LAT_LOCAL, {}) for i, lon in enumerate(LONS)]
    nodes[5] = (east[5], LONS[5], LAT_EAST, {"highway": "motorway_junction", "ref": "12", "name": "Haifeng exit"})
    sa = [
        # id, lon, lat, tags
        (9001, 115.030, 22.7992, {"highway": "services", "name": "鲘门服务区", "name:en": "Houmen",
                                  "capacity": "150"}),
        (9002, 115.031, 22.8008, {"highway": "services", "name": "鲘门服务区", "name:en": "Houmen"}),
        (9003, 115.080, 22.7993, {"disused:highway": "services", "name": "Old services"}),
        (9004, 115.090, 22.8007, {"construction:highway": "services", "name": "New services"}),
        (9005, 115.050, 22.7500, {"highway": "services", "name": "Far services"}),
        (9006, 115.015, 22.7994, {"highway": "rest_area", "name": "Rest stop", "location": "approximate"}),
        (9007, 115.005, 22.7993, {"highway": "services", "name": "Twin services"}),
        (9008, 115.095, 22.8007, {"highway": "services", "name": "Twin services"}),
        (9100, 115.040, 22.7905, {"amenity": "fuel", "name": "Sinopec"}),
        (9200, 115.050, 22.7850, {"place": "town", "name": "海城镇", "name:en": "Haicheng", "population": "12,345"}),
        (9201, 115.020, 22.7800, {"place": "village", "name": "Village A"}),
        (9202, 115.060, 22.7800, {"place": "hamlet", "name": "Too small"}),
    ]
    area = [(9301, 115.0695, 22.7990), (9302, 115.0705, 22.7990), (9303, 115.0705, 22.7985), (9304, 115.0695, 22.7985)]
    nodes += sa + [(n, lon, lat, {}) for n, lon, lat in area]
    nodes += [(9401, 115.0100, 22.7910, {}), (9402, 115.0110, 22.7910, {}), (9403, 115.0110, 22.7915, {})]
    motorway = {"highway": "motorway", "oneway": "yes", "ref": "G15", "name": "沈海高速"}
    link = {"highway": "motorway_link", "oneway": "yes"}
    ways = [
        (1, [east[i] for i in range(11)], motorway),
        (2, [west[i] for i in reversed(range(11))], {**motorway, "maxspeed": "100"}),
        (3, [local[i] for i in range(6)], {"highway": "primary", "name": "Local road"}),
        (4, [local[i] for i in range(5, 11)], {"highway": "primary", "name": "Local road", "maxspeed": "50 mph"}),
        (5, [local[0], east[0]], link),   # on-ramp eastbound, west end
        (6, [west[0], local[0]], link),   # off-ramp westbound, west end
        (7, [local[10], west[10]], link),  # on-ramp westbound, east end
        (8, [east[10], local[10]], link),  # off-ramp eastbound, east end
        (9, [east[5], local[5]], link),   # interchange: exit eastbound
        (10, [local[5], west[5]], link),  # interchange: enter westbound
        (11, [9301, 9302, 9303, 9304, 9301], {"highway": "services", "name": "Area services", "capacity": "120",
                                              "evplan:grid_capacity_kw": "800"}),
        (12, [9401, 9402, 9403, 9401], {"amenity": "parking", "name": "Park and ride"}),
        (13, [local[1], 9401], {"highway": "footway"}),  # not drivable
    ]
    return write_osm(path, nodes, ways)


def counties_geojson(path: Path) -> Path:
    """A county covering the western part of the test area, inside a city covering all of it."""
    county = Polygon([(114.99, 22.70), (115.04, 22.70), (115.04, 22.85), (114.99, 22.85)])
    city = Polygon([(114.9, 22.6), (115.2, 22.6), (115.2, 22.9), (114.9, 22.9)])
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"adcode": "449900", "level": "city"}, "geometry": mapping(city)},
        {"type": "Feature", "properties": {"adcode": "449901", "level": "county"}, "geometry": mapping(county)},
    ]}), encoding="utf-8")
    return path


def same_graph(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> bool:
    """Same nodes and edges with the same attributes (graph-level notes such as the file name aside)."""
    def edges(g: nx.MultiDiGraph) -> list:
        return sorted(g.edges(keys=True, data=True), key=lambda e: e[:3])

    return dict(a.nodes(data=True)) == dict(b.nodes(data=True)) and edges(a) == edges(b)
