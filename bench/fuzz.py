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

#: schemathesis.toml for the run. One rule the schema cannot state: the *content* of an uploaded file (a
#: vehicle table in CSV, CSV.GZ or Parquet whose rows pass their checks). Any bytes are a schema-valid
#: ``format: binary`` file, so a PNG refused with the documented 400 (naming the file and what was
#: expected) is accepted as an answer to positive data there; every other check applies unchanged.
CONFIG = """\
[[operations]]
include-method = "POST"
include-path = "/api/v1/fleet/records"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
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
            config = Path(tmp) / "schemathesis.toml"
            config.write_text(CONFIG, encoding="utf-8")
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
