"""The main job as one call: network, fleet records, fleet series, plan, outputs, report — and the files.

The CLI (``evplan plan``, ``cli/plan.py``) and the service's run workers (``app/runs.py``) both call
``run_main_job`` so that a run submitted over HTTP and a run from the terminal are the same computation
and write the same files. ``plan_from_files`` is the same job without writing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from planner.errors import ScenarioError, StorageError
from planner.progress import ProgressCallback, StepTimer, nested, silent

if TYPE_CHECKING:
    from planner.fleet import DepotDemand, FleetRecords, FleetSeries, TargetSet
    from planner.network import BBox, Boundary, RoadNetwork
    from planner.siting import Depot, PlanResult, PlanSummary, Scenario
    from planner.siting.existing import AttachedExisting, ExistingCapacity, ExistingRead

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
    existing_files: Sequence[Path | str] = (),
    shipped_existing: bool = True,
    traffic_counts: Path | str | None = None,
    od_table: Path | str | None = None,
    progress: ProgressCallback = silent,
) -> PlanOutputs:
    """Run the planning model on an OSM extract and a fleet-records directory; write nothing.

    EV shares of the car stock by stage year come from the fleet records' projection, and depot
    demand from their e-bus and e-taxi activity. ``records`` (already loaded, e.g. from the service's
    store) replaces reading ``fleet_dir``. With neither, the plan has no depots and keeps the scenario's
    assumed EV shares (``summary["ev_share_source"]`` says which). ``existing``: chargers already at
    candidate sites, by site id (sunk capacity; ``planner.siting.existing``).

    Existing-charger records (``existing_charger_records``) are attached to the plan's sites: the file
    shipped for the shipped network (unless ``shipped_existing`` is False), the extract's own
    ``amenity=charging_station`` elements and ``existing_files``; ``summary["existing_chargers"]`` reports
    what was read, attached and left unmatched, and ``summary["clause_22"]`` what each side has today.

    Demand (``planner.demand``): the towns carry census populations where the network has a census table
    (the shipped one for the shipped network; else the OSM tags); with fleet records, each town's public
    fast-charging demand is its county's EVs spread by population; corridor sites get the stopping EVs of
    routed O-D flows (``scenario.traffic.corridor_demand``: gravity model, or ``od_table``, calibrated to
    ``traffic_counts``). ``summary["population"]``, ``["town_demand"]`` and ``["traffic"]`` say how.
    """
    from planner import fleet
    from planner import network as net
    from planner.siting import (
        coverage_geojson,
        plan_sites,
        sites_geojson,
        with_ev_shares,
    )
    from planner.siting.scenario import options_of

    timer = StepTimer(total=4, callback=progress)
    with timer.step("load road network"):
        network = net.load_network(osm_path, boundary=boundary, bbox=bbox)
        read, read_from = existing_charger_records(osm_path, existing_files, shipped=shipped_existing)
    with timer.step("load fleet records"):
        if records is None and fleet_dir is not None:
            records = fleet.load_records(fleet_dir)
        series: FleetSeries | None = None
        depots: list[Depot] = []
        if records is not None:
            series = fleet.fleet_series(records)
            if scenario.demand.ev_share_from_records:
                scenario = with_ev_shares(scenario, fleet.ev_car_share_projection(records, years=scenario.stage_years))
            depots = depot_sites(fleet.depot_energy_demand(records, year=scenario.stage_years[0]))
    with timer.step("demand: census towns, town charging, corridor traffic"):
        demand = plan_demand(network, osm_path, scenario, records, traffic_counts=traffic_counts, od_table=od_table)
    with timer.step("site and size chargers"):
        result = plan_sites(network, scenario=scenario, depots=depots, existing=existing or {},
                            existing_chargers=read.chargers, towns=demand.towns, demand=demand.points,
                            flows=demand.flows, progress=nested(progress, 3 / 4, 1.0))
    summary = result.summary()
    summary.update(demand.report)
    summary["existing_chargers"] = existing_report(read, read_from, result.attached)
    _clause_22_today(summary, result, network)
    summary["ev_share_assumed_by_year"] = {str(k): v for k, v in scenario.demand.ev_share_by_year.items()}
    summary["ev_share_source"] = ("scenario assumption (no fleet records given)" if records is None
                                  else "projection of the fleet records" if scenario.demand.ev_share_from_records
                                  else "scenario assumption (demand.ev_share_from_records = false)")
    # The effective scenario, every value (EV shares as planned with), as a stored run's scenario is.
    summary["scenario"] = {k: list(v) if isinstance(v, tuple) else v for k, v in options_of(scenario).items()}
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
    existing_files: Sequence[Path | str] = (),
    shipped_existing: bool = True,
    traffic_counts: Path | str | None = None,
    od_table: Path | str | None = None,
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
                           existing=existing, existing_files=existing_files, shipped_existing=shipped_existing,
                           traffic_counts=traffic_counts, od_table=od_table, progress=progress)
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


@dataclass(frozen=True)
class PlanDemand:
    """The plan's demand inputs and how they were made (JSON-ready, for ``summary.json``)."""

    towns: list[Any]
    #: Town demand points from the fleet records (None: the towns' default from population).
    points: list[Any] | None
    #: Routed O-D flows for the corridor sites (None: the uniform expressway assumption).
    flows: tuple[Any, ...] | None
    report: dict[str, Any]


