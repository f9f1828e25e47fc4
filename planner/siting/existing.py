"""Chargers that exist already: read from OSM and from a bureau's CSV, attached to service-area sides and sites.

What is built is sunk capacity for the siting model (``ExistingCapacity`` per site id) and the evidence of
the clause-22 audit (``clause22_status``: which service-area sides have fast charging today).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from planner._io import QuarantinedRecord, read_csv_rows
from planner.errors import InputFileError
from planner.geo import gcj02_to_wgs84, haversine_m
from planner.network.types import RoadSide
from planner.siting.candidates import Candidate, CandidateKind

if TYPE_CHECKING:
    from planner.network import RoadNetwork
    from planner.network.types import ServiceAreaSide, UnsnappedServiceArea

#: Whether a charger is built (``operational``) or only announced (``planned``, under construction).
ChargerStatus = Literal["operational", "planned"]
#: Who may charge: the public, or only a fleet (a bus depot); None when the record does not say.
ChargerAccess = Literal["public", "private"]
#: How a record without a side is shared over a service area's sides (see ``attach_existing``).
SideRule = Literal["auto", "split", "nearest"]

#: A connector of at least this power is high-power, kW (Guangdong's super-fast stations: >= 360 kW per
#: connector; the siting's ``ChargerNorms.high_power_kw``). A parameter of every function that counts them.
HIGH_POWER_KW = 360.0
#: A connector of at least this power is a fast (DC) charger, kW: above the 22 kW ceiling of the AC
#: connectors (GB/T 20234.2 AC, type 2), below the 30 kW of the smallest common DC chargers.
FAST_CHARGER_MIN_KW = 30.0
#: Largest distance from a record to a candidate of each kind for it to count as that site, km. A service-area
#: side: 0.5 km (the sides of the shipped network lie 95 m off the centre line; a real area's buildings and
#: car parks reach 300-400 m from its mapped point). A depot: 1 km (depot positions are approximate, and
#: the nearest other depot of the shipped data is 1.6 km away). Fuel stations and car parks are premises:
#: 0.3 km. An interchange or a town centre stands for a neighbourhood: 1 km and 1.5 km.
MAX_ATTACH_KM: Mapping[CandidateKind, float] = {
    "service_area": 0.5, "depot": 1.0, "fuel": 0.3, "parking": 0.3, "interchange": 1.0, "town": 1.5,
}
#: A record without a side that lies within this of the midline between a service area's two sides (across
#: the road: between the carriageways, like a published centre point) is split over the sides, km.
SIDE_MARGIN_KM = 0.05
#: An unmatched public station becomes its own candidate only when a road node lies within this, km
#: (the attach distance of the network's places and POIs).
MAX_NODE_KM = 2.0
#: Columns an existing-chargers CSV must have (values of ``power_kw``, ``commissioned`` and ``operator``
#: may be empty: unknown) and those it may have.
CSV_COLUMNS = ("name", "lon", "lat", "chargers", "power_kw", "commissioned", "operator")
CSV_OPTIONAL_COLUMNS = ("status", "approximate", "access", "side", "crs", "note", "evidence")
#: Largest power of one connector a record may state, kW: a larger figure is most likely watts.
MAX_CONNECTOR_KW = 1000.0
#: OSM socket types that are DC (the rest: AC).
DC_SOCKETS = frozenset({"gb_dc", "chaoji", "type2_combo", "type1_combo", "chademo", "tesla_supercharger",
                        "tesla_supercharger_ccs", "ccs", "mcs"})

_SIDES: tuple[RoadSide, ...] = get_args(RoadSide)
_SIDE_WORDS: dict[str, RoadSide] = {**{s: s for s in _SIDES}, "北": "north", "东": "east", "南": "south", "西": "west"}
_TRUE = frozenset({"true", "yes", "1", "y", "是"})
_FALSE = frozenset({"false", "no", "0", "n", "否", ""})
_CRS_WGS84 = frozenset({"", "wgs84", "wgs-84", "epsg:4326", "4326"})
_CRS_GCJ02 = frozenset({"gcj-02", "gcj02", "gcj"})
_DATE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$")
_POWER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kw|w|mw)?\s*$", re.IGNORECASE)
_UNIT_KW = {"kw": 1.0, "w": 0.001, "mw": 1000.0}


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class ExistingCharger:
    """One existing (or planned) charging station as a record states it, WGS84.

    ``chargers`` counts the connectors that can charge at the same time; ``power_kw`` is per connector
    (None: not known). ``commissioned`` is an ISO date, year-month or year as given (None: not known).
    ``source`` names where the record comes from: ``osm:node/123`` or ``<file name>:<line>``.
    """

    name: str
    lon: float
    lat: float
    chargers: int
    power_kw: float | None
    commissioned: str | None
    operator: str | None
    source: str
    approximate: bool = False
    status: ChargerStatus = "operational"
    access: ChargerAccess | None = None
    #: The service-area side the record says it is on (None: it does not say).
    side: RoadSide | None = None
    note: str | None = None
    #: Where the figures come from (publication, URL), for shipped and bureau records.
    evidence: str | None = None

    @property
    def commissioned_year(self) -> int | None:
        """The year of ``commissioned``, or None."""
        return int(self.commissioned[:4]) if self.commissioned else None


@dataclass(frozen=True)
class ExistingRead:
    """What reading existing-charger files gave: the records, those quarantined, and notes on the reading."""

    chargers: tuple[ExistingCharger, ...] = ()
    quarantined: tuple[QuarantinedRecord, ...] = ()
    #: How values were read where a rule decided (several sockets, a missing capacity, an ignored column).
    notes: tuple[str, ...] = ()

    def __add__(self, other: ExistingRead) -> ExistingRead:
        return ExistingRead(self.chargers + other.chargers, self.quarantined + other.quarantined,
                            self.notes + other.notes)


def load_existing(path: Path | str) -> ExistingRead:
    """Existing chargers from a CSV file, an OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf`` …) or a directory.

    A directory gives every ``*.csv`` in it, in name order. Raises ``InputFileError`` for a missing file,
    an unknown suffix or a CSV without a required column; bad rows are quarantined, not raised.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() == ".csv" and f.is_file())
        if not files:
            raise InputFileError(p, "a directory with existing-charger CSV files", detail="no .csv file in it")
        out = ExistingRead()
        for f in files:
            out = out + read_existing_csv(f)
        return out
    name = p.name.lower()
    if name.endswith(".csv"):
        return read_existing_csv(p)
    if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".osm.xml", ".osm.pbf", ".pbf")):
        return read_osm_chargers(p)
    raise InputFileError(p, "an existing-chargers CSV, an OSM file or a directory of CSV files",
                         detail=f"unsupported file name suffix {''.join(p.suffixes)!r}")


