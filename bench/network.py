"""Case ``network``: the product on generated OSM regions, from the load to ``evplan plan`` (issue 16).

For ~80k, ~300k and ~1M OSM nodes (``bench.synth_region``, seeded): a raw pyosmium pass over the PBF,
``load_network`` cold and warm (memory-mapped cache), the networkx graph built from the arrays (no longer
on the plan's path; up to 300k), the towns → candidates drive times within 30 min as
``routing.reach_within`` against the dense ``routing.costs_from`` (checked equal; up to 300k), and
``evplan plan``'s own path (``plan_from_files`` and the output files) cold and warm, each step's wall
and CPU time and peak memory. Then a generated province (``EVPLAN_BENCH_PROVINCE_NODES``, default 10M)
imported once and clipped per city into the cache, and every city planned (full runs only). Every step
runs in a fresh interpreter. ``EVPLAN_BENCH_SIZES=80k,300k`` runs a subset of the regions;
``EVPLAN_BENCH_PROVINCE=0`` skips the province, ``EVPLAN_BENCH_PROVINCE_PLAN=0`` its city plans, and
``EVPLAN_BENCH_PROVINCE_CORRIDOR_DEMAND=uniform`` plans the cities without the traffic flow model.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._measure import PeakRss, StageMeter, goal, run_json_subprocess, write_json

SEED = 16
SIZES = {"80k": 80_000, "300k": 300_000, "1M": 1_000_000}
QUICK_SIZES = {"20k": 20_000}
PROVINCE_NODES, PROVINCE_CITIES = 10_000_000, 6
DRIVE_TIME_S = 30 * 60.0
#: Bump when the generator changes, so that stored regions are made again.
GENERATOR_VERSION = 3


def data_dir() -> Path:
    """Where generated regions are kept between runs (``EVPLAN_BENCH_DATA``, else the user cache)."""
    base = os.environ.get("EVPLAN_BENCH_DATA")
    return Path(base) if base else Path.home() / ".cache" / "evplan" / "bench-regions"


def _sizes(options: dict[str, Any]) -> dict[str, int]:
    """The region sizes to run: ``--quick`` one small region; ``EVPLAN_BENCH_SIZES=80k,300k`` a subset."""
    if options.get("quick"):
        return QUICK_SIZES
    wanted = os.environ.get("EVPLAN_BENCH_SIZES")
    return {k: v for k, v in SIZES.items() if not wanted or k in wanted.split(",")}


def region_file(osm_nodes: int, cities: int) -> tuple[Path, Path, float]:
    """The generated region's PBF and boundaries (made once per size, seed and generator version)."""
    from bench.synth_region import make

    path = data_dir() / f"region-{osm_nodes}-{cities}-s{SEED}-v{GENERATOR_VERSION}.osm.pbf"
    bounds = path.with_name(path.name.split(".")[0] + ".boundaries.geojson")
    if path.is_file() and bounds.is_file():
        return path, bounds, 0.0
    t0 = time.perf_counter()
    make(osm_nodes, path, cities=cities, seed=SEED)
    return path, bounds, time.perf_counter() - t0


# ------------------------------------------------------------------------------------------ workers


def _raw_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """Two raw pyosmium passes: every object seen in Python; and ways with their node coordinates."""
    import osmium

    rss = PeakRss()
    t0, c0 = time.perf_counter(), time.process_time()
    nodes = ways = 0
    for obj in osmium.FileProcessor(payload["path"]):
        if obj.is_node():
            nodes += 1
        elif obj.is_way():
            ways += 1
    every_s, every_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    every_peak = rss.peak_mb()
    rss.reset()
    t0 = time.perf_counter()
    refs = 0
    for obj in osmium.FileProcessor(payload["path"], osmium.osm.NODE | osmium.osm.WAY).with_locations() \
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
        for n in obj.nodes:
            refs += n.location.x > 0
    ways_s = time.perf_counter() - t0
    return {"osm_nodes": nodes, "osm_ways": ways, "every_object_s": every_s, "every_object_cpu_s": every_cpu_s,
            "every_object_peak_rss_mb": every_peak,
            "ways_with_coordinates_s": ways_s, "ways_with_coordinates_peak_rss_mb": rss.peak_mb(), "way_refs": refs}


