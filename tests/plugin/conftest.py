"""Helpers for the plugin's pytester tests."""

from __future__ import annotations

import pytest

from pytester_support import WORKFLOWS


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory in asyncio auto mode with ``workflows.py`` importable."""
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(workflows=WORKFLOWS)
    return pytester
