"""``evplan network info|export|import|fetch``: inspect, export or import a road network.

The terminal edge passes the city defaults: ``network import --boundary CODE`` looks the code up in
the shipped admin boundaries (``planner.config.SHANWEI_BOUNDARIES``), whatever file is imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli._common import load_network_from_args, to_json
from planner import config
from planner import network as net
from planner.geo import write_geojson


def run_network_command(args: argparse.Namespace) -> int:
    """``evplan network info|export|import|fetch``."""
    if args.network_command == "import":
        path = net.import_extract(args.file, boundary=args.boundary, out_path=args.out,
                                  admin_boundaries=config.SHANWEI_BOUNDARIES)
        print(f"wrote {path}")
        return 0
    if args.network_command == "fetch":
        print(f"wrote {net.fetch_place(args.place, out_path=args.out)}")
        return 0
    network = load_network_from_args(args)
    if args.network_command == "info":
        info = net.network_info(network)
        if args.json:
            print(to_json(info))
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
    for f in network.unattached:
        print(f"warning: {f.kind} {f.name} ({f.osm_id}) not attached: {f.reason}", file=sys.stderr)
    return 0


def _print_info(info: net.NetworkInfo) -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v:.1f}" if isinstance(v, float) else f"  {k}: {v}")
        else:
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


