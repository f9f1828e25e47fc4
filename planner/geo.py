"""GeoJSON (RFC 7946: WGS84 longitude/latitude) building and writing, and the GCJ-02 datum shift.

Every map evplan writes or serves goes through these few functions, so that coordinate order and
precision are decided in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planner._io import write_text_atomic

#: Mean Earth radius (IUGG), m: the sphere every great-circle distance in evplan uses.
EARTH_RADIUS_M = 6_371_008.8
#: Metres per degree of latitude (and of longitude at the equator) on that sphere.
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0

#: Decimal places kept for coordinates: 1e-6 degree is about 0.1 m, finer than any OSM survey.
COORD_DECIMALS = 6


def _pt(lon: float, lat: float) -> list[float]:
    return [round(float(lon), COORD_DECIMALS), round(float(lat), COORD_DECIMALS)]


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres between WGS84 points (vectorised over numpy arrays)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``west,south,east,north`` in WGS84 degrees; ValueError saying what was expected otherwise."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"expected west,south,east,north in degrees, got {text!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueError(f"expected west < east and south < north within WGS84 bounds, got {text!r}")
    return (w, s, e, n)


def point_feature(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Point feature at (lon, lat) in WGS84 degrees."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": _pt(lon, lat)}, "properties": properties}


def line_feature(coords: Sequence[tuple[float, float]], properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON LineString feature through (lon, lat) pairs in WGS84 degrees."""
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [_pt(x, y) for x, y in coords]},
        "properties": properties,
    }


def feature_collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection; RFC 7946 fixes the CRS to WGS84, so no ``crs`` member is written."""
    return {"type": "FeatureCollection", "features": list(features)}


def write_geojson(collection: dict[str, Any], path: Path | str) -> Path:
    """Write a FeatureCollection as UTF-8 JSON, atomically (a crash never leaves half a file)."""
    return write_text_atomic(path, json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")


# GCJ-02 ("Mars coordinates") is the obfuscated datum Chinese map providers publish; this is the
# widely published forward transform (Krasovsky 1940 ellipsoid) inverted by fixed-point iteration.
_A = 6378245.0
_EE = 0.00669342162296594323


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (_A / sq * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 (the forward transform; valid inside mainland China)."""
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float, *, tol_deg: float = 1e-9) -> tuple[float, float]:
    """GCJ-02 → WGS84 by iterating the forward transform (error well under 1 cm)."""
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < tol_deg and abs(dlat) < tol_deg:
            break
    return wlon, wlat
