"""Shared fixtures: the shipped Shanwei network and fleet records, loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep processed-graph caches of the test session out of the user's cache directory."""
    os.environ.setdefault("EVPLAN_CACHE_DIR", str(tmp_path_factory.mktemp("evplan-cache")))


@pytest.fixture(scope="session")
def shanwei_network():
    """The shipped Shanwei road network (data/osm/shanwei.osm)."""
    from planner import config, network

    return network.load_network(config.SHANWEI_OSM)


@pytest.fixture(scope="session")
def shanwei_records():
    """The shipped fleet records (data/fleet)."""
    from planner import config, fleet

    return fleet.load_records(config.FLEET_DIR)
