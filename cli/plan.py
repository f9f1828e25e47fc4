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

    fleet_dir = args.fleet_dir if args.fleet_dir is not None else config.shipped_fleet_dir(args.osm)
    if fleet_dir is None and not args.quiet:
        print(f"evplan: note: no --fleet-dir for {args.osm}: planning without fleet records (no depots, the "
              "scenario's assumed EV shares, no fleet report); the shipped records are for the shipped network only",
              file=sys.stderr)
    try:
        scenario = scenario_from_args(args)
        done = run_main_job(args.osm, fleet_dir, scenario, args.out,
                            default_targets=config.TARGETS_FILE, boundary=args.boundary,
                            bbox=args.bbox, progress=silent if args.quiet else stderr_progress())
    except EvplanError as exc:  # in the flags' spelling: "raise --time-limit-s", not "time_limit_s"
        print(f"evplan: error: {spell_options(str(exc), 'cli')}", file=sys.stderr)
        return 2
    for depot in done.result.unsited_depots:
        print(f"evplan: warning: depot {depot.name} ({depot.depot_id}) not sited: {depot.reason}", file=sys.stderr)
    if done.result.unsited_depots and not any(s.candidate.kind == "depot" for s in done.result.sites):
        print(f"evplan: warning: no depot of {fleet_dir} lies on this network: are these records of another city?",
              file=sys.stderr)
    if args.json:
        print(to_json(done.summary))
        return 0
    print(summary_table(done.result))
    if done.series is not None:
        shares = done.series.ne_bus_share_by_year()
        shares_txt = ", ".join(f"{y}: {100 * s:.1f} %" for y, s in sorted(shares.items()) if s is not None)
        print(f"NE bus share (stock, 31 Dec): {shares_txt}")
    print(f"outputs written to {args.out}/")
    return 0
