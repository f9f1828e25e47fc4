"""How many chargers a site needs: published norms, an Erlang-C (M/M/c) queue, and grid limits.

A site's charger count is the largest of (i) the station minimum of GB/T 50966-2024, (ii) for an
expressway service area, 10 % of its car parking spaces (national 2022 action plan for charging along
highways), and (iii) the fewest chargers for which an arriving EV waits with probability at most
``max_wait_probability`` at the peak hour, treating the site as an M/M/c queue (Erlang C).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ChargerNorms:
    """Sizing norms; each default names its source (see DOMAIN.md)."""

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