# ------------------------------------------------------------------------------------------ value parsing


def parse_power_kw(text: str) -> float:
    """A power value in kW: ``"120 kW"``, ``"22000 W"``, ``"1.2 MW"``, ``"60"`` (a bare number is kW).

    Several values separated by ``;`` (OSM lists) give the highest. Raises ``ValueError`` otherwise.
    """
    values = []
    for part in str(text).split(";"):
        m = _POWER.match(part)
        if not m:
            raise ValueError(text)
        values.append(float(m.group(1)) * _UNIT_KW[(m.group(2) or "kw").lower()])
    if not values or max(values) <= 0:
        raise ValueError(text)
    return max(values)


def _iso_date(text: str) -> str | None:
    m = _DATE.match(text.strip())
    if not m or not 1950 <= int(m.group(1)) <= 2100:
        return None
    return text.strip()


# ---------------------------------------------------------------------------------------------- CSV reader


_EXPECTED = {
    "name": "a non-empty name",
    "lon": "a longitude in degrees, -180 to 180",
    "lat": "a latitude in degrees, -90 to 90",
    "chargers": "a whole number of connectors that charge at once, at least 1",
    "power_kw": f"empty or the power of one connector in kW (e.g. 120 or '120 kW'), at most {MAX_CONNECTOR_KW:g}",
    "commissioned": "empty or a date YYYY-MM-DD, YYYY-MM or YYYY",
    "status": "empty, operational or planned",
    "approximate": "empty, true or false",
    "access": "empty, public or private",
    "side": "empty or north, east, south, west (北, 东, 南, 西)",
    "crs": "empty, WGS84 or GCJ-02",
}


def read_existing_csv(path: Path | str) -> ExistingRead:
    """Existing chargers from a CSV a bureau or operator fills (columns ``CSV_COLUMNS`` + optional ones).

    Encoding UTF-8 (with or without BOM), else GB18030/GBK. ``crs=GCJ-02`` rows are converted to WGS84.
    Every bad value quarantines its row with the file, line, field and what was expected; a row equal to
    an earlier one is quarantined too (it would count the same chargers twice). Blank lines are skipped.
    Raises ``InputFileError`` when the file is missing, undecodable or lacks a required column.
    """
    table = read_csv_rows(path, CSV_COLUMNS, "an existing-chargers CSV file", table="a CSV file")
    p, cols = table.path, table.columns
    notes = [f"{p.name}: column {c!r} is not read" for c in cols if c not in CSV_COLUMNS + CSV_OPTIONAL_COLUMNS]
    chargers: list[ExistingCharger] = []
    quarantined: list[QuarantinedRecord] = list(table.quarantined)
    seen: dict[tuple[str, ...], int] = {}
    for r in table.rows:
        start, row = r.line, r.values
        key = tuple(row[c] for c in cols)
        if key in seen:
            quarantined.append(QuarantinedRecord(p.name, start, "(row)", ",".join(r.fields),
                                                 f"a record different from row {seen[key]} (same values)"))
            continue
        seen[key] = start
        rec, bad = _csv_record(row, f"{p.name}:{start}")
        quarantined += [QuarantinedRecord(p.name, start, f, row.get(f, ""), _EXPECTED[f]) for f in bad]
        if rec is not None:
            chargers.append(rec)
    quarantined.sort(key=lambda q: q.row)  # file order: the rows of a wrong field count were set aside first
    return ExistingRead(tuple(chargers), tuple(quarantined), tuple(notes))


