"""Running a sweep: one Dask task per point, each ``run_main_job`` into ``points/<key>/``; finished points reused.

A task gets the point's scenario and the input paths (never a network or records object) and returns
one table row; a point that fails is a row with its reason. ``point.json`` is written last, so its
presence with ``status: succeeded`` marks a finished point that a re-run takes as it is.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.sweep.cluster import dask_client, map_unordered
from planner.sweep.grid import (
    MAX_POINTS,
    Grid,
    axes,
    check_grid,
    file_stamps,
    grid_points,
    jsonable,
    point_key,
)

#: The figures of one stage in a row, as the table names them.
STAGE_FIGURES = ("capex_cny", "chargers", "sites", "power_kw", "people_covered", "trips_covered", "towns_covered")


@dataclass(frozen=True)
class SweepInputs:
    """What every point plans on: the files by path (workers read them), clip, and extra identity."""

    osm_path: str
    fleet_dir: str | None = None
    #: Admin code or GeoJSON file path (``load_network``'s ``boundary``), and a WGS84 bbox.
    boundary: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    #: The service's database: plan with its uploaded fleet records when it holds any (else ``fleet_dir``).
    records_db: str | None = None
    #: More identity for the point keys (e.g. the hashes of uploaded fleet files).
    identity: tuple[str, ...] = ()

    def key_inputs(self) -> dict[str, Any]:
        """The inputs' part of a point's key: file stamps, clip and extra identity."""
        return {"osm": file_stamps(self.osm_path), "fleet": file_stamps(self.fleet_dir),
                "boundary": None if self.boundary is None else [str(self.boundary), file_stamps(self.boundary)
                                                                 if Path(str(self.boundary)).is_file() else None],
                "bbox": None if self.bbox is None else list(self.bbox), "identity": list(self.identity)}


@dataclass
class SweepEvent:
    """Progress: ``done`` of ``total`` points have a row; ``row`` is the one just finished."""

    done: int
    total: int
    row: dict[str, Any]


@dataclass
class SweepResult:
    """A finished sweep: its grid, base, swept options and one row per point (grid order)."""

    grid: Grid
    base: dict[str, Any]
    axes: list[str]
    rows: list[dict[str, Any]]
    seconds: float
    files: tuple[Path, ...] = ()
    cluster: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows of the points that failed."""
        return [r for r in self.rows if r["status"] != "succeeded"]

    def to_json(self) -> dict[str, Any]:
        """``sweep.json``: grid, base, axes, columns of the CSV and the rows."""
        from planner.sweep.table import csv_columns

        return {"grid": {k: [list(v) if isinstance(v, tuple) else v for v in vs] for k, vs in self.grid.items()},
                "base": self.base, "axes": self.axes, "points": len(self.rows),
                "succeeded": len(self.rows) - len(self.failed), "failed": len(self.failed),
                "seconds": round(self.seconds, 3), "cluster": self.cluster, "columns": csv_columns(self.rows),
                "rows": self.rows, **self.extra}


