"""What the CLI's subcommands share: JSON printing and writing, loading the network the options name."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from planner import network as net
from planner._io import write_text_atomic


def to_json(obj: Any) -> str:
    """Pretty JSON with Chinese names kept readable (not \\u-escaped)."""
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


def write_json(obj: Any, path: Path) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically."""
    return write_text_atomic(path, to_json(obj) + "\n")


def load_network_from_args(args: argparse.Namespace) -> net.RoadNetwork:
    """The road network named by ``--osm``, clipped by ``--boundary`` / ``--bbox``."""
    return net.load_network(args.osm, boundary=args.boundary, bbox=args.bbox)
