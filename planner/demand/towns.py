"""Public fast-charging demand per town from the fleet records: each county's EVs spread over its towns.

For each vehicle class of ``TOWN_DEMAND_CLASSES`` (private cars, taxis, ride-hailing cars), the plug-in
(BEV, PHEV) stock of each county on 31 Dec of the year is shared over the county's towns in proportion to
their population (equally when no town of the county has one; a town of unknown population in a county
whose other towns have one gets none: e.g. the 深汕 towns, which are not 海丰县's). So the towns' EVs add
up to the records' EV stock of every county that has a town. Years up to the records' last year are
observed stocks; later stage years scale the county's private EVs by the projected EV share of the car
stock (``planner.fleet.ev_car_share_projection``) over its value in the last record year, holding the
car stock; taxis and ride-hailing cars stay at the last record year (the projection covers cars only).

A town's daily public fast sessions are sum over classes of EVs x ``public_fast_sessions_per_ev_day``
(``TownDemandAssumptions``); its peak-hour arrivals take ``peak_hour_factor`` of them (the scenario's
``demand.peak_hour_factor``). Buses charge at their depots and are left out (``plan_sites(depots=...)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.demand.assumptions import TOWN_DEMAND_CLASSES, TownDemandAssumptions
from planner.errors import RecordError
from planner.fleet.records import FleetRecords
from planner.fleet.schema import PLUG_IN_POWERTRAINS
from planner.fleet.stock import in_stock, record_years
from planner.siting.candidates import Town
from planner.siting.plan import DemandPoint


@dataclass(frozen=True)
class TownEVs:
    """One town's EVs by year and class, and the public fast-charging demand they make."""

    town: Town
    #: EVs by year, then vehicle class (fractions: a county's EVs are shared by population).
    evs_by_year: dict[int, dict[str, float]]
    #: Public fast-charging sessions per day, by year.
    sessions_per_day_by_year: dict[int, float]
    #: Peak-hour arrivals at public fast chargers, by year.
    arrivals_per_hour_by_year: dict[int, float]


