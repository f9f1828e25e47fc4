"""The one scenario contract: the CLI's flags and the API's body are derived from ``siting.scenario.OPTIONS``.

The assumption sections (the scenario file, ``--demand.ev-stop-share``, the API's nested objects) are in
``test_scenario_file.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runs import RunManager
from app.store import Store
from cli.main import main
from planner import config
from planner.errors import EvplanError, NoPlanInTimeError, ScenarioError
from planner.siting import model as model_module
from planner.siting.scenario import (
    OPTION_BY_NAME,
    OPTIONS,
    SECTIONS,
    Scenario,
    options_of,
    scenario_from_options,
)
from planner.siting.solver import SolveResult

#: Per option: a value outside its range (or of the wrong kind) for each edge.
OUT_OF_RANGE: dict[str, Any] = {
    "stage_years": [2030, 2025],
    "range_margin_km": 0.5,
    "drive_time_min": 1e9,
    "town_coverage_from": 2027,
    "budget_cny": -1.0,
    "candidate_kinds": ["moon"],
    "dc_power_kw": 5e-324,
    "high_power_kw": 1e6,
    "min_chargers_per_station": 0,
    "max_wait_probability": 1e-300,
    "solver": "gurobi",
    "time_limit_s": 0.0,
    "mip_gap": 0.9,
    "depot_power_kw": 0.0,
    "depot_window_h": 25.0,
    "corridor_access_km": 0.0,
    "discount_rate": 0.6,
    "grid_diversity_factor": 0.05,
}


def _help_text(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_every_option_is_a_flag_with_its_unit_range_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help_text(capsys)
    for opt in OPTIONS:
        start = text.rindex(f" {opt.flag} {opt.metavar} ")  # its entry, after the usage line
        entry = text[start:text.find(" --", start + len(opt.flag) + 1)]
        assert opt.help.split(" (")[0] in entry, opt.name
        assert f"[{opt.unit}; " in entry if opt.unit else "[" in entry, (opt.name, entry)
        assert f"(default: {opt.to_text(opt.default)})" in entry, (opt.name, entry)
        if opt.low is not None:
            assert f"{opt.low:g}" in entry and f"{opt.high:g}" in entry, (opt.name, entry)
    for alias in ("--stages", "--candidates", "--power-kw", "--min-chargers"):  # accepted, not shown
        assert alias + " " not in text


def _schema_bounds(prop: dict[str, Any]) -> dict[str, Any]:
    """The numeric bounds of a property (of its items for arrays, of its non-null branch for options)."""
    branch = next((b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"), prop)
    if branch.get("type") == "array":
        branch = branch["items"]
    return {k: branch[k] for k in ("minimum", "exclusiveMinimum", "maximum") if k in branch}


def test_every_option_is_an_api_field_with_the_same_default_and_bounds(tmp_path: Path) -> None:
    app = create_app_for(tmp_path)
    schema = app.openapi()["components"]["schemas"]["ScenarioIn"]
    assert schema["additionalProperties"] is False
    sections = [s for s in SECTIONS if "." not in s]
    assert list(schema["properties"]) == [o.name for o in OPTIONS] + sections
    for opt in OPTIONS:
        prop = schema["properties"][opt.name]
        default = list(opt.default) if isinstance(opt.default, tuple) else opt.default
        assert prop.get("default") == default, opt.name  # a null default may be left out
        assert opt.unit in prop["description"] and opt.range_text() in prop["description"], opt.name
        expected = {}
        if opt.low is not None:
            expected["exclusiveMinimum" if opt.low_exclusive else "minimum"] = opt.low
            expected["maximum"] = opt.high
        assert _schema_bounds(prop) == expected, opt.name


def create_app_for(tmp_path: Path) -> Any:
    from app.core.config import Settings

    return create_app(Settings(data_dir=tmp_path / "data", api_keys="k" * 24))


def test_every_option_has_an_out_of_range_case() -> None:
    assert set(OUT_OF_RANGE) == set(OPTION_BY_NAME)


def test_defaults_are_the_libraries_and_the_citys() -> None:
    assert scenario_from_options() == Scenario()
    assert options_of(Scenario())["stage_years"] == config.PLAN_STAGE_YEARS
    assert OPTION_BY_NAME["town_coverage_from"].default == config.PLAN_TOWN_COVERAGE_FROM


@pytest.mark.parametrize("name", list(OUT_OF_RANGE))
def test_out_of_range_values_are_refused_naming_the_option(name: str) -> None:
    opt = OPTION_BY_NAME[name]
    with pytest.raises(ScenarioError) as info:
        scenario_from_options({name: OUT_OF_RANGE[name]})
    assert info.value.option == name and str(info.value).startswith(f"{name}: ")
    with pytest.raises(ScenarioError) as info:
        scenario_from_options({name: OUT_OF_RANGE[name]}, spelling="cli")
    assert info.value.option == opt.flag and str(info.value).startswith(f"{opt.flag}: ")


@pytest.mark.parametrize("value", [float("inf"), float("nan"), True, "50"])
def test_no_infinity_nan_or_other_kinds_pass_as_numbers(value: object) -> None:
    for name in ("range_margin_km", "budget_cny", "dc_power_kw"):
        with pytest.raises(ScenarioError, match=name):
            scenario_from_options({name: value})


def test_scenario_checks_its_options_on_construction() -> None:
    from dataclasses import replace

    with pytest.raises(ScenarioError, match="drive_time_min"):
        replace(Scenario(), drive_time_min=0.0)
    with pytest.raises(ScenarioError, match="town_coverage_from"):
        Scenario(stage_years=(2025, 2035), town_coverage_from=2030)
    assert Scenario(stage_years=(2025, 2030, 2035), town_coverage_from=None).town_coverage_from is None


def test_the_cli_refuses_each_out_of_range_value_by_its_flag(tmp_path: Path, capsys) -> None:
    for name, value in OUT_OF_RANGE.items():
        opt = OPTION_BY_NAME[name]
        text = opt.to_text(tuple(value) if isinstance(value, list) else value)
        assert main(["plan", "--out", str(tmp_path / "out"), "--quiet", opt.flag, text]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"evplan: error: {opt.flag}: ") and "Traceback" not in err, err
    assert main(["plan", "--out", str(tmp_path / "out"), "--drive-time-min", "soon"]) == 2
    assert "--drive-time-min: expected a number, got 'soon'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_the_api_refuses_each_out_of_range_value_by_its_field(tmp_path: Path) -> None:
    key = "k" * 24
    with TestClient(create_app_for(tmp_path)) as client:
        for name, value in OUT_OF_RANGE.items():
            r = client.post("/api/v1/siting/runs", json={name: value}, headers={"X-API-Key": key})
            assert r.status_code == 422, (name, r.text)
            fields = [e["field"] for e in r.json()["errors"]]
            assert fields and all(f.startswith(f"body.{name}") for f in fields), (name, fields)
        for old in ("power_kw", "min_chargers_per_service_area"):  # one name per option
            r = client.post("/api/v1/siting/runs", json={old: 3}, headers={"X-API-Key": key})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == f"body.{old}"
        # JSON's non-standard Infinity is refused, never stored.
        r = client.post("/api/v1/siting/runs", content=b'{"budget_cny": Infinity}',
                        headers={"X-API-Key": key, "Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.budget_cny"


def test_a_scenario_error_in_a_run_fails_the_run_with_its_message(tmp_path: Path) -> None:
    """A stored scenario that no longer passes the checks fails its run as the user's error."""
    store = Store(tmp_path / "runs.sqlite")
    manager = RunManager(store, osm_path=config.SHANWEI_OSM, fleet_dir=config.FLEET_DIR, max_concurrent=1,
                         time_limit_s=120)
    manager.start()
    try:
        run, _ = manager.submit({"drive_time_min": 0, "power_kw": 120})
        deadline = time.monotonic() + 120
        while (got := store.get_run(run.id)).status in ("queued", "running"):
            assert time.monotonic() < deadline, got
            time.sleep(0.05)
        assert got.status == "failed"
        assert got.error.startswith("ScenarioError: ") and "internal error" not in got.error
        assert "unknown scenario option 'power_kw'" in got.error or "drive_time_min" in got.error
    finally:
        manager.stop()


def test_no_plan_in_time_reaches_the_user_as_something_to_do(tmp_path: Path, capsys, monkeypatch) -> None:
    stopped = SolveResult("not_solved", None, None, None, "highs", 0.1)
    monkeypatch.setattr(model_module, "solve_problem", lambda prob, options, *start: stopped)
    assert main(["plan", "--out", str(tmp_path / "out"), "--quiet", "--time-limit-s", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "found no plan within the time limit of 0.1 s" in err
    assert "raise the time limit (--time-limit-s) or relax the MIP gap (--mip-gap)" in err
    assert "Traceback" not in err and not (tmp_path / "out" / "sites.geojson").exists()
    assert issubclass(NoPlanInTimeError, EvplanError)  # what a run worker reports as the run's own error
