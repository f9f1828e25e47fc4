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
#: Stage years of Shanwei's carbon-peak plan (docs/plan/), and the first in which every town must have
#: a public fast charger within reach: the defaults of ``evplan plan`` and of the API's scenarios.
PLAN_STAGE_YEARS: tuple[int, ...] = (2025, 2030)
PLAN_TOWN_COVERAGE_FROM: int | None = 2030
#: Admin boundaries shipped with each shipped network: they resolve ``--boundary CODE`` and give
#: towns their county. Any other extract gets none unless the caller passes a file.
SHIPPED_ADMIN_BOUNDARIES: dict[Path, Path] = {SHANWEI_OSM: SHANWEI_BOUNDARIES}


def shipped_admin_boundaries(osm_path: Path | str) -> Path | None:
    """The admin boundaries shipped with this network file (``SHIPPED_ADMIN_BOUNDARIES``), else None."""
    target = Path(osm_path).resolve()
    return next((b for osm, b in SHIPPED_ADMIN_BOUNDARIES.items() if Path(osm).resolve() == target), None)


#: Fleet records shipped with each shipped network: the default records only for that network, so another
#: city's extract never gets Shanwei's depots and EV trend by accident.
SHIPPED_FLEET_DIRS: dict[Path, Path] = {SHANWEI_OSM: FLEET_DIR}


def shipped_fleet_dir(osm_path: Path | str) -> Path | None:
    """The fleet records shipped with this network file (``SHIPPED_FLEET_DIRS``), else None."""
    target = Path(osm_path).resolve()
    return next((f for osm, f in SHIPPED_FLEET_DIRS.items() if Path(osm).resolve() == target), None)


#: Existing chargers publicly known for Shanwei (approximate, each row with its source: data/chargers/README.md),
#: read by ``planner.siting.existing.load_existing``; like the fleet records, only for the shipped network.
EXISTING_CHARGERS = SHIPPED_DATA_DIR / "chargers" / "existing.csv"
SHIPPED_EXISTING_CHARGERS: dict[Path, Path] = {SHANWEI_OSM: EXISTING_CHARGERS}


def shipped_existing_chargers(osm_path: Path | str) -> Path | None:
    """The existing-chargers file shipped with this network file (``SHIPPED_EXISTING_CHARGERS``), else None."""
    target = Path(osm_path).resolve()
    return next((f for osm, f in SHIPPED_EXISTING_CHARGERS.items() if Path(osm).resolve() == target), None)


def cache_dir() -> Path:
    """Directory for derived, re-creatable files (processed graphs); ``EVPLAN_CACHE_DIR`` overrides."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evplan"
    return Path(os.environ.get("EVPLAN_CACHE_DIR", default))


# ---------------------------------------------------------------------- the shipped city (Shanwei)
# The library's functions take these as arguments; only the edges (cli/, app/) pass them.

#: The city the shipped data describe.
CITY_NAME = "Shanwei"
#: County-level divisions of Shanwei (GB/T 2260 codes), as in data/fleet/counties.csv.
SHANWEI_COUNTIES: dict[str, str] = {"441502": "城区", "441521": "海丰县", "441523": "陆河县", "441581": "陆丰市"}
#: The shipped targets of Shanwei's carbon-peak plan; a records directory's own targets.toml replaces them.
TARGETS_FILE = FLEET_DIR / "targets.toml"
#: What the shipped fleet records are; the fleet-share report shows it unless the records are real.
SHIPPED_FLEET_NOTE = (
    "The fleet records shipped with evplan (data/fleet) are synthetic: no registry extract of Shanwei is "
    "public, so a seeded generator kept in the repository produces them, calibrated to published figures "
    "(汕尾日报, 8 Nov 2021: 1,324 buses of which 1,295 battery-electric; 115 new-energy taxis, 49 %)."
)
SHIPPED_FLEET_NOTE_SYNTHETIC = (
    " This report was built from them: its figures show how the tracking works and are not facts about "
    f"{CITY_NAME}. Run it on the bureau's own records for real figures.")
SHIPPED_FLEET_NOTE_UNKNOWN = (
    f" If this report was built from them, its figures illustrate the method and are not facts about {CITY_NAME}.")
