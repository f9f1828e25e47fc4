"""The ``evplan`` command line: plan, network, fleet, sweep, province, traffic, scenario, serve.

Each subcommand is a thin shell over ``planner`` functions; errors a planner can act on are printed
without a traceback and end with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cli.scenario import add_scenario_file_flag, add_scenario_flags, add_traffic_input_flags
from planner import __version__, config
from planner.errors import EvplanError
from planner.geo import parse_bbox

EPILOG = "Shipped data: the Shanwei network in data/osm/ and synthetic fleet records in data/fleet/ (see their READMEs)."


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults and keeps the descriptions' line breaks."""


def _add_common_network(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--osm",
        type=Path,
        default=config.SHANWEI_OSM,
        metavar="FILE",
        help="OSM extract to load (.osm, .osm.bz2 or .osm.pbf)",
    )
    p.add_argument(
        "--boundary",
        default=None,
        metavar="CODE|FILE",
        help="clip to an admin code (e.g. 441500, 441521) or a GeoJSON polygon file; default: no clip",
    )
    p.add_argument(
        "--bbox",
        type=_bbox,
        default=None,
        metavar="W,S,E,N",
        help="clip to a WGS84 bounding box: west,south,east,north in degrees",
    )


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        return parse_bbox(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree, with help texts that state units and defaults."""
    parser = argparse.ArgumentParser(
        prog="evplan",
        description="evplan: site fast chargers on an OpenStreetMap road graph and track new-energy fleet shares.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"evplan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # plan -------------------------------------------------------------------------------------
    p = sub.add_parser(
        "plan",
        help="the main job: site and size fast chargers, write maps and the fleet report",
        description=(
            "Site and size fast chargers for every stage: a station at every active expressway service-area\n"
            "side, no motorway stretch longer than the range margin without a charger, every town within the\n"
            "drive-time threshold of a public charger, depot chargers for e-bus and e-taxi fleets.\n"
            "Writes to --out: service_areas.geojson, sites.geojson, coverage.geojson, summary.json,\n"
            "fleet_indicators.json and report.html/.json/.csv (fleet-share report), then prints a summary.\n"
            "The scenario options below are the same, by name, unit, default and range, as the fields of\n"
            "the API's POST /api/v1/siting/runs body (with underscores); the assumptions (--demand.ev-stop-share)\n"
            "are its nested objects and the sections of a --scenario file (evplan scenario show --toml).\n"
            "A flag overrides the file, the file the default."
        ),
        formatter_class=_Formatter,
    )
    _add_common_network(p)
    p.add_argument("--fleet-dir", type=Path, default=None, metavar="DIR",
                   help="fleet records to read (depots, EV trend, the fleet report); default: the shipped records "
                        "for the shipped network, none for any other --osm")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output directory")
    p.add_argument("--existing-chargers", action="append", default=[], metavar="FILE",
                   help="existing chargers (CSV, OSM or a directory of CSVs), added to the shipped file for the "
                        "shipped network and the extract's own charging stations; 'none' drops the shipped file "
                        "(repeat the flag for several files)")
    add_traffic_input_flags(p)
    add_scenario_file_flag(p, "the flags below override it")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    add_scenario_flags(p)

    # network ----------------------------------------------------------------------------------
    p = sub.add_parser("network", help="inspect, export or import a road network",
                       description="Inspect, export or import an OpenStreetMap road network.",
                       formatter_class=_Formatter)
    nsub = p.add_subparsers(dest="network_command", required=True, metavar="ACTION")
    q = nsub.add_parser("info", help="counts: nodes, edges, km by class, service areas, components",
                        description="Print counts of the network: nodes, edges, km by road class, service areas,\n"
                                    "places, candidate points and connected components.",
                        formatter_class=_Formatter)
    _add_common_network(q)
    q.add_argument("--json", action="store_true", help="print JSON")
    q = nsub.add_parser("export", help="write roads.geojson and service_areas.geojson",
                        description="Write roads.geojson (one LineString per directed edge, with its highway class)\n"
                                    "and service_areas.geojson (one Point per carriageway side) in WGS84.",
                        formatter_class=_Formatter)
    _add_common_network(q)
    q.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output directory")
    q = nsub.add_parser("import", help="turn a real OSM extract into the shipped network file",
                        description="Clip a real OSM extract (e.g. the Guangdong .osm.pbf published by OSM mirrors)\n"
                                    "to a boundary and write it as the OSM XML file evplan ships and loads.",
                        formatter_class=_Formatter)
    q.add_argument("file", type=Path, help="OSM extract (.osm, .osm.bz2 or .osm.pbf)")
    q.add_argument("--boundary", required=True, metavar="CODE|FILE",
                   help="admin code (e.g. 441500) or GeoJSON polygon file to clip to")
    q.add_argument("--out", type=Path, default=config.SHANWEI_OSM, metavar="FILE", help="OSM XML file to write")
    q = nsub.add_parser("fetch", help="download a place's roads from OpenStreetMap (needs internet)",
                        description="Download the drivable roads, service areas, junctions, fuel stations, car parks\n"
                                    "and places of a named place from OpenStreetMap (osmnx, Overpass API) and write\n"
                                    "them as an OSM XML file that every evplan command loads with --osm.",
                        formatter_class=_Formatter)
    q.add_argument("place", help='place name as Nominatim knows it, e.g. "Shanwei, Guangdong, China"')
    q.add_argument("--out", type=Path, required=True, metavar="FILE", help="OSM XML file to write")

    # fleet ------------------------------------------------------------------------------------
    p = sub.add_parser("fleet", help="fleet records: ingest, indicators, targets, report",
                       description="Keep the fleet records and report on the new-energy targets.",
                       formatter_class=_Formatter)
    fsub = p.add_subparsers(dest="fleet_command", required=True, metavar="ACTION")
    q = fsub.add_parser("ingest", help="validate a vehicle file and store its good rows",
                        description="Validate a vehicle records file (CSV, CSV.GZ or Parquet; UTF-8, UTF-8 with BOM or\n"
                                    "GBK) and store its good rows; bad rows are quarantined and listed.",
                        formatter_class=_Formatter)
    q.add_argument("file", type=Path, help="vehicle records file")
    q.add_argument("--db", type=Path, default=None, metavar="FILE",
                   help="SQLite store (default: $EVPLAN_DATA_DIR/evplan.sqlite, EVPLAN_DATA_DIR defaults to ./var)")
    q.add_argument("--fleet-dir", type=Path, default=config.FLEET_DIR, metavar="DIR",
                   help="records directory whose counties.csv and depots.csv the rows are checked against")
    q.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    q.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    q = fsub.add_parser("indicators", help="NE shares and CO2 intensity for one year",
                        description="Indicators for one year: NE bus and taxi stock shares, NE/clean share of new\n"
                                    "vehicles, EV share of new passenger cars, operating CO2 per converted turnover.\n"
                                    "Shares are fractions between 0 and 1.",
                        formatter_class=_Formatter)
    _add_fleet_source(q)
    q.add_argument("--year", type=int, required=True, help="calendar year (stock on 31 Dec)")
    q.add_argument("--county", default=None, metavar="CODE", help="6-digit county code (default: whole city)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q = fsub.add_parser("targets", help="status, projection and gap of each target",
                        description="Each target of the plan: status (met / on track / at risk / off track), the\n"
                                    "projection to its year and the vehicles per year that must switch.",
                        formatter_class=_Formatter)
    _add_fleet_source(q)
    q.add_argument("--year", type=int, default=None, help="assessment year (default: latest year in the records)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q = fsub.add_parser("report", help="write the fleet-share report (HTML, JSON, CSV)",
                        description="Write the fleet-share report: report.html (in --lang) with every target of\n"
                                    "clauses 21-22, charts, a table per county, levers and the data quality, the same\n"
                                    "page in the other language beside it (report.en.html or report.zh.html), and the\n"
                                    "figures as JSON and CSV.",
                        formatter_class=_Formatter)
    _add_fleet_source(q)
    q.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output directory")
    q.add_argument("--lang", choices=("zh", "en"), default=None,
                   help="language of report.html (default: zh for a Chinese city in targets.toml)")
    q.add_argument("--plan-summary", type=Path, default=None, metavar="FILE",
                   help="summary.json of a plan (evplan plan) for clause 22 and EVs per charger; "
                        "without it clause 22 reads 'not assessed'")
    q.add_argument("--year", type=int, default=None, help="assessment year (default: the records' cut-off)")
    q.add_argument("--pdf", action="store_true",
                   help="also print each page to A4 PDF with headless Chromium (report.pdf, report.en.pdf), fitted so "
                        "that no page is more than half blank (needs chromium on the PATH and pypdf)")

    # sweep, province, scenario ------------------------------------------------------------------
    from cli.province import add_province_parser
    from cli.scenario import add_scenario_parser
    from cli.sweep import add_sweep_parser
    from cli.traffic import add_traffic_parser

    add_sweep_parser(sub, _add_common_network, _Formatter)
    add_traffic_parser(sub, _add_common_network, _Formatter)
    add_province_parser(sub, _Formatter)
    add_scenario_parser(sub, _Formatter)

    # serve ------------------------------------------------------------------------------------
    p = sub.add_parser("serve", help="run the HTTP API and map page",
                       description="Serve the API (/api/v1, docs at /docs) and the map page (/).\n"
                                   "Settings come from EVPLAN_* environment variables (EVPLAN_DATA_DIR, EVPLAN_API_KEYS …).",
                       formatter_class=_Formatter)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    return parser


def _add_fleet_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fleet-dir", type=Path, default=config.FLEET_DIR, metavar="DIR",
                   help="fleet records directory (vehicles, activity, depots)")
    p.add_argument("--db", type=Path, default=None, metavar="FILE",
                   help="read the records from this SQLite store instead of --fleet-dir")


def _data_dir() -> Path:
    return Path(os.environ.get("EVPLAN_DATA_DIR", "var"))


def _check_service_settings() -> None:
    """Refuse to start on bad EVPLAN_* settings or an unusable data directory, with one clear line.

    Found at start-up by the app instead, they would end in a traceback from the ASGI lifespan.
    """
    from pydantic import ValidationError

    from app.core.config import Settings
    from app.store import Store, data_dir_lock

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"EVPLAN_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise EvplanError(f"invalid service settings: {problems}") from None
    Store(settings.database_path)  # StorageError when the data directory or database cannot be used
    with data_dir_lock(settings.data_dir):  # StorageError when another server holds the directory
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "plan":
            from cli.plan import run_plan_command

            return run_plan_command(args)
        if args.command == "network":
            from cli.network import run_network_command

            return run_network_command(args)
        if args.command == "fleet":
            from cli.fleet import run_fleet_command

            return run_fleet_command(args, data_dir=_data_dir())
        if args.command == "sweep":
            from cli.sweep import run_sweep_command

            return run_sweep_command(args)
        if args.command == "province":
            from cli.province import run_province_command

            return run_province_command(args)
        if args.command == "traffic":
            from cli.traffic import run_traffic_command

            return run_traffic_command(args)
        if args.command == "scenario":
            from cli.scenario import run_scenario_command

            return run_scenario_command(args)
        if args.command == "serve":
            import uvicorn

            _check_service_settings()
            uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port)
            return 0
    except EvplanError as exc:
        print(f"evplan: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): nothing more to say
        sys.stderr.close()
        return 0
    except OSError as exc:  # an output or data directory that cannot be created or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"evplan: error: {where}{exc.strerror or exc} (check the path and that it is writable)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evplan: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
