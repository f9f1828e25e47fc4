"""What each CLI subcommand does: load inputs, call the library, write outputs, print a summary.

This is the command line's edge: files in, files out. The computing stays in the library modules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from planner import network as net
from planner._io import write_text_atomic
from planner.geo import write_geojson
from planner.progress import silent, stderr_progress


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


def _write_json(obj: Any, path: Path) -> Path:
    return write_text_atomic(path, _json(obj) + "\n")


def _load_network(args: argparse.Namespace) -> net.RoadNetwork:
    return net.load_network(args.osm, boundary=args.boundary, bbox=args.bbox)


# ------------------------------------------------------------------------------------------------ plan


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
    _write_json(done.summary, out / "summary.json")
    years = fleet.record_years(records)
    series = fleet.indicator_series(records.vehicles, records.activity, years=list(range(years[0], years[-1] + 1)))
    _write_json(json.loads(series.to_json(orient="records")), out / "fleet_indicators.json")
    write_report(records, out_dir=out, targets=targets.targets_for(args.fleet_dir))
    if args.json:
        print(_json(done.summary))
        return 0
    print(summary_table(done.result))
    ne_bus = fleet.ne_bus_share_by_year(records.vehicles)
    shares_txt = ", ".join(f"{y}: {100 * s:.1f} %" for y, s in sorted(ne_bus.items()) if s is not None)
    print(f"NE bus share (stock, 31 Dec): {shares_txt}")
    print(f"outputs written to {out}/")
    return 0


# --------------------------------------------------------------------------------------------- network


def run_network_command(args: argparse.Namespace) -> int:
    """``evplan network info|export|import``."""
    if args.network_command == "import":
        path = net.import_extract(args.file, boundary=args.boundary, out_path=args.out)
        print(f"wrote {path}")
        return 0
    if args.network_command == "fetch":
        print(f"wrote {net.fetch_place(args.place, out_path=args.out)}")
        return 0
    network = _load_network(args)
    if args.network_command == "info":
        info = net.network_info(network)
        if args.json:
            print(_json(info))
        else:
            _print_info(info)
        return 0
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    roads = write_geojson(net.roads_geojson(network.graph), out / "roads.geojson")
    sas = write_geojson(net.service_areas_geojson(network), out / "service_areas.geojson")
    print(f"wrote {roads} and {sas}")
    for u in network.unsnapped_service_areas:
        print(f"warning: service area {u.name} ({u.osm_id}) not snapped: {u.reason}", file=sys.stderr)
    return 0


def _print_info(info: dict[str, Any]) -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v:.1f}" if isinstance(v, float) else f"  {k}: {v}")
        else:
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


# ----------------------------------------------------------------------------------------------- fleet


def run_fleet_command(args: argparse.Namespace, *, data_dir: Path) -> int:
    """``evplan fleet ingest|indicators|targets|report``."""
    from planner import fleet, fleet_store, targets

    if args.fleet_command == "ingest":
        db = args.db or data_dir / "evplan.sqlite"
        report = fleet_store.ingest_file(db, args.file, fleet_dir=args.fleet_dir,
                                         progress=silent if args.quiet else stderr_progress())
        print(_json(report.to_dict()) if args.json else report.describe())
        return 0
    if args.db:  # vehicles from the store; activity, depots and emission factors from --fleet-dir
        records = fleet_store.load_records(args.db, fleet_dir=args.fleet_dir)
    else:
        records = fleet.load_records(args.fleet_dir)
    if args.fleet_command == "indicators":
        result = fleet.indicators(records.vehicles, records.activity, year=args.year, county=args.county)
        print(_json(result) if args.json else _text_indicators(result))
        return 0
    if args.fleet_command == "targets":
        assessed = targets.assess_targets(records, year=args.year, targets=targets.targets_for(args.fleet_dir))
        print(_json(assessed) if args.json else targets.describe(assessed))
        return 0
    from planner.report import write_report

    paths = write_report(records, out_dir=args.out, targets=targets.targets_for(args.fleet_dir))
    for p in paths:
        print(f"wrote {p}")
    return 0


def _text_indicators(result: dict[str, Any]) -> str:
    lines = []
    for key, value in result.items():
        if isinstance(value, float):
            lines.append(f"{key}: {value:.4f}")
        elif not isinstance(value, (dict, list)):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
