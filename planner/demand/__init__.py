"""Demand for charging: people in the towns, traffic on the corridors, fleets at their depots.

``assumptions`` holds the documented defaults a scenario file can replace; the other modules turn
census figures, fleet records and routed origin-destination flows into the plan's demand inputs
(``planner.siting.plan_sites(demand=..., corridor_arrivals=...)``).
"""

from planner.demand.assumptions import TrafficAssumptions

__all__ = ["TrafficAssumptions"]