def _csv_record(row: dict[str, str], source: str) -> tuple[ExistingCharger | None, list[str]]:
    """The record of one CSV row, or None and the fields that are wrong."""
    bad: list[str] = []

    def number(key: str, low: float, high: float) -> float:
        try:
            v = float(row[key])
        except ValueError:
            bad.append(key)
            return math.nan
        if not (math.isfinite(v) and low <= v <= high):
            bad.append(key)
        return v

    if not row["name"]:
        bad.append("name")
    lon, lat = number("lon", -180.0, 180.0), number("lat", -90.0, 90.0)
    chargers = 0
    if re.fullmatch(r"\d+", row["chargers"]) and int(row["chargers"]) >= 1:
        chargers = int(row["chargers"])
    else:
        bad.append("chargers")
    power_kw: float | None = None
    if row["power_kw"]:
        try:
            power_kw = parse_power_kw(row["power_kw"])
            if power_kw > MAX_CONNECTOR_KW:
                bad.append("power_kw")
        except ValueError:
            bad.append("power_kw")
    commissioned = None
    if row["commissioned"]:
        commissioned = _iso_date(row["commissioned"])
        if commissioned is None:
            bad.append("commissioned")
    status = (row.get("status") or "operational").lower()
    if status not in get_args(ChargerStatus):
        bad.append("status")
    approx_text = (row.get("approximate") or "").lower()
    if approx_text not in _TRUE | _FALSE:
        bad.append("approximate")
    access = (row.get("access") or "").lower() or None
    if access is not None and access not in get_args(ChargerAccess):
        bad.append("access")
    side_text = (row.get("side") or "").lower()
    side = _SIDE_WORDS.get(side_text) if side_text else None
    if side_text and side is None:
        bad.append("side")
    crs = (row.get("crs") or "").lower()
    if crs not in _CRS_WGS84 | _CRS_GCJ02:
        bad.append("crs")
    if bad:
        return None, bad
    if crs in _CRS_GCJ02:
        lon, lat = gcj02_to_wgs84(lon, lat)
    return ExistingCharger(
        name=row["name"], lon=round(lon, 7), lat=round(lat, 7), chargers=chargers, power_kw=power_kw,
        commissioned=commissioned, operator=row["operator"] or None, source=source,
        approximate=approx_text in _TRUE, status=status,  # type: ignore[arg-type]
        access=access, side=side, note=row.get("note") or None,  # type: ignore[arg-type]
        evidence=row.get("evidence") or None,
    ), []


# ---------------------------------------------------------------------------------------------- OSM reader