def _load_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """``load_network`` once (cold or warm, as the cache directory is), then the graph from the arrays."""
    os.environ["EVPLAN_CACHE_DIR"] = payload["cache_dir"]
    rss = PeakRss()
    before = rss.rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    from planner.network import load_network, network_info

    network = load_network(payload["path"], admin_boundaries=None)
    load_s, load_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    load_peak = rss.peak_mb()
    out: dict[str, Any] = {"load_s": load_s, "load_cpu_s": load_cpu_s, "load_peak_rss_mb": load_peak,
                           "rss_before_mb": before, "graph_nodes": network.arrays.n_nodes,
                           "graph_edges": network.arrays.n_edges, "service_area_sides": len(network.service_areas),
                           "places": len(network.places), "pois": len(network.pois)}
    if payload.get("graph"):
        rss.reset()
        t0 = time.perf_counter()
        graph = network.graph
        out.update(networkx_s=time.perf_counter() - t0, networkx_peak_rss_mb=rss.peak_mb(),
                   networkx_edges=graph.number_of_edges())
        info = network_info(network)
        out["km_by_class"] = info["km_by_class"]
    return out


def _reach_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """Towns → candidate drive times within 30 min: ``reach_within`` (sparse) and dense ``costs_from``."""
    import numpy as np

    os.environ["EVPLAN_CACHE_DIR"] = payload["cache_dir"]
    from planner.network import load_network
    from planner.network.routing import costs_from, reach_within, to_csr

    network = load_network(payload["path"], admin_boundaries=None)
    rss = PeakRss()
    base = rss.rss_mb()
    towns = [p.node for p in network.places]
    cands = sorted({p.node for p in network.pois} | {s.node for s in network.service_areas})
    t0 = time.perf_counter()
    csr = to_csr(network)
    csr_s = time.perf_counter() - t0
    rss.reset()
    t0 = time.perf_counter()
    sparse_m = reach_within(csr, towns, cands, max_cost=DRIVE_TIME_S)
    sparse_s, sparse_peak = time.perf_counter() - t0, rss.peak_mb()
    out = {"towns": len(towns), "candidates": len(cands), "pairs_within": int(sparse_m.nnz), "csr_s": csr_s,
           "rss_before_mb": base, "reach_within_s": sparse_s, "reach_within_peak_rss_mb": sparse_peak,
           "share_within": sparse_m.nnz / max(1, len(towns) * len(cands))}
    if payload.get("dense", True):
        rss.reset()
        t0 = time.perf_counter()
        dense = costs_from(csr, towns, cands, limit=DRIVE_TIME_S)
        out.update(costs_from_s=time.perf_counter() - t0, costs_from_peak_rss_mb=rss.peak_mb())
        # The two agree: the same pairs, the same costs.
        r, c = np.nonzero(dense <= DRIVE_TIME_S)
        coo = sparse_m.tocoo()
        out["same_answer"] = bool(len(r) == coo.nnz and np.allclose(np.sort(dense[r, c]), np.sort(coo.data)))
    return out


