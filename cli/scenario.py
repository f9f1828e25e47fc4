"""The scenario on the command line: one flag per scenario value, ``--scenario FILE``, ``evplan scenario show``.

Every flat option (``--range-margin-km``) and every assumption of the scenario file's sections
(``--demand.ev-stop-share``) is a flag, generated from ``planner.siting.scenario``; ``evplan plan``, ``sweep``
and ``province plan`` share ``add_scenario_flags``. A flag overrides the file, the file the default.
``add_traffic_input_flags`` adds the measured-traffic files (``--traffic-counts``, ``--od-table``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from planner.siting.scenario import (
    ASSUMPTIONS,
    OPTIONS,
    SECTIONS,
    Assumption,
    OptionValues,
    Scenario,
    Setting,
    describe,
    flatten_values,
    merge_values,
    read_scenario_file,
    scenario_from_options,
    scenario_toml,
    settings,
)


def _name(s: Setting) -> str:
    return s.path if isinstance(s, Assumption) else s.name


def add_scenario_flags(p: argparse.ArgumentParser, *, lists: bool = False) -> None:
    """One flag per scenario value: the flat options (``--budget-cny``), then each section's assumptions
    (``--demand.ev-stop-share``) in an argument group of their own.

    A flag not given leaves no attribute (``given_texts`` lists those given), so that the file's value or
    the default stands. Values stay text here and are checked by ``planner.siting.scenario`` with the same
    rule and message as in the API. With ``lists`` (``evplan sweep``) each flag takes a list of values.
    Earlier spellings of the flat options still work, unlisted.
    """
    from planner.sweep.grid import list_separator

    groups: dict[str, Any] = {}
    for s in settings():
        target: Any = p
        if isinstance(s, Assumption):
            if s.section not in groups:
                groups[s.section] = p.add_argument_group(
                    f"[{s.section}] assumptions",
                    f"the [{s.section}] section of the scenario file (evplan scenario show --toml lists them)")
            target = groups[s.section]
        default = s.to_text(s.default)
        if lists:
            sep = list_separator(_name(s))
            metavar = f"{s.metavar}{sep}..."
            extra = {"/": " — values separated by '/', e.g. 2025,2030/2025,2035",
                     ";": " — tables separated by ';', e.g. 2025:0.08,2030:0.2;2025:0.1,2030:0.3",
                     ",": " — a comma-separated list"}[sep]
        else:
            metavar, extra = s.metavar, ""
        target.add_argument(s.flag, dest=_name(s), default=argparse.SUPPRESS, metavar=metavar,
                            help=f"{s.cli_help()}{extra} (default: {default})".replace("%", "%%"))
        for alias in getattr(s, "cli_aliases", ()):
            target.add_argument(alias, dest=_name(s), default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_scenario_file_flag(p: argparse.ArgumentParser, what: str = "the base of the flags") -> None:
    """``--scenario FILE``: a TOML scenario file (``evplan scenario show --toml`` writes a complete one)."""
    p.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                   help=f"TOML scenario file: the flat options at the top, the assumptions in [norms], [costs], "
                        f"[demand], [traffic] …; {what}")


def add_traffic_input_flags(p: argparse.ArgumentParser) -> None:
    """``--traffic-counts FILE`` and ``--od-table FILE``: measured traffic for the corridor demand, the same
    flags in ``evplan plan`` and ``evplan traffic flows|capture`` (file formats: data/traffic/README.md)."""
    p.add_argument("--traffic-counts", type=Path, default=None, metavar="FILE",
                   help="traffic counts per road segment and direction (CSV: road_ref, lon, lat, direction, aadt, "
                        "class shares; data/traffic/README.md): the routed O-D flows are calibrated to them")
    p.add_argument("--od-table", type=Path, default=None, metavar="FILE",
                   help="origin-destination trips per day by class (CSV: origin, destination, car, truck and coach "
                        "trips per day; data/traffic/README.md), used instead of the gravity model")


def given_texts(args: argparse.Namespace) -> dict[str, str]:
    """The scenario flags given on the command line, as text, by option name or assumption path."""
    return {_name(s): getattr(args, _name(s)) for s in settings() if hasattr(args, _name(s))}


def values_from_flags(args: argparse.Namespace) -> OptionValues:
    """The values of the scenario flags given (checked; an error names the flag)."""
    from planner.siting.scenario import setting

    values = {name: setting(name).from_text(text, "cli")  # type: ignore[union-attr]
              for name, text in given_texts(args).items()}
    return merge_values(values)


def file_values(args: argparse.Namespace) -> OptionValues:
    """The values of ``--scenario FILE`` (checked; an error names the file, section and key), else none."""
    from planner.errors import ScenarioError

    path = getattr(args, "scenario", None)
    if path is None:
        return {}
    try:
        return read_scenario_file(path)
    except ScenarioError as exc:
        raise _in_file(exc, path) from None


def _in_file(exc: Exception, path: Path) -> Exception:
    from planner.errors import ScenarioError

    text = str(exc)
    return ScenarioError(text if text.startswith(str(path)) else f"{path}: {text}",
                         option=getattr(exc, "option", None), in_file=True)


def error_text(exc: Exception) -> str:
    """An error for the command line: option names as flags, except in a scenario file's own errors."""
    from planner.errors import ScenarioError
    from planner.siting.scenario import spell_options

    return str(exc) if isinstance(exc, ScenarioError) and exc.in_file else spell_options(str(exc), "cli")


