"""Figures derived from the fleet records (targets, indicators), computed once per records version.

The records in use are replaced as a whole when an upload is ingested, so the object itself is the
version: a cache entry lives until the records object changes. Readers under load then share one
computation instead of each repeating seconds of work.

A new version is *prepared* before the service switches to it: the figures most recently asked for
are computed for the new records while readers are still answered from the old ones (which are still
the records in use), so no reader waits for a hot figure after an upload. Only a figure nobody asked
for before is computed on first demand, once, with concurrent askers waiting for that one computation.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

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
                return self._values[key]  # type: ignore[return-value]
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if records is self._records and key in self._values:
                    return self._values[key]  # type: ignore[return-value]
            value = compute(records)
            with self._lock:
                if records is self._records:
                    self._values[key] = value
            return value

    def prepare(self, records: object) -> int:
        """Compute the most recently asked figures for ``records``, the version about to be put in use.

        They are kept aside until the first ``get`` with ``records``; returns how many were computed. A
        figure whose computation fails is left out: its first reader meets the error itself.
        """
        with self._lock:
            recipes = list(self._recipes.items())[-self.PREPARED_KEYS:]
        values: dict[Hashable, object] = {}
        for key, compute in reversed(recipes):
            try:
                values[key] = compute(records)
            except Exception as exc:  # noqa: BLE001 - computed again, and reported, when it is asked for
                log.info("derived figure %r not prepared: %s", key, exc)
        with self._lock:
            self._prepared = (records, values)
        return len(values)


def indicators_figure(year: int, county: str | None) -> tuple[Hashable, Compute]:
    """The key and recipe of ``GET /fleet/indicators?year=&county=`` (a JSON-ready dict)."""
    from planner import fleet as planner_fleet

    def compute(records: Any) -> dict[str, Any]:
        return planner_fleet.indicators(records.vehicles, records.activity, year=year, county=county).to_dict()

    return ("indicators", year, county), compute


def targets_figure(fleet_dir: Path, year: int | None) -> tuple[Hashable, Compute]:
    """The key and recipe of ``GET /fleet/targets?year=`` (a JSON-ready list); an edited targets file is a new key."""
    from planner import config
    from planner import fleet as planner_fleet

    target_set = planner_fleet.targets_for(fleet_dir, default=config.TARGETS_FILE)
    stamp = Path(target_set.path).stat().st_mtime_ns

    def compute(records: Any) -> list[dict[str, Any]]:
        return [a.to_dict() for a in planner_fleet.assess_targets(records, year=year, targets=target_set)]

    return ("targets", year, str(target_set.path), stamp), compute
