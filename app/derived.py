"""Figures derived from the fleet records (targets, indicators), computed once per records version.

The records in use are replaced as a whole when an upload is ingested, so the object itself is the
version: a cache entry lives until the records object changes. Readers under load then share one
computation instead of each repeating seconds of work.

A new version is *prepared* before the service switches to it: the figures most recently asked for
are computed for the new records while readers are still answered from the old ones (which are still
the records in use), so no reader waits for a hot figure after an upload. Only a figure nobody asked
for before is computed on first demand, once, with concurrent askers waiting for that one computation.
A figure the records cannot give (an ``EvplanError``, e.g. a county they do not hold) is kept as that
error, so asking again costs nothing either.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from planner.errors import EvplanError

T = TypeVar("T")
log = logging.getLogger("evplan.derived")

#: A figure: how to compute it from one version of the records.
Compute = Callable[[Any], Any]


class DerivedFigures:
    """Values computed from one version of the records, each once; concurrent askers wait for the first."""

    #: Figures computed for a new version before it is put in use: the most recently asked ones.
    PREPARED_KEYS = 8
    #: Recipes remembered (most recent last), of which the newest ``PREPARED_KEYS`` are prepared.
    REMEMBERED_KEYS = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: object | None = None
        self._values: dict[Hashable, object] = {}
        self._computing: dict[Hashable, threading.Lock] = {}
        self._recipes: OrderedDict[Hashable, Compute] = OrderedDict()
        self._prepared: tuple[object, dict[Hashable, object]] | None = None

    def _switch(self, records: object) -> None:
        """Make ``records`` the current version (under ``_lock``): its prepared values, or none."""
        prepared = self._prepared
        values = dict(prepared[1]) if prepared is not None and prepared[0] is records else {}
        self._records, self._values, self._computing = records, values, {}
        if prepared is not None and prepared[0] is records:
            self._prepared = None

    def get(self, records: object, key: Hashable, compute: Callable[[Any], T]) -> T:
        """``compute(records)`` for ``key``, or the value already computed (or prepared) for this version."""
        with self._lock:
            self._recipes[key] = compute
            self._recipes.move_to_end(key)
            while len(self._recipes) > self.REMEMBERED_KEYS:
                self._recipes.popitem(last=False)
            if records is not self._records:  # new records: every derived figure is stale
                self._switch(records)
            if key in self._values:
                return _unwrap(self._values[key])
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if records is self._records and key in self._values:
                    return _unwrap(self._values[key])
            value = _outcome(compute, records)
            with self._lock:
                if records is self._records:
                    self._values[key] = value
            return _unwrap(value)

    def recipes_to_prepare(self) -> list[tuple[Hashable, Compute]]:
        """The figures a new version gets before it is put in use: the most recently asked, newest first."""
        with self._lock:
            return list(reversed(list(self._recipes.items())[-self.PREPARED_KEYS:]))

    def prepare(self, records: object) -> int:
        """Compute the most recently asked figures for ``records``, the version about to be put in use.

        They are kept aside until the first ``get`` with ``records``; returns how many were computed. A
        figure whose computation fails is left out: its first reader meets the error itself.
        """
        return self.adopt(records, compute_each(records, self.recipes_to_prepare()))

    def adopt(self, records: object, values: dict[Hashable, object]) -> int:
        """Keep ``values`` (computed elsewhere, e.g. by ``compute_each`` in a child process) as the prepared
        figures of ``records``; returns how many."""
        with self._lock:
            self._prepared = (records, dict(values))
        return len(values)


def compute_each(records: object, recipes: list[tuple[Hashable, Compute]]) -> dict[Hashable, object]:
    """Each recipe's figure of ``records``, by key; a figure that fails is left out (computed, and reported,
    when it is asked for)."""
    values: dict[Hashable, object] = {}
    for key, compute in recipes:
        try:
            values[key] = compute(records)
        except Exception as exc:  # noqa: BLE001
            log.info("derived figure %r not prepared: %s", key, exc)
    return values


class _Failed:
    """A figure's computation that raised an ``EvplanError``: the same records give the same error."""

    def __init__(self, error: EvplanError) -> None:
        self.error = error


def _outcome(compute: Compute, records: object) -> object:
    try:
        return compute(records)
    except EvplanError as exc:
        return _Failed(exc)


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Failed):
        raise value.error.with_traceback(None)  # not a traceback that grows with each reader
    return value


def json_bytes(value: Any) -> bytes:
    """``value`` as the JSON bytes the service sends (as FastAPI's JSONResponse writes them)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _indicators(records: Any, *, year: int, county: str | None) -> dict[str, Any]:
    from planner import fleet as planner_fleet

    return planner_fleet.indicators(records.vehicles, records.activity, year=year, county=county).to_dict()


def _targets_json(records: Any, *, year: int | None, target_set: Any) -> bytes:
    from planner import fleet as planner_fleet

    return json_bytes([a.to_dict() for a in planner_fleet.assess_targets(records, year=year, targets=target_set)])


def _record_years(records: Any) -> tuple[int, int] | None:
    from planner.fleet.stock import record_years

    years = record_years(records)
    return (years[0], years[-1]) if years else None


# Recipes are module functions with their arguments bound (picklable), so that a new version's figures can
# be computed in a child process beside its records (``app.fleet_records.reload_records``).

def indicators_figure(year: int, county: str | None) -> tuple[Hashable, Compute]:
    """The key and recipe of ``GET /fleet/indicators?year=&county=`` (a JSON-ready dict)."""
    return ("indicators", year, county), partial(_indicators, year=year, county=county)


def targets_figure(fleet_dir: Path, year: int | None) -> tuple[Hashable, Compute]:
    """The key and recipe of ``GET /fleet/targets?year=``: the answer's JSON bytes, encoded once per version
    rather than on every call. An edited targets file is a new key."""
    from planner import config
    from planner import fleet as planner_fleet

    target_set = planner_fleet.targets_for(fleet_dir, default=config.TARGETS_FILE)
    stamp = Path(target_set.path).stat().st_mtime_ns
    return ("targets", year, str(target_set.path), stamp), partial(_targets_json, year=year, target_set=target_set)


def record_years_figure() -> tuple[Hashable, Compute]:
    """The key and recipe of the first and last year the records span (None when they span none)."""
    return ("record_years",), _record_years


def _counties(records: Any) -> frozenset[str]:
    return frozenset(str(c) for c in records.vehicles["county_code"].dropna().unique())


def counties_figure() -> tuple[Hashable, Compute]:
    """The key and recipe of the county codes that have vehicles in the records."""
    return ("counties",), _counties
