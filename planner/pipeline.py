"""The main job as one call: network, fleet records, fleet series, plan, outputs, report — and the files.

The CLI (``evplan plan``, ``cli/plan.py``) and the service's run workers (``app/runs.py``) both call
``run_main_job`` so that a run submitted over HTTP and a run from the terminal are the same computation
and write the same files. ``plan_from_files`` is the same job without writing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from planner.errors import StorageError
from planner.progress import ProgressCallback, StepTimer, nested, silent

if TYPE_CHECKING:
    from planner.fleet import DepotDemand, FleetRecords, FleetSeries, TargetSet
    from planner.network import BBox, Boundary, RoadNetwork
    from planner.siting import Depot, PlanResult, PlanSummary, Scenario
    from planner.siting.existing import ExistingCapacity

T = TypeVar("T")

#: What a GeoJSON output holds: a FeatureCollection as JSON-ready objects.
GeoJSON = dict[str, Any]

#: The files the main job writes, in the order it writes them.
OUTPUT_FILES = ("service_areas.geojson", "sites.geojson", "coverage.geojson", "summary.json",
                "fleet_indicators.json", "report.html", "report.json", "report.csv")


@dataclass(frozen=True)
class PlanOutputs:
    """Everything the main job produces: its inputs as loaded, the plan, and the outputs as JSON-ready objects."""

    network: RoadNetwork
    #: The fleet records planned with; None when none were given (no depots, assumed EV shares).
    records: FleetRecords | None
    #: The fleet's yearly indicators, computed once for the fleet file and the report (None without records).
    series: FleetSeries | None
    result: PlanResult
    service_areas: GeoJSON
    sites: GeoJSON
    coverage: GeoJSON
    summary: PlanSummary
    #: The files written (``run_main_job``), else empty.
    files: tuple[Path, ...] = ()

    def fleet_indicators(self) -> list[dict[str, Any]]:
        """``fleet_indicators.json``: one object per record year, city-wide (empty without records)."""
        if self.series is None:
            return []
        return json.loads(self.series.city.to_json(orient="records"))


def plan_from_files(
    osm_path: Path | str,
    fleet_dir: Path | str | None,
    scenario: Scenario,
    *,
    boundary: Boundary | None = None,
    bbox: BBox | None = None,
    records: FleetRecords | None = None,
    existing: Mapping[str, ExistingCapacity] | None = None,
    progress: ProgressCallback = silent,
) -> PlanOutputs:
    """Run the planning model on an OSM extract and a fleet-records directory; write nothing.

    EV shares of the car stock by stage year come from the fleet records' projection, and depot
    demand from their e-bus and e-taxi activity. ``records`` (already loaded, e.g. from the service's
    store) replaces reading ``fleet_dir``. With neither, the plan has no depots and keeps the scenario's
    assumed EV shares (``summary["ev_share_source"]`` says which). ``existing``: chargers already at
    candidate sites, by site id (sunk capacity; ``planner.siting.existing``).
    """
    from planner import fleet
    from planner import network as net
    from planner.siting import (
        coverage_geojson,
        plan_sites,
        sites_geojson,
        with_ev_shares,
    )

    timer = StepTimer(total=3, callback=progress)
    with timer.step("load road network"):
        network = net.load_network(osm_path, boundary=boundary, bbox=bbox)
    with timer.step("load fleet records"):
        if records is None and fleet_dir is not None:
            records = fleet.load_records(fleet_dir)
        series: FleetSeries | None = None
        depots: list[Depot] = []
        if records is not None:
            series = fleet.fleet_series(records)
            scenario = with_ev_shares(scenario, fleet.ev_car_share_projection(records, years=scenario.stage_years))
            depots = depot_sites(fleet.depot_energy_demand(records, year=scenario.stage_years[0]))
    with timer.step("site and size chargers"):
        result = plan_sites(network, scenario=scenario, depots=depots, existing=existing or {},
                            progress=nested(progress, 2 / 3, 1.0))
    summary = result.summary()
    summary["ev_share_assumed_by_year"] = {str(k): v for k, v in scenario.demand.ev_share_by_year.items()}
    summary["ev_share_source"] = ("projection of the fleet records" if records is not None
                                  else "scenario assumption (no fleet records given)")
    summary["timings_s"] = {**timer.timings_s, **summary["timings_s"]}
    return PlanOutputs(
        network=network,
        records=records,
        series=series,
        result=result,
        service_areas=net.service_areas_geojson(network),
        sites=sites_geojson(result),
        coverage=coverage_geojson(result),
        summary=summary,
    )


def run_main_job(
    osm_path: Path | str,
    fleet_dir: Path | str | None,
    scenario: Scenario,
    out_dir: Path | str,
    *,
    default_targets: Path | str | None = None,
    boundary: Boundary | None = None,
    bbox: BBox | None = None,
    records: FleetRecords | None = None,
    existing: Mapping[str, ExistingCapacity] | None = None,
    progress: ProgressCallback = silent,
) -> PlanOutputs:
    """``plan_from_files``, then write every output file (``OUTPUT_FILES``) to ``out_dir``.

    The report's targets are ``fleet_dir``'s own ``targets.toml``, else ``default_targets`` (the edges
    pass the shipped file). Without fleet records (``fleet_dir`` and ``records`` both None) the fleet
    files (``fleet_indicators.json``, ``report.*``) are not written. Nothing is written when the plan
    fails. Raises ``StorageError`` when ``out_dir`` cannot be created or written.
    """
    from planner import fleet

    out = Path(out_dir)
    _storage_errors(out, lambda: out.mkdir(parents=True, exist_ok=True))  # before the work, not after it
    targets: TargetSet | None = None
    if fleet_dir is not None:
        targets = fleet.targets_for(fleet_dir, default=default_targets)
    elif records is not None and default_targets is not None:
        targets = fleet.load_target_set(default_targets)
    done = plan_from_files(osm_path, fleet_dir, scenario, boundary=boundary, bbox=bbox, records=records,
                           existing=existing, progress=progress)
    return _storage_errors(out, lambda: _write_outputs(done, out, targets))


def _storage_errors(out: Path, write: Callable[[], T]) -> T:
    """``write()``, with an operating-system error turned into a ``StorageError`` naming the path."""
    try:
        return write()
    except OSError as exc:
        where = exc.filename or out
        raise StorageError(f"{where}: {exc.strerror or exc} (the output directory cannot be written: check "
                           "the path and that it is writable)") from exc


def _write_outputs(done: PlanOutputs, out: Path, targets: TargetSet | None) -> PlanOutputs:
    from dataclasses import replace

    from planner import fleet
    from planner._io import write_text_atomic
    from planner.geo import write_geojson

    def write_json(obj: object, path: Path) -> Path:
        return write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")

    files = [
        write_geojson(done.service_areas, out / "service_areas.geojson"),
        write_geojson(done.sites, out / "sites.geojson"),
        write_geojson(done.coverage, out / "coverage.geojson"),
        write_json(done.summary, out / "summary.json"),
    ]
    if done.records is not None:
        files.append(write_json(done.fleet_indicators(), out / "fleet_indicators.json"))
        if targets is not None:
            files += fleet.write_report(done.records, out_dir=out, targets=targets, series=done.series,
                                        plan_summary=done.summary)
    return replace(done, files=tuple(Path(f) for f in files))


def depot_sites(demand: Iterable[DepotDemand]) -> list[Depot]:
    """The siting's depots from the fleet's depot demand (plug-in vehicles and their daily energy)."""
    from planner.siting import Depot

    return [
        Depot(depot_id=str(d.depot_id), name=str(d.name or d.depot_id), lon=float(d.lon), lat=float(d.lat),
              vehicles=int(d.vehicles), daily_kwh=float(d.daily_kwh),
              grid_capacity_kw=None if d.grid_capacity_kw is None else float(d.grid_capacity_kw))
        for d in demand
    ]
