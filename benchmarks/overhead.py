"""Per-test cost of the ``temporal`` fixture against hand-written SDK test code.

Runs N identical small workflow tests two ways in one process, on one time-skipping
server, alternating so that warm-up and machine noise hit both alike:

- ``sdk``: what the SDK samples do: a uuid task queue, ``async with Worker(...)``,
  ``client.execute_workflow(...)``;
- ``fixture``: what a test with the ``temporal`` fixture does: a new
  :class:`TemporalHarness` (own task queue, recording client), ``temporal.run(...)``,
  then the fixture's teardown (``verify()`` and ``close()``).

Usage: python benchmarks/overhead.py [N]   (default N=100)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pytest_temporal_agents import TemporalHarness, find_binary
from pytest_temporal_agents._servers import quiet_runtime, stop_environment


@activity.defn
async def fetch_price(symbol: str) -> float:
    return 100.0 + len(symbol)


@activity.defn
async def decide(price: float) -> str:
    return "buy" if price > 101 else "hold"


@workflow.defn
class TwoStepWorkflow:
    @workflow.run
    async def run(self, symbol: str) -> str:
        price = await workflow.execute_activity(
            fetch_price, symbol, start_to_close_timeout=timedelta(seconds=10)
        )
        return await workflow.execute_activity(
            decide, price, start_to_close_timeout=timedelta(seconds=10)
        )


async def sdk_test(env: WorkflowEnvironment) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[TwoStepWorkflow], activities=[fetch_price, decide]
    ):
        result = await env.client.execute_workflow(
            TwoStepWorkflow.run, "AAPL", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == "buy"


async def fixture_test(env: WorkflowEnvironment) -> None:
    temporal = TemporalHarness(env, test_id="benchmarks/overhead.py::test_two_steps")
    try:
        result = await temporal.run(TwoStepWorkflow.run, "AAPL", activities=[fetch_price, decide])
        assert result == "buy"
        assert not await temporal.verify()
    finally:
        await temporal.close()


async def main(n: int) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )
    timings: dict[str, list[float]] = {"sdk": [], "fixture": []}
    try:
        for _ in range(3):  # warm-up: sandbox caches, connections
            await sdk_test(env)
            await fixture_test(env)
        for _ in range(n):
            for name, test in (("sdk", sdk_test), ("fixture", fixture_test)):
                start = time.perf_counter()
                await test(env)
                timings[name].append(time.perf_counter() - start)
    finally:
        await stop_environment(env)
    sdk_ms = statistics.median(timings["sdk"]) * 1000
    fixture_ms = statistics.median(timings["fixture"]) * 1000
    print(f"{n} tests each, median per test, one time-skipping server:")
    print(f"  hand-written SDK : {sdk_ms:7.1f} ms")
    print(f"  temporal fixture : {fixture_ms:7.1f} ms")
    print(f"  ratio fixture/sdk: {fixture_ms / sdk_ms:7.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
