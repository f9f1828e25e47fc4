"""A generated province of five cities, planned city by city through Dask: the aggregate is the sum of
the single-city plans (each made alone, from its own read of the extract, in another cache).

The extract is a small OSM XML written here: one dual-carriageway motorway crossing all five city
borders, in each city two interchanges with ramps to a local road, a service area on each side and towns.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from shapely.geometry import box, mapping

from tests.support.osm import write_osm

CITIES = 5
LON0, CITY_DEG = 114.0, 0.2
LAT_EAST, LAT_WEST, LAT_LOCAL = 23.1498, 23.1502, 23.12
SCENARIO = {"stage_years": (2025, 2030), "time_limit_s": 20.0}


def write_province(tmp: Path, cities: int = CITIES) -> tuple[Path, Path]:
    """The province extract (OSM XML) of ``cities`` cities and their boundaries (GeoJSON, WGS84, level=city)."""
    nodes: list[tuple] = []
    ways: list[tuple] = []
    # Motorway nodes every 0.02 degrees, offset by 0.01 so that none lies on a city border.
    lons = [round(LON0 + 0.01 + 0.02 * i, 2) for i in range(cities * 10)]
    east = {lon: 10_000 + i for i, lon in enumerate(lons)}
    west = {lon: 20_000 + i for i, lon in enumerate(lons)}
    nodes += [(east[lon], lon, LAT_EAST, {}) for lon in lons]
    nodes += [(west[lon], lon, LAT_WEST, {}) for lon in lons]
    motorway = {"highway": "motorway", "oneway": "yes", "ref": "G15", "name": "沈海高速"}
    ways.append((1, [east[lon] for lon in lons], motorway))
    ways.append((2, [west[lon] for lon in reversed(lons)], motorway))
    link = {"highway": "motorway_link", "oneway": "yes"}
    features = []
    wid, nid = 100, 30_000
    for c in range(cities):
        west_lon = LON0 + c * CITY_DEG
        x0, x1 = round(west_lon + 0.05, 2), round(west_lon + 0.15, 2)
        local_lons = [round(x0 + 0.02 * k, 2) for k in range(6)]
        local = {}
        for lon in local_lons:
            nid += 1
            local[lon] = nid
            nodes.append((nid, lon, LAT_LOCAL, {}))
        ways.append((wid := wid + 1, [local[lon] for lon in local_lons], {"highway": "primary", "name": f"Local {c}"}))
        ways += [((wid := wid + 1), [local[x0], east[x0]], link), ((wid := wid + 1), [east[x1], local[x1]], link),
                 ((wid := wid + 1), [local[x1], west[x1]], link), ((wid := wid + 1), [west[x0], local[x0]], link)]
        mid = round(west_lon + 0.10, 2)
        features += [
            (40_000 + 10 * c, mid, LAT_EAST - 0.0005, {"highway": "services", "name": f"城{c}服务区"}),
            (40_001 + 10 * c, mid, LAT_WEST + 0.0005, {"highway": "services", "name": f"城{c}服务区"}),
            (40_002 + 10 * c, round(west_lon + 0.07, 3), LAT_LOCAL - 0.01,
             {"place": "town", "name": f"Town {c}", "population": str(40_000 + 5_000 * c)}),
            (40_003 + 10 * c, round(west_lon + 0.13, 3), LAT_LOCAL - 0.012,
             {"place": "town", "name": f"Town {c}b", "population": str(20_000 + 1_000 * c)}),
            (40_004 + 10 * c, round(west_lon + 0.11, 3), LAT_LOCAL - 0.0004, {"amenity": "fuel", "name": f"Fuel {c}"}),
        ]
    extract = write_osm(tmp / "province.osm", nodes + features, ways)
    boundaries = tmp / "cities.geojson"
    boundaries.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"adcode": f"4499{c + 1:02d}", "name": f"City {c + 1}", "level": "city"},
         "geometry": mapping(box(LON0 + c * CITY_DEG, 22.9, LON0 + (c + 1) * CITY_DEG, 23.4))}
        for c in range(cities)]}), encoding="utf-8")
    return extract, boundaries


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, dict]:
    from planner.province import plan_province

    tmp = tmp_path_factory.mktemp("province")
    extract, boundaries = write_province(tmp)
    result = plan_province(extract, boundaries, tmp / "out", scenario=SCENARIO, workers=2)
    return tmp, extract, boundaries, result.to_json()


def test_every_city_is_planned_through_dask_from_one_pass(province) -> None:
    tmp, _, _, done = province
    assert [c["code"] for c in done["cities"]] == [f"4499{c + 1:02d}" for c in range(CITIES)]
    assert all(c["status"] == "succeeded" for c in done["cities"]), [c["error"] for c in done["cities"]]
    assert done["networks"] == {c["code"]: "clipped" for c in done["cities"]}
    # The tasks ran in the cluster's worker processes, not here.
    assert f"{socket.gethostname()}:{os.getpid()}" not in {c["worker"] for c in done["cities"]}
    for c in done["cities"]:
        assert c["sites"] >= 2 and c["chargers"] > 0 and c["capex_cny"] > 0
        assert (tmp / "out" / c["city_dir"] / "sites.geojson").is_file()
    assert done["total"]["complete"] is True


def test_the_aggregate_equals_the_sum_of_single_city_plans(province, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.network.clip import admin_boundary
    from planner.pipeline import run_main_job
    from planner.siting.scenario import scenario_from_options

    _, extract, boundaries, done = province
    monkeypatch.setenv("EVPLAN_CACHE_DIR", str(tmp_path / "own-cache"))  # each city read and clipped afresh
    singles = {}
    for c in done["cities"]:
        alone = run_main_job(extract, None, scenario_from_options(SCENARIO), tmp_path / c["code"],
                             boundary=admin_boundary(c["code"], boundaries))
        singles[c["code"]] = alone.summary["stages"]
    for c in done["cities"]:
        for year, stage in singles[c["code"]].items():
            assert c["stages"][year]["capex_cny"] == stage["cost_cny"]
            assert c["stages"][year]["chargers"] == stage["chargers"]
            assert c["stages"][year]["sites"] == stage["sites"]
    total = done["total"]
    for year in ("2025", "2030"):
        assert total["stages"][year]["capex_cny"] == pytest.approx(sum(s[year]["cost_cny"] for s in singles.values()))
        assert total["stages"][year]["chargers"] == sum(s[year]["chargers"] for s in singles.values())
        assert total["stages"][year]["sites"] == sum(s[year]["sites"] for s in singles.values())
    assert total["capex_cny"] == pytest.approx(sum(s["2030"]["cost_cny"] for s in singles.values()))


def test_province_cli_writes_the_table_and_reuses_finished_cities(province, capsys) -> None:
    from cli.main import main

    tmp, extract, boundaries, done = province
    args = ["province", "plan", str(extract), "--boundaries", str(boundaries), "--out", str(tmp / "out"),
            "--stage-years", "2025,2030", "--time-limit-s", "20", "--workers", "1"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err.count("reused") == CITIES  # the fixture's plans: nothing planned again
    assert "province total" in captured.out
    lines = (tmp / "out" / "province.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + CITIES + 1 and lines[-1].startswith("total,")
    header = lines[0].split(",")
    assert {"capex_cny_2025", "capex_cny_2030", "chargers_2030", "sites_2030"} <= set(header)
    again = json.loads((tmp / "out" / "province.json").read_text(encoding="utf-8"))
    assert again["total"]["capex_cny"] == done["total"]["capex_cny"]


def test_the_shipped_guangdong_cities_are_21_valid_wgs84_polygons() -> None:
    from planner import config
    from planner.network.clip import admin_boundary
    from planner.province import read_cities

    path = config.SHIPPED_DATA_DIR / "province" / "guangdong_cities.geojson"
    cities = read_cities(path)
    assert len(cities) == 21 and {c.code for c in cities} >= {"440100", "440300", "441500", "445300"}
    shanwei = admin_boundary("441500", path)
    assert shanwei.is_valid
    # Converted from GCJ-02: the mainland matches the shipped (WGS84) Shanwei boundary to within ~0.01 degrees.
    shipped = admin_boundary("441500", config.SHANWEI_BOUNDARIES)
    assert abs(shanwei.bounds[0] - shipped.bounds[0]) < 0.01 and abs(shanwei.bounds[3] - shipped.bounds[3]) < 0.01
    for c in cities:
        w, s, e, n = admin_boundary(c.code, path).bounds
        assert 109 < w < e < 118 and 20 < s < n < 26, c
