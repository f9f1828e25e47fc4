"""The one list of scenario options and assumptions, the ``Scenario`` a plan is made for, and its TOML file.

``OPTIONS`` states each flat option once: name, unit, default, physical range, help text (the CLI flag is
the name with dashes). ``ASSUMPTIONS`` holds every field of the assumption dataclasses on ``Scenario``
(``norms``, ``costs``, ``demand``, ``traffic`` … found generically, each field's unit, meaning, range and
source from its ``doc(...)`` metadata), by section. ``evplan plan``'s flags (``cli/scenario.py``), the API's
``ScenarioIn`` body (``app/schemas.py``, with one nested object per section) and the scenario file
(``read_scenario_file``, ``scenario_toml``) are generated from them, and ``scenario_from_options`` checks
values against them, so names, units, defaults and checks cannot drift apart. A bad value raises
``ScenarioError`` naming it as the user spelled it (``--drive-time-min`` / ``--demand.ev-stop-share`` on the
command line, ``drive_time_min`` / ``demand.ev_stop_share`` elsewhere, ``[demand] ev_stop_share`` in a file).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal, TypeAlias, Union, get_args, get_origin, get_type_hints

from planner import config
from planner.demand.assumptions import TownDemandAssumptions, TrafficAssumptions
from planner.errors import ScenarioError
from planner.siting.candidates import CANDIDATE_KINDS, CandidateKind
from planner.siting.sizing import ChargerNorms, CostAssumptions, DemandAssumptions
from planner.siting.solver import SOLVERS, SolverName, SolverOptions

#: How the user spelled an option: the Python / API field name, or the command-line flag.
Spelling: TypeAlias = Literal["python", "cli"]
#: The value of one option, as checked (sequences as tuples).
OptionValue: TypeAlias = float | int | str | tuple[int, ...] | tuple[str, ...] | None
#: Scenario values by name, e.g. a stored run's scenario: the flat options, and each assumption section as
#: a nested dict (``{"demand": {"ev_stop_share": 0.1}}``).
OptionValues: TypeAlias = dict[str, Any]
#: What an option holds: a real number, a whole number, a year, increasing years, candidate kinds, a name.
OptionKind: TypeAlias = Literal["number", "integer", "year", "years", "kinds", "choice"]
#: Where an option lands in ``Scenario``: on it, on its ``norms`` or on its ``solver``.
OptionPart: TypeAlias = Literal["scenario", "norms", "solver"]

#: Stage years a plan may have: the carbon-peak horizon, with room on both sides.
FIRST_YEAR, LAST_YEAR = 2020, 2060
#: Most stages in one plan.
MAX_STAGES = 6


@dataclass(frozen=True)
class Scenario:
    """Everything a planner can choose for one run; defaults follow the Shanwei plan and the norms.

    The flat options of ``OPTIONS`` live here (most directly, the charger options in ``norms`` and the
    solver options in ``solver``); every other field of a dataclass-valued field (``norms``, ``costs``,
    ``demand``, ``traffic`` …) is an assumption of ``ASSUMPTIONS``, in the section of its field's name. Every
    value is checked against its range on construction.
    """

    stage_years: tuple[int, ...] = config.PLAN_STAGE_YEARS
    #: Longest motorway stretch without a fast charger, km (EV range margin).
    range_margin_km: float = 50.0
    #: A town is covered by a public fast charger within this drive time, minutes.
    drive_time_min: float = 30.0
    #: First stage year in which towns must be covered (None: never required).
    town_coverage_from: int | None = config.PLAN_TOWN_COVERAGE_FROM
    #: Total capital budget over all stages (undiscounted), CNY; with a budget, towns are served as far
    #: as it allows in the final stage (most people first) instead of all being required.
    budget_cny: float | None = None
    candidate_kinds: tuple[CandidateKind, ...] = CANDIDATE_KINDS
    #: Interchange and fuel/parking sites this close to a motorway node count for its corridor, km.
    corridor_access_km: float = 1.0
    norms: ChargerNorms = field(default_factory=ChargerNorms)
    costs: CostAssumptions = field(default_factory=CostAssumptions)
    demand: DemandAssumptions = field(default_factory=DemandAssumptions)
    traffic: TrafficAssumptions = field(default_factory=TrafficAssumptions)
    town_demand: TownDemandAssumptions = field(default_factory=TownDemandAssumptions)
    #: Real discount rate for the present value of the stages' capital spending, per year, to the first
    #: stage year. 0.08: the social discount rate of China's official project-appraisal parameters
    #: (《建设项目经济评价方法与参数》, 3rd edition, 2006).
    discount_rate: float = 0.08
    #: Depot charger power, kW, and the overnight window in which fleets charge, hours.
    depot_power_kw: float = 60.0
    depot_window_h: float = 8.0
    #: A plan within 0.5 % of the proven bound counts as optimal: the sizing MILP (Erlang-C capacity in
    #: one-hot level binaries) closes the last fraction of a percent slowly, and each site is re-sized exactly
    #: afterwards (``model._polish``), so the tolerance never leaves a charger its demand does not need.
    solver: SolverOptions = field(default_factory=lambda: SolverOptions(mip_gap=0.005))

    def __post_init__(self) -> None:
        check_options(options_of(self))


@dataclass(frozen=True)
class Option:
    """One scenario option as both edges expose it."""

    name: str
    kind: OptionKind
    #: The unit as the help text says it ("km", "minutes", "CNY" …); "" for a pure name.
    unit: str
    help: str
    part: OptionPart = "scenario"
    #: Inclusive bounds (of each year, for ``years``); ``low_exclusive`` makes the lower one strict.
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    #: Whether "none" (JSON null) is allowed.
    optional: bool = False
    choices: tuple[str, ...] = ()
    metavar: str = ""
    #: Earlier spellings of the flag, still accepted on the command line but not shown.
    cli_aliases: tuple[str, ...] = ()
    #: Where the default comes from (shown by ``evplan scenario show`` and in the scenario file).
    source: str = "choice of the planner"

    @property
    def flag(self) -> str:
        """The command-line flag: the name with dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def default(self) -> OptionValue:
        """The default value, read from ``Scenario()`` so that the library and the edges agree."""
        return options_of(_DEFAULT_SCENARIO)[self.name]

    def label(self, spelling: Spelling = "python") -> str:
        """The option as the user spelled it."""
        return self.flag if spelling == "cli" else self.name

    def range_text(self) -> str:
        """The allowed values in words: "1 to 1000", "above 0, at most 1e+12", "one of highs, cbc"."""
        if self.kind == "choice" or self.kind == "kinds":
            text = ("one of " if self.kind == "choice" else "some of ") + ", ".join(self.choices)
        elif self.low is not None and self.high is not None:
            low = f"above {self.low:g}, at most" if self.low_exclusive else f"{self.low:g} to"
            text = f"{low} {self.high:g}"
            if self.kind == "years":
                text = f"increasing years, each {text}"
            elif self.kind == "year":
                text = f"one of the stage years ({text})"
        else:
            text = "any"
        return text + (", or none" if self.optional else "")

    def cli_help(self) -> str:
        """Help for the flag: what, the unit and the range (argparse adds the default)."""
        unit = f"{self.unit}; " if self.unit else ""
        return f"{self.help} [{unit}{self.range_text()}]"

    def to_text(self, value: OptionValue) -> str:
        """``value`` as it is written on the command line ("2025,2030", "none", "50.0")."""
        if value is None:
            return "none"
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        return str(value)

    def from_text(self, text: str, spelling: Spelling = "cli") -> OptionValue:
        """Parse the command-line text of this option, then check it (``ScenarioError`` if bad)."""
        raw = text.strip()
        if self.optional and raw.lower() in ("none", "null", ""):
            return self.check(None, spelling)
        value: object
        try:
            if self.kind == "number":
                value = float(raw)
            elif self.kind in ("integer", "year"):
                value = int(raw)
            elif self.kind == "years":
                value = tuple(int(v) for v in raw.split(","))
            elif self.kind == "kinds":
                value = tuple(k.strip() for k in raw.split(",") if k.strip())
            else:
                value = raw
        except ValueError:
            raise ScenarioError(f"{self.label(spelling)}: expected {self._expected()}, got {text!r}",
                                option=self.label(spelling)) from None
        return self.check(value, spelling)

    def _expected(self) -> str:
        return {
            "number": "a number", "integer": "a whole number", "year": "a year" + (" or none" if self.optional else ""),
            "years": "comma-separated years such as 2025,2030", "kinds": "comma-separated kinds",
            "choice": "one of " + ", ".join(self.choices),
        }[self.kind]

    def check(self, value: object, spelling: Spelling = "python") -> OptionValue:
        """``value`` checked against this option's type and range, in its canonical form.

        Raises ``ScenarioError`` naming the option as spelled. Sequences come back as tuples; candidate
        kinds in their canonical order without repeats (the same choice is the same scenario).
        """
        label = self.label(spelling)

        def bad(why: str) -> ScenarioError:
            return ScenarioError(f"{label}: {why}", option=label)

        if value is None:
            if self.optional:
                return None
            raise bad(f"a value is required ({self.range_text()})")
        if self.kind in ("number", "integer", "year"):
            return self._check_number(value, bad)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise bad(f"expected {self._expected()}, got {value!r}")
            return value
        if not isinstance(value, list | tuple):
            raise bad(f"expected a list, got {value!r}")
        items = tuple(value)
        if not items:
            raise bad("at least one value is required")
        if self.kind == "kinds":
            unknown = [k for k in items if k not in self.choices]
            if unknown:
                raise bad(f"unknown candidate kinds {unknown}; expected some of {list(self.choices)}")
            return tuple(k for k in self.choices if k in items)
        if len(items) > MAX_STAGES:
            raise bad(f"at most {MAX_STAGES} stage years, got {len(items)}")
        years = tuple(self._check_number(v, bad) for v in items)
        if list(years) != sorted(set(years)):
            raise bad(f"stage years must increase, got {self.to_text(years)}")
        return tuple(int(y) for y in years)

    def _check_number(self, value: object, bad: Callable[[str], ScenarioError]) -> int | float:
        whole = self.kind in ("integer", "year", "years")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"expected {'a whole number' if whole else 'a number'}, got {value!r}")
        if not math.isfinite(value):
            raise bad(f"expected a finite number, got {value!r}")
        if whole and not float(value).is_integer():
            raise bad(f"expected a whole number, got {value!r}")
        number: int | float = int(value) if whole else float(value)
        low_ok = self.low is None or (number > self.low if self.low_exclusive else number >= self.low)
        if not low_ok or (self.high is not None and number > self.high):
            if self.kind in ("year", "years"):
                raise bad(f"years must be {self.low:g} to {self.high:g}, got {number:g}")
            unit = f" ({self.unit})" if self.unit else ""
            raise bad(f"must be {self.range_text()}{unit}, got {number:g}")
        return number


