"""Origin-destination flows, gateways, calibration to counts and corridor demand (planner.demand).

Checked against hand computations on a small hand-made network and against independent sums over the
routed paths on the shipped Shanwei network.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from planner.demand import TrafficAssumptions
from planner.demand.counts import (
    SegmentCount,
    calibrate,
    match_counts,
    read_counts_csv,
    read_od_csv,
)
from planner.demand.flows import (
    VEHICLE_CLASSES,
    ODFlow,
    RoutedFlow,
    Zone,
    corridor_arrivals_by_site,
    corridor_demand,
    expected_trip_stops,
    gravity_od,
    in_area_stops,
    link_volumes,
    share_stops,
    town_masses,
    traffic_flows,
)
from planner.demand.gateways import find_gateways, network_boundary
from planner.errors import InputFileError
from planner.siting.candidates import Candidate, Town, candidates_from_network
from planner.siting.scenario import Scenario
from tests.support.chargers import write_csv
from tests.support.osm import write_osm

#: The town requirement off: the shipped plan then solves in about a second (see tests/test_plan.py).
FAST = replace(Scenario(), town_coverage_from=None)


# ------------------------------------------------------------------------------ a hand-made network


def small_osm(path: Path) -> Path:
    """A west-east motorway (two one-way carriageways, a boundary U-turn at each end), one interchange at
    115.05 whose ramps reach a local road to two towns, and a service area with a side on each carriageway.

    Eastbound (south) nodes 1000..1010, westbound (north) 2000..2010, west to east. The interchange: exit
    eastbound 1005 -> 3000, on-ramp 3000 -> 1006; exit westbound 2005 -> 3000, on-ramp 3000 -> 2004.
    """
    lons = [round(115.00 + 0.01 * i, 2) for i in range(11)]
    east = {i: 1000 + i for i in range(11)}
    west = {i: 2000 + i for i in range(11)}
    nodes = [(east[i], lon, 22.7998, {}) for i, lon in enumerate(lons)]
    nodes += [(west[i], lon, 22.8002, {}) for i, lon in enumerate(lons)]
    nodes[5] = (1005, 115.05, 22.7998, {"highway": "motorway_junction", "name": "Middle exit"})
    nodes += [(3000, 115.05, 22.7950, {}), (3001, 115.05, 22.7800, {}), (3002, 115.03, 22.7800, {}),
              (9001, 115.05, 22.7802, {"place": "town", "name": "Alpha", "population": "20000"}),
              (9002, 115.03, 22.7802, {"place": "town", "name": "Beta"}),
              (9101, 115.030, 22.7992, {"highway": "services", "name": "Test services"}),
              (9102, 115.031, 22.8008, {"highway": "services", "name": "Test services"})]
    motorway = {"highway": "motorway", "oneway": "yes", "ref": "G15"}
    link = {"highway": "motorway_link", "oneway": "yes"}
    ways = [
        (1, [east[i] for i in range(11)], motorway),
        (2, [west[i] for i in reversed(range(11))], motorway),
        (3, [west[0], east[0]], link),      # U-turn at the west boundary
        (4, [east[10], west[10]], link),    # U-turn at the east boundary
        (5, [1005, 3000], link), (6, [3000, 1006], link), (7, [2005, 3000], link), (8, [3000, 2004], link),
        (9, [3000, 3001, 3002], {"highway": "primary"}),
    ]
    return write_osm(path, nodes, ways)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    from planner.network import load_network

    path = small_osm(tmp_path_factory.mktemp("small") / "small.osm")
    return load_network(path, admin_boundaries=None, use_cache=False)


def _volume_into(vol, node: int, from_nodes: set[int]) -> float:
    return sum(sum(v.values()) for (u, w), v in vol.items() if w == node and u in from_nodes)


def test_small_network_gateways_are_the_two_motorway_ends(small) -> None:
    gws = find_gateways(small)
    assert [(g.gateway_id, g.entry_node, g.exit_node) for g in gws] == [("G15-east", 2010, 1010),
                                                                         ("G15-west", 1000, 2000)]
    assert {g.toward for g in gws} == {"Shenzhen/Huizhou", "Shantou/Jieyang"}
    assert all(g.boundary_km < 0.1 for g in gws)  # on the convex hull of the nodes


def test_routed_link_volumes_equal_a_hand_computation(small) -> None:
    alpha = next(f"town:{p.osm_id}" for p in small.places if p.name == "Alpha")
    od = [ODFlow("gateway:G15-west", "gateway:G15-east", "car", 1000.0),
          ODFlow("gateway:G15-east", "gateway:G15-west", "car", 800.0),
          ODFlow("gateway:G15-west", alpha, "truck", 300.0),
          ODFlow(alpha, "gateway:G15-east", "coach", 200.0)]
    fm = traffic_flows(small, od=od)
    assert fm.basis == "table"
    assert [f.trips_per_day for f in fm.flows] == [1000.0, 800.0, 300.0, 200.0]
    vol = link_volumes(fm.flows)
    # By hand: eastbound up to the exit at 1005 carries W->E and W->Alpha; past it W->E only; after the
    # on-ramp at 1006, W->E and Alpha->E; westbound W<-E everywhere; nobody turns round at a boundary.
    east_west_of_exit = {n for n in range(1000, 1005)} | {n for (u, n) in vol if n < 0}
    assert _volume_into(vol, 1005, east_west_of_exit) == pytest.approx(1300.0)
    assert sum(vol[(1005, 1006)].values()) == pytest.approx(1000.0)
    assert _volume_into(vol, 1010, set(range(1006, 1010))) == pytest.approx(1200.0)
    assert vol[(1005, 3000)] == {"truck": 300.0}
    assert vol[(3000, 1006)] == {"coach": 200.0}
    westbound = {e: v for e, v in vol.items() if 2000 <= e[0] <= 2010 and 2000 <= e[1] <= 2010}
    assert westbound and all(sum(v.values()) == pytest.approx(800.0) for v in westbound.values())
    assert (1010, 2010) not in vol and (2000, 1000) not in vol
    # Paths as node ids with cumulative km: W->E runs the whole eastbound carriageway (~10.3 km).
    through = fm.flows[0]
    assert through.nodes[0] == 1000 and through.nodes[-1] == 1010
    assert through.cum_km[0] == 0.0 and all(b > a for a, b in zip(through.cum_km, through.cum_km[1:]))
    assert through.length_km == pytest.approx(0.01 * 10 * 111.32 * math.cos(math.radians(22.8)), rel=0.01)
    assert through.trip_km == pytest.approx(through.length_km + 120.0 + 100.0)


def test_service_area_sides_see_their_own_direction_on_the_small_network(small) -> None:
    alpha = next(f"town:{p.osm_id}" for p in small.places if p.name == "Alpha")
    od = [ODFlow("gateway:G15-west", "gateway:G15-east", "car", 1000.0),
          ODFlow("gateway:G15-east", "gateway:G15-west", "car", 800.0),
          ODFlow("gateway:G15-west", alpha, "truck", 300.0)]
    fm = traffic_flows(small, od=od)
    cands = candidates_from_network(small, kinds=("service_area", "interchange"), corridor_access_km=1.0)
    sc = replace(FAST, stage_years=(2025, 2030))
    sites = corridor_demand(small, cands, fm.flows, sc)
    by_side = {s.side: sites[s.site_id] for s in cands if s.kind == "service_area"}
    assert by_side["south"].trips_per_day == {"car": 1000.0, "truck": 300.0, "coach": 0.0}
    assert by_side["north"].trips_per_day == {"car": 800.0, "truck": 0.0, "coach": 0.0}
    # Arrivals by hand: a car's first leg is (0.9 - 0.2) x 400 = 280 km, a truck's (0.9 - 0.2) x 250 = 175 km.
    # W->E car, trip 10.3 + 220 km: no stop; W->Alpha truck (120 km beyond + ~7 km): none either.
    assert by_side["south"].arrivals_per_hour == {2025: 0.0, 2030: 0.0}
    assert all(v == 0.0 for s in sites.values() for v in s.ev_stops_per_day.values())
    long = replace(sc, traffic=replace(sc.traffic, ev_range_km={"car": 200.0, "truck": 100.0, "coach": 300.0}))
    got = corridor_demand(small, cands, fm.flows, long)
    south = next(s for s in cands if s.kind == "service_area" and s.side == "south")
    north = next(s for s in cands if s.kind == "service_area" and s.side == "north")
    junction = next(s for s in cands if s.kind == "interchange")
    f_car, f_back, f_truck = fm.flows

    def stops(f, range_km: float) -> float:
        # Stops on the whole trip: (trip - first leg 0.7 x range) / later leg (0.8 - 0.2) x range, times the
        # in-area share of the trip.
        return (f.trip_km - 0.7 * range_km) / (0.6 * range_km) * f.length_km / f.trip_km

    s_car, s_back, s_truck = stops(f_car, 200.0), stops(f_back, 200.0), stops(f_truck, 100.0)
    assert 0 < s_truck < 0.1 and 0 < s_car < 0.1
    # W->E and W->Alpha pass the south side (weight 10) and the interchange (weight 1); E->W the north side
    # and the interchange: each side takes 10/11 of its trips' stops, the interchange 1/11 of all three's.
    for year, car, truck in ((2025, 0.10, 0.01), (2030, 0.25, 0.04)):
        ev_car, ev_truck = min(1.0, car * 1.5), min(1.0, truck * 1.5)
        east_stops = 1000.0 * ev_car * s_car + 300.0 * ev_truck * s_truck
        west_stops = 800.0 * ev_car * s_back
        assert got[south.site_id].arrivals_per_hour[year] == pytest.approx(0.10 * east_stops * 10 / 11)
        assert got[north.site_id].arrivals_per_hour[year] == pytest.approx(0.10 * west_stops * 10 / 11)
        assert got[junction.site_id].arrivals_per_hour[year] == pytest.approx(0.10 * (east_stops + west_stops) / 11)
        assert sum(g.ev_stops_per_day[year] for g in got.values()) == pytest.approx(east_stops + west_stops)


def test_gravity_od_equals_a_hand_computation() -> None:
    traffic = TrafficAssumptions(gravity_decay_per_min=0.05, class_shares={"car": 0.8, "truck": 0.2, "coach": 0.0},
                                 town_trip_rate={"car": 0.1, "truck": 0.0, "coach": 0.0})
    zones = [Zone("town:a", "town", "A", 1, 1, 1000.0, "given"), Zone("town:b", "town", "B", 2, 2, 3000.0, "given"),
             Zone("gateway:w", "gateway", "W", 3, 4, 10_000.0, "x", toward="west", through_share=0.5),
             Zone("gateway:e", "gateway", "E", 5, 6, 6_000.0, "x", toward="east", through_share=0.5)]
    t = np.array([[0, 10, 20, 30], [10, 0, 15, 25], [20, 15, 0, 40], [30, 25, 40, 0]], dtype=float)
    od = {(f.origin, f.destination, f.vehicle_class): f.trips_per_day for f in gravity_od(zones, t, traffic)}
    # Town -> town: all of A's 100 car trips go to B (the only other town), B's 300 to A: averaged, 200 each.
    assert od[("town:a", "town:b", "car")] == pytest.approx(200.0)
    assert od[("town:b", "town:a", "car")] == pytest.approx(200.0)
    # Gateway W: 5,000 enter, car 4,000, half local, shared over A and B by residents x exp(-0.05 t).
    wa, wb = 1000 * math.exp(-0.05 * 20), 3000 * math.exp(-0.05 * 15)
    assert od[("gateway:w", "town:a", "car")] == pytest.approx(2000 * wa / (wa + wb))
    assert od[("town:b", "gateway:w", "truck")] == pytest.approx(500 * wb / (wa + wb))
    # Through: W's 2,000 through cars all go to E, E's 3,000 x 0.8 x 0.5 = 1,200 to W: averaged, 1,600.
    assert od[("gateway:w", "gateway:e", "car")] == pytest.approx(1600.0)
    assert od[("gateway:e", "gateway:w", "truck")] == pytest.approx(400.0)
    assert not any(k[2] == "coach" for k in od)


def test_unknown_population_falls_back_to_the_county_mean() -> None:
    towns = [Town("1", "a", 0, 0, 1, 1000, "c1"), Town("2", "b", 0, 0, 2, 3000, "c1"),
             Town("3", "c", 0, 0, 3, None, "c1"), Town("4", "d", 0, 0, 4, None, "c2"), Town("5", "e", 0, 0, 5, 0, "c2")]
    masses = town_masses(towns, TrafficAssumptions(fallback_town_population=777))
    assert [m for m, _ in masses] == [1000.0, 3000.0, 2000.0, 0.0, 0.0]
    assert "mean of 2 town(s) of county c1" in masses[2][1]
    only_unknown = town_masses([Town("6", "f", 0, 0, 6, None, "c9")], TrafficAssumptions(fallback_town_population=777))
    assert only_unknown[0][0] == 777.0


def test_expected_stops_and_their_shares_on_hand_made_paths() -> None:
    traffic = TrafficAssumptions()
    # The documented defaults the figures below are computed from.
    assert (traffic.departure_charge_share, traffic.reserve_charge_share, traffic.charge_to_share,
            traffic.service_area_stop_weight, traffic.ev_range_km["car"]) == (0.9, 0.2, 0.8, 10.0, 400.0)
    usable_km = (0.9 - 0.2) * 400.0  # a car's first leg: 280 km
    leg_km = (0.8 - 0.2) * 400.0     # each leg after a stop: 240 km
    assert expected_trip_stops(usable_km, 400.0, traffic) == 0.0
    assert expected_trip_stops(100.0, 400.0, traffic) == 0.0
    assert expected_trip_stops(usable_km + leg_km, 400.0, traffic) == pytest.approx(1.0)
    # 2.5 usable ranges, 700 km: 420 km beyond the first leg, 420 / 240 = 1.75 stops.
    assert expected_trip_stops(2.5 * usable_km, 400.0, traffic) == pytest.approx(1.75)
    # A path of 100 km in the area, then 600 km beyond it (a 700 km trip): 1.75 x 100 / 700 = 0.25 stops in
    # the area, shared over two service-area sides (weight 10 each) and an interchange (weight 1).
    flow = RoutedFlow("town:a", "gateway:x", "car", 1000.0, (1, 2, 3, 4), (0.0, 30.0, 60.0, 100.0),
                      destination_external_km=600.0)
    cands = [Candidate("sa:s1:east", "service_area", "S1 (east side)", 0.0, 0.0, 2, corridor_nodes=(2,),
                       service_area_id="s1", side="east"),
             Candidate("sa:s1:west", "service_area", "S1 (west side)", 0.0, 0.0, 20, corridor_nodes=(20,),
                       service_area_id="s1", side="west"),  # the other carriageway: not passed
             Candidate("sa:s2:east", "service_area", "S2 (east side)", 0.0, 0.0, 3, corridor_nodes=(3,),
                       service_area_id="s2", side="east"),
             Candidate("interchange:9", "interchange", "X", 0.0, 0.0, 99, corridor_nodes=(40, 4)),
             Candidate("town:1", "town", "A town centre", 0.0, 0.0, 1)]  # no stopping point on the way
    assert in_area_stops(flow, traffic) == pytest.approx(0.25)
    got = share_stops([flow], cands, traffic)[0]
    assert got == pytest.approx({"sa:s1:east": 0.25 * 10 / 21, "sa:s2:east": 0.25 * 10 / 21,
                                 "interchange:9": 0.25 * 1 / 21})
    assert sum(got.values()) == pytest.approx(0.25)
    # Exactly one usable range long (100 km here, 180 km beyond): no stop anywhere.
    assert share_stops([replace(flow, destination_external_km=180.0)], cands, traffic) == [{}]
    # A path past no stopping point keeps its stops off the corridors.
    assert share_stops([replace(flow, nodes=(1, 5, 6, 7))], cands, traffic) == [{}]
    with pytest.raises(ValueError, match=r"reserve_charge_share \(0.2\): must be below .* charge_to_share \(0.2\)"):
        expected_trip_stops(500.0, 400.0, replace(traffic, charge_to_share=0.2))
    with pytest.raises(ValueError, match="ev_range_km: expected a range for class 'bus'"):
        in_area_stops(replace(flow, vehicle_class="bus"), traffic)


# ------------------------------------------------------------------------------ the shipped network


@pytest.fixture(scope="module")
def shipped_flows(shanwei_network):
    return traffic_flows(shanwei_network)


def test_shipped_gateways_are_found_from_the_network(shanwei_network) -> None:
    gws = find_gateways(shanwei_network)
    assert {(g.ref, g.direction, g.toward) for g in gws} == {
        ("G15", "west", "Shenzhen/Huizhou"), ("G15", "east", "Shantou/Jieyang"),
        ("G1523", "northwest", "Shenzhen/Huizhou"), ("G1523", "northeast", "Shantou/Jieyang"),
        ("G324", "west", "Shenzhen/Huizhou"), ("G324", "east", "Shantou/Jieyang")}
    a = shanwei_network.arrays
    row = {int(n): i for i, n in enumerate(a.node_id.tolist())}
    boundary = network_boundary(shanwei_network)
    from shapely.geometry import Point

    for g in gws:
        # Independently: within 3 km of the city boundary (degrees -> km at 111 km/degree, generously).
        assert boundary.distance(Point(g.lon, g.lat)) * 111.0 < 3.5
        entry, exit_ = row[g.entry_node], row[g.exit_node]
        if g.highway == "motorway":
            mw = a.class_mask(("motorway",))
            assert not np.any(mw & (a.v == entry)) and np.any(mw & (a.u == entry))  # a carriageway starts
            assert not np.any(mw & (a.u == exit_)) and np.any(mw & (a.v == exit_))  # a carriageway ends
    # The 兴汕 ends (塘尾 junction, 沙港 terminus) lie inside the city: no gateway.
    assert all(g.ref != "motorway" for g in gws)


def test_od_table_is_used_as_given(shanwei_network, shipped_flows, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "od.csv",
                     ["origin", "destination", "car_trips_per_day", "truck_trips_per_day", "coach_trips_per_day"],
                     [["G15-west", "G15-east", "6000", "2000", ""], ["汕尾", "gateway:G1523-northeast", "150", "0", "12"],
                      ["Nowhere", "G15-east", "1", "1", "1"], ["G15-west", "G15-east", "x", "1", "1"],
                      ["汕尾", "汕尾", "1", "", ""]])
    read = read_od_csv(path, shipped_flows.zones)
    assert [(q.row, q.field) for q in read.quarantined] == [(4, "origin"), (5, "car_trips_per_day"), (6, "destination")]
    assert "od.csv row 4, origin: expected a zone id, a town name or a gateway id" in read.quarantined[0].describe()
    fm = traffic_flows(shanwei_network, od=read.od)
    got = {(f.origin, f.destination, f.vehicle_class): f.trips_per_day for f in fm.flows}
    shanwei = next(z.zone_id for z in fm.zones if z.name == "汕尾")
    assert got == {("gateway:G15-west", "gateway:G15-east", "car"): 6000.0,
                   ("gateway:G15-west", "gateway:G15-east", "truck"): 2000.0,
                   (shanwei, "gateway:G1523-northeast", "car"): 150.0,
                   (shanwei, "gateway:G1523-northeast", "coach"): 12.0}
    # Every link volume is the sum of the trips whose path uses the link.
    vol = link_volumes(fm.flows)
    for e, v in vol.items():
        assert sum(v.values()) == pytest.approx(sum(f.trips_per_day for f in fm.flows
                                                    if e in set(zip(f.nodes, f.nodes[1:]))))
    with pytest.raises(InputFileError, match="missing column"):
        read_od_csv(write_csv(tmp_path / "bad.csv", ["origin", "destination"], [["a", "b"]]), shipped_flows.zones)


def test_od_table_without_a_row_of_trips_is_an_error(shipped_flows, tmp_path: Path) -> None:
    cols = ["origin", "destination", "car_trips_per_day", "truck_trips_per_day", "coach_trips_per_day"]
    zones = shipped_flows.zones
    header_only = write_csv(tmp_path / "header.csv", cols, [])
    with pytest.raises(InputFileError, match=r"header\.csv: expected an O-D table CSV file with at least one row of "
                                             r"trips \(the file has no data row, only the header\)"):
        read_od_csv(header_only, zones)
    all_bad = write_csv(tmp_path / "all_bad.csv", cols, [["Nowhere", "G15-east", "1", "1", "1"],
                                                          ["G15-west", "G15-east", "1"]])
    with pytest.raises(InputFileError, match=r"all_bad\.csv: .* \(every data row \(2\) is quarantined: all_bad\.csv row "
                                             r"2, origin: .*got 'Nowhere'; all_bad\.csv row 3: 3 fields; expected 5"):
        read_od_csv(all_bad, zones)
    zeros = write_csv(tmp_path / "zeros.csv", cols, [["G15-west", "G15-east", "0", "", "0"],
                                                      ["汕尾", "汕尾", "1", "", ""]])
    with pytest.raises(InputFileError, match=r"zeros\.csv: .*\(the 1 good row\(s\) give 0 trips per day in every "
                                             r"class; 1 row\(s\) quarantined\)"):
        read_od_csv(zeros, zones)


def _counts_from(network, flows, rng: np.random.Generator, n: int) -> list[SegmentCount]:
    """Counts of the flows' own volumes at the midpoints of ``n`` random edges with a ref, as a bureau
    would give them (road ref, a point, a bearing or ``both``, AADT, class shares on some)."""
    from planner.siting.candidates import bearing_deg

    a = network.arrays
    refs = a.tag("ref")
    vol = link_volumes(flows)
    ids = a.node_id
    edges = [e for e in range(a.n_edges) if refs[e] >= 0 and (int(ids[a.u[e]]), int(ids[a.v[e]])) in vol]
    out = []
    for j, e in enumerate(rng.choice(edges, n, replace=False).tolist()):
        u, v = int(ids[a.u[e]]), int(ids[a.v[e]])
        g0, g1 = int(a.geom_start[e]), int(a.geom_start[e + 1])
        pts = a.geom_xy[g0:g1] if g1 - g0 >= 2 else np.array([[a.lon[a.u[e]], a.lat[a.u[e]]],
                                                               [a.lon[a.v[e]], a.lat[a.v[e]]]])
        k = len(pts) // 2
        (x0, y0), (x1, y1) = pts[k - 1], pts[k]
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
        by_class = vol[(u, v)]
        total = sum(by_class.values())
        shares = {c: by_class.get(c, 0.0) / total for c in VEHICLE_CLASSES} if j % 2 else None
        out.append(SegmentCount("generated", j + 2, network.arrays.strings[refs[e]], float(lon), float(lat),
                                "", bearing_deg(x0, y0, x1, y1), total, shares))
    return out


def test_calibration_reproduces_segment_counts_within_5_percent(shanwei_network, shipped_flows,
                                                                 tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    counts = _counts_from(shanwei_network, shipped_flows.flows, rng, 14)
    # Through the CSV a bureau would write: direction as a bearing, shares on every other row.
    path = write_csv(tmp_path / "counts.csv",
                     ["road_ref", "lon", "lat", "direction", "aadt", "car_share", "truck_share", "coach_share"],
                     [[c.road_ref, f"{c.lon:.7f}", f"{c.lat:.7f}", f"{c.bearing_deg:.1f}", f"{c.aadt:.3f}",
                       *([f"{c.shares[k]:.6f}" for k in VEHICLE_CLASSES] if c.shares else ["", "", ""])]
                      for c in counts])
    read = read_counts_csv(path)
    assert not read.quarantined and len(read.counts) == len(counts)
    matched = match_counts(shanwei_network, read.counts)
    assert not matched.quarantined
    # The true O-D perturbed (x0.4 to x2.5 per flow, and all trucks x1.8), then calibrated back to the counts.
    factor = rng.uniform(0.4, 2.5, len(shipped_flows.flows))
    perturbed = [replace(f, trips_per_day=f.trips_per_day * x * (1.8 if f.vehicle_class == "truck" else 1.0))
                 for f, x in zip(shipped_flows.flows, factor, strict=True)]
    cal = calibrate(perturbed, matched.counts)
    vol = link_volumes(cal.flows)
    before = link_volumes(perturbed)
    worst_before, worst_after = 0.0, 0.0
    for c in matched.counts:
        for k in (list(c.shares) if c.shares else [None]):
            want = c.aadt * (c.shares[k] if k else 1.0)
            if want < 1.0:
                continue
            got = sum(sum(v.get(k, 0.0) for v in [vol.get(e, {})]) if k else sum(vol.get(e, {}).values())
                      for e in c.edges)
            was = sum(before.get(e, {}).get(k, 0.0) if k else sum(before.get(e, {}).values()) for e in c.edges)
            worst_after = max(worst_after, abs(got - want) / want)
            worst_before = max(worst_before, abs(was - want) / want)
    assert worst_before > 0.2  # the perturbation was real
    assert worst_after < 0.05
    assert cal.converged and cal.max_relative_error < 0.05
    assert all(f.nodes == g.nodes for f, g in zip(cal.flows, perturbed, strict=True))  # paths fixed


def test_bad_count_rows_are_quarantined_with_row_and_field(shanwei_network, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "counts.csv", ["road_ref", "lon", "lat", "direction", "aadt", "car_share",
                                               "truck_share", "coach_share"],
                     [["G15", "115.0404", "22.8403", "eastbound", "21000", "0.7", "0.25", "0.05"],
                      ["G15", "115.0404", "22.8403", "up", "21000", "", "", ""],
                      ["G15", "115.0404", "22.8403", "east", "-5", "", "", ""],
                      ["G15", "115.0404", "22.8403", "east", "100", "0.9", "0.5", "0"],
                      ["S999", "115.0404", "22.8403", "both", "100", "", "", ""],
                      ["G324", "115.0404", "22.7000", "both", "100", "", "", ""]])
    read = read_counts_csv(path)
    assert [(q.row, q.field) for q in read.quarantined] == [(3, "direction"), (4, "aadt"), (5, "car_share")]
    assert read.quarantined[0].describe().startswith("counts.csv row 3, direction: expected both, a compass")
    matched = match_counts(shanwei_network, read.counts)
    assert [c.row for c in matched.counts] == [2]
    assert [(q.row, q.field) for q in matched.quarantined] == [(6, "road_ref"), (7, "lon")]
    assert "G1523" in matched.quarantined[0].expected
    with pytest.raises(InputFileError, match="aadt"):
        read_counts_csv(write_csv(tmp_path / "short.csv", ["road_ref", "lon", "lat", "direction"], [["G15", 1, 2, "n"]]))


def test_example_files_read_cleanly(shanwei_network, shipped_flows) -> None:
    from planner.config import SHIPPED_DATA_DIR

    counts = read_counts_csv(SHIPPED_DATA_DIR / "traffic" / "example_counts.csv")
    assert not counts.quarantined and not match_counts(shanwei_network, counts.counts).quarantined
    od = read_od_csv(SHIPPED_DATA_DIR / "traffic" / "example_od.csv", shipped_flows.zones)
    assert not od.quarantined and len(od.od) == 12


def test_corridor_demand_on_the_shipped_network(shanwei_network, shipped_flows) -> None:
    sc = FAST
    cands = candidates_from_network(shanwei_network, kinds=sc.candidate_kinds,
                                    corridor_access_km=sc.corridor_access_km)
    sites = corridor_demand(shanwei_network, cands, shipped_flows.flows, sc)
    flows = shipped_flows.flows
    sides = [c for c in cands if c.kind == "service_area"]
    assert len(sides) == 6 and all(c.site_id in sites for c in sides)
    # Independently: the stopping points each flow passes (a side's node, or an interchange's corridor nodes
    # on its path), each trip's in-area stops by hand, shared by weight 10 (a side) against 1.
    stopping = [c for c in cands if c.kind == "service_area" or c.corridor_nodes]
    passed = [[c for c in stopping if set(c.corridor_nodes or (c.node,)) & set(f.nodes)] for f in flows]

    def in_area(f) -> float:
        r = sc.traffic.ev_range_km[f.vehicle_class]
        return max(0.0, (f.trip_km - 0.7 * r) / (0.6 * r)) * f.length_km / f.trip_km

    def ev(f, year: int) -> float:
        shenzhen = any(g in f.origin + f.destination for g in ("G15-west", "G1523-northwest", "G324-west"))
        return f.trips_per_day * min(1.0, sc.traffic.ev_share_by_class_year[f.vehicle_class][year]
                                     * (1.5 if shenzhen else 1.0))

    def weight(c) -> float:
        return 10.0 if c.kind == "service_area" else 1.0

    for c in sides:
        # The flows whose path runs through the side's node, and none of the other side's.
        mine = [i for i, f in enumerate(flows) if c.node in f.nodes]
        assert sum(sites[c.site_id].trips_per_day.values()) == pytest.approx(sum(flows[i].trips_per_day for i in mine))
        other = next(o for o in sides if o.service_area_id == c.service_area_id and o.site_id != c.site_id)
        assert not any(other.node in flows[i].nodes for i in mine)
        for year in sc.stage_years:
            want = sum(ev(flows[i], year) * in_area(flows[i]) * weight(c) / sum(weight(p) for p in passed[i])
                       for i in mine)
            assert sites[c.site_id].ev_stops_per_day[year] == pytest.approx(want)
            assert sites[c.site_id].arrivals_per_hour[year] == pytest.approx(0.10 * want)
    # Conservation: the sites together take every in-area stop of the trips that pass one, no more.
    for year in sc.stage_years:
        total = sum(ev(f, year) * in_area(f) for f, p in zip(flows, passed, strict=True) if p)
        assert total > 0
        assert sum(s.ev_stops_per_day[year] for s in sites.values()) == pytest.approx(total, rel=1e-9)
    shares = share_stops(flows, cands, sc.traffic)
    for f, p, got in zip(flows, passed, shares, strict=True):
        assert set(got) <= {c.site_id for c in p}
        assert sum(got.values()) == pytest.approx(in_area(f) if p else 0.0, abs=1e-12)
    # A trip stops a few times, not at every site: no trip makes a whole stop at any one site here.
    assert max(max(got.values(), default=0.0) for got in shares) < 1.0
    # A corridor charger on G1523, where there is no service area, gets the traffic passing it.
    a = shanwei_network.arrays
    g1523 = {int(n) for n in a.node_id[np.r_[a.u, a.v][np.r_[a.tag("ref"), a.tag("ref")]
                                                       == a.strings.index("G1523")]].tolist()}
    on_g1523 = [c for c in cands if c.kind == "interchange" and set(c.corridor_nodes) & g1523]
    assert on_g1523
    for c in on_g1523:
        assert all(v > 0 for v in sites[c.site_id].arrivals_per_hour.values()), c.site_id
    holiday = replace(sc, traffic=replace(sc.traffic, design_day="holiday"))
    again = corridor_demand(shanwei_network, cands, shipped_flows.flows, holiday)
    for c in on_g1523:
        for y, v in again[c.site_id].arrivals_per_hour.items():
            assert v == pytest.approx(1.6 * sites[c.site_id].arrivals_per_hour[y])
    assert sites[on_g1523[0].site_id].as_dict()["flows"] > 0


def test_plan_reports_the_corridor_arrivals_it_was_given(shanwei_network, shipped_flows) -> None:
    from planner.siting.plan import plan_sites

    sc = FAST
    cands = candidates_from_network(shanwei_network, kinds=sc.candidate_kinds,
                                    corridor_access_km=sc.corridor_access_km)
    arrivals = corridor_arrivals_by_site(shanwei_network, cands, shipped_flows.flows, sc)
    result = plan_sites(shanwei_network, scenario=sc, corridor_arrivals=arrivals)
    checked = 0
    for s in result.sites:
        sid = s.candidate.site_id
        if sid not in arrivals:
            continue
        for y in sc.stage_years:
            if s.first_stage <= y:
                assert s.corridor_arrivals_per_hour_by_stage[y] == pytest.approx(arrivals[sid][y], abs=1e-3)
                checked += 1
    sides = [s for s in result.sites if s.candidate.kind == "service_area"]
    assert len(sides) == 6 and checked >= 12


def test_towns_beyond_the_zone_cap_are_grouped_keeping_every_resident() -> None:
    """More towns than MAX_TOWN_ZONES: that many zones, centred on the most populous towns, each other
    town in the nearest centre of its own county, and the residents summed (none lost, none counted twice)."""
    from planner.demand.flows import group_towns

    rng = np.random.default_rng(3)
    towns = [Town(f"t{i}", f"镇{i}", 114.0 + rng.uniform(0, 2), 22.5 + rng.uniform(0, 1), i,
                  int(rng.integers(1_000, 90_000)), "4415" + str(21 + i % 3)) for i in range(40)]
    masses = [(float(t.population), "census") for t in towns]
    assert [(z[0].town_id, z[3]) for z in group_towns(towns, masses, most=40)] == [(t.town_id, 1) for t in towns]
    zones = group_towns(towns, masses, most=7)
    assert len(zones) == 7
    assert sum(z[1] for z in zones) == pytest.approx(sum(m for m, _ in masses))
    assert sum(z[3] for z in zones) == 40
    by_mass = sorted(towns, key=lambda t: -t.population)[:7]
    assert {z[0].town_id for z in zones} == {t.town_id for t in by_mass}
    # Each non-centre town joined the nearest centre of its county (when its county has one).
    centres = [z[0] for z in zones]
    expected: dict[str, float] = {c.town_id: float(c.population) for c in centres}
    for t in towns:
        if t.town_id in expected and t in centres:
            continue
        pool = [c for c in centres if c.county_code == t.county_code] or centres
        best = min(pool, key=lambda c: ((c.lon - t.lon) * math.cos(math.radians(np.mean([x.lat for x in centres])))) ** 2
                   + (c.lat - t.lat) ** 2)
        expected[best.town_id] += t.population
    assert {z[0].town_id: z[1] for z in zones} == pytest.approx(expected)


def test_routed_paths_follow_network_edges_and_add_up_their_km(shanwei_network, shipped_flows) -> None:
    """Each shipped flow's path is a chain of network edges from its origin to its destination, and its
    cumulative km is the running sum of those edges' lengths (the quickest of parallel edges), looked up
    here from the network's own edge arrays, one edge at a time."""
    a = shanwei_network.arrays
    best: dict[tuple[int, int], tuple[float, float]] = {}
    for u, v, tt, m in zip(a.node_id[a.u].tolist(), a.node_id[a.v].tolist(), a.travel_time_s.tolist(),
                           a.length_m.tolist()):
        if (u, v) not in best or tt < best[u, v][0]:
            best[u, v] = (tt, m / 1000.0)
    zones = {z.zone_id: z for z in shipped_flows.zones}
    checked = 0
    for f in shipped_flows.flows[:600]:
        assert f.nodes[0] == zones[f.origin].origin_node
        assert f.nodes[-1] == zones[f.destination].destination_node
        total = 0.0
        assert f.cum_km[0] == 0.0
        for (u, v), km in zip(zip(f.nodes, f.nodes[1:]), f.cum_km[1:]):
            total += best[u, v][1]
            assert km == pytest.approx(total, abs=2e-6)
            checked += 1
    assert checked > 1000


