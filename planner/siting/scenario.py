"""The one list of scenario options, and the ``Scenario`` a plan is made for.

``OPTIONS`` states each option once: name, unit, default, physical range, help text (the CLI flag is
the name with dashes). ``evplan plan``'s flags (``cli/main.py``) and the API's ``ScenarioIn`` body
(``app/schemas.py``) are generated from it, and ``scenario_from_options`` checks values against it, so
names, units, defaults and checks cannot drift apart. A bad value raises ``ScenarioError`` naming the
option as the user spelled it (``--drive-time-min`` on the command line, ``drive_time_min`` elsewhere).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from planner import config
from planner.demand.assumptions import TrafficAssumptions
from planner.errors import ScenarioError
from planner.siting.candidates import CANDIDATE_KINDS, CandidateKind
from planner.siting.sizing import ChargerNorms, CostAssumptions, DemandAssumptions
from planner.siting.solver import SOLVERS, SolverName, SolverOptions

#: How the user spelled an option: the Python / API field name, or the command-line flag.
Spelling: TypeAlias = Literal["python", "cli"]
#: The value of one option, as checked (sequences as tuples).
OptionValue: TypeAlias = float | int | str | tuple[int, ...] | tuple[str, ...] | None
#: Option values by name, e.g. a stored run's scenario.
OptionValues: TypeAlias = dict[str, OptionValue]
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
    solver options in ``solver``); the cost and demand assumptions and the depot figures are not
    options of the edges. Every option is checked against its range on construction.
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
    #: Real discount rate for the present value of the stages' capital spending, per year, to the first
    #: stage year. 0.08: the social discount rate of China's official project-appraisal parameters
    #: (《建设项目经济评价方法与参数》, 3rd edition, 2006).
    discount_rate: float = 0.08
    #: Depot charger power, kW, and the overnight window in which fleets charge, hours.
    depot_power_kw: float = 60.0
    depot_window_h: float = 8.0
    #: A plan within 0.5 % of the proven bound counts as optimal: the sizing MILP (Erlang-C capacity in
    #: unary binaries) closes the last fraction of a percent slowly, and each site is re-sized exactly
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
           low=0, high=0.5, metavar="RATE"),
    Option("candidate_kinds", "kinds", "", "candidate site kinds to use", choices=CANDIDATE_KINDS, metavar="KINDS",
           cli_aliases=("--candidates",)),
    Option("dc_power_kw", "number", "kW", "DC power per standard connector (120: the 2019 standard pile)",
           part="norms", low=20, high=1000, metavar="KW", cli_aliases=("--power-kw",)),
    Option("high_power_kw", "number", "kW", "power of a high-power connector (Guangdong super-fast: 360)",
           part="norms", low=20, high=2000, metavar="KW"),
    Option("min_chargers_per_station", "integer", "chargers", "minimum chargers per station (GB/T 50966-2024: 3)",
           part="norms", low=1, high=500, metavar="N", cli_aliases=("--min-chargers",)),
    Option("max_wait_probability", "number", "probability",
           "largest acceptable chance that an EV arriving at the peak hour waits (Erlang C)",
           part="norms", low=0.01, high=0.5, metavar="P"),
    Option("grid_diversity_factor", "number", "fraction",
           "coincident peak of a site's chargers as a share of their installed power, against its grid capacity",
           part="norms", low=0.1, high=1, metavar="F"),
    Option("solver", "choice", "", "MILP solver", part="solver", choices=SOLVERS, metavar="NAME"),
    Option("time_limit_s", "number", "seconds", "solver time limit", part="solver", low=0.1, high=3600, metavar="S"),
    Option("mip_gap", "number", "fraction",
           "relative MIP gap: a plan proven within it of the cheapest counts as optimal",
           part="solver", low=0, high=0.5, metavar="GAP"),
)
OPTION_BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}



def options_of(scenario: Scenario) -> OptionValues:
    """The flat option values of ``scenario`` (the inverse of ``scenario_from_options``)."""
    parts = {"scenario": scenario, "norms": scenario.norms, "solver": scenario.solver}
    return {o.name: getattr(parts[o.part], o.name) for o in OPTIONS}


def check_options(values: Mapping[str, object], spelling: Spelling = "python") -> OptionValues:
    """Every option of ``values`` checked (``Option.check``), then the options that depend on each other.

    Names not in ``OPTIONS`` are refused. Raises ``ScenarioError`` naming the first bad option.
    """
    unknown = [k for k in values if k not in OPTION_BY_NAME]
    if unknown:
        label = unknown[0] if spelling == "python" else "--" + unknown[0].replace("_", "-")
        raise ScenarioError(f"unknown scenario option {label!r}; expected one of "
                            f"{[o.label(spelling) for o in OPTIONS]}", option=label)
    out = {name: OPTION_BY_NAME[name].check(value, spelling) for name, value in values.items()}
    years = out.get("stage_years")
    start = out.get("town_coverage_from")
    if years is not None and start is not None and start not in years:  # type: ignore[operator]
        option = OPTION_BY_NAME["town_coverage_from"].label(spelling)
        raise ScenarioError(f"{option}: must be one of the stage years "
                            f"({', '.join(str(y) for y in years)}) or none, got {start}",  # type: ignore[union-attr]
                            option=option)
    return out


def scenario_from_options(
    values: Mapping[str, object] | None = None, /, *, spelling: Spelling = "python", **more: object
) -> Scenario:
    """The scenario of the flat options in ``values`` and ``more``; the rest keep their defaults.

    ``spelling`` says how the user named the options, so that an error names them the same way.
    """
    given = check_options({**(values or {}), **more}, spelling)
    full = {**options_of(_DEFAULT_SCENARIO), **given}
    norms = replace(_DEFAULT_SCENARIO.norms, **{o.name: full[o.name] for o in OPTIONS if o.part == "norms"})
    solver = replace(_DEFAULT_SCENARIO.solver, **{o.name: full[o.name] for o in OPTIONS if o.part == "solver"})
    direct = {o.name: full[o.name] for o in OPTIONS if o.part == "scenario"}
    try:
        return replace(_DEFAULT_SCENARIO, **direct, norms=norms, solver=solver)
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
            message = re.sub(rf"(?<![\w-]){opt.name}(?!\w)", opt.label(spelling), message)
    return message


def with_ev_shares(scenario: Scenario, shares: Mapping[int, float]) -> Scenario:
    """The scenario with EV shares by year replaced (e.g. from the fleet records' projection)."""
    return replace(scenario, demand=replace(scenario.demand, ev_share_by_year=dict(shares)))


def options_from_file(path: str | os.PathLike[str]) -> OptionValues:
    """The option values of a scenario file: TOML with ``OPTIONS`` names as keys (``budget_cny = 8e7``).

    TOML has no null: ``"none"`` stands for it. Unknown names and bad values raise ``ScenarioError``
    naming the file and the option; options the file leaves out are not in the result.
    """
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not a TOML scenario file ({exc})") from None
    values = {k: None if isinstance(v, str) and v.lower() in ("none", "null") and OPTION_BY_NAME.get(k)
              and OPTION_BY_NAME[k].optional else v for k, v in raw.items()}
    try:
        return check_options(values)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}", option=exc.option) from None


#: The defaults of every option (checked on construction, so they lie in range themselves).
_DEFAULT_SCENARIO = Scenario()

__all__ = [
    "FIRST_YEAR", "LAST_YEAR", "MAX_STAGES", "OPTIONS", "OPTION_BY_NAME", "Option", "OptionValue", "OptionValues",
    "Scenario", "SolverName", "Spelling", "check_options", "options_from_file", "options_of", "scenario_from_options", "spell_options",
    "with_ev_shares",
]
