"""Targets: the targets file, the projections, the status rules and the gaps, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from support.fleet import tiny_fleet

from planner import config
from planner.errors import InputFileError, RecordError
from planner.fleet import assessment, targets, trend
from planner.fleet.indicators import FleetSeries

ROOT = Path(__file__).resolve().parents[1]
TARGETS_FILE = ROOT / "data" / "fleet" / "targets.toml"
PLAN_TEXT = ROOT / "docs" / "plan" / "shanwei-carbon-peak-plan-2023.md"


def assess_series(series: FleetSeries, targets_: list) -> list[dict]:
    """The assessments in their JSON form (what the API and the report carry)."""
    return [a.to_dict() for a in assessment.assess_series(series, targets_)]


def assess_targets(records, **options) -> list[dict]:
    return [a.to_dict() for a in assessment.assess_targets(records, **options)]


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_target(**overrides) -> targets.Target:
    base = dict(id="t", indicator="ev_new_passenger_car_share", kind="flow share", value=0.30, comparison=">=",
                year=2030, scope="city", clause="21", document="汕府〔2023〕31号", quote_zh="…", gloss_en="…")
    return targets.Target(**(base | overrides))


def share_series(indicator: str, years, numerators, denominators, *, year: int | None = None,
                 counties: dict[str, tuple] | None = None) -> FleetSeries:
    """A FleetSeries built by hand: city counts and, optionally, counts per county."""
    num, den = targets.SHARE_COUNTS[indicator]
    city = pd.DataFrame({"year": list(years), num: list(numerators), den: list(denominators)})
    rows = []
    for code, (c_num, c_den) in (counties or {}).items():
        rows += [{"year": y, "county": code, num: a, den: b} for y, a, b in zip(years, c_num, c_den, strict=True)]
    return FleetSeries(years=tuple(years), city=city, counties=pd.DataFrame(rows),
                       county_names={c: f"county {c}" for c in counties or {}}).up_to(year)


def independent_projection(years, x, n, at_year: int, level: float = 0.8) -> tuple[float, float, float]:
    """The logistic projection recomputed with numpy.polyfit (weights = 1/sigma of the empirical logit)."""
    x, n, yrs = np.asarray(x, float), np.asarray(n, float), np.asarray(years, float)
    z = np.log((x + 0.5) / (n - x + 0.5))
    sigma = np.sqrt(1 / (x + 0.5) + 1 / (n - x + 0.5))
    coef, cov = np.polyfit(yrs, z, 1, w=1 / sigma, cov="unscaled")
    dof = len(yrs) - 2
    chi2 = np.sum(((z - np.polyval(coef, yrs)) / sigma) ** 2) / dof
    cov = cov * max(chi2, 1.0)
    g = np.array([at_year, 1.0])
    eta, se = np.polyval(coef, at_year), math.sqrt(g @ cov @ g)
    t = stats.t.ppf(0.5 + level / 2, dof)
    return expit(eta), expit(eta - t * se), expit(eta + t * se)


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


def test_a_logistic_share_heading_past_its_target_is_on_track_with_the_projection_recomputed() -> None:
    years = list(range(2015, 2025))
    n = [4000 + 100 * i for i in range(len(years))]
    x = [round(m * expit(0.6 * (y - 2021))) for y, m in zip(years, n, strict=True)]
    target = make_target(value=0.95)
    [a] = assess_series(share_series("ev_new_passenger_car_share", years, x, n), [target])
    mid, low, high = independent_projection(years, x, n, 2030)
    assert a["projection"]["value"] == pytest.approx(mid, abs=1e-9)
    assert (a["projection"]["low"], a["projection"]["high"]) == pytest.approx((low, high), abs=1e-9)
    assert a["projection"]["value"] == pytest.approx(expit(0.6 * 9), abs=2e-3)  # the true curve in 2030
    assert a["latest_value"] == pytest.approx(x[-1] / n[-1]) and a["latest_year"] == 2024
    assert low > 0.95 and a["status"] == "on track"
    assert [p["year"] for p in a["projection_path"]] == list(range(2024, 2031))
    assert a["gap"]["vehicles_per_year"] == 0


def test_status_follows_where_the_target_lies_against_the_interval() -> None:
    rng = np.random.default_rng(7)
    years = list(range(2015, 2025))
    n = [2000] * len(years)
    x = [int(np.clip(round(2000 * expit(0.3 * (y - 2024) + rng.normal(0, 0.25))), 0, 2000)) for y in years]
    mid, low, high = independent_projection(years, x, n, 2030)
    assert high - low > 0.05  # a noisy series: a wide interval
    series = share_series("ev_new_passenger_car_share", years, x, n)
    cases = {
        "on track": low - 0.01,                # below the whole interval
        "at risk": (low + mid) / 2,            # projection meets it, the pessimistic end does not
        "at risk ": (mid + high) / 2,          # projection misses it, the optimistic end meets it
        "off track": min(high + 0.01, 1.0),    # above the whole interval
    }
    assert max(v / c for v, c in zip(x[-1:], n[-1:], strict=True)) < cases["on track"]  # none met yet
    for expected, value in cases.items():
        [a] = assess_series(series, [make_target(value=value)])
        assert a["status"] == expected.strip(), (expected, value, a["status_reason"])


def test_a_flat_series_below_target_is_off_track_and_its_gap_is_computed_by_hand() -> None:
    years = list(range(2015, 2025))
    n = [1000] * 7 + [900, 1000, 1100]
    x = [round(0.2 * m) for m in n]
    [a] = assess_series(share_series("ev_new_passenger_car_share", years, x, n), [make_target(value=0.30)])
    assert a["status"] == "off track"
    assert a["projection"]["value"] == pytest.approx(0.2, abs=0.003)
    mean_additions = (900 + 1000 + 1100) / 3
    assert a["gap"]["vehicles_per_year"] == pytest.approx((0.30 - a["projection"]["value"]) * mean_additions)
    assert 95 < a["gap"]["vehicles_per_year"] < 105


def test_a_target_already_reached_is_met_and_about_counts_the_tolerance() -> None:
    years = list(range(2018, 2025))
    n = [1000] * len(years)
    series = share_series("ne_or_clean_new_vehicle_share", years, [100, 150, 200, 250, 300, 350, 390], n)
    about = make_target(indicator="ne_or_clean_new_vehicle_share", value=0.40, comparison="≈", tolerance=0.02)
    strict = make_target(indicator="ne_or_clean_new_vehicle_share", value=0.40)
    a_about, a_strict = assess_series(series, [about, strict])
    assert a_about["status"] == "met"  # 39 % is "about 40 %" with a 2-point tolerance
    assert a_strict["status"] != "met"


def test_after_the_target_year_the_observed_value_decides() -> None:
    years = list(range(2015, 2025))
    n = [100] * len(years)
    x = [10, 12, 15, 20, 26, 33, 41, 39, 45, 50]
    series = share_series("ne_taxi_share", years, x, n)
    missed = make_target(indicator="ne_taxi_share", kind="stock share", value=0.40, year=2022)
    reached = make_target(indicator="ne_taxi_share", kind="stock share", value=0.40, year=2021)
    a_missed, a_reached = assess_series(series, [missed, reached])
    assert a_missed["status"] == "off track" and a_missed["projection"]["value"] == pytest.approx(0.39)
    assert a_reached["status"] == "met"


def test_the_assessment_year_limits_the_data_used() -> None:
    years = list(range(2015, 2025))
    n = [1000] * len(years)
    x = [round(1000 * expit(0.5 * (y - 2022))) for y in years]
    full = share_series("ev_new_passenger_car_share", years, x, n)
    early = share_series("ev_new_passenger_car_share", years, x, n, year=2020)
    [a_full] = assess_series(full, [make_target()])
    [a_early] = assess_series(early, [make_target()])
    assert a_early["latest_year"] == 2020 and a_early["observed"][-1]["year"] == 2020
    assert a_early["projection"]["value"] == pytest.approx(independent_projection(years[:6], x[:6], n[:6], 2030)[0])
    assert a_full["latest_year"] == 2024


def test_stock_gap_is_the_vehicles_still_to_switch_over_the_years_left() -> None:
    years = [2021, 2022, 2023, 2024, 2025]
    series = share_series("ne_bus_share", years, [60, 70, 80, 90, 100], [120] * 5)
    bus = make_target(indicator="ne_bus_share", kind="stock share", value=1.0, year=2027)
    half = make_target(indicator="ne_bus_share", kind="stock share", value=0.9, year=2030)
    a_bus, a_half = assess_series(series, [bus, half])
    assert a_bus["gap"]["vehicles_total"] == 20 and a_bus["gap"]["years_left"] == 2
    assert a_bus["gap"]["vehicles_per_year"] == pytest.approx(10.0)
    assert a_half["gap"]["vehicles_total"] == 8  # ceil(0.9 * 120) - 100
    assert a_half["gap"]["vehicles_per_year"] == pytest.approx(8 / 5)


def test_a_stock_target_of_100_percent_is_reachable_by_the_projection() -> None:
    # 2 of 1,000 buses left in 2025 and falling fast: the logistic curve only nears 100 %, the fleet gets there
    years = list(range(2019, 2026))
    x = [700, 850, 930, 970, 990, 996, 998]
    [a] = assess_series(share_series("ne_bus_share", years, x, [1000] * 7),
                                [make_target(indicator="ne_bus_share", kind="stock share", value=1.0, year=2028)])
    assert a["projection"]["value"] < 1.0
    assert (1 - a["projection"]["value"]) * 1000 < 0.5
    assert a["status"] in ("on track", "at risk")


def test_fewer_than_three_years_gives_no_projection() -> None:
    [a] = assess_series(share_series("ev_new_passenger_car_share", [2023, 2024], [1, 2], [10, 10]),
                                [make_target()])
    assert a["status"] == "no data" and a["projection"] is None and a["latest_value"] == 0.2


def test_county_scope_takes_the_worst_county() -> None:
    years = list(range(2018, 2025))
    counties = {
        "A": ([20, 25, 30, 35, 40, 45, 48], [50] * 7),                 # heads to 100 %
        "B": ([10] * 7, [50] * 7),                                     # stuck at 20 %
        "C": ([0] * 7, [0] * 7),                                       # no buses at all
        "D": ([350, 560, 730, 850, 925, 962, 985], [1000] * 7),        # the big one, nearly there
    }
    city_x = [sum(c[0][i] for c in counties.values()) for i in range(7)]
    city_n = [sum(c[1][i] for c in counties.values()) for i in range(7)]
    series = share_series("ne_bus_share", years, city_x, city_n, counties=counties)
    target = make_target(indicator="ne_bus_share", kind="stock share", value=0.9, year=2030, scope="county")
    [a] = assess_series(series, [target])
    by_code = {c["county_code"]: c for c in a["counties"]}
    assert by_code["B"]["status"] == "off track" and by_code["C"]["status"] == "no data"
    assert by_code["A"]["status"] == "met" and by_code["D"]["status"] == "met"
    assert a["city_status"] == "met" and a["status"] == "off track"  # the city total hides county B
    assert "off track: county B" in a["status_reason"] and "no data: county C" in a["status_reason"]
    assert by_code["B"]["gap"]["vehicles_total"] == 35  # ceil(0.9 * 50) - 10
    assert by_code["B"]["gap"]["vehicles_per_year"] == pytest.approx(35 / 6)


def test_intensity_ratio_projects_a_log_linear_trend_against_the_baseline() -> None:
    years = list(range(2015, 2025))
    fast = 0.10 * np.exp(-0.02 * (np.array(years) - 2015))
    slow = 0.10 * np.exp(-0.005 * (np.array(years) - 2015))
    target = make_target(indicator="operating_co2_per_converted_turnover", kind="intensity ratio", value=-0.10,
                         comparison="<=", baseline_year=2020)
    turnover = 2.0e9
    for intensity, expected_change, expected_status in ((fast, math.exp(-0.2) - 1, "on track"),
                                                        (slow, math.exp(-0.05) - 1, "off track")):
        city = pd.DataFrame({"year": years, "operating_co2_per_converted_turnover": intensity,
                             "converted_turnover_tkm": turnover})
        series = FleetSeries(years=tuple(years), city=city, counties=pd.DataFrame(), county_names={})
        [a] = assess_series(series, [target])
        assert a["projection"]["value"] == pytest.approx(expected_change, abs=1e-9)
        assert a["latest_value"] == pytest.approx(intensity[-1] / intensity[5] - 1)
        assert a["status"] == expected_status, a["status_reason"]
        i_2030 = intensity[0] * math.exp(math.log(intensity[1] / intensity[0]) * 15)
        by_hand_t = max(0.0, i_2030 - 0.9 * intensity[5]) * turnover / 1000
        assert a["gap"]["co2_t"] == pytest.approx(by_hand_t, rel=1e-9)
    assert by_hand_t > 0  # the slow decline leaves CO2 to cut


def test_describe_lists_every_target_and_county() -> None:
    years = list(range(2018, 2025))
    series = share_series("ne_bus_share", years, [50, 60, 70, 80, 88, 94, 97], [100] * 7,
                          counties={"441523": ([20, 25, 30, 35, 40, 45, 48], [50] * 7)})
    series = series.with_county_names({"441523": "陆河县"})
    assessed = assessment.assess_series(series, [make_target(id="buses", indicator="ne_bus_share", kind="stock share",
                                                          value=1.0, year=2026, scope="county")])
    text = assessment.describe(assessed)
    assert "buses" in text and "441523 陆河县" in text and assessed[0].status in text
    assert "97.0 % (2024)" in text and "≥ 100 % by 2026" in text


# ------------------------------------------------------------------------------------ on fleet records


def test_gap_on_a_tiny_fleet_is_the_diesel_buses_left(tmp_path) -> None:
    records = tiny_fleet()
    bus = make_target(id="bus", indicator="ne_bus_share", kind="stock share", value=1.0, year=2026, scope="county")
    ts = targets.TargetSet(path="", plan={}, counties={"441502": "城区", "441521": "海丰县"}, targets=(bus,))
    [a] = assess_targets(records, year=2024, targets=ts)
    # end of 2024: 441502 has B2 (diesel), B3, B4, B5; 441521 has B7, B8 (B6 left on 31 Dec 2023)
    assert a["latest_count"] == {"numerator": 5, "denominator": 6}
    assert a["latest_value"] == pytest.approx(5 / 6)
    assert a["gap"]["vehicles_total"] == 1 and a["gap"]["vehicles_per_year"] == pytest.approx(0.5)
    by_code = {c["county_code"]: c for c in a["counties"]}
    assert by_code["441502"]["latest_count"] == {"numerator": 3, "denominator": 4}
    assert by_code["441521"]["status"] == "met" and by_code["441521"]["gap"]["vehicles_total"] == 0
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
        assert a["assessment_year"] == year
        if a["kind"] == "intensity ratio":
            assert a["latest_value"] == pytest.approx(ind["operating_co2_intensity_change_vs_2020"], abs=1e-9)
        else:
            assert a["latest_value"] == pytest.approx(ind[a["indicator"]], abs=1e-12)
            low, high = a["projection"]["low"], a["projection"]["high"]
            assert 0 <= low <= a["projection"]["value"] <= high <= 1
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
