"""``evplan sweep``: the product of comma-separated scenario flags, one Dask task per point; table and page.

The flags are those of ``evplan plan`` (``cli.scenario.add_scenario_flags``: the flat options and the
assumptions, ``--demand.ev-stop-share``), each taking a list; a flag not given takes its value from
``--scenario FILE``, else the default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.scenario import (
    add_scenario_file_flag,
    add_scenario_flags,
    error_text,
    file_values,
    given_texts,
)
from planner.errors import EvplanError
from planner.siting.scenario import spell_options

#: Exit code when the sweep finished but some points failed (each is reported with its reason).
EXIT_SOME_POINTS_FAILED = 3


def add_cluster_flags(p: argparse.ArgumentParser) -> None:
    """``--scheduler`` and ``--workers``: where the Dask tasks run."""
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler to run the tasks on (its workers need evplan and the data "
                        "at the same paths); default: a local cluster")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local cluster (one thread each); default: one per core")


def add_sweep_parser(sub: Any, add_network: Callable[[argparse.ArgumentParser], None], formatter: type) -> None:
    """Register ``evplan sweep``."""
    p = sub.add_parser(
        "sweep",
        help="a grid of scenarios (comma-separated flag values), one plan per point on Dask; table and page",
        description=(
            "Plan every combination of the given flag values (their product), each point as a Dask task that\n"
            "runs the same job as `evplan plan` and writes its files to --out/points/<key>/. A re-run reuses\n"
            "finished points (the key is a hash of the scenario and the input files). A failed point is\n"
            "reported with its reason and the others go on. Writes sweep.csv, sweep.json and sweep.html\n"
            "(trade-off curves, points not proven optimal marked) to --out. Example:\n"
            "  evplan sweep --budget-cny 60e6,80e6,100e6 --range-margin-km 40,50,60 --out sweep/\n"
            "Assumptions sweep the same way: --demand.ev-stop-share 0.1,0.2 (tables: separated by ';').\n"
            f"Exit code {EXIT_SOME_POINTS_FAILED} when some points failed."
        ),
        formatter_class=formatter,
    )
    add_network(p)
    p.add_argument("--fleet-dir", type=Path, default=None, metavar="DIR",
                   help="fleet records (default: the shipped records for the shipped network, none otherwise)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    add_scenario_file_flag(p, "the base of every point")
    add_cluster_flags(p)
    p.add_argument("--max-points", type=int, default=None, metavar="N",
                   help="refuse grids with more points (default 256)")
    p.add_argument("--json", action="store_true", help="print the table as JSON instead of a summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_scenario_flags(p, lists=True)


def base_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The base scenario: ``--scenario FILE``'s values (checked), else nothing (the defaults)."""
    return dict(file_values(args))


def _point_text(row: dict[str, Any], axes: list[str]) -> str:
    from planner.sweep.table import scenario_value, value_text

    return " ".join(f"{a}={value_text(a, scenario_value(row, a))}" for a in axes) or row["key"]


def run_sweep_command(args: argparse.Namespace) -> int:
    """``evplan sweep``."""
    from cli._common import to_json
    from planner import config
    from planner.sweep import (
        MAX_POINTS,
        SweepEvent,
        SweepInputs,
        axes,
        grid_from_text,
        run_sweep,
    )

    try:
        grid = grid_from_text(given_texts(args), "cli")
        base = base_from_args(args)
        if args.scheduler and args.workers:
            raise EvplanError("--workers applies to the local cluster only; an existing --scheduler has its own")
        fleet_dir = args.fleet_dir if args.fleet_dir is not None else config.shipped_fleet_dir(args.osm)
        swept = axes(grid)

        def progress(event: SweepEvent) -> None:
            if args.quiet:
                return
            r = event.row
            if r["status"] == "succeeded":
                what = ("reused" if r.get("reused") else f"done in {r.get('seconds') or 0:.1f} s") + \
                       f", {r.get('solver_status')}"
            else:
                what = f"FAILED: {spell_options(r.get('error') or '', 'cli')}"
            print(f"[{event.done:>{len(str(event.total))}}/{event.total}] {_point_text(r, swept)}: {what}",
                  file=sys.stderr, flush=True)

        result = run_sweep(grid, args.out, SweepInputs(
            osm_path=str(args.osm), fleet_dir=None if fleet_dir is None else str(fleet_dir),
            boundary=None if args.boundary is None else str(args.boundary), bbox=args.bbox),
            base=base, scheduler=args.scheduler, workers=args.workers,
            max_points=args.max_points or MAX_POINTS, progress=progress)
    except EvplanError as exc:
        print(f"evplan: error: {error_text(exc)}", file=sys.stderr)
        return 2
    if args.json:
        print(to_json(result.to_json()))
    else:
        ok = len(result.rows) - len(result.failed)
        print(f"{len(result.rows)} points ({ok} succeeded, {len(result.failed)} failed) in {result.seconds:.1f} s "
              f"on {result.cluster}")
        print(f"table: {args.out / 'sweep.csv'}, {args.out / 'sweep.json'}; page: {args.out / 'sweep.html'}")
    for r in result.failed:
        print(f"evplan: warning: point {_point_text(r, swept)} failed: {spell_options(r.get('error') or '', 'cli')}",
              file=sys.stderr)
    return EXIT_SOME_POINTS_FAILED if result.failed else 0
