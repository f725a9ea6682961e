"""Wall time of a test that makes an activity's start-to-close or heartbeat timeout fire.

The workflow calls one activity with a 180 s start-to-close timeout (and, for the heartbeat
case, a 180 s heartbeat timeout) and two attempts; the test needs the first attempt to time
out and the second to succeed. For each timeout, two ways, in one process, on one
time-skipping server:

- ``fixture``: a ``temporal`` harness with ``inject(start_to_close_timeout(quote))`` or
  ``inject(heartbeat_timeout(quote))`` (the whole test: harness, worker, run, teardown
  checks and close);
- ``sdk``: plain SDK test code whose activity hangs (without heartbeating) on its first
  attempt, so the server's timeout has to pass. The time-skipping server does not skip
  activity timeouts, so this costs the configured timeout in real time. To keep the run
  short the SDK side is measured with the timeout scaled down (``--sdk-timeout``, default
  2 s) and the 180 s figure is extrapolated (measured - scaled + 180); ``--real`` runs it
  once with the real 180 s.

Usage: python benchmarks/fault_timeouts.py [N] [--sdk-timeout SECONDS] [--real]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The sandbox re-imports this module (it defines the workflow); the harness is no workflow code.
with workflow.unsafe.imports_passed_through():
    from pytest_temporal_agents import TemporalHarness, find_binary
    from pytest_temporal_agents.faults import heartbeat_timeout, start_to_close_timeout
    from pytest_temporal_agents.servers import quiet_runtime, stop_environment

CONFIGURED = 180.0


@activity.defn
async def quote(symbol: str) -> float:
    return 100.0 + len(symbol)


@activity.defn(name="quote")
async def quote_hanging_once(symbol: str) -> float:
    """The plain-SDK way to make attempt 1 outlast its timeout."""
    if activity.info().attempt == 1:
        await asyncio.sleep(3600)  # cancelled when the worker shuts down
    return 100.0 + len(symbol)


@workflow.defn
class QuoteWorkflow:
    @workflow.run
    async def run(self, timeout_seconds: float) -> float:
        return await workflow.execute_activity(
            quote,
            "AAPL",
            start_to_close_timeout=timedelta(seconds=timeout_seconds),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )


@workflow.defn
class HeartbeatQuoteWorkflow:
    @workflow.run
    async def run(self, timeout_seconds: float) -> float:
        return await workflow.execute_activity(
            quote,
            "AAPL",
            start_to_close_timeout=timedelta(seconds=CONFIGURED),
            heartbeat_timeout=timedelta(seconds=timeout_seconds),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )


#: timeout -> (the workflow, the fault that makes attempt 1 time out)
KINDS: dict[str, tuple[Any, Any]] = {
    "start-to-close": (QuoteWorkflow, start_to_close_timeout),
    "heartbeat": (HeartbeatQuoteWorkflow, heartbeat_timeout),
}


async def fixture_test(env: WorkflowEnvironment, kind: str) -> float:
    workflow_class, fault = KINDS[kind]
    temporal = TemporalHarness(env, test_id="benchmarks/fault_timeouts.py::test_timeout")
    start = time.perf_counter()
    try:
        temporal.inject(fault(quote, attempts=[1]))
        assert await temporal.run(workflow_class.run, CONFIGURED, activities=[quote]) == 104.0
        temporal.assert_attempts(quote, failed=[1], succeeded=2)
        assert not await temporal.verify()
    finally:
        await temporal.close()
    return time.perf_counter() - start


async def sdk_test(env: WorkflowEnvironment, kind: str, timeout: float) -> float:
    workflow_class, _ = KINDS[kind]
    task_queue = f"tq-{uuid.uuid4()}"
    start = time.perf_counter()
    async with Worker(env.client, task_queue=task_queue, workflows=[workflow_class], activities=[quote_hanging_once]):
        result = await env.client.execute_workflow(
            workflow_class.run, timeout, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == 104.0
    return time.perf_counter() - start


async def main(n: int, sdk_timeout: float, real: bool) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )
    fixture: dict[str, list[float]] = {kind: [] for kind in KINDS}
    sdk: dict[str, list[float]] = {kind: [] for kind in KINDS}
    sdk_real: dict[str, float] = {}
    try:
        for kind in KINDS:  # warm-up: sandbox caches, connections
            for _ in range(2):
                await fixture_test(env, kind)
        for _ in range(n):  # the kinds alternate, so that machine noise hits both alike
            for kind in KINDS:
                fixture[kind].append(await fixture_test(env, kind))
        for _ in range(max(1, min(n, 3))):
            for kind in KINDS:
                sdk[kind].append(await sdk_test(env, kind, sdk_timeout))
        if real:
            for kind in KINDS:
                sdk_real[kind] = await sdk_test(env, kind, CONFIGURED)
    finally:
        await stop_environment(env)
    print(f"A {CONFIGURED:g} s activity timeout fires once, then the retry succeeds (median wall time):")
    for kind in KINDS:
        fixture_s = statistics.median(fixture[kind])
        sdk_s = statistics.median(sdk[kind])
        extrapolated = sdk_real.get(kind, sdk_s - sdk_timeout + CONFIGURED)
        print(f"{kind} timeout:")
        print(f"  temporal fixture, injected fault : {fixture_s * 1000:8.1f} ms  ({fixture_s / extrapolated:.4f}x)"
              f"   ({n} runs, max {max(fixture[kind]):.3f} s)")
        print(f"  plain SDK, {sdk_timeout:g} s timeout (scaled)  : {sdk_s:8.3f} s   ({len(sdk[kind])} runs)")
        if kind in sdk_real:
            print(f"  plain SDK, {CONFIGURED:g} s timeout (real)   : {sdk_real[kind]:8.3f} s   (1 run)")
        else:
            print(f"  plain SDK, {CONFIGURED:g} s timeout          : ~{extrapolated:7.1f} s   "
                  f"(extrapolated: {sdk_s:.3f} - {sdk_timeout:g} + {CONFIGURED:g}; --real measures it)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20, help="fixture runs (default 20)")
    parser.add_argument("--sdk-timeout", type=float, default=2.0, help="scaled timeout of the SDK runs (s)")
    parser.add_argument("--real", action="store_true", help="also run the SDK side with the real 180 s")
    options = parser.parse_args()
    asyncio.run(main(options.n, options.sdk_timeout, options.real))
