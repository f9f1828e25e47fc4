"""The service's embedded database: siting runs, their results, and the report history (SQLite).

Every write is one short transaction; WAL mode lets run workers (other processes) write progress
while the service reads. A run that was queued or running when the process died is marked failed
on the next start, with the reason.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planner.errors import EvplanError, NotFoundError, StorageError

log = logging.getLogger("evplan.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS siting_runs (
    id TEXT PRIMARY KEY,
    scenario_key TEXT NOT NULL,
    scenario_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    summary_json TEXT,
    sites_geojson TEXT,
    coverage_geojson TEXT
);
CREATE INDEX IF NOT EXISTS siting_runs_key ON siting_runs (scenario_key, status);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    trigger TEXT NOT NULL,
    html TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS siting_sweeps (
    id TEXT PRIMARY KEY,
    sweep_key TEXT NOT NULL,
    grid_json TEXT NOT NULL,
    points INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress REAL NOT NULL DEFAULT 0,
    points_done INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    table_json TEXT,
    page_html TEXT
);
CREATE INDEX IF NOT EXISTS siting_sweeps_key ON siting_sweeps (sweep_key, status);
"""

ACTIVE = ("queued", "running")


class RunNotFinishedError(EvplanError):
    """A run's results were asked for before it succeeded (it is queued, running, failed or cancelled)."""

    def __init__(self, message: str, run_status: str) -> None:
        self.run_status = run_status
        super().__init__(message)


#: Why a run that a previous process left unfinished was failed on start-up.
INTERRUPTED_RUNNING = "the service stopped while this run was running (crash, kill or restart); submit it again"
INTERRUPTED_QUEUED = "the service stopped before this run started; submit it again"


#: Free space below which the data directory's disk counts as full (SQLite needs room for a transaction).
MIN_FREE_BYTES = 1_000_000


#: SQLite's extended codes for a write the operating system refused (ENOSPC, EFBIG, EIO, a failed mmap grow).
WRITE_FAILURES = frozenset({"SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE",
                            "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_SHMMAP", "SQLITE_IOERR_SHMOPEN"})


def disk_full_hint(directory: Path) -> str | None:
    """``"the disk holding EVPLAN_DATA_DIR is full (N bytes free)"`` when it is nearly full, else None."""
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return None
    if free >= MIN_FREE_BYTES:
        return None
    return f"the disk holding EVPLAN_DATA_DIR is full ({free:,} bytes free)"


def now() -> str:
    """UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunRecord:
    """One siting run as stored."""

    id: str
    scenario_key: str
    scenario: dict[str, Any]
    status: str
    progress: float
    message: str
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    def public(self) -> dict[str, Any]:
        """The run as the API shows it."""
        return {
            "id": self.id,
            "status": self.status,
            "progress": round(self.progress, 3),
            "message": self.message,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "scenario": self.scenario,
        }


class SweepNotFinishedError(RunNotFinishedError):
    """A sweep's table or page was asked for before it succeeded."""


INTERRUPTED_SWEEP_RUNNING = ("the service stopped while this sweep was running (crash, kill or restart); submit it "
                             "again: its finished points are reused")
INTERRUPTED_SWEEP_QUEUED = "the service stopped before this sweep started; submit it again"


@dataclass(frozen=True)
class SweepRecord:
    """One siting sweep as stored."""

    id: str
    sweep_key: str
    grid: dict[str, Any]
    points: int
    points_done: int
    status: str
    progress: float
    message: str
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    def public(self) -> dict[str, Any]:
        """The sweep as the API shows it."""
        return {"id": self.id, "status": self.status, "progress": round(self.progress, 3), "points": self.points,
                "points_done": self.points_done, "message": self.message, "error": self.error,
                "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
                "grid": self.grid}