def test_flows_routed_a_tree_per_origin_equal_the_shared_trees_and_are_quickest(shanwei_network,
                                                                               shipped_flows) -> None:
    """The gravity model's flows take their paths from the trees that timed the zones; routed again
    with no known paths (as an O-D table's are, one tree per origin) they are the same flows. Each path
    is a quickest one: its time, summed edge by edge, equals networkx's Dijkstra over the same edges."""
    import networkx as nx

    from planner.demand.flows import route_flows, router_for

    router = router_for(shanwei_network, shipped_flows.gateways)
    assert route_flows(router, shipped_flows.zones, shipped_flows.od) == list(shipped_flows.flows)
    a = shanwei_network.arrays
    banned = {e for g in shipped_flows.gateways for e in g.uturn_edges}
    graph = nx.DiGraph()
    for u, v, tt in zip(a.node_id[a.u].tolist(), a.node_id[a.v].tolist(), a.travel_time_s.tolist()):
        if (u, v) not in banned and (not graph.has_edge(u, v) or tt < graph[u][v]["s"]):
            graph.add_edge(u, v, s=tt)
    pairs = {(f.nodes[0], f.nodes[-1]): f.nodes for f in shipped_flows.flows}
    for (o, d), nodes in list(pairs.items())[::7]:
        along = sum(graph[u][v]["s"] for u, v in zip(nodes, nodes[1:]))
        assert along == pytest.approx(nx.dijkstra_path_length(graph, o, d, weight="s"), rel=1e-9, abs=1e-6)


