"""Small workflows and activities that the plugin's own tests run on a real server.

(A workflow waiting for a signal, with a query and a sync activity: the docs' ``OrderApproval``
in ``docs/examples/trading_desk.py``, which the harness tests reuse.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError


@dataclass
class Greeting:
    name: str
    times: int = 1


@activity.defn
async def compose_greeting(greeting: Greeting) -> str:
    return " ".join([f"Hello, {greeting.name}!"] * greeting.times)


@activity.defn
async def flaky(fail_times: int) -> int:
    """Fails its first ``fail_times`` attempts, then returns the attempt that succeeded."""
    attempt = activity.info().attempt
    if attempt <= fail_times:
        raise ApplicationError(f"attempt {attempt} failed on purpose", type="Flaky")
    return attempt


@activity.defn
async def hang_forever() -> None:
    await asyncio.sleep(3600)


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, greeting: Greeting) -> str:
        return await workflow.execute_activity(
            compose_greeting, greeting, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class LongSleepWorkflow:
    """Sleeps 30 days of workflow time, then greets."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(days=30))
        return await workflow.execute_activity(
            compose_greeting, Greeting(name), start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class RetryingWorkflow:
    @workflow.run
    async def run(self, fail_times: int) -> int:
        return await workflow.execute_activity(
            flaky,
            fail_times,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=5),
        )


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        child = await workflow.execute_child_workflow(
            GreetingWorkflow.run, Greeting(name), id=f"{workflow.info().workflow_id}-child"
        )
        return f"parent got: {child}"


@workflow.defn
class HangingActivityWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(hang_forever, start_to_close_timeout=timedelta(hours=1))


@workflow.defn
class GenerationsWorkflow:
    """Continues as new at every ``advance`` signal; ``stop`` returns the generation."""

    def __init__(self) -> None:
        self._generation = 0
        self._advance = False
        self._stop = False

    @workflow.signal
    def advance(self) -> None:
        self._advance = True

    @workflow.signal
    def stop(self) -> None:
        self._stop = True

    @workflow.query
    def generation(self) -> int:
        return self._generation

    @workflow.run
    async def run(self, generation: int) -> int:
        self._generation = generation
        await workflow.wait_condition(lambda: self._advance or self._stop)
        if self._stop:
            return generation
        workflow.continue_as_new(generation + 1)


#: Opened by a test to let ``wait_for_gate`` finish.
GATE = {"open": False}


@activity.defn
async def wait_for_gate() -> str:
    """Runs until the test opens ``GATE`` (an activity in flight holds the test server's clock)."""
    while not GATE["open"]:
        await asyncio.sleep(0.01)
    return "through"


@workflow.defn
class GatedWorkflow:
    """Waits for ``wait_for_gate``, then returns what it said."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(wait_for_gate, start_to_close_timeout=timedelta(seconds=60))
