"""The scenario file: every assumption of ``Scenario`` in one documented TOML file, the same schema on the CLI
(``--scenario FILE``, ``--demand.ev-stop-share``), in the API's run body and in sweeps.

Fast: one plan through the CLI on a generated one-city extract; everything else without a solve.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.runs import RunManager
from app.schemas import ScenarioIn
from app.store import Store
from cli.main import main
from planner import config
from planner.demand.assumptions import doc
from planner.errors import ScenarioError
from planner.siting.scenario import (
    ASSUMPTION_BY_PATH,
    ASSUMPTIONS,
    OPTION_BY_NAME,
    OPTIONS,
    SECTIONS,
    Assumption,
    Scenario,
    all_assumptions,
    flatten_values,
    options_of,
    read_scenario_file,
    scenario_from_options,
    scenario_toml,
)
from planner.sweep.grid import grid_from_text, grid_points, jsonable, point_key

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "scenarios" / "shanwei.toml"
KEY = "k" * 24


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _dataclass_fields(obj: Any, prefix: str) -> dict[str, Any]:
    """Every leaf field of a dataclass, by dotted path (an independent walk over ``dataclasses.fields``)."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out.update(_dataclass_fields(value, f"{prefix}.{f.name}"))
        else:
            out[f"{prefix}.{f.name}"] = f
    return out


def test_every_field_of_every_assumption_dataclass_is_in_the_file_with_unit_help_and_source() -> None:
    scenario = Scenario()
    expected: dict[str, Any] = {}
    for f in fields(Scenario):
        value = getattr(scenario, f.name)
        if not is_dataclass(value):
            assert f.name in OPTION_BY_NAME, f"Scenario.{f.name} can be set by no one"
        elif f.name != "solver":
            expected.update(_dataclass_fields(value, f.name))
    flat_in_norms = {f"norms.{o.name}" for o in OPTIONS if o.part == "norms"}
    assert set(ASSUMPTION_BY_PATH) == set(expected) - flat_in_norms
    assert {"norms", "costs", "demand", "traffic"} <= set(SECTIONS)
    for path, f in expected.items():
        if path in flat_in_norms:
            continue
        meta = f.metadata
        assert meta.get("unit") is not None and meta.get("help") and meta.get("source"), path
    for a in ASSUMPTIONS:  # the default is the dataclass's, in canonical JSON form
        section_obj: Any = scenario
        for part in a.section.split("."):
            section_obj = getattr(section_obj, part)
        assert a.to_python(a.default) == getattr(section_obj, a.name), a.path


@dataclass(frozen=True)
class _Rates:
    per_class: dict[str, dict[int, float]] = doc(  # noqa: RUF009 - doc() is a dataclasses.field with metadata
        unit="trips/day", help="trips by class and year", source="test", low=0.0, high=5.0,
        factory=lambda: {"car": {2025: 1.0}})


@dataclass(frozen=True)
class _TownDemand:
    trips_km: float = doc(12.0, unit="km", help="mean trip", source="test", low=1.0, high=100.0)
    mode: str = doc("gravity", unit="", help="how", source="test", choices=("gravity", "table"))
    rates: _Rates = field(default_factory=_Rates)


@dataclass(frozen=True)
class _MoreScenario(Scenario):
    extra_demand: _TownDemand = field(default_factory=_TownDemand)


def test_a_further_assumption_dataclass_on_the_scenario_is_picked_up_with_its_metadata() -> None:
    """Another section (and a sub-section in it) is found from the dataclass fields alone, no list to extend."""
    sections, found = all_assumptions(_MoreScenario)
    assert sections == (*SECTIONS, "extra_demand", "extra_demand.rates")
    by_path = {a.path: a for a in found}
    trips = by_path["extra_demand.trips_km"]
    assert (trips.unit, trips.low, trips.high, trips.default) == ("km", 1.0, 100.0, 12.0)
    assert by_path["extra_demand.mode"].check("table") == "table"
    with pytest.raises(ScenarioError, match=r"extra_demand.mode: expected one of gravity, table, got 'bus'"):
        by_path["extra_demand.mode"].check("bus")
    rates = by_path["extra_demand.rates.per_class"]
    assert rates.default == {"car": {"2025": 1.0}}
    with pytest.raises(ScenarioError, match=r"per_class: car: 2025: must be 0 to 5 \(trips/day\), got 9"):
        rates.check({"car": {"2025": 9}})


