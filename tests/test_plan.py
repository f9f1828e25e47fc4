"""The Shanwei plan, checked from the files `evplan plan` writes, not from the model's own flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from cli.main import main
from planner.siting.candidates import haversine_km, motorway_graph
from planner.siting.scenario import Scenario

SCENARIO = Scenario()


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
        assert p["chargers_by_stage"]["2025"] >= SCENARIO.norms.min_chargers_per_station
        # At least one high-power connector (25 % of new connectors): power above all-standard DC.
        assert p["power_kw"] > p["chargers"] * SCENARIO.norms.dc_power_kw


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
        assert stage["chargers"] == sum(f["properties"]["chargers_by_stage"][str(year)] for f in open_sites)
    assert summary["solver"]["status"] == "optimal"


def test_json_summary_on_stdout_is_clean_json(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Solver banners go to stderr, so ``evplan plan --json`` can be piped into another program."""
    assert main(["plan", "--out", str(tmp_path), "--json", "--quiet"]) == 0
    summary = json.loads(capfd.readouterr().out)
    assert summary["stages"]["2025"]["service_area_sides_with_station"] >= 4


def _final_cost(result: Any) -> float:
    final = result.scenario.stage_years[-1]
    return sum(s.cost_cny_by_stage[final] for s in result.sites)


def test_a_budget_is_kept_after_sizing_and_covers_the_most_people_it_can(shanwei_network) -> None:
    from dataclasses import replace

    from planner.siting.plan import plan_sites

    full = plan_sites(shanwei_network, scenario=SCENARIO)
    required_only = plan_sites(shanwei_network, scenario=replace(SCENARIO, town_coverage_from=None))
    budget = (_final_cost(full) + _final_cost(required_only)) / 2
    budgeted = plan_sites(shanwei_network, scenario=replace(SCENARIO, budget_cny=budget))
    assert _final_cost(budgeted) <= budget + 1e-6
    covered = [t for t in budgeted.towns if t.covered_by_stage[2030]]
    assert 0 < len(covered) < len(full.towns)
    # Every service-area side still has its station: the mandate is not traded for towns.
    assert {s.candidate.site_id for s in budgeted.sites if s.candidate.kind == "service_area"} == {
        f"sa:{sa.id}:{sa.side}" for sa in shanwei_network.service_areas if sa.status == "active"
    }


def test_a_budget_below_the_mandatory_stations_is_explained(shanwei_network) -> None:
    from dataclasses import replace

    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites

    with pytest.raises(InfeasibleError) as info:
        plan_sites(shanwei_network, scenario=replace(SCENARIO, budget_cny=1_000_000.0))
    assert any("budget 1,000,000 CNY" in r for r in info.value.reasons)


def test_grid_capacity_shortfall_names_the_service_area_side(shanwei_network) -> None:
    from dataclasses import replace

    from planner.errors import InfeasibleError
    from planner.siting.plan import plan_sites

    target = shanwei_network.service_areas[0]
    sides = tuple(replace(s, grid_capacity_kw=400.0) if s is target else s for s in shanwei_network.service_areas)
    with pytest.raises(InfeasibleError) as info:
        plan_sites(replace(shanwei_network, service_areas=sides), scenario=SCENARIO)
    (reason,) = [r for r in info.value.reasons if "grid capacity" in r]
    assert target.name in reason and f"{target.side} side" in reason and "400 kW <" in reason


def test_a_range_margin_no_candidates_can_keep_names_the_stretch(shanwei_network) -> None:
    from dataclasses import replace

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
    plan_from_files(config.SHANWEI_OSM, config.FLEET_DIR, SCENARIO, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("  [") for _, m in seen)  # sub-steps are indented under their step


def test_a_station_that_outgrows_its_grid_in_a_later_stage_is_named_with_the_year(shanwei_network) -> None:
    from dataclasses import replace

    from planner.errors import InfeasibleError
    from planner.siting.candidates import candidates_from_network
    from planner.siting.plan import plan_sites
    from planner.siting.sizing import minimum_chargers, power_kw

    sides = {c.site_id: c for c in candidates_from_network(shanwei_network, kinds=SCENARIO.candidate_kinds,
                                                           corridor_access_km=SCENARIO.corridor_access_km)
             if c.kind == "service_area"}
    need = {sid: [minimum_chargers(SCENARIO, c, y) for y in SCENARIO.stage_years] for sid, c in sides.items()}
    sid = next(s for s, n in need.items() if n[-1] > n[0])  # demand grows with the EV share
    fits_first_stage = power_kw(SCENARIO, sides[sid], need[sid][0])
    target = next(s for s in shanwei_network.service_areas if f"sa:{s.id}:{s.side}" == sid)
    changed = tuple(replace(s, grid_capacity_kw=fits_first_stage) if s is target else s
                    for s in shanwei_network.service_areas)
    with pytest.raises(InfeasibleError) as info:
        plan_sites(replace(shanwei_network, service_areas=changed), scenario=SCENARIO)
    (reason,) = [r for r in info.value.reasons if "grid capacity" in r]
    assert f"in {SCENARIO.stage_years[-1]}:" in reason and target.name in reason
