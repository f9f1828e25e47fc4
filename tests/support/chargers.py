"""Hand-made inputs for the existing-charger tests: CSV files in a chosen encoding, service-area sides, sites.

Distances for checking are computed here on their own (``haversine_km``), not with the library's.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path
from typing import Any

from planner.network.types import ServiceAreaSide
from planner.siting.candidates import Candidate

#: The columns a bureau's CSV needs, in the documented order.
CSV_HEADER = ["name", "lon", "lat", "chargers", "power_kw", "commissioned", "operator"]
#: Degrees of latitude per km on a 6,371 km sphere (enough for test geometry).
DEG_LAT_PER_KM = 1 / 111.195


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance, km (written apart from ``planner.geo``)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def east_of(lon: float, lat: float, km: float) -> float:
    """The longitude ``km`` east of (lon, lat)."""
    return lon + km * DEG_LAT_PER_KM / math.cos(math.radians(lat))


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, encoding: str = "utf-8") -> Path:
    """Write a CSV (``utf-8``, ``utf-8-sig`` for a BOM, ``gbk`` …)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def side(id: str, name: str, side: str, lon: float, lat: float, **kw: Any) -> ServiceAreaSide:
    """A service-area side with the given fields; every other field takes a neutral value."""
    values: dict[str, Any] = {
        "id": id, "name": name, "name_zh": name, "side": side, "lon": lon, "lat": lat, "status": "active",
        "node": 0, "osm_id": f"node/{abs(hash((id, side))) % 10_000}", "ref": "G15", "snap_distance_m": 0.0,
        "parking_spaces": None, "grid_capacity_kw": None, "location_approximate": False,
    }
    values.update(kw)
    names = {f.name for f in dataclasses.fields(ServiceAreaSide)}
    return ServiceAreaSide(**{k: v for k, v in values.items() if k in names})


def site(site_id: str, kind: str, lon: float, lat: float) -> Candidate:
    """A candidate site of ``kind`` at (lon, lat)."""
    return Candidate(site_id=site_id, kind=kind, name=site_id, lon=lon, lat=lat, node=0)  # type: ignore[arg-type]