def values_from_args(args: argparse.Namespace) -> OptionValues:
    """``--scenario FILE``'s values with the flags given over them."""
    return merge_values(file_values(args), values_from_flags(args))


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The scenario the file and flags describe; ``ScenarioError`` names the bad flag, or the file and key."""
    from planner.errors import ScenarioError

    from_file = file_values(args)
    values = merge_values(from_file, values_from_flags(args))
    try:  # the flags' own checks ran above; the checks between values name them the command line's way
        return scenario_from_options(values, spelling="cli")
    except ScenarioError as exc:
        if from_file:  # the file is wrong on its own: name the file and its key, not a flag never given
            try:
                scenario_from_options(from_file)
            except ScenarioError as own:
                raise _in_file(own, args.scenario) from None
        raise exc from None


def origins_from_args(args: argparse.Namespace) -> dict[str, str]:
    """Where each value given came from: "file" or "flag" (a flag wins), by option name or assumption path."""
    out = dict.fromkeys(flatten_values(file_values(args)), "file")
    out.update(dict.fromkeys(given_texts(args), "flag"))
    return out


def add_scenario_parser(sub: Any, formatter: type) -> None:
    """Register ``evplan scenario show``."""
    p = sub.add_parser("scenario", help="the effective scenario: every value with its unit, source and origin",
                       description="Show or write the scenario a plan would use.", formatter_class=formatter)
    ssub = p.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    q = ssub.add_parser(
        "show",
        help="print the effective values section by section, or a complete scenario file (--toml)",
        description=(
            "Print every value of the effective scenario, section by section ([options], then "
            + ", ".join(f"[{s}]" for s in SECTIONS) + "),\n"
            "each with its unit, source and whether it came from the default, the --scenario file or a flag.\n"
            "--toml writes a complete documented scenario file instead (comments carry unit, range and\n"
            "source); `evplan plan --scenario` reads it back to the same scenario. Example:\n"
            "  evplan scenario show --toml --demand.ev-stop-share 0.15 > my.toml"
        ),
        formatter_class=formatter,
    )
    add_scenario_file_flag(q, "flags override it")
    out = q.add_mutually_exclusive_group()
    out.add_argument("--toml", action="store_true", help="write a complete documented TOML scenario file to stdout")
    out.add_argument("--json", action="store_true", help="print the values as JSON (one object per value)")
    add_scenario_flags(q)


def run_scenario_command(args: argparse.Namespace) -> int:
    """``evplan scenario show``."""
    from cli._common import to_json
    from planner.errors import EvplanError

    try:
        scenario = scenario_from_args(args)
        origins = origins_from_args(args)
    except EvplanError as exc:
        print(f"evplan: error: {error_text(exc)}", file=sys.stderr)
        return 2
    if args.toml:
        sys.stdout.write(scenario_toml(scenario, origins))
        return 0
    rows = describe(scenario, origins)
    if args.json:
        print(to_json(rows))
        return 0
    width = max(len(r["name"]) for r in rows)
    current = None
    for r in rows:
        if r["section"] != current:
            current = r["section"]
            print(("" if r is rows[0] else "\n") + f"[{current or 'options'}]")
        print(f"  {r['name']:<{width}}  {r['text']:<24}  {r['unit'] or '-':<20}  {r['origin']:<7}  {r['source']}")
    counts = {o: sum(1 for r in rows if r["origin"] == o) for o in ("default", "file", "flag")}
    print(f"\n{len(rows)} values ({len(OPTIONS)} options, {len(ASSUMPTIONS)} assumptions): "
          f"{counts['default']} default, {counts['file']} from the file, {counts['flag']} from flags")
    return 0
