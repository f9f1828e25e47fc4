"""Reliability v2, a full disk: the data directory on a small tmpfs that is then filled to the last byte.

One real ``evplan serve`` for the module, its data directory on its own tmpfs, seeded (a finished
run, an upload, a report) and then the disk filled. The tests, in order: it keeps serving what it
stored (every read 200, never 500), ``/ready`` names the failure, writes answer 503 naming the cause
(a full disk) without a server path, no row is lost, and once space is freed it takes writes again
without a restart. Mounting needs root (or CAP_SYS_ADMIN): elsewhere the module is skipped; the
``RLIMIT_FSIZE`` variant in ``test_reliability.py`` runs everywhere.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live_server import API_KEY, LiveServer

WRITE = {"X-API-Key": API_KEY}
COLUMNS = ["vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code",
           "is_operating", "depot_id"]


def vehicles_csv(n: int, prefix: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((f"{prefix}{i:06d}", "bus", "BEV", "2021-03-01", "", "441502", "true", "") for i in range(n))
    return buf.getvalue().encode()


SEED_RUN = """
import sys
from pathlib import Path
from app.store import Store
store = Store(Path(sys.argv[1]))
run, _ = store.create_run("seeded", {"stage_years": [2025, 2030]})
assert store.mark_running(run.id)
empty = {"type": "FeatureCollection", "features": []}
assert store.finish_run(run.id, {"stages": {}}, empty, empty)
print(run.id)
"""


def dump(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        con.close()


@dataclass
class FullDisk:
    server: LiveServer
    disk: Path
    db: Path
    filler: Path
    run_id: str
    report_id: str
    before: dict[str, list[tuple]]


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as fh:  # unbuffered: nothing is left to flush on close
        for size in (1 << 20, 4096, 1):
            try:
                while fh.write(b"\0" * size):
                    pass
            except OSError:
                pass
    return filler


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullDisk]:
    base = tmp_path_factory.mktemp("full-disk")
    disk = base / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root")
    server = LiveServer(disk / "data", base / "server.log", EVPLAN_REPORT_CRON="")  # the log is not on the disk
    try:
        db = disk / "data" / "evplan.sqlite"
        # A finished run with its results, stored before the service starts (by a process that then exits).
        seeded = subprocess.run([sys.executable, "-c", SEED_RUN, str(db)], capture_output=True, text=True,
                                check=True)
        server.start()
        r = httpx.post(server.url("/api/v1/fleet/records"), headers=WRITE, timeout=120,
                       files={"file": ("register.csv", vehicles_csv(3000, "R"), "text/csv")})
        assert r.status_code == 200 and r.json()["added"] == 3000, r.text
        r = httpx.post(server.url("/api/v1/reports"), headers=WRITE, timeout=120)
        assert r.status_code == 201, r.text
        before = dump(db)
        yield FullDisk(server, disk, db, fill(disk), seeded.stdout.strip(), r.json()["id"], before)
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def problem_of(r: httpx.Response, status: int, disk: Path) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["detail"] and "Traceback" not in r.text
    assert str(disk) not in r.text and "/tmp" not in r.text and "evplan.sqlite" not in r.text, r.text
    return body


def test_reads_are_served_from_what_is_stored(full: FullDisk) -> None:
    """Issue 15 #4: reads answered 500, because opening a WAL connection had to write."""
    run = f"/api/v1/siting/runs/{full.run_id}"
    reads = ["/health", "/api/v1/siting/runs", run, f"{run}/summary", f"{run}/sites", f"{run}/coverage",
             "/api/v1/reports", "/api/v1/reports/latest", f"/api/v1/reports/{full.report_id}?format=json",
             "/api/v1/fleet/indicators?year=2021", "/api/v1/fleet/targets", "/api/v1/network/service-areas"]
    answers = {path: httpx.get(full.server.url(path), timeout=60) for path in reads}
    assert {p: r.status_code for p, r in answers.items()} == dict.fromkeys(reads, 200), \
        {p: r.text[:300] for p, r in answers.items() if r.status_code != 200}
    assert answers["/api/v1/fleet/indicators?year=2021"].json()["records_source"] == "store"
    assert answers["/api/v1/siting/runs"].json()[0]["id"] == full.run_id


