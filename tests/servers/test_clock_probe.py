"""A test that breaks the time-skipping server's clock is named, and the next test gets a fresh one."""

from __future__ import annotations

import asyncio
from textwrap import dedent

import pytest
from pytester_support import run_expecting
from temporalio.worker import Worker

from pytest_temporal_agents import ServerConfig, TemporalAgentsWarning
from pytest_temporal_agents.servers._clock_probe import time_still_skips
from pytest_temporal_agents._sdk import sandboxed_runner
from pytest_temporal_agents.servers._pool import ServerPool
from sample_workflows import HangingActivityWorkflow, hang_forever


async def _leak_a_time_skipping_lock(pool: ServerPool, config: ServerConfig) -> None:
    """Terminate a workflow while its activity runs: the Java test server keeps a lock."""
    env = await pool.get(config)
    async with Worker(
        env.client,
        task_queue="leaky",
        workflows=[HangingActivityWorkflow],
        activities=[hang_forever],
        workflow_runner=sandboxed_runner(),
    ):
        handle = await env.client.start_workflow(HangingActivityWorkflow.run, id="leaky", task_queue="leaky")
        for _ in range(200):
            if (await handle.describe()).raw_description.pending_activities:
                break
            await asyncio.sleep(0.01)
        await handle.terminate()


async def test_a_broken_clock_is_found_and_the_server_replaced() -> None:
    pool, config = ServerPool(), ServerConfig()
    try:
        env = await pool.get(config)
        assert await pool.check_clock(config, after="test_fine")
        assert await pool.get(config) is env
        await _leak_a_time_skipping_lock(pool, config)
        with pytest.warns(TemporalAgentsWarning, match="after test_leaky, the time-skipping server no longer skips"):
            assert not await pool.check_clock(config, after="test_leaky")
        fresh = await pool.get(config)
        assert fresh is not env
        assert await time_still_skips(fresh.client)
    finally:
        pool.shutdown()


def test_the_warning_names_the_test_and_later_tests_still_skip_time(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_leak=dedent(
            """
            import asyncio
            from datetime import timedelta
            from workflows import HangingActivityWorkflow, LongSleepWorkflow, compose_greeting, hang_forever

            async def test_leaky(temporal):
                async with temporal.worker(workflows=[HangingActivityWorkflow], activities=[hang_forever]):
                    handle = await temporal.start(HangingActivityWorkflow.run)
                    while not (await handle.describe()).raw_description.pending_activities:
                        await asyncio.sleep(0.01)
                    await handle.terminate()  # with the activity in flight: a leaked lock

            async def test_later(temporal):
                result = await temporal.run(
                    LongSleepWorkflow.run, "later", activities=[compose_greeting], timeout=timedelta(seconds=10)
                )
                assert result == "Hello, later!"  # after 30 days of workflow time
            """
        )
    )
    result = run_expecting(inner, passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*after test_leak.py::test_leaky, the time-skipping server no longer skips time*"])
