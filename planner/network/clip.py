"""Clip polygons: from a six-digit admin code, a GeoJSON file, a shapely polygon and/or a bbox.

An admin code is looked up in an admin boundaries GeoJSON that the caller names: the library knows
no city's boundaries (the shipped ones are paired with the shipped network in ``planner.config``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from planner.errors import InputFileError, NetworkError

_ADMIN_CODE = re.compile(r"^\d{6}$")

#: What a boundary may be: an admin code (``"441500"``), a GeoJSON file, or a shapely (Multi)Polygon.
Boundary = str | Path | BaseGeometry
#: A clip box ``(west, south, east, north)`` in WGS84 degrees.
BBox = tuple[float, float, float, float]


def resolve_clip(
    boundary: Boundary | None,
    bbox: BBox | None = None,
    *,
    admin_boundaries: Path | str | None = None,
) -> BaseGeometry | None:
    """The clip polygon for a boundary (admin code, GeoJSON file or shapely polygon) and/or a bbox.

    ``admin_boundaries`` is the GeoJSON an admin code is looked up in (see ``admin_boundary``).
    """
    clip = resolve_boundary(boundary, admin_boundaries=admin_boundaries) if boundary is not None else None
    if bbox is not None:
        try:
            w, s, e, n = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise NetworkError(f"bbox: expected (west, south, east, north) in degrees, got {bbox!r}") from None
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise NetworkError(f"bbox: expected west < east and south < north within WGS84 bounds, got {bbox!r}")
        clip = box(w, s, e, n) if clip is None else clip.intersection(box(w, s, e, n))
        if clip.is_empty:
            raise NetworkError(f"bbox {bbox!r} does not overlap the boundary {boundary!r}")
    return clip


def resolve_boundary(boundary: Boundary, *, admin_boundaries: Path | str | None = None) -> BaseGeometry:
    """A boundary polygon from an admin code (``"441500"``, looked up in ``admin_boundaries``), a
    GeoJSON file or a shapely polygon."""
    if isinstance(boundary, BaseGeometry):
        return _as_polygon(boundary, "boundary")
    text = str(boundary)
    if _ADMIN_CODE.match(text):
        if admin_boundaries is None:
            raise NetworkError(f"admin code {text}: no admin boundaries file is known for this network; "
                               "pass the boundaries GeoJSON, or a GeoJSON polygon file as the boundary")
        return admin_boundary(text, admin_boundaries)
    path = Path(text)
    if not path.is_file():
        raise InputFileError(path, "a GeoJSON file with a Polygon or MultiPolygon boundary, or a six-digit admin "
                             "code such as 441500", detail="file not found")
    return _as_polygon(_read_geojson_geometry(path), path)


def admin_boundary(code: str, boundaries: Path | str) -> BaseGeometry:
    """The polygon of an administrative area by its six-digit code (``adcode``) in ``boundaries``.

    ``boundaries`` is a GeoJSON FeatureCollection whose features carry an ``adcode`` property (for
    the shipped network: ``planner.config.SHANWEI_BOUNDARIES``).
    """
    path = Path(boundaries)
    if not path.is_file():
        raise InputFileError(path, "the admin boundaries GeoJSON (FeatureCollection with 'adcode' properties)",
                             detail=f"file not found, needed to resolve admin code {code}")
    collection = read_json(path)
    known = []
    for feat in collection.get("features", []):
        adcode = str((feat.get("properties") or {}).get("adcode", ""))
        known.append(adcode)
        if adcode == code:
            return _as_polygon(shape(feat["geometry"]), f"{path} feature {code}")
    raise NetworkError(f"unknown admin code {code!r}: {path} has {', '.join(sorted(known)) or 'no codes'}")


def read_json(path: Path) -> dict[str, Any]:
    """A GeoJSON file as parsed JSON (free-form by nature), or an ``InputFileError`` naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, "a GeoJSON file (UTF-8 JSON)", detail=str(exc)) from None


def _read_geojson_geometry(path: Path) -> BaseGeometry:
    data = read_json(path)
    if data.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in data.get("features", [])]
    elif data.get("type") == "Feature":
        geoms = [data.get("geometry")]
    else:
        geoms = [data]
    try:
        shapes = [shape(g) for g in geoms if g]
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise InputFileError(path, "a GeoJSON Polygon or MultiPolygon", detail=str(exc)) from None
    if not shapes:
        raise InputFileError(path, "a GeoJSON Polygon or MultiPolygon", detail="no geometry found")
    kinds = sorted({s.geom_type for s in shapes})
    if any(k not in ("Polygon", "MultiPolygon") for k in kinds):
        raise InputFileError(path, "a GeoJSON Polygon or MultiPolygon boundary", detail=f"found {', '.join(kinds)}")
    return shapely.union_all(shapes)


def _as_polygon(geom: BaseGeometry, where: object) -> BaseGeometry:
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise NetworkError(f"{where}: expected a Polygon or MultiPolygon boundary, got a {geom.geom_type}")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.is_empty or geom.area == 0:
        raise NetworkError(f"{where}: expected a boundary polygon with an area, got an empty one")
    return geom


def describe_clip(clip: BaseGeometry) -> str:
    """The clip's type and bounds, for messages."""
    w, s, e, n = clip.bounds
    return f"{clip.geom_type} within W {w:.4f}, S {s:.4f}, E {e:.4f}, N {n:.4f}"


def clip_graph(graph: nx.MultiDiGraph, clip: BaseGeometry) -> nx.MultiDiGraph:
    """The subgraph of nodes inside the clip polygon (edges crossing its edge are dropped)."""
    nodes = list(graph.nodes)
    x = np.fromiter((graph.nodes[n]["x"] for n in nodes), dtype=float, count=len(nodes))
    y = np.fromiter((graph.nodes[n]["y"] for n in nodes), dtype=float, count=len(nodes))
    shapely.prepare(clip)
    inside = shapely.intersects_xy(clip, x, y)
    return graph.subgraph([n for n, keep in zip(nodes, inside) if keep]).copy()
