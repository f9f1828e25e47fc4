"""Where evplan finds its shipped data, and the defaults every command shares.

Paths come from the environment first so the same code runs from a checkout, a wheel or a container.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the shipped data (``data/osm``, ``data/fleet``). Override with ``EVPLAN_SHIPPED_DATA``.
SHIPPED_DATA_DIR = Path(os.environ.get("EVPLAN_SHIPPED_DATA", Path(__file__).resolve().parents[1] / "data"))

#: The shipped Shanwei road network (an approximation built from public facts; see data/osm/README.md).
SHANWEI_OSM = SHIPPED_DATA_DIR / "osm" / "shanwei.osm"
#: City and county boundaries of Shanwei, WGS84 (converted from GCJ-02; see data/osm/README.md).
SHANWEI_BOUNDARIES = SHIPPED_DATA_DIR / "osm" / "shanwei_boundaries.geojson"
#: The shipped fleet records directory (synthetic, calibrated; see data/fleet/README.md).
FLEET_DIR = SHIPPED_DATA_DIR / "fleet"


def cache_dir() -> Path:
    """Directory for derived, re-creatable files (processed graphs); ``EVPLAN_CACHE_DIR`` overrides."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evplan"
    return Path(os.environ.get("EVPLAN_CACHE_DIR", default))
