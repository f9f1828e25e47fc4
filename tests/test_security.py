"""Security: writes need a valid key, keys never leak, and no request value reaches a path or a shell.

The write endpoints are enumerated from the OpenAPI schema (every POST and DELETE), so a new write
endpoint is checked without editing this file. Key leaks are looked for in everything a real server
(uvicorn) says: its stdout and stderr, every response body and header, and the files of its data
directory. Dependency vulnerabilities are audited with ``pip-audit`` outside the test suite (it needs
the network); see the issue's closing note.
"""

from __future__ import annotations

import ast
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.support.live_server import API_KEY, LiveServer

ROOT = Path(__file__).resolve().parents[1]
KEY = "security-test-key-7f3a"
WRITE = {"X-API-Key": KEY}
SOME_ID = "0123456789abcdef0123456789abcdef"
VEHICLES = ("vehicle_id,vehicle_class,powertrain,registered_on,deregistered_on,county_code,is_operating,depot_id\n"
            "S1,bus,BEV,2021-01-02,,441502,true,\nS2,taxi,BEV,2021-02-03,,441521,true,\n")


def is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("security")
    settings = Settings(data_dir=root / "data", api_keys=f"first-key,{KEY}", report_cron="")
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 120
        while c.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield c


def write_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, ops in spec["paths"].items() for method in ops
                  if method in ("post", "put", "patch", "delete"))


def test_every_write_refuses_a_missing_or_wrong_key(client: TestClient) -> None:
    writes = write_operations(client.get("/openapi.json").json())
    assert writes == [("DELETE", "/api/v1/siting/runs/{run_id}"), ("DELETE", "/api/v1/siting/sweeps/{sweep_id}"),
                      ("POST", "/api/v1/fleet/records"), ("POST", "/api/v1/reports"), ("POST", "/api/v1/siting/runs"),
                      ("POST", "/api/v1/siting/sweeps")]
    # A real run, so that a DELETE that ignored the key would visibly cancel it.
    run = client.post("/api/v1/siting/runs", json={"range_margin_km": 43}, headers=WRITE).json()
    bodies = {"/api/v1/siting/runs": {"json": {"range_margin_km": 44}},
              "/api/v1/siting/sweeps": {"json": {"range_margin_km": [44, 45]}},
              "/api/v1/fleet/records": {"files": {"file": ("v.csv", VEHICLES.encode(), "text/csv")}}}
    refused = 0
    for method, template in writes:
        path = template.replace("{run_id}", run["id"]).replace("{sweep_id}", "0" * 32)
        kwargs = bodies.get(template, {})
        for headers, status in [
            ({}, 401),
            ({"X-API-Key": ""}, 401),
            ({"Authorization": f"Bearer {KEY}"}, 401),  # only the documented header counts
            ({"X-API-Key": "wrong"}, 403),
            ({"X-API-Key": KEY.upper()}, 403),
            ({"X-API-Key": f" {KEY}x"}, 403),
            ({"X-API-Key": f"first-key,{KEY}"}, 403),  # the configured list is not itself a key
        ]:
            body = is_problem(client.request(method, path, headers=headers, **kwargs), status)
            assert ("X-API-Key" in body["detail"]), body
            refused += 1
        r = client.request(method, path, params={"X-API-Key": KEY, "api_key": KEY}, **kwargs)
        is_problem(r, 401)  # a key in the URL (which logs would keep) is not accepted
        refused += 1
    assert refused == 8 * len(writes)

    # Nothing was written by any refused request.
    assert client.get(f"/api/v1/siting/runs/{run['id']}").json()["status"] != "cancelled"
    assert [r["id"] for r in client.get("/api/v1/siting/runs").json()] == [run["id"]]
    assert client.get("/api/v1/reports").json()["reports"] == []
    assert client.get("/api/v1/fleet/indicators").json()["records_source"] == "shipped"
    # The right key does what the wrong ones could not.
    assert client.delete(f"/api/v1/siting/runs/{run['id']}", headers=WRITE).json()["status"] == "cancelled"


