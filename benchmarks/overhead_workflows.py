"""The workflow both sides of ``overhead.py`` run: a light module, as a workflow module should be.

The sandbox re-imports a workflow's module for every run; keeping it free of test tooling
keeps both sides of the benchmark measuring the same thing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


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