def plan_demand(network: RoadNetwork, osm_path: Path | str, scenario: Scenario, records: FleetRecords | None, *,
                traffic_counts: Path | str | None = None, od_table: Path | str | None = None) -> PlanDemand:
    """Census towns, town demand from the records, and routed (optionally calibrated) corridor flows."""
    from planner import demand as dm
    from planner.demand import counts

    pop = dm.town_populations(network, dm.census_for(osm_path))
    towns = pop.towns
    report: dict[str, Any] = {"population": pop.report()}
    points = None
    if records is not None:
        shares = None
        if not scenario.demand.ev_share_from_records:  # the scenario's shares, read as [demand] says
            from planner.fleet import record_years

            needed = {*scenario.stage_years, *record_years(records)[-1:]}
            shares = {y: scenario.demand.ev_share(y) for y in sorted(needed)}
        td = dm.town_demand_from_records(towns, records, stage_years=scenario.stage_years,
                                         peak_hour_factor=scenario.demand.peak_hour_factor,
                                         assumptions=scenario.town_demand, car_share_by_year=shares)
        points = td.demand_points()
        report["town_demand"] = td.report()
    else:
        report["town_demand"] = {"source": "population x scenario.demand.cars_per_resident (no fleet records)"}
    if scenario.traffic.corridor_demand != "flows":
        if traffic_counts is not None or od_table is not None:
            raise ScenarioError("traffic counts or an O-D table were given, but traffic.corridor_demand is "
                                "'uniform': set it to 'flows' to use them")
        report["traffic"] = {"basis": "uniform expressway assumption", "flows": 0}
        return PlanDemand(towns, points, None, report)
    fm = dm.traffic_flows(network, scenario.traffic, towns=towns)
    quarantined: list[str] = []
    if od_table is not None:
        od = counts.read_od_csv(od_table, fm.zones)
        quarantined += [q.describe() for q in od.quarantined]
        fm = dm.traffic_flows(network, scenario.traffic, towns=towns, od=od.od)
    flows = fm.flows
    traffic: dict[str, Any] = {"basis": fm.basis, "gateways": [g.gateway_id for g in fm.gateways],
                               "zones": len(fm.zones)}
    if traffic_counts is not None:
        read = counts.read_counts_csv(traffic_counts)
        matched = counts.match_counts(network, read.counts)
        quarantined += [q.describe() for q in (*read.quarantined, *matched.quarantined)]
        cal = counts.calibrate(flows, matched.counts)
        flows = cal.flows
        traffic["basis"] = f"{fm.basis}, calibrated to counts"
        traffic["calibration"] = {"counts": len(cal.fits), "max_relative_error": round(cal.max_relative_error, 5),
                                  "converged": cal.converged, "iterations": cal.iterations,
                                  "unmet_counts": len(cal.unmet)}
    traffic["flows"] = len(flows)
    traffic["quarantined"] = quarantined
    report["traffic"] = traffic
    return PlanDemand(towns, points, tuple(flows), report)


def depot_sites(demand: Iterable[DepotDemand]) -> list[Depot]:
    """The siting's depots from the fleet's depot demand (plug-in vehicles and their daily energy)."""
    from planner.siting import Depot

    return [
        Depot(depot_id=str(d.depot_id), name=str(d.name or d.depot_id), lon=float(d.lon), lat=float(d.lat),
              vehicles=int(d.vehicles), daily_kwh=float(d.daily_kwh),
              grid_capacity_kw=None if d.grid_capacity_kw is None else float(d.grid_capacity_kw))
        for d in demand
    ]


