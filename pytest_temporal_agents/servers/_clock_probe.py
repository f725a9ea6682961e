"""Check that a time-skipping server still skips time.

The Java test server counts time-skipping locks, and a few ways of ending a workflow (a
termination while one of its tasks is in flight, among others) leave a lock behind for
good: from then on no timer fires without real waiting, and every later test on that
server times out. The harness's teardown avoids the ways it knows; this probe catches the
rest, so one leaking test costs a server restart, not the session.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

#: Wall-clock seconds the probe may take; a skipping server answers in milliseconds.
PROBE_SECONDS = 2.0


@workflow.defn(name="__pytest_temporal_agents_clock_probe")
class ClockProbeWorkflow:
    """Sleeps one day of workflow time: instant on a server that skips time."""

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=1))


async def time_still_skips(client: Client, limit: float = PROBE_SECONDS) -> bool:
    """True when a one-day workflow timer completes within ``limit`` seconds of wall time."""
    task_queue = f"pta-clock-probe-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ClockProbeWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),  # our own trusted code, no sandbox cost
    ):
        handle = await client.start_workflow(
            ClockProbeWorkflow.run, id=task_queue, task_queue=task_queue
        )
        try:
            await asyncio.wait_for(handle.result(), timeout=limit)
            return True
        except asyncio.TimeoutError:
            # Terminating a workflow with no task in flight is safe for the clock, and the
            # server is about to be replaced anyway.
            await handle.terminate(reason="pytest-temporal-agents: clock probe")
            return False
