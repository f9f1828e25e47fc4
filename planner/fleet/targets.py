"""The plan's quantified fleet targets, read and checked from a TOML file (``data/fleet/targets.toml``).

Each target says what it measures — a stock share (vehicles in service on 31 Dec), a flow share
(vehicles registered in the year) or an intensity ratio (change against a baseline year) — its value,
year and scope, and quotes the clause it comes from. ``assessment.py`` assesses them on the records.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from planner.errors import InputFileError

Kind = Literal["stock share", "flow share", "intensity ratio"]
Comparison = Literal[">=", "≈", "<="]
Scope = Literal["city", "county"]

#: Share indicators and the counts they are made of: indicator -> (numerator, denominator).
SHARE_COUNTS: dict[str, tuple[str, str]] = {
    "ne_bus_share": ("ne_buses", "buses"),
    "ne_taxi_share": ("ne_taxis", "taxis"),
    "ne_or_clean_new_vehicle_share": ("new_ne_or_clean_vehicles", "new_vehicles"),
    "ev_new_passenger_car_share": ("new_ev_passenger_cars", "new_passenger_cars"),
}
#: Which kind of measure each indicator is.
INDICATOR_KINDS: dict[str, Kind] = {
    "ne_bus_share": "stock share",
    "ne_taxi_share": "stock share",
    "ne_or_clean_new_vehicle_share": "flow share",
    "ev_new_passenger_car_share": "flow share",
    "operating_co2_per_converted_turnover": "intensity ratio",
}
KINDS: tuple[Kind, ...] = ("stock share", "flow share", "intensity ratio")
COMPARISONS: tuple[Comparison, ...] = (">=", "≈", "<=")
SCOPES: tuple[Scope, ...] = ("city", "county")


_REQUIRED = {
    "indicator": str, "kind": str, "value": float, "comparison": str, "year": int, "scope": str,
    "clause": str, "document": str, "quote_zh": str, "gloss_en": str,
}
_OPTIONAL = {"tolerance": float, "baseline_year": int, "interpretation": str, "interpretation_zh": str}


# ------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One quantified target of the plan, as read from the targets file."""

    id: str
    indicator: str
    kind: Kind
    value: float
    comparison: Comparison
    year: int
    scope: Scope
    clause: str
    document: str
    quote_zh: str
    gloss_en: str
    tolerance: float = 0.0
    baseline_year: int | None = None
    interpretation: str = ""
    interpretation_zh: str = ""

    @property
    def threshold(self) -> float:
        """The value that counts as meeting the target (``value - tolerance`` for "about")."""
        return self.value - self.tolerance if self.comparison == "≈" else self.value

    def meets(self, observed: float, *, slack: float = 0.0) -> bool:
        """Whether a value meets the target, allowing ``slack`` (same units) in its favour."""
        if self.comparison == "<=":
            return observed <= self.threshold + slack + 1e-12
        return observed >= self.threshold - slack - 1e-12


@dataclass(frozen=True)
class TargetSet:
    """A whole targets file: the plan it quotes, the county names, the targets and what is not assessed.

    ``counties`` names each county as the plan writes it (Chinese, ``zh``); ``counties_en`` in English,
    for the English page. A code missing from ``counties_en`` is shown by its ``counties`` name.
    """

    path: str
    plan: dict[str, str]
    counties: dict[str, str]
    targets: tuple[Target, ...]
    not_assessed: tuple[dict[str, str], ...] = ()
    counties_en: dict[str, str] = field(default_factory=dict)

    def english_names(self, names: Mapping[str, str]) -> dict[str, str]:
        """``names`` (code -> Chinese name, e.g. a series' ``county_names``) in English where this file says."""
        return {code: self.counties_en.get(code, name) for code, name in names.items()}


