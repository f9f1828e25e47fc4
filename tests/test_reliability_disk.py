"""Reliability v2, a full disk: the data directory on a small tmpfs that is then filled to the last byte.

A real ``evplan serve`` keeps serving what it stored (every read 200, never 500), refuses writes with
503 naming the cause (a full disk) without a server path, says so on ``/ready``, loses no row, and
takes writes again once space is freed. Mounting needs root (or CAP_SYS_ADMIN): elsewhere the test
is skipped; the ``RLIMIT_FSIZE`` variant in ``test_reliability.py`` runs everywhere.
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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs of its own, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


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


def problem_of(r: httpx.Response, status: int, disk: Path) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["detail"] and "Traceback" not in r.text
    assert str(disk) not in r.text and "/tmp" not in r.text and "evplan.sqlite" not in r.text, r.text
    return body


def test_with_the_data_disk_full_reads_are_served_writes_are_503_and_service_resumes(small_disk: Path,
                                                                                      tmp_path: Path) -> None:
    data = small_disk / "data"
    db = data / "evplan.sqlite"
    # A finished run with its results, stored before the service starts (by a process that then exits).
    seeded = subprocess.run([sys.executable, "-c", SEED_RUN, str(db)], capture_output=True, text=True, check=True)
    run_id = seeded.stdout.strip()

    server = LiveServer(data, tmp_path / "server.log", EVPLAN_REPORT_CRON="")  # the log is not on the small disk
    server.start()
    try:
        base = server.base
        r = httpx.post(base + "/api/v1/fleet/records", headers=WRITE,
                       files={"file": ("register.csv", vehicles_csv(3000, "R"), "text/csv")}, timeout=120)
        assert r.status_code == 200 and r.json()["added"] == 3000, r.text
        r = httpx.post(base + "/api/v1/reports", headers=WRITE, timeout=120)
        assert r.status_code == 201, r.text
        report_id = r.json()["id"]
        before = dump(db)

        filler = fill(small_disk)

        # Reads: what is stored is served, every one 200 (before the fix: 500, a WAL connection had to write).
        reads = ["/health", "/api/v1/siting/runs", f"/api/v1/siting/runs/{run_id}",
                 f"/api/v1/siting/runs/{run_id}/summary", f"/api/v1/siting/runs/{run_id}/sites",
                 f"/api/v1/siting/runs/{run_id}/coverage", "/api/v1/reports", "/api/v1/reports/latest",
                 f"/api/v1/reports/{report_id}?format=json", "/api/v1/fleet/indicators?year=2021",
                 "/api/v1/fleet/targets", "/api/v1/network/service-areas"]
        answers = {path: httpx.get(base + path, timeout=60) for path in reads}
        assert {p: r.status_code for p, r in answers.items()} == dict.fromkeys(reads, 200), \
            {p: r.text[:300] for p, r in answers.items() if r.status_code != 200}
        assert answers["/api/v1/fleet/indicators?year=2021"].json()["records_source"] == "store"
        assert answers["/api/v1/siting/runs"].json()[0]["id"] == run_id
        # Cancelling a finished run changes nothing, so it needs no write: 200, the run as it is.
        r = httpx.delete(base + f"/api/v1/siting/runs/{run_id}", headers=WRITE, timeout=60)
        assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text

        # /ready names the failure instead of "starting".
        r = httpx.get(base + "/ready", timeout=60)
        assert r.status_code == 503, r.text
        ready = r.json()
        assert ready["status"] == "failed" and ready["checks"]["database"] is False
        assert "disk holding EVPLAN_DATA_DIR is full" in ready["errors"]["database"]
        assert str(small_disk) not in r.text

        # Writes: 503 naming the cause (a full disk), no server path, not a follow-on error.
        body = problem_of(httpx.post(base + "/api/v1/siting/runs", headers=WRITE, timeout=60,
                                     json={"stage_years": [2025, 2030], "range_margin_km": 44}), 503, small_disk)
        assert "full" in body["detail"], body
        body = problem_of(httpx.post(base + "/api/v1/reports", headers=WRITE, timeout=120), 503, small_disk)
        assert "full" in body["detail"] and "rollback" not in body["detail"], body
        assert "database cannot be written" in body["detail"]
        body = problem_of(httpx.post(base + "/api/v1/fleet/records", headers=WRITE, timeout=60,
                                     files={"file": ("more.csv", vehicles_csv(50, "M"), "text/csv")}), 503,
                          small_disk)
        assert "disk has space" in body["detail"], body

        assert dump(db) == before  # rows lost: 0, nothing half-written
        assert "500 Internal Server Error" not in server.log()

        # Space returns: the service takes writes again, without a restart.
        filler.unlink()
        deadline = time.monotonic() + 30
        while (r := httpx.get(base + "/ready", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.2)
        r = httpx.post(base + "/api/v1/fleet/records", headers=WRITE, timeout=120,
                       files={"file": ("more.csv", vehicles_csv(50, "M"), "text/csv")})
        assert r.status_code == 200 and r.json()["added"] == 50, r.text
        assert httpx.post(base + "/api/v1/reports", headers=WRITE, timeout=120).status_code == 201
        r = httpx.post(base + "/api/v1/siting/runs", headers=WRITE, timeout=60,
                       json={"stage_years": [2025, 2030], "range_margin_km": 44})
        assert r.status_code == 202, r.text
        r = httpx.delete(base + f"/api/v1/siting/runs/{r.json()['id']}", headers=WRITE, timeout=60)
        assert r.status_code == 200 and r.json()["status"] in ("cancelled", "failed", "succeeded"), r.text
        indicators = httpx.get(base + "/api/v1/fleet/indicators", params={"year": 2021}, timeout=60).json()
        assert indicators["buses"] == 3050, json.dumps(indicators)[:500]
    finally:
        server.stop()
    assert "500 Internal Server Error" not in server.log()
