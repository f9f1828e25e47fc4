"""The fleet records store: vehicle files ingested into SQLite, checked, transactional and idempotent.

The store lives in the service's database file (``$EVPLAN_DATA_DIR/evplan.sqlite``) in its own tables:
``vehicles`` (one row per vehicle id), ``quarantine`` (every rejected row, with its ingest) and
``ingests`` (one row per file taken in, with its SHA-256). Activity, depots, emission factors and
counties are reference tables that stay files in a records directory (``fleet_dir``, e.g. ``data/fleet``).

An ingest is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``): killed midway, it leaves the store as
it was. The same file twice adds nothing (its hash is recorded); a later file adds new vehicles and
updates the fields it carries of known ones (upsert by ``vehicle_id``). A vehicle leaves the stock by
a ``deregistered_on`` date, never by being absent from a later file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import InputFileError, RecordError, StorageError
from planner.fleet.checks import extra_columns, validate_vehicles
from planner.fleet.reading import TextTable, read_table
from planner.fleet.records import (
    FleetRecords,
    load_activity,
    load_counties,
    load_depots,
    load_grid_factors,
)
from planner.fleet.schema import POWERTRAINS, VEHICLE_CLASSES, RowIssue
from planner.progress import ProgressCallback, silent

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size_bytes INTEGER NOT NULL,
    file_format TEXT NOT NULL,
    encoding TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    rows_total INTEGER NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    quarantined INTEGER NOT NULL,
    extra_columns TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vehicles (
    vehicle_id TEXT PRIMARY KEY,
    vehicle_class TEXT NOT NULL CHECK (vehicle_class IN ({", ".join(repr(c) for c in VEHICLE_CLASSES)})),
    powertrain TEXT NOT NULL CHECK (powertrain IN ({", ".join(repr(p) for p in POWERTRAINS)})),
    registered_on TEXT NOT NULL,
    deregistered_on TEXT CHECK (deregistered_on IS NULL OR deregistered_on >= registered_on),
    county_code TEXT NOT NULL,
    is_operating INTEGER NOT NULL CHECK (is_operating IN (0, 1)),
    depot_id TEXT,
    extra_json TEXT,
    first_ingest_id INTEGER NOT NULL REFERENCES ingests (id),
    last_ingest_id INTEGER NOT NULL REFERENCES ingests (id)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ingest_id INTEGER NOT NULL REFERENCES ingests (id),
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_ingest ON quarantine (ingest_id, row);
"""

#: Vehicles written per statement batch (progress is reported after each).
CHUNK_ROWS = 20_000
_CORE = ("vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code", "is_operating")


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did: rows added, updated, unchanged and quarantined, and every row issue."""

    file: str
    sha256: str
    ingest_id: int
    rows: int
    added: int
    updated: int
    unchanged: int
    quarantined: int
    encoding: str
    file_format: str
    extra_columns: tuple[str, ...] = ()
    issues: tuple[RowIssue, ...] = ()
    already_ingested: bool = False
    ingested_at: str = ""
    db: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self, *, max_issues: int | None = None) -> dict[str, Any]:
        """JSON-ready form; ``max_issues`` caps the listed issues (``issues_not_listed`` says how many more)."""
        shown = self.issues if max_issues is None else self.issues[:max_issues]
        return {
            "file": self.file, "sha256": self.sha256, "ingest_id": self.ingest_id, "db": self.db,
            "already_ingested": self.already_ingested, "ingested_at": self.ingested_at,
            "encoding": self.encoding, "format": self.file_format, "rows": self.rows,
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "quarantined": self.quarantined, "extra_columns": list(self.extra_columns),
            "issues": [i.to_dict() for i in shown], "issues_not_listed": len(self.issues) - len(shown),
            "notes": list(self.notes),
        }

    def describe(self, *, max_issues: int = 20) -> str:
        """Terminal text: the counts, then the first ``max_issues`` row issues."""
        if self.already_ingested:
            head = (f"{self.file}: already ingested as ingest #{self.ingest_id} on {self.ingested_at} "
                    f"(same SHA-256); nothing changed")
        else:
            head = (f"{self.file} ({self.file_format}, {self.encoding}): {self.rows} rows -> "
                    f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                    f"{self.quarantined} quarantined (ingest #{self.ingest_id})")
        lines = [head]
        if self.extra_columns:
            lines.append(f"extra columns kept: {', '.join(self.extra_columns)}")
        lines.extend(self.notes)
        if self.issues:
            lines.append(f"row issues ({len(self.issues)}):")
            lines.extend(f"  row {i.row}, {i.field}: {i.reason} (value {i.value!r})" for i in self.issues[:max_issues])
            if len(self.issues) > max_issues:
                lines.append(f"  … and {len(self.issues) - max_issues} more (see --json)")
        return "\n".join(lines)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    try:
        con = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"{db_path}: cannot open the fleet store ({exc})") from exc
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA temp_store=MEMORY")  # the staging table of an ingest never needs the disk
        yield con
    except sqlite3.OperationalError as exc:  # disk full, read-only, locked: not the file's fault
        raise StorageError(f"{db_path}: the fleet store cannot be read or written ({exc}); "
                           "check that the directory is writable and the disk has space") from exc
    except sqlite3.Error as exc:
        raise RecordError(f"{db_path}: the fleet store cannot be read or written ({exc})") from exc
    finally:
        con.close()


def ensure_schema(db_path: Path | str) -> None:
    """Create the store's tables if they are missing (first use)."""
    db_path = Path(db_path)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{db_path.parent}: cannot create the fleet store's directory ({exc.strerror})") from exc
    with _connect(db_path) as con:
        con.executescript(SCHEMA)


