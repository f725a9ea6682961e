"""Servers stay fit over a long session of small tests (issue 14).

- The dev server the pool starts runs one partition per task queue, and a tighter Go
  garbage-collection target unless the user set one (benchmarks/long_session.py measures
  what they save; here, that they are applied).
- A time-skipping server whose clock ran thousands of years ahead (each finished workflow
  can move it ten years on) is replaced before it reaches the year 9999, where workflows hang.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from textwrap import dedent

import pytest
from pytester_support import run_expecting

from pytest_temporal_agents.servers import LOCAL, ServerConfig, ServerPool
from pytest_temporal_agents.servers._pool import (
    CLOCK_HORIZON,
    DEV_SERVER_ARGS,
    DEV_SERVER_GOGC,
    dev_server_environment,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _started_dev_server() -> tuple[list[str], dict[str, str], ServerPool]:
    """Start the pool's dev server; its command line and environment, from /proc."""
    pool, config = ServerPool(), ServerConfig(env=LOCAL)

    async def start() -> int:
        env = await pool.get(config)
        # A real server: a workflow-less round trip answers.
        assert (await env.client.workflow_service.get_system_info(_system_info())).server_version
        launcher = pool.launcher(config)
        assert launcher is not None
        pid = launcher.server_pid()
        assert pid is not None
        return pid

    pid = asyncio.run(start())
    proc = Path(f"/proc/{pid}")
    argv = proc.joinpath("cmdline").read_bytes().decode().split("\0")
    environ = dict(
        item.split("=", 1) for item in proc.joinpath("environ").read_bytes().decode().split("\0") if "=" in item
    )
    return argv, environ, pool


def _system_info() -> object:
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()


def test_the_dev_server_runs_one_partition_per_task_queue_and_a_tight_gc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    argv, environ, pool = _started_dev_server()
    try:
        joined = " ".join(argv)
        assert "matching.numTaskqueueReadPartitions=1" in joined, argv
        assert "matching.numTaskqueueWritePartitions=1" in joined, argv
        assert " ".join(DEV_SERVER_ARGS) in joined, argv
        assert environ.get("GOGC") == DEV_SERVER_GOGC
    finally:
        pool.shutdown()


def test_a_gogc_the_user_set_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOGC", "150")
    assert dev_server_environment() == {}
    _, environ, pool = _started_dev_server()
    try:
        assert environ.get("GOGC") == "150"
    finally:
        pool.shutdown()


def test_without_a_user_gogc_the_server_gets_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    assert dev_server_environment() == {"GOGC": DEV_SERVER_GOGC}


# --------------------------------------------------------------------------- the clock horizon


async def test_a_time_skipping_server_far_in_the_future_is_replaced_and_a_near_one_kept() -> None:
    pool, config = ServerPool(), ServerConfig()
    try:
        env = await pool.get(config)
        await env.sleep(timedelta(days=365 * 100))  # a century on: well inside the horizon
        assert await pool.check_clock(config, after="test_near")
        assert await pool.get(config) is env

        await env.sleep(CLOCK_HORIZON)  # now past it
        assert await pool.check_clock(config, after="test_far")  # a fine clock: no warning
        fresh = await pool.get(config)
        assert fresh is not env
        assert await fresh.get_current_time() - datetime.now(timezone.utc) < timedelta(days=2)
    finally:
        pool.shutdown()


def test_after_a_test_that_moved_the_clock_past_the_horizon_the_next_test_starts_near_now(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_far=dedent(
            """
            from datetime import datetime, timedelta, timezone
            from workflows import LongSleepWorkflow, compose_greeting

            async def test_far(temporal):
                await temporal.run(LongSleepWorkflow.run, "far", activities=[compose_greeting])
                await temporal.env.sleep(timedelta(days=365 * 6000))
                assert (await temporal.env.get_current_time()).year > 8000

            async def test_later(temporal):
                # Read before any workflow of this test: one that finishes while time skips
                # can itself move the clock ten years on.
                now = await temporal.env.get_current_time()
                assert now.year <= datetime.now(timezone.utc).year + 1, now
            """
        ),
    )
    run_expecting(inner, "-W", "error::pytest_temporal_agents.TemporalAgentsWarning", passed=2)
