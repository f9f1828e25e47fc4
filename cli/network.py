"""``evplan network info|export|import|fetch``: inspect, export or import a road network."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli._common import load_network_from_args, to_json
from planner import network as net
from planner.geo import write_geojson


def run_network_command(args: argparse.Namespace) -> int:
    """``evplan network info|export|import``."""
    if args.network_command == "import":
        path = net.import_extract(args.file, boundary=args.boundary, out_path=args.out)
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
    return 0


def _print_info(info: dict[str, Any]) -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v:.1f}" if isinstance(v, float) else f"  {k}: {v}")
        else:
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


