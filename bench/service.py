"""Case 4: the HTTP API under concurrent clients, on loopback only.

Starts ``uvicorn app.main:create_app`` as a subprocess on a free port of 127.0.0.1 with a temporary
``EVPLAN_DATA_DIR``, ``EVPLAN_CACHE_DIR`` and API key, waits until ``/ready``, then drives each
endpoint with an asyncio loop of concurrent httpx clients, bounded both in requests and in time,
and stops the server. Reads come first; run submissions last, because each new run starts a
worker process that competes for the cores.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(tmp: Path, api_key: str) -> tuple[subprocess.Popen[bytes], str]:
    """The service in a subprocess on a free loopback port; returns the process and its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "EVPLAN_DATA_DIR": str(tmp / "data"),
        "EVPLAN_CACHE_DIR": str(tmp / "cache"),
        "EVPLAN_API_KEYS": api_key,
        "EVPLAN_MAX_CONCURRENT_RUNS": "1",
    }
    (tmp / "data").mkdir(exist_ok=True)
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed by stop_server via the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", HOST, "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    return proc, f"http://{HOST}:{port}"


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully, ending its run workers), then SIGKILL after 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, *, timeout_s: float = 300.0) -> float:
    """Seconds until ``/ready`` answers 200 (network and fleet loaded)."""
    import httpx

    start = time.perf_counter()
    with httpx.Client(timeout=5.0) as client:
        while time.perf_counter() - start < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if client.get(f"{base}/ready").status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"the server was not ready after {timeout_s:g} s: {log.read_text()[-2000:]}")


async def load(
    base: str,
    make_request: Any,
    *,
    clients: int,
    max_requests: int,
    max_seconds: float,
) -> dict[str, Any]:
    """Drive one endpoint with ``clients`` concurrent loops until ``max_requests`` or ``max_seconds``.

    ``make_request(client, i)`` sends request number ``i`` and returns the response.
    """
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    sizes: list[int] = []
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits) as client:
        start = time.perf_counter()
        deadline = start + max_seconds

        async def worker() -> None:
            nonlocal issued
            while issued < max_requests and time.perf_counter() < deadline:
                i = issued
                issued += 1
                t0 = time.perf_counter()
                try:
                    resp = await make_request(client, i)
                    body = resp.content
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                sizes.append(len(body))

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    lat_ms = np.array(latencies) * 1000.0
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed if elapsed > 0 else None,
        "p50_ms": float(np.percentile(lat_ms, 50)) if len(lat_ms) else None,
        "p99_ms": float(np.percentile(lat_ms, 99)) if len(lat_ms) else None,
        "max_ms": float(lat_ms.max()) if len(lat_ms) else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "response_bytes": int(np.median(sizes)) if sizes else None,
    }


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Reads and run submissions against a live server on loopback."""
    quick = options["quick"]
    clients = 8 if quick else 16
    max_requests = 100 if quick else 3000
    max_seconds = 5.0 if quick else 20.0
    api_key = secrets.token_urlsafe(24)
    endpoints: dict[str, Any] = {
        "GET /health (framework baseline)": lambda c, i: c.get("/health"),
        "GET /api/v1/network/service-areas": lambda c, i: c.get("/api/v1/network/service-areas"),
        "GET /api/v1/network/roads?class=motorway": lambda c, i: c.get("/api/v1/network/roads",
                                                                       params={"class": "motorway"}),
        # Distinct scenarios, so that every submission stores a new run (the same one would be reused).
        "POST /api/v1/siting/runs (new scenario)": lambda c, i: c.post(
            "/api/v1/siting/runs", headers={"X-API-Key": api_key},
            json={"range_margin_km": 50.0 + i / 1000.0}),
        "POST /api/v1/siting/runs (same scenario, reused)": lambda c, i: c.post(
            "/api/v1/siting/runs", headers={"X-API-Key": api_key}, json={"range_margin_km": 50.0}),
    }
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="evplan-bench-service-") as tmp_name:
        tmp = Path(tmp_name)
        proc, base = start_server(tmp, api_key)
        try:
            ready_s = wait_ready(base, proc, tmp / "server.log")
            for name, make in endpoints.items():
                results[name] = asyncio.run(
                    load(base, make, clients=clients, max_requests=max_requests, max_seconds=max_seconds)
                )
        finally:
            stop_server(proc)
    rows = []
    for name, r in results.items():
        note = (f"{r['clients']} clients, {r['requests']} req in {r['seconds']:.1f} s, p50 {r['p50_ms']:.1f} ms, "
                f"p99 {r['p99_ms']:.1f} ms, {r['response_bytes']:,} B/response")
        bad = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
        if bad or r["errors"]:
            note += f"; non-2xx {bad}, errors {r['errors']}"
        rows.append({"measure": name, "value": r["requests_per_s"], "unit": "req/s", "note": note})
    rows.append({"measure": "server start until /ready (cold cache)", "value": ready_s, "unit": "s", "note": ""})
    return {
        "title": "Service: requests per second and latency on loopback",
        "params": {"clients": clients, "max_requests": max_requests, "max_seconds": max_seconds,
                   "server": "uvicorn, 1 process, EVPLAN_MAX_CONCURRENT_RUNS=1", "host": HOST,
                   "note": "client and server share the machine's cores"},
        "ready_s": ready_s,
        "endpoints": results,
        "rows": rows,
        "goals": [],
    }
