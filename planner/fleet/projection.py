"""The EV share of the passenger-car stock by stage year, which the siting's charging demand assumes.

Years inside the records are observed; later years come from a stock-flow projection whose share of
EVs among new cars is the same logistic trend (``trend.fit_logistic_share``) the targets assess.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.errors import RecordError
from planner.fleet.records import FleetRecords
from planner.fleet.schema import NE_POWERTRAINS
from planner.fleet.stock import added_in, in_stock, record_years, year_end
from planner.fleet.trend import fit_logistic_share

#: Yearly additions and retirement rates are those of this many latest record years.
RECENT_YEARS = 3


def ev_car_share_projection(records: FleetRecords, *, years: Iterable[int]) -> dict[int, float]:
    """EV (NE) share of the passenger-car stock on 31 Dec of each stage year, as a fraction.

    Years inside the records are observed. Later years come from a stock-flow projection: the NE share
    of new passenger cars follows the logistic trend of ``trend.fit_logistic_share`` fitted to every
    record year (the trend the ``ev_new_passenger_car_share`` target is assessed on; a single record
    year gives a flat trend); yearly additions stay at the mean of the last three years; NE and other
    cars retire at their observed rates of the last three years.
    """
    vehicles = records.vehicles
    cars = vehicles[vehicles["vehicle_class"] == "passenger_car"]
    if cars.empty:
        raise RecordError("no passenger cars in the fleet records: cannot project the EV share of the car stock")
    span = record_years(records)
    first, last = span[0], span[-1]
    ne = cars["powertrain"].isin(NE_POWERTRAINS).to_numpy()

    def stock_counts(year: int) -> tuple[int, int]:
        s = in_stock(cars, year)
        return int((s & ne).sum()), int(s.sum())

    years = [int(y) for y in years]
    out: dict[int, float] = {}
    for year in years:
        if year <= last:
            ev, total = stock_counts(year)
            out[year] = ev / total if total else 0.0
    later = [y for y in years if y > last]
    if not later:
        return out

    hist = list(range(first, last + 1))
    additions = np.array([added_in(cars, y).sum() for y in hist], dtype=float)
    ne_additions = np.array([(added_in(cars, y) & ne).sum() for y in hist], dtype=float)
    trend = fit_logistic_share(hist, ne_additions, additions, min_years=1) if additions.sum() > 0 else None
    recent = hist[-RECENT_YEARS:]
    volume = float(additions[-len(recent):].mean())
    rate_ne, rate_other = _retirement_rates(cars, ne, recent)
    ev, total = stock_counts(last)
    other = float(total - ev)
    ev_f = float(ev)
    for year in range(last + 1, max(later) + 1):
        s = trend.value(year) if trend is not None else 0.0
        ev_f = ev_f * (1 - rate_ne) + volume * s
        other = other * (1 - rate_other) + volume * (1 - s)
        if year in later:
            out[year] = ev_f / (ev_f + other) if ev_f + other > 0 else 0.0
    return dict(sorted(out.items()))


def _retirement_rates(cars: pd.DataFrame, ne: np.ndarray, years: list[int]) -> tuple[float, float]:
    """Yearly retirement rates (retired in year / stock at the start of it) of NE and other cars."""
    rates = []
    for group in (ne, ~ne):
        sub = cars[group]
        retired = stocked = 0
        for year in years:
            start = in_stock(sub, year - 1)
            stocked += int(start.sum())
            dereg = sub["deregistered_on"]
            retired += int((start & (dereg <= year_end(year)).to_numpy(dtype=bool)).sum())
        rates.append(retired / stocked if stocked else 0.0)
    return rates[0], rates[1]
