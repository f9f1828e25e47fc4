"""Shared fixtures (the shipped network and records, loaded once) and the rules every test run keeps.

The rules: no test reads a file beside the checkout (a user's clone has nothing beside it), and no
test leaves files in the checkout (caches and artifacts go to temporary directories).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.paths import ROOT

#: Files opened beside the checkout (``ROOT.parent`` but not ``ROOT``), as (path, mode).
_OUTSIDE_OPENS: list[tuple[str, str]] = []


def _watch_opens(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not isinstance(args[0], str | Path):
        return
    path = os.path.abspath(os.fspath(args[0]))
    if path.startswith(_BESIDE) and not path.startswith(_INSIDE) and not path.startswith(_ALLOWED):
        _OUTSIDE_OPENS.append((path, str(args[1])))


_BESIDE = str(ROOT.parent) + os.sep
_INSIDE = str(ROOT) + os.sep
# The interpreter and temporary files may legitimately live beside the checkout.
_ALLOWED = tuple(str(Path(p).resolve()) + os.sep for p in {sys.prefix, sys.base_prefix, tempfile.gettempdir()})
sys.addaudithook(_watch_opens)


@pytest.fixture(autouse=True)
def _nothing_read_beside_the_checkout() -> None:
    """Fail a test that opened a file beside the checkout (a sibling directory): a clone has no such file."""
    _OUTSIDE_OPENS.clear()
    yield
    opened = list(_OUTSIDE_OPENS)
    _OUTSIDE_OPENS.clear()
    if opened:
        pytest.fail(f"the test opened files outside the repository: {opened[:3]}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    """Keep Hypothesis's and schemathesis's example databases out of the checkout."""
    from hypothesis import settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase

    scratch = Path(tempfile.mkdtemp(prefix="evplan-test-db-"))
    set_hypothesis_home_dir(str(scratch / "hypothesis-home"))  # its caches, else ./.hypothesis
    settings.register_profile("evplan", database=DirectoryBasedExampleDatabase(scratch / "hypothesis"))
    settings.load_profile("evplan")
    try:
        from schemathesis.core import storage

        storage.DEFAULT_ROOT = scratch / "schemathesis"  # relative ".schemathesis" by default: the cwd
    except ImportError:
        pass


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