#: THE scenario options, in the order the CLI's help and the API's schema show them.
OPTIONS: tuple[Option, ...] = (
    Option("stage_years", "years", "years", "stage years, nested: a site opened in a stage stays open in later ones",
           low=FIRST_YEAR, high=LAST_YEAR, metavar="Y1,Y2", cli_aliases=("--stages",)),
    Option("range_margin_km", "number", "km", "longest motorway stretch without a fast charger",
           low=1, high=1000, metavar="KM"),
    Option("drive_time_min", "number", "minutes",
           "a town is covered by a public fast charger within this drive time", low=1, high=240, metavar="MIN"),
    Option("town_coverage_from", "year", "year", "first stage year in which every town must be covered",
           low=FIRST_YEAR, high=LAST_YEAR, optional=True, metavar="YEAR|none"),
    Option("budget_cny", "number", "CNY",
           "capital budget: all stages' spending together (undiscounted); the plan then serves the most people it "
           "can in the final stage, after the mandatory sites",
           low=0, high=1e12, low_exclusive=True, optional=True, metavar="CNY|none"),
    Option("discount_rate", "number", "fraction per year",
           "real discount rate for the present value of each stage's capital spending (to the first stage year)",
           low=0, high=0.5, metavar="RATE",
           source="social discount rate of China's official project-appraisal parameters "
                  "(《建设项目经济评价方法与参数》, 3rd edition, 2006)"),
    Option("candidate_kinds", "kinds", "", "candidate site kinds to use", choices=CANDIDATE_KINDS, metavar="KINDS",
           cli_aliases=("--candidates",)),
    Option("corridor_access_km", "number", "km",
           "interchange and fuel/parking sites this close to a motorway node count for its corridor",
           low=0.05, high=20, metavar="KM"),
    Option("dc_power_kw", "number", "kW", "DC power per standard connector (120: the 2019 standard pile)",
           part="norms", low=20, high=1000, metavar="KW", cli_aliases=("--power-kw",),
           source="120 kW DC: the 2019 standard pile"),
    Option("high_power_kw", "number", "kW", "power of a high-power connector (Guangdong super-fast: 360)",
           part="norms", low=20, high=2000, metavar="KW",
           source="Guangdong super-fast stations: >= 360 kW per connector"),
    Option("min_chargers_per_station", "integer", "chargers", "minimum chargers per station (GB/T 50966-2024: 3)",
           part="norms", low=1, high=500, metavar="N", cli_aliases=("--min-chargers",),
           source="GB/T 50966-2024: a charging station has at least 3 sets of charging equipment"),
    Option("max_wait_probability", "number", "probability",
           "largest acceptable chance that an EV arriving at the peak hour waits (Erlang C)",
           part="norms", low=0.01, high=0.5, metavar="P"),
    Option("grid_diversity_factor", "number", "fraction",
           "coincident peak of a site's chargers as a share of their installed power, against its grid capacity",
           part="norms", low=0.1, high=1, metavar="F",
           source="ASSUMPTION: not every connector draws its rating at once; 0.8 is a common planning value"),
    Option("depot_power_kw", "number", "kW", "power of one depot charger (fleets charge overnight)",
           low=3, high=1000, metavar="KW", source="ASSUMPTION: a 60 kW DC depot charger"),
    Option("depot_window_h", "number", "hours", "overnight window in which the bus and taxi fleets charge at depots",
           low=1, high=24, metavar="H", source="ASSUMPTION: 8 hours between the last and the first service"),
    Option("solver", "choice", "", "MILP solver", part="solver", choices=SOLVERS, metavar="NAME"),
    Option("time_limit_s", "number", "seconds", "solver time limit", part="solver", low=0.1, high=3600, metavar="S"),
    Option("mip_gap", "number", "fraction",
           "relative MIP gap: a plan proven within it of the cheapest counts as optimal",
           part="solver", low=0, high=0.5, metavar="GAP",
           source="0.5 %: the sizing MILP closes its last fraction of a percent slowly; sites are re-sized "
                  "exactly afterwards"),
)
OPTION_BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}


