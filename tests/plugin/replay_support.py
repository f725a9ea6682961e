"""Shared by the replay tests: the fixture workflows and their recorded histories."""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "histories_fixture"
HISTORIES = FIXTURE_DIR / "histories"

# The fixture module must be importable here and in the helper interpreter of the replay
# check, which gets this process's sys.path.
if str(FIXTURE_DIR) not in sys.path:
    sys.path.insert(0, str(FIXTURE_DIR))
