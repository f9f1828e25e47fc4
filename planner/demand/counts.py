"""What a bureau measures instead of the gravity model's guesses: segment counts and O-D tables.

* Counts per road segment and direction (``read_counts_csv``, columns in ``COUNT_COLUMNS``) are matched
  to the network's directed edges (``match_counts``) and the routed flows are calibrated to them
  (``calibrate``): multiplicative fitting of the O-D trips to the counts with fixed paths, count by
  count until every count is met (the ME2 / iterative-proportional idea of Van Zuylen & Willumsen, 1980).
* An O-D table (``read_od_csv``: origin, destination, trips per day by class) replaces the gravity
  model's trips as given (``planner.demand.flows.traffic_flows(od=...)``).

Both files are read by ``planner._io.read_csv_rows``, as the existing-charger CSV is: bad rows are
quarantined with file, row, field and what was expected (``QuarantinedRecord``); a missing file or
column, and an O-D table that gives no trip, raise ``InputFileError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from planner._io import QuarantinedRecord, read_csv_rows
from planner.demand.flows import VEHICLE_CLASSES, ODFlow, RoutedFlow, Zone
from planner.errors import InputFileError
from planner.geo import haversine_m

if TYPE_CHECKING:
    from planner.network import RoadNetwork

#: Columns a counts CSV must have; the class shares (fractions 0-1 of the AADT) may be empty: unknown.
COUNT_COLUMNS = ("road_ref", "lon", "lat", "direction", "aadt")
COUNT_OPTIONAL_COLUMNS = ("car_share", "truck_share", "coach_share", "note")
#: Columns an O-D table must have (trips per day by class; an empty value is 0).
OD_COLUMNS = ("origin", "destination", "car_trips_per_day", "truck_trips_per_day", "coach_trips_per_day")
#: A count's point must lie within this of an edge of its road, km.
MAX_COUNT_SNAP_KM = 1.0
#: Edges within this of the nearest one count as the same road place (two carriageways), km.
SAME_PLACE_KM = 0.1
#: Largest AADT a count may state (vehicles/day): more is most likely a typing error.
MAX_AADT = 500_000.0

_DIRECTIONS = {
    "north": 0.0, "northbound": 0.0, "n": 0.0, "nb": 0.0, "北": 0.0, "北行": 0.0,
    "northeast": 45.0, "ne": 45.0, "east": 90.0, "eastbound": 90.0, "e": 90.0, "eb": 90.0, "东": 90.0,
    "东行": 90.0, "southeast": 135.0, "se": 135.0, "south": 180.0, "southbound": 180.0, "s": 180.0,
    "sb": 180.0, "南": 180.0, "南行": 180.0, "southwest": 225.0, "sw": 225.0, "west": 270.0,
    "westbound": 270.0, "w": 270.0, "wb": 270.0, "西": 270.0, "西行": 270.0, "northwest": 315.0, "nw": 315.0,
}
_BOTH = frozenset({"both", "two-way", "双向"})
_EXPECTED = {
    "road_ref": "the ref of a road of the network (e.g. G15)",
    "lon": "a longitude in degrees, -180 to 180",
    "lat": "a latitude in degrees, -90 to 90",
    "direction": "both, a compass direction (north, eastbound, NE, 东 …) or a bearing in degrees 0-360",
    "aadt": f"a number of vehicles per day, more than 0 and at most {MAX_AADT:,.0f}",
    "car_share": "empty or a fraction 0-1 (the three shares, when given, sum to 1)",
    "truck_share": "empty or a fraction 0-1 (the three shares, when given, sum to 1)",
    "coach_share": "empty or a fraction 0-1 (the three shares, when given, sum to 1)",
}


@dataclass(frozen=True)
class SegmentCount:
    """A measured AADT on one road segment, one direction (``bearing_deg``) or both (None)."""

    file: str
    row: int
    road_ref: str
    lon: float
    lat: float
    direction: str
    bearing_deg: float | None
    aadt: float
    #: Class shares of the AADT (None: not given; the count then calibrates all classes together).
    shares: dict[str, float] | None = None
    #: The counted directed edges (node id pairs), set by ``match_counts``.
    edges: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class CountsRead:
    """A counts or O-D file read: the good records and the quarantined rows."""

    counts: tuple[SegmentCount, ...] = ()
    od: tuple[ODFlow, ...] = ()
    quarantined: tuple[QuarantinedRecord, ...] = ()


def _number(text: str, low: float, high: float, *, low_open: bool = False) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    if not math.isfinite(v) or v < low or v > high or (low_open and v <= low):
        return None
    return v


def read_counts_csv(path: Path | str) -> CountsRead:
    """Segment counts from a CSV (``COUNT_COLUMNS`` + optional ``COUNT_OPTIONAL_COLUMNS``; see
    ``data/traffic/README.md``). UTF-8 (with or without BOM) or GBK. Bad rows are quarantined."""
    table = read_csv_rows(path, COUNT_COLUMNS, "a segment-counts CSV file")
    p, bad = table.path, list(table.quarantined)
    out: list[SegmentCount] = []
    for r in table.rows:
        line, row = r.line, r.values
        wrong: list[str] = []
        ref = row["road_ref"]
        if not ref:
            wrong.append("road_ref")
        lon, lat = _number(row["lon"], -180, 180), _number(row["lat"], -90, 90)
        if lon is None:
            wrong.append("lon")
        if lat is None:
            wrong.append("lat")
        d = row["direction"].strip().lower()
        bearing: float | None = None
        if d in _BOTH:
            bearing = None
        elif d in _DIRECTIONS:
            bearing = _DIRECTIONS[d]
        elif (b := _number(d, 0.0, 360.0)) is not None:
            bearing = b % 360.0
        else:
            wrong.append("direction")
        aadt = _number(row["aadt"], 0.0, MAX_AADT, low_open=True)
        if aadt is None:
            wrong.append("aadt")
        shares: dict[str, float] | None = None
        given = {k: row.get(f"{k}_share", "") for k in VEHICLE_CLASSES}
        if any(given.values()):
            shares = {}
            for k, text in given.items():
                v = _number(text or "0", 0.0, 1.0)
                if v is None:
                    wrong.append(f"{k}_share")
                else:
                    shares[k] = v
            if len(shares) == len(VEHICLE_CLASSES) and not math.isclose(sum(shares.values()), 1.0, abs_tol=0.02):
                wrong.append("car_share")
        if wrong:
            bad += [QuarantinedRecord(p.name, line, f, row.get(f, ""),
                                      _EXPECTED[f] + (f" (the shares sum to {sum((shares or {}).values()):.3f})"
                                                      if f == "car_share" and shares is not None
                                                      and len(shares) == len(VEHICLE_CLASSES) else ""))
                    for f in wrong]
            continue
        out.append(SegmentCount(p.name, line, ref, float(lon), float(lat), d, bearing, float(aadt), shares))  # type: ignore[arg-type]
    bad.sort(key=lambda q: q.row)  # file order: the rows of a wrong field count were set aside first
    return CountsRead(counts=tuple(out), quarantined=tuple(bad))


def read_od_csv(path: Path | str, zones: Sequence[Zone]) -> CountsRead:
    """An O-D table (``OD_COLUMNS``): origin and destination are zone ids (``town:…``, ``gateway:…``, as
    ``planner.demand.flows.zones_from`` writes them), a town's name when it is unique, or a gateway id
    (``G15-west``); trips per day by class (empty: 0). Bad rows are quarantined. Raises
    ``InputFileError`` when no row gives a trip: a table of no flow would silently leave the corridors
    without traffic."""
    what = "an O-D table CSV file"
    table = read_csv_rows(path, OD_COLUMNS, what)
    p, bad = table.path, list(table.quarantined)
    ids = {z.zone_id: z.zone_id for z in zones}
    names: dict[str, list[str]] = {}
    for z in zones:
        alias = z.name if z.kind == "town" else z.zone_id.removeprefix("gateway:")
        names.setdefault(alias, []).append(z.zone_id)
    lookup = {**{k: v[0] for k, v in names.items() if len(v) == 1}, **ids}
    known = ", ".join(sorted(k for k in lookup if not k.startswith(("town:", "gateway:")))[:12])
    out: list[ODFlow] = []
    for r in table.rows:
        line, row = r.line, r.values
        wrong: list[tuple[str, str]] = []
        ends = []
        for f in ("origin", "destination"):
            zid = lookup.get(row[f])
            if zid is None:
                why = " (ambiguous: several towns have this name; use its zone id)" if len(names.get(row[f], [])) > 1 else ""
                wrong.append((f, f"a zone id, a town name or a gateway id{why}, e.g. {known}"))
            ends.append(zid)
        trips = {}
        for k in VEHICLE_CLASSES:
            col = f"{k}_trips_per_day"
            v = _number(row[col] or "0", 0.0, MAX_AADT)
            if v is None:
                wrong.append((col, f"empty or a number of trips per day, 0 to {MAX_AADT:,.0f}"))
            trips[k] = v or 0.0
        if not wrong and ends[0] == ends[1]:
            wrong.append(("destination", "a zone other than the origin"))
        if wrong:
            bad += [QuarantinedRecord(p.name, line, f, row.get(f, ""), e) for f, e in wrong]
            continue
        out += [ODFlow(ends[0], ends[1], k, v) for k, v in trips.items() if v > 0]  # type: ignore[arg-type]
    bad.sort(key=lambda q: q.row)  # file order: the rows of a wrong field count were set aside first
    if not out:
        raise InputFileError(p, f"{what} with at least one row of trips",
                             detail=_no_flow_why(len(table.rows) + len(table.quarantined), bad))
    return CountsRead(od=tuple(out), quarantined=tuple(bad))


def _no_flow_why(records: int, bad: Sequence[QuarantinedRecord]) -> str:
    """Why an O-D table of ``records`` data rows gave no flow: none, all quarantined (the first shown), or all 0."""
    if not records:
        return "the file has no data row, only the header"
    quarantined = len({q.row for q in bad})
    if quarantined == records:
        more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
        return f"every data row ({records}) is quarantined: " + "; ".join(q.describe() for q in bad[:3]) + more
    return (f"the {records - quarantined} good row(s) give 0 trips per day in every class"
            + (f"; {quarantined} row(s) quarantined" if quarantined else ""))


# ------------------------------------------------------------------------------------------ matching


def _norm_ref(ref: str) -> str:
    return re.sub(r"\s+", "", ref).upper()


def _edge_bearing_near(a, e: int, lon: float, lat: float) -> tuple[float, float]:
    """(distance km, bearing degrees) of edge ``e``'s nearest piece to the point."""
    g0, g1 = int(a.geom_start[e]), int(a.geom_start[e + 1])
    if g1 - g0 >= 2:
        xy = a.geom_xy[g0:g1]
    else:
        xy = np.array([[a.lon[a.u[e]], a.lat[a.u[e]]], [a.lon[a.v[e]], a.lat[a.v[e]]]])
    coslat = math.cos(math.radians(lat))
    px = (xy[:, 0] - lon) * coslat * 111.32
    py = (xy[:, 1] - lat) * 111.32
    best = (math.inf, 0.0)
    for i in range(len(xy) - 1):
        x0, y0, x1, y1 = px[i], py[i], px[i + 1], py[i + 1]
        dx, dy = x1 - x0, y1 - y0
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, -(x0 * dx + y0 * dy) / L2))
        d = math.hypot(x0 + t * dx, y0 + t * dy)
        if d < best[0]:
            best = (d, math.degrees(math.atan2(dx, dy)) % 360.0)
    return best


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def match_counts(network: RoadNetwork, counts: Sequence[SegmentCount]) -> CountsRead:
    """Each count with its directed edges: of the road's edges near its point, those running in its
    direction (within 90 degrees of its bearing; both directions for ``both``). A count whose road ref
    the network lacks, or whose point lies beyond ``MAX_COUNT_SNAP_KM`` of that road, is quarantined."""
    a = network.arrays
    refs = a.tag("ref")
    ref_code = {_norm_ref(s): i for i, s in enumerate(a.strings)}
    ids = a.node_id
    known_refs = sorted({a.strings[c] for c in set(refs.tolist()) if c >= 0})
    out, bad = [], []
    for c in counts:
        code = ref_code.get(_norm_ref(c.road_ref))
        edges = np.flatnonzero(refs == code) if code is not None else np.array([], dtype=int)
        if not len(edges):
            bad.append(QuarantinedRecord(c.file, c.row, "road_ref", c.road_ref,
                                         f"the ref of a road of the network ({', '.join(known_refs)})"))
            continue
        # Coarse filter by the edge end points, then the exact distance to the edge's geometry.
        d_end = np.minimum(haversine_m(c.lon, c.lat, a.lon[a.u[edges]], a.lat[a.u[edges]]),
                           haversine_m(c.lon, c.lat, a.lon[a.v[edges]], a.lat[a.v[edges]])) / 1000.0
        span = a.length_m[edges] / 1000.0
        near = edges[d_end <= span + MAX_COUNT_SNAP_KM]
        measured = [(e, *_edge_bearing_near(a, int(e), c.lon, c.lat)) for e in near.tolist()]
        measured = [m for m in measured if m[1] <= MAX_COUNT_SNAP_KM]
        if not measured:
            bad.append(QuarantinedRecord(c.file, c.row, "lon", f"{c.lon}, {c.lat}",
                                         f"a point within {MAX_COUNT_SNAP_KM:g} km of road {c.road_ref}"))
            continue
        dmin = min(m[1] for m in measured)
        place = [m for m in measured if m[1] <= dmin + SAME_PLACE_KM]
        if c.bearing_deg is None:
            ref_bearing = min(place, key=lambda m: m[1])[2]
            wanted = [ref_bearing, (ref_bearing + 180.0) % 360.0]
        else:
            wanted = [c.bearing_deg]
        chosen: list[tuple[int, int]] = []
        for b in wanted:
            ok = [m for m in place if _angle(m[2], b) < 90.0]
            if not ok:
                continue
            e = min(ok, key=lambda m: (m[1], _angle(m[2], b)))[0]
            chosen.append((int(ids[a.u[e]]), int(ids[a.v[e]])))
        if len(chosen) < len(wanted):
            bad.append(QuarantinedRecord(c.file, c.row, "direction", c.direction,
                                         f"a direction road {c.road_ref} runs in at this point "
                                         f"(its carriageways here run {', '.join(f'{m[2]:.0f}°' for m in place)})"))
            continue
        out.append(replace(c, edges=tuple(dict.fromkeys(chosen))))
    return CountsRead(counts=tuple(out), quarantined=tuple(bad))


