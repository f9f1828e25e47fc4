"""Seeded synthetic OSM regions (``.osm.pbf`` written directly, or XML with pyosmium) for the benchmarks.

A local grid (0.4 km rural lattice, 0.1 km in city cores, shape nodes on most blocks, some blocks
missing, one-way streets downtown), dual-carriageway motorways with interchanges (junction nodes,
``motorway_link`` ramps) and per-side service areas, places with population, fuel and parking. A
province is several cities with admin boundary polygons (GeoJSON, ``adcode``/``level=city``).
The lattice is built in numpy arrays (ways as one flat array of node refs), so 10M nodes take minutes.
``python -m bench.synth_region --osm-nodes 80000 --out region.osm.pbf`` writes one.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LON0, LAT0 = 114.30, 23.00
KM_PER_DEG_LAT = 110.574
RURAL_KM = 0.4
URBAN_KM = 0.1
#: OSM nodes per km² of a region (rural lattice, cores included); calibrated on the generator's output.
NODES_PER_KM2 = 20.1
#: Shape nodes on a country block, drawn uniformly from this tuple.
_SHAPE_NODES = np.array([0, 1, 1, 2])
#: A grid way is cut after about this many nodes.
_WAY_NODES = 24

#: The sizes the benchmarks use, by name: target OSM nodes and cities.
SIZES = {"city": (80_000, 1), "region": (300_000, 2), "metro": (1_000_000, 3), "province": (10_000_000, 6)}


@dataclass
class Region:
    """Everything written: nodes (index → lon, lat, tags), ways as flat arrays, and the city boundaries.

    Way ``w`` is ``way_refs[way_start[w]:way_start[w + 1]]`` (node indices) with tags ``tag_sets[way_tag[w]]``.
    """

    lon: np.ndarray
    lat: np.ndarray
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)   # node index -> tags
    way_refs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    way_start: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    way_tag: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tag_sets: list[dict[str, str]] = field(default_factory=list)
    cities: list[dict] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        return len(self.lon)

    @property
    def n_ways(self) -> int:
        return len(self.way_tag)

    @property
    def ways(self) -> list[tuple[list[int], dict[str, str]]]:
        """The ways as (node indices, tags) pairs: for small regions and tests."""
        refs, start = self.way_refs.tolist(), self.way_start.tolist()
        return [(refs[start[w]:start[w + 1]], self.tag_sets[t]) for w, t in enumerate(self.way_tag.tolist())]


def _to_lonlat(x_km: np.ndarray, y_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = LAT0 + y_km / KM_PER_DEG_LAT
    lon = LON0 + x_km / (KM_PER_DEG_LAT * 1.0034 * math.cos(math.radians(LAT0)))
    return lon, lat


class _Builder:
    """Nodes as coordinate arrays appended in id order; ways as ref arrays with interned tag sets."""

    def __init__(self) -> None:
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []
        self.count = 0
        self.tags: dict[int, dict[str, str]] = {}
        self.refs: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.way_tag: list[np.ndarray] = []
        self.tag_sets: list[dict[str, str]] = []
        self._tag_ids: dict[tuple, int] = {}
        self._single: list[tuple[list[int], int]] = []

    def nodes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ids = np.arange(self.count, self.count + len(x))
        self.x.append(np.asarray(x, dtype=float))
        self.y.append(np.asarray(y, dtype=float))
        self.count += len(x)
        return ids

    def tag_id(self, tags: dict[str, str]) -> int:
        key = tuple(tags.items())
        if key not in self._tag_ids:
            self._tag_ids[key] = len(self.tag_sets)
            self.tag_sets.append(dict(tags))
        return self._tag_ids[key]

    def way(self, refs: list[int], tags: dict[str, str]) -> None:
        self._single.append((refs, self.tag_id(tags)))

    def way_block(self, refs: np.ndarray, lengths: np.ndarray, tag_ids: np.ndarray) -> None:
        self._flush_single()
        self.refs.append(refs.astype(np.int64))
        self.lengths.append(lengths.astype(np.int64))
        self.way_tag.append(tag_ids.astype(np.int64))

    def _flush_single(self) -> None:
        if self._single:
            self.refs.append(np.array([r for refs, _ in self._single for r in refs], dtype=np.int64))
            self.lengths.append(np.array([len(refs) for refs, _ in self._single], dtype=np.int64))
            self.way_tag.append(np.array([t for _, t in self._single], dtype=np.int64))
            self._single = []

    def ways(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._flush_single()
        lengths = np.concatenate(self.lengths)
        start = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=start[1:])
        return np.concatenate(self.refs), start, np.concatenate(self.way_tag)


def _line_class(idx: int, is_urban: bool, per: int) -> dict[str, str]:
    if idx % (per * 16) == 0:
        return {"highway": "primary", "maxspeed": "60"} if idx % (per * 32) == 0 else {"highway": "primary"}
    if idx % (per * 8) == 0:
        return {"highway": "secondary"}
    if idx % per == 0:
        return {"highway": "tertiary"} if is_urban or idx % (per * 4) == 0 else {"highway": "unclassified"}
    return {"highway": "residential"}


def _grid_ways(b: _Builder, line: np.ndarray, pos: np.ndarray, node: np.ndarray, urban: np.ndarray,
               x: np.ndarray, y: np.ndarray, per: int, rng: np.random.Generator) -> None:
    """The grid's ways along one direction: ``line``/``pos`` are each lattice node's line and place on it,
    sorted by (line, pos); ``node`` its id. Consecutive nodes of a line are joined (every 0.1 km downtown,
    every 0.4 km elsewhere; 4 % of country blocks missing), country blocks get 0–2 shape nodes, and the
    runs of joined blocks are cut into ways of about ``_WAY_NODES`` nodes."""
    same = line[1:] == line[:-1]
    gap = pos[1:] - pos[:-1]
    both_urban = urban[:-1] & urban[1:]
    coarse = line[:-1] % per == 0
    ok = same & np.where(coarse, gap <= per, gap == 1)
    ok &= ~coarse | (rng.random(len(ok)) > 0.04) | both_urban
    seg = np.flatnonzero(ok)
    a, c = seg, seg + 1
    k = np.where(both_urban[seg], 0, _SHAPE_NODES[rng.integers(0, 4, len(seg))])
    # shape nodes along the block, jittered
    n_shape = int(k.sum())
    seg_of = np.repeat(np.arange(len(seg)), k)
    first_shape = np.cumsum(k) - k
    rank = np.arange(n_shape) - first_shape[seg_of] + 1
    t = rank / (k[seg_of] + 1)
    xa, xc, ya, yc = x[node[a]][seg_of], x[node[c]][seg_of], y[node[a]][seg_of], y[node[c]][seg_of]
    sx = xa + (xc - xa) * t + rng.uniform(-0.03, 0.03, n_shape)
    sy = ya + (yc - ya) * t + rng.uniform(-0.03, 0.03, n_shape)
    shape_ids = b.nodes(sx, sy)
    # runs of consecutive joined blocks, cut by the nodes they add
    run_start = np.ones(len(seg), dtype=bool)
    run_start[1:] = seg[1:] != seg[:-1] + 1
    run_of = np.cumsum(run_start) - 1
    added = np.cumsum(k + 1)
    before = added - (k + 1)
    run_base = before[run_start][run_of]
    piece = (before - run_base) // _WAY_NODES
    way_first = run_start.copy()
    way_first[1:] |= piece[1:] != piece[:-1]
    # each block writes its shape nodes and its far end; a way's first block also its near end
    item_len = k + 1 + way_first
    out_start = np.cumsum(item_len) - item_len
    refs = np.empty(int(item_len.sum()), dtype=np.int64)
    refs[out_start[way_first]] = node[a[way_first]]
    refs[out_start + item_len - 1] = node[c]
    refs[out_start[seg_of] + way_first[seg_of] + rank - 1] = shape_ids
    starts = out_start[way_first]
    lengths = np.diff(np.append(starts, len(refs)))
    q = line[a[way_first]]
    # tags by line: class (tertiary or unclassified by whether the line has any urban node), name, one-way
    line_ids, first_of_line = np.unique(line, return_index=True)
    any_urban = np.logical_or.reduceat(urban, first_of_line) if len(line) else np.zeros(0, bool)
    urban_line = dict(zip(line_ids.tolist(), any_urban.tolist(), strict=True))
    tag_of: dict[int, int] = {}
    reverse_line: dict[int, bool] = {}
    for qq in np.unique(q).tolist():
        tags = dict(_line_class(qq, urban_line[qq], per))
        tags["name"] = f"{qq}路"
        oneway = tags["highway"] == "residential" and qq % 2 == 1
        if oneway:
            tags["oneway"] = "yes"
        reverse_line[qq] = oneway and qq % 4 == 3
        tag_of[qq] = b.tag_id(tags)
    way_tag = np.array([tag_of[qq] for qq in q.tolist()], dtype=np.int64)
    rev = np.array([reverse_line[qq] for qq in q.tolist()], dtype=bool)
    if rev.any():
        way_of = np.repeat(np.arange(len(starts)), lengths)
        flip = rev[way_of]
        src = np.arange(len(refs))
        src[flip] = (2 * starts[way_of] + lengths[way_of] - 1 - src)[flip]
        refs = refs[src]
    b.way_block(refs, lengths, way_tag)


def generate(osm_nodes: int, *, cities: int = 1, seed: int = 0) -> Region:
    """A region of about ``osm_nodes`` OSM nodes with ``cities`` city cores (one admin area each)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    side_km = math.sqrt(osm_nodes / NODES_PER_KM2)
    b = _Builder()
    # ---- city cores and their admin areas: the region cut into a grid of cities
    cols = math.ceil(math.sqrt(cities))
    rows = math.ceil(cities / cols)
    cw, ch = side_km / cols, side_km / rows
    centres = []
    for k in range(cities):
        r, c = divmod(k, cols)
        cx = (c + 0.5 + rng.uniform(-0.15, 0.15)) * cw
        cy = (r + 0.5 + rng.uniform(-0.15, 0.15)) * ch
        centres.append((cx, cy, min(cw, ch) * rng.uniform(0.07, 0.10)))
    # ---- lattice: rural crossings every RURAL_KM, every URBAN_KM cell inside city cores (row-major ids)
    n_fine = int(side_km / URBAN_KM) + 1
    per = round(RURAL_KM / URBAN_KM)
    coarse = np.arange(0, n_fine, per, dtype=np.int64)
    crossings = (coarse[:, None] * n_fine + coarse[None, :]).ravel()
    urban_cells = []
    for cx, cy, r in centres:
        i0, i1 = max(0, math.floor((cy - r) / URBAN_KM)), min(n_fine - 1, math.ceil((cy + r) / URBAN_KM))
        j0, j1 = max(0, math.floor((cx - r) / URBAN_KM)), min(n_fine - 1, math.ceil((cx + r) / URBAN_KM))
        ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
        inside = np.hypot(jj * URBAN_KM - cx, ii * URBAN_KM - cy) <= r
        urban_cells.append((ii[inside] * n_fine + jj[inside]).astype(np.int64))
    urban_flat = np.unique(np.concatenate(urban_cells))
    flat = np.union1d(crossings, urban_flat)
    del crossings
    urban = np.isin(flat, urban_flat, assume_unique=True)
    row, col = flat // n_fine, flat % n_fine
    jitter = np.where(urban, 0.01, 0.06)
    lattice = b.nodes(col * URBAN_KM + rng.uniform(-1, 1, len(flat)) * jitter,
                      row * URBAN_KM + rng.uniform(-1, 1, len(flat)) * jitter)
    lattice_x, lattice_y = b.x[0], b.y[0]
    _grid_ways(b, row, col, lattice, urban, lattice_x, lattice_y, per, rng)
    by_col = np.lexsort((row, col))
    _grid_ways(b, col[by_col], row[by_col], lattice[by_col], urban[by_col], lattice_x, lattice_y, per, rng)
    del by_col, row, col, flat
    tree = cKDTree(np.column_stack([lattice_x, lattice_y]))

    def nearest_lattice(px: float, py: float) -> int:
        return int(tree.query((px, py))[1])

    # ---- motorways: dual carriageways west–east and south–north, nodes every 0.5 km
    motorways = []
    n_mw = max(1, round(side_km / 45))
    for k in range(n_mw):
        motorways.append(("h", (k + 0.5) * side_km / n_mw + rng.uniform(-2, 2), f"G{15 + 10 * k}"))
        motorways.append(("v", (k + 0.6) * side_km / n_mw + rng.uniform(-2, 2), f"G{1523 + 2 * k}"))
    exit_no = 1
    sa_no = 1
    for direction, offset, ref in motorways:
        s = np.arange(0.0, side_km, 0.5)
        wobble = 0.6 * np.sin(s / 9.0 + rng.uniform(0, 6))
        for carriage in (0, 1):  # 0: increasing (right-hand: south/east side), 1: decreasing
            shift = -0.025 if carriage == 0 else 0.025
            if direction == "h":
                x, y = s, offset + wobble + shift
            else:
                x, y = offset + wobble - shift, s
            ids_c = b.nodes(x, y).tolist()
            order = ids_c if carriage == 0 else ids_c[::-1]
            ox_ = (x if carriage == 0 else x[::-1]) * np.ones(len(order))
            oy_ = (y if carriage == 0 else y[::-1]) * np.ones(len(order))

            def _xy_at(j: int, ox_=ox_, oy_=oy_) -> tuple[float, float]:
                return float(ox_[j]), float(oy_[j])
            name = f"{ref}高速"
            for start in range(0, len(order) - 1, 30):
                b.way(order[start:start + 31], {"highway": "motorway", "oneway": "yes", "ref": ref, "name": name,
                                                **({"maxspeed": "100"} if start % 60 else {})})
            # the carriageway's ends join the grid (a motorway leaving the region through a slip road)
            g0 = nearest_lattice(*_xy_at(0))
            g1 = nearest_lattice(*_xy_at(len(order) - 1))
            b.way([g0, order[0]], {"highway": "motorway_link", "oneway": "yes"})
            b.way([order[-1], g1], {"highway": "motorway_link", "oneway": "yes"})
            # interchanges every ~6 km: junction, off-ramp to the grid, on-ramp back
            for j in range(8, len(order) - 8, 12):
                jn = order[j]
                jx, jy = _xy_at(j)
                g = nearest_lattice(jx, jy)
                b.tags[jn] = {"highway": "motorway_junction", "ref": str(exit_no), "name": f"{exit_no}号出口"}
                exit_no += 1
                gx_, gy_ = lattice_x[g], lattice_y[g]
                mid = b.nodes(np.array([(jx + gx_) / 2 + 0.05]), np.array([(jy + gy_) / 2 + 0.05])).tolist()
                b.way([jn, *mid, g], {"highway": "motorway_link", "oneway": "yes"})
                back = order[j + 2]
                bx, by = _xy_at(j + 2)
                mid2 = b.nodes(np.array([(bx + gx_) / 2 - 0.05]), np.array([(by + gy_) / 2 - 0.05])).tolist()
                b.way([g, *mid2, back], {"highway": "motorway_link", "oneway": "yes"})
            # service areas every ~25 km, one element per side, on the right of travel
            for j in range(20, len(order) - 10, 50):
                (x0, y0), (x1, y1) = _xy_at(j), _xy_at(j + 1)
                dx, dy = x1 - x0, y1 - y0
                norm = math.hypot(dx, dy) or 1.0
                rx, ry = dy / norm * 0.08, -dx / norm * 0.08  # right of travel
                cx_, cy_ = (x0 + x1) / 2 + rx, (y0 + y1) / 2 + ry
                number = sa_no + (j // 50)
                tags = {"highway": "services", "name": f"{ref}第{number}服务区", "capacity": str(60 + 10 * (j % 7))}
                if (j // 50) % 3 == 2:  # some mapped as areas
                    d = 0.03
                    ring = b.nodes(np.array([cx_ - d, cx_ + d, cx_ + d, cx_ - d]),
                                   np.array([cy_ - d, cy_ - d, cy_ + d, cy_ + d])).tolist()
                    b.way([*ring, ring[0]], tags)
                else:
                    (nid,) = b.nodes(np.array([cx_]), np.array([cy_])).tolist()
                    b.tags[nid] = tags
        sa_no += 100
    del tree

    # ---- places, fuel, parking
    city_names = ["汕城", "海丰", "陆河", "陆丰", "惠来", "普宁", "揭西", "五华", "紫金"]
    for k, (cx, cy, r) in enumerate(centres):
        (nid,) = b.nodes(np.array([cx + 0.05]), np.array([cy + 0.05])).tolist()
        b.tags[nid] = {"place": "city", "name": f"{city_names[k % len(city_names)]}{k // len(city_names) or ''}市",
                       "population": str(int(rng.uniform(3e5, 2e6)))}
    for kind, spacing, pop in (("town", 10.0, (2e4, 8e4)), ("village", 4.0, (500, 5000))):
        coords = np.arange(spacing / 2, side_km, spacing)
        gi, gj = np.meshgrid(np.arange(len(coords)), np.arange(len(coords)), indexing="ij")
        gi, gj = gi.ravel(), gj.ravel()
        ids = b.nodes(coords[gi] + rng.uniform(-1, 1, len(gi)), coords[gj] + rng.uniform(-1, 1, len(gi)))
        people = rng.uniform(*pop, len(gi)).astype(np.int64)
        for nid, i, j, p in zip(ids.tolist(), gi.tolist(), gj.tolist(), people.tolist(), strict=True):
            b.tags[nid] = {"place": kind, "name": f"{kind}{i}-{j}", "population": str(p)}
    for amenity, per_km2_urban, per_km2_rural in (("fuel", 0.5, 0.03), ("parking", 1.5, 0.05)):
        p = np.where(urban, per_km2_urban * URBAN_KM**2, per_km2_rural * RURAL_KM**2 * 4)
        pick = np.flatnonzero(rng.random(len(p)) < p)
        fx = lattice_x[pick] + rng.uniform(-0.05, 0.05, len(pick))
        fy = lattice_y[pick] + rng.uniform(-0.05, 0.05, len(pick))
        for nid in b.nodes(fx, fy).tolist():
            b.tags[nid] = {"amenity": amenity, "name": f"{amenity} {nid}"}
    lon, lat = _to_lonlat(np.concatenate(b.x), np.concatenate(b.y))
    b.x, b.y = [], []
    way_refs, way_start, way_tag = b.ways()
    region = Region(lon=lon, lat=lat, node_tags=b.tags, way_refs=way_refs, way_start=way_start, way_tag=way_tag,
                    tag_sets=b.tag_sets)
    for k in range(cities):
        r, c = divmod(k, cols)
        region.cities.append(_city_polygon(k, c * cw, r * ch, cw, ch, side_km, rng))
    return region


def _city_polygon(k: int, x0: float, y0: float, w: float, h: float, side: float, rng: np.random.Generator) -> dict:
    """An admin area: the city's cell with a wavy edge (shared edges stay shared: seeded by position).

    The wave fades to nothing at the cell's corners, so that the ring never crosses itself there."""
    def wave(t: np.ndarray, base: float, along: str, lo: float, hi: float) -> np.ndarray:
        if base <= 0 or base >= side - 1e-9:
            return np.zeros_like(t)
        seed = int(base * 1000) + (0 if along == "x" else 7)
        return 0.8 * np.sin(t / 3.0 + seed % 13) * np.sin(np.pi * (t - lo) / (hi - lo))
    steps = 24
    tx = np.linspace(x0, x0 + w, steps)
    ty = np.linspace(y0, y0 + h, steps)
    south = np.column_stack([tx, y0 + wave(tx, y0, "x", x0, x0 + w)])
    east = np.column_stack([x0 + w + wave(ty, x0 + w, "y", y0, y0 + h), ty])
    north = np.column_stack([tx[::-1], y0 + h + wave(tx[::-1], y0 + h, "x", x0, x0 + w)])
    west = np.column_stack([x0 + wave(ty[::-1], x0, "y", y0, y0 + h), ty[::-1]])
    ring = np.vstack([south, east[1:], north[1:], west[1:]])
    lon, lat = _to_lonlat(ring[:, 0], ring[:, 1])
    coords = [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]
    coords.append(coords[0])
    return {"type": "Feature", "properties": {"adcode": f"4499{k + 1:02d}", "name": f"city {k + 1}", "level": "city"},
            "geometry": {"type": "Polygon", "coordinates": [coords]}}


# ------------------------------------------------------------------------------------------ writing


def write(region: Region, path: Path) -> Path:
    """Write the region, atomically; nodes first, ids from 1. ``.pbf`` is encoded here in bulk (blocks of
    8,000 objects, zlib); any other name (XML) goes through pyosmium object by object."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    tmp.unlink(missing_ok=True)
    if path.name.endswith(".pbf"):
        with open(tmp, "wb") as f:
            _write_pbf(region, f)
    else:
        _write_pyosmium(region, tmp)
    tmp.replace(path)
    return path


def _write_pyosmium(region: Region, path: Path) -> None:
    import osmium
    from osmium.osm.mutable import Node, Way

    writer = osmium.SimpleWriter(str(path))
    try:
        lon, lat = region.lon.tolist(), region.lat.tolist()
        tags = region.node_tags
        for i in range(len(lon)):
            writer.add_node(Node(id=i + 1, location=(lon[i], lat[i]), tags=tags.get(i, {}), version=1))
        refs, start = region.way_refs.tolist(), region.way_start.tolist()
        for w, t in enumerate(region.way_tag.tolist()):
            writer.add_way(Way(id=w + 1, nodes=[r + 1 for r in refs[start[w]:start[w + 1]]],
                               tags=region.tag_sets[t], version=1))
    finally:
        writer.close()


_BLOCK = 8000
_SHIFTS = np.arange(10, dtype=np.uint64) * np.uint64(7)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _varints(v: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Protobuf varints of non-negative integers, concatenated, and each one's byte length."""
    v = np.asarray(v).astype(np.uint64)
    septets = (v[:, None] >> _SHIFTS) & np.uint64(0x7F)
    nbytes = 10 - np.argmax(septets[:, ::-1] != 0, axis=1)
    nbytes[v == 0] = 1
    more = np.arange(10) < (nbytes[:, None] - 1)
    octets = (septets.astype(np.uint8) | (more * 0x80).astype(np.uint8))
    return octets[np.arange(10) < nbytes[:, None]].tobytes(), nbytes


def _zigzag(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).view(np.uint64)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _frame(kind: str, block: bytes) -> bytes:
    """One fileblock: header length, BlobHeader, Blob with zlib data."""
    blob = _varint(2 << 3) + _varint(len(block)) + _field(3, zlib.compress(block, 6))
    header = _field(1, kind.encode()) + _varint(3 << 3) + _varint(len(blob))
    return struct.pack(">I", len(header)) + header + blob


def _primitive_block(strings: list[str], group: bytes) -> bytes:
    table = b"".join(_field(1, s.encode("utf-8")) for s in strings)
    return _field(1, table) + _field(2, group)


def _fixed(deg: np.ndarray) -> np.ndarray:
    """Degrees as the file's 1e-7 degree integers, rounded half away from zero."""
    scaled = np.asarray(deg) * 1e7
    return (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int64)


def _write_pbf(region: Region, f) -> None:
    """The OSM PBF format: a header block, then blocks of dense nodes, then blocks of ways."""
    header = _field(4, b"OsmSchema-V0.6") + _field(4, b"DenseNodes") + _field(5, b"Sort.Type_then_ID") \
        + _field(16, b"evplan bench.synth_region")
    f.write(_frame("OSMHeader", header))
    lat, lon = _fixed(region.lat), _fixed(region.lon)
    tags = region.node_tags
    tagged = np.array(sorted(tags), dtype=np.int64)
    for i0 in range(0, region.n_nodes, _BLOCK):
        i1 = min(region.n_nodes, i0 + _BLOCK)
        strings: dict[str, int] = {"": 0}
        here = tagged[(tagged >= i0) & (tagged < i1)].tolist()
        counts = np.ones(i1 - i0, dtype=np.int64)
        for i in here:
            counts[i - i0] += 2 * len(tags[i])
        kv = np.zeros(int(counts.sum()), dtype=np.int64)
        at = np.cumsum(counts) - counts
        for i in here:
            pairs = [strings.setdefault(s, len(strings)) for item in tags[i].items() for s in item]
            kv[at[i - i0]:at[i - i0] + len(pairs)] = pairs
        ids = np.arange(i0 + 1, i1 + 1, dtype=np.int64)
        dense = b"".join(_field(n, _varints(_zigzag(np.diff(a, prepend=0)))[0])
                         for n, a in ((1, ids), (8, lat[i0:i1]), (9, lon[i0:i1])))
        dense += _field(10, _varints(kv)[0])
        f.write(_frame("OSMData", _primitive_block(list(strings), _field(2, dense))))
    refs_all, start_all = region.way_refs + 1, region.way_start
    for w0 in range(0, region.n_ways, _BLOCK):
        w1 = min(region.n_ways, w0 + _BLOCK)
        r0, r1 = int(start_all[w0]), int(start_all[w1])
        refs = refs_all[r0:r1]
        delta = np.diff(refs, prepend=0)
        firsts = start_all[w0:w1] - r0
        delta[firsts] = refs[firsts]
        data, nbytes = _varints(_zigzag(delta))
        byte_at = np.zeros(len(nbytes) + 1, dtype=np.int64)
        np.cumsum(nbytes, out=byte_at[1:])
        cut = byte_at[start_all[w0:w1 + 1] - r0].tolist()
        strings = {"": 0}
        kv_fields: dict[int, bytes] = {}
        group = []
        for w, t in zip(range(w0, w1), region.way_tag[w0:w1].tolist(), strict=True):
            if t not in kv_fields:
                ts = region.tag_sets[t]
                keys = [strings.setdefault(k, len(strings)) for k in ts]
                vals = [strings.setdefault(v, len(strings)) for v in ts.values()]
                kv_fields[t] = _field(2, _varints(np.array(keys))[0]) + _field(3, _varints(np.array(vals))[0])
            i = w - w0
            way = b"\x08" + _varint(w + 1) + kv_fields[t] + _field(8, data[cut[i]:cut[i + 1]])
            group.append(_field(3, way))
        f.write(_frame("OSMData", _primitive_block(list(strings), b"".join(group))))


def write_boundaries(region: Region, path: Path) -> Path:
    """The cities' admin polygons as a GeoJSON FeatureCollection (``adcode``, ``level: city``)."""
    path = Path(path)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": region.cities}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def make(osm_nodes: int, out: Path, *, cities: int = 1, seed: int = 0) -> tuple[Path, Path, int]:
    """Generate and write a region and its boundaries; returns both paths and the OSM node count."""
    region = generate(osm_nodes, cities=cities, seed=seed)
    write(region, out)
    bounds = write_boundaries(region, out.with_name(out.name.split(".")[0] + ".boundaries.geojson"))
    return out, bounds, region.n_nodes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.synth_region", description=__doc__.splitlines()[0])
    p.add_argument("--osm-nodes", type=int, default=80_000)
    p.add_argument("--cities", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help=".osm.pbf or .osm")
    args = p.parse_args(argv)
    out, bounds, n = make(args.osm_nodes, args.out, cities=args.cities, seed=args.seed)
    print(f"wrote {out} ({n:,} OSM nodes) and {bounds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
