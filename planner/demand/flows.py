"""Origin-destination flows routed on the road graph, by vehicle class.

A ``RoutedFlow`` is one origin-destination pair of one vehicle class with its daily trips and its
shortest-time path as node ids with the cumulative distance along it (km), so corridor demand and the
flow-capture (FRLM) model read the same paths.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from planner.demand.assumptions import TrafficAssumptions
from planner.demand.gateways import Gateway, find_gateways

if TYPE_CHECKING:
    from planner.network import RoadNetwork
    from planner.siting.candidates import Candidate, Town
    from planner.siting.scenario import Scenario

#: Vehicle classes of the O-D flows.
VEHICLE_CLASSES: tuple[str, ...] = ("car", "truck", "coach")


@dataclass(frozen=True)
class RoutedFlow:
    """One O-D flow of one vehicle class on its shortest-time path (directed).

    ``origin``/``destination`` are zone ids (``town:<name>`` or ``gateway:<id>``); ``nodes`` the path's
    network node ids from origin to destination; ``cum_km[i]`` the distance from ``nodes[0]`` to
    ``nodes[i]`` (``cum_km[0] == 0``); ``trips_per_day`` vehicles per day on the design day's base (AADT).
    """

    origin: str
    destination: str
    vehicle_class: str
    trips_per_day: float
    nodes: tuple[int, ...]
    cum_km: tuple[float, ...]
    #: Distance the trip runs beyond the network before its first node / after its last (gateway trips), km.
    origin_external_km: float = 0.0
    destination_external_km: float = 0.0

    @property
    def length_km(self) -> float:
        """Path length on the network, km."""
        return self.cum_km[-1] if self.cum_km else 0.0

    @property
    def trip_km(self) -> float:
        """Whole trip length, km: the path plus the parts beyond the network."""
        return self.origin_external_km + self.length_km + self.destination_external_km


# --------------------------------------------------------------------------------------------------
# Zones: towns and gateways
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    """An origin or destination of the gravity model: a town or a gateway.

    ``mass`` is residents for a town (``mass_source`` says whether the population was given or a
    fallback) and AADT, vehicles/day both directions, for a gateway. Trips start at ``origin_node`` and
    end at ``destination_node`` (different nodes at a motorway gateway: the two carriageways).
    """

    zone_id: str
    kind: str
    name: str
    origin_node: int
    destination_node: int
    mass: float
    mass_source: str
    county_code: str | None = None
    #: Where a gateway leads (``TrafficAssumptions.gateway_toward``), None for a town.
    toward: str | None = None
    #: Share of a gateway's traffic that is through traffic (gateway to gateway).
    through_share: float = 0.0
    #: Mean distance a gateway's trips run beyond the network, km.
    external_km: float = 0.0


def town_zone_id(town: Town) -> str:
    """Zone id of a town: ``town:<town_id>``."""
    return f"town:{town.town_id}"


def gateway_zone_id(gateway: Gateway) -> str:
    """Zone id of a gateway: ``gateway:<gateway_id>``."""
    return f"gateway:{gateway.gateway_id}"


def town_masses(towns: Sequence[Town], traffic: TrafficAssumptions) -> list[tuple[float, str]]:
    """Each town's gravity mass (residents) and where it comes from.

    ``Town.population`` as given; None (unknown) falls back to the mean population of the towns of the
    same county that have one, else to ``traffic.fallback_town_population``. A population of 0 is a
    real 0 (no trips), not unknown.
    """
    by_county: dict[str | None, list[int]] = {}
    for t in towns:
        if t.population is not None:
            by_county.setdefault(t.county_code, []).append(int(t.population))
    out = []
    for t in towns:
        if t.population is not None:
            out.append((float(t.population), t.population_source or "given"))
        elif by_county.get(t.county_code):
            vals = by_county[t.county_code]
            out.append((sum(vals) / len(vals), f"unknown: mean of {len(vals)} town(s) of county {t.county_code}"))
        else:
            out.append((float(traffic.fallback_town_population), "unknown: fallback_town_population"))
    return out


#: Most town zones the gravity model routes between: beyond it, towns are grouped into traffic zones
#: (``group_towns``), as transport models group places into traffic analysis zones. The O-D pairs grow
#: with the square of the zones: a 300k-OSM-node region's 1,107 towns made 1.2 M routed pairs and over
#: 13 GB of paths; Shanwei's 55 towns are far below the cap and each stays its own zone.
MAX_TOWN_ZONES = 150


def group_towns(towns: Sequence[Town], masses: Sequence[tuple[float, str]],
                most: int = MAX_TOWN_ZONES) -> list[tuple[Town, float, str, int]]:
    """Towns as at most ``most`` traffic zones: (centre town, summed mass, mass source, towns in the zone).

    The ``most`` towns of largest mass are the centres (ties by town id); every other town joins the
    nearest centre of its own county (straight-line distance), or the nearest centre when its county
    has none. With no more towns than ``most`` each town is its own zone.
    """
    if len(towns) <= most:
        return [(t, m, src, 1) for t, (m, src) in zip(towns, masses, strict=True)]
    order = sorted(range(len(towns)), key=lambda i: (-masses[i][0], towns[i].town_id))
    centres = order[:most]
    lon = np.array([towns[i].lon for i in centres])
    lat = np.array([towns[i].lat for i in centres])
    coslat = np.cos(np.radians(float(np.mean(lat))))
    county = np.array([towns[i].county_code or "" for i in centres], dtype=object)
    mass = {c: masses[c][0] for c in centres}
    size = dict.fromkeys(centres, 1)
    for i in order[most:]:
        t = towns[i]
        d2 = ((lon - t.lon) * coslat) ** 2 + (lat - t.lat) ** 2
        same = county == (t.county_code or "")
        k = int(np.argmin(np.where(same, d2, np.inf))) if same.any() else int(np.argmin(d2))
        mass[centres[k]] += masses[i][0]
        size[centres[k]] += 1
    return [(towns[c], mass[c], masses[c][1] if size[c] == 1 else f"{size[c]} towns grouped", size[c])
            for c in centres]


def zones_from(towns: Sequence[Town], gateways: Sequence[Gateway], traffic: TrafficAssumptions) -> list[Zone]:
    """The gravity model's zones: every town (mass: residents), or beyond ``MAX_TOWN_ZONES`` towns their
    groups (``group_towns``), and every gateway (mass: its AADT)."""
    out = [Zone(zone_id=town_zone_id(t), kind="town", name=t.name if n == 1 else f"{t.name} (+{n - 1} towns)",
                origin_node=int(t.node), destination_node=int(t.node), mass=m, mass_source=src,
                county_code=t.county_code)
           for t, m, src, n in group_towns(towns, town_masses(towns, traffic))]
    for g in gateways:
        if g.gateway_id in traffic.gateway_aadt:
            aadt, src = float(traffic.gateway_aadt[g.gateway_id]), f"gateway_aadt[{g.gateway_id}]"
        elif g.highway in traffic.gateway_aadt_by_road:
            aadt, src = float(traffic.gateway_aadt_by_road[g.highway]), f"gateway_aadt_by_road[{g.highway}]"
        else:
            raise ValueError(f"traffic.gateway_aadt_by_road: expected an AADT for road class {g.highway!r} "
                             f"(gateway {g.gateway_id}), got none")
        out.append(Zone(zone_id=gateway_zone_id(g), kind="gateway", name=f"{g.ref} toward {g.toward}",
                        origin_node=g.entry_node, destination_node=g.exit_node, mass=aadt, mass_source=src,
                        toward=g.toward, through_share=float(traffic.through_share_by_road.get(g.highway, 0.0)),
                        external_km=float(traffic.gateway_external_km.get(g.toward, 0.0))))
    return out


# --------------------------------------------------------------------------------------------------
# Routing: shortest time paths on the directed road graph
# --------------------------------------------------------------------------------------------------


class Router:
    """Shortest-time directed paths on the network's arrays (scipy Dijkstra), with their km.

    Of parallel edges the quickest is kept (its length is the path's km). ``banned`` edges (node id
    pairs, e.g. the gateways' boundary U-turns) are left out.
    """

    def __init__(self, network: RoadNetwork, *, banned: Iterable[tuple[int, int]] = ()) -> None:
        a = network.arrays
        self.node_id = np.asarray(a.node_id)
        self.index = {int(n): i for i, n in enumerate(a.node_id.tolist())}
        keep = np.ones(a.n_edges, dtype=bool)
        n = a.n_nodes
        ban = [self.index[u] * n + self.index[v] for u, v in banned if u in self.index and v in self.index]
        if ban:
            keep &= ~np.isin(a.u.astype(np.int64) * n + a.v.astype(np.int64), np.array(ban, dtype=np.int64))
        u, v, tt, km = a.u[keep], a.v[keep], a.travel_time_s[keep], a.length_m[keep] / 1000.0
        order = np.lexsort((tt, v, u))
        u, v, tt, km = u[order], v[order], tt[order], km[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, tt, km = u[first], v[first], np.where(tt[first] > 0, tt[first], 1e-9), km[first]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, u.astype(np.int64) + 1, 1)
        self.indptr = np.cumsum(indptr)
        self.indices = v.astype(np.int32)
        self.km = km
        #: ``row * n + column`` of each kept edge, ascending (the CSR's order): an edge found by bisection.
        self.keys = u.astype(np.int64) * n + self.indices.astype(np.int64)
        self.matrix = sparse.csr_matrix((tt, self.indices, self.indptr), shape=(n, n))

    def tree(self, origin: int) -> tuple[np.ndarray, np.ndarray]:
        """Travel times (s) and predecessor rows from node id ``origin`` to every node."""
        dist, pred = csgraph.dijkstra(self.matrix, directed=True, indices=self.index[origin],
                                      return_predecessors=True)
        return dist, pred

    def paths_in_tree(self, origin: int, pred: np.ndarray,
                      destinations: Sequence[int]) -> list[tuple[tuple[int, ...], tuple[float, ...]] | None]:
        """Node ids and cumulative km of the tree's paths from ``origin`` to each destination node id.

        ``pred``: the shortest-path tree from ``origin`` (predecessor rows). ``None`` for a destination the
        tree does not reach. All destinations climb the tree together, one array step per node of the
        longest path; the km along a path are summed from the origin one edge at a time, and each
        distinct sum is rounded to the metre's thousandth once per tree.
        """
        o = self.index[origin]
        dest = np.array([self.index[d] for d in destinations], dtype=np.int64)
        out: list[tuple[tuple[int, ...], tuple[float, ...]] | None] = [None] * len(dest)
        reached = (dest == o) | (pred[dest] >= 0)
        cols = np.flatnonzero(reached)
        if not len(cols):
            return out
        steps = [dest[cols]]
        cur = steps[0]
        while True:
            up = cur != o
            if not up.any():
                break
            cur = np.where(up, pred[cur], o)
            steps.append(cur)
        climb = np.stack(steps)                    # column c: destination, its predecessor, ..., origin, origin
        on_path = climb != o
        n_nodes = on_path.sum(axis=0) + 1
        edge_km = np.zeros(climb.shape)
        rows = climb[on_path]
        n = len(pred)
        edge_km[on_path] = self.km[np.searchsorted(self.keys, pred[rows].astype(np.int64) * n + rows)]
        walks, sums = [], []
        for c in range(len(cols)):
            m = int(n_nodes[c])
            walks.append(climb[m - 1::-1, c] if m > 1 else climb[:1, c])
            # Sequential sums from 0, as one would add the edges up by hand (``add.accumulate`` is sequential).
            sums.append(np.concatenate(([0.0], np.add.accumulate(edge_km[m - 2::-1, c]))) if m > 1
                        else np.zeros(1))
        flat = np.concatenate(sums)
        distinct, where = np.unique(flat, return_inverse=True)
        rounded = np.array([round(x, 6) for x in distinct.tolist()])[where].tolist()
        at = 0
        for c, walk in zip(cols.tolist(), walks):
            out[c] = (tuple(self.node_id[walk].tolist()), tuple(rounded[at:at + len(walk)]))
            at += len(walk)
        return out

    def times_and_paths(self, origins: Sequence[int], destinations: Sequence[int]) -> tuple[
            np.ndarray, dict[tuple[int, int], tuple[tuple[int, ...], tuple[float, ...]]]]:
        """Travel times, minutes, from each origin node id to each destination node id, and the paths.

        The paths (as ``paths_in_tree`` gives them) come from the same shortest-path trees, keyed by
        (origin, destination) node id, for every pair the network connects: routing the flows later
        needs no second tree per origin. Trees are grown 32 origins at a time, never one per origin
        and node all at once.
        """
        src = np.array([self.index[o] for o in origins], dtype=np.int64)
        tgt = np.array([self.index[d] for d in destinations], dtype=np.int64)
        uniq, inv = np.unique(src, return_inverse=True)
        targets = sorted(set(int(d) for d in destinations))
        out = np.empty((len(uniq), len(tgt)))
        paths: dict[tuple[int, int], tuple[tuple[int, ...], tuple[float, ...]]] = {}
        for lo in range(0, len(uniq), 32):
            dist, pred = csgraph.dijkstra(self.matrix, directed=True, indices=uniq[lo:lo + 32],
                                          return_predecessors=True)
            out[lo:lo + 32] = dist[:, tgt]
            for k in range(len(dist)):
                origin = int(self.node_id[uniq[lo + k]])
                for d, found in zip(targets, self.paths_in_tree(origin, pred[k], targets)):
                    if found is not None:
                        paths[(origin, d)] = found
        return out[inv] / 60.0, paths


def router_for(network: RoadNetwork, gateways: Sequence[Gateway]) -> Router:
    """A ``Router`` that never turns round at a gateway's boundary U-turn."""
    return Router(network, banned=[e for g in gateways for e in g.uturn_edges])


# --------------------------------------------------------------------------------------------------
# The gravity model
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ODFlow:
    """Trips per day (AADT basis) from one zone to another of one vehicle class."""

    origin: str
    destination: str
    vehicle_class: str
    trips_per_day: float


def gravity_od(zones: Sequence[Zone], times_min: np.ndarray, traffic: TrafficAssumptions) -> list[ODFlow]:
    """Origin-destination trips per day by vehicle class between towns and gateways (a gravity model).

    ``times_min[i, j]``: travel time from zone ``i``'s origin node to zone ``j``'s destination node.
    Weights ``w = exp(-gravity_decay_per_min x minutes)``. Per class:

    * town -> town: residents x ``town_trip_rate`` trips leave town ``i``, shared over the other towns
      by residents x w (production-constrained), then averaged with the reverse direction;
    * gateway <-> town: half a gateway's AADT enters, its class share x (1 - through share) is shared
      over the towns by residents x w; the same number returns (town -> gateway);
    * gateway <-> gateway (through): the entering class share x through share is shared over the
      gateways leading elsewhere (another ``toward``) by their through AADT, no distance decay (the
      trip's ends lie beyond the network), then averaged with the reverse direction.
    """
    n = len(zones)
    if times_min.shape != (n, n):
        raise ValueError(f"times_min: expected a {n} x {n} array of minutes, got shape {times_min.shape}")
    decay = float(traffic.gravity_decay_per_min)
    with np.errstate(over="ignore"):
        w = np.exp(-decay * np.where(np.isfinite(times_min), times_min, np.inf))
    np.fill_diagonal(w, 0.0)
    # Zones at one node (census townships placed at their host town) swap no trips of 0 km.
    origins = np.array([z.origin_node for z in zones])
    w[origins[:, None] == origins[None, :]] = 0.0
    town = np.array([z.kind == "town" for z in zones])
    gate = ~town
    mass = np.array([z.mass for z in zones], dtype=float)
    shares = _class_shares(traffic)
    out: list[ODFlow] = []
    for k in VEHICLE_CLASSES:
        trips = np.zeros((n, n))
        rate = float(traffic.town_trip_rate.get(k, 0.0))
        tw = w * (mass * town)[None, :]               # attraction of towns only
        tt = np.zeros((n, n))
        rs = tw.sum(axis=1, keepdims=True)
        np.divide(tw, rs, out=tt, where=rs > 0)       # share of each origin's trips to each town
        prod = mass * rate * town
        t2t = prod[:, None] * tt * town[:, None]
        trips += 0.5 * (t2t + t2t.T)
        for i in np.flatnonzero(gate):
            z = zones[i]
            entering = 0.5 * z.mass * shares[k]
            local = entering * (1.0 - z.through_share)
            g2t = local * tt[i]
            trips[i] += g2t
            trips[:, i] += g2t
            others = [j for j in np.flatnonzero(gate) if j != i and zones[j].toward != z.toward
                      and np.isfinite(times_min[i, j])]
            weights = np.array([zones[j].mass * zones[j].through_share for j in others])
            if others and weights.sum() > 0:
                thr = entering * z.through_share * weights / weights.sum()
                trips[i, others] += 0.5 * thr
                trips[others, i] += 0.5 * thr
        for i, j in zip(*np.nonzero(trips > 1e-9)):
            out.append(ODFlow(zones[i].zone_id, zones[j].zone_id, k, float(trips[i, j])))
    return out


def _class_shares(traffic: TrafficAssumptions) -> dict[str, float]:
    shares = {k: float(traffic.class_shares.get(k, 0.0)) for k in VEHICLE_CLASSES}
    unknown = sorted(set(traffic.class_shares) - set(VEHICLE_CLASSES))
    if unknown or not math.isclose(sum(shares.values()), 1.0, abs_tol=0.01):
        raise ValueError(f"traffic.class_shares: expected shares of {', '.join(VEHICLE_CLASSES)} summing to 1, "
                         f"got {dict(traffic.class_shares)}")
    return shares


def route_flows(router: Router, zones: Sequence[Zone], od: Iterable[ODFlow], *,
                paths: dict[tuple[int, int], tuple[tuple[int, ...], tuple[float, ...]]] | None = None,
                ) -> list[RoutedFlow]:
    """Each O-D flow on its shortest-time path from its origin's node to its destination's.

    A flow between zones on the same node has a one-node path of 0 km. ``paths``: paths already known
    (``Router.times_and_paths``), by (origin, destination) node id; the others are found one
    shortest-path tree per origin. Raises ``ValueError`` naming the pair when there is no path, or for
    an unknown zone id.
    """
    by_id = {z.zone_id: z for z in zones}
    od = list(od)
    for f in od:
        for zid in (f.origin, f.destination):
            if zid not in by_id:
                raise ValueError(f"O-D flow {f.origin} -> {f.destination}: unknown zone {zid!r}")
    known = dict(paths or {})
    missing: dict[int, set[int]] = {}
    for f in od:
        key = (by_id[f.origin].origin_node, by_id[f.destination].destination_node)
        if key not in known:
            missing.setdefault(key[0], set()).add(key[1])
    for origin, wanted in missing.items():  # one shortest-path tree at a time
        targets = sorted(wanted)
        for d, found in zip(targets, router.paths_in_tree(origin, router.tree(origin)[1], targets)):
            if found is not None:
                known[(origin, d)] = found
    routed: list[RoutedFlow] = []
    for f in od:
        o, d = by_id[f.origin], by_id[f.destination]
        found = known.get((o.origin_node, d.destination_node))
        if found is None:
            raise ValueError(f"O-D flow {f.origin} -> {f.destination}: "
                             f"no path from node {o.origin_node} to node {d.destination_node}")
        routed.append(RoutedFlow(f.origin, f.destination, f.vehicle_class, f.trips_per_day, *found,
                                 origin_external_km=o.external_km, destination_external_km=d.external_km))
    return routed


@dataclass(frozen=True)
class FlowModel:
    """The routed traffic of a network: gateways, zones, O-D trips and their paths."""

    gateways: tuple[Gateway, ...]
    zones: tuple[Zone, ...]
    od: tuple[ODFlow, ...]
    flows: tuple[RoutedFlow, ...]
    #: How the O-D trips were made: ``gravity``, ``table`` (a bureau's O-D table), ``calibrated``.
    basis: str = "gravity"


def traffic_flows(
    network: RoadNetwork,
    traffic: TrafficAssumptions | None = None,
    *,
    towns: Sequence[Town] | None = None,
    od: Sequence[ODFlow] | None = None,
) -> FlowModel:
    """Gateways, zones, O-D trips (the gravity model, or ``od`` as given) and routed flows of ``network``.

    ``towns`` default to the network's own (``towns_from_network``); pass the census towns to use their
    populations.
    """
    from planner.siting.candidates import towns_from_network

    traffic = traffic or TrafficAssumptions()
    gateways = find_gateways(network, toward=traffic.gateway_toward)
    towns = towns_from_network(network) if towns is None else list(towns)
    zones = zones_from(towns, gateways, traffic)
    router = router_for(network, gateways)
    paths = None
    if od is None:
        times, paths = router.times_and_paths([z.origin_node for z in zones], [z.destination_node for z in zones])
        od = gravity_od(zones, times, traffic)
        basis = "gravity"
    else:
        basis = "table"
    flows = route_flows(router, zones, od, paths=paths)
    return FlowModel(tuple(gateways), tuple(zones), tuple(od), tuple(flows), basis)


def link_volumes(flows: Iterable[RoutedFlow]) -> dict[tuple[int, int], dict[str, float]]:
    """Trips per day on each directed link (node id pair) by vehicle class, summed over the flows."""
    out: dict[tuple[int, int], dict[str, float]] = {}
    for f in flows:
        for e in itertools.pairwise(f.nodes):
            d = out.setdefault(e, {})
            d[f.vehicle_class] = d.get(f.vehicle_class, 0.0) + f.trips_per_day
    return out


# --------------------------------------------------------------------------------------------------
# Corridor demand: the EV flow passing each service-area side and corridor site
# --------------------------------------------------------------------------------------------------


def design_day_factor(traffic: TrafficAssumptions) -> float:
    """Design-day traffic against AADT: 1 on an ordinary day, ``holiday_traffic_factor`` on a holiday."""
    if traffic.design_day == "ordinary":
        return 1.0
    if traffic.design_day == "holiday":
        return float(traffic.holiday_traffic_factor)
    raise ValueError(f"traffic.design_day: expected 'ordinary' or 'holiday', got {traffic.design_day!r}")


def ev_share(traffic: TrafficAssumptions, vehicle_class: str, year: int) -> float:
    """EV share of the traffic of a class in ``year``: linear between the table's years, flat outside."""
    table = traffic.ev_share_by_class_year.get(vehicle_class)
    if not table:
        raise ValueError(f"traffic.ev_share_by_class_year: expected a table for class {vehicle_class!r}")
    pts = sorted((int(y), float(v)) for y, v in table.items())
    ys = [p[0] for p in pts]
    return float(np.interp(year, ys, [p[1] for p in pts]))


def charge_legs_km(range_km: float, traffic: TrafficAssumptions) -> tuple[float, float]:
    """The usable range of a trip's first leg and of each leg after a charging stop, km.

    First leg: from ``departure_charge_share`` down to ``reserve_charge_share`` of ``range_km``; a later
    leg: from ``charge_to_share`` down to the reserve. Raises ``ValueError`` when a leg would be empty.
    """
    dep, res, to = (float(traffic.departure_charge_share), float(traffic.reserve_charge_share),
                    float(traffic.charge_to_share))
    if not dep > res:
        raise ValueError(f"traffic.departure_charge_share: expected more than reserve_charge_share ({res:g}), "
                         f"got {dep:g}")
    if not to > res:
        raise ValueError(f"traffic.charge_to_share: expected more than reserve_charge_share ({res:g}), got {to:g}")
    if not range_km > 0:
        raise ValueError(f"traffic.ev_range_km: expected a range > 0 km, got {range_km:g}")
    return (dep - res) * range_km, (to - res) * range_km


def expected_trip_stops(trip_km: float, range_km: float, traffic: TrafficAssumptions) -> float:
    """Expected charging stops on a whole trip of ``trip_km``: ``max(0, (trip_km - first_km) / leg_km)``.

    ``first_km``/``leg_km`` from ``charge_legs_km``. The smooth (energy) form of the whole number
    ``ceil((trip_km - first_km) / leg_km)``: the energy the trip needs beyond its departure charge over the
    energy one stop adds, so a trip just over its first leg makes a fraction of a stop (drivers who set
    out fuller, dip into the reserve or charge at the destination), and the count never jumps.
    """
    first_km, leg_km = charge_legs_km(range_km, traffic)
    return max(0.0, (trip_km - first_km) / leg_km)


def in_area_stops(flow: RoutedFlow, traffic: TrafficAssumptions) -> float:
    """Expected charging stops a trip of ``flow`` makes inside the network's area.

    The whole trip's ``expected_trip_stops`` times the share of its km inside the area
    (``length_km / trip_km``; the rest is ``origin_external_km`` + ``destination_external_km``): stops
    spread evenly along the trip, as drivers' departure charges vary.
    """
    if flow.vehicle_class not in traffic.ev_range_km:
        raise ValueError(f"traffic.ev_range_km: expected a range for class {flow.vehicle_class!r}")
    trip_km = flow.trip_km
    if trip_km <= 0:
        return 0.0
    return (expected_trip_stops(trip_km, float(traffic.ev_range_km[flow.vehicle_class]), traffic)
            * flow.length_km / trip_km)


def stop_weight(candidate: Candidate, traffic: TrafficAssumptions) -> float:
    """How much a driver prefers to charge at this site: ``service_area_stop_weight`` at a service-area
    side, 1 elsewhere (an interchange, a fuel station by the corridor)."""
    return float(traffic.service_area_stop_weight) if candidate.kind == "service_area" else 1.0


def stopping_points(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates a trip can stop at on its way: service-area sides and sites with corridor nodes."""
    return [c for c in candidates if c.kind == "service_area" or c.corridor_nodes]


def _site_nodes(c: Candidate) -> tuple[int, ...]:
    return tuple(int(n) for n in (c.corridor_nodes or (c.node,)))


def share_stops(
    flows: Sequence[RoutedFlow], candidates: Sequence[Candidate], traffic: TrafficAssumptions,
) -> list[dict[str, float]]:
    """Per flow, its expected in-area charging stops per trip at each stopping point it passes.

    A flow passes a site when its path runs through one of the site's nodes (a service-area side's node
    lies on its own carriageway; an interchange's corridor nodes on both). Its ``in_area_stops`` are
    shared over the sites it passes by ``stop_weight``, so they sum to ``in_area_stops`` exactly; a flow
    that passes none keeps its stops off the corridors (in town) and gives the sites nothing.
    """
    sites = stopping_points(candidates)
    passing = _passing(flows, sites, traffic)
    out: list[dict[str, float]] = [{} for _ in flows]
    for j, i, share in zip(passing.site.tolist(), passing.flow.tolist(), passing.stops.tolist()):
        if passing.stopping[i]:
            out[i][sites[j].site_id] = share
    return out


@dataclass(frozen=True)
class _Passing:
    """Every (stopping point, flow) pair where the flow's path runs through one of the point's nodes,
    ordered by point, then flow, with the flow's in-area stops per trip that the point gets."""

    site: np.ndarray
    flow: np.ndarray
    stops: np.ndarray
    #: Per flow: it has in-area stops and passes a point (else its stops stay in town).
    stopping: list[bool]


def _passing(flows: Sequence[RoutedFlow], sites: Sequence[Candidate], traffic: TrafficAssumptions) -> _Passing:
    """The pairs of ``sites`` (stopping points) and ``flows`` that pass them, with the stops shared out.

    A path's points are found once per path (the classes of one O-D pair share their path object).
    Shares are ``stops x weight / total`` with the total summed over the flow's points in their order,
    one addition at a time, as a hand sum over the points would be.
    """
    sites_at: dict[int, list[int]] = {}
    for j, c in enumerate(sites):
        for n in _site_nodes(c):
            sites_at.setdefault(n, []).append(j)
    nodes = set(sites_at)
    group_of_path: dict[int, int] = {}
    groups: list[list[int]] = []
    group = np.empty(len(flows), dtype=np.int64)
    for i, f in enumerate(flows):
        g = group_of_path.get(id(f.nodes))
        if g is None:
            g = group_of_path[id(f.nodes)] = len(groups)
            groups.append(sorted({j for n in nodes.intersection(f.nodes) for j in sites_at[n]}))
        group[i] = g
    sizes = np.array([len(x) for x in groups], dtype=np.int64)
    counts = sizes[group]
    starts = (np.cumsum(sizes) - sizes)[group]
    flat = np.array([j for x in groups for j in x], dtype=np.int64)
    flow_of = np.repeat(np.arange(len(flows), dtype=np.int64), counts)
    # Pair k of flow i is its group's point number k - (pairs before flow i), read from the group's start.
    before = np.cumsum(counts) - counts
    site_of = flat[np.repeat(starts - before, counts) + np.arange(int(counts.sum()))]
    in_area = np.array([in_area_stops(f, traffic) for f in flows] or [0.0])
    weight = np.array([stop_weight(c, traffic) for c in sites] or [0.0])
    total = np.zeros(len(flows))
    np.add.at(total, flow_of, weight[site_of])            # in the flow's point order (ascending)
    stopping = (counts > 0) & (in_area[:len(flows)] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(stopping[flow_of], in_area[flow_of] * weight[site_of] / total[flow_of], 0.0)
    order = np.argsort(site_of, kind="stable")           # by point, then flow
    return _Passing(site_of[order], flow_of[order], share[order], stopping.tolist())


@dataclass(frozen=True)
class SiteFlows:
    """The traffic one corridor site serves: flows passing it in its direction, their EVs and arrivals."""

    site_id: str
    kind: str
    #: Network nodes where a passing flow is counted (the service-area side's node; an interchange's
    #: motorway nodes on both carriageways).
    nodes: tuple[int, ...]
    flows: int
    trips_per_day: dict[str, float]
    #: EV trips per day passing, by stage year and class (design-day traffic).
    ev_trips_per_day: dict[int, dict[str, float]]
    #: EVs per peak hour stopping to charge, by stage year (``plan_sites(corridor_arrivals=...)``).
    arrivals_per_hour: dict[int, float]
    #: EV charging stops per design day, by stage year (the passing trips' shares of their stops).
    ev_stops_per_day: dict[int, float]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures for the plan summary."""
        return {"site_id": self.site_id, "kind": self.kind, "flows": self.flows,
                "trips_per_day": {k: round(v, 1) for k, v in self.trips_per_day.items()},
                "ev_trips_per_day": {str(y): {k: round(v, 2) for k, v in d.items()}
                                     for y, d in self.ev_trips_per_day.items()},
                "ev_stops_per_day": {str(y): round(v, 2) for y, v in self.ev_stops_per_day.items()},
                "arrivals_per_hour": {str(y): round(v, 3) for y, v in self.arrivals_per_hour.items()}}


def corridor_demand(
    network: RoadNetwork, candidates: Sequence[Candidate], flows: Sequence[RoutedFlow], scenario: Scenario
) -> dict[str, SiteFlows]:
    """Per service-area side and corridor site (a candidate with ``corridor_nodes``), the flows passing it
    and the charging stops they make there.

    ``candidates`` are the stopping points a trip's in-area stops are shared over (``share_stops``): pass
    all of them, as ``plan_sites`` builds them, not a subset. EV stops per design day at a site in stage
    year ``y``: the sum over passing flows of trips/day x design-day factor x EV share of the class in
    ``y`` (x the factor of a gateway end's ``toward``, capped at 1) x the flow's stops per trip there;
    arrivals per peak hour take ``scenario.demand.peak_hour_factor`` of them.
    """
    traffic = scenario.traffic
    day = design_day_factor(traffic)
    peak = float(scenario.demand.peak_hour_factor)
    years = tuple(scenario.stage_years)
    toward = {gateway_zone_id(g): g.toward for g in find_gateways(network, toward=traffic.gateway_toward)}
    sites = stopping_points(candidates)
    passing = _passing(flows, sites, traffic)
    factor_by_toward = traffic.ev_share_factor_by_toward
    flow_factor = [max([1.0] + [float(factor_by_toward.get(toward[z], 1.0)) for z in (f.origin, f.destination)
                                if z in toward]) if factor_by_toward else 1.0 for f in flows]
    share_of = {(k, y): ev_share(traffic, k, y) for k in {f.vehicle_class for f in flows} for y in years}
    # A flow's EV trips per design day in each stage year, the same at every site it passes.
    evs_of = np.array([[f.trips_per_day * day * min(1.0, share_of[f.vehicle_class, y] * flow_factor[i])
                        for y in years] for i, f in enumerate(flows)]).reshape(len(flows), len(years))
    site_of, flow_of, here = passing.site, passing.flow, passing.stops
    unknown = sorted({f.vehicle_class for f in flows} - set(VEHICLE_CLASSES))
    if unknown:
        raise ValueError(f"corridor demand: flows of class {', '.join(map(repr, unknown))}; "
                         f"expected one of {', '.join(VEHICLE_CLASSES)}")
    class_of = np.array([VEHICLE_CLASSES.index(f.vehicle_class) for f in flows] or [0], dtype=np.int64)[flow_of]
    trips_of = np.array([f.trips_per_day for f in flows] or [0.0])[flow_of]
    # Sums over each site's flows in ascending flow order, one addition at a time (``add.at`` is
    # unbuffered and goes in index order): the same floats as adding them up flow by flow.
    n_sites, n_years, n_classes = len(sites), len(years), len(VEHICLE_CLASSES)
    trips = np.zeros((n_sites, n_classes))
    np.add.at(trips, (site_of, class_of), trips_of)
    ev = np.zeros((n_sites, n_years, n_classes))
    stops = np.zeros((n_sites, n_years))
    for t in range(n_years):
        evs = evs_of[flow_of, t]
        np.add.at(ev[:, t], (site_of, class_of), evs)
        np.add.at(stops[:, t], site_of, evs * here)
    n_flows = np.bincount(site_of, minlength=n_sites).tolist()
    out: dict[str, SiteFlows] = {}
    for j, c in enumerate(sites):
        by_year = stops[j].tolist()
        out[c.site_id] = SiteFlows(
            c.site_id, c.kind, _site_nodes(c), n_flows[j], dict(zip(VEHICLE_CLASSES, trips[j].tolist())),
            {y: dict(zip(VEHICLE_CLASSES, ev[j, t].tolist())) for t, y in enumerate(years)},
            {y: v * peak for y, v in zip(years, by_year)}, dict(zip(years, by_year)))
    return out


def corridor_arrivals_by_site(
    network: RoadNetwork, candidates: Sequence[Candidate], flows: Sequence[RoutedFlow], scenario: Scenario
) -> dict[str, dict[int, float]]:
    """Peak-hour stopping EV arrivals per corridor site and stage year (``corridor_demand``), ready for
    ``plan_sites(corridor_arrivals=...)``."""
    return {sid: dict(s.arrivals_per_hour) for sid, s in corridor_demand(network, candidates, flows, scenario).items()}