# ------------------------------------------------------------------------------------------ calibration


@dataclass(frozen=True)
class CountFit:
    """One count against the flows: what it says, what the flows gave before and after calibration."""

    count: SegmentCount
    vehicle_class: str | None
    counted: float
    modelled_before: float
    modelled_after: float

    @property
    def relative_error(self) -> float:
        """(modelled after - counted) / counted; for a count of 0, 0 when the model has none there, else 1."""
        if self.counted <= 0:
            return 0.0 if self.modelled_after <= 1e-9 else 1.0
        return (self.modelled_after - self.counted) / self.counted


@dataclass(frozen=True)
class Calibration:
    """Calibrated flows, the fit of every count, and whether the fit converged within the tolerance."""

    flows: tuple[RoutedFlow, ...]
    fits: tuple[CountFit, ...]
    iterations: int
    converged: bool
    #: Counts no flow passes: they cannot be met by scaling (no route of the model uses the segment).
    unmet: tuple[SegmentCount, ...] = ()

    @property
    def max_relative_error(self) -> float:
        """Largest |relative error| over the fitted counts (0 without counts)."""
        return max((abs(f.relative_error) for f in self.fits), default=0.0)


def calibrate(flows: Sequence[RoutedFlow], counts: Sequence[SegmentCount], *, tolerance: float = 1e-3,
              max_iterations: int = 1000) -> Calibration:
    """Scale the flows' trips so that the link volumes match the counts (paths fixed).

    Each count is a target: its AADT per class where it gives class shares (flows of that class only),
    else its AADT over all classes, on its edges (summed over both directions for ``both``). Sweeping
    the targets in turn, the trips of every flow through a target's edges are multiplied by counted /
    modelled (iterative proportional fitting, ME2); sweeps stop when every target is within
    ``tolerance`` (relative) or after ``max_iterations``. Flows through no counted edge keep their trips.
    Counts must first be matched to edges (``match_counts``).
    """
    flows = list(flows)
    x = np.array([f.trips_per_day for f in flows], dtype=float)
    targets: list[tuple[SegmentCount, str | None, float, np.ndarray, np.ndarray]] = []
    unmet = []
    edge_flows: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for i, f in enumerate(flows):
        seen: dict[tuple[int, int], int] = {}
        for e in zip(f.nodes, f.nodes[1:]):
            seen[e] = seen.get(e, 0) + 1
        for e, n in seen.items():
            edge_flows.setdefault(e, []).append((i, n))
    for c in counts:
        if not c.edges:
            raise ValueError(f"{c.file} row {c.row}: count not matched to the network (use match_counts first)")
        per: dict[int, float] = {}
        for e in c.edges:
            for i, n in edge_flows.get(e, ()):
                per[i] = per.get(i, 0.0) + n
        # A class counted at share 0 is a target of 0: its flows through the segment are scaled away.
        classes = [(k, c.aadt * s) for k, s in c.shares.items()] if c.shares else [(None, c.aadt)]
        any_flow = False
        for k, value in classes:
            idx = np.array([i for i in per if k is None or flows[i].vehicle_class == k], dtype=np.int64)
            if not len(idx):
                continue
            any_flow = True
            targets.append((c, k, value, idx, np.array([per[i] for i in idx])))
        if not any_flow:
            unmet.append(c)
    before = [float(w @ x[idx]) for _, _, _, idx, w in targets]
    converged, it = not targets, 0
    for it in range(1, max_iterations + 1):
        worst = 0.0
        for _, _, value, idx, w in targets:
            modelled = float(w @ x[idx])
            if modelled <= 0:
                continue
            worst = max(worst, abs(modelled - value) / value if value > 0 else 1.0)
            x[idx] *= value / modelled
        if worst <= tolerance:
            converged = True
            break
    after = [float(w @ x[idx]) for _, _, _, idx, w in targets]
    fits = tuple(CountFit(c, k, v, b, af) for (c, k, v, _, _), b, af in zip(targets, before, after, strict=True))
    new = tuple(replace(f, trips_per_day=float(t)) for f, t in zip(flows, x, strict=True))
    return Calibration(new, fits, it if targets else 0, converged, tuple(unmet))


__all__ = ["COUNT_COLUMNS", "COUNT_OPTIONAL_COLUMNS", "MAX_COUNT_SNAP_KM", "OD_COLUMNS", "Calibration",
           "CountFit", "CountsRead", "SegmentCount", "calibrate", "match_counts", "read_counts_csv", "read_od_csv"]
