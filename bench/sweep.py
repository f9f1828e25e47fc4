"""Case 5: a scenario sweep on Dask's distributed scheduler, 1 worker against 2.

Eight parameter sets (range margin × drive time) of the Shanwei plan run as Dask tasks, each
``planner.pipeline.plan_from_files`` on the shipped data. Here a ``LocalCluster`` of worker
processes with one thread each; with ``--dask-scheduler tcp://host:8786`` the same sweep runs on
that cluster's workers (which need evplan installed and the shipped data at the same path),
first pinned to one worker, then spread over up to two. The processed network is cached on disk
before the clusters start, and every worker warms up (imports, one network load) before the clock
starts, so the figures compare the sweep itself; start-up is reported apart.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from itertools import product
from typing import Any

from bench._measure import Timings, median_of

RANGE_MARGINS_KM = (40.0, 50.0, 60.0, 80.0)
DRIVE_TIMES_MIN = (30.0, 45.0)


def scenarios(quick: bool) -> list[dict[str, float]]:
    """The sweep's parameter sets (4 in quick mode, 8 otherwise)."""
    margins = RANGE_MARGINS_KM[:2] if quick else RANGE_MARGINS_KM
    return [{"range_margin_km": m, "drive_time_min": d} for m, d in product(margins, DRIVE_TIMES_MIN)]


def plan_task(params: dict[str, float]) -> dict[str, Any]:
    """One sweep task: plan Shanwei with these parameters; returns the figures a sweep compares."""
    from planner import config
    from planner.errors import InfeasibleError
    from planner.pipeline import plan_from_files
    from planner.siting import scenario_from_options

    start = time.perf_counter()
    scenario = scenario_from_options(**params)
    try:
        done = plan_from_files(config.SHANWEI_OSM, config.FLEET_DIR, scenario)
    except InfeasibleError as exc:
        return {"params": params, "status": "infeasible", "reasons": len(exc.reasons),
                "seconds": time.perf_counter() - start, "pid": os.getpid()}
    final = str(scenario.stage_years[-1])
    stage = done.summary["stages"][final]
    return {
        "params": params,
        "status": done.summary["solver"]["status"],
        "objective_cny": done.summary["solver"]["objective_cny"],
        "sites": stage["sites"],
        "chargers": stage["chargers"],
        "seconds": time.perf_counter() - start,
        "pid": os.getpid(),
    }


def warm_up() -> int:
    """Run one plan in this worker: imports, the disk-cached network and the solver are then warm."""
    plan_task({})
    return os.getpid()


def _sweep(
    client: Any, params: list[dict[str, float]], workers: list[str] | None
) -> tuple[float, list[dict[str, Any]]]:
    """Run the sweep's tasks on the cluster (optionally pinned to ``workers``); wall time and results."""
    start = time.perf_counter()
    # A lambda is not picklable by reference, so Dask falls back to cloudpickle, which sends it (and this
    # module's functions, registered in ``run``) by value: the workers need evplan, not this checkout.
    futures = client.map(lambda p: plan_task(p), params, pure=False, workers=workers,  # noqa: PLW0108
                         allow_other_workers=False)
    results = client.gather(futures)
    return time.perf_counter() - start, results


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Serial baseline, then 1 and 2 workers; the speed-up is 1-worker time / 2-worker time."""
    import cloudpickle
    from dask.distributed import Client, LocalCluster

    # Send this module's task functions by value (see _sweep).
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    params = scenarios(options["quick"])
    repeats = options["repeats"]
    address = options.get("dask_scheduler")
    with tempfile.TemporaryDirectory(prefix="evplan-bench-sweep-") as tmp:
        os.environ["EVPLAN_CACHE_DIR"] = os.path.join(tmp, "cache")
        t0 = time.perf_counter()
        warm_up()  # fills the disk cache the workers read, and warms this process for the serial baseline
        cache_fill_s = time.perf_counter() - t0

        serial = Timings()
        serial_results: list[dict[str, Any]] = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            serial_results = [plan_task(p) for p in params]
            serial.add(time.perf_counter() - t0)

        sweeps: dict[int, Timings] = {}
        startup: dict[int, float] = {}
        results_by_workers: dict[int, list[dict[str, Any]]] = {}
        worker_counts = (1, 2)
        if address:
            with Client(address) as client:
                addresses = sorted(client.scheduler_info()["workers"])
                if len(addresses) < 2:
                    raise RuntimeError(f"the cluster at {address} has {len(addresses)} worker(s); 2 are needed")
                client.run(lambda: warm_up())  # noqa: PLW0108 - sent by value, see _sweep
                for k in worker_counts:
                    sweeps[k] = Timings()
                    for _ in range(repeats):
                        seconds, results_by_workers[k] = _sweep(client, params, addresses[:k])
                        sweeps[k].add(seconds)
                cluster_desc = f"external scheduler {address}, workers {addresses[:2]}"
        else:
            for k in worker_counts:
                t0 = time.perf_counter()
                with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster, Client(cluster) as client:
                    client.wait_for_workers(k)
                    client.run(warm_up)
                    startup[k] = time.perf_counter() - t0
                    sweeps[k] = Timings()
                    for _ in range(repeats):
                        seconds, results_by_workers[k] = _sweep(client, params, None)
                        sweeps[k].add(seconds)
            cluster_desc = "LocalCluster, worker processes with 1 thread each, on 127.0.0.1"

    agree = all(
        _same(a, b) for k in worker_counts for a, b in zip(serial_results, results_by_workers[k], strict=True)
    )
    speedup = sweeps[1].median_s / sweeps[2].median_s
    rows = [
        {"measure": f"sweep of {len(params)} scenarios, serial in-process", "value": serial.median_s, "unit": "s",
         "note": f"median task {median_of([r['seconds'] for r in serial_results]):.2f} s"},
        {"measure": f"sweep of {len(params)} scenarios, Dask 1 worker", "value": sweeps[1].median_s, "unit": "s",
         "note": _dask_note(startup.get(1), results_by_workers[1])},
        {"measure": f"sweep of {len(params)} scenarios, Dask 2 workers", "value": sweeps[2].median_s, "unit": "s",
         "note": _dask_note(startup.get(2), results_by_workers[2])},
        {"measure": "speed-up 1 -> 2 workers", "value": speedup, "unit": "x",
         "note": "ideal 2x; results identical to serial: " + ("yes" if agree else "NO")},
    ]
    return {
        "title": "Beyond one machine: scenario sweep on Dask distributed",
        "params": {"scenarios": params, "cluster": cluster_desc, "repeats": repeats},
        "cache_fill_s": cache_fill_s,
        "serial": serial.to_dict(),
        "dask": {str(k): {**sweeps[k].to_dict(), "startup_s": startup.get(k)} for k in worker_counts},
        "speedup_1_to_2_workers": speedup,
        "results_agree_with_serial": agree,
        "tasks": serial_results,
        "tasks_by_workers": {str(k): v for k, v in results_by_workers.items()},
        "rows": rows,
        "goals": [],
    }


def _dask_note(startup_s: float | None, tasks: list[dict[str, Any]]) -> str:
    """Median task time inside the workers (longer than serial: the cores are shared) and start-up."""
    processes = len({t["pid"] for t in tasks})
    note = f"median task {median_of([t['seconds'] for t in tasks]):.2f} s in {processes} process(es)"
    if startup_s is not None:
        note += f"; cluster start + warm-up {startup_s:.1f} s"
    return note


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("status", "objective_cny", "sites", "chargers")
    return all(a.get(k) == b.get(k) for k in keys if k in a or k in b)
