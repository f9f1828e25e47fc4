"""The HTTP service: endpoints through the ASGI client, and one real uvicorn server over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from planner import fleet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("evplan-data"))
    with TestClient(create_app(settings)) as c:
        yield c


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"network": True, "fleet": True}


def test_service_areas_geojson_matches_the_network(client: TestClient, shanwei_network) -> None:
    fc = client.get("/api/v1/network/service-areas").json()
    assert fc["type"] == "FeatureCollection"
    active = [s for s in shanwei_network.service_areas if s.status == "active"]
    ids = {(f["properties"]["id"], f["properties"]["side"]) for f in fc["features"] if f["properties"]["snapped"]}
    assert ids == {(s.id, s.side) for s in shanwei_network.service_areas}
    assert len(active) >= 4
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 114.5 < lon < 116.5 and 22.3 < lat < 23.7  # WGS84 lon/lat order, inside Shanwei


def test_fleet_indicators_agree_with_the_library(client: TestClient, shanwei_records) -> None:
    body = client.get("/api/v1/fleet/indicators", params={"year": 2021}).json()
    expected = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=2021)
    assert body["ne_bus_share"] == pytest.approx(expected["ne_bus_share"])
    assert 0.0 <= body["ne_bus_share"] <= 1.0


def test_bad_query_is_a_problem_detail_naming_the_field(client: TestClient) -> None:
    r = client.get("/api/v1/fleet/indicators", params={"year": "soon"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "query.year" for e in r.json()["errors"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_uvicorn_server_over_http(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "EVPLAN_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server exited"
            assert time.monotonic() < deadline, "server did not become ready in 120 s"
            time.sleep(0.3)
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        fc = httpx.get(f"{base}/api/v1/network/service-areas").json()
        assert fc["type"] == "FeatureCollection" and fc["features"]
        ind = httpx.get(f"{base}/api/v1/fleet/indicators", params={"year": 2024}).json()
        assert 0.0 <= ind["ne_bus_share"] <= 1.0
        assert json.loads(httpx.get(f"{base}/openapi.json").text)["info"]["title"] == "evplan"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
