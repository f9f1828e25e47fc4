"""A real ``evplan serve`` for tests: uvicorn in a subprocess on a free loopback port, its own data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
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


def raw_upload(port: int, head: bytes, body_chunks: Iterator[bytes]) -> tuple[int, int]:
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
