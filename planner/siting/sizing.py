"""Every charger, power and cost rule: published norms, an Erlang-C (M/M/c) queue, grid limits, prices.

The rules the model (``model.py``) chooses within: the station minimum of GB/T 50966-2024, 10 % of a
service area's car spaces, the peak-hour arrivals ``n`` chargers of a power class serve at the target
waiting probability (``max_arrivals_per_hour``, Erlang C), depot chargers for the fleet's overnight
energy, installed and coincident (diversified) power against the grid, capital costs and discounting.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Protocol

from planner.siting.candidates import Candidate


@dataclass(frozen=True)
class ChargerNorms:
    """Sizing norms; the comment on each default names its source."""

    #: GB/T 50966-2024: a charging station has at least 3 sets of charging equipment …
    min_chargers_per_station: int = 3
    #: … at least 1 of them an off-board DC charger (GB/T 50966-2024).
    min_dc_chargers_per_station: int = 1
    #: National action plan for charging along highways (2022): charging spaces >= 10 % of car spaces.
    service_area_parking_share: float = 0.10
    #: National 2026 plan: >= 25 % of new connectors high-power.
    high_power_share: float = 0.25
    #: DC power per standard connector, kW (120 kW DC: the 2019 standard pile).
    dc_power_kw: float = 120.0
    #: Power of a high-power connector, kW (Guangdong super-fast stations: >= 360 kW per connector).
    high_power_kw: float = 360.0
    #: Largest acceptable probability that an EV arriving at the peak hour has to wait.
    max_wait_probability: float = 0.2
    #: Energy delivered per fast-charging session, kWh (ASSUMPTION: ~20-80 % of a 60 kWh pack).
    session_energy_kwh: float = 36.0
    #: Share of the rated power a session averages (ASSUMPTION: taper above ~80 % state of charge).
    power_utilisation: float = 0.75
    #: Coincident peak of a site's chargers as a share of their installed power, for the grid limit
    #: (ASSUMPTION: not every connector draws its rating at once; 0.8 is a common planning value for
    #: public fast-charging sites; 1.0 checks the installed power itself).
    grid_diversity_factor: float = 0.8

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

    #: Civil works, grid connection and transformer per new site.
    site_fixed_cny: float = 600_000.0
    #: One 120 kW DC charger with installation.
    dc_charger_cny: float = 70_000.0
    #: One high-power (>= 360 kW) connector share of a liquid-cooled charger with installation.
    high_power_charger_cny: float = 220_000.0
    #: One depot charger (overnight, ``depot_power_kw``).
    depot_charger_cny: float = 40_000.0


@dataclass(frozen=True)
class DemandAssumptions:
    """Peak-hour charging demand. ASSUMPTIONS documented here; a city replaces them with counts."""

    #: Annual average daily traffic on an expressway, both directions (no public count: assumed).
    expressway_aadt: float = 40_000.0
    #: Share of daily traffic in the peak hour (typical design-hour factor 0.08-0.12).
    peak_hour_factor: float = 0.10
    #: Share of passing EVs that stop to fast-charge at a service area.
    ev_stop_share: float = 0.10
    #: Cars per resident (Shanwei's car ownership is below Guangdong's average: assumed).
    cars_per_resident: float = 0.15
    #: Fast-charging sessions per EV per day in a town without home charging for all (assumed).
    town_sessions_per_ev_day: float = 0.10
    #: EV share of the car stock (and of expressway traffic) in each stage year; the main job
    #: (``planner/pipeline.py``) replaces the defaults with the fleet records' projection.
    ev_share_by_year: dict[int, float] = field(default_factory=lambda: {2025: 0.08, 2030: 0.20})

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
