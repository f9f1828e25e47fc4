"""The service's sweeps over real HTTP (``python -m cli serve``), with real Dask, solver and Chromium.

The sweep endpoint passes a run's checks: keys (401/403), problem details (422 with the field, 404,
409 before it is done, a bounded grid), the same grid answered from the store, and a sweep in flight
when the server is killed failed on restart with the reason (its finished points reused when it is
submitted again). Each point is a run: the map page compares two of them side by side.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.live_server import API_KEY, LiveServer
from tests.test_map_page import run_chromium
from tests.test_province import write_province

PROBLEM = "application/problem+json"
GRID = {"range_margin_km": [30, 60], "stage_years": [[2025, 2030]], "time_limit_s": [20]}
SWEEP_DEADLINE_S = 300


def _server(tmp: Path) -> LiveServer:
    extract, boundaries = write_province(tmp, cities=1)
    return LiveServer(tmp / "data", tmp / "server.log", EVPLAN_OSM_PATH=str(extract),
                      EVPLAN_BOUNDARIES_PATH=str(boundaries), EVPLAN_MAX_SWEEP_POINTS="4",
                      EVPLAN_SWEEP_WORKERS="2")


def _post(live: LiveServer, body: Any, key: str | None = API_KEY) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.post(live.url("/api/v1/siting/sweeps"), json=body, headers=headers, timeout=30)


def _wait(live: LiveServer, sweep_id: str, until: set[str], *, points_done: int = 0,
          deadline_s: float = SWEEP_DEADLINE_S) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        sweep = httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep_id}"), timeout=10).json()
        if sweep["status"] in until and (sweep["points_done"] >= points_done or sweep["status"] != "running"):
            return sweep
        assert time.monotonic() < deadline, f"sweep still {sweep['status']} after {deadline_s} s:\n{live.log()}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    live = _server(tmp_path_factory.mktemp("sweep-service"))
    live.start()
    try:
        r = _post(live, GRID)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["status"] in ("queued", "running") and body["points"] == 2 and 0 <= body["progress"] <= 1
        assert r.headers["Location"] == f"/api/v1/siting/sweeps/{body['id']}"
        sweep = _wait(live, body["id"], {"succeeded", "failed", "cancelled"})
        assert sweep["status"] == "succeeded", sweep
        yield live, sweep
    finally:
        live.stop()


def test_sweep_writes_need_a_key_and_errors_are_problem_details(done_sweep) -> None:
    live, sweep = done_sweep
    for key, status in ((None, 401), ("wrong-key", 403)):
        r = _post(live, GRID, key)
        assert r.status_code == status and r.headers["content-type"].startswith(PROBLEM), r.text
        r = httpx.delete(live.url(f"/api/v1/siting/sweeps/{sweep['id']}"), headers={"X-API-Key": key} if key else {})
        assert r.status_code == status
    r = _post(live, {"range_margin_km": [40, -5]})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert any(e["pointer"] == "#/range_margin_km/1" for e in r.json()["errors"]), r.json()
    for bad in ({"range_margin_km": 40}, {"range_margin_km": []}, {"no_such_option": [1]}, {"budget_cny": ["80e6"]}):
        r = _post(live, bad)
        assert r.status_code == 422 and r.json()["status"] == 422, (bad, r.text)
    r = _post(live, {"range_margin_km": [30, 40, 50], "drive_time_min": [20, 30]})  # 6 points > 4
    assert r.status_code == 422 and "EVPLAN_MAX_SWEEP_POINTS" in r.json()["detail"] and "6 points" in r.json()["detail"]
    r = _post(live, {"stage_years": [[2025, 2030], [2026, 2031]], "town_coverage_from": [2030]})
    assert r.status_code == 422 and "town_coverage_from" in r.json()["detail"]
    r = httpx.get(live.url(f"/api/v1/siting/sweeps/{'0' * 32}"))
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    assert httpx.get(live.url("/api/v1/siting/sweeps/not-an-id")).status_code == 422


def test_a_finished_sweep_serves_its_table_page_and_runs(done_sweep) -> None:
    live, sweep = done_sweep
    table = sweep["table"]
    assert table["points"] == 2 and table["axes"] == ["range_margin_km"]
    assert [r["scenario"]["range_margin_km"] for r in table["rows"]] == [30.0, 60.0]
    assert httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep['id']}/table")).json() == table
    for row in table["rows"]:
        assert row["status"] == "succeeded" and row["run_id"], row
        assert row["point_dir"] is None and "data" not in json.dumps(row.get("error") or "")
        run = httpx.get(live.url(f"/api/v1/siting/runs/{row['run_id']}")).json()
        assert run["status"] == "succeeded" and run["scenario"] == row["scenario"]
        sites = httpx.get(live.url(f"/api/v1/siting/runs/{row['run_id']}/sites")).json()
        assert len(sites["features"]) == row["sites"]
    csv_text = httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep['id']}/table?format=csv")).text
    assert csv_text.splitlines()[0].startswith("key,status,") and len(csv_text.splitlines()) == 3
    page = httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep['id']}/page"))
    assert page.headers["content-type"].startswith("text/html") and 'data-points="2"' in page.text
    # The same grid again: the stored sweep (200, reused), as a run.
    again = _post(live, {"stage_years": [[2025, 2030]], "range_margin_km": [60, 30], "time_limit_s": [20]})
    assert again.status_code == 200 and again.json()["id"] == sweep["id"] and again.json()["reused"] is True
    listed = httpx.get(live.url("/api/v1/siting/sweeps")).json()
    assert [s["id"] for s in listed] == [sweep["id"]]


def test_the_map_page_compares_two_runs_of_the_sweep_side_by_side(done_sweep, tmp_path: Path) -> None:
    from tests.test_map_page import _Dom

    live, sweep = done_sweep
    a, b = (r["run_id"] for r in sweep["table"]["rows"])
    done = run_chromium(tmp_path, "--dump-dom", live.url(f"/?sweep={sweep['id']}&run={a}&compare={b}"))
    assert done.returncode == 0, done.stderr[-3000:]
    dom = _Dom()
    dom.feed(done.stdout)
    assert dom.body.get("data-evplan-ready") == "true", done.stdout[-2000:]
    assert "data-evplan-error" not in dom.body, dom.body["data-evplan-error"]
    assert (dom.body["data-evplan-run"], dom.body["data-evplan-compare"], dom.body["data-evplan-sweep"]) == (a, b, sweep["id"])
    sites = {run: httpx.get(live.url(f"/api/v1/siting/runs/{run}/sites")).json()["features"] for run in (a, b)}
    summaries = {run: httpx.get(live.url(f"/api/v1/siting/runs/{run}/summary")).json() for run in (a, b)}
    for side, run in (("a", a), ("b", b)):
        drawn = sorted(m["data-site-id"] for m in dom.site_markers if m.get("data-side") == side)
        assert drawn == sorted(f["properties"]["site_id"] for f in sites[run])
    assert int(dom.body["data-evplan-compare-site-markers"]) == len(sites[b])
    diff = json.loads(dom.body["data-evplan-diff"])
    for year in ("2025", "2030"):
        ca, cb = (summaries[r]["stages"][year]["cost_cny"] for r in (a, b))
        assert diff["capex_cny_by_stage"][year] == {"a": ca, "b": cb, "delta": cb - ca}
    last = {r: summaries[r]["stages"]["2030"] for r in (a, b)}
    assert diff["chargers"]["delta"] == last[b]["chargers"] - last[a]["chargers"]
    assert diff["people_covered"]["delta"] == last[b]["population_covered"] - last[a]["population_covered"]
    ids = {r: {f["properties"]["site_id"] for f in sites[r]} for r in (a, b)}
    assert set(diff["sites_only_a"]) == ids[a] - ids[b] and set(diff["sites_only_b"]) == ids[b] - ids[a]
    assert 'id="diff-table"' in done.stdout and "B − A" in done.stdout


def test_a_sweep_in_flight_when_the_server_is_killed_is_failed_on_restart(tmp_path: Path) -> None:
    live = _server(tmp_path)
    live.start()
    grid = {"range_margin_km": [30, 40, 50, 60], "stage_years": [[2025, 2030]], "time_limit_s": [20]}
    try:
        sweep = _post(live, grid).json()
        running = _wait(live, sweep["id"], {"running", "succeeded", "failed"}, points_done=1)
        assert running["status"] == "running" and running["points_done"] < 4, running
        early = httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep['id']}/table"))
        assert early.status_code == 409 and early.json()["run_status"] == "running"
        children = psutil.Process(live.proc.pid).children(recursive=True)
        assert len(children) >= 3, "expected the sweep process and its Dask workers"
        live.proc.send_signal(signal.SIGKILL)
        live.proc.wait(timeout=10)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, f"sweep processes outlived the server: {alive}"

        live.start()
        after = httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep['id']}")).json()
        assert after["status"] == "failed" and "stopped while this sweep was running" in after["error"]
        assert after["finished_at"] is not None and after["table"] is None
        r = httpx.get(live.url(f"/api/v1/siting/sweeps/{sweep['id']}/page"))
        assert r.status_code == 409 and r.json()["run_status"] == "failed"
        retry = _post(live, grid)
        assert retry.status_code == 202 and retry.json()["id"] != sweep["id"]
        done = _wait(live, retry.json()["id"], {"succeeded", "failed", "cancelled"})
        assert done["status"] == "succeeded", done
        reused = [r["reused"] for r in done["table"]["rows"]]
        assert sum(reused) >= running["points_done"] and all(r["status"] == "succeeded" for r in done["table"]["rows"])
    finally:
        live.stop()
