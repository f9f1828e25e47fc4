"""Every charger, power and cost rule: published norms, an Erlang-C (M/M/c) queue, grid limits, prices.

The rules the model (``model.py``) chooses within: the station minimum of GB/T 50966-2024, 10 % of a
service area's car spaces, the peak-hour arrivals ``n`` chargers of a power class serve at the target
waiting probability (``max_arrivals_per_hour``, Erlang C), depot chargers for the fleet's overnight
energy, installed and coincident (diversified) power against the grid, capital costs and discounting.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Protocol

from planner.demand.assumptions import doc
from planner.siting.candidates import Candidate


@dataclass(frozen=True)
class ChargerNorms:
    """Sizing norms; each field's metadata names its unit, range and source (``doc``)."""

    min_chargers_per_station: int = doc(
        3, unit="chargers", help="fewest chargers (sets of charging equipment) a charging station has",
        source="GB/T 50966-2024: a charging station has at least 3 sets of charging equipment", low=1, high=500)
    min_dc_chargers_per_station: int = doc(
        1, unit="chargers", help="fewest off-board DC chargers among a station's chargers",
        source="GB/T 50966-2024: at least 1 of a station's chargers an off-board DC charger", low=0, high=500)
    service_area_parking_share: float = doc(
        0.10, unit="fraction", help="charging spaces a service area needs as a share of its car spaces",
        source="national action plan for charging along highways (2022): charging spaces >= 10 % of car spaces",
        low=0.0, high=1.0)
    high_power_share: float = doc(
        0.25, unit="fraction", help="share of new connectors that are high-power (rounded up per site)",
        source="national 2026 plan: >= 25 % of new connectors high-power", low=0.0, high=1.0)
    dc_power_kw: float = doc(
        120.0, unit="kW", help="DC power per standard connector",
        source="120 kW DC: the 2019 standard pile", low=20.0, high=1000.0)
    high_power_kw: float = doc(
        360.0, unit="kW", help="power of a high-power connector",
        source="Guangdong super-fast stations: >= 360 kW per connector", low=20.0, high=2000.0)
    max_wait_probability: float = doc(
        0.2, unit="probability", help="largest acceptable probability that an EV arriving at the peak hour waits "
                                      "(Erlang C)",
        source="ASSUMPTION: planning choice", low=0.01, high=0.5)
    session_energy_kwh: float = doc(
        36.0, unit="kWh", help="energy delivered per fast-charging session",
        source="ASSUMPTION: about 20-80 % of a 60 kWh pack", low=1.0, high=500.0)
    power_utilisation: float = doc(
        0.75, unit="fraction", help="share of the rated power a session averages",
        source="ASSUMPTION: the charging curve tapers above about 80 % state of charge", low=0.05, high=1.0)
    grid_diversity_factor: float = doc(
        0.8, unit="fraction", help="coincident peak of a site's chargers as a share of their installed power, "
                                   "against its grid capacity (1.0 checks the installed power itself)",
        source="ASSUMPTION: not every connector draws its rating at once; 0.8 is a common planning value for "
               "public fast-charging sites", low=0.1, high=1.0)

    def session_minutes(self, power_kw: float | None = None) -> float:
        """Mean minutes a session occupies a charger of ``power_kw`` (default: the DC power)."""
        kw = (power_kw or self.dc_power_kw) * self.power_utilisation
        return 60.0 * self.session_energy_kwh / kw