def _reference(fleet_dir: Path) -> tuple[dict[str, str], list[str] | None]:
    counties = load_counties(fleet_dir)
    depots_path = fleet_dir / "depots.csv"
    if not depots_path.exists():
        return counties, None
    depots, _ = load_depots(fleet_dir, known_counties=counties)
    return counties, depots["depot_id"].tolist()


def _previous(con: sqlite3.Connection, sha256: str) -> tuple[int, str] | None:
    row = con.execute("SELECT id, finished_at FROM ingests WHERE sha256 = ?", (sha256,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _stored_issues(con: sqlite3.Connection, ingest_id: int) -> tuple[RowIssue, ...]:
    rows = con.execute("SELECT file, row, field, value, reason FROM quarantine WHERE ingest_id = ? ORDER BY id",
                       (ingest_id,)).fetchall()
    return tuple(RowIssue(*r) for r in rows)


def ingest_file(
    db_path: Path | str,
    file_path: Path | str,
    *,
    source_name: str | None = None,
    fleet_dir: Path | str,
    progress: ProgressCallback = silent,
    today: date | None = None,
    max_decompressed_bytes: int | None = None,
) -> IngestReport:
    """Validate a vehicle file and store its good rows and its quarantined rows, in one transaction.

    Parameters
    ----------
    db_path
        SQLite file (created with its tables on first use).
    file_path
        Vehicle records: CSV, CSV.GZ or Parquet; UTF-8, UTF-8 with BOM or GBK.
    source_name
        Name recorded for the file (e.g. an upload's original name); default: ``file_path``.
    fleet_dir
        Records directory whose ``counties.csv`` and ``depots.csv`` say which county codes and depot ids
        are valid (required: the store never guesses a city).
    progress
        Called with (fraction, message) while staging and writing.
    today
        Dates after this day are refused (default: today).
    max_decompressed_bytes
        A gzip file inflating (or a Parquet file declaring) more is refused (default: EVPLAN_MAX_DECOMPRESSED_MB).

    Returns
    -------
    IngestReport
        With ``already_ingested=True`` and nothing changed when a file with the same SHA-256 was
        ingested before.

    Raises
    ------
    InputFileError, RecordError
        For a file that cannot be read or lacks required columns (nothing is written), or a store
        that cannot be written (the transaction is rolled back).
    """
    db_path = Path(db_path)
    file_path = Path(file_path)
    name = source_name or str(file_path)
    table = read_table(file_path, what="a vehicle records file (CSV, CSV.GZ or Parquet)",
                       max_decompressed_bytes=max_decompressed_bytes)
    ensure_schema(db_path)
    with _connect(db_path) as con:
        seen = _previous(con, table.sha256)
        if seen is not None:
            return _already(db_path, name, table, seen, _stored_issues(con, seen[0]))
    counties, depots = _reference(Path(fleet_dir))
    good, issues = validate_vehicles(table.frame, source=name, known_counties=counties,
                                           known_depots=depots, today=today)
    extras = tuple(extra_columns(table.frame))
    has_depot = "depot_id" in table.frame.columns
    records = _as_rows(good, extras)
    started = _now()
    with _connect(db_path) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            seen = _previous(con, table.sha256)  # another process may have ingested it meanwhile
            if seen is not None:
                con.execute("ROLLBACK")
                return _already(db_path, name, table, seen, _stored_issues(con, seen[0]))
            quarantined = len({i.row for i in issues})
            cur = con.execute(
                "INSERT INTO ingests (file_name, sha256, size_bytes, file_format, encoding, started_at, finished_at, "
                "rows_total, added, updated, unchanged, quarantined, extra_columns) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?)",
                (name, table.sha256, table.size_bytes, table.file_format, table.encoding, started, started,
                 len(table.frame), quarantined, json.dumps(list(extras), ensure_ascii=False)),
            )
            ingest_id = int(cur.lastrowid)
            added, updated = _write_vehicles(con, records, ingest_id, has_depot=has_depot, has_extras=bool(extras),
                                             progress=progress)
            con.executemany(
                "INSERT INTO quarantine (ingest_id, file, row, field, value, reason) VALUES (?, ?, ?, ?, ?, ?)",
                [(ingest_id, i.file, i.row, i.field, i.value, i.reason) for i in issues],
            )
            unchanged = len(records) - added - updated
            finished = _now()
            con.execute("UPDATE ingests SET added = ?, updated = ?, unchanged = ?, finished_at = ? WHERE id = ?",
                        (added, updated, unchanged, finished, ingest_id))
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
    progress(1.0, f"ingest #{ingest_id} committed")
    return IngestReport(
        file=name, sha256=table.sha256, ingest_id=ingest_id, rows=len(table.frame), added=added, updated=updated,
        unchanged=unchanged, quarantined=quarantined, encoding=table.encoding, file_format=table.file_format,
        extra_columns=extras, issues=tuple(issues), ingested_at=finished, db=str(db_path),
        notes=() if has_depot else ("no depot_id column: stored depot assignments are kept",),
    )


def _already(db_path: Path, name: str, table: TextTable, seen: tuple[int, str],
             issues: tuple[RowIssue, ...]) -> IngestReport:
    return IngestReport(
        file=name, sha256=table.sha256, ingest_id=seen[0], rows=len(table.frame), added=0, updated=0,
        unchanged=0, quarantined=len({i.row for i in issues}), encoding=table.encoding,
        file_format=table.file_format, extra_columns=tuple(extra_columns(table.frame)), issues=issues,
        already_ingested=True, ingested_at=seen[1], db=str(db_path),
    )


def _as_rows(good: pd.DataFrame, extras: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Validated vehicles as tuples for SQLite: ISO date text, 0/1, NULL, extras as JSON."""

    def text_or_null(series: pd.Series) -> list[Any]:
        return series.astype(object).where(series.notna(), None).tolist()

    reg = good["registered_on"].dt.strftime("%Y-%m-%d").tolist()
    dereg = text_or_null(good["deregistered_on"].dt.strftime("%Y-%m-%d"))
    if extras:
        extra_values = good[list(extras)].astype(object).to_numpy()
        extra_json = [json.dumps(dict(zip(extras, map(str, v), strict=True)), ensure_ascii=False) for v in extra_values]
    else:
        extra_json = [None] * len(good)
    return list(zip(
        good["vehicle_id"].tolist(), good["vehicle_class"].tolist(), good["powertrain"].tolist(), reg, dereg,
        good["county_code"].tolist(), np.asarray(good["is_operating"], dtype=int).tolist(),
        text_or_null(good["depot_id"]), extra_json, strict=True,
    ))


def _write_vehicles(
    con: sqlite3.Connection, records: list[tuple[Any, ...]], ingest_id: int, *, has_depot: bool, has_extras: bool,
    progress: ProgressCallback,
) -> tuple[int, int]:
    """Stage the rows, count new and changed ones, upsert them in chunks; returns (added, updated)."""
    con.execute("DROP TABLE IF EXISTS temp.incoming")
    con.execute(
        "CREATE TEMP TABLE incoming (vehicle_id TEXT NOT NULL, vehicle_class TEXT, powertrain TEXT, "
        "registered_on TEXT, deregistered_on TEXT, county_code TEXT, is_operating INTEGER, depot_id TEXT, "
        "extra_json TEXT)"
    )
    n = len(records)
    for start in range(0, n, CHUNK_ROWS):
        con.executemany("INSERT INTO temp.incoming VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        records[start:start + CHUNK_ROWS])
        progress(0.5 * min(n, start + CHUNK_ROWS) / max(n, 1), f"staging vehicles {min(n, start + CHUNK_ROWS)}/{n}")
    fields = list(_CORE) + (["depot_id"] if has_depot else []) + (["extra_json"] if has_extras else [])
    differs = " OR ".join(f"i.{f} IS NOT v.{f}" for f in fields)
    added = con.execute("SELECT count(*) FROM temp.incoming i LEFT JOIN vehicles v USING (vehicle_id) "
                        "WHERE v.vehicle_id IS NULL").fetchone()[0]
    updated = con.execute(f"SELECT count(*) FROM temp.incoming i JOIN vehicles v USING (vehicle_id) WHERE {differs}"
                          ).fetchone()[0]
    sets = ", ".join(f"{f} = excluded.{f}" for f in fields)
    changed = " OR ".join(f"vehicles.{f} IS NOT excluded.{f}" for f in fields)
    upsert = (
        "INSERT INTO vehicles (vehicle_id, vehicle_class, powertrain, registered_on, deregistered_on, county_code, "
        "is_operating, depot_id, extra_json, first_ingest_id, last_ingest_id) "
        "SELECT vehicle_id, vehicle_class, powertrain, registered_on, deregistered_on, county_code, is_operating, "
        "depot_id, extra_json, :ingest, :ingest FROM temp.incoming WHERE rowid > :lo AND rowid <= :hi "
        f"ON CONFLICT (vehicle_id) DO UPDATE SET {sets}, last_ingest_id = :ingest WHERE {changed}"
    )
    last_rowid = con.execute("SELECT coalesce(max(rowid), 0) FROM temp.incoming").fetchone()[0]
    for lo in range(0, last_rowid, CHUNK_ROWS):
        con.execute(upsert, {"ingest": ingest_id, "lo": lo, "hi": lo + CHUNK_ROWS})
        done = min(last_rowid, lo + CHUNK_ROWS)
        progress(0.5 + 0.5 * done / max(last_rowid, 1), f"writing vehicles {done}/{last_rowid}")
    con.execute("DROP TABLE temp.incoming")
    return int(added), int(updated)


def _has_tables(con: sqlite3.Connection) -> bool:
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {"ingests", "vehicles", "quarantine"} <= names


def list_ingests(db_path: Path | str) -> list[dict[str, Any]]:
    """Every ingest of the store, oldest first, with its counts (empty for a new store)."""
    db_path = Path(db_path)
    if not db_path.exists():
        return []
    with _connect(db_path) as con:
        if not _has_tables(con):
            return []
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM ingests ORDER BY id").fetchall()]


def load_records(
    db_path: Path | str, *, fleet_dir: Path | str, grid_kg_co2_per_kwh: float | None = None
) -> FleetRecords:
    """The fleet records with vehicles from the store and reference tables from ``fleet_dir``.

    Vehicles and the quarantine (every ingest's rejected rows) come from SQLite; activity, depots,
    emission factors and counties from the records directory ``fleet_dir``.
    Raises ``InputFileError`` when the store does not exist and ``RecordError`` when it holds no vehicle.
    """
    db_path = Path(db_path)
    if not db_path.exists():
        raise InputFileError(db_path, "a fleet store (SQLite)",
                             detail=f"no such file; run `evplan fleet ingest FILE --db {db_path}` first")
    with _connect(db_path) as con:
        if not _has_tables(con):
            raise RecordError(f"{db_path}: no fleet records in this database yet; "
                              f"run `evplan fleet ingest FILE --db {db_path}`")
        vehicles = pd.read_sql_query(
            "SELECT vehicle_id, vehicle_class, powertrain, registered_on, deregistered_on, county_code, is_operating, "
            "depot_id, extra_json FROM vehicles ORDER BY vehicle_id", con)
        issues = tuple(RowIssue(*r) for r in con.execute(
            "SELECT file, row, field, value, reason FROM quarantine ORDER BY ingest_id, id").fetchall())
    if vehicles.empty:
        raise RecordError(f"{db_path}: the fleet store holds no vehicles yet; "
                          f"run `evplan fleet ingest FILE --db {db_path}`")
    for col in ("registered_on", "deregistered_on"):
        vehicles[col] = pd.to_datetime(vehicles[col], format="%Y-%m-%d")
    vehicles["is_operating"] = vehicles["is_operating"].astype(bool)
    for col in ("vehicle_id", "vehicle_class", "powertrain", "county_code", "depot_id"):
        vehicles[col] = vehicles[col].astype("str")
    fleet_dir = Path(fleet_dir)
    counties = load_counties(fleet_dir)
    depots, depot_issues = load_depots(fleet_dir, known_counties=counties)
    activity, factors, activity_issues = load_activity(fleet_dir, known_counties=counties,
                                                             grid_kg_co2_per_kwh=grid_kg_co2_per_kwh)
    return FleetRecords(vehicles=vehicles, activity=activity, depots=depots,
                        quarantine=issues + tuple(depot_issues) + tuple(activity_issues),
                        emission_factors=factors, counties=counties,
                        grid_factors=None if grid_kg_co2_per_kwh is not None else load_grid_factors(fleet_dir))