def test_the_schema_says_which_requests_need_a_key(tmp_path: Path) -> None:
    """Writes always declare the key; reads only when EVPLAN_READ_REQUIRES_KEY makes them check it."""
    for reads_keyed in (False, True):
        app = create_app(Settings(data_dir=tmp_path, api_keys=KEY, read_requires_key=reads_keyed))
        spec = TestClient(app).get("/openapi.json").json()  # no lifespan needed for the schema
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                keyed = method != "get" or (reads_keyed and path.startswith("/api/v1/"))
                assert ("security" in op) == keyed, (reads_keyed, method, path)
                if keyed:
                    assert op["security"] == [{"APIKeyHeader": []}] and {"401", "403"} <= set(op["responses"])


HOSTILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/cron.d/evplan",
    ";rm -rf ~;.csv",
    "$(touch pwned).csv",
    "`touch pwned`.csv",
    "v.csv\r\nX-Injected: 1",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "." * 300 + "/x.csv",
    "名单.csv",
]


def snapshot(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def test_no_upload_file_name_reaches_a_path_or_a_shell(client: TestClient) -> None:
    settings = client.app.state.evplan.settings
    root = settings.data_dir.parent  # everything this test's service could write to
    before, repo_before = snapshot(root), snapshot(ROOT / "tests") | set(ROOT.iterdir())
    for i, name in enumerate(HOSTILE_NAMES):
        content = VEHICLES.replace("S1", f"H{i}a").replace("S2", f"H{i}b").encode()
        r = client.post("/api/v1/fleet/records", headers=WRITE, files={"file": (name, content, "text/csv")})
        assert r.status_code == 200, (name, r.text)
        shown = r.json()["file"]
        assert "/" not in shown and "\\" not in shown and ".." not in shown and ";" not in shown, shown
        assert "\r" not in shown and "\n" not in shown and "$(" not in shown and "`" not in shown, shown
        assert r.json()["added"] == 2
    assert not list(settings.upload_dir.iterdir())  # every upload was stored under its own name and removed
    created = snapshot(root) - before
    inside = {p for p in created if p.parts[0] == settings.data_dir.name}
    assert created == inside, created - inside  # nothing written outside the data directory
    assert {p.name for p in created} <= {"data", "evplan.sqlite", "evplan.sqlite-wal", "evplan.sqlite-shm",
                                         "uploads"}
    assert snapshot(ROOT / "tests") | set(ROOT.iterdir()) == repo_before  # no "pwned", nothing in the checkout
    with sqlite3.connect(settings.database_path) as con:
        names = [r[0] for r in con.execute("SELECT file_name FROM ingests ORDER BY id")]
    assert len(names) == len(HOSTILE_NAMES) and all("/" not in n and "\\" not in n for n in names), names


def test_no_request_value_chooses_a_file_or_a_run_id(client: TestClient) -> None:
    for field, value in [("osm_path", "/etc/passwd"), ("fleet_dir", "../../"), ("data_dir", "/tmp"),
                         ("out", "/root")]:
        body = is_problem(client.post("/api/v1/siting/runs", json={field: value}, headers=WRITE), 422)
        assert [e["field"] for e in body["errors"]] == [f"body.{field}"]
    for path in ("/api/v1/siting/runs/..", "/api/v1/siting/runs/..%2F..%2Fetc%2Fpasswd/sites",
                 "/api/v1/siting/runs/%2e%2e", f"/api/v1/siting/runs/{SOME_ID[:-2]}..",
                 "/api/v1/reports/..", "/api/v1/reports/%2e%2e%2fevplan.sqlite"):
        for method in ("GET", "DELETE") if "/reports/" not in path else ("GET",):
            r = client.request(method, path, headers=WRITE)
            assert r.status_code in (404, 422), (method, path, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "root:" not in r.text and "SQLite" not in r.text


def test_the_service_never_starts_a_shell() -> None:
    """No module of the service or the library runs commands: no request value can reach a shell.

    One exception, by name: ``planner/fleet/printing.py`` starts the browser that prints a report to PDF,
    with a fixed argument list on a temporary file; no module of the service imports it.
    """
    forbidden_calls = {"system", "popen", "exec", "eval", "spawnl", "spawnv", "execv", "execl"}
    printing = ROOT / "planner" / "fleet" / "printing.py"
    offenders = []
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "planner").rglob("*.py")]):
        if path == printing:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offenders += [f"{path.name}:{node.lineno} imports {m}" for m in modules
                              if m.split(".")[0] in ("subprocess", "pty", "commands")]
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in forbidden_calls:
                    offenders.append(f"{path.name}:{node.lineno} calls {name}")
                if any(k.arg == "shell" for k in node.keywords):
                    offenders.append(f"{path.name}:{node.lineno} passes shell=")
    assert offenders == []
    printing_tree = ast.parse(printing.read_text(encoding="utf-8"))
    assert not any(k.arg == "shell" for n in ast.walk(printing_tree) if isinstance(n, ast.Call) for k in n.keywords)
    importers = [p.name for p in (ROOT / "app").rglob("*.py") if "printing" in p.read_text(encoding="utf-8")]
    assert importers == []


