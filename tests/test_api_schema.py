"""The OpenAPI schema states the rules the service applies, so that a client (or a fuzzer) that follows it is
not refused: whole numbers as JSON Schema means them, table keys, non-empty tables; and the rules between
values that JSON Schema cannot state are exactly those ``make fuzz`` accepts a 422 for."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from bench.fuzz import BETWEEN_VALUES
from planner.siting.scenario import ASSUMPTIONS

KEY = "schema-test-key"
WRITE = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("schema") / "data", api_keys=KEY, report_cron="",
                        max_concurrent_runs=1, run_time_limit_s=2.0, max_sweep_points=4)
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 180
        while c.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, c.get("/ready").text
            time.sleep(0.2)
        yield c


def _table_schema(spec: dict, section: str, name: str) -> dict:
    schemas = spec["components"]["schemas"]
    model = schemas["".join(p.title().replace("_", "") for p in section.split(".")) + "In"]
    return model["properties"][name]


def test_whole_numbers_may_be_written_with_a_zero_fraction(client: TestClient) -> None:
    """JSON Schema's ``integer`` includes 2030.0: such a body is the same scenario (the same run) as with 2030."""
    plain = client.post("/api/v1/siting/runs", json={"stage_years": [2025, 2030], "min_chargers_per_station": 4},
                        headers=WRITE)
    floats = client.post("/api/v1/siting/runs", json={"stage_years": [2025.0, 2030.0],
                                                      "min_chargers_per_station": 4.0}, headers=WRITE)
    assert plain.status_code == 202 and floats.status_code in (200, 202), floats.text
    assert floats.json()["id"] == plain.json()["id"] and floats.json()["scenario"]["stage_years"] == [2025, 2030]
    for bad in ({"min_chargers_per_station": 4.5}, {"min_chargers_per_station": "4"},
                {"min_chargers_per_station": True}):
        assert client.post("/api/v1/siting/runs", json=bad, headers=WRITE).status_code == 422, bad
    client.delete(f"/api/v1/siting/runs/{plain.json()['id']}", headers=WRITE)


