"""The on-disk cache of processed networks: a pickle per source file's content and load options.

Loading and simplifying a large extract takes far longer than unpickling the result, so
``load_network`` keys each processed network by what it was made from and writes it atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry

from planner.network.types import RoadNetwork

logger = logging.getLogger(__name__)

#: Files larger than this are keyed by size, mtime and their first and last ``_HASH_PART`` bytes
#: instead of a hash of every byte (hashing a 10 GB country file would cost more than it saves).
FULL_HASH_MAX_BYTES = 512 * 2**20
_HASH_PART = 16 * 2**20
#: Bump when the processing changes, so that stale caches are rebuilt.
CACHE_VERSION = 2


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


def read_cache(cache_file: Path) -> RoadNetwork | None:
    """The cached network, or None when the entry is missing, damaged or of another cache version."""
    if not cache_file.is_file():
        return None
    try:
        with cache_file.open("rb") as fh:
            payload = pickle.load(fh)
    except Exception as exc:  # a damaged or foreign cache file is rebuilt, never trusted
        logger.warning("ignoring unreadable network cache %s: %s", cache_file, exc)
        return None
    if not isinstance(payload, dict) or payload.get("version") != CACHE_VERSION:
        return None
    network = payload.get("network")
    return network if isinstance(network, RoadNetwork) else None


def write_cache(cache_file: Path, network: RoadNetwork) -> None:
    """Pickle the network next to its final name, then rename: readers never see half a file."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"version": CACHE_VERSION, "network": network}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache_file)
    except OSError as exc:
        logger.warning("could not write the network cache %s: %s", cache_file, exc)
