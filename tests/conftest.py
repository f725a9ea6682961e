"""Suite-wide test configuration."""

# Imported here so that pytester's in-process runs keep them: pytester drops every module
# a nested run imported. hypothesis's plugin imports these at each run's terminal summary
# (about a second per nested run when re-imported every time). The model clients import
# their HTTP stack (httpcore2) only when the first client is built: when that happened in a
# nested run, the next client imported a second copy, and httpx2, which maps the first
# copy's errors, let the second's through raw (a truncated answer was a RemoteProtocolError,
# not openai's APIConnectionError).
import compileall
import os
import subprocess
import sys
import tempfile
from contextlib import suppress
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
    """Write, once, the bytecode that no test changes, where the environment forbids it.

    Under ``PYTHONDONTWRITEBYTECODE=1`` (this project's CI image sets it) every process of
    the suite (xdist workers, nested pytest runs, CLI and replay subprocesses: hundreds)
    compiled from source each module it imported that had no ``.pyc``:

    - this checkout's packages (an editable install has none), which Temporal's sandbox
      re-imports for every workflow run (the reference and test workflows);
    - the modules of the pytest plugins' distributions, whose asserts pytest rewrites into
      ``.pyc`` files of its own (faker's and hypothesis's: 2 s of a 3 s nested run).

    Python reads a ``.pyc`` beside its source even when it may not write one, so the
    controller writes these once, as any run without that variable writes them: the first
    with ``compileall`` (into ``__pycache__``, ignored by git), the second with one pytest
    run that collects nothing and may write (into the installed packages' ``__pycache__``).
    Nothing else: a module a test writes, and may write again within the same second with
    the same size, is compiled each time, as before, so no test can run a stale ``.pyc``.
    """
    if not sys.flags.dont_write_bytecode or hasattr(config, "workerinput"):
        return
    for package in ("pytest_temporal_agents", "reference_workflows", "tests/support"):
        compileall.compile_dir(ROOT / package, quiet=2)
    allowed = {
        name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
    }
    with (
        tempfile.TemporaryDirectory(prefix="bytecode-") as empty,
        suppress(subprocess.TimeoutExpired),
    ):
        subprocess.run(  # only a cache: a run that cannot write it costs what it did before
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", empty],
            cwd=empty,
            env=allowed,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )


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
