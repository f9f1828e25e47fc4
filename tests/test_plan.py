"""The Shanwei plan, checked from the files `evplan plan` writes and by independent recomputation, not from
the model's own flags."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from cli.main import main
from planner.siting.candidates import haversine_km, motorway_graph
from planner.siting.scenario import Scenario
from planner.siting.sizing import max_arrivals_per_hour

SCENARIO = Scenario()
#: Shipped-network scenarios without the town requirement solve in about a second (every site's sizing
#: then depends on its own traffic only): for the tests of rules that do not need the towns.
FAST = replace(SCENARIO, town_coverage_from=None)


@pytest.fixture(scope="module")
def plan_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan-out")
    assert main(["plan", "--out", str(out), "--quiet"]) == 0
    return out


def _features(path: Path) -> list[dict[str, Any]]:
    fc = json.loads(path.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection"
    return fc["features"]


def test_outputs_are_written(plan_out: Path) -> None:
    from planner.pipeline import OUTPUT_FILES

    assert {"service_areas.geojson", "sites.geojson", "coverage.geojson", "summary.json",
            "fleet_indicators.json", "report.html"} <= set(OUTPUT_FILES)
    for name in OUTPUT_FILES:
        assert (plan_out / name).stat().st_size > 0, name


def test_every_active_service_area_side_has_a_station_in_2025(plan_out: Path) -> None:
    sides = {
        (f["properties"]["id"], f["properties"]["side"])
        for f in _features(plan_out / "service_areas.geojson")
        if f["properties"]["status"] == "active" and f["properties"]["snapped"]
    }
    assert len(sides) >= 4
    stations = {}
    for f in _features(plan_out / "sites.geojson"):
        p = f["properties"]
        if p["kind"] == "service_area":
            stations[(p["service_area_id"], p["side"])] = p
    assert sides <= set(stations), sides - set(stations)
    for key in sides:
        p = stations[key]
        assert p["stage"] <= 2025, key
        assert p["chargers_2025"] >= SCENARIO.norms.min_chargers_per_station
        # At least 25 % of the new connectors high-power, and the power to match.
        for y in SCENARIO.stage_years:
            assert p[f"high_power_chargers_{y}"] >= math.ceil(0.25 * p[f"new_chargers_{y}"])
        assert p["power_kw"] == pytest.approx(p["high_power_chargers_2030"] * SCENARIO.norms.high_power_kw
                                              + (p["chargers"] - p["high_power_chargers_2030"]) * SCENARIO.norms.dc_power_kw)


def _open_motorway_nodes(sites: list[dict[str, Any]], network: Any, year: int) -> set[Any]:
    """Motorway nodes with an open charger in ``year``, derived from the sites file and the network."""
    mg = motorway_graph(network.graph)
    sa_node = {(s.id, s.side): s.node for s in network.service_areas}
    mw_nodes = list(mg.nodes)
    lon = np.array([network.graph.nodes[n]["x"] for n in mw_nodes])
    lat = np.array([network.graph.nodes[n]["y"] for n in mw_nodes])
    out: set[Any] = set()
    for f in sites:
        p = f["properties"]
        if p["stage"] > year:
            continue
        if p["kind"] == "service_area":
            out.add(sa_node[(p["service_area_id"], p["side"])])
        elif p["kind"] == "interchange":
            x, y = f["geometry"]["coordinates"]
            near = np.flatnonzero(haversine_km(x, y, lon, lat) <= SCENARIO.corridor_access_km)
            out.update(mw_nodes[i] for i in near)
    return out


def _longest_stretch_km(mg: nx.DiGraph, origin: Any, chargers: set[Any]) -> float:
    """Longest directed motorway drive from ``origin`` that meets no charger (chargers end a drive)."""
    cut = nx.DiGraph(mg)
    cut.remove_edges_from([(u, v) for u in chargers - {origin} if u in cut for v in list(cut.successors(u))])
    reach = nx.descendants(cut, origin) | {origin}
    sub = cut.subgraph(reach)
    assert nx.is_directed_acyclic_graph(sub)
    best = {origin: 0.0}
    for n in nx.topological_sort(sub):
        if n not in best:
            continue
        for m in sub.successors(n):
            best[m] = max(best.get(m, 0.0), best[n] + sub[n][m]["length_km"])
    return max(best.values())


def test_no_motorway_stretch_longer_than_the_range_margin(plan_out: Path, shanwei_network) -> None:
    sites = _features(plan_out / "sites.geojson")
    mg = motorway_graph(shanwei_network.graph)
    for year in SCENARIO.stage_years:
        chargers = _open_motorway_nodes(sites, shanwei_network, year)
        origins = [n for n in mg.nodes if mg.in_degree(n) == 0] + sorted(chargers, key=str)
        worst = max(_longest_stretch_km(mg, o, chargers) for o in origins)
        assert worst <= SCENARIO.range_margin_km + 1e-6, (year, worst)


def test_towns_are_covered_from_2030_and_minutes_match_the_threshold(plan_out: Path) -> None:
    towns = _features(plan_out / "coverage.geojson")
    assert len(towns) >= 50
    for f in towns:
        p = f["properties"]
        assert p["covered_by_stage"]["2030"], p["name"]
        assert p["minutes_by_stage"]["2030"] <= SCENARIO.drive_time_min


def test_summary_counts_agree_with_the_sites_file(plan_out: Path) -> None:
    summary = json.loads((plan_out / "summary.json").read_text(encoding="utf-8"))
    sites = _features(plan_out / "sites.geojson")
    for year in SCENARIO.stage_years:
        open_sites = [f for f in sites if f["properties"]["stage"] <= year]
        stage = summary["stages"][str(year)]
        assert stage["sites"] == len(open_sites)
        assert stage["chargers"] == sum(f["properties"][f"chargers_{year}"] for f in open_sites)
        assert stage["capex_cny"] == pytest.approx(sum(f["properties"][f"capex_cny_{year}"] for f in sites))
        by_county = stage["by_county"]
        assert sum(c["chargers"] for c in by_county.values()) == stage["chargers"]
        assert sum(c["capex_cny"] for c in by_county.values()) == pytest.approx(stage["capex_cny"])
    # Capital per stage and its present value at the scenario's rate, to the first stage year.
    years = SCENARIO.stage_years
    pv = sum(summary["stages"][str(y)]["capex_cny"] * (1 + SCENARIO.discount_rate) ** -(y - years[0]) for y in years)
    assert summary["present_value_cny"] == pytest.approx(pv)
    sv = summary["solver"]
    assert sv["status"] in ("optimal", "feasible")
    if sv["status"] == "optimal":  # "optimal" means proven within the gap, never merely time-limited
        assert sv["gap"] is not None and sv["gap"] <= SCENARIO.solver.mip_gap + 1e-9
    assert sv["bound_cny"] is not None and sv["bound_cny"] <= summary["present_value_cny"] + 1e-6


def test_every_site_and_town_has_a_county_and_unknown_population_is_null(plan_out: Path) -> None:
    for f in _features(plan_out / "sites.geojson") + _features(plan_out / "coverage.geojson"):
        p = f["properties"]
        assert p["county_code"] in ("441502", "441521", "441523", "441581"), p["name"]
        assert p["county_name"]
    towns = [f["properties"] for f in _features(plan_out / "coverage.geojson")]
    assert any(t["population"] is None for t in towns) and all(t["population"] != 0 for t in towns)


def test_every_site_on_a_motorway_gets_the_traffic_passing_it(plan_out: Path, shanwei_network) -> None:
    mg = motorway_graph(shanwei_network.graph)
    nodes = list(mg.nodes)
    lon = np.array([shanwei_network.graph.nodes[n]["x"] for n in nodes])
    lat = np.array([shanwei_network.graph.nodes[n]["y"] for n in nodes])
    checked = 0
    for f in _features(plan_out / "sites.geojson"):
        p = f["properties"]
        x, y = f["geometry"]["coordinates"]
        # The interchange's charger stands at the ramp's end; its junctions lie within the access distance.
        if p["kind"] not in ("service_area", "interchange"):
            continue
        near = haversine_km(x, y, lon, lat).min() <= SCENARIO.corridor_access_km + 1.0
        if not near:
            continue
        for year in SCENARIO.stage_years:
            if p["stage"] <= year:
                assert p[f"arrivals_per_hour_{year}"] > 0, (p["name"], year)
                checked += 1
    assert checked >= 12


def _cheapest(arrivals: float, floor: int) -> tuple[float, int, int]:
    """(cost, standard, high-power): the cheapest new site serving ``arrivals`` at the target wait (enumerated)."""
    norms, costs = SCENARIO.norms, SCENARIO.costs
    s_std, s_hp = norms.session_minutes(norms.dc_power_kw), norms.session_minutes(norms.high_power_kw)
    best = None
    for total in range(floor, 400):
        hp = math.ceil(norms.high_power_share * total)
        cap = (max_arrivals_per_hour(total - hp, s_std, norms.max_wait_probability)
               + max_arrivals_per_hour(hp, s_hp, norms.max_wait_probability))
        if cap >= arrivals - 1e-6:
            cost = (total - hp) * costs.dc_charger_cny + hp * costs.high_power_charger_cny
            if best is None or cost < best[0]:
                best = (cost, total - hp, hp)
            break
    assert best is not None
    return best


def test_no_stranded_chargers(plan_out: Path, shanwei_network) -> None:
    """Each site's chargers are the fewest its floor and the arrivals it serves (this or an earlier stage) need."""
    parking = {(s.id, s.side): s.parking_spaces for s in shanwei_network.service_areas}
    norms = SCENARIO.norms
    for f in _features(plan_out / "sites.geojson"):
        p = f["properties"]
        if p["kind"] == "depot":
            continue  # sized by the fleet's overnight energy (a floor), no queue
        floor = norms.min_chargers_per_station
        if p["kind"] == "service_area" and parking.get((p["service_area_id"], p["side"])):
            floor = max(floor, math.ceil(norms.service_area_parking_share * parking[(p["service_area_id"], p["side"])]))
        need = 0.0
        for year in SCENARIO.stage_years:
            if p["stage"] > year:
                assert p[f"chargers_{year}"] == 0
                continue
            need = max(need, p[f"arrivals_per_hour_{year}"])
            cost, std, hp = _cheapest(need - 6e-4, floor)  # the file rounds arrivals to 3 decimals
            assert p[f"existing_chargers_{year}"] == 0
            assert (p[f"chargers_{year}"], p[f"high_power_chargers_{year}"]) == (std + hp, hp), (p["name"], year)


