"""Case ``network``: the product's own load and drive times on generated OSM regions (issue 16).

For ~80k, ~300k and ~1M OSM nodes (``bench.synth_region``, seeded): a raw pyosmium pass over the PBF,
``load_network`` cold and warm (memory-mapped cache), the networkx graph built from the arrays, and the
towns → candidates drive times within 30 min as ``routing.reach_within`` (sparse) against the dense
``routing.costs_from`` — every step in a fresh interpreter with its own peak memory. Then a ~10M-node
province read once and clipped city by city (full runs only). ``evplan plan`` end to end runs when the
siting calls ``reach_within`` (``PLAN_USES_REACH``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._measure import PeakRss, goal, run_json_subprocess, write_json

SEED = 16
SIZES = {"80k": 80_000, "300k": 300_000, "1M": 1_000_000}
QUICK_SIZES = {"20k": 20_000}
PROVINCE_NODES, PROVINCE_CITIES = 10_000_000, 6
DRIVE_TIME_S = 30 * 60.0
#: Bump when the generator changes, so that stored regions are made again.
GENERATOR_VERSION = 2


def data_dir() -> Path:
    """Where generated regions are kept between runs (``EVPLAN_BENCH_DATA``, else the user cache)."""
    base = os.environ.get("EVPLAN_BENCH_DATA")
    return Path(base) if base else Path.home() / ".cache" / "evplan" / "bench-regions"


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
    t0 = time.perf_counter()
    nodes = ways = 0
    for obj in osmium.FileProcessor(payload["path"]):
        if obj.is_node():
            nodes += 1
        elif obj.is_way():
            ways += 1
    every_s = time.perf_counter() - t0
    every_peak = rss.peak_mb()
    rss.reset()
    t0 = time.perf_counter()
    refs = 0
    for obj in osmium.FileProcessor(payload["path"], osmium.osm.NODE | osmium.osm.WAY).with_locations() \
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
        for n in obj.nodes:
            refs += n.location.x > 0
    ways_s = time.perf_counter() - t0
    return {"osm_nodes": nodes, "osm_ways": ways, "every_object_s": every_s, "every_object_peak_rss_mb": every_peak,
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
    """One streamed read of the province, then each city clipped from it (time, peak memory)."""
    from shapely.geometry import shape

    from planner.network.load import network_from_read, read_osm

    rss = PeakRss()
    t0 = time.perf_counter()
    raw = read_osm(payload["path"])
    read_s, read_peak = time.perf_counter() - t0, rss.peak_mb()
    cities = []
    for feat in json.loads(Path(payload["boundaries"]).read_text(encoding="utf-8"))["features"]:
        t1 = time.perf_counter()
        net = network_from_read(raw, clip=shape(feat["geometry"]))
        cities.append({"adcode": feat["properties"]["adcode"], "seconds": time.perf_counter() - t1,
                       "graph_nodes": net.arrays.n_nodes, "graph_edges": net.arrays.n_edges,
                       "places": len(net.places), "service_area_sides": len(net.service_areas)})
        del net
    return {"read_s": read_s, "read_peak_rss_mb": read_peak, "osm_nodes_tagged": raw.osm_nodes_seen,
            "cities": cities, "total_s": time.perf_counter() - t0, "peak_rss_mb": rss.peak_mb()}


# --------------------------------------------------------------------------------------------- case


def run(options: dict[str, Any]) -> dict[str, Any]:
    """Generate (or reuse) the regions and measure every step side by side."""
    sizes = QUICK_SIZES if options.get("quick") else SIZES
    rows: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    per_size: dict[str, Any] = {}
    for label, osm_nodes in sizes.items():
        path, _, gen_s = region_file(osm_nodes, 1 + (osm_nodes >= 300_000) + (osm_nodes >= 1_000_000))
        with tempfile.TemporaryDirectory(prefix="evplan-bench-cache-") as cache:
            raw = run_json_subprocess("bench.network", {"mode": "raw", "path": str(path)})
            cold = run_json_subprocess("bench.network", {"mode": "load", "path": str(path), "cache_dir": cache})
            warm = run_json_subprocess("bench.network", {"mode": "load", "path": str(path), "cache_dir": cache,
                                                          "graph": True})
            reach = run_json_subprocess("bench.network", {"mode": "reach", "path": str(path), "cache_dir": cache})
        ratio = cold["load_s"] / raw["every_object_s"]
        per_size[label] = {"file": path.name, "file_mb": round(path.stat().st_size / 2**20, 1),
                           "generated_s": gen_s, "raw": raw, "cold": cold, "warm": warm, "reach": reach,
                           "cold_over_raw_pass": ratio}
        head = f"{raw['osm_nodes']:,} OSM nodes → {cold['graph_nodes']:,} graph nodes"
        rows += [
            {"measure": f"{head}: raw pyosmium pass (every object)", "value": raw["every_object_s"], "unit": "s",
             "note": f"ways with coordinates {raw['ways_with_coordinates_s']:.2f} s"},
            {"measure": f"{head}: load_network cold", "value": cold["load_s"], "unit": "s",
             "note": f"CPU {cold['load_cpu_s']:.1f} s; peak {cold['load_peak_rss_mb']:.0f} MB; "
                     f"{ratio:.1f}x the raw pass"},
            {"measure": f"{head}: load_network warm (mmap cache)", "value": warm["load_s"], "unit": "s",
             "note": f"peak {warm['load_peak_rss_mb']:.0f} MB"},
            {"measure": f"{head}: networkx graph from the arrays", "value": warm["networkx_s"], "unit": "s",
             "note": f"peak {warm['networkx_peak_rss_mb']:.0f} MB (built on first use of .graph)"},
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
        path, bounds, gen_s = region_file(PROVINCE_NODES, PROVINCE_CITIES)
        province = run_json_subprocess("bench.network", {"mode": "province", "path": str(path),
                                                         "boundaries": str(bounds)}, timeout_s=3600)
        province["generated_s"] = gen_s
        province["file_mb"] = round(path.stat().st_size / 2**20, 1)
        rows.append({"measure": f"province ({PROVINCE_NODES:,} OSM nodes, {PROVINCE_CITIES} cities): read once",
                     "value": province["read_s"], "unit": "s", "note": f"peak {province['read_peak_rss_mb']:.0f} MB"})
        rows.append({"measure": "province: read + every city clipped and built", "value": province["total_s"],
                     "unit": "s", "note": f"peak {province['peak_rss_mb']:.0f} MB; "
                                          + ", ".join(f"{c['graph_nodes']:,}" for c in province["cities"])
                                          + " graph nodes"})
        goals.append(goal("province imports in < 10 min", "< 600 s", round(province["total_s"], 1), "s",
                          province["total_s"] < 600, off_by=province["total_s"] / 600))
        goals.append(goal("province peak memory", "< 8192 MB", round(province["peak_rss_mb"]), "MB",
                          province["peak_rss_mb"] < 8192, off_by=province["peak_rss_mb"] / 8192))
    return {"case": "network", "sizes": per_size, "province": province, "rows": rows, "goals": goals,
            "plan_end_to_end": plan_end_to_end(per_size, options)}


#: Set when ``planner.siting`` computes its drive times with ``routing.reach_within``; until then a
#: plan at these sizes still builds the dense towns × nodes array and is not worth timing here.
PLAN_USES_REACH = False


def plan_end_to_end(per_size: dict[str, Any], options: dict[str, Any]) -> dict[str, Any] | None:
    """``evplan plan --osm REGION`` cold and warm, timed from outside (once the siting uses reach sets)."""
    if not PLAN_USES_REACH or options.get("quick"):
        return {"skipped": "the siting does not call routing.reach_within yet"}
    import resource
    import subprocess

    out = {}
    for label in per_size:
        path, _, _ = region_file(SIZES[label], 1 + (SIZES[label] >= 300_000) + (SIZES[label] >= 1_000_000))
        with tempfile.TemporaryDirectory(prefix="evplan-bench-plan-") as tmp:
            runs = {}
            for temp in ("cold", "warm"):
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "cli", "plan", "--osm", str(path), "--out",
                                       str(Path(tmp) / temp), "--quiet"], env={**os.environ, "EVPLAN_CACHE_DIR": tmp},
                                      capture_output=True, text=True, check=False)
                runs[temp] = {"seconds": time.perf_counter() - t0, "exit": proc.returncode,
                              "stderr_tail": proc.stderr[-500:]}
            runs["children_max_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            out[label] = runs
    return out


def main(argv: list[str]) -> int:
    """Worker entry (``python -m bench.network '<json>' OUT``) used by ``run``."""
    payload = json.loads(argv[0])
    worker = {"raw": _raw_worker, "load": _load_worker, "reach": _reach_worker, "province": _province_worker}
    write_json(worker[payload["mode"]](payload), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
