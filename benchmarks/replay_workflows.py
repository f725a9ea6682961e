"""Workflows whose histories benchmarks/replay.py records and replays (only temporalio
imported here: the sandbox re-imports this module for every replayed history, on both paths)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

T = timedelta(seconds=10)


@activity.defn
async def fetch_quote(symbol: str) -> float:
    return 100.0 + len(symbol)


@activity.defn
async def place_order(symbol: str) -> str:
    return f"filled {symbol}"


@workflow.defn
class Analyze:
    @workflow.run
    async def run(self, symbol: str) -> str:
        await workflow.sleep(timedelta(minutes=5))
        return f"{symbol}: buy"


@workflow.defn
class Pricer:
    """Quotes, a timer, a child workflow and an order: 25-40 events."""

    @workflow.run
    async def run(self, symbols: list[str]) -> dict[str, float]:
        prices = {}
        for symbol in sorted(symbols):
            prices[symbol] = await workflow.execute_activity(fetch_quote, symbol, start_to_close_timeout=T)
        await workflow.sleep(timedelta(hours=1))
        best = max(prices, key=prices.__getitem__)
        await workflow.execute_child_workflow(Analyze.run, best, id=f"{workflow.info().workflow_id}-analyze")
        await workflow.execute_activity(place_order, best, start_to_close_timeout=T)
        return prices


@workflow.defn
class TwoStep:
    """Two activities: about 17 events."""

    @workflow.run
    async def run(self, symbol: str) -> str:
        await workflow.execute_activity(fetch_quote, symbol, start_to_close_timeout=T)
        return await workflow.execute_activity(place_order, symbol, start_to_close_timeout=T)


WORKFLOWS = [Pricer, Analyze, TwoStep]
ACTIVITIES = [fetch_quote, place_order]