# --------------------------------------------------------------------------------------------------
# The assumptions: every field of the dataclasses on ``Scenario`` (norms, costs, demand, traffic …)
# --------------------------------------------------------------------------------------------------

#: What an assumption holds, read from its type annotation.
AssumptionKind: TypeAlias = Literal["number", "integer", "bool", "text", "table", "list"]


@dataclass(frozen=True)
class ValueType:
    """The type of one assumption, or of the entries of a table / the items of a list (``value``)."""

    kind: AssumptionKind
    optional: bool = False
    #: A table's keys: "integer" (years, when the assumption's name says so) or "text".
    key: Literal["integer", "text"] = "text"
    value: ValueType | None = None
    #: Allowed texts from a ``Literal`` annotation.
    choices: tuple[str, ...] = ()


def _value_type(annotation: Any, where: str) -> ValueType:
    """The ``ValueType`` of a dataclass field's resolved annotation; TypeError for one a TOML file cannot hold."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return replace(_value_type(rest[0], where), optional=True)
    simple = {bool: "bool", int: "integer", float: "number", str: "text"}
    if annotation in simple:
        return ValueType(simple[annotation])  # type: ignore[arg-type]
    if origin is Literal and all(isinstance(a, str) for a in args):
        return ValueType("text", choices=tuple(args))
    if origin in (dict, Mapping) and len(args) == 2 and args[0] in (int, str):
        return ValueType("table", key="integer" if args[0] is int else "text", value=_value_type(args[1], where))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return ValueType("list", value=_value_type(args[0], where))
    raise TypeError(f"{where}: a scenario file cannot hold a value of type {annotation!r}")


def _bad(label: str) -> Callable[[str], ScenarioError]:
    return lambda why: ScenarioError(f"{label}: {why}", option=label)


@dataclass(frozen=True)
class Assumption:
    """One field of an assumption dataclass on ``Scenario``: its section, type, default, unit, range, source.

    Read from the field's metadata (``planner.demand.assumptions.doc``), so that the scenario file, the
    CLI flags (``--demand.ev-stop-share``) and the API's nested objects cannot drift from the code.
    Values are held JSON-ready: tables with text keys ("2025"), lists as lists.
    """

    section: str
    name: str
    type: ValueType
    #: The default, JSON-ready.
    default: Any
    unit: str
    help: str
    source: str
    #: Inclusive bounds of a number (of every number in a table or list).
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """``demand.ev_stop_share``: the section and the name."""
        return f"{self.section}.{self.name}"

    @property
    def flag(self) -> str:
        """``--demand.ev-stop-share``."""
        return "--" + self.path.replace("_", "-")

    def label(self, spelling: Spelling = "python") -> str:
        """The assumption as the user spelled it."""
        return self.flag if spelling == "cli" else self.path

    @property
    def years_as_keys(self) -> bool:
        """Whether a table's whole-number keys are years (``ev_share_by_year``)."""
        return "year" in self.name

    @property
    def metavar(self) -> str:
        """The flag's value in the help: ``X``, ``N``, ``2025:0.08,2030:0.2`` …"""
        t = self.type
        if t.kind == "table":
            key = "YEAR" if t.key == "integer" else "KEY"
            return f"{key}:V,..." if t.value is not None and t.value.kind != "table" else "{TOML table}"
        return {"number": "X", "integer": "N", "bool": "true|false", "list": "A,B,..."}.get(
            t.kind, "|".join(self._choices(t)) or "TEXT")

    def _choices(self, t: ValueType) -> tuple[str, ...]:
        return t.choices or self.choices

    def _leaf(self) -> ValueType:
        t = self.type
        while t.value is not None:
            t = t.value
        return t

    def range_text(self) -> str:
        """The allowed values in words: "0 to 1", "a table of 0 to 1 by year", "one of ordinary, holiday"."""
        leaf = self._leaf()
        if leaf.kind in ("number", "integer"):
            whole = "whole numbers " if leaf.kind == "integer" and self.type.kind != "integer" else ""
            if self.low is not None and self.high is not None:
                text = f"{whole}{self.low:g} to {self.high:g}"
            elif self.low is not None:
                text = f"{whole}at least {self.low:g}"
            elif self.high is not None:
                text = f"{whole}at most {self.high:g}"
            else:
                text = f"any finite {'whole number' if leaf.kind == 'integer' else 'number'}"
        elif leaf.kind == "bool":
            text = "true or false"
        elif self._choices(leaf):
            text = "one of " + ", ".join(self._choices(leaf))
        else:
            text = "any text"
        t, by = self.type, ""
        while t.kind in ("table", "list"):
            if t.kind == "list":
                by += " as a list"
            else:
                by += (", then" if by else "") + (" by year" if t.key == "integer" and self.years_as_keys else (
                    " by whole number" if t.key == "integer" else " by name"))
            t = t.value  # type: ignore[assignment]
        if by:
            text = f"each {text}{by}"
        return text + (", or none" if self.type.optional else "")

    def cli_help(self) -> str:
        """Help for the flag: what, the unit and the range."""
        unit = f"{self.unit}; " if self.unit else ""
        return f"{self.help} [{unit}{self.range_text()}]"

    # -- checking ------------------------------------------------------------------------------

    def check(self, value: object, spelling: Spelling = "python", *, label: str | None = None) -> Any:
        """``value`` checked against this assumption's type and range, JSON-ready and canonical.

        Raises ``ScenarioError`` naming the assumption (``label``, else as ``spelling`` spells it) and,
        inside a table, the entry. Numbers of a real-valued field come back as floats; table keys as text,
        year keys in ascending order.
        """
        return self._check(self.type, value, _bad(label or self.label(spelling)), "")

    def _check(self, t: ValueType, value: object, bad: Callable[[str], ScenarioError], where: str) -> Any:
        if value is None:
            if t.optional:
                return None
            raise bad(f"{where}a value is required ({self.range_text()})")
        if t.kind in ("number", "integer"):
            whole = t.kind == "integer"
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise bad(f"{where}expected {'a whole number' if whole else 'a number'}, got {value!r}")
            if not math.isfinite(value):
                raise bad(f"{where}expected a finite number, got {value!r}")
            if whole and not float(value).is_integer():
                raise bad(f"{where}expected a whole number, got {value!r}")
            number: int | float = int(value) if whole else float(value)
            if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
                unit = f" ({self.unit})" if self.unit else ""
                raise bad(f"{where}must be {self._bounds_text()}{unit}, got {number:g}")
            return number
        if t.kind == "bool":
            if not isinstance(value, bool):
                raise bad(f"{where}expected true or false, got {value!r}")
            return value
        if t.kind == "text":
            choices = self._choices(t)
            if not isinstance(value, str) or (choices and value not in choices):
                raise bad(f"{where}expected {'one of ' + ', '.join(choices) if choices else 'a text'}, got {value!r}")
            return value
        assert t.value is not None
        if t.kind == "list":
            if not isinstance(value, list | tuple):
                raise bad(f"{where}expected a list, got {value!r}")
            return [self._check(t.value, v, bad, where) for v in value]
        if not isinstance(value, Mapping):
            raise bad(f"{where}expected a table (TOML: {{ key = value, ... }}; JSON: an object), got {value!r}")
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = self._key(t, k, bad, where)
            if key in out:
                raise bad(f"{where}{key}: given twice")
            out[key] = self._check(t.value, v, bad, f"{where}{key}: ")
        if t.key == "integer":
            out = dict(sorted(out.items(), key=lambda kv: int(kv[0])))
        if not out and t is self.type and self.default:
            raise bad(f"{where}at least one entry is required (the table replaces the default as a whole)")
        return out

    def _key(self, t: ValueType, key: object, bad: Callable[[str], ScenarioError], where: str) -> str:
        if t.key == "text":
            if not isinstance(key, str) or not key.strip():
                raise bad(f"{where}expected a non-empty name as key, got {key!r}")
            return key
        text = str(key).strip() if isinstance(key, numbers.Integral | str) and not isinstance(key, bool) else None
        if text is None or not re.fullmatch(r"-?[0-9]+", text):
            raise bad(f"{where}expected {'a year' if self.years_as_keys else 'a whole number'} as key, got {key!r}")
        number = int(text)
        if self.years_as_keys and not FIRST_YEAR <= number <= LAST_YEAR:
            raise bad(f"{where}years must be {FIRST_YEAR} to {LAST_YEAR}, got {number}")
        return str(number)

    def _bounds_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        return f"at least {self.low:g}" if self.low is not None else f"at most {self.high:g}"

    def to_python(self, value: Any) -> Any:
        """A checked JSON-ready value as the dataclass holds it: whole-number keys as ints, lists as tuples."""
        return _to_python(self.type, value)

    # -- text ----------------------------------------------------------------------------------

    def from_text(self, text: str, spelling: Spelling = "cli") -> Any:
        """Parse the command-line text of this assumption, then check it (``ScenarioError`` if bad).

        Tables: ``2025:0.08,2030:0.2`` (one level) or a TOML inline table ``{car = {2025 = 0.1}}``.
        """
        label = self.label(spelling)
        raw = text.strip()
        if self.type.optional and raw.lower() in ("none", "null", ""):
            return self.check(None, spelling)
        t = self.type
        try:
            if t.kind == "table" and raw.startswith("{"):
                import tomllib

                value: object = tomllib.loads(f"v = {raw}")["v"]
            elif t.kind == "table":
                value = {}
                for item in (i for i in raw.split(",") if i.strip()):
                    key, sep, v = item.rpartition(":")
                    if not sep:
                        raise ValueError(item)
                    value[key.strip()] = _leaf_from_text(t.value, v)  # type: ignore[index,arg-type]
            elif t.kind == "list":
                value = [_leaf_from_text(t.value, v) for v in raw.split(",") if v.strip()]  # type: ignore[arg-type]
            else:
                value = _leaf_from_text(t, raw)
        except ValueError:
            expected = {"number": "a number", "integer": "a whole number", "bool": "true or false",
                        "table": "a table such as 2025:0.08,2030:0.2 or {car = 0.7, truck = 0.3}",
                        "list": "a comma-separated list", "text": "a text"}[t.kind]
            raise ScenarioError(f"{label}: expected {expected}, got {text!r}", option=label) from None
        return self.check(value, spelling)

    def to_text(self, value: Any) -> str:
        """``value`` as it is written on the command line ("0.1", "2025:0.08,2030:0.2", "none")."""
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Mapping):
            if any(isinstance(v, Mapping | list) for v in value.values()):
                return toml_value(value)
            return ",".join(f"{k}:{self.to_text(v)}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return ",".join(self.to_text(v) for v in value)
        return str(value)


def _leaf_from_text(t: ValueType, text: str) -> object:
    raw = text.strip()
    if t.optional and raw.lower() in ("none", "null"):
        return None
    if t.kind == "number":
        return float(raw)
    if t.kind == "integer":
        return int(raw)
    if t.kind == "bool":
        low = raw.lower()
        if low not in ("true", "false", "yes", "no", "1", "0"):
            raise ValueError(text)
        return low in ("true", "yes", "1")
    if t.kind == "text":
        return raw
    raise ValueError(text)  # a nested table or list: only the TOML inline form


def _to_python(t: ValueType, value: Any) -> Any:
    if value is None:
        return None
    if t.kind == "table":
        return {(int(k) if t.key == "integer" else k): _to_python(t.value, v) for k, v in value.items()}  # type: ignore[arg-type]
    if t.kind == "list":
        return tuple(_to_python(t.value, v) for v in value)  # type: ignore[arg-type]
    return value


def _section_defaults(cls: type = Scenario) -> list[tuple[str, Any]]:
    """The assumption sections of ``cls`` (``Scenario``) with their default objects: every dataclass-valued field
    but the solver's (whose settings are flat options)."""
    out = []
    for f in fields(cls):
        default = f.default_factory() if f.default_factory is not MISSING else f.default  # type: ignore[misc]
        if f.name != "solver" and is_dataclass(default):
            out.append((f.name, default))
    return out


def _collect(obj: Any, section: str, sections: list[str], found: list[Assumption]) -> None:
    """The assumptions of the dataclass ``obj`` (recursively: a dataclass field is a sub-section)."""
    sections.append(section)
    hints = get_type_hints(type(obj))
    flat = {o.name for o in OPTIONS if o.part == section}
    for f in fields(obj):
        if f.name in flat:  # a flat option (e.g. dc_power_kw): set at the top level, not in the section
            continue
        value = getattr(obj, f.name)
        if is_dataclass(value):
            _collect(value, f"{section}.{f.name}", sections, found)
            continue
        meta = f.metadata
        a = Assumption(section, f.name, _value_type(hints[f.name], f"{section}.{f.name}"), None,
                       unit=meta.get("unit", ""), help=meta.get("help", f.name.replace("_", " ")),
                       source=meta.get("source", "not stated"), low=meta.get("low"), high=meta.get("high"),
                       choices=tuple(meta.get("choices") or ()))
        found.append(replace(a, default=a.check(value)))  # a default outside its own range fails at import


def all_assumptions(cls: type = Scenario) -> tuple[tuple[str, ...], tuple[Assumption, ...]]:
    """The sections and assumptions of the scenario class ``cls``, found from its dataclass fields."""
    sections: list[str] = []
    found: list[Assumption] = []
    for name, default in _section_defaults(cls):
        _collect(default, name, sections, found)
    return tuple(sections), tuple(found)


#: The sections of a scenario file ("norms", "costs", "demand", "traffic", … and any sub-section such as
#: "demand.town"), and every assumption in them, in declaration order.
SECTIONS, ASSUMPTIONS = all_assumptions()
ASSUMPTION_BY_PATH: dict[str, Assumption] = {a.path: a for a in ASSUMPTIONS}
#: Any value of a scenario by its name: a flat option ("budget_cny") or an assumption's path.
Setting: TypeAlias = Option | Assumption


def setting(name: str) -> Setting | None:
    """The flat option or the assumption of ``name`` ("range_margin_km", "demand.ev_stop_share"), or None."""
    return OPTION_BY_NAME.get(name) or ASSUMPTION_BY_PATH.get(name)


def settings() -> tuple[Setting, ...]:
    """Every value of a scenario: the flat options, then the assumptions section by section."""
    return (*OPTIONS, *ASSUMPTIONS)


def _label(name: str, spelling: Spelling) -> str:
    return name if spelling == "python" else "--" + name.replace("_", "-")


def flatten_values(values: Mapping[str, object], spelling: Spelling = "python") -> dict[str, object]:
    """Scenario values by name: flat options as they are, each section's entries by dotted path.

    ``{"budget_cny": 1e8, "demand": {"ev_stop_share": 0.2}}`` -> ``{"budget_cny": 1e8,
    "demand.ev_stop_share": 0.2}``; dotted names pass as they are. A section that is not a mapping raises.
    """
    out: dict[str, object] = {}

    def walk(prefix: str, mapping: Mapping[str, object]) -> None:
        for key, value in mapping.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if path in SECTIONS:
                if not isinstance(value, Mapping):
                    label = _label(path, spelling)
                    raise ScenarioError(f"{label}: expected a section of assumptions (an object / TOML table), "
                                        f"got {value!r}", option=label)
                walk(path, value)
            else:
                out[path] = value

    walk("", values)
    return out


def nest_values(values: Mapping[str, object]) -> dict[str, Any]:
    """The inverse of ``flatten_values``: assumptions by dotted path into their sections."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        a = ASSUMPTION_BY_PATH.get(name)
        if a is None:
            out[name] = value
            continue
        target = out
        for part in a.section.split("."):
            target = target.setdefault(part, {})
        target[a.name] = value
    return out


def merge_values(*values: Mapping[str, object]) -> dict[str, Any]:
    """Scenario values over one another: a later one wins, value by value (a table as a whole)."""
    out: dict[str, object] = {}
    for v in values:
        out.update(flatten_values(v))
    return nest_values(out)


def _unknown(name: str, spelling: Spelling) -> ScenarioError:
    label = _label(name, spelling)
    section, _, key = name.rpartition(".")
    if section in SECTIONS:
        opt = OPTION_BY_NAME.get(key)
        if opt is not None:
            return ScenarioError(f"{label}: {key} is a top-level scenario option, not one of [{section}]: "
                                 f"give it as {opt.label(spelling)}", option=label)
        names = [a.name for a in ASSUMPTIONS if a.section == section]
        return ScenarioError(f"unknown assumption {label!r} in [{section}]; expected one of {names}", option=label)
    if section:
        return ScenarioError(f"unknown scenario section {section!r} (in {label!r}); expected one of "
                             f"{list(SECTIONS)}", option=label)
    return ScenarioError(f"unknown scenario option {label!r}; expected one of "
                         f"{[o.label(spelling) for o in OPTIONS]} or a section {list(SECTIONS)}", option=label)


def _value_of(scenario: Scenario, a: Assumption) -> Any:
    obj: Any = scenario
    for part in a.section.split("."):
        obj = getattr(obj, part)
    return getattr(obj, a.name)


def options_of(scenario: Scenario) -> OptionValues:
    """Every value of ``scenario`` (the inverse of ``scenario_from_options``): the flat options (sequences as
    tuples), then each assumption section as a nested JSON-ready dict (``{"demand": {"ev_stop_share": 0.1, …}}``).

    This is the scenario's canonical form: a stored run's scenario and a sweep point's are this, as JSON.
    """
    parts = {"scenario": scenario, "norms": scenario.norms, "solver": scenario.solver}
    flat: dict[str, object] = {o.name: getattr(parts[o.part], o.name) for o in OPTIONS}
    flat.update({a.path: a.check(_value_of(scenario, a)) for a in ASSUMPTIONS})
    return nest_values(flat)


def check_options(values: Mapping[str, object], spelling: Spelling = "python") -> OptionValues:
    """Every value of ``values`` checked (``Option.check``, ``Assumption.check``), then the options that depend
    on each other; canonical, with the assumptions nested in their sections.

    ``values`` holds flat options by name and assumptions in section mappings (``{"demand": {...}}``) or by
    dotted path (``"demand.ev_stop_share"``). Unknown names are refused. Raises ``ScenarioError`` naming the
    first bad value.
    """
    given = flatten_values(values, spelling)
    out: dict[str, object] = {}
    for name, value in given.items():
        s = setting(name)
        if s is None:
            raise _unknown(name, spelling)
        out[name] = s.check(value, spelling)
    years = out.get("stage_years")
    start = out.get("town_coverage_from")
    if years is not None and start is not None and start not in years:  # type: ignore[operator]
        option = OPTION_BY_NAME["town_coverage_from"].label(spelling)
        raise ScenarioError(f"{option}: must be one of the stage years "
                            f"({', '.join(str(y) for y in years)}) or none, got {start}",  # type: ignore[union-attr]
                            option=option)
    return nest_values(out)


def _build(obj: Any, section: str, given: Mapping[str, object]) -> Any:
    """The dataclass ``obj`` of ``section`` with the given assumptions (by path) replaced, sub-sections too."""
    changes: dict[str, object] = {}
    for f in fields(obj):
        path = f"{section}.{f.name}"
        if path in SECTIONS:
            changes[f.name] = _build(getattr(obj, f.name), path, given)
        elif path in given:
            changes[f.name] = ASSUMPTION_BY_PATH[path].to_python(given[path])
    try:
        return replace(obj, **changes) if changes else obj
    except ScenarioError:
        raise
    except ValueError as exc:  # a check between the section's values (e.g. shares that must sum to 1)
        raise ScenarioError(str(exc), option=section) from None


def scenario_from_options(
    values: Mapping[str, object] | None = None, /, *, spelling: Spelling = "python", **more: object
) -> Scenario:
    """The scenario of ``values`` and ``more`` (flat options, assumption sections or dotted paths; see
    ``check_options``); the rest keep their defaults.

    ``spelling`` says how the user named the options, so that an error names them the same way.
    """
    given = flatten_values(check_options({**(values or {}), **more}, spelling))
    flat = {o.name: getattr({"scenario": _DEFAULT_SCENARIO, "norms": _DEFAULT_SCENARIO.norms,
                             "solver": _DEFAULT_SCENARIO.solver}[o.part], o.name) for o in OPTIONS}
    flat.update({k: v for k, v in given.items() if k in OPTION_BY_NAME})
    sections = {name: _build(getattr(_DEFAULT_SCENARIO, name), name, given) for name, _ in _section_defaults()}
    sections["norms"] = replace(sections["norms"], **{o.name: flat[o.name] for o in OPTIONS if o.part == "norms"})
    solver = replace(_DEFAULT_SCENARIO.solver, **{o.name: flat[o.name] for o in OPTIONS if o.part == "solver"})
    direct = {o.name: flat[o.name] for o in OPTIONS if o.part == "scenario"}
    try:
        return replace(_DEFAULT_SCENARIO, **direct, **sections, solver=solver)
    except ScenarioError as exc:  # a check on the whole scenario: name the option the user's way
        option = OPTION_BY_NAME.get(exc.option or "")
        if option is None or spelling == "python":
            raise
        raise ScenarioError(str(exc).replace(option.name, option.label(spelling), 1),
                            option=option.label(spelling)) from None


def spell_options(message: str, spelling: Spelling) -> str:
    """``message`` with every option name (``time_limit_s``) written the way ``spelling`` says (``--time-limit-s``).

    For errors raised deep in the planner, which name options the Python way.
    """
    if spelling == "python":
        return message
    for opt in OPTIONS:
        if "_" in opt.name:  # one-word names ("solver") are ordinary words in a message
            message = re.sub(rf"(?<![\w.-]){opt.name}(?![\w]| = )", opt.label(spelling), message)
    for a in ASSUMPTIONS:
        message = re.sub(rf"(?<![\w.-]){re.escape(a.path)}(?![\w])", a.label(spelling), message)
    return message


def with_ev_shares(scenario: Scenario, shares: Mapping[int, float]) -> Scenario:
    """The scenario with EV shares by year replaced (e.g. from the fleet records' projection)."""
    return replace(scenario, demand=replace(scenario.demand, ev_share_by_year=dict(shares)))


# --------------------------------------------------------------------------------------------------
# The scenario file (TOML)
# --------------------------------------------------------------------------------------------------


def _none_strings(values: Mapping[str, object]) -> dict[str, object]:
    """TOML has no null: ``"none"`` (or ``"null"``) stands for it where a value may be none."""
    out: dict[str, object] = {}
    for name, value in values.items():
        s = setting(name)
        optional = s is not None and (s.optional if isinstance(s, Option) else s.type.optional)
        out[name] = None if optional and isinstance(value, str) and value.lower() in ("none", "null") else value
    return out


def read_scenario_file(path: str | os.PathLike[str]) -> OptionValues:
    """The values a scenario file sets (checked, canonical, assumptions nested); those it leaves out are absent.

    TOML: the flat options at the top level (``budget_cny = 8e7``), the assumptions in their sections
    (``[demand]`` ``ev_stop_share = 0.2``; ``ev_share_by_year = { 2025 = 0.08, 2030 = 0.2 }``). ``"none"``
    stands for none. Unknown sections and keys and bad values raise ``ScenarioError`` naming the file, the
    section, the key and what was expected.
    """
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not a TOML scenario file ({exc})") from None
    checked: dict[str, object] = {}

    def walk(section: str, table: Mapping[str, object]) -> None:
        for key, value in table.items():
            name = f"{section}.{key}" if section else key
            where = f"[{section}] {key}" if section else key
            if name in SECTIONS:
                if not isinstance(value, Mapping):
                    raise ScenarioError(f"{path}: {where}: expected a section (a [{name}] table of key = value "
                                        f"lines), got {value!r}", option=name)
                walk(name, value)
                continue
            s = setting(name)
            if s is None:
                if not section and isinstance(value, Mapping):
                    raise ScenarioError(f"{path}: unknown section [{key}]; expected one of "
                                        f"{', '.join(f'[{x}]' for x in SECTIONS)}", option=key)
                message = str(_unknown(name, "python"))
                if section:
                    message = message.replace(f"{name!r}", f"{key!r}").replace(f"{name}: ", f"{where}: ")
                raise ScenarioError(f"{path}: {message}", option=name)
            value = _none_strings({name: value})[name]
            try:
                checked[name] = s.check(value, label=where) if isinstance(s, Assumption) else s.check(value)
            except ScenarioError as exc:
                raise ScenarioError(f"{path}: {_as_key(exc, value)}", option=name) from None

    walk("", raw)
    try:
        return check_options(nest_values(checked))
    except ScenarioError as exc:  # the checks between options
        raise ScenarioError(f"{path}: {_as_key(exc, raw.get(exc.option or ''))}", option=exc.option) from None


def _as_key(exc: ScenarioError, value: object) -> str:
    """A flat option's error as the file spells it, ``key = value: why`` (which ``spell_options`` leaves alone)."""
    message = str(exc)
    if exc.option in OPTION_BY_NAME and message.startswith(f"{exc.option}: "):
        return f"{exc.option} = {toml_value(value)}: {message[len(exc.option) + 2:]}"
    return message


def options_from_file(path: str | os.PathLike[str]) -> OptionValues:
    """The values of a scenario file (``read_scenario_file``; the name of the flat-only format it extends)."""
    return read_scenario_file(path)


def toml_value(value: object) -> str:
    """A JSON-ready value as TOML: none as ``"none"``, tables inline (``{ 2025 = 0.08 }``)."""
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _comment(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=108, initial_indent="# ", subsequent_indent="#   ")


def _doc_comment(row: Mapping[str, Any]) -> list[str]:
    unit = f"{row['unit']}; " if row["unit"] else ""
    lines = [*_comment(f"{row['help']} [{unit}{row['range']}]"), *_comment(f"source: {row['source']}")]
    if row["origin"] != "default" or row["text"] != row["default"]:
        lines += _comment(f"default: {row['default']}" + (f" (this value: from the {row['origin']})"
                                                           if row["origin"] != "default" else ""))
    return lines


#: Where a value of the effective scenario came from.
Origin: TypeAlias = Literal["default", "file", "flag"]


def describe(scenario: Scenario, origins: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every value of ``scenario``, section by section ("" for the flat options): name, value, its text, unit,
    range, source, default and where it came from (``origins`` by name, else "default"). JSON-ready."""
    flat = flatten_values(options_of(scenario))
    default = flatten_values(options_of(_DEFAULT_SCENARIO))
    rows = []
    for s in settings():
        name = s.name if isinstance(s, Option) else s.path
        value = flat[name]
        rows.append({"section": "" if isinstance(s, Option) else s.section, "name": s.name, "path": name,
                     "value": list(value) if isinstance(value, tuple) else value,
                     "text": s.to_text(value), "unit": s.unit, "range": s.range_text(), "help": s.help,
                     "source": s.source, "default": s.to_text(default[name]),
                     "origin": (origins or {}).get(name, "default")})
    return rows


def scenario_toml(scenario: Scenario, origins: Mapping[str, str] | None = None, *, title: str = "") -> str:
    """A complete, documented scenario file of ``scenario``: every value with its meaning, unit, range and
    source in comments; reading it back (``read_scenario_file``) gives the same scenario."""
    lines = [
        f"# evplan scenario{': ' + title if title else ''}",
        "#",
        "# Every assumption of a plan, with its unit, allowed range and source. Use it with",
        "# `evplan plan --scenario FILE` (also `evplan sweep`, `evplan province plan`); command-line flags",
        "# override it. Flat options sit at the top, the assumptions in their sections; a line left out takes",
        '# its default. "none" stands for none. A table (e.g. ev_share_by_year) replaces the default table',
        "# as a whole. Written by `evplan scenario show --toml`.",
    ]
    by_section: dict[str, list[dict[str, Any]]] = {}
    for row in describe(scenario, origins):
        by_section.setdefault(row["section"], []).append(row)
    for section, rows in by_section.items():
        if section:
            lines += ["", f"[{section}]"]
        later: list[dict[str, Any]] = []  # tables too long for one line: sub-tables after the section's keys
        for row in rows:
            line = f"{_toml_key(row['name'])} = {toml_value(row['value'])}"
            if isinstance(row["value"], dict) and row["value"] and len(line) > 108 and section:
                later.append(row)
                continue
            lines += ["", *_doc_comment(row), line]
        for row in later:
            lines += ["", *_doc_comment(row), f"[{section}.{_toml_key(row['name'])}]"]
            lines += [f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in row["value"].items()]
    return "\n".join(lines) + "\n"


#: The defaults of every option (checked on construction, so they lie in range themselves).
_DEFAULT_SCENARIO = Scenario()

__all__ = [
    "ASSUMPTIONS", "ASSUMPTION_BY_PATH", "FIRST_YEAR", "LAST_YEAR", "MAX_STAGES", "OPTIONS", "OPTION_BY_NAME",
    "SECTIONS", "Assumption", "Option", "OptionValue", "OptionValues", "Origin", "Scenario", "Setting", "SolverName",
    "Spelling", "ValueType", "all_assumptions", "check_options", "describe", "flatten_values", "merge_values", "nest_values",
    "options_from_file", "options_of", "read_scenario_file", "scenario_from_options", "scenario_toml", "setting",
    "settings", "spell_options", "toml_value", "with_ev_shares",
]
