"""Daily charging energy of each bus and taxi depot, from its plug-in vehicles and the activity table.

The siting sizes depot chargers from these records (``DepotDemand.to_dict`` is the dict it takes).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from planner.fleet.records import FleetRecords
from planner.fleet.schema import PLUG_IN_POWERTRAINS
from planner.fleet.stock import in_stock

#: Depot-demand fallbacks, used only where the activity table has no row for a depot's vehicles
#: (ASSUMPTIONS: a 10-12 m e-bus 1.05 kWh/km, 165 km/day; an e-taxi 0.15 kWh/km, 300 km/day).
DEFAULT_KWH_PER_KM: dict[str, float] = {"bus": 1.05, "coach": 1.2, "taxi": 0.15, "ride_hailing": 0.14,
                                         "passenger_car": 0.15, "van": 0.20, "truck": 0.55, "special": 0.8}
DEFAULT_DAILY_KM: dict[str, float] = {"bus": 165.0, "coach": 250.0, "taxi": 300.0, "ride_hailing": 165.0,
                                       "passenger_car": 35.0, "van": 80.0, "truck": 120.0, "special": 60.0}
#: A PHEV's share of its class's fallback kWh per km.
PHEV_ELECTRIC_FRACTION = 0.6

FleetKind = Literal["bus", "taxi"]


@dataclass(frozen=True)
class DepotDemand:
    """One depot's plug-in vehicles in stock on 31 Dec and their daily energy (WGS84 lon/lat)."""

    depot_id: str
    name: str
    operator: str
    fleet_kind: FleetKind
    county_code: str
    lon: float
    lat: float
    vehicles: int
    daily_kwh: float
    #: Fleet-average kWh per km and km per vehicle-day (None without vehicles).
    kwh_per_km: float | None
    daily_km: float | None
    grid_capacity_kw: float | None
    location_approximate: bool
    #: The activity year the rates come from (None without activity).
    activity_year: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the depot dict ``siting.plan`` takes."""
        return asdict(self)


def depot_energy_demand(records: FleetRecords, *, year: int) -> tuple[DepotDemand, ...]:
    """Plug-in vehicles and their daily energy per depot on 31 Dec ``year``, in the depots table's order.

    Daily kWh per vehicle = kWh/km × daily km of its class, powertrain and county in the activity table
    of ``year`` (or the nearest earlier year; the earliest if none is earlier): kWh/km =
    electricity_kwh / vehicle_km and daily km = vehicle_km / vehicle_years / 365. Where the activity has
    no such row, ``DEFAULT_KWH_PER_KM`` × ``DEFAULT_DAILY_KM`` of the class is used (PHEV: 60 % of it).
    """
    depots = records.depots
    if depots.empty:
        return ()
    vehicles = records.vehicles
    plug_in = vehicles["powertrain"].isin(PLUG_IN_POWERTRAINS).to_numpy()
    has_depot = vehicles["depot_id"].notna().to_numpy()
    chosen = vehicles[in_stock(vehicles, year) & plug_in & has_depot]
    groups = chosen.groupby(["depot_id", "vehicle_class", "powertrain", "county_code"]).size()

    activity = records.activity
    act_year = None
    lookup: dict[tuple[str, str, str], tuple[float, float]] = {}
    if not activity.empty:
        act_years = sorted({int(y) for y in activity["year"]})
        earlier = [y for y in act_years if y <= year]
        act_year = earlier[-1] if earlier else act_years[0]
        rows = activity[(activity["year"] == act_year) & (activity["vehicle_km"] > 0) & (activity["vehicle_years"] > 0)]
        for r in rows.itertuples(index=False):
            lookup[(r.vehicle_class, r.powertrain, r.county_code)] = (
                r.electricity_kwh / r.vehicle_km, r.vehicle_km / r.vehicle_years / 365.0)

    per_depot: dict[str, list[float]] = {}
    for (depot_id, vclass, powertrain, county), count in groups.items():
        kwh_per_km, daily_km = lookup.get((vclass, powertrain, county), (math.nan, math.nan))
        if math.isnan(kwh_per_km):
            kwh_per_km = DEFAULT_KWH_PER_KM.get(vclass, 0.2) * (PHEV_ELECTRIC_FRACTION if powertrain == "PHEV" else 1.0)
            daily_km = DEFAULT_DAILY_KM.get(vclass, 100.0)
        acc = per_depot.setdefault(depot_id, [0.0, 0.0, 0.0])
        acc[0] += count
        acc[1] += count * kwh_per_km * daily_km
        acc[2] += count * daily_km
    out = []
    for d in depots.itertuples(index=False):
        n, kwh, km = per_depot.get(d.depot_id, [0.0, 0.0, 0.0])
        capacity = d.grid_capacity_kw
        out.append(DepotDemand(
            depot_id=str(d.depot_id), name=str(d.name), operator=str(d.operator), fleet_kind=d.fleet_kind,
            county_code=str(d.county_code), lon=float(d.lon), lat=float(d.lat), vehicles=int(n),
            daily_kwh=float(kwh), kwh_per_km=kwh / km if km else None, daily_km=km / n if n else None,
            grid_capacity_kw=None if capacity is None or (isinstance(capacity, float) and math.isnan(capacity))
            else float(capacity),
            location_approximate=bool(d.location_approximate),
            activity_year=None if act_year is None else int(act_year),
        ))
    return tuple(out)