def figures_of(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A plan summary's figures for the table: per stage, the final stage's at the top, solver status and gap.

    ``capex_cny`` of a stage is the capital of the sites open by then (the summary's ``cost_cny``);
    ``trips_covered`` stays None until the demand model reports trips.
    """
    stages: dict[str, dict[str, Any]] = {}
    for year in sorted(summary.get("stages", {}), key=int):
        s = summary["stages"][year]
        stages[str(year)] = {"capex_cny": s.get("cost_cny"), "chargers": s.get("chargers"), "sites": s.get("sites"),
                             "power_kw": s.get("power_kw"), "people_covered": s.get("population_covered"),
                             "trips_covered": s.get("trips_covered"), "towns_covered": s.get("towns_covered"),
                             "towns": s.get("towns")}
    final = stages[max(stages, key=int)] if stages else {}
    solver = summary.get("solver") or {}
    status = solver.get("status")
    return {"stages": stages, **{k: final.get(k) for k in (*STAGE_FIGURES, "towns")},
            "solver_status": status, "solver_gap": solver.get("gap"), "optimal": status == "optimal"}


def _row(spec: Mapping[str, Any], status: str, *, error: str | None = None, summary: Mapping[str, Any] | None = None,
         seconds: float | None = None) -> dict[str, Any]:
    figures = figures_of(summary) if summary is not None else {
        "stages": {}, **{k: None for k in (*STAGE_FIGURES, "towns")}, "solver_status": None, "solver_gap": None,
        "optimal": False}
    return {"key": spec["key"], "status": status, "error": error, "scenario": dict(spec["scenario"]), **figures,
            "seconds": None if seconds is None else round(seconds, 3), "point_dir": f"points/{spec['key']}",
            "worker": f"{socket.gethostname()}:{os.getpid()}", "reused": False}


#: Fleet records loaded in this worker process, by what they were read from (one sweep reads the same
#: records for every point: a worker loads them once).
_RECORDS: dict[str, Any] = {}


def _records(spec: Mapping[str, Any]) -> Any:
    """The fleet records a point plans with: the service's uploaded records when its database holds any
    (the service's policy), else those of ``fleet_dir``; None without a records directory."""
    fleet_dir = spec.get("fleet_dir")
    if not fleet_dir:
        return None
    db = spec.get("records_db")
    ident = json.dumps([fleet_dir, file_stamps(fleet_dir), db, file_stamps(db) if db else None], default=str)
    if ident in _RECORDS:
        return _RECORDS[ident]
    from planner import fleet
    from planner.errors import RecordError
    from planner.fleet import store as fleet_store

    records = None
    if db and Path(db).exists():
        try:
            records = fleet_store.load_records(Path(db), fleet_dir=Path(fleet_dir))
        except RecordError:  # the store holds no vehicle yet: the records directory is used
            records = None
    if records is None:
        records = fleet.load_records(fleet_dir)
    _RECORDS.clear()
    _RECORDS[ident] = records
    return records


def run_point(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One sweep point as a Dask task: the main job on its scenario into its own directory; its table row.

    Never raises for a failed plan: the row says ``failed`` with the reason (and is not reused later).
    """
    from planner._io import write_text_atomic
    from planner.errors import EvplanError
    from planner.pipeline import run_main_job
    from planner.siting.scenario import scenario_from_options

    started = time.perf_counter()
    out = Path(spec["point_dir"])
    try:
        scenario = scenario_from_options(spec["scenario"])
        records = _records(spec)
        bbox = tuple(spec["bbox"]) if spec.get("bbox") else None
        # The records are passed loaded (once per worker) and the fleet report, the same for every point,
        # is left out: the plan is the one ``evplan plan`` makes with these records.
        done = run_main_job(spec["osm_path"], None, scenario, out, boundary=spec.get("boundary"),
                            bbox=bbox, records=records)  # type: ignore[arg-type]
        row = _row(spec, "succeeded", summary=done.summary, seconds=time.perf_counter() - started)
    except EvplanError as exc:
        row = _row(spec, "failed", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - a point's crash is its row's reason, the sweep goes on
        row = _row(spec, "failed", error=f"internal error: {type(exc).__name__}: {exc}",
                   seconds=time.perf_counter() - started)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "point.json", json.dumps(row, ensure_ascii=False, indent=2, default=str) + "\n")
    except OSError as exc:
        row = {**row, "status": "failed", "error": f"the point's directory cannot be written: {exc}"}
    return row


def finished_row(point_dir: Path, key: str) -> dict[str, Any] | None:
    """The stored row of a finished point (``point.json``, succeeded, same key), else None."""
    try:
        row = json.loads((point_dir / "point.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or row.get("key") != key or row.get("status") != "succeeded":
        return None
    return {**row, "reused": True}


def warm_network(inputs: SweepInputs) -> None:
    """Fill the processed-network cache once before the workers start, so they all read it instead of
    each building it (the local cluster's workers share this machine's cache directory)."""
    from planner.network import load_network

    if Path(inputs.osm_path).is_file():
        load_network(inputs.osm_path, boundary=inputs.boundary, bbox=inputs.bbox)


def run_sweep(
    grid: Mapping[str, Sequence[object]],
    out_dir: Path | str,
    inputs: SweepInputs,
    *,
    base: Mapping[str, object] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    points_dir: Path | str | None = None,
    max_points: int = MAX_POINTS,
    progress: Callable[[SweepEvent], None] | None = None,
    write: bool = True,
    submit_options: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Run every point of ``grid`` over ``base`` as Dask tasks; write ``sweep.json/.csv/.html`` to ``out_dir``.

    ``client`` (a ``distributed.Client``) is used as it is; else one is opened on ``scheduler`` or on a
    local cluster of ``workers``. Points live in ``points_dir`` (default ``out_dir/points``), one
    directory per key; finished ones are reused. ``submit_options`` go to ``Client.submit`` (e.g. pinning
    to some workers). Raises ``GridError``/``ScenarioError`` for a bad grid.
    """
    started = time.perf_counter()
    checked = check_grid(grid)
    points = grid_points(checked, base, max_points=max_points)
    out = Path(out_dir)
    pdir = Path(points_dir) if points_dir is not None else out / "points"
    key_inputs = inputs.key_inputs()
    specs = []
    for scenario in points:
        key = point_key(scenario, key_inputs)
        specs.append({"key": key, "scenario": jsonable(scenario), "point_dir": str(pdir / key),
                      "osm_path": str(inputs.osm_path), "fleet_dir": None if inputs.fleet_dir is None else str(inputs.fleet_dir),
                      "boundary": inputs.boundary, "bbox": None if inputs.bbox is None else list(inputs.bbox),
                      "records_db": inputs.records_db})
    rows: dict[str, dict[str, Any]] = {}
    total = len(specs)

    def record(row: dict[str, Any]) -> None:
        rows[row["key"]] = row
        if progress is not None:
            progress(SweepEvent(len(rows), total, row))

    pending = []
    for spec in specs:
        row = finished_row(Path(spec["point_dir"]), spec["key"])
        if row is not None:
            record(row)
        else:
            pending.append(spec)
    cluster = "none needed: every point was finished before"
    if pending:
        warm_network(inputs)

        def run_all(c: Any) -> None:
            for spec, row, error in map_unordered(c, run_point, pending, name="evplan-point", key_of=lambda s: s["key"],
                                                  submit_options=submit_options):
                if error is not None:  # the task was lost: its worker died, or the scheduler went away
                    row = _row(spec, "failed", error=f"the task was lost: {type(error).__name__}: {error}")
                record(row)  # type: ignore[arg-type]

        if client is not None:
            cluster = f"Dask scheduler {client.scheduler.address}"
            run_all(client)
        else:
            with dask_client(scheduler, workers) as c:
                n = len(c.scheduler_info().get("workers", {}))
                cluster = (f"Dask scheduler {scheduler}" if scheduler
                           else "Dask LocalCluster") + f", {n} worker(s)"
                run_all(c)
    result = SweepResult(grid=checked, base=jsonable(dict(base or {})), axes=axes(checked),
                         rows=[rows[s["key"]] for s in specs], seconds=time.perf_counter() - started, cluster=cluster)
    if write:
        from planner.sweep.table import write_sweep_files

        result.files = write_sweep_files(result, out)
    return result