def test_each_table_needs_an_entry_exactly_when_the_schema_says_so(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    tables = [a for a in ASSUMPTIONS if a.type.kind == "table"]
    assert tables
    for a in tables:
        schema = _table_schema(spec, a.section, a.name)
        section: dict = {}
        for part in reversed(a.section.split(".")):
            section = {part: section or {a.name: {}}}
        r = client.post("/api/v1/siting/runs", json=section, headers=WRITE)
        needs_entry = schema.get("minProperties", 0) >= 1 or bool(schema.get("required"))
        assert (r.status_code == 422) == needs_entry, (a.path, schema.get("minProperties"), r.text[:300])
        if r.status_code == 202:
            client.delete(f"/api/v1/siting/runs/{r.json()['id']}", headers=WRITE)


def test_table_keys_are_stated_names_years_or_the_model_classes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    shares = _table_schema(spec, "traffic", "class_shares")
    assert set(shares["required"]) == set(shares["properties"]) == {"car", "truck", "coach"}
    assert shares["additionalProperties"] is False and "patternProperties" not in shares
    years = _table_schema(spec, "demand", "ev_share_by_year")
    pattern = years["propertyNames"]["pattern"]
    assert re.search(pattern, "2025") and not re.search(pattern, "1999") and not re.search(pattern, "2061")
    assert isinstance(years["additionalProperties"], dict) and "patternProperties" not in years
    roads = _table_schema(spec, "traffic", "gateway_aadt_by_road")
    assert set(roads["required"]) == {"motorway", "trunk"} and not re.search(roads["propertyNames"]["pattern"], " ")
    # The server agrees with each: a year outside the stage range, a blank name, a missing class are refused.
    for body in ({"demand": {"ev_share_by_year": {"1999": 0.1}}}, {"traffic": {"gateway_toward": {" ": "x"}}},
                 {"traffic": {"class_shares": {"car": 0.7, "truck": 0.3}}}):
        assert client.post("/api/v1/siting/runs", json=body, headers=WRITE).status_code == 422, body


def test_make_fuzz_excuses_only_the_rules_between_values(client: TestClient) -> None:
    """Each rule JSON Schema cannot state is answered 422 with a message ``make fuzz`` recognises; a rule the
    schema states (a value out of range) is not recognised, so the fuzzer would still report it."""
    rules = [re.compile(r) for r in BETWEEN_VALUES]
    between = [
        ("/api/v1/siting/runs", {"stage_years": [2030, 2025]}),
        ("/api/v1/siting/runs", {"stage_years": [2025, 2030], "town_coverage_from": 2040}),
        ("/api/v1/siting/runs", {"traffic": {"class_shares": {"car": 0.5, "truck": 0.1, "coach": 0.1}}}),
        ("/api/v1/siting/runs", {"traffic": {"reserve_charge_share": 0.95}}),
        ("/api/v1/siting/runs", {"traffic": {"gateway_external_km": {"nowhere": 10.0}}}),
        ("/api/v1/siting/sweeps", {"range_margin_km": [30, 40, 50], "drive_time_min": [20, 30]}),
    ]
    for path, body in between:
        r = client.post(path, json=body, headers=WRITE)
        assert r.status_code == 422, (body, r.text)
        messages = [e["message"] for e in r.json().get("errors") or []] or [r.json()["detail"]]
        parts = [p for m in messages for p in m.split("; ")]
        assert all(any(rule.search(p) for rule in rules) for p in parts), (body, parts)
    r = client.get("/api/v1/network/roads", params={"bbox": "115.6,22.7,115.0,23.1"})  # west > east
    assert r.status_code == 422 and all(any(rule.search(e["message"]) for rule in rules) for e in r.json()["errors"])
    r = client.post("/api/v1/siting/runs", json={"range_margin_km": -5}, headers=WRITE)
    assert r.status_code == 422 and not any(rule.search(e["message"]) for e in r.json()["errors"] for rule in rules)


def test_the_bbox_format_is_in_the_schema(client: TestClient) -> None:
    """A bbox that is not four decimal degrees in range is one the schema already refuses."""
    spec = client.get("/openapi.json").json()
    bbox = next(p for p in spec["paths"]["/api/v1/network/roads"]["get"]["parameters"] if p["name"] == "bbox")
    pattern = bbox["schema"].get("pattern") or next(s["pattern"] for s in bbox["schema"]["anyOf"] if "pattern" in s)
    assert re.search(pattern, "115.0,22.7,115.6,23.1") and re.search(pattern, "-180,-90,180,90")
    for bad in ("Òì", "181,0,1,1", "1e5,0,1,1", "0,0,1", "0,91,1,1"):
        assert not re.search(pattern, bad), bad
        assert client.get("/api/v1/network/roads", params={"bbox": bad}).status_code == 422, bad


def test_a_county_without_vehicles_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/fleet/indicators", params={"county": "000000"})
    assert r.status_code == 404 and "000000" in r.json()["detail"], r.text
    assert client.get("/api/v1/fleet/indicators", params={"county": "441521"}).status_code == 200


def test_a_scenario_whose_sections_disagree_is_refused_before_it_is_queued(client: TestClient) -> None:
    """A traffic table missing a vehicle class was queued (202) and failed in the worker; now it is a 422."""
    before = len(client.get("/api/v1/siting/runs", params={"limit": 1000}).json())
    body = {"traffic": {"ev_share_by_class_year": {"car": {"2020": 1.0}, "truck": {"2020": 1.0}}}}
    r = client.post("/api/v1/siting/runs", json=body, headers=WRITE)
    assert r.status_code == 422 and "missing coach" in r.json()["detail"], r.text
    assert len(client.get("/api/v1/siting/runs", params={"limit": 1000}).json()) == before
