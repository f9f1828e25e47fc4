"""The grouped stock-turnover projection equals a vehicle-by-vehicle computation on a small random fleet.

``turnover.project`` evaluates survival once per registration-day cohort of a class and counts the stock
per (county, class, powertrain) group; here every figure it gives for the stock is recomputed by walking
the vehicles one at a time, and the fitted curves by fitting each class on its own rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from support.fleet import Records

from planner.errors import RecordError
from planner.fleet import survival, turnover
from planner.fleet.schema import NE_POWERTRAINS

COUNTIES = ("441502", "441521")
POWERTRAINS = {"bus": ("BEV", "diesel", "CNG"), "taxi": ("BEV", "petrol", "PHEV"),
               "passenger_car": ("BEV", "petrol", "PHEV", "HEV")}


def random_fleet(seed: int, n: int = 1500) -> Records:
    """Buses, taxis and cars over 2016-2025, many sharing a registration day; a third retired."""
    rng = np.random.default_rng(seed)
    classes = rng.choice(list(POWERTRAINS), n, p=[0.3, 0.3, 0.4])
    days = pd.date_range("2016-01-01", "2025-12-31", freq="D")
    reg = days[rng.integers(0, len(days) // 7, n) * 7]  # weekly: same-day cohorts of several vehicles
    life = rng.integers(200, 4000, n)
    dereg = reg + pd.to_timedelta(life, unit="D")
    dereg = pd.DatetimeIndex(np.where((rng.random(n) < 0.35) & (dereg <= days[-1]), dereg, pd.NaT))
    vehicles = pd.DataFrame({
        "vehicle_id": [f"V{i:05d}" for i in range(n)],
        "vehicle_class": classes,
        "powertrain": [rng.choice(POWERTRAINS[c]) for c in classes],
        "registered_on": reg, "deregistered_on": dereg,
        "county_code": rng.choice(COUNTIES, n),
        "is_operating": True,
    })
    return Records(vehicles=vehicles, activity=pd.DataFrame({"year": pd.Series(dtype=int)}))


@pytest.mark.parametrize("seed", [1, 2])
def test_stock_survivors_equal_a_vehicle_by_vehicle_sum(seed: int) -> None:
    records = random_fleet(seed)
    cutoff = turnover.Cutoff.at("2025-12-31")
    curves = {"bus": survival.Survival("bus", 2.5, 9.0, 13.0, 0, False),
              "taxi": survival.Survival("taxi", 3.0, 6.0, 8.0, 0, False),
              "passenger_car": survival.Survival("passenger_car", 3.2, 15.0, None, 0, False)}
    years = (2026, 2028, 2030)
    out = turnover.project(records, years=years, cutoff=cutoff, survival=curves)
    v = records.vehicles
    for ind, vclass in turnover.STOCK_CLASS.items():
        for area in (None, *COUNTIES):
            ne_now = total_now = 0
            expected = {y: [0.0, 0.0] for y in years}
            for row in v.itertuples():
                if row.vehicle_class != vclass or (area is not None and row.county_code != area):
                    continue
                if row.registered_on > cutoff.date or (pd.notna(row.deregistered_on)
                                                       and row.deregistered_on <= cutoff.date):
                    continue
                ne = row.powertrain in NE_POWERTRAINS
                total_now += 1
                ne_now += ne
                age = (cutoff.date - row.registered_on).days / 365.25
                for y in years:
                    p = float(curves[vclass].conditional(np.array([age]), cutoff.years_to(y))[0])
                    expected[y][0 if ne else 1] += p
            assert out.now_shares[(ind, area)] == turnover.Share(float(ne_now), float(total_now))
            for y in years:
                ne_e, other_e, _, _ = out.stock_parts[(ind, area, y)]
                assert math.isclose(ne_e, expected[y][0], rel_tol=1e-12, abs_tol=1e-12)
                assert math.isclose(other_e, expected[y][1], rel_tol=1e-12, abs_tol=1e-12)
    assert any(out.stock_parts[("ne_bus_share", None, y)][1] > 0 for y in years)


def test_window_mix_equals_hand_counts() -> None:
    """The 12-month additions per (county, class) and their NE part, counted row by row."""
    records = random_fleet(3)
    cutoff = turnover.Cutoff.at("2025-12-31")
    out = turnover.project(records, years=(2027,), cutoff=cutoff)
    v = records.vehicles
    win = v[(v["registered_on"] >= cutoff.flow_start) & (v["registered_on"] <= cutoff.flow_end)]
    for (cty, c), (n_all, n_ne) in out.window_additions.items():
        rows = win[win["vehicle_class"] == c]
        if cty is not None:
            rows = rows[rows["county_code"] == cty]
        assert (n_all, n_ne) == (len(rows), int(rows["powertrain"].isin(NE_POWERTRAINS).sum()))
    assert sum(n for (cty, _), (n, _) in out.window_additions.items() if cty is None) == len(win) > 0


def test_fit_per_class_equals_fit_on_that_class_alone() -> None:
    """Fitting all classes at once gives each class the curve fitted to its own rows only."""
    records = random_fleet(4, n=3000)
    v = records.vehicles
    kw = {"cutoff": pd.Timestamp("2025-12-31"), "records_start": pd.Timestamp("2016-01-01")}
    together = survival.fit_survival(v, **kw)
    assert set(together) == set(POWERTRAINS)
    for vclass, curve in together.items():
        alone = survival.fit_survival(v[v["vehicle_class"] == vclass].reset_index(drop=True), **kw)[vclass]
        assert (curve.shape, curve.scale_years, curve.events, curve.fitted) == (
            alone.shape, alone.scale_years, alone.events, alone.fitted)
    assert any(c.fitted for c in together.values())


def test_missing_county_is_refused_with_its_field() -> None:
    """An empty county would be counted under another county's code; the projection names it instead."""
    records = random_fleet(5, n=200)
    v = records.vehicles.copy()
    v["county_code"] = v["county_code"].astype(object)
    v.loc[17, "county_code"] = None
    with pytest.raises(RecordError, match=r"row 18: field 'county_code' is empty"):
        turnover.project(Records(vehicles=v, activity=records.activity), years=(2027,),
                         cutoff=turnover.Cutoff.at("2025-12-31"))
