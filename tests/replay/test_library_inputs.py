"""Activities an installed library schedules are not compared by their inputs on replay.

pydantic-ai's Temporal integration runs its agent loop in workflow code and puts the
wall-clock time and per-process ids into its activities' arguments; Temporal itself does not
compare arguments on replay. The teardown replay compared them and failed every pydantic-ai
test. Regression tests: a library under a ``site-packages`` directory that passes a
per-process counter is let through; the same library outside one is still caught.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from temporalio import activity, workflow

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.replay._nondeterminism import scheduled_by_library

LIBRARY = dedent(
    """
    import itertools
    from datetime import timedelta

    from temporalio import workflow

    _calls = itertools.count()  # lives on between the run and its replay: a new value each time


    async def ask(activity):
        return await workflow.execute_activity(
            activity, next(_calls), start_to_close_timeout=timedelta(seconds=5)
        )
    """
)


@activity.defn
async def echo(number: int) -> int:
    return number


@workflow.defn
class UsesLibrary:
    @workflow.run
    async def run(self, module: str) -> int:
        with workflow.unsafe.imports_passed_through():
            library = __import__(module)  # through the sandbox's importer, passed through
        return int(await library.ask(echo))


def _install(root: Path, name: str) -> str:
    root.mkdir(parents=True)
    (root / f"{name}.py").write_text(LIBRARY)
    sys.path.insert(0, str(root))
    return name


@pytest.fixture
def libraries(tmp_path: Path):  # type: ignore[no-untyped-def]
    before = list(sys.path)
    yield {
        "installed": _install(tmp_path / "venv" / "site-packages", "agentlib_installed"),
        "local": _install(tmp_path / "src", "agentlib_local"),
    }
    sys.path[:] = before
    for name in ("agentlib_installed", "agentlib_local"):
        sys.modules.pop(name, None)


@pytest.mark.temporal(replay_check=False)
async def test_an_installed_librarys_arguments_are_its_own_business(
    temporal: TemporalHarness, libraries: dict[str, str]
) -> None:
    handle = await temporal.start(UsesLibrary.run, libraries["installed"], activities=[echo])
    await handle.result()

    result = await temporal.replay(handle)  # the library passes 1 now, 0 then

    assert result.ok, result.report


@pytest.mark.temporal(replay_check=False)
async def test_the_same_code_outside_an_installed_package_is_still_caught(
    temporal: TemporalHarness, libraries: dict[str, str]
) -> None:
    handle = await temporal.start(UsesLibrary.run, libraries["local"], activities=[echo])
    await handle.result()

    result = await temporal.replay(handle)

    assert result.status == "nondeterministic"
    assert "other arguments" in result.report and "agentlib_local.py" in result.report


def test_the_scheduling_frame_decides() -> None:
    code = compile("import sys\nframe = sys._getframe()", "/venv/lib/site-packages/lib/x.py", "exec")
    namespace: dict[str, object] = {}
    exec(code, namespace)
    assert scheduled_by_library(namespace["frame"])  # type: ignore[arg-type]
    assert not scheduled_by_library(sys._getframe())  # this test file is the user's code
