"""Case 3: how time and memory grow from a city to a province (synthetic road graphs, doubling).

Each size is a perturbed-grid road graph (``bench._graphs.grid_roads``) with candidate sites,
demand points and expressway service areas in proportion; the largest is Guangdong-sized
(≥ 500,000 nodes, 5,000 candidates, 50,000 demand points, 150 service areas). The model is the
core of the Shanwei plan: a weighted set covering where every demand point must have a site
within ``drive_time_min`` and every service area must have a station (a one-site row), solved to a
1 % gap with ``planner.siting.locate.set_covering``. Distances are ``planner.network.routing.costs_from``
(many-source Dijkstra with a cut-off) run over chunks of sites on the reversed graph.

Each size runs in a fresh interpreter, so its peak memory is its own.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._graphs import choose_nodes, grid_roads
from bench._measure import PeakRss, goal, median_of, profile_text, run_json_subprocess, write_json

#: The province instance of issue 7, and the fractions of it measured (each double the one before).
PROVINCE = {"nodes": 500_000, "candidates": 5_000, "demand_points": 50_000, "service_areas": 150}
FRACTIONS = (0.125, 0.25, 0.5, 1.0)
DRIVE_TIME_MIN = 30.0
MIP_GAP = 0.01
#: Time limit of a solve; the goal is 120 s, the limit leaves room to see by how much it is missed.
TIME_LIMIT_S = 300.0
SOURCES_PER_CHUNK = 64
GOAL_S = 120.0
REPEAT_IF_UNDER_S = 60.0
GOAL_MEMORY_MB = 4096.0


def instance_sizes(fraction: float) -> dict[str, int]:
    """Node, candidate, demand and service-area counts at ``fraction`` of the province."""
    return {k: max(1, round(v * fraction)) for k, v in PROVINCE.items()}


def _size_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter: build one instance, then time distances, build and solve with peak memory."""
    from scipy import sparse

    from planner.network.routing import CsrGraph, costs_from
    from planner.siting import SolverOptions, set_covering

    sizes = payload["sizes"]
    rss = PeakRss()
    t0 = time.perf_counter()
    roads = grid_roads(sizes["nodes"], seed=7)
    rng = np.random.default_rng(11)
    service_nodes = spread_along(roads.motorway_nodes, sizes["service_areas"], rng)
    other_sites = choose_nodes(roads, sizes["candidates"] - len(service_nodes), seed=12, exclude=service_nodes)
    sites = np.concatenate([service_nodes, other_sites])
    demand = choose_nodes(roads, sizes["demand_points"], seed=13)
    # Site cost in units of a typical site; service areas need civil works on a motorway.
    site_cost = np.concatenate([np.full(len(service_nodes), 1.2), rng.uniform(0.8, 1.5, len(other_sites))])
    reverse = roads.travel_time_s.T.tocsr()
    n = roads.n_nodes
    csr = CsrGraph(matrix=reverse, node_ids=tuple(range(n)), index={i: i for i in range(n)}, weight="travel_time")
    setup_s = time.perf_counter() - t0
    setup_peak = rss.peak_mb()

    # Distances: demand -> site drive times within the cut-off, as sparse coverage.
    rss.reset()
    t0 = time.perf_counter()
    demand_list = demand.tolist()
    rows, cols = [], []
    limit_s = DRIVE_TIME_MIN * 60.0
    for start in range(0, len(sites), SOURCES_PER_CHUNK):
        block = sites[start : start + SOURCES_PER_CHUNK].tolist()
        seconds = costs_from(csr, block, demand_list, limit=limit_s)  # site -> demand on the reversed graph
        s_i, d_i = np.nonzero(seconds <= limit_s)
        rows.append(d_i)
        cols.append(s_i + start)
    r, c = np.concatenate(rows), np.concatenate(cols)
    coverage = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(len(demand), len(sites)))
    distances_s = time.perf_counter() - t0
    distances_peak = rss.peak_mb()

    coverable = np.asarray(coverage.sum(axis=1)).ravel() > 0
    # Every service area must get a station: one row that only that site covers.
    mandatory = sparse.csr_matrix(
        (np.ones(len(service_nodes), dtype=bool), (np.arange(len(service_nodes)), np.arange(len(service_nodes)))),
        shape=(len(service_nodes), len(sites)),
    )
    rows_matrix = sparse.vstack([coverage[coverable], mandatory]).tocsr()

    rss.reset()
    t0 = time.perf_counter()
    result = set_covering(rows_matrix, site_cost, options=SolverOptions(mip_gap=MIP_GAP, time_limit_s=TIME_LIMIT_S))
    model_s = time.perf_counter() - t0
    model_peak = rss.peak_mb()
    return {
        "sizes": sizes,
        "graph": {"nodes": roads.n_nodes, "directed_edges": roads.n_edges},
        "coverage": {
            "pairs_within_cutoff": int(coverage.nnz),
            "mean_sites_per_demand_point": float(coverage.nnz / max(len(demand), 1)),
            "uncoverable_demand_points": int((~coverable).sum()),
            "rows": int(rows_matrix.shape[0]),
        },
        "setup_s": setup_s,
        "setup_peak_rss_mb": setup_peak,
        "distances_s": distances_s,
        "distances_peak_rss_mb": distances_peak,
        "build_s": result.build_time_s,
        "solve_s": result.solve_time_s,
        "build_and_solve_wall_s": model_s,
        "model_peak_rss_mb": model_peak,
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "sites_opened": len(result.open_sites),
        "memory_method": rss.method,
    }


