"""Suite-wide test configuration."""

# Imported here so that pytester's in-process runs keep them: pytester drops every module
# a nested run imported, and hypothesis's plugin imports these at each run's terminal
# summary (about a second per nested run when re-imported every time).
import hypothesis  # noqa: F401
import hypothesis.statistics  # noqa: F401
import pytest

from pytester_support import INI, WORKFLOWS

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory for a nested run, with ``INI`` as its ini file."""
    pytester.makeini(INI)
    return pytester


@pytest.fixture
def inner(project: pytest.Pytester) -> pytest.Pytester:
    """A ``project`` with ``sample_workflows`` importable as ``workflows``."""
    project.makepyfile(workflows=WORKFLOWS)
    return project
