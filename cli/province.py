"""``evplan province plan``: every city of a provincial extract as one Dask task, totals by city."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.scenario import error_text
from planner.errors import EvplanError


def add_province_parser(sub: Any, formatter: type) -> None:
    """Register ``evplan province plan``."""
    from cli.scenario import add_scenario_flags
    from cli.sweep import add_cluster_flags

    p = sub.add_parser("province", help="plan a provincial extract city by city on Dask",
                       description="Plan a province city by city.", formatter_class=formatter)
    psub = p.add_subparsers(dest="province_command", required=True, metavar="ACTION")
    q = psub.add_parser(
        "plan",
        help="one plan per city of --boundaries, as Dask tasks; province.csv/json with the totals",
        description=(
            "Read EXTRACT once, clip it to each city polygon of --boundaries (GeoJSON features with 'adcode'\n"
            "and 'name'; only level=city ones when levels are given; WGS84), and plan each city as one Dask\n"
            "task (the same job as `evplan plan`, without fleet records) into --out/cities/<adcode>/.\n"
            "Writes province.json and province.csv: per city capex per stage, chargers and sites, and the\n"
            "province total (the sum of the cities). Cities planned before with the same inputs are reused."
        ),
        formatter_class=formatter,
    )
    q.add_argument("extract", type=Path, help="provincial OSM extract (.osm, .osm.bz2 or .osm.pbf)")
    q.add_argument("--boundaries", type=Path, required=True, metavar="FILE", help="GeoJSON of city polygons")
    q.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    q.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                   help="TOML scenario file (evplan scenario show --toml writes one); the flags override it")
    add_cluster_flags(q)
    q.add_argument("--json", action="store_true", help="print province.json instead of a table")
    q.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_scenario_flags(q)


def run_province_command(args: argparse.Namespace) -> int:
    """``evplan province plan``."""
    from cli._common import to_json
    from cli.scenario import values_from_args
    from planner.province import plan_province

    try:
        values = values_from_args(args)  # the --scenario file with the flags over it

        def progress(done: int, total: int, row: dict[str, Any]) -> None:
            if not args.quiet:
                what = ("reused" if row.get("reused") else f"{row.get('seconds') or 0:.1f} s") \
                    if row["status"] == "succeeded" else f"FAILED: {row.get('error')}"
                print(f"[{done}/{total}] {row['code']} {row['name']}: {what}", file=sys.stderr, flush=True)

        result = plan_province(args.extract, args.boundaries, args.out, scenario=values, scheduler=args.scheduler,
                               workers=args.workers, progress=progress)
    except EvplanError as exc:
        print(f"evplan: error: {error_text(exc)}", file=sys.stderr)
        return 2
    if args.json:
        print(to_json(result.to_json()))
    else:
        print(f"{'code':<8} {'city':<16} {'capex M CNY':>12} {'chargers':>9} {'sites':>6}  status")
        for r in [*result.cities, result.total]:
            capex = "" if r.get("capex_cny") is None else f"{r['capex_cny'] / 1e6:,.2f}"
            status = r.get("status") or ("complete" if r.get("complete") else "incomplete")
            print(f"{r['code']:<8} {r['name'][:16]:<16} {capex:>12} {r.get('chargers') or 0:>9} "
                  f"{r.get('sites') or 0:>6}  {status}")
        print(f"outputs written to {args.out}/ (province.csv, province.json, cities/)")
    return 0 if result.total["complete"] else 3
