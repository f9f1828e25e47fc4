"""``evplan plan``: the main job on one network and one set of fleet records, as files and a summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli._common import to_json, write_json
from planner.geo import write_geojson
from planner.progress import silent, stderr_progress


def scenario_from_args(args: argparse.Namespace) -> Any:
    """The plan scenario the command-line options describe."""
    from planner.siting.plan import scenario_from_options

    return scenario_from_options(
        stage_years=args.stages,
        range_margin_km=args.range_margin_km,
        drive_time_min=args.drive_time_min,
        town_coverage_from=args.town_coverage_from,
        budget_cny=args.budget_cny,
        candidate_kinds=[k.strip() for k in args.candidates.split(",") if k.strip()],
        power_kw=args.power_kw,
        high_power_kw=args.high_power_kw,
        min_chargers=args.min_chargers,
        max_wait_probability=args.max_wait_probability,
        solver=args.solver,
        time_limit_s=args.time_limit_s,
        mip_gap=args.mip_gap,
    )


def run_plan_command(args: argparse.Namespace) -> int:
    """``evplan plan``: the main job on one network and one set of fleet records."""
    from planner import fleet, targets
    from planner.pipeline import plan_from_files
    from planner.report import write_report
    from planner.siting.outputs import summary_table

    try:
        scenario = scenario_from_args(args)
    except ValueError as exc:
        print(f"evplan plan: error: {exc}", file=sys.stderr)
        return 2
    progress = silent if args.quiet else stderr_progress()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    done = plan_from_files(args.osm, args.fleet_dir, scenario, boundary=args.boundary, bbox=args.bbox,
                           progress=progress)
    records = done.records
    write_geojson(done.service_areas, out / "service_areas.geojson")
    write_geojson(done.sites, out / "sites.geojson")
    write_geojson(done.coverage, out / "coverage.geojson")
    write_json(done.summary, out / "summary.json")
    years = fleet.record_years(records)
    series = fleet.indicator_series(records.vehicles, records.activity, years=list(range(years[0], years[-1] + 1)))
    write_json(json.loads(series.to_json(orient="records")), out / "fleet_indicators.json")
    write_report(records, out_dir=out, targets=targets.targets_for(args.fleet_dir))
    if args.json:
        print(to_json(done.summary))
        return 0
    print(summary_table(done.result))
    ne_bus = fleet.ne_bus_share_by_year(records.vehicles)
    shares_txt = ", ".join(f"{y}: {100 * s:.1f} %" for y, s in sorted(ne_bus.items()) if s is not None)
    print(f"NE bus share (stock, 31 Dec): {shares_txt}")
    print(f"outputs written to {out}/")
    return 0


