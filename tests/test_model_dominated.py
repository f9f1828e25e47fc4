"""``dominated_sites`` (sparse overlap counts) against the plain pairwise comparison it replaced."""

from __future__ import annotations

import random

import pytest

from planner.siting.model import ChargerClass, DemandInput, ModelInput, SiteInput, dominated_sites

CLASSES = {
    "standard": ChargerClass("standard", 120.0, 70_000.0, 24.0),
    "high_power": ChargerClass("high_power", 360.0, 220_000.0, 8.0),
}


def pairwise_dominated(inp: ModelInput) -> set[int]:
    """The reference: every pair of free sites of one group compared as sets."""
    reach: dict[int, set[int]] = {}
    for i, d in enumerate(inp.demands):
        for j in d.sites:
            reach.setdefault(j, set()).add(i)
    windows: dict[int, set[int]] = {}
    for w, sites in enumerate(inp.windows):
        for j in sites:
            windows.setdefault(j, set()).add(w)
    free = [j for j, s in enumerate(inp.sites)
            if not s.mandatory and not s.has_existing and not any(s.base(t) for t in range(len(inp.years)))
            and s.grid_kw is None and s.max_by_class is None]
    groups: dict[tuple, list[int]] = {}
    for j in free:
        s = inp.sites[j]
        groups.setdefault((s.classes, s.fixed_cost_cny, s.floor_by_stage, s.high_power_class, s.high_power_share),
                          []).append(j)
    out: set[int] = set()
    for members in groups.values():
        for j in members:
            rj, wj = reach.get(j, set()), windows.get(j, set())
            for k in members:
                if k == j or k in out:
                    continue
                rk, wk = reach.get(k, set()), windows.get(k, set())
                if rj <= rk and wj <= wk and (rj != rk or wj != wk or k < j):
                    out.add(j)
                    break
    return out


def random_region(seed: int, n_sites: int, n_demands: int) -> ModelInput:
    """Sites on a line, demands reaching the sites near them (nested and equal reach sets are common),
    a few sites with their own traffic, existing chargers, grid limits or another fixed cost, some windows."""
    rng = random.Random(seed)
    sites = []
    for j in range(n_sites):
        kind = rng.random()
        sites.append(SiteInput(
            site_id=f"s{j}", classes=("standard", "high_power"),
            fixed_cost_cny=300_000.0 if kind < 0.15 else 600_000.0, floor_by_stage=(3, 3),
            base_arrivals_by_stage=(1.0, 2.0) if 0.15 <= kind < 0.2 else (),
            existing_by_stage=({"standard": 2}, {"standard": 2}) if 0.2 <= kind < 0.25 else (),
            mandatory=0.25 <= kind < 0.28, grid_kw=800.0 if 0.28 <= kind < 0.31 else None,
            high_power_class="high_power", high_power_share=0.25))
    demands = []
    for i in range(n_demands):
        centre, width = rng.randrange(n_sites), rng.randint(0, 6)
        reach = tuple(sorted({min(max(centre + rng.randint(-width, width), 0), n_sites - 1)
                              for _ in range(rng.randint(1, 8))}))
        demands.append(DemandInput(f"d{i}", (0.5, 1.5), reach, (False, True)))
    windows = tuple(tuple(sorted(rng.sample(range(n_sites), rng.randint(1, 4)))) for _ in range(rng.randint(0, 5)))
    return ModelInput(years=(2025, 2030), classes=CLASSES, sites=tuple(sites), demands=tuple(demands), windows=windows)


@pytest.mark.parametrize("seed", range(12))
def test_dominated_sites_equal_the_pairwise_comparison(seed: int) -> None:
    inp = random_region(seed, n_sites=60 + 20 * seed, n_demands=40 + 25 * seed)
    expected = pairwise_dominated(inp)
    assert dominated_sites(inp) == expected
    assert expected  # the instance has dominated sites, so the comparison says something


def test_sites_serving_nothing_keep_the_lowest_index_of_their_group() -> None:
    site = SiteInput("s", ("standard", "high_power"), 600_000.0, (3, 3), high_power_class="high_power",
                     high_power_share=0.25)
    other = SiteInput("o", ("standard", "high_power"), 300_000.0, (3, 3), high_power_class="high_power",
                      high_power_share=0.25)
    inp = ModelInput(years=(2025, 2030), classes=CLASSES, sites=(site, site, other, site),
                     demands=(DemandInput("d", (0.5, 1.0), (3,), (False, True)),))
    # Sites 0 and 1 serve nothing and are covered by site 3 (which serves d); site 2 is alone in its group.
    assert dominated_sites(inp) == pairwise_dominated(inp) == {0, 1}
    alone = ModelInput(years=(2025, 2030), classes=CLASSES, sites=(site, site, other), demands=())
    assert dominated_sites(alone) == pairwise_dominated(alone) == {1}
