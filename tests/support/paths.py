"""Where the tests read and write: the repository they test, and artifacts kept outside its tree."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The checkout under test; nothing beside it is read (tests/conftest.py enforces this).
ROOT = Path(__file__).resolve().parents[2]

#: Screenshots and measurement files a test keeps for a human to look at, outside the repository tree
#: so that a test run leaves the checkout as it found it. ``EVPLAN_TEST_ARTIFACTS`` overrides.
ARTIFACTS = Path(os.environ.get("EVPLAN_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "evplan-test-artifacts")
