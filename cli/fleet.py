"""``evplan fleet ingest|indicators|targets|report``: keep the fleet records and report on the targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli._common import to_json
from planner import config
from planner.fleet import FleetRecords, Indicators
from planner.progress import silent, stderr_progress


def run_fleet_command(args: argparse.Namespace, *, data_dir: Path) -> int:
    """``evplan fleet ingest|indicators|targets|report``."""
    from planner import fleet
    from planner.fleet import store

    if args.fleet_command == "ingest":
        db = args.db or data_dir / "evplan.sqlite"
        report = store.ingest_file(db, args.file, fleet_dir=args.fleet_dir,
                                   progress=silent if args.quiet else stderr_progress())
        print(to_json(report.to_dict()) if args.json else report.describe())
        if not report.already_ingested and report.rows and report.quarantined == report.rows and report.added == 0:
            print(f"evplan fleet ingest: error: every one of the {report.rows} rows of {report.file} was "
                  "quarantined; nothing was added", file=sys.stderr)
            return 1
        return 0
    if args.db:  # vehicles from the store; activity, depots and emission factors from --fleet-dir
        records = store.load_records(args.db, fleet_dir=args.fleet_dir)
    else:
        records = fleet.load_records(args.fleet_dir)
    targets = fleet.targets_for(args.fleet_dir, default=config.TARGETS_FILE)
    if args.fleet_command in ("indicators", "targets", "report") and args.year is not None:
        refused = _year_outside_records(records, args.year)
        if refused:
            print(f"evplan fleet {args.fleet_command}: error: {refused}", file=sys.stderr)
            return 2
    if args.fleet_command == "indicators":
        result = fleet.indicators(records.vehicles, records.activity, year=args.year, county=args.county)
        print(to_json(result.to_dict()) if args.json else _text_indicators(result))
        return 0
    if args.fleet_command == "targets":
        assessed = fleet.assess_targets(records, year=args.year, targets=targets)
        print(to_json([a.to_dict() for a in assessed]) if args.json else fleet.describe(assessed))
        return 0
    from planner.fleet.report import write_report

    summary = fleet.load_plan_summary(args.plan_summary) if args.plan_summary else None
    paths = write_report(records, out_dir=args.out, targets=targets, lang=args.lang, plan_summary=summary,
                         year=args.year, other_language=True, pdf=args.pdf)
    for p in paths:
        print(f"wrote {p}")
    return 0


def _year_outside_records(records: FleetRecords, year: int) -> str | None:
    """Why ``--year`` is refused (a year the records do not span), or None."""
    from planner.fleet import record_years

    years = record_years(records)
    if not years:
        return "the fleet records hold no vehicles"
    if not years[0] <= year <= years[-1]:
        return f"--year {year} is outside the records, which span {years[0]}-{years[-1]}"
    return None


def _text_indicators(result: Indicators) -> str:
    lines = []
    for key, value in result.to_dict().items():
        if isinstance(value, float):
            lines.append(f"{key}: {value:.4f}")
        elif not isinstance(value, (dict, list)):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