def spread_along(pool: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct nodes of ``pool`` spread evenly along it (service areas every so many km of motorway)."""
    if count > len(pool):
        raise ValueError(f"asked for {count} service areas, the motorways have {len(pool)} nodes")
    step = len(pool) / count
    picks = (np.arange(count) * step + rng.uniform(0, step, count)).astype(int)
    return np.sort(pool[np.minimum(picks, len(pool) - 1)])


def _networkx_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter: the same graph as a networkx MultiDiGraph, as ``load_network`` holds a network.

    The synthetic graph skips networkx; a real province comes through it. This measures what that
    costs: the graph's resident memory (with the few attributes evplan needs; OSM graphs carry more)
    and ``planner.network.routing.to_csr``, which turns it into the CSR matrix the distances run on.
    """
    import networkx as nx

    from planner.network.routing import to_csr

    roads = grid_roads(payload["sizes"]["nodes"], seed=7)
    coo = roads.travel_time_s.tocoo()
    rss = PeakRss()
    before = rss.rss_mb()
    t0 = time.perf_counter()
    graph = nx.MultiDiGraph()
    graph.add_nodes_from((i, {"x": float(roads.x_km[i]), "y": float(roads.y_km[i])}) for i in range(roads.n_nodes))
    graph.add_edges_from(
        (int(u), int(v), {"travel_time": float(s), "length": float(s) * 11.0, "highway": "residential"})
        for u, v, s in zip(coo.row, coo.col, coo.data, strict=True)
    )
    build_s = time.perf_counter() - t0
    graph_mb = rss.rss_mb() - before
    rss.reset()
    t0 = time.perf_counter()
    to_csr(graph, weight="travel_time")
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(), "build_s": build_s,
            "graph_rss_mb": graph_mb, "to_csr_s": time.perf_counter() - t0, "to_csr_peak_rss_mb": rss.peak_mb(),
            "rss_before_graph_mb": before}


