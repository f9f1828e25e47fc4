"""Clause 22 (fast charging at every expressway service area by 2025) and 车桩比, read from a plan's summary.

The siting model (``evplan plan``) writes ``summary.json``; this module reads what it finds there and
says what it could not: per stage ``service_area_sides_with_station``, optionally the sides in total,
closed service areas, per-side "meets clause 22 today" flags and public chargers per county. The
``service_areas.geojson`` beside the summary, when there is one, gives the sides and their status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from planner.errors import InputFileError

#: The plan's horizon for clause 22.
CLAUSE_22_YEAR = 2025


@dataclass(frozen=True)
class CountyChargers:
    """EVs in service and public chargers of one county, and their ratio (车桩比, EVs per charger)."""

    county_code: str
    evs: int
    public_chargers: int | None

    @property
    def evs_per_charger(self) -> float | None:
        return None if not self.public_chargers else self.evs / self.public_chargers

    def to_dict(self) -> dict[str, Any]:
        return {"county_code": self.county_code, "evs": self.evs, "public_chargers": self.public_chargers,
                "evs_per_charger": self.evs_per_charger}


@dataclass(frozen=True)
class ChargingAssessment:
    """Clause 22's status from a plan, the closed service areas listed apart, and 车桩比 per county."""

    status: str
    reason: str
    stage_year: int | None = None
    sides_with_station: int | None = None
    sides_total: int | None = None
    sides_meeting_today: int | None = None
    closed: tuple[str, ...] = ()
    chargers: tuple[CountyChargers, ...] = field(default=())
    source: str = ""
    #: The records' cut-off when it lies after the target year (judged on today's chargers), else None.
    target_year_passed_on: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "stage_year": self.stage_year,
                "target_year_passed_on": None if self.target_year_passed_on is None
                else self.target_year_passed_on.isoformat(),
                "sides_with_station": self.sides_with_station, "sides_total": self.sides_total,
                "sides_meeting_today": self.sides_meeting_today, "closed_service_areas": list(self.closed),
                "chargers_by_county": [c.to_dict() for c in self.chargers], "source": self.source}


def load_plan_summary(path: Path | str) -> dict[str, Any]:
    """A plan's ``summary.json`` and, when it lies beside it, ``service_areas.geojson`` (key ``service_areas``)."""
    path = Path(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, "a plan summary (summary.json from evplan plan)", detail="no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(path, "a plan summary (summary.json from evplan plan)", detail=str(exc)) from None
    if not isinstance(summary, dict) or not isinstance(summary.get("stages"), dict):
        raise InputFileError(path, "a plan summary with a \"stages\" object (summary.json from evplan plan)")
    beside = path.with_name("service_areas.geojson")
    if beside.is_file() and "service_areas" not in summary:
        try:
            summary["service_areas"] = json.loads(beside.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(beside, "the plan's service areas (GeoJSON)", detail=str(exc)) from None
    summary.setdefault("_source", str(path.name))
    return summary


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def assess_service_area_charging(summary: Mapping[str, Any] | None, *, evs_by_county: Mapping[str, int] | None = None,
                                 year: int = CLAUSE_22_YEAR, as_of: date | None = None) -> ChargingAssessment:
    """Clause 22 from a plan summary (None: not assessed), with 车桩比 for ``evs_by_county``.

    The stage of ``year`` is read (else the earliest later stage). Keys read when present, per stage or at
    the top: ``service_area_sides_with_station``, ``service_area_sides`` (total active sides),
    ``service_area_sides_meeting_clause_22`` (fast charging there today), ``closed_service_areas``,
    ``public_chargers_by_county`` (else the chargers of ``by_county``), and ``clause_22`` (one entry per
    active side with ``meets_clause_22_today``).

    ``as_of`` (the records' cut-off): once the whole target year lies before it, the target is judged on what
    stands today, not on the plan: met when every active side has fast charging, else off track.
    """
    evs = {str(k): int(v) for k, v in (evs_by_county or {}).items()}
    if summary is None:
        return ChargingAssessment("not assessed", "no plan given (evplan fleet report --plan-summary summary.json)",
                                  chargers=tuple(CountyChargers(c, n, None) for c, n in sorted(evs.items())))
    stages = summary.get("stages") or {}
    years = sorted(int(y) for y in stages if str(y).isdigit())
    stage_year = next((y for y in years if y >= year), None)
    stage = stages.get(str(stage_year), {}) if stage_year is not None else {}

    def pick(key: str) -> Any:
        return stage.get(key, summary.get(key))

    with_station = _int(pick("service_area_sides_with_station"))
    total = _int(pick("service_area_sides"))
    meeting = _int(pick("service_area_sides_meeting_clause_22"))
    closed = [str(x) for x in (pick("closed_service_areas") or [])]
    sides = summary.get("clause_22")
    if isinstance(sides, list) and sides and all(isinstance(x, Mapping) for x in sides):
        # one entry per active side with "meets_clause_22_today" (the siting model's audit)
        total = len(sides) if total is None else total
        if meeting is None and any("meets_clause_22_today" in x for x in sides):
            meeting = sum(bool(x.get("meets_clause_22_today")) for x in sides)
    features = (summary.get("service_areas") or {}).get("features") or []
    if features:
        active = [f for f in features if (f.get("properties") or {}).get("status", "active") == "active"]
        if total is None:
            total = len(active)
        for f in features:
            props = f.get("properties") or {}
            if props.get("status", "active") != "active":
                label = str(props.get("name_zh") or props.get("name") or props.get("id"))
                if label not in closed:
                    closed.append(label)
    by_county = pick("public_chargers_by_county") or {}
    if not by_county and isinstance(stage.get("by_county"), Mapping):  # chargers of the plan's sites per county
        by_county = {str(k): v.get("chargers") for k, v in stage["by_county"].items() if isinstance(v, Mapping)}
    chargers = tuple(CountyChargers(c, evs.get(c, 0), _int(by_county.get(c)) if by_county else None)
                     for c in sorted(set(evs) | {str(k) for k in by_county}))
    source = str(summary.get("_source", "plan summary"))
    if with_station is None or stage_year is None:
        return ChargingAssessment("not assessed", f"the plan summary has no service_area_sides_with_station for "
                                  f"{year} or later", stage_year, closed=tuple(closed), chargers=chargers, source=source)
    planned = f"the {stage_year} plan stage gives {with_station} service-area side(s) a fast-charging station"
    if meeting is not None and total:
        if meeting >= total:
            status, reason = "met", f"all {total} active sides have fast charging today"
        else:
            status, reason = ("on track" if with_station >= total else "off track",
                              f"{meeting} of {total} active sides have fast charging today; {planned}")
    elif total is not None:
        status = "on track" if with_station >= total else "off track"
        reason = f"{planned}, of {total} active side(s)"
    else:
        status = "on track"
        reason = (f"{planned}; the plan puts a station at every active side (its mandatory rule), "
                  "but the summary does not give the number of sides to compare")
    if stage_year > year:
        status, reason = "at risk", reason + f"; the plan has no {year} stage (first stage {stage_year})"
    passed = as_of if as_of is not None and as_of >= date(year, 12, 31) else None
    if passed is not None and status != "met" and meeting is not None:  # what stands today is known
        have = f"{meeting} of {total}" if meeting is not None and total else "not every one"
        status, reason = "off track", (f"the target year {year} has passed (data to {passed.isoformat()}): {have} "
                                       f"active service-area sides have fast charging today; {planned}")
    return ChargingAssessment(status, reason, stage_year, with_station, total, meeting, tuple(closed), chargers, source,
                              passed)