def _changed(a: Assumption, value: Any) -> Any:
    """Another valid value than ``value`` (JSON-ready) for assumption ``a``: every leaf moved within its range."""
    if isinstance(value, dict):
        if not value and a.type.value is not None and a.type.value.kind == "number":
            return {"G15-west" if a.type.key == "text" else "2030": a.high if a.high is not None else 1.0}
        return {k: _changed(a, v) for k, v in value.items()} or value
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        lo = a.low if a.low is not None else value - 1
        hi = a.high if a.high is not None else value + 1
        new = (value + hi) / 2 if hi > value else (value + lo) / 2
        return round(new) if isinstance(value, int) and round(new) != value else (
            value + 1 if isinstance(value, int) and value + 1 <= hi else (value - 1 if isinstance(value, int) else new))
    if isinstance(value, str):
        others = [c for c in (a.type.choices or a.choices) if c != value]
        return others[0] if others else value + " (changed)"
    return value


def _everything_changed() -> Scenario:
    values: dict[str, Any] = {a.path: _changed(a, a.default) for a in ASSUMPTIONS}
    values.update({"stage_years": [2025, 2030, 2035], "budget_cny": 8e7, "drive_time_min": 25.0,
                   "depot_power_kw": 120.0, "dc_power_kw": 150.0})
    # Values that must agree with each other (traffic_problems): shares summing to 1, places named alike.
    values["traffic.class_shares"] = {"car": 0.6, "truck": 0.3, "coach": 0.1}
    values["traffic.gateway_toward"] = {k: v + " (changed)" for k, v in Scenario().traffic.gateway_toward.items()}
    for key in ("traffic.gateway_external_km", "traffic.ev_share_factor_by_toward"):
        values[key] = {k + " (changed)": v for k, v in values[key].items()}
    return scenario_from_options(values)


def test_a_written_scenario_file_reads_back_to_the_same_scenario(tmp_path: Path) -> None:
    for scenario in (Scenario(), _everything_changed()):
        path = _write(tmp_path, scenario_toml(scenario))
        assert scenario_from_options(read_scenario_file(path)) == scenario
    changed = flatten_values(options_of(_everything_changed()))
    default = flatten_values(options_of(Scenario()))
    same = [a.path for a in ASSUMPTIONS if changed[a.path] == default[a.path]]
    assert not same, f"not changed: {same}"


def test_the_written_file_documents_each_value_with_unit_range_and_source() -> None:
    text = scenario_toml(Scenario())
    lines = text.splitlines()
    for a in ASSUMPTIONS:
        assert f"[{a.section}]" in lines, a.section
        at = next(i for i, line in enumerate(lines)
                  if line.startswith(f"{a.name} = ") or line == f"[{a.section}.{a.name}]")
        comment = " ".join(line.lstrip("# ").strip() for line in lines[max(0, at - 8):at] if line.startswith("#"))
        assert a.range_text() in comment and a.source.split(";")[0][:40] in comment, a.path
        if a.unit:
            assert f"[{a.unit}; " in comment, a.path


def test_the_shipped_scenario_file_is_the_generators_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "--toml"]) == 0
    generated = capsys.readouterr().out
    assert generated == scenario_toml(Scenario())
    assert SHIPPED.read_text(encoding="utf-8") == generated, (
        "data/scenarios/shanwei.toml is out of date: regenerate it with "
        "`evplan scenario show --toml > data/scenarios/shanwei.toml`")
    assert scenario_from_options(read_scenario_file(SHIPPED)) == Scenario()


def test_an_old_flat_scenario_file_still_works(tmp_path: Path) -> None:
    path = _write(tmp_path, 'budget_cny = 8e7\ntown_coverage_from = "none"\nstage_years = [2025, 2030, 2035]\n')
    got = scenario_from_options(read_scenario_file(path))
    assert (got.budget_cny, got.town_coverage_from, got.stage_years) == (8e7, None, (2025, 2030, 2035))
    assert (got.costs, got.demand, got.traffic) == (Scenario().costs, Scenario().demand, Scenario().traffic)


