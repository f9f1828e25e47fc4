"""``make fuzz`` (``python -m bench.fuzz``): schemathesis, every check, against a real ``evplan serve`` on loopback.

Starts ``evplan serve`` on a free port of 127.0.0.1 with its own temporary data directory (removed
afterwards), then runs the schemathesis command line on its ``/openapi.json`` with ``--checks all`` for
``--max-time`` seconds (default 90) and a write key, so writes are exercised too. Siting runs and sweeps
the fuzzer submits are stopped after a few seconds (EVPLAN_RUN_TIME_LIMIT_S, EVPLAN_SWEEP_TIME_LIMIT_S),
so fuzzing never computes plans for long. Exit status: schemathesis's own (0 when no check failed).
Not part of ``make test``; ``tests/test_api_fuzz.py`` runs a shorter, in-process version there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.soak import HOST, ROOT, free_port, stop, wait_ready

KEY = "fuzz-key"

#: schemathesis.toml for the run (``{hooks}``: the file of HOOKS). Rules the schema cannot state:
#:
#: * the *content* of an uploaded file (a vehicle table in CSV, CSV.GZ or Parquet whose rows pass their
#:   checks). Any bytes are a schema-valid ``format: binary`` file, so a PNG refused with the documented 400
#:   (naming the file and what was expected) is accepted as an answer to positive data there;
#: * rules *between* values of a scenario or a sweep grid, which JSON Schema has no words for: stage years
#:   that increase, a town-coverage year that is one of them, class shares that sum to 1, a reserve charge
#:   below the charge levels, places named alike in the gateway tables, a grid of at most
#:   EVPLAN_MAX_SWEEP_POINTS points, a bbox whose west is below its east and its south below its north.
#:   Their 422 is accepted for positive data (on those operations, BETWEEN_VALUES_OPERATIONS) only when every
#:   message in it is one of these rules (the check of HOOKS): any other refusal of schema-valid data fails.
#:
#: Every other check applies unchanged.
CONFIG = """\
hooks = "{hooks}"

[[operations]]
include-name = "POST /api/v1/fleet/records"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
include-name = "POST /api/v1/siting/runs"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "POST /api/v1/siting/sweeps"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "GET /api/v1/network/roads"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""

#: The operations whose 422 may answer schema-valid data (for a rule of BETWEEN_VALUES).
BETWEEN_VALUES_OPERATIONS = [("POST", "/api/v1/siting/runs"), ("POST", "/api/v1/siting/sweeps"),
                             ("GET", "/api/v1/network/roads")]

#: Messages of the rules between values (see CONFIG), as the service words them.
BETWEEN_VALUES = [r"stage years must increase", r"must be one of the stage years", r"must sum to 1",
                  r"summing to 1", r"reserve_charge_share \([^)]*\): must be below", r"is not a place of gateway_toward",
                  r"the grid has \d+ points", r"at most \d+ are allowed \(EVPLAN_MAX_SWEEP_POINTS\)",
                  r"expected west < east and south < north within WGS84 bounds"]

#: A schemathesis check (loaded by CONFIG's ``hooks``): schema-valid data refused with 422 only for BETWEEN_VALUES.
HOOKS = """\
import json
import re

import schemathesis

RULES = [re.compile(r) for r in {rules!r}]
OPERATIONS = {{tuple(op) for op in {operations!r}}}


@schemathesis.check
def refused_only_for_rules_between_values(ctx, response, case):
    \"\"\"Positive data answered 422 must break only rules between values, which JSON Schema cannot state.\"\"\"
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if (case.method.upper(), case.operation.path) not in OPERATIONS:
        return None  # positive_data_acceptance judges it
    body = json.loads(response.content or b"{{}}")
    messages = [e.get("message", "") for e in body.get("errors") or []] or [body.get("detail", "")]
    parts = [part for m in messages for part in m.split("; ")]
    unstated = [p for p in parts if not any(r.search(p) for r in RULES)]
    if unstated:
        raise AssertionError("schema-valid data refused for a rule the schema could state: " + " | ".join(unstated))
    return True
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--max-time", type=float, default=90.0, help="seconds of fuzzing (default 90)")
    p.add_argument("--report-dir", type=Path, default=None,
                   help="also write schemathesis's JUnit and NDJSON reports to this directory")
    args, extra = p.parse_known_args(argv)
    if not 0 < args.max_time <= 3600:
        p.error("--max-time must be in (0, 3600] seconds")
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        raise SystemExit("fuzz: the schemathesis command line (st) is not installed: pip install -e '.[dev]'")
    with tempfile.TemporaryDirectory(prefix="evplan-fuzz-") as tmp:
        data_dir, log_path = Path(tmp) / "data", Path(tmp) / "server.log"
        port = free_port()
        base = f"http://{HOST}:{port}"
        env = {**os.environ, "EVPLAN_DATA_DIR": str(data_dir), "EVPLAN_API_KEYS": KEY, "EVPLAN_REPORT_CRON": "",
               "EVPLAN_MAX_CONCURRENT_RUNS": "1", "EVPLAN_RUN_TIME_LIMIT_S": "2", "EVPLAN_SWEEP_TIME_LIMIT_S": "5",
               "EVPLAN_MAX_UPLOAD_MB": "1", "PYTHONUNBUFFERED": "1"}
        with log_path.open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--host", HOST, "--port", str(port)],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            print(f"fuzz: server ready on {base} after {wait_ready(base, proc, log_path):.1f} s", flush=True)
            config, hooks = Path(tmp) / "schemathesis.toml", Path(tmp) / "fuzz_hooks.py"
            hooks.write_text(HOOKS.format(rules=BETWEEN_VALUES, operations=BETWEEN_VALUES_OPERATIONS), encoding="utf-8")
            config.write_text(CONFIG.format(hooks=hooks), encoding="utf-8")
            # --max-response-time: the service's own request timeout (EVPLAN_REQUEST_TIMEOUT_S, 60 s).
            command = [st, "--config-file", str(config), "run", f"{base}/openapi.json", "--checks", "all",
                       "--max-time", f"{args.max_time:g}", "--max-response-time", "60",
                       "--header", f"X-API-Key: {KEY}", "--request-timeout", "60", "--generation-deterministic",
                       "--no-color"]
            if args.report_dir:
                command += ["--report", "junit,ndjson", "--report-dir", str(args.report_dir)]
            command += extra
            print("fuzz: " + " ".join(command).replace(KEY, "<key>"), flush=True)
            code = subprocess.run(command, cwd=tmp, check=False).returncode
        finally:
            stop(proc)
        server_500s = log_path.read_text(errors="replace").count(" 500 Internal Server Error")
    print(f"fuzz: schemathesis exited {code}; the server logged {server_500s} answers of 500")
    return code or (1 if server_500s else 0)


if __name__ == "__main__":
    sys.exit(main())