def erlang_c(servers: int, offered_load_erlang: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with ``servers`` and load ``a = λ/μ``.

    Uses the Erlang-B recursion, which is numerically stable for large ``c``; returns 1.0 when the
    queue is unstable (``a >= c``).
    """
    a = offered_load_erlang
    if a <= 0:
        return 0.0
    if servers <= a:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = a * b / (k + a * b)
    return servers * b / (servers - a * (1.0 - b))


def chargers_for_wait(arrivals_per_hour: float, session_minutes: float, max_wait_probability: float) -> int:
    """Fewest chargers for which the Erlang-C waiting probability is at most the target."""
    if arrivals_per_hour <= 0:
        return 0
    load = arrivals_per_hour * session_minutes / 60.0
    c = max(1, math.floor(load) + 1)
    while erlang_c(c, load) > max_wait_probability:
        c += 1
    return c


def max_arrivals_per_hour(servers: int, session_minutes: float, max_wait_probability: float) -> float:
    """Most peak-hour arrivals ``servers`` chargers serve with Erlang-C waiting probability <= the target.

    The inverse of ``chargers_for_wait``: ``chargers_for_wait(a) <= servers`` exactly when
    ``a <= max_arrivals_per_hour(servers)``. Found by bisection on the offered load (Erlang C rises
    with the load); the lower end of the bracket is returned, so the figure never overstates capacity.
    """
    return _max_arrivals(int(servers), float(session_minutes), float(max_wait_probability))


@functools.lru_cache(maxsize=65536)
def _max_arrivals(servers: int, session_minutes: float, p: float) -> float:
    if servers <= 0:
        return 0.0
    lo, hi = 0.0, float(servers)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if erlang_c(servers, mid) <= p:
            lo = mid
        else:
            hi = mid
    rate = lo * 60.0 / session_minutes
    while rate > 0 and erlang_c(servers, rate * session_minutes / 60.0) > p:  # undo round-off in the rescaling
        rate = math.nextafter(rate, 0.0)
    return rate


def present_value_factor(year: int, base_year: int, discount_rate: float) -> float:
    """Discount factor of spending in ``year`` at ``base_year`` prices: ``(1 + r) ** -(year - base_year)``."""
    return (1.0 + discount_rate) ** -(year - base_year)


def required_chargers(
    *,
    norms: ChargerNorms,
    peak_arrivals_per_hour: float,
    parking_spaces: int | None = None,
    is_service_area: bool = False,
) -> int:
    """Chargers a site needs: the largest of the station minimum, the parking norm and the queue."""
    need = norms.min_chargers_per_station
    if is_service_area and parking_spaces:
        need = max(need, math.ceil(norms.service_area_parking_share * parking_spaces))
    queue = chargers_for_wait(peak_arrivals_per_hour, norms.session_minutes(), norms.max_wait_probability)
    return max(need, queue)


def high_power_split(chargers: int, norms: ChargerNorms) -> tuple[int, int]:
    """(standard DC, high-power) connectors so that at least ``high_power_share`` are high-power."""
    high = math.ceil(norms.high_power_share * chargers) if chargers else 0
    return chargers - high, high


def site_power_kw(chargers: int, norms: ChargerNorms) -> float:
    """Installed power of a site with the norm's split of standard DC and high-power connectors."""
    standard, high = high_power_split(chargers, norms)
    return standard * norms.dc_power_kw + high * norms.high_power_kw


# --------------------------------------------------------------------------------------------------
# Assumptions: capital costs and peak-hour demand
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostAssumptions:
    """Capital costs in CNY. ASSUMPTIONS, not published prices: replace with local quotes."""

    site_fixed_cny: float = doc(
        600_000.0, unit="CNY", help="civil works, grid connection and transformer per new site",
        source="ASSUMPTION: replace with local quotes", low=0.0, high=1e9)
    dc_charger_cny: float = doc(
        70_000.0, unit="CNY", help="one 120 kW DC charger with installation",
        source="ASSUMPTION: replace with local quotes", low=0.0, high=1e8)
    high_power_charger_cny: float = doc(
        220_000.0, unit="CNY", help="one high-power (>= 360 kW) connector's share of a liquid-cooled charger "
                                    "with installation",
        source="ASSUMPTION: replace with local quotes", low=0.0, high=1e8)
    depot_charger_cny: float = doc(
        40_000.0, unit="CNY", help="one depot charger (overnight, at depot_power_kw) with installation",
        source="ASSUMPTION: replace with local quotes", low=0.0, high=1e8)


@dataclass(frozen=True)
class DemandAssumptions:
    """Peak-hour charging demand. ASSUMPTIONS documented here; a city replaces them with counts."""

    expressway_aadt: float = doc(
        40_000.0, unit="vehicles per day", help="annual average daily traffic on an expressway, both directions",
        source="ASSUMPTION: no public count; replace with the operator's counts", low=0.0, high=500_000.0)
    peak_hour_factor: float = doc(
        0.10, unit="fraction", help="share of daily traffic in the design (peak) hour",
        source="ASSUMPTION: typical design-hour factor 0.08-0.12", low=0.01, high=1.0)
    ev_stop_share: float = doc(
        0.10, unit="fraction", help="share of passing EVs that stop to fast-charge at a service area",
        source="ASSUMPTION", low=0.0, high=1.0)
    cars_per_resident: float = doc(
        0.15, unit="cars per resident", help="car ownership of a town's residents",
        source="ASSUMPTION: Shanwei's car ownership is below Guangdong's average", low=0.0, high=2.0)
    town_sessions_per_ev_day: float = doc(
        0.10, unit="sessions per EV per day", help="public fast-charging sessions per EV per day in a town "
                                                   "without home charging for all",
        source="ASSUMPTION", low=0.0, high=5.0)
    ev_share_by_year: dict[int, float] = doc(  # noqa: RUF009 - doc() is a dataclasses.field with metadata
        unit="fraction", help="EV share of the car stock (and of expressway traffic) from each year on; with "
                              "fleet records the main job replaces it with the records' projection unless "
                              "ev_share_from_records is false",
        source="ASSUMPTION; the fleet records' projection when records are given (planner/pipeline.py)",
        factory=lambda: {2025: 0.08, 2030: 0.20}, low=0.0, high=1.0)
    ev_share_from_records: bool = doc(
        True, unit="", help="with fleet records, replace ev_share_by_year by the records' projection of the EV share "
                            "of the car stock (false: plan with ev_share_by_year as given)",
        source="the fleet records are the city's own figures; a scenario of other EV shares sets this to false")

    def ev_share(self, year: int) -> float:
        """EV share for ``year``: the nearest year at or before it, else the earliest known."""
        known = sorted(self.ev_share_by_year)
        before = [y for y in known if y <= year]
        return self.ev_share_by_year[before[-1] if before else known[0]]


class SizingInputs(Protocol):
    """What the site rules below read from a scenario (``planner.siting.scenario.Scenario`` has it)."""

    @property
    def norms(self) -> ChargerNorms: ...
    @property
    def costs(self) -> CostAssumptions: ...
    @property
    def demand(self) -> DemandAssumptions: ...
    @property
    def depot_power_kw(self) -> float: ...
    @property
    def depot_window_h(self) -> float: ...


# --------------------------------------------------------------------------------------------------
# Site rules
# --------------------------------------------------------------------------------------------------


def service_area_arrivals_per_hour(scenario: SizingInputs, year: int) -> float:
    """Peak-hour EVs stopping to fast-charge at one side of a service area."""
    d = scenario.demand
    return d.expressway_aadt * 0.5 * d.peak_hour_factor * d.ev_share(year) * d.ev_stop_share


def town_arrivals_per_hour(scenario: SizingInputs, population: int, year: int) -> float:
    """Peak-hour fast-charging arrivals generated by a town of ``population`` residents."""
    d = scenario.demand
    daily = population * d.cars_per_resident * d.ev_share(year) * d.town_sessions_per_ev_day
    return daily * d.peak_hour_factor


def depot_chargers(scenario: SizingInputs, cand: Candidate) -> int:
    """Depot chargers to deliver the fleet's daily energy within the overnight window."""
    if cand.depot_daily_kwh <= 0:
        return 0
    return max(1, math.ceil(cand.depot_daily_kwh / (scenario.depot_power_kw * scenario.depot_window_h)))


def minimum_chargers(scenario: SizingInputs, cand: Candidate, year: int) -> int:
    """Chargers a site needs in ``year`` if opened, before town demand is assigned to it."""
    if cand.kind == "depot":
        return depot_chargers(scenario, cand)
    arrivals = service_area_arrivals_per_hour(scenario, year) if cand.kind == "service_area" else 0.0
    return required_chargers(
        norms=scenario.norms,
        peak_arrivals_per_hour=arrivals,
        parking_spaces=cand.parking_spaces,
        is_service_area=cand.kind == "service_area",
    )


def power_kw(scenario: SizingInputs, cand: Candidate, chargers: int) -> float:
    """Installed power of ``chargers`` at a site (depots at the depot power)."""
    if cand.kind == "depot":
        return chargers * scenario.depot_power_kw
    return site_power_kw(chargers, scenario.norms)


def max_chargers(scenario: SizingInputs, cand: Candidate) -> int | None:
    """Most chargers the site's grid connection allows, or None when its capacity is unknown."""
    if cand.grid_capacity_kw is None:
        return None
    n = 0
    while power_kw(scenario, cand, n + 1) <= cand.grid_capacity_kw + 1e-9:
        n += 1
    return n


def cost_cny(scenario: SizingInputs, cand: Candidate, chargers: int) -> float:
    """Capital cost of a site with ``chargers`` (fixed part included when chargers > 0)."""
    if chargers <= 0:
        return 0.0
    c = scenario.costs
    if cand.kind == "depot":
        return c.site_fixed_cny * 0.25 + chargers * c.depot_charger_cny
    standard, high = high_power_split(chargers, scenario.norms)
    return c.site_fixed_cny + standard * c.dc_charger_cny + high * c.high_power_charger_cny
