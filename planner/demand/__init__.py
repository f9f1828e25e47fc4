"""Demand for charging: people in the towns, traffic on the corridors, fleets at their depots.

``assumptions`` holds the documented defaults a scenario file can replace; the other modules turn
census figures, fleet records and routed origin-destination flows into the plan's demand inputs
(``planner.siting.plan_sites(demand=..., corridor_arrivals=...)``).
"""

from planner.demand.assumptions import TrafficAssumptions
from planner.demand.flows import (
    VEHICLE_CLASSES,
    FlowModel,
    ODFlow,
    RoutedFlow,
    SiteFlows,
    Zone,
    corridor_arrivals_by_site,
    corridor_demand,
    link_volumes,
    traffic_flows,
)
from planner.demand.gateways import Gateway, find_gateways

__all__ = ["VEHICLE_CLASSES", "FlowModel", "Gateway", "ODFlow", "RoutedFlow", "SiteFlows", "TrafficAssumptions",
           "Zone", "corridor_arrivals_by_site", "corridor_demand", "find_gateways", "link_volumes", "traffic_flows"]

# Town demand and population (``population``, ``towns``) import the siting, which imports the assumptions
# above: they load on first use, so that importing the assumptions never runs into that cycle.
from planner.demand.assumptions import TownDemandAssumptions

_LAZY = {
    "CensusTables": "population", "PopulationResult": "population", "census_for": "population",
    "read_census": "population", "town_populations": "population",
    "TownDemand": "towns", "town_demand_from_records": "towns",
}
__all__ += ["CensusTables", "PopulationResult", "TownDemand", "TownDemandAssumptions", "census_for",
            "read_census", "town_demand_from_records", "town_populations"]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"planner.demand.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'planner.demand' has no attribute {name!r}")
