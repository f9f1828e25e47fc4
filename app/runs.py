"""Siting runs in worker processes: a concurrency limit, a time limit, cancellation, never the event loop.

A dispatcher thread starts each queued run in its own spawned process (at most
``max_concurrent_runs`` at once), kills a process that exceeds ``run_time_limit_s`` or whose run is
cancelled, and records a worker that dies as a failed run with the reason. A worker whose service
process dies (SIGKILL, OOM) notices and exits, so no orphan keeps computing; on the next start the
service marks the run failed (``Store.fail_interrupted_runs``).

Each run writes the files of ``evplan plan`` to ``<data_dir>/runs/<id>/``; the API serves its results from
the database, so these files are kept only for a while (``prune_run_dirs``): ``DELETE /siting/runs/{id}``
removes the run's directory whatever its status, a failed or cancelled run's directory is removed once
its worker is gone, and of succeeded runs only the ``KEEP_RUN_DIRS`` (20) newest keep theirs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import threading
import time
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


def exit_when_orphaned(parent_pid: int, *, whole_group: bool = False) -> None:
    """End this worker (with ``whole_group``, its whole process group) once the service that started it is gone:
    it could not store its results then."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                if whole_group:
                    os.killpg(0, signal.SIGKILL)
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
        exit_when_orphaned(parent_pid)
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
    except Exception as exc:
        store.fail_run(run_id, _public(f"internal error: {type(exc).__name__}: {exc}", db_path, osm_path, fleet_dir))
        raise


def run_output_dir(db_path: Path, run_id: str) -> Path:
    """Where a run writes the files of ``evplan plan`` (``planner.pipeline.OUTPUT_FILES``): beside the database."""
    return Path(db_path).parent / "runs" / run_id


#: Output directories of succeeded runs kept on disk (newest first); the API serves results from the database.
KEEP_RUN_DIRS = 20


def remove_run_dir(db_path: Path, run_id: str) -> None:
    """Remove one run's output directory, if it has one."""
    shutil.rmtree(run_output_dir(db_path, run_id), ignore_errors=True)


def prune_run_dirs(store: Store, *, keep: int = KEEP_RUN_DIRS) -> list[str]:
    """Apply the retention rule to ``<data_dir>/runs/``; returns the run ids whose directory was removed.

    Kept: the directories of queued or running runs, and of the ``keep`` newest succeeded runs. Removed: those
    of failed or cancelled runs, of older succeeded runs, and of runs the database does not know.
    """
    root = run_output_dir(store.path, "x").parent
    try:
        ids = [d.name for d in root.iterdir() if d.is_dir()]
    except OSError:  # no runs/ yet
        return []
    if not ids:
        return []
    statuses = store.run_statuses(ids)  # newest first
    succeeded = [i for i, status in statuses.items() if status == "succeeded"][:keep]
    kept = set(succeeded) | {i for i, status in statuses.items() if status in ("queued", "running")}
    removed = sorted(set(ids) - kept)
    for run_id in removed:
        remove_run_dir(store.path, run_id)
    return removed


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


