"""From one streamed read to the processed graph, in arrays: clip, prune, attach, simplify, weight, snap.

Each step is what the osmnx-based loader did (osmnx's ``drive`` edges and ``oneway`` reading, the largest
strongly connected component, ``ox.simplify_graph``'s endpoint rules with ``highway``/``maxspeed``/``ref``
differences kept, service-area sides split into their carriageway), done on numpy arrays once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.geometry.base import BaseGeometry

from planner.geo import haversine_m
from planner.network import _osm
from planner.network._stream import RawOsm
from planner.network.arrays import TAG_KEYS, RoadArrays
from planner.network.clip import describe_clip
from planner.network.places import NodeTable, attach_pois_and_places
from planner.network.service_areas import attach_service_areas
from planner.network.types import (
    EXPRESSWAY_CLASSES,
    Place,
    Poi,
    PruneStats,
    ServiceAreaSide,
    UnattachedFeature,
    UnsnappedServiceArea,
)

logger = logging.getLogger(__name__)

_SIMPLIFY_DIFFER = ("highway", "maxspeed", "ref")


@dataclass
class Built:
    """A processed network before it becomes a ``RoadNetwork``: arrays and attached features."""

    arrays: RoadArrays
    service_areas: tuple[ServiceAreaSide, ...]
    unsnapped_service_areas: tuple[UnsnappedServiceArea, ...]
    pois: tuple[Poi, ...]
    places: tuple[Place, ...]
    unattached: tuple[UnattachedFeature, ...]
    timings_s: dict[str, float]


class _Strings:
    """A string table: each distinct tag value once, edges hold codes."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.code: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        c = self.code.get(value)
        if c is None:
            c = self.code[value] = len(self.values)
            self.values.append(value)
        return c


