"""Siting runs in worker processes: a concurrency limit, a time limit, cancellation, never the event loop.

A dispatcher thread starts each queued run in its own spawned process (at most
``max_concurrent_runs`` at once), kills a process that exceeds ``run_time_limit_s`` or whose run is
cancelled, and records a worker that dies as a failed run with the reason. A worker whose service
process dies (SIGKILL, OOM) notices and exits, so no orphan keeps computing; on the next start the
service marks the run failed (``Store.fail_interrupted_runs``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store import RunRecord, Store
from planner.fleet import store as fleet_store
from planner.siting.scenario import OptionValues

log = logging.getLogger("evplan.runs")

#: How often a worker checks that the service that started it is still alive, seconds.
PARENT_CHECK_S = 1.0


def scenario_key(scenario: OptionValues, osm_path: Path, fleet_dir: Path, db_path: Path) -> str:
    """Identity of a run: the normalised scenario and the inputs it reads — the files (name, size,
    mtime) and the uploaded fleet files in the store (their sha256), which a run plans with."""

    def stamp(p: Path) -> list[Any]:
        files = sorted(p.iterdir()) if p.is_dir() else [p]
        return [[f.name, f.stat().st_size, int(f.stat().st_mtime)] for f in files if f.is_file()]

    payload = {"scenario": scenario, "osm": stamp(Path(osm_path)), "fleet": stamp(Path(fleet_dir)),
               "stored_fleet_files": [i["sha256"] for i in fleet_store.list_ingests(db_path)]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _exit_when_orphaned(parent_pid: int) -> None:
    """End this worker once the service process that started it is gone (it cannot store results then)."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, name="evplan-parent-watch", daemon=True).start()


def execute_run(run_id: str, db_path: str, osm_path: str, fleet_dir: str, scenario: OptionValues,
                parent_pid: int | None = None) -> None:
    """Worker-process entry: run the main job on one scenario and store its results (or its error).

    The run writes the same files as ``evplan plan`` to ``run_output_dir`` and stores the sites,
    coverage and summary in the database, from which the API serves them.
    """
    # Its own process group: killing the run then also ends a solver program it started (CBC).
    os.setpgrp()
    if parent_pid is not None:
        _exit_when_orphaned(parent_pid)
    from app.fleet_records import records_in_use
    from planner import config
    from planner.errors import EvplanError, StorageError
    from planner.pipeline import run_main_job
    from planner.siting.scenario import scenario_from_options

    store = Store(Path(db_path))

    def progress(fraction: float, message: str) -> None:
        try:
            store.set_progress(run_id, 0.05 + 0.9 * fraction, message)
        except StorageError as exc:  # progress is best-effort: a busy or full database must not fail the run
            log.warning("run %s: progress not stored: %s", run_id, exc)

    try:
        # The checks of the API's body again (a stored scenario may predate them): a ScenarioError is
        # the user's, reported like any other evplan error below.
        plan_scenario = scenario_from_options(scenario)
        records, source = records_in_use(Path(fleet_dir), Path(db_path))
        done = run_main_job(osm_path, fleet_dir, plan_scenario, run_output_dir(Path(db_path), run_id),
                            default_targets=config.FLEET_DIR / "targets.toml", records=records, progress=progress)
        done.summary["fleet_records"] = source
        store.finish_run(run_id, done.summary, done.sites, done.coverage)
    except EvplanError as exc:
        store.fail_run(run_id, _public(f"{type(exc).__name__}: {exc}", db_path, osm_path, fleet_dir))
    except Exception as exc:  # noqa: BLE001 - a worker must record every failure before it exits
        store.fail_run(run_id, _public(f"internal error: {type(exc).__name__}: {exc}", db_path, osm_path, fleet_dir))
        raise


def run_output_dir(db_path: Path, run_id: str) -> Path:
    """Where a run writes the files of ``evplan plan`` (``planner.pipeline.OUTPUT_FILES``): beside the database."""
    return Path(db_path).parent / "runs" / run_id


def _public(message: str, db_path: str, osm_path: str, fleet_dir: str) -> str:
    """A run's error as anyone may read it: the service's own file paths replaced by what they are."""
    for path, label in ((fleet_dir, "the fleet records"), (osm_path, "the road network file"),
                        (db_path, "the service database"), (str(Path(db_path).parent), "the data directory")):
        message = message.replace(str(Path(path).resolve()), label).replace(str(path), label)
    return message


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process was killed by {name} (out of memory?)"
    return f"worker process exited with code {exitcode} without storing a result"


