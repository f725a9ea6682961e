"""Installed but unused, the plugin imports none of the heavy libraries (module lists, not times)."""

from __future__ import annotations

import subprocess
import sys
from textwrap import dedent

import pytest

HEAVY = ("temporalio", "google", "hypothesis", "faker", "freezegun", "openai", "anthropic")

REPORT_MODULES = dedent(
    f"""
    import sys

    HEAVY = {HEAVY!r}


    def pytest_sessionfinish():
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
        print("HEAVY=" + ",".join(loaded))
    """
)


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytest_temporal_agents, pytest_temporal_agents.plugin\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_run_without_temporal_tests_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    # faker's and hypothesis's own plugins import their libraries; this measures ours.
    pytester.makeconftest(REPORT_MODULES)
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:faker", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*HEAVY="])
    assert "HEAVY=temporalio" not in result.stdout.str()


def test_a_temporal_test_still_gets_everything(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(REPORT_MODULES)
    pytester.makepyfile(
        test_uses="async def test_uses(temporal):\n    assert temporal.task_queue.startswith('pta-')\n"
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:faker", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*HEAVY=*temporalio*"])
