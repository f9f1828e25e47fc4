"""One streamed pass over an OSM file (pyosmium, C++ reader): drivable ways as flat arrays, and features.

Private to ``planner.network``. Reads ``.osm.pbf``, ``.osm``, ``.osm.bz2`` and ``.osm.gz`` alike; only
tagged objects reach Python (node locations are kept by libosmium), so a province costs seconds per
million nodes. Coordinates carry OSM's own precision (1e-7 degrees).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.errors import InputFileError
from planner.network import _osm

#: Keys an object must carry to be looked at at all (roads and every feature kind).
_KEYS = ("highway", "amenity", "place", "disused:highway", "abandoned:highway", "construction:highway")
#: ``oneway`` values that make a way one-way, and those that reverse it (osmnx's reading of the tag).
ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
#: Fixed-point units per degree in OSM files and libosmium locations (1e-7 degrees).
_FIX_PER_DEGREE = 1e7


@dataclass
class RawOsm:
    """Drivable ways of a file (node refs and positions flat, ``way_start`` offsets) and its features."""

    path: Path
    way_ids: np.ndarray          # int64, one per drivable way, file order
    way_start: np.ndarray        # int64, len(ways) + 1 offsets into refs
    refs: np.ndarray             # int64 node ids, consecutive duplicates removed
    lon: np.ndarray              # float64, per ref
    lat: np.ndarray              # float64, per ref
    way_tags: list[dict[str, str]]  # the ``EDGE_TAGS`` present on each way
    way_oneway: np.ndarray       # bool
    way_reversed: np.ndarray     # bool (one-way against the order of its nodes)
    features: list[_osm.OsmElement]
    osm_nodes_seen: int


def _expected(path: Path) -> str:
    return "a complete OSM PBF file" if _osm.source_kind(path) == "pbf" else "a complete OSM XML file"


def fix7(value: float) -> float:
    """A coordinate at OSM's precision (1e-7 degrees, rounded half away from zero), as OSM files store it."""
    return math.copysign(math.floor(abs(value) * 1e7 + 0.5), value) / 1e7