@dataclass(frozen=True)
class TownDemand:
    """Town demand from the fleet records: per town, and the county stocks it was spread from."""

    rows: tuple[TownEVs, ...]
    #: The records' last year, whose stocks are observed.
    records_year: int
    #: The records' EV stock per year (stage years and the records' year), county and class.
    county_evs: Mapping[int, Mapping[str, Mapping[str, float]]]
    #: EVs of counties without a town in the network, per year, county and class (not placed).
    unplaced: Mapping[int, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    #: Private-car EV growth over the records' year by later stage year (projected share / observed share).
    car_growth: Mapping[int, float] = field(default_factory=dict)
    assumptions: TownDemandAssumptions = field(default_factory=TownDemandAssumptions)

    @property
    def towns(self) -> list[Town]:
        """The towns, for ``plan_sites(towns=...)``."""
        return [r.town for r in self.rows]

    def demand_points(self, years: Iterable[int] | None = None) -> list[DemandPoint]:
        """The plan's demand points (``plan_sites(demand=...)``), one per town; ``people`` its population."""
        out = []
        for r in self.rows:
            t = r.town
            arrivals = r.arrivals_per_hour_by_year if years is None else {
                y: r.arrivals_per_hour_by_year[y] for y in years}
            out.append(DemandPoint(demand_id=f"town:{t.town_id}", name=t.name, lon=t.lon, lat=t.lat, node=t.node,
                                   arrivals_by_year=dict(arrivals), people=t.population, county_code=t.county_code))
        return out

    def report(self) -> dict[str, Any]:
        """JSON-ready: per year and county the records' EVs by class, the towns' sum, sessions and arrivals."""
        out: dict[str, Any] = {}
        for year, counties in sorted(self.county_evs.items()):
            rows: dict[str, Any] = {}
            for code, by_class in sorted(counties.items()):
                mine = [r for r in self.rows if r.town.county_code == code]
                rows[code] = {
                    "evs_records": dict(by_class),
                    "evs_towns": {c: round(sum(r.evs_by_year[year].get(c, 0.0) for r in mine), 6) for c in by_class},
                    "towns": len(mine),
                    "public_fast_sessions_per_day": round(sum(r.sessions_per_day_by_year[year] for r in mine), 3),
                    "peak_arrivals_per_hour": round(sum(r.arrivals_per_hour_by_year[year] for r in mine), 3),
                }
            out[str(year)] = rows
        return {"records_year": self.records_year, "by_year": out,
                "unplaced": {str(y): {k: dict(v) for k, v in c.items()} for y, c in self.unplaced.items()},
                "car_growth": {str(k): v for k, v in self.car_growth.items()}}


def county_ev_stock(records: FleetRecords, year: int, classes: Sequence[str] = TOWN_DEMAND_CLASSES
                    ) -> dict[str, dict[str, int]]:
    """Plug-in (BEV, PHEV) vehicles of ``classes`` in the stock on 31 Dec ``year``, per county and class."""
    v = records.vehicles
    mask = in_stock(v, year) & v["powertrain"].isin(PLUG_IN_POWERTRAINS).to_numpy() & \
        v["vehicle_class"].isin(list(classes)).to_numpy()
    counts = v[mask].groupby(["county_code", "vehicle_class"]).size()
    out: dict[str, dict[str, int]] = {}
    for (code, cls), n in counts.items():
        out.setdefault(str(code), {})[str(cls)] = int(n)
    return out


def _county_cars(records: FleetRecords, year: int) -> dict[str, int]:
    """Passenger cars of any powertrain in the stock on 31 Dec ``year``, per county."""
    v = records.vehicles
    mask = in_stock(v, year) & (v["vehicle_class"] == "passenger_car").to_numpy()
    return {str(k): int(n) for k, n in v[mask].groupby("county_code").size().items()}


def spread_weights(towns: Sequence[Town]) -> list[float]:
    """Each town's share of its county's EVs: by population; equal when no town has one (see module)."""
    pops = [t.population or 0 for t in towns]
    total = sum(pops)
    if total > 0:
        return [p / total for p in pops]
    return [1.0 / len(towns)] * len(towns) if towns else []


def town_demand_from_records(
    towns: Sequence[Town],
    records: FleetRecords,
    *,
    stage_years: Sequence[int],
    peak_hour_factor: float,
    assumptions: TownDemandAssumptions | None = None,
    car_share_by_year: Mapping[int, float] | None = None,
) -> TownDemand:
    """The towns' EVs and public fast-charging demand for ``stage_years`` (module rules).

    ``car_share_by_year``: the EV share of the car stock by year (the records' projection by default,
    ``planner.fleet.ev_car_share_projection``); it must cover the records' last year and the later stage
    years. Raises ``RecordError`` when the records hold no vehicles.
    """
    a = assumptions or TownDemandAssumptions()
    span = record_years(records)
    if not span:
        raise RecordError("the fleet records hold no vehicles: no town demand can be derived from them")
    last = span[-1]
    years = sorted({int(y) for y in stage_years} | {last})
    later = [y for y in years if y > last]
    growth: dict[int, float] = {}
    if later:
        if car_share_by_year is None:
            from planner.fleet.projection import ev_car_share_projection

            car_share_by_year = ev_car_share_projection(records, years=[last, *later])
        base = car_share_by_year.get(last)
        if base is None:
            raise RecordError(f"no EV share of the car stock for the records' last year {last}: cannot project "
                              f"private EVs to {', '.join(map(str, later))}")
        if base > 0:
            growth = {y: float(car_share_by_year[y]) / float(base) for y in later}
    observed = {y: county_ev_stock(records, y) for y in years if y <= last}
    # No plug-in car at all in the last year: later years take the projected share of the county's cars.
    cars = _county_cars(records, last) if later and not growth else {}
    stock: dict[int, dict[str, dict[str, float]]] = {}
    for y in years:
        if y <= last:
            stock[y] = {k: {c: float(n) for c, n in v.items()} for k, v in observed[y].items()}
        elif growth:
            stock[y] = {k: {c: n * (growth[y] if c == "passenger_car" else 1.0) for c, n in v.items()}
                        for k, v in observed[last].items()}
        else:
            share = float(car_share_by_year[y]) if car_share_by_year else 0.0
            stock[y] = {k: dict(v) for k, v in observed[last].items()}
            for code, n in cars.items():
                stock[y].setdefault(code, {})["passenger_car"] = n * share
    by_county: dict[str, list[int]] = {}
    for i, t in enumerate(towns):
        if t.county_code is not None:
            by_county.setdefault(t.county_code, []).append(i)
    evs: list[dict[int, dict[str, float]]] = [{y: {} for y in years} for _ in towns]
    unplaced: dict[int, dict[str, dict[str, float]]] = {}
    for y in years:
        for code, by_class in stock[y].items():
            idx = by_county.get(code)
            if not idx:
                unplaced.setdefault(y, {})[code] = dict(by_class)
                continue
            w = spread_weights([towns[i] for i in idx])
            for i, wi in zip(idx, w, strict=True):
                for cls, n in by_class.items():
                    evs[i][y][cls] = n * wi
    rows = []
    for t, e in zip(towns, evs, strict=True):
        sessions = {y: sum(n * a.public_fast_sessions_per_ev_day(c) for c, n in e[y].items()) for y in years}
        rows.append(TownEVs(t, e, sessions, {y: s * peak_hour_factor for y, s in sessions.items()}))
    return TownDemand(tuple(rows), last, stock, unplaced, growth, a)


__all__ = ["TownDemand", "TownEVs", "county_ev_stock", "spread_weights", "town_demand_from_records"]
