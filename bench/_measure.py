"""Timing, peak memory, machine facts and profiles shared by the benchmark cases."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Packages whose versions go into the results (what the figures depend on).
PACKAGES = ("numpy", "scipy", "pulp", "highspy", "osmnx", "networkx", "spopt", "dask", "distributed",
            "pandas", "fastapi", "uvicorn", "httpx", "pyinstrument", "psutil")
MB = 1024.0 * 1024.0


def machine_info() -> dict[str, Any]:
    """CPU, memory, OS, Python and package versions, and the load when the run started."""
    import psutil

    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "memory_available_gb": round(psutil.virtual_memory().available / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "load_average_1_5_15": load_average(),
    }


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages (None where the OS has none): other work on the machine skews timings."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


# -------------------------------------------------------------------------------------------- timing


@dataclass
class Timings:
    """Wall times of repeated runs of one thing, in seconds."""

    runs_s: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        """Record one run."""
        self.runs_s.append(seconds)

    @property
    def median_s(self) -> float:
        """Median of the runs (the figure reported)."""
        return statistics.median(self.runs_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the median, the spread and every run."""
        return {
            "median_s": round(self.median_s, 4),
            "min_s": round(min(self.runs_s), 4),
            "max_s": round(max(self.runs_s), 4),
            "runs": len(self.runs_s),
            "runs_s": [round(v, 4) for v in self.runs_s],
        }


def median_of(values: list[float]) -> float:
    """Median of a non-empty list."""
    return statistics.median(values)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` leaves the elapsed wall time in ``t[0]``."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


# -------------------------------------------------------------------------------------------- memory

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakRss:
    """Peak resident memory of this process between ``reset()`` and ``peak_mb()``.

    On Linux the kernel's high-water mark (VmHWM) is reset by writing 5 to /proc/self/clear_refs,
    which costs nothing while the measured code runs. Elsewhere a thread samples RSS every 5 ms
    (psutil), which can miss short spikes.
    """

    def __init__(self) -> None:
        self._kernel = self._kernel_reset_works()
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reset()

    @staticmethod
    def _kernel_reset_works() -> bool:
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            return False
        return _status_kb("VmHWM") is not None

    @property
    def method(self) -> str:
        """How the peak is measured."""
        return "VmHWM (kernel high-water mark)" if self._kernel else "psutil RSS sampled every 5 ms"

    def rss_mb(self) -> float:
        """Current resident memory, MB."""
        kb = _status_kb("VmRSS")
        if kb is not None:
            return kb / 1024.0
        import psutil

        return psutil.Process().memory_info().rss / MB

    def reset(self) -> None:
        """Start a new measurement window."""
        if self._kernel:
            _CLEAR_REFS.write_text("5")
            return
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._peak = int(self.rss_mb() * MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        proc = psutil.Process()
        while not self._stop.wait(0.005):
            self._peak = max(self._peak, proc.memory_info().rss)

    def peak_mb(self) -> float:
        """Peak resident memory since the last reset, MB (includes what was resident before)."""
        if self._kernel:
            return (_status_kb("VmHWM") or 0) / 1024.0
        return max(self._peak, int(self.rss_mb() * MB)) / MB


@dataclass
class Stage:
    """One measured stage: wall time and peak resident memory."""

    name: str
    seconds: float
    peak_rss_mb: float
    rss_before_mb: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "stage": self.name,
            "seconds": round(self.seconds, 4),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "rss_before_mb": round(self.rss_before_mb, 1),
        }


class StageMeter:
    """Measures a sequence of stages in one process: ``with meter.stage("solve"): ...``."""

    def __init__(self) -> None:
        self.rss = PeakRss()
        self.stages: list[Stage] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage and keep its peak memory."""
        before = self.rss.rss_mb()
        self.rss.reset()
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.stages.append(Stage(name, seconds, self.rss.peak_mb(), before))

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-ready stages in the order measured."""
        return [s.to_dict() for s in self.stages]


# ----------------------------------------------------------------------------------------- processes


def run_json_subprocess(
    module: str, payload: dict[str, Any], *, env: dict[str, str] | None = None, timeout_s: float = 900.0
) -> dict[str, Any]:
    """Run ``python -m <module> <payload json> <out file>`` and return the JSON it writes.

    A fresh interpreter gives cold caches, clean memory figures and the import cost a user meets.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="evplan-bench-") as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run(
            [sys.executable, "-m", module, json.dumps(payload), str(out)],
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
            raise RuntimeError(f"python -m {module} failed with exit code {proc.returncode}:\n{tail}")
        return json.loads(out.read_text())


def write_json(obj: Any, path: Path) -> None:
    """Write JSON atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


# ------------------------------------------------------------------------------------------ profiles


def profile_text(fn: Callable[[], Any], *, max_lines: int = 60) -> str:
    """A pyinstrument call tree of ``fn()`` (library frames collapsed), trimmed to ``max_lines``.

    The banner is replaced by one line of totals, and no absolute path is kept (the text is committed).
    """
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.005)
    profiler.start()
    try:
        fn()
    finally:
        profiler.stop()
    return clean_profile(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False),
                         max_lines=max_lines)


def clean_profile(text: str, *, max_lines: int = 60) -> str:
    """pyinstrument text without its banner and machine paths, with its duration and CPU time on one line."""
    duration = re.search(r"Duration:\s*([\d.]+)", text)
    cpu = re.search(r"CPU time:\s*([\d.]+)", text)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if re.match(r"^\d", line)), 0)
    head = f"pyinstrument: {duration.group(1) if duration else '?'} s wall, {cpu.group(1) if cpu else '?'} s CPU"
    roots = sorted({str(Path.cwd()), sys.prefix, str(Path(__file__).resolve().parents[1])}, key=len, reverse=True)
    body = "\n".join(lines[start : start + max_lines])
    for root in roots:
        body = body.replace(root.rstrip("/") + "/", "")
    return head + "\n" + body


# --------------------------------------------------------------------------------------------- goals


def goal(
    name: str, target: str, measured: float | None, unit: str, met: bool, *, off_by: float | None
) -> dict[str, Any]:
    """A goal of issue 7 and the measurement against it.

    ``off_by`` is how many times the measurement is away from the target in the bad direction
    (e.g. 1.3 for 13 s against a 10 s goal, or 1.6 for a 3.1× speed-up against 5×).
    """
    by = "" if met or off_by is None else f"missed by {off_by:.2f}x"
    return {"goal": name, "target": target, "measured": measured, "unit": unit, "met": bool(met), "by": by}