def _province_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """The province as ``evplan province`` runs it: one streamed read clipped per city into the network
    cache (``prime_city_networks``; time and peak memory of this process), then every city planned
    (``plan_province``, Dask workers; their peak is the largest child's ``ru_maxrss``)."""
    import resource

    os.environ["EVPLAN_CACHE_DIR"] = payload["cache_dir"]
    from planner.network import load_network
    from planner.network.clip import admin_boundary
    from planner.province import plan_province, prime_city_networks, read_cities

    rss = PeakRss()
    cities = read_cities(payload["boundaries"])
    t0, c0 = time.perf_counter(), time.process_time()
    primed = prime_city_networks(payload["path"], payload["boundaries"], cities)
    import_s, import_cpu_s, import_peak = time.perf_counter() - t0, time.process_time() - c0, rss.peak_mb()
    sizes = {}
    for city in cities:
        net = load_network(payload["path"], boundary=admin_boundary(city.code, payload["boundaries"]),
                           admin_boundaries=None)
        sizes[city.code] = {"graph_nodes": net.arrays.n_nodes, "graph_edges": net.arrays.n_edges,
                            "places": len(net.places), "service_area_sides": len(net.service_areas)}
        del net
    out: dict[str, Any] = {"import_s": import_s, "import_cpu_s": import_cpu_s, "import_peak_rss_mb": import_peak,
                           "load_average_after_import": _loadavg(), "primed": primed, "cities": sizes}
    if payload.get("plan", True):
        t1 = time.perf_counter()
        scenario = None
        if payload.get("corridor_demand"):
            from planner.siting.scenario import Scenario, options_of

            traffic = options_of(Scenario())["traffic"]
            scenario = {"traffic": {**traffic, "corridor_demand": payload["corridor_demand"]}}
        result = plan_province(payload["path"], payload["boundaries"], payload["out_dir"], scenario=scenario,
                               workers=payload.get("workers", 1))
        out["plan_s"] = time.perf_counter() - t1
        out["plan_workers_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        for row in result.cities:
            sizes[row["code"]].update(status=row["status"], seconds=row["seconds"], error=row.get("error"),
                                      solver_status=row.get("solver_status"), solver_gap=row.get("solver_gap"),
                                      sites=row.get("sites"), chargers=row.get("chargers"))
        out["total"] = {k: result.total.get(k) for k in ("cities", "cities_planned", "complete", "sites", "chargers",
                                                         "capex_cny")}
    out["total_s"] = time.perf_counter() - t0
    out["load_average_after"] = _loadavg()
    return out


# --------------------------------------------------------------------------------------------- case


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Generate (or reuse) the regions and measure every step side by side."""
    sizes = _sizes(options)
    rows: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    per_size: dict[str, Any] = {}
    for label, osm_nodes in sizes.items():
        path, _, gen_s = region_file(osm_nodes, 1 + (osm_nodes >= 300_000) + (osm_nodes >= 1_000_000))
        with tempfile.TemporaryDirectory(prefix="evplan-bench-cache-") as cache:
            raw = run_json_subprocess("bench.network", {"mode": "raw", "path": str(path)})
            cold = run_json_subprocess("bench.network", {"mode": "load", "path": str(path), "cache_dir": cache})
            # The networkx graph (no longer on the plan's path) and the dense drive times (towns × all
            # nodes: 11.5 GB at 1M) are measured only up to 300k OSM nodes.
            small = osm_nodes <= 300_000
            warm = run_json_subprocess("bench.network", {"mode": "load", "path": str(path), "cache_dir": cache,
                                                          "graph": small})
            reach = run_json_subprocess("bench.network", {"mode": "reach", "path": str(path), "cache_dir": cache,
                                                          "dense": small})
        ratio = cold["load_s"] / raw["every_object_s"]
        cpu_ratio = cold["load_cpu_s"] / raw["every_object_cpu_s"]
        per_size[label] = {"file": path.name, "file_mb": round(path.stat().st_size / 2**20, 1),
                           "generated_s": gen_s, "raw": raw, "cold": cold, "warm": warm, "reach": reach,
                           "cold_over_raw_pass": ratio, "cold_over_raw_pass_cpu": cpu_ratio}
        head = f"{raw['osm_nodes']:,} OSM nodes → {cold['graph_nodes']:,} graph nodes"
        rows += [
            {"measure": f"{head}: raw pyosmium pass (every object)", "value": raw["every_object_s"], "unit": "s",
             "note": f"ways with coordinates {raw['ways_with_coordinates_s']:.2f} s"},
            {"measure": f"{head}: load_network cold", "value": cold["load_s"], "unit": "s",
             "note": f"CPU {cold['load_cpu_s']:.1f} s; peak {cold['load_peak_rss_mb']:.0f} MB; "
                     f"{ratio:.1f}x the raw pass ({cpu_ratio:.1f}x in CPU time)"},
            {"measure": f"{head}: load_network warm (mmap cache)", "value": warm["load_s"], "unit": "s",
             "note": f"peak {warm['load_peak_rss_mb']:.0f} MB"},
            {"measure": f"{head}: networkx graph from the arrays", "value": warm.get("networkx_s"), "unit": "s",
             "note": f"peak {warm.get('networkx_peak_rss_mb', 0):.0f} MB (built on first use of .graph; "
                     "not on the plan's path)"},
            {"measure": f"{head}: reach_within {reach['towns']} towns × {reach['candidates']} candidates ≤ 30 min",
             "value": reach["reach_within_s"], "unit": "s",
             "note": f"peak {reach['reach_within_peak_rss_mb']:.0f} MB; {reach['pairs_within']:,} pairs "
                     f"({100 * reach['share_within']:.1f} %)"},
            {"measure": f"{head}: dense costs_from, same pairs", "value": reach.get("costs_from_s"), "unit": "s",
             "note": f"peak {reach.get('costs_from_peak_rss_mb', 0):.0f} MB; same answer: {reach.get('same_answer')}"},
        ]
        goals.append(goal(f"{label}: cold load within 5x of a raw pyosmium pass", "<= 5x", round(ratio, 2), "x",
                          ratio <= 5, off_by=ratio / 5))
    province = None
    if not options.get("quick") and os.environ.get("EVPLAN_BENCH_PROVINCE", "1") != "0":
        province = run_province()
        rows += province.pop("rows")
        goals += province.pop("goals")
    plans = plan_end_to_end(per_size, options)
    more_rows, more_goals = plan_rows(plans)
    return {"case": "network", "sizes": per_size, "province": province, "rows": rows + more_rows,
            "goals": goals + more_goals, "plan_end_to_end": plans}


def _plan_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """``evplan plan``'s own path in a fresh interpreter: imports, each pipeline step, the outputs.

    What ``evplan plan --osm REGION --out DIR`` runs (``plan_from_files``, then the same GeoJSON and
    summary files), cut at its progress steps with each step's peak memory; cold or warm as the cache
    directory is. Also records whether the networkx graph was ever built (it must not be).
    """
    os.environ["EVPLAN_CACHE_DIR"] = payload["cache_dir"]
    from bench.shanwei import StepRecorder

    class CpuSteps(StepRecorder):
        """Also the CPU time of each step: on a shared machine the fairer figure."""

        def __init__(self) -> None:
            super().__init__()
            self._cpu = time.process_time()

        def __call__(self, fraction: float, message: str) -> None:
            super().__call__(fraction, message)
            now = time.process_time()
            self.intervals[-1]["cpu_s"] = now - self._cpu
            self._cpu = now

    rss = PeakRss()
    t0, c0 = time.perf_counter(), time.process_time()
    from cli._common import write_json as _write_json
    from planner.geo import write_geojson
    from planner.pipeline import plan_from_files
    from planner.siting import Scenario

    imports = {"seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "peak_rss_mb": rss.peak_mb()}
    rec = CpuSteps()
    t1 = time.perf_counter()
    if payload.get("profile"):
        from pyinstrument import Profiler

        prof = Profiler(interval=0.01)
        prof.start()
    from planner.errors import EvplanError

    try:
        done = plan_from_files(payload["path"], None, Scenario(), progress=rec)
    except EvplanError as exc:  # e.g. no plan within the time limit: the steps until then, and the reason
        return {"error": f"{type(exc).__name__}: {exc}", "total_s": time.perf_counter() - t0,
                "cpu_s": time.process_time() - c0, "peak_rss_mb": rss.peak_mb(),
                "steps": {label: {"seconds": item["seconds"], "cpu_s": item.get("cpu_s"),
                                  "peak_rss_mb": item["peak_rss_mb"]} for label, item in rec.finished_steps()},
                "unfinished_step_s": time.perf_counter() - rec._last}
    pipeline_s = time.perf_counter() - t1
    rss.reset()
    t2, c2 = time.perf_counter(), time.process_time()
    out = Path(payload["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    write_geojson(done.service_areas, out / "service_areas.geojson")
    write_geojson(done.sites, out / "sites.geojson")
    write_geojson(done.coverage, out / "coverage.geojson")
    _write_json(done.summary, out / "summary.json")
    outputs = {"seconds": time.perf_counter() - t2, "cpu_s": time.process_time() - c2, "peak_rss_mb": rss.peak_mb()}
    profile = None
    if payload.get("profile"):
        from bench._measure import clean_profile

        prof.stop()
        profile = clean_profile(prof.output_text(unicode=True, color=False, show_all=False), max_lines=70)
    steps = [("imports", imports)] + [(label, {"seconds": item["seconds"], "cpu_s": item.get("cpu_s"),
                                               "peak_rss_mb": item["peak_rss_mb"]})
                                      for label, item in rec.finished_steps()] + [("outputs", outputs)]
    solve = done.result.solve
    summary = done.summary
    return {
        "total_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "pipeline_s": pipeline_s,
        "steps": dict(steps), "peak_rss_mb": max(v["peak_rss_mb"] for _, v in steps),
        "networkx_built": done.network._graph is not None,
        "graph_nodes": done.network.arrays.n_nodes, "candidates": summary.get("candidates"),
        "towns": len(done.result.towns), "corridor_windows": len(done.result.windows),
        "sites": len(done.result.sites),
        "solver": {"status": solve.status, "objective": solve.objective, "bound": solve.bound, "gap": solve.gap,
                   "solve_time_s": solve.solve_time_s, "variables": summary["solver"].get("variables"),
                   "constraints": summary["solver"].get("constraints")},
        "plan": {"present_value_cny": summary.get("present_value_cny"),
                 "capex_total_cny": summary.get("capex_total_cny"),
                 "sites_by_stage": {y: st["sites"] for y, st in summary["stages"].items()},
                 "chargers_by_stage": {y: st["chargers"] for y, st in summary["stages"].items()}},
        "profile": profile,
    }


def run_province(osm_nodes: int | None = None) -> dict[str, Any]:
    """Generate (or reuse) the province (``EVPLAN_BENCH_PROVINCE_NODES``, default 10M) and import and plan it."""
    osm_nodes = osm_nodes or int(os.environ.get("EVPLAN_BENCH_PROVINCE_NODES", PROVINCE_NODES))
    path, bounds, gen_s = region_file(osm_nodes, PROVINCE_CITIES)
    load_before = _loadavg()
    with tempfile.TemporaryDirectory(prefix="evplan-bench-province-") as tmp:
        province = run_json_subprocess("bench.network", {
            "mode": "province", "path": str(path), "boundaries": str(bounds), "cache_dir": str(Path(tmp) / "cache"),
            "out_dir": str(Path(tmp) / "out"), "plan": os.environ.get("EVPLAN_BENCH_PROVINCE_PLAN", "1") != "0",
            "corridor_demand": os.environ.get("EVPLAN_BENCH_PROVINCE_CORRIDOR_DEMAND")},
            timeout_s=3 * 3600)
    province.update(osm_nodes_asked=osm_nodes, generated_s=gen_s, file_mb=round(path.stat().st_size / 2**20, 1),
                    load_average_before=load_before)
    head = f"province ({osm_nodes:,} OSM nodes, {PROVINCE_CITIES} cities)"
    nodes = ", ".join(f"{c['graph_nodes']:,}" for c in province["cities"].values())
    rows = [{"measure": f"{head}: one streamed read, clipped per city into the cache", "value": province["import_s"],
             "unit": "s", "note": f"CPU {province['import_cpu_s']:.0f} s; peak {province['import_peak_rss_mb']:.0f} MB; "
                                  f"graph nodes per city {nodes}; load {province['load_average_after_import']}"}]
    goals = [goal(f"{head}: import < 10 min", "< 600 s", round(province["import_s"], 1), "s",
                  province["import_s"] < 600, off_by=province["import_s"] / 600),
             goal(f"{head}: import peak memory", "< 8192 MB", round(province["import_peak_rss_mb"]), "MB",
                  province["import_peak_rss_mb"] < 8192, off_by=province["import_peak_rss_mb"] / 8192)]
    if "plan_s" in province:
        st = ", ".join(f"{c.get('status')}/{c.get('solver_status')} {c.get('seconds', 0):.0f} s"
                       for c in province["cities"].values())
        rows.append({"measure": f"{head}: every city planned (1 Dask worker)", "value": province["plan_s"],
                     "unit": "s", "note": f"worker peak {province['plan_workers_peak_rss_mb']:.0f} MB; {st}; "
                                          f"load {province['load_average_after']}"})
    province["rows"], province["goals"] = rows, goals
    return province


def _inputs_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """The plan up to the MILP (what ``plan_sites`` computes before ``solve_model``), step by step.

    For a region whose solve is beyond the budget of a run: load, candidates, corridor windows,
    local-road drive times and ``model_input``, each with its time and peak, and the model's size
    (sites, demands, assignment pairs per stage) — the networkx graph must stay unbuilt.
    """
    os.environ["EVPLAN_CACHE_DIR"] = payload["cache_dir"]
    from contextlib import contextmanager

    meter = StageMeter()
    cpu: dict[str, float] = {}

    @contextmanager
    def stage(name: str):
        c0 = time.process_time()
        with meter.stage(name):
            yield
        cpu[name] = time.process_time() - c0

    with stage("imports"):
        from planner.network import load_network
        from planner.siting import plan as P
        from planner.siting.candidates import (
            candidates_from_network,
            corridor_windows,
            towns_from_network,
        )
        from planner.siting.scenario import Scenario
    with stage("load road network"):
        net = load_network(payload["path"], admin_boundaries=None)
    sc = Scenario()
    with stage("candidates"):
        cands = candidates_from_network(net, kinds=sc.candidate_kinds, corridor_access_km=sc.corridor_access_km)
        towns = towns_from_network(net)
        points = P.town_demand(sc, towns)
    with stage("corridor windows"):
        windows = corridor_windows(net.arrays, cands, range_margin_km=sc.range_margin_km)
    with stage("drive times (reach_within, local roads)"):
        public = [j for j, x in enumerate(cands) if x.public]
        reach = P.local_road_reach(net, [d.node for d in points], [cands[j].node for j in public],
                                   max_s=sc.drive_time_min * 60.0)
    pairs = None
    inp = None
    if payload.get("model_input", True):
        with stage("model input"):
            inp = P.model_input(sc, cands, points, reach, public, windows, {}, P._directions_passing(net))
        pairs = sum(len(d.sites) for d in inp.demands)
    stages = [{**st, "cpu_s": round(cpu[st["stage"]], 3)} for st in meter.to_list()]
    return {"stages": stages, "networkx_built": net._graph is not None, "graph_nodes": net.arrays.n_nodes,
            "candidates": len(cands), "public_candidates": len(public), "towns": len(towns),
            "corridor_windows": len(windows), "reach_pairs": int(reach.nnz),
            "model_sites": None if inp is None else len(inp.sites),
            "model_demands": None if inp is None else len(inp.demands), "model_assignment_pairs_per_stage": pairs,
            "load_average_after": _loadavg()}


#: Goals of issue 16 for ``evplan plan`` end to end, by size: (cold s, warm s, peak MB or None).
PLAN_GOALS = {"300k": (20.0, 5.0, None), "1M": (60.0, 15.0, 3072.0)}


def plan_end_to_end(per_size: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``evplan plan``'s path on each region, cold (empty cache) then warm, each in a fresh interpreter."""
    sizes = _sizes(options)
    out: dict[str, Any] = {}
    for label, osm_nodes in sizes.items():
        path, _, _ = region_file(osm_nodes, 1 + (osm_nodes >= 300_000) + (osm_nodes >= 1_000_000))
        with tempfile.TemporaryDirectory(prefix="evplan-bench-plan-") as tmp:
            runs: dict[str, Any] = {}
            for temp in ("cold", "warm"):
                runs[temp] = run_json_subprocess("bench.network", {
                    "mode": "plan", "path": str(path), "cache_dir": str(Path(tmp) / "cache"),
                    "out_dir": str(Path(tmp) / temp), "profile": temp == "warm" and bool(options.get("profile"))},
                    timeout_s=3600)
                runs[temp]["load_average_after"] = _loadavg()
        raw = per_size.get(label, {}).get("raw", {}).get("every_object_s")
        load_cold = runs["cold"]["steps"].get("load road network", {}).get("seconds")
        runs["cold_load_over_raw_pass"] = load_cold / raw if raw and load_cold else None
        out[label] = runs
    return out


def _loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def plan_rows(plans: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Table rows and goals for the end-to-end plans."""
    rows, goals = [], []
    for label, runs in plans.items():
        for temp in ("cold", "warm"):
            r = runs[temp]
            st = r["steps"]
            if "error" in r:
                rows.append({"measure": f"{label}: evplan plan {temp}", "value": r["total_s"], "unit": "s",
                             "note": f"FAILED: {r['error'][:160]}; CPU {r['cpu_s']:.1f} s; peak "
                                     f"{r['peak_rss_mb']:.0f} MB; load {r.get('load_average_after')}"})
                continue
            parts = "; ".join(f"{k} {v['seconds']:.1f} s (CPU {v.get('cpu_s') or 0:.1f})/{v['peak_rss_mb']:.0f} MB"
                              for k, v in st.items()
                              if k != "site and size chargers")
            sv = r["solver"]
            rows.append({"measure": f"{label} ({r['graph_nodes']:,} graph nodes): evplan plan {temp}",
                         "value": r["total_s"], "unit": "s",
                         "note": f"CPU {r['cpu_s']:.1f} s; peak {r['peak_rss_mb']:.0f} MB; solver {sv['status']} gap "
                                 f"{'n/a' if sv['gap'] is None else format(sv['gap'] * 100, '.2f') + ' %'} in "
                                 f"{sv['solve_time_s']:.1f} s "
                                 f"({sv['variables']:,} vars × {sv['constraints']:,} rows); networkx built: "
                                 f"{r['networkx_built']}; load {r['load_average_after']}; {parts}"})
        goal_s = PLAN_GOALS.get(label)
        if goal_s:
            cold_s, warm_s, peak = goal_s
            if "error" in runs["cold"] or "error" in runs["warm"]:
                goals.append(goal(f"{label}: evplan plan cold and warm", f"< {cold_s:g} s / < {warm_s:g} s", None,
                                  "s", False, off_by=None))
                continue
            c, w = runs["cold"]["total_s"], runs["warm"]["total_s"]
            goals.append(goal(f"{label}: evplan plan cold", f"< {cold_s:g} s", round(c, 1), "s", c < cold_s,
                              off_by=c / cold_s))
            goals.append(goal(f"{label}: evplan plan warm", f"< {warm_s:g} s", round(w, 1), "s", w < warm_s,
                              off_by=w / warm_s))
            if peak:
                m = max(runs["cold"]["peak_rss_mb"], runs["warm"]["peak_rss_mb"])
                goals.append(goal(f"{label}: evplan plan peak memory", f"< {peak:g} MB", round(m), "MB", m < peak,
                                  off_by=m / peak))
                ok = runs["warm"]["solver"]["status"] == "optimal"
                goals.append(goal(f"{label}: solver optimal at the default gap", "optimal",
                                  runs["warm"]["solver"]["status"], "", ok, off_by=None))
    return rows, goals


def main(argv: list[str]) -> int:
    """Worker entry (``python -m bench.network '<json>' OUT``) used by ``run``."""
    payload = json.loads(argv[0])
    worker = {"raw": _raw_worker, "load": _load_worker, "reach": _reach_worker, "province": _province_worker,
              "plan": _plan_worker, "inputs": _inputs_worker}
    write_json(worker[payload["mode"]](payload), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
