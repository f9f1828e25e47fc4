"""Issue 15: POST /reports does bounded work under load. Reports are built in a child process with a time
limit (EVPLAN_REPORT_TIME_LIMIT_S), one at a time, and requests that arrive while one waits share its build."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app

KEY = "report-test-key"
WRITE = {"X-API-Key": KEY}


def _client(data_dir: Path, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, api_keys=KEY, report_cron="", **settings)))


def _ready(client: TestClient) -> None:
    deadline = time.monotonic() + 180
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/ready").text
        time.sleep(0.2)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _client(tmp_path_factory.mktemp("reports") / "data") as c:
        _ready(c)
        yield c


def test_concurrent_requests_share_builds(client: TestClient) -> None:
    """Eight requests at once: each gets a stored report built after it arrived, from at most two builds
    beyond the first (the one under way, and the one they all wait for), not eight in a row."""
    before = {r["id"] for r in client.get("/api/v1/reports").json()["reports"]}
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(client.post("/api/v1/reports", headers=WRITE)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers if r.status_code != 201]
    made = {r.json()["id"] for r in answers}
    stored = {r["id"] for r in client.get("/api/v1/reports").json()["reports"]} - before
    assert made == stored and 1 <= len(made) <= 3, (len(made), len(stored))
    first = answers[0].json()
    assert client.get(first["json_url"]).json()["figures"], first


def test_a_report_over_its_time_limit_is_stopped_and_nothing_is_stored(tmp_path: Path) -> None:
    with _client(tmp_path / "data", report_time_limit_s=0.05) as c:
        _ready(c)
        r = c.post("/api/v1/reports", headers=WRITE)
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert "EVPLAN_REPORT_TIME_LIMIT_S" in r.json()["detail"] and r.headers["retry-after"] == "60"
        assert c.get("/api/v1/reports").json()["reports"] == []
