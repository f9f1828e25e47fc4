"""Sites along a 40 km road for the siting-model tests: one mandatory site mid-road with traffic of its own."""

from __future__ import annotations

import random

from planner.siting.model import SiteInput


def road_sites(rng: random.Random, n_sites: int) -> tuple[list[float], list[SiteInput]]:
    """Where the sites stand (km, sorted) and the sites: two classes, the 25 % high-power rule, site
    ``n_sites // 2`` mandatory with 4 then 9 arrivals per hour of its own."""
    where = sorted(rng.uniform(0, 40) for _ in range(n_sites))
    sites = [SiteInput(f"s{j}", ("standard", "high_power"), 600_000.0, (3, 3),
                       base_arrivals_by_stage=(4.0, 9.0) if j == n_sites // 2 else (),
                       mandatory=j == n_sites // 2, high_power_class="high_power", high_power_share=0.25)
             for j in range(n_sites)]
    return where, sites