def load_target_set(path: Path | str) -> TargetSet:
    """Read and check a targets file (``data/fleet/targets.toml`` describes its fields).

    Parameters
    ----------
    path
        TOML file with ``[plan]``, ``[counties]`` (code = { zh = "…", en = "…" } or code = "name"),
        ``[targets.<id>]`` tables and an optional ``[[not_assessed]]`` list.

    Raises
    ------
    InputFileError
        Naming the file, the target, the field and what was expected.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputFileError(path, "a TOML file of targets", detail="file not found") from exc
    except OSError as exc:
        raise InputFileError(path, "a readable TOML file of targets", detail=str(exc)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, "valid TOML (UTF-8)", detail=str(exc)) from exc

    plan = doc.get("plan", {})
    if not isinstance(plan, dict):
        raise InputFileError(path, "[plan] to be a table")
    counties, counties_en = _parse_counties(path, doc.get("counties", {}))
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, dict) or not raw_targets:
        raise InputFileError(path, "at least one [targets.<id>] table")
    targets = tuple(_parse_target(path, tid, raw) for tid, raw in raw_targets.items())
    not_assessed = doc.get("not_assessed", [])
    if not isinstance(not_assessed, list) or not all(isinstance(x, dict) for x in not_assessed):
        raise InputFileError(path, "[[not_assessed]] to be a list of tables")
    return TargetSet(
        path=str(path),
        plan={str(k): str(v) for k, v in plan.items()},
        counties=counties,
        targets=targets,
        not_assessed=tuple({str(k): str(v) for k, v in x.items()} for x in not_assessed),
        counties_en=counties_en,
    )


_COUNTY_FORMS = 'code = { zh = "城区", en = "Chengqu" }, or code = "name" for one name in both languages'


def _parse_counties(path: Path, raw: object) -> tuple[dict[str, str], dict[str, str]]:
    """The ``[counties]`` table as (code -> Chinese name, code -> English name).

    An entry is ``{ zh = "…", en = "…" }`` or one string, then shown in both languages (a city whose
    file names its counties once keeps working).
    """
    if not isinstance(raw, dict):
        raise InputFileError(path, f"[counties] to be a table of county code = name ({_COUNTY_FORMS})",
                             detail=f"got {raw!r}")
    zh: dict[str, str] = {}
    en: dict[str, str] = {}
    for code, entry in raw.items():
        if isinstance(entry, str) and entry.strip():
            zh[str(code)] = en[str(code)] = entry
            continue
        names = entry if isinstance(entry, dict) else {}
        if (set(names) != {"zh", "en"}
                or not all(isinstance(v, str) and v.strip() for v in names.values())):
            raise InputFileError(path, f"[counties] entry {code!r} to be a non-empty name or a table of "
                                       f"two non-empty strings zh and en ({_COUNTY_FORMS})",
                                 detail=f"got {entry!r}")
        zh[str(code)], en[str(code)] = names["zh"], names["en"]
    return zh, en


def targets_for(fleet_dir: Path | str, *, default: Path | str | None = None) -> TargetSet:
    """The targets of a records directory: its own ``targets.toml`` (another city's), else ``default``.

    The edges pass the shipped targets file as ``default``; without one, a directory with no
    ``targets.toml`` is an ``InputFileError`` naming the file it looked for.
    """
    own = Path(fleet_dir) / "targets.toml"
    if own.is_file() or default is None:
        return load_target_set(own)
    return load_target_set(default)


def load_targets(path: Path | str) -> list[Target]:
    """The targets of a targets file, checked (see ``load_target_set``)."""
    return list(load_target_set(path).targets)


def _parse_target(path: Path, tid: str, raw: object) -> Target:
    def bad(name: str, expected: str, got: object = None) -> InputFileError:
        detail = None if got is None else f"got {got!r}"
        return InputFileError(path, f"target {tid!r} field {name!r} to be {expected}", detail=detail)

    if not isinstance(raw, dict):
        raise InputFileError(path, f"target {tid!r} to be a table [targets.{tid}]")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise InputFileError(path, f"target {tid!r} to have only the fields "
                                   f"{', '.join(sorted({*_REQUIRED, *_OPTIONAL}))}",
                             detail=f"unknown field {unknown[0]!r}")
    values: dict[str, Any] = {}  # checked TOML values, typed by _REQUIRED and _OPTIONAL
    for name, typ in [*_REQUIRED.items(), *_OPTIONAL.items()]:
        if name not in raw:
            if name in _REQUIRED:
                raise bad(name, _describe_type(typ), "nothing (field missing)")
            continue
        got = raw[name]
        if typ is float and isinstance(got, int) and not isinstance(got, bool):
            got = float(got)
        if not isinstance(got, typ) or isinstance(got, bool) or (typ is float and not math.isfinite(got)):
            raise bad(name, _describe_type(typ), got)
        if typ is str and not got.strip():
            raise bad(name, "a non-empty string", got)
        values[name] = got

    if values["indicator"] not in INDICATOR_KINDS:
        raise bad("indicator", "one of " + ", ".join(INDICATOR_KINDS), values["indicator"])
    if values["kind"] not in KINDS:
        raise bad("kind", "one of " + ", ".join(repr(k) for k in KINDS), values["kind"])
    if values["kind"] != INDICATOR_KINDS[values["indicator"]]:
        raise bad("kind", f"{INDICATOR_KINDS[values['indicator']]!r} for indicator {values['indicator']!r}",
                  values["kind"])
    if values["comparison"] not in COMPARISONS:
        raise bad("comparison", "one of " + ", ".join(repr(c) for c in COMPARISONS), values["comparison"])
    if values["scope"] not in SCOPES:
        raise bad("scope", "'city' or 'county'", values["scope"])
    if not 1990 <= values["year"] <= 2100:
        raise bad("year", "a calendar year between 1990 and 2100", values["year"])
    if values["kind"] == "intensity ratio":
        if "baseline_year" not in values:
            raise bad("baseline_year", "the year the intensity change is measured against (an integer)",
                      "nothing (field missing)")
        if not values["baseline_year"] < values["year"]:
            raise bad("baseline_year", f"a year before the target year {values['year']}", values["baseline_year"])
        if not -1.0 < values["value"] < 10.0:
            raise bad("value", "a change as a fraction greater than -1 (e.g. -0.10 for 10 % lower)", values["value"])
        if values["scope"] != "city":
            raise bad("scope", "'city' for an intensity ratio (activity is not kept per county)", values["scope"])
    else:
        if "baseline_year" in values:
            raise bad("baseline_year", "absent for a share (only intensity ratios have a baseline)",
                      values["baseline_year"])
        if not 0.0 <= values["value"] <= 1.0:
            raise bad("value", "a share as a fraction between 0 and 1 (e.g. 0.40 for 40 %)", values["value"])
    if values["comparison"] == "≈":
        if "tolerance" not in values:
            raise bad("tolerance", "how far below the value still counts as 'about' (a fraction, e.g. 0.02)",
                      "nothing (field missing)")
        if not 0.0 <= values["tolerance"] < abs(values["value"]) + 1e-12:
            raise bad("tolerance", "a fraction between 0 and the target value", values["tolerance"])
    elif "tolerance" in values:
        raise bad("tolerance", "absent unless comparison is '≈'", values["tolerance"])
    return Target(id=str(tid), **values)


def _describe_type(typ: type) -> str:
    return {str: "a string", float: "a number", int: "an integer"}[typ]