def test_cancelling_a_finished_run_needs_no_write(full: FullDisk) -> None:
    """Issue 15 #4: DELETE answered 500."""
    r = httpx.delete(full.server.url(f"/api/v1/siting/runs/{full.run_id}"), headers=WRITE, timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text


def test_ready_names_the_full_disk(full: FullDisk) -> None:
    """Issue 15 #4: /ready said "starting"."""
    r = httpx.get(full.server.url("/ready"), timeout=60)
    assert r.status_code == 503, r.text
    ready = r.json()
    assert ready["status"] == "failed" and ready["checks"]["database"] is False, ready
    assert "disk holding EVPLAN_DATA_DIR is full" in ready["errors"]["database"]
    assert str(full.disk) not in r.text


def test_a_run_submission_is_503_naming_the_full_disk_without_a_path(full: FullDisk) -> None:
    """Issue 15 #5: the 503 showed the server's database path."""
    r = httpx.post(full.server.url("/api/v1/siting/runs"), headers=WRITE, timeout=60,
                   json={"stage_years": [2025, 2030], "range_margin_km": 44})
    body = problem_of(r, 503, full.disk)
    assert "full" in body["detail"], body


def test_a_report_is_503_naming_the_full_disk_not_a_failed_rollback(full: FullDisk) -> None:
    """Issue 15 #6: the 503 said "cannot rollback - no transaction is active"."""
    body = problem_of(httpx.post(full.server.url("/api/v1/reports"), headers=WRITE, timeout=120), 503, full.disk)
    assert "database cannot be written" in body["detail"]
    assert "full" in body["detail"] and "rollback" not in body["detail"], body


def test_an_upload_is_503_and_no_row_is_lost(full: FullDisk) -> None:
    r = httpx.post(full.server.url("/api/v1/fleet/records"), headers=WRITE, timeout=60,
                   files={"file": ("more.csv", vehicles_csv(50, "M"), "text/csv")})
    body = problem_of(r, 503, full.disk)
    assert "disk has space" in body["detail"], body
    assert dump(full.db) == full.before  # rows lost: 0, nothing half-written
    assert "500 Internal Server Error" not in full.server.log()


def test_service_resumes_when_space_returns(full: FullDisk) -> None:
    full.filler.unlink()
    server = full.server
    deadline = time.monotonic() + 30
    while (r := httpx.get(server.url("/ready"), timeout=10)).status_code != 200:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)
    r = httpx.post(server.url("/api/v1/fleet/records"), headers=WRITE, timeout=120,
                   files={"file": ("more.csv", vehicles_csv(50, "M"), "text/csv")})
    assert r.status_code == 200 and r.json()["added"] == 50, r.text
    assert httpx.post(server.url("/api/v1/reports"), headers=WRITE, timeout=120).status_code == 201
    r = httpx.post(server.url("/api/v1/siting/runs"), headers=WRITE, timeout=60,
                   json={"stage_years": [2025, 2030], "range_margin_km": 44})
    assert r.status_code == 202, r.text
    r = httpx.delete(server.url(f"/api/v1/siting/runs/{r.json()['id']}"), headers=WRITE, timeout=60)
    assert r.status_code == 200 and r.json()["status"] in ("cancelled", "failed", "succeeded"), r.text
    indicators = httpx.get(server.url("/api/v1/fleet/indicators"), params={"year": 2021}, timeout=60).json()
    assert indicators["buses"] == 3050, json.dumps(indicators)[:500]
    assert "500 Internal Server Error" not in server.log()
