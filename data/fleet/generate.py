"""Build the synthetic Shanwei fleet records of data/fleet/ (seeded and reproducible).

No registry extract of Shanwei is public. This script makes one up from a chain of published facts and
stated assumptions (see README.md beside it): year-end stock targets per vehicle class (and, for buses
and taxis, per powertrain) → registrations and retirements drawn from Weibull survival curves capped
at the mandatory scrapping ages → one row per vehicle; then the activity of operating vehicles per year
(vehicle-years × km per year × load × energy per km) and the depots.

Calibration that the output meets exactly (checked at the end of the run):
* buses on 31 Dec 2021: 1,324, of which 1,295 battery-electric (汕尾日报, 2021-11-08); no bus is
  registered or deregistered between 8 Nov and 31 Dec 2021, so the counts hold on the article's date;
* NE taxis on 31 Dec 2021 (and 8 Nov 2021): 115 of 235 (49 %; the total 235 is inferred from 115 / 49 %).

Run with the project's environment (numpy and pandas):

    .venv/bin/python data/fleet/generate.py            # writes beside this file
    .venv/bin/python data/fleet/generate.py --out DIR  # elsewhere

The same seed and the same numpy version give byte-identical files (the gzip header carries no time).
"""

from __future__ import annotations

import argparse
import gzip
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20211108
FIRST_YEAR, LAST_YEAR = 2015, 2025
AS_OF = date(LAST_YEAR, 12, 31)
#: Date of the published bus and taxi figures; bus and taxi events are kept out of 8 Nov - 31 Dec 2021.
BUS_EVIDENCE_DATE = date(2021, 11, 8)

COUNTIES = {"441502": "城区", "441521": "海丰县", "441523": "陆河县", "441581": "陆丰市"}
#: ASSUMPTION: share of each county in the registrations of most classes (roughly its population).
COUNTY_WEIGHTS = {"441502": 0.22, "441521": 0.30, "441523": 0.09, "441581": 0.39}

#: Depots. Six bus depots are published (6 停保场, 522 chargers); their names and places are not:
#: ASSUMED at the county seats and main towns, coordinates approximate (WGS84). Taxi depots are assumed.
DEPOTS = [
    # depot_id, name, operator, fleet_kind, county, lon, lat, share of the city's buses
    ("BUS-CQ-1", "城区公交停保场（香洲，假定）", "汕尾市公共交通（假定）", "bus", "441502", 115.3705, 22.7905, 0.22),
    ("BUS-CQ-2", "城区公交停保场（东涌，假定）", "汕尾市公共交通（假定）", "bus", "441502", 115.4230, 22.8005, 0.13),
    ("BUS-HF-1", "海丰公交停保场（海城，假定）", "海丰县公交（假定）", "bus", "441521", 115.3155, 22.9600, 0.22),
    ("BUS-LF-1", "陆丰公交停保场（东海，假定）", "陆丰市公交（假定）", "bus", "441581", 115.6300, 22.9530, 0.20),
    ("BUS-LF-2", "陆丰公交停保场（甲子，假定）", "陆丰市公交（假定）", "bus", "441581", 116.0650, 22.8870, 0.12),
    ("BUS-LH-1", "陆河公交停保场（河田，假定）", "陆河县公交（假定）", "bus", "441523", 115.6480, 23.2950, 0.11),
    ("TAXI-CQ", "城区出租车充电场站（假定）", "出租车公司（假定）", "taxi", "441502", 115.3560, 22.7880, 0.0),
    ("TAXI-HF", "海丰出租车充电场站（假定）", "出租车公司（假定）", "taxi", "441521", 115.3300, 22.9760, 0.0),
    ("TAXI-LF", "陆丰出租车充电场站（假定）", "出租车公司（假定）", "taxi", "441581", 115.6480, 22.9420, 0.0),
    ("TAXI-LH", "陆河出租车充电场站（假定）", "出租车公司（假定）", "taxi", "441523", 115.6620, 23.3050, 0.0),
]
#: ASSUMPTION: where taxis are registered; the first e-taxis (to 2019) went to the city district.
TAXI_COUNTY_WEIGHTS = {"441502": 0.45, "441521": 0.25, "441523": 0.08, "441581": 0.22}
ETAXI_EARLY_WEIGHTS = {"441502": 0.70, "441521": 0.15, "441523": 0.0, "441581": 0.15}


