"""Town demand from the shipped fleet records, and a plan on the shipped network with census towns.

EV stocks are recounted here from the vehicle table with pandas; coverage is rechecked with networkx.
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import pandas as pd
import pytest

from planner import config, fleet
from planner.demand import (
    TownDemandAssumptions,
    census_for,
    town_demand_from_records,
    town_populations,
)
from planner.siting import plan_sites
from planner.siting.outputs import coverage_geojson
from planner.siting.scenario import Scenario
from planner.siting.solver import SolverOptions

CLASSES = ("passenger_car", "taxi", "ride_hailing")
#: Two stages, towns required in the second; a loose gap (reached in seconds): the test checks the summary's
#: bookkeeping against the coverage, not the plan's cost.
SCENARIO = replace(Scenario(), stage_years=(2025, 2030), town_coverage_from=2030,
                   solver=SolverOptions(mip_gap=0.2, time_limit_s=60))


def _ev_stock(vehicles: pd.DataFrame, year: int) -> dict[tuple[str, str], int]:
    end = pd.Timestamp(year=year, month=12, day=31)
    alive = (vehicles["registered_on"] <= end) & ~(vehicles["deregistered_on"] <= end)
    sel = vehicles[alive & vehicles["powertrain"].isin(["BEV", "PHEV"]) & vehicles["vehicle_class"].isin(CLASSES)]
    return {(str(c), str(k)): int(n) for (c, k), n in sel.groupby(["county_code", "vehicle_class"]).size().items()}


@pytest.fixture(scope="module")
def populations(shanwei_network):
    return town_populations(shanwei_network, census_for(config.SHANWEI_OSM))


@pytest.fixture(scope="module")
def demand(populations, shanwei_records):
    return town_demand_from_records(populations.towns, shanwei_records, stage_years=SCENARIO.stage_years,
                                    peak_hour_factor=SCENARIO.demand.peak_hour_factor)


def test_evs_over_towns_equal_the_records_ev_stock_per_county(demand, shanwei_records) -> None:
    year = demand.records_year
    assert year == 2025
    stock = _ev_stock(shanwei_records.vehicles, year)
    assert {c for c, _ in stock} == {"441502", "441521", "441523", "441581"}
    for (county, cls), n in stock.items():
        towns = sum(r.evs_by_year[year].get(cls, 0.0) for r in demand.rows if r.town.county_code == county)
        assert towns == pytest.approx(n, abs=1e-6), (county, cls)
    assert not demand.unplaced
    # The 深汕 towns have no population: none of 海丰县's EVs go there.
    for r in demand.rows:
        if r.town.population is None:
            assert sum(r.evs_by_year[year].values()) == 0 and r.arrivals_per_hour_by_year[2030] == 0


def test_evs_spread_by_population_and_cars_grow_with_the_projection(demand, shanwei_records) -> None:
    stock = _ev_stock(shanwei_records.vehicles, 2025)
    share = fleet.ev_car_share_projection(shanwei_records, years=[2025, 2030])
    grow = share[2030] / share[2025]
    assert grow > 1
    county = "441521"
    rows = [r for r in demand.rows if r.town.county_code == county]
    people = sum(r.town.population or 0 for r in rows)
    assert people == 736791
    for r in rows:
        w = (r.town.population or 0) / people
        assert r.evs_by_year[2025]["passenger_car"] == pytest.approx(stock[(county, "passenger_car")] * w)
        assert r.evs_by_year[2030]["passenger_car"] == pytest.approx(stock[(county, "passenger_car")] * w * grow)
        assert r.evs_by_year[2030]["taxi"] == pytest.approx(stock[(county, "taxi")] * w)  # held


def test_arrivals_by_hand_and_the_demand_points(demand, populations) -> None:
    a = TownDemandAssumptions()
    assert a.public_fast_sessions_per_ev_day("taxi") == pytest.approx(1.25 * 0.5)
    r = next(x for x in demand.rows if x.town.name == "海城")
    e = r.evs_by_year[2030]
    by_hand = (e["passenger_car"] * 0.15 * 0.67 + e["taxi"] * 1.25 * 0.5 + e["ride_hailing"] * 0.69 * 0.8) * 0.10
    assert r.arrivals_per_hour_by_year[2030] == pytest.approx(by_hand)
    points = demand.demand_points()
    assert [p.demand_id for p in points] == [f"town:{t.town_id}" for t in populations.towns]
    assert [p.people for p in points] == [t.population for t in populations.towns]
    assert all(p.people is None or p.people > 0 for p in points)
    with pytest.raises(ValueError, match="bus"):
        a.public_fast_sessions_per_ev_day("bus")


def test_plan_people_covered_equal_the_covered_towns_population(shanwei_network, demand, populations) -> None:
    towns, points = demand.towns, demand.demand_points()
    result = plan_sites(shanwei_network, scenario=SCENARIO, towns=towns, demand=points)
    summary = result.summary()
    features = [f["properties"] for f in coverage_geojson(result)["features"]]
    assert len(features) == len(towns) == 55
    census = {t.town_id: t.population for t in populations.towns}
    # Local roads (no motorway) from every open public site, to check each covered town independently.
    g = nx.DiGraph()
    for u, v, d in shanwei_network.graph.edges(data=True):
        h = d.get("highway")
        local = (h[0] if isinstance(h, list) else h) not in ("motorway", "motorway_link")
        if local and (not g.has_edge(u, v) or g[u][v]["s"] > d["travel_time"]):
            g.add_edge(u, v, s=float(d["travel_time"]))
    node = {t.town_id: t.node for t in towns}
    for year in SCENARIO.stage_years:
        covered = [f for f in features if f[f"covered_{year}"]]
        assert summary["stages"][str(year)]["population_covered"] == sum(census[f["town_id"]] or 0 for f in covered)
        assert summary["stages"][str(year)]["towns_covered"] == len(covered)
        open_nodes = [s.candidate.node for s in result.sites if s.first_stage <= year and s.candidate.public]
        reach = nx.multi_source_dijkstra_path_length(g.reverse(copy=False), open_nodes, weight="s") if open_nodes else {}
        for f in covered:
            assert reach[node[f["town_id"]]] <= SCENARIO.drive_time_min * 60 + 1e-6, f["name"]
    # Every town is required in 2030: everyone with a known population is covered, the county totals.
    final = summary["stages"]["2030"]
    assert final["towns_covered"] == 55 and final["population_covered"] == 736791 + 1235827 + 394593 + 250000
    assert final["towns_covered_population_unknown"] == 4
    # coverage.geojson: population null (never 0) exactly where unknown, with its source.
    assert all(f["population"] is None or f["population"] > 0 for f in features)
    assert all(f["population_source"] for f in features)
    assert sorted(f["name"] for f in features if f["population"] is None) == ["小漠", "赤石镇", "鲘门", "鹅埠镇"]
