"""Traffic assumptions behind corridor demand, each with its unit, meaning and source.

Every field carries ``metadata`` with ``unit``, ``help`` and ``source`` so that the scenario file's
documentation (``evplan scenario show``) is generated from here and cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def doc(default: Any = None, *, unit: str, help: str, source: str, factory: Any = None,
        low: float | None = None, high: float | None = None, choices: tuple[str, ...] = ()) -> Any:
    """A dataclass field with its unit, meaning and source as metadata.

    ``low``/``high``: the inclusive physical range of a number (of each value of a table such as
    ``ev_share_by_year``); ``choices``: the allowed values of a text field. The scenario file and the
    API check values against them (``planner.siting.scenario``).
    """
    meta = {"unit": unit, "help": help, "source": source, "low": low, "high": high, "choices": tuple(choices)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrafficAssumptions:
    """How origin-destination traffic becomes peak-hour charging arrivals on the corridors."""

    corridor_demand: str = doc(
        "flows", unit="", choices=("flows", "uniform"),
        help="how corridor sites get their stopping traffic: routed O-D flows (gravity model, or a bureau's O-D "
             "table, calibrated to its counts) or the uniform expressway assumption of [demand]",
        source="choice of the planner (issue: demand from traffic, not one AADT for every expressway)")
    #: Which day the chargers are sized for.
    design_day: str = doc("ordinary", unit="", help="day the corridor chargers are sized for: ordinary or holiday",
                          source="choice of the planner", choices=("ordinary", "holiday"))
    holiday_traffic_factor: float = doc(
        1.6, unit="x AADT", low=0.1, high=10.0, help="daily expressway traffic on a toll-free holiday peak day against the annual average",
        source="ASSUMPTION: toll-free holiday peaks on Guangdong expressways run well above the annual average; "
               "replace with the operator's counts")
    # ---- origin-destination flows (planner.demand.flows, gateways) ----
    class_shares: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="fraction of vehicles", low=0.0, high=1.0,
        help="vehicle classes (car, truck, coach) in the traffic entering at a gateway; sums to 1",
        source="ASSUMPTION: trucks are roughly a quarter of the vehicles on Guangdong's coastal expressways; "
               "replace with the operator's class counts (or calibrate to counts with class shares)",
        factory=lambda: {"car": 0.70, "truck": 0.25, "coach": 0.05})
    gateway_aadt_by_road: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="vehicles/day, both directions", low=0.0, high=500_000.0,
        help="AADT where a road of this class (motorway, trunk) leaves the network, per gateway",
        source="ASSUMPTION: motorway as the former uniform expressway AADT (40,000); a national trunk road "
               "(G324) a third of it; replace with counts (data/traffic/README.md)",
        factory=lambda: {"motorway": 40_000.0, "trunk": 12_000.0})
    gateway_aadt: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="vehicles/day, both directions", low=0.0, high=500_000.0,
        help="AADT of named gateways (gateway id, e.g. G15-west), replacing gateway_aadt_by_road for them",
        source="none by default: the planner's or the bureau's counts", factory=dict)
    through_share_by_road: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="fraction", low=0.0, high=1.0,
        help="share of a gateway's traffic that crosses the network to another gateway (through traffic)",
        source="ASSUMPTION: most expressway traffic at the city's edge is Shenzhen/Huizhou <-> Shantou/Jieyang "
               "traffic; a national road carries mostly local traffic",
        factory=lambda: {"motorway": 0.6, "trunk": 0.2})
    gateway_toward: dict[str, str] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="", help="where a gateway leads, by its compass direction from the network's centre (8 points)",
        source="Shanwei's neighbours: Shenzhen/Huizhou to the west, Shantou/Jieyang to the east, "
               "Heyuan/Meizhou to the north; another city replaces the table",
        factory=lambda: {"west": "Shenzhen/Huizhou", "southwest": "Shenzhen/Huizhou", "northwest": "Shenzhen/Huizhou",
                         "east": "Shantou/Jieyang", "southeast": "Shantou/Jieyang", "northeast": "Shantou/Jieyang",
                         "north": "north (Heyuan/Meizhou)", "south": "south"})
    gateway_external_km: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="km", low=0.0, high=2_000.0,
        help="mean distance a gateway's trips run beyond the network, by where the gateway leads (gateway_toward)",
        source="ASSUMPTION: Shenzhen's centre about 120 km beyond the western boundary, Shantou about 100 km "
               "beyond the eastern one, Heyuan/Meizhou about 150 km to the north",
        factory=lambda: {"Shenzhen/Huizhou": 120.0, "Shantou/Jieyang": 100.0, "north (Heyuan/Meizhou)": 150.0})
    town_trip_rate: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="vehicle trips/resident/day", low=0.0, high=5.0,
        help="vehicle trips a town's residents make to other towns per day, by class (gravity productions)",
        source="ASSUMPTION: with ~0.15 cars per resident, one inter-town car trip per car every three days",
        factory=lambda: {"car": 0.05, "truck": 0.008, "coach": 0.002})
    gravity_decay_per_min: float = doc(
        0.03, unit="1/min", low=0.0, high=1.0,
        help="exponential deterrence of the gravity model: weight exp(-decay x travel time)",
        source="ASSUMPTION: halves the attraction of a town every ~23 minutes of driving; calibrate to counts")
    fallback_town_population: int = doc(
        30_000, unit="residents", low=0, high=10_000_000,
        help="gravity mass of a town with unknown population when no town of its county has one "
             "(otherwise the county's mean over towns with a population)",
        source="ASSUMPTION: a typical Guangdong township seat")
    ev_share_by_class_year: dict[str, dict[int, float]] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="fraction of vehicles", low=0.0, high=1.0,
        help="EV share of the traffic (not of the local stock) by class and year; linear between years, "
             "flat outside",
        source="ASSUMPTION: passing cars include Shenzhen's (far higher NEV share than Shanwei's stock); "
               "electric heavy trucks and coaches are few on intercity routes; replace with survey data",
        factory=lambda: {"car": {2025: 0.10, 2030: 0.25, 2035: 0.40},
                         "truck": {2025: 0.01, 2030: 0.04, 2035: 0.10},
                         "coach": {2025: 0.05, 2030: 0.15, 2035: 0.30}})
    ev_share_factor_by_toward: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="x", low=0.0, high=10.0,
        help="multiplier of the EV share for trips with an end at a gateway leading there (capped at share 1)",
        source="ASSUMPTION: Shenzhen's new-energy share of cars is well above Guangdong's average",
        factory=lambda: {"Shenzhen/Huizhou": 1.5})
    ev_range_km: dict[str, float] = doc(  # noqa: RUF009 (doc returns a dataclasses.field)
        unit="km", low=1.0, high=2_000.0, help="EV range on the expressway by class (full battery)",
        source="ASSUMPTION: a 2025 mid-size EV ~400 km at motorway speed; electric trucks and coaches ~250-300 km",
        factory=lambda: {"car": 400.0, "truck": 250.0, "coach": 300.0})
    # ---- the stop model (planner.demand.flows.expected_trip_stops, share_stops) ----
    departure_charge_share: float = doc(
        0.9, unit="fraction of the battery", low=0.05, high=1.0,
        help="state of charge an EV starts a trip with; the usable range of a trip's first leg is "
             "(departure_charge_share - reserve_charge_share) x ev_range_km",
        source="ASSUMPTION: drivers set out on an intercity trip nearly full (home or depot charging to "
               "80-100 %); with the reserve this keeps the former 70 % comfortable range")
    reserve_charge_share: float = doc(
        0.2, unit="fraction of the battery", low=0.0, high=0.95,
        help="state of charge at which a driver stops to charge",
        source="ASSUMPTION: drivers keep a 20-30 % reserve on the expressway (range anxiety, queues)")
    charge_to_share: float = doc(
        0.8, unit="fraction of the battery", low=0.05, high=1.0,
        help="state of charge a fast-charging stop ends at; each later leg covers "
             "(charge_to_share - reserve_charge_share) x ev_range_km",
        source="fast charging slows sharply above about 80 % (the charging curve of lithium-ion cells), so "
               "drivers leave there")
    service_area_stop_weight: float = doc(
        10.0, unit="x an interchange's", low=0.01, high=1_000.0,
        help="preference weight of a service-area side against an interchange (weight 1) when a trip's "
             "in-area charging stops are shared over the sites it passes",
        source="ASSUMPTION: an expressway driver charges at a service area on the carriageway (one passed "
               "beside one interchange takes 10 of 11 stops); charging at an interchange means leaving through "
               "a toll gate for a detour into town")


    def __post_init__(self) -> None:
        """Checks between values that no single range states (a ``ValueError`` naming the key; the scenario
        file and the API add where)."""
        problems = traffic_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

@dataclass(frozen=True)
class TownDemandAssumptions:
    """How the fleet records' EVs in a town become its peak-hour public fast-charging arrivals.

    Daily public fast sessions of a town = sum over classes of its EVs x sessions per EV per day x the share
    of them at public fast chargers; the peak hour takes ``scenario.demand.peak_hour_factor`` of the day
    (``planner.demand.towns``). Energy per session is ``ChargerNorms.session_energy_kwh`` (36 kWh).
    """

    passenger_car_sessions_per_ev_day: float = doc(
        0.15, unit="sessions/EV/day", low=0.0, high=10.0,
        help="charging sessions (anywhere) per plug-in private car per day",
        source="ASSUMPTION: about 13,000 km a year (36 km a day) at 0.15 kWh/km is 5.4 kWh a day, 0.15 of a "
               "36 kWh session")
    passenger_car_public_fast_share: float = doc(
        0.67, unit="fraction", low=0.0, high=1.0,
        help="share of a private car's sessions at public fast chargers (the rest at home or work)",
        source="ASSUMPTION: many residents have no private parking space to charge at; with 0.15 sessions a day "
               "it keeps the former 0.10 public fast sessions per EV per day (DemandAssumptions)")
    taxi_sessions_per_ev_day: float = doc(
        1.25, unit="sessions/EV/day", low=0.0, high=10.0,
        help="charging sessions per electric taxi per day",
        source="the fleet records' use: 110,000 km a year (301 km a day) at 0.15 kWh/km is 45 kWh a day, "
               "1.25 sessions of 36 kWh (data/fleet/README.md)")
    taxi_public_fast_share: float = doc(
        0.5, unit="fraction", low=0.0, high=1.0,
        help="share of a taxi's sessions at public fast chargers during shifts (the rest at its yard); the "
             "depot sizing counts a yard's taxis' whole daily energy, so lower this where yards carry all",
        source="ASSUMPTION: two shifts a day, one charge at the yard between them and one on the road")
    ride_hailing_sessions_per_ev_day: float = doc(
        0.69, unit="sessions/EV/day", low=0.0, high=10.0,
        help="charging sessions per electric ride-hailing car per day",
        source="the fleet records' use: 60,000 km a year (164 km a day) at 0.15 kWh/km is 24.7 kWh a day, "
               "0.69 sessions of 36 kWh (data/fleet/README.md)")
    ride_hailing_public_fast_share: float = doc(
        0.8, unit="fraction", low=0.0, high=1.0,
        help="share of a ride-hailing car's sessions at public fast chargers (no depot; some charge at home)",
        source="ASSUMPTION: drivers charge between trips at public fast chargers")

    def public_fast_sessions_per_ev_day(self, vehicle_class: str) -> float:
        """Public fast sessions per EV per day of ``vehicle_class`` (passenger_car, taxi, ride_hailing)."""
        try:
            return (getattr(self, f"{vehicle_class}_sessions_per_ev_day")
                    * getattr(self, f"{vehicle_class}_public_fast_share"))
        except AttributeError:
            raise ValueError(f"no town demand assumptions for vehicle class {vehicle_class!r}: expected one of "
                             f"{', '.join(TOWN_DEMAND_CLASSES)}") from None


#: Vehicle classes of the fleet records that charge at public fast chargers in their towns.
TOWN_DEMAND_CLASSES: tuple[str, ...] = ("passenger_car", "taxi", "ride_hailing")


#: The vehicle classes of the traffic model (``planner.demand.flows.VEHICLE_CLASSES`` is this).
TRAFFIC_CLASSES = ("car", "truck", "coach")
#: Road classes where a gateway can be (``planner.demand.gateways``).
GATEWAY_ROADS = ("motorway", "trunk")


def traffic_problems(t: TrafficAssumptions) -> list[str]:
    """What is inconsistent in ``t``, each naming its key (empty when nothing is)."""
    out: list[str] = []
    classes = set(TRAFFIC_CLASSES)
    for name in ("class_shares", "town_trip_rate", "ev_range_km", "ev_share_by_class_year"):
        table = getattr(t, name)
        missing, unknown = classes - set(table), set(table) - classes
        if missing or unknown:
            out.append(f"traffic.{name}: expected one entry per vehicle class ({', '.join(TRAFFIC_CLASSES)}; a table "
                       f"replaces the default whole)" + (f", missing {', '.join(sorted(missing))}" if missing else "")
                       + (f", unknown {', '.join(sorted(unknown))}" if unknown else ""))
    if not set(t.class_shares) - classes and abs(sum(t.class_shares.values()) - 1.0) > 1e-6:
        out.append(f"traffic.class_shares: must sum to 1, got {sum(t.class_shares.values()):g}")
    for name in ("gateway_aadt_by_road", "through_share_by_road"):
        missing = set(GATEWAY_ROADS) - set(getattr(t, name))
        if missing:
            out.append(f"traffic.{name}: expected an entry for each gateway road class ({', '.join(GATEWAY_ROADS)}), "
                       f"missing {', '.join(sorted(missing))}")
    for cls, by_year in t.ev_share_by_class_year.items():
        if not by_year:
            out.append(f"traffic.ev_share_by_class_year.{cls}: expected at least one year")
    if t.reserve_charge_share >= min(t.departure_charge_share, t.charge_to_share):
        out.append(f"traffic.reserve_charge_share ({t.reserve_charge_share:g}): must be below departure_charge_share "
                   f"({t.departure_charge_share:g}) and charge_to_share ({t.charge_to_share:g})")
    places = set(t.gateway_toward.values())
    for name in ("gateway_external_km", "ev_share_factor_by_toward"):
        unknown = set(getattr(t, name)) - places
        if unknown:
            out.append(f"traffic.{name}: {', '.join(sorted(unknown))} is not a place of gateway_toward "
                       f"({', '.join(sorted(places))})")
    return out


__all__ = ["GATEWAY_ROADS", "TRAFFIC_CLASSES", "TOWN_DEMAND_CLASSES", "TownDemandAssumptions", "TrafficAssumptions", "doc", "traffic_problems"]
