"""The map page in headless Chromium (Debian's ``chromium``) against the real server with a finished run.

The page mirrors what it drew into the DOM (``.site-marker`` SVG paths with ``data-site-id``, and
``data-evplan-*`` attributes on ``<body>``); the test compares them with the run's sites GeoJSON and
keeps a screenshot in ``map_page.png`` in the test artifacts directory (tests/support/paths.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import LiveServer
from tests.support.paths import ARTIFACTS

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chromium() -> str:
    """Debian's chromium (installed by .ci/run); the test fails, not skips, without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed: run .ci/run or `apt-get install chromium`"
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--lang=en-US",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


class _Dom(HTMLParser):
    """Collects the site markers and the state attributes of <body> from a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.site_markers: list[dict[str, str]] = []
        self.town_markers = 0
        self.service_area_markers = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "body":
            self.body = a
        if "site-marker" in classes:
            self.site_markers.append(a)
        self.town_markers += "town-marker" in classes
        self.service_area_markers += "service-area-marker" in classes


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    tmp = tmp_path_factory.mktemp("map-page")
    live = LiveServer(tmp / "data", tmp / "server.log")
    live.start()
    try:
        run = live.submit({"stage_years": [2025, 2030], "town_coverage_from": None})  # a quick solve
        done = live.wait_for_run(run["id"], {"succeeded", "failed", "cancelled"})
        assert done["status"] == "succeeded", done
        yield live, run["id"]
    finally:
        live.stop()


def test_markers_drawn_equal_the_runs_sites(finished_run: tuple[LiveServer, str], tmp_path: Path) -> None:
    live, run_id = finished_run
    sites = httpx.get(live.url(f"/api/v1/siting/runs/{run_id}/sites")).json()
    coverage = httpx.get(live.url(f"/api/v1/siting/runs/{run_id}/coverage")).json()
    service_areas = httpx.get(live.url("/api/v1/network/service-areas")).json()

    done = run_chromium(tmp_path, "--dump-dom", live.url(f"/?run={run_id}"))
    assert done.returncode == 0, done.stderr[-3000:]
    dom = _Dom()
    dom.feed(done.stdout)

    assert dom.body.get("data-evplan-ready") == "true", done.stdout[-2000:]
    assert "data-evplan-error" not in dom.body, dom.body["data-evplan-error"]
    assert dom.body["data-evplan-run"] == run_id
    expected_ids = sorted(f["properties"]["site_id"] for f in sites["features"])
    drawn_ids = sorted(m.get("data-site-id", "") for m in dom.site_markers)
    assert drawn_ids == expected_ids
    assert len(dom.site_markers) == len(sites["features"]) == int(dom.body["data-evplan-site-markers"])
    assert sorted(json.loads(dom.body["data-evplan-site-ids"])) == expected_ids
    # Marker colour follows the stage: one fill colour per stage year.
    fill_by_stage: dict[str, set[str]] = {}
    for m in dom.site_markers:
        fill_by_stage.setdefault(m["data-stage"], set()).add(m.get("fill", ""))
    assert all(len(fills) == 1 for fills in fill_by_stage.values())
    assert len({next(iter(f)) for f in fill_by_stage.values()}) == len(fill_by_stage)
    assert dom.town_markers == len(coverage["features"])
    snapped = [f for f in service_areas["features"] if f["properties"]["snapped"]]
    assert dom.service_area_markers == len(snapped)
    assert re.search(r"Showing \d+ sites", done.stdout)


def test_screenshot_of_the_map_page_is_kept(finished_run: tuple[LiveServer, str], tmp_path: Path) -> None:
    live, run_id = finished_run
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "map_page.png"
    shot.unlink(missing_ok=True)
    done = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", live.url(f"/?run={run_id}"))
    assert done.returncode == 0, done.stderr[-3000:]
    data = shot.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 900)


def test_api_docs_render_offline_from_local_assets(finished_run: tuple[LiveServer, str], tmp_path: Path) -> None:
    """/docs draws every tag of the API in a real browser with no URL outside the server."""
    live, _ = finished_run
    page = httpx.get(live.url("/docs"))
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text) + re.findall(r"url: ?'([^']+)'", page.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert httpx.get(live.url(asset)).status_code == 200, asset

    done = run_chromium(tmp_path, "--dump-dom", live.url("/docs"))
    assert done.returncode == 0, done.stderr[-3000:]
    tags = set(re.findall(r'data-tag="([^"]+)"', done.stdout))
    assert {"siting", "network", "fleet", "reports"} <= tags, done.stdout[-2000:]