# ------------------------------------------------------------------------------- the real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("security-server")
    live = LiveServer(base / "data", base / "server.log", EVPLAN_REPORT_CRON="")
    try:
        yield live.start()
    finally:
        live.stop()


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """A GET with the target exactly as written (an HTTP client would normalise the dots away)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), reply


def test_static_files_cannot_be_used_to_read_other_files(server: LiveServer) -> None:
    secret = (ROOT / "app" / "main.py").read_bytes()[:60]
    for target in ("/static/../main.py", "/static/../../app/main.py", "/static/%2e%2e/%2e%2e/app/main.py",
                   "/static/..%2f..%2fapp%2fmain.py", "/static/leaflet/../../../../../etc/passwd",
                   "/static/leaflet/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static//etc/passwd"):
        status, reply = _raw_get(server.port, target)
        assert status in (400, 404), (target, status)
        assert secret not in reply and b"root:" not in reply, target
    assert _raw_get(server.port, "/static/map.js")[0] == 200  # the files meant to be served are


def test_keys_never_appear_in_logs_responses_or_files(server: LiveServer) -> None:
    wrong = "wrong-key-c0ffee"
    keyed = {"X-API-Key": API_KEY}
    seen: list[httpx.Response] = []

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        r = httpx.request(method, server.url(path), timeout=60, **kwargs)
        seen.append(r)
        return r

    run = call("POST", "/api/v1/siting/runs", json={"range_margin_km": 42}, headers=keyed).json()
    call("GET", f"/api/v1/siting/runs/{run['id']}", headers=keyed)
    call("DELETE", f"/api/v1/siting/runs/{run['id']}", headers=keyed)
    assert call("POST", "/api/v1/fleet/records", headers=keyed,
                files={"file": ("v.csv", VEHICLES.encode(), "text/csv")}).status_code == 200
    assert call("POST", "/api/v1/reports", headers=keyed).status_code == 201
    assert call("POST", "/api/v1/siting/runs", json={"range_margin_km": -1}, headers=keyed).status_code == 422
    assert call("POST", "/api/v1/reports", headers={"X-API-Key": wrong}).status_code == 403
    assert call("POST", "/api/v1/reports").status_code == 401
    assert call("GET", "/api/v1/siting/runs", headers=keyed, params={"note": "ok"}).status_code == 200
    for path in ("/openapi.json", "/docs", "/ready", "/health", "/", "/api/v1/reports"):
        assert call("GET", path, headers=keyed).status_code == 200
    huge = call("GET", "/health", headers={"X-API-Key": API_KEY * 4000})  # 60 kB header
    assert huge.status_code < 500
    server.stop()  # flush and close its output

    log = server.log()
    assert "POST /api/v1/reports" in log and "403" in log  # the log does record the requests
    files = b"".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())
    assert files  # the database was written
    for secret in (API_KEY, "other-key", wrong):
        assert secret not in log, f"{secret!r} in the server log"
        for r in seen:
            assert secret not in r.text, (r.request.url, "body")
            assert all(secret not in v for v in r.headers.values()), (r.request.url, "headers")
        assert secret.encode() not in files, f"{secret!r} stored in the data directory"
