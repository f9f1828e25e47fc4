"""Fleet targets: CPU time of ``assess_targets`` and ``write_report`` on a 400k-vehicle record set.

The record set is the shipped records (``data/fleet/``) with 400,000 of their vehicles drawn at random
(seeded), so its figures differ from the shipped ones. Each timing starts with an empty hindcast cache
(as after a new records version); ``write_report`` is also timed with the cache filled by the
assessment before it, as the service runs it.

    .venv/bin/python -m bench.fleet                 # prints a table, writes bench/fleet.json
    .venv/bin/python -m bench.fleet --out PATH --vehicles 100000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from planner.fleet import assess_targets, hindcast, load_records, write_report
from planner.fleet.targets import targets_for

ROOT = Path(__file__).resolve().parent.parent
FLEET_DIR = ROOT / "data" / "fleet"
SEED = 400


def sampled_records(n_vehicles: int, *, seed: int = SEED):
    """The shipped records with ``n_vehicles`` of their vehicles drawn without replacement (all if fewer)."""
    records = load_records(FLEET_DIR)
    v = records.vehicles
    if n_vehicles >= len(v):
        return records
    rows = np.sort(np.random.default_rng(seed).choice(len(v), n_vehicles, replace=False))
    return dataclasses.replace(records, vehicles=v.iloc[rows].reset_index(drop=True))


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=400_000, help="vehicles in the record set")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "fleet.json", help="JSON output")
    args = parser.parse_args(argv)
    records = sampled_records(args.vehicles)
    targets = targets_for(FLEET_DIR)
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hindcast._CACHE.clear()
        rows.append(("assess_targets (new records version)",
                     *_timed(lambda: assess_targets(records, targets=targets))))
        rows.append(("write_report (hindcast cached)",
                     *_timed(lambda: write_report(records, out_dir=Path(tmp) / "a", targets=targets))))
        hindcast._CACHE.clear()
        rows.append(("write_report (new records version)",
                     *_timed(lambda: write_report(records, out_dir=Path(tmp) / "b", targets=targets))))
    load_after = os.getloadavg()
    print(f"fleet targets on {len(records.vehicles):,} vehicles "
          f"(load average {load_before[0]:.2f} before, {load_after[0]:.2f} after)")
    print(f"{'step':<40} {'cpu s':>8} {'wall s':>8}")
    for name, cpu, wall in rows:
        print(f"{name:<40} {cpu:>8.2f} {wall:>8.2f}")
    result = {"vehicles": len(records.vehicles), "seed": SEED, "cpu_count": os.cpu_count(),
              "load_average_before": load_before, "load_average_after": load_after,
              "timings": [{"step": n, "cpu_s": c, "wall_s": w} for n, c, w in rows]}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
