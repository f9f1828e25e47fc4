"""Fleet records and the new-energy targets of a city's carbon-peak plan, one module per concern.

``schema`` (codes, columns, ``RowIssue``), ``reading`` (files and encodings), ``checks`` (row checks and
quarantine), ``records`` (``FleetRecords``, a records directory), ``store`` (the SQLite store),
``stock`` (stock and additions), ``indicators`` (``Indicators``, ``FleetSeries``), ``trend`` (the one trend
fit), ``projection`` (EV shares for the siting), ``survival`` and ``turnover`` (the stock-turnover model),
``hindcast`` (its prediction intervals), ``decomposition`` (LMDI of CO2), ``charging`` (clause 22 from a
plan), ``depots`` (depot energy), ``targets`` (the targets file), ``assessment`` (status, projection,
levers), ``i18n`` (report wording) and ``report`` (the fleet-share report).
"""

from __future__ import annotations

from planner.fleet.assessment import (
    Assessment,
    Status,
    assess_targets,
    describe,
)
from planner.fleet.charging import (
    ChargingAssessment,
    assess_service_area_charging,
    load_plan_summary,
)
from planner.fleet.checks import (
    extra_columns,
    validate_activity,
    validate_depots,
    validate_vehicles,
)
from planner.fleet.decomposition import Decomposition, decompose_co2
from planner.fleet.depots import (
    DEFAULT_DAILY_KM,
    DEFAULT_KWH_PER_KM,
    DepotDemand,
    depot_energy_demand,
)
from planner.fleet.hindcast import Calibration, Coverage, Hindcast, run_hindcast
from planner.fleet.indicators import (
    FleetSeries,
    Indicators,
    fleet_series,
    indicator_series,
    indicators,
    ne_bus_share_by_year,
)
from planner.fleet.projection import ev_car_share_projection
from planner.fleet.reading import TextTable, read_table, read_vehicle_file
from planner.fleet.records import (
    DATASET_FILE,
    FleetRecords,
    dataset_is_synthetic,
    empty_activity,
    empty_depots,
    load_activity,
    load_counties,
    load_depots,
    load_emission_factors,
    load_grid_factors,
    load_records,
    vehicle_files,
    with_co2,
)
from planner.fleet.report import Report, build_report, write_report
from planner.fleet.schema import (
    ACTIVITY_KEY,
    ACTIVITY_MEASURES,
    BASE_YEAR,
    CLEAN_POWERTRAINS,
    DEPOT_REQUIRED,
    ENERGY_COLUMNS,
    NE_POWERTRAINS,
    OPTIONAL_COLUMNS,
    PASSENGER_KM_TO_TONNE_KM,
    PLUG_IN_POWERTRAINS,
    POWERTRAINS,
    REQUIRED_COLUMNS,
    VEHICLE_CLASSES,
    RowIssue,
)
from planner.fleet.stock import added_in, in_stock, record_years, vehicle_span
from planner.fleet.survival import SCRAPPING_AGE_YEARS, Survival, fit_survival
from planner.fleet.targets import (
    Target,
    TargetSet,
    load_target_set,
    load_targets,
    targets_for,
)
from planner.fleet.trend import TrendFit, fit_logistic_share, fit_loglinear
from planner.fleet.turnover import (
    AdditionsScenario,
    Cutoff,
    Outlook,
    project,
    records_at,
)

__all__ = [
    "ACTIVITY_KEY",
    "ACTIVITY_MEASURES",
    "BASE_YEAR",
    "CLEAN_POWERTRAINS",
    "DATASET_FILE",
    "DEFAULT_DAILY_KM",
    "DEFAULT_KWH_PER_KM",
    "DEPOT_REQUIRED",
    "ENERGY_COLUMNS",
    "NE_POWERTRAINS",
    "OPTIONAL_COLUMNS",
    "PASSENGER_KM_TO_TONNE_KM",
    "PLUG_IN_POWERTRAINS",
    "POWERTRAINS",
    "REQUIRED_COLUMNS",
    "SCRAPPING_AGE_YEARS",
    "VEHICLE_CLASSES",
    "AdditionsScenario",
    "Assessment",
    "Calibration",
    "ChargingAssessment",
    "Coverage",
    "Cutoff",
    "Decomposition",
    "DepotDemand",
    "FleetRecords",
    "FleetSeries",
    "Hindcast",
    "Indicators",
    "Outlook",
    "Report",
    "RowIssue",
    "Status",
    "Survival",
    "Target",
    "TargetSet",
    "TextTable",
    "TrendFit",
    "added_in",
    "assess_service_area_charging",
    "assess_targets",
    "build_report",
    "dataset_is_synthetic",
    "decompose_co2",
    "depot_energy_demand",
    "describe",
    "empty_activity",
    "empty_depots",
    "ev_car_share_projection",
    "extra_columns",
    "fit_logistic_share",
    "fit_loglinear",
    "fit_survival",
    "fleet_series",
    "in_stock",
    "indicator_series",
    "indicators",
    "load_activity",
    "load_counties",
    "load_depots",
    "load_emission_factors",
    "load_grid_factors",
    "load_plan_summary",
    "load_records",
    "load_target_set",
    "load_targets",
    "ne_bus_share_by_year",
    "project",
    "read_table",
    "read_vehicle_file",
    "record_years",
    "records_at",
    "run_hindcast",
    "targets_for",
    "validate_activity",
    "validate_depots",
    "validate_vehicles",
    "vehicle_files",
    "vehicle_span",
    "with_co2",
    "write_report",
]
