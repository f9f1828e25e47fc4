"""Case 5: ``evplan sweep``'s own machinery (``planner.sweep.run_sweep``) on Dask, 1 worker against 2.

The issue's grid, budget 60/80/100/120 M CNY x range margin 40/50/60 km on the shipped data (2 x 2 with
``--quick``), each point the main job as a Dask task into its own directory. A ``LocalCluster`` of worker
processes with one thread each (or, with ``--dask-scheduler``, that cluster's workers, pinned to one and
then two). Every worker warms up (imports, the cached network, the fleet records) before the clock starts,
each timing plans every point afresh (a new output directory), and cluster start-up is reported apart.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._measure import Timings, goal, median_of

BUDGETS_CNY = (60e6, 80e6, 100e6, 120e6)
RANGE_MARGINS_KM = (40.0, 50.0, 60.0)
#: Fixed for every point: the two-stage plan, and a time limit that bounds a slow point.
BASE = {"stage_years": (2025, 2030), "time_limit_s": 30.0}
#: Figures two sweeps of the same grid must agree on.
SAME = ("key", "status", "capex_cny", "chargers", "sites", "people_covered", "solver_status")


def grid(quick: bool) -> dict[str, list[float]]:
    """The bench's grid (4 x 3, or 2 x 2 in quick mode)."""
    if quick:
        return {"budget_cny": list(BUDGETS_CNY[1:3]), "range_margin_km": list(RANGE_MARGINS_KM[:2])}
    return {"budget_cny": list(BUDGETS_CNY), "range_margin_km": list(RANGE_MARGINS_KM)}


def warm_up() -> int:
    """In a worker: imports, the cached network and the fleet records (kept per worker) are then warm."""
    import planner.pipeline  # noqa: F401 - the import is the warm-up
    from planner import config
    from planner.network import load_network
    from planner.sweep.run import _records

    load_network(config.SHANWEI_OSM)
    _records({"fleet_dir": str(config.FLEET_DIR)})
    return os.getpid()


def _sweep_once(client: Any, out: Path, inputs: Any, g: dict[str, list[float]],
                workers: list[str] | None) -> tuple[float, list[dict[str, Any]]]:
    from planner.sweep import run_sweep

    options = {"workers": workers, "allow_other_workers": False} if workers else None
    start = time.perf_counter()
    result = run_sweep(g, out, inputs, base=BASE, client=client, submit_options=options, write=True)
    return time.perf_counter() - start, result.rows


def run(options: dict[str, Any]) -> dict[str, Any]:
    """1 worker, then 2; the speed-up is 1-worker time / 2-worker time of the same grid."""
    from dask.distributed import Client, LocalCluster

    from planner import config
    from planner.sweep import SweepInputs

    g = grid(options["quick"])
    points = len(g["budget_cny"]) * len(g["range_margin_km"])
    repeats = options["repeats"]
    address = options.get("dask_scheduler")
    inputs = SweepInputs(osm_path=str(config.SHANWEI_OSM), fleet_dir=str(config.FLEET_DIR))
    sweeps: dict[int, Timings] = {}
    startup: dict[int, float] = {}
    rows: dict[int, list[dict[str, Any]]] = {}
    counts = (1, 2)
    with tempfile.TemporaryDirectory(prefix="evplan-bench-sweep-") as tmp:
        os.environ.setdefault("EVPLAN_CACHE_DIR", os.path.join(tmp, "cache"))
        warm_up()  # the network cache the workers read
        run_no = 0
        if address:
            with Client(address) as client:
                addresses = sorted(client.scheduler_info()["workers"])
                if len(addresses) < 2:
                    raise RuntimeError(f"the cluster at {address} has {len(addresses)} worker(s); 2 are needed")
                client.run(warm_up)
                for k in counts:
                    sweeps[k] = Timings()
                    for _ in range(repeats):
                        run_no += 1
                        seconds, rows[k] = _sweep_once(client, Path(tmp) / f"run{run_no}", inputs, g, addresses[:k])
                        sweeps[k].add(seconds)
            cluster = f"external scheduler {address}, workers {addresses[:2]}"
        else:
            for k in counts:
                t0 = time.perf_counter()
                with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as lc, Client(lc) as client:
                    client.wait_for_workers(k)
                    client.run(warm_up)
                    startup[k] = time.perf_counter() - t0
                    sweeps[k] = Timings()
                    for _ in range(repeats):
                        run_no += 1
                        seconds, rows[k] = _sweep_once(client, Path(tmp) / f"run{run_no}", inputs, g, None)
                        sweeps[k].add(seconds)
            cluster = "LocalCluster, worker processes with 1 thread each, on 127.0.0.1"
    agree, proven = _agreement(rows[1], rows[2])
    speedup = sweeps[1].median_s / sweeps[2].median_s
    statuses = sorted({str(r.get("solver_status") or r["status"]) for r in rows[2]})
    result_rows = [
        {"measure": f"sweep of {points} points (budget x range margin), Dask 1 worker", "value": sweeps[1].median_s,
         "unit": "s", "note": _note(startup.get(1), rows[1])},
        {"measure": f"sweep of {points} points (budget x range margin), Dask 2 workers", "value": sweeps[2].median_s,
         "unit": "s", "note": _note(startup.get(2), rows[2])},
        {"measure": "speed-up 1 -> 2 workers", "value": speedup, "unit": "x",
         "note": "goal >= 1.7x; " + (f"the {proven} points proven optimal in both sweeps "
                                      + ("agree" if agree else "DIFFER") if proven
                                      else "no point proven optimal in both sweeps to compare")
                 + f"; point status {statuses}"},
    ]
    return {
        "title": "Beyond one machine: evplan sweep on Dask distributed",
        "params": {"grid": g, "base": {k: list(v) if isinstance(v, tuple) else v for k, v in BASE.items()},
                   "cluster": cluster, "repeats": repeats},
        "dask": {str(k): {**sweeps[k].to_dict(), "startup_s": startup.get(k)} for k in counts},
        "speedup_1_to_2_workers": speedup,
        "proven_points_agree": agree,
        "proven_points": proven,
        "rows_by_workers": {str(k): [{f: r.get(f) for f in (*SAME, "seconds", "error")} for r in v]
                            for k, v in rows.items()},
        "rows": result_rows,
        "goals": [goal("sweep: 2 Dask workers >= 1.7x faster than 1", ">= 1.7x", round(speedup, 2), "x",
                       speedup >= 1.7, off_by=1.7 / speedup if speedup > 0 else None)],
    }


def _agreement(one: list[dict[str, Any]], two: list[dict[str, Any]]) -> tuple[bool, int]:
    """Whether the points proven optimal in both sweeps agree, and how many there are.

    A point stopped at its time limit keeps the best plan found by then, which depends on how fast its
    worker ran, so only proven points are comparable between a 1-worker and a 2-worker sweep.
    """
    pairs = [(a, b) for a, b in zip(one, two, strict=True)
             if a.get("solver_status") == "optimal" and b.get("solver_status") == "optimal"]
    return all({f: a.get(f) for f in SAME} == {f: b.get(f) for f in SAME} for a, b in pairs), len(pairs)


def _note(startup_s: float | None, rows: list[dict[str, Any]]) -> str:
    """Median point time inside the workers and how many failed; cluster start-up apart."""
    failed = sum(1 for r in rows if r["status"] != "succeeded")
    note = f"median point {median_of([r['seconds'] or 0 for r in rows]):.2f} s, {failed} failed"
    if startup_s is not None:
        note += f"; cluster start + warm-up {startup_s:.1f} s"
    return note