def read_osm(path: Path, *, all_tags: bool = False) -> RawOsm:
    """Stream the file once: drivable ways (with node positions) and feature elements.

    Ways keep the ``EDGE_TAGS`` the graph uses, or every tag with ``all_tags`` (for writing extracts).
    Centroids of area features are rounded to OSM's precision, so a feature written out as a node
    reads back at the same place. A file that is truncated or not OSM raises ``InputFileError``
    naming the file.
    """
    import osmium
    from osmium.filter import KeyFilter

    way_ids = array("q")
    way_start = array("q", [0])
    refs = array("q")
    xs = array("i")
    ys = array("i")
    way_tags: list[dict[str, str]] = []
    oneway = array("b")
    reverse = array("b")
    feature_nodes: list[_osm.OsmElement] = []
    feature_ways: list[tuple[int, list[tuple[float, float]], dict[str, str]]] = []
    feature_rels: list[tuple[int, list[int], dict[str, str]]] = []
    nodes_seen = 0
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_filter(KeyFilter(*_KEYS))
        for obj in processor:
            if obj.is_node():
                nodes_seen += 1
                tags = {t.k: t.v for t in obj.tags}
                if _osm.is_feature(tags, "node"):
                    loc = obj.location
                    feature_nodes.append(_osm.OsmElement("node", obj.id, tags, loc.lon, loc.lat))
            elif obj.is_way():
                tags = {t.k: t.v for t in obj.tags}
                drivable = _osm.is_drivable(tags)
                feature = _osm.is_feature(tags, "way")
                if not (drivable or feature):
                    continue
                if feature:
                    feature_ways.append((obj.id, [(n.lon, n.lat) for n in obj.nodes if n.location.valid()], tags))
                if not drivable:
                    continue
                for n in obj.nodes:  # fixed-point coordinates; degrees and duplicates in numpy below
                    loc = n.location
                    if loc.valid():
                        refs.append(n.ref)
                        xs.append(loc.x)
                        ys.append(loc.y)
                way_ids.append(obj.id)
                way_start.append(len(refs))
                way_tags.append(tags if all_tags else {k: tags[k] for k in _osm.EDGE_TAGS if tags.get(k)})
                one = tags.get("oneway") in ONEWAY_VALUES or tags.get("junction") == "roundabout"
                oneway.append(one)
                reverse.append(one and tags.get("oneway") in REVERSED_VALUES)
            elif obj.is_relation():
                tags = {t.k: t.v for t in obj.tags}
                if _osm.is_feature(tags, "relation"):
                    members = [m.ref for m in obj.members if m.type == "w"]
                    feature_rels.append((obj.id, members, tags))
    except RuntimeError as exc:  # libosmium reports damaged input as RuntimeError subclasses
        raise _osm.corrupt(path, _expected(path), exc) from None
    except (OSError, ValueError) as exc:
        raise _osm.corrupt(path, _expected(path), exc) from None
    features = list(feature_nodes)
    for wid, coords, tags in feature_ways:
        c = _osm._centroid(coords)
        if c is not None:
            features.append(_osm.OsmElement("way", wid, tags, fix7(c[0]), fix7(c[1])))
    if feature_rels:
        wanted = {w for _, members, _ in feature_rels for w in members}
        rings = _way_coords(path, wanted)
        for rid, members, tags in feature_rels:
            c = _osm._area_centroid([rings.get(w, []) for w in members])
            if c is not None:
                features.append(_osm.OsmElement("relation", rid, tags, fix7(c[0]), fix7(c[1])))
    ref_a, start_a, keep = _drop_repeated_refs(np.frombuffer(refs, dtype=np.int64),
                                               np.frombuffer(way_start, dtype=np.int64))
    return RawOsm(
        path=path,
        way_ids=np.frombuffer(way_ids, dtype=np.int64).copy(),
        way_start=start_a,
        refs=ref_a,
        lon=np.frombuffer(xs, dtype=np.int32)[keep] / _FIX_PER_DEGREE,
        lat=np.frombuffer(ys, dtype=np.int32)[keep] / _FIX_PER_DEGREE,
        way_tags=way_tags,
        way_oneway=np.frombuffer(oneway, dtype=np.int8).astype(bool),
        way_reversed=np.frombuffer(reverse, dtype=np.int8).astype(bool),
        features=features,
        osm_nodes_seen=nodes_seen,
    )


def _drop_repeated_refs(refs: np.ndarray, way_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refs with a way's consecutive repeats of one node removed, the new offsets, and the kept mask."""
    counts = np.diff(way_start)
    keep = np.ones(len(refs), dtype=bool)
    if len(refs) > 1:
        keep[1:] = refs[1:] != refs[:-1]
    keep[way_start[:-1][counts > 0]] = True  # the first node of every way
    kept_before = np.r_[0, np.cumsum(keep)]
    return refs[keep], kept_before[way_start].astype(np.int64), keep


def _way_coords(path: Path, way_ids: set[int]) -> dict[int, list[tuple[float, float]]]:
    """Positions of the given ways' nodes (a second pass, only when a feature is a relation)."""
    import osmium

    out: dict[int, list[tuple[float, float]]] = {}
    try:
        for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
            if obj.is_way() and obj.id in way_ids:
                out[obj.id] = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
    except (RuntimeError, OSError, ValueError) as exc:
        raise _osm.corrupt(path, _expected(path), exc) from None
    return out


def check_readable(path: Path) -> None:
    """Raise ``InputFileError`` when the file's header cannot be read as OSM at all."""
    import osmium

    try:
        osmium.io.Reader(str(path), osmium.osm.NOTHING).close()
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputFileError(path, _expected(path), detail=f"the file is truncated or corrupt: {exc}") from None
