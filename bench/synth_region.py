"""Seeded synthetic OSM regions (``.osm.pbf`` or XML, written with pyosmium) for the benchmarks.

A local grid (0.4 km rural lattice, 0.1 km in city cores, shape nodes on most blocks, some blocks
missing, one-way streets downtown), dual-carriageway motorways with interchanges (junction nodes,
``motorway_link`` ramps) and per-side service areas, places with population, fuel and parking. A
province is several cities with admin boundary polygons (GeoJSON, ``adcode``/``level=city``).
``python -m bench.synth_region --osm-nodes 80000 --out region.osm.pbf`` writes one.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LON0, LAT0 = 114.30, 23.00
KM_PER_DEG_LAT = 110.574
RURAL_KM = 0.4
URBAN_KM = 0.1
#: OSM nodes per km² of a region (rural lattice, cores included); calibrated on the generator's output.
NODES_PER_KM2 = 20.1

#: The sizes the benchmarks use, by name: target OSM nodes and cities.
#: Shape nodes on a country block, drawn uniformly from this tuple.
_SHAPE_NODES = (0, 1, 1, 2)

SIZES = {"city": (80_000, 1), "region": (300_000, 2), "metro": (1_000_000, 3), "province": (10_000_000, 6)}


@dataclass
class Region:
    """Everything written: nodes (id → lon, lat, tags), ways, and the city boundaries."""

    lon: np.ndarray
    lat: np.ndarray
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)   # node index -> tags
    ways: list[tuple[list[int], dict[str, str]]] = field(default_factory=list)  # node indices, tags
    cities: list[dict] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        return len(self.lon)


def _to_lonlat(x_km: np.ndarray, y_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = LAT0 + y_km / KM_PER_DEG_LAT
    lon = LON0 + x_km / (KM_PER_DEG_LAT * 1.0034 * math.cos(math.radians(LAT0)))
    return lon, lat


class _Builder:
    def __init__(self) -> None:
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []
        self.count = 0
        self.tags: dict[int, dict[str, str]] = {}
        self.ways: list[tuple[list[int], dict[str, str]]] = []

    def nodes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ids = np.arange(self.count, self.count + len(x))
        self.x.append(np.asarray(x, dtype=float))
        self.y.append(np.asarray(y, dtype=float))
        self.count += len(x)
        return ids


def generate(osm_nodes: int, *, cities: int = 1, seed: int = 0) -> Region:
    """A region of about ``osm_nodes`` OSM nodes with ``cities`` city cores (one admin area each)."""
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
    # ---- lattice: rural lines every RURAL_KM, urban lines every URBAN_KM inside city cores
    n_fine = int(side_km / URBAN_KM) + 1
    per = round(RURAL_KM / URBAN_KM)
    gx = np.arange(n_fine) * URBAN_KM
    px, py = np.meshgrid(gx, gx)
    urban = np.zeros(px.shape, dtype=bool)
    for cx, cy, r in centres:
        urban |= np.hypot(px - cx, py - cy) <= r
    ii, jj = np.meshgrid(np.arange(n_fine), np.arange(n_fine))
    on_coarse = (ii % per == 0) | (jj % per == 0)
    on_crossing = (ii % per == 0) & (jj % per == 0)
    exists = urban | on_crossing
    del on_coarse
    node_index = np.full(px.shape, -1, dtype=np.int64)
    sel = np.flatnonzero(exists.ravel())
    jitter = np.where(urban.ravel()[sel], 0.01, 0.06)
    ids = b.nodes(px.ravel()[sel] + rng.uniform(-1, 1, len(sel)) * jitter,
                  py.ravel()[sel] + rng.uniform(-1, 1, len(sel)) * jitter)
    node_index.ravel()[sel] = ids
    lattice_x = np.concatenate(b.x)
    lattice_y = np.concatenate(b.y)

    def line_class(idx: int, is_urban: bool) -> dict[str, str]:
        if idx % (per * 16) == 0:
            return {"highway": "primary", "maxspeed": "60"} if idx % (per * 32) == 0 else {"highway": "primary"}
        if idx % (per * 8) == 0:
            return {"highway": "secondary"}
        if idx % per == 0:
            return {"highway": "tertiary"} if is_urban or idx % (per * 4) == 0 else {"highway": "unclassified"}
        return {"highway": "residential"}

    def add_lines(horizontal: bool) -> None:
        for q in range(n_fine):
            line = node_index[q, :] if horizontal else node_index[:, q]
            line_urban = urban[q, :] if horizontal else urban[:, q]
            coarse = q % per == 0
            # consecutive lattice nodes along the line: every 0.1 km downtown, every 0.4 km elsewhere
            pos = np.flatnonzero(line >= 0)
            if coarse:
                ok = np.diff(pos) <= per
                ok &= (rng.random(len(ok)) > 0.04) | (line_urban[pos[:-1]] & line_urban[pos[1:]])
            else:
                ok = np.diff(pos) == 1
            line = line[pos]
            line_urban = line_urban[pos]
            seg_ok = ok
            # a segment's end nodes: lattice nodes where a crossing line may exist
            tags_base = line_class(q, bool(line_urban.any()))
            oneway = tags_base["highway"] == "residential" and q % 2 == 1
            run: list[int] = []
            draw = rng.integers  # the draws rng.choice((0, 1, 1, 2)) made, without its overhead
            for p in range(len(seg_ok)):
                if not seg_ok[p]:
                    if len(run) > 1:
                        _flush(run, tags_base, oneway, q)
                    run = []
                    continue
                a, c = int(line[p]), int(line[p + 1])
                if not run:
                    run = [a]
                # shape nodes: none downtown, 0–2 in the country
                k = 0 if line_urban[p] and line_urban[p + 1] else _SHAPE_NODES[int(draw(0, 4, dtype=np.int64))]
                if k:
                    t = (np.arange(1, k + 1) / (k + 1))
                    sx = lattice_x[a] + (lattice_x[c] - lattice_x[a]) * t + rng.uniform(-0.03, 0.03, k)
                    sy = lattice_y[a] + (lattice_y[c] - lattice_y[a]) * t + rng.uniform(-0.03, 0.03, k)
                    run.extend(b.nodes(sx, sy).tolist())
                run.append(c)
                if len(run) > 24:
                    _flush(run, tags_base, oneway, q)
                    run = [c]
            if len(run) > 1:
                _flush(run, tags_base, oneway, q)

    def _flush(run: list[int], tags: dict[str, str], oneway: bool, q: int) -> None:
        t = dict(tags)
        t["name"] = f"{q}路"
        refs = list(run)
        if oneway:
            t["oneway"] = "yes"
            if q % 4 == 3:
                refs.reverse()
        b.ways.append((refs, t))

    add_lines(True)
    add_lines(False)
    n_lattice_nodes = b.count

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
            ox_ = x if carriage == 0 else x[::-1]
            oy_ = (y if carriage == 0 else y[::-1]) * np.ones(len(order))
            ox_ = ox_ * np.ones(len(order))

            def _xy_at(j: int, ox_=ox_, oy_=oy_) -> tuple[float, float]:
                return float(ox_[j]), float(oy_[j])
            name = f"{ref}高速"
            for start in range(0, len(order) - 1, 30):
                piece = order[start:start + 31]
                b.ways.append((piece, {"highway": "motorway", "oneway": "yes", "ref": ref, "name": name,
                                       **({"maxspeed": "100"} if start % 60 else {})}))
            # the carriageway's ends join the grid (a motorway leaving the region through a slip road)
            first_x, first_y = _xy_at(0)
            last_x, last_y = _xy_at(len(order) - 1)
            g0 = _nearest_lattice(lattice_x[:n_lattice_nodes], lattice_y[:n_lattice_nodes], first_x, first_y)
            g1 = _nearest_lattice(lattice_x[:n_lattice_nodes], lattice_y[:n_lattice_nodes], last_x, last_y)
            b.ways.append(([int(g0), order[0]], {"highway": "motorway_link", "oneway": "yes"}))
            b.ways.append(([order[-1], int(g1)], {"highway": "motorway_link", "oneway": "yes"}))
            # interchanges every ~6 km: junction, off-ramp to the grid, on-ramp back
            for j in range(8, len(order) - 8, 12):
                jn = order[j]
                jx, jy = _xy_at(j)
                g = _nearest_lattice(lattice_x[:n_lattice_nodes], lattice_y[:n_lattice_nodes], jx, jy)
                b.tags[jn] = {"highway": "motorway_junction", "ref": str(exit_no), "name": f"{exit_no}号出口"}
                exit_no += 1
                gx_, gy_ = lattice_x[g], lattice_y[g]
                mid = b.nodes(np.array([(jx + gx_) / 2 + 0.05]), np.array([(jy + gy_) / 2 + 0.05])).tolist()
                b.ways.append(([jn, *mid, int(g)], {"highway": "motorway_link", "oneway": "yes"}))
                back = order[j + 2]
                bx, by = _xy_at(j + 2)
                mid2 = b.nodes(np.array([(bx + gx_) / 2 - 0.05]), np.array([(by + gy_) / 2 - 0.05])).tolist()
                b.ways.append(([int(g), *mid2, back], {"highway": "motorway_link", "oneway": "yes"}))
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
                    b.ways.append(([*ring, ring[0]], tags))
                else:
                    (nid,) = b.nodes(np.array([cx_]), np.array([cy_])).tolist()
                    b.tags[nid] = tags
        sa_no += 100

    # ---- places, fuel, parking
    lon_all = np.concatenate(b.x)
    lat_all = np.concatenate(b.y)
    city_names = ["汕城", "海丰", "陆河", "陆丰", "惠来", "普宁", "揭西", "五华", "紫金"]
    for k, (cx, cy, r) in enumerate(centres):
        (nid,) = b.nodes(np.array([cx + 0.05]), np.array([cy + 0.05])).tolist()
        b.tags[nid] = {"place": "city", "name": f"{city_names[k % len(city_names)]}{k // len(city_names) or ''}市",
                       "population": str(int(rng.uniform(3e5, 2e6)))}
    for kind, spacing, pop in (("town", 10.0, (2e4, 8e4)), ("village", 4.0, (500, 5000))):
        coords = np.arange(spacing / 2, side_km, spacing)
        for i, x in enumerate(coords):
            for j, y in enumerate(coords):
                x_, y_ = x + rng.uniform(-1, 1), y + rng.uniform(-1, 1)
                (nid,) = b.nodes(np.array([x_]), np.array([y_])).tolist()
                b.tags[nid] = {"place": kind, "name": f"{kind}{i}-{j}", "population": str(int(rng.uniform(*pop)))}
    n_lat = n_lattice_nodes
    for amenity, per_km2_urban, per_km2_rural in (("fuel", 0.5, 0.03), ("parking", 1.5, 0.05)):
        for lx, ly, is_urban in ((lattice_x[:n_lat], lattice_y[:n_lat], urban.ravel()[sel]),):
            p = np.where(is_urban, per_km2_urban * URBAN_KM**2, per_km2_rural * RURAL_KM**2 * 4)
            pick = np.flatnonzero(rng.random(len(p)) < p)
            fx = lx[pick] + rng.uniform(-0.05, 0.05, len(pick))
            fy = ly[pick] + rng.uniform(-0.05, 0.05, len(pick))
            for nid in b.nodes(fx, fy).tolist():
                b.tags[nid] = {"amenity": amenity, "name": f"{amenity} {nid}"}
    del lon_all, lat_all
    x_km = np.concatenate(b.x)
    y_km = np.concatenate(b.y)
    lon, lat = _to_lonlat(x_km, y_km)
    region = Region(lon=lon, lat=lat, node_tags=b.tags, ways=b.ways)
    for k in range(cities):
        r, c = divmod(k, cols)
        region.cities.append(_city_polygon(k, c * cw, r * ch, cw, ch, side_km, rng))
    return region


def _nearest_lattice(x: np.ndarray, y: np.ndarray, px: float, py: float) -> int:
    near = np.flatnonzero((np.abs(x - px) < 1.0) & (np.abs(y - py) < 1.0))
    if not len(near):
        near = np.arange(len(x))
    return int(near[np.argmin(np.hypot(x[near] - px, y[near] - py))])


def _city_polygon(k: int, x0: float, y0: float, w: float, h: float, side: float, rng: np.random.Generator) -> dict:
    """An admin area: the city's cell with a wavy edge (shared edges stay shared: seeded by position)."""
    def wave(t: np.ndarray, base: float, along: str) -> np.ndarray:
        if base <= 0 or base >= side - 1e-9:
            return np.zeros_like(t)
        seed = int(base * 1000) + (0 if along == "x" else 7)
        return 0.8 * np.sin(t / 3.0 + seed % 13)
    steps = 24
    tx = np.linspace(x0, x0 + w, steps)
    ty = np.linspace(y0, y0 + h, steps)
    south = np.column_stack([tx, y0 + wave(tx, y0, "x")])
    east = np.column_stack([x0 + w + wave(ty, x0 + w, "y"), ty])
    north = np.column_stack([tx[::-1], y0 + h + wave(tx[::-1], y0 + h, "x")])
    west = np.column_stack([x0 + wave(ty[::-1], x0, "y"), ty[::-1]])
    ring = np.vstack([south, east[1:], north[1:], west[1:]])
    lon, lat = _to_lonlat(ring[:, 0], ring[:, 1])
    coords = [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]
    coords.append(coords[0])
    return {"type": "Feature", "properties": {"adcode": f"4499{k + 1:02d}", "name": f"city {k + 1}", "level": "city"},
            "geometry": {"type": "Polygon", "coordinates": [coords]}}


def write(region: Region, path: Path) -> Path:
    """Write the region with pyosmium (PBF or XML by the file name), atomically; nodes first, ids from 1."""
    import osmium
    from osmium.osm.mutable import Node, Way

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(tmp))
    try:
        lon, lat = region.lon.tolist(), region.lat.tolist()
        tags = region.node_tags
        for i in range(len(lon)):
            writer.add_node(Node(id=i + 1, location=(lon[i], lat[i]), tags=tags.get(i, {}), version=1))
        for k, (refs, t) in enumerate(region.ways, start=1):
            writer.add_way(Way(id=k, nodes=[r + 1 for r in refs], tags=t, version=1))
    finally:
        writer.close()
    tmp.replace(path)
    return path


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
