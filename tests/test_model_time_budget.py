"""The siting solve as one time budget: the solver phases together stay within ``time_limit_s`` (the
limits handed to HiGHS are summed, not timed), the fill keeps its share, the progress callback hears
each phase, and dense reach sets skip the neighbourhood search."""

from __future__ import annotations

import pytest

import planner.siting.model as model
from planner.siting.solver import SolverOptions
from tests.test_model_neighbourhood import line_region


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Record the time limit of every solve the siting model hands to the solver (the real one runs)."""
    limits: list[float | None] = []
    real = model.solve_problem

    def solve(prob, options=SolverOptions(), start=None):
        limits.append(options.time_limit_s)
        return real(prob, options, start)

    monkeypatch.setattr(model, "solve_problem", solve)
    return limits


def test_the_milp_leaves_the_fill_its_share_of_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """2025 has demand the model need not serve, so the fill runs: the MILP's limit is the whole limit
    less the fill's share, and the fill's at least that share."""
    limits = _recording(monkeypatch)
    inp = line_region(0)
    assert model._fill_stages(inp, budget_mode=False) == [0]
    sol = model.solve_model(inp, SolverOptions(mip_gap=0.0, time_limit_s=40.0), reduce=False)
    names = [name for name, _ in sol.phases]
    assert names == ["least present value", "spare capacity serves demand in 2025"]
    milp, fill = limits[0], limits[-1]
    assert milp == pytest.approx(40.0 * (1 - model.FILL_TIME_SHARE))
    assert fill is not None and fill >= model.FILL_TIME_SHARE * 40.0 - 1e-9
    assert fill <= 40.0 - sol.phases[0][1].solve_time_s + 1e-6


def test_no_fill_no_reserve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every demand required in every stage: nothing to fill, and the MILP has the whole limit."""
    from dataclasses import replace

    limits = _recording(monkeypatch)
    inp = line_region(1)
    inp = replace(inp, demands=tuple(replace(d, required_by_stage=(True, True)) for d in inp.demands))
    assert model._fill_stages(inp, budget_mode=False) == []
    sol = model.solve_model(inp, SolverOptions(mip_gap=0.0, time_limit_s=40.0), reduce=False)
    assert [name for name, _ in sol.phases] == ["least present value"]
    assert limits == [pytest.approx(40.0)]


def test_every_phase_is_announced_in_order() -> None:
    heard: list[str] = []
    sol = model.solve_model(line_region(2), SolverOptions(mip_gap=0.0, time_limit_s=60.0),
                            progress=lambda fraction, message: heard.append(message))
    assert sol.solve.status == "optimal"
    starts = [m.split(" (")[0].removesuffix(" …") for m in heard]
    assert starts[:3] == ["set-cover bounds as cuts", "starting plan", "MILP: least present value"]
    assert heard[3].startswith("MILP: optimal ")
    assert heard[4].startswith("spare capacity may serve demand in 2025 (time limit ")
    assert len(heard) == 5


def test_dense_reach_skips_the_neighbourhood_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same model with the search forced on: it runs while the mean reach is below the threshold,
    and is skipped (same optimum) once the threshold is below the instance's mean reach."""
    monkeypatch.setattr(model, "NEIGHBOURHOOD_MIN_VARIABLES", 0)
    inp = line_region(3, n_sites=30, n_demands=40)
    reach = model.mean_reach(inp)
    assert reach == pytest.approx(sum(len(d.sites) for d in inp.demands) / len(inp.demands))
    options = SolverOptions(mip_gap=0.0, time_limit_s=120.0)
    searched = model.solve_model(inp, options)
    assert any(name.startswith("neighbourhood search") for name, _ in searched.phases)
    monkeypatch.setattr(model, "NEIGHBOURHOOD_MAX_MEAN_REACH", reach - 0.5)
    skipped = model.solve_model(inp, options)
    assert not any(name.startswith("neighbourhood search") for name, _ in skipped.phases)
    assert skipped.solve.status == searched.solve.status == "optimal"
    assert skipped.present_value_cny == pytest.approx(searched.present_value_cny, rel=1e-9)
