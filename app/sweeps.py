"""Siting sweeps in the service: one process per sweep drives its points as Dask tasks; each point is a run.

A dispatcher thread starts each queued sweep in its own process group (a local Dask cluster by default,
``EVPLAN_DASK_SCHEDULER`` for an existing one), kills it past ``EVPLAN_SWEEP_TIME_LIMIT_S`` or on cancel, and
on start marks sweeps a previous process left unfinished as failed; their finished points are reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from app.runs import WorkerSupervisor, _public, exit_when_orphaned, scenario_key
from app.store import SweepRecord
from planner.fleet import store as fleet_store
from planner.sweep import grid_points, grid_size
from planner.sweep.grid import jsonable

log = logging.getLogger("evplan.sweeps")


def sweeps_dir(db_path: Path) -> Path:
    """Where sweeps write their files: beside the database; ``points/`` is shared by all sweeps."""
    return Path(db_path).parent / "sweeps"


def _stamps(p: Path) -> list[Any]:
    files = sorted(p.iterdir()) if p.is_dir() else [p]
    return [[f.name, f.stat().st_size, int(f.stat().st_mtime)] for f in files if f.is_file()]


def sweep_key(points: list[dict[str, Any]], osm_path: Path, fleet_dir: Path, db_path: Path) -> str:
    """Identity of a sweep: its normalised points (in any order) and the inputs they read (as a run's)."""
    payload = {"points": sorted(json.dumps(p, sort_keys=True) for p in points), "osm": _stamps(Path(osm_path)), "fleet": _stamps(Path(fleet_dir)),
               "stored_fleet_files": [i["sha256"] for i in fleet_store.list_ingests(db_path)]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def execute_sweep(sweep_id: str, db_path: str, osm_path: str, fleet_dir: str, grid: dict[str, Any],
                  max_points: int, workers: int, scheduler: str, parent_pid: int | None = None) -> None:
    """Sweep-process entry: run every point (Dask tasks), store each finished point as a run, then the table
    and the page."""
    os.setpgrp()  # its Dask workers join this group: killing the sweep ends them too
    if parent_pid is not None:
        exit_when_orphaned(parent_pid, whole_group=True)
    from app.store import Store
    from planner.errors import EvplanError, StorageError
    from planner.sweep import SweepEvent, SweepInputs, render_page, run_sweep

    store = Store(Path(db_path))
    points_dir = sweeps_dir(Path(db_path)) / "points"
    run_ids: dict[str, str] = {}

    def public(text: str) -> str:
        return _public(text, db_path, osm_path, fleet_dir).replace(str(points_dir), "points")

    def progress(event: SweepEvent) -> None:
        row = event.row
        if row["status"] == "succeeded":
            try:
                run_ids[row["key"]] = _store_point(store, row, points_dir, osm_path, fleet_dir, db_path)
            except (OSError, ValueError, StorageError) as exc:
                log.warning("sweep %s: point %s not stored as a run: %s", sweep_id, row["key"], exc)
        try:
            store.set_sweep_progress(sweep_id, event.done, f"{event.done}/{event.total} points: last {row['status']}")
        except StorageError as exc:  # best-effort, as a run's progress
            log.warning("sweep %s: progress not stored: %s", sweep_id, exc)

    try:
        ingests = tuple(i["sha256"] for i in fleet_store.list_ingests(Path(db_path)))
        inputs = SweepInputs(osm_path=osm_path, fleet_dir=fleet_dir, records_db=db_path, identity=ingests)
        result = run_sweep(grid, sweeps_dir(Path(db_path)) / sweep_id, inputs, scheduler=scheduler or None,
                           workers=workers or None, points_dir=points_dir, max_points=max_points,
                           progress=progress, write=False)
        table = result.to_json()
        for row in table["rows"]:
            row["run_id"] = run_ids.get(row["key"])
            row["point_dir"] = None  # a path on the server
            row["worker"] = None
            if row.get("error"):
                row["error"] = public(row["error"])
        table["cluster"] = "Dask " + ("scheduler" if scheduler else "local cluster")
        store.finish_sweep(sweep_id, table, render_page(table))
    except EvplanError as exc:
        store.fail_sweep(sweep_id, public(f"{type(exc).__name__}: {exc}"))
    except Exception as exc:
        store.fail_sweep(sweep_id, public(f"internal error: {type(exc).__name__}: {exc}"))
        raise


def _store_point(store: Any, row: dict[str, Any], points_dir: Path, osm_path: str, fleet_dir: str,
                 db_path: str) -> str:
    """A finished point as a succeeded run (the map page shows and compares it as any run); its run id."""
    point = points_dir / row["key"]

    def read(name: str) -> Any:
        return json.loads((point / name).read_text(encoding="utf-8"))

    summary = read("summary.json")
    summary.setdefault("fleet_records", "store" if fleet_store.list_ingests(Path(db_path)) else "shipped")
    key = scenario_key(row["scenario"], Path(osm_path), Path(fleet_dir), Path(db_path))
    run = store.add_finished_run(key, row["scenario"], summary, read("sites.geojson"), read("coverage.geojson"))
    return run.id


class SweepManager(WorkerSupervisor):
    """Queues, starts, watches and cancels sweeps, one at a time (each uses every worker it is given)."""

    noun = "sweep"
    process_noun = "sweep process"
    time_limit_setting = "EVPLAN_SWEEP_TIME_LIMIT_S"
    time_limit_note = "; its finished points are reused when it is submitted again"
    shutdown_error = ("the service shut down while this sweep was running; submit it again: its finished points "
                      "are reused")
    poll_s = 0.5
    daemon = False  # it starts the Dask cluster's worker processes itself

    def __init__(self, store: Any, *, osm_path: Path, fleet_dir: Path, max_points: int, workers: int,
                 scheduler: str, time_limit_s: float) -> None:
        super().__init__(max_concurrent=1, time_limit_s=time_limit_s)
        self.store = store
        self.osm_path = Path(osm_path)
        self.fleet_dir = Path(fleet_dir)
        self.max_points = max_points
        self.workers = workers
        self.scheduler = scheduler

    def submit(self, grid: dict[str, list[Any]]) -> tuple[SweepRecord, bool]:
        """Queue a grid (checked, at most ``max_points`` points); the same grid on the same inputs returns
        the stored sweep. Raises ``GridError``/``ScenarioError`` for a bad or too large grid."""
        from planner.sweep import GridError

        size = grid_size(grid)
        if size > self.max_points:
            raise GridError(f"the grid has {size} points; at most {self.max_points} are allowed "
                            "(EVPLAN_MAX_SWEEP_POINTS)")
        points = [jsonable(p) for p in grid_points(grid, max_points=self.max_points)]
        key = sweep_key(points, self.osm_path, self.fleet_dir, self.store.path)
        sweep, created = self.store.create_sweep(key, {k: [list(v) if isinstance(v, tuple) else v for v in vs]
                                                       for k, vs in grid.items()}, len(points))
        self._wake.set()
        return sweep, created

    def _fail_interrupted(self) -> int:
        return self.store.fail_interrupted_sweeps()

    def _queued(self) -> list[Any]:
        return self.store.queued_sweeps()

    def _mark_running(self, job_id: str) -> bool:
        return self.store.mark_sweep_running(job_id)

    def _fail(self, job_id: str, error: str, *, status: str = "failed") -> bool:
        return self.store.fail_sweep(job_id, error, status=status)

    def _get(self, job_id: str) -> SweepRecord:
        return self.store.get_sweep(job_id)

    def _target(self, job: SweepRecord) -> tuple[Any, tuple[Any, ...]]:
        return execute_sweep, (job.id, str(self.store.path), str(self.osm_path), str(self.fleet_dir), job.grid,
                               self.max_points, self.workers, self.scheduler, os.getpid())
