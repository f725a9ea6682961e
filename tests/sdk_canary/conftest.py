"""The canary's fixtures: the seam, imported late, and a time-skipping server of its own.

The canary does not use the plugin's ``temporal`` fixture: the harness itself relies on the
internals checked here, and a canary failing inside the harness would name nothing. Only
the binary lookup and the quiet runtime come from the plugin (``servers``). Everything from
the package is imported inside fixtures, so that a seam that no longer imports cannot stop
the internals table from running and naming what moved.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def canary_env() -> AsyncIterator[Any]:
    """A ``WorkflowEnvironment`` on the time-skipping test server installed beside Python."""
    from temporalio.testing import WorkflowEnvironment

    from pytest_temporal_agents.servers import find_binary, quiet_runtime, stop_environment

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )
    try:
        yield env
    finally:
        await stop_environment(env)


@pytest.fixture(scope="session")
def sdk() -> ModuleType:
    """``pytest_temporal_agents._sdk``, imported only by the tests that go through the seam.

    Imported here rather than at the top of the test modules: if an internal it names at
    import has moved, the internals table still runs and says which.
    """
    try:
        return importlib.import_module("pytest_temporal_agents._sdk")
    except Exception as err:  # noqa: BLE001 - any import failure is the finding
        import temporalio

        pytest.fail(
            f"pytest_temporal_agents._sdk no longer imports against temporalio "
            f"{temporalio.__version__}: {err!r}\n"
            "test_sdk_internals.py's table names the internal that moved.",
            pytrace=False,
        )
