"""POIs (interchanges, fuel, parking) and places (towns) attached to their nearest graph node.

Attachment happens on the full graph before simplification, so a town joins the road where it
really does. A feature farther than ``max_attach_km`` from every node it may join (outside the
extract, say) is reported as an ``UnattachedFeature`` with its distance, never attached far away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from planner.network import _osm
from planner.network._tags import int_tag, name, ref_key
from planner.network.clip import read_json
from planner.network.nearest import _NodeIndex
from planner.network.types import (
    FeatureKind,
    Place,
    Poi,
    UnattachedFeature,
)

#: A POI or place farther than this from every node it may join is reported, not attached, km. The
#: shipped and test extracts attach everything within 0.5 km; 2 km matches ``MAX_SNAP_KM``.
MAX_ATTACH_KM = 2.0


@dataclass(frozen=True)
class NodeTable:
    """The nodes features may join: ids (sorted), positions, and which touch local or expressway edges."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    local: np.ndarray     # bool: on an edge of a class other than the expressway classes
    express: np.ndarray   # bool: on an expressway edge


def attach_pois_and_places(
    nodes: NodeTable,
    features: Sequence[_osm.OsmElement],
    counties: Path | None,
    *,
    max_attach_km: float = MAX_ATTACH_KM,
) -> tuple[tuple[Poi, ...], tuple[Place, ...], tuple[UnattachedFeature, ...]]:
    """Interchanges at their junction node; fuel, parking and places at the nearest local-road node.

    An interchange whose junction node is not in the graph joins the nearest expressway node. A
    network without local roads attaches everything to the nearest node of any kind (and one
    without expressways its interchanges likewise).
    """
    local = _index(nodes, nodes.local)
    express = _index(nodes, nodes.express)
    county_shapes = county_polygons(counties)
    wanted: list[tuple[_osm.OsmElement, FeatureKind]] = []
    for el in sorted(features, key=lambda f: ref_key(f.ref)):
        kind = _osm.poi_kind(el.tags, el.osm_type)
        if kind is not None:
            wanted.append((el, kind))
        elif _osm.is_place(el.tags):
            wanted.append((el, "place"))
    if not wanted or len(nodes.ids) == 0:
        return (), (), ()
    in_graph = np.isin(np.array([el.osm_id for el, _ in wanted], dtype=np.int64), nodes.ids)
    node = np.zeros(len(wanted), dtype=object)
    dist_m = np.zeros(len(wanted), dtype=float)
    on_express = [i for i, (el, kind) in enumerate(wanted) if kind == "interchange" and not in_graph[i]]
    on_local = [i for i, (_, kind) in enumerate(wanted) if kind != "interchange"]
    for index, rows in ((express, on_express), (local, on_local)):
        if rows:
            ids, d = index.query([wanted[i][0].lon for i in rows], [wanted[i][0].lat for i in rows])
            node[rows], dist_m[rows] = ids, d
    for i, (el, kind) in enumerate(wanted):
        if kind == "interchange" and in_graph[i]:
            node[i] = el.osm_id
    max_m = max_attach_km * 1000.0
    pois: list[Poi] = []
    places: list[Place] = []
    unattached: list[UnattachedFeature] = []
    for (el, kind), n, d in zip(wanted, node, dist_m):
        if d > max_m:
            road = "expressway" if kind == "interchange" else "road"
            unattached.append(UnattachedFeature(
                kind=kind, osm_id=el.ref, name=_feature_name(el, kind) or name(el.tags, el.ref), lon=el.lon,
                lat=el.lat, distance_m=round(float(d), 1),
                reason=f"nearest {road} node is {d / 1000:.1f} km away, more than max_attach_km={max_attach_km:g}"))
        elif kind == "place":
            county = next((code for code, poly in county_shapes if poly.intersects(Point(el.lon, el.lat))), None)
            population = (el.tags.get("population") or "").replace(",", "").replace(" ", "")
            places.append(Place(osm_id=el.ref, name=name(el.tags, el.ref), place=el.tags["place"], lon=el.lon,
                                lat=el.lat, node=int(n), population=int_tag(population), county_code=county))
        else:
            pois.append(Poi(kind=kind, osm_id=el.ref, name=_feature_name(el, kind), lon=el.lon, lat=el.lat,
                            node=int(n)))
    return tuple(pois), tuple(places), tuple(unattached)


def _index(nodes: NodeTable, mask: np.ndarray) -> _NodeIndex:
    # A network of expressways only still attaches its towns: to the nearest node of any kind.
    if not mask.any():
        mask = np.ones(len(nodes.ids), dtype=bool)
    return _NodeIndex(nodes.ids[mask], nodes.lon[mask], nodes.lat[mask])


def _feature_name(el: _osm.OsmElement, kind: FeatureKind) -> str | None:
    if kind == "interchange":
        return el.tags.get("name") or (f"exit {el.tags['ref']}" if el.tags.get("ref") else None)
    if kind == "place":
        return name(el.tags, el.ref)
    return el.tags.get("name") or el.tags.get("name:zh") or el.tags.get("brand")


def county_polygons(path: Path | None) -> list[tuple[str, BaseGeometry]]:
    """``(adcode, polygon)`` of the ``level == "county"`` features of an admin boundaries GeoJSON."""
    if path is None:
        return []
    data = read_json(path)
    out = []
    for feat in data.get("features", []):
        props = feat.get("properties") or {}
        if props.get("level") == "county" and feat.get("geometry"):
            geom = shape(feat["geometry"])
            shapely.prepare(geom)
            out.append((str(props.get("adcode")), geom))
    return out