def _profile_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """A pyinstrument tree of one size (distances, build and solve)."""
    return {"profile": profile_text(lambda: _size_worker(payload), max_lines=80)}


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Every size in its own interpreter; medians of the repeats of the sizes that fit the time budget."""
    fractions = FRACTIONS[:1] if options["quick"] else FRACTIONS
    per_size: list[dict[str, Any]] = []
    for fraction in fractions:
        sizes = instance_sizes(fraction)
        runs = [run_json_subprocess("bench.scale", {"mode": "size", "sizes": sizes}, timeout_s=1800)]
        # A size that takes minutes runs once, to keep a full run within its ~15-minute budget.
        while len(runs) < options["repeats"] and _total(runs[0]) < REPEAT_IF_UNDER_S:
            runs.append(run_json_subprocess("bench.scale", {"mode": "size", "sizes": sizes}, timeout_s=1800))
        repeats = len(runs)
        keys = ("distances_s", "build_s", "solve_s", "build_and_solve_wall_s",
                "distances_peak_rss_mb", "model_peak_rss_mb", "setup_s", "setup_peak_rss_mb")
        summary = {k: median_of([r[k] for r in runs]) for k in keys}
        last = runs[-1]
        summary.update({
            "fraction_of_province": fraction,
            "runs": repeats,
            "sizes": sizes,
            "graph": last["graph"],
            "coverage": last["coverage"],
            "status": last["status"],
            "objective": last["objective"],
            "bound": last["bound"],
            "gap": last["gap"],
            "sites_opened": last["sites_opened"],
            "statuses": [r["status"] for r in runs],
            "gaps": [r["gap"] for r in runs],
            "total_s": summary["distances_s"] + summary["build_and_solve_wall_s"],
            "peak_rss_mb": max(summary["distances_peak_rss_mb"], summary["model_peak_rss_mb"],
                               summary["setup_peak_rss_mb"]),
        })
        per_size.append(summary)

    for prev, cur in zip(per_size, per_size[1:], strict=False):
        cur["growth_exponent"] = {
            k: _exponent(prev[k], cur[k], prev["graph"]["nodes"], cur["graph"]["nodes"])
            for k in ("distances_s", "build_s", "solve_s", "total_s", "peak_rss_mb")
        }

    rows = []
    for s in per_size:
        sz = s["sizes"]
        label = f"{s['graph']['nodes']:,} nodes / {sz['candidates']:,} sites / {sz['demand_points']:,} demand"
        gap_txt = "n/a" if s["gap"] is None else f"{100 * s['gap']:.2f} %"
        rows += [
            {"measure": f"{label}: distances", "value": s["distances_s"], "unit": "s",
             "note": f"peak {s['distances_peak_rss_mb']:.0f} MB; "
                     f"{s['coverage']['mean_sites_per_demand_point']:.1f} sites/demand"},
            {"measure": f"{label}: model build", "value": s["build_s"], "unit": "s", "note": ""},
            {"measure": f"{label}: solve to 1 % gap", "value": s["solve_s"], "unit": "s",
             "note": f"{s['status']}, gap {gap_txt}; peak {s['model_peak_rss_mb']:.0f} MB"},
            {"measure": f"{label}: total (distances+build+solve)", "value": s["total_s"], "unit": "s",
             "note": f"peak {s['peak_rss_mb']:.0f} MB, {s['runs']} run(s)"},
        ]
    goals = []
    province = per_size[-1]
    as_networkx = None
    if province["fraction_of_province"] == 1.0:
        as_networkx = run_json_subprocess("bench.scale", {"mode": "networkx", "sizes": province["sizes"]},
                                          timeout_s=1800)
        rows.append({"measure": f"{as_networkx['nodes']:,}-node graph as networkx (as load_network holds it)",
                     "value": as_networkx["graph_rss_mb"], "unit": "MB",
                     "note": f"built in {as_networkx['build_s']:.1f} s; "
                             f"routing.to_csr {as_networkx['to_csr_s']:.1f} s; not in the totals above"})
        within_gap = province["gap"] is not None and province["gap"] <= MIP_GAP + 1e-9
        goals = [
            goal("province case to 1 % gap: time", f"< {GOAL_S:g} s", province["total_s"], "s",
                 within_gap and province["total_s"] < GOAL_S, off_by=province["total_s"] / GOAL_S),
            goal("province case: peak memory", f"< {GOAL_MEMORY_MB:g} MB", province["peak_rss_mb"], "MB",
                 province["peak_rss_mb"] < GOAL_MEMORY_MB, off_by=province["peak_rss_mb"] / GOAL_MEMORY_MB),
        ]
    profile = None
    if options["profile"] and any(not g["met"] for g in goals):
        profile = run_json_subprocess("bench.scale", {"mode": "profile", "sizes": province["sizes"]},
                                      timeout_s=1800)["profile"]
    return {
        "title": "Scale: synthetic city-to-province road graphs, doubling",
        "params": {"province": PROVINCE, "fractions": list(fractions), "drive_time_min": DRIVE_TIME_MIN,
                   "mip_gap": MIP_GAP, "time_limit_s": TIME_LIMIT_S, "sources_per_chunk": SOURCES_PER_CHUNK,
                   "model": "weighted set covering + one row per service area (planner.siting.locate.set_covering)"},
        "sizes": per_size,
        "province_as_networkx": as_networkx,
        "rows": rows,
        "goals": goals,
        "profile": profile,
    }


def _total(run: dict[str, Any]) -> float:
    return run["setup_s"] + run["distances_s"] + run["build_and_solve_wall_s"]


def _exponent(a: float, b: float, n_a: int, n_b: int) -> float | None:
    """Growth exponent k in time ∝ size^k between two sizes (1 = linear)."""
    if a <= 0 or b <= 0:
        return None
    return math.log(b / a) / math.log(n_b / n_a)


def main(argv: list[str]) -> int:
    """Worker entry (``python -m bench.scale '<json>' OUT``) used by ``run``."""
    payload = json.loads(argv[0])
    worker = {"size": _size_worker, "profile": _profile_worker, "networkx": _networkx_worker}[payload["mode"]]
    write_json(worker(payload), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
