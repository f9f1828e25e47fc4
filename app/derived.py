"""Figures derived from the fleet records (targets, indicators), computed once per records version.

The records in use are replaced as a whole when an upload is ingested, so the object itself is the
version: a cache entry lives until the records object changes. Readers under load then share one
computation instead of each repeating seconds of work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class DerivedFigures:
    """Values computed from one version of the records, each once; concurrent askers wait for the first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: object | None = None
        self._values: dict[Hashable, object] = {}
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, records: object, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` for ``key`` on ``records``, or the value already computed for this version."""
        with self._lock:
            if records is not self._records:  # new records: every derived figure is stale
                self._records, self._values, self._computing = records, {}, {}
            if key in self._values:
                return self._values[key]  # type: ignore[return-value]
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if records is self._records and key in self._values:
                    return self._values[key]  # type: ignore[return-value]
            value = compute()
            with self._lock:
                if records is self._records:
                    self._values[key] = value
            return value
