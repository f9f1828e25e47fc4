"""Making an extract evplan loads: clip a real OSM file to a boundary, or download a place (Overpass).

Both write OSM XML that ``load_network`` reads like any extract; ``extract_from_osmnx`` is the
offline-testable half of the download.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from planner.errors import NetworkError
from planner.network import _osm
from planner.network.clip import Boundary, describe_clip, resolve_clip

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

#: What ``fetch_place`` asks Overpass for besides the drivable roads: the features ``load_network`` reads.
ONLINE_FEATURE_TAGS: dict[str, list[str]] = {
    "highway": ["services", "rest_area", "motorway_junction"],
    "disused:highway": ["services"],
    "construction:highway": ["services"],
    "amenity": ["fuel", "parking"],
    "place": ["city", "town", "village", "suburb", "township"],
}
#: Edge attributes of an osmnx graph written back as way tags.
_ONLINE_WAY_TAGS = ("highway", "ref", "name", "name:zh", "maxspeed", "lanes", "junction", "bridge", "tunnel")


def import_extract(
    file: Path | str,
    *,
    boundary: Boundary,
    out_path: Path | str,
    admin_boundaries: Path | str | None = None,
) -> Path:
    """Clip a real OSM extract (XML or PBF) to a boundary and write it as OSM XML that evplan loads.

    Kept: every drivable way with a node inside the boundary (whole, so carriageways are not cut
    mid-way), and the service areas, junctions, fuel stations, car parks and places inside it. A
    feature mapped as a way or relation is written as a node at its centroid, tagged
    ``evplan:osm_element=way/<id>`` so that its OSM id is kept. An admin-code ``boundary`` is looked
    up in ``admin_boundaries`` (see ``admin_boundary``).
    """
    from planner import __version__

    path, kind = _osm.check_source(file)
    if boundary is None:
        raise NetworkError("import needs a boundary: an admin code such as 441500 or a GeoJSON polygon file")
    clip = resolve_clip(boundary, admin_boundaries=admin_boundaries)
    assert clip is not None
    extract = _osm.read_extract(path, kind, clip)
    if not extract.ways:
        raise _osm.no_road_error(path, f"inside the boundary {boundary} ({describe_clip(clip)})")
    if not any(t.get("highway") == "motorway" for _, _, t in extract.ways):
        logger.warning("%s: no motorway inside the boundary %s", path, boundary)
    out = _osm.write_osm_xml(extract, Path(out_path), bounds=clip.bounds,
                             generator=f"evplan {__version__} import of {path.name}")
    logger.info("wrote %s: %d nodes, %d ways, %d features", out, len(extract.node_xy), len(extract.ways),
                len(extract.features))
    return out


def fetch_place(place: str, *, out_path: Path | str) -> Path:
    """Download a place's drivable roads and features from OpenStreetMap (osmnx, Overpass) as OSM XML.

    Needs internet access, so it is never used in tests; the conversion it relies on,
    ``extract_from_osmnx``, is. The file written loads with ``load_network`` like any extract.
    """
    import osmnx as ox

    from planner import __version__

    try:
        polygon = ox.geocode_to_gdf(place).union_all()
        graph = ox.graph_from_polygon(polygon, network_type="drive", simplify=False, retain_all=True)
        features = ox.features_from_polygon(polygon, tags=ONLINE_FEATURE_TAGS)
    except Exception as exc:  # osmnx raises assorted network and lookup errors
        raise NetworkError(f"could not download {place!r} from OpenStreetMap (Overpass): {exc}") from exc
    extract = extract_from_osmnx(graph, features)
    return _osm.write_osm_xml(extract, Path(out_path), bounds=polygon.bounds,
                              generator=f"evplan {__version__} fetch of {place}")


def extract_from_osmnx(graph: nx.MultiDiGraph, features: gpd.GeoDataFrame | None) -> _osm.Extract:
    """An unsimplified osmnx graph and an osmnx features frame as an ``Extract`` ready to write.

    Each directed edge becomes a one-way way of two nodes, so the graph read back has exactly the
    same directed edges; a feature that is a graph node (a motorway junction) keeps its tags there.
    """
    node_xy = {int(n): (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    ways = []
    for i, (u, v, data) in enumerate(graph.edges(data=True), start=1):
        if "geometry" in data:
            raise NetworkError("extract_from_osmnx needs an unsimplified graph (simplify=False)")
        tags = {k: _tag_text(data[k]) for k in _ONLINE_WAY_TAGS if _osm.present(data.get(k))}
        ways.append((i, [int(u), int(v)], {**tags, "oneway": "yes"}))
    node_tags: dict[int, dict[str, str]] = {}
    elements: list[_osm.OsmElement] = []
    if features is not None and len(features):
        frame = features.reset_index()
        for row in frame.to_dict("records"):
            tags = {str(k): _tag_text(v) for k, v in row.items()
                    if k not in ("element", "id", "geometry") and _osm.present(v)}
            osm_type, osm_id = str(row["element"]), int(row["id"])
            if osm_type == "node" and osm_id in node_xy:
                node_tags[osm_id] = tags
                continue
            point = row["geometry"].centroid
            elements.append(_osm.OsmElement(osm_type, osm_id, tags, float(point.x), float(point.y)))
    return _osm.Extract(node_xy=node_xy, node_tags=node_tags, ways=ways, features=elements)


def _tag_text(value: object) -> str:
    """An osmnx attribute as OSM tag text (lists, from merged ways, joined with ';' as OSM does)."""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)
