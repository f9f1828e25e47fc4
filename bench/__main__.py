"""``python -m bench``: run the benchmark cases, print a table and write the figures as JSON.

Each case runs in a fresh interpreter (clean memory figures, cold imports), one after the other, so
that cases do not compete for the machine's cores. Timings are medians of ``--repeats`` runs and
every comparison is measured side by side in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from bench import CASES
from bench._measure import machine_info, run_json_subprocess, write_json

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench``."""
    p = argparse.ArgumentParser(
        prog="python -m bench", description="Run the evplan benchmarks, print a table and write the figures as JSON."
    )
    p.add_argument("--quick", action="store_true",
                   help="small instances and one run each: checks that every case works (figures not comparable)")
    p.add_argument("--only", default=None, metavar="CASES",
                   help=f"comma-separated cases to run (default: all of {','.join(CASES)})")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help=f"JSON file to write (default: {DEFAULT_OUT.name} beside this package for a full run; "
                        "partial and quick runs write only when given --out)")
    p.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="runs per timing, of which the median is reported (default 3, or 1 with --quick)")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the sweep case on this Dask scheduler (e.g. tcp://10.0.0.5:8786) "
                        "instead of a LocalCluster")
    p.add_argument("--no-profile", action="store_true", help="do not profile the slow part of a missed goal")
    p.add_argument("--case-timeout-s", type=float, default=1200.0, metavar="S",
                   help="stop a case that runs longer than this (default 1200)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases; the exit code is 1 if any case failed to run (a missed goal is not a failure)."""
    args = build_parser().parse_args(argv)
    names = list(CASES) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown or not names:
        print(f"python -m bench: error: unknown case(s) {unknown}; expected some of {list(CASES)}", file=sys.stderr)
        return 2
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        print("python -m bench: error: --repeats must be at least 1", file=sys.stderr)
        return 2
    options = {
        "quick": args.quick,
        "repeats": repeats,
        "dask_scheduler": args.dask_scheduler,
        "profile": not (args.no_profile or args.quick),
    }
    started = dt.datetime.now(dt.UTC)
    doc: dict[str, Any] = {
        "schema": 1,
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started_at": started.isoformat(timespec="seconds"),
        "options": options,
        "machine": machine_info(),
        "cases": {},
    }
    failed = False
    for name in names:
        print(f"bench: running {name} …", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            result = run_json_subprocess(
                "bench._case", {"case": name, "options": options}, timeout_s=args.case_timeout_s
            )
        except Exception as exc:  # noqa: BLE001 - one failed case must not lose the others' figures
            failed = True
            result = {"case": name, "error": f"{type(exc).__name__}: {exc}"}
            print(f"bench: {name} failed: {result['error']}", file=sys.stderr, flush=True)
        print(f"bench: {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        doc["cases"][name] = result
    doc["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    doc["goals"] = [g for r in doc["cases"].values() for g in r.get("goals", [])]
    print(format_table(doc))
    out = args.out if args.out is not None else (DEFAULT_OUT if args.only is None and not args.quick else None)
    if out is not None:
        write_json(doc, out)
        print(f"\nwrote {out}")
    else:
        print("\n(partial or quick run: figures not written; pass --out PATH to keep them)")
    return 1 if failed else 0


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 0.1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def format_table(doc: dict[str, Any]) -> str:
    """The results as plain-text tables: one row per figure, then the goals."""
    m = doc["machine"]
    lines = [
        f"evplan benchmarks — {m['cpu_count']} × {m['cpu_model']}, {m['memory_gb']} GB, Python {m['python']}, "
        f"load {m['load_average_1_5_15']} at start; repeats {doc['options']['repeats']}"
        + (" (quick)" if doc["options"]["quick"] else ""),
        "",
    ]
    rows = [("case", "measure", "value", "unit", "note")]
    for name, result in doc["cases"].items():
        if "error" in result:
            rows.append((name, "ERROR", "", "", result["error"].splitlines()[0][:100]))
            continue
        for r in result.get("rows", []):
            rows.append((name, r["measure"], _fmt(r["value"]), r.get("unit", ""), r.get("note", "")))
    lines += _columns(rows)
    goals = doc.get("goals", [])
    if goals:
        lines += ["", *_columns([("goal", "target", "measured", "met", "by")]
                               + [(g["goal"], g["target"], _fmt(g["measured"]), _fmt(g["met"]), g.get("by", ""))
                                  for g in goals])]
    return "\n".join(lines)


def _columns(rows: list[tuple[Any, ...]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [str(c).rjust(w) if i == 2 else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


if __name__ == "__main__":
    sys.exit(main())
