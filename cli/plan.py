"""``evplan plan``: parse the scenario flags, run the main job (``planner.pipeline``), print a summary."""

from __future__ import annotations

import argparse
import sys

from cli._common import to_json
from cli.scenario import error_text
from planner import config
from planner.errors import EvplanError
from planner.progress import silent, stderr_progress
from planner.siting.scenario import Scenario


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The plan scenario of ``--scenario FILE`` and the flags over it; ``ScenarioError`` names the bad flag, or
    the file, section and key."""
    from cli.scenario import scenario_from_args as from_file_and_flags

    return from_file_and_flags(args)


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
        given = list(getattr(args, "existing_chargers", None) or [])
        files = [f for f in given if f.strip().lower() != "none"]
        done = run_main_job(args.osm, fleet_dir, scenario, args.out,
                            default_targets=config.TARGETS_FILE, boundary=args.boundary,
                            bbox=args.bbox, existing_files=files, shipped_existing=len(files) == len(given),
                            traffic_counts=args.traffic_counts, od_table=args.od_table,
                            progress=silent if args.quiet else stderr_progress())
    except EvplanError as exc:  # in the flags' spelling: "raise --time-limit-s", not "time_limit_s"
        print(f"evplan: error: {error_text(exc)}", file=sys.stderr)
        return 2
    if not args.quiet:
        _report_existing(done.summary["existing_chargers"])
        _report_traffic(done.summary.get("traffic") or {})
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


def _report_existing(report: dict) -> None:
    """What the existing-charger records gave, on stderr: one line, then each unmatched or quarantined record."""
    if not report["records"] and not report["quarantined"]:
        return
    print(f"evplan: existing chargers: {report['records']} record(s) from {', '.join(report['files'])}; "
          f"{report['operational_chargers_attached']} operational and {report['planned_chargers_attached']} planned "
          f"charger(s) attached to {len({a['site_id'] for a in report['attached']})} site(s); "
          f"{len(report['unmatched'])} unmatched (see summary.json, existing_chargers)", file=sys.stderr)
    for u in report["unmatched"]:
        print(f"evplan: warning: existing charger {u['name']} ({u['source']}) matches no site: {u['reason']}",
              file=sys.stderr)
    for q in report["quarantined"]:
        print(f"evplan: warning: existing charger record not used: {q}", file=sys.stderr)


def _report_traffic(report: dict) -> None:
    """How the corridor traffic was made, on stderr: basis, calibration fit, each quarantined row."""
    if not report:
        return
    line = f"evplan: corridor traffic: {report['basis']}, {report['flows']} routed flows"
    cal = report.get("calibration")
    if cal:
        line += (f"; calibrated to {cal['counts']} count(s), largest error {100 * cal['max_relative_error']:.1f} %"
                 + ("" if cal["converged"] else " (did not converge)"))
    print(line, file=sys.stderr)
    for q in report.get("quarantined", []):
        print(f"evplan: warning: traffic record not used: {q}", file=sys.stderr)
