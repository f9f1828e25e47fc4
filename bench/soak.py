"""``make soak`` (``python -m bench.soak``): mixed load on a real ``evplan serve``, bounded, loopback only.

Starts ``evplan serve`` on a free port of 127.0.0.1 with its own temporary data directory (removed
afterwards), optionally seeds a register of ``--vehicles`` vehicles, then runs ``--clients``
concurrent clients for ``--duration`` seconds. ``--writers`` of them pick at random (seeded) among
fleet uploads (each a new file of unique vehicles), siting-run submissions and cancellations, and
on-demand reports; the others go round the reads (maps, runs, reports, indicators, targets, health),
each starting at its own place, so that every read endpoint gets as many samples as the others (a
write takes seconds, and clients that mixed both would leave the reads a few dozen samples). Then it
stops the server, counts the vehicles in its database and prints:

* errors: answers with status >= 500 and transport failures (each listed, up to 20);
* samples, p50 / p99 / max latency and status counts per endpoint (a p99 from fewer than
  ``MIN_P99_SAMPLES`` samples is not printed: it would be one of the last few calls);
* rows lost: vehicles in uploads the server acknowledged (200) that are not in its database.

Exit status 0 when there were no errors and no rows were lost, 1 otherwise. Nothing is asserted about
speed. Not part of ``make test``; the whole run is bounded by ``--duration`` plus the start-up and a
fixed drain time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"  # loopback only: the soak never listens on or calls another address
KEY = "soak-key"
ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code",
           "is_operating", "depot_id"]
CLASSES = ["bus", "taxi", "passenger_car", "truck"]
POWERTRAINS = ["BEV", "PHEV", "petrol", "diesel"]
READS = [
    ("GET /api/v1/fleet/indicators", "/api/v1/fleet/indicators?year=2024"),
    ("GET /api/v1/fleet/targets", "/api/v1/fleet/targets"),
    ("GET /api/v1/siting/runs", "/api/v1/siting/runs"),
    ("GET /api/v1/reports", "/api/v1/reports"),
    ("GET /api/v1/network/service-areas", "/api/v1/network/service-areas"),
    ("GET /api/v1/network/roads", "/api/v1/network/roads?class=motorway"),
    ("GET /ready", "/ready"),
    ("GET /health", "/health"),
]
#: Fewest samples for which a p99 is printed.
MIN_P99_SAMPLES = 100
DRAIN_S = 300  # after the deadline: at most this long for answers still in flight (an upload waits for
# its records, and their most asked figures, to be in use: tens of seconds on a 400k store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def vehicles_csv(prefix: str, n: int, rng: random.Random) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(n):
        writer.writerow([f"{prefix}{i:07d}", rng.choice(CLASSES), rng.choice(POWERTRAINS),
                         f"20{rng.randint(15, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "",
                         rng.choice(["441502", "441521", "441523", "441581"]), "true", ""])
    return buf.getvalue().encode()


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)
    acknowledged_rows: int = 0
    refused_uploads: int = 0
    run_ids: set[str] = field(default_factory=set)

    def note(self, endpoint: str, started: float, r: httpx.Response | None, failure: str | None = None) -> None:
        self.latencies[endpoint].append(time.perf_counter() - started)
        if r is None:
            self.statuses[endpoint]["transport"] += 1
            self.errors.append(f"{endpoint}: {failure}")
            return
        self.statuses[endpoint][r.status_code] += 1
        if r.status_code >= 500:
            self.errors.append(f"{endpoint}: {r.status_code} {r.text[:200]}")


async def _call(client: httpx.AsyncClient, endpoint: str, tally: Tally, request: Any) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        r = await request
    except httpx.HTTPError as exc:
        tally.note(endpoint, started, None, f"{type(exc).__name__}: {exc}")
        return None
    except asyncio.CancelledError:  # still waiting at the end of the drain time: counted, not lost
        tally.note(endpoint, started, None, f"no answer {DRAIN_S} s after the end of the load")
        raise
    tally.note(endpoint, started, r)
    return r


async def reader_loop(i: int, base: str, deadline: float, tally: Tally) -> None:
    """Round the read endpoints, starting at the ``i``-th: each gets an equal share of the calls."""
    n = i
    async with httpx.AsyncClient(base_url=base, timeout=DRAIN_S) as client:
        while time.monotonic() < deadline:
            endpoint, path = READS[n % len(READS)]
            n += 1
            await _call(client, endpoint, tally, client.get(path))


async def writer_loop(i: int, base: str, deadline: float, tally: Tally, seed: int, rows_per_upload: int) -> None:
    """Uploads (half the writes), siting runs and their cancellations, and on-demand reports, at random."""
    rng = random.Random(seed * 1000 + i)
    write = {"X-API-Key": KEY}
    uploads = 0
    async with httpx.AsyncClient(base_url=base, timeout=DRAIN_S) as client:
        while time.monotonic() < deadline:
            roll = rng.random()
            if roll < 0.5:
                uploads += 1
                body = vehicles_csv(f"SK{i:02d}{uploads:04d}-", rows_per_upload, rng)
                r = await _call(client, "POST /api/v1/fleet/records", tally, client.post(
                    "/api/v1/fleet/records", headers=write,
                    files={"file": (f"soak-{i}-{uploads}.csv", body, "text/csv")}))
                if r is not None and r.status_code == 200:
                    tally.acknowledged_rows += r.json()["added"]
                elif r is not None:
                    tally.refused_uploads += 1
            elif roll < 0.7:
                scenario = {"stage_years": [2025, 2030], "range_margin_km": rng.choice([44, 46, 48])}
                r = await _call(client, "POST /api/v1/siting/runs", tally,
                                client.post("/api/v1/siting/runs", headers=write, json=scenario))
                if r is not None and r.status_code in (200, 202):
                    tally.run_ids.add(r.json()["id"])
            elif roll < 0.85 and tally.run_ids:
                run_id = rng.choice(sorted(tally.run_ids))
                await _call(client, "DELETE /api/v1/siting/runs/{id}", tally,
                            client.delete(f"/api/v1/siting/runs/{run_id}", headers=write))
            else:
                await _call(client, "POST /api/v1/reports", tally, client.post("/api/v1/reports", headers=write))


def start(data_dir: Path, log_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EVPLAN_DATA_DIR": str(data_dir), "EVPLAN_API_KEYS": KEY, "EVPLAN_REPORT_CRON": "",
           "EVPLAN_MAX_CONCURRENT_RUNS": "1", "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "cli", "serve", "--host", HOST, "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise SystemExit(f"soak: the server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/ready", timeout=5).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"soak: the server was not ready after {timeout_s:g} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def stored_soak_rows(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM vehicles WHERE vehicle_id LIKE 'SK%'").fetchone()[0]
    finally:
        con.close()


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(tally: Tally, stored: int, wall_s: float, args: argparse.Namespace) -> dict[str, Any]:
    endpoints = {}
    for endpoint in sorted(tally.latencies):
        lat = tally.latencies[endpoint]
        p99 = round(1000 * percentile(lat, 99), 1) if len(lat) >= MIN_P99_SAMPLES else None
        endpoints[endpoint] = {"n": len(lat), "p50_ms": round(1000 * percentile(lat, 50), 1),
                               "p99_ms": p99, "max_ms": round(1000 * max(lat), 1),
                               "statuses": {str(k): v for k, v in sorted(tally.statuses[endpoint].items(), key=str)}}
    return {"clients": args.clients, "writers": args.writers, "duration_s": args.duration, "wall_s": round(wall_s, 1),
            "seeded_vehicles": args.vehicles, "requests": sum(e["n"] for e in endpoints.values()),
            "errors": len(tally.errors), "rows_acknowledged": tally.acknowledged_rows, "rows_stored": stored,
            "rows_lost": max(0, tally.acknowledged_rows - stored), "uploads_refused": tally.refused_uploads,
            "endpoints": endpoints, "first_errors": tally.errors[:20]}


def print_report(figures: dict[str, Any]) -> None:
    print(f"\nsoak: {figures['clients']} clients ({figures['writers']} writing, the others reading) for "
          f"{figures['duration_s']:g} s on loopback, {figures['requests']} requests "
          f"({figures['seeded_vehicles']} vehicles seeded)")
    print(f"{'endpoint':<36} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  statuses")
    for endpoint, e in figures["endpoints"].items():
        statuses = " ".join(f"{k}:{v}" for k, v in e["statuses"].items())
        p99 = f"{e['p99_ms']:>9.1f}" if e["p99_ms"] is not None else f"{'n<' + str(MIN_P99_SAMPLES):>9}"
        print(f"{endpoint:<36} {e['n']:>6} {e['p50_ms']:>9.1f} {p99} {e['max_ms']:>9.1f}  {statuses}")
    print(f"{figures['cpus']} CPUs; load average (1, 5, 15 min) before {figures['load_average_before']}, "
          f"after {figures['load_average_after']}; "
          f"first targets call after seeding {figures['first_targets_s']} s (before the load)")
    print(f"errors (status >= 500 or no answer): {figures['errors']}")
    for line in figures["first_errors"]:
        print(f"  {line}")
    print(f"rows: {figures['rows_acknowledged']} acknowledged, {figures['rows_stored']} stored, "
          f"{figures['rows_lost']} lost ({figures['uploads_refused']} uploads refused with a 4xx)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=120.0, help="seconds of load (default 120)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients, writers included (default 8)")
    p.add_argument("--writers", type=int, default=2,
                   help="of the clients, how many upload, submit runs and make reports (default 2)")
    p.add_argument("--vehicles", type=int, default=20_000,
                   help="vehicles uploaded before the load starts (default 20000; 400000 for a large store)")
    p.add_argument("--rows-per-upload", type=int, default=500, help="vehicles in each upload during the load")
    p.add_argument("--seed", type=int, default=15, help="random seed of the clients' choices")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    if not (0 < args.duration <= 1800 and 0 < args.clients <= 64 and 0 <= args.writers <= args.clients):
        p.error("--duration must be in (0, 1800] seconds, --clients in 1..64 and --writers in 0..clients")

    with tempfile.TemporaryDirectory(prefix="evplan-soak-") as tmp:
        data_dir, log_path = Path(tmp) / "data", Path(tmp) / "server.log"
        port = free_port()
        base = f"http://{HOST}:{port}"
        proc = start(data_dir, log_path, port)
        try:
            print(f"soak: server ready on {base} after {wait_ready(base, proc, log_path):.1f} s", flush=True)
            # Targets looked at once before the register arrives, as a bureau would: the upload then prepares
            # them for the new records before it answers.
            httpx.get(base + "/api/v1/fleet/targets", timeout=300)
            if args.vehicles:
                register = vehicles_csv("BASE", args.vehicles, random.Random(args.seed))
                r = httpx.post(base + "/api/v1/fleet/records", headers={"X-API-Key": KEY}, timeout=900,
                               files={"file": ("register.csv", register, "text/csv")})
                if r.status_code != 200:
                    raise SystemExit(f"soak: seeding {args.vehicles} vehicles failed: {r.status_code} {r.text[:500]}")
                print(f"soak: seeded {r.json()['added']} vehicles", flush=True)
            # The first read after the seeding upload: its figures were prepared by the upload.
            first = time.perf_counter()
            cold = httpx.get(base + "/api/v1/fleet/targets", timeout=300)
            cold_targets_s = time.perf_counter() - first
            print(f"soak: first GET /api/v1/fleet/targets {cold.status_code} after {cold_targets_s:.1f} s", flush=True)
            load_before = os.getloadavg()
            tally = Tally()
            started = time.monotonic()
            deadline = started + args.duration

            async def load() -> None:
                tasks = [asyncio.create_task(writer_loop(i, base, deadline, tally, args.seed, args.rows_per_upload))
                         for i in range(args.writers)]
                tasks += [asyncio.create_task(reader_loop(i, base, deadline, tally))
                          for i in range(args.clients - args.writers)]
                _, pending = await asyncio.wait(tasks, timeout=args.duration + DRAIN_S)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

            asyncio.run(load())
            wall_s = time.monotonic() - started
            load_after = os.getloadavg()
            for run_id in sorted(tally.run_ids):  # no run left computing
                httpx.delete(f"{base}/api/v1/siting/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=60)
        finally:
            stop(proc)
        stored = stored_soak_rows(data_dir / "evplan.sqlite")
        log = log_path.read_text(errors="replace")
    figures = report(tally, stored, wall_s, args)
    figures["first_targets_s"] = round(cold_targets_s, 2)
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    figures["load_average_after"] = [round(x, 2) for x in load_after]
    figures["cpus"] = os.cpu_count()
    figures["server_log_500s"] = log.count(" 500 Internal Server Error")
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0 if figures["errors"] == 0 and figures["rows_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
