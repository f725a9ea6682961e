"""Servers stay fit over a long session of small tests (issue 14).

- The dev server the pool starts runs one partition per task queue, and a tighter Go
  garbage-collection target unless the user set one (benchmarks/long_session.py measures
  what they save; here, that they are applied).
- A time-skipping server whose clock ran thousands of years ahead (each finished workflow
  can move it ten years on) is replaced before it reaches the year 9999, where workflows hang.
- A time-skipping server is replaced after ``SERVER_TESTS`` tests: the Java test server keeps
  every workflow, and each makes the next test a little slower.
"""

from __future__ import annotations

import asyncio
import re
import sys
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from textwrap import dedent

import pytest
from process_support import listening_addresses
from pytester_support import run_expecting
from temporalio import workflow
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from pytest_temporal_agents.servers import LOCAL, ServerConfig, ServerPool
from pytest_temporal_agents.servers._pool import (
    CLOCK_HORIZON,
    DEV_SERVER_ARGS,
    DEV_SERVER_GOGC,
    SERVER_TESTS,
    dev_server_environment,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@dataclass
class _DevServer:
    pool: ServerPool
    pid: int
    argv: list[str]
    environ: dict[str, str]
    #: The page of its Prometheus endpoint after a workflow ran on task queue QUEUE.
    metrics: str


QUEUE = "pta-long-session-metrics-probe"


@workflow.defn(name="LongSessionNoop")
class _Noop:
    @workflow.run
    async def run(self) -> str:
        return "done"


def _metrics_page(pid: int) -> str:
    """The dev server's Prometheus page: whichever of its loopback ports serves /metrics."""
    for host, port in listening_addresses(pid):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                page: str = response.read().decode()
        except (OSError, ValueError):
            continue
        if "# TYPE" in page:
            return page
    raise AssertionError(f"no port of the dev server {pid} serves /metrics")


def _started_dev_server() -> _DevServer:
    """Start the pool's dev server, run one workflow on QUEUE; what /proc and it tell."""
    pool, config = ServerPool(), ServerConfig(env=LOCAL)

    async def start() -> int:
        env = await pool.get(config)
        async with Worker(env.client, task_queue=QUEUE, workflows=[_Noop], workflow_runner=UnsandboxedWorkflowRunner()):
            assert await env.client.execute_workflow(_Noop.run, id=QUEUE, task_queue=QUEUE) == "done"
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
    return _DevServer(pool, pid, argv, environ, _metrics_page(pid))


def test_the_dev_server_runs_one_partition_per_task_queue_and_a_tight_gc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    server = _started_dev_server()
    try:
        joined = " ".join(server.argv)
        assert "matching.numTaskqueueReadPartitions=1" in joined, server.argv
        assert " ".join(DEV_SERVER_ARGS) in joined, server.argv
        assert server.environ.get("GOGC") == DEV_SERVER_GOGC
        # The server took the flag: its metrics name no test's task queue (each name it
        # keeps is memory it never gives back), yet it counted the workflow's task.
        assert QUEUE.replace("-", "_") not in server.metrics  # as a label it has underscores
        assert re.search(r'taskqueue="__omitted__"', server.metrics), server.metrics[:2000]
    finally:
        server.pool.shutdown()


def test_a_gogc_the_user_set_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOGC", "150")
    assert dev_server_environment() == {}
    server = _started_dev_server()
    try:
        assert server.environ.get("GOGC") == "150"
    finally:
        server.pool.shutdown()


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


async def test_a_time_skipping_server_is_replaced_after_it_served_its_tests() -> None:
    pool, config = ServerPool(), ServerConfig()
    try:
        env = await pool.get(config)
        for test in range(SERVER_TESTS - 1):
            assert await pool.check_clock(config, after=f"test_{test}")
        assert await pool.get(config) is env, "replaced before it served its tests"
        assert await pool.check_clock(config, after="test_last")  # a fine clock: no warning
        fresh = await pool.get(config)
        assert fresh is not env
        with pytest.raises(RPCError):  # the old one was stopped, not left running
            await env.get_current_time()
        assert await pool.check_clock(config, after="test_on_the_fresh_one")
        assert await pool.get(config) is fresh, "the fresh server's count started from zero"
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


def test_an_ended_test_keeps_nothing_alive(inner: pytest.Pytester) -> None:
    """pytest keeps every item for the whole session: a harness left on one kept its
    workers, their event loop and every history it fetched, and a long run grew by about
    60 KB a test. The tests run with the report-later path and with the report on."""
    inner.makepyfile(
        test_kept=dedent(
            """
            import gc
            import weakref

            from workflows import Greeting, GreetingWorkflow, compose_greeting

            HARNESSES = []

            async def test_first(temporal):
                HARNESSES.append(weakref.ref(temporal))
                await temporal.run(GreetingWorkflow.run, Greeting("a"), activities=[compose_greeting])

            async def test_second(temporal):
                HARNESSES.append(weakref.ref(temporal))
                await temporal.run(GreetingWorkflow.run, Greeting("b"), activities=[compose_greeting])

            def test_the_harnesses_are_gone():
                gc.collect()
                assert len(HARNESSES) == 2
                assert [ref() for ref in HARNESSES] == [None, None]
            """
        ),
    )
    run_expecting(inner, passed=3)
    run_expecting(inner, f"--temporal-report={inner.path / 'report.html'}", passed=3)
