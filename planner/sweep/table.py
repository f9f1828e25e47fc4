"""A sweep's table: ``sweep.json`` (rows as objects), ``sweep.csv`` (one flat row per point), and its curves.

A curve holds the points that differ only in the option on the x axis, ordered along it; the page draws
them and a test checks the trade-offs along them (people covered never falls as the budget rises).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.siting.scenario import Assumption, flatten_values, setting, settings
from planner.sweep.run import STAGE_FIGURES

if TYPE_CHECKING:
    from planner.sweep.run import SweepResult

#: The final stage's columns, after the per-stage ones.
FINAL_COLUMNS = (*STAGE_FIGURES, "towns", "solver_status", "solver_gap", "optimal")
TAIL_COLUMNS = ("seconds", "reused", "error", "point_dir")


def stage_years(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every stage year of any row, ascending."""
    return sorted({y for r in rows for y in (r.get("stages") or {})}, key=int)


def scenario_columns() -> list[str]:
    """The scenario's columns: every flat option by name, then every assumption by path (``demand.ev_stop_share``)."""
    return [s.path if isinstance(s, Assumption) else s.name for s in settings()]


def scenario_value(row: Mapping[str, Any], name: str) -> Any:
    """The value of option ``name`` or assumption path ``demand.ev_stop_share`` in a row's (nested) scenario."""
    scenario = row["scenario"]
    if name in scenario:
        return scenario[name]
    return flatten_values(scenario).get(name)


def csv_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The CSV's columns: key, status, every scenario option and assumption, per-stage figures, final-stage
    figures, the rest."""
    per_stage = [f"{fig}_{year}" for year in stage_years(rows) for fig in ("capex_cny", "chargers", "sites",
                                                                             "people_covered", "trips_covered")]
    return ["key", "status", *scenario_columns(), *per_stage, *FINAL_COLUMNS, *TAIL_COLUMNS]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """``sweep.csv``: one row per point; scenario values as on the command line ("none", "2025,2030",
    "2025:0.08,2030:0.2")."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = csv_columns(rows)
    writer.writerow(columns)
    for row in rows:
        flat: dict[str, object] = {k: row.get(k) for k in ("key", "status", *FINAL_COLUMNS, *TAIL_COLUMNS)}
        values = flatten_values(row["scenario"])
        for name in scenario_columns():
            flat[name] = setting(name).to_text(_as_option(name, values.get(name)))  # type: ignore[union-attr]
        for year, figures in (row.get("stages") or {}).items():
            for fig, value in figures.items():
                flat[f"{fig}_{year}"] = value
        writer.writerow([_cell(flat.get(c)) for c in columns])
    return buf.getvalue()


def _as_option(name: str, value: object) -> Any:
    return tuple(value) if isinstance(value, list) and not isinstance(setting(name), Assumption) else value


def write_sweep_files(result: SweepResult, out: Path) -> tuple[Path, ...]:
    """Write ``sweep.json``, ``sweep.csv`` and ``sweep.html`` into ``out``; returns their paths."""
    from planner._io import write_text_atomic
    from planner.sweep.page import render_page

    out.mkdir(parents=True, exist_ok=True)
    return (
        write_text_atomic(out / "sweep.json", json.dumps(result.to_json(), ensure_ascii=False, indent=2,
                                                         default=str) + "\n"),
        write_text_atomic(out / "sweep.csv", csv_text(result.rows)),
        write_text_atomic(out / "sweep.html", render_page(result.to_json())),
    )


@dataclass(frozen=True)
class Curve:
    """Points that differ only in ``x``, ordered along it; ``fixed`` holds the other swept options' values."""

    x: str
    fixed: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def label(self) -> str:
        """``range_margin_km = 40`` …; "all points" when nothing else is swept."""
        if not self.fixed:
            return "all points"
        return ", ".join(f"{k} = {value_text(k, v)}" for k, v in self.fixed.items())


def value_text(name: str, value: object) -> str:
    """An option value as the command line writes it ("none", "2025,2030", "6e+07" -> "60,000,000")."""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e4:
        return f"{value:,.0f}"
    opt = setting(name)
    return opt.to_text(_as_option(name, value)) if opt else str(value)


def x_order(value: object) -> tuple[int, Any]:
    """Sort key along an axis: numbers ascending, then none (e.g. no budget: unlimited), then the rest as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value))
    if value is None:
        return (1, 0.0)
    return (2, json.dumps(value))


def curves(rows: Sequence[Mapping[str, Any]], x: str, swept: Sequence[str]) -> list[Curve]:
    """The rows grouped by the values of the swept options other than ``x``, each group ordered along ``x``."""
    others = [a for a in swept if a != x]
    groups: dict[str, Curve] = {}
    for row in rows:
        fixed = {a: scenario_value(row, a) for a in others}
        ident = json.dumps(fixed, sort_keys=True)
        if ident not in groups:
            groups[ident] = Curve(x=x, fixed=fixed, rows=[])
        groups[ident].rows.append(dict(row))
    for curve in groups.values():
        curve.rows.sort(key=lambda r: x_order(scenario_value(r, x)))
    return sorted(groups.values(), key=lambda c: [x_order(v) for v in c.fixed.values()])


def decreases(curve: Curve, metric: str) -> list[tuple[Any, Any]]:
    """Steps along the curve where ``metric`` falls, as (x before, x after); a failed point counts as 0."""
    out = []
    for a, b in zip(curve.rows, curve.rows[1:], strict=False):
        va = a.get(metric) if a["status"] == "succeeded" else 0
        vb = b.get(metric) if b["status"] == "succeeded" else 0
        if (vb or 0) < (va or 0):
            out.append((scenario_value(a, curve.x), scenario_value(b, curve.x)))
    return out
