"""A province planned city by city: one streamed pass over the extract, one Dask task per city, totals by city.

City polygons come from a GeoJSON of admin areas (``adcode``, ``name``; ``level == "city"`` when levels are
given). The extract is read once and each city's clip is written to the network cache, where its task
reads it by path; the province total is the sum of the cities' plans.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import InputFileError
from planner.sweep.grid import file_stamps, jsonable, point_key
from planner.sweep.run import STAGE_FIGURES, figures_of

#: Figures summed over the cities for the province total.
SUMMED = ("capex_cny", "chargers", "sites", "power_kw", "people_covered", "towns_covered", "towns")


@dataclass(frozen=True)
class City:
    """One city of the province: its six-digit admin code and name."""

    code: str
    name: str


@dataclass
class ProvinceResult:
    """The plan of each city and the province total."""

    cities: list[dict[str, Any]]
    total: dict[str, Any]
    seconds: float
    files: tuple[Path, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``province.json``."""
        return {"cities": self.cities, "total": self.total, "seconds": round(self.seconds, 3), **self.extra}


def read_cities(boundaries: Path | str) -> list[City]:
    """The cities of an admin-areas GeoJSON: features with an ``adcode`` (only ``level == "city"`` ones when
    the file gives levels), in code order."""
    from planner.network.clip import read_json

    path = Path(boundaries)
    data = read_json(path)
    features = [f for f in data.get("features", []) if str((f.get("properties") or {}).get("adcode", "")).strip()]
    if any((f.get("properties") or {}).get("level") for f in features):
        features = [f for f in features if f["properties"].get("level") == "city"]
    if not features:
        raise InputFileError(path, "a GeoJSON FeatureCollection of city polygons with 'adcode' (and 'name') "
                             "properties", detail="no city feature found")
    cities = {str(f["properties"]["adcode"]): City(str(f["properties"]["adcode"]),
                                                   str(f["properties"].get("name") or f["properties"]["adcode"]))
              for f in features}
    return [cities[c] for c in sorted(cities)]


def _city_clip(city: City, boundaries: Path | str) -> Any:
    from planner.network.clip import admin_boundary, resolve_clip

    return resolve_clip(admin_boundary(city.code, boundaries))


def prime_city_networks(extract: Path | str, boundaries: Path | str, cities: list[City]) -> dict[str, str]:
    """Clip every city from one streamed pass over ``extract`` and write each clip to the network cache,
    under the key ``load_network(extract, boundary=<city polygon>)`` looks up; returns what was done per city."""
    from planner import config
    from planner.network import load as net_load
    from planner.network.cache import cache_key, read_cache, write_cache
    from planner.network.places import MAX_ATTACH_KM
    from planner.network.service_areas import MAX_SNAP_KM

    path = Path(extract)
    todo: list[tuple[City, Any, Path]] = []
    done: dict[str, str] = {}
    for city in cities:
        clip = _city_clip(city, boundaries)
        key = cache_key(path, clip, max_snap_km=MAX_SNAP_KM, max_attach_km=MAX_ATTACH_KM,
                        speeds=net_load.DEFAULT_SPEEDS_KPH, counties=None)
        entry = config.cache_dir() / "networks" / key
        if read_cache(entry) is not None:
            done[city.code] = "cached"
        else:
            todo.append((city, clip, entry))
    if not todo:
        return done
    raw = net_load.read_osm(path)  # the one streamed pass
    for city, clip, entry in todo:
        try:
            network = net_load.network_from_read(raw, clip=clip)
        except Exception as exc:  # noqa: BLE001 - the city's own task reports it (it loads again and fails)
            done[city.code] = f"not clipped: {type(exc).__name__}: {exc}"
            continue
        write_cache(entry, network)
        del network  # one city's network at a time beside the read
        net_load.release_freed_memory()
        done[city.code] = "clipped"
    return done


