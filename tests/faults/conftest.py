"""Shared by the fault tests that run ``fault_workflows`` in this process."""

from __future__ import annotations

import pytest
from fault_workflows import RUNS


@pytest.fixture(autouse=True)
def _fresh_runs() -> None:
    """Each test counts the runs of the real activities from zero."""
    RUNS.clear()
