"""Entry point of one benchmark case in its own interpreter: ``python -m bench._case '<json>' OUT``.

The JSON payload names the case and carries the run options; the case's result is written to OUT.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from bench import CASES
from bench._measure import load_average, write_json


def main(argv: list[str]) -> int:
    """Run the case named in the payload and write its result."""
    payload = json.loads(argv[0])
    out = Path(argv[1])
    module = importlib.import_module(CASES[payload["case"]])
    load_before = load_average()
    start = time.perf_counter()
    result = module.run(payload["options"])
    result.setdefault("case", payload["case"])
    result["seconds"] = round(time.perf_counter() - start, 2)
    result["load_average_before"] = load_before
    result["load_average_after"] = load_average()
    write_json(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
