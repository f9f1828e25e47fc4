"""``evplan plan``: parse the scenario flags, run the main job (``planner.pipeline``), print a summary."""

from __future__ import annotations

import argparse
import sys

from cli._common import to_json
from planner import config
from planner.errors import EvplanError
from planner.progress import silent, stderr_progress
from planner.siting.scenario import (
    OPTIONS,
    Scenario,
    scenario_from_options,
    spell_options,
)


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The plan scenario the command-line options describe; ``ScenarioError`` names the bad flag."""
    values = {opt.name: opt.from_text(getattr(args, opt.name), "cli") for opt in OPTIONS}
    return scenario_from_options(values, spelling="cli")


def run_plan_command(args: argparse.Namespace) -> int:
    """``evplan plan``: the main job on one network and one set of fleet records."""
    from planner.pipeline import run_main_job
    from planner.siting.outputs import summary_table

    try:
        scenario = scenario_from_args(args)
        done = run_main_job(args.osm, args.fleet_dir, scenario, args.out,
                            default_targets=config.FLEET_DIR / "targets.toml", boundary=args.boundary,
                            bbox=args.bbox, progress=silent if args.quiet else stderr_progress())
    except EvplanError as exc:  # in the flags' spelling: "raise --time-limit-s", not "time_limit_s"
        print(f"evplan: error: {spell_options(str(exc), 'cli')}", file=sys.stderr)
        return 2
    if args.json:
        print(to_json(done.summary))
        return 0
    print(summary_table(done.result))
    shares = done.series.ne_bus_share_by_year()
    shares_txt = ", ".join(f"{y}: {100 * s:.1f} %" for y, s in sorted(shares.items()) if s is not None)
    print(f"NE bus share (stock, 31 Dec): {shares_txt}")
    print(f"outputs written to {args.out}/")
    return 0