def existing_charger_records(osm_path: Path | str, files: Sequence[Path | str] = (), *,
                             shipped: bool = True) -> tuple[ExistingRead, list[str]]:
    """Existing chargers a plan of ``osm_path`` starts from, and the files they were read from.

    In order: the file shipped for this network (``planner.config.shipped_existing_chargers``, unless
    ``shipped`` is False), the ``amenity=charging_station`` elements of the extract itself, then each of
    ``files`` (CSV, OSM or a directory of CSVs). A record repeated exactly (same name, position, chargers,
    power and status, e.g. a bureau's register that copies the shipped rows) counts once, with a note.
    Raises ``InputFileError`` for a missing or unreadable file; bad rows are quarantined, not raised.
    """
    from planner import config
    from planner.siting.existing import ExistingRead, load_existing, read_osm_chargers

    sources: list[tuple[Path, Callable[[Path], ExistingRead]]] = []
    default = config.shipped_existing_chargers(osm_path) if shipped else None
    if default is not None:
        sources.append((Path(default), load_existing))
    if Path(osm_path).is_file():
        sources.append((Path(osm_path), read_osm_chargers))
    sources += [(Path(f), load_existing) for f in files]
    total = ExistingRead()
    seen: dict[tuple[Any, ...], str] = {}
    notes: list[str] = []
    for path, read in sources:
        got = read(path)
        keep = []
        for c in got.chargers:
            key = (c.name, round(c.lon, 6), round(c.lat, 6), c.chargers, c.power_kw, c.status)
            if key in seen:
                notes.append(f"{c.source}: same record as {seen[key]}: counted once")
                continue
            seen[key] = c.source
            keep.append(c)
        total = total + ExistingRead(tuple(keep), got.quarantined, got.notes)
    return ExistingRead(total.chargers, total.quarantined, total.notes + tuple(notes)), [str(p) for p, _ in sources]


def existing_report(read: ExistingRead, files: Sequence[str], attached: AttachedExisting | None) -> dict[str, Any]:
    """``summary["existing_chargers"]``: what was read, where each record went, and what matched no site."""
    atts = attached.attachments if attached is not None else ()
    unmatched = attached.unmatched if attached is not None else ()
    by_site = attached.by_site if attached is not None else {}
    return {
        "files": list(files),
        "records": len(read.chargers),
        "chargers": sum(c.chargers for c in read.chargers),
        "operational_chargers_attached": sum(a.chargers for a in atts if a.charger.status == "operational"),
        "planned_chargers_attached": sum(a.chargers for a in atts if a.charger.status == "planned"),
        "sites_with_existing": len(by_site),
        "attached": [
            {"site_id": a.site_id, "kind": a.kind, "name": a.charger.name, "source": a.charger.source,
             "chargers": a.chargers, "power_kw": a.charger.power_kw, "status": a.charger.status,
             "commissioned": a.charger.commissioned, "distance_km": a.distance_km, "rule": a.rule,
             "approximate": a.charger.approximate}
            for a in atts
        ],
        "unmatched": [
            {"name": u.charger.name, "source": u.charger.source, "chargers": u.charger.chargers,
             "status": u.charger.status, "nearest_site_id": u.nearest_site_id, "distance_km": u.distance_km,
             "reason": u.reason, "candidate_site_id": u.candidate_site_id}
            for u in unmatched
        ],
        "quarantined": [q.describe() for q in read.quarantined],
        "notes": list(read.notes),
    }


def _clause_22_today(summary: dict[str, Any], result: PlanResult, network: RoadNetwork) -> None:
    """Add to each side of ``summary["clause_22"]`` the audit of what stands by the first stage year.

    ``fast_chargers_today`` counts operational fast connectors there (``clause22_status``); planned chargers
    never meet the clause; ``missing_today`` says in words what is missing (empty when the side has them).
    """
    from planner.siting.existing import clause22_status

    first = result.scenario.stage_years[0]
    attached = result.attached
    by_site = attached.capacity(as_of_year=first) if attached is not None else {}
    planned = attached.planned_by_site if attached is not None else {}
    audit = clause22_status(network.service_areas, {**by_site, **result.existing}, planned_by_site=planned,
                            unsnapped=network.unsnapped_service_areas)
    sides = {s.site_id: s for s in audit.sides}
    for entry in summary["clause_22"]:
        s = sides.get(entry["site_id"])
        if s is None:
            continue
        entry.update({"fast_chargers_today": s.fast_chargers, "planned_chargers": s.planned_chargers,
                      "existing_sources": list(s.sources), "existing_approximate": s.approximate,
                      "missing_today": s.missing if not entry["meets_clause_22_today"] else ""})
        if not entry["meets_clause_22_today"] and not s.missing:
            entry["missing_today"] = (f"{entry['existing_chargers']} charger(s) on record, fewer than a station's "
                                      f"{result.scenario.norms.min_chargers_per_station}")
    summary["clause_22_listed_apart"] = [{"name": x.name, "osm_id": x.osm_id, "status": x.status, "reason": x.reason}
                                         for x in audit.listed_apart]