def test_json_summary_on_stdout_is_clean_json(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Solver banners go to stderr, so ``evplan plan --json`` can be piped into another program."""
    assert main(["plan", "--out", str(tmp_path), "--json", "--quiet", "--town-coverage-from", "none"]) == 0
    summary = json.loads(capfd.readouterr().out)
    assert summary["stages"]["2025"]["service_area_sides_with_station"] >= 4


def _people(result: Any) -> int:
    final = result.scenario.stage_years[-1]
    return sum(t.town.population or 0 for t in result.towns if t.covered_by_stage[final])


def _spent(result: Any) -> float:
    return sum(sum(s.capex_cny_by_stage.values()) for s in result.sites)


@pytest.mark.skipif(not os.environ.get("EVPLAN_SLOW_TESTS"),
                    reason="about 1.5 minutes of shipped plans: runs with EVPLAN_SLOW_TESTS=1 (make test-slow)")
def test_budget_sweep_from_the_mandatory_minimum_up(shanwei_network) -> None:
    """Every budget from the mandatory minimum returns a plan within it; people covered never fall."""
    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites
    from planner.siting.solver import SolverOptions

    base = replace(SCENARIO, solver=SolverOptions(mip_gap=0.02, time_limit_s=20))
    with pytest.raises(InfeasibleError) as info:
        plan_sites(shanwei_network, scenario=replace(base, budget_cny=1_000_000.0))
    (reason,) = info.value.reasons
    assert "budget 1,000,000 CNY" in reason
    minimum = float(re.search(r"requirements \(.*\): ([\d,]+) CNY", reason).group(1).replace(",", ""))
    # The stated minimum is the cheapest plan meeting the mandatory rules (solved without any town).
    mandatory = plan_sites(shanwei_network, scenario=replace(base, town_coverage_from=None,
                                                                 solver=SolverOptions(mip_gap=0.0)))
    assert minimum == pytest.approx(_spent(mandatory), rel=1e-9)
    people = []
    for budget in (minimum, minimum + 2e6, minimum + 8e6, minimum + 30e6):
        plan = plan_sites(shanwei_network, scenario=replace(base, budget_cny=budget))
        assert _spent(plan) <= budget + 1e-3
        people.append(_people(plan))
    assert people == sorted(people), people
    assert people[-1] > people[0]


def test_existing_chargers_are_sunk_and_clause_22_is_reported(shanwei_network) -> None:
    from planner.siting.existing import ExistingCapacity
    from planner.siting.plan import plan_sites

    plain = plan_sites(shanwei_network, scenario=FAST)
    first = FAST.stage_years[0]
    sides = [s for s in plain.sites if s.candidate.kind == "service_area"]
    have, none = sides[0], sides[1]
    # What the plan builds there in the first stage stood already (commissioned 2024).
    e_std, e_hp = have.chargers_by_stage[first] - have.high_power_by_stage[first], have.high_power_by_stage[first]
    existing = {have.candidate.site_id: ExistingCapacity(
        chargers=e_std + e_hp, high_power_chargers=e_hp, power_kw=e_std * 120.0 + e_hp * 360.0,
        commissioned_year=2024, sources=("hand-made",))}
    built = plan_sites(shanwei_network, scenario=FAST, existing=existing)
    costs = FAST.costs
    value = e_std * costs.dc_charger_cny + e_hp * costs.high_power_charger_cny + costs.site_fixed_cny
    before = sum(s.capex_cny_by_stage[first] for s in plain.sites)
    after = sum(s.capex_cny_by_stage[first] for s in built.sites)
    assert before - after == pytest.approx(value)
    clause = {c["site_id"]: c for c in built.summary()["clause_22"]}
    assert clause[have.candidate.site_id]["meets_clause_22_today"] is True
    assert clause[have.candidate.site_id]["existing_chargers"] == e_std + e_hp
    assert clause[have.candidate.site_id][f"missing_chargers_{first}"] == 0
    assert clause[none.candidate.site_id]["meets_clause_22_today"] is False
    assert clause[none.candidate.site_id][f"missing_chargers_{first}"] == none.chargers_by_stage[first]


@pytest.mark.skipif(not os.environ.get("EVPLAN_SLOW_TESTS"),
                    reason="about 1.5 minutes of shipped plans: runs with EVPLAN_SLOW_TESTS=1 (make test-slow)")
def test_an_interim_stage_changes_the_final_capex_by_less_than_one_percent(shanwei_network) -> None:
    from planner.siting.plan import plan_sites
    from planner.siting.scenario import with_ev_shares
    from planner.siting.solver import SolverOptions

    solver = SolverOptions(mip_gap=0.002, time_limit_s=60)
    shares = {2025: 0.13, 2028: 0.27, 2030: 0.38}
    two = with_ev_shares(replace(SCENARIO, solver=solver), shares)
    three = replace(two, stage_years=(2025, 2028, 2030))
    a, b = plan_sites(shanwei_network, scenario=two), plan_sites(shanwei_network, scenario=three)
    assert abs(_spent(b) - _spent(a)) < 0.01 * _spent(a), (_spent(a), _spent(b))


def test_a_budget_below_the_mandatory_stations_is_explained(shanwei_network) -> None:
    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites

    with pytest.raises(InfeasibleError) as info:
        plan_sites(shanwei_network, scenario=replace(FAST, budget_cny=1_000_000.0))
    assert any("budget 1,000,000 CNY" in r and "cheapest plan" in r for r in info.value.reasons)


def test_grid_capacity_shortfall_names_the_service_area_side(shanwei_network) -> None:
    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites

    target = shanwei_network.service_areas[0]
    sides = tuple(replace(s, grid_capacity_kw=400.0) if s is target else s for s in shanwei_network.service_areas)
    with pytest.raises(InfeasibleError) as info:
        plan_sites(replace(shanwei_network, service_areas=sides), scenario=SCENARIO)
    (reason,) = [r for r in info.value.reasons if "grid capacity" in r]
    assert target.name in reason and f"{target.side} side" in reason and "400 kW <" in reason


def test_a_range_margin_no_candidates_can_keep_names_the_stretch(shanwei_network) -> None:
    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites

    scenario = replace(SCENARIO, range_margin_km=5.0, candidate_kinds=("service_area",))
    with pytest.raises(InfeasibleError) as info:
        plan_sites(shanwei_network, scenario=scenario)
    assert any("no candidate site on this stretch" in r and "km" in r for r in info.value.reasons)


def test_progress_of_the_main_job_only_moves_forward() -> None:
    """Sub-steps report inside their parent step, so a run's progress bar never jumps back."""
    from planner import config
    from planner.pipeline import plan_from_files

    seen: list[tuple[float, str]] = []
    plan_from_files(config.SHANWEI_OSM, config.FLEET_DIR, FAST, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("  [") for _, m in seen)  # sub-steps are indented under their step


def test_a_station_that_outgrows_its_grid_in_a_later_stage_is_named_with_the_year(shanwei_network) -> None:
    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites

    plain = plan_sites(shanwei_network, scenario=FAST)
    first, final = FAST.stage_years[0], FAST.stage_years[-1]
    side = next(s for s in plain.sites if s.candidate.kind == "service_area"
                and s.chargers_by_stage[final] > s.chargers_by_stage[first])  # demand grows with the EV share
    fits_first_stage = FAST.norms.grid_diversity_factor * side.power_kw_by_stage[first]
    target = next(s for s in shanwei_network.service_areas if f"sa:{s.id}:{s.side}" == side.candidate.site_id)
    changed = tuple(replace(s, grid_capacity_kw=fits_first_stage) if s is target else s
                    for s in shanwei_network.service_areas)
    with pytest.raises(InfeasibleError) as info:
        plan_sites(replace(shanwei_network, service_areas=changed), scenario=FAST)
    (reason,) = [r for r in info.value.reasons if "grid capacity" in r]
    assert f"in {final}:" in reason and target.name in reason