def _kill(process: Any) -> None:
    """End a worker and everything it started (its process group), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # already gone, or not yet its own group
        process.kill()
    process.join(timeout=5)


class WorkerSupervisor:
    """Starts, times, cancels and reaps the worker processes of one kind of job (siting runs, sweeps).

    A dispatcher thread starts each queued job in its own spawned process (at most ``max_concurrent`` at
    once; each worker makes itself a process-group leader), kills a worker past ``time_limit_s`` or on
    cancel (its whole group), and records a worker that dies without storing a result as a failed job.
    Subclasses say how jobs are stored (the ``_queued`` … ``_target`` hooks) and how they are named.
    """

    noun = "job"
    process_noun = "worker process"
    time_limit_setting = ""
    time_limit_note = ""
    shutdown_error = "the service shut down while this job was running; submit it again"
    poll_s = 0.25
    daemon = True  # a worker that starts processes itself (a Dask cluster) cannot be a daemon

    def __init__(self, *, max_concurrent: int, time_limit_s: float) -> None:
        self.max_concurrent = max(1, max_concurrent)
        self.time_limit_s = time_limit_s
        self._ctx = mp.get_context("spawn")
        self._active: dict[str, tuple[Any, float]] = {}  # job id -> (process, started, monotonic s)
        # Held while a job goes queued -> running -> registered, and while a job is cancelled, so a
        # cancel can never miss a worker that is being started.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # hooks ---------------------------------------------------------------------------------------
    def _fail_interrupted(self) -> int:
        raise NotImplementedError

    def _queued(self) -> list[Any]:
        raise NotImplementedError

    def _mark_running(self, job_id: str) -> bool:
        raise NotImplementedError

    def _fail(self, job_id: str, error: str, *, status: str = "failed") -> bool:
        raise NotImplementedError

    def _get(self, job_id: str) -> Any:
        raise NotImplementedError

    def _target(self, job: Any) -> tuple[Any, tuple[Any, ...]]:
        """The worker's entry function and its arguments for one queued job."""
        raise NotImplementedError

    def _finished(self, job_id: str) -> None:
        """Called once a job's worker is gone (reaped, killed or cancelled)."""

    # the supervisor ------------------------------------------------------------------------------
    def start(self) -> None:
        """Mark jobs interrupted by a previous process as failed, then start dispatching."""
        failed = self._fail_interrupted()
        if failed:
            log.warning("marked %d interrupted siting %s(s) as failed", failed, self.noun)
        self._thread = threading.Thread(target=self._loop, name=f"evplan-{self.noun}s", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching and end running workers (their jobs are marked failed)."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
        with self._lock:
            for job_id, (process, _) in list(self._active.items()):
                _kill(process)
                self._fail(job_id, self.shutdown_error)
            self._active.clear()

    def cancel(self, job_id: str) -> Any:
        """Cancel a queued or running job (killing its worker's group); a finished one is left as it is."""
        job = self._get(job_id)
        if job.status in ("queued", "running"):
            with self._lock:
                active = self._active.pop(job_id, None)
                if active:
                    _kill(active[0])
                self._fail(job_id, "cancelled on request", status="cancelled")
        self._finished(job_id)
        return self._get(job_id)

    def active_ids(self) -> list[str]:
        """Jobs with a live worker process."""
        with self._lock:
            return list(self._active)

    def _loop(self) -> None:
        last_error = None
        while not self._stop.is_set():
            try:
                self._reap()
                self._dispatch()
                last_error = None
            except Exception as exc:  # keep dispatching (and retrying); the error is logged
                # Logged once while it repeats: a full disk would otherwise log a traceback 4 times a second.
                if repr(exc) != last_error:
                    log.exception("%s dispatcher error (retrying every %g s)", self.noun, self.poll_s)
                last_error = repr(exc)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _reap(self) -> None:
        with self._lock:
            for job_id, (proc, started) in list(self._active.items()):
                if proc.is_alive():
                    if self.time_limit_s and time.monotonic() - started > self.time_limit_s:
                        _kill(proc)
                        self._fail(job_id, f"time limit of {self.time_limit_s:g} s exceeded "
                                           f"({self.time_limit_setting}){self.time_limit_note}")
                        del self._active[job_id]
                        self._finished(job_id)
                    continue
                proc.join()
                # A no-op when the worker stored its result or its error itself.
                self._fail(job_id, _exit_reason(proc.exitcode).replace("worker process", self.process_noun))
                del self._active[job_id]
                self._finished(job_id)

    def _dispatch(self) -> None:
        with self._lock:
            free = self.max_concurrent - len(self._active)
            if free <= 0 or self._stop.is_set():
                return
            for job in self._queued()[:free]:
                if not self._mark_running(job.id):
                    continue
                target, args = self._target(job)
                proc = self._ctx.Process(target=target, args=args, name=f"evplan-{self.noun}-{job.id[:8]}",
                                         daemon=self.daemon)
                try:
                    proc.start()
                except Exception as exc:  # noqa: BLE001 - the job is marked running: record why it never started
                    self._fail(job.id, f"could not start a {self.process_noun}: {exc}")
                    continue
                self._active[job.id] = (proc, time.monotonic())


class RunManager(WorkerSupervisor):
    """Queues, starts, watches and cancels siting runs.

    One ``RunManager`` per database: on start it fails every unfinished run, so the service must run
    as one process (``evplan serve`` does; do not start uvicorn with ``--workers``).
    """

    noun = "run"
    time_limit_setting = "EVPLAN_RUN_TIME_LIMIT_S"
    shutdown_error = "the service shut down while this run was running; submit it again"

    def __init__(self, store: Store, *, osm_path: Path, fleet_dir: Path, max_concurrent: int, time_limit_s: float):
        super().__init__(max_concurrent=max_concurrent, time_limit_s=time_limit_s)
        self.store = store
        self.osm_path = Path(osm_path)
        self.fleet_dir = Path(fleet_dir)

    def submit(self, scenario: OptionValues) -> tuple[RunRecord, bool]:
        """Queue a scenario; the same scenario on the same inputs returns the stored run instead."""
        key = scenario_key(scenario, self.osm_path, self.fleet_dir, self.store.path)
        run, created = self.store.create_run(key, scenario)
        self._wake.set()
        return run, created

    def active_run_ids(self) -> list[str]:
        """Runs with a live worker process."""
        return self.active_ids()

    def _fail_interrupted(self) -> int:
        return self.store.fail_interrupted_runs()

    def _queued(self) -> list[Any]:
        return self.store.queued_runs()

    def _mark_running(self, job_id: str) -> bool:
        return self.store.mark_running(job_id)

    def _fail(self, job_id: str, error: str, *, status: str = "failed") -> bool:
        return self.store.fail_run(job_id, error, status=status)

    def _get(self, job_id: str) -> RunRecord:
        return self.store.get_run(job_id)

    def start(self) -> None:
        super().start()
        self._prune()

    def cancel(self, job_id: str) -> RunRecord:
        """Cancel a queued or running run (killing its worker); a finished run is left as it is. Either way
        the run's output directory is removed (its results stay in the database)."""
        run = super().cancel(job_id)
        remove_run_dir(self.store.path, job_id)
        return run

    def _finished(self, job_id: str) -> None:
        self._prune()

    def _prune(self) -> None:
        try:
            prune_run_dirs(self.store)
        except Exception as exc:  # noqa: BLE001 - clean-up is best-effort (a busy or full disk): never stop runs
            log.warning("run output directories not pruned: %s", exc)

    def _target(self, job: RunRecord) -> tuple[Any, tuple[Any, ...]]:
        return execute_run, (job.id, str(self.store.path), str(self.osm_path), str(self.fleet_dir), job.scenario,
                             os.getpid())