def test_a_flow_with_no_path_names_its_pair(small) -> None:
    """Cut every edge out of a town's node: a flow from it is an error naming both zones and nodes,
    whether its path was to come from the shared trees or from a tree of its own."""
    from planner.demand.flows import Router, route_flows

    fm = traffic_flows(small)
    alpha = next(z for z in fm.zones if z.name == "Alpha")
    a = small.arrays
    out_of = [(int(a.node_id[u]), int(a.node_id[v])) for u, v in zip(a.u, a.v) if a.node_id[u] == alpha.origin_node]
    router = Router(small, banned=out_of)
    east = next(z for z in fm.zones if z.zone_id == "gateway:G15-east")
    flow = ODFlow(alpha.zone_id, east.zone_id, "car", 10.0)
    times, paths = router.times_and_paths([alpha.origin_node], [east.destination_node])
    assert not np.isfinite(times).any() and not paths
    for known in (None, paths):
        with pytest.raises(ValueError, match=f"O-D flow {alpha.zone_id} -> gateway:G15-east: no path from node "
                                             f"{alpha.origin_node} to node"):
            route_flows(router, fm.zones, [flow], paths=known)


def test_no_flows_give_every_stopping_point_nothing(small) -> None:
    """With no routed flows (a network without traffic), every stopping point is listed with 0 flows and
    0 arrivals, and no flow has stops to share."""
    sc = FAST
    cands = candidates_from_network(small, kinds=sc.candidate_kinds, corridor_access_km=sc.corridor_access_km)
    got = corridor_demand(small, cands, [], sc)
    assert got and all(s.flows == 0 and not any(s.arrivals_per_hour.values()) for s in got.values())
    assert share_stops([], cands, sc.traffic) == []
