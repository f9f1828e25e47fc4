"""The real service: ``python -m cli serve`` (uvicorn on a free loopback port), end to end over HTTP.

A siting run is submitted, polled to success and its GeoJSON fetched; an oversize upload is refused
before its body is read; and a server killed with SIGKILL while a run is in flight marks that run
failed, with the reason, when it starts again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "server-test-key"
SERVER_START_S = 180  # generous: the first start may build the processed-graph cache
RUN_DEADLINE_S = 240


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``python -m cli serve`` in a subprocess with its own data directory and API key."""

    def __init__(self, data_dir: Path, log_path: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> LiveServer:
        self.port = free_port()
        env = {**os.environ, "EVPLAN_DATA_DIR": str(self.data_dir), "EVPLAN_API_KEYS": f"other-key,{API_KEY}",
               "PYTHONUNBUFFERED": "1", **self.extra_env}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                if httpx.get(self.url("/ready"), timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"server exited with {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"server not ready after {SERVER_START_S} s:\n{self.log()}"
            time.sleep(0.25)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def submit(self, scenario: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(self.url("/api/v1/siting/runs"), json=scenario, headers={"X-API-Key": API_KEY}, timeout=30)
        assert r.status_code in (200, 202), r.text
        return r.json()

    def wait_for_run(self, run_id: str, until: set[str], deadline_s: float = RUN_DEADLINE_S,
                     poll_s: float = 0.3) -> dict[str, Any]:
        deadline = time.monotonic() + deadline_s
        while True:
            run = httpx.get(self.url(f"/api/v1/siting/runs/{run_id}"), timeout=10).json()
            if run["status"] in until:
                return run
            assert time.monotonic() < deadline, f"run still {run['status']} after {deadline_s} s:\n{self.log()}"
            time.sleep(poll_s)


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
    run = server.submit({"stage_years": [2025, 2030]})
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

    again = httpx.post(server.url("/api/v1/siting/runs"), json={"stage_years": [2025, 2030]},
                       headers={"X-API-Key": API_KEY})
    assert again.status_code == 200 and again.json()["id"] == run["id"] and again.json()["reused"] is True


def _raw_upload(port: int, head: bytes, body_chunks: Iterator[bytes]) -> tuple[int, int]:
    """Send a request over a plain socket until the server answers; returns (status, body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        reply = b""
        for chunk in body_chunks:
            try:
                reply += sock.recv(65536)
            except BlockingIOError:
                pass
            if reply:
                break
            try:
                sock.setblocking(True)
                sock.sendall(chunk)
                sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            finally:
                sock.setblocking(False)
        sock.setblocking(True)
        while b"\r\n" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    return int(reply.split(b" ", 2)[1]), sent


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