def read_osm_chargers(path: Path | str) -> ExistingRead:
    """``amenity=charging_station`` nodes and ways of an OSM file (XML or PBF, one pass with pyosmium).

    ``capacity`` gives the connectors that charge at once; without it, the sum of the ``socket:<type>``
    counts (else 1), flagged approximate and noted. ``power_kw`` is the highest ``socket:*:output`` of a
    DC socket (of any socket when none is DC): every connector of the station is counted at it, and a
    note says so when the station has several outputs. ``construction:amenity`` / ``proposed:amenity`` =
    ``charging_station`` are read as planned. A malformed ``capacity`` or output quarantines the station;
    a ``start_date`` that is not an ISO date is noted and left unknown; relations are quarantined (map the
    station as a node or area). A way stands at its centroid.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "an OpenStreetMap file (.osm, .osm.bz2 or .osm.pbf)", detail="file not found")
    import osmium
    from osmium.filter import KeyFilter
    from shapely.geometry import LineString, Point, Polygon

    chargers: list[ExistingCharger] = []
    quarantined: list[QuarantinedRecord] = []
    notes: list[str] = []
    keys = ("amenity", "construction:amenity", "proposed:amenity", "planned:amenity")
    try:
        processor = osmium.FileProcessor(str(p)).with_locations().with_filter(KeyFilter(*keys))
        for obj in processor:
            tags = {t.k: t.v for t in obj.tags}
            status = _osm_status(tags)
            if status is None:
                continue
            if obj.is_node():
                ref, lon, lat = f"node/{obj.id}", obj.location.lon, obj.location.lat
            elif obj.is_way():
                ref = f"way/{obj.id}"
                pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if not pts:
                    quarantined.append(QuarantinedRecord(p.name, ref, "geometry", "", "a way with its nodes"))
                    continue
                shape = (Polygon(pts) if len(pts) >= 4 and pts[0] == pts[-1] else
                         LineString(pts) if len(pts) > 1 else Point(pts[0]))
                c = shape.centroid if shape.is_valid and not shape.is_empty else LineString(pts).centroid
                lon, lat = c.x, c.y
            else:
                quarantined.append(QuarantinedRecord(p.name, f"relation/{obj.id}", "geometry", "relation",
                                                     "a node or a way (area)"))
                continue
            rec, bad, rec_notes = _osm_record(tags, ref, lon, lat, status)
            quarantined += [QuarantinedRecord(p.name, ref, k, v, e) for k, v, e in bad]
            notes += [f"{p.name} {ref}: {n}" for n in rec_notes]
            if rec is not None:
                chargers.append(rec)
    except RuntimeError as exc:  # libosmium reports damaged input as RuntimeError subclasses
        raise InputFileError(p, "a complete OpenStreetMap file", detail=f"the file is truncated or corrupt: {exc}") \
            from None
    return ExistingRead(tuple(chargers), tuple(quarantined), tuple(notes))


def _osm_status(tags: Mapping[str, str]) -> ChargerStatus | None:
    if tags.get("amenity") == "charging_station":
        return "operational"
    if any(tags.get(k) == "charging_station" for k in ("construction:amenity", "proposed:amenity", "planned:amenity")):
        return "planned"
    return None


def _osm_record(
    tags: Mapping[str, str], ref: str, lon: float, lat: float, status: ChargerStatus
) -> tuple[ExistingCharger | None, list[tuple[str, str, str]], list[str]]:
    """A station from its tags, or None and (key, value, expected) of each malformed tag; and notes."""
    bad: list[tuple[str, str, str]] = []
    notes: list[str] = []
    approximate = tags.get("location") == "approximate"
    counts: dict[str, str] = {}
    outputs: dict[str, float] = {}
    for key, value in tags.items():
        parts = key.split(":")
        if parts[0] != "socket" or len(parts) < 2:
            continue
        if len(parts) == 2:
            counts[parts[1]] = value
        elif len(parts) == 3 and parts[2] == "output":
            try:
                outputs[parts[1]] = parse_power_kw(value)
            except ValueError:
                bad.append((key, value, "a power with its unit, e.g. '120 kW' or '7400 W'"))
    chargers = 0
    if "capacity" in tags:
        cap = tags["capacity"].strip()
        if re.fullmatch(r"\d+", cap) and int(cap) >= 1:
            chargers = int(cap)
        else:
            bad.append(("capacity", tags["capacity"], "a whole number of vehicles that charge at once, at least 1"))
    else:
        known = [int(v) for v in counts.values() if re.fullmatch(r"\s*\d+\s*", v) and int(v) > 0]
        chargers = sum(known) or 1
        approximate = True
        notes.append(f"no capacity: counted as {chargers} connector(s) "
                     + ("(the sum of its socket counts)" if known else "(no socket count either)"))
    if bad:
        return None, bad, []
    power_kw: float | None = None
    if outputs:
        dc = {k: v for k, v in outputs.items() if k in DC_SOCKETS}
        pool = dc or outputs
        best = max(pool, key=lambda k: pool[k])
        power_kw = pool[best]
        if len(outputs) > 1:
            listed = ", ".join(f"{k} {v:g} kW" for k, v in sorted(outputs.items()))
            kind = "DC output" if dc else "output (no DC socket)"
            notes.append(f"socket outputs {listed}: power_kw = {power_kw:g} kW, the highest {kind} ({best}), "
                         "for every connector")
        bare = [k for k in pool if _POWER.match(tags[f"socket:{k}:output"].split(";")[0]).group(2) is None]
        if best in bare:
            notes.append(f"socket:{best}:output = {tags[f'socket:{best}:output']!r} has no unit: read as kW")
    commissioned = None
    if tags.get("start_date"):
        commissioned = _iso_date(tags["start_date"])
        if commissioned is None:
            notes.append(f"start_date {tags['start_date']!r} is not an ISO date: commissioning left unknown")
    access_tag = tags.get("access", "").lower()
    access: ChargerAccess | None = ("private" if access_tag in {"private", "no"} else
                                    "public" if access_tag in {"yes", "public", "customers", "permissive"} else None)
    name = tags.get("name") or tags.get("name:zh") or tags.get("name:en") or f"charging station {ref}"
    return ExistingCharger(
        name=name, lon=round(lon, 7), lat=round(lat, 7), chargers=chargers, power_kw=power_kw,
        commissioned=commissioned, operator=tags.get("operator") or tags.get("network") or None,
        source=f"osm:{ref}", approximate=approximate, status=status, access=access,
    ), [], notes


# ------------------------------------------------------------------------------------------------ attachment


@dataclass(frozen=True)
class ExistingCapacity:
    """What exists at one site: the sum over its records (the sunk capacity the siting model starts from).

    ``power_kw`` is the installed total (connectors × kW each); connectors of unknown power count in
    ``chargers`` and ``unknown_power_chargers`` but add no kW. ``high_power_chargers`` and ``fast_chargers``
    count connectors at or above the thresholds given to ``attach_existing``. ``commissioned_year`` is the
    latest known year among the records (by when all of it existed), None when none is known.
    """

    chargers: int
    high_power_chargers: int
    power_kw: float
    commissioned_year: int | None
    sources: tuple[str, ...]
    fast_chargers: int = 0
    unknown_power_chargers: int = 0
    approximate: bool = False


@dataclass(frozen=True)
class Attachment:
    """A record (or its share, when split over a service area's sides) attached to a site."""

    site_id: str
    kind: CandidateKind
    charger: ExistingCharger
    #: The connectors of the record counted at this site (all of them unless split).
    chargers: int
    #: Great-circle distance from the record to the site, km.
    distance_km: float
    #: How the site was chosen, in words.
    rule: str


@dataclass(frozen=True)
class UnmatchedCharger:
    """A record within no attach distance of any site: reported with the nearest site and its distance."""

    charger: ExistingCharger
    nearest_site_id: str | None
    #: Great-circle distance to that site, km (None when there is no site at all).
    distance_km: float | None
    reason: str
    #: The existing-only candidate made for it (``existing:<source>``), or None.
    candidate_site_id: str | None = None


@dataclass(frozen=True)
class AttachedExisting:
    """Existing chargers attached to sites: per-site capacity, the attachments, and what matched nothing.

    ``by_site`` sums the operational records, ``planned_by_site`` the planned ones (announced, not built:
    not sunk capacity unless the plan treats them as committed). ``existing_only_candidates`` are public
    stations that matched no candidate, made sites of their own (kind ``parking``: a car park with
    chargers) so that their capacity is not lost; they are also listed in ``unmatched``.
    """

    attachments: tuple[Attachment, ...]
    unmatched: tuple[UnmatchedCharger, ...]
    existing_only_candidates: tuple[Candidate, ...]
    high_power_kw: float = HIGH_POWER_KW
    fast_min_kw: float = FAST_CHARGER_MIN_KW
    by_site: dict[str, ExistingCapacity] = field(default_factory=dict, compare=False)
    planned_by_site: dict[str, ExistingCapacity] = field(default_factory=dict, compare=False)

    def capacity(
        self, *, statuses: Iterable[ChargerStatus] = ("operational",), as_of_year: int | None = None
    ) -> dict[str, ExistingCapacity]:
        """Per-site capacity of the records of ``statuses``; with ``as_of_year``, those commissioned by then.

        A record of unknown commissioning counts in every year (it exists now; nothing says since when).
        """
        wanted = set(statuses)
        groups: dict[str, list[Attachment]] = defaultdict(list)
        for a in self.attachments:
            c = a.charger
            if c.status in wanted and (as_of_year is None or c.commissioned_year is None
                                       or c.commissioned_year <= as_of_year):
                groups[a.site_id].append(a)
        return {sid: _sum(atts, self.high_power_kw, self.fast_min_kw) for sid, atts in sorted(groups.items())}


def _sum(atts: Sequence[Attachment], high_power_kw: float, fast_min_kw: float) -> ExistingCapacity:
    years = [a.charger.commissioned_year for a in atts if a.charger.commissioned_year is not None]
    known = [a for a in atts if a.charger.power_kw is not None]
    return ExistingCapacity(
        chargers=sum(a.chargers for a in atts),
        high_power_chargers=sum(a.chargers for a in known if a.charger.power_kw >= high_power_kw - 1e-9),
        power_kw=round(sum(a.chargers * a.charger.power_kw for a in known), 3),
        commissioned_year=max(years) if years else None,
        sources=tuple(dict.fromkeys(a.charger.source for a in atts)),
        fast_chargers=sum(a.chargers for a in known if a.charger.power_kw >= fast_min_kw - 1e-9),
        unknown_power_chargers=sum(a.chargers for a in atts if a.charger.power_kw is None),
        approximate=any(a.charger.approximate for a in atts),
    )


def service_area_site_id(side: ServiceAreaSide) -> str:
    """The candidate site id of a service-area side, as ``candidates_from_network`` writes it."""
    return f"sa:{side.id}:{side.side}"


def attach_existing(
    chargers: Sequence[ExistingCharger],
    candidates: Sequence[Candidate],
    service_areas: Sequence[ServiceAreaSide],
    *,
    network: RoadNetwork | None = None,
    max_km: Mapping[str, float] | None = None,
    side_rule: SideRule = "auto",
    side_margin_km: float = SIDE_MARGIN_KM,
    high_power_kw: float = HIGH_POWER_KW,
    fast_min_kw: float = FAST_CHARGER_MIN_KW,
) -> AttachedExisting:
    """Attach each record to its service-area side, else to the nearest candidate within its kind's distance.

    Rules, in order:

    1. A record not ``private`` within ``max_km["service_area"]`` of an active service-area side belongs to
       that service area. If it names its side, it goes to that side of the area (unmatched when the area
       has no such side). If not, ``side_rule`` decides: ``nearest`` gives it all to the nearer side;
       ``split`` shares its connectors over the area's active sides in proportion to their parking spaces
       (equally when a side's are unknown), largest remainder first; ``auto`` (default) splits when the
       record lies within ``side_margin_km`` of the midline between the area's two nearest sides,
       measured across the road on the axis joining them (it lies between the carriageways, e.g. a
       published centre point), and gives it to the nearer side otherwise.
    2. Else the nearest candidate within ``max_km[kind]`` (``MAX_ATTACH_KM`` by default) among the kinds its
       access allows: a ``private`` record only a depot, a ``public`` one anything but a depot, a record
       that does not say anything. Candidates of kind ``service_area`` are matched through
       ``service_areas`` (rule 1), not here.
    3. Else it is unmatched, with the nearest site of any kind and its distance. A public (or unstated)
       record then becomes an existing-only candidate ``existing:<source>`` (kind ``parking``) on the
       nearest local-road node of ``network`` within ``MAX_NODE_KM``; without ``network``, or farther
       from every node, it stays unmatched only.

    Nothing is attached beyond its distance. Distances are great-circle (``planner.geo.haversine_m``).
    """
    limits: dict[str, float] = {**MAX_ATTACH_KM, **(max_km or {})}
    active = [s for s in service_areas if s.status == "active"]
    inactive = [s for s in service_areas if s.status != "active"]
    others = [c for c in candidates if c.kind != "service_area"]
    attachments: list[Attachment] = []
    unmatched: list[UnmatchedCharger] = []
    pending_new: list[tuple[int, ExistingCharger, str | None, float | None, str]] = []

    sa_lon, sa_lat = np.array([s.lon for s in active], dtype=float), np.array([s.lat for s in active], dtype=float)
    o_lon, o_lat = np.array([k.lon for k in others], dtype=float), np.array([k.lat for k in others], dtype=float)
    o_limit = np.array([limits.get(k.kind, 0.0) for k in others], dtype=float)
    o_depot = np.array([k.kind == "depot" for k in others], dtype=bool)
    site_ids = [service_area_site_id(s) for s in active] + [k.site_id for k in others]

    for c in chargers:
        reason = ""
        d_sa = np.asarray(haversine_m(c.lon, c.lat, sa_lon, sa_lat), dtype=float) / 1000.0
        d_o = np.asarray(haversine_m(c.lon, c.lat, o_lon, o_lat), dtype=float) / 1000.0
        if c.access != "private" and len(active):
            j = int(np.argmin(d_sa))
            if d_sa[j] <= limits["service_area"]:
                done, reason = _attach_to_area(c, active, d_sa, j, side_rule, side_margin_km, attachments)
                if done:
                    continue
        if not reason and len(others):
            # a private (fleet) record only at a depot, a public one anywhere else, an unstated one anywhere
            access_ok = {"private": o_depot, "public": ~o_depot}.get(c.access or "", np.ones_like(o_depot))
            ok = access_ok & (d_o <= o_limit)
            if ok.any():
                i = int(np.argmin(np.where(ok, d_o, np.inf)))
                k = others[i]
                attachments.append(Attachment(k.site_id, k.kind, c, c.chargers, round(float(d_o[i]), 4),
                                              f"nearest {k.kind} within {limits[k.kind]:g} km"))
                continue
        # Unmatched: say how far the nearest site of any kind is.
        d_all = np.concatenate([d_sa, d_o])
        nearest_id, nearest_km = None, None
        if len(d_all):
            m = int(np.argmin(d_all))
            nearest_id, nearest_km = site_ids[m], round(float(d_all[m]), 3)
        if reason:  # at a service area, but on a side it does not have: a data error to fix, not a new site
            unmatched.append(UnmatchedCharger(c, nearest_id, nearest_km, reason + "; not made a site"))
            continue
        reason = _unmatched_reason(c, nearest_id, nearest_km, inactive, limits)
        pending_new.append((len(unmatched), c, nearest_id, nearest_km, reason))
        unmatched.append(UnmatchedCharger(c, nearest_id, nearest_km, reason))

    new_candidates = _existing_only(pending_new, unmatched, attachments, network)
    result = AttachedExisting(tuple(attachments), tuple(unmatched), tuple(new_candidates),
                              high_power_kw=high_power_kw, fast_min_kw=fast_min_kw)
    object.__setattr__(result, "by_site", result.capacity(statuses=("operational",)))
    object.__setattr__(result, "planned_by_site", result.capacity(statuses=("planned",)))
    return result


def _attach_to_area(
    c: ExistingCharger, active: Sequence[ServiceAreaSide], d_sa: np.ndarray, j: int, side_rule: SideRule,
    side_margin_km: float, out: list[Attachment],
) -> tuple[bool, str]:
    """Attach ``c`` to the service area of ``active[j]``; (False, reason) when its stated side is not there."""
    area = active[j]
    idx = sorted((i for i, s in enumerate(active) if s.id == area.id), key=lambda i: (d_sa[i], active[i].side))
    if c.side is not None:
        named = [i for i in idx if active[i].side == c.side]
        if not named:
            have = ", ".join(sorted(active[i].side for i in idx))
            return False, (f"the record says {c.side} side, but {area.name} ({area.id}) has only the {have} "
                           f"side(s) on the network")
        i = named[0]
        out.append(Attachment(service_area_site_id(active[i]), "service_area", c, c.chargers, round(float(d_sa[i]), 4),
                              f"the {c.side} side the record names"))
        return True, ""
    split = side_rule == "split" or (
        side_rule == "auto" and len(idx) > 1
        and abs(_across_offset_km(c, active[idx[0]], active[idx[1]])) < side_margin_km)
    if not split or len(idx) == 1:
        i = idx[0]
        how = "the only active side" if len(idx) == 1 else f"the nearer side (rule {side_rule})"
        out.append(Attachment(service_area_site_id(active[i]), "service_area", c, c.chargers,
                              round(float(d_sa[i]), 4), how))
        return True, ""
    sides = sorted(idx, key=lambda i: active[i].side)
    spaces = [active[i].parking_spaces for i in sides]
    weights = [float(s) for s in spaces] if all(s for s in spaces) else [1.0] * len(sides)
    basis = ("parking spaces " + ":".join(str(s) for s in spaces)) if all(s for s in spaces) else "equal shares"
    for i, n in zip(sides, largest_remainder(c.chargers, weights), strict=True):
        if n:
            out.append(Attachment(service_area_site_id(active[i]), "service_area", c, n, round(float(d_sa[i]), 4),
                                  f"split over the {len(sides)} sides by {basis}"))
    return True, ""


def _across_offset_km(c: ExistingCharger, a: ServiceAreaSide, b: ServiceAreaSide) -> float:
    """Where ``c`` lies on the axis from side ``a`` to side ``b``, km from their midpoint (negative: ``a``'s half).

    A local equirectangular projection: the sides of one area are at most a few km apart.
    """
    kx = math.cos(math.radians((a.lat + b.lat) / 2))
    ax, ay = (b.lon - a.lon) * kx, b.lat - a.lat
    px, py = (c.lon - a.lon) * kx, c.lat - a.lat
    length = math.hypot(ax, ay)
    if length == 0:
        return 0.0
    km_per_deg = float(haversine_m(0.0, 0.0, 0.0, 1.0)) / 1000.0
    return ((px * ax + py * ay) / length - length / 2) * km_per_deg


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` into whole numbers that sum to it (largest remainder).

    Ties go to the earlier weight.
    """
    w = sum(weights)
    exact = [total * x / w for x in weights]
    out = [math.floor(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _unmatched_reason(c: ExistingCharger, nearest_id: str | None, nearest_km: float | None,
                      inactive: Sequence[ServiceAreaSide], limits: Mapping[str, float]) -> str:
    for s in inactive:
        d = float(haversine_m(c.lon, c.lat, s.lon, s.lat)) / 1000.0
        if d <= limits["service_area"]:
            return f"{d:.2f} km from {s.name} ({s.id}, {s.side} side), which is {s.status.replace('_', ' ')}"
    if nearest_id is None:
        return "there is no candidate site to attach it to"
    return (f"no site within its attach distance; the nearest is {nearest_id}, {nearest_km:.2f} km away "
            f"(limits, km: {', '.join(f'{k} {v:g}' for k, v in limits.items())})")


def _existing_only(
    pending: Sequence[tuple[int, ExistingCharger, str | None, float | None, str]],
    unmatched: list[UnmatchedCharger],
    attachments: list[Attachment],
    network: RoadNetwork | None,
) -> list[Candidate]:
    """Make public unmatched records sites of their own (on the nearest local-road node within ``MAX_NODE_KM``)."""
    public = [(k, c) for k, c, *_ in pending if c.access != "private"]
    for k, c, *_ in pending:
        if c.access == "private":
            unmatched[k] = _with(unmatched[k], reason_tail="a private station is no public site; not sited")
    if not public:
        return []
    if network is None:
        for k, _ in public:
            unmatched[k] = _with(unmatched[k], reason_tail="no network given: not made a site")
        return []
    from planner.network import nearest_nodes
    from planner.network.types import EXPRESSWAY_CLASSES

    nodes, dist_m = nearest_nodes(network, [c.lon for _, c in public], [c.lat for _, c in public],
                                  exclude_classes=EXPRESSWAY_CLASSES)
    out: list[Candidate] = []
    for (k, c), node, m in zip(public, nodes.tolist(), dist_m.tolist(), strict=True):
        if m > MAX_NODE_KM * 1000.0:
            unmatched[k] = _with(unmatched[k], reason_tail=f"{m / 1000.0:.1f} km from the nearest local road node "
                                                           f"(more than {MAX_NODE_KM:g} km): not made a site")
            continue
        sid = f"existing:{c.source}"
        out.append(Candidate(site_id=sid, kind="parking", name=c.name, lon=c.lon, lat=c.lat, node=node,
                             location_approximate=c.approximate))
        attachments.append(Attachment(sid, "parking", c, c.chargers, 0.0, "existing-only site of its own"))
        unmatched[k] = _with(unmatched[k], reason_tail=f"made a site of its own, {sid}", site_id=sid)
    return out


def _with(u: UnmatchedCharger, *, reason_tail: str, site_id: str | None = None) -> UnmatchedCharger:
    return UnmatchedCharger(u.charger, u.nearest_site_id, u.distance_km, f"{u.reason}; {reason_tail}",
                            site_id if site_id is not None else u.candidate_site_id)


# ------------------------------------------------------------------------------------------ clause-22 audit


@dataclass(frozen=True)
class ServiceAreaSideStatus:
    """Whether one active service-area side has fast charging today (clause 22 of 汕府〔2023〕31号)."""

    site_id: str
    service_area_id: str
    name: str
    side: str
    ref: str | None
    meets_clause22: bool
    #: Operational connectors at or above the fast threshold, all operational connectors, and their kW.
    fast_chargers: int
    chargers: int
    power_kw: float
    planned_chargers: int
    sources: tuple[str, ...]
    #: Whether any record behind the figures is approximate.
    approximate: bool
    #: What is missing, in words ("" when the side meets clause 22).
    missing: str

    def describe(self) -> str:
        """One line for a planner."""
        head = f"{self.name} ({self.side} side)"
        if self.meets_clause22:
            return (f"{head}: meets clause 22, {self.fast_chargers} fast connector(s), {self.power_kw:,.0f} kW"
                    + (" (approximate)" if self.approximate else ""))
        return f"{head}: {self.missing}"


@dataclass(frozen=True)
class InactiveServiceArea:
    """A service area (side) that is closed, under construction or off the network: listed apart."""

    name: str
    osm_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class Clause22Audit:
    """Clause 22 on the network: every active service-area side, and the service areas listed apart."""

    sides: tuple[ServiceAreaSideStatus, ...]
    #: Closed and under-construction sides, and active service areas not snapped onto the network.
    listed_apart: tuple[InactiveServiceArea, ...] = ()

    @property
    def met(self) -> tuple[ServiceAreaSideStatus, ...]:
        """The sides that have fast charging today."""
        return tuple(s for s in self.sides if s.meets_clause22)

    @property
    def missing(self) -> tuple[ServiceAreaSideStatus, ...]:
        """The sides that still lack it."""
        return tuple(s for s in self.sides if not s.meets_clause22)


def clause22_status(
    service_areas: Sequence[ServiceAreaSide],
    by_site: Mapping[str, ExistingCapacity],
    *,
    planned_by_site: Mapping[str, ExistingCapacity] | None = None,
    unsnapped: Sequence[UnsnappedServiceArea] = (),
    min_fast_chargers: int = 1,
) -> Clause22Audit:
    """Which active service-area sides have fast charging (at least ``min_fast_chargers`` fast connectors).

    ``by_site`` is the operational capacity (``AttachedExisting.by_site``, or ``capacity(as_of_year=2025)``
    for the 2025 stage); planned chargers are named in what is missing but never meet the clause. Clause 22
    asks for a fast-charging station at every service area, so one fast connector per side meets it by
    default; how many a side needs is the sizing's business. Closed and under-construction sides and
    unsnapped service areas are listed apart.
    """
    planned = planned_by_site or {}
    sides: list[ServiceAreaSideStatus] = []
    apart: list[InactiveServiceArea] = []
    for s in sorted(service_areas, key=lambda s: (s.name, s.id, s.side)):
        if s.status != "active":
            apart.append(InactiveServiceArea(f"{s.name} ({s.side} side)", s.osm_id, s.status,
                                             f"{s.status.replace('_', ' ')}: clause 22 does not apply"))
            continue
        sid = service_area_site_id(s)
        cap, plan = by_site.get(sid), planned.get(sid)
        fast = cap.fast_chargers if cap else 0
        meets = fast >= min_fast_chargers
        missing = ""
        if not meets:
            parts = [f"{fast} operational fast connector(s), {min_fast_chargers} needed" if fast else
                     "no operational fast charger on record"]
            if cap and cap.unknown_power_chargers:
                parts.append(f"{cap.unknown_power_chargers} connector(s) of unknown power")
            if plan:
                parts.append(f"{plan.chargers} planned ({', '.join(plan.sources)})")
            missing = "; ".join(parts)
        sides.append(ServiceAreaSideStatus(
            site_id=sid, service_area_id=s.id, name=s.name, side=s.side, ref=s.ref, meets_clause22=meets,
            fast_chargers=fast, chargers=cap.chargers if cap else 0, power_kw=cap.power_kw if cap else 0.0,
            planned_chargers=plan.chargers if plan else 0,
            sources=tuple(dict.fromkeys((cap.sources if cap else ()) + (plan.sources if plan else ()))),
            approximate=bool((cap and cap.approximate) or (plan and plan.approximate)), missing=missing))
    for u in unsnapped:
        why = (f"{u.status.replace('_', ' ')}: clause 22 does not apply" if u.status != "active" else
               f"active but not on the network ({u.reason}): cannot be audited here")
        apart.append(InactiveServiceArea(u.name, u.osm_id, u.status, why))
    return Clause22Audit(tuple(sides), tuple(apart))
