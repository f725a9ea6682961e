"""A time-skipping server whose clock a test broke is found and replaced between modules."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.worker import Worker

from pytest_temporal_agents import ServerConfig, TemporalAgentsWarning
from pytest_temporal_agents._clock_probe import time_still_skips
from pytest_temporal_agents._sandbox import sandboxed_runner
from pytest_temporal_agents._servers import ServerPool
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


async def test_a_broken_clock_is_replaced_at_the_next_module() -> None:
    pool, config = ServerPool(), ServerConfig()
    try:
        env = await pool.verified(config, scope="test_first.py")
        assert await time_still_skips(env.client)
        await _leak_a_time_skipping_lock(pool, config)
        assert not await time_still_skips(env.client, limit=0.5)
        assert await pool.verified(config, scope="test_first.py") is env  # same module: no check
        with pytest.warns(TemporalAgentsWarning, match="stopped skipping time before test_second.py"):
            fresh = await pool.verified(config, scope="test_second.py")
        assert fresh is not env
        assert await time_still_skips(fresh.client)
    finally:
        pool.shutdown()


async def test_a_healthy_server_is_kept() -> None:
    pool, config = ServerPool(), ServerConfig()
    try:
        env = await pool.verified(config, scope="test_first.py")
        assert await pool.verified(config, scope="test_second.py") is env
    finally:
        pool.shutdown()
