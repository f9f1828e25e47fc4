"""Hand-made fleet records for the target and report tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Records:
    """A FleetRecords-like bundle built by hand."""

    vehicles: pd.DataFrame
    activity: pd.DataFrame
    depots: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: tuple = ()


def tiny_fleet() -> Records:
    """Buses in two counties, 2021-2024; at the end of 2024 county 441502 has 1 diesel bus left of 4."""
    rows = [
        # id, class, powertrain, registered, deregistered, county
        ("B1", "bus", "diesel", "2015-03-01", "2022-06-30", "441502"),
        ("B2", "bus", "diesel", "2016-03-01", "", "441502"),
        ("B3", "bus", "BEV", "2021-05-01", "", "441502"),
        ("B4", "bus", "BEV", "2022-07-01", "", "441502"),
        ("B5", "bus", "BEV", "2023-01-10", "", "441502"),
        ("B6", "bus", "diesel", "2018-01-01", "2023-12-31", "441521"),
        ("B7", "bus", "BEV", "2021-02-01", "", "441521"),
        ("B8", "bus", "BEV", "2024-12-31", "", "441521"),
        ("C1", "passenger_car", "petrol", "2021-04-01", "", "441502"),
        ("C2", "passenger_car", "BEV", "2022-04-01", "", "441521"),
        ("C3", "passenger_car", "petrol", "2023-04-01", "", "441521"),
        ("C4", "passenger_car", "BEV", "2024-04-01", "", "441502"),
    ]
    vehicles = pd.DataFrame(rows, columns=["vehicle_id", "vehicle_class", "powertrain", "registered_on",
                                           "deregistered_on", "county_code"])
    vehicles["registered_on"] = pd.to_datetime(vehicles["registered_on"])
    vehicles["deregistered_on"] = pd.to_datetime(vehicles["deregistered_on"].replace("", None))
    vehicles["is_operating"] = vehicles["vehicle_class"].eq("bus")
    activity = pd.DataFrame(columns=["year", "vehicle_class", "powertrain", "vehicles", "vkm", "pkm", "tkm"])
    return Records(vehicles=vehicles, activity=activity)


def cars_with_ev_additions(ne_by_year: dict[int, int], *, per_year: int) -> Records:
    """Passenger cars only: ``per_year`` added each year, of which ``ne_by_year[year]`` battery-electric."""
    rows = [(f"{year}-{i}", "passenger_car", "BEV" if i < ne else "petrol", f"{year}-06-01", "", "441502")
            for year, ne in ne_by_year.items() for i in range(per_year)]
    vehicles = pd.DataFrame(rows, columns=["vehicle_id", "vehicle_class", "powertrain", "registered_on",
                                           "deregistered_on", "county_code"])
    vehicles["registered_on"] = pd.to_datetime(vehicles["registered_on"])
    vehicles["deregistered_on"] = pd.to_datetime(vehicles["deregistered_on"].replace("", None))
    vehicles["is_operating"] = False
    return Records(vehicles=vehicles, activity=pd.DataFrame(columns=["year"]))
