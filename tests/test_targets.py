"""Targets: the targets file, the projections, the status rules and the gaps, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.fleet import tiny_fleet

from planner import config
from planner.errors import InputFileError, RecordError
from planner.fleet import assessment, targets, trend

ROOT = Path(__file__).resolve().parents[1]
TARGETS_FILE = ROOT / "data" / "fleet" / "targets.toml"
PLAN_TEXT = ROOT / "docs" / "plan" / "shanwei-carbon-peak-plan-2023.md"


def assess_targets(records, **options) -> list[dict]:
    return [a.to_dict() for a in assessment.assess_targets(records, **options)]


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_target(**overrides) -> targets.Target:
    base = dict(id="t", indicator="ev_new_passenger_car_share", kind="flow share", value=0.30, comparison=">=",
                year=2030, scope="city", clause="21", document="汕府〔2023〕31号", quote_zh="…", gloss_en="…")
    return targets.Target(**(base | overrides))


# -------------------------------------------------------------------------------------- targets file


def test_shipped_targets_quote_the_plan_verbatim() -> None:
    loaded = targets.load_target_set(TARGETS_FILE)
    plan = PLAN_TEXT.read_text(encoding="utf-8")
    assert {t.indicator for t in loaded.targets} == set(targets.INDICATOR_KINDS)
    for t in loaded.targets:
        assert t.quote_zh in plan, t.id
        assert t.document == "汕府〔2023〕31号" and t.clause == "21"
        assert t.kind == targets.INDICATOR_KINDS[t.indicator]
    by_indicator = {t.indicator: t for t in loaded.targets}
    bus = by_indicator["ne_bus_share"]
    assert (bus.value, bus.comparison, bus.year, bus.scope) == (1.0, ">=", 2025, "county")
    new = by_indicator["ne_or_clean_new_vehicle_share"]
    assert (new.value, new.comparison, new.year) == (0.40, "≈", 2030) and new.threshold == pytest.approx(0.38)
    assert by_indicator["ev_new_passenger_car_share"].value == 0.30
    co2 = by_indicator["operating_co2_per_converted_turnover"]
    assert (co2.value, co2.comparison, co2.baseline_year, co2.year) == (-0.10, "<=", 2020, 2030)
    assert set(loaded.counties) == {"441502", "441521", "441523", "441581"}
    assert all(n["quote_zh"] in plan for n in loaded.not_assessed)
    assert config.TARGETS_FILE == config.FLEET_DIR / "targets.toml"


def _edited(tmp_path, old: str, new: str, *, count: int = 1):
    text = TARGETS_FILE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "targets.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old,new,target_id,field_name,phrase",
    [
        ('comparison = ">="', 'comparison = "=>"', "ne_bus_share_2025", "comparison", "one of '>=', '≈', '<='"),
        ('indicator = "ne_bus_share"', 'indicator = "bus_share"', "ne_bus_share_2025", "indicator", "one of"),
        ('kind = "stock share"', 'kind = "flow share"', "ne_bus_share_2025", "kind", "'stock share'"),
        ("value = 1.0", "value = 100", "ne_bus_share_2025", "value", "between 0 and 1"),
        ("year = 2025", 'year = "2025"', "ne_bus_share_2025", "year", "an integer"),
        ('scope = "county"', 'scope = "province"', "ne_bus_share_2025", "scope", "'city' or 'county'"),
        ("tolerance = 0.02\n", "", "ne_or_clean_new_vehicle_share_2030", "tolerance", "about"),
        ("baseline_year = 2020\n", "", "operating_co2_intensity_2030", "baseline_year", "measured against"),
        ("baseline_year = 2020", "baseline_year = 2031", "operating_co2_intensity_2030", "baseline_year", "before"),
        ('clause = "21"', "clause = 21", "ne_bus_share_2025", "clause", "a string"),
        ('gloss_en = "Push new-energy buses and taxis to cover city and countryside; by',
         'gloss_english = "Push new-energy buses and taxis to cover city and countryside; by',
         "ne_bus_share_2025", "gloss_english", "only the fields"),
    ],
)
def test_a_bad_target_names_file_target_field_and_what_was_expected(tmp_path, old, new, target_id, field_name,
                                                                      phrase) -> None:
    path = _edited(tmp_path, old, new)
    with pytest.raises(InputFileError) as info:
        targets.load_targets(path)
    message = str(info.value)
    assert str(path) in message and target_id in message and field_name in message, message
    assert "expected" in message and phrase in message, message


def test_unreadable_targets_files_are_clear_errors(tmp_path) -> None:
    with pytest.raises(InputFileError, match="file not found"):
        targets.load_targets(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[targets.x\nvalue = ", encoding="utf-8")
    with pytest.raises(InputFileError, match="valid TOML"):
        targets.load_targets(broken)
    empty = tmp_path / "empty.toml"
    empty.write_text('[plan]\ncity = "X"\n', encoding="utf-8")
    with pytest.raises(InputFileError, match=r"at least one \[targets.<id>\] table"):
        targets.load_targets(empty)


def test_another_city_swaps_in_its_own_file(tmp_path) -> None:
    path = tmp_path / "city.toml"
    path.write_text(
        '[plan]\ncity = "Elsewhere"\n[counties]\n"999001" = "North"\n'
        '[targets.buses]\nindicator = "ne_bus_share"\nkind = "stock share"\nvalue = 0.5\ncomparison = ">="\n'
        'year = 2028\nscope = "city"\nclause = "7"\ndocument = "Doc 1"\nquote_zh = "公交"\ngloss_en = "buses"\n',
        encoding="utf-8")
    loaded = targets.load_target_set(path)
    assert [t.id for t in loaded.targets] == ["buses"] and loaded.counties == {"999001": "North"}
    assert loaded.targets[0].value == 0.5 and loaded.targets[0].year == 2028


# ----------------------------------------------------------------------------------------- projections


def test_logistic_fit_recovers_an_exact_logistic_curve_and_projects_it() -> None:
    years = np.arange(2015, 2025)
    n = np.full(len(years), 50_000)
    x = np.round(n * np.array([expit(0.55 * (y - 2021.5)) for y in years]))
    fit = trend.fit_logistic_share(years, x, n)
    assert fit.slope == pytest.approx(0.55, abs=0.005)
    assert fit.year0 - fit.intercept / fit.slope == pytest.approx(2021.5, abs=0.02)  # the curve's midpoint
    mid, low, high = fit.band(2030)
    assert mid == pytest.approx(expit(0.55 * 8.5), abs=1e-3)
    assert low <= expit(0.55 * 8.5) <= high and high - low < 0.01


def test_loglinear_fit_recovers_an_exact_decline() -> None:
    years = np.arange(2015, 2025)
    values = 0.12 * np.exp(-0.03 * (years - 2015))
    fit = trend.fit_loglinear(years, values)
    assert fit.slope == pytest.approx(-0.03, abs=1e-9)
    assert fit.band(2030)[0] == pytest.approx(0.12 * math.exp(-0.45), rel=1e-9)


def test_a_trend_needs_three_years() -> None:
    with pytest.raises(ValueError, match="3 years"):
        trend.fit_logistic_share([2023, 2024, 2025], [1, 2, 3], [10, 0, 10])


# ------------------------------------------------------------------------------------------ statuses


def _projection(value: float, low: float, high: float) -> assessment.Projection:
    return assessment.Projection(2030, value, low, high, 0.8, "test")


def test_status_follows_where_the_target_lies_against_the_prediction_interval() -> None:
    mid, low, high = 0.40, 0.30, 0.55
    cases = {"on track": (0.29, "interval_meets"), "at risk": (0.35, "pessimistic_misses"),
             "at risk ": (0.50, "target_inside"), "off track": (0.56, "interval_misses")}
    for expected, (value, case) in cases.items():
        status, reason, got_case = assessment._status(make_target(value=value), _projection(mid, low, high), 0.0,
                                                      fmt=assessment.format_percent)
        assert status == expected.strip() and got_case == case, (value, reason)
        assert got_case in assessment.REASON_CASES
    # "at most" targets: the high end is the pessimistic one
    co2 = make_target(indicator="operating_co2_per_converted_turnover", kind="intensity ratio", value=-0.10,
                      comparison="<=", baseline_year=2020)
    assert assessment._status(co2, _projection(-0.15, -0.20, -0.11), 0.0, fmt=assessment.format_percent)[0] == "on track"
    assert assessment._status(co2, _projection(-0.12, -0.20, -0.05), 0.0, fmt=assessment.format_percent)[0] == "at risk"
    # half a vehicle of slack: 99.96 % of 1,000 buses counts as 100 %
    bus = make_target(indicator="ne_bus_share", kind="stock share", value=1.0)
    assert assessment._status(bus, _projection(0.9996, 0.9996, 1.0), 0.5 / 1000, fmt=assessment.format_percent)[0] \
        == "on track"


def test_describe_states_the_data_cutoff_and_lists_every_county() -> None:
    records = tiny_fleet()
    bus = make_target(id="buses", indicator="ne_bus_share", kind="stock share", value=1.0, year=2026, scope="county")
    ts = targets.TargetSet(path="", plan={}, counties={"441502": "城区", "441521": "海丰县"}, targets=(bus,))
    assessed = assessment.assess_targets(records, targets=ts)
    text = assessment.describe(assessed)
    assert "buses" in text and "441502 城区" in text and assessed[0].status in text
    assert "data to 2024-12-31" in text and "≥ 100 % by 2026" in text


# ------------------------------------------------------------------------------------ on fleet records


def test_gap_on_a_tiny_fleet_is_the_diesel_buses_left(tmp_path) -> None:
    records = tiny_fleet()
    bus = make_target(id="bus", indicator="ne_bus_share", kind="stock share", value=1.0, year=2026, scope="county")
    ts = targets.TargetSet(path="", plan={}, counties={"441502": "城区", "441521": "海丰县"}, targets=(bus,))
    [a] = assess_targets(records, year=2024, targets=ts)
    # end of 2024: 441502 has B2 (diesel), B3, B4, B5; 441521 has B7, B8 (B6 left on 31 Dec 2023)
    assert a["data_cutoff"]["date"] == "2024-12-31"
    assert a["latest_count"] == {"numerator": 5, "denominator": 6}
    assert a["latest_value"] == pytest.approx(5 / 6)
    # the lever: B2 (diesel, 2016-03-01) reaches the 13-year bus age on 2029-03-01, after the target year
    assert a["gap"]["vehicles_total"] == 1 and a["gap"]["last_non_ne_retires_on"] == "2029-03-01"
    assert not a["gap"]["by_turnover"] and a["status"] != "met"
    assert a["operators_to_switch"] == [{"operator": "(operator not recorded)", "county_code": "441502", "vehicles": 1,
                                         "last_scrapping_on": "2029-03-01"}]
    by_code = {c["county_code"]: c for c in a["counties"]}
    assert by_code["441502"]["latest_count"] == {"numerator": 3, "denominator": 4}
    assert by_code["441521"]["status"] == "on track" and by_code["441521"]["gap"]["vehicles_total"] == 0
    # the records start in 2022, the first year with a deregistration (an extract lacks vehicles gone before)
    assert [o["year"] for o in by_code["441521"]["observed"]] == [2022, 2023, 2024]
    assert [o["value"] for o in by_code["441521"]["observed"]] == pytest.approx([0.5, 1.0, 1.0])
    with pytest.raises(RecordError, match="outside the records"):
        assess_targets(records, year=2031, targets=ts)


# ---------------------------------------------------------------------------------- on shipped records


@pytest.fixture(scope="module")
def shipped_assessed(shanwei_records):
    return assess_targets(shanwei_records, targets=targets.load_target_set(config.TARGETS_FILE))


def test_shipped_records_assessed_against_every_target(shanwei_records, shipped_assessed) -> None:
    from planner import fleet

    loaded = targets.load_targets(config.TARGETS_FILE)
    assert [a["id"] for a in shipped_assessed] == [t.id for t in loaded]
    year = fleet.record_years(shanwei_records)[-1]
    ind = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=year).to_dict()
    for a in shipped_assessed:
        assert a["status"] in assessment.STATUS_ORDER, a
        assert a["data_cutoff"] == {"date": "2025-12-31", "flow_start": "2025-01-01", "flow_end": "2025-12-31"}
        assert a["assessment_year"] == year
        if a["kind"] == "intensity ratio":
            assert a["latest_value"] == pytest.approx(ind["operating_co2_intensity_change_vs_2020"], abs=1e-9)
        else:
            assert a["latest_value"] == pytest.approx(ind[a["indicator"]], abs=1e-12)
            low, high = a["projection"]["low"], a["projection"]["high"]
            assert 0 <= low <= high <= 1 and 0 <= a["projection"]["value"] <= 1
    bus = next(a for a in shipped_assessed if a["indicator"] == "ne_bus_share")
    assert {c["county_code"] for c in bus["counties"]} >= {"441502", "441521", "441523", "441581"}
    for c in bus["counties"]:
        by_county = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=year,
                                     county=c["county_code"]).to_dict()
        assert c["latest_value"] == pytest.approx(by_county["ne_bus_share"])


def test_shipped_bus_gap_counts_the_non_ne_buses_in_service(shanwei_records, shipped_assessed) -> None:
    from planner import fleet

    v = shanwei_records.vehicles
    year = fleet.record_years(shanwei_records)[-1]
    end = pd.Timestamp(year=year, month=12, day=31)
    registered = pd.to_datetime(v["registered_on"])
    deregistered = pd.to_datetime(v["deregistered_on"])
    in_service = (registered <= end) & ~(deregistered <= end)
    buses = v[in_service & v["vehicle_class"].eq("bus")]
    non_ne = int((~buses["powertrain"].isin(["BEV", "PHEV", "FCEV"])).sum())
    bus = next(a for a in shipped_assessed if a["indicator"] == "ne_bus_share")
    assert bus["latest_count"]["denominator"] == len(buses)
    assert bus["gap"]["vehicles_total"] == non_ne


def test_a_records_directory_with_its_own_targets_file_is_assessed_against_it(tmp_path, capsys) -> None:
    """Another city puts its targets.toml beside its records; every command reads that one."""
    import json
    import shutil

    from cli.main import main
    from planner import config

    city = tmp_path / "city"
    shutil.copytree(config.FLEET_DIR, city)
    text = (city / "targets.toml").read_text(encoding="utf-8")
    (city / "targets.toml").write_text(text.replace("value = 0.30", "value = 0.95", 1), encoding="utf-8")
    own = {t.id: t.value for t in targets.targets_for(city).targets}
    assert own["ev_new_passenger_car_share_2030"] == 0.95
    shipped = {t.id: t.value for t in targets.targets_for(tmp_path, default=config.TARGETS_FILE).targets}  # none there: the default
    assert shipped["ev_new_passenger_car_share_2030"] == 0.30

    assert main(["fleet", "targets", "--fleet-dir", str(city), "--json"]) == 0
    assessed = {a["id"]: a for a in json.loads(capsys.readouterr().out)}
    assert assessed["ev_new_passenger_car_share_2030"]["target_value"] == 0.95
    assert assessed["ev_new_passenger_car_share_2030"]["status"] != "met"  # 44 % of new cars is not 95 %
