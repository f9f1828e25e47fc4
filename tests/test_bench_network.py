"""The ``network`` benchmark case in quick mode: it runs, and its two drive-time paths agree.

No timing is asserted; the sparse and the dense drive times must be the same answer, and every
figure the table reports must be in the JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not os.environ.get("EVPLAN_SLOW_TESTS"),
                    reason="generates a region and plans it cold and warm: runs with EVPLAN_SLOW_TESTS=1 (make test-slow)")
def test_quick_network_case(tmp_path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "EVPLAN_BENCH_DATA": str(tmp_path / "regions")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "network", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    case = json.loads(out.read_text(encoding="utf-8"))["cases"]["network"]
    (size,) = case["sizes"].values()
    assert size["raw"]["osm_nodes"] > 10_000 and size["cold"]["graph_nodes"] > 1_000
    assert size["cold"]["graph_nodes"] == size["warm"]["graph_nodes"]
    assert size["warm"]["networkx_edges"] == size["cold"]["graph_edges"]
    reach = size["reach"]
    assert reach["same_answer"] is True and reach["pairs_within"] > 0 and reach["towns"] > 0
    assert size["cold_over_raw_pass"] == size["cold"]["load_s"] / size["raw"]["every_object_s"]
    assert case["province"] is None
    # evplan plan's own path ran cold and warm on the region, and never built the networkx graph.
    (plan,) = case["plan_end_to_end"].values()
    for temp in ("cold", "warm"):
        assert plan[temp]["networkx_built"] is False and plan[temp]["sites"] > 0
        assert plan[temp]["steps"]["load road network"]["seconds"] > 0
    assert plan["cold"]["plan"] == plan["warm"]["plan"]  # the cache changes no answer
    assert "reach_within" in proc.stdout and "raw pyosmium pass" in proc.stdout
    assert list((tmp_path / "regions").glob("*.osm.pbf"))  # the generated region is kept for the next run
