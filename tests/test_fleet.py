"""Fleet records: reading and checking files, and each indicator computed by hand on small record sets."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import string
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from planner import config, fleet
from planner.errors import InputFileError, RecordError

COLUMNS = ["vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code",
           "is_operating", "depot_id"]
TODAY = date(2026, 1, 1)
CITY, HAIFENG, LUHE, LUFENG = "441502", "441521", "441523", "441581"
SHANWEI = config.SHANWEI_COUNTIES


def V(vid, vclass, powertrain, registered, deregistered="", county=CITY, operating="true", depot=""):
    return (vid, vclass, powertrain, registered, deregistered, county, operating, depot)


def vehicles_of(*rows) -> pd.DataFrame:
    """Typed vehicles from hand-written rows (which must all be valid)."""
    good, issues = fleet.validate_vehicles(pd.DataFrame(list(rows), columns=COLUMNS), known_counties=SHANWEI, source="hand-made", today=TODAY)
    assert issues == []
    return good.reset_index(drop=True)


NO_ACTIVITY = fleet.empty_activity()


def write_csv(path: Path, rows, header=COLUMNS, *, encoding="utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


# ---------------------------------------------------------------------------------- indicators by hand


def test_stock_and_additions_follow_the_definitions_at_the_year_boundaries() -> None:
    v = vehicles_of(
        V("b1", "bus", "BEV", "2024-12-31"),                   # registered on 31 Dec: in the 2024 stock
        V("b2", "bus", "diesel", "2020-05-01", "2024-12-31"),  # deregistered on 31 Dec: gone by then
        V("b3", "bus", "diesel", "2019-01-01", "2025-01-01"),  # deregistered the day after: still in 2024
        V("b4", "bus", "BEV", "2025-01-01"),                   # registered the next year
        V("b5", "bus", "PHEV", "2018-03-03"),
        V("b6", "bus", "HEV", "2022-07-07"),                   # hybrids are not new energy
    )
    r2023 = fleet.indicators(v, NO_ACTIVITY, year=2023).to_dict()
    r2024 = fleet.indicators(v, NO_ACTIVITY, year=2024).to_dict()
    r2025 = fleet.indicators(v, NO_ACTIVITY, year=2025).to_dict()
    assert (r2023["buses"], r2023["ne_buses"], r2023["ne_bus_share"]) == (4, 1, 0.25)   # b2 b3 b5 b6
    assert (r2024["buses"], r2024["ne_buses"], r2024["ne_bus_share"]) == (4, 2, 0.5)    # b1 b3 b5 b6
    assert (r2025["buses"], r2025["ne_buses"], r2025["ne_bus_share"]) == (4, 3, 0.75)   # b1 b4 b5 b6
    assert (r2024["new_vehicles"], r2024["new_ne_or_clean_vehicles"]) == (1, 1)
    assert (r2025["new_vehicles"], r2025["new_ne_or_clean_vehicles"]) == (1, 1)
    assert fleet.ne_bus_share_by_year(v, years=[2023, 2024, 2025]) == {2023: 0.25, 2024: 0.5, 2025: 0.75}


def test_taxi_shares_city_wide_and_per_county() -> None:
    v = vehicles_of(
        V("t1", "taxi", "BEV", "2020-01-01", county=CITY),
        V("t2", "taxi", "petrol", "2019-01-01", county=CITY),
        V("t3", "taxi", "BEV", "2021-06-01", county=HAIFENG),
        V("t4", "taxi", "CNG", "2018-01-01", county=HAIFENG),   # clean energy is not new energy
        V("t5", "taxi", "petrol", "2017-01-01", county=LUHE),
        V("t6", "taxi", "FCEV", "2023-02-01", county=LUFENG),   # registered after 2022
        V("r1", "ride_hailing", "BEV", "2020-01-01", county=LUHE),  # ride-hailing cars are not taxis
    )
    r = fleet.indicators(v, NO_ACTIVITY, year=2022).to_dict()
    assert (r["taxis"], r["ne_taxis"], r["ne_taxi_share"]) == (5, 2, 0.4)
    assert r["ne_taxi_share_by_county"] == {CITY: 0.5, HAIFENG: 0.5, LUHE: 0.0, LUFENG: None}
    assert r["ne_bus_share"] is None and r["buses"] == 0  # no bus: no share, not 0 %
    one = fleet.indicators(v, NO_ACTIVITY, year=2023, county=LUFENG).to_dict()
    assert (one["county"], one["taxis"], one["ne_taxi_share"]) == (LUFENG, 1, 1.0)
    assert one["ne_taxi_share_by_county"] == {LUFENG: 1.0}
    with pytest.raises(RecordError, match="441500.*no vehicles.*441502"):
        fleet.indicators(v, NO_ACTIVITY, year=2022, county="441500").to_dict()


def test_new_vehicle_shares_count_additions_of_the_year_only() -> None:
    v = vehicles_of(
        V("c1", "passenger_car", "BEV", "2023-01-05", operating="false"),
        V("c2", "passenger_car", "PHEV", "2023-03-05", operating="false"),
        V("c3", "passenger_car", "HEV", "2023-04-05", operating="false"),
        V("c4", "passenger_car", "petrol", "2023-05-05", operating="false"),
        V("c5", "passenger_car", "CNG", "2023-06-05", operating="false"),  # clean, but not an EV
        V("k1", "truck", "LNG", "2023-07-05"),
        V("k2", "truck", "diesel", "2023-08-05"),
        V("n1", "van", "FCEV", "2023-09-05"),
        V("u1", "bus", "BEV", "2023-12-31"),
        V("s1", "special", "diesel", "2022-12-31", operating="false"),   # the year before
        V("c6", "passenger_car", "BEV", "2024-01-01", operating="false"),  # the year after
    )
    r = fleet.indicators(v, NO_ACTIVITY, year=2023).to_dict()
    assert (r["new_vehicles"], r["new_ne_or_clean_vehicles"]) == (9, 6)  # c1 c2 c5 k1 n1 u1
    assert r["ne_or_clean_new_vehicle_share"] == pytest.approx(6 / 9)
    assert (r["new_passenger_cars"], r["new_ev_passenger_cars"], r["ev_new_passenger_car_share"]) == (5, 2, 0.4)
    assert r["ev_passenger_car_stock_share"] == pytest.approx(2 / 5)
    empty_year = fleet.indicators(v, NO_ACTIVITY, year=2010).to_dict()
    assert empty_year["new_vehicles"] == 0 and empty_year["ne_or_clean_new_vehicle_share"] is None


def _activity(rows) -> pd.DataFrame:
    cols = ["year", "county_code", "vehicle_class", "powertrain", "vehicle_years", "vehicle_km", "passenger_km",
            "tonne_km", "electricity_kwh", "diesel_l"]
    frame = pd.DataFrame(rows, columns=cols).astype(str)
    act, issues = fleet.validate_activity(frame, source="activity", known_counties=SHANWEI)
    assert issues == []
    factors = pd.DataFrame({"activity_column": ["electricity_kwh", "diesel_l"], "kg_co2_per_unit": [0.5, 2.6]})
    return fleet.with_co2(act.reset_index(drop=True), factors)


def test_operating_co2_intensity_and_its_change_vs_2020() -> None:
    v = vehicles_of(V("b", "bus", "BEV", "2019-01-01", county=CITY),
                    V("k", "truck", "diesel", "2019-01-01", county=HAIFENG))
    act = _activity([
        (2020, CITY, "bus", "BEV", 1, 60_000, 1_000_000, 0, 50_000, 0),
        (2020, HAIFENG, "truck", "diesel", 1, 40_000, 0, 400_000, 0, 10_000),
        (2024, CITY, "bus", "BEV", 1, 60_000, 1_200_000, 0, 55_000, 0),
        (2024, HAIFENG, "truck", "BEV", 1, 20_000, 0, 100_000, 20_000, 0),
        (2024, HAIFENG, "truck", "diesel", 1, 36_000, 0, 400_000, 0, 9_000),
    ])
    r = fleet.indicators(v, act, year=2024).to_dict()
    # 2020: (50 000 kWh x 0.5 + 10 000 L x 2.6) / (400 000 t·km + 1 000 000 p·km x 0.1) = 51 000 / 500 000
    # 2024: (55 000 x 0.5 + 20 000 x 0.5 + 9 000 x 2.6) / (500 000 + 1 200 000 x 0.1) = 60 900 / 620 000
    assert r["operating_co2_t"] == pytest.approx(60.9)
    assert r["converted_turnover_tkm"] == pytest.approx(620_000)
    assert r["operating_co2_per_converted_turnover"] == pytest.approx(60_900 / 620_000)
    assert r["operating_co2_per_converted_turnover_2020"] == pytest.approx(51_000 / 500_000)
    assert r["operating_co2_intensity_change_vs_2020"] == pytest.approx((60_900 / 620_000) / 0.102 - 1)
    assert r["operating_co2_intensity_change_vs_2020"] == pytest.approx(-0.0370019, abs=1e-6)
    whole = fleet.indicators(v, act, year=2024, pkm_to_tkm=1.0).to_dict()  # the coefficient is a parameter
    assert whole["operating_co2_per_converted_turnover"] == pytest.approx(60_900 / 1_700_000)
    expected = (60_900 / 1_700_000) / (51_000 / 1_400_000) - 1
    assert whole["operating_co2_intensity_change_vs_2020"] == pytest.approx(expected)
    city = fleet.indicators(v, act, year=2024, county=CITY).to_dict()
    assert city["operating_co2_per_converted_turnover"] == pytest.approx(27_500 / 120_000)
    none = fleet.indicators(v, act, year=2022).to_dict()
    assert none["operating_co2_t"] is None and none["operating_co2_intensity_change_vs_2020"] is None


def test_indicator_series_is_the_scalar_part_of_each_year(shanwei_records) -> None:
    r = shanwei_records
    series = fleet.indicator_series(r.vehicles, r.activity, years=[2020, 2023])
    assert list(series["year"]) == [2020, 2023]
    assert "ne_bus_share_by_county" not in series.columns
    for row in series.to_dict("records"):
        one = fleet.indicators(r.vehicles, r.activity, year=row["year"]).to_dict()
        for key, value in row.items():
            assert value == one[key] or (value is None and one[key] is None) or value == pytest.approx(one[key]), key


def test_record_years_start_where_the_records_are_complete() -> None:
    v = vehicles_of(V("a", "bus", "BEV", "2010-01-01", "2016-03-01"), V("b", "bus", "BEV", "2014-01-01"),
                    V("c", "bus", "BEV", "2019-05-05", "2021-05-05"))
    records = fleet.FleetRecords(vehicles=v, activity=NO_ACTIVITY, depots=fleet.empty_depots())
    # Vehicles retired before 2016 would be missing from an extract that lists its first retirement in 2016.
    assert fleet.record_years(records) == [2016, 2017, 2018, 2019, 2020, 2021]
    assert list(fleet.ne_bus_share_by_year(v)) == [2016, 2017, 2018, 2019, 2020, 2021]


def test_ev_car_share_projection_follows_the_logistic_trend_of_additions() -> None:
    rows = []
    for year, ne_count in ((2020, 1), (2021, 5), (2022, 9)):  # NE share of additions 0.1, 0.5, 0.9
        for i in range(10):
            rows.append(V(f"{year}-{i}", "passenger_car", "BEV" if i < ne_count else "petrol", f"{year}-06-01",
                          operating="false"))
    records = fleet.FleetRecords(vehicles=vehicles_of(*rows), activity=NO_ACTIVITY, depots=fleet.empty_depots())
    got = fleet.ev_car_share_projection(records, years=[2021, 2022, 2023, 2024])
    # The trend is the targets' one (trend.fit_logistic_share): the empirical logits ln((x + 0.5)/(n - x + 0.5))
    # are -ln(19/3), 0, ln(19/3), exactly linear, so the fit gives (19/3)^2 : 1 = 361/370 for 2023 and
    # 6859/6886 for 2024; additions stay at 10 a year and nothing retires: the stock is 30 cars (15 NE) in 2022.
    assert got[2021] == pytest.approx(6 / 20)
    assert got[2022] == pytest.approx(15 / 30)
    assert got[2023] == pytest.approx((15 + 10 * 361 / 370) / 40)
    assert got[2024] == pytest.approx((15 + 10 * 361 / 370 + 10 * 6859 / 6886) / 50)
    with pytest.raises(RecordError, match="no passenger cars"):
        only_buses = vehicles_of(V("b", "bus", "BEV", "2020-01-01"))
        fleet.ev_car_share_projection(fleet.FleetRecords(only_buses, NO_ACTIVITY, fleet.empty_depots()), years=[2030])


def test_ev_car_share_projection_retires_cars_at_the_observed_rates() -> None:
    rows = [V(f"old{i}", "passenger_car", "petrol", "2010-01-01", "2021-06-01" if i < 10 else "", operating="false")
            for i in range(100)]  # 100 petrol cars, 10 retire in 2021: 10 % a year
    rows += [V(f"ev{i}", "passenger_car", "BEV", "2015-01-01", "2021-06-01" if i < 4 else "", operating="false")
             for i in range(20)]  # 20 older BEVs, 4 retire in 2021: 20 % a year
    rows += [V(f"new{i}", "passenger_car", "BEV", "2021-03-01", operating="false") for i in range(10)]  # 10 new BEVs
    records = fleet.FleetRecords(vehicles=vehicles_of(*rows), activity=NO_ACTIVITY, depots=fleet.empty_depots())
    assert fleet.record_years(records) == [2021]
    got = fleet.ev_car_share_projection(records, years=[2021, 2022])
    assert got[2021] == pytest.approx(26 / 116)
    # additions: 10 a year, all NE in the records; one year gives a flat trend at the empirical logit
    # ln(10.5 / 0.5), a share of 21/22
    ne_2022 = 26 * (1 - 0.2) + 10 * 21 / 22
    other_2022 = 90 * (1 - 0.1) + 10 * 1 / 22
    assert got[2022] == pytest.approx(ne_2022 / (ne_2022 + other_2022))


def test_depot_energy_demand_from_activity_and_fallbacks() -> None:
    depots, issues = fleet.validate_depots(pd.DataFrame({
        "depot_id": ["D1", "D2"], "name": ["bus depot", "taxi yard"], "fleet_kind": ["bus", "taxi"],
        "lon": ["115.37", "115.33"], "lat": ["22.79", "22.97"], "county_code": [CITY, HAIFENG],
        "grid_capacity_kw": ["1000", ""], "location_approximate": ["true", "false"],
    }), source="depots", known_counties=SHANWEI)
    assert issues == []
    v = vehicles_of(
        V("b1", "bus", "BEV", "2020-01-01", depot="D1"), V("b2", "bus", "BEV", "2021-01-01", depot="D1"),
        V("b3", "bus", "BEV", "2022-01-01", depot="D1"),
        V("b4", "bus", "diesel", "2019-01-01", depot="D1"),                 # not plug-in
        V("b5", "bus", "BEV", "2015-01-01", "2023-06-30", depot="D1"),      # retired
        V("t1", "taxi", "BEV", "2022-01-01", county=HAIFENG, depot="D2"),
        V("t2", "taxi", "BEV", "2022-01-01", county=HAIFENG, depot="D2"),
        V("t3", "taxi", "PHEV", "2022-01-01", county=HAIFENG, depot="D2"),  # no activity row: fallback
        V("b6", "bus", "BEV", "2022-01-01"),                                 # no depot
    )
    act = _activity([
        (2024, CITY, "bus", "BEV", 4, 240_000, 0, 0, 252_000, 0),
        (2024, HAIFENG, "taxi", "BEV", 2, 219_000, 0, 0, 32_850, 0),
    ])
    records = fleet.FleetRecords(vehicles=v, activity=act, depots=depots.reset_index(drop=True))
    demand = fleet.depot_energy_demand(records, year=2025)
    assert all(isinstance(d, fleet.DepotDemand) for d in demand)
    out = pd.DataFrame([d.to_dict() for d in demand]).set_index("depot_id")
    assert out.loc["D1", "vehicles"] == 3
    assert out.loc["D1", "daily_kwh"] == pytest.approx(3 * 252_000 / 4 / 365)
    assert out.loc["D1", "kwh_per_km"] == pytest.approx(1.05)
    assert out.loc["D2", "vehicles"] == 3
    phev = fleet.DEFAULT_KWH_PER_KM["taxi"] * 0.6 * fleet.DEFAULT_DAILY_KM["taxi"]
    assert out.loc["D2", "daily_kwh"] == pytest.approx(2 * 32_850 / 2 / 365 + phev)
    assert out.loc["D1", "activity_year"] == 2024  # latest activity at or before 2025
    as_dicts = {d.depot_id: d.to_dict() for d in demand}
    assert as_dicts["D1"]["grid_capacity_kw"] == 1000.0 and as_dicts["D2"]["grid_capacity_kw"] is None
    assert as_dicts["D2"]["location_approximate"] is False


# ------------------------------------------------------------------------------------- the shipped data


def test_shipped_buses_and_taxis_match_the_published_2021_figures(shanwei_records) -> None:
    r = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=2021).to_dict()
    assert (r["buses"], r["ne_buses"]) == (1324, 1295)  # 汕尾日报 2021-11-08: 1,324 buses, 1,295 battery-electric
    assert r["ne_bus_share"] == pytest.approx(0.978, abs=5e-4)
    assert r["ne_taxis"] == 115 and round(100 * r["ne_taxi_share"]) == 49
    v = shanwei_records.vehicles
    on_article_date = pd.Timestamp("2021-11-08")
    stock = (v["registered_on"] <= on_article_date) & ~(v["deregistered_on"] <= on_article_date)
    buses = v[stock & (v["vehicle_class"] == "bus")]
    assert len(buses) == 1324 and (buses["powertrain"] == "BEV").sum() == 1295
    assert set(v.loc[v["vehicle_class"] == "bus", "depot_id"].dropna()) <= set(shanwei_records.depots["depot_id"])


def test_shipped_records_are_complete_clean_and_small(shanwei_records) -> None:
    assert fleet.record_years(shanwei_records) == list(range(2015, 2026))
    assert shanwei_records.quarantine == ()
    assert sorted(shanwei_records.vehicles["county_code"].unique()) == sorted(config.SHANWEI_COUNTIES)
    size = sum(p.stat().st_size for p in config.FLEET_DIR.rglob("*") if p.is_file())
    assert size < 8e6
    v = shanwei_records.vehicles
    cars_2025 = int((fleet.in_stock(v, 2025) & (v["vehicle_class"] == "passenger_car").to_numpy()).sum())
    assert cars_2025 == 400_000  # the generator meets its assumed year-end stock exactly
    for year in range(2015, 2026):
        r = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=year).to_dict()
        for key, value in r.items():
            if key.endswith("_share") and value is not None:
                assert 0.0 <= value <= 1.0, (year, key)
        assert r["operating_co2_per_converted_turnover"] > 0
    assert r["operating_co2_intensity_change_vs_2020"] < 0  # 2025 against 2020


def test_shipped_activity_matches_the_operating_vehicles_it_describes(shanwei_records) -> None:
    v = shanwei_records.vehicles
    ops = v[v["is_operating"] & (v["vehicle_class"] == "bus")]
    act = shanwei_records.activity
    for year in (2016, 2021, 2025):
        start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
        until = ops["deregistered_on"].fillna(pd.Timestamp(2026, 1, 1)).clip(upper=end)
        since = ops["registered_on"].clip(lower=start)
        days = (until - since).dt.days.clip(lower=0)
        expected = days.sum() / (end - start).days
        got = act[(act["year"] == year) & (act["vehicle_class"] == "bus")]["vehicle_years"].sum()
        assert got == pytest.approx(expected, abs=0.01 * 30)  # rounded to 0.01 per activity row


def test_shipped_emission_factors_are_sourced_and_the_grid_factor_is_configurable(shanwei_records) -> None:
    factors = shanwei_records.emission_factors.set_index("activity_column")
    assert factors.loc["electricity_kwh", "kg_co2_per_unit"] == pytest.approx(0.3869)
    assert all(len(s) > 20 for s in factors["source"])
    national = fleet.load_records(config.FLEET_DIR, grid_kg_co2_per_kwh=0.5366)
    assert national.grid_factors is None  # a factor set by the user holds for every year
    grid = dict(zip(shanwei_records.grid_factors["year"], shanwei_records.grid_factors["kg_co2_per_kwh"], strict=True))
    assert grid[2020] == pytest.approx(0.4326) and grid[2022] == pytest.approx(0.3869) and grid[2025] == grid[2022]
    kwh = shanwei_records.activity.groupby("year")["electricity_kwh"].sum()
    extra = national.activity["co2_kg"].sum() - shanwei_records.activity["co2_kg"].sum()
    assert extra == pytest.approx(sum(k * (0.5366 - grid[int(y)]) for y, k in kwh.items()), rel=1e-9)


def test_shipped_depots_can_serve_their_fleets(shanwei_records) -> None:
    demand = pd.DataFrame([d.to_dict() for d in fleet.depot_energy_demand(shanwei_records, year=2025)])
    buses = demand[demand["fleet_kind"] == "bus"]
    assert len(buses) == 6  # 汕尾日报: six bus depots
    ne_buses_2025 = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=2025).ne_buses
    assert buses["vehicles"].sum() == ne_buses_2025  # every e-bus charges at one depot
    overnight_kw = demand["daily_kwh"] / 8.0
    assert (demand["grid_capacity_kw"].astype(float) >= overnight_kw).all()
    assert demand["lon"].between(114.9, 116.3).all() and demand["lat"].between(22.6, 23.5).all()


def test_cli_prints_the_indicators_as_json(capsys) -> None:
    assert main(["fleet", "indicators", "--year", "2021", "--county", CITY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["year"] == 2021 and out["county"] == CITY
    assert 0.0 <= out["ne_taxi_share"] <= 1.0 and set(out["ne_taxi_share_by_county"]) == {CITY}


# ------------------------------------------------------------------------------------- files and checks


GOOD_ROWS = [V("A1", "bus", "BEV", "2020-01-02", "", CITY, "true", ""),
             V("A2", "taxi", "petrol", "2018-05-06", "2024-01-01", HAIFENG, "false", "")]


def _issues_by_row(issues):
    return {(i.row, i.field): i for i in issues}


def test_missing_columns_are_a_file_error_naming_them(tmp_path) -> None:
    path = write_csv(tmp_path / "v.csv", [r[:5] for r in GOOD_ROWS], header=COLUMNS[:5])
    with pytest.raises(RecordError) as err:
        fleet.validate_vehicles(fleet.read_vehicle_file(path), known_counties=SHANWEI, source=str(path))
    msg = str(err.value)
    assert str(path) in msg and "county_code" in msg and "is_operating" in msg and "vehicle_id" not in msg.split(";")[0]


def test_semicolon_files_get_a_delimiter_hint(tmp_path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(";".join(COLUMNS) + "\nA1;bus;BEV;2020-01-02;;441502;true;\n", encoding="utf-8")
    with pytest.raises(RecordError, match="delimiter"):
        fleet.validate_vehicles(fleet.read_vehicle_file(path), known_counties=SHANWEI, source=str(path))


def test_extra_columns_are_kept_not_refused(tmp_path) -> None:
    path = write_csv(tmp_path / "v.csv", [(*r, "蓝") for r in GOOD_ROWS], header=[*COLUMNS, "plate_colour"])
    good, issues = fleet.validate_vehicles(fleet.read_vehicle_file(path), known_counties=SHANWEI, source=str(path), today=TODAY)
    assert issues == [] and list(good["plate_colour"]) == ["蓝", "蓝"]
    assert fleet.extra_columns(fleet.read_vehicle_file(path)) == ["plate_colour"]


def test_each_bad_field_is_quarantined_with_file_row_field_and_reason(tmp_path) -> None:
    rows = [
        V("B1", "bus", "BEV", "2020-01-02"),                                 # row 2: good
        V("B2", "lorry", "BEV", "2020-01-02"),                               # row 3: class
        V("B3", "bus", "bev", "2020-01-02"),                                 # row 4: powertrain (case)
        V("B4", "bus", "BEV", "2020/01/02"),                                 # row 5: date format
        V("B5", "bus", "BEV", "2021-02-30"),                                 # row 6: no such day
        V("B6", "bus", "BEV", "2021-05-01", "2021-04-30"),                   # row 7: out of order
        V("B7", "bus", "BEV", "2021-05-01", county="441500"),                # row 8: city code, not a county
        V("B8", "bus", "BEV", "2021-05-01", operating="maybe"),              # row 9: boolean
        V("B9", "bus", "BEV", "2027-05-01"),                                 # row 10: future
        V("", "bus", "BEV", "2021-05-01"),                                   # row 11: no id
        V("B11", "bus", "diesel", "2021-05-01", depot="NOWHERE"),            # row 12: depot
        V("B12", "lorry", "steam", "2021-05-01"),                            # row 13: two fields
    ]
    path = write_csv(tmp_path / "v.csv", rows)
    good, issues = fleet.validate_vehicles(fleet.read_vehicle_file(path), known_counties=SHANWEI, source=str(path), today=TODAY,
                                           known_depots=["D1"])
    by = _issues_by_row(issues)
    assert list(good["vehicle_id"]) == ["B1"] and list(good.index) == [2]
    assert set(by) == {(3, "vehicle_class"), (4, "powertrain"), (5, "registered_on"), (6, "registered_on"),
                       (7, "deregistered_on"), (8, "county_code"), (9, "is_operating"), (10, "registered_on"),
                       (11, "vehicle_id"), (12, "depot_id"), (13, "vehicle_class"), (13, "powertrain")}
    assert all(i.file == str(path) for i in issues)
    assert "bus, taxi" in by[3, "vehicle_class"].reason and by[3, "vehicle_class"].value == "lorry"
    assert "did you mean 'BEV'" in by[4, "powertrain"].reason
    assert "YYYY-MM-DD" in by[5, "registered_on"].reason
    assert "not a calendar date" in by[6, "registered_on"].reason
    assert "before registered_on 2021-05-01" in by[7, "deregistered_on"].reason
    assert "unknown county" in by[8, "county_code"].reason and "441581 (陆丰市)" in by[8, "county_code"].reason
    assert "true or false" in by[9, "is_operating"].reason
    assert "after today" in by[10, "registered_on"].reason
    assert "D1" in by[12, "depot_id"].reason


def test_duplicate_ids_quarantine_every_copy_naming_the_others(tmp_path) -> None:
    rows = [V("D1", "bus", "BEV", "2020-01-02"), V("D2", "bus", "BEV", "2020-01-02"),
            V("D1", "bus", "diesel", "2019-01-02"), V("D1", "taxi", "BEV", "2018-01-02")]
    path = write_csv(tmp_path / "v.csv", rows)
    good, issues = fleet.validate_vehicles(fleet.read_vehicle_file(path), known_counties=SHANWEI, source=str(path), today=TODAY)
    assert list(good["vehicle_id"]) == ["D2"]
    by = _issues_by_row(issues)
    assert set(by) == {(2, "vehicle_id"), (4, "vehicle_id"), (5, "vehicle_id")}
    assert "also on row(s) 4, 5" in by[2, "vehicle_id"].reason


def test_gbk_file_with_chinese_text_is_read_and_reported_as_gbk(tmp_path) -> None:
    rows = [(*V("粤N12345", "taxi", "BEV", "2021-03-04", county=LUFENG), "陆丰出租车公司"),
            (*V("粤N23456", "bus", "柴油", "2021-03-04"), "汕尾公交")]
    path = write_csv(tmp_path / "gbk.csv", rows, header=[*COLUMNS, "所属单位"], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    frame = fleet.read_vehicle_file(path)
    assert frame.attrs["encoding"] == "gbk"
    good, issues = fleet.validate_vehicles(frame, known_counties=SHANWEI, source=str(path), today=TODAY)
    assert list(good["vehicle_id"]) == ["粤N12345"] and list(good["所属单位"]) == ["陆丰出租车公司"]
    assert [(i.row, i.field, i.value) for i in issues] == [(3, "powertrain", "柴油")]


def test_utf8_bom_is_read_and_reported(tmp_path) -> None:
    path = write_csv(tmp_path / "bom.csv", GOOD_ROWS, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    frame = fleet.read_vehicle_file(path)
    assert frame.attrs["encoding"] == "utf-8-sig" and frame.columns[0] == "vehicle_id"
    good, issues = fleet.validate_vehicles(frame, known_counties=SHANWEI, source=str(path), today=TODAY)
    assert issues == [] and len(good) == 2


def test_undecodable_and_empty_files_are_input_errors_naming_the_file(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(",".join(COLUMNS).encode() + b"\nA1,bus,BEV,2020-01-01,,441502,true,\xff\xff\xff\n")
    with pytest.raises(InputFileError, match="bad.csv.*UTF-8.*GBK"):
        fleet.read_vehicle_file(bad)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty.csv.*empty"):
        fleet.read_vehicle_file(empty)
    with pytest.raises(InputFileError, match="no such file"):
        fleet.read_vehicle_file(tmp_path / "missing.csv")
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(empty.read_bytes() + b"x" * 1000)[:20])
    with pytest.raises(InputFileError, match="gzip"):
        fleet.read_vehicle_file(truncated)


def test_row_numbers_are_line_numbers_even_with_blank_lines_and_multiline_fields(tmp_path) -> None:
    header = ",".join([*COLUMNS, "note"])
    text = (f"{header}\n"
            "A1,bus,BEV,2020-01-02,,441502,true,,ok\n"               # line 2
            "\n"                                                     # line 3: blank, no data
            'A2,bus,BEV,2020-01-02,,441502,true,,"two\nlines"\n'     # lines 4-5
            "A3,bus,BEV,2020-13-02,,441502,true,,bad month\n"        # line 6
            "A4,bus,BEV,2020-01-02,,441502,true\n"                   # line 7: two fields short
            "A5,bus,BEV,2020-01-02,,441502,true,,x,y\n")             # line 8: one field too many
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="utf-8")
    good, issues = fleet.validate_vehicles(fleet.read_vehicle_file(path), known_counties=SHANWEI, source="v.csv", today=TODAY)
    assert list(good.index) == [2, 4] and good.loc[4, "note"] == "two\nlines"
    assert [(i.row, i.field) for i in issues] == [(6, "registered_on"), (7, "*"), (8, "*")]
    assert "expected 9" in issues[1].reason and "found 7" in issues[1].reason


def test_csv_gz_and_parquet_read_the_same_rows(tmp_path) -> None:
    plain = write_csv(tmp_path / "v.csv", GOOD_ROWS)
    gz = tmp_path / "v.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    typed, _ = fleet.validate_vehicles(fleet.read_vehicle_file(plain), known_counties=SHANWEI, source="v.csv", today=TODAY)
    parquet = tmp_path / "v.parquet"
    typed.reset_index(drop=True).to_parquet(parquet)  # dates, booleans and nulls as Parquet types
    for path in (gz, parquet):
        frame = fleet.read_vehicle_file(path)
        good, issues = fleet.validate_vehicles(frame, known_counties=SHANWEI, source=str(path), today=TODAY)
        assert issues == []
        pd.testing.assert_frame_equal(good.reset_index(drop=True), typed.reset_index(drop=True), check_dtype=False)
    assert fleet.read_vehicle_file(parquet).attrs["format"] == "parquet"


def test_load_records_quarantines_a_vehicle_found_in_two_files(tmp_path) -> None:
    for name in ("counties.csv", "depots.csv"):
        (tmp_path / name).write_bytes((config.FLEET_DIR / name).read_bytes())
    write_csv(tmp_path / "vehicles_a.csv", GOOD_ROWS)
    write_csv(tmp_path / "vehicles_b.csv", [V("A2", "taxi", "BEV", "2019-05-06"), V("A3", "bus", "BEV", "2019-05-06")])
    records = fleet.load_records(tmp_path, today=TODAY)
    assert sorted(records.vehicles["vehicle_id"]) == ["A1", "A2", "A3"]
    assert [(Path(i.file).name, i.row, i.field) for i in records.quarantine] == [("vehicles_b.csv", 2, "vehicle_id")]
    assert "vehicles_a.csv row 3" in records.quarantine[0].reason
    assert records.activity.empty
    assert fleet.indicators(records.vehicles, records.activity, year=2020).to_dict()["operating_co2_t"] is None


# ------------------------------------------------------------------------------------- property tests

_ID_CHARS = string.ascii_letters + string.digits + "-_汕尾陆丰海河城区粤"
#: Text for corrupted values: printable, encodable in GBK, no line breaks (csv quoting is not under test here).
_JUNK = st.text(string.ascii_letters + string.digits + string.punctuation + " 汕尾粤中文", min_size=0, max_size=8)
_FIELDS = COLUMNS[:7]


@st.composite
def valid_rows(draw, n_min=1, n_max=12):
    n = draw(st.integers(n_min, n_max))
    rows = []
    for i in range(n):
        registered = draw(st.dates(min_value=date(1990, 1, 1), max_value=TODAY))
        gap = draw(st.one_of(st.none(), st.integers(0, 9000)))
        deregistered = "" if gap is None else min(registered + timedelta(days=gap), TODAY).isoformat()
        rows.append({
            "vehicle_id": f"{i}-" + draw(st.text(_ID_CHARS, min_size=0, max_size=8)),
            "vehicle_class": draw(st.sampled_from(fleet.VEHICLE_CLASSES)),
            "powertrain": draw(st.sampled_from(fleet.POWERTRAINS)),
            "registered_on": registered.isoformat(),
            "deregistered_on": deregistered,
            "county_code": draw(st.sampled_from(sorted(config.SHANWEI_COUNTIES))),
            "is_operating": draw(st.sampled_from(["true", "false", "1", "0", "TRUE", "是", "否", "no"])),
        })
    return rows


def _corrupt(draw, row: dict, field: str) -> str:
    if field == "vehicle_id":
        return draw(st.sampled_from(["", " " + row["vehicle_id"], row["vehicle_id"] + "\t"]))
    if field == "vehicle_class":
        return draw(_JUNK.filter(lambda t: t not in fleet.VEHICLE_CLASSES))
    if field == "powertrain":
        return draw(_JUNK.filter(lambda t: t not in fleet.POWERTRAINS))
    if field == "registered_on":
        return draw(st.sampled_from(["", "2021/01/02", "20210102", "2021-02-29", "2021-13-01", "1899-12-31",
                                     (TODAY + timedelta(days=1)).isoformat(), "yesterday"]))
    if field == "deregistered_on":
        before = date.fromisoformat(row["registered_on"]) - timedelta(days=draw(st.integers(1, 3000)))
        return draw(st.sampled_from([before.isoformat(), "2021-1-2", "n/a"]))
    if field == "county_code":
        return draw(st.text(string.digits, min_size=0, max_size=7).filter(lambda t: t not in config.SHANWEI_COUNTIES))
    readable = {"true", "false", "1", "0", "yes", "no", "y", "n", "是", "否"}
    return draw(_JUNK.filter(lambda t: t.lower() not in readable))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=valid_rows())
def test_property_valid_rows_always_pass_and_round_trip(rows) -> None:
    frame = pd.DataFrame(rows, columns=_FIELDS)
    good, issues = fleet.validate_vehicles(frame, known_counties=SHANWEI, source="p.csv", today=TODAY)
    assert issues == [] and list(good["vehicle_id"]) == [r["vehicle_id"] for r in rows]
    again, issues_again = fleet.validate_vehicles(good.reset_index(drop=True), known_counties=SHANWEI, source="p2", today=TODAY)
    assert issues_again == []  # typed values (datetimes, NaT, bools) read back as the same vehicles
    pd.testing.assert_frame_equal(again.reset_index(drop=True), good.reset_index(drop=True))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_one_corrupted_field_quarantines_that_row_naming_that_field(data) -> None:
    rows = data.draw(valid_rows())
    target = data.draw(st.integers(0, len(rows) - 1))
    field = data.draw(st.sampled_from(_FIELDS))
    rows[target][field] = _corrupt(data.draw, rows[target], field)
    good, issues = fleet.validate_vehicles(pd.DataFrame(rows, columns=_FIELDS), known_counties=SHANWEI, source="p.csv", today=TODAY)
    assert [(i.row, i.field) for i in issues] == [(target + 2, field)]
    assert issues[0].value == rows[target][field][:200] and issues[0].file == "p.csv" and issues[0].reason
    assert len(good) == len(rows) - 1 and target + 2 not in good.index


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_property_good_plus_quarantined_is_every_row_of_a_file(tmp_path, data, encoding) -> None:
    rows = data.draw(valid_rows(n_min=1, n_max=25))
    bad = data.draw(st.sets(st.integers(0, len(rows) - 1)))
    for i in bad:
        field = data.draw(st.sampled_from(_FIELDS))
        rows[i][field] = _corrupt(data.draw, rows[i], field)
    path = write_csv(tmp_path / f"p-{encoding}.csv", [[r[f] for f in _FIELDS] for r in rows], header=_FIELDS,
                     encoding=encoding)
    frame = fleet.read_vehicle_file(path)
    good, issues = fleet.validate_vehicles(frame, known_counties=SHANWEI, source=str(path), today=TODAY)
    quarantined = {i.row for i in issues}
    assert quarantined == {i + 2 for i in bad}
    assert len(good) + len(quarantined) == len(rows)
    assert set(good.index).isdisjoint(quarantined)
    assert not math.isnan(float(np.sum(good.index)))  # every kept row carries its line number


def test_dataset_file_says_whether_records_are_synthetic(tmp_path) -> None:
    from planner.errors import InputFileError

    assert fleet.dataset_is_synthetic(config.FLEET_DIR) is True
    assert fleet.dataset_is_synthetic(tmp_path) is None
    (tmp_path / fleet.DATASET_FILE).write_text("synthetic = false\n", encoding="utf-8")
    assert fleet.dataset_is_synthetic(tmp_path) is False
    (tmp_path / fleet.DATASET_FILE).write_text('synthetic = "maybe"\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="dataset.toml"):
        fleet.dataset_is_synthetic(tmp_path)


@pytest.mark.parametrize("command", ["indicators", "targets"])
def test_cli_refuses_a_year_outside_the_records_naming_the_flag(command, capsys) -> None:
    assert main(["fleet", command, "--year", "2040", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"evplan fleet {command}: error: --year 2040 is outside the records, which span 2015-2025" in captured.err
