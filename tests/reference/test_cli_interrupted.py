"""Ctrl-C at the moments tests/reference/test_cli_ctrl_c.py once hit at random, made
deterministic: while the embedded dev server starts, and while a progress query is in flight."""

from __future__ import annotations

import asyncio
import sys

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from reference_workflows import cluster, runner

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


async def test_a_cancelled_start_whose_launcher_died_does_not_wait_for_the_sdk() -> None:
    # As when the Ctrl-C's SIGINT killed the launcher before it left the process group: the
    # server process is gone at once, and the SDK alone would poll its port for 5 s.
    starts: list[asyncio.Future[WorkflowEnvironment]] = []

    async def start() -> WorkflowEnvironment:  # as cluster._start_embedded does
        starts.append(
            asyncio.ensure_future(
                WorkflowEnvironment.start_local(
                    ip="127.0.0.1", dev_server_existing_path="/bin/false"
                )
            )
        )
        return await cluster._finish_even_if_cancelled(starts[0])

    finishing = asyncio.ensure_future(start())
    await asyncio.sleep(0.05)
    (starting,) = starts
    finishing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finishing
    assert not starting.done(), "the cancelled start waited for the SDK's own timeout"
    with pytest.raises(RuntimeError, match="did not start"):
        await starting  # the SDK's timeout, then it gives up: nothing is left running


async def test_a_cancelled_start_that_succeeds_stops_the_server() -> None:
    from datetime import timedelta

    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    from pytest_temporal_agents.servers import find_binary

    starting = asyncio.ensure_future(
        WorkflowEnvironment.start_local(
            ip="127.0.0.1", dev_server_existing_path=str(find_binary("local"))
        )
    )
    finishing = asyncio.ensure_future(cluster._finish_even_if_cancelled(starting))
    await asyncio.sleep(0)
    finishing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finishing
    assert starting.done() and starting.exception() is None
    env = starting.result()
    with pytest.raises(RPCError):  # the server was shut down
        await env.client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=2)
        )


async def test_a_cancelled_progress_query_is_not_left_running() -> None:
    # Left running past Ctrl-C, the query failed during asyncio.run's shutdown, which printed
    # its traceback after "Interrupted; ...".
    asked = asyncio.Event()

    class Handle:
        async def query(self, query: object) -> None:
            asked.set()
            await asyncio.Event().wait()

    before = asyncio.all_tasks()
    asking = asyncio.ensure_future(runner._ask(Handle(), object, None))  # type: ignore[arg-type]
    await asked.wait()
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    assert asyncio.all_tasks() - before - {asking} == set()


async def test_the_last_progress_line_survives_a_query_that_expired_once() -> None:
    # Seen in CI: the workflow failed on its first task, and the query asked after it closed
    # reached the worker while it evicted the run ("query task not found, or already
    # expired"). The display ended without a single progress line.
    import dataclasses

    from temporalio.client import WorkflowQueryFailedError

    from reference_workflows.patterns import get_pattern

    answers: list[object] = [WorkflowQueryFailedError("query task not found, or already expired")]

    class Handle:
        async def query(self, query: object) -> object:
            answer = answers.pop(0) if answers else {"done": 1}
            if isinstance(answer, Exception):
                raise answer
            return answer

    pattern = dataclasses.replace(
        get_pattern("automated"), format_progress=lambda value: f"answer {value}"
    )
    assert len(pattern.progress_queries) == 1
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)  # closed before the first round, as a workflow failing at once
    lines: list[str] = []

    await runner.follow_queries(Handle(), pattern, done, runner.Console(lines.append), 0.01)  # type: ignore[arg-type]

    assert [line.split("] ", 1)[1] for line in lines] == ["answer {'done': 1}"]
