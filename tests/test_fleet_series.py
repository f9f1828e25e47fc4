"""The fleet series computed once, and the one trend fit shared by the targets and the siting's EV shares."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from planner import config, fleet
from planner.errors import InputFileError, RecordError
from planner.fleet import assessment, report, trend

SHIPPED_TARGETS = fleet.load_target_set(config.TARGETS_FILE)


@pytest.fixture(scope="module")
def shipped_series(shanwei_records):
    return fleet.fleet_series(shanwei_records)


def test_the_series_is_the_indicators_of_every_year_and_county(shanwei_records, shipped_series) -> None:
    records = shanwei_records
    years = fleet.record_years(records)
    assert shipped_series.years == tuple(years) and shipped_series.assessment_year == years[-1]
    expected = fleet.indicator_series(records.vehicles, records.activity, years=years)
    pd.testing.assert_frame_equal(shipped_series.city, expected)
    for year in (years[0], 2020, years[-1]):
        one = fleet.indicators(records.vehicles, records.activity, year=year).scalars()
        assert shipped_series.city[shipped_series.city["year"] == year].iloc[0].to_dict() == pytest.approx(one)
        for code in records.counties:
            by_county = fleet.indicators(records.vehicles, records.activity, year=year, county=code).scalars()
            rows = shipped_series.counties
            row = rows[(rows["year"] == year) & (rows["county"] == code)].iloc[0].to_dict()
            assert {k: row[k] for k in by_county if by_county[k] is not None} == pytest.approx(
                {k: v for k, v in by_county.items() if v is not None})
    assert shipped_series.county_names == dict(sorted(records.counties.items()))
    assert fleet.ne_bus_share_by_year(series=shipped_series) == fleet.ne_bus_share_by_year(records.vehicles)


def test_a_series_passed_in_gives_the_same_assessment_and_report(shanwei_records, shipped_series) -> None:
    again = [a.to_dict() for a in fleet.assess_targets(shanwei_records, targets=SHIPPED_TARGETS)]
    passed = [a.to_dict() for a in fleet.assess_targets(shanwei_records, targets=SHIPPED_TARGETS,
                                                        series=shipped_series)]
    assert passed == again
    stamp = "2025-01-01T00:00:00+00:00"
    built = report.build_report(shanwei_records, targets=SHIPPED_TARGETS, generated_at=stamp)
    reused = report.build_report(shanwei_records, targets=SHIPPED_TARGETS, generated_at=stamp, series=shipped_series)
    assert (reused.html, reused.csv) == (built.html, built.csv)
    assert json.dumps(reused.figures) == json.dumps(built.figures)


def test_an_earlier_assessment_year_cuts_the_series_and_a_later_one_is_refused(shipped_series) -> None:
    cut = shipped_series.up_to(2020)
    assert cut.years[-1] == 2020 and cut.city["year"].max() == 2020 and cut.counties["year"].max() == 2020
    with pytest.raises(RecordError, match="outside the records, which span 2015-2025"):
        shipped_series.up_to(2040)


def test_typed_results_keep_the_json_shape(shanwei_records) -> None:
    ind = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=2024)
    assert isinstance(ind, fleet.Indicators) and ind.to_dict()["ne_bus_share"] == ind.ne_bus_share
    assert list(ind.to_dict())[:3] == ["year", "county", "vehicles_in_stock"]
    [first, *_] = fleet.assess_targets(shanwei_records, targets=SHIPPED_TARGETS)
    assert isinstance(first, fleet.Assessment) and first.status in (*assessment.STATUS_ORDER, assessment.NO_DATA)
    as_dict = first.to_dict()
    assert {"id", "status", "projection", "gap", "clause", "observed"} <= set(as_dict)
    depots = fleet.depot_energy_demand(shanwei_records, year=2025)
    assert {"depot_id", "daily_kwh", "grid_capacity_kw", "activity_year"} <= set(depots[0].to_dict())


def test_the_siting_keeps_its_trend_and_the_targets_project_the_stated_scenario() -> None:
    """The siting's EV shares still follow ``trend`` (its outputs are unchanged); the flow target's
    projection is the additions scenario: the NE share of the last 12 months continues."""
    from support.fleet import cars_with_ev_additions

    records = cars_with_ev_additions({2020: 1, 2021: 5, 2022: 9}, per_year=10)
    target = fleet.Target(id="ev", indicator="ev_new_passenger_car_share", kind="flow share", value=0.99,
                          comparison=">=", year=2024, scope="city", clause="21", document="…", quote_zh="…",
                          gloss_en="…")
    [a] = fleet.assess_targets(records, targets=[target])
    # the records end on 2022-06-01 (their last registration): the 12 complete months to 31 May 2022 hold
    # the 10 cars of 2021-06-01, 5 of them EVs; that share continues
    assert a.cutoff.date == pd.Timestamp("2022-06-01") and a.cutoff.flow_end == pd.Timestamp("2022-05-31")
    assert a.result.latest_value == pytest.approx(0.5) and a.result.projection.value == pytest.approx(0.5)
    assert a.status != "met"  # 2024 is not observed yet
    fit = trend.fit_logistic_share([2020, 2021, 2022], [1, 5, 9], [10, 10, 10])
    shares = fleet.ev_car_share_projection(records, years=[2023])
    assert shares[2023] == pytest.approx((15 + 10 * fit.value(2023)) / 40)


def test_no_city_is_assumed_for_a_directory_without_its_counties_or_targets(tmp_path) -> None:
    with pytest.raises(InputFileError, match="counties.csv"):
        fleet.load_counties(tmp_path)
    assert fleet.load_counties(tmp_path, default={"999999": "X"}) == {"999999": "X"}
    with pytest.raises(InputFileError, match="targets.toml"):
        fleet.targets_for(tmp_path)
    assert fleet.targets_for(tmp_path, default=config.TARGETS_FILE).path == str(config.TARGETS_FILE)
