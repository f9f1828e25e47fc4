"""Which vehicles are in the stock of a year and which were added in it, and the years the records span.

The stock of year Y is every vehicle registered on or before 31 Dec Y and not deregistered by then;
the additions of Y are the vehicles registered in Y. Every indicator and projection counts this way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.fleet.records import FleetRecords


def year_end(year: int) -> pd.Timestamp:
    """31 Dec of ``year``."""
    return pd.Timestamp(year=int(year), month=12, day=31)


def in_stock(vehicles: pd.DataFrame, year: int) -> np.ndarray:
    """Mask of the stock on 31 Dec ``year``: registered on or before, not deregistered by then."""
    end = year_end(year)
    registered = (vehicles["registered_on"] <= end).to_numpy(dtype=bool)
    gone = (vehicles["deregistered_on"] <= end).to_numpy(dtype=bool)  # NaT compares False: still in service
    return registered & ~gone


def added_in(vehicles: pd.DataFrame, year: int) -> np.ndarray:
    """Mask of the additions of ``year``: vehicles registered from 1 Jan to 31 Dec."""
    reg = vehicles["registered_on"]
    return ((reg >= pd.Timestamp(year=int(year), month=1, day=1)) & (reg <= year_end(year))).to_numpy(dtype=bool)


def vehicle_span(vehicles: pd.DataFrame) -> tuple[int, int] | None:
    """First and last year of the vehicle records.

    A registry extract lists the vehicles in service at some time since it starts; those retired
    earlier are absent, so stocks before the first recorded deregistration may miss vehicles. The span
    therefore starts at the later of the first registration and the first deregistration year.
    """
    if vehicles.empty:
        return None
    reg = vehicles["registered_on"]
    dereg = vehicles["deregistered_on"].dropna()
    first = int(reg.min().year)
    last = int(reg.max().year)
    if not dereg.empty:
        first = max(first, int(dereg.min().year))
        last = max(last, int(dereg.max().year))
    return first, last


def record_years(records: FleetRecords) -> list[int]:
    """Calendar years the records span, sorted (see ``vehicle_span`` for where they start)."""
    span = vehicle_span(records.vehicles)
    act_years = sorted({int(y) for y in records.activity["year"]}) if not records.activity.empty else []
    if span is None:
        return act_years
    first, last = span
    if act_years:
        last = max(last, act_years[-1])
    return list(range(first, last + 1))
