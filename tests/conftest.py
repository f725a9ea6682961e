"""Suite-wide test configuration."""

# Imported here so that pytester's in-process runs keep them: pytester drops every module
# a nested run imported. hypothesis's plugin imports these at each run's terminal summary
# (about a second per nested run when re-imported every time). The model clients import
# their HTTP stack (httpcore2) only when the first client is built: when that happened in a
# nested run, the next client imported a second copy, and httpx2, which maps the first
# copy's errors, let the second's through raw (a truncated answer was a RemoteProtocolError,
# not openai's APIConnectionError).
import compileall
import sys
from pathlib import Path

import httpcore2  # noqa: F401
import hypothesis  # noqa: F401
import hypothesis.statistics  # noqa: F401
import pytest

# The same for the harness and the server pool, which the plugin imports only when a test
# first asks for `temporal`: first imported in a nested run, they and temporalio were dropped
# after it, while the package's lazy names kept the first copies; the next nested run's
# workers then met a client of another temporalio (`TypeError: Client's
# worker_service_client cannot be used for a worker`, running tests/replay/test_replay_check.py
# alone).
from pytest_temporal_agents.harness import TemporalHarness  # noqa: F401
from pytest_temporal_agents.servers import ServerPool  # noqa: F401
from pytester_support import INI, WORKFLOWS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    _bytecode_cache(config)


def _bytecode_cache(config: pytest.Config) -> None:
    """Compile this checkout's packages once where the environment forbids writing bytecode.

    Under ``PYTHONDONTWRITEBYTECODE=1`` (this project's CI image sets it) every process of
    the suite (xdist workers, nested pytest runs, CLI and replay subprocesses) compiled from
    source each of this checkout's modules it imported: an editable install has no ``.pyc``,
    and Temporal's sandbox re-imports a workflow's module for every workflow run (the
    reference and test workflows). Python reads a ``.pyc`` beside its source even when it
    may not write one, so the controller writes them once, into ``__pycache__`` (ignored by
    git), as any run without that variable would. Only these packages: a module a test
    writes (and may write again within the same second, with the same size) is compiled
    each time, as before, so no test can run a stale ``.pyc``.
    """
    if not sys.flags.dont_write_bytecode or hasattr(config, "workerinput"):
        return
    for package in ("pytest_temporal_agents", "reference_workflows", "tests/support"):
        compileall.compile_dir(ROOT / package, quiet=2)


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
