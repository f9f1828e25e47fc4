"""The main job's demand, end to end: census towns, town demand from the records, routed and calibrated corridor
traffic — checked in the files a planner opens against the inputs read independently."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planner import config

ROOT = Path(__file__).resolve().parents[1]
COUNTS = ROOT / "data" / "traffic" / "example_counts.csv"
CENSUS = ROOT / "data" / "sources" / "shanwei-population"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One shipped plan with the example counts (one stage, towns not required: a quick solve)."""
    out = tmp_path_factory.mktemp("plan-demand")
    done = subprocess.run(
        [sys.executable, "-m", "cli", "plan", "--osm", str(config.SHANWEI_OSM), "--out", str(out),
         "--traffic-counts", str(COUNTS), "--stage-years", "2025", "--town-coverage-from", "none", "--quiet"],
        capture_output=True, text=True, timeout=600, check=False, cwd=out)
    assert done.returncode == 0, done.stderr
    read = {name: json.loads((out / name).read_text(encoding="utf-8"))
            for name in ("summary.json", "sites.geojson", "coverage.geojson")}
    return read


def test_corridor_traffic_is_calibrated_to_the_counts_and_every_corridor_site_carries_it(planned: dict[str, Any]) -> None:
    summary = planned["summary.json"]
    traffic = summary["traffic"]
    assert traffic["basis"] == "gravity, calibrated to counts"
    with COUNTS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert traffic["calibration"]["counts"] >= len(rows)  # class-share rows fit per class
    assert traffic["calibration"]["max_relative_error"] <= 0.05
    flows = {f["site_id"]: f for f in summary["corridor_flows"]}
    assert summary["corridor_demand"] == "routed O-D flows"
    sites = {f["properties"]["site_id"]: f["properties"] for f in planned["sites.geojson"]["features"]}
    corridor = [p for p in sites.values() if p["kind"] in ("service_area", "interchange")]
    assert corridor, "the plan has no corridor site"
    for p in corridor:  # what the site is sized for is what the flows passing it give
        assert p["corridor_arrivals_per_hour_2025"] > 0, p["site_id"]
        assert p["corridor_arrivals_per_hour_2025"] == pytest.approx(flows[p["site_id"]]["arrivals_per_hour"]["2025"],
                                                                       abs=1e-3)


def test_every_town_has_a_census_population_or_a_null_with_its_source(planned: dict[str, Any]) -> None:
    towns = [f["properties"] for f in planned["coverage.geojson"]["features"]]
    assert all(t["population_source"] for t in towns)
    assert all(t["population"] is None or t["population"] > 0 for t in towns)  # unknown is null, never 0
    with (CENSUS / "county_population_2020.csv").open(encoding="utf-8") as fh:
        totals = {r["county_code"]: int(r["population_2020"]) for r in csv.DictReader(fh) if r["population_2020"]}
    by_county: dict[str, int] = {}
    for t in towns:
        if t["population"] is not None and t["county_code"]:
            by_county[t["county_code"]] = by_county.get(t["county_code"], 0) + t["population"]
    for code, total in totals.items():
        assert by_county[code] == total, code
    with (CENSUS / "township_population_2020.csv").open(encoding="utf-8") as fh:
        haifeng = {r["township"]: int(r["population_2020"]) for r in csv.DictReader(fh)}
    named = {t["name"]: t["population"] for t in towns if t["county_code"] == "441521"}
    matched = {k: v for k, v in haifeng.items() if k in named}
    assert len(matched) >= 10 and all(named[k] == v for k, v in matched.items())
    summary = planned["summary.json"]
    covered = sum(t["population"] or 0 for t in towns if t["covered_2025"])
    assert summary["stages"]["2025"]["population_covered"] == covered


def test_flow_capture_from_the_command_line_weights_trips_by_the_ev_share_of_traffic(tmp_path: Path) -> None:
    """``evplan traffic capture``: the EV trips it counts are the routed trips by class x that class's EV share."""
    from planner.demand.flows import ev_share
    from planner.siting import Scenario

    def run(*argv: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "cli", "traffic", *argv, "--json"], capture_output=True,
                              text=True, timeout=600, check=False, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    flows = run("flows")
    captured = run("capture", "--stations", "2", "--year", "2030")
    traffic = Scenario().traffic
    expected = sum(trips * ev_share(traffic, cls, 2030) for cls, trips in flows["trips_per_day_by_class"].items())
    counted = captured["ev_trips_per_day"] + captured["ev_trips_per_day_needing_no_charge"]
    assert counted == pytest.approx(expected, rel=1e-3)
    assert 0 < captured["ev_trips_per_day_served"] <= captured["ev_trips_per_day"]
    assert len(captured["stations"]) == 2 and captured["status"] == "optimal"
