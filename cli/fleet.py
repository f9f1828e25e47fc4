"""``evplan fleet ingest|indicators|targets|report``: keep the fleet records and report on the targets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli._common import to_json
from planner.progress import silent, stderr_progress


def run_fleet_command(args: argparse.Namespace, *, data_dir: Path) -> int:
    """``evplan fleet ingest|indicators|targets|report``."""
    from planner import fleet, fleet_store, targets

    if args.fleet_command == "ingest":
        db = args.db or data_dir / "evplan.sqlite"
        report = fleet_store.ingest_file(db, args.file, fleet_dir=args.fleet_dir,
                                         progress=silent if args.quiet else stderr_progress())
        print(to_json(report.to_dict()) if args.json else report.describe())
        return 0
    if args.db:  # vehicles from the store; activity, depots and emission factors from --fleet-dir
        records = fleet_store.load_records(args.db, fleet_dir=args.fleet_dir)
    else:
        records = fleet.load_records(args.fleet_dir)
    if args.fleet_command == "indicators":
        result = fleet.indicators(records.vehicles, records.activity, year=args.year, county=args.county)
        print(to_json(result) if args.json else _text_indicators(result))
        return 0
    if args.fleet_command == "targets":
        assessed = targets.assess_targets(records, year=args.year, targets=targets.targets_for(args.fleet_dir))
        print(to_json(assessed) if args.json else targets.describe(assessed))
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
