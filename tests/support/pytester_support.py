"""Shared by the tests that run pytest nested (pytester): the ini, the sample workflows, a runner.

(A module name unique across the suite: it is imported from tests/support by that name.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

#: This folder: workflow modules that tests copy into pytester directories or import.
SUPPORT = Path(__file__).resolve().parent

#: The ini of a nested run: asyncio auto mode with a loop per test, as this suite runs, and
#: the tests in file order (pytest-randomly off), as the expected outcomes assume.
INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
addopts = -p no:randomly
"""

#: Written into inner test runs as ``workflows.py``: the sample workflows this suite's own
#: tests run (a copy, so that subprocess runs import it too).
WORKFLOWS = (SUPPORT / "sample_workflows.py").read_text()


def run_expecting(
    pytester: pytest.Pytester, *args: str, **outcomes: int
) -> pytest.RunResult:
    """Runs the nested tests (``pytester.runpytest(*args)``) and asserts how they came out.

    ``outcomes`` are ``RunResult.assert_outcomes``'s: ``passed=``, ``failed=``, ``errors=``...
    """
    result = pytester.runpytest(*args)
    result.assert_outcomes(**outcomes)
    return result
