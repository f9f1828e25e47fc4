"""``evplan traffic flows|capture``: the routed corridor traffic of a network, and flow capture on it.

In ``capture`` a trip counts only when it needs a charge (longer than its class's first leg, from the
departure charge down to the reserve); the range between charges is a later leg (charge-to level down to
the reserve), as in the plan's stop model.

``flows`` prints what the plan's corridor demand rests on (gateways, O-D trips by class, the flows each
corridor site serves); ``capture`` runs the flow-refuelling location model (``planner.siting.flow_capture``):
the stations that make the most EV trips drivable for a number of stations or a budget.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli._common import to_json


def add_traffic_parser(sub: Any, add_network: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``traffic`` subcommand tree."""
    from cli.scenario import add_scenario_file_flag, add_scenario_flags, add_traffic_input_flags

    p = sub.add_parser("traffic", help="routed corridor traffic and flow capture (most EV trips served)",
                       description=__doc__, formatter_class=formatter)
    tsub = p.add_subparsers(dest="traffic_command", required=True, metavar="ACTION")
    for name, text in (("flows", "gateways, O-D trips by class and the flows each corridor site serves"),
                       ("capture", "flow capture: the stations that make the most EV trips drivable")):
        q = tsub.add_parser(name, help=text, description=text, formatter_class=formatter)
        add_network(q)
        add_traffic_input_flags(q)
        q.add_argument("--json", action="store_true", help="print JSON instead of text")
        if name == "capture":
            q.add_argument("--stations", type=int, default=None, metavar="N",
                           help="new stations to open (with or instead of the scenario's --budget-cny)")
            q.add_argument("--station-cost-cny", type=float, default=None, metavar="CNY",
                           help="capital cost of one station with --budget-cny (default: the scenario's site "
                                "fixed cost plus its minimum chargers)")
            q.add_argument("--year", type=int, default=None, metavar="YEAR",
                           help="stage year whose EV share of traffic weights the trips (default: the last)")
        add_scenario_file_flag(q, "the flags below override it")
        add_scenario_flags(q)


def run_traffic_command(args: argparse.Namespace) -> int:
    """``evplan traffic flows|capture``."""
    from cli.scenario import scenario_from_args
    from planner import network as net
    from planner.errors import ScenarioError
    from planner.pipeline import plan_demand
    from planner.siting.candidates import candidates_from_network

    scenario = scenario_from_args(args)
    network = net.load_network(args.osm, boundary=args.boundary, bbox=args.bbox)
    if scenario.traffic.corridor_demand != "flows":
        raise ScenarioError("traffic.corridor_demand is 'uniform': there are no routed flows to show")
    demand = plan_demand(network, args.osm, scenario, None, traffic_counts=args.traffic_counts,
                         od_table=args.od_table)
    traffic = demand.report["traffic"]
    for q in traffic.get("quarantined", []):
        print(f"evplan: warning: traffic record not used: {q}", file=sys.stderr)
    flows = demand.flows or ()
    cands = candidates_from_network(network, kinds=scenario.candidate_kinds,
                                    corridor_access_km=scenario.corridor_access_km)
    if args.traffic_command == "flows":
        from planner.demand import corridor_demand

        sites = corridor_demand(network, cands, flows, scenario)
        names = {c.site_id: c.name for c in cands}
        out = {**traffic, "trips_per_day_by_class": _by_class(flows),
               "sites": [{"name": names.get(k), **s.as_dict()} for k, s in sites.items()]}
        if args.json:
            print(to_json(out))
            return 0
        print(f"{traffic['basis']}: {len(flows)} routed flows between {traffic['zones']} zones; gateways "
              f"{', '.join(traffic['gateways'])}")
        print("trips per day: " + ", ".join(f"{k} {v:,.0f}" for k, v in out["trips_per_day_by_class"].items()))
        years = list(scenario.stage_years)
        print(f"{'site':<40} {'flows':>6} " + " ".join(f"{'arrivals/h ' + str(y):>16}" for y in years))
        for row in out["sites"]:
            print(f"{str(row['name'])[:40]:<40} {row['flows']:>6} "
                  + " ".join(f"{row['arrivals_per_hour'][str(y)]:>16.2f}" for y in years))
        return 0
    return _capture(args, scenario, network, flows, cands)


def _by_class(flows: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in flows:
        out[f.vehicle_class] = out.get(f.vehicle_class, 0.0) + f.trips_per_day
    return {k: round(v, 1) for k, v in sorted(out.items())}


def _capture(args: argparse.Namespace, scenario: Any, network: Any, flows: Any, cands: Any) -> int:
    from planner.demand.flows import VEHICLE_CLASSES, charge_legs_km, ev_share
    from planner.errors import ScenarioError
    from planner.siting.flow_capture import flow_capture_on_network

    if args.stations is None and scenario.budget_cny is None:
        raise ScenarioError("evplan traffic capture: give --stations N or --budget-cny CNY")
    year = args.year if args.year is not None else scenario.stage_years[-1]
    traffic = scenario.traffic
    # A leg between charges: from the charge-to level down to the reserve (the plan's stop model).
    legs_by_class = {c: charge_legs_km(float(traffic.ev_range_km[c]), traffic) for c in VEHICLE_CLASSES}
    legs = {c: later for c, (_, later) in legs_by_class.items()}
    # A trip within its first leg (departure charge down to the reserve) needs no charger at all.
    needs = [f for f in flows if f.trip_km > legs_by_class[f.vehicle_class][0]]
    no_charge = sum(f.trips_per_day * ev_share(traffic, f.vehicle_class, year) for f in flows
                    if f.trip_km <= legs_by_class[f.vehicle_class][0])
    cost = args.station_cost_cny
    if cost is None:
        costs, norms = scenario.costs, scenario.norms
        cost = costs.site_fixed_cny + norms.min_chargers_per_station * costs.dc_charger_cny
    result = flow_capture_on_network(
        network, needs, max(legs.values()), p=args.stations, budget_cny=scenario.budget_cny,
        station_cost_cny=cost, candidates=cands, range_km_by_class=legs,
        volume_factor_by_class={c: ev_share(traffic, c, year) for c in VEHICLE_CLASSES},
        options=scenario.solver)
    names = {c.site_id: c.name for c in cands}
    out = {"year": year, "status": result.status, "gap": result.gap, "bound": result.bound,
           "stations": [{"site_id": s, "name": names.get(str(s))} for s in result.stations],
           "ev_trips_per_day_served": round(result.captured_volume, 1),
           "ev_trips_per_day": round(result.total_volume, 1), "cost_cny": result.cost_cny,
           "ev_trips_per_day_needing_no_charge": round(no_charge, 1),
           "range_km_by_class": legs, "solve_time_s": round(result.solve_time_s, 3)}
    if args.json:
        print(to_json(out))
        return 0
    share = result.captured_volume / result.total_volume if result.total_volume else 0.0
    print(f"{year}: {len(result.stations)} station(s) make {result.captured_volume:,.0f} of the "
          f"{result.total_volume:,.0f} EV trips a day that need a charge drivable ({100 * share:.1f} %); cost "
          f"{result.cost_cny / 1e6:.1f} M CNY ({no_charge:,.0f} shorter EV trips a day need no charger)")
    for s in out["stations"]:
        print(f"  {s['name']} ({s['site_id']})")
    status = result.status if result.status == "optimal" else f"{result.status} (bound {result.bound}, gap {result.gap})"
    print(f"solver: {result.solver} {status}, {result.solve_time_s:.1f} s")
    if result.status != "optimal":
        print(f"evplan: warning: flow capture not proven optimal: {status}", file=sys.stderr)
    return 0
