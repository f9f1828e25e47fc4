"""Trade-off sweeps: a grid of scenarios (each option a list), one Dask task per point, one table and page.

``run_sweep`` runs the product of the lists over a base scenario; each point is ``run_main_job`` into
``points/<key>/``; the sweep writes ``sweep.csv``, ``sweep.json`` and a self-contained ``sweep.html``.
"""

from planner.sweep.cluster import (
    ClusterError,
    dask_client,
    default_workers,
    map_unordered,
)
from planner.sweep.grid import (
    MAX_POINTS,
    SEQUENCE_SEPARATOR,
    Grid,
    GridError,
    axes,
    check_grid,
    grid_from_text,
    grid_points,
    grid_size,
    point_key,
)
from planner.sweep.page import render_page
from planner.sweep.run import (
    SweepEvent,
    SweepInputs,
    SweepResult,
    figures_of,
    run_point,
    run_sweep,
)
from planner.sweep.table import Curve, csv_text, curves, decreases

__all__ = [
    "MAX_POINTS", "SEQUENCE_SEPARATOR", "ClusterError", "Curve", "Grid", "GridError", "SweepEvent", "SweepInputs",
    "SweepResult", "axes", "check_grid", "csv_text", "curves", "dask_client", "decreases", "default_workers",
    "figures_of", "grid_from_text", "grid_points", "grid_size", "map_unordered", "point_key", "render_page",
    "run_point", "run_sweep",
]
