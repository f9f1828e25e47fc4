"""Progress reporting for long steps, shared by the CLI (stderr) and the service (run progress)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

#: A progress callback: fraction done in [0, 1] and a short message.
ProgressCallback = Callable[[float, str], None]


def silent(fraction: float, message: str) -> None:
    """A progress callback that reports nothing."""


@dataclass
class StepTimer:
    """Times named steps and reports each as ``[i/n] label … s`` through a callback."""

    total: int
    callback: ProgressCallback = silent
    timings_s: dict[str, float] = field(default_factory=dict)
    _done: int = 0

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Run one step, report its start and end, and keep its wall time."""
        self.callback(self._done / max(self.total, 1), f"[{self._done + 1}/{self.total}] {label} …")
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings_s[label] = elapsed
        self._done += 1
        self.callback(self._done / max(self.total, 1), f"[{self._done}/{self.total}] {label}: {elapsed:.2f} s")


def stderr_progress(stream: TextIO | None = None) -> ProgressCallback:
    """A callback that prints each progress message to stderr (the CLI's progress)."""
    out = stream or sys.stderr

    def report(fraction: float, message: str) -> None:
        print(message, file=out, flush=True)

    return report


def nested(callback: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """A callback for the sub-steps of one step: fractions mapped into [start, end], messages indented."""

    def report(fraction: float, message: str) -> None:
        callback(start + (end - start) * fraction, f"  {message}")

    return report
