"""Workflows that the report tests run in nested pytest sessions (copied there as a module).

Each one gives the report something to draw: a retried activity, a timer, a signal, a
child workflow, a mocked activity (the saga is docs/examples/trip_saga.py).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

FAST = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3),
}


@activity.defn
async def fetch_price(symbol: str) -> float:
    return {"AAPL": 189.5}.get(symbol, 1.0)


@activity.defn
async def notify(text: str) -> str:
    raise RuntimeError("the real notify must not run in these tests")


@workflow.defn
class ChildStep:
    @workflow.run
    async def run(self, symbol: str) -> float:
        return await workflow.execute_activity(fetch_price, symbol, **FAST)


@workflow.defn
class PatientWorkflow:
    """Sleeps, waits for an approval signal, runs a child, then notifies (a mocked activity)."""

    def __init__(self) -> None:
        self.approved_by = ""

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approved_by = who

    @workflow.run
    async def run(self, symbol: str) -> str:
        await workflow.sleep(timedelta(hours=2))
        await workflow.wait_condition(lambda: bool(self.approved_by))
        price = await workflow.execute_child_workflow(
            ChildStep.run, symbol, id=f"{workflow.info().workflow_id}-child"
        )
        await workflow.execute_activity(notify, f"{symbol} at {price}", **FAST)
        return f"{symbol} {price} approved by {self.approved_by}"


@workflow.defn
class PriceWorkflow:
    @workflow.run
    async def run(self, symbol: str) -> float:
        return await workflow.execute_activity(fetch_price, symbol, **FAST)
