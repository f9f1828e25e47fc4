"""A sweep's grid: each scenario value a list (a flat option of ``planner.siting.scenario.OPTIONS`` by name, or
an assumption by its path, ``demand.ev_stop_share``), and its points.

The points are the product of the lists over a base scenario, each normalised (every value filled in,
checked, assumptions nested in their sections as ``options_of`` gives them), so that the same choice is the
same point; ``point_key`` adds the input files' stamps.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from itertools import product
from pathlib import Path
from typing import Any

from planner.errors import ScenarioError
from planner.siting.scenario import (
    Assumption,
    OptionValues,
    Spelling,
    check_options,
    merge_values,
    options_of,
    scenario_from_options,
    setting,
    settings,
)

#: Most points a sweep may have unless the caller allows more (the service's bound is a setting).
MAX_POINTS = 256
#: Separates the values of a sequence option (stage years, candidate kinds) in a list on the command line,
#: whose items themselves are comma-separated: ``--stage-years 2025,2030/2025,2030,2035``.
SEQUENCE_SEPARATOR = "/"

#: Separates the tables of a table-valued assumption in a list on the command line, whose entries are
#: comma-separated: ``--demand.ev-share-by-year 2025:0.08,2030:0.2;2025:0.1,2030:0.3``.
TABLE_SEPARATOR = ";"

#: A grid: option name or assumption path -> the values to try, in the order of ``settings()``.
Grid = dict[str, list[Any]]


def _name(s: object) -> str:
    return s.path if isinstance(s, Assumption) else s.name  # type: ignore[attr-defined]


class GridError(ScenarioError):
    """A sweep grid is empty, too large or has a bad value; names the option as the user spelled it."""


def is_sequence_option(name: str) -> bool:
    """Whether one value of this option is itself a list (its grid values are separated by ``/`` on the CLI)."""
    return list_separator(name) == SEQUENCE_SEPARATOR


def list_separator(name: str) -> str:
    """What separates the values of ``name`` in a list on the command line: ``/`` between sequences (stage years,
    candidate kinds), ``;`` between tables (``ev_share_by_year``), else ``,``."""
    s = setting(name)
    if isinstance(s, Assumption):
        return {"table": TABLE_SEPARATOR, "list": SEQUENCE_SEPARATOR}.get(s.type.kind, ",")
    return SEQUENCE_SEPARATOR if s is not None and s.kind in ("years", "kinds") else ","


def grid_from_text(texts: Mapping[str, str], spelling: Spelling = "cli") -> Grid:
    """The grid of command-line texts: ``{"budget_cny": "60e6,80e6"}`` -> ``{"budget_cny": [6e7, 8e7]}``;
    assumptions by path: ``{"demand.ev_stop_share": "0.1,0.2"}``."""
    grid: dict[str, list[object]] = {}
    for name, text in texts.items():
        opt = setting(name)
        if opt is None:
            raise GridError(f"unknown scenario option {name!r}", option=name)
        parts = text.split(list_separator(name))
        if not any(p.strip() for p in parts):
            raise GridError(f"{opt.label(spelling)}: at least one value is required", option=opt.label(spelling))
        grid[name] = [opt.from_text(p, spelling) for p in parts if p.strip()]
    return check_grid(grid, spelling)


def check_grid(grid: Mapping[str, Sequence[object]], spelling: Spelling = "python") -> Grid:
    """Every value of every list checked against its option or assumption; repeats dropped, order kept, in the
    order of ``settings()``."""
    unknown = [k for k in grid if setting(k) is None]
    if unknown:
        label = unknown[0] if spelling == "python" else "--" + unknown[0].replace("_", "-")
        raise GridError(f"unknown scenario option {label!r}; expected one of "
                        f"{[s.label(spelling) for s in settings()]}", option=label)
    out: Grid = {}
    for opt in settings():
        if _name(opt) not in grid:
            continue
        values = grid[_name(opt)]
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise GridError(f"{opt.label(spelling)}: expected a list of values, got {values!r}",
                            option=opt.label(spelling))
        if not values:
            raise GridError(f"{opt.label(spelling)}: at least one value is required", option=opt.label(spelling))
        checked: list[Any] = []
        for value in values:
            v = opt.check(value, spelling)
            if v not in checked:
                checked.append(v)
        out[_name(opt)] = checked
    return out


def grid_size(grid: Mapping[str, Sequence[object]]) -> int:
    """How many points the grid has (the product of its list lengths)."""
    return math.prod(len(v) for v in grid.values())


def axes(grid: Mapping[str, Sequence[object]]) -> list[str]:
    """The swept options and assumptions: those with more than one value, in the order of ``settings()``."""
    return [_name(o) for o in settings() if len(grid.get(_name(o), ())) > 1]


def grid_points(grid: Mapping[str, Sequence[object]], base: Mapping[str, object] | None = None, *,
                max_points: int = MAX_POINTS, spelling: Spelling = "python") -> list[OptionValues]:
    """The grid's points over ``base``: each a full, checked scenario (``options_of`` a ``Scenario``, assumptions
    nested in their sections).

    Raises ``GridError`` when the grid has more than ``max_points`` points, and ``ScenarioError`` naming
    the option when a combination is invalid (e.g. a town-coverage year that is not a stage year).
    """
    checked = check_grid(grid, spelling)
    size = grid_size(checked)
    if size > max_points:
        shape = " x ".join(f"{len(v)} {setting(k).label(spelling)}" for k, v in checked.items()  # type: ignore[union-attr]
                           if len(v) > 1)
        raise GridError(f"the grid has {size} points ({shape}); at most {max_points} are allowed")
    base_values = check_options(dict(base or {}), spelling)
    names = list(checked)
    points: list[OptionValues] = []
    seen: set[str] = set()
    for combo in product(*(checked[n] for n in names)):
        values = merge_values(base_values, dict(zip(names, combo, strict=True)))
        full = options_of(scenario_from_options(values, spelling=spelling))
        identity = canonical_json(full)
        if identity not in seen:  # e.g. two town-coverage years that both mean "none" here
            seen.add(identity)
            points.append(full)
    return points


def jsonable(values: Mapping[str, object]) -> dict[str, Any]:
    """Option values as JSON-ready objects (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def canonical_json(value: object) -> str:
    """One spelling of a JSON-ready value: sorted keys, floats as Python writes them."""
    return json.dumps(jsonable(value) if isinstance(value, Mapping) else value, sort_keys=True, default=list)


def file_stamps(path: Path | str | None) -> list[list[Any]]:
    """What a point's identity records of an input file or directory: name, size and mtime of each file."""
    if path is None:
        return []
    p = Path(path)
    if not p.exists():
        return [[p.name, None, None]]
    files = sorted(p.iterdir()) if p.is_dir() else [p]
    return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files if f.is_file()]


def point_key(scenario: Mapping[str, object], inputs: Mapping[str, object]) -> str:
    """A point's stable key: a hash of its normalised scenario and the identity of its inputs."""
    payload = {"scenario": jsonable(scenario), "inputs": inputs}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