def plan_city(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One city as a Dask task: the main job on the extract clipped to the city's polygon (read from the
    cache by path), into ``spec["city_dir"]``; its row (a failed plan is a row with the reason)."""
    from planner._io import write_text_atomic
    from planner.errors import EvplanError
    from planner.pipeline import run_main_job
    from planner.siting.scenario import scenario_from_options

    started = time.perf_counter()
    city = City(spec["code"], spec["name"])
    out = Path(spec["city_dir"])
    row: dict[str, Any] = {"code": city.code, "name": city.name, "key": spec["key"]}
    try:
        from planner.network.clip import admin_boundary

        polygon = admin_boundary(city.code, spec["boundaries"])
        done = run_main_job(spec["extract"], None, scenario_from_options(spec["scenario"]), out, boundary=polygon)
        row.update(status="succeeded", error=None, **figures_of(done.summary))
    except EvplanError as exc:
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}", **_empty())
    except Exception as exc:  # noqa: BLE001 - one city's crash is its row's reason
        row.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}", **_empty())
    row["seconds"] = round(time.perf_counter() - started, 3)
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    row["city_dir"] = f"cities/{city.code}"
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "city.json", json.dumps(row, ensure_ascii=False, indent=2, default=str) + "\n")
    return row


def _empty() -> dict[str, Any]:
    return {"stages": {}, **{k: None for k in (*STAGE_FIGURES, "towns")}, "solver_status": None,
            "solver_gap": None, "optimal": False}


def province_total(cities: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of the cities' figures, per stage and for the final stage; ``complete`` when no city failed."""
    ok = [c for c in cities if c["status"] == "succeeded"]
    years = sorted({y for c in ok for y in c["stages"]}, key=int)
    stages = {y: {k: sum(c["stages"].get(y, {}).get(k) or 0 for c in ok) for k in SUMMED} for y in years}
    return {"code": "total", "name": "province total", "cities": len(cities), "cities_planned": len(ok),
            "complete": len(ok) == len(cities), "stages": stages, **{k: sum(c.get(k) or 0 for c in ok) for k in SUMMED},
            "failed": [c["code"] for c in cities if c["status"] != "succeeded"]}


def province_csv(result: ProvinceResult) -> str:
    """``province.csv``: one row per city, then the total; capex, chargers and sites per stage."""
    rows = [*result.cities, result.total]
    years = sorted({y for r in rows for y in r.get("stages", {})}, key=int)
    columns = ["code", "name", "status", *(f"{k}_{y}" for y in years for k in ("capex_cny", "chargers", "sites")),
               "capex_cny", "chargers", "sites", "people_covered", "solver_status", "solver_gap", "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        flat = {**r, "status": r.get("status", "complete" if r.get("complete") else "incomplete")}
        for y, figs in r.get("stages", {}).items():
            for k, v in figs.items():
                flat[f"{k}_{y}"] = v
        w.writerow(["" if flat.get(c) is None else flat.get(c) for c in columns])
    return buf.getvalue()


def plan_province(
    extract: Path | str,
    boundaries: Path | str,
    out_dir: Path | str,
    *,
    scenario: Mapping[str, object] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> ProvinceResult:
    """Plan each city of ``boundaries`` on ``extract`` as one Dask task; write ``province.json`` and ``.csv``.

    ``scenario`` holds option values (the rest default). Cities planned before with the same scenario and
    input files are reused from ``out_dir/cities/<code>/city.json``.
    """
    from planner._io import write_text_atomic
    from planner.siting.scenario import options_of, scenario_from_options
    from planner.sweep.cluster import dask_client, map_unordered

    started = time.perf_counter()
    from planner.network import _osm

    _osm.check_source(extract)
    cities = read_cities(boundaries)
    full = jsonable(options_of(scenario_from_options(dict(scenario or {}))))
    out = Path(out_dir)
    inputs = {"extract": file_stamps(extract), "boundaries": file_stamps(boundaries)}
    specs = [{"code": c.code, "name": c.name, "extract": str(extract), "boundaries": str(boundaries),
              "scenario": full, "city_dir": str(out / "cities" / c.code),
              "key": point_key(full, {**inputs, "city": c.code})} for c in cities]
    rows: dict[str, dict[str, Any]] = {}

    def record(row: dict[str, Any]) -> None:
        rows[row["code"]] = row
        if progress is not None:
            progress(len(rows), len(specs), row)

    pending = []
    for spec in specs:
        try:
            row = json.loads((Path(spec["city_dir"]) / "city.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            row = None
        if isinstance(row, dict) and row.get("key") == spec["key"] and row.get("status") == "succeeded":
            record({**row, "reused": True})
        else:
            pending.append(spec)
    primed: dict[str, str] = {}
    if pending:
        primed = prime_city_networks(extract, boundaries, [City(s["code"], s["name"]) for s in pending])

        def run_all(c: Any) -> None:
            for spec, row, error in map_unordered(c, plan_city, pending, name="evplan-city", key_of=lambda s: s["code"]):
                if error is not None:
                    row = {"code": spec["code"], "name": spec["name"], "key": spec["key"], "status": "failed",
                           "error": f"the task was lost: {type(error).__name__}: {error}", **_empty()}
                record(row)  # type: ignore[arg-type]

        if client is not None:
            run_all(client)
        else:
            with dask_client(scheduler, workers) as c:
                run_all(c)
    ordered = [rows[s["code"]] for s in specs]
    result = ProvinceResult(cities=ordered, total=province_total(ordered), seconds=time.perf_counter() - started,
                            extra={"scenario": full, "networks": primed})
    out.mkdir(parents=True, exist_ok=True)
    result.files = (
        write_text_atomic(out / "province.json", json.dumps(result.to_json(), ensure_ascii=False, indent=2,
                                                            default=str) + "\n"),
        write_text_atomic(out / "province.csv", province_csv(result)),
    )
    return result
