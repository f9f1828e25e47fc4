"""``evplan sweep`` on real Dask clusters with the real solver, on a one-city generated extract (fast).

The flags are the scenario options with lists; a point that fails is reported and the others go on; a
re-run reuses finished points; the same grid on a separately started ``dask scheduler`` + 2 ``dask
worker`` processes gives the same table as on a local cluster. The shipped-data 4 x 3 sweep and its page
in Chromium are in ``test_sweep_shipped.py``.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from planner.siting.scenario import OPTIONS
from tests.support.live_server import free_port
from tests.test_province import write_province

ROOT = Path(__file__).resolve().parents[1]
BASE_FLAGS = ["--stage-years", "2025,2030", "--time-limit-s", "20"]
#: Figures that must agree between two runs of the same point (not timings, workers or paths).
SAME = ("key", "status", "error", "scenario", "stages", "capex_cny", "chargers", "sites", "people_covered",
        "solver_status", "optimal")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extract, _ = write_province(tmp_path_factory.mktemp("sweep-city"), cities=1)
    return extract


def test_sweep_flags_are_the_scenario_options_each_a_list(capsys) -> None:
    from planner.sweep import grid_from_text

    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    assert all(o.flag in text for o in OPTIONS)
    assert "comma-separated list" in text and "--scheduler" in text and "--scenario" in text
    grid = grid_from_text({"budget_cny": "60e6,80e6,none", "stage_years": "2025,2030/2025,2035",
                           "range_margin_km": "40,40,50"})
    assert grid == {"stage_years": [(2025, 2030), (2025, 2035)], "range_margin_km": [40.0, 50.0],
                    "budget_cny": [6e7, 8e7, None]}


def test_a_bad_value_or_a_too_large_grid_is_refused_naming_the_flag(tmp_path: Path, capsys, city: Path) -> None:
    assert main(["sweep", "--osm", str(city), "--out", str(tmp_path), "--range-margin-km", "40,-5"]) == 2
    assert "--range-margin-km" in capsys.readouterr().err
    assert main(["sweep", "--osm", str(city), "--out", str(tmp_path), "--range-margin-km", "40,50",
                 "--drive-time-min", "20,30", "--max-points", "3"]) == 2
    err = capsys.readouterr().err
    assert "4 points" in err and "at most 3" in err
    # A combination the options refuse together: a town-coverage year that is not a stage year.
    assert main(["sweep", "--osm", str(city), "--out", str(tmp_path), "--stage-years", "2025,2030/2026,2031",
                 "--town-coverage-from", "2030"]) == 2
    assert "--town-coverage-from" in capsys.readouterr().err
    assert not (tmp_path / "sweep.json").exists()


def test_sweep_on_a_local_cluster_reports_failures_and_reuses_finished_points(tmp_path: Path, capsys,
                                                                              city: Path) -> None:
    out = tmp_path / "sweep"
    scenario = tmp_path / "base.toml"
    scenario.write_text('drive_time_min = 45.0\ntown_coverage_from = "none"\n[costs]\nsite_fixed_cny = 500000.0\n',
                        encoding="utf-8")
    args = ["sweep", "--osm", str(city), "--out", str(out), "--workers", "2", "--scenario", str(scenario),
            *BASE_FLAGS, "--range-margin-km", "30,60", "--budget-cny", "none,1"]
    assert main(args) == 3  # some points failed: the 1 CNY budget buys nothing
    err = capsys.readouterr().err
    assert "[1/4]" in err and "[4/4]" in err  # progress on stderr
    table = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    assert table["axes"] == ["range_margin_km", "budget_cny"] and table["points"] == 4
    rows = table["rows"]
    by_budget = {(r["scenario"]["range_margin_km"], r["scenario"]["budget_cny"]): r for r in rows}
    assert set(by_budget) == {(30.0, None), (30.0, 1.0), (60.0, None), (60.0, 1.0)}
    for r in rows:
        assert r["scenario"]["drive_time_min"] == 45.0 and r["scenario"]["town_coverage_from"] is None  # the base
        assert r["scenario"]["costs"]["site_fixed_cny"] == 500000.0  # the base file's [costs] section
        if r["scenario"]["budget_cny"] == 1.0:
            assert r["status"] == "failed" and "budget" in r["error"]
            assert r["error"].splitlines()[0] in err
        else:
            assert r["status"] == "succeeded", r["error"]
            assert r["capex_cny"] > 0 and r["chargers"] > 0 and r["trips_covered"] is None
            assert r["solver_status"] and r["solver_gap"] is not None
            assert (out / r["point_dir"] / "sites.geojson").is_file()
            assert (out / r["point_dir"] / "summary.json").is_file()
            assert set(r["stages"]) == {"2025", "2030"}
    with (out / "sweep.csv").open(encoding="utf-8") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [c["key"] for c in csv_rows] == [r["key"] for r in rows]
    assert {"capex_cny_2025", "capex_cny_2030", "people_covered", "trips_covered", "solver_status",
            "solver_gap"} <= set(csv_rows[0])
    assert {c["costs.site_fixed_cny"] for c in csv_rows} == {"500000.0"}
    html = (out / "sweep.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "http" not in html.split("<body", 1)[1]

    # Again: the finished points are reused, the failed ones are planned again (and fail again).
    assert main(args) == 3
    err = capsys.readouterr().err
    again = json.loads((out / "sweep.json").read_text(encoding="utf-8"))["rows"]
    assert [r["reused"] for r in again] == [r["status"] == "succeeded" for r in rows]
    assert err.count("reused") == 2
    assert [{k: r[k] for k in SAME} for r in again] == [{k: r[k] for k in SAME} for r in rows]


@pytest.fixture
def external_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """``dask scheduler`` and two ``dask worker`` processes (one thread each) on free loopback ports."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "dask.log").open("ab")
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)]
    _wait_for_port(port, procs[0], tmp_path / "dask.log")
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        yield address, procs
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        log.close()


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)


def test_an_external_scheduler_and_two_workers_give_the_same_table(tmp_path: Path, city: Path,
                                                                   external_cluster) -> None:
    from dask.distributed import Client

    from planner.sweep import SweepInputs, run_sweep

    address, procs = external_cluster
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
        worker_pids = set(client.run(os.getpid).values())
    grid = {"range_margin_km": [30.0, 60.0]}
    base = {"stage_years": (2025, 2030), "time_limit_s": 20.0}
    inputs = SweepInputs(osm_path=str(city))
    remote = run_sweep(grid, tmp_path / "remote", inputs, base=base, scheduler=address)
    local = run_sweep(grid, tmp_path / "local", inputs, base=base, workers=2)
    assert [r["status"] for r in remote.rows] == ["succeeded", "succeeded"], [r["error"] for r in remote.rows]
    assert [{k: r[k] for k in SAME} for r in remote.rows] == [{k: r[k] for k in SAME} for r in local.rows]
    assert {int(r["worker"].rsplit(":", 1)[1]) for r in remote.rows} <= worker_pids
    assert remote.cluster.startswith(f"Dask scheduler {address}")
    assert all(p.poll() is None for p in procs)
