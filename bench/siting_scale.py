"""The siting MILP at region size: ~100k graph nodes, ~2,000 candidates, ~1,000 demand points, to a 1 % gap.

A seeded synthetic road grid (``bench._graphs``); candidates and demand points on it; sparse reach sets
from bounded Dijkstra (only candidate columns within the drive time are kept); the model of
``planner.siting.model`` with two stages, service-area sides on the motorways (mandatory, own traffic)
and every demand point required in the final stage. Figures: reach, build and solve time, status, gap.

Two variants on the same instance, one after the other: ``before`` is the model as built from the
instance (no reduction, no starting plan); ``after`` drops dominated candidates (``dominated_sites``, as
``planner.siting.plan.model_input`` does), merges demand points of one reach set and starts the solver
from ``greedy_start``, improved by the neighbourhood search on large models (``solve_model(reduce=True)``;
"solve" is the MILP's own time, the search's is reported apart). The load average is recorded around each solve
(the machine is shared). ``python -m bench.siting_scale [--quick] [--variant after] [--out FILE]``
prints the table and writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from bench._graphs import choose_nodes, grid_roads

FULL = {"nodes": 100_000, "candidates": 2_000, "service_area_sides": 40, "demands": 1_000}
QUICK = {"nodes": 10_000, "candidates": 200, "service_area_sides": 8, "demands": 100}
DRIVE_TIME_MIN = 22.0
MIP_GAP = 0.01
TIME_LIMIT_S = 600.0


def sparse_reach(matrix: sparse.csr_matrix, sources: np.ndarray, targets: np.ndarray, limit_s: float,
                 chunk: int = 128) -> sparse.csr_matrix:
    """Drive times (s) from each source to the targets within ``limit_s``, as a sparse matrix."""
    rows, cols, vals = [], [], []
    for start in range(0, len(sources), chunk):
        dist = csgraph.dijkstra(matrix, directed=True, indices=sources[start:start + chunk], limit=limit_s)[:, targets]
        r, c = np.nonzero(dist <= limit_s)
        rows.append(r + start)
        cols.append(c)
        vals.append(np.maximum(dist[r, c], 1e-9))
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(sources), len(targets)))


def build_instance(size: dict[str, int], seed: int = 0) -> tuple[Any, dict[str, float]]:
    """The model input for a synthetic region, and the time its steps took."""
    from planner.siting.model import ChargerClass, DemandInput, ModelInput, SiteInput

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    roads = grid_roads(size["nodes"], seed=seed)
    rng = np.random.default_rng(seed)
    sa_nodes = np.sort(rng.choice(roads.motorway_nodes, size=size["service_area_sides"], replace=False))
    cand_nodes = choose_nodes(roads, size["candidates"] - len(sa_nodes), seed=seed + 1, exclude=sa_nodes)
    demand_nodes = choose_nodes(roads, size["demands"], seed=seed + 2)
    timings["graph_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reach = sparse_reach(roads.travel_time_s, demand_nodes, cand_nodes, DRIVE_TIME_MIN * 60.0)
    timings["reach_s"] = time.perf_counter() - t0
    classes = {
        "standard": ChargerClass("standard", 120.0, 70_000.0, 24.0),
        "high_power": ChargerClass("high_power", 360.0, 220_000.0, 8.0),
    }
    sites = [SiteInput(site_id=f"sa{j}", classes=("standard", "high_power"), fixed_cost_cny=600_000.0,
                       floor_by_stage=(3, 3), base_arrivals_by_stage=(float(b * 0.35), float(b)),
                       mandatory=True, high_power_class="high_power", high_power_share=0.25)
             for j, b in enumerate(rng.uniform(20, 80, len(sa_nodes)))]
    offset = len(sites)
    sites += [SiteInput(site_id=f"c{j}", classes=("standard", "high_power"), fixed_cost_cny=600_000.0,
                        floor_by_stage=(3, 3), high_power_class="high_power", high_power_share=0.25)
              for j in range(len(cand_nodes))]
    arrivals = rng.lognormal(mean=0.5, sigma=1.0, size=len(demand_nodes))
    people = (arrivals * 3_000).astype(int)
    demands = []
    for i in range(len(demand_nodes)):
        row = reach.getrow(i)
        demands.append(DemandInput(
            demand_id=f"d{i}", arrivals_by_stage=(float(arrivals[i] * 0.35), float(arrivals[i])),
            sites=tuple(int(offset + k) for k in row.indices), required_by_stage=(False, True),
            people=int(people[i])))
    inp = ModelInput(years=(2025, 2030), classes=classes, sites=tuple(sites), demands=tuple(demands),
                     max_wait_probability=0.2, grid_diversity_factor=0.8, discount_rate=0.08)
    timings["mean_reach"] = float(np.mean([len(d.sites) for d in demands]))
    timings["unreached_demands"] = float(sum(1 for d in demands if not d.sites))
    return inp, timings


VARIANTS = ("before", "after")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def solve_variant(inp: Any, variant: str, time_limit_s: float) -> dict[str, Any]:
    """Solve ``inp`` as ``variant`` says; the figures of the solve and the load average around it."""
    from dataclasses import replace

    from planner.errors import InfeasibleError
    from planner.siting.model import dominated_sites, merge_demands, solve_model
    from planner.siting.solver import SolverOptions

    out: dict[str, Any] = {"variant": variant, "load_before": _load()}
    start = time.perf_counter()
    if variant == "after":
        gone = dominated_sites(inp)
        inp = replace(inp, demands=tuple(replace(d, sites=tuple(j for j in d.sites if j not in gone))
                                         for d in inp.demands),
                      windows=tuple(tuple(j for j in w if j not in gone) for w in inp.windows))
        out["dominated_sites"] = len(gone)
        out["merged_demand_points"] = len(merge_demands(inp)[1])
    out["reduce_s"] = time.perf_counter() - start
    try:
        sol = solve_model(inp, SolverOptions(mip_gap=MIP_GAP, time_limit_s=time_limit_s), reduce=variant == "after")
        out.update(status=sol.solve.status, gap=sol.solve.gap, bound=sol.solve.bound, objective=sol.present_value_cny,
                   solve_s=sol.solve.solve_time_s, build_s=sol.build_time_s, variables=sol.variables,
                   constraints=sol.constraints)
        search = [(name, r) for name, r in sol.phases if name.startswith("neighbourhood search")]
        if search:
            out.update(neighbourhood=search[0][0], neighbourhood_s=search[0][1].solve_time_s,
                       neighbourhood_cost=search[0][1].objective)
    except InfeasibleError as exc:
        out.update(status="infeasible: " + str(exc), gap=None, bound=None, objective=None, solve_s=0.0, build_s=0.0,
                   variables=0, constraints=0)
    out["total_s"] = time.perf_counter() - start
    out["load_after"] = _load()
    return out


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Build the region once and solve it as each variant; report each step's time and what the solver proved."""
    from dataclasses import replace

    size = QUICK if options.get("quick") else FULL
    limit = float(options.get("time_limit_s") or TIME_LIMIT_S)
    variants = options.get("variants") or VARIANTS
    inp, timings = build_instance(size)
    # A demand point no candidate reaches is not required (it is reported, not an infeasibility).
    inp = replace(inp, demands=tuple(d if d.sites else replace(d, required_by_stage=(False, False))
                                     for d in inp.demands))
    solved = [solve_variant(inp, v, limit) for v in variants]
    rows = [
        {"measure": "graph nodes", "value": size["nodes"], "unit": "", "note": "seeded perturbed grid"},
        {"measure": "candidates / demand points", "value": f"{len(inp.sites)} / {len(inp.demands)}", "unit": "",
         "note": f"{size['service_area_sides']} mandatory service-area sides"},
        {"measure": "sparse reach", "value": round(timings["reach_s"], 2), "unit": "s",
         "note": f"{DRIVE_TIME_MIN:g} min; mean {timings['mean_reach']:.1f} candidates per demand point, "
                 f"{timings['unreached_demands']:.0f} unreached"},
    ]
    for r in solved:
        v = r["variant"]
        extra = (f"; {r['dominated_sites']} dominated sites dropped in {r['reduce_s']:.2f} s, "
                 f"{r['merged_demand_points']} demand points after merging" if v == "after" else "")
        if r.get("neighbourhood"):
            rows.append({"measure": f"{v}: neighbourhood search", "value": round(r["neighbourhood_s"], 2), "unit": "s",
                         "note": f"{r['neighbourhood']}; start then {round(r['neighbourhood_cost'])}"})
        gap = "n/a" if r["gap"] is None else f"{100 * r['gap']:.2f} %"
        rows += [
            {"measure": f"{v}: model build", "value": round(r["build_s"] + r["reduce_s"], 2), "unit": "s",
             "note": f"{r['variables']} variables, {r['constraints']} constraints{extra}"},
            {"measure": f"{v}: solve", "value": round(r["solve_s"], 2), "unit": "s",
             "note": f"status {r['status']}, gap {gap}, present value {r['objective'] and round(r['objective'])}, "
                     f"bound {r['bound'] and round(r['bound'])}; load {r['load_before']} -> {r['load_after']}"},
        ]
    best = solved[-1]
    return {
        "title": "Siting MILP at region size (sparse reach sets, two stages, Erlang-C sizing)",
        "params": {**size, "drive_time_min": DRIVE_TIME_MIN, "mip_gap": MIP_GAP, "time_limit_s": limit,
                   "cpus": os.cpu_count()},
        "rows": rows,
        "variants": solved,
        "status": best["status"], "gap": best["gap"], "solve_s": best["solve_s"], "build_s": best["build_s"],
        "reach_s": timings["reach_s"],
        "goals": [{"goal": "siting region solves to a 1 % gap", "target": f"<= {MIP_GAP:g} gap in minutes",
                   "measured": best["gap"], "met": best["status"] == "optimal"}],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the case alone: print the table, write the JSON to ``--out`` (stdout when not given)."""
    p = argparse.ArgumentParser(prog="python -m bench.siting_scale", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small region (10k nodes, 200 candidates)")
    p.add_argument("--variant", choices=VARIANTS, action="append", help="run only this variant (repeatable)")
    p.add_argument("--time-limit-s", type=float, default=TIME_LIMIT_S, help="solver time limit per variant")
    p.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = p.parse_args(argv)
    result = run({"quick": args.quick, "variants": args.variant, "time_limit_s": args.time_limit_s})
    for r in result["rows"]:
        print(f"{r['measure']:<32} {r['value']!s:>14} {r['unit']:<3} {r['note']}")
    text = json.dumps(result, indent=2, default=str) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
