"""LMDI decomposition of operating CO2 (terms add up exactly) and clause 22 from a plan summary."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd
import pytest

from planner import fleet
from planner.errors import InputFileError
from planner.fleet import decomposition

FACTORS = pd.DataFrame({"activity_column": ["electricity_kwh", "diesel_l", "petrol_l"],
                        "kg_co2_per_unit": [0.5, 2.6765, 2.2718]})


@dataclass(frozen=True)
class Toy:
    activity: pd.DataFrame
    emission_factors: pd.DataFrame
    grid_factors: pd.DataFrame | None = None


def activity(rows: list[tuple]) -> pd.DataFrame:
    cols = ["year", "county_code", "vehicle_class", "powertrain", "passenger_km", "tonne_km", "electricity_kwh",
            "diesel_l", "petrol_l"]
    return pd.DataFrame(rows, columns=cols)


def test_a_single_factor_change_lands_in_its_own_term() -> None:
    base = [(2020, "A", "bus", "BEV", 1e6, 0.0, 5e4, 0.0, 0.0), (2020, "A", "bus", "diesel", 1e6, 0.0, 0.0, 2e4, 0.0)]
    doubled = base + [(2025, *r[1:4], r[4] * 2, r[5], r[6] * 2, r[7] * 2, r[8]) for r in base]
    d = decomposition.decompose_co2(Toy(activity(doubled), FACTORS), base_year=2020, year=2025)
    c0 = 5e4 * 0.5 + 2e4 * 2.6765
    assert d.total_change_t == pytest.approx(c0 / 1000)  # everything doubled
    assert d.terms["activity"] == pytest.approx(c0 / 1000)
    assert all(abs(d.terms[t]) < 1e-9 for t in ("structure", "intensity", "mix", "grid_factor"))
    grid = pd.DataFrame({"year": [2020, 2025], "kg_co2_per_kwh": [0.5, 0.4]})
    same = base + [(2025, *r[1:]) for r in base]
    g = decomposition.decompose_co2(Toy(activity(same), FACTORS, grid), base_year=2020, year=2025)
    assert g.terms["grid_factor"] == pytest.approx(5e4 * (0.4 - 0.5) / 1000)
    assert g.total_change_t == pytest.approx(g.terms["grid_factor"])


def test_terms_add_up_exactly_with_a_carrier_and_a_class_that_appear() -> None:
    rows = [(2020, "A", "bus", "diesel", 2e6, 0.0, 0.0, 6e4, 0.0), (2020, "A", "truck", "diesel", 0.0, 5e6, 0.0, 4e5, 0.0),
            (2025, "A", "bus", "BEV", 2.2e6, 0.0, 1.1e5, 0.0, 0.0), (2025, "A", "bus", "diesel", 0.4e6, 0.0, 0.0, 1e4, 0.0),
            (2025, "A", "truck", "diesel", 0.0, 6e6, 0.0, 4.6e5, 0.0), (2025, "A", "taxi", "petrol", 1e6, 0.0, 0.0, 0.0, 8e4)]
    d = decomposition.decompose_co2(Toy(activity(rows), FACTORS), base_year=2020, year=2025)
    by_hand = (1.1e5 * 0.5 + 1e4 * 2.6765 + 4.6e5 * 2.6765 + 8e4 * 2.2718 - 6e4 * 2.6765 - 4e5 * 2.6765) / 1000
    assert d.total_change_t == pytest.approx(by_hand, rel=1e-12)
    assert sum(d.terms.values()) == pytest.approx(d.total_change_t, rel=1e-12, abs=1e-9)
    assert d.by_class["taxi"]["structure"] == pytest.approx(8e4 * 2.2718 / 1000)  # a new class: all structure
    for c in d.by_class.values():
        assert all(math.isfinite(v) for v in c.values())


def test_the_shipped_decomposition_adds_up_per_county_and_city(shanwei_records) -> None:
    totals = []
    for area in (None, *shanwei_records.counties):
        d = decomposition.decompose_co2(shanwei_records, base_year=2020, year=2025, area=area)
        act = shanwei_records.activity
        rows = act if area is None else act[act["county_code"] == area]
        co2 = rows.groupby("year")["co2_kg"].sum() / 1000
        assert (d.base_co2_t, d.co2_t) == pytest.approx((co2[2020], co2[2025]), rel=1e-12)
        assert sum(d.terms.values()) == pytest.approx(d.total_change_t, rel=1e-10, abs=1e-6)
        totals.append(d)
    city = totals[0]
    assert sum(d.total_change_t for d in totals[1:]) == pytest.approx(city.total_change_t, rel=1e-10)
    assert city.by_class["truck"]["activity"] > 0 and city.terms["grid_factor"] < 0  # grid 0.4326 -> 0.3869


def test_clause_22_from_a_plan_summary(tmp_path) -> None:
    evs = {"441502": 9000, "441521": 12000}
    none = fleet.assess_service_area_charging(None, evs_by_county=evs)
    assert none.status == "not assessed" and "no plan given" in none.reason
    summary = {"stages": {"2025": {"service_area_sides_with_station": 8},
                          "2030": {"service_area_sides_with_station": 8}}}
    planned = fleet.assess_service_area_charging(summary, evs_by_county=evs)
    assert planned.status == "on track" and planned.sides_with_station == 8 and planned.sides_total is None
    full = {"stages": {"2025": {"service_area_sides_with_station": 7, "service_area_sides": 8,
                                "public_chargers_by_county": {"441502": 600, "441521": 0}}},
            "closed_service_areas": ["鲘门服务区"]}
    short = fleet.assess_service_area_charging(full, evs_by_county=evs)
    assert short.status == "off track" and short.closed == ("鲘门服务区",)
    ratio = {c.county_code: c.evs_per_charger for c in short.chargers}
    assert ratio == {"441502": 15.0, "441521": None}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    (tmp_path / "service_areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"id": f"s{i}", "status": "active"}} for i in range(8)
    ] + [{"type": "Feature", "geometry": None, "properties": {"name_zh": "鲘门服务区", "status": "closed"}}]}),
        encoding="utf-8")
    loaded = fleet.assess_service_area_charging(fleet.load_plan_summary(path))
    assert loaded.sides_total == 8 and loaded.status == "on track" and loaded.closed == ("鲘门服务区",)
    audited = {"stages": {"2025": {"service_area_sides_with_station": 3,
                                   "by_county": {"441502": {"chargers": 30}}}},
               "clause_22": [{"site_id": "a", "meets_clause_22_today": True},
                             {"site_id": "b", "meets_clause_22_today": False},
                             {"site_id": "c", "meets_clause_22_today": False}]}
    today = fleet.assess_service_area_charging(audited, evs_by_county={"441502": 90})
    assert (today.sides_total, today.sides_meeting_today, today.status) == (3, 1, "on track")
    # Once the target year has been observed, what stands today decides: 1 of 3 sides is off track.
    from datetime import date

    observed = fleet.assess_service_area_charging(audited, evs_by_county={"441502": 90}, as_of=date(2025, 12, 31))
    assert observed.status == "off track" and "has passed" in observed.reason
    before = fleet.assess_service_area_charging(audited, evs_by_county={"441502": 90}, as_of=date(2025, 11, 30))
    assert before.status == "on track"
    all_met = {**audited, "clause_22": [{"site_id": x, "meets_clause_22_today": True} for x in "abc"]}
    assert fleet.assess_service_area_charging(all_met, as_of=date(2026, 6, 30)).status == "met"
    assert today.chargers[0].evs_per_charger == pytest.approx(3.0)
    (tmp_path / "bad.json").write_text("{\"stages\": 3}", encoding="utf-8")
    with pytest.raises(InputFileError, match="bad.json.*stages"):
        fleet.load_plan_summary(tmp_path / "bad.json")
