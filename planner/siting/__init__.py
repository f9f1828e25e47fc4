"""Fast-charger siting: the scenario's options, generic location models and the Shanwei planning model.

Modules: ``scenario`` (the one list of options, ``Scenario``), ``solver`` (HiGHS/CBC adapters,
``SolverOptions``, ``SolveResult``), ``locate`` (set covering, maximal covering, p-median, capacitated
location), ``candidates`` (candidate sites, towns, corridor windows), ``sizing`` (every charger, power
and cost rule), ``plan`` (the Shanwei model, ``plan_sites``) and ``outputs`` (GeoJSON, the table).
"""

from planner.siting.candidates import (
    CANDIDATE_KINDS,
    PUBLIC_KINDS,
    Candidate,
    CandidateKind,
    Corridor,
    CorridorWindow,
    MAX_DEPOT_ATTACH_KM,
    Depot,
    Town,
    UnsitedDepot,
    candidates_from_network,
    corridor_windows,
    corridors,
    depots_within_reach,
    towns_from_network,
)
from planner.siting.locate import (
    capacitated_facility_location,
    max_covering,
    p_median,
    set_covering,
)
from planner.siting.outputs import coverage_geojson, sites_geojson, summary_table
from planner.siting.plan import (
    PlanResult,
    PlanSummary,
    SitePlan,
    TownCoverage,
    plan_sites,
)
from planner.siting.scenario import (
    OPTION_BY_NAME,
    OPTIONS,
    Option,
    OptionValue,
    OptionValues,
    Scenario,
    Spelling,
    check_options,
    options_of,
    scenario_from_options,
    with_ev_shares,
)
from planner.siting.sizing import (
    ChargerNorms,
    CostAssumptions,
    DemandAssumptions,
    chargers_for_wait,
    cost_cny,
    erlang_c,
    max_chargers,
    minimum_chargers,
    power_kw,
    required_chargers,
    site_power_kw,
)
from planner.siting.solver import (
    SOLVERS,
    STATUSES,
    SolveResult,
    SolverName,
    SolverOptions,
    SolveStatus,
    solve_problem,
)

__all__ = [
    "CANDIDATE_KINDS", "MAX_DEPOT_ATTACH_KM", "OPTIONS", "OPTION_BY_NAME", "PUBLIC_KINDS", "SOLVERS", "STATUSES",
    "Candidate", "CandidateKind", "ChargerNorms", "Corridor", "CorridorWindow", "CostAssumptions",
    "DemandAssumptions", "Depot", "Option", "OptionValue", "OptionValues", "PlanResult", "PlanSummary",
    "Scenario", "SitePlan", "SolveResult", "SolveStatus", "SolverName", "SolverOptions", "Spelling", "Town",
    "TownCoverage", "UnsitedDepot", "candidates_from_network", "capacitated_facility_location", "chargers_for_wait",
    "check_options", "corridor_windows", "corridors", "cost_cny", "depots_within_reach", "coverage_geojson", "erlang_c",
    "max_chargers", "max_covering", "minimum_chargers", "options_of", "p_median", "plan_sites", "power_kw",
    "required_chargers", "scenario_from_options", "set_covering", "site_power_kw", "sites_geojson",
    "solve_problem", "summary_table", "towns_from_network", "with_ev_shares",
]