def _interp(points: dict[int, float]) -> dict[int, int]:
    """Year-end stock for 2014-2025 by linear interpolation between key years, rounded."""
    years = sorted(points)
    out = {}
    for y in range(FIRST_YEAR - 1, LAST_YEAR + 1):
        out[y] = int(round(float(np.interp(y, years, [points[k] for k in years]))))
    return out


def _shares(points: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
    """Powertrain shares of additions per year, interpolated between key years and normalised."""
    years = sorted(points)
    keys = sorted({k for v in points.values() for k in v})
    out = {}
    for y in range(FIRST_YEAR - 1, LAST_YEAR + 1):
        raw = {k: float(np.interp(y, years, [points[p].get(k, 0.0) for p in years])) for k in keys}
        total = sum(raw.values())
        out[y] = {k: v / total for k, v in raw.items() if v > 0}
    return out


@dataclass(frozen=True)
class Pool:
    """Vehicles of one class (or one class and powertrain) with a year-end stock to meet."""

    vehicle_class: str
    stock: dict[int, int]                       # year-end stock, FIRST_YEAR-1 .. LAST_YEAR
    mean_life_yr: float                         # Weibull mean lifetime
    shape: float                                # Weibull shape
    max_age_yr: float                           # mandatory scrapping age (or a sanity cap)
    initial_shares: dict[str, float]            # powertrains of the stock at the end of FIRST_YEAR-1
    addition_shares: dict[int, dict[str, float]]  # powertrains of each year's registrations
    history_growth: float = 0.08                # growth of registrations before FIRST_YEAR (age profile)
    operating_share: float = 0.0
    quiet_2021_after: date | None = None        # no events from this date to 31 Dec of its year


# ASSUMPTIONS unless a comment says otherwise. Lifetimes: mean life spans from Hao, Wang, Ouyang & Cheng,
# "Vehicle survival patterns in China", Sci China Tech Sci 54 (2011): private cars 14.5 y, taxis 5 y,
# transit buses 9 y, non-transit operating buses 5.5 y, heavy/medium/light trucks 12.8/10.1/8 y,
# non-operating buses 11.5 y, government and business vehicles 13.1 y. Caps: 《机动车强制报废标准规定》
# (商务部等 2012年第12号令): small taxis 8 y, transit buses 13 y, large/medium operating coaches 15 y,
# trucks 15 y, special vehicles with load function 15 y; private cars have no age limit (cap 30 y here).
BUS_PT = {  # year-end bus stock per powertrain; 2021 = published 1,295 BEV of 1,324 (29 non-NE, split assumed)
    "BEV": {2014: 30, 2015: 60, 2016: 300, 2017: 620, 2018: 900, 2019: 1120, 2020: 1230, 2021: 1295,
            2022: 1318, 2023: 1336, 2024: 1350, 2025: 1372},
    "diesel": {2014: 420, 2015: 400, 2016: 330, 2017: 230, 2018: 150, 2019: 60, 2020: 30, 2021: 17,
               2022: 12, 2023: 8, 2024: 5, 2025: 3},
    "CNG": {2014: 90, 2015: 95, 2016: 90, 2017: 70, 2018: 40, 2019: 20, 2020: 12, 2021: 8, 2022: 5,
            2023: 3, 2024: 2, 2025: 1},
    "HEV": {2014: 20, 2015: 30, 2016: 30, 2017: 25, 2018: 15, 2019: 10, 2020: 6, 2021: 4, 2022: 3,
            2023: 2, 2024: 1, 2025: 0},
}
TAXI_PT = {  # year-end taxi stock per powertrain; 2021 = published 115 NE taxis, 49 % (total 235 inferred)
    "BEV": {2014: 0, 2015: 0, 2016: 5, 2017: 20, 2018: 45, 2019: 75, 2020: 100, 2021: 115, 2022: 145,
            2023: 175, 2024: 200, 2025: 215},
    "petrol": {2014: 180, 2015: 185, 2016: 185, 2017: 180, 2018: 175, 2019: 160, 2020: 140, 2021: 120,
               2022: 95, 2023: 65, 2024: 40, 2025: 22},
    "CNG": {2014: 40, 2015: 40, 2016: 35, 2017: 30, 2018: 20, 2019: 10, 2020: 5, 2021: 0, 2022: 0,
            2023: 0, 2024: 0, 2025: 0},
}


def class_pools() -> list[Pool]:
    """Every pool of the synthetic fleet (see the ASSUMPTIONS comment above and README.md)."""
    pools = []
    for pt, stock in BUS_PT.items():
        pools.append(Pool("bus", stock, 9.0, 4.0, 13.0, {pt: 1.0}, {y: {pt: 1.0} for y in range(2014, 2026)},
                          history_growth=0.10, operating_share=1.0, quiet_2021_after=BUS_EVIDENCE_DATE))
    for pt, stock in TAXI_PT.items():
        pools.append(Pool("taxi", stock, 5.0, 3.0, 8.0, {pt: 1.0}, {y: {pt: 1.0} for y in range(2014, 2026)},
                          history_growth=0.03, operating_share=1.0, quiet_2021_after=BUS_EVIDENCE_DATE))
    pools.append(Pool(
        "passenger_car",
        _interp({2014: 160_000, 2015: 180_000, 2016: 203_000, 2017: 228_000, 2018: 252_000, 2019: 274_000,
                 2020: 292_000, 2021: 315_000, 2022: 336_000, 2023: 356_000, 2024: 378_000, 2025: 400_000}),
        14.5, 3.5, 30.0, {"petrol": 0.985, "diesel": 0.01, "HEV": 0.005},
        _shares({2014: {"petrol": 0.985, "diesel": 0.008, "HEV": 0.002, "BEV": 0.004, "PHEV": 0.001},
                 2016: {"petrol": 0.974, "diesel": 0.006, "HEV": 0.008, "BEV": 0.009, "PHEV": 0.003},
                 2018: {"petrol": 0.955, "diesel": 0.005, "HEV": 0.015, "BEV": 0.02, "PHEV": 0.005},
                 2020: {"petrol": 0.935, "diesel": 0.004, "HEV": 0.021, "BEV": 0.032, "PHEV": 0.008},
                 2021: {"petrol": 0.87, "diesel": 0.003, "HEV": 0.027, "BEV": 0.08, "PHEV": 0.02},
                 2022: {"petrol": 0.78, "diesel": 0.002, "HEV": 0.028, "BEV": 0.14, "PHEV": 0.05},
                 2023: {"petrol": 0.70, "diesel": 0.002, "HEV": 0.028, "BEV": 0.18, "PHEV": 0.09},
                 2024: {"petrol": 0.605, "diesel": 0.001, "HEV": 0.034, "BEV": 0.23, "PHEV": 0.13},
                 2025: {"petrol": 0.525, "diesel": 0.001, "HEV": 0.034, "BEV": 0.28, "PHEV": 0.16}}),
        history_growth=0.12,
    ))
    pools.append(Pool(
        "ride_hailing",
        _interp({2014: 0, 2016: 0, 2017: 150, 2018: 400, 2019: 700, 2020: 900, 2021: 1100, 2022: 1300,
                 2023: 1500, 2024: 1650, 2025: 1800}),
        5.0, 3.0, 8.0, {"petrol": 1.0},
        _shares({2014: {"petrol": 0.45, "BEV": 0.5, "PHEV": 0.05}, 2018: {"petrol": 0.45, "BEV": 0.5, "PHEV": 0.05},
                 2019: {"petrol": 0.05, "BEV": 0.9, "PHEV": 0.05}, 2021: {"petrol": 0.0, "BEV": 0.97, "PHEV": 0.03},
                 2025: {"BEV": 0.97, "PHEV": 0.03}}),
        operating_share=1.0,
    ))
    pools.append(Pool(
        "coach",
        _interp({2014: 700, 2017: 640, 2020: 540, 2023: 460, 2025: 420}),
        5.5, 2.5, 15.0, {"diesel": 0.95, "CNG": 0.05},
        _shares({2014: {"diesel": 0.92, "CNG": 0.05, "LNG": 0.03}, 2018: {"diesel": 0.88, "LNG": 0.06, "BEV": 0.06},
                 2021: {"diesel": 0.75, "LNG": 0.07, "BEV": 0.18}, 2025: {"diesel": 0.62, "LNG": 0.08, "BEV": 0.30}}),
        history_growth=0.02, operating_share=1.0,
    ))
    pools.append(Pool(
        "truck",
        _interp({2014: 20_000, 2015: 20_700, 2017: 22_200, 2019: 23_800, 2021: 25_500, 2023: 27_200, 2025: 29_000}),
        10.0, 2.8, 15.0, {"diesel": 0.86, "petrol": 0.12, "CNG": 0.02},
        _shares({2014: {"diesel": 0.86, "petrol": 0.12, "CNG": 0.02},
                 2017: {"diesel": 0.85, "petrol": 0.11, "CNG": 0.015, "LNG": 0.015, "BEV": 0.01},
                 2019: {"diesel": 0.83, "petrol": 0.09, "CNG": 0.01, "LNG": 0.03, "BEV": 0.04},
                 2022: {"diesel": 0.76, "petrol": 0.07, "CNG": 0.01, "LNG": 0.08, "BEV": 0.08},
                 2025: {"diesel": 0.66, "petrol": 0.06, "CNG": 0.005, "LNG": 0.10, "BEV": 0.175}}),
        history_growth=0.05, operating_share=0.85,
    ))
    pools.append(Pool(
        "van",
        _interp({2014: 38_000, 2017: 37_000, 2020: 34_500, 2023: 32_000, 2025: 30_000}),
        11.5, 3.0, 20.0, {"petrol": 0.94, "diesel": 0.05, "CNG": 0.01},
        _shares({2014: {"petrol": 0.93, "diesel": 0.05, "CNG": 0.02},
                 2018: {"petrol": 0.90, "diesel": 0.05, "CNG": 0.01, "BEV": 0.04},
                 2021: {"petrol": 0.86, "diesel": 0.04, "CNG": 0.01, "BEV": 0.09},
                 2025: {"petrol": 0.79, "diesel": 0.03, "CNG": 0.005, "BEV": 0.16, "PHEV": 0.015}}),
        history_growth=0.04, operating_share=0.12,
    ))
    pools.append(Pool(
        "special",
        _interp({2014: 1_400, 2017: 1_700, 2020: 2_050, 2023: 2_350, 2025: 2_600}),
        13.1, 3.0, 15.0, {"diesel": 0.88, "petrol": 0.12},
        _shares({2014: {"diesel": 0.88, "petrol": 0.12}, 2018: {"diesel": 0.84, "petrol": 0.11, "BEV": 0.05},
                 2021: {"diesel": 0.76, "petrol": 0.09, "BEV": 0.15},
                 2025: {"diesel": 0.66, "petrol": 0.08, "BEV": 0.26}}),
        history_growth=0.06,
    ))
    return pools


# ---------------------------------------------------------------------------------------- simulation

DAY = np.timedelta64(1, "D")


def _d(y: int, m: int, d: int) -> np.datetime64:
    return np.datetime64(date(y, m, d), "D")


def _weibull_scale(mean: float, shape: float) -> float:
    return mean / math.gamma(1 + 1 / shape)


def _random_days(rng: np.random.Generator, lo: np.ndarray | np.datetime64, hi: np.ndarray | np.datetime64,
                 n: int) -> np.ndarray:
    """Uniform dates in [lo, hi] (inclusive)."""
    lo = np.broadcast_to(np.asarray(lo, dtype="datetime64[D]"), (n,))
    hi = np.broadcast_to(np.asarray(hi, dtype="datetime64[D]"), (n,))
    span = (hi - lo).astype(int) + 1
    return lo + (rng.random(n) * span).astype(int) * DAY


def simulate_pool(rng: np.random.Generator, pool: Pool) -> pd.DataFrame:
    """Registrations, retirements and powertrains of one pool that meet its year-end stock exactly."""
    k = pool.shape
    lam = _weibull_scale(pool.mean_life_yr, k)
    cap_days = pool.max_age_yr * 365.25

    def lifetimes_days(n: int, older_than_yr: np.ndarray | None = None) -> np.ndarray:
        u = rng.random(n)
        a = np.zeros(n) if older_than_yr is None else older_than_yr
        life_yr = lam * ((a / lam) ** k - np.log(u)) ** (1 / k)  # Weibull conditional on surviving to age a
        return np.minimum(life_yr * 365.25, cap_days - rng.random(n) * 60)

    # Stock at the end of FIRST_YEAR-1: ages from past registrations growing at history_growth, thinned by survival.
    start_end = _d(FIRST_YEAR - 1, 12, 31)
    n0 = pool.stock[FIRST_YEAR - 1]
    ages = np.arange(0.0, pool.max_age_yr, 0.01)
    weight = (1 + pool.history_growth) ** (-ages) * np.exp(-((ages / lam) ** k))
    age0 = rng.choice(ages, size=n0, p=weight / weight.sum()) + rng.random(n0) * 0.01
    reg = start_end - (age0 * 365.25).astype(int) * DAY
    life = lifetimes_days(n0, age0)
    life = np.maximum(life, age0 * 365.25 + 1)
    dereg = reg + np.ceil(life).astype(int) * DAY
    pts = list(pool.initial_shares)
    pt = rng.choice(pts, size=n0, p=[pool.initial_shares[p] for p in pts]) if n0 else np.array([], dtype=object)
    pt = pt.astype(object)

    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        jan1, dec31 = _d(year, 1, 1), _d(year, 12, 31)
        quiet = pool.quiet_2021_after is not None and year == pool.quiet_2021_after.year
        last_day = np.datetime64(pool.quiet_2021_after, "D") - DAY if quiet else dec31
        if quiet:  # keep natural retirements out of the quiet window, so both dates see the same stock
            moved = (dereg > last_day) & (dereg <= dec31)
            if moved.any():
                dereg[moved] = _random_days(rng, np.maximum(reg[moved], jan1), last_day, int(moved.sum()))
        alive = (reg <= dec31) & (dereg > dec31)
        surplus = int(alive.sum()) - pool.stock[year]
        if surplus > 0:  # forced early retirement of the oldest (replacement programmes)
            alive_idx = np.flatnonzero(alive)
            oldest = alive_idx[np.argsort(reg[alive_idx], kind="stable")[:surplus]]
            dereg[oldest] = _random_days(rng, np.maximum(reg[oldest], jan1), last_day, surplus)
        elif surplus < 0:
            n = -surplus
            new_reg = _random_days(rng, jan1, last_day, n)
            new_dereg = new_reg + np.ceil(lifetimes_days(n)).astype(int) * DAY
            new_dereg = np.maximum(new_dereg, dec31 + DAY)  # an addition is still in the year-end stock
            shares = pool.addition_shares[year]
            keys = list(shares)
            new_pt = rng.choice(keys, size=n, p=[shares[k2] for k2 in keys]).astype(object)
            reg = np.concatenate([reg, new_reg])
            dereg = np.concatenate([dereg, new_dereg])
            pt = np.concatenate([pt, new_pt])
    keep = dereg >= _d(FIRST_YEAR, 1, 1)  # vehicles gone before the records start are not listed
    out = pd.DataFrame({"registered_on": reg[keep], "deregistered_on": dereg[keep], "powertrain": pt[keep]})
    out.loc[out["deregistered_on"] > np.datetime64(AS_OF, "D"), "deregistered_on"] = pd.NaT
    out["vehicle_class"] = pool.vehicle_class
    out["is_operating"] = rng.random(len(out)) < pool.operating_share
    return out


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return rng.choice(keys, size=n, p=p / p.sum()).astype(object)


def build_vehicles(rng: np.random.Generator) -> pd.DataFrame:
    """The vehicle table: one row per vehicle in service at some time in FIRST_YEAR..LAST_YEAR."""
    parts = []
    bus_depots = [d for d in DEPOTS if d[3] == "bus"]
    taxi_depot_of = {d[4]: d[0] for d in DEPOTS if d[3] == "taxi"}
    for pool in class_pools():
        frame = simulate_pool(rng, pool)
        n = len(frame)
        if pool.vehicle_class == "bus":
            depot = _pick(rng, {d[0]: d[7] for d in bus_depots}, n)
            county_of = {d[0]: d[4] for d in bus_depots}
            frame["depot_id"] = depot
            frame["county_code"] = [county_of[d] for d in depot]
        elif pool.vehicle_class == "taxi":
            early_e = (frame["powertrain"].to_numpy() == "BEV") & (frame["registered_on"].dt.year.to_numpy() <= 2019)
            county = _pick(rng, TAXI_COUNTY_WEIGHTS, n)
            county[early_e] = _pick(rng, ETAXI_EARLY_WEIGHTS, int(early_e.sum()))
            frame["county_code"] = county
            frame["depot_id"] = [taxi_depot_of[c] for c in county]
        else:
            frame["county_code"] = _pick(rng, COUNTY_WEIGHTS, n)
            frame["depot_id"] = None
        parts.append(frame)
    vehicles = pd.concat(parts, ignore_index=True)
    order = np.lexsort((rng.random(len(vehicles)), vehicles["registered_on"].to_numpy()))
    vehicles = vehicles.iloc[order].reset_index(drop=True)
    vehicles.insert(0, "vehicle_id", [f"SW{i:07d}" for i in range(1, len(vehicles) + 1)])
    return vehicles[["vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code",
                     "is_operating", "depot_id"]]


# ---------------------------------------------------------------------------------------- activity

#: ASSUMPTIONS per vehicle-year of operating vehicles: km per year, passengers on board on average per
#: km (incl. empty running), tonnes of goods on average per km (incl. empty running).
USE = {
    "bus": (60_000, 14.0, 0.0),
    "taxi": (110_000, 1.1, 0.0),
    "ride_hailing": (60_000, 1.1, 0.0),
    "coach": (90_000, 18.0, 0.0),
    "truck": (45_000, 0.0, 3.5),
    "van": (30_000, 0.0, 0.5),
}
#: ASSUMPTIONS: energy per km by class and powertrain, {carrier column: amount per km}.
ENERGY_PER_KM = {
    ("bus", "BEV"): {"electricity_kwh": 1.05}, ("bus", "diesel"): {"diesel_l": 0.30},
    ("bus", "CNG"): {"cng_m3": 0.38}, ("bus", "HEV"): {"diesel_l": 0.22},
    ("taxi", "BEV"): {"electricity_kwh": 0.15}, ("taxi", "petrol"): {"petrol_l": 0.085},
    ("taxi", "CNG"): {"cng_m3": 0.085},
    ("ride_hailing", "BEV"): {"electricity_kwh": 0.14}, ("ride_hailing", "petrol"): {"petrol_l": 0.08},
    ("ride_hailing", "PHEV"): {"electricity_kwh": 0.09, "petrol_l": 0.025},
    ("coach", "diesel"): {"diesel_l": 0.26}, ("coach", "CNG"): {"cng_m3": 0.33},
    ("coach", "LNG"): {"lng_kg": 0.23}, ("coach", "BEV"): {"electricity_kwh": 1.2},
    ("truck", "diesel"): {"diesel_l": 0.20}, ("truck", "petrol"): {"petrol_l": 0.12},
    ("truck", "CNG"): {"cng_m3": 0.28}, ("truck", "LNG"): {"lng_kg": 0.22},
    ("truck", "BEV"): {"electricity_kwh": 0.55},
    ("van", "petrol"): {"petrol_l": 0.10}, ("van", "diesel"): {"diesel_l": 0.09},
    ("van", "CNG"): {"cng_m3": 0.11}, ("van", "BEV"): {"electricity_kwh": 0.20},
    ("van", "PHEV"): {"electricity_kwh": 0.12, "petrol_l": 0.04},
}
#: ASSUMPTION: fuel use per km of combustion vehicles falls 0.6 % a year (fleet renewal), from 2015.
ICE_IMPROVEMENT_PER_YEAR = 0.006
ENERGY_COLUMNS = ("electricity_kwh", "petrol_l", "diesel_l", "cng_m3", "lng_kg", "h2_kg")


def build_activity(rng: np.random.Generator, vehicles: pd.DataFrame) -> pd.DataFrame:
    """Activity of operating vehicles per year, county, class and powertrain."""
    ops = vehicles[vehicles["is_operating"]]
    reg = ops["registered_on"].to_numpy(dtype="datetime64[D]")
    dereg = ops["deregistered_on"].fillna(pd.Timestamp(AS_OF) + pd.Timedelta(days=1)).to_numpy(dtype="datetime64[D]")
    keys = ops[["county_code", "vehicle_class", "powertrain"]].reset_index(drop=True)
    rows = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        start, end = _d(year, 1, 1), _d(year + 1, 1, 1)
        days = (np.minimum(dereg, end) - np.maximum(reg, start)).astype(int)
        share = np.clip(days, 0, None) / float((end - start).astype(int))
        frame = keys.assign(vehicle_years=share)
        keys_cols = ["county_code", "vehicle_class", "powertrain"]
        grouped = frame[share > 0].groupby(keys_cols, sort=True)["vehicle_years"].sum()
        for (county, vclass, pt), vy in grouped.items():
            km_per_year, load_pass, load_t = USE[vclass]
            vkm = vy * km_per_year * float(rng.lognormal(0.0, 0.03))
            row = {"year": year, "county_code": county, "vehicle_class": vclass, "powertrain": pt,
                   "vehicle_years": round(vy, 2), "vehicle_km": round(vkm),
                   "passenger_km": round(vkm * load_pass * float(rng.lognormal(0.0, 0.01))),
                   "tonne_km": round(vkm * load_t * float(rng.lognormal(0.0, 0.01)))}
            noise = float(rng.lognormal(0.0, 0.01))
            ice = (1 - ICE_IMPROVEMENT_PER_YEAR) ** (year - FIRST_YEAR)
            for col in ENERGY_COLUMNS:
                per_km = ENERGY_PER_KM[(vclass, pt)].get(col, 0.0)
                factor = noise if col == "electricity_kwh" else noise * ice
                row[col] = round(vkm * per_km * factor)
            rows.append(row)
    return pd.DataFrame(rows)


def build_depots(vehicles: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """Depots with an ASSUMED grid capacity: the 2025 overnight need (8 h) + 25 %, in 630 kVA steps."""
    stock = vehicles[(vehicles["registered_on"] <= pd.Timestamp(AS_OF)) & vehicles["deregistered_on"].isna()]
    act = activity[activity["year"] == LAST_YEAR].set_index(["vehicle_class", "powertrain", "county_code"])
    rows = []
    for depot_id, name, operator, kind, county, lon, lat, _ in DEPOTS:
        mine = stock[(stock["depot_id"] == depot_id) & stock["powertrain"].isin(["BEV", "PHEV"])]
        daily_kwh = 0.0
        for (vclass, pt, cty), n in mine.groupby(["vehicle_class", "powertrain", "county_code"]).size().items():
            a = act.loc[(vclass, pt, cty)]
            daily_kwh += n * a["electricity_kwh"] / a["vehicle_years"] / 365.0
        need_kw = daily_kwh / 8.0 * 1.25
        capacity = max(1, math.ceil(need_kw / 630.0)) * 630
        rows.append({"depot_id": depot_id, "name": name, "operator": operator, "fleet_kind": kind,
                     "county_code": county, "lon": lon, "lat": lat, "grid_capacity_kw": capacity,
                     "location_approximate": "true"})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------- output


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    text = io.StringIO()
    frame.to_csv(text, index=False, lineterminator="\n")
    return text.getvalue().encode("utf-8")


def write_outputs(out: Path, vehicles: pd.DataFrame, activity: pd.DataFrame, depots: pd.DataFrame) -> list[Path]:
    """Write vehicles.csv.gz (reproducible gzip, no timestamp), activity.csv and depots.csv."""
    out.mkdir(parents=True, exist_ok=True)
    v = vehicles.copy()
    v["registered_on"] = v["registered_on"].dt.strftime("%Y-%m-%d")
    v["deregistered_on"] = v["deregistered_on"].dt.strftime("%Y-%m-%d").fillna("")
    v["is_operating"] = np.where(v["is_operating"], "true", "false")
    v["depot_id"] = v["depot_id"].fillna("")
    path = out / "vehicles.csv.gz"
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(_csv_bytes(v))
    (out / "activity.csv").write_bytes(_csv_bytes(activity))
    (out / "depots.csv").write_bytes(_csv_bytes(depots))
    return [path, out / "activity.csv", out / "depots.csv"]


def calibration_report(vehicles: pd.DataFrame) -> dict[str, int]:
    """The published figures the data must meet, as counted in the output (raises if one is missed)."""
    def stock_on(day: date) -> pd.DataFrame:
        t = pd.Timestamp(day)
        return vehicles[(vehicles["registered_on"] <= t) & ~(vehicles["deregistered_on"] <= t)]

    out = {}
    for label, day in (("2021-12-31", date(2021, 12, 31)), ("2021-11-08", BUS_EVIDENCE_DATE)):
        s = stock_on(day)
        buses = s[s["vehicle_class"] == "bus"]
        taxis = s[s["vehicle_class"] == "taxi"]
        out[f"buses {label}"] = len(buses)
        out[f"BEV buses {label}"] = int((buses["powertrain"] == "BEV").sum())
        out[f"taxis {label}"] = len(taxis)
        out[f"NE taxis {label}"] = int(taxis["powertrain"].isin(["BEV", "PHEV", "FCEV"]).sum())
    expected = {"buses 2021-12-31": 1324, "BEV buses 2021-12-31": 1295, "NE taxis 2021-12-31": 115,
                "taxis 2021-12-31": 235, "buses 2021-11-08": 1324, "BEV buses 2021-11-08": 1295,
                "NE taxis 2021-11-08": 115, "taxis 2021-11-08": 235}
    missed = {k: (out[k], v) for k, v in expected.items() if out[k] != v}
    if missed:
        raise SystemExit(f"calibration missed (got, expected): {missed}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Generate the records; print the calibration counts and file sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output directory")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    vehicles = build_vehicles(rng)
    activity = build_activity(rng, vehicles)
    depots = build_depots(vehicles, activity)
    for key, value in calibration_report(vehicles).items():
        print(f"{key}: {value}")
    for path in write_outputs(args.out, vehicles, activity, depots):
        print(f"wrote {path.name}: {path.stat().st_size / 1e6:.2f} MB")
    print(f"vehicles: {len(vehicles):,} rows; activity: {len(activity):,} rows; depots: {len(depots)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