def build_network(raw: RawOsm, *, clip: BaseGeometry | None, max_snap_km: float, max_attach_km: float,
                  speeds_kph: Mapping[str, float], counties: Path | None) -> Built:
    """Process one read of a file (``_stream.read_osm``) into arrays; ``raw`` is not changed.

    One read serves any number of clips (a province cut city by city).
    """
    from planner.network.load import maxspeed_kph  # the one maxspeed parser

    path = raw.path
    timings: dict[str, float] = {}
    t = time.perf_counter()
    strings = _Strings()
    # ---- nodes and raw directed edges, in the order osmnx adds them (way by way: forward, then back)
    ids, first_ref, inv = np.unique(raw.refs, return_index=True, return_inverse=True)
    lon, lat = raw.lon[first_ref], raw.lat[first_ref]
    n_ways = len(raw.way_ids)
    counts = np.diff(raw.way_start)
    way_of_ref = np.repeat(np.arange(n_ways), counts)
    pos_in_way = np.arange(len(raw.refs)) - raw.way_start[way_of_ref]
    seg = np.flatnonzero(way_of_ref[:-1] == way_of_ref[1:]) if len(raw.refs) > 1 else np.zeros(0, dtype=np.int64)
    w = way_of_ref[seg]
    j = pos_in_way[seg]
    m = (counts - 1)[w]
    a, b = inv[seg], inv[seg + 1]
    one, rev = raw.way_oneway[w], raw.way_reversed[w]
    fwd_u = np.where(rev, b, a)
    fwd_v = np.where(rev, a, b)
    fwd_pos = np.where(rev, m - 1 - j, j)
    two = ~one
    eu = np.concatenate([fwd_u, b[two]])
    ev = np.concatenate([fwd_v, a[two]])
    ew = np.concatenate([w, w[two]])
    epos = np.concatenate([fwd_pos, m[two] + j[two]])
    erev = np.concatenate([np.zeros(len(w), dtype=bool), np.ones(int(two.sum()), dtype=bool)])
    add = np.lexsort((epos, ew))
    eu, ev, ew, erev = eu[add], ev[add], ew[add], erev[add]
    if len(eu) == 0:
        raise _osm.no_road_error(path, "in the file")
    elen = np.asarray(haversine_m(lon[eu], lat[eu], lon[ev], lat[ev]), dtype=float)
    # way tag codes
    way_codes = np.full((n_ways, len(TAG_KEYS)), -1, dtype=np.int32)
    for i, tags in enumerate(raw.way_tags):
        for k, key in enumerate(TAG_KEYS):
            value = tags.get(key)
            if value:
                way_codes[i, k] = strings(value)
    timings["edges_s"] = time.perf_counter() - t

    # ---- clip: nodes inside the polygon (bbox first), edges with both ends inside
    t = time.perf_counter()
    present = np.zeros(len(ids), dtype=bool)
    present[eu] = True
    present[ev] = True
    if clip is not None:
        minx, miny, maxx, maxy = clip.bounds
        cand = np.flatnonzero(present & (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
        shapely.prepare(clip)
        inside = np.zeros(len(ids), dtype=bool)
        inside[cand[shapely.intersects_xy(clip, lon[cand], lat[cand])]] = True
        present &= inside
        keep_e = present[eu] & present[ev]
        eu, ev, ew, erev, elen = eu[keep_e], ev[keep_e], ew[keep_e], erev[keep_e], elen[keep_e]
        if len(eu) == 0:
            raise _osm.no_road_error(path, f"inside the clip {describe_clip(clip)}")
    timings["clip_s"] = time.perf_counter() - t

    # ---- the largest strongly connected component
    t = time.perf_counter()
    rows = np.flatnonzero(present)
    remap = np.full(len(ids), -1, dtype=np.int64)
    remap[rows] = np.arange(len(rows))
    cu, cv = remap[eu], remap[ev]
    n = len(rows)
    adj = sparse.csr_matrix((np.ones(len(cu), dtype=np.int8), (cu, cv)), shape=(n, n))
    n_strong, labels = csgraph.connected_components(adj, directed=True, connection="strong")
    n_weak = csgraph.connected_components(adj, directed=True, connection="weak")[0]
    pruned = PruneStats(strong_components_before=int(n_strong), weak_components_before=int(n_weak), nodes=0,
                        edges=0, km=0.0)
    if n_strong > 1:
        size = np.bincount(labels)
        lowest = np.full(n_strong, n, dtype=np.int64)
        np.minimum.at(lowest, labels, np.arange(n))  # rows are in id order: the lowest row is the lowest id
        best = max(range(n_strong), key=lambda c: (size[c], -lowest[c]))
        keep_n = labels == best
        keep_e = keep_n[cu] & keep_n[cv]
        dropped_m = float(elen.sum() - elen[keep_e].sum())
        pruned.update(nodes=int(n - keep_n.sum()), edges=int(len(cu) - keep_e.sum()), km=round(dropped_m / 1000.0, 3))
        logger.info("kept the largest strongly connected component: dropped %d nodes, %d edges (%.1f km)",
                    pruned["nodes"], pruned["edges"], pruned["km"])
        rows = rows[keep_n]
        remap[:] = -1
        remap[rows] = np.arange(len(rows))
        eu, ev, ew, erev, elen = eu[keep_e], ev[keep_e], ew[keep_e], erev[keep_e], elen[keep_e]
        cu, cv = remap[eu], remap[ev]
    node_ids, node_lon, node_lat = ids[rows], lon[rows], lat[rows]
    timings["components_s"] = time.perf_counter() - t

    # ---- POIs and places on the full graph (before simplifying: where a town really joins the road)
    t = time.perf_counter()
    hw = way_codes[ew, 0]
    express_code = np.array([s in EXPRESSWAY_CLASSES for s in strings.values] + [False], dtype=bool)
    on_express = express_code[hw]
    local = np.zeros(len(rows), dtype=bool)
    express = np.zeros(len(rows), dtype=bool)
    local[cu[~on_express]] = True
    local[cv[~on_express]] = True
    express[cu[on_express]] = True
    express[cv[on_express]] = True
    pois, places, unattached = attach_pois_and_places(
        NodeTable(node_ids, node_lon, node_lat, local, express), raw.features, counties, max_attach_km=max_attach_km)
    keep_ids = np.array(sorted({p.node for p in pois} | {p.node for p in places}), dtype=np.int64)
    timings["attach_s"] = time.perf_counter() - t

    # ---- simplify
    t = time.perf_counter()
    simple = _simplify(node_ids, node_lon, node_lat, cu, cv, ew, erev, elen, raw, way_codes, strings, keep_ids)
    timings["simplify_s"] = time.perf_counter() - t

    # ---- speeds
    t = time.perf_counter()
    fallback = speeds_kph.get("unclassified", 30.0)
    speed = np.empty(len(simple["u"]))
    cache: dict[tuple[int, int], float] = {}
    tags = simple["tags"]
    hk, mk = TAG_KEYS.index("highway"), TAG_KEYS.index("maxspeed")
    pairs, pair_inv = np.unique(tags[:, [hk, mk]], axis=0, return_inverse=True)
    values = []
    for h, ms in pairs.tolist():
        s = maxspeed_kph(strings.values[ms]) if ms >= 0 else None
        if s is None:
            s = speeds_kph.get(strings.values[h] if h >= 0 else "None", fallback)
        values.append(float(s))
    speed = np.asarray(values, dtype=float)[pair_inv.ravel()] if values else speed
    del cache
    travel = simple["length"] / (speed / 3.6)
    timings["speeds_s"] = time.perf_counter() - t

    # ---- service areas, each side split into its carriageway
    t = time.perf_counter()
    table = _EdgeTable(simple, speed, travel, strings)
    sides, unsnapped = attach_service_areas(table, raw.features, max_snap_km=max_snap_km,
                                            motorway=table.motorway_edges(),
                                            next_node_id=min(0, int(simple["node_id"].min())) - 1)
    arrays = table.finish()
    arrays.graph_attrs = {"crs": "EPSG:4326", "simplified": True, "evplan_source": path.name, "evplan_pruned": pruned,
                          "evplan_clip": describe_clip(clip) if clip is not None else None}
    timings["service_areas_s"] = time.perf_counter() - t
    return Built(arrays=arrays, service_areas=sides, unsnapped_service_areas=unsnapped, pois=pois, places=places,
                 unattached=unattached, timings_s=timings)


# ---------------------------------------------------------------------------------------- simplify


def _nx_order(u: np.ndarray, v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges in networkx iteration order given their insertion order: by source row, then by the
    first insertion of each (u, v) pair, then by insertion. Returns the order, keys and group ranks."""
    pair = u.astype(np.int64) * n + v
    _, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    group = first[inverse]
    order = np.lexsort((np.arange(len(u)), group, u))
    # key: rank within its pair, by insertion
    by_pair = np.lexsort((np.arange(len(u)), inverse))
    start = np.r_[0, np.flatnonzero(np.diff(inverse[by_pair])) + 1]
    key = np.empty(len(u), dtype=np.int64)
    rank = np.arange(len(u)) - np.repeat(start, np.diff(np.r_[start, len(u)]))
    key[by_pair] = rank
    return order, key, group


def _simplify(node_ids: np.ndarray, lon: np.ndarray, lat: np.ndarray, u: np.ndarray, v: np.ndarray,
              way: np.ndarray, rev: np.ndarray, length: np.ndarray, raw: RawOsm, way_codes: np.ndarray,
              strings: _Strings, keep_ids: np.ndarray) -> dict[str, Any]:
    """osmnx's topological simplification (endpoint rules 1–5, paths between endpoints, rings kept)."""
    n = len(node_ids)
    order, key, group = _nx_order(u, v, n)
    u, v, way, rev, length, key, group = (x[order] for x in (u, v, way, rev, length, key, group))
    oneway = raw.way_oneway[way]
    codes = way_codes[way]
    # ---- endpoints
    in_deg = np.bincount(v, minlength=n)
    out_deg = np.bincount(u, minlength=n)
    node_of = np.concatenate([u, v])
    other = np.concatenate([v, u])
    nb = _sorted_unique(node_of.astype(np.int64) * n + other)
    n_nb = np.bincount(nb // n, minlength=n)
    deg = in_deg + out_deg
    ep = np.zeros(n, dtype=bool)
    ep[u[u == v]] = True
    ep |= (in_deg == 0) | (out_deg == 0)
    ep |= ~((n_nb == 2) & ((deg == 2) | (deg == 4)))
    ep[np.searchsorted(node_ids, keep_ids)] = True
    for key_name in _SIMPLIFY_DIFFER:
        c = codes[:, TAG_KEYS.index(key_name)].astype(np.int64) + 1
        vals = _sorted_unique(np.concatenate([u, v]).astype(np.int64) * (len(strings.values) + 2)
                              + np.concatenate([c, c]))
        ep |= np.bincount(vals // (len(strings.values) + 2), minlength=n) > 1
    # ---- successors in adjacency order, with the first (key 0) edge of each: the "arcs"
    first_of_group = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])]
    g_idx = np.flatnonzero(first_of_group)
    succ_u, succ_v = u[g_idx], v[g_idx]
    way_ids = raw.way_ids
    flat, p_start, p_len = _walk_paths(node_ids, ep, nb, n_nb, succ_u, succ_v)
    k_new = len(p_len)
    removed = np.zeros(n, dtype=bool)
    interior = np.ones(len(flat), dtype=bool)
    interior[p_start[:-1]] = False
    interior[p_start[1:] - 1] = False
    removed[flat[interior]] = True
    # the (key 0) edge of each consecutive pair of path nodes
    pair_ok = np.ones(len(flat), dtype=bool)
    pair_ok[p_start[1:] - 1] = False
    x, y = flat[pair_ok], flat[np.flatnonzero(pair_ok) + 1]
    g_key = succ_u.astype(np.int64) * n + succ_v
    g_sort = np.argsort(g_key, kind="stable")
    pe = g_idx[g_sort[np.searchsorted(g_key[g_sort], x * n + y)]]
    e_len = p_len - 1
    e_start = np.r_[0, np.cumsum(e_len)]
    nu, nv = flat[p_start[:-1]], flat[p_start[1:] - 1]
    # length: summed left to right along the path, as osmnx sums its list
    new_len = np.zeros(k_new)
    longest_first = np.argsort(-e_len, kind="stable")
    n_active = np.searchsorted(-e_len[longest_first], -np.arange(int(e_len.max()) if k_new else 0), side="left")
    for step, cnt in enumerate(n_active.tolist()):  # step by step, over the paths still that long
        active = longest_first[:cnt]
        new_len[active] += length[pe[e_start[active] + step]]
    starts = e_start[:-1]
    new_one = np.logical_and.reduceat(oneway[pe], starts) if k_new else np.zeros(0, dtype=bool)
    new_rev = np.logical_or.reduceat(rev[pe], starts) if k_new else np.zeros(0, dtype=bool)
    pw = way_ids[way[pe]]
    # osmid: the way's id, or (several ways) the list of distinct ids in osmnx's order (a set's)
    scalar_new = np.full(k_new, -1, dtype=np.int64)
    list_osm: dict[int, list[int]] = {}
    if k_new:
        w_min = np.minimum.reduceat(pw, starts)
        w_max = np.maximum.reduceat(pw, starts)
        one_way_id = w_min == w_max
        scalar_new[one_way_id] = w_min[one_way_id]
        pw_l = pw.tolist()
        e_start_l = e_start.tolist()
        for i in np.flatnonzero(~one_way_id).tolist():
            list_osm[i] = list(set(pw_l[e_start_l[i]:e_start_l[i + 1]]))
    new_codes = np.full((k_new, len(TAG_KEYS)), -1, dtype=np.int32)
    big = np.iinfo(np.int32).max
    for k in range(len(TAG_KEYS)):
        c = codes[pe, k]
        if not k_new:
            break
        c_min = np.minimum.reduceat(np.where(c >= 0, c, big), starts)
        c_max = np.maximum.reduceat(c, starts)
        single = c_min == c_max
        new_codes[single, k] = c_max[single]
        for i in np.flatnonzero((c_max >= 0) & ~single).tolist():
            found = {int(v) for v in c[e_start[i]:e_start[i + 1]] if v >= 0}
            new_codes[i, k] = strings(";".join(sorted(strings.values[v] for v in found)))
    geom_xy = np.column_stack([lon[flat], lat[flat]])
    # ---- the simplified graph: surviving original edges, then the merged ones
    keep_e = ~(removed[u] | removed[v])
    # a merged edge joins an existing (u, v) group (next free key) or opens a new one after all others
    ou, ov, okey, ogroup = u[keep_e], v[keep_e], key[keep_e], group[keep_e]
    pair_old = ou.astype(np.int64) * n + ov
    pair_new = nu * n + nv
    old_sorted = np.argsort(pair_old, kind="stable")
    pos = np.searchsorted(pair_old[old_sorted], pair_new)
    exists = (pos < len(pair_old)) & (pair_old[old_sorted][np.minimum(pos, max(len(pair_old) - 1, 0))] == pair_new) \
        if len(pair_old) else np.zeros(k_new, dtype=bool)
    n_old = np.bincount(np.searchsorted(np.unique(pair_old), pair_old), minlength=len(np.unique(pair_old)))
    uniq_old = np.unique(pair_old)
    # the i-th merged edge of a pair takes the next key after the pair's kept edges (and earlier merged ones)
    by_pair = np.argsort(pair_new, kind="stable")
    sp = pair_new[by_pair]
    run_first = np.r_[True, sp[1:] != sp[:-1]] if k_new else np.zeros(0, dtype=bool)
    run_start = np.flatnonzero(run_first)
    run_of = np.cumsum(run_first) - 1
    rank = np.empty(k_new, dtype=np.int64)
    rank[by_pair] = np.arange(k_new) - run_start[run_of]
    first_new = np.empty(k_new, dtype=np.int64)
    first_new[by_pair] = by_pair[run_start[run_of]]
    big = len(u) + 1
    old_group = ogroup[old_sorted[np.minimum(pos, max(len(pair_old) - 1, 0))]] if len(pair_old) else first_new
    old_count = n_old[np.minimum(np.searchsorted(uniq_old, pair_new), max(len(uniq_old) - 1, 0))] \
        if len(uniq_old) else rank
    new_group = np.where(exists, old_group, big + first_new)
    new_key = np.where(exists, old_count + rank, rank)
    all_u = np.concatenate([ou, nu])
    all_v = np.concatenate([ov, nv])
    all_group = np.concatenate([ogroup, new_group])
    all_key = np.concatenate([okey, new_key])
    final = np.lexsort((all_key, all_group, all_u))
    # columns of the kept original edges, then the new
    o_codes = codes[keep_e]
    tag_rows = np.concatenate([o_codes, new_codes])
    lengths = np.concatenate([length[keep_e], new_len])
    ones = np.concatenate([oneway[keep_e], new_one])
    revs = np.concatenate([rev[keep_e], new_rev])
    osm_old = way_ids[way[keep_e]]
    n_kept = int(keep_e.sum())
    # drop removed nodes, renumber
    alive = ~removed
    new_row = np.cumsum(alive) - 1
    perm = final
    osm_scalar = np.concatenate([osm_old, scalar_new])[perm]
    where = np.empty(len(perm), dtype=np.int64)
    where[perm] = np.arange(len(perm))
    osm_lists = {int(where[n_kept + i]): o for i, o in list_osm.items()}
    # geometries: the merged edges' paths, gathered in the final edge order
    g_count = np.concatenate([np.zeros(n_kept, dtype=np.int64), p_len])[perm]
    g_from = np.concatenate([np.zeros(n_kept, dtype=np.int64), p_start[:-1]])[perm]
    g_start = np.r_[0, np.cumsum(g_count)]
    take = np.repeat(g_from - g_start[:-1], g_count) + np.arange(int(g_start[-1]))
    return {
        "node_id": node_ids[alive], "lon": lon[alive], "lat": lat[alive],
        "u": new_row[all_u[perm]], "v": new_row[all_v[perm]], "key": all_key[perm],
        "tags": tag_rows[perm], "length": lengths[perm], "oneway": ones[perm], "reversed": revs[perm],
        "osm_scalar": osm_scalar, "osm_lists": osm_lists, "geom_start": g_start, "geom_xy": geom_xy[take],
    }


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a mask: faster than ``np.unique``'s hashing on int64 keys)."""
    a = np.sort(values)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _walk_paths(node_ids: np.ndarray, ep: np.ndarray, nb: np.ndarray, n_nb: np.ndarray, succ_u: np.ndarray,
                succ_v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """osmnx's paths between endpoints, in its order, as one flat array of node rows.

    A path starts at each endpoint (in the order of the endpoint set osmnx iterates), through each of
    its non-endpoint successors (adjacency order). An interior node has exactly two neighbours, so an
    arc ``x -> y`` continues along ``y -> q`` (``q`` the other neighbour of ``y``) when that arc exists:
    the arcs form disjoint chains, walked by pointer jumping (distance to the chain's end) rather than
    node by node. Returns the flat rows, each path's start (and an end sentinel) and each path's length.
    """
    n = len(node_ids)
    n_arcs = len(succ_u)
    # the two neighbours of every node with exactly two (nb is sorted by node, then neighbour)
    nb_start = np.r_[0, np.cumsum(n_nb)][:-1]
    two_nb = n_nb == 2
    nb0 = np.full(n, -1, dtype=np.int64)
    nb1 = np.full(n, -1, dtype=np.int64)
    nb0[two_nb] = nb[nb_start[two_nb]] % n
    nb1[two_nb] = nb[nb_start[two_nb] + 1] % n
    # next arc of each arc (-1: the chain ends at its head)
    arc_key = succ_u.astype(np.int64) * n + succ_v
    arc_sort = np.argsort(arc_key, kind="stable")
    sorted_key = arc_key[arc_sort]
    go_on = ~ep[succ_v]
    q = nb0[succ_v] + nb1[succ_v] - succ_u
    want = succ_v.astype(np.int64) * n + q
    pos = np.minimum(np.searchsorted(sorted_key, want), max(n_arcs - 1, 0))
    found = go_on & (sorted_key[pos] == want) if n_arcs else go_on
    nxt = np.where(found, arc_sort[pos], -1)
    # the start arcs: endpoint -> non-endpoint, endpoints in osmnx's set order, then adjacency order
    endpoints = {i for i, e in zip(node_ids.tolist(), ep.tolist()) if e}  # the same set osmnx iterates
    ep_rows = np.searchsorted(node_ids, np.fromiter(endpoints, dtype=np.int64, count=len(endpoints)))
    ep_rank = np.full(n, n, dtype=np.int64)
    ep_rank[ep_rows] = np.arange(len(ep_rows))
    starts = np.flatnonzero(ep[succ_u] & go_on)
    starts = starts[np.lexsort((starts, ep_rank[succ_u[starts]]))]
    # pointer jumping: hops to the chain's last arc, and that arc
    jump = np.where(nxt >= 0, nxt, np.arange(n_arcs))
    hops = (nxt >= 0).astype(np.int64)
    for _ in range(max(int(n_arcs).bit_length(), 1)):
        hops = hops + hops[jump]
        jump = jump[jump]
    n_paths = len(starts)
    p_len = hops[starts] + 2  # the endpoint, then the head of each arc
    p_start = np.r_[0, np.cumsum(p_len)].astype(np.int64)
    flat = np.empty(int(p_start[-1]), dtype=np.int64)
    flat[p_start[:-1]] = succ_u[starts]
    # every arc on a walked chain: its path (by the chain's last arc) and its place along it
    path_of_last = np.full(n_arcs, -1, dtype=np.int64)
    path_of_last[jump[starts]] = np.arange(n_paths)
    on = np.flatnonzero(path_of_last[jump] >= 0)
    path = path_of_last[jump[on]]
    place = hops[starts][path] - hops[on]
    flat[p_start[path] + 1 + place] = succ_v[on]
    ends = flat[p_start[1:] - 1] if n_paths else flat
    stuck = int((~ep[ends]).sum())
    if stuck:
        logger.warning("unexpected simplify pattern: %d paths end at a node that is not an endpoint", stuck)
    return flat, p_start, p_len


# ------------------------------------------------------------------------------------ edge table


class _Nodes:
    """``graph.nodes[n]`` of the edge table: positions by OSM id, inserted nodes included."""

    def __init__(self, table: _EdgeTable) -> None:
        self.table = table

    def __getitem__(self, node: int) -> dict[str, float]:
        r = self.table.row(node)
        return {"x": self.table.lon[r], "y": self.table.lat[r]}

    def __iter__(self):
        return iter(self.table.node_id.tolist())


class _EdgeView:
    def __init__(self, table: _EdgeTable) -> None:
        self.table = table

    def __getitem__(self, e: tuple[int, int, int]) -> dict[str, Any]:
        return self.table.data(e)


class _EdgeTable:
    """The simplified graph's edges with the networkx access service-area snapping needs.

    Only the few carriageway edges split at service areas are ever turned into dicts; ``finish``
    writes the splits back into arrays.
    """

    def __init__(self, simple: dict[str, Any], speed: np.ndarray, travel: np.ndarray, strings: _Strings) -> None:
        self.s = simple
        self.speed, self.travel, self.strings = speed, travel, strings
        self.node_id = simple["node_id"]
        self.lon, self.lat = simple["lon"].tolist(), simple["lat"].tolist()
        self._row = None
        self.added_nodes: list[tuple[int, float, float]] = []
        self.removed: set[int] = set()
        self.added: list[tuple[int, int, int, dict[str, Any]]] = []
        self.nodes = _Nodes(self)
        self.edges = _EdgeView(self)
        ids = self.node_id
        self.uid, self.vid = ids[simple["u"]], ids[simple["v"]]
        hk = TAG_KEYS.index("highway")
        motorway_code = strings.code.get("motorway", -2)
        self.mw = np.flatnonzero(simple["tags"][:, hk] == motorway_code)
        self.mw_set = set(self.mw.tolist())
        self.index = {(int(self.uid[i]), int(self.vid[i]), int(simple["key"][i])): int(i) for i in self.mw}

    def row(self, node: int) -> int:
        if node < 0 and node not in self._rows():
            pass
        return self._rows()[node]

    def _rows(self) -> dict[int, int]:
        if self._row is None:
            self._row = {int(n): i for i, n in enumerate(self.node_id.tolist())}
        return self._row

    def motorway_edges(self) -> list[tuple[int, int, int]]:
        return list(self.index)

    def data(self, e: tuple[int, int, int]) -> dict[str, Any]:
        for u, v, k, d in self.added:
            if (u, v, k) == e:
                return d
        return self._base(self.index[e])

    def _base(self, i: int) -> dict[str, Any]:
        s = self.s
        d: dict[str, Any] = {"osmid": self.osmid(i)}
        for key, code in zip(TAG_KEYS, s["tags"][i].tolist()):
            if code >= 0:
                d[key] = self.strings.values[code]
        d["oneway"] = bool(s["oneway"][i])
        d["reversed"] = bool(s["reversed"][i])
        d["length"] = float(s["length"][i])
        g = self.coords(i)
        if g is not None:
            d["geometry"] = shapely.LineString(g)
        d["speed_kph"] = float(self.speed[i])
        d["travel_time"] = float(self.travel[i])
        return d

    def osmid(self, i: int) -> int | list[int]:
        got = self.s["osm_lists"].get(i)
        return list(got) if got is not None else int(self.s["osm_scalar"][i])

    def coords(self, i: int) -> np.ndarray | None:
        a, b = self.s["geom_start"][i], self.s["geom_start"][i + 1]
        return self.s["geom_xy"][a:b] if b > a else None

    def add_node(self, node: int, *, x: float, y: float, **_: Any) -> None:
        self._rows()[node] = len(self.lon)
        self.lon.append(x)
        self.lat.append(y)
        self.added_nodes.append((node, x, y))

    def remove_edge(self, u: int, v: int, k: int) -> None:
        for j, (a, b, c, _) in enumerate(self.added):
            if (a, b, c) == (u, v, k):
                del self.added[j]
                return
        self.removed.add(self.index[(u, v, k)])

    def add_edge(self, u: int, v: int, **attrs: Any) -> None:
        keys = {c for a, b, c, _ in self.added if (a, b) == (u, v)}
        keys |= {k for (a, b, k), i in self.index.items() if (a, b) == (u, v) and i not in self.removed}
        key = 0
        while key in keys:
            key += 1
        self.added.append((u, v, key, attrs))

    def out_edges(self, node: int, data: bool = True) -> list[tuple[int, int, dict[str, Any]]]:
        out = []
        if node in self._rows() and self._rows()[node] < len(self.node_id):
            r = self._rows()[node]
            lo, hi = np.searchsorted(self.s["u"], [r, r + 1])
            for i in range(int(lo), int(hi)):
                if i not in self.removed:
                    d = self._base(i) if i in self.mw_set else self._tags_only(i)
                    out.append((node, int(self.vid[i]), d))
        out += [(a, b, d) for a, b, _, d in self.added if a == node]
        return out

    def _tags_only(self, i: int) -> dict[str, Any]:
        return {key: self.strings.values[c] for key, c in zip(TAG_KEYS, self.s["tags"][i].tolist()) if c >= 0}

    def get_edge_data(self, u: int, v: int) -> dict[int, dict[str, Any]]:
        out = {k: self._base(i) for (a, b, k), i in self.index.items() if (a, b) == (u, v) and i not in self.removed}
        out.update({k: d for a, b, k, d in self.added if (a, b) == (u, v)})
        return out

    def finish(self) -> RoadArrays:
        """The arrays of the graph with the splits applied, in networkx iteration order."""
        s = self.s
        n0 = len(self.node_id)
        keep = np.ones(len(s["u"]), dtype=bool)
        keep[list(self.removed)] = False
        node_id = np.concatenate([self.node_id, np.array([n for n, _, _ in self.added_nodes], dtype=np.int64)])
        lon = np.asarray(self.lon, dtype=float)
        lat = np.asarray(self.lat, dtype=float)
        inserted = np.r_[np.zeros(n0, dtype=bool), np.ones(len(self.added_nodes), dtype=bool)]
        rows = self._rows()
        base = np.flatnonzero(keep)
        k_add = len(self.added)
        u = np.concatenate([s["u"][base], np.array([rows[a] for a, _, _, _ in self.added], dtype=np.int64)])
        v = np.concatenate([s["v"][base], np.array([rows[b] for _, b, _, _ in self.added], dtype=np.int64)])
        key = np.concatenate([s["key"][base], np.array([c for _, _, c, _ in self.added], dtype=np.int64)])
        # added edges go after every existing neighbour of their source, in the order added
        rank = np.concatenate([np.arange(len(base)), len(base) + np.arange(k_add)])
        order = np.lexsort((rank, u))
        add_d = [d for _, _, _, d in self.added]

        def col(name: str, base_vals: np.ndarray, fn: Any) -> np.ndarray:
            return np.concatenate([base_vals[base], np.asarray([fn(d) for d in add_d], dtype=base_vals.dtype)])[order]

        length = col("length", s["length"], lambda d: d["length"])
        speed = col("speed", self.speed, lambda d: d["speed_kph"])
        travel = col("travel", self.travel, lambda d: d["travel_time"])
        oneway = col("oneway", s["oneway"], lambda d: d["oneway"])
        rev = col("reversed", s["reversed"], lambda d: d["reversed"])
        add_tags = np.array([[self.strings(d[k]) if d.get(k) is not None else -1 for k in TAG_KEYS] for d in add_d],
                            dtype=np.int32).reshape(k_add, len(TAG_KEYS))
        tags = np.concatenate([s["tags"][base], add_tags])[order]
        # osmid: one id per edge, or a list (merged edges of several ways)
        n_base = len(base)
        base_pos = np.full(len(s["u"]), -1, dtype=np.int64)
        base_pos[base] = np.arange(n_base)
        at_final = np.empty(len(order), dtype=np.int64)
        at_final[order] = np.arange(len(order))
        lists = {int(at_final[base_pos[i]]): o for i, o in s["osm_lists"].items() if base_pos[i] >= 0}
        lists.update({int(at_final[n_base + j]): d["osmid"] for j, d in enumerate(add_d) if isinstance(d["osmid"], list)})
        scal = np.concatenate([s["osm_scalar"][base], np.array(
            [-1 if isinstance(d["osmid"], list) else d["osmid"] for d in add_d], dtype=np.int64)])[order]
        is_list = np.zeros(len(order), dtype=bool)
        is_list[list(lists)] = True
        o_counts = np.ones(len(order), dtype=np.int64)
        for i, o in lists.items():
            o_counts[i] = len(o)
        o_start = np.r_[0, np.cumsum(o_counts)].astype(np.int64)
        o_flat = np.repeat(scal, o_counts)
        for i, o in lists.items():
            o_flat[o_start[i]:o_start[i + 1]] = o
        # geometry ranges of the kept edges, then of the added pieces
        gs = s["geom_start"]
        add_xy = [np.asarray(d["geometry"].coords, dtype=float) for d in add_d]
        cnt = np.concatenate([(gs[1:] - gs[:-1])[base], np.array([len(c) for c in add_xy], dtype=np.int64)])
        frm = np.concatenate([gs[:-1][base], len(s["geom_xy"]) + np.r_[0, np.cumsum([len(c) for c in add_xy])][:-1]
                              .astype(np.int64)])
        pool = np.concatenate([s["geom_xy"], *add_xy]) if add_xy else s["geom_xy"]
        cnt, frm = cnt[order], frm[order]
        g_start = np.r_[0, np.cumsum(cnt)].astype(np.int64)
        take = np.repeat(frm - g_start[:-1], cnt) + np.arange(int(g_start[-1]))
        g_xy = pool[take].reshape(-1, 2)
        return RoadArrays(
            node_id=node_id, lon=lon, lat=lat, inserted=inserted,
            u=u[order].astype(np.int32), v=v[order].astype(np.int32), key=key[order].astype(np.int32),
            length_m=length, speed_kph=speed, travel_time_s=travel, oneway=oneway, reversed=rev, tags=tags,
            strings=list(self.strings.values),
            osmid_start=o_start, osmid_flat=o_flat, osmid_is_list=is_list, geom_start=g_start, geom_xy=g_xy,
        )
