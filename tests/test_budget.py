"""Budget mode on the shipped Shanwei data answers every budget from the mandatory minimum up.

Three budgets (the monotone sweep is ``tests/test_plan.py``): the stated minimum, the 68.5 M CNY that ran
out of time in the coverage phase before the phases had a starting plan and time shares, and a larger
one. Each is checked from the plan's sites and towns, not from the model's own flags.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from planner.errors import InfeasibleError
from planner.siting.plan import plan_sites
from planner.siting.solver import SolverOptions
from tests.test_plan import SCENARIO, _people, _spent

#: Short enough that the coverage phase stops on time at the middle budget (it needs minutes there).
SOLVER = SolverOptions(mip_gap=0.02, time_limit_s=8)


def _active_sides(network) -> set[str]:
    return {f"sa:{s.id}:{s.side}" for s in network.service_areas if s.status == "active"}


def test_every_budget_from_the_minimum_gets_a_plan_within_it(shanwei_network) -> None:
    base = replace(SCENARIO, solver=SOLVER)
    with pytest.raises(InfeasibleError) as info:
        plan_sites(shanwei_network, scenario=replace(base, budget_cny=1_000_000.0))
    minimum = float(re.search(r"requirements \(.*\): ([\d,]+) CNY", info.value.reasons[0]).group(1).replace(",", ""))
    assert minimum < 68.5e6
    final = base.stage_years[-1]
    people = {}
    for budget in (minimum, 68.5e6, 90e6):
        plan = plan_sites(shanwei_network, scenario=replace(base, budget_cny=budget))
        assert _spent(plan) <= budget + 1e-3, budget
        # The mandatory part holds: a station on every active service-area side in every stage.
        for year in base.stage_years:
            assert {s.candidate.site_id for s in plan.sites if s.candidate.kind == "service_area"
                    and s.chargers_by_stage[year] >= base.norms.min_chargers_per_station} == _active_sides(
                shanwei_network), (budget, year)
        # A covered town is served whole by open sites within the drive time.
        open_ids = {s.candidate.site_id for s in plan.sites if s.chargers_by_stage[final] > 0}
        for tc in plan.towns:
            if tc.covered_by_stage[final]:
                assert tc.sites_by_stage[final] and set(tc.sites_by_stage[final]) <= open_ids, tc.town.name
                assert tc.minutes_by_stage[final] is not None
                assert tc.minutes_by_stage[final] <= base.drive_time_min + 1e-9
        # A phase stopped on time hands on its plan: then the plan is never called optimal.
        phases = {name: r.status for name, r in plan.model.phases}
        if phases["most people served within the budget"] != "optimal":
            assert plan.solve.status == "feasible" and plan.summary()["solver"]["status"] == "feasible"
        people[budget] = _people(plan)
    assert people[68.5e6] >= people[minimum] and people[90e6] >= people[minimum]
    assert people[90e6] > people[minimum]
