"""The benchmark harness (``python -m bench``): it runs, its JSON has every figure, and the libraries agree.

A smoke test in the harness's quick mode: no timing is asserted (timings depend on the machine),
but the objectives of evplan and PySAL spopt on the same instances must be equal, which checks
both the harness and evplan's generic models against an independent implementation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
    )


@pytest.fixture(scope="module")
def quick_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = _bench("--quick", "--only", "models", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(out.read_text(encoding="utf-8"))


def test_results_record_the_machine_and_package_versions(quick_models) -> None:
    _, doc = quick_models
    machine = doc["machine"]
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] >= 1
    assert machine["memory_gb"] > 0 and machine["python"].count(".") == 2
    for name in ("numpy", "scipy", "pulp", "highspy", "osmnx", "networkx", "spopt", "dask"):
        assert machine["packages"][name], name
    assert doc["options"] == {"quick": True, "repeats": 1, "dask_scheduler": None, "profile": False}
    assert list(doc["cases"]) == ["models"]


def test_evplan_and_spopt_reach_the_same_objective_on_each_model(quick_models) -> None:
    _, doc = quick_models
    comparisons = {c["model"]: c for c in doc["cases"]["models"]["comparisons"].values()}
    assert set(comparisons) == {"set_covering", "max_covering", "p_median"}
    for model, c in comparisons.items():
        ev, sp = c["evplan"], c["spopt"]
        assert ev["status"] == "optimal", model
        assert sp["status"] == "Optimal", model
        assert ev["objective"] == pytest.approx(sp["objective"], rel=1e-4), model
        assert c["objective_equal"] is True, model
        # The ratio the table reports is the one computed from the two medians.
        assert c["evplan_over_spopt_time"] == pytest.approx(ev["total_s"]["median_s"] / sp["total_s"]["median_s"])
        assert ev["total_s"]["runs"] == 1 and sp["total_s"]["runs"] == 1
    # Set covering counts sites: the objective is the number opened, by either library.
    sc = comparisons["set_covering"]
    assert sc["evplan"]["objective"] == sc["evplan"]["open_sites"] == sc["spopt"]["open_sites"]
    # Maximal covering opens exactly p sites here (p is far below what covers everyone).
    p = doc["cases"]["models"]["instances"][comparisons["max_covering"]["instance"]]["p"]
    assert comparisons["max_covering"]["spopt"]["open_sites"] == p


def test_table_and_goals_name_every_comparison(quick_models) -> None:
    proc, doc = quick_models
    goals = doc["goals"]
    comparisons = list(doc["cases"]["models"]["comparisons"].values())
    assert [g["goal"].split(" (")[0] for g in goals] == ["set_covering", "max_covering", "p_median"]
    for g, c in zip(goals, comparisons, strict=True):
        assert set(g) == {"goal", "target", "measured", "unit", "met", "by"}
        assert g["measured"] == pytest.approx(c["speedup"])
        assert g["met"] == (c["speedup"] >= 5 and c["objective_equal"])
        assert (g["by"] == "") == g["met"]
    for model in ("set_covering", "max_covering", "p_median"):
        assert f"{model} (" in proc.stdout
    assert "evplan time / spopt time" in proc.stdout


def test_unknown_case_is_refused_with_the_known_ones() -> None:
    proc = _bench("--only", "nope", timeout_s=60)
    assert proc.returncode == 2
    assert "nope" in proc.stderr and "shanwei" in proc.stderr