class _RecordTable:
    """The lifecycle of one kind of job record (siting runs, sweeps), the same for both:

    queued -> running -> succeeded | failed | cancelled, one row per job keyed by an identity (``key_column``)
    so that the same job submitted again returns the stored one unless it failed or was cancelled.
    """

    def __init__(self, table: str, key_column: str, noun: str, record: Any,
                 interrupted: tuple[tuple[str, str], ...]) -> None:
        self.table, self.key_column, self.noun, self.record = table, key_column, noun, record
        self.interrupted = interrupted  # (status, reason) of jobs a previous process left unfinished

    def create(self, con: sqlite3.Connection, key: str, columns: dict[str, Any]) -> tuple[Any, bool]:
        """A new queued job with ``columns``, or the stored one of the same key (not failed or cancelled)."""
        row = con.execute(f"SELECT * FROM {self.table} WHERE {self.key_column} = ? "
                          "AND status IN ('queued','running','succeeded') ORDER BY rowid DESC LIMIT 1",
                          (key,)).fetchone()
        if row is not None:
            return self.record(row), False
        job_id = uuid.uuid4().hex
        values = {"id": job_id, self.key_column: key, **columns, "status": "queued", "created_at": now(),
                  "message": "queued"}
        con.execute(f"INSERT INTO {self.table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                    tuple(values.values()))
        return self.record(con.execute(f"SELECT * FROM {self.table} WHERE id = ?", (job_id,)).fetchone()), True

    def get(self, con: sqlite3.Connection, job_id: str) -> Any:
        row = con.execute(f"SELECT * FROM {self.table} WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no siting {self.noun} with id {job_id!r}")
        return self.record(row)

    def newest(self, con: sqlite3.Connection, limit: int) -> list[Any]:
        rows = con.execute(f"SELECT * FROM {self.table} ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
        return [self.record(r) for r in rows]

    def queued(self, con: sqlite3.Connection) -> list[Any]:
        rows = con.execute(f"SELECT * FROM {self.table} WHERE status = 'queued' ORDER BY rowid").fetchall()
        return [self.record(r) for r in rows]

    def mark_running(self, con: sqlite3.Connection, job_id: str) -> bool:
        return con.execute(f"UPDATE {self.table} SET status='running', started_at=?, message='started' "
                           "WHERE id=? AND status='queued'", (now(), job_id)).rowcount == 1

    def fail(self, con: sqlite3.Connection, job_id: str, error: str, status: str) -> bool:
        return con.execute(f"UPDATE {self.table} SET status=?, error=?, message=?, finished_at=? "
                           "WHERE id=? AND status IN ('queued','running')",
                           (status, error, status, now(), job_id)).rowcount == 1

    def fail_interrupted(self, con: sqlite3.Connection) -> int:
        count = 0
        for status, reason in self.interrupted:
            count += con.execute(f"UPDATE {self.table} SET status='failed', finished_at=?, message='failed', "
                                 "error=? WHERE status=?", (now(), reason, status)).rowcount
        return count

    def not_finished(self, job: Any, part: str, error: type[RunNotFinishedError]) -> RunNotFinishedError:
        """Why a job that has not succeeded has no ``part``."""
        why = {"queued": "it is queued", "running": "it is still running"}.get(
            job.status, f"it {job.status}: {job.error or 'no reason recorded'}")
        return error(f"siting {self.noun} {job.id} has no {part}: {why}", job.status)


class Store:
    """Access to the service database; one short-lived connection per operation."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._keeper: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                # WAL is a property of the file: set once here, so opening a connection later writes nothing.
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(SCHEMA)
            finally:
                con.close()
            self._keeper = self._open_keeper()
        except (OSError, sqlite3.DatabaseError) as exc:  # DatabaseError: also "file is not a database"
            raise StorageError(f"{self.path}: cannot create or open the database ({exc}); "
                               "check that EVPLAN_DATA_DIR is writable and the disk has space") from exc

    def _open_keeper(self) -> sqlite3.Connection:
        """A connection held open for the store's lifetime, so the write-ahead log and its index stay.

        SQLite deletes ``-wal`` and ``-shm`` when the last connection closes, and the next connection
        must create them again: a write, which fails on a full disk and would take reads down with it.
        While this idle connection (no transaction) is open, every other connection, in this process
        or a run worker, opens the existing files and reads what is stored.
        """
        keeper = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()  # maps the WAL index now
        return keeper

    def close(self) -> None:
        """Close the connection that keeps the write-ahead log (at shutdown)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.close()

    def _failure(self, exc: sqlite3.Error, *, writing: bool) -> StorageError:
        """A database error as the client sees it: the cause in SQLite's words (and a full disk named), no path."""
        log.error("%s %s failed: %s", "write to" if writing else "read of", self.path, exc)
        cause = str(exc)
        if getattr(exc, "sqlite_errorname", "") in WRITE_FAILURES:
            cause = f"{cause}: a write to EVPLAN_DATA_DIR failed, so its disk may be full or a file size limit reached"
        hint = disk_full_hint(self.path.parent)
        if hint and "full" not in cause:
            cause = f"{cause}: {hint}"
        elif hint:
            cause = f"{cause}; {hint}"
        return StorageError(f"the service database cannot be {'written' if writing else 'read'} ({cause}); "
                            "check that EVPLAN_DATA_DIR is writable and the disk has space")

    @contextmanager
    def _connect(self, *, writing: bool = False) -> Iterator[sqlite3.Connection]:
        """One short connection; with ``writing``, one ``BEGIN IMMEDIATE`` transaction committed at the end.

        Every SQLite failure (disk full, I/O error, locked, read-only, corrupt) becomes a
        ``StorageError`` (503) naming SQLite's own cause, never a server path: a failed COMMIT is
        reported as itself, not as the ROLLBACK that follows it.
        """
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                con.execute("PRAGMA synchronous=NORMAL")
                con.row_factory = sqlite3.Row
                if not writing:
                    yield con
                    return
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:  # SQLite already rolled back after a failed COMMIT on a full disk
                        with suppress(sqlite3.Error):
                            con.execute("ROLLBACK")
                    raise
            finally:
                con.close()
        except sqlite3.OperationalError as exc:
            raise self._failure(exc, writing=writing) from exc
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # integrity or programming errors are bugs: a 500
                raise
            raise self._failure(exc, writing=writing) from exc  # "database disk image is malformed"

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._connect(writing=True)

    # runs ---------------------------------------------------------------------------------------

    def create_run(self, scenario_key: str, scenario: dict[str, Any]) -> tuple[RunRecord, bool]:
        """A new queued run, or the stored one for the same scenario (not failed or cancelled)."""
        with self._tx() as con:
            return RUNS.create(con, scenario_key, {"scenario_json": json.dumps(scenario, sort_keys=True)})

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or NotFoundError."""
        with self._connect() as con:
            return RUNS.get(con, run_id)

    def list_runs(self, *, limit: int = 100) -> list[RunRecord]:
        """The newest runs first."""
        with self._connect() as con:
            return RUNS.newest(con, limit)

    def queued_runs(self) -> list[RunRecord]:
        """Runs waiting for a worker, oldest first."""
        with self._connect() as con:
            return RUNS.queued(con)

    def run_statuses(self, run_ids: list[str]) -> dict[str, str]:
        """The status of each of these runs that exists, newest first."""
        with self._connect() as con:
            rows = con.execute(f"SELECT id, status FROM siting_runs WHERE id IN ({', '.join('?' * len(run_ids))}) "
                               "ORDER BY rowid DESC", tuple(run_ids)).fetchall()
        return {r["id"]: r["status"] for r in rows}

    def mark_running(self, run_id: str) -> bool:
        """Queued → running; False if the run is no longer queued (e.g. cancelled)."""
        with self._tx() as con:
            return RUNS.mark_running(con, run_id)

    def set_progress(self, run_id: str, fraction: float, message: str) -> None:
        """Progress of a running run."""
        with self._tx() as con:
            con.execute(
                "UPDATE siting_runs SET progress=?, message=? WHERE id=? AND status='running'",
                (max(0.0, min(1.0, fraction)), message[:500], run_id),
            )

    def finish_run(self, run_id: str, summary: dict[str, Any], sites: dict[str, Any], coverage: dict[str, Any]) -> bool:
        """Store a run's results and mark it succeeded, in one transaction.

        Returns False (and stores nothing) when the run is no longer running, e.g. it was cancelled.
        """
        with self._tx() as con:
            cur = con.execute(
                "UPDATE siting_runs SET status='succeeded', progress=1, message='done', finished_at=?, "
                "summary_json=?, sites_geojson=?, coverage_geojson=? WHERE id=? AND status='running'",
                (now(), json.dumps(summary), json.dumps(sites, ensure_ascii=False),
                 json.dumps(coverage, ensure_ascii=False), run_id),
            )
            return cur.rowcount == 1

    def fail_run(self, run_id: str, error: str, *, status: str = "failed") -> bool:
        """Mark an unfinished run failed (or cancelled) with the reason; False if it had already finished."""
        with self._tx() as con:
            return RUNS.fail(con, run_id, error, status)

    def result(self, run_id: str, part: str) -> dict[str, Any]:
        """One stored result of a succeeded run: ``summary``, ``sites`` or ``coverage``."""
        column = {"summary": "summary_json", "sites": "sites_geojson", "coverage": "coverage_geojson"}[part]
        run = self.get_run(run_id)
        if run.status != "succeeded":
            raise RUNS.not_finished(run, part, RunNotFinishedError)
        with self._connect() as con:
            text = con.execute(f"SELECT {column} FROM siting_runs WHERE id = ?", (run_id,)).fetchone()[0]
        return json.loads(text)

    def fail_interrupted_runs(self) -> int:
        """Mark runs left queued or running by a previous process as failed, with the reason; returns how many."""
        with self._tx() as con:
            return RUNS.fail_interrupted(con)

    def ping(self) -> bool:
        """True when the database answers a query (readiness check)."""
        return self.problem() is None

    def problem(self) -> str | None:
        """Why the database cannot serve reads, or writes for lack of disk space; None when it can.

        For ``/ready``: names the cause (no server path)."""
        try:
            with self._connect() as con:
                con.execute("SELECT count(*) FROM siting_runs").fetchone()
        except StorageError as exc:
            return str(exc)
        hint = disk_full_hint(self.path.parent)
        if hint:
            return f"{hint}: writes answer 503 until space is freed; stored data is still served"
        return None

    def add_finished_run(self, scenario_key: str, scenario: dict[str, Any], summary: dict[str, Any],
                         sites: dict[str, Any], coverage: dict[str, Any]) -> RunRecord:
        """A run computed elsewhere (a sweep point), stored as succeeded in one transaction; the stored
        succeeded run of the same key when there is one. The run dispatcher never sees it queued."""
        with self._tx() as con:
            row = con.execute("SELECT * FROM siting_runs WHERE scenario_key = ? AND status = 'succeeded' "
                              "ORDER BY rowid DESC LIMIT 1", (scenario_key,)).fetchone()
            if row is not None:
                return _run(row)
            run_id, at = uuid.uuid4().hex, now()
            con.execute(
                "INSERT INTO siting_runs (id, scenario_key, scenario_json, status, progress, message, created_at, "
                "started_at, finished_at, summary_json, sites_geojson, coverage_geojson) "
                "VALUES (?, ?, ?, 'succeeded', 1, 'done (sweep point)', ?, ?, ?, ?, ?, ?)",
                (run_id, scenario_key, json.dumps(scenario, sort_keys=True), at, at, at, json.dumps(summary),
                 json.dumps(sites, ensure_ascii=False), json.dumps(coverage, ensure_ascii=False)),
            )
            return _run(con.execute("SELECT * FROM siting_runs WHERE id = ?", (run_id,)).fetchone())

    # sweeps -------------------------------------------------------------------------------------

    def create_sweep(self, sweep_key: str, grid: dict[str, Any], points: int) -> tuple[SweepRecord, bool]:
        """A new queued sweep, or the stored one of the same grid on the same inputs (not failed or cancelled)."""
        with self._tx() as con:
            return SWEEPS.create(con, sweep_key, {"grid_json": json.dumps(grid, sort_keys=True), "points": points})

    def get_sweep(self, sweep_id: str) -> SweepRecord:
        """The sweep with this id, or NotFoundError."""
        with self._connect() as con:
            return SWEEPS.get(con, sweep_id)

    def list_sweeps(self, *, limit: int = 100) -> list[SweepRecord]:
        """The newest sweeps first."""
        with self._connect() as con:
            return SWEEPS.newest(con, limit)

    def queued_sweeps(self) -> list[SweepRecord]:
        """Sweeps waiting to start, oldest first."""
        with self._connect() as con:
            return SWEEPS.queued(con)

    def mark_sweep_running(self, sweep_id: str) -> bool:
        """Queued -> running; False if the sweep is no longer queued."""
        with self._tx() as con:
            return SWEEPS.mark_running(con, sweep_id)

    def set_sweep_progress(self, sweep_id: str, points_done: int, message: str) -> None:
        """Points finished so far of a running sweep."""
        with self._tx() as con:
            con.execute("UPDATE siting_sweeps SET points_done=?, progress=CAST(? AS REAL) / MAX(points, 1), "
                        "message=? WHERE id=? AND status='running'", (points_done, points_done, message[:500], sweep_id))

    def finish_sweep(self, sweep_id: str, table: dict[str, Any], page_html: str) -> bool:
        """Store a sweep's table and page and mark it succeeded; False when it is no longer running."""
        with self._tx() as con:
            return con.execute(
                "UPDATE siting_sweeps SET status='succeeded', progress=1, points_done=points, message='done', "
                "finished_at=?, table_json=?, page_html=? WHERE id=? AND status='running'",
                (now(), json.dumps(table, ensure_ascii=False), page_html, sweep_id)).rowcount == 1

    def fail_sweep(self, sweep_id: str, error: str, *, status: str = "failed") -> bool:
        """Mark an unfinished sweep failed (or cancelled) with the reason; False if it had already finished."""
        with self._tx() as con:
            return SWEEPS.fail(con, sweep_id, error, status)

    def fail_interrupted_sweeps(self) -> int:
        """Mark sweeps left queued or running by a previous process as failed, with the reason."""
        with self._tx() as con:
            return SWEEPS.fail_interrupted(con)

    def sweep_result(self, sweep_id: str, part: str) -> Any:
        """A succeeded sweep's ``table`` (JSON) or ``page`` (HTML); ``SweepNotFinishedError`` before."""
        sweep = self.get_sweep(sweep_id)
        if sweep.status != "succeeded":
            raise SWEEPS.not_finished(sweep, part, SweepNotFinishedError)
        column = {"table": "table_json", "page": "page_html"}[part]
        with self._connect() as con:
            text = con.execute(f"SELECT {column} FROM siting_sweeps WHERE id = ?", (sweep_id,)).fetchone()[0]
        return json.loads(text) if part == "table" else text

    # reports ------------------------------------------------------------------------------------

    def add_report(self, trigger: str, html: str, figures: dict[str, Any]) -> str:
        """Keep a generated report; returns its id."""
        report_id = uuid.uuid4().hex
        with self._tx() as con:
            con.execute(
                "INSERT INTO reports (id, created_at, trigger, html, json) VALUES (?, ?, ?, ?, ?)",
                (report_id, now(), trigger, html, json.dumps(figures, ensure_ascii=False, default=str)),
            )
        return report_id

    def list_reports(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Report history, newest first (without the bodies)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT id, created_at, trigger FROM reports ORDER BY rowid DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(r) for r in rows]

    def latest_report(self) -> dict[str, Any]:
        """The newest report with its HTML and figures."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM reports ORDER BY rowid DESC LIMIT 1").fetchone()
        if row is None:
            raise NotFoundError("no report has been generated yet: POST /api/v1/reports makes one now")
        return _report(row)

    def get_report(self, report_id: str) -> dict[str, Any]:
        """One report with its HTML and figures, or NotFoundError."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no report with id {report_id!r}")
        return _report(row)


def _report(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "created_at": row["created_at"], "trigger": row["trigger"],
            "html": row["html"], "figures": json.loads(row["json"])}


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        scenario_key=row["scenario_key"],
        scenario=json.loads(row["scenario_json"]),
        status=row["status"],
        progress=row["progress"],
        message=row["message"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def _sweep(row: sqlite3.Row) -> SweepRecord:
    return SweepRecord(id=row["id"], sweep_key=row["sweep_key"], grid=json.loads(row["grid_json"]),
                       points=row["points"], points_done=row["points_done"], status=row["status"],
                       progress=row["progress"], message=row["message"], error=row["error"],
                       created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"])


RUNS = _RecordTable("siting_runs", "scenario_key", "run", _run,
                    (("running", INTERRUPTED_RUNNING), ("queued", INTERRUPTED_QUEUED)))
SWEEPS = _RecordTable("siting_sweeps", "sweep_key", "sweep", _sweep,
                      (("running", INTERRUPTED_SWEEP_RUNNING), ("queued", INTERRUPTED_SWEEP_QUEUED)))


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory for one service process while the context lasts.

    A second server on the same directory would, on start, mark the first one's runs as interrupted
    and lose their results; it is refused instead. The lock ends with the process, even on SIGKILL.
    """
    path = Path(data_dir) / "evplan.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a+")
    except OSError as exc:
        raise StorageError(f"{path.parent}: cannot create the data directory's lock file ({exc.strerror or exc}); "
                           "check that EVPLAN_DATA_DIR is writable") from None
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StorageError(f"{path.parent}: another evplan service is using this data directory; "
                               "stop it or give this one its own EVPLAN_DATA_DIR") from None
        yield
    finally:
        fh.close()

