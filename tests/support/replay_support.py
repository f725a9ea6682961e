"""Shared by the replay tests: where the fixture workflows and their recorded histories are."""

from __future__ import annotations

from pathlib import Path

#: The directory of ``replay_fixture_workflows.py`` (inner pytest runs add it to sys.path).
FIXTURE_DIR = Path(__file__).resolve().parent
#: Histories that ``Pricer`` (release 1 of the fixture) recorded.
HISTORIES = FIXTURE_DIR.parent / "histories_fixture" / "histories"
