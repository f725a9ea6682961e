"""The clock check after each time-skipping test: a workflow timer against one test-service call.

After every test that started workflows on the time-skipping server, the plugin checks that
the server still skips time (``servers/_clock_probe.py``). This compares, alternating on one
server, the probe it used before (a workflow that sleeps one day, on a worker of its own,
what a test would write by hand) with the one it uses now (``time_still_skips``: one
``UnlockTimeSkippingWithSleep`` call for a day of server time). Both must see the clock move a
day. Prints the median of each and their ratio.

Usage: python benchmarks/clock_probe.py [N]   (default N=100)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from pytest_temporal_agents import find_binary
from pytest_temporal_agents.servers import quiet_runtime, stop_environment
from pytest_temporal_agents.servers._clock_probe import time_still_skips


@workflow.defn(name="benchmark_clock_probe")
class OneDayTimer:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=1))


async def workflow_probe(env: WorkflowEnvironment) -> None:
    task_queue = f"probe-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[OneDayTimer],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        await asyncio.wait_for(
            env.client.execute_workflow(OneDayTimer.run, id=task_queue, task_queue=task_queue), 2.0
        )


async def call_probe(env: WorkflowEnvironment) -> None:
    assert await time_still_skips(env.client)


async def main(n: int) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )
    timings: dict[str, list[float]] = {"workflow": [], "call": []}
    try:
        for round_ in range(n + 3):
            for name, probe in (("workflow", workflow_probe), ("call", call_probe)):
                before = await env.get_current_time()
                start = time.perf_counter()
                await probe(env)
                elapsed = time.perf_counter() - start
                moved = await env.get_current_time() - before
                assert moved >= timedelta(days=1), f"{name} probe moved the clock {moved}"
                if round_ >= 3:  # warm-up: connections, the first worker
                    timings[name].append(elapsed)
    finally:
        await stop_environment(env)
    old, new = (statistics.median(timings[name]) * 1000 for name in ("workflow", "call"))
    print(f"{n} probes each, median, one time-skipping server:")
    print(f"  one-day workflow timer on its own worker : {old:6.1f} ms")
    print(f"  UnlockTimeSkippingWithSleep call          : {new:6.1f} ms  ({new / old:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
