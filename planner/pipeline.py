"""The main job as one function: load the network and fleet records, plan, and build the outputs.

The CLI (``evplan plan``) and the service's run workers both call ``plan_from_files`` so that a run
submitted over HTTP and a run from the terminal are the same computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.progress import ProgressCallback, StepTimer, nested, silent


@dataclass(frozen=True)
class PlanOutputs:
    """Everything the main job produces, as JSON-ready objects."""

    network: Any
    records: Any
    result: Any
    service_areas: dict[str, Any]
    sites: dict[str, Any]
    coverage: dict[str, Any]
    summary: dict[str, Any]


def plan_from_files(
    osm_path: Path | str,
    fleet_dir: Path | str,
    scenario: Any,
    *,
    boundary: Any = None,
    bbox: tuple[float, float, float, float] | None = None,
    records: Any = None,
    progress: ProgressCallback = silent,
) -> PlanOutputs:
    """Run the planning model on an OSM extract and a fleet-records directory.

    EV shares of the car stock by stage year come from the fleet records' projection, and depot
    demand from their e-bus and e-taxi activity. ``records`` (already loaded, e.g. from the service's
    store) replaces reading ``fleet_dir``.
    """
    from planner import fleet
    from planner import network as net
    from planner.siting.outputs import coverage_geojson, sites_geojson
    from planner.siting.plan import plan_sites, with_ev_shares

    timer = StepTimer(total=3, callback=progress)
    with timer.step("load road network"):
        network = net.load_network(osm_path, boundary=boundary, bbox=bbox)
    with timer.step("load fleet records"):
        if records is None:
            records = fleet.load_records(fleet_dir)
        scenario = with_ev_shares(scenario, fleet.ev_car_share_projection(records, years=scenario.stage_years))
        depots = fleet.depot_energy_demand(records, year=scenario.stage_years[0]).to_dict("records")
    with timer.step("site and size chargers"):
        result = plan_sites(network, scenario=scenario, depots=depots, progress=nested(progress, 2 / 3, 1.0))
    summary = result.summary()
    summary["ev_share_assumed_by_year"] = {str(k): v for k, v in scenario.demand.ev_share_by_year.items()}
    summary["timings_s"] = {**timer.timings_s, **summary["timings_s"]}
    return PlanOutputs(
        network=network,
        records=records,
        result=result,
        service_areas=net.service_areas_geojson(network),
        sites=sites_geojson(result),
        coverage=coverage_geojson(result),
        summary=summary,
    )
