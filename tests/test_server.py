"""The real service: ``python -m cli serve`` (uvicorn on a free loopback port), end to end over HTTP.

A siting run is submitted, polled to success and its GeoJSON fetched; an oversize upload is refused
before its body is read; and a server killed with SIGKILL while a run is in flight marks that run
failed, with the reason, when it starts again.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.live_server import API_KEY, LiveServer
from tests.support.live_server import raw_upload as _raw_upload


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data", tmp_path / "server.log", EVPLAN_MAX_UPLOAD_MB="1")
    try:
        yield live.start()
    finally:
        live.stop()


def _sides(fc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["properties"]["service_area_id"], f["properties"]["side"])
            for f in fc["features"] if f["properties"].get("service_area_id")}


def test_siting_run_end_to_end_over_http(server: LiveServer) -> None:
    assert httpx.get(server.url("/health")).json() == {"status": "ok"}
    run = server.submit({"stage_years": [2025, 2030], "town_coverage_from": None})  # a quick solve
    assert run["status"] in ("queued", "running", "succeeded")
    done = server.wait_for_run(run["id"], {"succeeded", "failed", "cancelled"})
    assert done["status"] == "succeeded", done

    sites = httpx.get(server.url(f"/api/v1/siting/runs/{run['id']}/sites"))
    assert sites.status_code == 200 and sites.headers["content-type"].startswith("application/geo+json")
    coverage = httpx.get(server.url(f"/api/v1/siting/runs/{run['id']}/coverage")).json()
    summary = httpx.get(server.url(f"/api/v1/siting/runs/{run['id']}/summary")).json()
    service_areas = httpx.get(server.url("/api/v1/network/service-areas")).json()

    # Every active service-area side of the network has a station (the plan's first rule).
    active = {(f["properties"]["id"], f["properties"]["side"]) for f in service_areas["features"]
              if f["properties"].get("snapped") and f["properties"].get("status") == "active"}
    assert active and active <= _sides(sites.json())
    final = summary["stages"]["2030"]
    assert len(sites.json()["features"]) == final["sites"]
    assert len(coverage["features"]) == final["towns"]
    assert sum(f["properties"]["covered"] for f in coverage["features"]) == final["towns_covered"]

    again = httpx.post(server.url("/api/v1/siting/runs"), json={"stage_years": [2025, 2030], "town_coverage_from": None},
                       headers={"X-API-Key": API_KEY})
    assert again.status_code == 200 and again.json()["id"] == run["id"] and again.json()["reused"] is True


def test_oversize_upload_is_refused_before_the_body_is_read(server: LiveServer) -> None:
    boundary = "evplanboundary"
    preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
                f"Content-Type: text/csv\r\n\r\n").encode()

    # Declared too large: answered from the headers alone, before any body byte is sent.
    head = (f"POST /api/v1/fleet/records HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 500000000\r\n\r\n").encode()
    status, sent = _raw_upload(server.port, head, iter(()))
    assert (status, sent) == (413, 0)

    # No length declared (chunked): refused once the counted bytes pass 1 MB, long before 200 MB are sent.
    head = (f"POST /api/v1/fleet/records HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()

    def chunked() -> Iterator[bytes]:
        yield b"%x\r\n%s\r\n" % (len(preamble), preamble)
        for _ in range(3200):  # 3200 x 64 KiB = 200 MiB
            yield b"10000\r\n" + b"a,b,c\n" * 10922 + b"aaaa\r\n"

    status, sent = _raw_upload(server.port, head, chunked())
    assert status == 413
    assert sent < 50_000_000, f"server read {sent} bytes before refusing"
    assert not list((server.data_dir / "uploads").glob("*")), "a refused upload left a file behind"


def test_run_in_flight_when_the_server_is_killed_is_failed_on_restart(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "data", tmp_path / "server.log")
    live.start()
    try:
        run = live.submit({"stage_years": [2025, 2030], "range_margin_km": 45})
        running = live.wait_for_run(run["id"], {"running", "succeeded", "failed"}, poll_s=0.05)
        assert running["status"] == "running", running
        workers = psutil.Process(live.proc.pid).children(recursive=True)
        assert workers, "the run has no worker process"
        live.proc.send_signal(signal.SIGKILL)
        live.proc.wait(timeout=10)
        # The orphaned worker notices its service is gone and exits instead of computing on.
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"worker processes outlived the server: {alive}"

        live.start()
        after = httpx.get(live.url(f"/api/v1/siting/runs/{run['id']}")).json()
        assert after["status"] == "failed"
        assert "stopped while this run was running" in after["error"]
        assert after["finished_at"] is not None
        results = httpx.get(live.url(f"/api/v1/siting/runs/{run['id']}/sites"))
        assert results.status_code == 409 and results.json()["run_status"] == "failed"
        # Submitting the same scenario again starts a new run instead of returning the failed one.
        retry = live.submit({"stage_years": [2025, 2030], "range_margin_km": 45})
        assert retry["id"] != run["id"] and retry["reused"] is False
    finally:
        live.stop()