@pytest.mark.parametrize(("text", "expected"), [
    ("[demand]\nev_stop_share = 1.5\n", "[demand] ev_stop_share: must be 0 to 1 (fraction), got 1.5"),
    ("[demand]\nev_stop_share = inf\n", "[demand] ev_stop_share: expected a finite number, got inf"),
    ("[demand]\nev_stop_share = nan\n", "[demand] ev_stop_share: expected a finite number, got nan"),
    ('[costs]\nsite_fixed_cny = "cheap"\n', "[costs] site_fixed_cny: expected a number, got 'cheap'"),
    ("[norms]\nmin_dc_chargers_per_station = 1.5\n",
     "[norms] min_dc_chargers_per_station: expected a whole number, got 1.5"),
    ("[demand]\nev_share_by_year = { 2025 = 0.1, 2030 = 1.2 }\n",
     "[demand] ev_share_by_year: 2030: must be 0 to 1 (fraction), got 1.2"),
    ("[demand]\nev_share_by_year = { 1900 = 0.1 }\n", "[demand] ev_share_by_year: years must be 2020 to 2060, got 1900"),
    ("[demand]\nev_share_by_year = { next = 0.1 }\n", "[demand] ev_share_by_year: expected a year as key, got 'next'"),
    ("[demand]\nev_share_by_year = {}\n", "[demand] ev_share_by_year: at least one entry is required"),
    ("[demand]\nev_share_by_year = 0.2\n", "[demand] ev_share_by_year: expected a table"),
    ("[demand]\nev_stop_shares = 0.2\n", "unknown assumption 'ev_stop_shares' in [demand]; expected one of"),
    ("[norms]\ndc_power_kw = 150.0\n", "[norms] dc_power_kw: dc_power_kw is a top-level scenario option"),
    ("[dmand]\nev_stop_share = 0.2\n", "unknown section [dmand]; expected one of [norms], [costs], [demand]"),
    ("range_margin = 40\n", "unknown scenario option 'range_margin'"),
    ("range_margin_km = 0.5\n", "range_margin_km = 0.5: must be 1 to 1000 (km), got 0.5"),
    ("demand = 3\n", "demand: expected a section (a [demand] table"),
    ("stage_years = [2025, 2030]\ntown_coverage_from = 2035\n",
     "town_coverage_from = 2035: must be one of the stage years"),
    ("budget_cny = \n", "not a TOML scenario file"),
])
def test_a_bad_file_is_refused_naming_the_file_section_key_and_what_was_expected(
        tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        read_scenario_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and expected in message, message


def test_the_cli_refuses_a_missing_or_bad_file_naming_it_and_the_key(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["plan", "--scenario", str(missing), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"evplan: error: {missing}: cannot read the scenario file") and "Traceback" not in err
    bad = _write(tmp_path, "range_margin_km = 0.5\n")  # the file's key, not the flag, is named
    assert main(["plan", "--scenario", str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(f"evplan: error: {bad}: range_margin_km = 0.5: must be 1 to 1000")
    assert not (tmp_path / "out").exists()


def test_show_states_each_value_and_where_it_came_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "drive_time_min = 45.0\nrange_margin_km = 40.0\n[demand]\nev_stop_share = 0.2\n"
                            "[costs]\nsite_fixed_cny = 5e5\n")
    assert main(["scenario", "show", "--scenario", str(path), "--json", "--drive-time-min", "20",
                 "--costs.site-fixed-cny", "7e5", "--traffic.design-day", "holiday"]) == 0
    rows = {r["path"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == len(OPTIONS) + len(ASSUMPTIONS)
    expected = {"drive_time_min": (20.0, "flag"), "range_margin_km": (40.0, "file"),
                "demand.ev_stop_share": (0.2, "file"), "costs.site_fixed_cny": (7e5, "flag"),
                "traffic.design_day": ("holiday", "flag"), "budget_cny": (None, "default"),
                "demand.expressway_aadt": (40_000.0, "default")}
    for path_, (value, origin) in expected.items():
        assert (rows[path_]["value"], rows[path_]["origin"]) == (value, origin), rows[path_]
    assert sum(r["origin"] == "default" for r in rows.values()) == len(rows) - 5
    assert rows["demand.ev_stop_share"]["unit"] == "fraction" and rows["demand.ev_stop_share"]["source"]
    assert rows["costs.site_fixed_cny"]["default"] == "600000.0"

    # The text form: section by section, each value with its unit, origin and source.
    assert main(["scenario", "show", "--scenario", str(path), "--drive-time-min", "20"]) == 0
    out = capsys.readouterr().out
    headers = [line for line in out.splitlines() if line.startswith("[")]
    assert headers == ["[options]", *(f"[{s}]" for s in SECTIONS)]
    line = next(x for x in out.splitlines() if x.split()[:1] == ["ev_stop_share"])
    assert line.split()[1:4] == ["0.2", "fraction", "file"]


def test_show_toml_writes_the_effective_scenario_that_reads_back(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "[demand]\nev_share_by_year = { 2030 = 0.3, 2025 = 0.1 }\n")
    flags = ["--scenario", str(path), "--budget-cny", "9e7", "--traffic.holiday-traffic-factor", "1.9",
             "--traffic.ev-range-km", "car:350,truck:250,coach:300"]
    assert main(["scenario", "show", "--toml", *flags]) == 0
    written = _write(tmp_path, capsys.readouterr().out, "effective.toml")
    got = scenario_from_options(read_scenario_file(written))
    assert got.budget_cny == 9e7 and got.traffic.holiday_traffic_factor == 1.9
    assert got.demand.ev_share_by_year == {2025: 0.1, 2030: 0.3}
    assert got.traffic.ev_range_km == {"car": 350.0, "truck": 250.0, "coach": 300.0}
    assert got == replace(Scenario(), budget_cny=9e7, demand=replace(Scenario().demand, ev_share_by_year={
        2025: 0.1, 2030: 0.3}), traffic=replace(Scenario().traffic, holiday_traffic_factor=1.9,
                                                 ev_range_km={"car": 350.0, "truck": 250.0, "coach": 300.0}))
    assert "# default: 40000.0" not in written.read_text(encoding="utf-8")  # unchanged values carry no note
    assert "(this value: from the flag)" in written.read_text(encoding="utf-8")


def test_every_assumption_is_a_flag_and_a_bad_value_is_refused_by_it(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for a in ASSUMPTIONS:
        assert f" {a.flag} " in text, a.flag
    for args, expected in ((["--demand.ev-stop-share", "2"], "--demand.ev-stop-share: must be 0 to 1"),
                           (["--demand.ev-share-by-year", "2025:x"], "--demand.ev-share-by-year: expected a table"),
                           (["--demand.ev-share-by-year", "2025:0.1,2070:0.2"],
                            "--demand.ev-share-by-year: years must be 2020 to 2060, got 2070")):
        assert main(["plan", "--out", str(tmp_path / "out"), "--quiet", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"evplan: error: {expected}"), err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------
# The API's run body


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The service (one start for the module's API tests)."""
    from app.core.config import Settings
    from app.main import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("api") / "data", api_keys=KEY))) as c:
        yield c


def test_the_api_schema_states_each_assumptions_range_unit_and_source(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    body = schemas["ScenarioIn"]
    for section in (s for s in SECTIONS if "." not in s):
        ref = body["properties"][section]
        name = (ref.get("$ref") or ref["allOf"][0]["$ref"]).rsplit("/", 1)[1]
        model = schemas[name]
        assert model["additionalProperties"] is False, section
        own = [a for a in ASSUMPTIONS if a.section == section]
        assert set(model["properties"]) >= {a.name for a in own}
        for a in own:
            prop = model["properties"][a.name]
            assert a.range_text() in prop["description"] and a.source in prop["description"], a.path
            leaf = prop
            while "patternProperties" in leaf or "additionalProperties" in leaf and isinstance(
                    leaf["additionalProperties"], dict):
                leaf = next(iter(leaf["patternProperties"].values())) if "patternProperties" in leaf \
                    else leaf["additionalProperties"]
            if a.low is not None and leaf.get("type") in ("number", "integer"):
                assert (leaf["minimum"], leaf["maximum"]) == (a.low, a.high), a.path


def test_the_api_refuses_a_bad_assumption_naming_its_field(client: TestClient) -> None:
    bad = {("demand", "ev_stop_share"): 1.5, ("costs", "site_fixed_cny"): "cheap",
           ("demand", "ev_share_by_year"): {"2025": 2.0}, ("traffic", "no_such_thing"): 1.0,
           ("norms", "dc_power_kw"): 150.0}
    for (section, name), value in bad.items():
        r = client.post("/api/v1/siting/runs", json={section: {name: value}}, headers={"X-API-Key": KEY})
        assert r.status_code == 422, (section, name, r.text)
        fields_ = [e["field"] for e in r.json()["errors"]]
        assert fields_ and all(f.startswith(f"body.{section}.{name}") for f in fields_), fields_
    r = client.post("/api/v1/siting/runs", json={"demand": 0.2}, headers={"X-API-Key": KEY})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.demand"


def test_the_same_scenario_is_the_same_stored_run_and_reaches_the_worker_whole(tmp_path: Path) -> None:
    """Without dispatching (no solve): the stored scenario and its key, as ``POST /siting/runs`` makes them."""
    store = Store(tmp_path / "runs.sqlite")
    manager = RunManager(store, osm_path=config.SHANWEI_OSM, fleet_dir=config.FLEET_DIR, max_concurrent=1,
                         time_limit_s=60)

    def submit(body: dict[str, Any]) -> Any:
        return manager.submit(ScenarioIn.model_validate_json(json.dumps(body)).model_dump(mode="json"))

    plain, created = submit({})
    assert created
    assert submit({"demand": {}, "costs": {"site_fixed_cny": 600000}})[0].id == plain.id  # the defaults, spelled out
    assert plain.scenario == jsonable(options_of(Scenario()))
    body = {"budget_cny": 8e7, "demand": {"ev_stop_share": 0.2, "ev_share_by_year": {"2030": 0.3, "2025": 0.1}},
            "traffic": {"design_day": "holiday", "ev_range_km": {"car": 350, "truck": 250, "coach": 300}}}
    run, created = submit(body)
    assert created and run.id != plain.id
    again, created = submit({**body, "demand": {"ev_share_by_year": {"2025": 0.1, "2030": 0.3}, "ev_stop_share": 0.2}})
    assert not created and again.id == run.id
    # What the worker plans with (``app.runs.execute_run``: ``scenario_from_options(run.scenario)``).
    stored = store.get_run(run.id).scenario
    assert stored["demand"]["ev_stop_share"] == 0.2 and stored["traffic"]["design_day"] == "holiday"
    worker = scenario_from_options(stored)
    assert worker.demand.ev_share_by_year == {2025: 0.1, 2030: 0.3} and worker.demand.ev_stop_share == 0.2
    assert worker.traffic.ev_range_km == {"car": 350.0, "truck": 250.0, "coach": 300.0}
    assert worker.budget_cny == 8e7 and worker.costs == Scenario().costs


# ------------------------------------------------------------------------------------------------
# Sweeps over the assumptions


def test_a_sweep_grid_over_assumptions_has_them_as_points_and_columns() -> None:
    from planner.sweep.run import _row
    from planner.sweep.table import csv_text, curves

    grid = grid_from_text({"demand.ev_stop_share": "0.1,0.2", "range_margin_km": "40,50",
                           "demand.ev_share_by_year": "2025:0.08,2030:0.2;2025:0.1,2030:0.3"})
    assert grid["demand.ev_stop_share"] == [0.1, 0.2]
    assert grid["demand.ev_share_by_year"] == [{"2025": 0.08, "2030": 0.2}, {"2025": 0.1, "2030": 0.3}]
    points = grid_points(grid, {"costs": {"site_fixed_cny": 5e5}})
    assert len(points) == 8 and len({point_key(p, {}) for p in points}) == 8
    got = {(p["range_margin_km"], p["demand"]["ev_stop_share"], p["demand"]["ev_share_by_year"]["2030"])
           for p in points}
    assert got == {(m, s, y) for m in (40.0, 50.0) for s in (0.1, 0.2) for y in (0.2, 0.3)}
    assert all(p["costs"]["site_fixed_cny"] == 5e5 for p in points)  # the base
    assert scenario_from_options(points[0]).costs.site_fixed_cny == 5e5
    rows = [_row({"key": point_key(p, {}), "scenario": jsonable(p)}, "failed", error="not run") for p in points]
    table = list(csv.DictReader(io.StringIO(csv_text(rows))))
    assert {"demand.ev_stop_share", "costs.site_fixed_cny", "demand.ev_share_by_year"} <= set(table[0])
    assert sorted({r["demand.ev_stop_share"] for r in table}) == ["0.1", "0.2"]
    assert {r["demand.ev_share_by_year"] for r in table} == {"2025:0.08,2030:0.2", "2025:0.1,2030:0.3"}
    assert {r["costs.site_fixed_cny"] for r in table} == {"500000.0"}
    swept = ["range_margin_km", "demand.ev_stop_share", "demand.ev_share_by_year"]
    along = curves(rows, "demand.ev_stop_share", swept)
    assert len(along) == 4 and all([r["scenario"]["demand"]["ev_stop_share"] for r in c.rows] == [0.1, 0.2]
                                   for c in along)


def test_sweep_takes_assumption_flags_and_refuses_a_bad_one_by_its_flag(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    assert "--demand.ev-stop-share" in text and "tables separated by ';'" in text
    assert main(["sweep", "--out", str(tmp_path / "sw"), "--demand.ev-stop-share", "0.1,1.5"]) == 2
    assert "--demand.ev-stop-share: must be 0 to 1" in capsys.readouterr().err
    assert not (tmp_path / "sw" / "sweep.json").exists()


# ------------------------------------------------------------------------------------------------
# One plan through the CLI: the file and the flags reach the model


def test_plan_with_a_scenario_file_and_flags_plans_with_their_values(tmp_path: Path) -> None:
    from tests.test_province import write_province

    (tmp_path / "city").mkdir()
    extract, _ = write_province(tmp_path / "city", cities=1)
    path = _write(tmp_path, "stage_years = [2025, 2030]\ndrive_time_min = 45.0\ntime_limit_s = 20.0\n"
                            "[costs]\nsite_fixed_cny = 500000.0\ndc_charger_cny = 90000.0\n"
                            "[demand]\nev_share_by_year = { 2025 = 0.3, 2030 = 0.5 }\nev_share_from_records = false\n")
    out = tmp_path / "out"
    assert main(["plan", "--osm", str(extract), "--out", str(out), "--quiet", "--scenario", str(path),
                 "--drive-time-min", "40", "--costs.high-power-charger-cny", "250000"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    expected = scenario_from_options({"stage_years": [2025, 2030], "drive_time_min": 40.0, "time_limit_s": 20.0,
                                      "costs": {"site_fixed_cny": 5e5, "dc_charger_cny": 9e4,
                                                "high_power_charger_cny": 2.5e5},
                                      "demand": {"ev_share_by_year": {"2025": 0.3, "2030": 0.5},
                                                 "ev_share_from_records": False}})
    assert summary["scenario"] == jsonable(options_of(expected))  # the file's EV shares stand
    assert summary["ev_share_assumed_by_year"] == {"2025": 0.3, "2030": 0.5}
    assert summary["ev_share_source"] == "scenario assumption (no fleet records given)"
    # The costs reached the model: each site's cost from its chargers, by hand.
    sites = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))["features"]
    assert sites
    for s in (f["properties"] for f in sites):
        if s["kind"] == "depot":
            continue
        high = s["high_power_chargers_2030"]
        by_hand = 500_000.0 + (s["chargers_2030"] - s["existing_chargers_2030"] - high) * 90_000.0 + high * 250_000.0
        assert math.isclose(s["cost_cny_2030"], by_hand), s
    assert math.isclose(summary["capex_total_cny"], sum(f["properties"]["cost_cny_2030"] for f in sites))
    assert not any(f["properties"]["kind"] == "depot" for f in sites)  # so the sum is of the sites checked


def test_no_dataclass_default_is_missing() -> None:
    """Each assumption section has a default (so a scenario file may leave any of it out)."""
    for f in fields(Scenario):
        assert f.default is not MISSING or f.default_factory is not MISSING, f.name