@dataclass
class _Active:
    process: Any
    started: float


def _kill(process: Any) -> None:
    """End a worker and everything it started (its process group), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # already gone, or not yet its own group
        process.kill()
    process.join(timeout=5)


class RunManager:
    """Queues, starts, watches and cancels siting runs.

    One ``RunManager`` per database: on start it fails every unfinished run, so the service must run
    as one process (``evplan serve`` does; do not start uvicorn with ``--workers``).
    """

    def __init__(self, store: Store, *, osm_path: Path, fleet_dir: Path, max_concurrent: int, time_limit_s: float):
        self.store = store
        self.osm_path = Path(osm_path)
        self.fleet_dir = Path(fleet_dir)
        self.max_concurrent = max(1, max_concurrent)
        self.time_limit_s = time_limit_s
        self._ctx = mp.get_context("spawn")
        self._active: dict[str, _Active] = {}
        # Held while a run goes queued -> running -> registered, and while a run is cancelled, so a
        # cancel can never miss a worker that is being started.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Mark runs interrupted by a previous process as failed, then start dispatching."""
        failed = self.store.fail_interrupted_runs()
        if failed:
            log.warning("marked %d interrupted siting run(s) as failed", failed)
        self._thread = threading.Thread(target=self._loop, name="evplan-runs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching and end running workers (their runs are marked failed)."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
        with self._lock:
            for run_id, active in list(self._active.items()):
                _kill(active.process)
                self.store.fail_run(run_id, "the service shut down while this run was running; submit it again")
            self._active.clear()

    def submit(self, scenario: OptionValues) -> tuple[RunRecord, bool]:
        """Queue a scenario; the same scenario on the same inputs returns the stored run instead."""
        key = scenario_key(scenario, self.osm_path, self.fleet_dir, self.store.path)
        run, created = self.store.create_run(key, scenario)
        self._wake.set()
        return run, created

    def cancel(self, run_id: str) -> RunRecord:
        """Cancel a queued or running run (killing its worker); finished runs are left as they are."""
        run = self.store.get_run(run_id)
        if run.status in ("queued", "running"):
            with self._lock:
                active = self._active.pop(run_id, None)
                if active:
                    _kill(active.process)
                self.store.fail_run(run_id, "cancelled on request", status="cancelled")
        return self.store.get_run(run_id)

    def active_run_ids(self) -> list[str]:
        """Runs with a live worker process."""
        with self._lock:
            return list(self._active)

    def _loop(self) -> None:
        last_error = None
        while not self._stop.is_set():
            try:
                self._reap()
                self._dispatch()
                last_error = None
            except Exception as exc:  # noqa: BLE001 - keep dispatching (and retrying); the error is logged
                # Logged once while it repeats: a full disk would otherwise log a traceback 4 times a second.
                if repr(exc) != last_error:
                    log.exception("run dispatcher error (retrying every 0.25 s)")
                last_error = repr(exc)
            self._wake.wait(0.25)
            self._wake.clear()

    def _reap(self) -> None:
        with self._lock:
            for run_id, active in list(self._active.items()):
                proc = active.process
                if proc.is_alive():
                    if self.time_limit_s and time.monotonic() - active.started > self.time_limit_s:
                        _kill(proc)
                        self.store.fail_run(run_id, f"time limit of {self.time_limit_s:g} s exceeded "
                                                    "(EVPLAN_RUN_TIME_LIMIT_S)")
                        del self._active[run_id]
                    continue
                proc.join()
                # A no-op when the worker stored its result or its error itself.
                self.store.fail_run(run_id, _exit_reason(proc.exitcode))
                del self._active[run_id]

    def _dispatch(self) -> None:
        with self._lock:
            free = self.max_concurrent - len(self._active)
            if free <= 0 or self._stop.is_set():
                return
            for run in self.store.queued_runs()[:free]:
                if not self.store.mark_running(run.id):
                    continue
                proc = self._ctx.Process(
                    target=execute_run,
                    args=(run.id, str(self.store.path), str(self.osm_path), str(self.fleet_dir), run.scenario,
                          os.getpid()),
                    name=f"evplan-run-{run.id[:8]}",
                    daemon=True,
                )
                try:
                    proc.start()
                except Exception as exc:  # noqa: BLE001 - the run is marked running: record why it never started
                    self.store.fail_run(run.id, f"could not start a worker process: {exc}")
                    continue
                self._active[run.id] = _Active(proc, time.monotonic())
