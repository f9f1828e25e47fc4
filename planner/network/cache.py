"""The on-disk cache of processed networks: one directory of ``.npy`` arrays per source file and options.

Reading and processing a large extract takes far longer than mapping the result, so ``load_network``
keys each processed network by what it was made from and writes it atomically (a directory renamed
into place); a warm load memory-maps the arrays (``np.load(mmap_mode="r")``) and reads one JSON file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planner.network.arrays import RoadArrays
from planner.network.types import (
    Place,
    Poi,
    RoadNetwork,
    ServiceAreaSide,
    UnattachedFeature,
    UnsnappedServiceArea,
)

logger = logging.getLogger(__name__)

#: Files larger than this are keyed by size, mtime and their first and last ``_HASH_PART`` bytes
#: instead of a hash of every byte (hashing a 10 GB country file would cost more than it saves).
FULL_HASH_MAX_BYTES = 512 * 2**20
_HASH_PART = 16 * 2**20
#: Bump when the processing changes, so that stale caches are rebuilt.
CACHE_VERSION = 3


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes; for files over ``FULL_HASH_MAX_BYTES``, of its size, mtime and ends."""
    stat = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        if stat.st_size <= FULL_HASH_MAX_BYTES:
            for chunk in iter(lambda: fh.read(2**20), b""):
                h.update(chunk)
        else:
            h.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            h.update(fh.read(_HASH_PART))
            fh.seek(-_HASH_PART, os.SEEK_END)
            h.update(fh.read(_HASH_PART))
    return h.hexdigest()


def cache_key(path: Path, clip: BaseGeometry | None, *, max_snap_km: float, max_attach_km: float,
              speeds: Mapping[str, float], counties: Path | None) -> str:
    """The cache entry's name: a hash of the file's content, the clip and every load option."""
    parts = {
        "version": CACHE_VERSION,
        "file": file_digest(path),
        "clip": None if clip is None else hashlib.sha256(shapely.to_wkb(shapely.normalize(clip))).hexdigest(),
        "max_snap_km": float(max_snap_km),
        "max_attach_km": float(max_attach_km),
        "speeds": sorted(speeds.items()),
        "counties": None if counties is None else file_digest(counties),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def read_cache(cache_dir: Path) -> RoadNetwork | None:
    """The cached network (arrays memory-mapped), or None when missing, damaged or of another version."""
    meta_file = cache_dir / "network.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION:
            return None
        arrays = {name: np.load(cache_dir / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in RoadArrays.ARRAY_FIELDS}
        road = RoadArrays(**arrays, strings=list(meta["strings"]), graph_attrs=meta["graph_attrs"])
        if len(road.u) != meta["edges"] or len(road.node_id) != meta["nodes"]:
            raise ValueError("array lengths differ from the recorded counts")
        return RoadNetwork(
            arrays=road,
            service_areas=tuple(ServiceAreaSide(**d) for d in meta["service_areas"]),
            unsnapped_service_areas=tuple(UnsnappedServiceArea(**d) for d in meta["unsnapped_service_areas"]),
            pois=tuple(Poi(**d) for d in meta["pois"]),
            places=tuple(Place(**d) for d in meta["places"]),
            source=str(meta["source"]),
            unattached=tuple(UnattachedFeature(**d) for d in meta["unattached"]),
        )
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign cache entry is rebuilt, never trusted
        logger.warning("ignoring unreadable network cache %s: %s", cache_dir, exc)
        return None


def write_cache(cache_dir: Path, network: RoadNetwork) -> None:
    """Write the arrays and a JSON of the rest into a temporary directory, then rename it into place."""
    road = network.arrays
    tmp = cache_dir.with_name(f"{cache_dir.name}.{os.getpid()}.tmp")
    try:
        cache_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in RoadArrays.ARRAY_FIELDS:
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(road, name)), allow_pickle=False)
        meta: dict[str, Any] = {
            "version": CACHE_VERSION,
            "nodes": road.n_nodes,
            "edges": road.n_edges,
            "strings": road.strings,
            "graph_attrs": road.graph_attrs,
            "source": network.source,
            "service_areas": [dataclasses.asdict(x) for x in network.service_areas],
            "unsnapped_service_areas": [dataclasses.asdict(x) for x in network.unsnapped_service_areas],
            "pois": [dataclasses.asdict(x) for x in network.pois],
            "places": [dataclasses.asdict(x) for x in network.places],
            "unattached": [dataclasses.asdict(x) for x in network.unattached],
        }
        (tmp / "network.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if cache_dir.exists():
            shutil.rmtree(cache_dir, ignore_errors=True)
        tmp.rename(cache_dir)
    except OSError as exc:
        logger.warning("could not write the network cache %s: %s", cache_dir, exc)
        shutil.rmtree(tmp, ignore_errors=True)
