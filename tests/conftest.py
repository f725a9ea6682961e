"""Suite-wide test configuration."""

# Imported here so that pytester's in-process runs keep them: pytester drops every module
# a nested run imported, and hypothesis's plugin imports these at each run's terminal
# summary (about a second per nested run when re-imported every time).
import hypothesis  # noqa: F401
import hypothesis.statistics  # noqa: F401
import pytest

from pytester_support import WORKFLOWS

pytest_plugins = ["pytester"]


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory in asyncio auto mode, ``sample_workflows`` importable as ``workflows``."""
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(workflows=WORKFLOWS)
    return pytester
