"""Another city gets nothing of Shanwei's by accident: the real Kotka (Finland) extract that pyrosm ships."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from planner import config
from planner.geo import haversine_m

pyrosm = pytest.importorskip("pyrosm")
KOTKA = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"




def test_default_plan_on_another_extract_uses_no_shipped_records(tmp_path: Path, capsys) -> None:
    assert main(["plan", "--osm", str(KOTKA), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "planning without fleet records" in err and "--fleet-dir" in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    sites = json.loads((tmp_path / "sites.geojson").read_text())["features"]
    assert not any(f["properties"]["kind"] == "depot" for f in sites)
    assert summary["depots_not_sited"] == []
    assert summary["ev_share_source"].startswith("scenario assumption")
    # The fleet files come from fleet records: none were given, none are written.
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "fleet_indicators.json").exists()
    assert (tmp_path / "service_areas.geojson").exists() and (tmp_path / "coverage.geojson").exists()


def test_shanwei_depots_on_a_finnish_network_are_reported_with_their_distance(tmp_path: Path, capsys) -> None:
    assert main(["plan", "--osm", str(KOTKA), "--fleet-dir", str(config.FLEET_DIR), "--out", str(tmp_path),
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    summary = json.loads((tmp_path / "summary.json").read_text())
    sites = json.loads((tmp_path / "sites.geojson").read_text())["features"]
    assert not any(f["properties"]["kind"] == "depot" for f in sites)
    unsited = summary["depots_not_sited"]
    depots = [line.split(",") for line in (config.FLEET_DIR / "depots.csv").read_text().splitlines()[1:]]
    assert sorted(d["depot_id"] for d in unsited) == sorted(row[0] for row in depots)
    # Independent check of each stated distance: great circle to the nearest node of the extract.
    from planner import network as net

    graph = net.load_network(KOTKA).graph
    lons = [d["x"] for _, d in graph.nodes(data=True)]
    lats = [d["y"] for _, d in graph.nodes(data=True)]
    for d in unsited:
        nearest_km = min(haversine_m(d["lon"], d["lat"], lo, la) for lo, la in zip(lons, lats)) / 1000
        assert d["distance_km"] == pytest.approx(nearest_km, abs=0.1)
        assert d["distance_km"] > 7000
        assert d["name"] in err and "not sited" in err
    assert "another city" in err
