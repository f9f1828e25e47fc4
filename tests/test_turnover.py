"""Stock turnover, survival, dates, levers and the hindcast intervals, checked on hand-made fleets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from support.fleet import Records

from planner import config, fleet
from planner.errors import RecordError
from planner.fleet import assessment, hindcast, survival, turnover


#: No retirement before the scrapping age: survival is 1 until the cap, so every count is countable by hand.
def flat(vclass: str, cap: float | None) -> survival.Survival:
    return survival.Survival(vclass, 1.0, 1e9, cap, 0, False)


def taxis(rows: list[tuple[str, str, str, str]]) -> Records:
    """Taxis (id, powertrain, registered, deregistered) in county 441502."""
    frame = pd.DataFrame(rows, columns=["vehicle_id", "powertrain", "registered_on", "deregistered_on"])
    frame["vehicle_class"] = "taxi"
    frame["county_code"] = "441502"
    frame["is_operating"] = True
    frame["registered_on"] = pd.to_datetime(frame["registered_on"])
    frame["deregistered_on"] = pd.to_datetime(frame["deregistered_on"].replace("", None))
    return Records(vehicles=frame, activity=pd.DataFrame({"year": pd.Series(dtype=int)}))


def all_ne_after(first_ne: str = "2021-01-15") -> Records:
    """Two petrol taxis (2019-03-15, 2020-06-01), one retired one; from 2021 one BEV taxi a month."""
    rows = [("P1", "petrol", "2019-03-15", ""), ("P2", "petrol", "2020-06-01", ""),
            ("P0", "petrol", "2018-02-01", "2021-03-01")]
    months = pd.date_range(first_ne, "2025-12-15", freq="MS") + pd.Timedelta(days=14)
    rows += [(f"E{i}", "BEV", d.date().isoformat(), "") for i, d in enumerate(months)]
    rows += [("LAST", "BEV", "2025-12-31", "")]
    return taxis(rows)


def taxi_target(year: int, value: float = 1.0) -> fleet.Target:
    return fleet.Target(id=f"taxi{year}", indicator="ne_taxi_share", kind="stock share", value=value, comparison=">=",
                        year=year, scope="city", clause="21", document="…", quote_zh="…", gloss_en="…")


def test_all_ne_additions_reach_100_percent_in_the_year_the_last_non_ne_reaches_its_scrapping_age() -> None:
    records = all_ne_after()
    curves = {"taxi": flat("taxi", 8.0)}
    out = turnover.project(records, years=range(2026, 2030), survival=curves)
    assert out.cutoff.date == pd.Timestamp("2025-12-31")
    additions = 12  # the last 12 complete months: one BEV taxi a month (and LAST on 31 Dec)
    assert out.window_additions[(None, "taxi")] == (additions + 1, additions + 1)
    in_service = 2 + 59 + 1  # P1, P2, the 59 monthly BEVs (15 Feb 2021 - 15 Dec 2025) and LAST
    for year, petrol_left in ((2026, 2), (2027, 1), (2028, 0)):  # P1 scraps 2027-03-15, P2 2028-06-01
        share = out.shares[("ne_taxi_share", None, year)]
        added = (additions + 1) * (year - 2025)  # all survive (flat curve), all NE
        assert share.denominator == pytest.approx(in_service - (2 - petrol_left) + added)
        assert share.denominator - share.numerator == pytest.approx(petrol_left)
    assert out.shares[("ne_taxi_share", None, 2027)].value < 1.0
    assert out.shares[("ne_taxi_share", None, 2028)].value == 1.0
    # in 2029 the BEVs of Feb-Dec 2021 reach 8 years too: the stock shrinks by them, still all NE
    assert out.shares[("ne_taxi_share", None, 2029)].denominator == pytest.approx(62 - 2 - 11 + 13 * 4, abs=1e-5)

    a2028, a2027 = fleet.assess_targets(records, targets=[taxi_target(2028), taxi_target(2027)], survival=curves)
    assert a2028.status == "on track" and a2028.result.gap.by_turnover
    assert a2028.result.gap.last_non_ne_retires_on == "2028-06-01"
    assert "natural turnover" in a2028.status_reason
    assert a2027.status != "met" and not a2027.result.gap.by_turnover  # P2 is still in service in 2027
    # the lever by hand: at the end of 2027, 60 NE and 1 petrol taxi of today's stock + 26 additions; within
    # half a vehicle of 100 % the additions would have to be more than all NE: one petrol taxi must retire early
    total = 60 + 1 + 26
    assert a2027.result.gap.ne_share_of_additions_needed == pytest.approx(
        min(1.0, ((1.0 - 0.5 / total) * total - 60) / 26), abs=1e-6)
    assert a2027.result.gap.early_retirements_needed == 1


def test_a_target_year_not_yet_observed_is_never_met() -> None:
    records = all_ne_after()
    curves = {"taxi": flat("taxi", 8.0)}
    low = taxi_target(2027, value=0.5)  # already 97 % NE today
    [a] = fleet.assess_targets(records, targets=[low], survival=curves)
    assert a.result.latest_value > 0.5 and a.status == "on track"
    [past] = fleet.assess_targets(records, targets=[taxi_target(2024, value=0.5)], survival=curves)
    assert past.status == "met"  # 2024 was observed


def test_flows_are_rolling_12_months_to_the_last_complete_month() -> None:
    rows = [(f"C{i}", "BEV" if i % 4 == 0 else "petrol", d.date().isoformat(), "")
            for i, d in enumerate(pd.date_range("2023-01-10", "2025-06-15", freq="7D"))]
    frame = pd.DataFrame(rows, columns=["vehicle_id", "powertrain", "registered_on", "deregistered_on"])
    frame = frame.assign(vehicle_class="passenger_car", county_code="441521", is_operating=False)
    frame["registered_on"] = pd.to_datetime(frame["registered_on"])
    frame["deregistered_on"] = pd.NaT
    records = Records(vehicles=frame, activity=pd.DataFrame({"year": pd.Series(dtype=int)}))
    cut = turnover.Cutoff.of_records(records)
    assert cut.date == frame["registered_on"].max()
    assert (cut.flow_start, cut.flow_end) == (pd.Timestamp("2024-06-01"), pd.Timestamp("2025-05-31"))
    window = frame[(frame["registered_on"] >= "2024-06-01") & (frame["registered_on"] <= "2025-05-31")]
    target = fleet.Target(id="ev", indicator="ev_new_passenger_car_share", kind="flow share", value=0.9,
                          comparison=">=", year=2030, scope="city", clause="21", document="…", quote_zh="…",
                          gloss_en="…")
    [a] = fleet.assess_targets(records, targets=[target])
    assert a.result.latest_count.denominator == len(window)
    assert a.result.latest_count.numerator == int((window["powertrain"] == "BEV").sum())
    assert "2025-05-31" in fleet.describe([a])
    # the lever: (90 % − projected) × additions per year, the projection being the window's share
    share = a.result.latest_count.numerator / len(window)
    assert a.result.projection.value == pytest.approx(share)
    assert a.result.gap.vehicles_per_year == pytest.approx((0.9 - share) * len(window))


def test_survival_fit_recovers_a_known_weibull_and_its_cap() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    reg = pd.Timestamp("2005-01-01") + pd.to_timedelta(rng.integers(0, 20 * 365, n), unit="D")
    life = 6.0 * rng.weibull(2.5, n)  # scale 6 y, shape 2.5
    life = np.minimum(life, 8.0 - rng.random(n) * 0.1)  # the 8-year cap retires the rest
    dereg = reg + pd.to_timedelta(life * 365.25, unit="D")
    frame = pd.DataFrame({"vehicle_class": "taxi", "registered_on": reg, "deregistered_on": dereg})
    cut = pd.Timestamp("2025-12-31")
    frame.loc[frame["deregistered_on"] > cut, "deregistered_on"] = pd.NaT
    frame = frame[~(frame["deregistered_on"] < "2015-01-01")]  # an extract lists vehicles in service since 2015
    [fit] = survival.fit_survival(frame, cutoff=cut, records_start=pd.Timestamp("2015-01-01")).values()
    assert fit.fitted and fit.cap_years == 8.0
    assert fit.shape == pytest.approx(2.5, rel=0.08) and fit.scale_years == pytest.approx(6.0, rel=0.05)
    assert fit.survival(8.0) == 0.0 and fit.survival(3.0) == pytest.approx(math.exp(-(3 / fit.scale_years) ** fit.shape))


def test_a_scenario_path_changes_the_additions_and_bad_paths_are_refused() -> None:
    records = all_ne_after()
    curves = {"taxi": flat("taxi", 8.0)}
    half = turnover.AdditionsScenario({"taxi": {2026: 0.5}}, name="half NE")
    out = turnover.project(records, years=[2027], survival=curves, scenario=half)
    flows = out.shares[("ne_or_clean_new_vehicle_share", None, 2027)]
    assert flows.value == pytest.approx(0.5, abs=1e-9)  # flat at 50 % after mid-2026
    with pytest.raises(ValueError, match="taxi.*2026.*1.5"):
        turnover.AdditionsScenario({"taxi": {2026: 1.5}})


def test_records_at_a_past_cutoff_forget_what_came_later() -> None:
    records = all_ne_after()
    past = turnover.records_at(records, turnover.Cutoff.at("2021-02-01"))
    assert past.vehicles["registered_on"].max() <= pd.Timestamp("2021-02-01")
    assert past.vehicles.set_index("vehicle_id").loc["P0", "deregistered_on"] is pd.NaT  # retired on 2021-03-01


# ---------------------------------------------------------------------------------- on shipped records


@pytest.fixture(scope="module")
def shipped(shanwei_records):
    targets = fleet.load_target_set(config.TARGETS_FILE)
    return {a.id: a for a in fleet.assess_targets(shanwei_records, targets=targets)}


def test_the_hindcast_puts_about_80_percent_of_cases_inside_the_80_percent_interval(shanwei_records) -> None:
    hc = hindcast.run_hindcast(shanwei_records)
    cov = hc.coverage(fit_to=2021, project_to=2025)
    assert cov.cases == 25  # 5 indicators × (city + 4 counties)
    assert 0.7 <= cov.share <= 0.95, cov.inside
    for e, inside in cov.detail:  # recomputed from the raw errors observed by 2021
        scaled = sorted(x.error / x.horizon_years for x in hc.errors
                        if x.year <= 2021 and hindcast.POOL[x.indicator] == hindcast.POOL[e.indicator])
        lo, hi = np.quantile(scaled, [0.1, 0.9])
        assert inside == (lo * e.horizon_years <= e.error <= hi * e.horizon_years)
    assert all(e.year <= 2025 and e.origin < e.year for e in hc.errors)


def test_the_shipped_taxi_row_reads_met_by_turnover(shanwei_records, shipped) -> None:
    taxi = shipped["ne_taxi_share_2030"]
    v = shanwei_records.vehicles
    left = v[(v["vehicle_class"] == "taxi") & v["deregistered_on"].isna() & ~v["powertrain"].isin(["BEV", "PHEV", "FCEV"])]
    last = (left["registered_on"] + pd.DateOffset(years=8)).max()
    assert len(left) == 22 and last == pd.Timestamp("2030-11-20")
    assert taxi.status == "on track" and taxi.result.gap.by_turnover
    assert taxi.result.gap.last_non_ne_retires_on == "2030-11-20"
    assert taxi.to_dict()["operators_to_switch"] and sum(o.vehicles for o in taxi.operators) == 22
    bus = shipped["ne_bus_share_2025"]
    assert bus.status == "off track" and bus.result.gap.vehicles_total == 4  # 2025 observed: 4 non-NE buses left
    for a in shipped.values():
        assert a.cutoff.date == pd.Timestamp("2025-12-31")
        if a.target.year > 2025:
            assert a.status != "met"


def test_bad_grid_factor_rows_name_file_row_and_field(tmp_path) -> None:
    (tmp_path / "grid_factors.csv").write_text("year,kg_co2_per_kwh,basis,source\n2020,0.5,x,y\n2021,-1,x,y\n",
                                               encoding="utf-8")
    with pytest.raises(RecordError, match=r"grid_factors.csv, row 3, field kg_co2_per_kwh"):
        fleet.load_grid_factors(tmp_path)


def test_an_assessment_year_outside_the_records_is_refused(shanwei_records) -> None:
    with pytest.raises(RecordError, match="outside the records"):
        fleet.assess_targets(shanwei_records, targets=[taxi_target(2030)], year=2040)
    [a] = fleet.assess_targets(shanwei_records, targets=[taxi_target(2030)], year=2021)
    assert a.cutoff.date == pd.Timestamp("2021-12-31") and a.result.latest_count.denominator == 235
    assert assessment.STATUS_ORDER.index(a.status) >= 1
