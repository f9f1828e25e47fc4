"""Case 1: the main job on the shipped Shanwei data, stage by stage.

Each repeat runs three fresh interpreters sharing one temporary ``EVPLAN_CACHE_DIR``:

1. *cold*: the cache is empty, so the network is parsed from ``data/osm/shanwei.osm``;
2. *warm*: the same stages with the processed network read from the cache;
3. *CLI*: ``python -m cli plan --quiet`` with the warm cache, timed from outside — the
   wall time a user meets, interpreter start and imports included (the 10 s goal).

Stages 1 and 2 call ``planner.pipeline.plan_from_files`` (what ``evplan plan`` and the service run)
and split its time and peak memory by the progress steps it reports; the outputs stage makes
the same files as ``evplan plan``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._measure import PeakRss, Timings, goal, median_of, profile_text, run_json_subprocess, write_json

#: Goals of issue 7 for this case.
WARM_GOAL_S = 10.0
CACHE_SPEEDUP_GOAL = 10.0


class StepRecorder:
    """A progress callback that cuts wall time and peak memory at every step boundary."""

    def __init__(self) -> None:
        self.rss = PeakRss()
        self.intervals: list[dict[str, Any]] = []
        self._last = time.perf_counter()

    def __call__(self, fraction: float, message: str) -> None:
        if "[" not in message:  # a phase note inside a step (the solver's), not a step boundary
            return
        now = time.perf_counter()
        self.intervals.append(
            {"ended_by": message, "seconds": now - self._last, "peak_rss_mb": self.rss.peak_mb()}
        )
        self.rss.reset()
        self._last = time.perf_counter()

    def finished_steps(self) -> list[tuple[str, dict[str, Any]]]:
        """``(label, interval)`` for every step end (``[i/n] label: x s``), in order."""
        out = []
        for item in self.intervals:
            text = item["ended_by"].split("] ", 1)[-1]
            if not text.endswith(" …") and ": " in text:
                out.append((text.rsplit(": ", 1)[0], item))
        return out


#: Short names for the progress steps of ``plan_from_files`` and ``plan_sites``.
STEP_NAMES = {
    "load road network": "network load",
    "load fleet records": "fleet records",
    "candidates, towns and corridor windows": "candidates and corridor windows",
    "drive times from towns to public candidates": "distances",
    # The pipeline's wrapper around plan_sites: what is left after its own steps.
    "site and size chargers": "plan summary",
}


def _named_steps(rec: StepRecorder, solve_s: float) -> list[tuple[str, dict[str, Any]]]:
    """The recorded steps under short names; the step holding the solve is split into build and solve."""
    out = []
    for label, item in rec.finished_steps():
        if "solve" in label:
            rest = label.replace("model build, solve and ", "").replace("model build and solve", "")
            build_name = "model build" + (f" + {rest}" if rest else "")
            out.append((build_name, {"seconds": max(item["seconds"] - solve_s, 0.0),
                                     "peak_rss_mb": item["peak_rss_mb"]}))
            out.append(("solve", {"seconds": solve_s, "peak_rss_mb": item["peak_rss_mb"]}))
        else:
            out.append((STEP_NAMES.get(label, label), item))
    return out


def _stages_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter: imports, plan_from_files by step, and the outputs, with peak memory."""
    rss = PeakRss()
    cache = Path(os.environ["EVPLAN_CACHE_DIR"])
    cache_was_empty = not any(cache.iterdir()) if cache.exists() else True
    start = time.perf_counter()
    from planner import config, fleet
    from cli._common import write_json as _write_json
    from planner.geo import write_geojson
    from planner.pipeline import plan_from_files
    from planner.fleet.report import write_report
    from planner.siting import Scenario

    imports = {"seconds": time.perf_counter() - start, "peak_rss_mb": rss.peak_mb()}
    rec = StepRecorder()
    t0 = time.perf_counter()
    done = plan_from_files(config.SHANWEI_OSM, config.FLEET_DIR, Scenario(), progress=rec)
    pipeline_s = time.perf_counter() - t0
    tail = {"seconds": time.perf_counter() - rec._last, "peak_rss_mb": rec.rss.peak_mb()}

    out = Path(payload["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    rss.reset()
    t0 = time.perf_counter()
    write_geojson(done.service_areas, out / "service_areas.geojson")
    write_geojson(done.sites, out / "sites.geojson")
    write_geojson(done.coverage, out / "coverage.geojson")
    _write_json(done.summary, out / "summary.json")
    years = fleet.record_years(done.records)
    series = fleet.indicator_series(done.records.vehicles, done.records.activity,
                                    years=list(range(years[0], years[-1] + 1)))
    _write_json(json.loads(series.to_json(orient="records")), out / "fleet_indicators.json")
    write_report(done.records, out_dir=out, targets=fleet.load_target_set(config.TARGETS_FILE))
    writes = {"seconds": time.perf_counter() - t0, "peak_rss_mb": rss.peak_mb()}

    stages = [("imports", imports), *_named_steps(rec, done.result.solve.solve_time_s)]
    stages.append(("outputs", {"seconds": tail["seconds"] + writes["seconds"],
                               "peak_rss_mb": max(tail["peak_rss_mb"], writes["peak_rss_mb"])}))
    solve = done.result.solve
    graph = done.network.graph
    return {
        "cache_was_empty": cache_was_empty,
        "pipeline_s": pipeline_s,
        "stages": {name: {"seconds": v["seconds"], "peak_rss_mb": v["peak_rss_mb"]} for name, v in stages},
        "instance": {
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
            "service_area_sides": len(done.network.service_areas),
            "places": len(done.network.places),
            "corridor_windows": len(done.result.windows),
            "sites_opened": len(done.result.sites),
        },
        "solver": {"status": solve.status, "objective": solve.objective, "gap": solve.gap, "solver": solve.solver},
        "memory_method": rss.method,
    }


def _profile_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter with a warm cache: a pyinstrument tree of the whole warm job."""
    from planner import config
    from planner.pipeline import plan_from_files
    from planner.siting import Scenario

    return {"profile": profile_text(lambda: plan_from_files(config.SHANWEI_OSM, config.FLEET_DIR, Scenario()),
                                    max_lines=80)}


def _cli_run(cache_dir: Path, out_dir: Path) -> dict[str, float]:
    """``python -m cli plan --quiet`` timed from outside; peak RSS of the child from wait4."""
    env = {**os.environ, "EVPLAN_CACHE_DIR": str(cache_dir)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cli", "plan", "--quiet", "--out", str(out_dir)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        peak_mb = usage.ru_maxrss / 1024.0  # Linux: kilobytes
        proc.returncode = code
    else:  # pragma: no cover - not Linux
        code = proc.wait()
        seconds, peak_mb = time.perf_counter() - start, float("nan")
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if code != 0:
        raise RuntimeError(f"evplan plan exited with {code}: {err[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": peak_mb}


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Cold and warm stage timings, the CLI's warm wall time, and the goals."""
    repeats = options["repeats"]
    cold_runs: list[dict[str, Any]] = []
    warm_runs: list[dict[str, Any]] = []
    cli_runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="evplan-bench-shanwei-") as tmp:
        for r in range(repeats):
            cache = Path(tmp) / f"cache-{r}"
            cache.mkdir()
            env = {"EVPLAN_CACHE_DIR": str(cache)}
            cold_runs.append(run_json_subprocess("bench.shanwei", {"mode": "stages", "out_dir": f"{tmp}/out-c{r}"},
                                                 env=env))
            warm_runs.append(run_json_subprocess("bench.shanwei", {"mode": "stages", "out_dir": f"{tmp}/out-w{r}"},
                                                 env=env))
            cli_runs.append(_cli_run(cache, Path(tmp) / f"out-cli{r}"))
        if not cold_runs[0]["cache_was_empty"] or warm_runs[0]["cache_was_empty"]:
            raise RuntimeError("cache set-up went wrong: the cold run found a cache or the warm run none")

        def stage_median(runs: list[dict[str, Any]], stage: str, key: str) -> float:
            return median_of([run["stages"][stage][key] for run in runs])

        stage_names = list(warm_runs[0]["stages"])
        stages = {
            name: {
                "cold_s": stage_median(cold_runs, name, "seconds"),
                "warm_s": stage_median(warm_runs, name, "seconds"),
                "cold_peak_rss_mb": stage_median(cold_runs, name, "peak_rss_mb"),
                "warm_peak_rss_mb": stage_median(warm_runs, name, "peak_rss_mb"),
            }
            for name in stage_names
        }
        cold_load = Timings([run["stages"]["network load"]["seconds"] for run in cold_runs])
        cached_load = Timings([run["stages"]["network load"]["seconds"] for run in warm_runs])
        cli = Timings([c["seconds"] for c in cli_runs])
        cli_peak = median_of([c["peak_rss_mb"] for c in cli_runs])
        warm_in_process = Timings([sum(v["seconds"] for v in run["stages"].values()) for run in warm_runs])
        speedup = cold_load.median_s / cached_load.median_s

        profile = None
        if options["profile"] and (cli.median_s >= WARM_GOAL_S or speedup < CACHE_SPEEDUP_GOAL):
            profile = run_json_subprocess("bench.shanwei", {"mode": "profile"},
                                          env={"EVPLAN_CACHE_DIR": str(Path(tmp) / "cache-0")})["profile"]

    rows = [
        {"measure": "network load, cold (cache empty)", "value": cold_load.median_s, "unit": "s",
         "note": f"peak {stages['network load']['cold_peak_rss_mb']:.0f} MB"},
        {"measure": "network load, cached", "value": cached_load.median_s, "unit": "s",
         "note": f"peak {stages['network load']['warm_peak_rss_mb']:.0f} MB"},
        {"measure": "network cache speed-up (cold / cached)", "value": speedup, "unit": "x", "note": "goal >= 10x"},
    ]
    for name in stage_names:
        if name == "network load":
            continue
        rows.append({"measure": f"{name} (warm)", "value": stages[name]["warm_s"], "unit": "s",
                     "note": f"peak {stages[name]['warm_peak_rss_mb']:.0f} MB"})
    rows += [
        {"measure": "end to end, warm, in-process (sum of stages)", "value": warm_in_process.median_s, "unit": "s",
         "note": "imports included"},
        {"measure": "end to end, warm, `evplan plan` CLI", "value": cli.median_s, "unit": "s",
         "note": f"peak {cli_peak:.0f} MB; goal < 10 s"},
    ]
    goals = [
        goal("Shanwei end to end warm (`evplan plan`)", f"< {WARM_GOAL_S:g} s", cli.median_s, "s",
             cli.median_s < WARM_GOAL_S, off_by=cli.median_s / WARM_GOAL_S),
        goal("network cache speed-up (cold / cached)", f">= {CACHE_SPEEDUP_GOAL:g}x", speedup, "x",
             speedup >= CACHE_SPEEDUP_GOAL, off_by=CACHE_SPEEDUP_GOAL / speedup),
    ]
    return {
        "title": "Shanwei end to end (shipped data, default scenario)",
        "params": {"repeats": repeats, "scenario": "Scenario() defaults", "memory": warm_runs[0]["memory_method"]},
        "instance": warm_runs[0]["instance"],
        "solver": warm_runs[0]["solver"],
        "stages": stages,
        "network_load_cold": cold_load.to_dict(),
        "network_load_cached": cached_load.to_dict(),
        "cache_speedup": speedup,
        "end_to_end_warm_in_process": warm_in_process.to_dict(),
        "end_to_end_warm_cli": {**cli.to_dict(), "peak_rss_mb": cli_peak},
        "rows": rows,
        "goals": goals,
        "profile": profile,
    }


def main(argv: list[str]) -> int:
    """Worker entry (``python -m bench.shanwei '<json>' OUT``) used by ``run``."""
    payload = json.loads(argv[0])
    worker = {"stages": _stages_worker, "profile": _profile_worker}[payload["mode"]]
    write_json(worker(payload), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
